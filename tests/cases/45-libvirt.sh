# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# libvirt 9.0 (Debian 12's libvirtd, virsh) on our devices, unmodified:
#
#   nodedev_live  libvirt's node device driver, fed by a real
#                 systemd-udevd: `virsh nodedev-list --cap vdpa` and
#                 `virsh nodedev-dumpxml vdpa_NAME` (chardev
#                 /dev/vhost-vdpa-N, parent, driver) for a device that
#                 existed when libvirtd started and for one added while it
#                 runs; `vdpa dev del` removes it; nodedev-event sees both;
#                 a device vhost_vdpa binds after libvirt saw it gets its
#                 chardev with the next "change" event (udevadm trigger)
#   guest         <interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/>:
#                 virsh define/start of a TCG guest (the small kernel of
#                 tests/nested, 40-qemu's busybox initramfs), the loopback traffic
#                 counted by the guest and by `vdpa dev vstats`, virsh
#                 destroy resets the device and unpins; a second start on
#                 the same device opens it again, destroyed before the
#                 guest boots; then our own vdpa-net-loop loops frames on it
#
# The test VM's root is the host's, read-only: each test runs in a private
# mount namespace (lv_ns) where copies of /etc/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt are bind-mounted over the
# originals (libvirtd writes to all four), with two settings appended to
# the copies: no authentication on the local socket (no polkit in the VM)
# and QEMU's stdout/stderr straight to its log file (no virtlogd).  Every
# other setting is Debian's default: the QEMU driver runs the guest as
# libvirt-qemu.

# read by the runner
# shellcheck disable=SC2034
TIMEOUT_nodedev_live=900
TIMEOUT_guest=3000

LV_DIRS=(/etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt)
LV_DOM=vdpa-guest
LV_IMG=/var/lib/libvirt/images/vdpa-test
LV_MAC=52:54:00:12:34:57	# the guest's MAC (QEMU writes it to the device)
LV_DEV_MAC=52:54:00:12:34:56	# the MAC the device is created with
LV_COUNT=20			# broadcast ARP requests per phase
LV_BOOT_SECS=1200		# virsh start to the guest's "ready" (load makes it vary a lot)

# lv_ns FUNC: run FUNC of this file in a fresh bash in a private mount
# namespace, as the runner runs a test.
lv_ns() {
	# shellcheck disable=SC2016 # expanded by that bash
	unshare --mount --propagation private -- bash -c \
		'. "$1" || exit 1; . "$2"; set -e; "$3"' \
		"$TEST_NAME" "$VDPA_TREE/tests/lib/guest-lib.sh" "${BASH_SOURCE[0]}" "$1"
}

