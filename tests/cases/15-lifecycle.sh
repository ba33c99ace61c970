# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Module lifetimes: unloading a management device's module removes its
# devices; the core cannot go while a parent uses it; reloading works.

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

test_rmmod_with_devices() {
	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	vdpa dev add name vdpa1 mgmtdev vdpasim_net mac 52:54:00:00:00:01 max_vqp 2
	vdpa dev add name vdpa2 mgmtdev vdpasim_net mtu 9000
	expect_eq "$(bus_count)" "3" "devices before rmmod"
	rmmod vdpa_sim_net
	expect_eq "$(bus_count)" "0" "devices after rmmod"
	for d in vdpa0 vdpa1 vdpa2; do
		[ ! -e /sys/devices/$d ] || fail "/sys/devices/$d left after rmmod"
	done
	[ ! -e /sys/devices/vdpasim_net ] || fail "/sys/devices/vdpasim_net left after rmmod"
	expect_run 0 "" "" -- vdpa dev show
	expect_run 0 '{"dev":{}}' "" -- vdpa -j dev show
	expect_run 0 "" "" -- vdpa dev config show
	expect_run 0 "" "" -- vdpa mgmtdev show
	expect_run 1 "" "Error: vdpa: device not found.
kernel answers: No such device" -- vdpa dev del vdpa0
	expect_run 1 "" "Error: vdpa: Fail to find the specified management device.
kernel answers: No such device" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net

	# reload: the management device is back and the old names are free
	load_modules vdpa_sim_net
	expect_run 0 "" "" -- vdpa dev add name vdpa1 mgmtdev vdpasim_net mac 52:54:00:00:00:11
	expect_run 0 "$(dev_line vdpa1)" "" -- vdpa dev show
	expect_run 0 "vdpa1: mac 52:54:00:00:00:11 link up link_announce false mtu 1500 " "" \
		-- vdpa dev config show
	expect_run 0 "" "" -- vdpa dev del vdpa1
}

# The core and the simulator core stay while a module built on them is
# loaded.
test_rmmod_order() {
	mgmt_load
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	capture rmmod vdpa
	[ "$rc" -ne 0 ] || fail "rmmod vdpa succeeded under vdpa_sim_net"
	capture rmmod vdpa_sim
	[ "$rc" -ne 0 ] || fail "rmmod vdpa_sim succeeded under vdpa_sim_net"
	[ -d /sys/module/vdpa ] || fail "vdpa unloaded"
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show
	rmmod vdpa_sim_net
	rmmod vdpa_sim
	rmmod vdpa
	expect_run 1 "" "Failed to connect to vdpa Netlink" -- vdpa dev show
	[ ! -e /sys/bus/vdpa ] || fail "/sys/bus/vdpa left after rmmod vdpa"
}

# Repeated load/create/unload cycles leave nothing behind.
test_reload_cycles() {
	local i

	for i in 1 2 3; do
		mgmt_load
		vdpa dev add name vdpa0 mgmtdev vdpasim_net
		vdpa dev add name vdpa1 mgmtdev vdpasim_net max_vqp 4
		expect_run 0 "$(dev_line vdpa0)
$(dev_line vdpa1 9)" "" -- vdpa dev show
		if [ "$i" -eq 2 ]; then
			vdpa dev del vdpa1
		fi
		unload_modules
		[ ! -e /sys/bus/vdpa ] || fail "cycle $i: /sys/bus/vdpa left after unload"
		[ ! -e /sys/devices/vdpa0 ] || fail "cycle $i: /sys/devices/vdpa0 left"
	done
	expect_run 1 "" "Failed to connect to vdpa Netlink" -- vdpa mgmtdev show
}

# A device bound to vhost_vdpa goes away with its parent module, and so does
# its character device.
test_rmmod_bound_device() {
	have_module vhost_vdpa || skip "vhost_vdpa.ko not built"
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	[ -e /sys/bus/vdpa/devices/vdpa0/driver ] || fail "vdpa0 not bound"
	expect_eq "$(basename "$(readlink /sys/bus/vdpa/devices/vdpa0/driver)")" "vhost_vdpa" "bound driver"
	ls -d /sys/bus/vdpa/devices/vdpa0/vhost-vdpa-* >/dev/null 2>&1 ||
		fail "no vhost-vdpa-N child"
	rmmod vdpa_sim_net
	expect_eq "$(bus_count)" "0" "devices after rmmod"
	if ls /dev/vhost-vdpa-* >/dev/null 2>&1; then
		fail "character device left: $(ls /dev/vhost-vdpa-*)"
	fi
	load_modules vdpa_sim_net
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	[ -e /dev/vhost-vdpa-0 ] || fail "/dev/vhost-vdpa-0 missing after reload"
}

