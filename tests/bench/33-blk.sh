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

BLK_SECS=5

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

# blk_fio DEV NAME RW BS: one fio job; prints the figures.
blk_fio() {
	local dev=$1 name=$2 rw=$3 bs=$4 out

	out=$(fio --name="$name" --filename="/dev/$dev" --rw="$rw" --bs="$bs" \
		--direct=1 --ioengine=libaio --iodepth=16 --runtime=$BLK_SECS \
		--time_based --output-format=json) || fail "fio $name failed"
	# shellcheck disable=SC2046 # two words: bandwidth and IOPS
	set -- $(printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["read"] if j["read"]["io_bytes"] else j["write"]
print("%.1f %.0f" % (d["bw_bytes"] / 1e6, d["iops"]))')
	log "fio $name: $1 MB/s, $2 IOPS"
	case $bs in
	4k) figure "blk virtio_vdpa, 4 KiB random ${rw#rand}, QD16" "$2" IOPS ;;
	*) figure "blk virtio_vdpa, 1 MiB sequential $rw, QD16" "$1" MB/s ;;
	esac
}

# blk_dd DEV RW: 1 MiB O_DIRECT sequential, the whole disk once.
blk_dd() {
	local dev=$1 rw=$2 out

	if [ "$rw" = write ]; then
		out=$(dd if=/dev/zero of="/dev/$dev" bs=1M oflag=direct 2>&1) || true
	else
		out=$(dd if="/dev/$dev" of=/dev/null bs=1M iflag=direct 2>&1) || true
	fi
	log "dd $rw: ${out##*$'\n'}"
	# "... copied, 1.2 s, 110 MB/s"
	# shellcheck disable=SC2086 # split "110 MB/s"
	set -- ${out##*, }
	figure "blk virtio_vdpa, 1 MiB sequential $rw, dd" "$1" "$2"
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
if command -v fio >/dev/null; then
	blk_fio "$dev" randread randread 4k
	blk_fio "$dev" randwrite randwrite 4k
	blk_fio "$dev" seqread read 1M
	blk_fio "$dev" seqwrite write 1M
else
	figure_na "blk virtio_vdpa, 4 KiB random read, QD16" "fio is not installed"
	figure_na "blk virtio_vdpa, 4 KiB random write, QD16" "fio is not installed"
	blk_dd "$dev" write
	blk_dd "$dev" read
fi
k1=$(kthreads_cpu_ns)
r1=$(blk_requests "$dev")
log "$((r1 - r0)) requests"
if [ $((r1 - r0)) -gt 0 ]; then
	figure "kernel-thread CPU per block request" $(((k1 - k0) / (r1 - r0))) ns/req lower
fi
vdpa dev del blk0
