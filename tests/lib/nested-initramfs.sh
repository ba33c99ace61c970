#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nested-initramfs.sh OUT [KVER]: build the initramfs of the nested guest
# that QEMU boots on a vhost-vdpa netdev (tests/cases/40-qemu.sh, the
# `make run` demo).  It holds a static busybox, /init (nested-init.sh) and
# virtio_pci, virtio_net and their dependencies from /lib/modules/KVER
# (default: the running kernel; "-": no module, for the small kernel of
# tests/nested, which has everything built in), decompressed if needed.
# The cpio is not compressed: the nested guest runs under TCG inside TCG,
# where unpacking gzip would cost seconds.  Needs busybox-static, cpio
# and kmod.

set -eu -o pipefail

out=${1:?usage: nested-initramfs.sh OUT [KVER]}
kver=${2:-$(uname -r)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bb=/bin/busybox

[ -x "$bb" ] || { echo "nested-initramfs: $bb missing (busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
	"$root/mods"
cp "$bb" "$root/bin/busybox"
cp "$here/nested-init.sh" "$root/init"
chmod 755 "$root/init"

# "insmod PATH" lines in load order, each module once ("builtin" lines,
# for a kernel with virtio built in, need nothing)
for m in virtio_pci virtio_net; do
	[ "$kver" = - ] || modprobe -S "$kver" --show-depends "$m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$root/paths"
while read -r p; do
	m=${p##*/}
	m=${m%%.ko*}
	case $p in
	*.ko.xz) xz -dc "$p" >"$root/mods/$m.ko" ;;
	*.ko.zst) zstd -qdc "$p" >"$root/mods/$m.ko" ;;
	*.ko.gz) gzip -dc "$p" >"$root/mods/$m.ko" ;;
	*) cp "$p" "$root/mods/$m.ko" ;;
	esac
	echo "$m" >>"$root/mods/order"
done <"$root/paths"
touch "$root/mods/order"
rm "$root/paths"

(cd "$root" && find . | cpio -o -H newc --quiet) >"$out"
