# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# VDUSE: /dev/vduse/control's checks, then Debian's qemu-storage-daemon
# exporting an image file as a VDUSE block device that virtio_vdpa and
# virtio_blk drive, then the same through vhost_vdpa (VA mode); and what
# happens when that daemon is killed under I/O.  Then our own daemon,
# tools/vduse_net.c: a virtio-net device whose frames go to a TAP
# interface, driven by virtio_vdpa and virtio_net.

. "$VDPA_TREE/tests/helpers/mgmt-lib.sh"

VD_SERIAL=vduse-serial-4711
VD_MB=32
# How long I/O may take to fail once the daemon is killed (seconds).  The
# kernel fails in-flight requests as soon as the daemon's file is closed;
# the rest is the emulated VM's slowness.
VD_FAIL_BOUND=30
# How long `vdpa dev del` may take with a stopped daemon (seconds): the
# kernel's bound is msg_timeout (set to 3 s), the rest is the VM.
VD_DEL_BOUND=40

# vd_ctl OP ARGS...: drive /dev/vduse/control (and a device node) from
# Python; each op prints "ok" or the errno name it got.
vd_ctl() {
	"$PY3" -c "$VD_CTL_PY" "$@"
}

# (stdin stays free: vq_setup waits on it)
VD_CTL_PY=$(cat <<'PYEOF'
import errno, fcntl, os, struct, sys

def ioc(d, nr, size):
    return (d << 30) | (size << 16) | (0x81 << 8) | nr

W, R = 1, 2
CFG_FMT = "256sIIQII52sI"
GET_API = ioc(R, 0x00, 8)
SET_API = ioc(W, 0x01, 8)
CREATE = ioc(W, 0x02, struct.calcsize(CFG_FMT))
DESTROY = ioc(W, 0x03, 256)
VQ_SETUP = ioc(W, 0x14, 32)
F_VERSION_1, F_ACCESS_PLATFORM = 1 << 32, 1 << 33

def call(fd, req, arg):
    try:
        fcntl.ioctl(fd, req, arg)
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]

op, args = sys.argv[1], sys.argv[2:]
ctl = os.open("/dev/vduse/control", os.O_RDWR)
if op == "api":
    buf = bytearray(8)
    fcntl.ioctl(ctl, GET_API, buf)
    print(struct.unpack("Q", buf)[0], call(ctl, SET_API, struct.pack("Q", 0)),
          call(ctl, SET_API, struct.pack("Q", 1)))
elif op == "create":
    # create NAME DEVICE_ID FEATURES VQ_NUM VQ_ALIGN CONFIG_SIZE [RESERVED]
    name, dev_id, feat, vqn, align, csize = args[:6]
    reserved = b"\x01" if len(args) > 6 else b""
    cfg = struct.pack(CFG_FMT, name.encode(), 0, int(dev_id), int(feat, 0),
                      int(vqn), int(align), reserved, int(csize))
    cfg += struct.pack("<Q", 2048 * 32) + bytes(max(0, int(csize) - 8))
    print(call(ctl, CREATE, cfg))
elif op == "destroy":
    print(call(ctl, DESTROY, args[0].encode().ljust(256, b"\0")))
elif op == "vq_setup":
    # vq_setup NAME INDEX MAX_SIZE: set up, keep the node open until stdin ends
    fd = os.open("/dev/vduse/" + args[0], os.O_RDWR)
    print(call(fd, VQ_SETUP, struct.pack("IH26s", int(args[1]), int(args[2]), b"")),
          flush=True)
    sys.stdin.read()
elif op == "iotlb_fd":
    # iotlb_fd NAME: VDUSE_IOTLB_GET_FD with an entry the kernel can read
    # but not write back, then a good one; prints each result and how
    # many descriptors the first one left in the process
    import ctypes, mmap
    fd = os.open("/dev/vduse/" + args[0], os.O_RDWR)
    get_fd = ioc(W | R, 0x10, 32)
    entry = struct.pack("QQQB7x", 0, 4096, 4096, 0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
    ro = mmap.mmap(-1, 4096)
    ro[:32] = entry
    addr = ctypes.addressof(ctypes.c_char.from_buffer(ro))
    if libc.mprotect(addr, 4096, mmap.PROT_READ):
        sys.exit("mprotect failed")
    before = len(os.listdir("/proc/self/fd"))
    # (fcntl.ioctl() takes no 64-bit address)
    got = libc.ioctl(fd, get_fd, addr)
    res = ["ok" if got >= 0 else errno.errorcode[ctypes.get_errno()]]
    res.append("+%d" % (len(os.listdir("/proc/self/fd")) - before))
    buf = bytearray(entry)
    got = fcntl.ioctl(fd, get_fd, buf)
    off, start = struct.unpack_from("QQ", buf)
    # IOVA 4096 is in the bounce region, which starts at 0
    res.append("ok" if got >= 0 and off == start == 0 else "bad")
    print(" ".join(res))
PYEOF
)

VD_BLK_FEATURES=$(((1 << 32) | (1 << 33)))

test_control() {
	load_modules vdpa vduse
	vdpa mgmtdev show | grep -q '^vduse:' || fail "mgmtdev vduse not listed"
	vdpa mgmtdev show vduse | grep -q 'supported_classes net block' ||
		fail "vduse does not list the net and block classes: $(vdpa mgmtdev show vduse)"
	wait_for 10 test -c /dev/vduse/control
	expect_eq "$(vd_ctl api)" "0 ok EINVAL" "API version, set 0, set 1"

	# config validation: each bad field gets EINVAL
	expect_eq "$(vd_ctl create x0 2 $((1 << 32)) 1 4096 8)" EINVAL "no ACCESS_PLATFORM"
	expect_eq "$(vd_ctl create x0 2 $((1 << 33)) 1 4096 8)" EINVAL "no VERSION_1"
	expect_eq "$(vd_ctl create x0 3 $VD_BLK_FEATURES 1 4096 8)" EINVAL "console class"
	# virtio-net: one queue pair, no control virtqueue, no feature beyond
	# the list (VIRTIO_NET_F_GUEST_ANNOUNCE, bit 21, needs the control vq)
	expect_eq "$(vd_ctl create x0 1 $VD_BLK_FEATURES 1 4096 8)" EINVAL "net, 1 queue"
	expect_eq "$(vd_ctl create x0 1 $((VD_BLK_FEATURES | 1 << 17)) 3 4096 8)" \
		EINVAL "net, control vq"
	expect_eq "$(vd_ctl create x0 1 $((VD_BLK_FEATURES | 1 << 21)) 2 4096 8)" \
		EINVAL "net, GUEST_ANNOUNCE"
	expect_eq "$(vd_ctl create x0 1 $((VD_BLK_FEATURES | 1 << 3)) 2 4096 8)" \
		EINVAL "net, MTU without mtu in config"
	expect_eq "$(vd_ctl create n0 1 $((VD_BLK_FEATURES | 1 << 5)) 2 4096 8)" ok \
		"net, MAC, 2 queues"
	expect_eq "$(vd_ctl destroy n0)" ok "destroy n0"
	# packed rings (VIRTIO_F_RING_PACKED, bit 34), as upstream
	expect_eq "$(vd_ctl create p0 2 $((VD_BLK_FEATURES | 1 << 34)) 1 4096 8)" ok \
		"block, packed"
	expect_eq "$(vd_ctl destroy p0)" ok "destroy p0"
	expect_eq "$(vd_ctl create p1 1 $((VD_BLK_FEATURES | 1 << 5 | 1 << 34)) 2 4096 8)" ok \
		"net, packed"
	expect_eq "$(vd_ctl destroy p1)" ok "destroy p1"
	expect_eq "$(vd_ctl create x0 2 $VD_BLK_FEATURES 0 4096 8)" EINVAL "0 queues"
	expect_eq "$(vd_ctl create x0 2 $VD_BLK_FEATURES 65 4096 8)" EINVAL "65 queues"
	expect_eq "$(vd_ctl create x0 2 $VD_BLK_FEATURES 1 3000 8)" EINVAL "align 3000"
	expect_eq "$(vd_ctl create x0 2 $VD_BLK_FEATURES 1 4096 4)" EINVAL "config 4 bytes"
	expect_eq "$(vd_ctl create x0 2 $VD_BLK_FEATURES 1 4096 8 r)" EINVAL "reserved set"
	expect_eq "$(vd_ctl create a/b 2 $VD_BLK_FEATURES 1 4096 8)" EINVAL "name with /"
	expect_eq "$(vd_ctl create control 2 $VD_BLK_FEATURES 1 4096 8)" EINVAL "name control"
	expect_eq "$(vd_ctl create "$(printf 'n%.0s' {1..64})" 2 $VD_BLK_FEATURES 1 4096 8)" \
		EINVAL "64-byte name"
	[ ! -e /dev/vduse/x0 ] || fail "a refused device has a node"

	expect_eq "$(vd_ctl create x0 2 $VD_BLK_FEATURES 1 4096 8)" ok "valid create"
	wait_for 10 test -c /dev/vduse/x0
	expect_eq "$(vd_ctl create x0 2 $VD_BLK_FEATURES 1 4096 8)" EEXIST "duplicate"
	# queues not set up: the device cannot be attached
	! vdpa dev add name x0 mgmtdev vduse 2>err ||
		fail "attached a device whose queues are not set up"
	grep -q 'not set up' err || fail "dev add: $(cat err)"
	! vdpa dev add name nosuch mgmtdev vduse 2>/dev/null ||
		fail "attached a VDUSE device that does not exist"
	[ -z "$(vdpa_devices)" ] || fail "a vdpa device was left: $(vdpa_devices)"

	# a node that is open cannot be destroyed; a second open is refused
	coproc VQ { vd_ctl vq_setup x0 0 64; }
	read -r out <&"${VQ[0]}"
	expect_eq "$out" ok "VQ_SETUP"
	"$PY3" -c 'import os; os.open("/dev/vduse/x0", os.O_RDWR)' 2>err &&
		fail "a second open of /dev/vduse/x0 succeeded"
	grep -q 'Device or resource busy' err || fail "second open: $(cat err)"
	expect_eq "$(vd_ctl destroy x0)" EBUSY "destroy while open"
	exec {VQ[1]}>&-
	wait "$VQ_PID"
	expect_eq "$(vd_ctl destroy x0)" ok "destroy"
	wait_for 10 test ! -e /dev/vduse/x0
	expect_eq "$(vd_ctl destroy x0)" EINVAL "destroy again"
}

