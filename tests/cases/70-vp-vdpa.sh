# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# vp_vdpa: a real virtio-pci function (QEMU's virtio-net, NIC a of
# tests/lib/vm-devices.sh) as a vDPA parent, with real traffic to a real
# network peer: NIC b, on the same QEMU hub, driven by the stock virtio_net
# inside its own network namespace.

VP_A=0000:00:10.0
VP_B=0000:00:11.0
# NIC c: a function with no IOMMU, offering packed rings, and NIC d, its
# peer (tests/lib/vm-devices.sh)
VP_C=0000:81:00.0
VP_D=0000:00:12.0
VP_NS_D=vp-peer-d
VP_D_PEER_IP=10.76.71.2
VP_D_OUR_IP=10.76.71.1
VP_A_MAC=52:54:00:76:70:0a
VP_B_MAC=52:54:00:76:70:0b
VP_NS=vp-peer
VP_PEER_IP=10.76.70.2
VP_OUR_IP=10.76.70.1
VP_PCI=/sys/bus/pci

# The netdev virtio_net made for PCI function $1 (empty if none).
vp_netdev() {
	local d

	for d in "$VP_PCI/devices/$1"/virtio*/net/*; do
		[ -e "$d" ] && printf '%s\n' "${d##*/}" && return 0
	done
	return 0
}

vp_driver() {
	local l

	l=$(readlink "$VP_PCI/devices/$1/driver" 2>/dev/null) || return 0
	printf '%s\n' "${l##*/}"
}

# Put function $1 on PCI driver $2 (virtio-pci or vp-vdpa).
vp_bind() {
	local bdf=$1 drv=$2 cur

	cur=$(vp_driver "$bdf")
	[ "$cur" = "$drv" ] && return 0
	[ -z "$cur" ] || echo "$bdf" >"$VP_PCI/drivers/$cur/unbind"
	echo "$drv" >"$VP_PCI/devices/$bdf/driver_override"
	echo "$bdf" >"$VP_PCI/drivers/$drv/bind"
	# the override only matters while binding: leave the function free
	echo >"$VP_PCI/devices/$bdf/driver_override"
	expect_eq "$(vp_driver "$bdf")" "$drv" "driver of $bdf"
}

# The peer: NIC b in its own namespace with an address.
vp_peer_up() {
	local dev

	if ! ip netns list | grep -qw "$VP_NS"; then
		ip netns add "$VP_NS"
	fi
	if ! ip -n "$VP_NS" -o link show | grep -q "$VP_B_MAC"; then
		wait_for 10 test -n "$(vp_netdev "$VP_B")"
		dev=$(vp_netdev "$VP_B")
		ip link set "$dev" netns "$VP_NS" name peer0
	fi
	ip -n "$VP_NS" addr replace "$VP_PEER_IP/24" dev peer0
	ip -n "$VP_NS" link set peer0 up
	ip -n "$VP_NS" link set lo up
}

vp_setup() {
	[ -e "$VP_PCI/devices/$VP_A" ] && [ -e "$VP_PCI/devices/$VP_B" ] ||
		skip "the test VM has no vp_vdpa NICs (tests/lib/vm-devices.sh)"
	modprobe virtio_net
	load_modules vdpa vp_vdpa
	trap vp_restore EXIT
	vp_bind "$VP_B" virtio-pci
	vp_peer_up
}

# Give NIC a back to virtio-pci whatever happened, for the next test.
vp_restore() {
	local d

	[ -z "${VP_HUGEPAGES:-}" ] || echo "$VP_HUGEPAGES" >/proc/sys/vm/nr_hugepages

	for d in $(vdpa_devices); do
		vdpa dev del "$d" 2>/dev/null || true
	done
	vp_bind "$VP_A" virtio-pci >/dev/null 2>&1 || true
}

# NIC a on virtio_net pings the peer: the function works with virtio-pci.
vp_ping_as_virtio_pci() {
	local dev

	vp_bind "$VP_A" virtio-pci
	wait_for 10 test -n "$(vp_netdev "$VP_A")"
	dev=$(vp_netdev "$VP_A")
	ip addr replace "$VP_OUR_IP/24" dev "$dev"
	ip link set "$dev" up
	busybox ping -c 1 -W 10 -I "$dev" "$VP_PEER_IP" >/dev/null ||
		fail "NIC a on virtio-pci cannot ping the peer"
}

