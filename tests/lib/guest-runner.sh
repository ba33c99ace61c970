#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the test bed: run by the VM's /init (guest-init.sh) inside
# the chroot of the host root, as `guest-runner.sh RESULTS_DIR`.  Reads
# RESULTS_DIR/params (written by the host: VDPA_TREE, MODE, TESTS, ...)
# and reports back through RESULTS_DIR:
#
#   results         one line per event, read by the host as it comes:
#                   LOG TEXT | START NAME | PASS NAME SECS |
#                   FAIL NAME SECS REASON... | SKIP NAME SECS |
#                   RAN NAME SECS STATUS | TAINT N | DONE
#   stream          free text the host prints as it comes (demo, bench)
#   out/NAME.log    everything a test printed
#   dmesg           the whole kernel log at the end; "vdpa-test: start
#                   NAME" lines mark where each test begins (the host
#                   splits it into out/NAME.dmesg)
#
# MODE is check (tests/cases/*.sh), bench (tests/bench/*.sh), demo
# (tests/lib/demo.sh) or debug (make check-debug on the debug kernel:
# tests/cases/*.sh and tests/debug-cases/*.sh, then the KUnit modules and
# the final leak checks; see tests/debug/guest-debug.sh).  Optional
# params: VDPA_MODROOT (the kernel's modules are VDPA_MODROOT/lib/modules,
# bind-mounted on /lib/modules), VDPA_SKIP (regex of tests not run, with
# the reason VDPA_SKIP_WHY), VDPA_SKIP_FULL (the same for tests left to
# make check-full, with VDPA_SKIP_FULL_WHY), VDPA_MODTREE and VDPA_SIDE (make bench: where
# the modules under test are, and "ours" or "upstream"), FUZZ_OPS,
# FUZZ_SEED, FUZZ_THREADS, VDPA_STRESS_SECS (exported), VDPA_KO_DIR (where
# the host built our modules for this kernel, tests/.build/<release>;
# VDPA_TREE if unset), VDPA_COVERAGE (debug: save the gcov counters of our
# modules in RESULTS_DIR/gcov).

RES=${1:?usage: guest-runner.sh RESULTS_DIR}
# shellcheck source=/dev/null
. "$RES/params" || exit 1
export VDPA_TREE VDPA_RESULTS=$RES
for v in FUZZ_OPS FUZZ_SEED FUZZ_THREADS VDPA_STRESS_SECS; do
	[ -z "${!v:-}" ] || export "${v?}"
done
# Another kernel than the host's (check-debug): its modules.
if [ -n "${VDPA_MODROOT:-}" ]; then
	mount --bind "$VDPA_MODROOT/lib/modules" /lib/modules ||
		echo "LOG guest: cannot bind $VDPA_MODROOT/lib/modules" >>"$RES/results"
