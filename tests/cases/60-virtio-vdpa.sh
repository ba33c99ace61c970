# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# virtio_vdpa: simulated devices driven by the distribution's own virtio
# drivers (virtio_net, virtio_blk), and moving a device between the two bus
# drivers with driver_override / unbind / bind (ABI.md §4).

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

VV_MAC=52:54:00:65:43:21
VV_TOOLS=$VDPA_TREE/tools/build

# The kernel object under vdpa device $1 that the virtio driver created:
# the netdev name or the disk name.
vv_child() {
	local dir

	for dir in /sys/bus/vdpa/devices/"$1"/virtio*/"$2"/*; do
		[ -e "$dir" ] || continue
		basename "$dir"
		return 0
	done
	return 1
}

vv_has_child() {
	vv_child "$@" >/dev/null
}

vv_driver() {
	local link=/sys/bus/vdpa/devices/$1/driver

	if [ -e "$link" ]; then
		basename "$(readlink "$link")"
	else
		echo none
	fi
}

# /dev node of the vhost-vdpa char device of vdpa device $1.
vv_vhost_node() {
	local dir

	for dir in /sys/bus/vdpa/devices/"$1"/vhost-vdpa-*; do
		[ -e "$dir" ] || continue
		echo "/dev/$(basename "$dir")"
		return 0
	done
	fail "$1 has no vhost-vdpa char device"
}

vv_stat() {
	cat "/sys/class/net/$1/statistics/$2"
}

# Send $2 broadcast frames of ethertype 0x88b5 (local experimental) on
# netdev $1 and wait until every one of them came back: the net simulator
# loops transmitted frames to the receive queue.  Checks the payloads too.
vv_broadcast_loop() {
	"$PY3" - "$1" "$2" <<'EOF'
import socket, sys, time
ifname, count = sys.argv[1], int(sys.argv[2])
proto = 0x88b5
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
s.bind((ifname, proto))
s.settimeout(0.2)
mac = s.getsockname()[4]
sent = set()
for i in range(count):
    payload = b"virtio_vdpa-%04d-" % i + bytes(range(40))
    sent.add(payload)
    s.send(b"\xff" * 6 + mac + proto.to_bytes(2, "big") + payload)
deadline = time.monotonic() + 20
got = set()
while got != sent and time.monotonic() < deadline:
    try:
        data, addr = s.recvfrom(4096)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    got.add(data[14:14 + len(next(iter(sent)))])
if got != sent:
    sys.exit("%d of %d frames came back" % (len(got & sent), count))
print("%d broadcast frames came back" % count)
EOF
}

# Bring up netdev $1 (no IPv6: its autoconfiguration traffic would mix
# with ours) and check that $2 (default 20) broadcast frames come back and
# are counted.
vv_net_traffic() {
	local nd=$1 n=${2:-20} rx tx

	echo 1 >"/proc/sys/net/ipv6/conf/$nd/disable_ipv6" 2>/dev/null || true
	ip link set "$nd" up
	wait_for 30 grep -qx up "/sys/class/net/$nd/operstate"
	rx=$(vv_stat "$nd" rx_packets)
	tx=$(vv_stat "$nd" tx_packets)
	vv_broadcast_loop "$nd" "$n"
	[ $(($(vv_stat "$nd" tx_packets) - tx)) -ge "$n" ] ||
		fail "tx_packets grew by less than $n"
	[ $(($(vv_stat "$nd" rx_packets) - rx)) -ge "$n" ] ||
		fail "rx_packets grew by less than $n"
	ip link set "$nd" down
}

test_net() {
	local nd

	load_modules vdpa vdpa_sim vdpa_sim_net virtio_vdpa
	modprobe virtio_net
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $VV_MAC mtu 4000
	expect_eq "$(vv_driver vdpa0)" virtio_vdpa "driver of vdpa0"
	wait_for 30 vv_has_child vdpa0 net
	nd=$(vv_child vdpa0 net)
	log "netdev $nd"
	# the virtio device hangs below the DMA device, the vdpa device itself
	expect_eq "$(dirname "$(readlink -f "/sys/class/net/$nd/device")")" \
		/sys/devices/vdpa0 "parent of the virtio device"
	expect_eq "$(cat "/sys/class/net/$nd/address")" "$VV_MAC" "MAC of $nd"
	expect_eq "$(cat "/sys/class/net/$nd/mtu")" 4000 "MTU of $nd"
	expect_eq "$(basename "$(readlink "/sys/class/net/$nd/device/driver")")" \
		virtio_net "driver of the virtio device"
	vv_net_traffic "$nd"
	# the netdev goes with the device
	vdpa dev del vdpa0
	[ ! -e "/sys/class/net/$nd" ] || fail "$nd left after dev del"
}

# virtio_net on packed virtqueues (a device provisioned with RING_PACKED):
# 400 broadcast frames in rounds of 40 (small enough for the packet
# socket's receive buffer), so that both rings pass their end (256
# entries) and both wrap counters flip; every frame comes back, the
# counters agree and no queue stopped.
test_net_packed() {
	local nd i lines rx tx

	load_modules vdpa vdpa_sim vdpa_sim_net virtio_vdpa
	modprobe virtio_net
	lines=$(dmesg | wc -l)
	net_packed_add vdpa0 $VV_MAC
	wait_for 30 vv_has_child vdpa0 net
	nd=$(vv_child vdpa0 net)
	negotiated_has vdpa0 RING_PACKED ||
		fail "virtio_net did not negotiate RING_PACKED: $(vdpa dev config show vdpa0)"
	echo 1 >"/proc/sys/net/ipv6/conf/$nd/disable_ipv6" 2>/dev/null || true
	ip link set "$nd" up
	wait_for 30 grep -qx up "/sys/class/net/$nd/operstate"
	rx=$(vv_stat "$nd" rx_packets)
	tx=$(vv_stat "$nd" tx_packets)
	for ((i = 0; i < 10; i++)); do
		vv_broadcast_loop "$nd" 40 || {
			vdpa dev vstats show vdpa0 qidx 0
			vdpa dev vstats show vdpa0 qidx 1
			fail "round $i"
		}
	done
	rx=$(($(vv_stat "$nd" rx_packets) - rx))
	tx=$(($(vv_stat "$nd" tx_packets) - tx))
	log "packed: $nd sent $tx frames, received $rx"
	[ "$tx" -ge 400 ] || fail "tx_packets grew by $tx, less than 400"
	[ "$rx" -ge 400 ] || fail "rx_packets grew by $rx, less than 400"
	[ "$rx" -le "$tx" ] || fail "received $rx frames, more than the $tx sent"
	vdpa dev vstats show vdpa0 qidx 0
	vdpa dev vstats show vdpa0 qidx 1
	ip link set "$nd" down
	vdpa dev del vdpa0
	[ ! -e "/sys/class/net/$nd" ] || fail "$nd left after dev del"
	if dmesg | tail -n +$((lines + 1)) | grep 'virtqueue stopped'; then
		fail "a virtqueue stopped"
	fi
}

# Unloading virtio_vdpa takes the netdev away; the device stays.
test_net_unload() {
	local nd

	load_modules vdpa vdpa_sim vdpa_sim_net virtio_vdpa
	modprobe virtio_net
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $VV_MAC
	wait_for 30 vv_has_child vdpa0 net
	nd=$(vv_child vdpa0 net)
	ip link set "$nd" up
	rmmod virtio_vdpa
	[ ! -e "/sys/class/net/$nd" ] || fail "$nd left after rmmod virtio_vdpa"
	expect_eq "$(vv_driver vdpa0)" none "driver of vdpa0 after rmmod"
	load_modules virtio_vdpa
	wait_for 30 vv_has_child vdpa0 net
	vv_net_traffic "$(vv_child vdpa0 net)"
}

vv_umount() {
	if mountpoint -q "$TEST_TMPDIR/mnt"; then
		umount "$TEST_TMPDIR/mnt"
	fi
}

# Character N + 1 of the virtio device's features file (bit N) under vdpa
# device $1: 1 when the driver accepted feature bit $2.
vv_virtio_feature() {
	local f

	for f in /sys/bus/vdpa/devices/"$1"/virtio*/features; do
		[ -e "$f" ] || continue
		cut -c $(($2 + 1)) "$f"
		return 0
	done
	echo none
}

