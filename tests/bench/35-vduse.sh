# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# VDUSE devices, whose data path is a userspace daemon:
#   block  qemu-storage-daemon's vduse-blk export of a 256 MiB image in the
#          VM's tmpfs, through virtio_vdpa and the kernel's virtio_blk:
#          O_DIRECT, fio as 33-blk (4 KiB random, 1 MiB sequential, QD16),
#          dd for the sequential ones without fio
#   net    our vduse-net in loop mode (-l) through vhost_vdpa, driven by
#          vdpa-net-loop --bench --shared: loopback packets per second
# Upstream 6.1's VDUSE has no virtio-net (it came in 6.7): its net figures
# are n/a.

# shellcheck source=tests/lib/bench-lib.sh
. "$VDPA_TREE/tests/lib/bench-lib.sh"

VB_SECS=5
VB_MAC=52:54:00:76:64:02

vb_disk() {
	local d

	for d in /sys/bus/vdpa/devices/vduse0/virtio*/block/*; do
		[ -e "$d" ] && printf '%s\n' "${d##*/}" && return 0
	done
	return 1
}

vb_block() {
	local pid dev

	if ! command -v qemu-storage-daemon >/dev/null; then
		figure_na "VDUSE blk (qemu-storage-daemon), 1 MiB sequential write, QD16" \
			"qemu-storage-daemon is not installed"
		return 0
	fi
	modprobe virtio_blk
	load_modules vdpa vduse virtio_vdpa
	truncate -s 256M "$TEST_TMPDIR/vb.img"
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f0,filename="$TEST_TMPDIR/vb.img",cache.direct=off \
		--blockdev driver=raw,node-name=d0,file=f0 \
		--export type=vduse-blk,id=e0,node-name=d0,name=vduse0,writable=on,num-queues=1 \
		>qsd.log 2>&1 </dev/null &
	pid=$!
	wait_for 60 test -c /dev/vduse/vduse0 || { cat qsd.log; fail "no /dev/vduse/vduse0"; }
	vdpa dev add name vduse0 mgmtdev vduse
	wait_for 30 vb_disk >/dev/null || fail "no disk on vduse0"
	dev=$(vb_disk)
	wait_for 5 test -b "/dev/$dev"
	log "disk /dev/$dev (VDUSE, qemu-storage-daemon), $(($(cat "/sys/block/$dev/size") / 2048)) MiB"
	blk_figures "$dev" "VDUSE blk (qemu-storage-daemon)"
	vdpa dev del vduse0
	kill "$pid"
	wait "$pid" || true
	wait_for 30 test ! -e /dev/vduse/vduse0
	unload_modules
}

# vb_up PID: vduse-net is ready, or it exited
vb_up() { grep -q ready vn.log || ! kill -0 "$1" 2>/dev/null; }

vb_net() {
	local tools=$VDPA_TREE/tools/build pid node d line

	load_modules vdpa vduse vhost_vdpa
	"$tools/vduse-net" -n vnet0 -l -m $VB_MAC >vn.log 2>&1 &
	pid=$!
	wait_for 30 vb_up "$pid" || true
	if ! grep -q ready vn.log; then
		cat vn.log
		kill "$pid" 2>/dev/null || true
		wait "$pid" || true
		for line in 64 1500; do
			figure_na "VDUSE net (vduse-net -l), vhost_vdpa, our tool, $line B frames" \
				"$(bench_side)'s VDUSE refused the net device"
		done
		return 0
	fi
	vdpa dev add name vnet0 mgmtdev vduse
	wait_for 30 compgen -G "/sys/bus/vdpa/devices/vnet0/vhost-vdpa-*" >/dev/null ||
		fail "vnet0 got no vhost-vdpa node"
	for d in /sys/bus/vdpa/devices/vnet0/vhost-vdpa-*; do
		node=/dev/${d##*/}
	done
	wait_for 10 test -c "$node"
	ulimit -l unlimited
	"$tools/vdpa-net-loop" -d "$node" --shared --bench --bench-time $VB_SECS \
		--bench-map-mib 0 --bench-msgs 0 >loop.out 2>&1 || { cat loop.out; fail "vdpa-net-loop --bench failed"; }
	cat loop.out
	while read -r line; do
		# shellcheck disable=SC2086 # split the line into words
		set -- $line
		case $line in
		"bench pps: "*)
			figure "VDUSE net (vduse-net -l), vhost_vdpa, our tool, ${3%-byte} B frames" "$5" pps
			;;
		esac
	done <loop.out
	vdpa dev del vnet0
	kill "$pid"
	wait "$pid" || true
	cat vn.log
}

vb_block
vb_net
