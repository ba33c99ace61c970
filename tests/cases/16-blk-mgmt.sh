# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Management of the block simulator through the real iproute2 6.1 `vdpa`:
# the vdpasim_blk management device, dev add/show/del, config show (the
# tool prints no block fields, so tests/helpers/vdpa_config.py decodes the
# block-config attributes 20-36 of the reply), dumps mixing network and
# block devices, network attributes refused on the block management
# device, the capacity_mb parameter and vstats refused for a block device.

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

BLK_PARAM=/sys/module/vdpa_sim_blk/parameters/capacity_mb
EOPNOTSUPP="kernel answers: Operation not supported"

# Device features of the block simulator (upstream's value).
SIM_BLK_FEATURES=0x308007646

# Its supported features: those plus RING_PACKED, as iproute2 6.1 names
# them (no names for the block bits, nor for ANY_LAYOUT of a block device).
SIM_BLK_SUPPORTED="bit_1 bit_2 bit_6 bit_9 bit_10 bit_12 bit_13 bit_14 bit_27 VERSION_1 ACCESS_PLATFORM RING_PACKED"

BLK_MGMTDEV_PLAIN="vdpasim_blk: 
  supported_classes block
  max_supported_vqs 0
  dev_features $SIM_BLK_SUPPORTED"
# (in JSON, a bit without a name is a number)
BLK_MGMTDEV_JSON='{"mgmtdev":{"vdpasim_blk":{"supported_classes":["block"],"max_supported_vqs":0,"dev_features":[1,2,6,9,10,12,13,14,27,"VERSION_1","ACCESS_PLATFORM","RING_PACKED"]}}}'

# The block-config attributes of a default device (128 MiB), in reply order.
blk_config_line() {
	echo "$1 dev_id=2 features=$SIM_BLK_FEATURES capacity=${2:-262144}" \
		"size_max=4096 blk_size=512 seg_max=32 num_queues=1" \
		"phy_blk_exp=0 align_offset=0 min_io_size=1 opt_io_size=1" \
		"max_discard_sec=4294967295 max_discard_seg=1 discard_sec_align=512" \
		"max_write_zeroes_sec=4294967295 max_write_zeroes_seg=1" \
		"read_only=0 flush=1"
}

blk_dev_line() {
	echo "$1: type block mgmtdev vdpasim_blk vendor_id 0 max_vqs 1 max_vq_size 256"
}

blk_load() {
	load_modules vdpa vdpa_sim vdpa_sim_blk
}

# shellcheck disable=SC2120 # NAME is optional: without it, a dump
vdpa_config() {
	"$PY3" "$VDPA_TREE/tests/helpers/vdpa_config.py" "$@"
}

test_mgmtdev_show() {
	blk_load
	expect_run 0 "$BLK_MGMTDEV_PLAIN" "" -- vdpa mgmtdev show
	expect_run 0 "$BLK_MGMTDEV_PLAIN" "" -- vdpa mgmtdev show vdpasim_blk
	expect_run 0 "$BLK_MGMTDEV_JSON" "" -- vdpa -j mgmtdev show vdpasim_blk
	[ -d /sys/devices/vdpasim_blk ] || fail "/sys/devices/vdpasim_blk missing"
	# both simulators: registration order
	load_modules vdpa_sim_net
	expect_eq "$(vdpa mgmtdev show | grep -v '^ ')" "vdpasim_blk: 
vdpasim_net: " "management devices listed"
}

