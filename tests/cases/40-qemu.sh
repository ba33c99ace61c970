# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# QEMU's own vhost-vdpa netdev end to end: the distro's unmodified
# qemu-system-x86_64 (TCG) boots a busybox initramfs
# (tests/lib/nested-init.sh) on `-netdev type=vhost-vdpa` over vdpasim_net
# devices.  The nested guest checks its MACs and the loopback counts itself
# and reports on the serial console; this side checks the vstats counters,
# QEMU's stderr, the pinned pages and the devices' state after QEMU exits.
#
# The nested guest's kernel: the small one of tests/nested (built and
# cached on the host by tests/host-hooks/40-qemu.sh, everything built in,
# a PVH vmlinux, no ACPI), without most of what Debian's kernel spends
# minutes on under TCG inside TCG; only "run1" below boots Debian's kernel
# (with its virtio modules in the initramfs), so that the distro's guest
# path stays covered.
#
# Nested boots are slow (TCG inside TCG), so two boots serve every check:
#   run1   one QEMU, three NICs on three devices at once: vdpa0 plain,
#          vdpa1 with x-svq=on (shadow virtqueues, QEMU's live migration
#          path), vdpa2 created with max_vqp 2 and used with mq=on on 2
#          vCPUs; the NICs run their traffic at the same time
#   reuse  a second QEMU on vdpa0 after run1's QEMU exited and reset it,
#          this one with packed=on: vdpa0 offers RING_PACKED, which run1's
#          QEMU (packed=off, its default) left out and this guest takes;
#          then `vdpa dev del vdpa0` while that QEMU runs
# and one more boot for live migration:
#   src/dst  a guest on vdpa1 with x-svq=on migrates (QMP migrate over a
#          unix socket) to a QEMU started with -incoming on a new device
#          vdpa3; the guest's traffic before and after the switch is
#          counted on each device, the source device is reset and
#          reusable, and every pin goes with the QEMU that held it
# and one more for live migration without shadow virtqueues:
#   src/dst  vhost_vdpa offers VHOST_F_LOG_ALL (dirty_log=Y): a plain
#          vhost-vdpa NIC on vdpa4 migrates to vdpa5 with the simulator
#          logging the pages it writes, the guest's traffic running while
#          its memory is copied and it switches

# read by the runner
# shellcheck disable=SC2034
TIMEOUT_plain_svq_mq_then_reuse_and_del=2400
TIMEOUT_svq_live_migration=1800
TIMEOUT_logged_live_migration=1800

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"	# vdpa_nl, feature bits

NQ_FOREIGN=02:00:00:00:00:99
NQ_COUNT=20			# broadcast ARP requests per phase
NQ_BOOT_SECS=900		# boot to "ready" (load makes it vary a lot)
# per device: `vdpa dev add ... mac`, QEMU's -device mac= (overwrites the
# former), extra vdpa dev add, -netdev and -device options, the device
# features (NQ_FEAT below), and the queues whose vstats are checked.
# Device 0 offers RING_PACKED: QEMU leaves it out unless packed=on.
# Device 3 is the migration's destination: created by that test only, with
# the source's (vdpa1's) QEMU options, so the guest sees the same NIC.
# Devices 4 and 5 (split rings), 6 and 7 (packed=on) are the logged
# migration's sources and destinations, with no control vq: without
# shadow virtqueues QEMU 7.2 does not see the guest's control commands
# (MAC filter, queue pairs), so it could not restore them on the
# destination device.
NQ_DEVS=(vdpa0 vdpa1 vdpa2 vdpa3 vdpa4 vdpa5 vdpa6 vdpa7)
NQ_DEV_MAC=(52:54:00:12:34:56 52:54:00:12:35:56 52:54:00:12:36:56 52:54:00:12:37:56
	    52:54:00:12:38:56 52:54:00:12:39:56 52:54:00:12:3a:56 52:54:00:12:3b:56)
NQ_MAC=(52:54:00:12:34:57 52:54:00:12:35:57 52:54:00:12:36:57 52:54:00:12:35:57
	52:54:00:12:38:57 52:54:00:12:38:57 52:54:00:12:3a:57 52:54:00:12:3a:57)
NQ_ADD=("" "" "max_vqp 2" "" "" "" "" "")
NQ_NOPTS=("" ",x-svq=on" "" ",x-svq=on" "" "" "" "")
NQ_DOPTS=("" "" ",mq=on,vectors=6" "" "" "" ",packed=on" ",packed=on")
# device features for vdpa_nl (iproute2 6.1 cannot set them), or "" for
# `vdpa dev add`'s defaults
NQ_NOCVQ_FEATURES=$(printf '0x%x' $((F_MTU | F_MAC | F_STATUS | F_ANY_LAYOUT |
	F_VERSION_1 | F_ACCESS_PLATFORM)))
