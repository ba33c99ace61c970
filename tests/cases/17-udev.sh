# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# udev/60-vhost-vdpa.rules under a real systemd-udevd: /dev/vhost-vdpa-N
# gets group kvm and mode 0660 when vhost_vdpa binds, whatever the device
# is called, and a device name is data, never code run as root.
#
# Each test runs in a private mount namespace (udev_ns) where every udev
# rules directory of the host is hidden under an empty tmpfs, our rule is
# installed in /etc/udev/rules.d (where `make install-udev` puts it) and
# /run/udev is a fresh tmpfs; the udevd started there reads only our rule
# and goes away with the test.

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

# shellcheck disable=SC2034 # read by the runner
TEST_TIMEOUT=180

# Where a payload in a device name leaves its mark if a shell runs it.
# Names cannot contain '/': ${PWD%${PWD#?}}, the first character of the
# shell's working directory, is one.
PWNED=/tmp/vdpa-pw
# shellcheck disable=SC2016 # expanded by the shell that runs a payload
SLASH='${PWD%${PWD#?}}'

# udev_ns FUNC: run FUNC of this file in a fresh bash in a private mount
# namespace, as the runner runs a test.
udev_ns() {
	# shellcheck disable=SC2016 # expanded by that bash
	unshare --mount --propagation private -- bash -c \
		'. "$1" || exit 1; . "$2"; set -e; "$3"' \
		"$TEST_NAME" "$VDPA_TREE/tests/lib/guest-lib.sh" "${BASH_SOURCE[0]}" "$1"
}

udevd_stop() {
	local rc=$?

	udevd_stop_private
	if [ "$rc" -ne 0 ] && [ -f udevd.log ]; then
		log "the end of udevd's log:"
		tail -n 40 udevd.log
	fi
	return "$rc"
}

# udevd_start: systemd-udevd with our rule only (udevd_start_private), its
# debug log checked for complaints about the rule (inside udev_ns only).
udevd_start() {
	getent group kvm >/dev/null || skip "no group kvm"
	trap udevd_stop EXIT
	udevd_start_private --debug
	! grep -E '60-vhost-vdpa\.rules:[0-9]+ ' udevd.log | grep -v -E ' RUN |Reading' ||
		fail "udevd complains about the rule (above)"
}

# node_of NAME: the vhost-vdpa-N node name of vdpa device NAME.
node_of() {
	local n

	for n in "/sys/bus/vdpa/devices/$1"/vhost-vdpa-*; do
		[ -e "$n" ] || fail "vdpa device '$1' has no vhost-vdpa node"
		printf '%s\n' "${n##*/}"
		return 0
	done
}

# perms NODE: owner, group and mode of /dev/NODE.
perms() { stat -c '%U:%G %a' "/dev/$1"; }

# node_ok NODE: the rule has been applied to /dev/NODE.
node_ok() { [ "$(perms "$1")" = "root:kvm 660" ]; }

# check_nodes NAME...: after the events settle, the node of every device
# NAME is root:kvm 0660.
check_nodes() {
	local name node bad=0

	udevadm settle --timeout=60
	for name in "$@"; do
		node=$(node_of "$name")
		if ! wait_for 5 node_ok "$node" 2>/dev/null; then
			echo "device '$name': /dev/$node is $(perms "$node"), want root:kvm 660" >&2
			bad=1
		fi
	done
	return $bad
}

udev_bind() {
	udevd_start
	load_modules vdpa_sim_net
	# bound when vhost_vdpa registers its driver
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	load_modules vhost_vdpa
	# bound when the device is added
	vdpa dev add name vdpa1 mgmtdev vdpasim_net
	check_nodes vdpa0 vdpa1
	# unbound and bound again: the new bind event applies it again
	chmod 0600 "/dev/$(node_of vdpa0)"
	echo vdpa0 >/sys/bus/vdpa/drivers/vhost_vdpa/unbind
	echo vdpa0 >/sys/bus/vdpa/drivers/vhost_vdpa/bind
	check_nodes vdpa0
}

# The rule applies on every bind to vhost_vdpa, whichever comes first,
# the driver or the device.
test_bind() {
	udev_ns udev_bind
}

udev_hostile_names() {
	local names=() payloads=() name i bad=0

	# Each payload runs a command when a shell parses the name as part of
	# a command line: $(), backticks, and ';' closing the old rule's loop.
	payloads=(
		"v\$(touch ${SLASH}tmp${SLASH}${PWNED##*/}-1)"
		"v\`touch ${SLASH}tmp${SLASH}${PWNED##*/}-2\`"
		"x;do :;done;cd ${SLASH}tmp;touch ${PWNED##*/}-3;for d in y"
	)
	# Names that only need quoting: spaces, quotes, glob characters.
	names=("${payloads[@]}" "sp ace" "q'uo\"te" "gl*b" "vdpa0")
	rm -f "$PWNED"-*

	# The payloads are live: pasted into a shell command line from "/"
	# with the environment a udev RUN program gets, each leaves its mark.
	for i in "${!payloads[@]}"; do
		(cd / && env -i DEVPATH=/devices/x /bin/sh -c \
			"for d in /sys/devices/${payloads[i]}/vhost-vdpa-*; do :; done") ||
			true
		[ -e "$PWNED-$((i + 1))" ] || fail "payload $((i + 1)) does not work: ${payloads[i]}"
	done
	rm -f "$PWNED"-*

	udevd_start
	load_modules vdpa_sim_net vhost_vdpa
	for name in "${names[@]}"; do
		log "vdpa dev add name '$name'"
		vdpa dev add name "$name" mgmtdev vdpasim_net
	done
	check_nodes "${names[@]}" || bad=1
	for i in "${!payloads[@]}"; do
		if [ -e "$PWNED-$((i + 1))" ]; then
			echo "the name '${payloads[i]}' ran as a command: $PWNED-$((i + 1)) exists" >&2
			bad=1
		fi
	done
	rm -f "$PWNED"-*
	for name in "${names[@]}"; do
		vdpa dev del "$name"
	done
	return $bad
}

# A device name is any string without '/' (as upstream, which only turns
# '/' into '!'): the rule must treat it as data.
test_hostile_names() {
	udev_ns udev_hostile_names
}

# The rule's RUN program is a constant: no %-substitution or $-variable of
# udev (only "$$", a literal '$') may paste device data into the command.
test_run_is_constant() {
	local run

	# the rule without comments, continued lines joined
	run=$(sed -e '/^[[:space:]]*#/d' -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' \
		"$VHOST_VDPA_RULE" | grep 'RUN')
	[ -n "$run" ] || fail "no RUN key in $VHOST_VDPA_RULE"
	run=${run//\$\$/}
	case $run in
	*%* | *\$*) fail "RUN pastes udev substitutions into the command: $run" ;;
	esac
}
