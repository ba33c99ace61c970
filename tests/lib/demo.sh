#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make run` demo: a vdpasim_net device driven by the real tools.
# Runs as root where our modules can be loaded: inside the test VM (the
# guest runner starts it) or on the host (tests/run-demo.sh --host).
# Needs VDPA_TREE.  Exit status: the number of failed steps (0 = all ok).
#
# Steps are the demo_* functions listed in DEMO_STEPS, run in order.
# More steps can be added without touching this file: every
# tests/demo/*.sh is sourced and the demo_* functions it defines run after
# the built-in ones (before the device is deleted), in file order.  Every
# function named demo_* is a step: name helpers otherwise.

# shellcheck source=tests/lib/guest-lib.sh
. "$VDPA_TREE/tests/lib/guest-lib.sh" || exit 1

DEMO_DEV=vdpa0
DEMO_MAC=52:54:00:12:34:56
DEMO_FAILED=0

# step TITLE: start a step.
step() { printf '\n==> %s\n' "$*"; }

# run CMD ARGS...: show and run one command; count a failure.
run() {
	local rc=0

	printf '$ %s\n' "$*"
	"$@" || rc=$?
	if [ $rc -ne 0 ]; then
		printf '(exit status %d)\n' $rc
		DEMO_FAILED=$((DEMO_FAILED + 1))
	fi
	return 0
}

demo_load() {
	local mods=() m

	step "Load our modules"
	for m in vdpa vdpa_sim vdpa_sim_net vhost_vdpa; do
		have_module "$m" && mods+=("$m")
	done
	run load_modules "${mods[@]}"
	run grep -E '^(vdpa|vdpa_sim|vdpa_sim_net|vhost_vdpa) ' /proc/modules
}

demo_mgmtdev() {
	step "List the management devices"
	run vdpa mgmtdev show
}

demo_dev_add() {
	step "Create $DEMO_DEV on vdpasim_net"
	run vdpa dev add name "$DEMO_DEV" mgmtdev vdpasim_net mac "$DEMO_MAC"
	run vdpa dev show
	run vdpa dev config show "$DEMO_DEV"
	run vdpa -jp dev show "$DEMO_DEV"
}

demo_chardev() {
	local nodes

	step "The vhost-vdpa character device"
	nodes=$(ls /dev/vhost-vdpa-* 2>/dev/null)
	if [ -n "$nodes" ]; then
		# shellcheck disable=SC2086
		run ls -l $nodes
		run ls "/sys/bus/vdpa/devices/$DEMO_DEV/"
	else
		echo "(no /dev/vhost-vdpa-* node: vhost_vdpa not built or not bound)"
	fi
}

demo_dev_del() {
	step "Delete $DEMO_DEV"
	run vdpa dev del "$DEMO_DEV"
	run vdpa dev show
}

demo_unload() {
	step "Unload the modules"
	run unload_modules
}

DEMO_STEPS=(demo_load demo_mgmtdev demo_dev_add demo_chardev)

# Source tests/demo/*.sh; their demo_* functions go in DEMO_EXTRA, in the
# order they are defined.
DEMO_EXTRA=()
for f in "$VDPA_TREE"/tests/demo/*.sh; do
	[ -f "$f" ] || continue
	# shellcheck source=/dev/null
	. "$f" || { DEMO_FAILED=$((DEMO_FAILED + 1)); continue; }
	shopt -s extdebug
	while read -r _ fn; do
		DEMO_EXTRA+=("$fn")
	done < <(for fn in $(compgen -A function demo_); do
		# shellcheck disable=SC2046
		set -- $(declare -F "$fn")
		[ "$3" = "$f" ] && echo "$2 $fn"
	done | sort -n)
	shopt -u extdebug
done

for fn in "${DEMO_STEPS[@]}" "${DEMO_EXTRA[@]}" demo_dev_del demo_unload; do
	"$fn"
done

echo
if [ $DEMO_FAILED -eq 0 ]; then
	echo "demo: all steps succeeded"
else
	echo "demo: $DEMO_FAILED commands failed"
fi
exit $DEMO_FAILED