NQ_NOCVQ_PACKED=$(printf '0x%x' $((NQ_NOCVQ_FEATURES | F_RING_PACKED)))
NQ_FEAT=("$SIM_NET_PACKED_FEATURES" "" "" "" "$NQ_NOCVQ_FEATURES" "$NQ_NOCVQ_FEATURES"
	 "$NQ_NOCVQ_PACKED" "$NQ_NOCVQ_PACKED")
NQ_QIDX=("0 1" "0 1" "0 1 2 3 4" "0 1" "0 1" "0 1" "0 1" "0 1")
NQ_SETUP_DEVS=3			# nq_setup creates devices 0 .. 2
NQ_ROUNDS=1			# the guest's traffic rounds (vt.rounds)
NQ_EXTRA=()			# more QEMU arguments for nq_start

# nq_add I: create device I
nq_add() {
	local out

	if [ -n "${NQ_FEAT[$1]}" ]; then
		out=$(vdpa_nl dev-new "${NQ_DEVS[$1]}" vdpasim_net \
			--features "${NQ_FEAT[$1]}" --mac "${NQ_DEV_MAC[$1]}")
		[ "$out" = ok ] || fail "dev-new ${NQ_DEVS[$1]}: $out" || return 1
		wait_for 5 nq_cdev_exists "$1"
		return
	fi
	# shellcheck disable=SC2086 # NQ_ADD holds several words
	vdpa dev add name "${NQ_DEVS[$1]}" mgmtdev vdpasim_net \
		mac "${NQ_DEV_MAC[$1]}" ${NQ_ADD[$1]} &&
		wait_for 5 nq_cdev_exists "$1"
}

# nq_cdev I: device I's vhost-vdpa character device
nq_cdev() {
	local s

	for s in "/sys/bus/vdpa/devices/${NQ_DEVS[$1]}/"vhost-vdpa-*; do
		[ -e "$s" ] && echo "/dev/${s##*/}" && return 0
	done
	return 1
}

nq_cdev_exists() {
	local c

	c=$(nq_cdev "$1") && [ -c "$c" ]
}

# nq_setup: modules, the three devices, memlock, and the small guest
# kernel with its initramfs as what nq_start boots
nq_setup() {
	local i

	require_cmd qemu-system-x86_64 cpio
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa
	for ((i = 0; i < NQ_SETUP_DEVS; i++)); do
		nq_add "$i" || fail "cannot create ${NQ_DEVS[$i]}" || return 1
	done
	ulimit -l unlimited
	nq_small_kernel || return 1
	# "-": no modules, the small kernel has everything built in
	bash "$VDPA_TREE/tests/lib/nested-initramfs.sh" "$TEST_TMPDIR/small.cpio" - ||
		fail "cannot build the small kernel's initramfs" || return 1
	NQ_BOOT_KERNEL=$NQ_SMALL NQ_BOOT_INITRD=$TEST_TMPDIR/small.cpio
}

# nq_small_kernel: NQ_SMALL, the small guest kernel (small_guest_kernel
# of guest-lib.sh).
nq_small_kernel() {
	small_guest_kernel || return 1
	NQ_SMALL=$SMALL_KERNEL
}

# nq_small: from now on nq_start boots the small kernel again (nq_setup's)
nq_small() {
	NQ_BOOT_KERNEL=$NQ_SMALL NQ_BOOT_INITRD=$TEST_TMPDIR/small.cpio
}

# nq_stock: from now on nq_start boots Debian's kernel (the VM's own, its
# vmlinux unpacked if it has a PVH entry point) with an initramfs holding
# its virtio modules: the distro's guest path
nq_stock() {
	[ -r "/boot/vmlinuz-$(uname -r)" ] || skip "/boot/vmlinuz-$(uname -r) is missing"
	bash "$VDPA_TREE/tests/lib/nested-initramfs.sh" "$TEST_TMPDIR/nested.cpio" ||
		fail "cannot build the nested initramfs" || return 1
	# the unpacked kernel is kept for the other tests of this VM boot
	NQ_KERNEL=/tmp/vdpa-nested-kernel-$(uname -r)
	if [ ! -s "$NQ_KERNEL" ]; then
		log "kernel for the nested guest: $(bash \
			"$VDPA_TREE/tests/lib/nested-kernel.sh" "$NQ_KERNEL.new")"
		mv "$NQ_KERNEL.new" "$NQ_KERNEL"
	fi
	NQ_BOOT_KERNEL=$NQ_KERNEL NQ_BOOT_INITRD=$TEST_TMPDIR/nested.cpio
}

nq_pinned_is() { [ "$(pinned_pages)" = "$1" ]; }