# VDUSE_IOTLB_GET_FD that cannot write its answer back fails with EFAULT
# and leaves no descriptor behind (the caller could not know its number).
test_iotlb_get_fd() {
	load_modules vdpa vduse
	expect_eq "$(vd_ctl create fd0 2 $VD_BLK_FEATURES 1 4096 8)" ok "create"
	wait_for 10 test -c /dev/vduse/fd0
	expect_eq "$(vd_ctl iotlb_fd fd0)" "EFAULT +0 ok" \
		"GET_FD into a read-only entry, fds it left, GET_FD"
	expect_eq "$(vd_ctl destroy fd0)" ok "destroy"
}

# ---- qemu-storage-daemon ----

vd_child() {
	local dir

	for dir in /sys/bus/vdpa/devices/"$1"/virtio*/block/*; do
		[ -e "$dir" ] || continue
		basename "$dir"
		return 0
	done
	return 1
}

vd_has_child() {
	vd_child "$@" >/dev/null
}

# vd_start IMAGE: a daemon exporting IMAGE as vduse0 and attached
# through virtio_vdpa; sets VD_PID and VD_DEV.
vd_start() {
	local disk

	require_cmd qemu-storage-daemon
	load_modules vdpa vduse virtio_vdpa
	modprobe virtio_blk
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f0,filename="$1" \
		--blockdev driver=raw,node-name=d0,file=f0 \
		--export type=vduse-blk,id=e0,node-name=d0,name=vduse0,writable=on,serial=$VD_SERIAL \
		>qsd.log 2>&1 &
	VD_PID=$!
	wait_for 60 test -c /dev/vduse/vduse0 ||
		{ cat qsd.log; fail "no /dev/vduse/vduse0"; }
	vdpa dev add name vduse0 mgmtdev vduse
	vdpa dev show vduse0
	wait_for 60 vd_has_child vduse0
	disk=$(vd_child vduse0)
	VD_DEV=/dev/$disk
	wait_for 30 test -b "$VD_DEV"
	log "disk $VD_DEV of daemon $VD_PID"
}

vd_stop() {
	if [ -n "${VD_PID:-}" ] && kill -0 "$VD_PID" 2>/dev/null; then
		# a stopped daemon would not act on SIGTERM
		kill -CONT "$VD_PID"
		kill "$VD_PID"
		wait "$VD_PID" || true
	fi
	if mountpoint -q "$TEST_TMPDIR/mnt"; then
		umount "$TEST_TMPDIR/mnt" || true
	fi
}

test_qsd_blk() {
	local disk sectors=$((VD_MB * 2048))

	truncate -s ${VD_MB}M img
	trap vd_stop EXIT
	vd_start "$TEST_TMPDIR/img"
	disk=${VD_DEV#/dev/}
	expect_eq "$(cat /sys/block/"$disk"/serial)" $VD_SERIAL "serial of $disk"
	expect_eq "$(cat /sys/block/"$disk"/size)" $sectors "size of $disk"
	expect_eq "$(vdpa dev show vduse0 | grep -o 'mgmtdev vduse')" "mgmtdev vduse" \
		"mgmtdev of vduse0"

	# a pseudo-random pattern round-trips past the page cache, and is in
	# the image file where it was written
	head -c $((2 << 20)) /dev/urandom >pattern
	dd if=pattern of="$VD_DEV" bs=256k seek=7 oflag=direct conv=fsync status=none
	dd if="$VD_DEV" of=back bs=256k skip=7 count=8 iflag=direct status=none
	cmp pattern back || fail "pattern read back differs"
	cmp pattern <(dd if=img bs=256k skip=7 count=8 status=none) ||
		fail "the image file does not hold the pattern"
	# odd sizes and offsets: 4 KiB blocks and a 1 MiB one, unaligned to pages
	dd if=pattern of="$VD_DEV" bs=4k count=33 seek=1001 oflag=direct status=none
	cmp <(head -c $((33 * 4096)) pattern) \
		<(dd if=img bs=4k skip=1001 count=33 status=none) ||
		fail "4 KiB writes are not in the image"
	dd if="$VD_DEV" of=last bs=512 skip=$((sectors - 1)) count=1 iflag=direct status=none
	expect_eq "$(stat -c %s last)" 512 "last sector read"

	# a file system: mkfs, mount, a file round trip, fsck clean
	modprobe ext4
	mkfs.ext4 -q -F "$VD_DEV"
	mkdir mnt
	mount -t ext4 "$VD_DEV" mnt
	cp pattern mnt/file
	sync
	umount mnt
	mount -t ext4 -o ro "$VD_DEV" mnt
	cmp pattern mnt/file || fail "file differs after remount"
	umount mnt
	e2fsck -fn "$VD_DEV" || fail "e2fsck found problems"
	if dmesg | grep -E "(I/O|critical medium) error, dev $disk" >&2; then
		fail "I/O errors on $disk"
	fi

	# detach while the daemon runs; the daemon keeps its device
	vdpa dev del vduse0
	[ -z "$(vdpa_devices)" ] || fail "vduse0 still on the bus"
	wait_for 30 test ! -e "$VD_DEV"
	kill -0 "$VD_PID" || fail "the daemon died on detach"
	test -c /dev/vduse/vduse0 || fail "the daemon's node went on detach"
	# it can be attached again, and the file system is still there
	vdpa dev add name vduse0 mgmtdev vduse
	wait_for 60 vd_has_child vduse0
	VD_DEV=/dev/$(vd_child vduse0)
	wait_for 30 test -b "$VD_DEV"
	e2fsck -fn "$VD_DEV" || fail "e2fsck after re-attach"
	vdpa dev del vduse0

	# the daemon's exit destroys its device
	kill "$VD_PID"
	wait "$VD_PID" || true
	wait_for 30 test ! -e /dev/vduse/vduse0
	dmesg | grep -i vduse | tail -n 20
}

# ---- the same daemon through vhost-vdpa (VA mode) ----

VD_VB_TOOL=$VDPA_TREE/tools/build/vdpa-blk

# vd_vhost_node DEV: /dev/vhost-vdpa-N of vdpa device DEV, once it exists.
vd_vhost_node() {
	local d

	wait_for 30 compgen -G "/sys/bus/vdpa/devices/$1/vhost-vdpa-*" >/dev/null ||
		return 1
	for d in "/sys/bus/vdpa/devices/$1"/vhost-vdpa-*; do
		d=${d##*/}
	done
	wait_for 10 test -c "/dev/$d"
	printf '/dev/%s\n' "$d"
}

