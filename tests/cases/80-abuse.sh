# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Fault injection and lifecycle abuse of the whole stack, driven by
# tools/testing/fuzz/build/vdpa-abuse (each scenario checks what the client
# sees itself and exits non-zero on a surprise).  After each test: no page
# left pinned, no module reference left.  Kernel reports (KASAN, lockdep,
# kmemleak on the debug kernel; WARN/BUG everywhere) are caught by the test
# bed.  The failslab/fail_page_alloc tests need CONFIG_FAULT_INJECTION and
# debugfs (the debug kernel of make check-debug) and skip elsewhere.

ABUSE_MAC=52:54:00:12:34:56
ABUSE_DBG=/sys/kernel/debug/vdpa_sim
ABUSE_FI=/sys/kernel/debug

abuse() {
	"$(fuzz_tool vdpa-abuse)" "$@"
}

abuse_up() {
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	sim_knobs
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac "$ABUSE_MAC"
	wait_for 5 test -c /dev/vhost-vdpa-0
	ABUSE_PINNED=$(pinned_pages)
}

# Nothing pinned beyond the baseline, and no reference left on any of our
# modules but those of the modules using it (an open fd holds vhost_vdpa,
# a deleted but not yet freed simulator device holds vdpa_sim).
abuse_clean() {
	local m

	wait_for 5 abuse_pins_back ||
		fail "pinned pages: $(pinned_pages), baseline $ABUSE_PINNED"
	for m in $(our_modules); do
		module_loaded "$m" || continue
		wait_for 5 abuse_refs_back "$m" ||
			fail "$m refcnt $(cat "/sys/module/$m/refcnt"), users: $(ls "/sys/module/$m/holders")"
	done
}

