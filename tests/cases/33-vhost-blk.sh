# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The block simulator through /dev/vhost-vdpa-N, driven by our userspace
# virtio-blk driver (tools/vdpa_blk.c): config space and features, GET_ID,
# FLUSH, pattern round trips, WRITE_ZEROES and DISCARD, out-of-range and
# malformed requests (IOERR or UNSUPP, data around them intact), the disk
# size from the capacity_mb parameter, data kept across fd close and a
# fresh zeroed disk after dev del/add.  Pinned pages return to where they
# were.

VB_TOOL=$VDPA_TREE/tools/build/vdpa-blk
VB_PARAM=/sys/module/vdpa_sim_blk/parameters/capacity_mb

# vb_setup [MB]: load the stack, optionally set capacity_mb, create blk0
# bound to vhost_vdpa.
vb_setup() {
	[ -x "$VB_TOOL" ] || fail "$VB_TOOL is not built (run make on the host)" ||
		return 1
	load_modules vdpa vdpa_sim vdpa_sim_blk vhost_vdpa
	if [ -n "${1:-}" ]; then
		echo "$1" >"$VB_PARAM"
	fi
	vdpa dev add name blk0 mgmtdev vdpasim_blk
	wait_for 5 test -c /dev/vhost-vdpa-0
	ulimit -l unlimited
}

# vb_node DEV: /dev/vhost-vdpa-N of vdpa device DEV, once it exists.
vb_node() {
	local d

	wait_for 5 compgen -G "/sys/bus/vdpa/devices/$1/vhost-vdpa-*" >/dev/null
	for d in "/sys/bus/vdpa/devices/$1"/vhost-vdpa-*; do
		d=${d##*/}
	done
	wait_for 5 test -c "/dev/$d"
	printf '/dev/%s\n' "$d"
}

vb_pinned_above() {
	[ "$(pinned_pages)" -gt "$1" ]
}

vb_pinned_is() {
	[ "$(pinned_pages)" -eq "$1" ]
}

# vb_run OUTFILE ARGS...: run the tool; show its output; fail without PASS.
vb_run() {
	local outf=$1 rc=0

	shift
	"$VB_TOOL" "$@" >"$outf" 2>&1 || rc=$?
	cat "$outf"
	[ "$rc" -eq 0 ] && grep -qx PASS "$outf" ||
		fail "vdpa-blk $* failed (exit status $rc)"
}

# The whole suite on the default 128 MiB disk.
test_suite_default_disk() {
	local pinned

	vb_setup
	expect_eq "$(cat "$VB_PARAM")" 128 "default capacity_mb"
	pinned=$(pinned_pages)
	vb_run out -d /dev/vhost-vdpa-0 --capacity 262144
	expect_eq "$(pinned_pages)" "$pinned" "pinned pages after the suite"
}

# Devices of different sizes side by side; each one keeps its size.
test_capacity_param() {
	local pinned

	vb_setup 8
	echo 24 >"$VB_PARAM"
	vdpa dev add name blk1 mgmtdev vdpasim_blk
	wait_for 5 test -c /dev/vhost-vdpa-1
	pinned=$(pinned_pages)
	vb_run out0 -d /dev/vhost-vdpa-0 --capacity 16384
	vb_run out1 -d /dev/vhost-vdpa-1 --capacity 49152
	expect_eq "$(pinned_pages)" "$pinned" "pinned pages after both runs"
}

# Data outlives the fd (close resets the device, not the disk); a device
# added again starts zeroed, and the devices do not share a disk.
test_data_lifetime() {
	vb_setup 8
	echo 8 >"$VB_PARAM"
	vdpa dev add name blk1 mgmtdev vdpasim_blk
	wait_for 5 test -c /dev/vhost-vdpa-1
	vb_run fill -d /dev/vhost-vdpa-0 --fill 77 --sectors 16384
	vb_run verify -d /dev/vhost-vdpa-0 --verify 77 --sectors 16384
	vb_run other -d /dev/vhost-vdpa-1 --verify 0 --sectors 16384
	vdpa dev del blk0
	vdpa dev add name blk0 mgmtdev vdpasim_blk
	vb_run fresh -d "$(vb_node blk0)" --verify 0 --sectors 16384
}

# vdpa dev del while a client is writing: the deletion does not wait for
# the client to close its fd, everything is unpinned at once, and a new
# device works.
test_delete_under_io() {
	local pinned pid

	vb_setup 32
	pinned=$(pinned_pages)
	"$VB_TOOL" -d /dev/vhost-vdpa-0 --fill 9 --sectors 65536 --loop \
		>out 2>&1 &
	pid=$!
	# let it map its memory and start writing
	wait_for 30 vb_pinned_above "$pinned"
	sleep 1
	kill -0 "$pid" || { cat out; fail "vdpa-blk ended before the deletion"; }
	timeout 100 /usr/sbin/vdpa dev del blk0 ||
		fail "vdpa dev del blk0 failed or hung"
	# the client only kicks and waits (60 s) now: it is still there
	kill -0 "$pid" || { cat out; fail "vdpa-blk ended: did dev del wait for it?"; }
	expect_eq "$(pinned_pages)" "$pinned" "pinned pages with the client's fd still open"
	kill "$pid"
	wait "$pid" || true
	vdpa dev add name blk0 mgmtdev vdpasim_blk
	vb_run fresh -d "$(vb_node blk0)" --verify 0 --sectors 16384
}

# While a driver has negotiated, DEV_CONFIG_GET carries the negotiated
# features, and the block attributes are unchanged.
test_config_while_driven() {
	local pinned pid cfg

	vb_setup 16
	pinned=$(pinned_pages)
	"$VB_TOOL" -d /dev/vhost-vdpa-0 --verify 0 --sectors 16384 --loop \
		>out 2>&1 &
	pid=$!
	wait_for 10 vb_pinned_above "$pinned"
	cfg=$(/usr/bin/python3 "$VDPA_TREE/tests/helpers/vdpa_config.py" blk0)
	vdpa dev config show blk0 >tool.out
	kill "$pid"
	wait "$pid" || true
	expect_eq "$cfg" "blk0 dev_id=2 negotiated=0x300006246 features=0x308007646 capacity=32768 size_max=4096 blk_size=512 seg_max=32 num_queues=1 phy_blk_exp=0 align_offset=0 min_io_size=1 opt_io_size=1 max_discard_sec=4294967295 max_discard_seg=1 discard_sec_align=512 max_write_zeroes_sec=4294967295 max_write_zeroes_seg=1 read_only=0 flush=1" \
		"DEV_CONFIG_GET while driven"
	# iproute2 6.1 prints negotiated features for network devices only
	expect_eq "$(cat tool.out)" "blk0: " "vdpa dev config show while driven"
	wait_for 10 vb_pinned_is "$pinned"
}

# vdpa-blk --bench (make bench's vhost_vdpa block figures), one second a
# job: every request of the four jobs completes with VIRTIO_BLK_S_OK, the
# 128 KiB ones as 32 segments of the device's size_max, and nothing stays
# pinned.
test_bench_mode() {
	local pinned

	vb_setup
	pinned=$(pinned_pages)
	vb_run out -d /dev/vhost-vdpa-0 --bench 1
	expect_eq "$(grep -c '^bench: .* 0 failed' out)" 4 "bench jobs without a failed request"
	grep -q '^bench: 128 KiB sequential read, QD7: ' out ||
		fail "the 128 KiB jobs did not keep 7 requests in flight"
	expect_eq "$(pinned_pages)" "$pinned" "pinned pages after the bench"
}
