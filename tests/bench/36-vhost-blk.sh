# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# vdpasim_blk through vhost_vdpa and our userspace driver (tools/vdpa_blk.c
# --bench): the requests 33-blk's fio jobs reach the device as, without
# the guest's block layer: 4 KiB random reads and writes at queue depth
# 16, and 128 KiB sequential ones (fio's 1 MiB requests, split by
# virtio_blk into 32 segments of the device's 4 KiB size_max) at the
# 7 in flight a 256-entry queue holds; and the kernel threads' CPU time
# per request.

# shellcheck source=tests/lib/bench-lib.sh
. "$VDPA_TREE/tests/lib/bench-lib.sh"

load_modules vdpa vdpa_sim vdpa_sim_blk vhost_vdpa
vdpa dev add name blk0 mgmtdev vdpasim_blk
wait_for 5 test -c /dev/vhost-vdpa-0
ulimit -l unlimited

rc=0
k0=$(kthreads_cpu_ns)
"$VDPA_TREE/tools/build/vdpa-blk" --bench "$BENCH_BLK_SECS" >blk.out 2>&1 || rc=$?
k1=$(kthreads_cpu_ns)
cat blk.out
reqs=0
# "bench: 4 KiB random read, QD16: 12345 IOPS, 50.6 MB/s (61725 requests, ...)"
while IFS= read -r line; do
	case $line in
	"bench: "*) ;;
	*) continue ;;
	esac
	what=${line#bench: }
	what=${what%%: *}
	# shellcheck disable=SC2086 # split the figures
	set -- ${line##*QD*: }
	case $what in
	*random*) figure "blk vhost_vdpa, our tool, $what" "$1" IOPS ;;
	*) figure "blk vhost_vdpa, our tool, $what" "$3" MB/s ;;
	esac
	n=${5#"("}
	reqs=$((reqs + n))
done <blk.out
if [ $reqs -gt 0 ]; then
	figure "kernel-thread CPU per block request, vhost_vdpa" \
		$(((k1 - k0) / reqs)) ns/req lower
fi
[ $rc = 0 ] || fail "vdpa-blk --bench failed (exit status $rc)"
vdpa dev del blk0
