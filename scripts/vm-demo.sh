# Sourced by scripts/demo.sh and scripts/demo-cluster.sh (make demo, make
# demo-cluster), not run: what both demos share. Each boots the IPVS test
# VM once through one `go test ./integration/` and prints the narrative of
# one scenario file. The host has no IPVS, so every scenario runs in
# namespaces of the guest: the host is left alone. Needs root.

# vm_demo_install NAME [PATH PACKAGE]...: installs with apt-get what the
# VM needs on the host (qemu, busybox, cpio, ipvsadm, ip, a kernel image
# with the IPVS modules) and each PACKAGE whose PATH is not executable.
vm_demo_install() {
	name=$1
	shift
	need=""
	command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
	[ -x /bin/busybox ] || need="$need busybox-static"
	command -v cpio >/dev/null 2>&1 || need="$need cpio"
	[ -x /usr/sbin/ipvsadm ] || need="$need ipvsadm"
	[ -x /sbin/ip ] || need="$need iproute2"
	ls /lib/modules/*/kernel/net/netfilter/ipvs/ip_vs.ko* >/dev/null 2>&1 || need="$need linux-image-amd64"
	while [ $# -ge 2 ]; do
		[ -x "$1" ] || need="$need $2"
		shift 2
	done
	if [ -n "$need" ]; then
		echo "$name: installing$need"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need
	fi
}

# vm_demo_run NAME FILE VERDICTS VM_RUN RUN: boots the VM with the host
# tests RUN, the guest's narrowed to VM_RUN (LVSD_VM_RUN), the whole log
# in a temporary file; prints FILE's narrative ("▶" lines) and the lines
# VERDICTS matches (an extended regular expression), once each: the host
# re-reports the inner tests as subtests, so the host's lines are kept,
# not the console's. Returns go test's exit status.
vm_demo_run() {
	name=$1 file=$2 verdicts=$3 vmrun=$4 run=$5
	log=$(mktemp "/tmp/lvsd-$name.XXXXXX")
	echo "$name: booting the VM (software emulation, a few minutes); full log in $log"
	rc=0
	LVSD_VM_RUN="$vmrun" go test -run "$run" -v -count=1 -timeout 20m ./integration/ >"$log" 2>&1 || rc=$?
	grep -v 'vm|' "$log" |
		grep -E "$file:[0-9]+: ▶|$verdicts|^(ok|FAIL|PASS)" |
		sed -e 's/^ *gotest.go:[0-9]*: *//' -e "s/^ *$file:[0-9]*: //"
	return $rc
}
