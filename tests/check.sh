#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: build the tree, boot Debian's kernel in QEMU with the host
# root shared read-only, run tests/cases/*.sh there and report.
#
#   tests/check.sh [--tests REGEX] [--bench] [--no-build]
#
# --bench: tests/bench/*.sh instead, on our modules and on upstream 6.1's
# built from linux-source-6.1, in VDPA_BENCH_ROUNDS (2) pairs of boots,
# then a table of the figures (VDPA_BENCH_UPSTREAM=0: ours only).
#
# The last line is "N passed, N failed[, N skipped]"; the exit status is
# non-zero on any failure.  See Documentation/testing.rst.

set -u -o pipefail

TB_PROG=check
TB_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=tests/lib/host-lib.sh
. "$TB_TREE/tests/lib/host-lib.sh"

usage() {
	sed -n '4,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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

TB_TESTS=$TESTS
# shellcheck source=tests/lib/results.sh
. "$TB_TREE/tests/lib/results.sh"

if [ "$MODE" = bench ]; then
	tb_timed setup/apt-get tb_ensure_packages fio
else
	tb_timed setup/apt-get tb_ensure_packages
fi
tb_find_kernel
tb_say "check: tree $TB_TREE, kernel $KVER"
if [ $BUILD = 1 ]; then
	tb_build
	if [ "$TB_BUILD_WARNINGS" -gt 0 ]; then
		tb_fail build/no-warnings "$TB_BUILD_WARNINGS compiler warnings"
	else
		tb_pass build/no-warnings
	fi
else
	tb_ko_dir
fi
# Host-side unit tests need no VM: run them before booting it.
if [ "$MODE" = check ] &&
	{ [ -z "$TESTS" ] || printf 'unit/sim_ring\n' | grep -Eq -- "$TESTS"; }; then
	mkdir -p "$TB_BUILD"
	if tb_timed unit/sim_ring make -s -C "$TB_TREE/tools/testing/sim_ring" \
		>"$TB_BUILD/unit-sim_ring.log" 2>&1; then
		tb_pass unit/sim_ring
	else
		tb_fail unit/sim_ring "see below"
		tail -n 50 "$TB_BUILD/unit-sim_ring.log" | sed 's/^/  | /'
	fi
fi
# make bench's table (tests/lib/bench-host.sh) from a fixed set of figures.
if [ "$MODE" = check ] &&
	{ [ -z "$TESTS" ] || printf 'unit/bench_table\n' | grep -Eq -- "$TESTS"; }; then
	if out=$("$TB_TREE/tests/helpers/bench-table-test.sh" 2>&1); then
		tb_pass unit/bench_table
	else
		tb_fail unit/bench_table "see below"
		printf '%s\n' "$out" | sed 's/^/  | /'
	fi
fi
# The boot limit stops a VM whose boot hangs (an /init that sleeps).
if [ "$MODE" = check ] &&
	{ [ -z "$TESTS" ] || printf 'vm/hung_boot\n' | grep -Eq -- "$TESTS"; }; then
	log=$TB_BUILD/hung-boot.log
	if tb_timed vm/hung_boot "$TB_TREE/tests/host-tests/hung-boot.sh" 20 >"$log" 2>&1; then
		tb_pass vm/hung_boot "$(tail -n 1 "$log")"
	else
		tb_fail vm/hung_boot "see below; log: $log"
		tail -n 40 "$log" | sed 's/^/  | /'
	fi
fi

# The stall limit stops a VM whose heartbeat stands still.
if [ "$MODE" = check ] &&
	{ [ -z "$TESTS" ] || printf 'vm/stall_limit\n' | grep -Eq -- "$TESTS"; }; then
	log=$TB_BUILD/stall-limit.log
	if tb_timed vm/stall_limit "$TB_TREE/tests/host-tests/hung-boot.sh" 20 stall >"$log" 2>&1; then
		tb_pass vm/stall_limit "$(tail -n 1 "$log")"
	else
		tb_fail vm/stall_limit "see below; log: $log"
		tail -n 40 "$log" | sed 's/^/  | /'
	fi
fi

# Host hooks: tests/host-hooks/NN-*.sh runs as `HOOK setup` before the VM
# boots and `HOOK teardown` after it is gone (always: also on errors and
# ^C) when a test of tests/cases/NN-*.sh is selected; for work the guest
# cannot do, like installing into the host's module tree.  Environment:
# TB_TREE, KVER, TB_KO_DIR.  See Documentation/testing.rst.
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
		TB_TREE=$TB_TREE KVER=$KVER TB_KO_DIR=$TB_KO_DIR "$h" teardown ||
			tb_say "check: host hook ${h#"$TB_TREE"/} teardown failed"
	done
}
if [ ${#HOOKS[@]} -gt 0 ]; then
	tb_timed setup/apt-get tb_ensure_packages dkms openssl
	trap host_hooks_teardown EXIT
	trap 'exit 130' INT TERM
	for h in "${HOOKS[@]}"; do
		t0=$SECONDS
		tb_say "check: host hook ${h#"$TB_TREE"/} setup"
		TB_TREE=$TB_TREE KVER=$KVER TB_KO_DIR=$TB_KO_DIR "$h" setup ||
			tb_say "check: host hook ${h#"$TB_TREE"/} setup failed"
		tb_say "check: host hook done in $((SECONDS - t0))s"
		tb_phase_add "host-hook/$(basename "$h" .sh)" $((SECONDS - t0))
	done
fi

# VDPA_PREBUILD_DEBUG=1 (.ci/run): the debug kernel of the `make
# check-debug` that follows is built meanwhile, at nice 19, on the CPU time
# the VM leaves idle.  check-debug then finds it built, or waits on the
# build's lock for the rest; the build resumes if it was stopped.  Its own
# session keeps it out of make's signals, and with autogroup scheduling a
# session is a group the CPU is shared with as a whole, whatever the nice
# level of its tasks (seen: a build in its own group at nice 19 made
# 40-qemu's nested guests twice as slow): the group gets nice 19 too.
if [ "${VDPA_PREBUILD_DEBUG:-0}" = 1 ] && [ "$MODE" = check ]; then
	tb_say "check: building the debug kernel in the background (log: ${TB_BUILD#"$TB_TREE"/}/prebuild-debug.log)"
	# shellcheck disable=SC2016 # expanded by the inner shell
	VDPA_DEBUG_NICE=19 setsid bash -c \
		'echo 19 >/proc/self/autogroup 2>/dev/null; exec "$@"' prebuild \
		"$TB_TREE/tests/debug/build-kernel.sh" \
		</dev/null >"$TB_BUILD/prebuild-debug.log" 2>&1 &
fi

tb_timed initramfs tb_initramfs
if [ "$MODE" = bench ]; then
	# Ours and upstream 6.1's reference in alternating boots, then the
	# table of the figures (tests/lib/bench-host.sh).
	# shellcheck source=tests/lib/bench-host.sh
	. "$TB_TREE/tests/lib/bench-host.sh"
	# VDPA_BENCH_UPSTREAM=0: ours only (probes; no ratio)
	if [ "${VDPA_BENCH_UPSTREAM:-1}" = 0 ]; then
		# shellcheck disable=SC2034 # read by bench-host.sh
		TB_UPSTREAM_WHY="VDPA_BENCH_UPSTREAM=0"
	else
		tb_bench_reference
	fi
	TB_BENCH_FIGURES=$TB_BUILD/bench-figures
	: >"$TB_BENCH_FIGURES"
	TB_BENCH_BOOTS=0
	SIDES=(ours)
	[ -z "$TB_UPSTREAM" ] || SIDES+=(upstream)
	for ((round = 0; round < ${VDPA_BENCH_ROUNDS:-2}; round++)); do
		for side in "${SIDES[@]}"; do
			tb_bench_boot "$side"
		done
	done
	tb_say ""
	tb_bench_table | tee "$TB_BUILD/bench-table"
	tb_say ""
	tb_say "bench: host load (1, 5, 15 min) at each boot's start -> end: $TB_BENCH_LOADS"
else
	tb_new_run "$MODE" "TESTS=$TESTS"
	tb_say "check: booting the VM (logs in ${TB_RUN#"$TB_TREE"/})"
	tb_vm_start
	# tb_vm_start sets its own EXIT trap: the hooks' teardown goes with it.
	[ ${#HOOKS[@]} -eq 0 ] || trap 'tb_vm_kill; host_hooks_teardown' EXIT
	tb_follow tb_on_result
	tb_finish_run
fi

tb_phase_report
tb_say "check: results in $TB_RUN"
tb_say "check: elapsed $(tb_elapsed)"
tb_say "$(tb_summary)"
[ $TB_FAILED = 0 ]
