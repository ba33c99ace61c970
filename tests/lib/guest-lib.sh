# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers for test cases.  The guest runner sources this file, then the
# case file, then runs one test_<name> function under `set -e` in a fresh
# bash, cwd a fresh temp dir.  Exit 0 = pass, 77 = skip, else fail.
#
# Fixed API (see Documentation/testing.rst):
#   $VDPA_TREE                  absolute path of the tree under test
#   $VDPA_KO_DIR                where its modules were built for this
#                               kernel (drivers/.../*.ko below it)
#   load_modules NAME...        load our modules (vdpa, vdpa_sim, ...) and
#                               their dependencies; idempotent
#   unload_modules              delete every vdpa device, rmmod all of ours
#   expect_eq ACTUAL EXPECTED [LABEL]
#                               return 1 with a unified diff on mismatch
#   expect_fail STATUS STDERR -- CMD ARGS...
#                               run CMD; fail unless its exit status is
#                               STATUS and its stderr is STDERR (trailing
#                               newlines ignored, stdout ignored)
#   fail MSG                    print MSG to stderr, return 1
#   skip MSG                    print MSG, exit 77
#   as_unprivileged CMD ARGS... run CMD with every capability dropped
#
# Extras:
#   log MSG...                  print "# MSG" (progress in the test log)
#   module_path NAME            path of our module NAME's .ko
#   have_module NAME            true if our module NAME was built
#   fuzz_tool NAME              path of tools/testing/fuzz's NAME (built
#                               here if the host did not)
#   module_loaded NAME          true if module NAME is loaded
#   our_modules                 our module names (listed and built), in
#                               load order
#   vdpa_devices                names of all vdpa devices, one a line
#   del_all_devices             `vdpa dev del` every vdpa device
#   wait_for SECS CMD...        retry CMD every 0.1 s until it succeeds;
#                               fail after SECS seconds
#   require_cmd CMD...          skip unless every CMD is installed
#   udevd_start_private [ARG...], udevd_stop_private
#                               a systemd-udevd with our udev rule only, in
#                               a private mount namespace (guest-udev.sh)
#
# Environment: $VDPA_TREE, $TEST_NAME (e.g. 00-smoke/load_unload),
# $TEST_TMPDIR (the cwd), $VDPA_RESULTS (the results share),
# $TEST_DEADLINE (the guest's time, in seconds since the epoch, when the
# runner kills the test: a wait can give up before it, with its reason),
# $VDPA_KO_DIR (where the host built our modules for this kernel,
# tests/.build/<release>; the tree for a plain make) and $VDPA_MODTREE:
# where the modules under test are (VDPA_KO_DIR unless make bench boots
# upstream's reference modules, built by tests/lib/upstream-ref.sh with
# the same layout).

: "${VDPA_TREE:?VDPA_TREE is not set}"
: "${VDPA_KO_DIR:=$VDPA_TREE}"
: "${VDPA_MODTREE:=$VDPA_KO_DIR}"

# Our modules, in load order; unload order is the reverse.
VDPA_MODULES=(vdpa vdpa_sim vdpa_sim_net vdpa_sim_blk virtio_vdpa vhost_vdpa vduse)

# Our modules each module needs (besides what modinfo says).
declare -A VDPA_MODULE_DEPS=(
	[vdpa_sim]="vdpa"
	[vdpa_sim_net]="vdpa_sim"
	[vdpa_sim_blk]="vdpa_sim"
	[vhost_vdpa]="vdpa"
	[virtio_vdpa]="vdpa"
	[vduse]="vdpa"
)

log() { printf '# %s\n' "$*"; }

# fail MSG: say why the test fails ("fail: MSG", the first of which the
# host shows on the FAIL line) and return 1 (the caller's `|| fail ...`
# then ends the test under set -e).
fail() {
	printf 'fail: %s\n' "$*" >&2
	return 1
}

