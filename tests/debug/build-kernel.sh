#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) the debug test kernel of make check-debug and print where
# it is.  Debian's linux-source-6.1 (the stock kernel's version), the
# config allnoconfig + tests/debug/debug.config, built out of tree and
# cached in
#
#   ${VDPA_DEBUG_CACHE:-/var/cache/vdpa-debug-kernel}/KEY/
#       bzImage     the kernel
#       mods/       INSTALL_MOD_PATH of modules_install (lib/modules/REL)
#       build/      the O= build tree: KDIR for M= builds of our modules
#       release     the kernel release (uname -r in the VM)
#       build.log, build-seconds
#
# KEY hashes the fragment, LAYOUT below, the source package version and
# the compiler, so a change to any of them builds a new kernel; only the
# first run pays.  Concurrent callers wait on a lock.
#
#   tests/debug/build-kernel.sh [--env] [--jobs N] [--force] [--config FILE]
#
# --config FILE builds another kernel the same way, with FILE instead of
# debug.config (tests/nested/build-kernel.sh: the small guest kernel of
# the nested QEMU tests); a fragment with CONFIG_PVH=y also gets its
# vmlinux copied next to bzImage.
#
# --env prints shell assignments (DEBUG_DIR, DEBUG_KERNEL, DEBUG_KDIR,
# DEBUG_MODROOT, DEBUG_KVER) instead of only the directory.

set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
FRAGMENT=$HERE/debug.config
SRC_PKG=linux-source-6.1
SRC_TREE=/usr/src/$SRC_PKG
SRC_TARBALL=/usr/src/$SRC_PKG.tar.xz
CACHE=${VDPA_DEBUG_CACHE:-/var/cache/vdpa-debug-kernel}
JOBS=${VDPA_DEBUG_JOBS:-2}
ENV=0
FORCE=0
# Bump when the build steps or the cache layout change (a new KEY).
LAYOUT=1

die() { printf 'build-kernel: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'build-kernel: %s\n' "$*" >&2; }

while [ $# -gt 0 ]; do
	case $1 in
	--env) ENV=1 ;;
	--jobs) JOBS=${2?--jobs needs a number}; shift ;;
	--force) FORCE=1 ;;
	--config) FRAGMENT=$(realpath "${2?--config needs a file}") || exit 1; shift ;;
	-h | --help) sed -n '4,31p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1" ;;
	esac
	shift
done

pkg_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null; }

if [ "$(dpkg-query -W -f='${db:Status-Status}' $SRC_PKG 2>/dev/null)" != installed ]; then
	say "installing $SRC_PKG"
	[ "$(id -u)" -eq 0 ] || die "$SRC_PKG is not installed and we are not root"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		$SRC_PKG bc bison flex libelf-dev libssl-dev >&2 ||
		die "apt-get install $SRC_PKG failed"
fi
for tool in bc bison flex; do
	command -v $tool >/dev/null || die "$tool is missing (apt-get install $tool)"
done
SRC_VER=$(pkg_version $SRC_PKG)
[ -n "$SRC_VER" ] || die "cannot read the version of $SRC_PKG"

KEY=$( (cat "$FRAGMENT"; echo "$LAYOUT $SRC_VER"; gcc --version | head -n 1) |
	sha256sum | cut -c1-16)
DIR=$CACHE/$SRC_VER-$KEY

report() {
	local rel

	rel=$(cat "$DIR/release")
	if [ $ENV = 1 ]; then
		printf 'DEBUG_DIR=%q\n' "$DIR"
		printf 'DEBUG_KERNEL=%q\n' "$DIR/bzImage"
		printf 'DEBUG_KDIR=%q\n' "$DIR/build"
		printf 'DEBUG_MODROOT=%q\n' "$DIR/mods"
		printf 'DEBUG_KVER=%q\n' "$rel"
	else
		printf '%s\n' "$DIR"
	fi
}

