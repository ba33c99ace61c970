#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# modprobe-setup.sh install|remove [ROOT]
#
# The modprobe side of an installation, under ROOT (default: /):
#
#   usr/local/lib/modprobe.d/vdpa-out-of-tree.conf
#       an install command for every module of the tree (`make
#       modules-list`), so that modprobe runs
#   usr/local/lib/vdpa/vdpa-modprobe-check
#       first: it refuses, with one message naming the conflict, to load
#       our modules beside another vDPA core (the kernel's own), and
#       otherwise loads the module as modprobe would have.
#
# `make install` and dkms' POST_INSTALL run `install`; `make uninstall`
# and dkms' POST_REMOVE run `remove`, which deletes both files only when
# no kernel under ROOT/lib/modules has a vdpa.ko of ours in updates/ any
# more (one install serves every kernel).

set -u -o pipefail

TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
ACTION=${1:-}
ROOT=${2:-}
CHECK=/usr/local/lib/vdpa/vdpa-modprobe-check
CONF=/usr/local/lib/modprobe.d/vdpa-out-of-tree.conf

die() { echo "modprobe-setup: $*" >&2; exit 1; }

write_conf() {
	local m

	echo "# Written by the out-of-tree vDPA's make install / dkms install"
	echo "# (scripts/modprobe-setup.sh); removed with the last of its modules."
	echo "# Each module is loaded through $CHECK, which"
	echo "# refuses to mix it with another vDPA core (the kernel's own)."
	for m in $(make -s -C "$TREE" --no-print-directory modules-list); do
		m=${m##*/}
		echo "install $m $CHECK $m \$CMDLINE_OPTS"
	done
}

# Does any kernel under ROOT still have our vdpa.ko in updates/?
installed_anywhere() {
	find "$ROOT"/lib/modules/*/updates -name 'vdpa.ko*' 2>/dev/null | grep -q .
}

case $ACTION in
install)
	install -D -m 0755 "$TREE/scripts/vdpa-modprobe-check" "$ROOT$CHECK" ||
		die "cannot install $ROOT$CHECK"
	if ! { mkdir -p "$(dirname "$ROOT$CONF")" &&
		write_conf >"$ROOT$CONF.tmp" &&
		mv -f "$ROOT$CONF.tmp" "$ROOT$CONF"; }; then
		die "cannot write $ROOT$CONF"
	fi
	grep -q '^install vdpa ' "$ROOT$CONF" || die "no module list for $ROOT$CONF"
	;;
remove)
	installed_anywhere && exit 0
	rm -f "$ROOT$CONF" "$ROOT$CHECK"
	rmdir "$(dirname "$ROOT$CHECK")" 2>/dev/null
	rmdir "$(dirname "$ROOT$CONF")" 2>/dev/null
	exit 0
	;;
*)
	echo "usage: $0 install|remove [ROOT]" >&2
	exit 2
	;;
esac