# nq_start RUN SMP I...: start QEMU in the background with one NIC on each
# device I, in that order (eth0, eth1, ...), and the arguments in NQ_EXTRA;
# it boots NQ_BOOT_KERNEL with NQ_BOOT_INITRD (nq_setup: the small kernel;
# nq_stock: Debian's).  The console goes to $NQ_CON
# (in the results, next to the test's log: out/40-qemu/TEST.RUN.console),
# stderr to RUN.err; the guest reads "go" lines from the fifo RUN.ctl,
# kept open on fd $NQ_CTL.  A lean boot: 128 MB, no crypto self-tests, no
# read-only kernel data (its W+X page table walk costs seconds), PCI
# scanned and its IRQs routed without ACPI (nested, the AML of the PCI
# root bridge and each NIC's _PRT cost minutes, _PRT even hit ACPICA's
# 30 s loop timeout); the console gets the kernel log's gaps over 2 s
# (vt.slow).
nq_start() {
	local run=$1 smp=$2 i cdev args=()

	shift 2
	NQ_RUN=$run
	NQ_NICS=("$@")
	NQ_CON=$run.con
	if [ -n "${VDPA_RESULTS:-}" ] && [ -d "$VDPA_RESULTS/out" ]; then
		NQ_CON=$VDPA_RESULTS/out/$TEST_NAME.$run.console
		mkdir -p "${NQ_CON%/*}"
	fi
	for i in "$@"; do
		cdev=$(nq_cdev "$i") || fail "$run: ${NQ_DEVS[$i]} has no character device" ||
			return 1
		args+=(-netdev "type=vhost-vdpa,vhostdev=$cdev,id=n$i${NQ_NOPTS[$i]}"
		       -device "virtio-net-pci,netdev=n$i,mac=${NQ_MAC[$i]},romfile=${NQ_DOPTS[$i]}")
	done
	mkfifo "$run.ctl"
	exec {NQ_CTL}<>"$run.ctl"
	: >"$NQ_CON"	# for nq_wait before QEMU's redirection opened it
	NQ_T0=$(date +%s)
	log "$run: qemu-system-x86_64 -smp $smp -kernel $NQ_BOOT_KERNEL ${args[*]}"
	qemu-system-x86_64 -accel tcg -m 128M -smp "$smp" \
		-nodefaults -no-user-config -display none -no-reboot \
		-chardev stdio,id=con,signal=off -serial chardev:con \
		-monitor none \
		-kernel "$NQ_BOOT_KERNEL" -initrd "$NQ_BOOT_INITRD" \
		-append "console=ttyS0 quiet ipv6.disable=1 panic=-1 no_timer_check cryptomgr.notests rodata=off pci=noacpi vt.slow=2 vt.count=$NQ_COUNT vt.foreign=$NQ_FOREIGN vt.nics=$# vt.rounds=$NQ_ROUNDS" \
		"${args[@]}" "${NQ_EXTRA[@]}" <"$run.ctl" >"$NQ_CON" 2>"$run.err" &
	NQ_PID=$!
}

# Print the end of the console and QEMU's stderr.
nq_dump() {
	echo "--- $NQ_RUN console (end):"
	tr -d '\r' <"$NQ_CON" | tail -n 40
	echo "--- $NQ_RUN QEMU stderr:"
	cat "$NQ_RUN.err"
}

# nq_stop: kill QEMU (a nested guest that hangs or failed).
nq_stop() {
	kill -KILL "$NQ_PID" 2>/dev/null && log "$NQ_RUN: QEMU killed"
	wait "$NQ_PID" 2>/dev/null
}

# nq_wait WORD SECS: wait up to SECS seconds (fewer if the test's own
# limit comes first) for the console line "VT WORD..."; fail at once on
# "VT fail" or if QEMU exits.  A guest that hangs is killed when the wait
# gives up, with the reason.  The guest's VT lines go to RUN.vt, after
# those of the file NQ_VT_KEEP if set (a migrated guest's lines from
# before the switch are on the source's console).
nq_wait() {
	local word=$1 secs=$2 end why=

	end=$((EPOCHSECONDS + secs))
	# 60 s before the runner's kill: time to dump, fail and clean up.
	if [ -n "${TEST_DEADLINE:-}" ] && [ "$end" -gt $((TEST_DEADLINE - 60)) ]; then
		end=$((TEST_DEADLINE - 60))
		why=", the test's limit is near"
	fi
	while [ "$EPOCHSECONDS" -lt "$end" ]; do
		if grep -aq "^VT fail" "$NQ_CON"; then
			nq_dump
			nq_stop
			fail "$NQ_RUN: the nested guest failed"
			return 1
		fi
		if grep -aq "^VT $word" "$NQ_CON"; then
			log "$NQ_RUN: '$word' after $(($(date +%s) - NQ_T0)) s"
			{
				[ -z "${NQ_VT_KEEP:-}" ] || cat "$NQ_VT_KEEP"
				tr -d '\r' <"$NQ_CON" | grep -a '^VT '
			} >"$NQ_RUN.vt"
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
	nq_stop
	fail "$NQ_RUN: the nested guest hangs: no '$word' $(($(date +%s) - NQ_T0)) s after QEMU started (limit: ${secs} s$why); QEMU killed"
}

nq_go() { echo go >&"$NQ_CTL"; }

