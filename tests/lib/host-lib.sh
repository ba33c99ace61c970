# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Host side of the VM test bed, sourced by tests/check.sh and
# tests/run-demo.sh.  The caller sets TB_TREE (absolute path of the tree
# under test) before sourcing.  See Documentation/testing.rst.
#
#   tb_ensure_packages         apt-get install whatever is missing
#   tb_find_kernel             set KVER: newest Debian kernel with modules
#                              and headers (VDPA_KVER overrides)
#   tb_use_kernel K KDIR ROOT REL  use another kernel (the debug kernel of
#                              check-debug): bzImage K, build tree KDIR,
#                              modules in ROOT/lib/modules/REL
#   tb_ko_dir [KDIR]           set TB_KO_DIR, the build directory of
#                              KDIR's kernel, and lock it for this run
#   tb_build [KDIR]            make the modules in TB_KO_DIR and the
#                              tools, log in $TB_KO_DIR/build.log
#   tb_initramfs               build (or reuse) the cached guest initramfs
#   tb_new_run MODE            fresh results dir $TB_RUN, params written
#   tb_vm_start                boot the VM in the background
#   tb_follow HANDLER          stream results until the VM exits
#   tb_split_dmesg             the guest kernel log, split per test
#   tb_kernel_log_problems     print the kernel log lines that are failures
#   tb_timed PHASE CMD...      run CMD, its time added to PHASE
#   tb_phase_add PHASE SECS    add SECS to PHASE
#   tb_phase_report            one "time  PHASE  SECS" line per phase

TB_LIB=$TB_TREE/tests/lib
TB_BUILD=$TB_TREE/tests/.build

# Everything the test bed and the test cases use.
TB_PACKAGES=(qemu-system-x86 linux-image-amd64 linux-headers-amd64
	busybox-static cpio kmod iproute2 util-linux e2fsprogs dpdk-dev
	librte-net-virtio23 make gcc gzip udev qemu-system-common
	libvirt-daemon-system libvirt-clients)

# Modules the initramfs needs to mount the host root over 9p.
TB_INITRD_MODULES=(virtio_ring virtio virtio_pci_modern_dev
	virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p)

# Time limits, in seconds.
: "${VDPA_VM_TIMEOUT:=3600}"	# whole VM run (CI allows 90 min in all)
: "${VDPA_BOOT_TIMEOUT:=600}"	# VM start to the guest's first output
: "${VDPA_STALL_TIMEOUT:=600}"	# the guest's heartbeat standing still
: "${VDPA_TEST_TIMEOUT:=600}"	# one test (a case file may override)
: "${VDPA_CLEANUP_TIMEOUT:=300}"	# the clean-up after one test
: "${VDPA_BENCH_TIMEOUT:=1800}"	# one benchmark

TB_START_TIME=$(date +%s)

tb_say() { printf '%s\n' "$*"; }
tb_die() { printf '%s: error: %s\n' "${TB_PROG:-testbed}" "$*" >&2; exit 1; }

tb_mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

tb_elapsed() { tb_mmss $(($(date +%s) - TB_START_TIME)); }

# How long each phase of a run took (whole seconds of the host's clock),
# printed at its end by tb_phase_report; .ci/run adds them up.  Phases are
# kept in the order they first ran.
TB_PHASES=()
declare -A TB_PHASE_SECS=()

tb_phase_add() {
	[ -n "${TB_PHASE_SECS[$1]+x}" ] || TB_PHASES+=("$1")
	TB_PHASE_SECS[$1]=$((${TB_PHASE_SECS[$1]:-0} + $2))
}

# tb_timed PHASE CMD...: run CMD (in this shell), add its time to PHASE.
tb_timed() {
	local phase=$1 t0=$SECONDS rc

	shift
	"$@"
	rc=$?
	tb_phase_add "$phase" $((SECONDS - t0))
	return $rc
}