vp_to_vdpa() {
	vp_bind "$VP_A" vp-vdpa
	vdpa dev add name vp0 mgmtdev "pci/$VP_A"
}

test_mgmtdev_and_dev() {
	local out

	vp_setup
	vp_bind "$VP_A" vp-vdpa
	out=$(vdpa mgmtdev show "pci/$VP_A")
	log "$out"
	grep -q "supported_classes net" <<<"$out" || fail "no net class"
	grep -q "max_supported_vqs 3" <<<"$out" || fail "not 3 vqs"
	vdpa dev add name vp0 mgmtdev "pci/$VP_A"
	out=$(vdpa dev show vp0)
	log "$out"
	grep -q "type network mgmtdev pci/$VP_A vendor_id 6900 max_vqs 3 max_vq_size 256" \
		<<<"$out" || fail "unexpected dev show"
	out=$(vdpa dev config show vp0)
	log "$out"
	grep -q "mac $VP_A_MAC" <<<"$out" || fail "config does not show NIC a's MAC"
	# the parent of the vdpa device is the PCI function
	test -e "$VP_PCI/devices/$VP_A/vp0" || fail "vp0 is not a child of $VP_A"
	expect_fail 1 "Error: vp_vdpa: The PCI function already backs a vdpa device.
kernel answers: Device or resource busy" -- vdpa dev add name vp1 mgmtdev "pci/$VP_A"
	vdpa dev del vp0
	# no id table: without driver_override (or new_id) it takes nothing
	echo "$VP_A" >"$VP_PCI/drivers/vp-vdpa/unbind"
	if echo "$VP_A" 2>/dev/null >"$VP_PCI/drivers/vp-vdpa/bind"; then
		fail "vp-vdpa bound a function without driver_override"
	fi
	echo "$VP_A" >"$VP_PCI/drivers_probe"
	expect_eq "$(vp_driver "$VP_A")" virtio-pci "driver after drivers_probe"
}

# Bind and unbind cycles, with and without a device; a device left in
# place when the function is unbound; module unload with a bound function.
# After each, virtio-pci drives the function again.
test_rebind_cycles() {
	local i

	vp_setup
	for ((i = 0; i < 3; i++)); do
		vp_to_vdpa
		if ((i == 1)); then
			vdpa dev del vp0
		fi
		vp_bind "$VP_A" virtio-pci
		vdpa_devices | grep -q . && fail "a vdpa device survived unbind"
	done
	# new_id works with the empty id table too; it takes every unbound
	# function with the id, here only NIC a
	echo "$VP_A" >"$VP_PCI/drivers/virtio-pci/unbind"
	echo 1af4 1041 >"$VP_PCI/drivers/vp-vdpa/new_id"
	echo 1af4 1041 >"$VP_PCI/drivers/vp-vdpa/remove_id"
	expect_eq "$(vp_driver "$VP_A")" vp-vdpa "driver after new_id"
	vdpa dev add name vp0 mgmtdev "pci/$VP_A"
	rmmod vp_vdpa
	expect_eq "$(vp_driver "$VP_A")" "" "driver after rmmod"
	vp_ping_as_virtio_pci
}

# tools/build/vdpa-ping, or a private build of it when the tools were not
# built with it.
vp_ping_tool() {
	local t=$VDPA_TREE/tools/build/vdpa-ping

	if [ ! -x "$t" ]; then
		require_cmd gcc
		gcc -O2 -std=gnu11 -I"$VDPA_TREE/include/uapi" -I"$VDPA_TREE/tools/lib" \
			-o vdpa-ping "$VDPA_TREE/tools/vdpa_ping.c" \
			"$VDPA_TREE/tools/lib/vdpa_user.c"
		t=$PWD/vdpa-ping
	fi
	printf '%s\n' "$t"
}

vp_peer_rx() {
	ip netns exec "$VP_NS" cat /sys/class/net/peer0/statistics/rx_packets
}

vp_has_iommu() { [ -e "$VP_PCI/devices/$VP_A/iommu_group" ]; }

