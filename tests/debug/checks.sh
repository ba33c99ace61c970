# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Final checks of make check-debug, run by tests/debug/guest-debug.sh as
# tests debug/NAME after every other test (our modules are unloaded by
# then).  A case file in all but name: see tests/lib/guest-lib.sh.

# shellcheck disable=SC2034 # read by the runner
TIMEOUT_kmemleak=900

# Every loaded module's reference count is its number of holders (other
# modules using it): nothing else keeps a reference.
test_module_refs() {
	local d m refs holders bad=0

	for m in $(our_modules); do
		! module_loaded "$m" || fail "$m is still loaded" || bad=1
	done
	for d in /sys/module/*/refcnt; do
		m=${d%/refcnt}
		m=${m##*/}
		refs=$(cat "$d")
		holders=$(find "/sys/module/$m/holders" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		log "$m: refcnt $refs, holders $holders"
		[ "$refs" -eq "$holders" ] ||
			fail "module $m: refcnt $refs but $holders holders" || bad=1
	done
	return $bad
}

# No page is left FOLL_PIN-pinned and no process has pinned_vm left.
test_pins() {
	local f pages bad=0

	pages=$(pinned_pages)
	log "pinned pages (acquired - released): $pages"
	[ "$pages" -eq 0 ] || fail "$pages pages still pinned" || bad=1
	for f in /proc/[0-9]*/status; do
		awk -v f="$f" '$1 == "VmPin:" && $2 != 0 {
			print f ": " $0; bad = 1 } END { exit bad }' "$f" 2>/dev/null ||
			bad=1
	done
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