mkdir -p "$CACHE" || die "cannot create $CACHE"
exec 9>"$CACHE/.lock-$KEY"
if ! flock -n 9; then
	say "another build of this kernel runs: waiting for it"
	flock 9 || die "flock failed"
fi

if [ $FORCE = 0 ] && [ -f "$DIR/done" ]; then
	report
	exit 0
fi

# An extracted, unconfigured source tree is used as it is (read only, O=
# builds); otherwise the package's tarball is unpacked into the cache.
src=$SRC_TREE
if [ ! -f "$src/Makefile" ] || [ -e "$src/.config" ] || [ -d "$src/include/config" ]; then
	src=$CACHE/src-$SRC_VER
	if [ ! -f "$src/.unpacked" ]; then
		[ -r "$SRC_TARBALL" ] || die "no $SRC_TARBALL"
		say "unpacking $SRC_TARBALL"
		rm -rf "$src" && mkdir -p "$src" &&
			tar -xJf "$SRC_TARBALL" -C "$src" --strip-components=1 ||
			die "cannot unpack $SRC_TARBALL"
		touch "$src/.unpacked"
	fi
fi

log=$DIR/build.log
kmake() { nice -n "${VDPA_DEBUG_NICE:-10}" make -C "$src" O="$DIR/build" "$@" >>"$log" 2>&1; }
# Seconds spent by earlier, interrupted runs.
spent=0
if [ $FORCE = 0 ] && [ -f "$DIR/build/.config" ] && [ -f "$DIR/spent" ]; then
	# An interrupted build (killed, timed out): make carries on.
	read -r spent <"$DIR/spent"
	say "resuming the interrupted build in $DIR (${spent}s spent), -j$JOBS (log: $log)"
else
	rm -rf "$DIR"
	mkdir -p "$DIR/build" || die "cannot create $DIR"
	say "building the kernel of ${FRAGMENT##*/} ($SRC_PKG $SRC_VER) in $DIR, -j$JOBS (log: $log)"
	kmake KCONFIG_ALLCONFIG="$FRAGMENT" allnoconfig ||
		die "allnoconfig failed (see $log)"
	echo 0 >"$DIR/spent"
fi
start=$(date +%s)
# Keep the time spent up to date, for a resumed build's total.
trap 'echo $((spent + $(date +%s) - start)) >"$DIR/spent"' EXIT
trap 'exit 143' TERM INT
# Every line of the fragment must have survived Kconfig's dependencies.
bad=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$FRAGMENT" | while IFS= read -r l; do
	k=${l%%=*}
	if [ "${l#*=}" = n ]; then
		grep -q "^$k=" "$DIR/build/.config" && echo "$k (wanted n)"
	else
		grep -qxF "$l" "$DIR/build/.config" || echo "$l"
	fi
done)
[ -z "$bad" ] || die "options of $FRAGMENT not applied: $(echo $bad)"

kmake -j"$JOBS" bzImage modules || {
	tail -n 40 "$log" >&2
	die "kernel build failed (see $log)"
}
kmake INSTALL_MOD_PATH="$DIR/mods" modules_install || die "modules_install failed"
cp "$DIR/build/include/config/kernel.release" "$DIR/release" ||
	die "no kernel.release"
rel=$(cat "$DIR/release")
[ -d "$DIR/mods/lib/modules/$rel" ] || die "no modules for release '$rel'"
cp "$DIR/build/arch/x86/boot/bzImage" "$DIR/bzImage"
# A kernel with a PVH entry point (tests/nested): QEMU boots the vmlinux.
if grep -qx 'CONFIG_PVH=y' "$DIR/build/.config"; then
	cp "$DIR/build/vmlinux" "$DIR/vmlinux" || die "no vmlinux"
fi
cp "$DIR/build/.config" "$DIR/config"
echo $((spent + $(date +%s) - start)) >"$DIR/build-seconds"
touch "$DIR/done"
say "built $rel in $(cat "$DIR/build-seconds")s"
report