# Userspace virtio-net over /dev/vhost-vdpa-0: ARP, then ICMP echo to the
# peer, kicks written to the mmapped doorbell pages, completions signalled
# by the function's MSI-X vectors.  Behind the IOMMU, vhost-vdpa maps the
# memory into a domain of its own at IOVA = virtual address.  Without one
# (a VM without tests/lib/vm-devices.sh's IOMMU) the rings live in a huge
# page mapped at IOVA = physical address (unsafe_noiommu_mode).
test_vhost_vdpa_ping() {
	local tool out rx0 mode=--iova-va

	vp_setup
	load_modules vhost_vdpa
	tool=$(vp_ping_tool)
	if ! vp_has_iommu; then
		echo 1 >/sys/module/vp_vdpa/parameters/unsafe_noiommu_mode
		mode=
	fi
	vp_to_vdpa
	wait_for 5 test -c /dev/vhost-vdpa-0
	VP_HUGEPAGES=$(cat /proc/sys/vm/nr_hugepages)
	echo $((VP_HUGEPAGES + 1)) >/proc/sys/vm/nr_hugepages
	ulimit -l unlimited
	rx0=$(vp_peer_rx)
	out=$("$tool" --dev /dev/vhost-vdpa-0 --ip "$VP_OUR_IP" --peer "$VP_PEER_IP" \
		--count 3 $mode) || { echo "$out"; fail "vdpa-ping failed"; }
	log "$out"
	grep -q "^arp: $VP_PEER_IP is at $VP_B_MAC" <<<"$out" || fail "no ARP reply"
	grep -q "received 3," <<<"$out" || fail "not 3 echo replies"
	grep -q "get_vring_base: Operation not supported" <<<"$out" ||
		fail "GET_VRING_BASE is not EOPNOTSUPP"
	grep -q "rx interrupts [1-9]" <<<"$out" || fail "no RX interrupt reached the call eventfd"
	(($(vp_peer_rx) >= rx0 + 4)) || fail "the peer did not count the frames"
	if [ -z "$mode" ]; then
		# no IOMMU: an IOVA the function cannot reach is refused
		expect_fail 1 "vdpa-ping: IOTLB update: Bad address" -- \
			"$tool" --dev /dev/vhost-vdpa-0 --ip "$VP_OUR_IP" \
			--peer "$VP_PEER_IP" --iova-va
	fi
	vdpa dev del vp0
	vp_ping_as_virtio_pci
}

# open(2) of $1 read-write, in python: prints "ok" or the errno's name.
vp_try_open() {
	/usr/bin/python3 -c '
import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_RDWR))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])' "$1"
}

vp_noiommu_restore() {
	local d

	for d in $(vdpa_devices); do
		vdpa dev del "$d" 2>/dev/null || true
	done
	echo 0 >/sys/module/vp_vdpa/parameters/unsafe_noiommu_mode 2>/dev/null || true
	vp_bind "$VP_C" virtio-pci >/dev/null 2>&1 || true
}

# unsafe_noiommu_mode gives the client DMA to all of physical memory: as
# VFIO's no-IOMMU mode, opening the node takes CAP_SYS_RAWIO (else EPERM
# and a log line), and a successful open taints the kernel (TAINT_USER).
# A device behind an IOMMU needs neither.
test_noiommu_needs_rawio() {
	local dev out t0 t1 user=$((1 << 6))

	[ -e "$VP_PCI/devices/$VP_C" ] ||
		skip "the test VM has no NIC c (tests/lib/vm-devices.sh)"
	[ ! -e "$VP_PCI/devices/$VP_C/iommu_group" ] ||
		skip "NIC c is behind an IOMMU: no no-IOMMU function to test"
	require_cmd setpriv
	load_modules vdpa vp_vdpa vhost_vdpa
	trap vp_noiommu_restore EXIT
	echo 1 >/sys/module/vp_vdpa/parameters/unsafe_noiommu_mode
	vp_bind "$VP_C" vp-vdpa
	vdpa dev add name vpc0 mgmtdev "pci/$VP_C"
	wait_for 5 test -d /sys/bus/vdpa/devices/vpc0/vhost-vdpa-0
	dev=/dev/vhost-vdpa-0
	wait_for 5 test -c "$dev"
	dmesg | grep -q "vp-vdpa $VP_C: unsafe no-IOMMU mode" ||
		fail "vp_vdpa did not pick its no-IOMMU ops"

	t0=$(cat /proc/sys/kernel/tainted)
	out=$(setpriv --inh-caps=-sys_rawio --ambient-caps=-all \
		--bounding-set=-sys_rawio -- bash -c "$(declare -f vp_try_open); vp_try_open $dev")
	expect_eq "$out" EPERM "open without CAP_SYS_RAWIO"
	dmesg | grep -q "vhost-vdpa-0: no-IOMMU device: open by python3 ([0-9]*) refused without CAP_SYS_RAWIO" ||
		fail "no log line for the refused open"
	expect_eq "$(cat /proc/sys/kernel/tainted)" "$t0" "taint after a refused open"
	# everything else about the node still works for others: root with all
	# capabilities opens it
	expect_eq "$(vp_try_open "$dev")" ok "open with CAP_SYS_RAWIO"
	t1=$(cat /proc/sys/kernel/tainted)
	log "tainted: $t0 before, $t1 after"
	((t1 & user)) || fail "the open did not taint the kernel (TAINT_USER)"
	((t0 & user)) && log "TAINT_USER was already set before this test"
	dmesg | grep -q "vhost-vdpa-0: no-IOMMU device opened by python3" ||
		fail "no log line for the tainting open"
	vdpa dev del vpc0
}

