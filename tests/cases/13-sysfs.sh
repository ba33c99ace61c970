# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The vdpa bus in sysfs and the uevents of its devices (ABI.md §1, §4).

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

test_bus_layout() {
	load_modules vdpa
	[ -d /sys/bus/vdpa/devices ] || fail "/sys/bus/vdpa/devices missing"
	[ -d /sys/bus/vdpa/drivers ] || fail "/sys/bus/vdpa/drivers missing"
	[ -e /sys/bus/vdpa/drivers_probe ] || fail "/sys/bus/vdpa/drivers_probe missing"
	expect_eq "$(cat /sys/bus/vdpa/drivers_autoprobe)" "1" "drivers_autoprobe"
	expect_eq "$(bus_count)" "0" "devices on a fresh bus"
	mgmt_load
	[ -d /sys/devices/vdpasim_net ] || fail "/sys/devices/vdpasim_net missing"
	expect_eq "$(bus_count)" "0" "devices before any dev add"
}

# A device without a parent sits at /sys/devices/<name> and is linked from
# the bus; its only own attribute is driver_override.
test_device_dir() {
	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	[ -L /sys/bus/vdpa/devices/vdpa0 ] || fail "/sys/bus/vdpa/devices/vdpa0 is not a link"
	expect_eq "$(readlink -f /sys/bus/vdpa/devices/vdpa0)" "/sys/devices/vdpa0" "device path"
	expect_eq "$(readlink -f /sys/devices/vdpa0/subsystem)" "/sys/bus/vdpa" "subsystem link"
	[ -f /sys/devices/vdpa0/driver_override ] || fail "driver_override missing"
	[ -f /sys/devices/vdpa0/uevent ] || fail "uevent missing"
	# no bus driver is loaded: nothing is bound, and the device has no
	# device number, type or modalias
	[ ! -e /sys/devices/vdpa0/driver ] || fail "vdpa0 is bound to $(readlink /sys/devices/vdpa0/driver)"
	expect_eq "$(cat /sys/devices/vdpa0/uevent)" "" "uevent file"
	[ ! -e /sys/devices/vdpa0/modalias ] || fail "vdpa0 has a modalias"
	vdpa dev add name other mgmtdev vdpasim_net
	expect_eq "$(ls /sys/bus/vdpa/devices)" "other
vdpa0" "bus devices"
	vdpa dev del vdpa0
	[ ! -e /sys/devices/vdpa0 ] || fail "/sys/devices/vdpa0 left after dev del"
	[ ! -e /sys/bus/vdpa/devices/vdpa0 ] || fail "bus link left after dev del"
	expect_eq "$(ls /sys/bus/vdpa/devices)" "other" "bus devices after del"
}

# driver_override: unset reads "(null)" (upstream's "%s\n" of NULL), a name
# sticks, and an empty write or a lone newline clears it.
test_driver_override() {
	local f=/sys/bus/vdpa/devices/vdpa0/driver_override long

	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_eq "$(cat $f)" "(null)" "initial driver_override"
	echo vhost_vdpa >$f
	expect_eq "$(cat $f)" "vhost_vdpa" "after writing vhost_vdpa"
	printf 'virtio_vdpa' >$f
	expect_eq "$(cat $f)" "virtio_vdpa" "after writing virtio_vdpa without newline"
	echo >$f
	expect_eq "$(cat $f)" "(null)" "after writing a newline"
	echo vhost_vdpa >$f
	# a string of length 0 (a lone NUL byte) clears it too
	printf '\0' >$f
	expect_eq "$(cat $f)" "(null)" "after writing an empty string"
	# one page minus one byte is too long
	long=$(head -c 4095 /dev/zero | tr '\0' x)
	if printf '%s' "$long" >$f 2>/dev/null; then
		fail "a 4095-byte driver_override was accepted"
	fi
	expect_eq "$(cat $f)" "(null)" "after the refused write"
	[ "$(stat -c %A "$f")" = -rw-r--r-- ] || fail "driver_override mode: $(stat -c %A "$f")"
}

# libvirt recognises vdpa devices by SUBSYSTEM=vdpa with no DEVTYPE.
test_uevents() {
	local ev pid

	mgmt_load
	vdpa_nl uevents 20 >uevents.log &
	pid=$!
	# wait until the listener is bound
	for _ in $(seq 100); do
		grep -q listening uevents.log 2>/dev/null && break
		sleep 0.1
	done
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	vdpa dev del vdpa0
	for _ in $(seq 100); do
		grep -q '^remove@/devices/vdpa0|' uevents.log && break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	cat uevents.log
	ev=$(grep '^add@/devices/vdpa0|' uevents.log) || fail "no add uevent for vdpa0"
	case "|$ev|" in
	*"|SUBSYSTEM=vdpa|"*) ;;
	*) fail "add uevent without SUBSYSTEM=vdpa: $ev" ;;
	esac
	case "|$ev|" in
	*"|DEVTYPE="*) fail "add uevent has a DEVTYPE: $ev" ;;
	esac
	case "|$ev|" in
	*"|DEVPATH=/devices/vdpa0|"*) ;;
	*) fail "add uevent with a wrong DEVPATH: $ev" ;;
	esac
	ev=$(grep '^remove@/devices/vdpa0|' uevents.log) || fail "no remove uevent for vdpa0"
	case "|$ev|" in
	*"|SUBSYSTEM=vdpa|"*) ;;
	*) fail "remove uevent without SUBSYSTEM=vdpa: $ev" ;;
	esac
}
