# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The debug-kernel parts of the guest runner (MODE=debug, make
# check-debug), sourced by tests/lib/guest-runner.sh, whose report, say,
# kmsg, selected, run_one and cleanup it uses.
#
#   debug_before    forget kmemleak's boot-time reports (not ours)
#   run_kunit       load every *_test.ko of the tree; each KUnit suite it
#                   registers is one test, kunit/SUITE, parsed from its
#                   KTAP in /sys/kernel/debug/kunit/SUITE/results
#   debug_after     the final checks of tests/debug/checks.sh (debug/*):
#                   module references, pinned pages, lockdep still on,
#                   an empty kmemleak report
#   save_coverage [quiet]  make coverage (VDPA_COVERAGE=1): copy the
#                   gcov counters of our objects into RESULTS_DIR/gcov

KMEMLEAK=/sys/kernel/debug/kmemleak
KUNIT_DIR=/sys/kernel/debug/kunit
# Debug check of the simulator: WARN on access to a page nobody pins.
CHECK_PINS=/sys/module/vdpa_sim/parameters/check_pins
# gcov counters of objects built with GCOV_PROFILE, under their build
# path (CONFIG_GCOV_KERNEL; make coverage builds ours so).
GCOV_DIR=/sys/kernel/debug/gcov
# Module references after boot, for debug/module_refs.
DEBUG_REFS_BASE=/run/vdpa-debug-refs
export DEBUG_REFS_BASE

debug_before() {
	(. "$VDPA_TREE/tests/debug/checks.sh" && module_extra_refs) >$DEBUG_REFS_BASE
	if [ -w $KMEMLEAK ]; then
		# Objects younger than 5 s are never reported: wait, scan what
		# boot left, and mark it all as seen.
		sleep 5
		echo scan >$KMEMLEAK 2>/dev/null
		echo clear >$KMEMLEAK 2>/dev/null
		say "guest: kmemleak: boot-time objects cleared"
	else
		say "guest: no kmemleak in this kernel"
	fi
}

# kunit_wanted MODULE: load this test module?  All of them unless TESTS
# is given; then those TESTS names (kunit/MODULE) or, if TESTS mentions
# kunit at all, every module (suite names are only known once loaded).
kunit_wanted() {
	[ -z "$TESTS" ] || selected "kunit/$1" || [[ $TESTS == *kunit* ]]
}

# kunit_report MODULE SUITE SECS: parse a suite's KTAP and report it.
kunit_report() {
	local m=$1 suite=$2 secs=$3 name=kunit/$2 log sum st cases failed skipped

	selected "$name" || selected "kunit/$m" || return 0
	log=$RES/out/$name.log
	mkdir_for "$log"
	report "START $name"
	{
		echo "# module $m, suite $suite"
		cat "$KUNIT_DIR/$suite/results"
	} >"$log" 2>&1
	sum=$(awk -v fallback="$suite" -f "$VDPA_TREE/tests/debug/ktap.awk" \
		"$KUNIT_DIR/$suite/results" | tee -a "$log" | tail -n 1)
	read -r _ st _ cases failed skipped <<<"$sum"
	case $st in
	ok) report "PASS $name $secs" ;;
	skip)
		echo "skip: suite skipped ($skipped of $cases cases)" >>"$log"
		report "SKIP $name $secs"
		;;
	*)
		report "FAIL $name $secs $failed of $cases cases failed: $(awk \
			'$1 == "CASE" && $2 == "fail" { printf "%s ", $3 }' "$log")"
		;;
	esac
}

run_kunit() {
	local ko m before after suite secs log rc n=0 suites t0

	if [ ! -d $KUNIT_DIR ]; then
		say "guest: no KUnit in this kernel"
		return 0
	fi
	for ko in $(printf '%s\n' $VDPA_TREE_KOS | grep '_test\.ko$' | sort); do
		m=${ko##*/}
		m=${m%.ko}
		kunit_wanted "$m" || continue
		n=$((n + 1))
		log=$RES/out/kunit/$m.load.log
		mkdir_for "$log"
		before=$(ls $KUNIT_DIR)
		kmsg "start kunit/$m"
		now_us
		# The suites run inside insmod.  Their rings are kernel memory
		# that nobody pins: vdpa_sim.check_pins (on in this build) off.
		bash -c '. "$1" && set -e && load_modules vdpa_sim &&
			echo 0 >"$3" && load_modules "$2"' _ "$LIB" "$m" \
			"$CHECK_PINS" >"$log" 2>&1
		rc=$?
		secs=$(since "$t0")
		after=$(ls $KUNIT_DIR)
		mapfile -t suites < <(comm -13 <(echo "$before") <(echo "$after"))
		if [ $rc -ne 0 ] || [ ${#suites[@]} -eq 0 ]; then
			[ $rc -ne 0 ] || echo "$m registered no KUnit suite" >>"$log"
			report "START kunit/$m"
			report "FAIL kunit/$m $secs load failed (out/kunit/$m.load.log)"
		else
			rm -f "$log"
			for suite in "${suites[@]}"; do
				kunit_report "$m" "$suite" "$secs"
			done
		fi
		kmsg "done kunit/$m"
		rmmod "$m" 2>/dev/null
		cleanup "kunit/$m"
	done
	say "guest: $n KUnit modules loaded"
}

debug_after() {
	local file=$VDPA_TREE/tests/debug/checks.sh fn tmo

	# Whatever TESTS says: these are the point of check-debug.
	while read -r fn tmo; do
		[ -n "$fn" ] || continue
		run_one "debug/${fn#test_}" "$tmo" "$file" "$fn"
	done < <(discover "$file")
}

# save_coverage: copy every .gcda of our build directory (VDPA_KO_DIR) from
# debugfs to RESULTS_DIR/gcov/<path in it>, next to the .gcno files the host
# put there.  With gcov_persist (the default) the counters of an unloaded
# module are kept, and each new load of it adds to them: the copy sums
# every load since boot.  Called after each case file (quietly: a run that
# dies or is stopped later still leaves what it reached) and at the end.
save_coverage() {
	local src=$GCOV_DIR$VDPA_KO_DIR f rel n=0

	if [ ! -d "$src" ]; then
		say "guest: coverage: no $src (a kernel without CONFIG_GCOV_KERNEL?)"
		return 0
	fi
	while IFS= read -r -d '' f; do
		rel=${f#"$src"/}
		mkdir_for "$RES/gcov/$rel"
		cat "$f" >"$RES/gcov/$rel.tmp" && mv "$RES/gcov/$rel.tmp" "$RES/gcov/$rel" &&
			n=$((n + 1))
	done < <(find "$src" -name '*.gcda' -print0)
	[ "${1:-}" = quiet ] || say "guest: coverage: $n .gcda files saved"
}
