#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: build the tree, boot Debian's kernel in QEMU with the host
# root shared read-only, run tests/cases/*.sh there and report.
#
#   tests/check.sh [--tests REGEX] [--bench] [--no-build]
#
# The last line is "N passed, N failed[, N skipped]"; the exit status is
# non-zero on any failure.  See Documentation/testing.rst.

set -u -o pipefail

TB_PROG=check
TB_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=tests/lib/host-lib.sh
. "$TB_TREE/tests/lib/host-lib.sh"

usage() {
	sed -n '4,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

TESTS=
MODE=check
BUILD=1
while [ $# -gt 0 ]; do
	case $1 in
	--tests) TESTS=${2?--tests needs a regex}; shift ;;
	--tests=*) TESTS=${1#--tests=} ;;
	--bench) MODE=bench ;;
	--no-build) BUILD=0 ;;
	-h | --help) usage 0 ;;
	*) echo "check: unknown option $1" >&2; usage 2 >&2 ;;
	esac
	shift
done

PASSED=0
FAILED=0
SKIPPED=0
RAN=0
NRESULTS=0
DONE=0
TAINT=0
declare -A STARTED=()

# Print a failed test's log, indented.
show_log() {
	local f=$TB_RUN/out/$1.log

	if [ -s "$f" ]; then
		tail -n 200 "$f" | sed 's/^/  | /'
	fi
}

record_fail() {
	local name=$1

	shift
	FAILED=$((FAILED + 1))
	printf 'FAIL  %s (%s)\n' "$name" "$*"
}

# wall_secs NAME GUEST_SECS: how long the test took, as the host saw it
# (START to result); the guest's own figure if that is larger, as the
# guest clock can lag behind a busy host's.
wall_secs() {
	local t=${STARTED[$1]:-} d

	[ -n "$t" ] || { echo "$2"; return; }
	d=$((${EPOCHREALTIME/[.,]/} - t))
	awk -v a="$d" -v b="$2" 'BEGIN { a /= 1e6; printf "%.1f", (a > b ? a : b) }'
}

on_result() {
	local what name secs rest

	read -r what name secs rest <<<"$1"
	case $what in
	PASS | SKIP | FAIL | RAN)
		NRESULTS=$((NRESULTS + 1))
		secs=$(wall_secs "$name" "$secs")
		;;
	esac
	case $what in
	LOG) printf '%s\n' "${1#LOG }" ;;
	START) STARTED[$name]=${EPOCHREALTIME/[.,]/} ;;
	PASS)
		unset "STARTED[$name]"
		PASSED=$((PASSED + 1))
		printf 'PASS  %s (%ss)\n' "$name" "$secs"
		;;
	SKIP)
		unset "STARTED[$name]"
		SKIPPED=$((SKIPPED + 1))
		printf 'SKIP  %s: %s\n' "$name" \
			"$(grep -h '^skip: ' "$TB_RUN/out/$name.log" 2>/dev/null |
				tail -n 1 | cut -c7-)"
		;;
	FAIL)
		unset "STARTED[$name]"
		record_fail "$name" "${secs}s, $rest"
		show_log "$name"
		;;
	RAN)
		unset "STARTED[$name]"
		RAN=$((RAN + 1))
		if [ "$rest" = 0 ]; then
			printf 'RAN   %s (%ss)\n' "$name" "$secs"
		else
			record_fail "$name" "${secs}s, exit status $rest"
		fi
		;;
	TAINT) TAINT=$name ;;
	DONE) DONE=1 ;;
	*) printf 'guest: %s\n' "$1" ;;
	esac
}

tb_ensure_packages
tb_find_kernel
tb_say "check: tree $TB_TREE, kernel $KVER"
if [ $BUILD = 1 ]; then
	tb_build
	if [ "$TB_BUILD_WARNINGS" -gt 0 ]; then
		record_fail build/no-warnings "$TB_BUILD_WARNINGS compiler warnings"
	else
		PASSED=$((PASSED + 1))
		tb_say "PASS  build/no-warnings"
	fi
fi
# Host-side unit tests need no VM: run them before booting it.
if [ "$MODE" = check ] &&
	{ [ -z "$TESTS" ] || printf 'unit/sim_ring\n' | grep -Eq -- "$TESTS"; }; then
	mkdir -p "$TB_BUILD"
	if make -s -C "$TB_TREE/tools/testing/sim_ring" >"$TB_BUILD/unit-sim_ring.log" 2>&1; then
		PASSED=$((PASSED + 1))
		tb_say "PASS  unit/sim_ring"
	else
		record_fail unit/sim_ring "see below"
		tail -n 50 "$TB_BUILD/unit-sim_ring.log" | sed 's/^/  | /'
	fi
