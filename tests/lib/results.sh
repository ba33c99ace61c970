# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Counting and reporting the results of one test-bed run, for the host
# side runners (tests/check.sh, tests/check-debug.sh); sourced after
# host-lib.sh.
#
#   tb_pass NAME [DETAIL]   a test that passed on the host
#   tb_fail NAME WHY...     a test that failed (printed at once)
#   tb_on_result LINE       tb_follow's handler: one line the guest's
#                           runner wrote to $TB_RUN/results
#   tb_finish_run           after tb_follow: tests the guest started but
#                           never finished, a runner that never finished,
#                           the kernel log scan (kernel/dmesg-clean), a
#                           selection that matched nothing
#   tb_summary              "N passed, N failed[, N skipped]" ("N ran, "
#                           first when RAN lines came: make bench)
#
# TB_PASSED, TB_FAILED, TB_SKIPPED, TB_RAN count; TB_DONE is 1 once the
# guest's runner said DONE; TB_TESTS is the selection (for the message).
# Each case file (the part of a test name before the first /: 00-smoke,
# kunit, debug, ...) is a phase for tb_phase_report: the host's time from
# the START of its first test to the START of the next file's (its
# clean-ups included), or to DONE.

TB_PASSED=0
TB_FAILED=0
TB_SKIPPED=0
TB_RAN=0
TB_NRESULTS=0
TB_DONE=0
TB_TAINT=0
TB_TESTS=${TB_TESTS:-}
declare -A TB_STARTED=()
TB_FILE=
TB_FILE_T0=0

tb_pass() {
	TB_PASSED=$((TB_PASSED + 1))
	printf 'PASS  %s%s\n' "$1" "${2:+ ($2)}"
}

tb_fail() {
	local name=$1

	shift
	TB_FAILED=$((TB_FAILED + 1))
	printf 'FAIL  %s (%s)\n' "$name" "$*"
}

# Print a test's log from the guest, indented.
tb_show_log() {
	local f=$TB_RUN/out/$1.log

	if [ -s "$f" ]; then
		tail -n 200 "$f" | sed 's/^/  | /'
	fi
}

# tb_wall_secs NAME GUEST_SECS: how long the test took as the host saw it
# (START to result); the guest's own figure if that is larger, as the
# guest clock can lag behind a busy host's.
tb_wall_secs() {
	local t=${TB_STARTED[$1]:-} d

	[ -n "$t" ] || { echo "$2"; return; }
	d=$((${EPOCHREALTIME/[.,]/} - t))
	awk -v a="$d" -v b="$2" 'BEGIN { a /= 1e6; printf "%.1f", (a > b ? a : b) }'
}

# tb_file_phase [STEM]: the case file STEM starts (none: the run ends).
tb_file_phase() {
	local now=${EPOCHREALTIME/[.,]/}

	[ "${1:-}" != "$TB_FILE" ] || return 0
	[ -z "$TB_FILE" ] ||
		tb_phase_add "cases/$TB_FILE" $(((now - TB_FILE_T0 + 500000) / 1000000))
	TB_FILE=${1:-}
	TB_FILE_T0=$now
}

tb_on_result() {
	local what name secs rest why

	read -r what name secs rest <<<"$1"
	case $what in
	START) tb_file_phase "${name%%/*}" ;;
	DONE) tb_file_phase ;;
	esac
	case $what in
	PASS | SKIP | FAIL | RAN)
		TB_NRESULTS=$((TB_NRESULTS + 1))
		secs=$(tb_wall_secs "$name" "$secs")
		unset "TB_STARTED[$name]"
		;;
	esac
	case $what in
	LOG) printf '%s\n' "${1#LOG }" ;;
	START) TB_STARTED[$name]=${EPOCHREALTIME/[.,]/} ;;
	PASS) tb_pass "$name" "${secs}s" ;;
	SKIP)
		TB_SKIPPED=$((TB_SKIPPED + 1))
		printf 'SKIP  %s: %s\n' "$name" \
			"$(grep -h '^skip: ' "$TB_RUN/out/$name.log" 2>/dev/null |
				tail -n 1 | cut -c7-)"
		;;
	FAIL)
		why=$(grep -h -m 1 '^fail: ' "$TB_RUN/out/$name.log" 2>/dev/null |
			cut -c7- | cut -c1-300)
		tb_fail "$name" "${secs}s, $rest${why:+; first reason: $why}"
		tb_show_log "$name"
		;;
	RAN)
		TB_RAN=$((TB_RAN + 1))
		if [ "$rest" = 0 ]; then
			printf 'RAN   %s (%ss)\n' "$name" "$secs"
		else
			tb_fail "$name" "${secs}s, exit status $rest"
		fi
		;;
	TAINT) TB_TAINT=$name ;;
	DONE) TB_DONE=1 ;;
	*) printf 'guest: %s\n' "$1" ;;
	esac
}

