#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test VM's initramfs (built by tb_initramfs in host-lib.sh).
# Mounts the host root read-only over 9p at /newroot, makes the usual
# writable places tmpfs, mounts the results share at /run/vdpa-results,
# chroots and runs the tree's tests/lib/guest-runner.sh, then powers off.

/bin/busybox --install -s /bin
export PATH=/bin

mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys

halt_now() {
	sync
	# Without ACPI (check-debug's kernel) nothing can power off: reboot,
	# which QEMU's -no-reboot turns into an exit.
	[ -d /sys/firmware/acpi ] || reboot -f
	poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 10
}

die() {
	echo "vdpa-init: $*"
	halt_now
}

for m in $(cat /modules.order); do
	insmod "/lib/modules/$m.ko" || die "insmod $m failed"
done

opts=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$opts,ro,cache=loose" host /newroot || die "cannot mount the host root"
mount -t 9p -o "$opts" results /results || die "cannot mount the results share"
mount --bind /newroot /hostroot || die "bind mount failed"
read -r tree </results/tree || die "no tree in the results share"

r=/newroot
mount -t tmpfs -o mode=1777 tmpfs $r/tmp || die "tmpfs /tmp"
mount -t tmpfs -o mode=1777 tmpfs $r/var/tmp || die "tmpfs /var/tmp"
mount -t tmpfs -o mode=755 tmpfs $r/run || die "tmpfs /run"
mount -t tmpfs -o mode=700 tmpfs $r/root || die "tmpfs /root"
mount -t proc proc $r/proc || die "proc"
mount -t sysfs sys $r/sys || die "sysfs"
mount -t devtmpfs dev $r/dev || die "devtmpfs"
mount -t debugfs debugfs $r/sys/kernel/debug || die "debugfs"
mkdir -p $r/dev/pts $r/dev/shm $r/run/lock $r/run/vdpa-results
ln -sf /proc/self/fd $r/dev/fd
ln -sf /proc/self/fd/0 $r/dev/stdin
ln -sf /proc/self/fd/1 $r/dev/stdout
ln -sf /proc/self/fd/2 $r/dev/stderr
mount -t devpts -o newinstance,ptmxmode=0666 devpts $r/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $r/dev/shm
mount --move /results $r/run/vdpa-results || die "cannot move results"

# A tree below one of the tmpfs mounts (say /tmp) was hidden: show it again.
runner=$tree/tests/lib/guest-runner.sh
if [ ! -f "$r$runner" ]; then
	mkdir -p "$r$tree"
	mount --bind "/hostroot$tree" "$r$tree" || die "cannot bind $tree"
fi

ip link set lo up 2>/dev/null
hostname vdpa-test

chroot $r /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 \
	/bin/bash "$runner" /run/vdpa-results
echo "vdpa-init: runner exited with status $?"
halt_now
