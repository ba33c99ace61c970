#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# modules-list.sh CONFIG_X=m...: every module the tree builds with these
# options, as DIR/NAME (relative to the top of the tree), one a line.
#
# It follows the obj- lines of the Kbuild files from the top one down, as
# kbuild does: a directory or NAME.o counts if its option is one of the
# arguments (or it is obj-y / obj-m).  The top Makefile passes its
# VDPA_CONFIGS; `make modules-list` prints the result, which make
# uninstall and dkms.conf use, so a new module needs no edit here.

set -u -o pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

declare -A ON=()
for c in "$@"; do
	case $c in
	CONFIG_*=m | CONFIG_*=y) ON[${c%%=*}]=1 ;;
	esac
done

# walk DIR: the modules of DIR/Kbuild and of the directories it names.
walk() {
	local dir=$1 line cfg w re

	[ -f "$dir/Kbuild" ] || return 0
	re='^obj-(\$\((CONFIG_[A-Za-z0-9_]+)\)|y|m)[[:space:]]*[:+]?=(.*)$'
	# Continuation lines joined, comments dropped.
	sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' -e 's/#.*//' "$dir/Kbuild" |
		while read -r line; do
			[[ $line =~ $re ]] || continue
			cfg=${BASH_REMATCH[2]}
			[ -z "$cfg" ] || [ -n "${ON[$cfg]:-}" ] || continue
			for w in ${BASH_REMATCH[3]}; do
				case $w in
				*/) walk "$dir/${w%/}" ;;
				*.o) printf '%s/%s\n' "${dir#./}" "${w%.o}" ;;
				esac
			done
		done
}

walk .
