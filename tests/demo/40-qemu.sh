# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# `make run` step: boot a guest on the demo device with QEMU's vhost-vdpa
# netdev, show its traffic coming back through the simulator and the
# device's counters.  Sourced by tests/lib/demo.sh (step, run, DEMO_DEV,
# DEMO_MAC, DEMO_FAILED); the guest is tests/lib/nested-init.sh.

DEMO_QEMU_COUNT=10

# VT lines of the guest printed so far.
QEMU_SHOWN=0

# qemu_step_wait DIR PID WORD SECS: wait for the guest's "VT WORD" line,
# printing the guest's new VT lines and a progress line every 30 s.
qemu_step_wait() {
	local dir=$1 pid=$2 word=$3 secs=$4 n t0=$SECONDS next=30 got

	while [ $((SECONDS - t0)) -lt "$secs" ]; do
		# What the guest said up to now, all of it printed before deciding.
		got=$(tr -d '\r' <"$dir/console" | grep -a '^VT')
		n=$(grep -c . <<<"$got")
		if [ "$n" -gt "$QEMU_SHOWN" ]; then
			tail -n +$((QEMU_SHOWN + 1)) <<<"$got" | sed 's/^VT /  guest: /'
			QEMU_SHOWN=$n
		fi
		grep -q "^VT fail" <<<"$got" && return 1
		grep -q "^VT $word" <<<"$got" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		if [ $((SECONDS - t0)) -ge $next ]; then
			echo "  ... still waiting for the guest ($((SECONDS - t0)) s)"
			next=$((next + 30))
		fi
		sleep 1
	done
	return 1
}

qemu_step_fail() {
	echo "(failed: $*)"
	echo "--- guest console (end):"
	tr -d '\r' <"$1/console" | tail -n 30
	echo "--- QEMU stderr:"
	cat "$1/stderr"
	DEMO_FAILED=$((DEMO_FAILED + 1))
}

demo_qemu() {
	local dir kernel pid ctl accel=(-accel tcg) sent rx t0 rc=0

	step "Boot a guest on $DEMO_DEV with QEMU's vhost-vdpa netdev"
	kernel=/boot/vmlinuz-$(uname -r)
	if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /bin/busybox ] ||
	   [ ! -r "$kernel" ] || [ ! -c /dev/vhost-vdpa-0 ]; then
		echo "(cannot: needs qemu-system-x86_64, busybox-static, $kernel and /dev/vhost-vdpa-0)"
		DEMO_FAILED=$((DEMO_FAILED + 1))
		return 0
	fi
	dir=$(mktemp -d)
	QEMU_SHOWN=0
	echo "Guest: Debian's kernel ($kernel) and a busybox initramfs whose /init"
	echo "sends broadcast ARP requests and counts what comes back."
	run bash "$VDPA_TREE/tests/lib/nested-initramfs.sh" "$dir/initrd"
	# the bzImage unpacked (PVH entry): saves the guest its own XZ unpacking
	run bash "$VDPA_TREE/tests/lib/nested-kernel.sh" "$dir/kernel"
	if [ -w /dev/kvm ]; then
		accel=(-accel kvm -cpu host)
	else
		echo "No KVM: QEMU emulates the guest's CPU (TCG); in the test VM that is"
		echo "emulation inside emulation, so the boot takes 2 to 10 minutes."
	fi
	ulimit -l unlimited	# vhost-vdpa pins the guest's memory
	mkfifo "$dir/ctl"
	exec {ctl}<>"$dir/ctl"
	echo '$ ulimit -l unlimited'
	echo "\$ qemu-system-x86_64 ${accel[*]} -m 256M -nographic -kernel ... -initrd ... \\"
	echo "    -netdev type=vhost-vdpa,vhostdev=/dev/vhost-vdpa-0,id=n0 \\"
	echo "    -device virtio-net-pci,netdev=n0,mac=$DEMO_MAC"
	t0=$(date +%s)
	qemu-system-x86_64 "${accel[@]}" -m 256M -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot \
		-chardev stdio,id=con,signal=off -serial chardev:con -monitor none \
		-kernel "$dir/kernel" -initrd "$dir/initrd" \
		-append "console=ttyS0 quiet ipv6.disable=1 panic=-1 no_timer_check cryptomgr.notests rodata=off pci=noacpi vt.count=$DEMO_QEMU_COUNT" \
		-netdev type=vhost-vdpa,vhostdev=/dev/vhost-vdpa-0,id=n0 \
		-device "virtio-net-pci,netdev=n0,mac=$DEMO_MAC,romfile=" \
		<"$dir/ctl" >"$dir/console" 2>"$dir/stderr" &
	pid=$!
	echo "QEMU started (pid $pid); waiting for the guest to bring eth0 up..."
	if ! qemu_step_wait "$dir" "$pid" ready 1200; then
		qemu_step_fail "$dir" "the guest did not come up"
		kill "$pid" 2>/dev/null
		exec {ctl}>&-
		rm -rf "$dir"
		return 0
	fi
	echo "The guest is up after $(($(date +%s) - t0)) s.  The driver has negotiated:"
	run vdpa dev config show "$DEMO_DEV"
	echo "QEMU's guest memory is pinned for DMA: $(grep VmPin "/proc/$pid/status" | tr -s '\t ' ' ')"
	echo "Now the guest sends traffic (about $((DEMO_QEMU_COUNT + 12)) s):"
	echo go >&"$ctl"
	if qemu_step_wait "$dir" "$pid" "done" 600; then
		sent=$(tr -d '\r' <"$dir/console" | sed -n 's/^VT phase bcast sent=\([0-9]*\) .*/\1/p')
		rx=$(tr -d '\r' <"$dir/console" | sed -n 's/^VT phase bcast .* rx=\([0-9]*\).*/\1/p')
		echo "The guest sent $sent broadcast ARP requests and received $rx back"
		echo "(own-MAC unicast comes back too; unicast to a foreign MAC is dropped)."
		echo "The device's per-queue counters: qidx 0 is the receive queue (the frames"
		echo "looped back to the guest; those to a foreign MAC dropped), qidx 1 the"
		echo "transmit queue (every frame the guest sent), qidx 2 the control queue."
		echo "(iproute2 6.1 labels the queues from max_vqp, which the kernel sends only"
		echo "with multiqueue: on this single-pair device it calls qidx 0 control_vq.)"
		run vdpa dev vstats show "$DEMO_DEV" qidx 0
		run vdpa dev vstats show "$DEMO_DEV" qidx 1
		run vdpa dev vstats show "$DEMO_DEV" qidx 2
		[ -n "$sent" ] && [ "$sent" = "$rx" ] ||
			qemu_step_fail "$dir" "sent ${sent:-?} but received ${rx:-?}"
	else
		qemu_step_fail "$dir" "the guest's traffic did not finish"
	fi
	echo "The guest powers off; QEMU resets the device and exits."
	echo go >&"$ctl"
	for ((t0 = 0; t0 < 1200; t0++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null && echo "(QEMU did not exit: killed)"
	wait "$pid" || rc=$?
	exec {ctl}>&-
	if grep -q "falling back" "$dir/stderr"; then
		qemu_step_fail "$dir" "QEMU fell back to userspace virtio"
	elif [ $rc -ne 0 ]; then
		qemu_step_fail "$dir" "QEMU exited with $rc"
	else
		echo "QEMU exited with status 0."
	fi
	run vdpa dev config show "$DEMO_DEV"
	rm -rf "$dir"
}
