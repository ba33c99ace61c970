#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host side of tests/cases/50-install.sh.  tests/check.sh runs it as
# `50-install.sh setup` before the VM boots and `50-install.sh teardown`
# after the VM is gone (always: also when a step or the run fails, or on
# ^C).  Environment: TB_TREE, KVER (the kernel the VM boots), TB_KO_DIR
# (where check.sh built our modules for it).
#
# The guest sees the host root read-only and installing there takes
# minutes under TCG, so both install paths run here, with the same
# commands a user types, into private roots under tests/.build/install
# (the machine's /lib/modules and /var/lib/dkms are never touched):
#
#   make/    `make install KDIR=... BUILD_DIR=... INSTALL_MOD_PATH=make/root
#            SIGN_KEY=... SIGN_CERT=...` (BUILD_DIR: TB_KO_DIR, built by
#            check.sh; the modules into updates/, signed with a key
#            made here, then depmod, and the modprobe.d check of
#            scripts/modprobe-setup.sh), a snapshot of the result to
#            make/installed, then `make uninstall` with the same arguments.
#   dkms/    `dkms add`, `dkms build -k KVER`, `dkms install -k KVER`
#            (--dkmstree, --sourcetree, --installtree point into dkms/,
#            the module signing key too), depmod, a snapshot to
#            dkms/installed, then `dkms remove --all` and depmod.
#   intree/  upstream's drivers/vdpa/vdpa.c from Debian's linux-source
#            built as an "in-tree" vdpa.ko (when the source is there), to
#            see what a user gets who loads ours over it, and once more as
#            vdpa_builtin.ko, standing in for a built-in core.
#
# Each root's lib/modules/KVER/kernel links to the real kernel tree, so
# our modules' dependencies on distro modules (vhost_iotlb) resolve in
# modules.dep as on a real system.  After each removal, nothing-left
# checks that no module of ours stays in the root, modules.dep or `dkms
# status`, and no modprobe.d check.  Each step appends "ok STEP" or
# "FAIL STEP" to PATH/status and its output to PATH/log; the guest's tests
# report them and load the snapshots by name with `modprobe -d
# PATH/installed`.

set -u -o pipefail

DIR=$TB_TREE/tests/.build/install
KDIR=/usr/src/linux-headers-$KVER
: "${TB_KO_DIR:?TB_KO_DIR is not set}"

# step PATH NAME CMD...: run CMD, log its output, record the outcome.
step() {
	local path=$1 name=$2 t0=$SECONDS

	shift 2
	echo "== $name: $*" >>"$DIR/$path/log"
	if "$@" >>"$DIR/$path/log" 2>&1; then
		echo "ok $name $((SECONDS - t0))" >>"$DIR/$path/status"
	else
		echo "FAIL $name $((SECONDS - t0))" >>"$DIR/$path/status"
		return 1
	fi
}

# stage_root ROOT: an empty lib/modules/KVER whose kernel/ is the real one.
stage_root() {
	local mods=$1/lib/modules/$KVER f

	mkdir -p "$mods"
	ln -s "/lib/modules/$KVER/kernel" "$mods/kernel"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ ! -e "/lib/modules/$KVER/$f" ] || cp "/lib/modules/$KVER/$f" "$mods/"
	done
}

# What scripts/modprobe-setup.sh installs under a root.
MODPROBE_FILES=(usr/local/lib/modprobe.d/vdpa-out-of-tree.conf
	usr/local/lib/vdpa/vdpa-modprobe-check)

# modprobe_files ROOT: the install put the modprobe.d check under ROOT.
modprobe_files() {
	local f

	for f in "${MODPROBE_FILES[@]}"; do
		[ -f "$1/$f" ] || { echo "no $1/$f"; return 1; }
	done
	grep '^install vhost_vdpa ' "$1/${MODPROBE_FILES[0]}"
}

# nothing_left ROOT: no module of ours in ROOT's updates/ or modules.dep,
# no modprobe.d check.
nothing_left() {
	local mods=$1/lib/modules/$KVER m f

	for f in "${MODPROBE_FILES[@]}"; do
		[ ! -e "$1/$f" ] || { echo "$1/$f is left"; return 1; }
	done

	if find "$mods/updates" -name '*.ko*' 2>/dev/null | grep .; then
		echo "modules left in $mods/updates"
		return 1
	fi
	for m in $(make -s -C "$TB_TREE" --no-print-directory modules-list); do
		if grep -E "(^|/)${m##*/}\.ko" "$mods/modules.dep"; then
			echo "${m##*/} is still in modules.dep"
			return 1
		fi
	done
}

