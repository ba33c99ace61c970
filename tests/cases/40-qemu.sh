# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# QEMU's own vhost-vdpa netdev end to end: the distro's unmodified
# qemu-system-x86_64 (TCG) boots Debian's kernel with a busybox initramfs
# (tests/lib/nested-init.sh) on `-netdev type=vhost-vdpa` over a
# vdpasim_net device.  The nested guest checks its MAC and the loopback
# counts itself and reports on the serial console; this side checks the
# vstats counters, QEMU's stderr, the pinned pages and the device's state
# after QEMU exits.
#
# A nested boot costs minutes (TCG inside TCG), so each boot serves many
# checks: three boots in all.
#   loopback_second_run_svq  run 1 plain, then run 2 on the same device
#                            with x-svq=on (shadow virtqueues)
#   mq_and_del_while_running max_vqp 2 with mq=on on 2 CPUs; then
#                            `vdpa dev del` while QEMU runs

# read by the runner
# shellcheck disable=SC2034
TEST_TIMEOUT=900
# shellcheck disable=SC2034
TIMEOUT_loopback_second_run_svq=1800

NQ_DEV_MAC=52:54:00:12:34:56	# `vdpa dev add ... mac`
NQ_MAC=52:54:00:12:34:57	# QEMU's -device mac=, overwrites the above
NQ_FOREIGN=02:00:00:00:00:99
NQ_COUNT=20			# broadcast ARP requests per phase
NQ_BOOT_SECS=900		# boot to "ready" (load makes it vary a lot)

# nq_setup [vdpa dev add ARGS...]: modules, vdpa0, initramfs, memlock
nq_setup() {
	require_cmd qemu-system-x86_64 cpio
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	[ -r "/boot/vmlinuz-$(uname -r)" ] || skip "/boot/vmlinuz-$(uname -r) is missing"
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $NQ_DEV_MAC "$@"
	wait_for 5 test -c /dev/vhost-vdpa-0
	ulimit -l unlimited
	bash "$VDPA_TREE/tests/lib/nested-initramfs.sh" "$TEST_TMPDIR/nested.cpio"
	# the unpacked kernel is kept for the other tests of this VM boot
	NQ_KERNEL=/tmp/vdpa-nested-kernel-$(uname -r)
	if [ ! -s "$NQ_KERNEL" ]; then
		log "kernel for the nested guest: $(bash \
			"$VDPA_TREE/tests/lib/nested-kernel.sh" "$NQ_KERNEL.new")"
		mv "$NQ_KERNEL.new" "$NQ_KERNEL"
	fi
}

nq_pinned_is() { [ "$(pinned_pages)" = "$1" ]; }

# nq_start RUN SMP NETDEV_OPTS DEVICE_OPTS: start QEMU in the background.
# The console goes to $NQ_CON (in the results, next to the test's log:
# out/40-qemu/TEST.RUN.console), stderr to RUN.err; the guest reads "go"
# lines from the fifo RUN.ctl, kept open on fd $NQ_CTL.
nq_start() {
	local run=$1 smp=$2 nopts=$3 dopts=$4

	NQ_RUN=$run
	NQ_CON=$run.con
	if [ -n "${VDPA_RESULTS:-}" ] && [ -d "$VDPA_RESULTS/out" ]; then
		NQ_CON=$VDPA_RESULTS/out/$TEST_NAME.$run.console
		mkdir -p "${NQ_CON%/*}"
	fi
	mkfifo "$run.ctl"
	exec {NQ_CTL}<>"$run.ctl"
	NQ_T0=$(date +%s)
	log "$run: qemu-system-x86_64 -netdev type=vhost-vdpa,vhostdev=/dev/vhost-vdpa-0,id=n0$nopts -device virtio-net-pci,netdev=n0,mac=$NQ_MAC$dopts (smp $smp)"
	qemu-system-x86_64 -accel tcg -m 256M -smp "$smp" \
		-nodefaults -no-user-config -display none -no-reboot \
		-chardev stdio,id=con,signal=off -serial chardev:con \
		-monitor none \
		-kernel "$NQ_KERNEL" -initrd "$TEST_TMPDIR/nested.cpio" \
		-append "console=ttyS0 quiet ipv6.disable=1 panic=-1 no_timer_check vt.count=$NQ_COUNT vt.foreign=$NQ_FOREIGN" \
		-netdev "type=vhost-vdpa,vhostdev=/dev/vhost-vdpa-0,id=n0$nopts" \
		-device "virtio-net-pci,netdev=n0,mac=$NQ_MAC,romfile=$dopts" \
		<"$run.ctl" >"$NQ_CON" 2>"$run.err" &
	NQ_PID=$!
}

