# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The simulator core's own knobs: module parameters (batch_mapping,
# max_iotlb_entries) and the per-device debugfs directory
# (/sys/kernel/debug/vdpa_sim/<dev>/), driven through vhost-vdpa with the
# tools' vdpa-net-loop.

SIM_TOOLS=$VDPA_TREE/tools/build
SIM_MAC=52:54:00:12:34:56
SIM_DBG=/sys/kernel/debug/vdpa_sim

# Load vdpa and vdpa_sim with PARAMS, then the rest of the stack.
sim_load() {
	load_modules vdpa
	modprobe vhost_iotlb
	insmod "$(module_path vdpa_sim)" "$@"
	load_modules vdpa_sim_net vhost_vdpa
}

sim_add() {
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac "$SIM_MAC"
	wait_for 5 test -c /dev/vhost-vdpa-0
	ulimit -l unlimited
}

sim_loop() {
	[ -x "$SIM_TOOLS/vdpa-net-loop" ] || skip "vdpa-net-loop is not built"
	"$SIM_TOOLS/vdpa-net-loop" -d /dev/vhost-vdpa-0 "$@"
}

test_debugfs_layout() {
	local f

	load_modules vdpa vdpa_sim vdpa_sim_net
	[ -d $SIM_DBG ] || fail "no $SIM_DBG"
	# off by default: no directory for a device
	expect_eq "$(cat /sys/module/vdpa_sim/parameters/debugfs)" N "debugfs parameter"
	vdpa dev add name vdpa1 mgmtdev vdpasim_net
	[ ! -e $SIM_DBG/vdpa1 ] || fail "$SIM_DBG/vdpa1 without the debugfs parameter"
	sim_knobs
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	for f in fail_map fail_config_write stall drop_used corrupt_used \
		ring_errors log_errors kicker_passes thread_passes; do
		[ -f $SIM_DBG/vdpa0/$f ] || fail "no $SIM_DBG/vdpa0/$f"
	done
	[ ! -e $SIM_DBG/vdpa1 ] || fail "$SIM_DBG/vdpa1 appeared later"
	vdpa dev del vdpa1
	expect_eq "$(cat $SIM_DBG/vdpa0/ring_errors)" 0 ring_errors
	expect_eq "$(cat $SIM_DBG/vdpa0/stall)" 0 stall
	vdpa dev del vdpa0
	[ ! -e $SIM_DBG/vdpa0 ] || fail "$SIM_DBG/vdpa0 left after del"
}

# dma_map/dma_unmap instead of set_map: traffic flows the same.
test_batch_mapping_off() {
	sim_load batch_mapping=0
	expect_eq "$(cat /sys/module/vdpa_sim/parameters/batch_mapping)" N
	sim_add
	sim_loop -n 16 >out 2>&1 || { cat out; fail "loopback failed"; }
	grep -qx PASS out || { cat out; fail "no PASS"; }
}

test_max_iotlb_entries_too_small() {
	sim_load max_iotlb_entries=1
	expect_fail 1 "Error: vdpa_sim: module parameter max_iotlb_entries must be at least 2.
kernel answers: Invalid argument" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_eq "$(vdpa_devices)" "" "devices"
}

# Over the per-AS cap, the map fails (EFAULT from write()) with a log line
# naming the parameter.
test_max_iotlb_entries_cap() {
	sim_load max_iotlb_entries=2
	sim_add
	if sim_loop -n 4 >out 2>&1; then
		cat out
		fail "loopback passed with a 2-entry cap"
	fi
	dmesg | grep -q "max_iotlb_entries" || fail "no log line naming the parameter"
}

# fail_map fails the next map; the one after works again.
test_fail_map() {
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	sim_knobs
	sim_add
	echo 1 >$SIM_DBG/vdpa0/fail_map
	if sim_loop -n 4 >out 2>&1; then
		cat out
		fail "loopback passed with an injected map failure"
	fi
	expect_eq "$(cat $SIM_DBG/vdpa0/fail_map)" 0 "fail_map after use"
	sim_loop -n 4 >out 2>&1 || { cat out; fail "loopback failed after the injection"; }
}

# fail_config_write drops the next config write: the MAC stays.
test_fail_config_write() {
	require_cmd python3
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	sim_knobs
	sim_add
	echo 1 >$SIM_DBG/vdpa0/fail_config_write
	python3 - <<'EOF'
import fcntl, os, struct
VHOST_VDPA_SET_CONFIG = 0x4008AF74
fd = os.open("/dev/vhost-vdpa-0", os.O_RDWR)
buf = struct.pack("<II", 0, 6) + bytes([2, 0, 0, 0, 0, 9])
fcntl.ioctl(fd, VHOST_VDPA_SET_CONFIG, buf)
os.close(fd)
EOF
	vdpa dev config show vdpa0 | grep -q "mac $SIM_MAC " ||
		fail "the config write was not ignored: $(vdpa dev config show vdpa0)"
	expect_eq "$(cat $SIM_DBG/vdpa0/fail_config_write)" 0 "knob after use"
}

# With the data path stalled nothing comes back; unstalled it works.
test_stall() {
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	sim_knobs
	sim_add
	echo 1 >$SIM_DBG/vdpa0/stall
	if sim_loop -n 4 -t 500 >out 2>&1; then
		cat out
		fail "loopback passed while stalled"
	fi
	echo 0 >$SIM_DBG/vdpa0/stall
	sim_loop -n 4 >out 2>&1 || { cat out; fail "loopback failed after unstall"; }
}