# nq_exit SECS: wait up to SECS seconds for QEMU to exit; print its status.
nq_exit() {
	local secs=$1 end rc=0

	end=$((EPOCHSECONDS + secs))
	while [ "$EPOCHSECONDS" -lt "$end" ]; do
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

# The guest's VT lines as of the last nq_wait are in RUN.vt: one process
# per look-up (each costs in the test VM).
# nq_line WORD [IFACE]: the guest's last "VT WORD ..." line (for IFACE)
nq_line() {
	awk -v w="VT $1 " -v n="${2:-}" 'index($0, w) == 1 &&
		(n == "" || index($0 " ", " nic=" n " ") || index($0, "VT nic " n " ") == 1) {
		l = $0 } END { print l }' "$NQ_RUN.vt"
}

# nq_key KEY: KEY's value on stdin's line
nq_key() { awk -v k="$1=" '{ for (i = 1; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1) }'; }

# nq_field PHASE IFACE KEY: KEY's value on the guest's "VT phase PHASE"
# line for IFACE
nq_field() {
	awk -v w="VT phase $1 " -v n=" nic=$2 " -v k="$3=" 'index($0, w) == 1 &&
		index($0 " ", n) { l = $0 } END {
		c = split(l, f, " ")
		for (i = 1; i <= c; i++) if (index(f[i], k) == 1) print substr(f[i], length(k) + 1)
	}' "$NQ_RUN.vt"
}

# nq_iface I: the guest's interface with device I's QEMU MAC
nq_iface() {
	awk -v m="mac=${NQ_MAC[$1]}" '$1 == "VT" && $2 == "nic" && $4 == m { print $3; exit }' \
		"$NQ_RUN.vt"
}

# nq_vstats I: "QIDX NAME VALUE" for every counter of device I's queues
nq_vstats() {
	local q

	for q in ${NQ_QIDX[$1]}; do
		vdpa dev vstats show "${NQ_DEVS[$1]}" qidx "$q" |
			grep -o '[a-z]* [a-z]* [0-9][0-9]*' |
			awk -v q="$q" '$1 ~ /^(rx|tx|cvq)$/ { print q, $1 "_" $2, $3 }'
	done
}

# nq_stat FILE QIDX NAME: a counter from a nq_vstats dump (0 if absent).
nq_stat() {
	awk -v q="$2" -v n="$3" '$1 == q && $2 == n { v = $3 } END { print v + 0 }' "$1"
}

# nq_delta I QIDX NAME: how much a counter of device I moved in the traffic
nq_delta() {
	echo $(($(nq_stat "$NQ_RUN.after.$1" "$2" "$3") - $(nq_stat "$NQ_RUN.before.$1" "$2" "$3")))
}

# nq_check_running I: device I while the guest runs
nq_check_running() {
	local i=$1 dev=${NQ_DEVS[$1]} cfg

	cfg=$(vdpa dev config show "$dev")
	log "vdpa dev config show $dev: $cfg"
	grep -q negotiated_features <<<"$cfg" ||
		fail "$NQ_RUN: $dev: no negotiated_features while the guest runs"
	! grep -qw MAC <<<"$(grep negotiated_features <<<"$cfg")" ||
		fail "$NQ_RUN: $dev: MAC was acked to the device"
	grep -q "mac ${NQ_MAC[$i]} " <<<"$cfg" ||
		fail "$NQ_RUN: $dev: the device's MAC is not QEMU's ${NQ_MAC[$i]}"
	[ -n "$(nq_iface "$i")" ] ||
		fail "$NQ_RUN: the guest has no NIC with QEMU's MAC ${NQ_MAC[$i]}"
	# a device offering RING_PACKED: the guest takes it with packed=on
	# only (QEMU masks it otherwise)
	if [ $((${NQ_FEAT[$i]:-0} & F_RING_PACKED)) != 0 ]; then
		if [ "${NQ_DOPTS[$i]}" != "${NQ_DOPTS[$i]#*packed=on}" ]; then
			grep -q "negotiated_features.* RING_PACKED" <<<"$cfg" ||
				fail "$NQ_RUN: $dev: RING_PACKED not negotiated with packed=on"
		else
			! grep -q "negotiated_features.* RING_PACKED" <<<"$cfg" ||
				fail "$NQ_RUN: $dev: RING_PACKED negotiated without packed=on"
		fi
	fi
	if [ "${NQ_DOPTS[$i]}" != "${NQ_DOPTS[$i]#*mq=on}" ]; then
		grep -q "max_vq_pairs 2" <<<"$cfg" || fail "$NQ_RUN: $dev: no max_vq_pairs 2"
		grep -q "negotiated_features.* MQ" <<<"$cfg" ||
			fail "$NQ_RUN: $dev: MQ not negotiated"
		expect_eq "$(nq_line nic "$(nq_iface "$i")" | nq_key rxqueues)" 2 \
			"$NQ_RUN: the guest's RX queues on $dev"
		expect_eq "$(nq_line ready | nq_key cpus)" 2 "$NQ_RUN: the guest's CPUs"
	fi
}

# nq_check_pinned: QEMU has pinned pages
nq_check_pinned() {
	local pin

	pin=$(awk '$1 == "VmPin:" { print $2 }' "/proc/$NQ_PID/status")
	log "$NQ_RUN: QEMU's VmPin ${pin} kB"
	[ "${pin:-0}" -gt 0 ] || fail "$NQ_RUN: QEMU has no pinned pages"
}

# nq_expect_phase PHASE IFACE RX_EXPECTED: sent > 0, tx == sent, rx as
# given ("sent" or 0).
nq_expect_phase() {
	local sent tx rx want

	sent=$(nq_field "$1" "$2" sent)
	tx=$(nq_field "$1" "$2" tx)
	rx=$(nq_field "$1" "$2" rx)
	log "$NQ_RUN: $2: phase $1: sent $sent tx $tx rx $rx"
	[[ $sent =~ ^[0-9]+$ ]] && [ "$sent" -gt 0 ] ||
		fail "$NQ_RUN: $2: phase $1 sent nothing (sent=$sent)"
	expect_eq "$tx" "$sent" "$NQ_RUN: $2: phase $1: guest tx_packets growth"
	want=0
	[ "$3" = sent ] && want=$sent
	expect_eq "$rx" "$want" "$NQ_RUN: $2: phase $1: guest rx_packets growth"
}

# nq_check_traffic I: the guest's phases on device I's NIC and the
# device's vstats: queue pair 0, pair 1 and the control vq with mq=on
nq_check_traffic() {
	local i=$1 dev=${NQ_DEVS[$1]} nic looped foreign p1 r=$NQ_RUN

	nic=$(nq_iface "$i")
	log "$r: $dev vstats after: $(tr '\n' ' ' <"$r.after.$i")"
	nq_expect_phase bcast "$nic" sent
	nq_expect_phase own "$nic" sent
	nq_expect_phase foreign "$nic" 0
	looped=$(($(nq_field bcast "$nic" sent) + $(nq_field own "$nic" sent)))
	foreign=$(nq_field foreign "$nic" sent)
	# as upstream's simulator counts: every frame is a TX packet, one
	# the filter refuses an RX drop
	expect_eq "$(nq_delta "$i" 1 tx_packets)" $((looped + foreign)) \
		"$r: $dev vstats qidx 1 tx packets"
	expect_eq "$(nq_delta "$i" 1 tx_drops)" 0 "$r: $dev vstats qidx 1 tx drops"
	expect_eq "$(nq_delta "$i" 1 tx_errors)" 0 "$r: $dev vstats qidx 1 tx errors"
	expect_eq "$(nq_delta "$i" 0 rx_packets)" "$looped" "$r: $dev vstats qidx 0 rx packets"
	expect_eq "$(nq_delta "$i" 0 rx_drops)" "$foreign" "$r: $dev vstats qidx 0 rx drops"
	expect_eq "$(nq_delta "$i" 0 rx_errors)" 0 "$r: $dev vstats qidx 0 rx errors"
	[ "${NQ_DOPTS[$i]}" != "${NQ_DOPTS[$i]#*mq=on}" ] || return 0
	# mq=on on 2 vCPUs: traffic from CPU 1 went through pair 1
	[ -n "$(nq_field pair1 "$nic" sent)" ] ||
		fail "$r: $nic: the guest did not run the pair 1 phase"
	nq_expect_phase pair1 "$nic" sent
	p1=$(nq_field pair1 "$nic" sent)
	expect_eq "$(nq_delta "$i" 3 tx_packets)" "$p1" "$r: $dev vstats qidx 3 tx packets"
	expect_eq "$(nq_delta "$i" 2 rx_packets)" "$p1" "$r: $dev vstats qidx 2 rx packets"
	# the guest set 2 pairs through the control vq at probe
	[ "$(nq_stat "$r.after.$i" 4 cvq_successes)" -ge 1 ] ||
		fail "$r: $dev: no successful control vq command"
	expect_eq "$(nq_stat "$r.after.$i" 4 cvq_errors)" 0 "$r: $dev: control vq errors"
}

# nq_check_stderr: QEMU used the devices (no fallback to userspace virtio).
nq_check_stderr() {
	if [ -s "$NQ_RUN.err" ]; then
		log "$NQ_RUN: QEMU stderr:"
		sed 's/^/#   /' "$NQ_RUN.err"
	fi
	! grep -q "falling back" "$NQ_RUN.err" ||
		fail "$NQ_RUN: QEMU fell back to userspace virtio"
}

# nq_run_traffic: the boot to "ready", then the traffic; the checks of the
# devices while it runs go on while the guest sends.  The caller checks
# the traffic (nq_check_traffic) from the vstats taken before and after.
nq_run_traffic() {
	local i

	nq_wait ready "$NQ_BOOT_SECS"
	log "$NQ_RUN: $(nq_line ready)"
	for i in "${NQ_NICS[@]}"; do
		nq_vstats "$i" >"$NQ_RUN.before.$i"
	done
	nq_go
	for i in "${NQ_NICS[@]}"; do
		nq_check_running "$i"
	done
	nq_check_pinned
	nq_wait "done" 600
	for i in "${NQ_NICS[@]}"; do
		nq_vstats "$i" >"$NQ_RUN.after.$i"
	done
}

# run1: one QEMU on vdpa0 (plain), vdpa1 (x-svq=on) and vdpa2 (max_vqp 2,
# mq=on; 2 vCPUs), booting Debian's kernel: the small one, without ACPI,
# comes up with one CPU under a PVH boot (so one RX queue), and this run
# keeps the distro's guest path covered.  After it exits every device is reset and every page
# unpinned.  reuse: a second QEMU on vdpa0; `vdpa dev del vdpa0` while it
# runs returns at once, QEMU's next ioctls fail, the pins go and the
# kernel stays clean; a new vdpa0 works.
test_plain_svq_mq_then_reuse_and_del() {
	local pinned i cfg start ms cdev fd

	nq_setup || return 1
	pinned=$(pinned_pages)
	nq_stock || return 1
	nq_start run1 2 0 1 2
	nq_run_traffic
	# the guest powers off while this side checks its counts
	nq_go
	for i in "${NQ_NICS[@]}"; do
		nq_check_traffic "$i"
	done
	nq_exit 120
	nq_check_stderr
	expect_eq "$NQ_RC" 0 "run1: QEMU's exit status"
	wait_for 10 nq_pinned_is "$pinned" ||
		fail "run1: pinned pages $(pinned_pages), $pinned before QEMU ran"
	for i in "${NQ_NICS[@]}"; do
		cfg=$(vdpa dev config show "${NQ_DEVS[$i]}")
		! grep -q negotiated_features <<<"$cfg" ||
			fail "run1: ${NQ_DEVS[$i]} was not reset: $cfg"
	done

	# the second QEMU on the same device, on packed virtqueues
	cdev=$(nq_cdev 0)
	nq_small
	NQ_DOPTS[0]=",packed=on"
	nq_start reuse 1 0
	nq_run_traffic
	nq_check_traffic 0
	nq_check_stderr

	# remove the device under the running QEMU
	start=$(date +%s%N)
	timeout 60 vdpa dev del vdpa0 || fail "vdpa dev del vdpa0 failed or hung"
	ms=$((($(date +%s%N) - start) / 1000000))
	log "vdpa dev del took $ms ms while QEMU ran"
	[ "$ms" -lt 5000 ] || fail "vdpa dev del took over 5 s"
	[ ! -e "$cdev" ] || fail "$cdev still exists"
	expect_eq "$(vdpa_devices)" "$(printf '%s\n' vdpa1 vdpa2)" "devices after del"
	# the removal unpinned QEMU's memory at once
	expect_eq "$(awk '$1 == "VmPin:" { print $2 }' "/proc/$NQ_PID/status")" 0 \
		"reuse: QEMU's VmPin (kB) after del"
	# the guest powers off; QEMU's stop ioctls fail, it must still exit
	nq_go
	nq_exit 120
	log "reuse: QEMU's stderr after the removal:"
	sed 's/^/#   /' reuse.err
	grep -q "No such device" reuse.err ||
		fail "reuse: QEMU saw no ENODEV after the removal"
	wait_for 10 nq_pinned_is "$pinned" ||
		fail "reuse: pinned pages $(pinned_pages), $pinned before QEMU ran"
	# the name and a character device can be used again
	nq_add 0
	cdev=$(nq_cdev 0)
	exec {fd}<>"$cdev"
	exec {fd}>&-
}

# nq_qmp RUN CMD [ARGS-JSON]: one QMP command to RUN's QEMU; prints the
# answer's "return" as JSON
nq_qmp() {
	local run=$1

	shift
	"$PY3" "$VDPA_TREE/tests/helpers/qmp.py" "$PWD/$run.qmp" "$@"
}

# nq_migration_status: the source's migration status ("completed", ...)
nq_migration_status() {
	nq_qmp src query-migrate | "$PY3" -c \
		'import json, sys; print(json.load(sys.stdin).get("status", "none"))'
}

nq_migrated() {
	NQ_MIG=$(nq_migration_status)
	case $NQ_MIG in
	completed | failed | cancelled) return 0 ;;
	esac
	return 1
}