# The block checks on blk0, added with the device features $1 (the
# default set when empty): pattern, bounds, discard, write-zeroes, ext4.
vv_blk_test() {
	local disk dev size=32 sectors out

	load_modules vdpa vdpa_sim vdpa_sim_blk virtio_vdpa
	modprobe virtio_blk
	modprobe ext4
	echo $size >/sys/module/vdpa_sim_blk/parameters/capacity_mb
	if [ -z "$1" ]; then
		vdpa dev add name blk0 mgmtdev vdpasim_blk
	else
		out=$(vdpa_nl dev-new blk0 vdpasim_blk --features "$1")
		[ "$out" = ok ] || fail "dev-new blk0 --features $1: $out"
	fi
	expect_eq "$(vv_driver blk0)" virtio_vdpa "driver of blk0"
	wait_for 30 vv_has_child blk0 block
	disk=$(vv_child blk0 block)
	dev=/dev/$disk
	wait_for 30 test -b "$dev"
	log "disk $dev"
	sectors=$((size * 2048))
	expect_eq "$(cat "/sys/block/$disk/size")" $sectors "size of $disk in sectors"
	expect_eq "$(blockdev --getsize64 "$dev")" $((size << 20)) "size of $dev"

	# a pseudo-random pattern round-trips, past the page cache
	head -c $((2 << 20)) /dev/urandom >pattern
	dd if=pattern of="$dev" bs=256k seek=7 oflag=direct conv=fsync status=none
	dd if="$dev" of=back bs=256k skip=7 count=8 iflag=direct status=none
	cmp pattern back || fail "pattern read back differs"
	# the last sector works; reading past the end gives nothing, no error
	dd if=pattern of="$dev" bs=512 seek=$((sectors - 1)) count=1 oflag=direct status=none
	dd if="$dev" of=last bs=512 skip=$((sectors - 1)) count=1 iflag=direct status=none
	cmp last <(head -c 512 pattern) || fail "last sector differs"
	dd if="$dev" of=past bs=512 skip=$sectors count=8 iflag=direct status=none
	expect_eq "$(stat -c %s past)" 0 "bytes read past the end"
	if dd if=pattern of="$dev" bs=512 seek=$sectors count=1 oflag=direct status=none 2>err; then
		fail "a write past the end succeeded"
	fi
	cat err

	# discard is accepted; write-zeroes reads back as zeros
	blkdiscard -o $((4 << 20)) -l $((1 << 20)) "$dev"
	blkdiscard -z -o $((5 << 20)) -l $((1 << 20)) "$dev"
	dd if="$dev" of=zeros bs=1M skip=5 count=1 iflag=direct status=none
	cmp zeros <(head -c $((1 << 20)) /dev/zero) || fail "write-zeroes range is not zero"

	# a file system on it
	mkfs.ext4 -q -F "$dev"
	mkdir mnt
	trap vv_umount EXIT
	mount -t ext4 "$dev" mnt
	cp pattern mnt/file
	sync
	umount mnt
	mount -t ext4 -o ro "$dev" mnt
	cmp pattern mnt/file || fail "file differs after remount"
	umount mnt
	fsck.ext4 -f -n "$dev" >fsck.out 2>&1 || { cat fsck.out; fail "fsck.ext4 found errors"; }
	blkdiscard "$dev"
	if dmesg | grep -E "(I/O|critical medium) error, dev $disk" >&2; then
		fail "I/O errors on $disk"
	fi
}

