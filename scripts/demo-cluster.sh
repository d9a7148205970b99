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

need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
[ -x /bin/busybox ] || need="$need busybox-static"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
[ -x /usr/sbin/ipvsadm ] || need="$need ipvsadm"
[ -x /sbin/ip ] || need="$need iproute2"
[ -x /usr/sbin/bird ] || need="$need bird2"
ls /lib/modules/*/kernel/net/netfilter/ipvs/ip_vs.ko* >/dev/null 2>&1 || need="$need linux-image-amd64"
if [ -n "$need" ]; then
	echo "demo-cluster: installing$need"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
fi
# The Debian package starts a BIRD on the host; the demo needs only the
# binary (the guest runs its own).

log=$(mktemp /tmp/lvsd-demo-cluster.XXXXXX)
echo "demo-cluster: booting the VM (software emulation, a few minutes); full log in $log"
set +e
LVSD_VM_RUN='^TestLvsdClusterBehindBIRD$' go test -run '^TestIPVSInVM$' -v -count=1 -timeout 20m ./integration/ >"$log" 2>&1
rc=$?
set -e
# The narrative and the verdicts, once each (the host re-reports the
# inner tests as subtests: keep the host's lines, not the console's).
grep -v 'vm|' "$log" |
	grep -E 'cluster_test.go:[0-9]+: ▶|^ *--- (PASS|FAIL|SKIP).*Cluster|^(ok|FAIL|PASS)' |
	sed -e 's/^ *gotest.go:[0-9]*: *//' -e 's/^ *cluster_test.go:[0-9]*: //'
exit $rc