# nq_migrate: migrate the source QEMU to mig.sock (QMP), wait for the end,
# and quit the source; fails unless the migration completed and the
# source exited cleanly
nq_migrate() {
	local info

	nq_qmp src migrate "{\"uri\": \"unix:$PWD/mig.sock\"}" ||
		fail "src: QMP migrate refused" || return 1
	wait_for 600 nq_migrated
	info=$(nq_qmp src query-migrate)
	log "src: query-migrate: $info"
	expect_eq "$NQ_MIG" completed "the migration's status"
	[ "$NQ_MIG" = completed ] || { nq_dump; return 1; }
	nq_qmp src quit >/dev/null
	nq_exit 60
	expect_eq "$NQ_RC" 0 "src: QEMU's exit status"
}

# The guest on vdpa1 with x-svq=on (QEMU 7.2 migrates vhost-vdpa only with
# shadow virtqueues) runs a round of traffic, migrates to a QEMU waiting
# with -incoming on vdpa3 and runs a second round there.  Each round's
# frames are counted on its own device only; the source device is reset
# when the source QEMU quits, and can be opened again; the pins follow the
# QEMU that holds them.
test_svq_live_migration() {
	local pinned pin_kb pins sent fd cdev cfg

	[ -x /usr/bin/python3 ] || skip "python3 is not installed (QMP client)"
	PY3=/usr/bin/python3
	NQ_SETUP_DEVS=2
	nq_setup || return 1
	nq_add 3 || fail "cannot create vdpa3" || return 1
	pinned=$(pinned_pages)
	NQ_ROUNDS=2

	# the destination first: it waits for the stream
	NQ_EXTRA=(-qmp "unix:$PWD/dst.qmp,server=on,wait=off"
		  -incoming "unix:$PWD/mig.sock")
	nq_start dst 1 3
	local dst_pid=$NQ_PID dst_ctl=$NQ_CTL dst_con=$NQ_CON
	NQ_EXTRA=(-qmp "unix:$PWD/src.qmp,server=on,wait=off")
	nq_start src 1 1
	nq_run_traffic
	nq_check_traffic 1
	nq_check_stderr
	wait_for 60 test -S mig.sock || fail "dst: no migration socket" || return 1

	# round 1 ran on vdpa1; the guest waits for a "go" on whichever side
	# runs it
	# (no counters yet: the destination has not started the device)
	nq_vstats 3 >dst.before.3 2>/dev/null
	nq_migrate || return 1
	cfg=$(vdpa dev config show vdpa1)
	! grep -q negotiated_features <<<"$cfg" ||
		fail "src: vdpa1 was not reset after the migration: $cfg"

	# round 2, on the destination, whose console starts after the switch
	grep '^VT nic ' src.vt >src.nics
	cp src.nics dst.vt
	NQ_VT_KEEP=src.nics
	NQ_RUN=dst NQ_PID=$dst_pid NQ_CTL=$dst_ctl NQ_CON=$dst_con NQ_NICS=(3)
	log "dst: status $(nq_qmp dst query-status)"
	nq_go
	nq_check_running 3
	nq_check_pinned
	# With only the destination running, the pins are its own: never
	# more than it is charged (VmPin).  Fewer by the pages of read-only
	# ranges never written: those pin the shared zero page, which the
	# kernel does not count as pinned.
	pin_kb=$(awk '$1 == "VmPin:" { print $2 }' "/proc/$NQ_PID/status")
	pins=$(($(pinned_pages) - pinned))
	log "dst: $pins pages pinned, $((pin_kb / 4)) charged"
	[ "$pins" -gt 0 ] && [ "$pins" -le $((pin_kb / 4)) ] &&
		[ "$pins" -ge $((pin_kb / 4 - 256)) ] ||
		fail "dst: $pins pages pinned for $((pin_kb / 4)) charged"
	nq_wait "done round=2" 600
	nq_vstats 3 >dst.after.3
	nq_check_traffic 3
	sent=$(nq_field bcast "$(nq_iface 3)" sent)
	log "dst: round 2 sent $sent broadcast frames through vdpa3"
	nq_go
	nq_exit 120
	nq_check_stderr
	expect_eq "$NQ_RC" 0 "dst: QEMU's exit status"
	wait_for 10 nq_pinned_is "$pinned" ||
		fail "pinned pages $(pinned_pages), $pinned before the QEMUs ran"

	# the source device can be opened again
	cdev=$(nq_cdev 1)
	exec {fd}<>"$cdev" || fail "cannot open $cdev after the migration"
	exec {fd}>&-
}

