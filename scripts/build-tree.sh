#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-tree.sh DIR: make (or bring up to date) DIR as a place to build
# the modules in, apart from the source tree: `make BUILD_DIR=DIR` runs
# kbuild with M=DIR, so every object, .ko, modules.order and
# Module.symvers lands in DIR and none in the sources.  One such
# directory per kernel (the test bed uses tests/.build/<release>/) lets
# builds for different kernels run at the same time.
#
# kbuild of 6.1 reads an external module's sources from the directory it
# writes to (M=), so DIR mirrors the tree: real directories under
# drivers/, a symlink for each source file in them, and symlinks to the
# top Kbuild files and to include/ (which holds no build product).  Make
# follows the links, so an edited source is rebuilt; a source added or
# removed since the last run gains or loses its link here.

set -u -o pipefail

[ $# -eq 1 ] || { echo "usage: build-tree.sh DIR" >&2; exit 2; }
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P) || exit 1
mkdir -p "$1" || exit 1
dst=$(cd "$1" && pwd -P) || exit 1
case $dst/ in
"$src"/drivers/* | "$src"/include/*)
	echo "build-tree.sh: $dst is inside the sources" >&2
	exit 1
	;;
esac

# link TARGET NAME: NAME a symlink to TARGET, unless it already is one.
link() {
	[ "$(readlink "$2")" = "$1" ] && return 0
	rm -rf "$2" && ln -s "$1" "$2"
}

link "$src/Kbuild" "$dst/Kbuild" &&
	link "$src/Kbuild.include" "$dst/Kbuild.include" &&
	link "$src/include" "$dst/include" || exit 1

(cd "$src" && find drivers -type d) | while IFS= read -r d; do
	[ -d "$dst/$d" ] || mkdir -p "$dst/$d" || exit 1
done || exit 1
# Sources only: what an in-tree build left in drivers/ is not linked.
(cd "$src" && find drivers -type f \( -name '*.[chS]' ! -name '*.mod.c' \
	-o -name Kbuild -o -name Makefile -o -name Kconfig \)) |
	while IFS= read -r f; do
		link "$src/$f" "$dst/$f" || exit 1
	done || exit 1
# Links whose source is gone.
find "$dst/drivers" -xtype l -delete