test_blk() {
	vv_blk_test ""
	expect_eq "$(vv_virtio_feature blk0 34)" 0 "RING_PACKED accepted on a default blk0"
}

# The same on packed virtqueues (blk0 provisioned with RING_PACKED); the
# writes above take several thousand requests, so the 256-entry ring wraps
# many times.  No queue may stop.
test_blk_packed() {
	local lines

	lines=$(dmesg | wc -l)
	vv_blk_test "$(printf '0x%x' $((0x308007646 | F_RING_PACKED)))"
	expect_eq "$(vv_virtio_feature blk0 34)" 1 "RING_PACKED accepted by virtio_blk"
	if dmesg | tail -n +$((lines + 1)) | grep 'virtqueue stopped'; then
		fail "a virtqueue stopped"
	fi
}

# Everything the two bus drivers share: which driver gets a new device,
# driver_override, unbind and bind.
vv_bind() {
	local dev=$1 drv=$2 cur

	echo "$drv" >"/sys/bus/vdpa/devices/$dev/driver_override"
	cur=$(vv_driver "$dev")
	if [ "$cur" != none ]; then
		echo "$dev" >"/sys/bus/vdpa/drivers/$cur/unbind"
	fi
	echo "$dev" >"/sys/bus/vdpa/drivers/$drv/bind"
	expect_eq "$(vv_driver "$dev")" "$drv" "driver of $dev"
}