# tb_phase_report: "time  PHASE  SECSs  MmSSs", one a line (PHASE has no
# space), then "(sum)" of the phases and the run's "(wall-clock)" time.
tb_phase_report() {
	local p sum=0 wall=$(($(date +%s) - TB_START_TIME))

	for p in "${TB_PHASES[@]}"; do
		printf 'time  %-32s %6ss  %s\n' "$p" "${TB_PHASE_SECS[$p]}" \
			"$(tb_mmss "${TB_PHASE_SECS[$p]}")"
		sum=$((sum + TB_PHASE_SECS[$p]))
	done
	printf 'time  %-32s %6ss  %s\n' "(sum)" "$sum" "$(tb_mmss $sum)"
	printf 'time  %-32s %6ss  %s\n' "(wall-clock)" "$wall" "$(tb_mmss $wall)"
}

tb_sudo() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		tb_die "need root to run: $*"
	fi
}

# tb_ensure_packages [EXTRA...]: install the missing packages, once.
tb_ensure_packages() {
	local missing=() p st

	for p in "${TB_PACKAGES[@]}" "$@"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) ||
			st=
		[ "$st" = installed ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	tb_say "setup: installing ${missing[*]}"
	tb_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
		tb_die "apt-get update failed"
	tb_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" ||
		tb_die "apt-get install failed"
}