# vd_vb OUTFILE ARGS...: run tools/vdpa_blk.c, show its output; true if it
# passed.
vd_vb() {
	local outf=$1 rc=0

	shift
	timeout 300 "$VD_VB_TOOL" "$@" >"$outf" 2>&1 </dev/null || rc=$?
	cat "$outf"
	[ "$rc" -eq 0 ] && grep -qx PASS "$outf"
}

# Shared memory in kB (Shmem of /proc/meminfo).  Every run of the tool
# with --shared fills a 4 MiB memfd (MAP_POPULATE): a file reference left
# behind keeps those pages.  (The allocated-files figure of
# /proc/sys/fs/file-nr is a per-CPU counter read without summing: it moves
# in steps of 32 by itself.)
vd_shmem_kb() {
	awk '$1 == "Shmem:" { print $2 }' /proc/meminfo
}

# qemu-storage-daemon's VDUSE device bound to vhost_vdpa instead, driven by
# tools/vdpa_blk.c.  VDUSE is a use_va parent: the client's DMA region is
# a memfd mapped MAP_SHARED, whose file the daemon gets from
# VDUSE_IOTLB_GET_FD and maps.  Device id and config through
# /dev/vhost-vdpa-N, a pattern written (then in the image file) and read
# back; private anonymous memory refused with a logged reason and no harm;
# no file reference left behind by either; the daemon drops its mappings
# of the client's memory when the client goes (VDUSE_UPDATE_IOTLB).
test_qsd_vhost() {
	local node sectors=$((VD_MB * 2048)) before after i mark

	mark=$(dmesg | wc -l)
	[ -x "$VD_VB_TOOL" ] || fail "$VD_VB_TOOL is not built (make tools)" ||
		return 1
	require_cmd qemu-storage-daemon
	truncate -s ${VD_MB}M img
	trap vd_stop EXIT
	# no virtio_vdpa: the new device binds to vhost_vdpa
	load_modules vdpa vduse vhost_vdpa
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f0,filename="$TEST_TMPDIR/img" \
		--blockdev driver=raw,node-name=d0,file=f0 \
		--export type=vduse-blk,id=e0,node-name=d0,name=vduse0,writable=on,serial=$VD_SERIAL \
		>qsd.log 2>&1 </dev/null &
	VD_PID=$!
	wait_for 60 test -c /dev/vduse/vduse0 ||
		{ cat qsd.log; fail "no /dev/vduse/vduse0"; }
	vdpa dev add name vduse0 mgmtdev vduse
	node=$(vd_vhost_node vduse0) || fail "vduse0 got no vhost-vdpa node"
	expect_eq "$(basename "$(readlink /sys/bus/vdpa/devices/vduse0/driver)")" \
		vhost_vdpa "driver of vduse0"

	vd_vb fill.out -d "$node" --shared --fill 7 --sectors 2048 ||
		{ cat qsd.log; fail "fill through vhost-vdpa failed"; }
	grep -qx "# device id 2, config: capacity $sectors sectors" fill.out ||
		fail "device id or capacity read through $node is wrong"
	cmp <("$VD_VB_TOOL" --pattern 7 --sectors 2048) <(head -c $((2048 * 512)) img) ||
		fail "the image file does not hold the pattern"
	vd_vb verify.out -d "$node" --shared --verify 7 --sectors 2048 ||
		fail "verify through vhost-vdpa failed"
	# what the daemon writes elsewhere is read back too
	vd_vb fill2.out -d "$node" --shared --fill 99 --sectors 4096 &&
		vd_vb verify2.out -d "$node" --shared --verify 99 --sectors 4096 ||
		fail "a second pattern did not round-trip"

	# private anonymous memory: the UPDATE fails, with a reason logged
	! vd_vb private.out -d "$node" --verify 99 --sectors 8 ||
		fail "private anonymous memory was accepted in VA mode"
	grep -q "IOTLB UPDATE of the DMA region" private.out ||
		fail "the tool did not fail at the UPDATE"
	dmesg | tail -n +$((mark + 1)) | grep -q "VA mode needs shared file memory" ||
		fail "no reason logged for the refused UPDATE"
	kill -0 "$VD_PID" || fail "the daemon died"

	# no file reference is left behind, accepted or refused
	before=$(vd_shmem_kb)
	for ((i = 0; i < 10; i++)); do
		vd_vb ok.out -d "$node" --shared --verify 99 --sectors 8 ||
			fail "run $i with shared memory failed"
		! vd_vb bad.out -d "$node" --verify 99 --sectors 8 >/dev/null ||
			fail "run $i with private memory was accepted"
	done
	after=$(vd_shmem_kb)
	log "Shmem: $before kB before 20 runs, $after kB after"
	# one kept memfd is 4096 kB; per-CPU drift of the figure stays below
	[ $((after - before)) -lt 3072 ] ||
		fail "Shmem grew by $((after - before)) kB over 20 runs: a memfd is kept"
	# the client is gone: the daemon was told and unmapped its memfd
	! grep -q vdpa-dma "/proc/$VD_PID/maps" ||
		fail "the daemon still maps a gone client's memory"

	vdpa dev del vduse0
	[ -z "$(vdpa_devices)" ] || fail "vduse0 still on the bus"
	kill "$VD_PID"
	wait "$VD_PID" || true
	wait_for 30 test ! -e /dev/vduse/vduse0
	if dmesg | tail -n +$((mark + 1)) | grep -E "BUG|WARNING|broken" >&2; then
		fail "kernel warnings"
	fi
}

# kill -9 of the daemon while a mounted file system is being written:
# the writer gets errors within VD_FAIL_BOUND seconds, umount and vdpa
# dev del return, the module unloads (cleanup).
test_qsd_kill() {
	local writer t0 rc=0 i

	truncate -s ${VD_MB}M img
	trap vd_stop EXIT
	vd_start "$TEST_TMPDIR/img"
	modprobe ext4
	mkfs.ext4 -q -F "$VD_DEV"
	mkdir mnt
	mount -t ext4 "$VD_DEV" mnt
	# rewrites the same 4 MiB until a write fails
	(
		while dd if=/dev/urandom of=mnt/big bs=64k count=64 oflag=direct \
			conv=notrunc status=none; do :; done
		exit 1
	) 2>writer.err &
	writer=$!
	sleep 3
	kill -0 $writer || fail "the writer ended before the kill"
	kill -KILL "$VD_PID"
	t0=$SECONDS
	wait "$VD_PID" || true
	for ((i = 0; i < VD_FAIL_BOUND * 10; i++)); do
		kill -0 $writer 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $writer 2>/dev/null; then
		kill -KILL $writer
		fail "the writer still runs $VD_FAIL_BOUND s after the daemon died"
	fi
	wait $writer || rc=$?
	log "writer ended after $((SECONDS - t0)) s with status $rc: $(cat writer.err)"
	grep -q 'Input/output error' writer.err || fail "the writer did not see an I/O error"
	dmesg | grep -E 'vduse|vduse0' | tail -n 10

	timeout 60 umount mnt || fail "umount after the daemon died"
	t0=$SECONDS
	timeout 60 vdpa dev del vduse0 || fail "vdpa dev del after the daemon died"
	log "vdpa dev del took $((SECONDS - t0)) s"
	[ -z "$(vdpa_devices)" ] || fail "vduse0 still on the bus"
	# the killed daemon did not destroy its device: it is still there,
	# and can be destroyed now that nothing uses it
	test -c /dev/vduse/vduse0 || fail "the node went with the daemon"
	expect_eq "$(vd_ctl destroy vduse0)" ok "destroy after the daemon died"
	wait_for 10 test ! -e /dev/vduse/vduse0
}

vd_daemon_gone() {
	! kill -0 "$VD_PID" 2>/dev/null
}

