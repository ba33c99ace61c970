#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of tests/cases/40-qemu.sh: the small guest kernel of the
# nested QEMU tests.  tests/check.sh runs `40-qemu.sh setup` before the
# VM boots and `40-qemu.sh teardown` after it is gone.  Environment:
# TB_TREE.
#
# setup builds the kernel once (the first run pays some minutes, niced:
# VDPA_DEBUG_NICE, default 19 here; tests/nested/build-kernel.sh:
# Debian's linux-source-6.1 with tests/nested/nested.config, cached and
# locked like the debug kernel) and writes the cache directory holding its
# vmlinux to tests/.build/nested/dir, its output to
# tests/.build/nested/log; the guest's test reads them (a missing dir
# fails the tests that need the kernel, with the log).  teardown removes
# dir: a later run reads no stale path.

set -u -o pipefail

DIR=$TB_TREE/tests/.build/nested

case ${1:-} in
setup)
	mkdir -p "$DIR" && rm -f "$DIR/dir" || exit 1
	# niced: the machine may be shared (VDPA_DEBUG_NICE overrides)
	d=$(VDPA_DEBUG_NICE=${VDPA_DEBUG_NICE:-19} \
		"$TB_TREE/tests/nested/build-kernel.sh" 2>"$DIR/log") || {
		tail -n 20 "$DIR/log"
		exit 1
	}
	[ -r "$d/vmlinux" ] || { echo "no $d/vmlinux" | tee -a "$DIR/log"; exit 1; }
	printf '%s\n' "$d" >"$DIR/dir"
	echo "40-qemu: small guest kernel $(cat "$d/release") in $d (built in $(cat "$d/build-seconds")s)"
	;;
teardown) rm -f "$DIR/dir" ;;
*) echo "usage: $0 setup|teardown" >&2; exit 2 ;;
esac