# tb_find_kernel: newest /boot/vmlinuz-*-amd64 with modules and headers.
tb_find_kernel() {
	local f v found=()

	if [ -n "${VDPA_KVER:-}" ]; then
		KVER=$VDPA_KVER
	else
		for f in /boot/vmlinuz-*-amd64; do
			[ -e "$f" ] || continue
			v=${f#/boot/vmlinuz-}
			[ -d "/lib/modules/$v/kernel" ] || continue
			[ -f "/usr/src/linux-headers-$v/Makefile" ] || continue
			found+=("$v")
		done
		[ ${#found[@]} -gt 0 ] ||
			tb_die "no /boot/vmlinuz-*-amd64 with matching /lib/modules and /usr/src/linux-headers"
		KVER=$(printf '%s\n' "${found[@]}" | sort -V | tail -n 1)
	fi
	TB_KERNEL=/boot/vmlinuz-$KVER
	TB_KDIR=/usr/src/linux-headers-$KVER
	TB_MODROOT=
	[ -r "$TB_KERNEL" ] || tb_die "cannot read $TB_KERNEL"
	[ -d "$TB_KDIR" ] || tb_die "no headers at $TB_KDIR"
}

# tb_use_kernel KERNEL KDIR MODROOT RELEASE: boot KERNEL instead, build
# against KDIR; its modules are MODROOT/lib/modules/RELEASE (the guest
# sees that directory as /lib/modules).
tb_use_kernel() {
	TB_KERNEL=$1
	TB_KDIR=$2
	TB_MODROOT=$3
	KVER=$4
	[ -r "$TB_KERNEL" ] || tb_die "cannot read $TB_KERNEL"
	[ -d "$TB_KDIR" ] || tb_die "no kernel build tree at $TB_KDIR"
	[ -d "$TB_MODROOT/lib/modules/$KVER" ] ||
		tb_die "no $TB_MODROOT/lib/modules/$KVER"
}

# tb_kernel_release KDIR: the release of the kernel build tree KDIR, as
# modules built there have it in their vermagic (UTS_RELEASE: Debian's
# headers have another include/config/kernel.release).
tb_kernel_release() {
	sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$1/include/generated/utsrelease.h" 2>/dev/null | grep . ||
		tb_die "no UTS_RELEASE in $1/include/generated/utsrelease.h"
}

# tb_ko_dir [KDIR]: set TB_KO_DIR to $TB_BUILD/<release of KDIR>, where
# this run builds the modules (make BUILD_DIR=, scripts/build-tree.sh)
# and the guest loads them from: builds for two kernels never share an
# object.  The directory stays locked until this shell exits, so that
# another run for the same kernel waits instead of rebuilding the .ko
# files under this run's VM.
tb_ko_dir() {
	local kdir=${1:-$TB_KDIR}

	[ -z "${TB_KO_DIR:-}" ] || return 0
	TB_KO_DIR=$TB_BUILD/$(tb_kernel_release "$kdir") || exit 1
	mkdir -p "$TB_BUILD"
	exec {TB_KO_LOCK}>"$TB_KO_DIR.lock" ||
		tb_die "cannot open $TB_KO_DIR.lock"
	if ! flock -n "$TB_KO_LOCK"; then
		tb_say "build: another run uses ${TB_KO_DIR#"$TB_TREE"/}: waiting for it"
		flock "$TB_KO_LOCK" || tb_die "flock $TB_KO_DIR.lock failed"
	fi
}

tb_build_failed() {
	tail -n 60 "$1" | sed 's/^/  | /'
	tb_die "build failed (full log: $1)"
}

# tb_build [KDIR [MAKE ARGS...]]: build the modules for KDIR in
# TB_KO_DIR (tb_ko_dir), then the tools (shared by every kernel: one
# build at a time).  Sets TB_BUILD_WARNINGS to the number of compiler
# warnings seen (only files rebuilt now are seen).
tb_build() {
	local kdir=${1:-$TB_KDIR} log lock

	shift $(($# > 0 ? 1 : 0))
	tb_ko_dir "$kdir"
	log=$TB_KO_DIR/build.log
	mkdir -p "$TB_KO_DIR"
	tb_say "build: make -C $TB_TREE KDIR=$kdir BUILD_DIR=${TB_KO_DIR#"$TB_TREE"/}${*:+ $*} modules tools"
	tb_timed build/modules make -C "$TB_TREE" -j"$(nproc)" KDIR="$kdir" \
		BUILD_DIR="$TB_KO_DIR" "$@" modules >"$log" 2>&1 ||
		tb_build_failed "$log"
	if ! { exec {lock}>"$TB_BUILD/tools.lock" && flock "$lock"; }; then
		tb_die "cannot lock $TB_BUILD/tools.lock"
	fi
	tb_timed build/tools make -C "$TB_TREE" -j"$(nproc)" tools >>"$log" 2>&1 ||
		tb_build_failed "$log"
	exec {lock}>&-
	TB_BUILD_WARNINGS=$(grep -c -E '(warning|error):' "$log" || true)
	if [ "$TB_BUILD_WARNINGS" -gt 0 ]; then
		grep -E -A3 '(warning|error):' "$log" | sed 's/^/  | /'
	fi
}

# tb_initramfs: busybox /init plus the 9p modules (those not built in),
# cached per kernel and per content of the init script.  Sets TB_INITRD.
tb_initramfs() {
	local init=$TB_LIB/guest-init.sh key dir m line ko seen=" " order=()
	local deps

	key=$( (cat "$init" "$TB_LIB/host-lib.sh"; echo "$KVER") |
		sha256sum | cut -c1-12)
	TB_INITRD=$TB_BUILD/initramfs-$KVER-$key.cpio.gz
	[ -s "$TB_INITRD" ] && return 0

	tb_say "setup: building initramfs for $KVER"
	mkdir -p "$TB_BUILD"
	dir=$(mktemp -d "$TB_BUILD/initramfs.XXXXXX")
	mkdir -p "$dir"/{bin,dev,proc,sys,newroot,hostroot,results,lib/modules}
	cp /bin/busybox "$dir/bin/busybox"
	cp "$init" "$dir/init"
	chmod 755 "$dir/init" "$dir/bin/busybox"
	mknod "$dir/dev/console" c 5 1 2>/dev/null || true

	for m in "${TB_INITRD_MODULES[@]}"; do
		deps=$(modprobe -d "${TB_MODROOT:-/}" -S "$KVER" --show-depends "$m" 2>/dev/null) ||
			tb_die "module $m not found for kernel $KVER"
		while read -r line; do
			set -- $line
			[ "$1" = insmod ] || continue
			ko=$2
			m=$(basename "$ko")
			m=${m%%.ko*}
			case $seen in *" $m "*) continue ;; esac
			seen="$seen$m "
			case $ko in
			*.ko.xz) xz -dc "$ko" ;;
			*.ko.zst) zstd -dc "$ko" ;;
			*.ko.gz) gzip -dc "$ko" ;;
			*) cat "$ko" ;;
			esac >"$dir/lib/modules/$m.ko" || tb_die "cannot unpack $ko"
			order+=("$m")
		done <<<"$deps"
	done
	printf '%s\n' "${order[@]}" >"$dir/modules.order"

	(cd "$dir" && find . -print0 | cpio --null -o -H newc --quiet) |
		gzip -1 >"$TB_INITRD.tmp" || tb_die "cpio failed"
	mv "$TB_INITRD.tmp" "$TB_INITRD"
	rm -rf "$dir"
	# Older initramfs images of this kernel are stale now.
	for f in "$TB_BUILD"/initramfs-"$KVER"-*.cpio.gz; do
		[ "$f" = "$TB_INITRD" ] || rm -f "$f"
	done
}

