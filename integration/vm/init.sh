#!/bin/sh
# /init of the lvsd IPVS test VM (integration/vm). Busybox sh as PID 1:
# mount the pseudo file systems, load the modules listed in
# /etc/lvsd-vm/modules, run /etc/lvsd-vm/run.sh, print its exit status as
# "LVSD-VM-EXIT <code>" and power off. The host parses the markers.
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
export HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /root
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mkdir -p /run/netns
echo "LVSD-VM-BOOTED $(cut -d' ' -f1 /proc/uptime)"
while read -r mod; do
	insmod "$mod" 2>/dev/null || echo "LVSD-VM-INSMOD-FAILED $mod"
done < /etc/lvsd-vm/modules
/sbin/ip link set lo up
echo "LVSD-VM-READY $(cut -d' ' -f1 /proc/uptime)"
cd /root
sh /etc/lvsd-vm/run.sh
rc=$?
echo "LVSD-VM-EXIT $rc"
sync
poweroff -f