fi
LIB=$VDPA_TREE/tests/lib/guest-lib.sh
: "${TESTS:=}" "${VDPA_TEST_TIMEOUT:=600}"
export VDPA_TEST_TIMEOUT
# make bench's upstream boots: the modules under test are upstream's.
: "${VDPA_KO_DIR:=$VDPA_TREE}"
: "${VDPA_MODTREE:=$VDPA_KO_DIR}" "${VDPA_SIDE:=ours}"
VDPA_TREE_KOS=$(cd "$VDPA_MODTREE" && find drivers -name '*.ko' 2>/dev/null)
export VDPA_KO_DIR VDPA_MODTREE VDPA_SIDE VDPA_TREE_KOS
OUR_MODULES="vdpa vdpa_sim vdpa_sim_net vdpa_sim_blk virtio_vdpa vhost_vdpa"
for ko in $VDPA_TREE_KOS; do
	ko=${ko##*/}
	OUR_MODULES="$OUR_MODULES ${ko%.ko}"
done

report() { printf '%s\n' "$*" >>"$RES/results"; }

# nap SECS: sleep without a process (every exec costs a fifth of a second
# in a TCG guest): a timed read of a FIFO nobody writes, on fd 9.
NAP_FIFO=/run/vdpa-runner-nap
rm -f "$NAP_FIFO"
if mkfifo "$NAP_FIFO" 2>/dev/null && exec 9<>"$NAP_FIFO"; then
	nap() { read -r -t "$1" -u 9 _ || true; }
else
	nap() { sleep "$1"; }
fi

# say TEXT: a progress line for the user.  The host prints the free
# output ("stream") before the events of the same moment, so outside of
# check mode (where the stream is used) progress goes there too.
say() {
	if [ "$MODE" = check ] || [ "$MODE" = debug ]; then
		report "LOG $*"
	else
		printf '%s\n' "$*" >>"$RES/stream"
	fi
}

# Microseconds since the epoch, and seconds since such a time (one decimal).
now_us() { t0=${EPOCHREALTIME/[.,]/}; }

since() {
	local d=$((${EPOCHREALTIME/[.,]/} - $1))

	printf '%d.%d' $((d / 1000000)) $((d / 100000 % 10))
}

kmsg() { echo "vdpa-test: $*" >/dev/kmsg 2>/dev/null; }

# mkdir_for FILE: make FILE's directory (without a process if it exists).
mkdir_for() { [ -d "${1%/*}" ] || mkdir -p "${1%/*}"; }

TMPN=0
# new_tmpdir: a fresh empty directory in $tmpdir.
new_tmpdir() {
	TMPN=$((TMPN + 1))
	tmpdir=/tmp/vdpa-test.$TMPN
	mkdir -m 700 "$tmpdir"
}

# discover FILE: print "FUNC TIMEOUT" for each test_ function of FILE, in
# the order they are defined.  Fails if guest-lib.sh does not source.
discover() {
	bash -c '
		. "$1" >/dev/null || exit 1
		. "$2" >/dev/null
		shopt -s extdebug
		for f in $(compgen -A function test_); do
			set -- $(declare -F "$f")
			[ "$3" = "$0" ] || continue
			n=${f#test_}
			t=TIMEOUT_$n
			echo "$2 $f ${!t:-${TEST_TIMEOUT:-$VDPA_TEST_TIMEOUT}}"
		done | sort -n | cut -d" " -f2-
	' "$1" "$LIB" "$1"
}

# dump_stuck [PGID]: every task of process group PGID (without PGID:
# every task in uninterruptible sleep), its state and kernel stack: what
# a test about to time out, or a hung clean-up, waits for.
dump_stuck() {
	local p t

	if [ -n "${1:-}" ]; then
		echo "# the tasks of the test and their kernel stacks"
	else
		echo "# tasks in D state and their kernel stacks"
	fi
	for p in /proc/[0-9]*; do
		if [ -n "${1:-}" ]; then
			[ "$(awk '{ print $5 }' "$p/stat" 2>/dev/null)" = "$1" ] ||
				continue
		fi
		for t in "$p"/task/*; do
			[ -n "${1:-}" ] || grep -q '^State:.D' "$t/status" 2>/dev/null ||
				continue
			echo "## ${t#/proc/} $(cat "$p/comm" 2>/dev/null)" \
				"$(grep '^State:' "$t/status" 2>/dev/null)" \
				"wchan=$(cat "$t/wchan" 2>/dev/null)"
			cat "$t/stack" 2>/dev/null
		done
	done
}

# dump_tree PID: PID and every task descending from it, with their
# states and kernel stacks (a clean-up may hang in S or R state too).
dump_tree() {
	local p t tids

	echo "# the clean-up's tasks and their kernel stacks"
	tids=$(awk -v root="$1" '
		FNR == 1 {
			s = $0; sub(/^[0-9]+ \(.*\) /, "", s); split(s, f, " ")
			pid = FILENAME; sub(/^\/proc\//, "", pid); sub(/\/stat$/, "", pid)
			parent[pid] = f[2]
		}
		END {
			for (p in parent) {
				for (q = p; q != "" && q != 0 && q != root; q = parent[q])
					;
				if (q == root)
					print p
			}
		}' /proc/[0-9]*/stat 2>/dev/null)
	for p in $tids; do
		for t in /proc/"$p"/task/*; do
			echo "## ${t#/proc/} $(cat "/proc/$p/cmdline" 2>/dev/null | tr '\0' ' ')" \
				"$(grep '^State:' "$t/status" 2>/dev/null)" \
				"wchan=$(cat "$t/wchan" 2>/dev/null)"
			cat "$t/stack" 2>/dev/null
		done
	done
}

# run_one NAME LOGNAME TIMEOUT FILE CMD: run CMD (a function of FILE) in
# a fresh bash, output in out/LOGNAME.log, and report it.
run_one() {
	local name=$1 tmo=$2 file=$3 fn=$4 log dir t0 pid rc secs watch

	log=$RES/out/$name.log
	mkdir_for "$log"
	new_tmpdir
	dir=$tmpdir
	report "START $name"
	kmsg "start $name"
	now_us
	(
		exec 9>&-
		cd "$dir" || exit 1
		export TEST_NAME=$name TEST_TMPDIR=$dir
		export TEST_DEADLINE=$((EPOCHSECONDS + tmo))
		exec timeout -k 10 "$tmo" bash -c \
			'. "$1" || exit 1; . "$2"
			trap '\''on_test_err $? "$BASH_COMMAND" "${BASH_SOURCE[0]##*/}:$LINENO"'\'' ERR
			set -eE; "$3"' \
			"$name" "$LIB" "$file" "$fn"
	) </dev/null >"$log" 2>&1 &
	pid=$!
	# Shortly before the limit, record where the test's processes wait.
	(
		nap $((tmo > 30 ? tmo - 10 : tmo))
		dump_stuck "$pid" >"$log.stuck" 2>&1
	) &
	watch=$!
	wait $pid
	rc=$?
	kill $watch 2>/dev/null
	wait $watch 2>/dev/null
	# Whatever the test left running goes (timeout made a process group).
	kill -KILL -- -$pid 2>/dev/null
	if [ -e "$log.stuck" ]; then
		cat "$log.stuck" >>"$log"
		rm -f "$log.stuck"
	fi
	secs=$(since "$t0")
	rm -rf "$dir"

	case $rc in
	0) report "PASS $name $secs" ;;
	77) report "SKIP $name $secs" ;;
	124 | 137) report "FAIL $name $secs timed out after ${tmo}s" ;;
	*) report "FAIL $name $secs exit status $rc" ;;
	esac
	return $rc
}

