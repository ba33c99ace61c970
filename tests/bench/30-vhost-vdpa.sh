# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# vhost-vdpa through our userspace driver: loopback packets per second
# (64 and 1500-byte frames) and IOTLB map throughput (one 1 GiB UPDATE,
# batched and unbatched 4 KiB UPDATE messages per second).

load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:12:34:56
wait_for 5 test -c /dev/vhost-vdpa-0
ulimit -l unlimited
"$VDPA_TREE/tools/build/vdpa-net-loop" --bench --bench-time 5 \
	--bench-map-mib "${VDPA_BENCH_MAP_MIB:-1024}"
