# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# DPDK 22.11 testpmd as an independent client of /dev/vhost-vdpa-0
# (virtio-user PMD, CLIENTS.md §5): --no-huge -m 512 means one 512 MiB
# IOTLB UPDATE of 4 KiB anonymous pages, pinned in PA mode.

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

DP_MAC=52:54:00:12:34:56
DP_TIMEOUT=300		# seconds for EAL start-up under TCG

dp_setup() {
	require_cmd dpdk-testpmd
	ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_net_virtio.so* \
		>/dev/null 2>&1 || skip "librte-net-virtio23 is not installed"
	grep -qw sse4_2 /proc/cpuinfo || skip "the CPU lacks SSE4.2 (start QEMU with -cpu max)"
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $DP_MAC
	wait_for 5 test -c /dev/vhost-vdpa-0
	ulimit -l unlimited
}

# Run testpmd non-interactively with the given application options; it
# forwards until Enter, which we send SECS seconds after it started
# forwarding.  Output in ./testpmd.out, exit status returned.
dp_testpmd() {
	local secs=$1 pid rc=0 i load=

	shift
	rm -f in testpmd.out
	mkfifo in
	# line-buffered: testpmd's stdout is a file, and we wait for a line
	stdbuf -oL -eL dpdk-testpmd -l 0-1 --no-pci --no-huge -m 512 --iova-mode=va \
		--file-prefix=vdpa-test --log-level=lib.eal:notice \
		--vdev=net_virtio_user0,path=/dev/vhost-vdpa-0,queues=1,queue_size=256,mac=${DP_RUN_MAC:-$DP_MAC}${DP_VDEV_OPTS:-} \
		-- --nb-cores=1 --rxq=1 --txq=1 --txd=256 --rxd=256 \
		--total-num-mbufs=8192 "$@" <in >testpmd.out 2>&1 &
	pid=$!
	exec 4>in
	for ((i = 0; i < DP_TIMEOUT * 10; i++)); do
		grep -q 'Press enter to exit' testpmd.out && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q 'Press enter to exit' testpmd.out; then
		kill -KILL $pid 2>/dev/null || true
		exec 4>&-
		wait $pid || true
		tail -n 40 testpmd.out >&2
		fail "testpmd did not start forwarding"
		return 1
	fi
	# DP_LOAD: a command run in the background while testpmd forwards;
	# killed after SECS, or waited for with DP_LOAD_WAIT set
	if [ -n "${DP_LOAD:-}" ]; then
		$DP_LOAD &
		load=$!
	fi
	sleep "$secs"
	if [ -n "$load" ]; then
		[ -n "${DP_LOAD_WAIT:-}" ] || kill "$load" 2>/dev/null || true
		wait "$load" || true
	fi
	echo >&4
	exec 4>&-
	for ((i = 0; i < 600; i++)); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $pid 2>/dev/null; then
		kill -KILL $pid
		wait $pid || true
		tail -n 40 testpmd.out >&2
		fail "testpmd did not exit within 60 s of Enter"
		return 1
	fi
	wait $pid || rc=$?
	return $rc
}

