# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The seeded fuzzer (tools/testing/fuzz/vdpa_fuzz.c) against the whole
# stack on the debug kernel: net and blk simulators, vhost_vdpa,
# virtio_vdpa, netlink.
# Environment (exported by tests/check-debug.sh):
#   FUZZ_OPS      operations (default 5000: the short pass of check-debug;
#                 make fuzz OPS=N passes N)
#   FUZZ_SEED     seed (default 1); the same seed replays the same
#                 operation sequence (exactly with FUZZ_THREADS=1)
#   FUZZ_THREADS  threads (default 2)
# Kernel reports fail the run through the test bed's log scan; with
# panic_on_warn the VM dies mid-test and the log's last "fuzz: op N" line
# and the seed say where.  The fuzzer itself fails if pages stay pinned.

# About 90 ops/s on the stock kernel under TCG; 150-250 ops/s on the debug
# kernel (most operations there are cheap netlink and ioctl errors).  The
# per-test limit follows the requested count (tests/check-debug.sh gives
# the VM 20 minutes more); the fuzzer stops 3 minutes before it and reports
# how many operations it ran.
TIMEOUT_fuzz=$((600 + ${FUZZ_OPS:-5000} / 10))

test_fuzz() {
	local ops=${FUZZ_OPS:-5000} seed=${FUZZ_SEED:-1} threads=${FUZZ_THREADS:-2}
	local bin status pinned ran

	bin=$(fuzz_tool vdpa-fuzz)
	# vhost_vdpa first: new devices bind to it; the fuzzer moves some
	# to virtio_vdpa (and virtio_net on top) and back.
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	sim_knobs
	if have_module vdpa_sim_blk; then
		load_modules vdpa_sim_blk
	fi
	if have_module virtio_vdpa; then
		load_modules virtio_vdpa
		modprobe -q virtio_net || true
	fi
	pinned=$(pinned_pages)
	log "fuzz: reproduce with FUZZ_SEED=$seed FUZZ_OPS=$ops FUZZ_THREADS=$threads make fuzz OPS=$ops"
	"$bin" -s "$seed" -n "$ops" -j "$threads" \
		-T $((TIMEOUT_fuzz - 180)) 2>&1 | tee fuzz.out
	status=${PIPESTATUS[0]}
	ran=$(sed -n 's/^fuzz: done seed [0-9]* ops \([0-9]*\).*/\1/p' fuzz.out)
	del_all_devices
	wait_for 5 test "$(pinned_pages)" -le "$pinned" ||
		fail "pinned pages $(pinned_pages), $pinned before the run"
	[ $status = 0 ] || fail "vdpa-fuzz exited with $status (seed $seed)"
	echo "FUZZ-RESULT seed=$seed ops=${ran:-0} threads=$threads (asked $ops)"
}