# tb_new_run MODE [VAR=VALUE...]: make a fresh results directory (the
# guest's writable share) and write the run's parameters into it.
tb_new_run() {
	local mode=$1 kv old

	shift
	mkdir -p "$TB_BUILD/runs"
	TB_RUN=$TB_BUILD/runs/$(date +%Y%m%d-%H%M%S)-$mode-$$
	mkdir -p "$TB_RUN/out"
	: >"$TB_RUN/results"
	: >"$TB_RUN/stream"
	printf '%s\n' "$TB_TREE" >"$TB_RUN/tree"
	{
		printf 'VDPA_TREE=%q\n' "$TB_TREE"
		printf 'MODE=%q\n' "$mode"
		printf 'VDPA_KO_DIR=%q\n' "${TB_KO_DIR:-$TB_TREE}"
		printf 'VDPA_TEST_TIMEOUT=%q\n' "$VDPA_TEST_TIMEOUT"
		printf 'VDPA_BENCH_TIMEOUT=%q\n' "$VDPA_BENCH_TIMEOUT"
		printf 'VDPA_CLEANUP_TIMEOUT=%q\n' "$VDPA_CLEANUP_TIMEOUT"
		# stress tests: seconds of traffic (longer runs hunt rare races)
		[ -z "${VDPA_STRESS_SECS:-}" ] ||
			printf 'VDPA_STRESS_SECS=%q\n' "$VDPA_STRESS_SECS"
		for kv in "$@"; do
			printf '%s=%q\n' "${kv%%=*}" "${kv#*=}"
		done
	} >"$TB_RUN/params"
	ln -sfn "$(basename "$TB_RUN")" "$TB_BUILD/runs/latest"
	# Keep the last 10 runs.
	ls -1d "$TB_BUILD"/runs/2* 2>/dev/null | sort | head -n -10 |
		while read -r old; do rm -rf "$old"; done
}