# True if a vdpa device exists or one of our modules is loaded.
dirty() {
	local d m

	for d in /sys/bus/vdpa/devices/*; do
		[ -e "$d" ] && return 0
	done
	for m in $OUR_MODULES; do
		[ -e "/sys/module/$m/initstate" ] && return 0
	done
	return 1
}

# cleanup NAME: delete every device and unload our modules after a test.
# A clean-up that does not end within VDPA_CLEANUP_TIMEOUT seconds has a
# task stuck in the kernel (a deadlock): nothing after it could run, so
# the run ends there, with the stuck tasks' stacks in the log.
cleanup() {
	local name=$1/cleanup log rc pid end

	dirty || return 0
	log=$RES/out/$name.log
	mkdir_for "$log"
	(unload_modules) >"$log" 2>&1 &
	pid=$!
	end=$((SECONDS + ${VDPA_CLEANUP_TIMEOUT:-300}))
	while kill -0 $pid 2>/dev/null && [ $SECONDS -lt $end ]; do
		nap 0.05
	done
	if kill -0 $pid 2>/dev/null; then
		dump_stuck >>"$log" 2>&1
		dump_tree $pid >>"$log" 2>&1
		report "START $name"
		report "FAIL $name 0 hung (a task is stuck in the kernel, see its log); the run stops here"
		finish_run
		kmsg "rebooting: the clean-up hung"
		echo b >/proc/sysrq-trigger
		sleep 60
	fi
	wait $pid
	rc=$?
	if [ $rc -eq 0 ] && dirty; then
		echo "devices or modules left after unload_modules" >>"$log"
		rc=1
	fi
	if [ $rc -ne 0 ]; then
		report "START $name"
		report "FAIL $name 0 cleanup failed"
	else
		rm -f "$log"
	fi
}

# selected NAME: true if NAME matches the TESTS regex (POSIX extended, as
# grep -E).
selected() {
	[ -z "$TESTS" ] || [[ $1 =~ $TESTS ]]
}

# any_selected STEM FILE: true if a test_ function defined in FILE (as a
# plain text scan sees it) has a name TESTS selects.
any_selected() {
	local line re='^[[:space:]]*(function[[:space:]]+)?test_([A-Za-z0-9_]+)'

	[ -z "$TESTS" ] && return 0
	while IFS= read -r line; do
		[[ $line =~ $re ]] || continue
		selected "$1/${BASH_REMATCH[2]}" && return 0
	done <"$2"
	return 1
}

# skipped NAME: true (and NAME reported as skipped) if VDPA_SKIP, or
# VDPA_SKIP_FULL (tests left to make check-full), says NAME does not run
# here; its log says why (VDPA_SKIP_WHY, VDPA_SKIP_FULL_WHY).
skipped() {
	local why

	if [ -n "${VDPA_SKIP:-}" ] && [[ $1 =~ $VDPA_SKIP ]]; then
		why=${VDPA_SKIP_WHY:-not run in this mode}
	elif [ -n "${VDPA_SKIP_FULL:-}" ] && [[ $1 =~ $VDPA_SKIP_FULL ]]; then
		why=${VDPA_SKIP_FULL_WHY:-run by make check-full only}
	else
		return 1
	fi
	mkdir_for "$RES/out/$1.log"
	printf 'skip: %s\n' "$why" >"$RES/out/$1.log"
	report "START $1"
	report "SKIP $1 0"
}

# run_cases DIR...: every test of DIR/*.sh, in order.
run_cases() {
	local file stem fn tmo name list n=0 dir files=()

	for dir in "$@"; do
		files+=("$dir"/*.sh)
	done
	for file in "${files[@]}"; do
		[ -f "$file" ] || continue
		stem=${file##*/}
		stem=${stem%.sh}
		# Source the file only if one of its tests can be selected.
		any_selected "$stem" "$file" || continue
		# Anything on stderr while sourcing it (a syntax error, a failing
		# command) fails "<stem>/load"; the tests found still run.
		name=$stem/load
		mkdir_for "$RES/out/$name.log"
		list=$(discover "$file" 2>"$RES/out/$name.log")
		if [ $? -ne 0 ] || [ -s "$RES/out/$name.log" ]; then
			report "START $name"
			report "FAIL $name 0 errors while sourcing the case file"
		else
			rm -f "$RES/out/$name.log"
		fi
		while read -r fn tmo; do
			[ -n "$fn" ] || continue
			name=$stem/${fn#test_}
			selected "$name" || continue
			skipped "$name" && continue
			n=$((n + 1))
			run_one "$name" "$tmo" "$file" "$fn"
			cleanup "$name"
		done <<<"$list"
		# make coverage: what a run stopped later has reached so far.
		[ "${VDPA_COVERAGE:-0}" = 0 ] || save_coverage quiet
	done
	say "guest: $n tests run"
}