# nq_svq_probe I DOPTS: log whether QEMU starts (paused, no guest) with
# x-svq=on on device I
nq_svq_probe() {
	local rc=0

	timeout 10 qemu-system-x86_64 -accel tcg -m 64M -nodefaults -display none \
		-S -monitor none -netdev "type=vhost-vdpa,vhostdev=$(nq_cdev "$1"),id=n,x-svq=on" \
		-device "virtio-net-pci,netdev=n$2" </dev/null >svq-probe.err 2>&1 || rc=$?
	log "x-svq=on on ${NQ_DEVS[$1]} (features ${NQ_FEAT[$1]}, dirty_log=$(cat \
		/sys/module/vhost_vdpa/parameters/dirty_log)): exit status $rc (124: QEMU ran) $(tr '\n' ' ' <svq-probe.err)"
}

# Live migration without shadow virtqueues.  vhost_vdpa's dirty_log=Y
# (off by default: with it, QEMU 7.2 refuses x-svq=on on the device,
# "vdpa svq does not work with features 0x4000000") offers VHOST_F_LOG_ALL
# to files opened from then on, so QEMU 7.2 lifts
# its "vhost lacks VHOST_F_LOG_ALL" blocker for plain vhost-vdpa NICs: one
# guest with a NIC on split rings (vdpa4, migrating to vdpa5) and one on
# packed rings (vdpa6 to vdpa7), both without a control vq.  The simulator
# logs every page it writes (buffers and used rings), and QEMU stops the
# source by a reset and then asks for the queues' positions, which
# vhost-vdpa kept from the reset.  Round 1 runs on the source; round 2
# starts on the source with the migration, so the devices write while RAM
# is copied and the guest may switch within it: the guest's own counts,
# read across the switch, must show each frame it sent back once (none
# lost in a page the log missed, none delivered twice from a replayed
# position); round 3 runs on the destination alone, with its vstats
# checked.  Also recorded: whether QEMU 7.2 takes x-svq=on on a device
# offering RING_PACKED, and on one offering VHOST_F_LOG_ALL.
test_logged_live_migration() {
	local param=/sys/module/vhost_vdpa/parameters/dirty_log pinned cfg
	local src_con nic p want i

	[ -x /usr/bin/python3 ] || skip "python3 is not installed (QMP client)"
	PY3=/usr/bin/python3
	NQ_SETUP_DEVS=0
	nq_setup || return 1
	for i in 4 5 6 7; do
		nq_add $i || fail "cannot create ${NQ_DEVS[$i]}" || return 1
	done
	pinned=$(pinned_pages)

	# What QEMU 7.2 makes of x-svq=on on a device offering RING_PACKED,
	# and on one offering VHOST_F_LOG_ALL (no guest: QEMU checks the
	# device's features when it opens it; 124: it ran)
	# shellcheck disable=SC2064 # the value now
	trap "echo $(cat $param) >$param" EXIT
	echo N >"$param"
	nq_svq_probe 6 ",packed=on"
	echo Y >"$param"
	nq_svq_probe 4 ""

	NQ_ROUNDS=3
	NQ_EXTRA=(-qmp "unix:$PWD/dst.qmp,server=on,wait=off"
		  -incoming "unix:$PWD/mig.sock")
	nq_start dst 1 5 7
	local dst_pid=$NQ_PID dst_ctl=$NQ_CTL dst_con=$NQ_CON
	NQ_EXTRA=(-qmp "unix:$PWD/src.qmp,server=on,wait=off")
	nq_start src 1 4 6
	nq_run_traffic
	nq_check_traffic 4
	nq_check_traffic 6
	nq_check_stderr
	wait_for 60 test -S mig.sock || fail "dst: no migration socket" || return 1

	# round 2 and the migration together
	nq_go
	nq_migrate || return 1
	for i in 4 6; do
		cfg=$(vdpa dev config show "${NQ_DEVS[$i]}")
		! grep -q negotiated_features <<<"$cfg" ||
			fail "src: ${NQ_DEVS[$i]} was not reset after the migration: $cfg"
	done
	src_con=$NQ_CON

	# the destination runs the guest; its lines follow the source's
	tr -d '\r' <"$src_con" | grep -a '^VT ' >src.all
	NQ_VT_KEEP=src.all
	NQ_RUN=dst NQ_PID=$dst_pid NQ_CTL=$dst_ctl NQ_CON=$dst_con NQ_NICS=(5 7)
	log "dst: status $(nq_qmp dst query-status)"
	if grep -q '^VT done round=2' src.all; then
		log "round 2 ended on the source, during the migration"
		cp src.all dst.vt
	else
		log "round 2 moved to the destination"
		nq_wait "done round=2" 600 || return 1
	fi
	for i in 5 7; do
		nic=$(nq_iface $i)
		for p in bcast own foreign; do
			want=sent
			[ $p != foreign ] || want=0
			nq_expect_phase $p "$nic" $want
		done
		nq_vstats $i >dst.before.$i
		log "round 2: ${NQ_DEVS[$i]} carried $(nq_stat dst.before.$i 1 tx_packets) of the frames $nic sent"
	done

	# round 3 on the destination alone
	nq_go
	nq_check_running 5
	nq_check_running 7
	nq_check_pinned
	nq_wait "done round=3" 600 || return 1
	for i in 5 7; do
		nq_vstats $i >dst.after.$i
		nq_check_traffic $i
	done
	nq_go
	nq_exit 120
	nq_check_stderr
	expect_eq "$NQ_RC" 0 "dst: QEMU's exit status"
	wait_for 10 nq_pinned_is "$pinned" ||
		fail "pinned pages $(pinned_pages), $pinned before the QEMUs ran"
}