test_dev_add_show_del() {
	blk_load
	expect_run 0 "" "" -- vdpa dev add name blk0 mgmtdev vdpasim_blk
	expect_run 0 "$(blk_dev_line blk0)" "" -- vdpa dev show
	expect_run 0 "$(blk_dev_line blk0)" "" -- vdpa dev show blk0
	expect_run 0 '{"dev":{"blk0":{"type":"block","mgmtdev":"vdpasim_blk","vendor_id":0,"max_vqs":1,"max_vq_size":256}}}' "" \
		-- vdpa -j dev show blk0
	[ -d /sys/bus/vdpa/devices/blk0 ] || fail "blk0 is not on the bus"
	expect_run 1 "" "kernel answers: File exists" -- vdpa dev add name blk0 mgmtdev vdpasim_blk
	expect_run 0 "" "" -- vdpa dev del blk0
	expect_run 0 "" "" -- vdpa dev show
	expect_run 1 "" "Error: vdpa: device not found.
kernel answers: No such device" -- vdpa dev del blk0
	[ "$(bus_count)" -eq 0 ] || fail "$(bus_count) devices left on the bus"
}

test_config_show() {
	blk_load
	vdpa dev add name blk0 mgmtdev vdpasim_blk
	# iproute2 6.1 knows none of the block attributes: name only
	expect_run 0 "blk0: " "" -- vdpa dev config show blk0
	expect_run 0 '{"config":{"blk0":{}}}' "" -- vdpa -j dev config show blk0
	expect_run 0 "$(blk_config_line blk0)" "" -- vdpa_config blk0
	expect_run 0 "$(blk_config_line blk0)" "" -- vdpa_config
	expect_run 0 "error ENODEV: vdpa: device not found" "" -- vdpa_config nosuch
}

# Dumps list every device in the order they were added, whatever the class.
test_mixed_dumps() {
	local net out

	blk_load
	load_modules vdpa_sim_net
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac 52:54:00:00:00:01
	vdpa dev add name blk0 mgmtdev vdpasim_blk
	vdpa dev add name vdpa1 mgmtdev vdpasim_net
	echo 16 >"$BLK_PARAM"
	vdpa dev add name blk1 mgmtdev vdpasim_blk
	expect_run 0 "$(dev_line vdpa0)
$(blk_dev_line blk0)
$(dev_line vdpa1)
$(blk_dev_line blk1)" "" -- vdpa dev show
	expect_run 0 "vdpa0: mac 52:54:00:00:00:01 link up link_announce false mtu 1500 
blk0: 
vdpa1: mac 00:00:00:00:00:00 link up link_announce false mtu 1500 
blk1: " "" -- vdpa dev config show
	out=$(vdpa -j dev config show)
	expect_eq "$(printf '%s\n' "$out" | json_keys config)" "vdpa0
blk0
vdpa1
blk1" "devices in the JSON config dump"
	net="features=0x308830028 mtu=1500 mac=52:54:00:00:00:01 status=1"
	out=$(vdpa_config)
	expect_eq "$(printf '%s\n' "$out" | cut -d' ' -f1,2)" "vdpa0 dev_id=1
blk0 dev_id=2
vdpa1 dev_id=1
blk1 dev_id=2" "devices in the raw config dump"
	expect_eq "$(printf '%s\n' "$out" | sed -n 2p)" "$(blk_config_line blk0)" "blk0 in the dump"
	expect_eq "$(printf '%s\n' "$out" | sed -n 4p)" "$(blk_config_line blk1 32768)" "blk1 in the dump"
	expect_eq "$(printf '%s\n' "$out" | sed -n 1p)" "vdpa0 dev_id=1 $net" "vdpa0 in the dump"
	# deleting one in the middle keeps the others in order
	vdpa dev del blk0
	out=$(vdpa_config)
	expect_eq "$(printf '%s\n' "$out" | cut -d' ' -f1)" "vdpa0
vdpa1
blk1" "devices after deleting blk0"
}