fi

# Host hooks: tests/host-hooks/NN-*.sh runs as `HOOK setup` before the VM
# boots and `HOOK teardown` after it is gone (always: also on errors and
# ^C) when a test of tests/cases/NN-*.sh is selected; for work the guest
# cannot do, like installing into the host's module tree.  Environment:
# TB_TREE, KVER.  See Documentation/testing.rst.
HOOKS=()
if [ "$MODE" = check ]; then
	for h in "$TB_TREE"/tests/host-hooks/[0-9][0-9]-*.sh; do
		[ -x "$h" ] || continue
		n=$(basename "$h")
		for c in "$TB_TREE"/tests/cases/"${n%%-*}"-*.sh; do
			[ -e "$c" ] || continue
			b=$(basename "$c" .sh)
			if grep -o '^test_[A-Za-z0-9_]*' "$c" | sed "s|^test_|$b/|" |
				grep -Eq -- "${TESTS:-.}"; then
				HOOKS+=("$h")
				break
			fi
		done
	done
fi
host_hooks_teardown() {
	local h

	for h in "${HOOKS[@]}"; do
		TB_TREE=$TB_TREE KVER=$KVER "$h" teardown ||
			tb_say "check: host hook ${h#"$TB_TREE"/} teardown failed"
	done
}
if [ ${#HOOKS[@]} -gt 0 ]; then
	tb_ensure_packages dkms openssl
	trap host_hooks_teardown EXIT
	trap 'exit 130' INT TERM
	for h in "${HOOKS[@]}"; do
		t0=$SECONDS
		tb_say "check: host hook ${h#"$TB_TREE"/} setup"
		TB_TREE=$TB_TREE KVER=$KVER "$h" setup ||
			tb_say "check: host hook ${h#"$TB_TREE"/} setup failed"
		tb_say "check: host hook done in $((SECONDS - t0))s"
	done
fi

tb_initramfs
tb_new_run "$MODE" "TESTS=$TESTS"
tb_say "check: booting the VM (logs in ${TB_RUN#"$TB_TREE"/})"
tb_vm_start
# tb_vm_start sets its own EXIT trap: the hooks' teardown goes with it.
[ ${#HOOKS[@]} -eq 0 ] || trap 'tb_vm_kill; host_hooks_teardown' EXIT
tb_follow on_result

# Tests that started but never reported: the guest died under them.
for name in "${!STARTED[@]}"; do
	record_fail "$name" "started but never finished: $(tb_vm_exit_reason)"
	show_log "$name"
done

if [ $DONE = 0 ]; then
	record_fail vm/finished "$(tb_vm_exit_reason) before the runner finished"
	tb_console_tail 60
fi

# Kernel warnings, oopses, lockdep splats... fail the run.
tb_split_dmesg
problems=$(tb_kernel_log_problems "$TB_RUN/dmesg" "$TB_RUN/console.log" |
	tr -d '\r' | sort -u)
# TAINT_DIE (bit 7) or TAINT_WARN (bit 9) without a matching message.
if [ $((TAINT & 0x280)) -ne 0 ]; then
	problems="${problems:+$problems$'\n'}kernel tainted: $TAINT"
fi
if [ -n "$problems" ]; then
	record_fail kernel/dmesg-clean "the kernel log has errors"
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
	tb_say "  kernel log tail ($log):"
	tail -n 60 "$log" | tr -d '\r' | sed 's/^/  | /'
elif [ $DONE = 1 ]; then
	PASSED=$((PASSED + 1))
	tb_say "PASS  kernel/dmesg-clean"
fi

if [ $DONE = 1 ] && [ $NRESULTS = 0 ]; then
	record_fail tests/selected "no test matched '${TESTS}'"
fi

tb_say "check: results in $TB_RUN"
tb_say "check: elapsed $(tb_elapsed)"
summary="$PASSED passed, $FAILED failed"
[ $SKIPPED = 0 ] || summary="$summary, $SKIPPED skipped"
[ $MODE = check ] || summary="$RAN ran, $summary"
tb_say "$summary"
[ $FAILED = 0 ]