# The continued daemon's poll() says its device is broken (EPOLLERR): the
# read that follows must fail once, and the daemon go back to waiting in
# poll().  A read that sleeps for a request that cannot come (the device
# is detached) would keep it from ever seeing SIGTERM; one that fails for
# ever, with EPOLLERR standing, would make it spin on the error.
vd_daemon_settles() {
	local wchan errors

	sleep 3
	wchan=$(cat "/proc/$VD_PID/wchan" 2>/dev/null || true)
	log "continued daemon waits in ${wchan:-?}"
	[ "$wchan" != vduse_dev_read ] ||
		fail "the daemon sleeps in read() of its broken device"
	errors=$(grep -c 'request error' qsd.log || true)
	log "daemon's request errors: $errors"
	((errors <= 1)) || fail "the daemon keeps failing to read: $(tail -n 3 qsd.log)"
}

vd_stop_writer() {
	if [ -n "${VD_WRITER:-}" ]; then
		kill -KILL "$VD_WRITER" 2>/dev/null || true
	fi
	vd_stop
}

# A daemon stopped (SIGSTOP) with a request in flight: `vdpa dev del`
# returns within msg_timeout (3 s here) of the daemon's last sign of life
# plus the VM's slowness, leaves the device broken and the writer failed;
# the daemon, continued, finds its device detached and can destroy it.
test_stopped_daemon_del() {
	local writer del t0 secs

	truncate -s ${VD_MB}M img
	trap vd_stop_writer EXIT
	vd_start "$TEST_TMPDIR/img"
	echo 3 >/sys/module/vduse/parameters/msg_timeout
	(
		while dd if=/dev/urandom of="$VD_DEV" bs=64k count=16 oflag=direct \
			status=none; do :; done
	) 2>writer.err &
	writer=$!
	VD_WRITER=$writer
	sleep 3
	kill -0 $writer || fail "the writer ended before the stop"
	kill -STOP "$VD_PID"
	# the writer's next request cannot complete
	sleep 1
	t0=$SECONDS
	vdpa dev del vduse0 2>del.err &
	del=$!
	# (by the clock: each sleep takes longer than it says in the VM)
	while kill -0 $del 2>/dev/null && ((SECONDS - t0 < VD_DEL_BOUND)); do
		sleep 0.5
	done
	secs=$((SECONDS - t0))
	if kill -0 $del 2>/dev/null; then
		# let it finish, so the test can clean up
		kill -CONT "$VD_PID"
		wait $del || true
		fail "vdpa dev del still waited $secs s after the daemon was stopped"
	fi
	wait $del || fail "vdpa dev del failed: $(cat del.err)"
	log "vdpa dev del returned after $secs s"
	[ -z "$(vdpa_devices)" ] || fail "vduse0 still on the bus"
	dmesg | grep 'vduse vduse0: device broken' | tail -n 3
	dmesg | grep -q 'vduse vduse0: device broken' || fail "no 'device broken' log line"
	t0=$SECONDS
	while kill -0 $writer 2>/dev/null && ((SECONDS - t0 < VD_FAIL_BOUND)); do
		sleep 0.5
	done
	! kill -0 $writer 2>/dev/null || fail "the writer still runs after vdpa dev del"
	grep -q 'Input/output error\|No such' writer.err ||
		fail "the writer did not see an error: $(cat writer.err)"
	# the daemon runs again: it still has its (detached) device
	kill -CONT "$VD_PID"
	test -c /dev/vduse/vduse0 || fail "the node went on vdpa dev del"
	vd_daemon_settles
	kill "$VD_PID"
	wait_for 30 vd_daemon_gone || fail "the daemon did not end on SIGTERM"
	wait "$VD_PID" || true
	wait_for 30 test ! -e /dev/vduse/vduse0 ||
		fail "the daemon could not destroy its device"
}

# A daemon that answers at once, with msg_timeout so large that the
# timeout in jiffies wrapped to 0 in 32-bit arithmetic (2^31 s times any
# even HZ): no request may time out.  The daemon refuses FEATURES_OK so
# that virtio_blk's probe fails and no I/O comes.
test_huge_msg_timeout() {
	local out

	load_modules vdpa vduse virtio_vdpa
	modprobe virtio_blk
	echo 2147483648 >/sys/module/vduse/parameters/msg_timeout
	expect_eq "$(vd_ctl create slow0 2 $VD_BLK_FEATURES 1 4096 8)" ok "create"
	wait_for 10 test -c /dev/vduse/slow0
	coproc OK { "$PY3" -c "$VD_OK_PY" slow0; }
	read -r out <&"${OK[0]}"
	expect_eq "$out" ready "daemon set up"
	timeout 120 vdpa dev add name slow0 mgmtdev vduse ||
		fail "vdpa dev add failed or hung"
	! dmesg | grep 'vduse slow0: device broken' ||
		fail "a request timed out at once"
	! vd_has_child slow0 || fail "a disk appeared though FEATURES_OK was refused"
	timeout 120 vdpa dev del slow0 || fail "vdpa dev del failed or hung"
	exec {OK[1]}>&-
	wait "$OK_PID" || true
	echo 10 >/sys/module/vduse/parameters/msg_timeout
	expect_eq "$(vd_ctl destroy slow0)" ok "destroy"
}

# A daemon that answers every request at once: OK, except a status with
# FEATURES_OK, refused; runs until its stdin ends.
VD_OK_PY=$(cat <<'PYEOF'
import fcntl, os, select, struct, sys, time

def ioc(d, nr, size):
    return (d << 30) | (size << 16) | (0x81 << 8) | nr

fd = os.open("/dev/vduse/" + sys.argv[1], os.O_RDWR | os.O_NONBLOCK)
fcntl.ioctl(fd, ioc(1, 0x14, 32), struct.pack("IH26s", 0, 64, b""))
print("ready", flush=True)
while True:
    ready = select.select([fd, sys.stdin], [], [])[0]
    if sys.stdin in ready:
        break
    try:
        req = os.read(fd, 152)
    except BlockingIOError:
        # a broken device polls as an error, with nothing to read
        time.sleep(0.5)
        continue
    rtype, rid = struct.unpack_from("II", req)
    status = req[24]
    result = 1 if rtype == 1 and status & 8 else 0
    os.write(fd, struct.pack("II", rid, result) + bytes(144))
PYEOF
)

# A daemon that answers garbage, then nothing: its bad responses get
# errnos, the unanswered request times out (msg_timeout, set to 2 s here),
# the device is marked broken and later requests fail at once, so
# `vdpa dev add` and `vdpa dev del` return in bounded time.
test_silent_daemon() {
	local t0 secs out

	load_modules vdpa vduse virtio_vdpa
	modprobe virtio_blk
	echo 2 >/sys/module/vduse/parameters/msg_timeout
	expect_eq "$(vd_ctl create silent0 2 $VD_BLK_FEATURES 1 4096 8)" ok "create"
	wait_for 10 test -c /dev/vduse/silent0
	coproc BAD { "$PY3" -c "$VD_BAD_PY" silent0; }
	read -r out <&"${BAD[0]}"
	expect_eq "$out" ready "bad daemon set up"
	t0=$SECONDS
	timeout 120 vdpa dev add name silent0 mgmtdev vduse ||
		fail "vdpa dev add failed or hung"
	secs=$((SECONDS - t0))
	log "vdpa dev add returned after $secs s"
	read -r out <&"${BAD[0]}"
	expect_eq "$out" "short-read EINVAL wrong-id ENOENT short-write EINVAL" \
		"errnos of bad replies"
	[ $secs -le 60 ] || fail "vdpa dev add took $secs s"
	dmesg | grep -q 'vduse silent0: device broken: request timed out' ||
		fail "no 'device broken' log line"
	! vd_has_child silent0 || fail "a disk appeared on a silent daemon"
	t0=$SECONDS
	timeout 60 vdpa dev del silent0 || fail "vdpa dev del failed or hung"
	[ $((SECONDS - t0)) -le 10 ] || fail "vdpa dev del waited $((SECONDS - t0)) s"
	exec {BAD[1]}>&-
	wait "$BAD_PID" || true
	expect_eq "$(vd_ctl destroy silent0)" ok "destroy"
}

