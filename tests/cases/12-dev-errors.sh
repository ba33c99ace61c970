# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Refused requests: each gives the expected errno and message through the
# real iproute2 6.1 `vdpa` (exit status 1, `Error: <extack>.` then
# `kernel answers: <strerror>`), or through tests/helpers/vdpa_nl.py for
# what the tool cannot send.  A refused request leaves nothing behind.

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

NODEV="kernel answers: No such device"
EINVAL="kernel answers: Invalid argument"

test_duplicate_name() {
	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:00:00:01
	expect_run 1 "" "kernel answers: File exists" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 1 "" "kernel answers: File exists" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:00:00:02
	# the first device is untouched
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show
	expect_run 0 "vdpa0: mac 52:54:00:00:00:01 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show
	[ "$(bus_count)" -eq 1 ] || fail "$(bus_count) devices on the bus, expected 1"
}

test_unknown_mgmtdev() {
	local e="Error: vdpa: Fail to find the specified management device.
$NODEV"

	mgmt_load
	expect_run 1 "" "$e" -- vdpa dev add name vdpa0 mgmtdev nosuch
	expect_run 1 "" "$e" -- vdpa dev add name vdpa0 mgmtdev pci/vdpasim_net
	expect_run 1 "" "$e" -- vdpa dev add name vdpa0 mgmtdev vdpasim
	expect_run 0 "" "" -- vdpa dev show
}

test_unknown_device() {
	local e="Error: vdpa: device not found.
$NODEV"

	mgmt_load
	expect_run 1 "" "$e" -- vdpa dev del vdpa0
	expect_run 1 "" "$e" -- vdpa dev show vdpa0
	expect_run 1 "" "$e" -- vdpa dev config show vdpa0
	expect_run "$VSTATS_ERR_RC" "" "$e" -- vdpa dev vstats show vdpa0 qidx 0
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 1 "" "$e" -- vdpa dev del vdpa
	expect_run 1 "" "$e" -- vdpa dev del vdpa00
	expect_run 0 "" "" -- vdpa dev del vdpa0
	expect_run 1 "" "$e" -- vdpa dev del vdpa0
}

# MAC addresses are parsed by the tool itself (lib/ll_addr.c).
test_bad_mac() {
	mgmt_load
	expect_run 1 "" '"zz" is invalid lladdr.' -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mac zz:11:22:33:44:55
	expect_run 1 "" '"100" is invalid lladdr.' -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 00:11:22:33:44:100
	expect_run 1 "" '"nonsense" is invalid lladdr.' -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mac nonsense
	# the kernel's policy wants exactly 6 bytes
	expect_run 0 "error ERANGE: binary attribute size out of range" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --raw 10:5254000000
	expect_run 0 "error ERANGE: binary attribute size out of range" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --raw 10:52540000000000
	expect_run 0 "" "" -- vdpa dev show
}

# The MTU attribute is NLA_POLICY_MIN(NLA_U16, 68): the policy message has
# no module prefix.  Numbers that do not fit a u16 never leave the tool.
test_bad_mtu() {
	local e="Error: integer out of range.
kernel answers: Numerical result out of range"

	mgmt_load
	expect_run 1 "" "$e" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mtu 67
	expect_run 1 "" "$e" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mtu 0
	expect_run 1 "" "$e" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:00:00:01 mtu 60
	expect_run 1 "" "" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mtu 65536
	expect_run 1 "" "" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net mtu big
	expect_run 0 "" "" -- vdpa dev show
}

test_max_vqp_bounds() {
	mgmt_load
	expect_run 1 "" "Error: vdpa: At least one pair of VQs is required.
$EINVAL" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net max_vqp 0
	# the simulator's own limit
	expect_run 1 "" "Error: vdpa_sim_net: max_vqp exceeds the simulator's limit of 16 queue pairs.
$EINVAL" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net max_vqp 17
	expect_run 1 "" "Error: vdpa_sim_net: max_vqp exceeds the simulator's limit of 16 queue pairs.
$EINVAL" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net max_vqp 65535
	expect_run 1 "" "" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net max_vqp 65536
	expect_run 0 "" "" -- vdpa dev show
	[ "$(bus_count)" -eq 0 ] || fail "a refused device is on the bus"
}

# Features outside the management device's supported set.
test_features_unsupported() {
	local all e="error EINVAL: vdpa: Requested device features are not supported by the management device"

	mgmt_load
	all=$(hexor $F_MTU $F_MAC $F_STATUS $F_CTRL_VQ $F_CTRL_MAC_ADDR $F_ANY_LAYOUT $F_VERSION_1 $F_ACCESS_PLATFORM)
	# CSUM (bit 0), MQ (bit 22, not offered without max_vqp), bit 63
	expect_run 0 "$e" "" -- vdpa_nl dev-new vdpa0 vdpasim_net --features "$(hexor "$all" 0x1)"
	expect_run 0 "$e" "" -- vdpa_nl dev-new vdpa0 vdpasim_net --features "$(hexor "$all" $F_MQ)"
	expect_run 0 "$e" "" -- vdpa_nl dev-new vdpa0 vdpasim_net --features "$(hexor "$all" 0x8000000000000000)"
	# the simulator needs VERSION_1 and ACCESS_PLATFORM
	expect_run 0 "error EINVAL: vdpa_sim_net: device_features must include VERSION_1 and ACCESS_PLATFORM" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --features "$(hexor $F_MAC $F_VERSION_1)"
	expect_run 0 "" "" -- vdpa dev show
	[ "$(bus_count)" -eq 0 ] || fail "a refused device is on the bus"
}