# The ERR trap of every test (set -eE): a command that fails outside a
# condition ends the test; say which, at which line, so that a test that
# stops without a fail message still says why.  Not in subshells and
# command substitutions, whose failures their caller judges.
on_test_err() {
	local rc=$1 cmd=$2 where=$3

	[ "$BASH_SUBSHELL" = 0 ] || return 0
	# fail has said why; a function's `return N` is named by its line
	case $cmd in fail\ * | fail) return 0 ;; esac
	printf 'fail: status %s from: %s (%s)\n' "$rc" "$cmd" "$where" >&2
}

skip() {
	printf 'skip: %s\n' "$*"
	exit 77
}

# fuzz_tool NAME: the path of program NAME of tools/testing/fuzz (vdpa-fuzz,
# vdpa-abuse, vdpa-stall), built on the host by `make tools`; else built
# here once per boot into /tmp (the tree is read-only in the guest).
FUZZ_TOOL_BUILD=/tmp/vdpa-fuzz-build

fuzz_tool() {
	local b=$VDPA_TREE/tools/testing/fuzz/build

	if [ -x "$b/$1" ]; then
		printf '%s\n' "$b/$1"
		return 0
	fi
	if [ ! -x "$FUZZ_TOOL_BUILD/$1" ]; then
		command -v make >/dev/null && command -v gcc >/dev/null ||
			skip "$1 is not built and no compiler here"
		make -s -C "$VDPA_TREE/tools/testing/fuzz" B="$FUZZ_TOOL_BUILD" \
			>"$TEST_TMPDIR/build.log" 2>&1 ||
			{ cat "$TEST_TMPDIR/build.log"; fail "cannot build $1"; }
	fi
	printf '%s\n' "$FUZZ_TOOL_BUILD/$1"
}

require_cmd() {
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is not installed"
	done
}

# Paths of every .ko built, relative to VDPA_KO_DIR (the runner computes
# it once and exports it).
if [ -z "${VDPA_TREE_KOS+x}" ]; then
	VDPA_TREE_KOS=$(cd "$VDPA_MODTREE" && find drivers -name '*.ko' 2>/dev/null)
fi

# _ko_of NAME: the path of our module NAME's .ko in _KO (no fork: tests
# load modules all the time, and a fork costs a lot in a TCG guest).
_ko_of() {
	local m=${1//-/_} p ko

	case $m in
	vdpa) p=drivers/vdpa/vdpa.ko ;;
	vdpa_sim) p=drivers/vdpa/vdpa_sim/vdpa_sim.ko ;;
	vdpa_sim_net) p=drivers/vdpa/vdpa_sim/vdpa_sim_net.ko ;;
	vdpa_sim_blk) p=drivers/vdpa/vdpa_sim/vdpa_sim_blk.ko ;;
	vhost_vdpa) p=drivers/vhost/vhost_vdpa.ko ;;
	virtio_vdpa) p=drivers/virtio/virtio_vdpa.ko ;;
	*)
		p=drivers/$m.ko
		for ko in $VDPA_TREE_KOS; do
			[ "${ko##*/}" = "$m.ko" ] && p=$ko && break
		done
		;;
	esac
	_KO=$VDPA_MODTREE/$p
}

module_path() {
	_ko_of "$1"
	printf '%s\n' "$_KO"
}

# small_guest_kernel: SMALL_KERNEL, the vmlinux (PVH entry point) of the
# small kernel for nested guests (tests/nested: virtio and the rest built
# in, one CPU, boots in seconds under nested TCG), which the host hook
# tests/host-hooks/40-qemu.sh (45-libvirt.sh too) built before the VM
# booted; its cache directory is in tests/.build/nested/dir.  Fails with
# the end of the hook's log if there is none.
small_guest_kernel() {
	local d=$VDPA_TREE/tests/.build/nested dir

	if ! read -r dir <"$d/dir" 2>/dev/null || [ ! -r "$dir/vmlinux" ]; then
		[ ! -r "$d/log" ] || tail -n 20 "$d/log"
		fail "no small guest kernel: the host hook tests/host-hooks/40-qemu.sh setup failed"
		return 1
	fi
	SMALL_KERNEL=$dir/vmlinux
	log "small guest kernel: $SMALL_KERNEL ($(cat "$dir/release"), built in $(cat "$dir/build-seconds")s)"
}