# Print the end of the console and QEMU's stderr.
nq_dump() {
	echo "--- $NQ_RUN console (end):"
	tr -d '\r' <"$NQ_CON" | tail -n 40
	echo "--- $NQ_RUN QEMU stderr:"
	cat "$NQ_RUN.err"
}

# nq_wait WORD SECS: wait for the console line "VT WORD..."; fail at once
# on "VT fail" or if QEMU exits.
nq_wait() {
	local word=$1 secs=$2 i

	for ((i = 0; i < secs; i++)); do
		if grep -aq "^VT fail" "$NQ_CON"; then
			nq_dump
			fail "$NQ_RUN: the nested guest failed"
			return 1
		fi
		if grep -aq "^VT $word" "$NQ_CON"; then
			log "$NQ_RUN: '$word' after $(($(date +%s) - NQ_T0)) s"
			return 0
		fi
		if ! kill -0 "$NQ_PID" 2>/dev/null; then
			nq_dump
			fail "$NQ_RUN: QEMU exited before '$word'"
			return 1
		fi
		sleep 1
	done
	nq_dump
	fail "$NQ_RUN: no '$word' within $secs s"
}

nq_go() { echo go >&"$NQ_CTL"; }

# nq_exit SECS: wait for QEMU to exit; print its status.
nq_exit() {
	local secs=$1 i rc=0

	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$NQ_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$NQ_PID" 2>/dev/null; then
		nq_dump >&2
		kill -KILL "$NQ_PID"
		fail "$NQ_RUN: QEMU still running $secs s after the guest's poweroff"
		return 1
	fi
	wait "$NQ_PID" || rc=$?
	exec {NQ_CTL}>&-
	log "$NQ_RUN: QEMU exited with $rc after $(($(date +%s) - NQ_T0)) s"
	NQ_RC=$rc
}

# nq_field PHASE KEY: KEY's value on the guest's "VT phase PHASE" line.
nq_field() {
	tr -d '\r' <"$NQ_CON" | grep -a "^VT phase $1 " | tail -n 1 |
		tr ' ' '\n' | sed -n "s/^$2=//p"
}

# nq_ready_field KEY: KEY's value on the guest's "VT ready" line.
nq_ready_field() {
	tr -d '\r' <"$NQ_CON" | grep -a "^VT ready " | tail -n 1 |
		tr ' ' '\n' | sed -n "s/^$1=//p"
}

# nq_vstats QIDX...: "QIDX NAME VALUE" for every counter of those queues.
nq_vstats() {
	local q

	for q in "$@"; do
		vdpa dev vstats show vdpa0 qidx "$q" |
			grep -o '[a-z]* [a-z]* [0-9][0-9]*' |
			awk -v q="$q" '$1 ~ /^(rx|tx|cvq)$/ { print q, $1 "_" $2, $3 }'
	done
}

# nq_stat FILE QIDX NAME: a counter from a nq_vstats dump (0 if absent).
nq_stat() {
	awk -v q="$2" -v n="$3" '$1 == q && $2 == n { v = $3 } END { print v + 0 }' "$1"
}

# nq_delta QIDX NAME: how much a counter moved from before to after.
nq_delta() {
	echo $(($(nq_stat "$NQ_RUN.after" "$1" "$2") - $(nq_stat "$NQ_RUN.before" "$1" "$2")))
}

