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

need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
[ -x /bin/busybox ] || need="$need busybox-static"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
[ -x /usr/sbin/ipvsadm ] || need="$need ipvsadm"
[ -x /sbin/ip ] || need="$need iproute2"
ls /lib/modules/*/kernel/net/netfilter/ipvs/ip_vs.ko* >/dev/null 2>&1 || need="$need linux-image-amd64"
if [ "${LVSD_BENCH:-}" = 1 ] && [ ! -x /usr/sbin/keepalived ]; then need="$need keepalived"; fi
if [ -n "$need" ]; then
	echo "demo: installing$need"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
fi

echo "demo: building lvsd"
go build -o bin/lvsd ./cmd/lvsd

run='^TestPairInVM$'
[ "${LVSD_BENCH:-}" = 1 ] && run='^(TestPairInVM|TestBenchPairFailover)$'
log=$(mktemp /tmp/lvsd-demo.XXXXXX)
echo "demo: booting the VM (software emulation, a few minutes); full log in $log"
set +e
# The DR pair only (TestPairInVM also runs the NAT pair, the checks and
# the keepalived migration; LVSD_VM_RUN= (empty) runs them all).
LVSD_VM_RUN="${LVSD_VM_RUN-^(TestPairDR|TestBenchFailover)$}" go test -run "$run" -v -count=1 -timeout 20m ./integration/ >"$log" 2>&1
rc=$?
set -e
# The narrative and the verdicts, once each (the host re-reports the
# inner tests as subtests: keep the host's lines, not the console's).
grep -v 'vm|' "$log" |
	grep -E 'pair_test.go:[0-9]+: ▶|BENCH|^ *--- (PASS|FAIL|SKIP)|^(ok|FAIL|PASS)' |
	sed -e 's/^ *gotest.go:[0-9]*: *//' -e 's/^ *pair_test.go:[0-9]*: //'
exit $rc
