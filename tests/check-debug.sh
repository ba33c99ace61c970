#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-debug: the test suite on a debug kernel (KASAN, lockdep,
# kmemleak, fault injection, KUnit), built once from Debian's
# linux-source-6.1 by tests/debug/build-kernel.sh and cached.
#
#   tests/check-debug.sh [--tests REGEX] [--full] [--fuzz OPS] [--coverage]
#                        [--no-build]
#
# Builds our modules and every KUnit test module (*_test.ko) against it,
# boots it with panic_on_warn=1, runs tests/cases/*.sh (minus those too
# slow there, see DEBUG_SKIP, and, unless --full or --tests is given, those
# left to make check-full, see DEBUG_FULL_ONLY) and tests/debug-cases/*.sh,
# each KUnit suite
# as a test kunit/SUITE, then the final checks debug/* (module refcounts,
# pinned pages, lockdep still on, empty kmemleak report).  --fuzz OPS runs
# only the fuzzer (tests/debug-cases/90-fuzz.sh) with FUZZ_OPS=OPS (and
# FUZZ_SEED, random unless set) and the final checks.  --coverage (make
# coverage) builds our modules with gcov counters (VDPA_GCOV=1), runs the
# fuzz pass with FUZZ_OPS (default 20000, seed FUZZ_SEED, default 1)
# unless --fuzz is given, saves the counters in RUN/gcov and prints line
# and branch coverage per file (tests/debug/coverage.py; annotated
# sources in RUN/coverage).
#
# The last line is "N passed, N failed[, N skipped]"; the exit status is
# non-zero on any failure or kernel report.  See Documentation/testing.rst.

set -u -o pipefail


# Not run on the debug kernel: a nested TCG guest inside this TCG guest
# with KASAN (40-qemu, 45-libvirt's guest) would take most of an hour to boot, and the 200-device scale
# runs add only time to what the other tests already cover.
DEBUG_SKIP='^(40-qemu/|45-libvirt/guest$|14-scale/200_devices$)'
DEBUG_SKIP_WHY='too slow on the debug kernel (tests/check-debug.sh DEBUG_SKIP)'

# Run on the debug kernel only by make check-full (--full), or when --tests
# names them: make check runs every one of them on every CI run, on
# Debian's kernel, so every test that guards a fixed bug stays in CI.  CI
# keeps here the tests whose kernel paths are object lifetimes, races,
# pins, memory and the data paths, which only this kernel checks (KASAN,
# lockdep, kmemleak, vdpa_sim.check_pins): 00-smoke, 14-scale/concurrent,
# 15-lifecycle, 30-vhost-vdpa, 65-vduse, 80-abuse and the lifetime and
# fault tests of 20-sim, 33-vhost-blk, 60-virtio-vdpa and 70-vp-vdpa,
# beside the fuzzers and the KUnit suites.  Left to make check-full here:
# - real clients' own code (DPDK's poll loops, udev rules, libvirtd);
# - netlink commands and their validation (10-mgmtdev, 11-dev,
#   12-dev-errors, 16-blk-mgmt): the vdpa_netlink KUnit suite and the
#   fuzzer's netlink operations drive the same parsers and replies here;
# - sysfs layout, the install plumbing, output formats (13-sysfs,
#   50-install), and the repeats of data paths kept here (a second
#   layout, a second device, bigger frames; VDUSE's bounce region in the
#   daemon's memory and its DEREG under TCP, whose pins, replacements and
#   errors net_umem_kill, umem_errors and kunit/vduse_domain check here,
#   and irq_cb_affinity's traffic on one CPU).
# Documentation/testing.rst, "CI time", has the figures.
DEBUG_FULL_ONLY='^(31-dpdk/|17-udev/|45-libvirt/|10-mgmtdev/|11-dev/|12-dev-errors/|13-sysfs/|16-blk-mgmt/|50-install/|14-scale/interleaved$|20-sim/(debugfs_layout|batch_mapping_off|max_iotlb_entries_too_small)$|30-vhost-vdpa/(node_and_sysfs|loopback|loopback_no_cvq_big_frames|vstats_after_loopback|two_devices)$|33-vhost-blk/(suite_default_disk|capacity_param|config_while_driven|bench_mode)$|60-virtio-vdpa/(net_packed|blk_packed|first_driver_and_override|no_identity_for_userspace)$|70-vp-vdpa/(mgmtdev_and_dev|noiommu_needs_rawio|iommu_open_without_rawio|vring_call_ebusy_ratelimited|virtio_vdpa_tcp|packed_virtio_vdpa|dpdk_txonly)$|65-vduse/(net_tap_umem|net_umem_dereg|irq_affinity)$)'
DEBUG_FULL_ONLY_WHY='make check-full only on the debug kernel; make check runs it (tests/check-debug.sh DEBUG_FULL_ONLY)'

