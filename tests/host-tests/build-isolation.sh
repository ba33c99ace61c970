#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side test build/isolation: builds of the modules for two kernels
# run at the same time without sharing an object.  tests/check-debug.sh
# runs it (it has both kernels at hand: Debian's headers and the debug
# kernel's build tree) before the VM boots.
#
#   tests/host-tests/build-isolation.sh KDIR_A KDIR_B WORKDIR
#
# Starts `make modules KDIR=KDIR_x BUILD_DIR=WORKDIR/<release of x>` for
# both kernels at once, from empty build directories, as two test-bed
# runs do (three modules only, vdpa, vdpa_sim and vdpa_sim_net, which
# use each other's symbols: enough to overlap the compilers and modpost,
# at a third of the time), then checks that both builds succeeded; that
# each made exactly those modules; that every .ko's vermagic names its
# own kernel's release; and that no file under drivers/ or include/ of
# the source tree changed.  Prints what it found; exit status 0 pass,
# 1 fail, 77 skip (both trees are the same kernel).

set -u -o pipefail

[ $# -eq 3 ] || { echo "usage: build-isolation.sh KDIR_A KDIR_B WORKDIR" >&2; exit 2; }
TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P) || exit 1
WORK=$3
bad=0

fail() {
	printf 'FAIL: %s\n' "$*"
	bad=1
}

# The release modules built against KDIR $1 carry in their vermagic.
release() {
	sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$1/include/generated/utsrelease.h" 2>/dev/null | grep .
}

rel_a=$(release "$1") || { echo "no kernel release in $1"; exit 1; }
rel_b=$(release "$2") || { echo "no kernel release in $2"; exit 1; }
if [ "$rel_a" = "$rel_b" ]; then
	echo "skip: both trees are kernel $rel_a"
	exit 77
fi

rm -rf "$WORK" && mkdir -p "$WORK" || exit 1
touch "$WORK/start"
CONFIGS='CONFIG_VDPA=m CONFIG_VDPA_SIM=m CONFIG_VDPA_SIM_NET=m'
expected=$(make -s -C "$TREE" --no-print-directory VDPA_CONFIGS="$CONFIGS" \
	modules-list | sort)
[ -n "$expected" ] || { echo "make modules-list printed nothing"; exit 1; }

pids=()
for k in "$1:$rel_a" "$2:$rel_b"; do
	kdir=${k%%:*}
	rel=${k#*:}
	echo "build: make modules KDIR=$kdir BUILD_DIR=$WORK/$rel"
	make -C "$TREE" -j2 KDIR="$kdir" BUILD_DIR="$WORK/$rel" \
		VDPA_CONFIGS="$CONFIGS" modules \
		>"$WORK/$rel.log" 2>&1 &
	pids+=($!)
done
i=0
for rel in "$rel_a" "$rel_b"; do
	if ! wait "${pids[$i]}"; then
		fail "the build for $rel failed; the end of $WORK/$rel.log:"
		tail -n 20 "$WORK/$rel.log" | sed 's/^/  | /'
	fi
	i=$((i + 1))
done

for rel in "$rel_a" "$rel_b"; do
	dir=$WORK/$rel
	built=$(cd "$dir" 2>/dev/null && find drivers -name '*.ko' | sed 's/\.ko$//' | sort)
	[ "$built" = "$expected" ] ||
		fail "$rel: built [${built//$'\n'/ }], expected [${expected//$'\n'/ }]"
	n=0
	for m in $built; do
		magic=$(modinfo -F vermagic "$dir/$m.ko")
		if [ "${magic%% *}" != "$rel" ]; then
			fail "$rel: $m.ko has vermagic '$magic'"
		else
			n=$((n + 1))
		fi
	done
	echo "$rel: $n modules with vermagic $rel"
done

changed=$(cd "$TREE" && find drivers include -newer "$WORK/start" ! -type d)
[ -z "$changed" ] || fail "files in the source tree changed: ${changed//$'\n'/ }"

[ $bad = 0 ] && echo "both builds ran at once and kept to their own directories"
exit $bad