# nq_check_running QIDXS: checks once the guest is up ("ready").
nq_check_running() {
	local cfg pin

	cfg=$(vdpa dev config show vdpa0)
	log "vdpa dev config show vdpa0: $cfg"
	grep -q negotiated_features <<<"$cfg" ||
		fail "$NQ_RUN: no negotiated_features while the guest runs"
	! grep -qw MAC <<<"$(grep negotiated_features <<<"$cfg")" ||
		fail "$NQ_RUN: MAC was acked to the device"
	grep -q "mac $NQ_MAC " <<<"$cfg" ||
		fail "$NQ_RUN: the device's MAC is not QEMU's $NQ_MAC"
	expect_eq "$(nq_ready_field mac)" "$NQ_MAC" "$NQ_RUN: the guest's MAC"
	pin=$(awk '$1 == "VmPin:" { print $2 }' "/proc/$NQ_PID/status")
	log "$NQ_RUN: QEMU's VmPin ${pin} kB"
	[ "${pin:-0}" -gt 0 ] || fail "$NQ_RUN: QEMU has no pinned pages"
}

# nq_expect_phase PHASE RX_EXPECTED: sent > 0, tx == sent, rx as given
# ("sent" or 0).
nq_expect_phase() {
	local sent tx rx want

	sent=$(nq_field "$1" sent)
	tx=$(nq_field "$1" tx)
	rx=$(nq_field "$1" rx)
	log "$NQ_RUN: phase $1: sent $sent tx $tx rx $rx"
	[[ $sent =~ ^[0-9]+$ ]] && [ "$sent" -gt 0 ] ||
		fail "$NQ_RUN: phase $1 sent nothing (sent=$sent)"
	expect_eq "$tx" "$sent" "$NQ_RUN: phase $1: guest tx_packets growth"
	want=0
	[ "$2" = sent ] && want=$sent
	expect_eq "$rx" "$want" "$NQ_RUN: phase $1: guest rx_packets growth"
}

# nq_traffic DATA_QIDXS...: go, wait for "done", check the guest's phases
# and the vstats of queue pair 0 (and pair 1 if it ran).
nq_traffic() {
	local looped foreign p1

	nq_vstats "$@" >"$NQ_RUN.before"
	nq_go
	nq_wait "done" 600
	nq_vstats "$@" >"$NQ_RUN.after"
	log "$NQ_RUN: vstats after: $(tr '\n' ' ' <"$NQ_RUN.after")"
	nq_expect_phase bcast sent
	nq_expect_phase own sent
	nq_expect_phase foreign 0
	looped=$(($(nq_field bcast sent) + $(nq_field own sent)))
	foreign=$(nq_field foreign sent)
	expect_eq "$(nq_delta 1 tx_packets)" "$looped" "$NQ_RUN: vstats qidx 1 tx packets"
	expect_eq "$(nq_delta 1 tx_drops)" "$foreign" "$NQ_RUN: vstats qidx 1 tx drops"
	expect_eq "$(nq_delta 1 tx_errors)" 0 "$NQ_RUN: vstats qidx 1 tx errors"
	expect_eq "$(nq_delta 0 rx_packets)" "$looped" "$NQ_RUN: vstats qidx 0 rx packets"
	expect_eq "$(nq_delta 0 rx_errors)" 0 "$NQ_RUN: vstats qidx 0 rx errors"
	if [ -n "$(nq_field pair1 sent)" ]; then
		nq_expect_phase pair1 sent
		p1=$(nq_field pair1 sent)
		expect_eq "$(nq_delta 3 tx_packets)" "$p1" "$NQ_RUN: vstats qidx 3 tx packets"
		expect_eq "$(nq_delta 2 rx_packets)" "$p1" "$NQ_RUN: vstats qidx 2 rx packets"
	fi
}

# nq_check_stderr: QEMU used the device (no fallback to userspace virtio).
nq_check_stderr() {
	if [ -s "$NQ_RUN.err" ]; then
		log "$NQ_RUN: QEMU stderr:"
		sed 's/^/#   /' "$NQ_RUN.err"
	fi
	! grep -q "falling back" "$NQ_RUN.err" ||
		fail "$NQ_RUN: QEMU fell back to userspace virtio"
}

# nq_check_after PINNED: after a clean exit the device is reset and every
# page is unpinned.
nq_check_after() {
	local cfg

	expect_eq "$NQ_RC" 0 "$NQ_RUN: QEMU's exit status"
	wait_for 10 nq_pinned_is "$1" ||
		fail "$NQ_RUN: pinned pages $(pinned_pages), $1 before QEMU ran"
	cfg=$(vdpa dev config show vdpa0)
	! grep -q negotiated_features <<<"$cfg" ||
		fail "$NQ_RUN: the device was not reset: $cfg"
}