# Behind the IOMMU (NIC a), CAP_SYS_RAWIO is not needed.
test_iommu_open_without_rawio() {
	local out

	vp_setup
	load_modules vhost_vdpa
	vp_has_iommu || skip "NIC a is not behind an IOMMU"
	vp_to_vdpa
	wait_for 5 test -c /dev/vhost-vdpa-0
	out=$(setpriv --inh-caps=-sys_rawio --ambient-caps=-all \
		--bounding-set=-sys_rawio -- bash -c "$(declare -f vp_try_open); vp_try_open /dev/vhost-vdpa-0")
	expect_eq "$out" ok "open without CAP_SYS_RAWIO behind the IOMMU"
	vdpa dev del vp0
}

# A client that binds one call eventfd to vq 0 and vq 1, sets DRIVER_OK
# (rings never enabled, so the function does no DMA), then rebinds vq 1's
# $2 times: each time irq_bypass_register_producer() finds vq 0's producer
# with the same token and fails with EBUSY.  Prints "ok" at the end.
vp_call_ebusy() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import fcntl, os, struct, sys

def ioc(d, nr, size):
    return d << 30 | size << 16 | 0xAF << 8 | nr

SET_OWNER = ioc(0, 0x01, 0)
GET_FEATURES = ioc(2, 0x00, 8)
SET_FEATURES = ioc(1, 0x00, 8)
SET_VRING_CALL = ioc(1, 0x21, 8)
SET_STATUS = ioc(1, 0x72, 1)

fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.ioctl(fd, SET_OWNER)
feat = struct.unpack("=Q", fcntl.ioctl(fd, GET_FEATURES, bytes(8)))[0]
# VERSION_1 and ACCESS_PLATFORM (NIC a has iommu_platform=on)
fcntl.ioctl(fd, SET_FEATURES, struct.pack("=Q", feat & (3 << 32)))
efd = os.eventfd(0)
for vq in (0, 1):
    fcntl.ioctl(fd, SET_VRING_CALL, struct.pack("=Ii", vq, efd))
for st in (1, 3, 11, 15):  # ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK
    fcntl.ioctl(fd, SET_STATUS, struct.pack("=B", st))
for _ in range(int(sys.argv[2])):
    fcntl.ioctl(fd, SET_VRING_CALL, struct.pack("=Ii", 1, efd))
os.close(fd)
print("ok")
PY
}

vp_bypass_lines() {
	dmesg | grep -c "vq 1: irq bypass producer not registered (-16)" || true
}

# SET_VRING_CALL during DRIVER_OK with an eventfd another vq already uses
# fails to register its irq bypass producer (EBUSY) and says so: a client
# can repeat it at will, so the kernel log line is ratelimited.
test_vring_call_ebusy_ratelimited() {
	local n0 n1 out

	vp_setup
	load_modules vhost_vdpa
	vp_to_vdpa
	wait_for 5 test -c /dev/vhost-vdpa-0
	n0=$(vp_bypass_lines)
	out=$(vp_call_ebusy /dev/vhost-vdpa-0 300)
	expect_eq "$out" ok "the client"
	n1=$(vp_bypass_lines)
	log "$((n1 - n0)) log lines for 301 failed registrations"
	((n1 > n0)) || fail "no log line: the EBUSY path was not reached"
	((n1 - n0 <= 50)) || fail "$((n1 - n0)) log lines for 301 EBUSY: not ratelimited"
	vdpa dev del vp0
}