# Everything is several times slower there.  Set before host-lib.sh, whose
# defaults are for the stock kernel.
: "${VDPA_TEST_TIMEOUT:=1800}"
VM_TIMEOUT_SET=${VDPA_VM_TIMEOUT:+1}
: "${VDPA_VM_TIMEOUT:=5400}"
: "${VDPA_BOOT_TIMEOUT:=1200}"

TB_PROG=check-debug
TB_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=tests/lib/host-lib.sh
. "$TB_TREE/tests/lib/host-lib.sh"

usage() {
	sed -n '4,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

TESTS=
BUILD=1
FUZZ=
COVERAGE=0
FULL=0
while [ $# -gt 0 ]; do
	case $1 in
	--tests) TESTS=${2?--tests needs a regex}; shift ;;
	--tests=*) TESTS=${1#--tests=} ;;
	--fuzz) FUZZ=${2?--fuzz needs a number of operations}; shift ;;
	--fuzz=*) FUZZ=${1#--fuzz=} ;;
	--coverage) COVERAGE=1 ;;
	--full) FULL=1 ;;
	--no-build) BUILD=0 ;;
	-h | --help) usage 0 ;;
	*) echo "check-debug: unknown option $1" >&2; usage 2 >&2 ;;
	esac
	shift
done

FUZZ_PARAMS=()
if [ -n "$FUZZ" ]; then
	[[ $FUZZ =~ ^[0-9]+$ ]] || tb_die "--fuzz needs a number, not '$FUZZ'"
	: "${FUZZ_SEED:=$(date +%s)}"
	[ -n "$TESTS" ] || TESTS='^90-fuzz/'
	FUZZ_PARAMS=("FUZZ_OPS=$FUZZ" "FUZZ_SEED=$FUZZ_SEED")
	# The fuzz test's own limit grows with the count (90-fuzz.sh); the
	# VM's leaves 20 minutes beyond it for boot, set-up and checks.
	[ -n "$VM_TIMEOUT_SET" ] || VDPA_VM_TIMEOUT=$((1800 + FUZZ / 10))
	[ -z "${FUZZ_THREADS:-}" ] || FUZZ_PARAMS+=("FUZZ_THREADS=$FUZZ_THREADS")
elif [ $COVERAGE = 1 ]; then
	# A longer fuzz pass than check-debug's 5000 operations, seed 1 (the
	# figures of two runs compare).
	: "${FUZZ_OPS:=20000}" "${FUZZ_SEED:=1}"
	[[ $FUZZ_OPS =~ ^[0-9]+$ ]] || tb_die "FUZZ_OPS must be a number, not '$FUZZ_OPS'"
	FUZZ_PARAMS=("FUZZ_OPS=$FUZZ_OPS" "FUZZ_SEED=$FUZZ_SEED")
	[ -z "${FUZZ_THREADS:-}" ] || FUZZ_PARAMS+=("FUZZ_THREADS=$FUZZ_THREADS")
	[ -n "$VM_TIMEOUT_SET" ] || VDPA_VM_TIMEOUT=$((VDPA_VM_TIMEOUT + FUZZ_OPS / 10))
