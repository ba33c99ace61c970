# SPDX-License-Identifier: GPL-2.0
#
# Shared by tests/cases/1*.sh (management through the real iproute2 6.1
# `vdpa` tool).  Sourced after tests/lib/guest-lib.sh; defines no test_*.

VDPA_BIN=/usr/sbin/vdpa

# The distribution interpreter: the host may put a pyenv shim first in PATH.
if [ -x /usr/bin/python3 ]; then
	PY3=/usr/bin/python3
else
	PY3=python3
fi

vdpa() {
	"$VDPA_BIN" "$@"
}

# Raw netlink client for what iproute2 6.1 cannot send (tests/helpers/vdpa_nl.py).
vdpa_nl() {
	"$PY3" "$VDPA_TREE/tests/helpers/vdpa_nl.py" "$@"
}

# capture CMD ARGS...: run CMD without tripping set -e; sets $out, $err, $rc
# (stdout and stderr without their trailing newlines, like $(...)).
capture() {
	rc=0
	"$@" >capture.out 2>capture.err || rc=$?
	out=$(cat capture.out)
	err=$(cat capture.err)
}

# expect_run STATUS STDOUT STDERR -- CMD ARGS...: exit status, stdout and
# stderr must all be exactly as given.
expect_run() {
	local want_rc=$1 want_out=$2 want_err=$3

	shift 3
	[ "$1" = "--" ] && shift
	capture "$@"
	expect_eq "$out" "$want_out" "stdout of: $*" || return 1
	expect_eq "$err" "$want_err" "stderr of: $*" || return 1
	[ "$rc" -eq "$want_rc" ] ||
		fail "exit status of: $* is $rc, expected $want_rc"
}

# iproute2 6.1 prints the kernel's error for `vdpa dev vstats show` but
# exits 0 (6.4 started returning it).
VSTATS_ERR_RC=0

mgmt_load() {
	load_modules vdpa vdpa_sim vdpa_sim_net
}

# Features the net simulator supports (its default set plus RING_PACKED,
# offered only when provisioned), in bit order, as iproute2 names them.
SIM_NET_FEATURES="MTU MAC STATUS CTRL_VQ CTRL_MAC_ADDR ANY_LAYOUT VERSION_1 ACCESS_PLATFORM RING_PACKED"
SIM_NET_FEATURES_JSON='["MTU","MAC","STATUS","CTRL_VQ","CTRL_MAC_ADDR","ANY_LAYOUT","VERSION_1","ACCESS_PLATFORM","RING_PACKED"]'

# Feature bits (hex) for raw DEV_NEW requests.
F_MTU=0x8
F_MAC=0x20
F_STATUS=0x10000
F_CTRL_VQ=0x20000
F_MQ=0x400000
F_CTRL_MAC_ADDR=0x800000
F_ANY_LAYOUT=0x8000000
F_VERSION_1=0x100000000
F_ACCESS_PLATFORM=0x200000000
F_RING_PACKED=0x400000000

# The default features of vdpasim_net plus RING_PACKED: a packed device.
SIM_NET_PACKED_FEATURES=$(printf '0x%x' $((F_MTU | F_MAC | F_STATUS | F_CTRL_VQ |
	F_CTRL_MAC_ADDR | F_ANY_LAYOUT | F_VERSION_1 | F_ACCESS_PLATFORM |
	F_RING_PACKED)))

# net_packed_add NAME MAC: a vdpasim_net device offering RING_PACKED
# (iproute2 6.1 cannot send device_features: through vdpa_nl).
net_packed_add() {
	local out

	out=$(vdpa_nl dev-new "$1" vdpasim_net --features "$SIM_NET_PACKED_FEATURES" \
		--mac "$2")
	[ "$out" = ok ] || fail "dev-new $1 with RING_PACKED: $out"
}

# negotiated_has DEV FEATURE: the driver of DEV accepted FEATURE (as
# iproute2 names it in `vdpa dev config show`).
negotiated_has() {
	vdpa dev config show "$1" | grep -q "negotiated_features.* $2\( \|$\)"
}

# hexor 0x.. 0x..: bitwise OR printed as 0x%x
hexor() {
	local v=0 x

	for x in "$@"; do
		v=$((v | x))
	done
	printf '0x%x\n' "$v"
}

# Expected `vdpa dev show` line of a default vdpasim_net device.
dev_line() {
	echo "$1: type network mgmtdev vdpasim_net vendor_id 0 max_vqs ${2:-3} max_vq_size 256"
}

# Number of devices on the vdpa bus (sysfs).
bus_count() {
	find /sys/bus/vdpa/devices -mindepth 1 -maxdepth 1 | wc -l
}

# json_keys SECTION: read vdpa -j output on stdin, print the object names of
# SECTION ("dev", "config", "mgmtdev") one per line, in order.
json_keys() {
	"$PY3" -c '
import json, sys
d = json.load(sys.stdin)
for k in d[sys.argv[1]]:
    print(k)
' "$1"
}
