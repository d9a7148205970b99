#!/bin/sh
# make demo: boot the IPVS test VM once and run the lvsd director pair
# scenario in it (integration/pair_vm_test.go, TestPairInVM): two lvsd
# directors in network namespaces, three busybox httpd real servers, a
# client fetching the VIP every 50 ms; the master is reloaded, restarted,
# stopped and killed while the client counts failures and gaps. Prints the
# narrative ("▶" lines) and the result of every step. Needs root (VM
# tests create namespaces in the guest only; the host is left alone).
# With LVSD_BENCH=1 it also runs the lvsd vs keepalived failover benchmark.
set -eu
cd "$(dirname "$0")/.."
. scripts/vm-demo.sh

if [ "${LVSD_BENCH:-}" = 1 ]; then
	vm_demo_install demo /usr/sbin/keepalived keepalived
else
	vm_demo_install demo
fi

echo "demo: building lvsd"
go build -o bin/lvsd ./cmd/lvsd

run='^TestPairInVM$'
[ "${LVSD_BENCH:-}" = 1 ] && run='^(TestPairInVM|TestBenchPairFailover)$'
# The DR pair only (TestPairInVM also runs the NAT pair, the checks and
# the keepalived migration; LVSD_VM_RUN= (empty) runs them all).
vm_demo_run demo pair_test.go '^ *--- (PASS|FAIL|SKIP)|BENCH' "${LVSD_VM_RUN-^(TestPairDR|TestBenchFailover)$}" "$run"
