# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# vhost-vdpa through our userspace driver: loopback packets per second
# (64 and 1500-byte frames), the kernel threads' CPU time per looped
# packet, and IOTLB map throughput (one 1 GiB UPDATE and INVALIDATE,
# batched and unbatched 4 KiB UPDATE messages per second).

# shellcheck source=tests/lib/bench-lib.sh
. "$VDPA_TREE/tests/lib/bench-lib.sh"

load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:12:34:56
wait_for 5 test -c /dev/vhost-vdpa-0
ulimit -l unlimited
net_loop_bench 5 "${VDPA_BENCH_MAP_MIB:-1024}"
