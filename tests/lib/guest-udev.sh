# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# A private systemd-udevd that knows our rule only, for tests of
# udev/60-vhost-vdpa.rules (17-udev) and of programs fed by udev
# (45-libvirt's nodedev_live).  Sourced by tests/lib/guest-lib.sh;
# defines no test_*.

# The host's udevd (the guest runs the host's programs) and our rule.
UDEVD_BIN=/usr/lib/systemd/systemd-udevd
VHOST_VDPA_RULE=$VDPA_TREE/udev/60-vhost-vdpa.rules

# udevd_start_private [UDEVD_ARG...]: start systemd-udevd (with
# UDEVD_ARGs, e.g. --debug) on our rule alone; skip the test if it is not
# installed.  It mounts over the host's directories: call it only in a
# private mount namespace (unshare --mount, as 17-udev's udev_ns and
# 45-libvirt's lv_ns), so that the mounts go with the namespace.
#
# On return: every udev rules directory of the host is hidden under an
# empty tmpfs, our rule is /etc/udev/rules.d/60-vhost-vdpa.rules (where
# `make install-udev` puts it), /run/udev is a fresh tmpfs, udevd answers
# `udevadm control --ping`, and SYSTEMD_IGNORE_CHROOT=1 is exported
# (udevadm ignores control and settle requests in a chroot, which the
# test VM's root is, unless told otherwise).  It does not settle: a
# caller that needs the events handled runs `udevadm settle`.
#
# Leaves running: udevd, in the background as $UDEVD_PID, its output in
# ./udevd.log.  The caller stops it with udevd_stop_private in its EXIT
# trap, best set before this call (if the ping fails, the test ends
# here); a udevd left running goes with the test's other processes,
# which the runner kills after every test.
udevd_start_private() {
	local d

	[ -x "$UDEVD_BIN" ] || skip "$UDEVD_BIN is not installed"
	for d in /etc/udev/rules.d /usr/lib/udev/rules.d /usr/local/lib/udev/rules.d \
		/lib/udev/rules.d; do
		if [ -d "$d" ] && ! mountpoint -q "$d"; then
			mount -t tmpfs -o mode=0755 udev-rules "$d"
		fi
	done
	mkdir -p /run/udev
	mount -t tmpfs -o mode=0755 udev-run /run/udev
	install -m 0644 "$VHOST_VDPA_RULE" /etc/udev/rules.d/60-vhost-vdpa.rules
	export SYSTEMD_IGNORE_CHROOT=1
	"$UDEVD_BIN" "$@" >udevd.log 2>&1 &
	UDEVD_PID=$!
	wait_for 30 udevadm control --ping
	log "systemd-udevd $UDEVD_PID is up"
}

# udevd_stop_private: stop the udevd of udevd_start_private, if it was
# started, and reap it.  Never fails.
udevd_stop_private() {
	[ -n "${UDEVD_PID:-}" ] || return 0
	kill "$UDEVD_PID" 2>/dev/null || true
	wait "$UDEVD_PID" 2>/dev/null || true
}