virsh() { command virsh -c qemu:///system "$@"; }

# lv_stop: the EXIT trap: the domain, the event watcher, libvirtd and
# udevd go; on failure, the end of their logs.
lv_stop() {
	local rc=$? p

	if [ -n "${LV_PID:-}" ] && kill -0 "$LV_PID" 2>/dev/null; then
		virsh destroy "$LV_DOM" >/dev/null 2>&1 || true
		virsh undefine "$LV_DOM" >/dev/null 2>&1 || true
	fi
	for p in "${LV_EV_PID:-}" "${LV_CAT_PID:-}" "${LV_PID:-}"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	udevd_stop_private
	if [ "$rc" -ne 0 ]; then
		for p in libvirtd.log udevd.log events.log \
			"/var/log/libvirt/qemu/$LV_DOM.log"; do
			[ -s "$p" ] || continue
			log "the end of $p:"
			tail -n 40 "$p"
		done
	fi
	return "$rc"
}

# lv_libvirtd_start: writable copies of libvirt's directories, then
# libvirtd in the foreground (so that it stays in the test's process
# group), up when virsh gets an answer.
lv_libvirtd_start() {
	local d copy t0

	require_cmd libvirtd virsh
	trap lv_stop EXIT
	for d in "${LV_DIRS[@]}"; do
		[ -d "$d" ] || skip "$d is missing (libvirt-daemon-system)"
		copy=$TEST_TMPDIR/root${d//\//_}
		cp -a "$d" "$copy"
		mount --bind "$copy" "$d"
	done
	cat >>/etc/libvirt/libvirtd.conf <<-EOF
		# test bed: no polkit in the VM
		auth_unix_rw = "none"
		auth_unix_ro = "none"
	EOF
	cat >>/etc/libvirt/qemu.conf <<-EOF
		# test bed: no virtlogd in the VM
		stdio_handler = "file"
	EOF
	t0=$EPOCHSECONDS
	libvirtd >libvirtd.log 2>&1 &
	LV_PID=$!
	wait_for 600 lv_up
	log "libvirtd $LV_PID answers after $((EPOCHSECONDS - t0)) s: $(virsh version --daemon |
		grep -i 'running' | tr -s ' \n' ' ')"
}

lv_up() {
	kill -0 "$LV_PID" 2>/dev/null || fail "libvirtd exited" || return 1
	virsh -q version >/dev/null 2>&1
}

# ---------------------------------------------------------------------
# node devices

# lv_vdpa_nodes: the names `virsh nodedev-list --cap vdpa` prints, sorted
lv_vdpa_nodes() { virsh -q nodedev-list --cap vdpa | sed '/^$/d' | sort; }

lv_nodes_are() { [ "$(lv_vdpa_nodes)" = "$1" ]; }

# lv_check_node NAME N: vdpa device NAME as libvirt shows it, with
# /dev/vhost-vdpa-N
lv_check_node() {
	local name=$1 n=$2 xml want

	xml=$(virsh nodedev-dumpxml "vdpa_$name")
	log "virsh nodedev-dumpxml vdpa_$name:"
	printf '#   %s\n' "${xml//$'\n'/$'\n'#   }"
	# the node device as libvirt 9.0 builds it from sysfs: name, sysfs
	# path, no parent device (the simulator has none, as upstream's), the
	# driver bound, and the char device found as the sysfs child
	# vhost-vdpa-N of the device
	want="<device>
  <name>vdpa_$name</name>
  <path>/sys/devices/$name</path>
  <parent>computer</parent>
  <driver>
    <name>vhost_vdpa</name>
  </driver>
  <capability type='vdpa'>
    <chardev>/dev/vhost-vdpa-$n</chardev>
  </capability>
</device>"
	expect_eq "$xml" "$want" "virsh nodedev-dumpxml vdpa_$name"
	[ -c "/dev/vhost-vdpa-$n" ] || fail "/dev/vhost-vdpa-$n is not a character device"
}

# lv_minor NAME: N of vdpa device NAME's /dev/vhost-vdpa-N
lv_minor() {
	local c

	for c in "/sys/bus/vdpa/devices/$1/"vhost-vdpa-*; do
		[ -e "$c" ] || fail "$1 has no vhost-vdpa node" || return 1
		echo "${c##*-}"
	done
}

# lv_chardev NAME: the chardev libvirt shows for vdpa device NAME
lv_chardev() {
	virsh nodedev-dumpxml "vdpa_$1" | sed -n 's|.*<chardev>\(.*\)</chardev>.*|\1|p'
}

lv_chardev_is() { [ "$(lv_chardev "$1")" = "$2" ]; }

# lv_event NODE WHAT: nodedev-event printed a WHAT event for NODE
lv_event() { grep -E "[ '\"]$1['\":]" events.log | grep -q "$2"; }

lv_nodedev_live() {
	local n

	# systemd-udevd with our rule only (as 17-udev), so that libvirt's
	# udev monitor gets the kernel's events as udevd passes them on
	udevd_start_private
	load_modules vdpa_sim_net vhost_vdpa
	# one device before libvirtd starts: found by its enumeration
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	lv_libvirtd_start
	virsh -q nodedev-event --loop --event lifecycle >events.log 2>&1 &
	LV_EV_PID=$!
	expect_eq "$(lv_vdpa_nodes)" vdpa_vdpa0 "vdpa node devices at libvirtd's start"
	lv_check_node vdpa0 0
	# nodedev-event has no "ready" line: give it time to register
	sleep 5

	# one added while libvirtd runs: udevd's event
	vdpa dev add name vdpa1 mgmtdev vdpasim_net
	wait_for 30 lv_nodes_are "$(printf '%s\n' vdpa_vdpa0 vdpa_vdpa1)"
	lv_check_node vdpa1 1
	vdpa dev del vdpa0
	wait_for 30 lv_nodes_are vdpa_vdpa1
	! virsh nodedev-dumpxml vdpa_vdpa0 >/dev/null 2>&1 ||
		fail "virsh nodedev-dumpxml vdpa_vdpa0 works after vdpa dev del"
	vdpa dev del vdpa1
	wait_for 30 lv_nodes_are ""
	wait_for 10 lv_event vdpa_vdpa1 Deleted
	log "virsh nodedev-event:"
	sed 's/^/#   /' events.log
	lv_event vdpa_vdpa1 Created || fail "nodedev-event saw no Created event for vdpa_vdpa1"
	lv_event vdpa_vdpa0 Deleted || fail "nodedev-event saw no Deleted event for vdpa_vdpa0"

	# vhost_vdpa bound after libvirt saw the device: the node has no
	# uevent (as upstream's) and libvirt 9.0 ignores "bind" events, so
	# its view lacks the chardev until the device's next "change" event
	rmmod vhost_vdpa
	vdpa dev add name vdpa2 mgmtdev vdpasim_net
	wait_for 30 lv_nodes_are vdpa_vdpa2
	load_modules vhost_vdpa
	n=$(lv_minor vdpa2)
	sleep 2
	log "vhost_vdpa bound to vdpa2 after libvirt saw it: libvirt's chardev:" \
		"'$(lv_chardev vdpa2)'"
	udevadm trigger --action=change /sys/bus/vdpa/devices/vdpa2
	wait_for 30 lv_chardev_is vdpa2 "/dev/vhost-vdpa-$n"
	lv_check_node vdpa2 "$n"
	vdpa dev del vdpa2
	wait_for 30 lv_nodes_are ""
}

# libvirt's node device driver lists vdpa devices with their char device,
# whether they existed at its start or come and go while it runs.
test_nodedev_live() {
	lv_ns lv_nodedev_live
}

# ---------------------------------------------------------------------
# a guest on <interface type='vdpa'>

# lv_domain_xml CDEV: the domain: the small guest kernel with the busybox
# initramfs (direct kernel boot), one vDPA NIC, the serial console on
# the fifos con.in/con.out, the kernel command line of 40-qemu's lean boot
lv_domain_xml() {
	cat <<-EOF
	<domain type='qemu'>
	  <name>$LV_DOM</name>
	  <memory unit='MiB'>128</memory>
	  <vcpu>1</vcpu>
	  <os>
	    <type arch='x86_64' machine='pc'>hvm</type>
	    <kernel>$LV_IMG/kernel</kernel>
	    <initrd>$LV_IMG/initrd.cpio</initrd>
	    <cmdline>console=ttyS0 quiet ipv6.disable=1 panic=-1 no_timer_check cryptomgr.notests rodata=off pci=noacpi vt.count=$LV_COUNT vt.foreign=02:00:00:00:00:99 vt.nics=1 vt.rounds=1</cmdline>
	  </os>
	  <features><acpi/></features>
	  <on_poweroff>destroy</on_poweroff>
	  <on_reboot>destroy</on_reboot>
	  <on_crash>destroy</on_crash>
	  <devices>
	    <emulator>/usr/bin/qemu-system-x86_64</emulator>
	    <interface type='vdpa'>
	      <mac address='$LV_MAC'/>
	      <source dev='$1'/>
	      <model type='virtio'/>
	      <rom enabled='no'/>
	    </interface>
	    <serial type='pipe'>
	      <source path='$LV_IMG/con'/>
	      <target port='0'/>
	    </serial>
	    <controller type='usb' model='none'/>
	    <memballoon model='none'/>
	  </devices>
	</domain>
	EOF
}

# lv_state: the domain's state ("running", "shut off")
lv_state() { virsh domstate "$LV_DOM" 2>/dev/null | sed '/^$/d'; }
lv_state_is() { [ "$(lv_state)" = "$1" ]; }

# lv_qemu_pid: the pid of the domain's QEMU
lv_qemu_pid() { cat "/run/libvirt/qemu/$LV_DOM.pid"; }

# lv_wait WORD SECS: wait for the guest's "VT WORD" line on the console
# (fail at once on "VT fail" or if the domain stops)
lv_wait() {
	local word=$1 end

	end=$((EPOCHSECONDS + $2))
	if [ "$end" -gt $((TEST_DEADLINE - 120)) ]; then
		end=$((TEST_DEADLINE - 120))
	fi
	while [ "$EPOCHSECONDS" -lt "$end" ]; do
		if grep -aq '^VT fail' "$LV_CON"; then
			lv_console_end
			fail "$LV_RUN: the guest failed"
			return 1
		fi
		if grep -aq "^VT $word" "$LV_CON"; then
			log "$LV_RUN: '$word' after $((EPOCHSECONDS - LV_T0)) s"
			return 0
		fi
		if ! lv_state_is running; then
			lv_console_end
			fail "$LV_RUN: the domain is '$(lv_state)' before '$word'"
			return 1
		fi
		sleep 1
	done
	lv_console_end
	fail "$LV_RUN: no '$word' $((EPOCHSECONDS - LV_T0)) s after virsh start"
}

lv_console_end() {
	echo "--- $LV_RUN console (end):"
	tr -d '\r' <"$LV_CON" | tail -n 30
}

# lv_field PHASE KEY: KEY's value on the guest's last "VT phase PHASE" line
lv_field() {
	tr -d '\r' <"$LV_CON" | awk -v w="VT phase $1 " -v k="$2=" 'index($0, w) == 1 { l = $0 }
		END { c = split(l, f, " ")
		      for (i = 1; i <= c; i++) if (index(f[i], k) == 1) print substr(f[i], length(k) + 1) }'
}

# lv_vstat QIDX NAME: a counter of vdpa0's queue QIDX (0 if absent)
lv_vstat() {
	vdpa dev vstats show vdpa0 qidx "$1" | grep -o "[a-z]* $2 [0-9]*" |
		awk -v t="$2" '$2 == t { v = $3 } END { print v + 0 }'
}

# lv_counters: "rx_packets rx_drops tx_packets" of vdpa0 (queues 0 and 1)
lv_counters() {
	echo "$(lv_vstat 0 packets) $(lv_vstat 0 drops) $(lv_vstat 1 packets)"
}

# lv_holds PID PATH: process PID has PATH open
lv_holds() {
	local f

	for f in "/proc/$1/fd/"*; do
		[ "$(readlink "$f")" != "$2" ] || return 0
	done
	return 1
}

lv_pinned_is() { [ "$(pinned_pages)" = "$1" ]; }

# lv_run RUN: virsh start, the boot to "ready", checks of the running
# guest, its traffic, checked against the device's counters
lv_run() {
	local pid before after sent_b sent_o sent_f looped p

	LV_RUN=$1
	LV_CON=$TEST_TMPDIR/$1.console
	if [ -n "${VDPA_RESULTS:-}" ] && [ -d "$VDPA_RESULTS/out" ]; then
		LV_CON=$VDPA_RESULTS/out/$TEST_NAME.$1.console
		mkdir -p "${LV_CON%/*}"
	fi
	: >"$LV_CON"
	# the fifo's reader is also a writer: it never sees an end of file
	cat 0<>"$LV_IMG/con.out" >>"$LV_CON" &
	LV_CAT_PID=$!
	LV_T0=$EPOCHSECONDS
	virsh start "$LV_DOM"
	pid=$(lv_qemu_pid)
	log "$1: QEMU $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	# libvirt opened the device and passed QEMU the descriptor
	lv_holds "$pid" /dev/vhost-vdpa-0 ||
		fail "$1: QEMU holds no /dev/vhost-vdpa-0 descriptor"
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -q 'vhost-vdpa' ||
		fail "$1: no vhost-vdpa netdev on QEMU's command line"
	# and raised the memory-lock limit for it (vDPA pins guest memory)
	log "$1: QEMU's $(grep 'Max locked memory' "/proc/$pid/limits")"
	p=$(awk '/Max locked memory/ { print $4 }' "/proc/$pid/limits")
	[ "$p" = unlimited ] || [ "$p" -ge $((128 << 20)) ] ||
		fail "$1: QEMU's memory-lock limit $p is below the guest's 128 MiB"

	lv_wait ready "$LV_BOOT_SECS"
	log "$1: $(tr -d '\r' <"$LV_CON" | grep -a '^VT ready')"
	before=$(lv_counters)
	echo go >&"$LV_CTL"
	grep -q negotiated_features <<<"$(vdpa dev config show vdpa0)" ||
		fail "$1: vdpa0 has no negotiated features while the guest runs"
	grep -q "mac $LV_MAC " <<<"$(vdpa dev config show vdpa0)" ||
		fail "$1: vdpa0's MAC is not the domain's $LV_MAC"
	[ "$(awk '$1 == "VmPin:" { print $2 }' "/proc/$pid/status")" -gt 0 ] ||
		fail "$1: QEMU has no pinned pages"
	lv_wait "done" 600
	after=$(lv_counters)
	log "$1: vdpa0 rx_packets rx_drops tx_packets before: $before, after: $after"
	sent_b=$(lv_field bcast sent)
	sent_o=$(lv_field own sent)
	sent_f=$(lv_field foreign sent)
	log "$1: $(tr -d '\r' <"$LV_CON" | grep -a '^VT phase' | tr '\n' ' ')"
	[[ $sent_b =~ ^[0-9]+$ ]] && [ "$sent_b" -gt 0 ] ||
		fail "$1: the guest sent no broadcast frame" || return 1
	expect_eq "$(lv_field bcast tx)" "$sent_b" "$1: guest tx_packets, bcast"
	expect_eq "$(lv_field bcast rx)" "$sent_b" "$1: guest rx_packets, bcast"
	expect_eq "$(lv_field own rx)" "$sent_o" "$1: guest rx_packets, own MAC"
	expect_eq "$(lv_field foreign rx)" 0 "$1: guest rx_packets, foreign MAC"
	looped=$((sent_b + sent_o))
	read -r -a b <<<"$before"
	read -r -a a <<<"$after"
	expect_eq "$((a[2] - b[2]))" "$((looped + sent_f))" "$1: vdpa0 vstats qidx 1 tx packets"
	expect_eq "$((a[0] - b[0]))" "$looped" "$1: vdpa0 vstats qidx 0 rx packets"
	expect_eq "$((a[1] - b[1]))" "$sent_f" "$1: vdpa0 vstats qidx 0 rx drops"
}

# lv_check_reset RUN PINNED: the domain is off, vdpa0 reset, every page
# QEMU pinned released
lv_check_reset() {
	local cfg

	if [ -n "${LV_CAT_PID:-}" ]; then
		kill "$LV_CAT_PID" 2>/dev/null || true
		wait "$LV_CAT_PID" 2>/dev/null || true
	fi
	LV_CAT_PID=
	expect_eq "$(lv_state)" "shut off" "$1: the domain's state"
	cfg=$(vdpa dev config show vdpa0)
	! grep -q negotiated_features <<<"$cfg" || fail "$1: vdpa0 was not reset: $cfg"
	wait_for 10 lv_pinned_is "$2" ||
		fail "$1: pinned pages $(pinned_pages), $2 before the guest ran"
	if [ -s "/var/log/libvirt/qemu/$LV_DOM.log" ]; then
		log "$1: /var/log/libvirt/qemu/$LV_DOM.log:"
		sed 's/^/#   /' "/var/log/libvirt/qemu/$LV_DOM.log"
	fi
	! grep -q "falling back" "/var/log/libvirt/qemu/$LV_DOM.log" ||
		fail "$1: QEMU fell back to userspace virtio"
}

lv_guest() {
	local pinned fd cdev pid

	require_cmd qemu-system-x86_64 cpio
	[ -x /bin/busybox ] || skip "busybox-static is not installed"
	getent passwd libvirt-qemu >/dev/null ||
		skip "no user libvirt-qemu (libvirt-daemon-system is not installed)"
	load_modules vdpa_sim_net vhost_vdpa
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac "$LV_DEV_MAC"
	cdev=/dev/$(basename /sys/bus/vdpa/devices/vdpa0/vhost-vdpa-*)
	expect_eq "$cdev" /dev/vhost-vdpa-0 "vdpa0's character device"
	lv_libvirtd_start

	# the small kernel (40-qemu keeps a guest on Debian's): everything
	# built in, so an initramfs without modules
	small_guest_kernel
	mkdir -p "$LV_IMG"
	bash "$VDPA_TREE/tests/lib/nested-initramfs.sh" "$LV_IMG/initrd.cpio" -
	cp "$SMALL_KERNEL" "$LV_IMG/kernel"
	mkfifo "$LV_IMG/con.in" "$LV_IMG/con.out"
	exec {LV_CTL}<>"$LV_IMG/con.in"
	lv_domain_xml "$cdev" >"$LV_DOM.xml"
	virsh define "$LV_DOM.xml"
	log "virsh dumpxml: $(virsh dumpxml "$LV_DOM" | grep -A6 "<interface type='vdpa'>" |
		tr -s ' \n' ' ')"
	pinned=$(pinned_pages)

	# run 1: traffic, then virsh destroy while the guest waits
	lv_run run1
	virsh destroy "$LV_DOM"
	lv_check_reset run1 "$pinned"

	# run 2 on the same device: libvirt opens it again (vhost-vdpa has one
	# opener at a time: run 1's descriptor must be gone) and QEMU sets it
	# up; destroyed before the guest's driver starts it (a second nested
	# boot costs 15 minutes on a loaded machine)
	virsh start "$LV_DOM"
	pid=$(lv_qemu_pid)
	lv_holds "$pid" /dev/vhost-vdpa-0 ||
		fail "run2: QEMU holds no /dev/vhost-vdpa-0 descriptor"
	sleep 5
	log "run2: QEMU $pid holds $cdev, state $(lv_state)"
	virsh destroy "$LV_DOM"
	LV_CAT_PID=
	lv_check_reset run2 "$pinned"
	virsh undefine "$LV_DOM"

	# and the device still loops frames back for the next client
	"$VDPA_TREE/tools/build/vdpa-net-loop" -d "$cdev" -n 64 >loop.out 2>&1 || {
		cat loop.out
		fail "vdpa-net-loop on $cdev failed after the guests"
	}
	grep -qx PASS loop.out || { cat loop.out; fail "vdpa-net-loop: no PASS"; }
	log "vdpa-net-loop on $cdev after the guests: $(tr '\n' ' ' <loop.out)"
	wait_for 10 lv_pinned_is "$pinned"
	exec {fd}<>"$cdev" || fail "cannot open $cdev after the guests"
	exec {fd}>&-
}

# A libvirt guest on <interface type='vdpa'> runs traffic through the
# simulator; virsh destroy resets the device for the next start.
test_guest() {
	lv_ns lv_guest
}
