# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Smoke tests: every module we build loads and unloads, and loading the
# core registers the vdpa bus.

smoke_built_modules() {
	local m

	for m in "${VDPA_MODULES[@]}"; do
		have_module "$m" && echo "$m"
	done
	return 0
}

test_load_unload() {
	local mods m round

	mods=$(smoke_built_modules)
	[ -n "$mods" ] || fail "no module is built in $VDPA_KO_DIR"
	log "built: $(echo $mods)"
	for round in 1 2; do
		# shellcheck disable=SC2086
		load_modules $mods
		# load_modules is idempotent.
		# shellcheck disable=SC2086
		load_modules $mods
		for m in $mods; do
			module_loaded "$m" || fail "round $round: $m is not loaded"
		done
		unload_modules
		for m in $mods; do
			! module_loaded "$m" || fail "round $round: $m is still loaded"
		done
	done
}

test_bus_registered() {
	load_modules vdpa
	if [ ! -d /sys/bus/vdpa ]; then
		if grep -q placeholder "$VDPA_TREE/drivers/vdpa/vdpa_bus.c"; then
			skip "the vdpa core is still a placeholder"
		fi
		fail "/sys/bus/vdpa is missing after loading vdpa"
	fi
	[ -d /sys/bus/vdpa/devices ] || fail "/sys/bus/vdpa/devices is missing"
	[ -d /sys/bus/vdpa/drivers ] || fail "/sys/bus/vdpa/drivers is missing"
	unload_modules
	[ ! -d /sys/bus/vdpa ] || fail "/sys/bus/vdpa is still there after unload"
}
