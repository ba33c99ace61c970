# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The loopback of 30-vhost-vdpa under CPU contention: one busy loop per
# vCPU runs beside the client and the simulator's worker for the whole
# run.  A host is never idle; this is the figure that says whether the
# data path holds up when it has to share.

# shellcheck source=tests/lib/bench-lib.sh
. "$VDPA_TREE/tests/lib/bench-lib.sh"

load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:12:34:56
wait_for 5 test -c /dev/vhost-vdpa-0
ulimit -l unlimited
trap cpu_hog_stop EXIT
cpu_hog_start "$(nproc)"
log "$(nproc) busy loops running"
net_loop_bench 5 64 ", CPU hog beside it"
cpu_hog_stop
