# SPDX-License-Identifier: GPL-2.0
#
# Summarise one KUnit suite's KTAP (/sys/kernel/debug/kunit/SUITE/results)
# for tests/lib/guest-runner.sh.  Prints one line per test case and one
# for the suite:
#
#   CASE ok|fail|skip NAME
#   SUITE ok|fail|skip NAME CASES FAILED SKIPPED
#
# The suite line is the last result line with no indentation; cases are
# the result lines one level (4 spaces) in.  Parameterised cases nest
# their parameters deeper: only their summary line counts.  A suite that
# says "ok" but has a failed case, or has no result line at all, fails.

function status(line) {
	if (line ~ /#[ \t]*SKIP/)
		return "skip"
	return line ~ /^[ \t]*not ok / ? "fail" : "ok"
}

function name(line) {
	sub(/^[ \t]*(not )?ok [0-9]+ (- )?/, "", line)
	sub(/[ \t]+#.*$/, "", line)
	return line
}

/^[ \t]*(not )?ok [0-9]+/ {
	match($0, /^[ \t]*/)
	indent = RLENGTH
	if (indent == 0) {
		suite_status = status($0)
		suite = name($0)
	} else if (indent == 4) {
		st = status($0)
		printf "CASE %s %s\n", st, name($0)
		cases++
		if (st == "fail")
			failed++
		else if (st == "skip")
			skipped++
	}
}

END {
	if (suite == "")
		suite = fallback
	if (suite_status == "")
		suite_status = "fail"
	if (failed > 0)
		suite_status = "fail"
	printf "SUITE %s %s %d %d %d\n", suite_status, suite, cases, failed, skipped
}