# The netdev virtio_net made on the virtio device of vdpa device vp0.
vp_vdpa_netdev() {
	local d

	for d in /sys/bus/vdpa/devices/vp0/virtio*/net/* \
		"$VP_PCI/devices/$VP_A"/virtio*/net/*; do
		[ -e "$d" ] && printf '%s\n' "${d##*/}" && return 0
	done
	return 1
}

vp_exited() { ! kill -0 "$1" 2>/dev/null; }

# Something in the peer's namespace ($2, default NIC b's) listens on TCP
# port $1.
vp_listening() {
	ip netns exec "${2:-$VP_NS}" ss -Hltn "sport = :$1" | grep -q .
}

# virtio_vdpa: the kernel's virtio_net on the vdpa device pings the peer,
# and 4 MiB sent over TCP arrive intact.
test_virtio_vdpa_tcp() {
	local dev

	have_module virtio_vdpa || skip "virtio_vdpa is not built"
	vp_setup
	load_modules virtio_vdpa
	vp_to_vdpa
	wait_for 10 vp_vdpa_netdev >/dev/null
	dev=$(vp_vdpa_netdev)
	ip addr replace "$VP_OUR_IP/24" dev "$dev"
	ip link set "$dev" up
	busybox ping -c 3 -W 10 "$VP_PEER_IP" >/dev/null ||
		fail "virtio_net over vp_vdpa cannot ping the peer"
	vp_tcp_check "$VP_NS" "$VP_PEER_IP" 7070 4M
}

# vp_tcp_check NS IP PORT SIZE: SIZE random bytes over TCP to a listener
# on IP:PORT in network namespace NS, compared by sha256.
vp_tcp_check() {
	local ns=$1 ip=$2 port=$3 pid sum

	head -c "$4" /dev/urandom >data
	ip netns exec "$ns" busybox nc -l -p "$port" >recv &
	pid=$!
	# a loaded host may take longer than a second to start the listener
	wait_for 30 vp_listening "$port" "$ns" ||
		fail "the peer's nc never listened" || return 1
	exec 3<>"/dev/tcp/$ip/$port"
	cat data >&3
	exec 3>&-
	wait_for 60 vp_exited "$pid"
	wait "$pid" || true
	sum=$(sha256sum <data)
	expect_eq "$(sha256sum <recv)" "$sum" "sha256 of what $ns received"
}

vp_packed_restore() {
	vdpa dev del vpc0 2>/dev/null || true
	vp_bind "$VP_C" virtio-pci >/dev/null 2>&1 || true
	ip netns del "$VP_NS_D" 2>/dev/null || true
}

# virtio_vdpa's virtio device of vp_vdpa's vdpa device $1: a child of
# the DMA device (the PCI function), as upstream, so beside $1 in sysfs.
vp_vdpa_dev_virtio() {
	local d

	for d in /sys/bus/vdpa/devices/"$1"/../virtio*; do
		[ -e "$d/features" ] && printf '%s\n' "$d" && return 0
	done
	return 1
}

# The netdev of vp_vdpa's vdpa device $1 (virtio_vdpa's virtio_net).
vp_vdpa_dev_netdev() {
	local v

	v=$(vp_vdpa_dev_virtio "$1") || return 1
	set -- "$v"/net/*
	[ -e "$1" ] && printf '%s\n' "${1##*/}"
}

# Bit $2 of the features virtio_vdpa's driver accepted on vdpa device $1
# ("1" or "0").
vp_vdpa_dev_feature() {
	local v f

	v=$(vp_vdpa_dev_virtio "$1") || return 1
	f=$(cat "$v/features") || return 1
	printf '%s\n' "${f:$2:1}"
}