# A new device goes to the first registered driver; driver_override only
# lets the named one bind.
test_first_driver_and_override() {
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa virtio_vdpa
	vdpa dev add name vdpa0 mgmtdev vdpasim_net
	expect_eq "$(vv_driver vdpa0)" vhost_vdpa "vhost_vdpa registered first"
	rmmod vhost_vdpa virtio_vdpa
	load_modules virtio_vdpa vhost_vdpa
	vdpa dev add name vdpa1 mgmtdev vdpasim_net
	expect_eq "$(vv_driver vdpa1)" virtio_vdpa "virtio_vdpa registered first"
	expect_eq "$(vv_driver vdpa0)" virtio_vdpa "vdpa0 after reloading"

	# with an override, only that driver may bind
	echo vhost_vdpa >/sys/bus/vdpa/devices/vdpa0/driver_override
	echo vdpa0 >/sys/bus/vdpa/drivers/virtio_vdpa/unbind
	if echo vdpa0 >/sys/bus/vdpa/drivers/virtio_vdpa/bind 2>/dev/null; then
		fail "virtio_vdpa bound a device overridden to vhost_vdpa"
	fi
	expect_eq "$(vv_driver vdpa0)" none "vdpa0 after the refused bind"
	echo vdpa0 >/sys/bus/vdpa/drivers_probe
	expect_eq "$(vv_driver vdpa0)" vhost_vdpa "vdpa0 after drivers_probe"
	wait_for 5 test -c "$(vv_vhost_node vdpa0)"
}

# Move a device between the bus drivers with traffic stopped, three times;
# each time it carries traffic.
test_rebind_cycles() {
	local i nd node

	[ -x "$VV_TOOLS/vdpa-net-loop" ] ||
		fail "$VV_TOOLS/vdpa-net-loop is not built (run make on the host)"
	load_modules vdpa vdpa_sim vdpa_sim_net vhost_vdpa virtio_vdpa
	modprobe virtio_net
	ulimit -l unlimited
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $VV_MAC
	for i in 1 2 3; do
		log "cycle $i"
		vv_bind vdpa0 virtio_vdpa
		wait_for 30 vv_has_child vdpa0 net
		nd=$(vv_child vdpa0 net)
		expect_eq "$(cat "/sys/class/net/$nd/address")" "$VV_MAC" "MAC of $nd"
		vv_net_traffic "$nd" 4

		vv_bind vdpa0 vhost_vdpa
		[ ! -e "/sys/class/net/$nd" ] || fail "$nd left after unbind"
		node=$(vv_vhost_node vdpa0)
		wait_for 30 test -c "$node"
		"$VV_TOOLS/vdpa-net-loop" -d "$node" -n 4 >out 2>&1 || {
			cat out
			fail "vdpa-net-loop failed in cycle $i"
		}
		grep -qx PASS out || { cat out; fail "no PASS in cycle $i"; }
	done
}

