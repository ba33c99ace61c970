# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# vdpasim_blk through virtio_vdpa and the kernel's virtio_blk: O_DIRECT
# throughput and IOPS (fio, libaio, queue depth 16: 4 KiB random read and
# write, 1 MiB sequential read and write; dd for the sequential ones when
# fio is not installed), and the kernel threads' CPU time per block
# request (requests counted by the disk's /sys/block/DEV/stat).

# shellcheck source=tests/lib/bench-lib.sh
. "$VDPA_TREE/tests/lib/bench-lib.sh"

# blk_disk: the name of the virtio_blk disk on blk0.
blk_disk() {
	local d

	for d in /sys/bus/vdpa/devices/blk0/virtio*/block/*; do
		[ -e "$d" ] && printf '%s\n' "${d##*/}" && return 0
	done
	return 1
}

# blk_requests DEV: reads plus writes completed so far.
blk_requests() {
	local st

	read -r -a st <"/sys/block/$1/stat"
	printf '%s\n' $((st[0] + st[4]))
}

modprobe virtio_blk
load_modules vdpa vdpa_sim vdpa_sim_blk virtio_vdpa
vdpa dev add name blk0 mgmtdev vdpasim_blk
wait_for 10 blk_disk >/dev/null
dev=$(blk_disk)
wait_for 5 test -b "/dev/$dev"
log "disk /dev/$dev, $(($(cat "/sys/block/$dev/size") / 2048)) MiB"

k0=$(kthreads_cpu_ns)
r0=$(blk_requests "$dev")
blk_figures "$dev" "blk virtio_vdpa"
k1=$(kthreads_cpu_ns)
r1=$(blk_requests "$dev")
log "$((r1 - r0)) requests"
if [ $((r1 - r0)) -gt 0 ]; then
	figure "kernel-thread CPU per block request" $(((k1 - k0) / (r1 - r0))) ns/req lower
fi
vdpa dev del blk0
