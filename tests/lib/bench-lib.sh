# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the benchmarks (tests/bench/*.sh), sourced by them after
# guest-lib.sh.  A benchmark reports each figure with `figure`: the line
# goes to its output and to $VDPA_RESULTS/figures, from which the host
# builds make bench's table (ours | upstream | ratio; see
# Documentation/testing.rst).
#
#   figure NAME VALUE UNIT [lower]
#                           one figure; "lower" when a smaller value is
#                           better (seconds, ns per packet)
#   figure_na NAME REASON   a figure that cannot be produced here
#   bench_side              "ours" or "upstream": whose modules run
#   kthreads_cpu_ns         CPU time (ns) all kernel threads have used so
#                           far, from /proc/PID/task/TID/schedstat
#   cpu_hog_start [N]       N busy loops (default: one per CPU)
#   cpu_hog_stop            end them
#   blk_fio DEV RW BS WHAT  one fio job on /dev/DEV (O_DIRECT, libaio,
#                           QD16, BENCH_BLK_SECS s): the figure "WHAT, ..."
#   blk_dd DEV RW WHAT      1 MiB O_DIRECT dd over the whole disk

: "${VDPA_SIDE:=ours}"

bench_side() { printf '%s\n' "$VDPA_SIDE"; }

figure() {
	local name=$1 value=$2 unit=$3 better=${4:-higher}

	printf 'figure: %s = %s %s\n' "$name" "$value" "$unit"
	printf '%s\t%s\t%s\t%s\n' "$name" "$value" "$unit" "$better" \
		>>"$VDPA_RESULTS/figures"
}

figure_na() {
	printf 'figure: %s = n/a (%s)\n' "$1" "$2"
	printf '%s\tn/a\t%s\tna\n' "$1" "$2" >>"$VDPA_RESULTS/figures"
}