VD_BAD_PY=$(cat <<'PYEOF'
import errno, fcntl, os, struct, sys

def ioc(d, nr, size):
    return (d << 30) | (size << 16) | (0x81 << 8) | nr

fd = os.open("/dev/vduse/" + sys.argv[1], os.O_RDWR)
fcntl.ioctl(fd, ioc(1, 0x14, 32), struct.pack("IH26s", 0, 64, b""))
print("ready", flush=True)
res = []
try:
    os.read(fd, 16)
except OSError as e:
    res += ["short-read", errno.errorcode[e.errno]]
req = os.read(fd, 152)
rtype, rid = struct.unpack_from("II", req)
for name, data in (("wrong-id", struct.pack("II", rid + 1000, 0) + bytes(144)),
                   ("short-write", struct.pack("II", rid, 0))):
    try:
        os.write(fd, data)
        res += [name, "ok"]
    except OSError as e:
        res += [name, errno.errorcode[e.errno]]
print(" ".join(res), flush=True)
sys.stdin.read()
PYEOF
)

# ---- our VDUSE net daemon: tools/vduse_net.c ----

VN_NS=vduse-peer
VN_MAC=52:54:00:76:64:01
VN_OUR_IP=10.77.0.1
VN_PEER_IP=10.77.0.2

vn_netdev() {
	local d

	for d in /sys/bus/vdpa/devices/"$1"/virtio*/net/*; do
		[ -e "$d" ] && printf '%s\n' "${d##*/}" && return 0
	done
	return 1
}

vn_listening() {
	ip netns exec "$VN_NS" ss -Hltn "sport = :$1" | grep -q .
}

vn_exited() { ! kill -0 "$1" 2>/dev/null; }

# vn_exit NAME: stop the daemon of device NAME, which must exit cleanly,
# remove its node and report no errors; its counters are in vn.log
vn_exit() {
	kill -0 "$VN_PID" || fail "the daemon died on detach"
	kill "$VN_PID"
	wait "$VN_PID" || fail "vduse-net exited with an error: $(cat vn.log)"
	VN_PID=
	cat vn.log
	wait_for 30 test ! -e "/dev/vduse/$1"
	grep -q 'bad chains 0, tap errors 0' vn.log || fail "errors in vduse-net"
}

# vn_loop_dev NAME ARGS...: start vduse-net -l on NAME with ARGS (VN_PID),
# attach it to virtio_vdpa and set VN_DEV to its netdev.
vn_loop_dev() {
	local name=$1

	shift
	load_modules vdpa vduse virtio_vdpa
	modprobe virtio_net
	trap vn_stop EXIT
	"$VDPA_TREE/tools/build/vduse-net" -n "$name" -l -m $VN_MAC "$@" >vn.log 2>&1 &
	VN_PID=$!
	wait_for 30 grep -q ready vn.log || { cat vn.log; fail "vduse-net did not start"; }
	vdpa dev add name "$name" mgmtdev vduse
	wait_for 30 vn_netdev "$name" >/dev/null || fail "no netdev on $name"
	VN_DEV=$(vn_netdev "$name")
}

vn_stop() {
	if [ -n "${VN_PID:-}" ] && kill -0 "$VN_PID" 2>/dev/null; then
		kill "$VN_PID"
		wait "$VN_PID" || true
	fi
	ip netns del "$VN_NS" 2>/dev/null || true
}

# vn_tap_start NAME [OPTIONS]: vduse-net OPTIONS (words) on device NAME
# with a TAP interface in the peer's namespace, attached through
# virtio_vdpa; VN_DEV its netdev, up, addressed, and the peer pinged.
# With -U the daemon may pin its bounce region (RLIMIT_MEMLOCK).
vn_tap_start() {
	local tools=$VDPA_TREE/tools/build name=$1 opt=${2:-} dev

	[ -x "$tools/vduse-net" ] || fail "$tools/vduse-net is not built (make tools)"
	load_modules vdpa vduse virtio_vdpa
	modprobe virtio_net
	modprobe tun
	trap vn_stop EXIT
	case " $opt " in *" -U "*) ulimit -l unlimited ;; esac
	# shellcheck disable=SC2086 # $opt: no option or a few words
	"$tools/vduse-net" -n "$name" -t vtap0 -m $VN_MAC $opt >vn.log 2>&1 &
	VN_PID=$!
	wait_for 30 grep -q ready vn.log || { cat vn.log; fail "vduse-net did not start"; }
	ip netns add "$VN_NS"
	ip link set vtap0 netns "$VN_NS"
	# IPv4 only: no neighbour discovery frames beside the test's own (the
	# debug kernel has no IPv6 at all)
	[ ! -d /proc/sys/net/ipv6 ] ||
		ip netns exec "$VN_NS" sysctl -qw net.ipv6.conf.vtap0.disable_ipv6=1
	ip -n "$VN_NS" addr add "$VN_PEER_IP/24" dev vtap0
	ip -n "$VN_NS" link set vtap0 up
	ip -n "$VN_NS" link set lo up

	vdpa dev add name "$name" mgmtdev vduse
	vdpa dev show "$name" | grep -q 'type network' ||
		fail "$name is not a net device: $(vdpa dev show "$name")"
	wait_for 30 vn_netdev "$name" >/dev/null || fail "no netdev on $name"
	dev=$(vn_netdev "$name")
	if [ "$opt" = -P ]; then
		vn_packed "$name" || fail "$name did not negotiate RING_PACKED"
		log "$name: packed rings negotiated"
	fi
	expect_eq "$(cat /sys/class/net/"$dev"/address)" $VN_MAC "MAC of $dev"
	[ ! -d /proc/sys/net/ipv6 ] || sysctl -qw net.ipv6.conf."$dev".disable_ipv6=1
	ip addr add "$VN_OUR_IP/24" dev "$dev"
	ip link set "$dev" up
	busybox ping -c 3 -W 10 "$VN_PEER_IP" >/dev/null ||
		{ cat vn.log; fail "$dev cannot ping the peer behind vtap0"; }
	VN_DEV=$dev
}

# vn_send FILE PORT: send FILE over TCP to the peer, whose nc writes what
# it receives to ./recv
vn_send() {
	local pid

	ip netns exec "$VN_NS" busybox nc -l -p "$2" >recv &
	pid=$!
	wait_for 30 vn_listening "$2" || fail "the peer's nc never listened"
	exec 3<>"/dev/tcp/$VN_PEER_IP/$2"
	cat "$1" >&3
	exec 3>&-
	wait_for 60 vn_exited "$pid"
	wait "$pid" || true
}

# The size of vduse's bounce region in kB (what -U pins)
vn_bounce_kb() {
	echo $(($(cat /sys/module/vduse/parameters/domain_mb) * 1024))
}

# vn_vmpin PID: VmPin of process PID in kB
vn_vmpin() {
	awk '$1 == "VmPin:" { print $2 }' "/proc/$1/status"
}

# vduse-net's device, attached through virtio_vdpa: the kernel's
# virtio_net pings a peer in another namespace behind the TAP interface,
# and 4 MiB sent over TCP arrive intact; the daemon's counters agree with
# the interface's; vdpa dev del while it runs, then its exit removes the
# device node.  vn_tap NAME [OPTION]: device NAME, vduse-net's OPTION.
# With -U the bounce region is the daemon's memory: registered and pinned
# while the device runs, deregistered when vdpa dev del resets it.
vn_tap() {
	local name=$1 opt=${2:-} dev sum tx rx
	local dtx drx ttx trx

	vn_tap_start "$name" "$opt"
	dev=$VN_DEV
	head -c 4M /dev/urandom >data
	vn_send data 7070
	sum=$(sha256sum <data)
	expect_eq "$(sha256sum <recv)" "$sum" "sha256 of what the peer received"
	if [ "$opt" = -U ]; then
		grep -q '^vduse-net: umem registered' vn.log ||
			fail "the daemon did not register its memory: $(cat vn.log)"
		expect_eq "$(vn_vmpin "$VN_PID")" "$(vn_bounce_kb)" \
			"VmPin of the daemon while registered"
	fi

	# detach while the daemon runs: the netdev goes, the daemon stays
	tx=$(cat /sys/class/net/"$dev"/statistics/tx_packets)
	rx=$(cat /sys/class/net/"$dev"/statistics/rx_packets)
	vdpa dev del "$name"
	wait_for 30 test ! -e /sys/class/net/"$dev"
	kill -0 "$VN_PID" || fail "the daemon died on detach"
	test -c /dev/vduse/"$name" || fail "the daemon's node went on detach"
	if [ "$opt" = -U ]; then
		# the reset of the detach: the daemon gives its memory back
		wait_for 30 grep -q '^vduse-net: umem deregistered' vn.log ||
			fail "no deregistration on detach: $(cat vn.log)"
		expect_eq "$(vn_vmpin "$VN_PID")" 0 "VmPin of the daemon after detach"
	fi
	# (vtap0 goes with the daemon)
	trx=$(ip netns exec "$VN_NS" cat /sys/class/net/vtap0/statistics/rx_packets)
	ttx=$(ip netns exec "$VN_NS" cat /sys/class/net/vtap0/statistics/tx_packets)
	vn_exit "$name"

	# Counts.  The daemon wrote to the TAP interface exactly what it
	# counted as sent; it cannot give the driver more than it read from
	# there; and the driver (which counts completed buffers) sent no more
	# than the daemon took, and received no more than it was given.
	read -r dtx drx < <(sed -n 's/.* tx \([0-9]*\) frames .* rx \([0-9]*\) frames .*/\1 \2/p' vn.log)
	[ -n "$dtx" ] && [ -n "$drx" ] || fail "no counters in vduse-net's output"
	log "driver tx $tx rx $rx; daemon tx $dtx rx $drx; vtap0 rx $trx tx $ttx"
	expect_eq "$dtx" "$trx" "frames the daemon sent = frames vtap0 received"
	[ "$drx" -le "$ttx" ] || fail "the daemon gave $drx frames, vtap0 sent only $ttx"
	[ "$tx" -le "$dtx" ] || fail "$dev sent $tx frames, the daemon took only $dtx"
	[ "$rx" -le "$drx" ] || fail "$dev received $rx frames, the daemon gave only $drx"
	[ "$tx" -ge 2000 ] || fail "only $tx frames sent for 4 MiB"
}

