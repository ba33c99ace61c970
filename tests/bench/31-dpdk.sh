# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# DPDK testpmd over vhost-vdpa: loopback packets per second in io mode
# (a txonly burst of 64-byte frames circulating through the simulator),
# the same with 1500-byte frames, and in flowgen mode with 64-byte
# frames.  Uses the helpers of the DPDK test.

# shellcheck source=tests/cases/31-dpdk.sh
. "$VDPA_TREE/tests/cases/31-dpdk.sh"
# shellcheck source=tests/lib/bench-lib.sh
. "$VDPA_TREE/tests/lib/bench-lib.sh"

# dp_bench MODE SIZE: testpmd in forward mode MODE (io: a txonly burst
# of frames circulating through the simulator; flowgen: testpmd makes
# frames all along) with SIZE-byte frames; the figure is RX packets/s.
# flowgen sends to 00:01:02:03:04:01 whatever the peer: the device gets
# that MAC (as in 31-dpdk's under_load test), or it drops every frame.
dp_bench() {
	local mode=$1 size=$2 secs=10 rx tx first=

	[ "$mode" != io ] || first=--tx-first
	DP_RUN_MAC=$DP_MAC
	if [ "$mode" = flowgen ]; then
		DP_RUN_MAC=00:01:02:03:04:01
		vdpa dev del vdpa0
		vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $DP_RUN_MAC
		wait_for 5 test -c /dev/vhost-vdpa-0
	fi
	dp_testpmd $secs --forward-mode="$mode" --port-topology=loop ${first:+"$first"} \
		--eth-peer=0,$DP_RUN_MAC --txpkts="$size" --burst=32 ||
		{ tail -n 20 testpmd.out; return 1; }
	rx=$(dp_total RX-packets)
	tx=$(dp_total TX-packets)
	printf 'testpmd %s, %4s-byte frames: %s packets/s (RX %s, TX %s in %s s)\n' \
		"$mode" "$size" $((rx / secs)) "$rx" "$tx" $secs
	figure "testpmd $mode, $size B frames" $((rx / secs)) pps
}

dp_setup
dp_bench io 64
dp_bench io 1500
dp_bench flowgen 64
