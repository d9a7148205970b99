#!/bin/sh
# make demo-cluster: boot the IPVS test VM once and run the cluster
# scenario in it (integration/vm/scenarios/cluster_test.go,
# TestLvsdClusterBehindBIRD, through integration/ipvs_vm_test.go): a BIRD 2
# router with ECMP, three lvsd directors announcing the VIP by BGP, each
# with its own IPVS table (mh scheduler, DR), real servers and a client.
# It shows the router's three next hops, two directors mapping 10,000
# flows alike, kill -9 of a director, `lvsd drain`, SIGTERM and a
# director whose real servers fail, with what the client saw each time.
# The host has no IPVS, so all of it runs in the VM, in namespaces of the
# guest: the host is left alone. Needs root.
set -eu
cd "$(dirname "$0")/.."
. scripts/vm-demo.sh

# The Debian package starts a BIRD on the host; the demo needs only the
# binary (the guest runs its own).
vm_demo_install demo-cluster /usr/sbin/bird bird2
vm_demo_run demo-cluster cluster_test.go '^ *--- (PASS|FAIL|SKIP).*Cluster' '^TestLvsdClusterBehindBIRD$' '^TestIPVSInVM$'
