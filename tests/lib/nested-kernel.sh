#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nested-kernel.sh OUT [KVER]: the kernel for the nested guest.  Writes to
# OUT the uncompressed vmlinux inside /boot/vmlinuz-KVER (default: the
# running kernel) if it is an ELF with a PVH entry point, which QEMU boots
# directly; otherwise copies the bzImage.  Under TCG inside TCG, the
# bzImage's own XZ decompression costs the nested guest a minute or more;
# unpacking it here with xz costs seconds.  Prints "pvh" or "bzimage".

set -eu -o pipefail

out=${1:?usage: nested-kernel.sh OUT [KVER]}
kver=${2:-$(uname -r)}
bz=/boot/vmlinuz-$kver

[ -r "$bz" ] || { echo "nested-kernel: $bz is not readable" >&2; exit 1; }

# unpack OFFSET TOOL...: decompress the payload starting at OFFSET.  The
# payload is followed by other data, so the tool's complaint about trailing
# garbage (and its exit status) is ignored; the ELF check below decides.
unpack() {
	local off=$1

	shift
	tail -c +$((off + 1)) "$bz" | "$@" 2>/dev/null >"$out" || true
}

is_pvh_elf() {
	[ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = '177ELF' ] &&
		command -v readelf >/dev/null &&
		readelf -n "$out" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)'
}

for fmt in xz gzip zstd; do
	case $fmt in
	xz) magic='\xfd7zXZ\x00'; tool=(xz -dc) ;;
	gzip) magic='\x1f\x8b\x08'; tool=(gzip -dc) ;;
	zstd) magic='\x28\xb5\x2f\xfd'; tool=(zstd -qdc) ;;
	esac
	command -v "${tool[0]}" >/dev/null || continue
	for off in $(LC_ALL=C grep -obUaP "$magic" "$bz" | cut -d: -f1 | head -n 3); do
		unpack "$off" "${tool[@]}"
		if is_pvh_elf; then
			echo pvh
			exit 0
		fi
	done
done
cp "$bz" "$out"
echo bzimage
