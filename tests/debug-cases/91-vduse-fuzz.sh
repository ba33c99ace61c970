# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The seeded malicious VDUSE daemon (tools/testing/fuzz/vduse_fuzz.c) on
# the debug kernel: bad configs, bad, late and missing replies, the
# daemon's death mid-request, ioctls with random arguments, IOTLB files
# mapped and touched, `vdpa dev add`/`dev del` racing with all of it, and
# virtio_vdpa + virtio_blk/virtio_net bound on top (a reader thread on the
# disk).  The tool checks its invariants (refused configs, bounded dev
# add/del and disk reads once the daemon is gone, nothing left after
# clean-up); this test then checks that no vdpa device nor VDUSE node is
# left and that vduse unloads (no leaked reference).  Kernel reports fail
# the run through the test bed's log scan.
# Environment (exported by tests/check-debug.sh):
#   FUZZ_OPS      operations (default 600: about 1-2 minutes under TCG);
#                 ./tests/check-debug.sh --fuzz N --tests '^91-vduse-fuzz/'
#                 runs N.  The tool stops at this test's limit less 180 s
#                 whatever the count (the limit is at most 900 s: make
#                 coverage's FUZZ_OPS=20000 is meant for 90-fuzz)
#   FUZZ_SEED     seed (default 1); the same seed draws the same
#                 operations (timing decides only how the races fall)

TIMEOUT_vduse_fuzz=$((600 + ${FUZZ_OPS:-600} / 5))
[ $TIMEOUT_vduse_fuzz -le 900 ] || TIMEOUT_vduse_fuzz=900

test_vduse_fuzz() {
	local ops=${FUZZ_OPS:-600} seed=${FUZZ_SEED:-1}
	local mt=1 bin pid status left n

	bin=$(fuzz_tool vduse-fuzz)
	load_modules vdpa vduse
	if have_module virtio_vdpa; then
		load_modules virtio_vdpa
		modprobe -q virtio_blk || true
		modprobe -q virtio_net || true
	fi
	wait_for 10 test -c /dev/vduse/control
	log "vduse-fuzz: reproduce with FUZZ_SEED=$seed FUZZ_OPS=$ops make check-debug TESTS='^91-vduse-fuzz/'"
	# in the background: a thread stuck in the kernel keeps the process
	# from exiting, and its report says so (HUNG) before that
	"$bin" -s "$seed" -n "$ops" -m "$mt" -T $((TIMEOUT_vduse_fuzz - 180)) \
		>vfuzz.out 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		if grep -q '^VDUSE-FUZZ-RESULT.* HUNG' vfuzz.out; then
			cat vfuzz.out
			fail "vduse-fuzz: a thread is stuck in the kernel (seed $seed)"
		fi
		sleep 1
	done
	status=0
	wait $pid || status=$?
	cat vfuzz.out
	del_all_devices || fail "vdpa dev del failed after the run"
	left=$(vdpa_devices)
	[ -z "$left" ] || fail "vdpa devices left: $left"
	left=$(ls /dev/vduse 2>/dev/null | grep -vx control || true)
	[ -z "$left" ] || fail "VDUSE nodes left: $left"
	expect_eq "$(cat /sys/module/vduse/parameters/msg_timeout)" 10 \
		"msg_timeout restored"
	[ $status = 0 ] || fail "vduse-fuzz exited with $status (seed $seed)"
	# every file and device released: the module unloads
	for ((n = 0; n < 50; n++)); do
		rmmod vduse 2>/dev/null && break
		sleep 0.1
	done
	! module_loaded vduse || fail "rmmod vduse failed: $(rmmod vduse 2>&1)"
	grep '^VDUSE-FUZZ-RESULT' vfuzz.out
}