# Unloading the parent while other processes add, dump and delete: every
# add either fails or is undone by the unload, nothing is left behind.
test_rmmod_under_load() {
	local i pids=() p

	mgmt_load
	for i in $(seq 0 19); do
		vdpa dev add name vdpa$i mgmtdev vdpasim_net
	done
	(
		while :; do
			vdpa dev show >/dev/null 2>&1
			vdpa -j dev config show >/dev/null 2>&1
		done
	) &
	pids+=($!)
	(
		n=0
		while :; do
			vdpa dev add name w$n mgmtdev vdpasim_net >/dev/null 2>&1
			n=$((n + 1))
		done
	) &
	pids+=($!)
	(
		while :; do
			for i in $(seq 0 19); do
				vdpa dev del vdpa$i >/dev/null 2>&1
			done
		done
	) &
	pids+=($!)
	sleep 3
	log "$(bus_count) devices, $(ls -d /sys/bus/vdpa/devices/w* 2>/dev/null | wc -l) added by the writer, at rmmod"
	rmmod vdpa_sim_net
	sleep 1
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	expect_eq "$(bus_count)" "0" "devices after rmmod under load"
	expect_run 0 "" "" -- vdpa dev show
	expect_run 0 "" "" -- vdpa mgmtdev show
	load_modules vdpa_sim_net
	expect_run 0 "" "" -- vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_run 0 "$(dev_line vdpa0)" "" -- vdpa dev show
}

stall_gone() { ! kill -0 "$1" 2>/dev/null; }

stall_pins_back() { [ "$(pinned_pages)" -le "$1" ]; }

# stall_answers CMD ARGS...: CMD succeeds within 10 s.  It runs in the
# background: a request stuck on a kernel mutex cannot be killed, and must
# not keep the test from ending (and its EXIT trap from unsticking it).
stall_answers() {
	rm -f answered
	("$@" >/dev/null 2>&1; echo $? >answered) &
	wait_for 10 test -s answered || return 1
	[ "$(cat answered)" = 0 ]
}

# If the test ends early, abort the client's FUSE connection (umount -f
# does, even when the mount is busy): a READ it holds back could otherwise
# never be answered, as the client serves it itself and cannot exit while
# one of its threads waits for it.  -c: no stat() of the mount point.
stall_abort() {
	umount -c -f "$TEST_TMPDIR/mnt" 2>/dev/null || true
	umount -c -l "$TEST_TMPDIR/mnt" 2>/dev/null || true
}

# `vdpa dev del` of a device whose client sleeps in the kernel with the
# vhost-vdpa device mutex held: an IOTLB UPDATE whose pages are a FUSE
# file's, which pin_user_pages() faults in while the FUSE server (the
# client itself) holds back the READ.  The deletion waits for that call,
# but holds no global lock meanwhile: other vdpa requests and other
# generic netlink families are answered, a second delete is refused.
# Once the READ is answered the deletion completes, the client's fd is
# dead, nothing stays pinned.
test_dev_del_behind_sleeping_client() {
	local bin pins0 pid del t0

	have_module vhost_vdpa || skip "vhost_vdpa.ko not built"
	bin=$(fuzz_tool vdpa-stall)
	modprobe fuse 2>/dev/null || true
	[ -c /dev/fuse ] || skip "no FUSE in this kernel"
	mgmt_load
	load_modules vhost_vdpa
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	wait_for 5 test -c /dev/vhost-vdpa-0
	pins0=$(pinned_pages)
	mkdir mnt
	trap stall_abort EXIT
	"$bin" /dev/vhost-vdpa-0 mnt >stall.out 2>&1 &
	pid=$!
	wait_for 20 grep -q '^stalled$' stall.out ||
		{ cat stall.out; fail "the client's UPDATE did not stall"; }

	vdpa dev del vdpa0 >del.out 2>&1 &
	del=$!
	sleep 2
	kill -0 "$del" 2>/dev/null ||
		{ cat del.out; fail "vdpa dev del did not wait for the sleeping client"; }
	# nothing else waits: every request answers within seconds
	t0=$(date +%s)
	stall_answers /usr/sbin/vdpa mgmtdev show ||
		fail "vdpa mgmtdev show stalled behind the deletion"
	stall_answers /usr/sbin/vdpa dev show ||
		fail "vdpa dev show stalled behind the deletion"
	stall_answers genl ctrl list ||
		fail "genl ctrl list stalled behind the deletion"
	expect_fail 1 "Error: vdpa: the device is being deleted.
kernel answers: Device or resource busy" -- timeout 10 /usr/sbin/vdpa dev del vdpa0
	log "requests answered in $(($(date +%s) - t0)) s during the deletion"
	kill -0 "$del" 2>/dev/null || fail "vdpa dev del returned before the client's call"

	kill -USR1 "$pid"
	wait_for 20 stall_gone "$del" || fail "vdpa dev del still waits after the fault was served"
	wait "$del" || { cat del.out; fail "vdpa dev del failed"; }
	wait_for 20 stall_gone "$pid" || { cat stall.out; fail "the client did not finish"; }
	wait "$pid" || { cat stall.out; fail "the client failed"; }
	log "client: $(tr '\n' ' ' <stall.out)"
	grep -q '^UPDATE: ' stall.out || fail "the client's UPDATE never returned"
	[ ! -e /sys/bus/vdpa/devices/vdpa0 ] || fail "vdpa0 left after the deletion"
	[ ! -e /dev/vhost-vdpa-0 ] || fail "/dev/vhost-vdpa-0 left after the deletion"
	wait_for 5 stall_pins_back "$pins0" ||
		fail "pinned pages: $(pinned_pages), $pins0 before the client"
	# the name is free again
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	vdpa dev del vdpa0
}