abuse_refs_back() {
	local users

	users=$(find "/sys/module/$1/holders" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$(cat "/sys/module/$1/refcnt")" = "$users" ]
}

abuse_pins_back() {
	[ "$(pinned_pages)" -le "$ABUSE_PINNED" ]
}

# The simulator's knobs: fail_map on UPDATE, INVALIDATE, BATCH_END and
# close; malformed rings are counted in ring_errors, do not hang the
# worker, and a reset heals the queue; drop_used/corrupt_used (when the
# simulator has them): the client sees no completion or a bad one, and a
# reset heals.
test_sim_knobs() {
	local st=0

	abuse_up
	abuse failmap /dev/vhost-vdpa-0 $ABUSE_DBG/vdpa0
	abuse_clean
	abuse ringerr /dev/vhost-vdpa-0 $ABUSE_DBG/vdpa0
	abuse_clean
	abuse usedfault /dev/vhost-vdpa-0 $ABUSE_DBG/vdpa0 || st=$?
	[ $st = 0 ] || [ $st = 77 ] || fail "usedfault: exit status $st"
	abuse_clean
}

# Pages removed inside an IOTLB batch stay pinned and charged while the
# parent may still translate them (issue 12, items 1 and 2): a batch that
# overflows the table of removed ranges (vhost_vdpa.max_iotlb_entries=512)
# unpins nothing the parent still has, even with the page's last user
# mapping gone and a frame written into it; a remapping batch never pins
# more than RLIMIT_MEMLOCK.  On the debug kernel vdpa_sim.check_pins also
# WARNs on any access to a page nobody pins.
test_batch_pins_and_charges() {
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	rmmod vhost_vdpa
	insmod "$(module_path vhost_vdpa)" max_iotlb_entries=512
	abuse_up
	abuse retired /dev/vhost-vdpa-0 512
	abuse_clean
	abuse memlock_batch /dev/vhost-vdpa-0 32
	abuse_clean
}

# Device deleted while a client is mid-batch with kicks in flight.
test_del_mid_batch() {
	abuse_up
	abuse delbatch vdpa0
	expect_eq "$(vdpa_devices)" "" devices
	abuse_clean
}

abuse_ready() {
	grep -qx ready "$1"
}

# kill -9 while the client pins and unpins 8 MiB in a loop.
test_kill_while_mapping() {
	local pid i bin

	bin=$(fuzz_tool vdpa-abuse)
	abuse_up
	for i in 1 2; do
		"$bin" mapforever /dev/vhost-vdpa-0 >out 2>&1 &
		pid=$!
		wait_for 10 abuse_ready out || { cat out; fail "no ready"; }
		sleep "0.$i"
		kill -9 $pid
		wait $pid 2>/dev/null || true
		abuse_clean
	done
	abuse openclose /dev/vhost-vdpa-0 4
}

# RLIMIT_MEMLOCK exhaustion and accounting; three threads on one fd
# (ioctls: resets, vring setup, suspend...; IOTLB writes: batches,
# remapping the rings; kicks); 1000 open/close cycles.
test_memlock_race_open_close() {
	abuse_up
	abuse memlock /dev/vhost-vdpa-0
	abuse_clean
	abuse race /dev/vhost-vdpa-0 150
	abuse_clean
	abuse openclose /dev/vhost-vdpa-0 1000
	abuse_clean
}

# Modules unloaded while a client holds the fd of a running device: the
# char device's module stays, the parents go, the fd answers ENODEV and
# closes cleanly afterwards.
test_unload_with_open_fd() {
	local pid bin

	bin=$(fuzz_tool vdpa-abuse)
	abuse_up
	"$bin" hold /dev/vhost-vdpa-0 >out 2>&1 &
	pid=$!
	wait_for 10 abuse_ready out || { cat out; fail "no ready"; }
	if rmmod vhost_vdpa 2>/dev/null; then
		fail "vhost_vdpa unloaded under an open fd"
	fi
	# The class module goes (its devices with it); the fd is revoked and
	# no longer refers to the device, so the simulator core goes too.
	wait_for 10 rmmod vdpa_sim_net
	expect_eq "$(vdpa_devices)" "" devices
	wait_for 10 rmmod vdpa_sim
	kill -USR1 $pid
	wait $pid || { cat out; fail "hold failed"; }
	cat out
	grep -qx "GET_STATUS: No such device" out || fail "ioctl after unload"
	grep -qx "VmPin: 0" out || fail "pages stayed pinned after the revoke"
	abuse_clean
	wait_for 5 rmmod vhost_vdpa
	wait_for 5 rmmod vdpa
}

# ---- fault injection (debug kernel) ----

FI_SAVED=()

fi_set() {
	local f=$ABUSE_FI/$1

	[ -e "$f" ] || return 0
	FI_SAVED+=("$f=$(cat "$f")")
	echo "$2" >"$f"
}

fi_restore() {
	local kv

	for kv in "${FI_SAVED[@]}"; do
		echo "${kv#*=}" >"${kv%%=*}" || true
	done
	FI_SAVED=()
}

fi_require() {
	[ -d $ABUSE_FI/failslab ] ||
		skip "no $ABUSE_FI/failslab (kernel without CONFIG_FAILSLAB)"
	[ -e /proc/self/fail-nth ] ||
		skip "no /proc/self/fail-nth (CONFIG_FAULT_INJECTION)"
}

# Every sleeping allocation may fail, and page allocations of order 0 too;
# no stack dump per failure.
fi_setup_common() {
	fi_set failslab/ignore-gfp-wait N
	fi_set failslab/verbose 0
	fi_set fail_page_alloc/ignore-gfp-wait N
	fi_set fail_page_alloc/ignore-gfp-highmem N
	fi_set fail_page_alloc/min-order 0
	fi_set fail_page_alloc/verbose 0
}

# The 1st, 2nd, 3rd... allocation (slab or page) of each operation fails,
# in turn, in the task doing it (/proc/thread-self/fail-nth): device add,
# open, IOTLB update, set status, vring eventfds, and a whole driver start
# (open, owner, negotiation, map, rings, DRIVER_OK).  Each failure must come
# back as an error or be tolerated, leave nothing half-built or pinned,
# and the next attempt must work.
test_failslab_each_step() {
	local op

	fi_require
	abuse_up
	vdpa dev del vdpa0
	trap fi_restore EXIT
	fi_setup_common
	for op in devadd open update status vring start; do
		abuse failnth $op fz0 400
	done
	fi_restore
	vdpa dev del fz0 2>/dev/null || true
	abuse_clean
}

# Random failures of slab allocations (10%) in one task, only while it is
# inside a vdpa operation (it sets its own make-it-fail around each: dev
# add, open, map and start, traffic, close, delete), 25 rounds.  A stack
# trace filter by module address is not available on x86-64, so the task
# filter does the restricting.
test_failslab_random() {
	fi_require
	abuse_up
	vdpa dev del vdpa0
	trap fi_restore EXIT
	fi_setup_common
	fi_set failslab/task-filter Y
	fi_set failslab/interval 1
	fi_set failslab/times -1
	fi_set failslab/space 0
	fi_set failslab/probability 10
	abuse cycle fz0 25 -F
	fi_restore
	vdpa dev del fz0 2>/dev/null || true
	abuse_clean
}