# NIC c offers VIRTIO_F_RING_PACKED (packed=on): vp_vdpa passes it through,
# virtio_vdpa's virtio_net accepts it and runs packed rings on the
# function's queues; ping and 1 MiB over TCP to NIC d, byte for byte.
test_packed_virtio_vdpa() {
	local dev peer

	have_module virtio_vdpa || skip "virtio_vdpa is not built"
	[ -e "$VP_PCI/devices/$VP_C" ] && [ -e "$VP_PCI/devices/$VP_D" ] ||
		skip "the test VM has no NIC c and d (tests/lib/vm-devices.sh)"
	modprobe virtio_net
	load_modules vdpa vp_vdpa virtio_vdpa
	trap vp_packed_restore EXIT
	vp_bind "$VP_D" virtio-pci
	wait_for 10 test -n "$(vp_netdev "$VP_D")"
	peer=$(vp_netdev "$VP_D")
	ip netns add "$VP_NS_D"
	ip link set "$peer" netns "$VP_NS_D" name peer0
	ip -n "$VP_NS_D" addr add "$VP_D_PEER_IP/24" dev peer0
	ip -n "$VP_NS_D" link set peer0 up
	ip -n "$VP_NS_D" link set lo up

	vp_bind "$VP_C" vp-vdpa
	vdpa dev add name vpc0 mgmtdev "pci/$VP_C"
	wait_for 10 vp_vdpa_dev_netdev vpc0 >/dev/null ||
		fail "virtio_vdpa made no netdev for vpc0"
	dev=$(vp_vdpa_dev_netdev vpc0)
	# VIRTIO_F_RING_PACKED is bit 34
	expect_eq "$(vp_vdpa_dev_feature vpc0 34)" 1 "RING_PACKED accepted on vpc0"
	ip addr replace "$VP_D_OUR_IP/24" dev "$dev"
	ip link set "$dev" up
	busybox ping -c 3 -W 10 "$VP_D_PEER_IP" >/dev/null ||
		fail "virtio_net over vp_vdpa (packed) cannot ping NIC d"
	vp_tcp_check "$VP_NS_D" "$VP_D_PEER_IP" 7071 1M
	vdpa dev del vpc0
}

# Start testpmd in the background with the given application options;
# true once it forwards ("Press enter to exit"), false if it died or took
# more than 300 s (EAL start-up under TCG is slow).
vp_testpmd_start() {
	local i

	mkfifo in
	stdbuf -oL -eL dpdk-testpmd -l 0-1 --no-pci --no-huge -m 128 --iova-mode=va \
		--file-prefix=vp-vdpa-test --log-level=lib.eal:notice \
		--vdev=net_virtio_user0,path=/dev/vhost-vdpa-0,queues=1,queue_size=256 \
		-- --nb-cores=1 --rxq=1 --txq=1 --txd=256 --rxd=256 \
		--total-num-mbufs=2048 "$@" <in >testpmd.out 2>&1 &
	VP_TESTPMD=$!
	exec 4>in
	for ((i = 0; i < 3000; i++)); do
		grep -q 'Press enter to exit' testpmd.out && return 0
		kill -0 "$VP_TESTPMD" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 30 testpmd.out >&2
	return 1
}

# DPDK 22.11 testpmd over /dev/vhost-vdpa-0 (virtio-user; IOVA = virtual
# address, translated by the IOMMU domain vhost-vdpa attached to NIC a):
# txonly frames addressed to the peer reach its RX counter.
test_dpdk_txonly() {
	local rx0 rx

	require_cmd dpdk-testpmd
	ls /usr/lib/x86_64-linux-gnu/dpdk/pmds-*/librte_net_virtio.so* \
		>/dev/null 2>&1 || skip "librte-net-virtio23 is not installed"
	grep -qw sse4_2 /proc/cpuinfo || skip "the CPU lacks SSE4.2 (start QEMU with -cpu max)"
	vp_setup
	vp_has_iommu || skip "NIC a is not behind an IOMMU: DPDK 22.11 puts virtual addresses in descriptors"
	load_modules vhost_vdpa
	vp_to_vdpa
	wait_for 5 test -c /dev/vhost-vdpa-0
	ulimit -l unlimited
	rx0=$(vp_peer_rx)
	vp_testpmd_start --forward-mode=txonly --eth-peer="0,$VP_B_MAC" ||
		fail "testpmd did not start forwarding"
	sleep 3
	echo >&4
	exec 4>&-
	wait_for 60 vp_exited "$VP_TESTPMD"
	wait "$VP_TESTPMD" || { tail -n 30 testpmd.out >&2; fail "testpmd failed"; }
	rx=$(($(vp_peer_rx) - rx0))
	log "the peer received $rx frames; testpmd: $(grep -m1 'TX-packets' testpmd.out)"
	((rx >= 100)) || fail "the peer received only $rx frames"
	vdpa dev del vp0
	vp_ping_as_virtio_pci
}
