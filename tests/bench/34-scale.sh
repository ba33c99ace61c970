# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Many devices: 100, then 1,000 vdpasim_net devices without a bus driver,
# added and deleted over one netlink socket (tests/helpers/vdpa_nl.py:
# the kernel's cost, not N starts of the vdpa program), dumped with
# `vdpa -j dev show` and `vdpa -j dev config show`.  Each figure is the
# time per device: it should not grow with the count.

# shellcheck source=tests/lib/bench-lib.sh
. "$VDPA_TREE/tests/lib/bench-lib.sh"

NL=$VDPA_TREE/tests/helpers/vdpa_nl.py

# scale_step N WHAT OUT: the figure for WHAT from "ok SECONDS" in OUT.
scale_step() {
	local n=$1 what=$2 out=$3 secs

	case $out in
	"ok "*) secs=${out#ok } ;;
	*) fail "$what of $n devices: $out" ;;
	esac
	figure "scale: $what, $n devices, per device" \
		"$(awk -v s="$secs" -v n="$n" 'BEGIN { printf "%.1f", s * 1e6 / n }')" \
		us lower
}

# scale_dump N ARGS...: time `vdpa -j ARGS` three times, check that it
# lists N devices; the figure is the median run.  Most of one run is the
# program's own start-up and printing: a `vdpa -j mgmtdev show` takes
# 54-61 ms in the TCG guest, a dump of 1,000 devices 70-95 ms, and the
# kernel's dump code is about 2% of a run's CPU samples.  That start-up
# varies from run to run, and at 100 devices it is the whole figure.
scale_dump() {
	local n=$1 t0 us runs=() got run

	shift
	for run in 1 2 3; do
		t0=${EPOCHREALTIME/[.,]/}
		vdpa -j "$@" >dump.json || fail "vdpa -j $* failed"
		runs[run]=$((${EPOCHREALTIME/[.,]/} - t0))
		got=$(python3 -c 'import json, sys; print(len(next(iter(json.load(sys.stdin).values()))))' \
			<dump.json)
		[ "$got" = "$n" ] || fail "vdpa -j $* listed $got devices, not $n"
	done
	us=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
	log "vdpa -j $*, $n devices: ${runs[*]} us"
	figure "scale: vdpa -j $*, $n devices, per device" \
		"$(awk -v s="$us" -v n="$n" 'BEGIN { printf "%.1f", s / n }')" us lower
}

load_modules vdpa vdpa_sim vdpa_sim_net
for n in 100 1000; do
	scale_step $n "add" "$(python3 "$NL" dev-new-many sc vdpasim_net $n)"
	scale_dump $n dev show
	scale_dump $n dev config show
	scale_step $n "del" "$(python3 "$NL" dev-del-many sc $n)"
done
