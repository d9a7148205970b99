// Package vm is lvsd's test bed for real IPVS: it boots the distribution's
// kernel (the newest /boot/vmlinuz-* whose modules include ip_vs) under
// qemu's software emulation with a small initramfs built on the fly —
// busybox, iproute2's ip, ipvsadm, the IPVS, veth, bridge and tunnel modules,
// and whatever static binaries a test passes in — runs a shell script or a
// set of Go test binaries inside it, and hands back the console output and
// exit status. Inner Go tests are surfaced as host subtests.
//
// The package owns the guest: its /init, the module load order and the
// console protocol (markers such as "LVSD-VM-EXIT <code>"). It never
// touches the host's network or kernel state, and skips (t.Skip) when the
// host lacks qemu-system-x86_64 or a kernel with IPVS modules.
package vm
