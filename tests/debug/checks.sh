# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Final checks of make check-debug, run by tests/debug/guest-debug.sh as
# tests debug/NAME after every other test (our modules are unloaded by
# then).  A case file in all but name: see tests/lib/guest-lib.sh.

# shellcheck disable=SC2034 # read by the runner
TIMEOUT_kmemleak=900

# Module references beyond holders (mounts, open files, devices) as
# "name extra" lines, one a module.  debug_before saved the boot's.
module_extra_refs() {
	local d m refs h

	shopt -s nullglob
	for d in /sys/module/*/refcnt; do
		m=${d%/refcnt}
		read -r refs <"$d"
		h=("$m"/holders/*)
		echo "${m##*/} $((refs - ${#h[@]}))"
	done
}

# None of our modules is left, and no module holds more references than
# it did after boot (beyond its holders): nothing we did leaked one.
test_module_refs() {
	local m n base bad=0
	local -A before=()

	for m in $(our_modules); do
		! module_loaded "$m" || fail "$m is still loaded" || bad=1
	done
	if [ -r "$DEBUG_REFS_BASE" ]; then
		while read -r m n; do
			before[$m]=$n
		done <"$DEBUG_REFS_BASE"
	fi
	while read -r m n; do
		base=${before[$m]:-0}
		[ "$n" -le "$base" ] ||
			fail "module $m: $n references beyond its holders, $base after boot" ||
			bad=1
	done < <(module_extra_refs)
	return $bad
}

# No page is left FOLL_PIN-pinned and no process has pinned_vm left.
test_pins() {
	local pages bad=0

	pages=$(pinned_pages)
	log "pinned pages (acquired - released): $pages"
	[ "$pages" -eq 0 ] || fail "$pages pages still pinned" || bad=1
	awk '$1 == "VmPin:" && $2 != 0 { print FILENAME ": " $0; bad = 1 }
	     END { exit bad }' /proc/[0-9]*/status 2>/dev/null || bad=1
	return $bad
}

# Lockdep still validates (a splat or an exhausted table turns it off).
test_lockdep() {
	[ -r /proc/lockdep_stats ] || skip "no lockdep in this kernel"
	grep -E 'debug_locks:|lock-classes:|direct dependencies:' /proc/lockdep_stats
	grep -Eq 'debug_locks: +1' /proc/lockdep_stats ||
		fail "lockdep turned itself off (see the kernel log)"
}

# Two scans (objects younger than 5 s are not reported yet), then the
# report must be empty.
test_kmemleak() {
	local km=/sys/kernel/debug/kmemleak report

	[ -w $km ] || skip "no kmemleak in this kernel"
	sleep 5
	echo scan >$km
	sleep 1
	echo scan >$km
	report=$(cat $km)
	[ -z "$report" ] || {
		printf '%s\n' "$report" | head -n 200
		fail "kmemleak: $(printf '%s\n' "$report" | grep -c '^unreferenced object') unreferenced objects"
	}
}
