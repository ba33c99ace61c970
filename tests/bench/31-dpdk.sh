# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# DPDK testpmd over vhost-vdpa: loopback packets per second in io mode
# (a txonly burst of 64-byte frames circulating through the simulator),
# and the same with 1500-byte frames.  Uses the helpers of the DPDK test.

# shellcheck source=tests/cases/31-dpdk.sh
. "$VDPA_TREE/tests/cases/31-dpdk.sh"

dp_bench() {
	local size=$1 secs=10 rx tx

	dp_testpmd $secs --forward-mode=io --port-topology=loop --tx-first \
		--eth-peer=0,$DP_MAC --txpkts="$size" --burst=32 ||
		{ tail -n 20 testpmd.out; return 1; }
	rx=$(dp_total RX-packets)
	tx=$(dp_total TX-packets)
	printf 'testpmd io, %4s-byte frames: %s packets/s (RX %s, TX %s in %s s)\n' \
		"$size" $((rx / secs)) "$rx" "$tx" $secs
}

dp_setup
dp_bench 64
dp_bench 1500