tb_finish_run() {
	local name problems culprits log

	tb_file_phase

	# Tests that started but never reported: the guest died under them.
	for name in "${!TB_STARTED[@]}"; do
		tb_fail "$name" "started but never finished: $(tb_vm_exit_reason)"
		tb_show_log "$name"
	done

	if [ $TB_DONE = 0 ]; then
		tb_fail vm/finished "$(tb_vm_exit_reason) before the runner finished"
		tb_console_tail 60
	fi

	# Any BUG, WARNING, lockdep, KASAN or kmemleak report fails the run.
	tb_split_dmesg
	problems=$(tb_kernel_log_problems "$TB_RUN/dmesg" "$TB_RUN/console.log" |
		tr -d '\r' | sort -u)
	# debug/kmemleak (tests/debug/checks.sh) judges leaks: it passes only
	# if every object reported is the known driver-core leak it names;
	# then kmemleak's own "N new suspected memory leaks" line is that.
	if grep -q '^PASS debug/kmemleak ' "$TB_RUN/results" 2>/dev/null; then
		problems=$(printf '%s\n' "$problems" |
			grep -v -E 'kmemleak: [0-9]+ new suspected memory leaks')
	fi
	# TAINT_DIE (bit 7) or TAINT_WARN (bit 9) without a matching message.
	if [ $((TB_TAINT & 0x280)) -ne 0 ]; then
		problems="${problems:+$problems$'\n'}kernel tainted: $TB_TAINT"
	fi
	if [ -n "$problems" ]; then
		tb_fail kernel/dmesg-clean "the kernel log has reports"
		printf '%s\n' "$problems" | head -n 20 | sed 's/^/  ! /'
		culprits=$(cd "$TB_RUN/out" 2>/dev/null &&
			grep -l -E "$TB_KERNEL_BAD" -r --include='*.dmesg' . |
			sed 's|^\./||; s|\.dmesg$||' | tr '\n' ' ')
		log=$TB_RUN/dmesg
		[ -s "$log" ] || log=$TB_RUN/console.log
		if [ -n "$culprits" ]; then
			tb_say "  during: $culprits"
			log=$TB_RUN/out/${culprits%% *}.dmesg
		fi
		# From the first report on, else the end of the log.
		tb_say "  kernel log ($log):"
		if grep -a -q -E "$TB_KERNEL_BAD" "$log"; then
			tr -d '\r' <"$log" | grep -a -A60 -m1 -E "$TB_KERNEL_BAD"
		else
			tail -n 60 "$log" | tr -d '\r'
		fi | sed 's/^/  | /'
	elif [ $TB_DONE = 1 ]; then
		tb_pass kernel/dmesg-clean
	fi

	if [ $TB_DONE = 1 ] && [ $TB_NRESULTS = 0 ]; then
		tb_fail tests/selected "no test matched '$TB_TESTS'"
	fi
}

tb_summary() {
	local s="$TB_PASSED passed, $TB_FAILED failed"

	[ $TB_SKIPPED = 0 ] || s="$s, $TB_SKIPPED skipped"
	[ $TB_RAN = 0 ] || s="$TB_RAN ran, $s"
	printf '%s\n' "$s"
}