# device_features is the one provisioning attribute of vdpasim_blk: the
# default set plus RING_PACKED is accepted and reported; VERSION_1 and
# ACCESS_PLATFORM are required; a bit outside the supported set is refused.
test_features() {
	local packed

	blk_load
	packed=$(hexor $SIM_BLK_FEATURES $F_RING_PACKED)
	expect_run 0 "ok" "" -- vdpa_nl dev-new blk0 vdpasim_blk --features "$packed"
	expect_eq "$(vdpa_config blk0 | grep -o 'features=0x[0-9a-f]*')" \
		"features=$packed" "device features of blk0"
	expect_run 0 "ok" "" -- vdpa_nl dev-new blk1 vdpasim_blk --features "$SIM_BLK_FEATURES"
	expect_eq "$(vdpa_config blk1)" "$(blk_config_line blk1)" "config of blk1"
	expect_run 0 "error EINVAL: vdpa_sim_blk: device_features must include VERSION_1 and ACCESS_PLATFORM" "" \
		-- vdpa_nl dev-new blk2 vdpasim_blk --features "$F_VERSION_1"
	expect_run 0 "error EINVAL: vdpa: Requested device features are not supported by the management device" "" \
		-- vdpa_nl dev-new blk2 vdpasim_blk --features "$(hexor $SIM_BLK_FEATURES 0x1)"
	expect_eq "$(bus_count)" 2 "devices on the bus"
	vdpa dev del blk0
	vdpa dev del blk1
}

# Network attributes are not provisioning attributes of vdpasim_blk: the
# mask in the message is BIT(attribute number), as upstream prints it.
test_rejected_attrs() {
	blk_load
	expect_run 1 "" "Error: vdpa: Some provided attributes are not supported: 0x400.
$EOPNOTSUPP" -- vdpa dev add name blk0 mgmtdev vdpasim_blk mac 52:54:00:00:00:01
	expect_run 1 "" "Error: vdpa: Some provided attributes are not supported: 0x2000.
$EOPNOTSUPP" -- vdpa dev add name blk0 mgmtdev vdpasim_blk mtu 1500
	expect_run 1 "" "Error: vdpa: Some provided attributes are not supported: 0x1000.
$EOPNOTSUPP" -- vdpa dev add name blk0 mgmtdev vdpasim_blk max_vqp 2
	expect_run 1 "" "Error: vdpa: Some provided attributes are not supported: 0x3400.
$EOPNOTSUPP" -- vdpa dev add name blk0 mgmtdev vdpasim_blk mac 52:54:00:00:00:01 mtu 1500 max_vqp 2
	# (device_features is accepted: see test_features)
	# max_vqp 0 is refused before the management device is looked at
	expect_run 1 "" "Error: vdpa: At least one pair of VQs is required.
kernel answers: Invalid argument" -- vdpa dev add name blk0 mgmtdev vdpasim_blk max_vqp 0
	expect_run 0 "" "" -- vdpa dev show
	[ "$(bus_count)" -eq 0 ] || fail "a refused request left a device"
}

test_capacity_param() {
	blk_load
	expect_eq "$(cat "$BLK_PARAM")" 128 "default capacity_mb"
	echo 0 >"$BLK_PARAM"
	expect_run 1 "" "Error: vdpa_sim_blk: module parameter capacity_mb of vdpa_sim_blk must be at least 1.
kernel answers: Invalid argument" -- vdpa dev add name blk0 mgmtdev vdpasim_blk
	echo 4000000 >"$BLK_PARAM"
	expect_run 1 "" "Error: vdpa_sim_blk: module parameter capacity_mb of vdpa_sim_blk exceeds half of the RAM.
kernel answers: Invalid argument" -- vdpa dev add name blk0 mgmtdev vdpasim_blk
	[ "$(bus_count)" -eq 0 ] || fail "a refused request left a device"
	echo 1 >"$BLK_PARAM"
	vdpa dev add name blk0 mgmtdev vdpasim_blk
	echo 256 >"$BLK_PARAM"
	vdpa dev add name blk1 mgmtdev vdpasim_blk
	expect_run 0 "$(blk_config_line blk0 2048)" "" -- vdpa_config blk0
	expect_run 0 "$(blk_config_line blk1 524288)" "" -- vdpa_config blk1
}

test_vstats_refused() {
	blk_load
	vdpa dev add name blk0 mgmtdev vdpasim_blk
	expect_run "$VSTATS_ERR_RC" "" "Error: vdpa: vstats are not supported for this device class.
$EOPNOTSUPP" -- vdpa dev vstats show blk0 qidx 0
}
