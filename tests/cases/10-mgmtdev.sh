# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Management devices and the "vdpa" generic-netlink family, driven by the
# real iproute2 6.1 `vdpa` (CLIENTS.md §4, ABI.md §3).

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

MGMTDEV_PLAIN="vdpasim_net: 
  supported_classes net
  max_supported_vqs 3
  dev_features $SIM_NET_FEATURES"
MGMTDEV_JSON='{"mgmtdev":{"vdpasim_net":{"supported_classes":["net"],"max_supported_vqs":3,"dev_features":'"$SIM_NET_FEATURES_JSON"'}}}'

# Without our modules there is no "vdpa" family; loading the core alone
# registers it, with no management device and no device.
test_family_lifetime() {
	expect_run 1 "" "Failed to connect to vdpa Netlink" -- vdpa dev show
	load_modules vdpa
	expect_run 0 "" "" -- vdpa mgmtdev show
	expect_run 0 "" "" -- vdpa dev show
	expect_run 0 "" "" -- vdpa dev config show
	expect_run 0 '{"mgmtdev":{}}' "" -- vdpa -j mgmtdev show
	expect_run 0 '{"dev":{}}' "" -- vdpa -j dev show
	expect_run 0 '{"config":{}}' "" -- vdpa -j dev config show
	expect_run 1 "" "Error: vdpa: Fail to find the specified mgmt device.
kernel answers: No such device" -- vdpa mgmtdev show vdpasim_net
	unload_modules
	expect_run 1 "" "Failed to connect to vdpa Netlink" -- vdpa mgmtdev show
}

test_show_plain() {
	mgmt_load
	expect_run 0 "$MGMTDEV_PLAIN" "" -- vdpa mgmtdev show
	# "list" is an alias of "show"; the object name matches by prefix
	expect_run 0 "$MGMTDEV_PLAIN" "" -- vdpa mgmtdev list
	expect_run 0 "$MGMTDEV_PLAIN" "" -- vdpa mgmt show
}

test_show_by_name() {
	mgmt_load
	expect_run 0 "$MGMTDEV_PLAIN" "" -- vdpa mgmtdev show vdpasim_net
	expect_run 0 "$MGMTDEV_JSON" "" -- vdpa -j mgmtdev show vdpasim_net
}

test_show_json() {
	mgmt_load
	expect_run 0 "$MGMTDEV_JSON" "" -- vdpa -j mgmtdev show
}

# -jp is the same document, indented over several lines.
test_show_json_pretty() {
	mgmt_load
	capture vdpa -jp mgmtdev show
	[ "$rc" -eq 0 ] || fail "vdpa -jp mgmtdev show exited $rc: $err"
	expect_eq "$err" "" "stderr"
	[ "$(printf '%s\n' "$out" | wc -l)" -gt 5 ] ||
		fail "-jp output is not pretty-printed: $out"
	expect_eq "$(printf '%s\n' "$out" | "$PY3" -c 'import json, sys; print(json.dumps(json.load(sys.stdin), separators=(",", ":")))')" \
		"$MGMTDEV_JSON" "-jp parsed back"
}

test_show_unknown() {
	local e="Error: vdpa: Fail to find the specified mgmt device.
kernel answers: No such device"

	mgmt_load
	expect_run 1 "" "$e" -- vdpa mgmtdev show nosuch
	# a bus name never matches a bus-less management device
	expect_run 1 "" "$e" -- vdpa mgmtdev show pci/vdpasim_net
	expect_run 1 "" "$e" -- vdpa mgmtdev show vdpasim
	expect_run 1 "" "$e" -- vdpa mgmtdev show vdpasim_net_x
}

# MGMTDEV_GET needs no privilege.
test_show_unprivileged() {
	mgmt_load
	expect_run 0 "$MGMTDEV_PLAIN" "" -- as_unprivileged "$VDPA_BIN" mgmtdev show
	expect_run 0 "$MGMTDEV_JSON" "" -- as_unprivileged "$VDPA_BIN" -j mgmtdev show vdpasim_net
}

# The management device is a bus-less device named by its handle.
test_sysfs_parent() {
	mgmt_load
	[ -d /sys/devices/vdpasim_net ] || fail "/sys/devices/vdpasim_net missing"
	[ -d /sys/bus/vdpa ] || fail "/sys/bus/vdpa missing"
	rmmod vdpa_sim_net
	[ ! -e /sys/devices/vdpasim_net ] || fail "/sys/devices/vdpasim_net left after rmmod"
	expect_run 0 "" "" -- vdpa mgmtdev show
	expect_run 1 "" "Error: vdpa: Fail to find the specified mgmt device.
kernel answers: No such device" -- vdpa mgmtdev show vdpasim_net
}