# A net attribute whose feature is not provisioned is contradictory.
test_features_missing_for_attr() {
	local base

	mgmt_load
	base=$(hexor $F_VERSION_1 $F_ACCESS_PLATFORM $F_STATUS)
	expect_run 0 "error EINVAL: vdpa: Missing features 0x20 for provided attributes" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --features "$base" --mac 52:54:00:00:00:01
	expect_run 0 "error EINVAL: vdpa: Missing features 0x8 for provided attributes" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --features "$base" --mtu 1500
	expect_run 0 "error EINVAL: vdpa: Missing features 0x28 for provided attributes" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --features "$base" --mac 52:54:00:00:00:01 --mtu 1500
	expect_run 0 "error EINVAL: vdpa: Missing features 0x400000 for provided attributes" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --features "$(hexor "$base" $F_CTRL_VQ)" --max-vqp 2
	expect_run 0 "" "" -- vdpa dev show
}

# DEV_NEW, DEV_DEL and DEV_VSTATS_GET need CAP_NET_ADMIN; the check comes
# before anything else, so there is no extack.
test_unprivileged() {
	local e="kernel answers: Operation not permitted"

	mgmt_load
	expect_run 1 "" "$e" -- as_unprivileged "$VDPA_BIN" dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 1 "" "$e" -- as_unprivileged "$VDPA_BIN" dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:00:00:01
	expect_run 1 "" "$e" -- as_unprivileged "$VDPA_BIN" dev add name vdpa0 mgmtdev nosuch
	expect_run 0 "" "" -- vdpa dev show
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 1 "" "$e" -- as_unprivileged "$VDPA_BIN" dev del vdpa0
	expect_run 1 "" "$e" -- as_unprivileged "$VDPA_BIN" dev del nosuch
	expect_run "$VSTATS_ERR_RC" "" "$e" -- as_unprivileged "$VDPA_BIN" dev vstats show vdpa0 qidx 0
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show
}

# Names become sysfs directory names: '/' and the empty name are refused;
# at most 63 bytes (iproute2 prints names through 64-byte buffers), which
# the policy enforces.
test_bad_names() {
	local e="Error: vdpa: Device name must be non-empty and must not contain '/'.
$EINVAL" long

	mgmt_load
	expect_run 1 "" "$e" -- vdpa dev add name a/b mgmtdev vdpasim_net
	expect_run 1 "" "$e" -- vdpa dev add name / mgmtdev vdpasim_net
	expect_run 1 "" "$e" -- vdpa dev add name "" mgmtdev vdpasim_net
	expect_run 0 "error EINVAL: vdpa: Device name must be non-empty and must not contain '/'" "" \
		-- vdpa_nl dev-new vdpa/0 vdpasim_net
	long=$(printf 'n%.0s' $(seq 64))
	expect_run 1 "" "Error: Attribute failed policy validation.
kernel answers: Numerical result out of range" -- vdpa dev add name "$long" mgmtdev vdpasim_net
	expect_run 0 "" "" -- vdpa dev show
	[ "$(bus_count)" -eq 0 ] || fail "a refused device is on the bus"
	expect_run 0 "" "" -- vdpa dev add name "${long:1}" mgmtdev vdpasim_net
	expect_run 0 "$(dev_line "${long:1}")" "" -- vdpa dev show
	[ -d "/sys/bus/vdpa/devices/${long:1}" ] || fail "63-byte name missing in sysfs"
	expect_run 0 "" "" -- vdpa dev del "${long:1}"
	# names the tool refuses before sending anything
	expect_run 1 "" "device name is not set." -- vdpa dev add mgmtdev vdpasim_net
	expect_run 1 "" "management device handle not set." -- vdpa dev add name vdpa0
	expect_run 1 "" 'Unknown option "color"' -- vdpa dev add name vdpa0 mgmtdev vdpasim_net color red
}

# The family validates strictly: an attribute type beyond VDPA_ATTR_MAX, or
# one without a policy, is refused instead of ignored.
test_unknown_attribute() {
	mgmt_load
	expect_run 0 "error EINVAL: Unknown attribute type" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --raw 60:00000000
	# type 0 (PAD) is never a valid request attribute
	expect_run 0 "error EINVAL: Unknown attribute type" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --raw 0:00000000
	# VDPA_ATTR_MAX itself is in range but has no policy
	expect_run 0 "error EINVAL: Unsupported attribute" "" \
		-- vdpa_nl dev-new vdpa0 vdpasim_net --raw 37:00000000
	expect_run 0 "" "" -- vdpa dev show
	# the helper itself works: the same request without it succeeds
	expect_run 0 "ok" "" -- vdpa_nl dev-new vdpa0 vdpasim_net
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show
}