test_net_tap() {
	vn_tap vnet0
}

# The same with the bounce region in the daemon's own memory (vduse-net
# -U, VDUSE_IOTLB_REG_UMEM): ping and the 4 MiB transfer go through it,
# the daemon's VmPin is the region's size while registered, 0 once the
# detach's reset has deregistered it.
test_net_tap_umem() {
	vn_tap vnet7 -U
}

# vn_recv_size: bytes the peer has received so far
vn_recv_size() {
	stat -c %s recv
}

# vduse-net -U, then SIGUSR1: the daemon deregisters its memory
# (DEREG_UMEM) in the middle of a TCP transfer and goes on through
# VDUSE_IOTLB_GET_FD: the data in flight comes back into the kernel's
# pages, the transfer goes on intact (sha256), VmPin drops from the
# region's size to 0.  The sender paces itself (64 KiB at a time), asks
# for the deregistration once 2 MiB are sent and data has arrived, and
# stops 1 MiB after the daemon did it, so the transfer spans it whatever
# the VM's speed.
test_net_umem_dereg() {
	local chunk=65536 total=$((12 << 20)) sent=0 after=-1 at=0 asked=0
	local pid pin

	head -c $total /dev/urandom >data
	vn_tap_start vnet8 -U
	grep -q '^vduse-net: umem registered' vn.log ||
		fail "the daemon did not register its memory: $(cat vn.log)"
	ip netns exec "$VN_NS" busybox nc -l -p 7071 >recv &
	pid=$!
	wait_for 30 vn_listening 7071 || fail "the peer's nc never listened"
	pin=$(vn_vmpin "$VN_PID")
	expect_eq "$pin" "$(vn_bounce_kb)" "VmPin of the daemon while registered"
	exec 3<>"/dev/tcp/$VN_PEER_IP/7071"
	while [ $sent -lt $total ]; do
		dd if=data bs=$chunk skip=$((sent / chunk)) count=1 status=none >&3
		sent=$((sent + chunk))
		if [ $asked = 0 ] && [ $sent -ge $((2 << 20)) ] &&
			[ "$(vn_recv_size)" -gt 0 ]; then
			at=$(vn_recv_size)
			log "deregistration asked after $sent bytes sent, $at received"
			kill -USR1 "$VN_PID"
			asked=1
		fi
		if [ $after -lt 0 ] && grep -q 'umem deregistered' vn.log; then
			after=0
			log "deregistered after $sent bytes sent, $(vn_recv_size) received"
		fi
		if [ $after -ge 0 ]; then
			after=$((after + chunk))
			[ $after -lt $((1 << 20)) ] || break
		fi
		sleep 0.2
	done
	exec 3>&-
	wait_for 60 vn_exited "$pid"
	wait "$pid" || true
	[ $after -ge 0 ] ||
		{ cat vn.log; fail "the transfer ended before the deregistration"; }
	[ "$at" -gt 0 ] || fail "nothing arrived before the deregistration"
	log "sent $sent bytes, received $(vn_recv_size)"
	expect_eq "$(sha256sum <recv)" "$(head -c $sent data | sha256sum)" \
		"sha256 of what the peer received"
	expect_eq "$(vn_vmpin "$VN_PID")" 0 "VmPin of the daemon after DEREG_UMEM"
	# no second registration, and the exit has nothing to give back
	expect_eq "$(grep -c 'umem registered' vn.log)" 1 "registrations"
	vdpa dev del vnet8
	wait_for 30 test ! -e /sys/class/net/"$VN_DEV"
	vn_exit vnet8
	expect_eq "$(grep -c 'umem deregistered' vn.log)" 1 "deregistrations"
}

# vn_del_after_kill NAME NETDEV PID: once NAME's daemon was killed, stop
# the traffic (PID), detach (vdpa dev del within 60 s; the netdev goes,
# the bus is empty) and destroy the device.  The requests the daemon left
# (and those virtio_net goes on making: every receive refill) are failed
# and reported once per queue, not once per kick.
vn_del_after_kill() {
	local name=$1 dev=$2 t0 dup

	kill "$3" 2>/dev/null || true
	wait "$3" 2>/dev/null || true
	dup=$(dmesg | grep -o "$name: vq [0-9]*: failed .* the daemon left" |
		cut -d: -f2 | sort | uniq -d)
	[ -z "$dup" ] || fail "failed requests reported more than once for:$dup"
	t0=$SECONDS
	timeout 60 vdpa dev del "$name" || fail "vdpa dev del after the daemon died"
	log "vdpa dev del took $((SECONDS - t0)) s"
	wait_for 30 test ! -e /sys/class/net/"$dev"
	[ -z "$(vdpa_devices)" ] || fail "$name still on the bus"
	expect_eq "$(vd_ctl destroy "$name")" ok "destroy after the daemon died"
}

# /sys/class/vduse/NAME/vqN/irq_cb_affinity, as upstream: one per queue,
# all CPUs by default; a CPU list is taken if one of its CPUs is active,
# an empty or unparsable one refused (EINVAL, ERANGE past the CPUs).  The
# driver's interrupt handler then runs on those CPUs: vduse-net's traffic
# (ping, 1 MiB over TCP with its sha256) flows with the handler pinned to
# CPU 1, then CPU 0, then back on any CPU.
vd_affinity() {
	cat /sys/class/vduse/"$1"/vq"$2"/irq_cb_affinity
}

# vd_set_affinity NAME VQ MASK: write MASK, print ok or the error
vd_set_affinity() {
	local err

	if err=$( (echo "$3" >/sys/class/vduse/"$1"/vq"$2"/irq_cb_affinity) 2>&1); then
		echo ok
	else
		case $err in
		*"Invalid argument"*) echo EINVAL ;;
		*"Numerical result out of range"*) echo ERANGE ;;
		*) echo "$err" ;;
		esac
	fi
}

test_irq_affinity() {
	local all q mask sum

	vn_tap_start vnet11
	all=$(vd_affinity vnet11 0)
	[ -n "$all" ] || fail "no vq0/irq_cb_affinity"
	expect_eq "$(vd_affinity vnet11 1)" "$all" "vq1's default mask"
	[ ! -e /sys/class/vduse/vnet11/vq2 ] || fail "a vq2 directory for two queues"
	expect_eq "$(vd_set_affinity vnet11 0 0)" EINVAL "empty mask"
	expect_eq "$(vd_set_affinity vnet11 0 zz)" EINVAL "not a mask"
	expect_eq "$(vd_affinity vnet11 0)" "$all" "mask after refusals"
	head -c 1M /dev/urandom >data
	sum=$(sha256sum <data)
	for mask in 2 1 "$all"; do
		for q in 0 1; do
			expect_eq "$(vd_set_affinity vnet11 $q "$mask")" ok "vq$q mask $mask"
			expect_eq "$(vd_affinity vnet11 $q)" "$mask" "vq$q mask read back"
		done
		busybox ping -c 3 -W 10 "$VN_PEER_IP" >/dev/null ||
			{ cat vn.log; fail "no ping with the handler on CPUs $mask"; }
		vn_send data 7072
		expect_eq "$(sha256sum <recv)" "$sum" "1 MiB on CPUs $mask"
	done
	vdpa dev del vnet11
	wait_for 30 test ! -e /sys/class/net/"$VN_DEV"
	vn_exit vnet11
}

