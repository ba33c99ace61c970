# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Host side of make bench, sourced by tests/check.sh after host-lib.sh and
# results.sh.  Each boot runs tests/bench/*.sh on one side's modules; the
# figures they report (tests/lib/bench-lib.sh) are gathered here and
# printed as one table.  See Documentation/testing.rst.
#
#   tb_bench_reference     build (once) upstream 6.1's modules: sets
#                          TB_UPSTREAM (their directory) or, when they
#                          cannot be had, TB_UPSTREAM_WHY
#   tb_bench_boot SIDE     one VM boot of every selected benchmark on SIDE
#                          ("ours" or "upstream"); its figures are added
#                          to $TB_BENCH_FIGURES
#   tb_bench_table         the table: figure | ours | upstream | ratio

TB_UPSTREAM=
TB_UPSTREAM_WHY=

tb_bench_reference() {
	local out rc

	out=$("$TB_LIB/upstream-ref.sh" "$TB_KDIR" "$TB_BUILD")
	rc=$?
	case $rc in
	0) TB_UPSTREAM=$out ;;
	2) TB_UPSTREAM_WHY="linux-source-6.1 is not installed" ;;
	*) TB_UPSTREAM_WHY="the reference build failed" ;;
	esac
	if [ -n "$TB_UPSTREAM" ]; then
		tb_say "bench: upstream reference in ${TB_UPSTREAM#"$TB_TREE"/}"
	else
		tb_say "bench: no upstream reference ($TB_UPSTREAM_WHY): ours only"
	fi
}

tb_bench_boot() {
	local side=$1 modtree=${TB_KO_DIR:-$TB_TREE} who="our modules" load0 load1

	if [ "$side" = upstream ]; then
		modtree=$TB_UPSTREAM
		who="upstream 6.1's modules"
	fi
	# The counters of results.sh are per boot.
	# shellcheck disable=SC2034 # read by results.sh
	TB_DONE=0
	# shellcheck disable=SC2034
	TB_NRESULTS=0
	# shellcheck disable=SC2034
	TB_TAINT=0
	tb_new_run bench "TESTS=$TB_TESTS" "VDPA_SIDE=$side" "VDPA_MODTREE=$modtree"
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	tb_say "bench: boot $((TB_BENCH_BOOTS + 1)), $who, host load $load0 (logs in ${TB_RUN#"$TB_TREE"/})"
	tb_vm_start
	tb_follow tb_on_result
	tb_finish_run
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	tb_say "bench: boot $((TB_BENCH_BOOTS + 1)) done, host load $load1"
	TB_BENCH_BOOTS=$((TB_BENCH_BOOTS + 1))
	TB_BENCH_LOADS="${TB_BENCH_LOADS:+$TB_BENCH_LOADS; }$side: $load0 -> $load1"
	[ -f "$TB_RUN/figures" ] &&
		sed "s/^/$side\t/" "$TB_RUN/figures" >>"$TB_BENCH_FIGURES"
}

# The mean of each side's values; the ratio says how many times better
# ours is (ours / upstream, or upstream / ours for a "lower" figure).
tb_bench_table() {
	local why=${TB_UPSTREAM_WHY:+n/a: $TB_UPSTREAM_WHY}

	[ -s "$TB_BENCH_FIGURES" ] || { tb_say "bench: no figures"; return 0; }
	awk -F '\t' -v noupstream="$why" '
		function fmt(v) {
			if (v == int(v) || v >= 1000) return sprintf("%.0f", v)
			if (v >= 10) return sprintf("%.1f", v)
			return sprintf("%.3g", v)
		}
		function cell(s, f,   m) {
			if ((s, f) in na) return "n/a: " na[s, f]
			if (!((s, f) in n)) return (s == "upstream" && noupstream != "") ? noupstream : "-"
			m = sum[s, f] / n[s, f]
			mean[s, f] = m
			return fmt(m) " " unit[f] (n[s, f] > 1 ? " (" vals[s, f] ")" : "")
		}
		{
			s = $1; f = $2
			if (!(f in seen)) { seen[f] = 1; order[++nf] = f }
			if ($5 == "na") { na[s, f] = $4; next }
			unit[f] = $4; better[f] = $5
			sum[s, f] += $3; n[s, f]++
			vals[s, f] = vals[s, f] (n[s, f] > 1 ? " / " : "") fmt($3)
		}
		END {
			c[0, 1] = "figure"; c[0, 2] = "ours"; c[0, 3] = "upstream"; c[0, 4] = "ratio"
			for (i = 1; i <= nf; i++) {
				f = order[i]
				c[i, 1] = f; c[i, 2] = cell("ours", f); c[i, 3] = cell("upstream", f)
				c[i, 4] = "n/a"
				if (("ours", f) in mean && ("upstream", f) in mean &&
				    mean["ours", f] > 0 && mean["upstream", f] > 0) {
					r = better[f] == "lower" ? mean["upstream", f] / mean["ours", f] \
						: mean["ours", f] / mean["upstream", f]
					c[i, 4] = sprintf("%.2fx", r)
				}
			}
			for (i = 0; i <= nf; i++)
				for (j = 1; j <= 4; j++)
					if (length(c[i, j]) > w[j]) w[j] = length(c[i, j])
			for (i = 0; i <= nf; i++)
				printf "%-" w[1] "s | %-" w[2] "s | %-" w[3] "s | %s\n",
					c[i, 1], c[i, 2], c[i, 3], c[i, 4]
		}' "$TB_BENCH_FIGURES"
}
