#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: build the tree, boot the test VM and show a vdpasim_net
# device driven by the real tools (tests/lib/demo.sh).
#
#   tests/run-demo.sh [--host] [--no-build]
#
# --host (make run HOST=1) runs the same steps on this machine with
# insmod instead, if it can load modules.

set -u -o pipefail

TB_PROG=run
TB_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=tests/lib/host-lib.sh
. "$TB_TREE/tests/lib/host-lib.sh"

HOST=${HOST:-}
[ "$HOST" = 0 ] && HOST=
BUILD=1
while [ $# -gt 0 ]; do
	case $1 in
	--host) HOST=1 ;;
	--no-build) BUILD=0 ;;
	-h | --help) sed -n '4,10p' "${BASH_SOURCE[0]}" | cut -c3-; exit 0 ;;
	*) echo "run: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# Refuse, with the reason, on a machine that cannot load our modules.
host_can_load_modules() {
	local kver capeff m

	kver=$(uname -r)
	[ "$(id -u)" -eq 0 ] || tb_die "--host needs root"
	[ -e /proc/modules ] ||
		tb_die "this kernel ($kver) cannot load modules (no /proc/modules); use 'make run' without HOST=1 to run the demo in a VM"
	[ "$(cat /proc/sys/kernel/modules_disabled 2>/dev/null)" != 1 ] ||
		tb_die "module loading is disabled (kernel.modules_disabled=1)"
	capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
	[ $((0x$capeff >> 16 & 1)) -eq 1 ] ||
		tb_die "no CAP_SYS_MODULE here (a container?): cannot load modules"
	[ -d "/lib/modules/$kver/build" ] ||
		tb_die "no headers for the running kernel $kver (install linux-headers-$kver)"
	for m in vdpa vdpa_sim vdpa_sim_net vdpa_sim_blk vhost_vdpa virtio_vdpa vp_vdpa; do
		[ ! -e "/sys/module/$m" ] ||
			tb_die "module $m is already loaded on this host: unload it first"
	done
	TB_HOST_KDIR=/lib/modules/$kver/build
}

if [ -n "$HOST" ]; then
	host_can_load_modules
	if [ $BUILD = 0 ]; then
		tb_ko_dir "$TB_HOST_KDIR"
	else
		tb_build "$TB_HOST_KDIR"
	fi
	tb_say "run: demo on this host ($(uname -r))"
	VDPA_TREE=$TB_TREE VDPA_KO_DIR=$TB_KO_DIR bash "$TB_LIB/demo.sh"
	rc=$?
	tb_say "run: elapsed $(tb_elapsed)"
	exit $rc
fi

tb_ensure_packages
tb_find_kernel
if [ $BUILD = 0 ]; then
	tb_ko_dir
else
	tb_build
fi
tb_initramfs
tb_new_run demo
tb_say "run: booting the VM with kernel $KVER (logs in ${TB_RUN#"$TB_TREE"/})"
tb_say "run: without KVM this takes 3 to 10 minutes, mostly the demo guest's boot"

DEMO_RC=
DONE=0
on_result() {
	local what rest

	read -r what _ _ rest <<<"$1"
	case $what in
	LOG) printf '%s\n' "${1#LOG }" ;;
	RAN) DEMO_RC=$rest ;;
	DONE) DONE=1 ;;
	esac
}

tb_vm_start
tb_follow on_result

rc=0
if [ $DONE = 0 ]; then
	tb_say "run: $(tb_vm_exit_reason) before the demo finished; console:"
	tb_console_tail 60
	rc=1
fi
problems=$(tb_kernel_log_problems "$TB_RUN/dmesg" "$TB_RUN/console.log" |
	tr -d '\r' | sort -u)
if [ -n "$problems" ]; then
	tb_say "run: the kernel log has errors:"
	printf '%s\n' "$problems" | head -n 20 | sed 's/^/  ! /'
	rc=1
fi
[ "${DEMO_RC:-1}" = 0 ] || rc=1
tb_say "run: elapsed $(tb_elapsed), logs in $TB_RUN"
exit $rc
