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

# kmemleak_ours: kmemleak's report on stdin without the objects of a known
# leak of the driver core of Debian's 6.1.192, not ours: when a sysfs
# bind or drivers_probe races device_add() (the fuzzer's rebind does),
# __driver_probe_device() refuses with dev_err_probe(-EPROBE_DEFER,
# "Device not ready to probe"), whose reason string nothing frees (the
# device is not on the deferred list, and device_release() does not free
# it).  Such an object is dropped only if its backtrace names
# device_set_deferred_probe_reason and its bytes say "ready to probe".
kmemleak_ours() {
	awk '
		function flush() {
			if (blk != "" && !(blk ~ /device_set_deferred_probe_reason/ &&
			    blk ~ /ready to probe/))
				printf "%s", blk
			else if (blk != "")
				known++
			blk = ""
		}
		/^unreferenced object/ { flush() }
		{ blk = blk $0 "\n" }
		END { flush(); if (known) printf "# %d known driver-core leak(s) left out\n", known > "/dev/stderr" }
	'
}

# Two scans (objects younger than 5 s are not reported yet), then the
# report must be empty but for the known driver-core leak above.  This
# test is the judge of leaks: the host's kernel-log check ignores
# kmemleak's "suspected" line when it passed.
test_kmemleak() {
	local km=/sys/kernel/debug/kmemleak report ours

	[ -w $km ] || skip "no kmemleak in this kernel"
	sleep 5
	echo scan >$km
	sleep 1
	echo scan >$km
	report=$(cat $km)
	[ -n "$report" ] || return 0
	ours=$(printf '%s\n' "$report" | kmemleak_ours)
	[ -z "$ours" ] || {
		printf '%s\n' "$ours" | head -n 200
		fail "kmemleak: $(printf '%s\n' "$ours" | grep -c '^unreferenced object') unreferenced objects"
	}
	printf '%s\n' "$report" | head -n 60
	log "kmemleak: only the known driver-core leak of device_set_deferred_probe_reason (not ours)"
}