elif [ -n "${FUZZ_SEED:-}" ]; then
	FUZZ_PARAMS=("FUZZ_SEED=$FUZZ_SEED")
fi
COVERAGE_PARAMS=()
COVERAGE_PACKAGES=()
GCOV_BUILD=()
if [ $COVERAGE = 1 ]; then
	COVERAGE_PARAMS=(VDPA_COVERAGE=1)
	COVERAGE_PACKAGES=(python3)	# tests/debug/coverage.py
	GCOV_BUILD=(VDPA_GCOV=1)
fi

# Coverage counts what the whole suite reaches; a named test always runs.
SKIP_FULL=()
if [ $FULL = 0 ] && [ $COVERAGE = 0 ] && [ -z "$TESTS" ]; then
	SKIP_FULL=("VDPA_SKIP_FULL=$DEBUG_FULL_ONLY"
		"VDPA_SKIP_FULL_WHY=$DEBUG_FULL_ONLY_WHY")
fi

TB_TESTS=$TESTS
# shellcheck source=tests/lib/results.sh
. "$TB_TREE/tests/lib/results.sh"

# Every CONFIG_*_KUNIT_TEST the tree's Kbuild files name, as make
# arguments: each KUnit suite is built as a module.
kunit_configs() {
	(cd "$TB_TREE" && grep -rhoE --include=Kbuild --include=Makefile \
		'CONFIG_[A-Z0-9_]+_KUNIT_TEST' drivers 2>/dev/null) |
		sort -u | sed 's/$/=m/'
}

# coverage_start: the notes files (.gcno) of this build go to RUN/gcov,
# where the guest puts the counters (.gcda) of the same objects: the run
# directory alone then gives the figures, whatever is built later.
coverage_start() {
	local f n=0

	while IFS= read -r f; do
		mkdir -p "$TB_RUN/gcov/${f%/*}" && cp "$TB_KO_DIR/$f" "$TB_RUN/gcov/$f" &&
			n=$((n + 1))
	done < <(cd "$TB_KO_DIR" && find drivers -name '*.gcno')
	[ $n -gt 0 ] ||
		tb_die "coverage: no .gcno file in $TB_KO_DIR (built without VDPA_GCOV=1?)"
	tb_say "check-debug: coverage: $n objects with gcov counters"
}

# coverage_report: line and branch coverage per file, from RUN/gcov.
coverage_report() {
	local out=$TB_RUN/coverage

	if ! find "$TB_RUN/gcov" -name '*.gcda' | grep -q .; then
		tb_fail coverage/report "the guest saved no gcov counters (RUN/gcov)"
		return
	fi
	[ $TB_DONE = 1 ] ||
		tb_say "check-debug: coverage: the run did not finish: partial counters"
	if python3 "$TB_TREE/tests/debug/coverage.py" --out "$out" "$TB_RUN/gcov" \
		>"$TB_RUN/coverage.txt" 2>"$TB_RUN/coverage.err"; then
		cat "$TB_RUN/coverage.txt"
		tb_pass coverage/report "table in ${TB_RUN#"$TB_TREE"/}/coverage.txt"
	else
		sed 's/^/  | /' "$TB_RUN/coverage.err" | tail -n 20
		tb_fail coverage/report "tests/debug/coverage.py failed"
	fi
}

tb_timed setup/apt-get tb_ensure_packages linux-source-6.1 bc bison flex libelf-dev \
	"${COVERAGE_PACKAGES[@]}"
t0=$SECONDS
debug_env=$("$TB_TREE/tests/debug/build-kernel.sh" --env) ||
	tb_die "cannot build the debug kernel"