# One run: boot, checks while running, traffic, poweroff, checks after.
nq_run() {
	local run=$1 smp=$2 nopts=$3 dopts=$4 pinned

	shift 4
	pinned=$(pinned_pages)
	nq_start "$run" "$smp" "$nopts" "$dopts"
	nq_wait ready "$NQ_BOOT_SECS"
	nq_check_running
	nq_traffic "$@"
	nq_check_stderr
	nq_go
	nq_exit 120
	nq_check_after "$pinned"
}

# Run 1: QEMU's usual vhost-vdpa start.  Run 2, on the same device after
# run 1's QEMU exited and reset it: shadow virtqueues (x-svq=on), the path
# QEMU takes for live migration.
test_loopback_second_run_svq() {
	nq_setup
	nq_run run1 1 "" "" 0 1
	nq_run run2-svq 1 ",x-svq=on" "" 0 1
}

# max_vqp 2 with mq=on on 2 vCPUs: the guest uses both pairs (traffic from
# CPU 1 goes through pair 1).  Then `vdpa dev del` while QEMU runs: it
# returns at once, QEMU's next ioctls fail, the pins go and the kernel
# stays clean; a new device works.
test_mq_and_del_while_running() {
	local pinned start ms cfg cvq

	nq_setup max_vqp 2
	pinned=$(pinned_pages)
	nq_start mq 2 "" ",mq=on,vectors=6"
	nq_wait ready "$NQ_BOOT_SECS"
	nq_check_running
	cfg=$(vdpa dev config show vdpa0)
	grep -q "max_vq_pairs 2" <<<"$cfg" || fail "mq: no max_vq_pairs 2: $cfg"
	grep -q "negotiated_features.* MQ" <<<"$cfg" || fail "mq: MQ not negotiated: $cfg"
	expect_eq "$(nq_ready_field rxqueues)" 2 "mq: the guest's RX queues"
	expect_eq "$(nq_ready_field cpus)" 2 "mq: the guest's CPUs"
	nq_traffic 0 1 2 3 4
	[ -n "$(nq_field pair1 sent)" ] || fail "mq: the guest did not run the pair 1 phase"
	# the guest set 2 pairs through the control vq at probe
	cvq=$(nq_stat mq.after 4 cvq_successes)
	[ "$cvq" -ge 1 ] || fail "mq: no successful control vq command"
	expect_eq "$(nq_stat mq.after 4 cvq_errors)" 0 "mq: control vq errors"
	nq_check_stderr

	# remove the device under the running QEMU
	start=$(date +%s%N)
	timeout 60 vdpa dev del vdpa0 || fail "vdpa dev del vdpa0 failed or hung"
	ms=$((($(date +%s%N) - start) / 1000000))
	log "vdpa dev del took $ms ms while QEMU ran"
	[ "$ms" -lt 5000 ] || fail "vdpa dev del took over 5 s"
	[ ! -e /dev/vhost-vdpa-0 ] || fail "/dev/vhost-vdpa-0 still exists"
	expect_eq "$(vdpa_devices)" "" "devices after del"
	# the removal unpinned QEMU's memory at once
	expect_eq "$(awk '$1 == "VmPin:" { print $2 }' "/proc/$NQ_PID/status")" 0 \
		"mq: QEMU's VmPin (kB) after del"
	# the guest powers off; QEMU's stop ioctls fail, it must still exit
	nq_go
	nq_exit 120
	log "mq: QEMU's stderr after the removal:"
	sed 's/^/#   /' mq.err
	grep -q "No such device" mq.err ||
		fail "mq: QEMU saw no ENODEV after the removal"
	wait_for 10 nq_pinned_is "$pinned" ||
		fail "mq: pinned pages $(pinned_pages), $pinned before QEMU ran"
	# the name and the char device can be used again
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $NQ_DEV_MAC max_vqp 2
	wait_for 5 test -c /dev/vhost-vdpa-0
	exec {fd}<>/dev/vhost-vdpa-0
	exec {fd}>&-
}