# Pages pinned with FOLL_PIN and not released yet, system-wide
vn_pins() {
	awk '$1 == "nr_foll_pin_acquired" { a = $2 }
	     $1 == "nr_foll_pin_released" { r = $2 }
	     END { print a - r }' /proc/vmstat
}

vn_pins_are() {
	[ "$(vn_pins)" = "$1" ]
}

# vn_rx DEV: frames netdev DEV received; vn_rx_over DEV N: more than N
vn_rx() {
	cat /sys/class/net/"$1"/statistics/rx_packets
}

vn_rx_over() {
	[ "$(vn_rx "$1")" -gt "$2" ]
}

# kill -9 of a daemon whose memory is the bounce region, under traffic:
# the release of its device file deregisters the memory (every pin
# released), `vdpa dev del` returns, the device can be destroyed, the
# kernel stays clean.
test_net_umem_kill() {
	local tools=$VDPA_TREE/tools/build dev mark pinger n pins

	[ -x "$tools/vduse-net" ] || fail "$tools/vduse-net is not built (make tools)" ||
		return 1
	mark=$(dmesg | wc -l)
	ulimit -l unlimited
	load_modules vdpa vduse virtio_vdpa
	pins=$(vn_pins)
	vn_loop_dev vnet9 -U
	dev=$VN_DEV
	wait_for 30 grep -q '^vduse-net: umem registered' vn.log ||
		fail "the daemon did not register its memory: $(cat vn.log)"
	expect_eq "$(vn_vmpin "$VN_PID")" "$(vn_bounce_kb)" "VmPin of the daemon"
	n=$(($(vn_pins) - pins))
	log "pinned pages: $pins before the daemon, $((pins + n)) registered"
	[ $n -ge $(($(vn_bounce_kb) / 4)) ] || fail "only $n more pages pinned"
	[ ! -d /proc/sys/net/ipv6 ] || sysctl -qw net.ipv6.conf."$dev".disable_ipv6=1
	ip addr add "$VN_OUR_IP/24" dev "$dev"
	ip link set "$dev" up
	# broadcast frames, which the loop sends back, until killed
	"$PY3" -c "$VN_FLOOD_PY" "$dev" &
	pinger=$!
	# (python takes seconds to start on the debug kernel)
	wait_for 120 vn_rx_over "$dev" 10 ||
		fail "only $(vn_rx "$dev") frames came back before the kill"
	sleep 1
	log "$(vn_rx "$dev") frames came back before the kill"
	kill -KILL "$VN_PID"
	wait "$VN_PID" || true
	VN_PID=
	wait_for 30 vn_pins_are "$pins" ||
		fail "pins not released: $(vn_pins) pinned, $pins before the daemon"
	vn_del_after_kill vnet9 "$dev" "$pinger"
	expect_eq "$(vn_pins)" "$pins" "pinned pages at the end"
	if dmesg | tail -n +$((mark + 1)) | grep -E "BUG|WARNING|Oops" >&2; then
		fail "kernel reports"
	fi
}

# VDUSE_IOTLB_REG_UMEM's and DEREG_UMEM's answers, checked by vduse-net
# -X: REG before the device is attached (EINVAL), then with the driver
# up each bad field (EINVAL), unmapped memory (EFAULT, nothing pinned),
# RLIMIT_MEMLOCK a page short (ENOMEM, root included) and exact, a second
# REG (EEXIST), VmPin, SIGBUS of the old mapping of the bounce region
# while registered, DEREG with a wrong size, IOVA or reserved field
# (EINVAL), without REG (ENOENT), and REG again after DEREG.
test_umem_errors() {
	local tools=$VDPA_TREE/tools/build mark c

	[ -x "$tools/vduse-net" ] || fail "$tools/vduse-net is not built (make tools)" ||
		return 1
	mark=$(dmesg | wc -l)
	# (-X lowers its own soft limit for the ENOMEM check)
	ulimit -l unlimited
	vn_loop_dev vnet10 -X
	wait_for 60 grep -q '^umem checks done' vn.log ||
		{ cat vn.log; fail "the checks did not run"; }
	grep '^umem' vn.log
	! grep -q '^umem check .*: FAIL' vn.log || fail "$(grep -m1 FAIL vn.log)"
	# every check listed in the brief ran
	for c in reg-detached reg-iova reg-size-small reg-uaddr reg-reserved0 \
		reg-unmapped reg-memlock reg reg-twice dereg-none dereg-size \
		dereg-twice; do
		grep -q "^umem check $c: ok" vn.log || fail "check $c did not pass"
	done
	expect_eq "$(vn_vmpin "$VN_PID")" 0 "VmPin of the daemon after the checks"
	vdpa dev del vnet10
	vn_exit vnet10
	if dmesg | tail -n +$((mark + 1)) | grep -E "BUG|WARNING|Oops" >&2; then
		fail "kernel reports"
	fi
}

# vn_packed NAME: the driver of vdpa device NAME took packed rings
# (VIRTIO_F_RING_PACKED, bit 34 of the virtio device's features string)
vn_packed() {
	local f

	for f in /sys/bus/vdpa/devices/"$1"/virtio*/features; do
		[ -e "$f" ] && [ "$(cut -c35 "$f")" = 1 ] && return 0
	done
	return 1
}

# The same over packed virtqueues: vduse-net -P offers RING_PACKED, the
# kernel's virtio_net takes it, and ping and the 4 MiB transfer go through.
test_net_tap_packed() {
	vn_tap vnet3 -P
}

# vduse-net in loop mode (-l: every frame the driver sends comes back,
# through the simulator's MAC filter) bound to vhost_vdpa and driven by
# vdpa-net-loop through /dev/vhost-vdpa-N, its DMA region a shared memfd
# the daemon maps (VDUSE_IOTLB_GET_FD): each numbered frame comes back
# once and intact (the tool checks sequence and payload), every 8th (to a
# foreign MAC) is filtered.  The daemon took exactly what the client sent
# and gave back no more than it took; a second client on the same device
# after the first one reset it; then detach and exit.
# vn_vhost_loop NAME [-P]: device NAME, with -P on packed rings (the
# daemon offers them, the client takes them).
vn_vhost_loop() {
	local tools=$VDPA_TREE/tools/build name=$1 opt=${2:-} copt=
	local node dtx drx filt ctx crx cfor run t r f

	[ -x "$tools/vduse-net" ] || fail "$tools/vduse-net is not built (make tools)" ||
		return 1
	# no virtio_vdpa: the new device binds to vhost_vdpa
	load_modules vdpa vduse vhost_vdpa
	ulimit -l unlimited
	trap vn_stop EXIT
	[ "$opt" != -P ] || copt=--packed
	# shellcheck disable=SC2086 # $opt: no option or one word
	"$tools/vduse-net" -n "$name" -l -m $VN_MAC $opt >vn.log 2>&1 &
	VN_PID=$!
	wait_for 30 grep -q ready vn.log || { cat vn.log; fail "vduse-net did not start"; }
	vdpa dev add name "$name" mgmtdev vduse
	node=$(vd_vhost_node "$name") || fail "$name got no vhost-vdpa node" || return 1
	expect_eq "$(basename "$(readlink /sys/bus/vdpa/devices/"$name"/driver)")" \
		vhost_vdpa "driver of $name"

	ctx=0 crx=0 cfor=0
	for run in 1 2; do
		# shellcheck disable=SC2086 # $copt: no option or one word
		"$tools/vdpa-net-loop" --shared $copt -d "$node" -n 400 -s 60,1514 \
			>loop$run.out 2>&1 || {
			cat loop$run.out vn.log
			fail "vdpa-net-loop run $run over the VDUSE device failed"
			return 1
		}
		grep '^device\|^stats' loop$run.out
		read -r t r f < <(sed -n \
			's/^stats tx_packets \([0-9]*\) .* rx_packets \([0-9]*\) .* foreign_packets \([0-9]*\) .*/\1 \2 \3/p' \
			loop$run.out)
		ctx=$((ctx + t)) crx=$((crx + r)) cfor=$((cfor + f))
	done
	[ "$crx" -gt 0 ] || fail "nothing came back"

	if [ -n "$copt" ]; then
		f=$(sed -n 's/^device .* features \(0x[0-9a-f]*\) .*/\1/p' loop1.out)
		# RING_PACKED is bit 34
		if [ -z "$f" ] || ! (((f >> 34) & 1)); then
			fail "the client did not take RING_PACKED: $(grep '^device' loop1.out)"
		fi
	fi
	vdpa dev del "$name"
	vn_exit "$name"
	read -r dtx drx filt < <(sed -n \
		's/.* tx \([0-9]*\) frames .* rx \([0-9]*\) frames .* filtered \([0-9]*\)$/\1 \2 \3/p' vn.log)
	[ -n "$dtx" ] && [ -n "$drx" ] || fail "no counters in vduse-net's output" || return 1
	log "client tx $ctx rx $crx foreign $cfor; daemon tx $dtx rx $drx filtered $filt"
	expect_eq "$((dtx + filt))" "$ctx" "frames the daemon took = frames the client sent"
	expect_eq "$filt" "$cfor" "frames filtered = foreign frames sent"
	expect_eq "$crx" "$drx" "frames the client received = frames the daemon gave"
	[ "$drx" -le "$dtx" ] || fail "the daemon gave $drx frames back, it looped only $dtx"
}

