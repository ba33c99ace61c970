#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side test vm/hung_boot: a guest whose boot hangs is stopped by the
# boot limit (VDPA_BOOT_TIMEOUT), with the message that says so, well
# before the whole-run limit.  tests/check.sh runs it before its own VM.
#
#   tests/host-tests/hung-boot.sh [LIMIT [stall]]
#
# With "stall" it is vm/stall_limit instead: the test itself writes the
# runner's first line and one heartbeat, as a guest whose timers then
# stop would, and checks the same of the stall limit (VDPA_STALL_TIMEOUT
# =LIMIT, the boot limit out of the way), and that QEMU's vCPU registers
# were saved over QMP.
#
# Boots the test VM exactly as tests/check.sh does (tb_vm_start of
# host-lib.sh, Debian's kernel), but with an initramfs whose /init only
# says so and sleeps, and follows it with tb_follow and tb_finish_run
# under VDPA_BOOT_TIMEOUT=LIMIT (default 20) and VDPA_VM_TIMEOUT=600.
# Checks that QEMU was stopped between LIMIT and LIMIT + 60 seconds after
# it started, is gone, and that vm/finished failed with the boot-limit
# reason.  Its runs go to tests/.build/hung-boot/runs/ (not to the runs
# of make check).  Exit status 0 pass, 1 fail.

set -u -o pipefail

TB_PROG=hung-boot
TB_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
LIMIT=${1:-20}
STALL=${2:-}
if [ "$STALL" = stall ]; then
	VDPA_BOOT_TIMEOUT=600 VDPA_STALL_TIMEOUT=$LIMIT
else
	VDPA_BOOT_TIMEOUT=$LIMIT
fi
VDPA_VM_TIMEOUT=600
# shellcheck source=tests/lib/host-lib.sh
. "$TB_TREE/tests/lib/host-lib.sh"
# shellcheck source=tests/lib/results.sh
. "$TB_TREE/tests/lib/results.sh"
TB_BUILD=$TB_TREE/tests/.build/hung-boot

tb_find_kernel
mkdir -p "$TB_BUILD"
dir=$(mktemp -d "$TB_BUILD/initramfs.XXXXXX") || exit 1
mkdir -p "$dir/bin" "$dir/dev" "$dir/proc"
cp /bin/busybox "$dir/bin/busybox" || exit 1
cat >"$dir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev
exec >/dev/console 2>&1
echo "hung-boot: /init hangs on purpose"
exec /bin/busybox sleep 100000
INIT
chmod 755 "$dir/init"
TB_INITRD=$TB_BUILD/hang.cpio.gz
(cd "$dir" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$TB_INITRD" ||
	exit 1
rm -rf "$dir"

tb_new_run hung-boot
t0=$SECONDS
tb_vm_start
qemu=$TB_QEMU_PID
if [ "$STALL" = stall ]; then
	echo "LOG stall-limit: the runner's first line" >>"$TB_RUN/results"
	echo 1 >"$TB_RUN/heartbeat"
fi
{
	tb_follow tb_on_result
	tb_finish_run
} >"$TB_RUN/follow.out"
secs=$((SECONDS - t0))
sed 's/^/  > /' "$TB_RUN/follow.out"

bad=0
check() {
	"${@:2}" && return 0
	echo "FAIL: $1"
	bad=1
}
check "QEMU stopped after ${secs}s, not within ${LIMIT}-$((LIMIT + 60))s" \
	test "$secs" -ge "$LIMIT" -a "$secs" -le $((LIMIT + 60))
gone() { ! kill -0 "$1" 2>/dev/null; }
check "QEMU (pid $qemu) still runs" gone "$qemu"
if [ "$STALL" = stall ]; then
	check "the stall limit did not stop QEMU" test "$TB_VM_STALLED" = 1
	check "vm/finished did not fail with the stall-limit reason" grep -q \
		"^FAIL  vm/finished (VM stopped by the stall limit: the guest's heartbeat stood still for ${LIMIT}s" \
		"$TB_RUN/follow.out"
	check "no vCPU registers saved: $(head -c 300 "$TB_RUN/stall-registers")" \
		grep -q 'RIP=' "$TB_RUN/stall-registers"
	[ $bad = 0 ] && echo "stopped by the stall limit after ${secs}s, registers saved"
	exit $bad
fi
check "the boot limit did not stop QEMU" test "$TB_VM_BOOT_HUNG" = 1
check "vm/finished did not fail with the boot-limit reason" grep -q \
	"^FAIL  vm/finished (VM stopped by the boot limit: no output from the guest's test runner within ${VDPA_BOOT_TIMEOUT}s" \
	"$TB_RUN/follow.out"
if grep -q 'hung-boot: /init hangs on purpose' "$TB_RUN/console.log"; then
	echo "the guest's /init ran and hung"
else
	echo "the guest's kernel did not reach /init within the limit"
fi
[ $bad = 0 ] && echo "stopped by the boot limit after ${secs}s"
exit $bad