# tb_vm_start: boot the kernel with the host root shared read-only and
# $TB_RUN shared writable.  The console goes to $TB_RUN/console.log.
tb_vm_start() {
	local append="console=ttyS0 loglevel=5 panic_on_warn=1 oops=panic panic=-1"
	# TB_APPEND: more kernel parameters (check-debug's).
	append="$append${TB_APPEND:+ $TB_APPEND}"
	local devices=()

	# Extra devices some test cases need (e.g. NICs for vp_vdpa) are
	# listed, one QEMU argument per line, by tests/lib/vm-devices.sh.
	# They come after the 9p shares: QEMU puts a device without bus= on
	# the newest PCI bus, which may be one of theirs (a PCIe expander
	# bridge takes nothing but bridges).
	if [ -x "$TB_LIB/vm-devices.sh" ]; then
		mapfile -t devices < <("$TB_LIB/vm-devices.sh")
	fi

	# TCG on a busy host: skip the IO-APIC timer check that can panic a slow boot.
	append="$append tsc=reliable no_timer_check"
	: >"$TB_RUN/console.log"
	rm -f "$TB_RUN/heartbeat"
	# QMP, to read a stalled guest's registers (a short path: sun_path)
	TB_QMP=${TMPDIR:-/tmp}/vdpa-qmp-${TB_RUN##*/}
	timeout -k 15 "$VDPA_VM_TIMEOUT" qemu-system-x86_64 \
		-accel tcg -cpu max -smp 2 -m 4G \
		-nographic -no-reboot -monitor none \
		-qmp "unix:$TB_QMP,server=on,wait=off" \
		-serial "file:$TB_RUN/console.log" \
		-kernel "$TB_KERNEL" -initrd "$TB_INITRD" -append "$append" \
		-nic none \
		-virtfs local,path=/,mount_tag=host,readonly=on,security_model=none,multidevs=remap \
		-virtfs "local,path=$TB_RUN,mount_tag=results,security_model=none" \
		"${devices[@]}" \
		</dev/null >"$TB_RUN/qemu.log" 2>&1 &
	TB_QEMU_PID=$!
	TB_VM_T0=$SECONDS
	trap tb_vm_kill EXIT
	trap 'tb_vm_kill; exit 130' INT TERM
}

tb_vm_kill() {
	if [ -n "${TB_QEMU_PID:-}" ] && kill -0 "$TB_QEMU_PID" 2>/dev/null; then
		kill "$TB_QEMU_PID" 2>/dev/null
		wait "$TB_QEMU_PID" 2>/dev/null
	fi
	[ -z "${TB_QMP:-}" ] || rm -f "$TB_QMP"
}

# tb_vm_stalled: the guest's heartbeat stood still for VDPA_STALL_TIMEOUT
# seconds.  Save what QEMU can tell of its vCPUs, then stop it.
tb_vm_stalled() {
	local regs=$TB_RUN/stall-registers

	TB_VM_STALLED=1
	tb_say "vm: no heartbeat from the guest for ${VDPA_STALL_TIMEOUT}s (VDPA_STALL_TIMEOUT): its timers stopped; vCPU registers in $regs; stopping QEMU"
	{
		timeout 60 "$TB_TREE/tests/helpers/qmp.py" "$TB_QMP" query-status
		timeout 60 "$TB_TREE/tests/helpers/qmp.py" "$TB_QMP" \
			human-monitor-command '{"command-line": "info registers -a"}' |
			python3 -c 'import json, sys; print(json.load(sys.stdin))'
	} >"$regs" 2>&1
	kill "$TB_QEMU_PID" 2>/dev/null
}

# tb_follow HANDLER: until the VM exits, call HANDLER with each new line
# of $TB_RUN/results and print each new line of $TB_RUN/stream.  Sets
# TB_VM_STATUS to QEMU's exit status (124: the whole-run limit hit).  The
# time until the guest's runner wrote its first line is the phase
# vm/boot; from its DONE to QEMU's exit, vm/power-off.  A guest that
# printed nothing in either file VDPA_BOOT_TIMEOUT seconds after QEMU
# started (a kernel or an init that hangs) is stopped then:
# TB_VM_BOOT_HUNG=1.
tb_follow() {
	local handler=$1 rfd sfd rbuf='' sbuf='' line alive=1 booted=0 done_t=
	local beat='' last_beat=0 now_beat

	TB_VM_BOOT_HUNG=0 TB_VM_STALLED=0
	exec {rfd}<"$TB_RUN/results" {sfd}<"$TB_RUN/stream"
	while :; do
		kill -0 "$TB_QEMU_PID" 2>/dev/null || alive=0
		if [ $booted = 0 ] &&
			{ [ -s "$TB_RUN/results" ] || [ -s "$TB_RUN/stream" ]; }; then
			booted=1
			tb_phase_add vm/boot $((SECONDS - TB_VM_T0))
		elif [ $booted = 0 ] && [ $alive = 1 ] && [ $TB_VM_BOOT_HUNG = 0 ] &&
			[ $((SECONDS - TB_VM_T0)) -ge "$VDPA_BOOT_TIMEOUT" ]; then
			TB_VM_BOOT_HUNG=1
			tb_say "vm: no output from the guest's test runner after ${VDPA_BOOT_TIMEOUT}s (VDPA_BOOT_TIMEOUT): stopping QEMU"
			kill "$TB_QEMU_PID" 2>/dev/null
		elif [ $booted = 1 ] && [ $alive = 1 ] && [ $TB_VM_STALLED = 0 ] &&
			[ -z "$done_t" ]; then
			now_beat=
			[ ! -s "$TB_RUN/heartbeat" ] ||
				read -r now_beat <"$TB_RUN/heartbeat" || true
			if [ "$now_beat" != "$beat" ] || [ $last_beat = 0 ]; then
				beat=$now_beat
				last_beat=$SECONDS
			elif [ $((SECONDS - last_beat)) -ge "$VDPA_STALL_TIMEOUT" ]; then
				tb_vm_stalled
			fi
		fi
		while IFS= read -r -u "$sfd" line; do
			printf '%s\n' "$sbuf$line"
			sbuf=
		done
		sbuf=$sbuf$line
		while IFS= read -r -u "$rfd" line; do
			[ "$rbuf$line" != DONE ] || done_t=$SECONDS
			"$handler" "$rbuf$line"
			rbuf=
		done
		rbuf=$rbuf$line
		[ $alive = 1 ] || break
		sleep 0.3
	done
	[ -z "$sbuf" ] || printf '%s\n' "$sbuf"
	[ -z "$rbuf" ] || "$handler" "$rbuf"
	exec {rfd}<&- {sfd}<&-
	wait "$TB_QEMU_PID"
	TB_VM_STATUS=$?
	TB_QEMU_PID=
	if [ $booted = 0 ]; then
		tb_phase_add vm/boot-unfinished $((SECONDS - TB_VM_T0))
	elif [ -n "$done_t" ]; then
		tb_phase_add vm/power-off $((SECONDS - done_t))
	fi
}

# Kernel messages that make a run fail.
TB_KERNEL_BAD='BUG:|WARNING:|Oops|general protection|Kernel panic|possible circular locking|possible recursive locking|INFO: task .* blocked|inconsistent lock state|KASAN:|UBSAN:|kmemleak: .*suspected|kmemleak: .*disabled|turning off the locking correctness validator'

# tb_kernel_log_problems FILE...: the offending lines, if any.
tb_kernel_log_problems() {
	grep -a -h -E "$TB_KERNEL_BAD" "$@" 2>/dev/null
}

# tb_split_dmesg: cut the guest's kernel log (or, if the guest died, its
# console) at the "vdpa-test: start NAME" markers into out/NAME.dmesg.
tb_split_dmesg() {
	local log=$TB_RUN/dmesg

	[ -s "$log" ] || log=$TB_RUN/console.log
	tr -d '\r' <"$log" | awk -v out="$TB_RUN/out" '
		/vdpa-test: (start|done)/ {
			if (f != "") close(f)
			f = ""
			if ($0 ~ /vdpa-test: start /) {
				n = $0
				sub(/.*vdpa-test: start /, "", n)
				f = out "/" n ".dmesg"
			}
			next
		}
		f != "" { print > f }'
}

# tb_console_tail [N]: the end of the guest console, indented.
tb_console_tail() {
	tail -n "${1:-40}" "$TB_RUN/console.log" | tr -d '\r' |
		sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | awk '{ print "  | " $0 }'
}

# tb_vm_exit_reason: explain a VM that did not finish normally.
tb_vm_exit_reason() {
	if [ "${TB_VM_BOOT_HUNG:-0}" = 1 ]; then
		echo "VM stopped by the boot limit: no output from the guest's test runner within ${VDPA_BOOT_TIMEOUT}s (VDPA_BOOT_TIMEOUT)"
		return
	fi
	if [ "${TB_VM_STALLED:-0}" = 1 ]; then
		echo "VM stopped by the stall limit: the guest's heartbeat stood still for ${VDPA_STALL_TIMEOUT}s (VDPA_STALL_TIMEOUT; vCPU registers in $TB_RUN/stall-registers)"
		return
	fi
	case $TB_VM_STATUS in
	0) echo "VM exited" ;;
	124 | 137) echo "VM killed after the ${VDPA_VM_TIMEOUT}s limit (VDPA_VM_TIMEOUT)" ;;
	*) echo "QEMU exited with status $TB_VM_STATUS" ;;
	esac
}