tb_phase_add kernel/debug $((SECONDS - t0))
eval "$debug_env"
tb_use_kernel "$DEBUG_KERNEL" "$DEBUG_KDIR" "$DEBUG_MODROOT" "$DEBUG_KVER"
tb_say "check-debug: tree $TB_TREE, kernel $KVER ($DEBUG_DIR)"
if [ $BUILD = 1 ]; then
	mapfile -t kunit < <(kunit_configs)
	# vdpa_sim.check_pins on: WARN on access to a page nobody pins
	tb_build "$TB_KDIR" "${kunit[@]}" CONFIG_VDPA_SIM_CHECK_PINS=y "${GCOV_BUILD[@]}"
	if [ "$TB_BUILD_WARNINGS" -gt 0 ]; then
		tb_fail build/no-warnings "$TB_BUILD_WARNINGS compiler warnings"
	else
		tb_pass build/no-warnings "with ${kunit[*]:-no KUnit suite}"
	fi
	if [ -f "$TB_TREE/tools/testing/fuzz/Makefile" ]; then
		if tb_timed build/fuzz make -s -C "$TB_TREE/tools/testing/fuzz" \
			>"$TB_BUILD/build-fuzz.log" 2>&1; then
			tb_pass build/fuzz
		else
			tb_fail build/fuzz "make -C tools/testing/fuzz failed"
			tail -n 30 "$TB_BUILD/build-fuzz.log" | sed 's/^/  | /'
		fi
	fi
else
	tb_ko_dir
fi
# Host-side test: builds for Debian's kernel and this one at the same
# time keep to their own directories.
if [ -z "$FUZZ" ] && printf 'build/isolation\n' | grep -Eq -- "${TESTS:-.}"; then
	stock_kdir=$( (tb_find_kernel && echo "$TB_KDIR") 2>/dev/null)
	log=$TB_BUILD/build-isolation.log
	if [ -z "$stock_kdir" ]; then
		tb_say "SKIP  build/isolation: no Debian kernel headers"
		TB_SKIPPED=$((TB_SKIPPED + 1))
	else
		tb_timed build/isolation \
			"$TB_TREE/tests/host-tests/build-isolation.sh" "$stock_kdir" \
			"$TB_KDIR" "$TB_BUILD/isolation" >"$log" 2>&1
		case $? in
		0) tb_pass build/isolation "$(tail -n 1 "$log")" ;;
		77)
			tb_say "SKIP  build/isolation: $(tail -n 1 "$log")"
			TB_SKIPPED=$((TB_SKIPPED + 1))
			;;
		*)
			tb_fail build/isolation "see below; log: $log"
			tail -n 40 "$log" | sed 's/^/  | /'
			;;
		esac
	fi
fi
# 9p and virtio are built into the debug kernel: no module in the initramfs.
TB_INITRD_MODULES=()
tb_timed initramfs tb_initramfs
TB_APPEND="kmemleak=on"
tb_new_run debug "TESTS=$TESTS" "VDPA_MODROOT=$TB_MODROOT" \
	"VDPA_SKIP=$DEBUG_SKIP" "VDPA_SKIP_WHY=$DEBUG_SKIP_WHY" "${SKIP_FULL[@]}" \
	"${FUZZ_PARAMS[@]}" \
	"${COVERAGE_PARAMS[@]}"
[ $COVERAGE = 0 ] || coverage_start
[ -z "$FUZZ" ] || tb_say "check-debug: fuzz: FUZZ_OPS=$FUZZ FUZZ_SEED=$FUZZ_SEED"
[ $COVERAGE = 0 ] || [ -n "$FUZZ" ] ||
	tb_say "check-debug: coverage: fuzz pass FUZZ_OPS=$FUZZ_OPS FUZZ_SEED=$FUZZ_SEED"
tb_say "check-debug: booting the VM (logs in ${TB_RUN#"$TB_TREE"/})"
tb_vm_start
tb_follow tb_on_result
tb_finish_run
[ $COVERAGE = 0 ] || coverage_report

fuzzed=$(grep -h -o 'FUZZ-RESULT .*' "$TB_RUN"/out/90-fuzz/*.log 2>/dev/null)
[ -z "$fuzzed" ] || tb_say "check-debug: $fuzzed"
tb_phase_report
tb_say "check-debug: results in $TB_RUN"
tb_say "check-debug: elapsed $(tb_elapsed)"
tb_say "$(tb_summary)"
[ $TB_FAILED = 0 ]