setup_make() {
	local root=$DIR/make/root d=$DIR/make

	stage_root "$root"
	# A signing key of our own, as a user's machine owner key.
	step make key openssl req -new -x509 -nodes -days 2 \
		-subj "/CN=vdpa test signing key" -newkey rsa:2048 \
		-keyout "$d/key.pem" -outform DER -out "$d/cert.der" &&
	step make install make -C "$TB_TREE" install KDIR="$KDIR" \
		BUILD_DIR="$TB_KO_DIR" INSTALL_MOD_PATH="$root" SIGN_KEY="$d/key.pem" \
		SIGN_CERT="$d/cert.der" &&
	step make modprobe-files modprobe_files "$root" &&
	step make snapshot cp -a "$root" "$DIR/make/installed" &&
	step make uninstall make -C "$TB_TREE" uninstall KDIR="$KDIR" \
		BUILD_DIR="$TB_KO_DIR" INSTALL_MOD_PATH="$root" &&
	step make nothing-left nothing_left "$root"
}

dkms_nothing_left() {
	nothing_left "$DIR/dkms/root" || return 1
	if dkms status "${DKMS_OPTS[@]}" | grep -E '^vdpa[/,]'; then
		echo "dkms status still lists vdpa"
		return 1
	fi
}

setup_dkms() {
	local d=$DIR/dkms ver

	if ! command -v dkms >/dev/null; then
		echo "FAIL dkms-installed 0" >>"$d/status"
		return 1
	fi
	ver=$(make -s -C "$TB_TREE" version)
	echo "version $ver" >>"$d/status"
	# What `dkms add .` would copy: the tree without build products.
	mkdir -p "$d/pkg" "$d/src" "$d/var"
	tar -C "$TB_TREE" --exclude=./.git --exclude=./tests/.build \
		--exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' -cf - . |
		tar -C "$d/pkg" -xf -
	stage_root "$d/root"
	DKMS_OPTS=(--dkmstree "$d/var" --sourcetree "$d/src"
		--installtree "$d/root/lib/modules")
	# dkms signs what it builds, with a key it makes if there is none.
	export mok_signing_key=$d/mok.key mok_certificate=$d/mok.pub
	step dkms add dkms add "$d/pkg" "${DKMS_OPTS[@]}" &&
	step dkms build dkms build "vdpa/$ver" -k "$KVER" "${DKMS_OPTS[@]}" &&
	step dkms install dkms install "vdpa/$ver" -k "$KVER" --no-depmod \
		"${DKMS_OPTS[@]}" &&
	step dkms depmod depmod -b "$d/root" "$KVER" &&
	step dkms modprobe-files modprobe_files "$d/root" &&
	step dkms snapshot cp -a "$d/root" "$d/installed" &&
	step dkms remove dkms remove "vdpa/$ver" --all --no-depmod \
		"${DKMS_OPTS[@]}" &&
	step dkms depmod-after-remove depmod -b "$d/root" "$KVER" &&
	step dkms nothing-left dkms_nothing_left &&
	# dkms remove keeps its copy of the source (the admin guide says so).
	step dkms rm-source rm -r "$d/src/vdpa-$ver"
}

# Upstream's vdpa core, built out of tree for KVER: a stand-in for a kernel
# whose own vDPA is loaded.
setup_intree() {
	local d=$DIR/intree src

	src=${KVER%%-*}
	src=linux-source-${src%.*}
	if [ -f "/usr/src/$src/drivers/vdpa/vdpa.c" ]; then
		cp "/usr/src/$src/drivers/vdpa/vdpa.c" "$d/"
	elif [ -f "/usr/src/$src.tar.xz" ]; then
		step intree unpack tar -C "$d" --strip-components=3 -xJf \
			"/usr/src/$src.tar.xz" "$src/drivers/vdpa/vdpa.c" || return 0
	else
		echo "SKIP no upstream source: /usr/src/$src (apt-get install $src)" \
			>>"$d/status"
		return 0
	fi
	# The same source once more as vdpa_builtin.ko: a vDPA core that is
	# not a module named vdpa, as a built-in one (CONFIG_VDPA=y) looks.
	cp "$d/vdpa.c" "$d/builtin.c"
	printf 'obj-m := vdpa.o vdpa_builtin.o\nvdpa_builtin-y := builtin.o\n' \
		>"$d/Kbuild"
	step intree build make -C "$KDIR" M="$d" modules
}

setup() {
	local p

	rm -rf "$DIR"
	for p in make dkms intree; do
		mkdir -p "$DIR/$p"
		: >"$DIR/$p/status"
		: >"$DIR/$p/log"
	done
	setup_make
	setup_dkms
	setup_intree
	return 0
}

teardown() {
	# Whatever setup left half done goes with it.  The status becomes
	# status.last, so that a later run without this hook (make check-debug,
	# another kernel) skips the tests instead of reading stale results;
	# the logs stay for a look after the run.
	local p

	for p in make dkms intree; do
		[ -d "$DIR/$p" ] || continue
		find "$DIR/$p" -mindepth 1 -maxdepth 1 ! -name log ! -name status \
			! -name status.last -exec rm -rf {} +
		[ ! -f "$DIR/$p/status" ] || mv -f "$DIR/$p/status" "$DIR/$p/status.last"
	done
}

case ${1:-} in
setup) setup ;;
teardown) teardown ;;
*) echo "usage: $0 setup|teardown" >&2; exit 2 ;;
esac