# A counter of the accumulated statistics: dp_total RX-packets.
dp_total() {
	awk -v k="$1:" '/Accumulated forward statistics/ { a = 1 }
		a { for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' \
		testpmd.out
}

# After testpmd: the device is reset, nothing stays pinned, and our own
# driver can use it again.
dp_after() {
	local pinned=$1

	vdpa dev config show vdpa0 >cfg
	! grep -q negotiated_features cfg ||
		fail "the device is not reset after testpmd: $(cat cfg)"
	expect_eq "$(pinned_pages)" "$pinned" "pinned pages after testpmd"
	if [ -x "$VDPA_TREE/tools/build/vdpa-net-loop" ]; then
		"$VDPA_TREE/tools/build/vdpa-net-loop" -n 8 -s 64 >loop.out 2>&1 ||
			{ cat loop.out; fail "vdpa-net-loop after testpmd"; }
	fi
}

# One txonly burst of 32 broadcast frames loops back: exactly 32 received.
test_testpmd_rxonly() {
	local pinned rc=0 rx tx

	dp_setup
	pinned=$(pinned_pages)
	dp_testpmd 3 --forward-mode=rxonly --tx-first \
		--eth-peer=0,ff:ff:ff:ff:ff:ff || rc=$?
	grep -A 3 'Accumulated forward statistics' testpmd.out || true
	[ $rc = 0 ] || { tail -n 40 testpmd.out; fail "testpmd exited with $rc"; }
	grep -q 'Bye' testpmd.out || fail "testpmd did not say Bye"
	rx=$(dp_total RX-packets)
	tx=$(dp_total TX-packets)
	expect_eq "$rx" 32 "RX-packets"
	expect_eq "$tx" 32 "TX-packets"
	dp_after "$pinned"
}

# io forwarding with the device MAC as peer: the burst circulates.
test_testpmd_io() {
	local pinned rc=0 rx tx

	dp_setup
	pinned=$(pinned_pages)
	dp_testpmd 5 --forward-mode=io --port-topology=loop --tx-first \
		--eth-peer=0,$DP_MAC || rc=$?
	grep -A 3 'Accumulated forward statistics' testpmd.out || true
	[ $rc = 0 ] || { tail -n 40 testpmd.out; fail "testpmd exited with $rc"; }
	rx=$(dp_total RX-packets)
	tx=$(dp_total TX-packets)
	log "io: RX-packets $rx TX-packets $tx"
	if [ -z "$rx" ] || [ "$rx" -le 32 ]; then
		fail "RX-packets '$rx': the burst did not circulate"
	fi
	# the 32 frames of the burst stay in flight: TX - RX = 32 - TX-dropped
	expect_eq $((tx - rx)) $((32 - $(dp_total TX-dropped))) \
		"TX-packets - RX-packets"
	dp_after "$pinned"
}

# A foreign peer MAC is dropped by the device filter: nothing comes back.
test_testpmd_foreign_peer() {
	local pinned rc=0

	dp_setup
	pinned=$(pinned_pages)
	dp_testpmd 2 --forward-mode=rxonly --tx-first \
		--eth-peer=0,02:00:00:00:00:00 || rc=$?
	[ $rc = 0 ] || { tail -n 40 testpmd.out; fail "testpmd exited with $rc"; }
	expect_eq "$(dp_total RX-packets)" 0 "RX-packets"
	expect_eq "$(dp_total TX-packets)" 32 "TX-packets"
	dp_after "$pinned"
}

# Ring integrity under CPU contention (issue 12 item 3): io forwarding
# with a hog on every CPU while testpmd forwards (vdpa-net-loop --hog: a
# spinning, a yielding and a 20 us sleeping thread each).  A loopback
# cannot create frames: RX never exceeds TX, io keeps exactly its 32
# frames in flight, and no queue stops.  With VDPA_STRESS_SECS=N, N
# seconds of flowgen (the RX-full path) first, then N of io; 4 s of io
# otherwise (testpmd's start-up under TCG takes 20-30 s more).  flowgen
# sends to 00:01:02:03:04:01 (or to the peer): the device gets that MAC.
test_testpmd_under_load() {
	local secs=${VDPA_STRESS_SECS:-4} lines rc=0 rx tx t0
	local tool=$VDPA_TREE/tools/build/vdpa-net-loop mode modes=io

	[ -x "$tool" ] || fail "$tool is not built" || return 1
	dp_setup
	lines=$(dmesg | wc -l)
	# the hog runs while testpmd forwards (its start-up is slow enough)
	DP_LOAD="$tool --hog $((secs + 60))"
	[ -z "${VDPA_STRESS_SECS:-}" ] || modes="flowgen io"
	for mode in $modes; do
		rc=0
		DP_RUN_MAC=$DP_MAC
		[ $mode = io ] || DP_RUN_MAC=00:01:02:03:04:01
		vdpa dev del vdpa0
		vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $DP_RUN_MAC
		wait_for 5 test -c /dev/vhost-vdpa-0
		t0=$(date +%s)
		dp_testpmd "$secs" --forward-mode=$mode --port-topology=loop \
			--tx-first --eth-peer=0,$DP_RUN_MAC || rc=$?
		grep -A 3 'Accumulated forward statistics' testpmd.out || true
		[ $rc = 0 ] || { tail -n 40 testpmd.out; fail "testpmd $mode exited with $rc"; }
		rx=$(dp_total RX-packets)
		tx=$(dp_total TX-packets)
		log "$mode under load: RX-packets $rx TX-packets $tx ($(($(date +%s) - t0)) s with start-up)"
		[ -n "$rx" ] && [ -n "$tx" ] || fail "$mode: no totals"
		[ "$rx" -gt 0 ] || fail "$mode: nothing looped back"
		[ "$rx" -le "$tx" ] ||
			fail "$mode: received $rx frames, more than the $tx sent"
		if [ $mode = io ]; then
			expect_eq $((tx - rx)) $((32 - $(dp_total TX-dropped))) \
				"io: TX-packets - RX-packets"
		fi
	done
	dmesg | tail -n +$((lines + 1)) >kmsg
	if grep 'virtqueue stopped' kmsg; then
		fail "a virtqueue stopped under load"
	fi
}

# Packed virtqueues (packed_vq=1) on a device provisioned with RING_PACKED.
# While testpmd forwards, one snapshot of the device's own queue counters
# and of the negotiated features is taken, and testpmd is stopped only once
# it is complete, however slow the machine (the device is reset, and its
# counters with it, when testpmd exits).
dp_setup_packed() {
	dp_setup
	vdpa dev del vdpa0
	net_packed_add vdpa0 $DP_MAC
	wait_for 5 test -c /dev/vhost-vdpa-0
	DP_VDEV_OPTS=,packed_vq=1
	DP_LOAD=dp_packed_snapshot
	DP_LOAD_WAIT=1
}

dp_packed_snapshot() {
	sleep 1
	vdpa dev vstats show vdpa0 qidx 0 >rxq.during 2>&1
	vdpa dev vstats show vdpa0 qidx 1 >txq.during 2>&1
	vdpa dev config show vdpa0 >cfg.during 2>&1
}

# dp_vstat FILE NAME: counter NAME ("tx packets") of a vstats snapshot.
dp_vstat() {
	sed -n "s/.* $2 \([0-9]*\).*/\1/p" "$1"
}

dp_check_packed() {
	grep -q "negotiated_features.* RING_PACKED" cfg.during ||
		fail "testpmd did not negotiate RING_PACKED: $(cat cfg.during)"
	cat rxq.during txq.during
}

# io forwarding on packed rings: the burst circulates, exactly 32 frames
# stay in flight, and the device never delivered more than it was given.
test_testpmd_packed_io() {
	local pinned rc=0 rx tx drx dtx

	dp_setup_packed
	pinned=$(pinned_pages)
	dp_testpmd 5 --forward-mode=io --port-topology=loop --tx-first \
		--eth-peer=0,$DP_MAC || rc=$?
	grep -A 3 'Accumulated forward statistics' testpmd.out || true
	[ $rc = 0 ] || { tail -n 40 testpmd.out; fail "testpmd exited with $rc"; }
	dp_check_packed
	rx=$(dp_total RX-packets)
	tx=$(dp_total TX-packets)
	log "packed io: RX-packets $rx TX-packets $tx"
	if [ -z "$rx" ] || [ "$rx" -le 32 ]; then
		fail "RX-packets '$rx': the burst did not circulate"
	fi
	expect_eq $((tx - rx)) $((32 - $(dp_total TX-dropped))) \
		"TX-packets - RX-packets"
	# the device's counters at the last snapshot: RX <= TX <= testpmd's TX
	drx=$(dp_vstat rxq.during "rx packets")
	dtx=$(dp_vstat txq.during "tx packets")
	[ -n "$drx" ] && [ -n "$dtx" ] || fail "no device counters"
	[ "$dtx" -gt 0 ] || fail "the device transmitted nothing"
	[ "$drx" -le "$dtx" ] || fail "device: rx $drx > tx $dtx"
	[ "$dtx" -le "$tx" ] || fail "device: tx $dtx > testpmd's TX $tx"
	dp_after "$pinned"
}

# txonly on packed rings: testpmd only transmits (and never polls RX), so
# its RX stays 0; the device loops what it transmits into the RX ring until
# it is full and drops the rest: rx + drops + overruns never exceeds tx.
test_testpmd_packed_txonly() {
	local pinned rc=0 rx tx dtx drx ddrop dover

	dp_setup_packed
	pinned=$(pinned_pages)
	dp_testpmd 4 --forward-mode=txonly --eth-peer=0,$DP_MAC || rc=$?
	grep -A 3 'Accumulated forward statistics' testpmd.out || true
	[ $rc = 0 ] || { tail -n 40 testpmd.out; fail "testpmd exited with $rc"; }
	dp_check_packed
	rx=$(dp_total RX-packets)
	tx=$(dp_total TX-packets)
	log "packed txonly: RX-packets $rx TX-packets $tx"
	[ -n "$tx" ] && [ "$tx" -gt 256 ] ||
		fail "TX-packets '$tx': not even one ring of frames went out"
	[ "$rx" -le "$tx" ] || fail "RX-packets $rx > TX-packets $tx"
	dtx=$(dp_vstat txq.during "tx packets")
	drx=$(dp_vstat rxq.during "rx packets")
	ddrop=$(dp_vstat rxq.during "rx drops")
	dover=$(dp_vstat rxq.during "rx overruns")
	[ -n "$dtx" ] && [ -n "$drx" ] || fail "no device counters"
	[ "$dtx" -gt 0 ] || fail "the device transmitted nothing"
	[ "$dtx" -le "$tx" ] || fail "device: tx $dtx > testpmd's TX $tx"
	[ "$drx" -le 256 ] || fail "device: rx $drx frames into a 256-entry ring never polled"
	[ $((drx + ${ddrop:-0} + ${dover:-0})) -le "$dtx" ] ||
		fail "device: rx $drx + drops $ddrop + overruns $dover > tx $dtx"
	dp_after "$pinned"
}
