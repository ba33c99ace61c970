#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side check of make bench's table (tb_bench_table in
# tests/lib/bench-host.sh): means over boots, the ratio's direction for
# "higher" and "lower" figures, n/a and missing cells, and the column
# when there is no upstream reference.  Run by make check as
# unit/bench_table; prints a diff and exits 1 on a mismatch.

set -u -o pipefail

TB_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
TB_LIB=$TB_TREE/tests/lib
# shellcheck source=tests/lib/bench-host.sh
. "$TB_LIB/bench-host.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
TB_BENCH_FIGURES=$tmp/figures
rc=0

# expect NAME: compare tb_bench_table's output with stdin.
expect() {
	if ! diff -u - <(tb_bench_table) >"$tmp/diff"; then
		echo "bench table, $1:"
		cat "$tmp/diff"
		rc=1
	fi
}

printf '%s\t%s\t%s\t%s\t%s\n' \
	ours "pps" 300 pps higher \
	upstream "pps" 100 pps higher \
	ours "pps" 500 pps higher \
	ours "time" 0.5 s lower \
	upstream "time" 2 s lower \
	ours "iops" n/a "fio is not installed" na \
	upstream "iops" 40 IOPS higher \
	upstream "only upstream" 7 x higher >"$TB_BENCH_FIGURES"
expect "two sides" <<'EOF_TABLE'
figure        | ours                      | upstream | ratio
pps           | 400 pps (300 / 500)       | 100 pps  | 4.00x
time          | 0.5 s                     | 2 s      | 4.00x
iops          | n/a: fio is not installed | 40 IOPS  | n/a
only upstream | -                         | 7 x      | n/a
EOF_TABLE

grep '^ours' "$TB_BENCH_FIGURES" >"$tmp/ours"
mv "$tmp/ours" "$TB_BENCH_FIGURES"
TB_UPSTREAM_WHY="linux-source-6.1 is not installed"
expect "no reference" <<'EOF_TABLE'
figure | ours                      | upstream                               | ratio
pps    | 400 pps (300 / 500)       | n/a: linux-source-6.1 is not installed | n/a
time   | 0.5 s                     | n/a: linux-source-6.1 is not installed | n/a
iops   | n/a: fio is not installed | n/a: linux-source-6.1 is not installed | n/a
EOF_TABLE

exit $rc