# The simulator's data path runs in kernel threads: ours in a kthread
# worker per device, upstream 6.1's on the system workqueue (kworkers).
# Neither can be told from the other kworkers' work by name, so this sums
# every kernel thread (children of kthreadd); the VM is otherwise idle.
kthreads_cpu_ns() {
	local p t ppid rest run sum=0

	for p in /proc/[0-9]*; do
		read -r _ _ _ ppid rest <"$p/stat" 2>/dev/null || continue
		[ "$ppid" = 2 ] || continue
		for t in "$p"/task/*; do
			read -r run rest <"$t/schedstat" 2>/dev/null || continue
			sum=$((sum + run))
		done
	done
	printf '%s\n' "$sum"
}

CPU_HOG_PIDS=()

cpu_hog_start() {
	local n=${1:-$(nproc)} i

	for ((i = 0; i < n; i++)); do
		bash -c 'while :; do :; done' &
		CPU_HOG_PIDS+=($!)
	done
}

cpu_hog_stop() {
	[ ${#CPU_HOG_PIDS[@]} -gt 0 ] || return 0
	kill "${CPU_HOG_PIDS[@]}" 2>/dev/null || true
	wait "${CPU_HOG_PIDS[@]}" 2>/dev/null || true
	CPU_HOG_PIDS=()
}

# net_loop_bench SECS MAP_MIB [SUFFIX]: vdpa-net-loop --bench on
# /dev/vhost-vdpa-0 and its figures, each name followed by SUFFIX (", CPU
# hog beside it" for the contended run, which reports the loopback
# figures only).  The tool prints both pps lines, flushed, before its map
# benches: the kernel threads' CPU time is read there, so it covers the
# loopback only.
net_loop_bench() {
	local secs=$1 mib=$2 sfx=${3:-} k0 k1 pid line size pkts=0 rc=0

	k0=$(kthreads_cpu_ns)
	# 1,024 batched messages: upstream's simulator holds at most 2,048
	# IOTLB entries (vdpa_sim's max_iotlb_entries).
	"$VDPA_TREE/tools/build/vdpa-net-loop" --bench --bench-time "$secs" \
		--bench-map-mib "$mib" --bench-msgs 1024 >loop.out 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null && ! grep -q '1500-byte frames' loop.out; do
		sleep 0.2
	done
	k1=$(kthreads_cpu_ns)
	wait $pid || rc=$?
	cat loop.out

	while read -r line; do
		# shellcheck disable=SC2086 # split the line into words
		set -- $line
		case $sfx:$line in
		*":bench pps: "*)
			size=${3%-byte}
			figure "loopback, our tool, $size B frames$sfx" "$5" pps
			pkts=$((pkts + ${5%.*} * secs))
			;;
		":bench map: "*) figure "one UPDATE of $mib MiB$sfx" "$8" s lower ;;
		":bench unmap: "*) figure "one INVALIDATE of $mib MiB$sfx" "$8" s lower ;;
		":bench batched: "*)
			shift $(($# - 2))
			figure "batched 4 KiB UPDATEs$sfx" "$1" msg/s
			;;
		":bench unbatched: "*)
			shift $(($# - 2))
			figure "single 4 KiB UPDATEs, no batch$sfx" "$1" msg/s
			;;
		esac
	done <loop.out
	# Packets: each size ran SECS seconds at the rate printed (the drain
	# adds less than one ring).
	if [ $pkts -gt 0 ]; then
		figure "kernel-thread CPU per looped packet$sfx" \
			$(((k1 - k0) / pkts)) ns/pkt lower
	fi
	[ $rc = 0 ] || fail "vdpa-net-loop --bench failed (exit status $rc)"
}

BENCH_BLK_SECS=5

# blk_fio DEV RW BS WHAT: one fio job (RW: randread, randwrite, read,
# write; BS 4k or 1M); the figure is IOPS for 4k, MB/s otherwise.
blk_fio() {
	local dev=$1 rw=$2 bs=$3 what=$4 out

	out=$(fio --name="$rw" --filename="/dev/$dev" --rw="$rw" --bs="$bs" \
		--direct=1 --ioengine=libaio --iodepth=16 --runtime=$BENCH_BLK_SECS \
		--time_based --output-format=json) || fail "fio $rw failed"
	# shellcheck disable=SC2046 # two words: bandwidth and IOPS
	set -- $(printf '%s\n' "$out" | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
d = j["read"] if j["read"]["io_bytes"] else j["write"]
print("%.1f %.0f" % (d["bw_bytes"] / 1e6, d["iops"]))')
	log "fio $rw: $1 MB/s, $2 IOPS"
	case $bs in
	4k) figure "$what, 4 KiB random ${rw#rand}, QD16" "$2" IOPS ;;
	*) figure "$what, 1 MiB sequential $rw, QD16" "$1" MB/s ;;
	esac
}

# blk_dd DEV RW WHAT: 1 MiB O_DIRECT sequential, the whole disk once.
blk_dd() {
	local dev=$1 rw=$2 what=$3 out

	if [ "$rw" = write ]; then
		out=$(dd if=/dev/zero of="/dev/$dev" bs=1M oflag=direct 2>&1) || true
	else
		out=$(dd if="/dev/$dev" of=/dev/null bs=1M iflag=direct 2>&1) || true
	fi
	log "dd $rw: ${out##*$'\n'}"
	# "... copied, 1.2 s, 110 MB/s"
	# shellcheck disable=SC2086 # split "110 MB/s"
	set -- ${out##*, }
	figure "$what, 1 MiB sequential $rw, dd" "$1" "$2"
}

# blk_figures DEV WHAT: the four fio jobs, or dd without fio
blk_figures() {
	local dev=$1 what=$2

	if command -v fio >/dev/null; then
		blk_fio "$dev" randread 4k "$what"
		blk_fio "$dev" randwrite 4k "$what"
		blk_fio "$dev" read 1M "$what"
		blk_fio "$dev" write 1M "$what"
	else
		figure_na "$what, 4 KiB random read, QD16" "fio is not installed"
		figure_na "$what, 4 KiB random write, QD16" "fio is not installed"
		blk_dd "$dev" write "$what"
		blk_dd "$dev" read "$what"
	fi
}