test_net_vhost_loop() {
	vn_vhost_loop vnet1
}

# The same on packed rings: vdpa-net-loop --packed drives them through
# vhost-vdpa, vduse-net -P serves them from the client's memory.
test_net_vhost_loop_packed() {
	vn_vhost_loop vnet5 -P
}

# A hostile net daemon sets VIRTIO_NET_S_ANNOUNCE in the config status and
# injects a config interrupt.  A VDUSE net device has no control vq (the
# kernel refuses one), so the driver has no way to acknowledge an
# announcement; Debian 12's virtio_net then hits BUG_ON(!CTRL_VQ) in
# virtnet_send_command() from its config work, and the kernel panics
# (found by 91-vduse-fuzz).  The bit must not reach the driver: the
# netdev stays, the link stays up, the kernel stays clean.
test_net_announce() {
	local tools=$VDPA_TREE/tools/build dev mark

	[ -x "$tools/vduse-net" ] || fail "$tools/vduse-net is not built (make tools)" ||
		return 1
	mark=$(dmesg | wc -l)
	vn_loop_dev vnet2 -A
	dev=$VN_DEV
	ip link set "$dev" up
	wait_for 30 grep -q announced vn.log || { cat vn.log; fail "the daemon did not announce"; }
	# the driver's config work has run (or would have) by now
	sleep 2
	expect_eq "$(cat /sys/class/net/"$dev"/operstate)" up "operstate of $dev"
	vdpa dev del vnet2
	vn_exit vnet2
	if dmesg | tail -n +$((mark + 1)) | grep -E "BUG|WARNING|Oops" >&2; then
		fail "kernel reports"
	fi
}

# VN_FLOOD_PY DEV: a broadcast frame on DEV every millisecond or so
VN_FLOOD_PY=$(cat <<'PYEOF'
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
f = b"\xff" * 6 + bytes.fromhex("525400766401") + b"\x88\xb5" + bytes(50)
while True:
    try:
        s.send(f)
    except OSError:
        pass
    time.sleep(0.001)
PYEOF
)

# A packed net device whose daemon is killed under traffic: the kernel
# follows the packed rings (vduse_ring.c), so it returns the receive
# buffers the driver left with the daemon (and says how many), `vdpa dev
# del` returns, and the kernel stays clean.
test_net_packed_kill() {
	local tools=$VDPA_TREE/tools/build dev mark pinger n

	[ -x "$tools/vduse-net" ] || fail "$tools/vduse-net is not built (make tools)" ||
		return 1
	mark=$(dmesg | wc -l)
	vn_loop_dev vnet4 -P
	dev=$VN_DEV
	vn_packed vnet4 || fail "vnet4 did not negotiate RING_PACKED"
	[ ! -d /proc/sys/net/ipv6 ] || sysctl -qw net.ipv6.conf."$dev".disable_ipv6=1
	ip addr add "$VN_OUR_IP/24" dev "$dev"
	ip link set "$dev" up
	# broadcast frames, which the loop sends back, until killed
	"$PY3" -c "$VN_FLOOD_PY" "$dev" &
	pinger=$!
	sleep 3
	n=$(cat /sys/class/net/"$dev"/statistics/rx_packets)
	[ "$n" -gt 10 ] || fail "only $n frames came back before the kill"
	kill -KILL "$VN_PID"
	wait "$VN_PID" || true
	VN_PID=
	wait_for 30 sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'vnet4.*vq 0: failed'" ||
		fail "the kernel did not return the receive buffers"
	dmesg | tail -n +$((mark + 1)) | grep 'vnet4.*failed' | tail -n 4
	vn_del_after_kill vnet4 "$dev" "$pinger"
	if dmesg | tail -n +$((mark + 1)) | grep -E "BUG|WARNING|Oops" >&2; then
		fail "kernel reports"
	fi
}

# VN_BASE_PY NODE: a vhost-vdpa client that accepts packed rings and reads
# queue 0's position (VHOST_GET_VRING_BASE), which the kernel asks the
# daemon for; prints "ok 0x<num>" or the errno name
VN_BASE_PY=$(cat <<'PYEOF'
import errno, fcntl, os, struct, sys
SET_OWNER = 0xaf01
SET_FEATURES = (1 << 30) | (8 << 16) | (0xaf << 8) | 0x00
GET_VRING_BASE = (3 << 30) | (8 << 16) | (0xaf << 8) | 0x12
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.ioctl(fd, SET_OWNER)
# VERSION_1, ACCESS_PLATFORM, RING_PACKED, MAC, STATUS
f = 1 << 32 | 1 << 33 | 1 << 34 | 1 << 5 | 1 << 16
fcntl.ioctl(fd, SET_FEATURES, struct.pack("Q", f))
buf = bytearray(struct.pack("II", 0, 0))
try:
    fcntl.ioctl(fd, GET_VRING_BASE, buf)
    print("ok 0x%08x" % struct.unpack("II", buf)[1])
except OSError as e:
    print(errno.errorcode[e.errno])
PYEOF
)

# The packed position the daemon reports (VDUSE_GET_VQ_STATE, asked for by
# vhost-vdpa's VHOST_GET_VRING_BASE) reaches the client in vhost's packed
# encoding; one out of range (vduse-net -B: index 0x8001, counters 2) is
# refused with EINVAL and logged, not masked as upstream does.
test_net_packed_state() {
	local tools=$VDPA_TREE/tools/build node opt out mark

	[ -x "$tools/vduse-net" ] || fail "$tools/vduse-net is not built (make tools)" ||
		return 1
	load_modules vdpa vduse vhost_vdpa
	trap vn_stop EXIT
	for opt in '' -B; do
		mark=$(dmesg | wc -l)
		# shellcheck disable=SC2086 # $opt: no option or one word
		"$tools/vduse-net" -n vnet6 -l -m $VN_MAC -P $opt >vn.log 2>&1 &
		VN_PID=$!
		wait_for 30 grep -q ready vn.log || { cat vn.log; fail "vduse-net did not start"; }
		vdpa dev add name vnet6 mgmtdev vduse
		node=$(vd_vhost_node vnet6) || fail "vnet6 got no vhost-vdpa node" || return 1
		out=$("$PY3" -c "$VN_BASE_PY" "$node")
		log "vduse-net -P${opt:+ $opt}: GET_VRING_BASE: $out"
		if [ -z "$opt" ]; then
			# a fresh packed ring: both wrap counters (bits 15, 31) 1
			expect_eq "$out" "ok 0x80008000" "packed position of a fresh ring"
		else
			expect_eq "$out" EINVAL "packed position out of range"
			dmesg | tail -n +$((mark + 1)) | grep -q 'vnet6: vq 0: packed state .* out of range' ||
				fail "no log line for the refused state"
		fi
		vdpa dev del vnet6
		vn_exit vnet6
	done
}
