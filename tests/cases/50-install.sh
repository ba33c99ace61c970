# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Installing for real: the version in modinfo; make install / uninstall
# and dkms add / build / install / remove, each followed by modprobe by
# name (no paths) pulling in the dependencies, a device and its char
# device; and what a user sees who loads ours over an in-tree vdpa.
#
# The guest sees the host root read-only and building or installing in
# it takes minutes under TCG, so the installs and removals run on the
# host before the VM boots (tests/host-hooks/50-install.sh), into private
# roots with the real kernel tree linked in.  Here we read how each step
# went (PATH/status), load what was installed by name from a snapshot
# taken before the removal (modprobe -d PATH/installed) and check that
# after the removal the root has nothing of ours (modinfo fails again).

INST_DIR=$VDPA_TREE/tests/.build/install

inst_version() {
	sed -n 's/^#define VDPA_VERSION "\(.*\)"$/\1/p' \
		"$VDPA_TREE/include/linux/vdpa_version.h"
}

# inst_status PATH STEP...: skip or fail unless the host hook ran each
# STEP of PATH (make, dkms, intree) and it went well.
inst_status() {
	local path=$1 st s

	shift
	[ -f "$INST_DIR/$path/status" ] ||
		skip "the host hook did not run (tests/host-hooks/50-install.sh)"
	st=$(cat "$INST_DIR/$path/status")
	log "host: $(echo "$st" | tr '\n' ' ')"
	if grep -q '^SKIP' <<<"$st"; then
		skip "$(sed -n 's/^SKIP //p' <<<"$st")"
	fi
	if grep -q '^FAIL' <<<"$st"; then
		tail -n 40 "$INST_DIR/$path/log"
		fail "$path on the host: $(grep '^FAIL' <<<"$st" | head -n 1)"
	fi
	for s in "$@"; do
		grep -q "^ok $s " <<<"$st" || fail "$path: step $s did not run"
	done
}

# The vhost-vdpa char device of vdpa device inst0.
inst_chardev() {
	local d

	for d in /sys/bus/vdpa/devices/inst0/vhost-vdpa-*; do
		[ -e "$d" ] || return 1
		basename "$d"
		return 0
	done
}

# inst_modprobe ROOT ARG...: modprobe as on a system where ROOT is /: its
# modules and the modprobe.d file the install put there, whose install
# commands name the check by the path it has on the installed system, so
# a copy points them into ROOT.  -d reaches the check's own modprobe run
# through $MODPROBE_OPTIONS, as modprobe passes on -C itself.
inst_modprobe() {
	local root=$1 conf=$TEST_TMPDIR/vdpa-out-of-tree.conf

	shift
	sed "s| /usr/local/lib/vdpa/| $root/usr/local/lib/vdpa/|" \
		"$root/usr/local/lib/modprobe.d/vdpa-out-of-tree.conf" >"$conf" ||
		fail "no modprobe.d file in $root"
	MODPROBE_OPTIONS="-d $root" modprobe -C "$conf" "$@"
}

# inst_use ROOT: modprobe our modules by name from ROOT (through the
# modprobe.d check the install wrote), check that they come from its
# updates/ (and vhost_iotlb from the kernel's tree) and carry our version,
# create a device, find its char device, delete it.
inst_use() {
	local root=$1 ver m f deps

	ver=$(inst_version)
	deps=$(modprobe -d "$root" -a --show-depends vhost_vdpa vdpa_sim_net)
	printf '%s\n' "$deps"
	for m in vdpa vdpa_sim vdpa_sim_net vhost_vdpa; do
		grep -q "^insmod $root/lib/modules/[^ ]*/updates/.*/$m\.ko" \
			<<<"$deps" || fail "$m does not resolve to updates/ of $root"
	done
	grep -q "^insmod .*/kernel/.*/vhost_iotlb\.ko" <<<"$deps" ||
		fail "vhost_iotlb does not resolve to the kernel's tree"
	grep -q "^install vhost_vdpa /usr/local/lib/vdpa/vdpa-modprobe-check vhost_vdpa" \
		"$root/usr/local/lib/modprobe.d/vdpa-out-of-tree.conf" ||
		fail "no install command for vhost_vdpa in the modprobe.d file"
	inst_modprobe "$root" -a vhost_vdpa vdpa_sim_net
	for m in vdpa vdpa_sim vdpa_sim_net vhost_vdpa vhost_iotlb; do
		module_loaded "$m" || fail "$m was not pulled in"
	done
	for m in vdpa vdpa_sim vdpa_sim_net vhost_vdpa; do
		expect_eq "$(cat "/sys/module/$m/version")" "$ver" "$m version"
	done
	vdpa dev add mgmtdev vdpasim_net name inst0
	wait_for 10 inst_chardev
	f=/dev/$(inst_chardev)
	[ -c "$f" ] || fail "no char device $f"
	vdpa dev show inst0 >/dev/null
	vdpa dev del inst0
}