have_module() { _ko_of "$1" && [ -f "$_KO" ]; }

module_loaded() { [ -e "/sys/module/${1//-/_}/initstate" ]; }

# Our modules: the listed ones first, then any other built in the tree, in
# load order.
our_modules() {
	local ko m

	printf '%s\n' "${VDPA_MODULES[@]}"
	for ko in $VDPA_TREE_KOS; do
		m=${ko##*/}
		m=${m%.ko}
		_is_listed_module "$m" || printf '%s\n' "$m"
	done
}

_is_listed_module() {
	local x

	for x in "${VDPA_MODULES[@]}"; do
		[ "$x" = "$1" ] && return 0
	done
	return 1
}

# True if NAME is one of our modules (listed, or built in the tree).
_is_our_module() {
	local m=${1//-/_} ko

	_is_listed_module "$m" && return 0
	for ko in $VDPA_TREE_KOS; do
		[ "${ko##*/}" = "$m.ko" ] && return 0
	done
	return 1
}

# Per boot: what modinfo and modprobe found.  Each run of them takes a
# second or more in a TCG guest (libkmod reads its indexes over 9p), and
# every test loads our modules afresh.
_KMOD_CACHE=/run/vdpa-test-kmod
[ -d "$_KMOD_CACHE" ] || mkdir -p "$_KMOD_CACHE" 2>/dev/null || _KMOD_CACHE=

# _ko_depends KO: the modules KO depends on (modinfo -F depends) in
# _DEPS, a word each, remembered for the boot by the file's path.
_ko_depends() {
	local c=$_KMOD_CACHE/depends${1//\//_}

	_DEPS=
	if [ -n "$_KMOD_CACHE" ] && [ -f "$c" ]; then
		read -r _DEPS <"$c" || true
		return 0
	fi
	_DEPS=$(modinfo -F depends "$1" 2>/dev/null)
	_DEPS=${_DEPS//,/ }
	[ -z "$_KMOD_CACHE" ] || printf '%s\n' "$_DEPS" >"$c"
}

# _have_kernel_module NAME: NAME (a module of the kernel's, not ours) is
# loaded, or built in (which a modprobe of it found earlier this boot).
_have_kernel_module() {
	local m=${1//-/_}

	[ -e "/sys/module/$m/initstate" ] && return 0
	[ -n "$_KMOD_CACHE" ] && [ -e "$_KMOD_CACHE/builtin-$m" ] && return 0
	modprobe -q "$m" || return 1
	[ -e "/sys/module/$m/initstate" ] || [ -z "$_KMOD_CACHE" ] ||
		: >"$_KMOD_CACHE/builtin-$m"
	return 0
}

_load_one() {
	local m=${1//-/_} ko dep

	module_loaded "$m" && return 0
	_ko_of "$m"
	ko=$_KO
	[ -f "$ko" ] || fail "load_modules: $m is not built ($ko missing)" ||
		return 1
	_ko_depends "$ko"
	for dep in ${VDPA_MODULE_DEPS[$m]:-} $_DEPS; do
		if _is_our_module "$dep"; then
			_load_one "$dep" || return 1
		elif ! _have_kernel_module "$dep"; then
			fail "load_modules: modprobe $dep (needed by $m) failed" ||
				return 1
		fi
	done
	if ! insmod "$ko"; then
		dmesg | tail -n 5 >&2
		fail "load_modules: insmod $ko failed" || return 1
	fi
}

# sim_knobs: the simulators' debugfs knobs (vdpa_sim/<name>/) for devices
# added from now on; vdpa_sim's debugfs parameter is off by default.
sim_knobs() {
	echo 1 >/sys/module/vdpa_sim/parameters/debugfs
}

load_modules() {
	local m

	for m in "$@"; do
		_load_one "$m" || return 1
	done
}

vdpa_devices() {
	local d

	for d in /sys/bus/vdpa/devices/*; do
		[ -e "$d" ] && printf '%s\n' "${d##*/}"
	done
	return 0
}

del_all_devices() {
	local d rc=0

	# names may hold spaces and glob characters: a glob's words stay whole
	for d in /sys/bus/vdpa/devices/*; do
		[ -e "$d" ] || continue
		d=${d##*/}
		vdpa dev del "$d" || { echo "vdpa dev del $d failed" >&2; rc=1; }
	done
	return $rc
}

unload_modules() {
	local rc=0 mods=() m i pass

	del_all_devices || rc=1
	_our_modules_array
	# Two passes: a module others still use (upstream's vringh, listed
	# after its users) waits for the second.
	for pass in 1 2; do
		for ((i = ${#mods[@]} - 1; i >= 0; i--)); do
			m=${mods[i]}
			module_loaded "$m" || continue
			[ $pass = 2 ] || _no_holders "$m" || continue
			_unload_one "$m" || rc=1
		done
	done
	return $rc
}

# _our_modules_array: our_modules into the array mods, without a fork.
_our_modules_array() {
	local ko m

	mods=("${VDPA_MODULES[@]}")
	for ko in $VDPA_TREE_KOS; do
		m=${ko##*/}
		m=${m%.ko}
		_is_listed_module "$m" || mods+=("$m")
	done
}

# _no_holders NAME: no module uses module NAME.
_no_holders() {
	local h

	for h in "/sys/module/$1/holders"/*; do
		[ -e "$h" ] && return 1
	done
	return 0
}

# _unload_one NAME: rmmod NAME; a release may still be in flight, so
# retry for a few seconds.
_unload_one() {
	local n

	for ((n = 0; n < 50; n++)); do
		rmmod "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	module_loaded "$1" || return 0
	rmmod "$1" || true
	echo "unload_modules: cannot unload $1" >&2
	return 1
}

expect_eq() {
	local actual=$1 expected=$2 label=${3:-value}

	[ "$actual" = "$expected" ] && return 0
	echo "expect_eq: $label differs (--- expected, +++ actual):" >&2
	diff -u --label expected --label actual \
		<(printf '%s\n' "$expected") <(printf '%s\n' "$actual") >&2
	return 1
}

expect_fail() {
	local want_status=$1 want_err=$2 err status=0 errf

	if [ $# -lt 4 ] || [ "$3" != -- ]; then
		fail "usage: expect_fail STATUS STDERR -- CMD ARGS..." || return 1
	fi
	shift 3
	errf=$(mktemp)
	"$@" >/dev/null 2>"$errf" || status=$?
	err=$(cat "$errf")
	rm -f "$errf"
	if [ "$status" != "$want_status" ]; then
		echo "expect_fail: '$*' exited with $status, expected $want_status" >&2
		[ -z "$err" ] || printf 'its stderr:\n%s\n' "$err" >&2
		return 1
	fi
	expect_eq "$err" "$want_err" "stderr of '$*'"
}

# Pages FOLL_PIN-pinned anywhere in the system (acquired - released).
# These are node counters with per-CPU deltas that the kernel folds only
# once a second, so /proc/vmstat alone can be off by a few dozen pages;
# writing stat_refresh folds them first and makes the figure exact.
pinned_pages() {
	echo 1 >/proc/sys/vm/stat_refresh 2>/dev/null || true
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a - r }' /proc/vmstat
}

as_unprivileged() {
	setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all \
		-- "$@"
}

wait_for() {
	local secs=$1 end

	shift
	end=$((${EPOCHREALTIME/[.,]/} + secs * 1000000))
	until "$@"; do
		[ "${EPOCHREALTIME/[.,]/}" -lt "$end" ] ||
			fail "wait_for: '$*' still failing after ${secs}s" ||
			return 1
		sleep 0.1
	done
}

# shellcheck source=tests/lib/guest-udev.sh
. "$VDPA_TREE/tests/lib/guest-udev.sh"