run_benches() {
	local file name

	for file in "$VDPA_TREE"/tests/bench/*.sh; do
		[ -f "$file" ] || continue
		name=${file##*/}
		name=bench/${name%.sh}
		selected "$name" || continue
		run_bench "$name" "$file"
		cleanup "$name"
	done
}

run_bench() {
	local name=$1 file=$2 log t0 rc dir

	log=$RES/out/$name.log
	mkdir_for "$log"
	new_tmpdir
	dir=$tmpdir
	say "--- $name"
	report "START $name"
	kmsg "start $name"
	now_us
	(
		exec 9>&-
		cd "$dir" || exit 1
		export TEST_NAME=$name TEST_TMPDIR=$dir
		exec timeout -k 10 "${VDPA_BENCH_TIMEOUT:-1800}" bash -c \
			'. "$1" && set -e && . "$2"' "$name" "$LIB" "$file"
	) </dev/null 2>&1 | tee "$log" >>"$RES/stream"
	rc=${PIPESTATUS[0]}
	rm -rf "$dir"
	report "RAN $name $(since "$t0") $rc"
}

run_demo() {
	local rc

	kmsg "start demo"
	bash "$VDPA_TREE/tests/lib/demo.sh" </dev/null >>"$RES/stream" 2>&1
	rc=$?
	report "RAN demo 0 $rc"
}

# finish_run: the kernel log and taint for the host, and the end mark.
finish_run() {
	kmsg "done"
	dmesg >"$RES/dmesg" 2>&1
	report "TAINT $(cat /proc/sys/kernel/tainted)"
	report "DONE"
}

# The clean-up runs unload_modules in a subshell of this shell.
# shellcheck source=tests/lib/guest-lib.sh
. "$LIB" || exit 1

cd / || exit 1
# The heartbeat: the guest's own timer rewrites it every 10 s.  The host
# stops a VM whose heartbeat stands still (tb_follow, VDPA_STALL_TIMEOUT):
# a guest whose timers no longer fire reaches no other limit of its own.
(
	while nap 10; do
		printf '%s\n' "$EPOCHSECONDS" >"$RES/heartbeat"
	done
) &
HEARTBEAT_PID=$!
say "guest: kernel $(uname -r), $(nproc) CPUs, mode $MODE"
case $MODE in
check) run_cases "$VDPA_TREE/tests/cases" ;;
bench) run_benches ;;
demo) run_demo ;;
debug)
	# shellcheck source=tests/debug/guest-debug.sh
	. "$VDPA_TREE/tests/debug/guest-debug.sh"
	debug_before
	run_cases "$VDPA_TREE/tests/cases" "$VDPA_TREE/tests/debug-cases"
	run_kunit
	debug_after
	[ "${VDPA_COVERAGE:-0}" = 0 ] || save_coverage
	;;
*) say "guest: unknown mode $MODE" ;;
esac
kill "$HEARTBEAT_PID" 2>/dev/null
finish_run
sync