# inst_gone ROOT: after the removal, ROOT knows our modules no more (the
# host hook checked its modules.dep for every one of them).
inst_gone() {
	local root=$1

	! modinfo -b "$root" vdpa >/dev/null 2>&1 ||
		fail "modinfo vdpa still finds $(modinfo -b "$root" -F filename vdpa)"
	! modprobe -d "$root" -n vhost_vdpa 2>/dev/null ||
		fail "modprobe still finds vhost_vdpa after the removal"
}

# Every module we build carries the version of vdpa_version.h.
test_modinfo_version() {
	local ver kos=() ko

	ver=$(inst_version)
	[ -n "$ver" ] || fail "no VDPA_VERSION in include/linux/vdpa_version.h"
	for ko in $VDPA_TREE_KOS; do
		case $ko in *_test.ko) ;; *) kos+=("$VDPA_KO_DIR/$ko") ;; esac
	done
	[ ${#kos[@]} -gt 0 ] || fail "no module is built"
	expect_eq "$(modinfo -F version "${kos[@]}" | sort -u)" "$ver" \
		"versions of ${kos[*]##*/}"
	expect_eq "$(modinfo -F version "${kos[@]}" | wc -l)" "${#kos[@]}" \
		"number of versions"
}

# make install KDIR=... INSTALL_MOD_PATH=ROOT, then make uninstall.
test_make_install_uninstall() {
	local d=$INST_DIR/make

	inst_status make key install snapshot uninstall nothing-left
	grep -q '^updates/drivers/vhost/vhost_vdpa.ko:.*vhost_iotlb' \
		"$d/installed/lib/modules/$(uname -r)/modules.dep" ||
		fail "modules.dep: no vhost_vdpa entry with its dependencies"
	# Signed with SIGN_KEY, not by kbuild with the kernel's absent key.
	! grep -q 'SSL error' "$d/log" || fail "modules_install tried to sign"
	expect_eq "$(modinfo -F signer \
		"$d/installed/lib/modules/$(uname -r)/updates/drivers/vdpa/vdpa.ko")" \
		"vdpa test signing key" "signer of vdpa.ko"
	inst_use "$d/installed"
	unload_modules
	inst_gone "$d/root"
}

# dkms add, build, install; dkms remove --all.
test_dkms() {
	local d=$INST_DIR/dkms

	inst_status dkms add build install depmod snapshot remove \
		depmod-after-remove nothing-left rm-source
	# The host took it from `make -s version`, as dkms.conf says.
	expect_eq "$(sed -n 's/^version //p' "$d/status")" "$(inst_version)" \
		"make version"
	ls "$d/installed/lib/modules/$(uname -r)/updates/dkms/"
	# On Debian dkms signs what it builds (with the key it made).
	expect_eq "$(modinfo -F signer \
		"$d/installed/lib/modules/$(uname -r)/updates/dkms/vdpa.ko")" \
		"DKMS module signing key" "signer of vdpa.ko"
	inst_use "$d/installed"
	unload_modules
	inst_gone "$d/root"
}

# Ours over a loaded in-tree vdpa (upstream's vdpa.c built for this
# kernel): through the modprobe.d check the install wrote, modprobe fails
# with one message naming the module in the way, and nothing reaches the
# module loader (no symbol errors in the kernel log).  Without the check
# (plain modprobe -d, insmod) the user gets the loader's refusals, which
# Documentation/admin-guide.rst also quotes.
test_intree_conflict() {
	local d=$INST_DIR/intree root=$INST_DIR/make/installed err st=0 n klog

	inst_status intree build
	[ -d "$root" ] || skip "make install did not run"
	insmod "$d/vdpa.ko"
	[ ! -e /sys/module/vdpa/version ] || fail "the in-tree vdpa has a version?"

	n=$(dmesg | wc -l)
	err=$(inst_modprobe "$root" vdpa_sim_net 2>&1) || st=$?
	klog=$(dmesg | tail -n +$((n + 1)))
	log "modprobe vdpa_sim_net (installed): exit status $st, stderr:"
	printf '%s\n' "$err"
	[ "$st" -ne 0 ] || fail "modprobe vdpa_sim_net loaded over an in-tree vdpa"
	! module_loaded vdpa_sim || fail "vdpa_sim loaded over an in-tree vdpa"
	expect_eq "$(grep -c '^vdpa: ' <<<"$err")" 1 "messages of the check"
	# modprobe runs the install commands of the dependencies first: the
	# message names the first of ours it would have loaded (vdpa_sim).
	grep -q -E "^vdpa: vdpa_sim(_net)? \(out-of-tree vDPA $(inst_version)\) not loaded, conflict: the kernel's own \(in-tree\) vDPA core, module vdpa, is loaded;" \
		<<<"$err" || fail "unexpected modprobe message: $err"
	[ -z "$klog" ] || fail "the kernel log grew: $klog"

	# The same through every other module name, e.g. the bus driver.
	err=$(inst_modprobe "$root" vhost_vdpa 2>&1) && fail "vhost_vdpa loaded"
	grep -q "^vdpa: vhost_vdpa (out-of-tree vDPA [^)]*) not loaded, conflict: the kernel's own" \
		<<<"$err" || fail "unexpected modprobe message: $err"

	# Without the check: the module loader's refusals.
	n=$(dmesg | wc -l)
	st=0
	err=$(modprobe -d "$root" vdpa_sim_net 2>&1) || st=$?
	klog=$(dmesg | tail -n +$((n + 1)))
	log "modprobe -d ROOT vdpa_sim_net (no modprobe.d): exit status $st, stderr:"
	printf '%s\n' "$err"
	log "kernel log:"
	printf '%s\n' "$klog"
	[ "$st" -ne 0 ] || fail "modprobe vdpa_sim_net loaded over an in-tree vdpa"
	grep -q "could not insert 'vdpa_sim" <<<"$err" ||
		fail "unexpected modprobe message: $err"
	grep -q -E 'vdpa_sim: (disagrees about version of symbol|Unknown symbol)' \
		<<<"$klog" || fail "no symbol errors in the kernel log"
	err=$(insmod "$(module_path vdpa)" 2>&1) &&
		fail "insmod of our vdpa.ko over the in-tree one worked"
	log "insmod: $err"
	grep -q 'File exists' <<<"$err" || fail "unexpected insmod message: $err"
	rmmod vdpa
	! module_loaded vdpa || fail "rmmod vdpa left it loaded"
}

# Ours on a kernel with a built-in vDPA core: upstream's vdpa.c loaded as
# vdpa_builtin.ko owns the bus, the netlink family and the exported
# symbols, and no module named vdpa is loaded.  The modprobe check
# refuses with one message; insmod of our vdpa.ko is refused by the
# module loader with one line (a symbol exported twice).
test_builtin_conflict() {
	local d=$INST_DIR/intree root=$INST_DIR/make/installed err n klog

	inst_status intree build
	[ -d "$root" ] || skip "make install did not run"
	insmod "$d/vdpa_builtin.ko"
	[ -d /sys/bus/vdpa ] || fail "vdpa_builtin.ko registered no bus"
	! module_loaded vdpa || fail "a module named vdpa is loaded"

	err=$(inst_modprobe "$root" vhost_vdpa 2>&1) && fail "vhost_vdpa loaded"
	printf '%s\n' "$err"
	! module_loaded vdpa || fail "our vdpa loaded beside a built-in core"
	expect_eq "$(grep -c '^vdpa: ' <<<"$err")" 1 "messages of the check"
	grep -q -E "^vdpa: (vdpa|vhost_vdpa) \(out-of-tree vDPA $(inst_version)\) not loaded, conflict: the kernel has a vDPA core built in \(/sys/bus/vdpa exists\); use that one$" \
		<<<"$err" || fail "unexpected modprobe message: $err"

	n=$(dmesg | wc -l)
	err=$(insmod "$(module_path vdpa)" 2>&1) &&
		fail "our vdpa.ko loaded beside a built-in core"
	klog=$(dmesg | tail -n +$((n + 1)))
	log "insmod: $err; kernel log:"
	printf '%s\n' "$klog"
	grep -q "Invalid module format" <<<"$err" ||
		fail "unexpected insmod message: $err"
	expect_eq "$(wc -l <<<"$klog")" 1 "kernel log lines"
	grep -q "vdpa: exports duplicate symbol .* (owned by vdpa_builtin)" \
		<<<"$klog" || fail "unexpected kernel log: $klog"
	rmmod vdpa_builtin
}