# Drive /dev/vhost-vdpa node $1 to DRIVER_OK with its data queues placed at
# IOVA $2 (RAM if taken as a physical address) but nothing mapped.
vv_start_unmapped() {
	"$PY3" - "$1" "$2" <<'PYEOF'
import fcntl, os, struct, sys, time
node, base = sys.argv[1], int(sys.argv[2], 0)
def iow(nr, size): return (1 << 30) | (size << 16) | (0xAF << 8) | nr
def ior(nr, size): return (2 << 30) | (size << 16) | (0xAF << 8) | nr
fd = os.open(node, os.O_RDWR)
fcntl.ioctl(fd, 0xAF01)                                   # SET_OWNER
status = lambda s: fcntl.ioctl(fd, iow(0x72, 1), struct.pack("B", s))
status(1 | 2)                                            # ACKNOWLEDGE | DRIVER
feat = struct.unpack("Q", fcntl.ioctl(fd, ior(0x00, 8), bytes(8)))[0]
fcntl.ioctl(fd, iow(0x00, 8), struct.pack("Q", feat & ((1 << 32) | (1 << 33))))
status(1 | 2 | 8)                                        # FEATURES_OK
for i in (0, 1):
    ring = base + i * 0x4000
    fcntl.ioctl(fd, iow(0x10, 8), struct.pack("II", i, 256))          # NUM
    fcntl.ioctl(fd, iow(0x11, 40), struct.pack("IIQQQQ", i, 0, ring,
                                                ring + 0x2000, ring + 0x1000, 0))
    fcntl.ioctl(fd, iow(0x12, 8), struct.pack("II", i, 0))            # BASE
    fcntl.ioctl(fd, iow(0x75, 8), struct.pack("II", i, 1))            # ENABLE
status(1 | 2 | 8 | 4)                                    # DRIVER_OK
time.sleep(1)
os.close(fd)
PYEOF
}

# After virtio_vdpa (identity translation) the device goes to vhost_vdpa:
# its userspace client must not inherit the identity.  Rings at IOVAs that
# nothing maps must fail to translate (ring_errors grows, a hole is
# logged), not reach the RAM at those physical addresses.
test_no_identity_for_userspace() {
	local errs=/sys/kernel/debug/vdpa_sim/vdpa0/ring_errors before node

	load_modules vdpa vdpa_sim vdpa_sim_net virtio_vdpa vhost_vdpa
	sim_knobs
	modprobe virtio_net
	vdpa dev add name vdpa0 mgmtdev vdpasim_net mac $VV_MAC
	expect_eq "$(vv_driver vdpa0)" virtio_vdpa "driver of vdpa0"
	wait_for 30 vv_has_child vdpa0 net
	vv_net_traffic "$(vv_child vdpa0 net)" 4
	vv_bind vdpa0 vhost_vdpa
	node=$(vv_vhost_node vdpa0)
	wait_for 30 test -c "$node"
	before=$(cat $errs)
	vv_start_unmapped "$node" 0x1000000
	[ "$(cat $errs)" -gt "$before" ] ||
		fail "rings at unmapped IOVAs were served (ring_errors $before -> $(cat $errs))"
	# a hole (EFAULT) at the avail idx: with the identity that RAM reads fine
	dmesg | grep -E 'vdpa0-vq[01]: .*avail idx at IOVA 0x100[05]002 \(error -14\)' ||
		fail "no translation fault logged for the unmapped rings"
}
