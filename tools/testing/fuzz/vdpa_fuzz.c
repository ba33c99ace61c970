// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-fuzz: a seeded random generator of operation sequences against the
 * vDPA stack (vdpa netlink family, /dev/vhost-vdpa-N, simulator knobs).
 *
 *   vdpa-fuzz [-s SEED] [-n OPS] [-j THREADS] [-T SECS] [-v]
 *
 * Each thread draws its operations from its own PRNG seeded from SEED and
 * its number, so one thread (-j 1) replays exactly; with more threads the
 * sequences are the same and only their interleaving differs.  Operations:
 * device add/del and random netlink requests, open/close, every vhost and
 * vhost-vdpa ioctl with random and boundary arguments, IOTLB messages (V1,
 * V2, batches, ASIDs, real and bogus memory), a small virtio driver that
 * sets rings up in real memory and posts sane or garbage descriptors,
 * eventfd kicks, doorbell mmap, RLIMIT_MEMLOCK changes, unbind/bind,
 * simulator debugfs knobs, non-owner children.
 *
 * The kernel is the thing under test: errors from the calls are expected
 * and only counted.  What must hold is checked, not only "no crash": every
 * CHECK_EVERY operations all threads pause and the tool checks that every
 * page pinned system-wide is charged to this process (VmPin) and that the
 * charge stays within the highest finite RLIMIT_MEMLOCK set so far; at the
 * end everything is closed and deleted and no page may stay pinned.  A
 * violation is reported and gives exit status 1.  The kernel log is checked
 * by the test bed (KASAN, lockdep, kmemleak...), and on the debug kernel
 * the simulator WARNs on any access to a page nobody pins (check_pins).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/vdpa.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "fz_common.h"

#define NSLOTS		4
#define NEVENTFDS	8
#define NREGIONS	4
#define MAX_VQS		8
#define PAGE		4096UL
#define RING_BLOCK	8192UL		/* per vq: desc, avail, used */
#define BUF_AREA	65536UL		/* buffers start here in a region */

#ifndef VHOST_BACKEND_F_IOTLB_PERSIST
#define VHOST_BACKEND_F_IOTLB_PERSIST	0x8
#endif

/* One device the fuzzer manages: name fz<N>, maybe open. */
struct slot {
	pthread_rwlock_t fdlock;	/* writers change fd, readers use it */
	/*
	 * op_rebind and op_knob: a simulator knob is armed only while
	 * vhost_vdpa (our own client) drives the device, and cleared before
	 * it moves to another driver.  A kernel driver on a device that
	 * stalls or drops completions waits for them forever (virtio_blk
	 * probing its partitions holds the device lock, and vdpa dev del
	 * then waits for that lock).
	 */
	pthread_mutex_t bindlock;
	pthread_mutex_t lock;		/* the fields below */
	char name[16];
	char mgmt[32];
	int fd;
	uint32_t nvqs;
	/* where the driver op laid out rings: region and its iova */
	int layout_region;
	uint64_t layout_iova;
	uint16_t avail_idx[MAX_VQS];
	uint16_t num[MAX_VQS];
};

struct region {
	uint8_t *p;
	size_t len;
};

struct thread {
	pthread_t tid;
	unsigned int id;
	struct fz_rng rng;
	struct fz_nl nl;
	uint64_t ops;
	char desc[256];
};

enum op {
	OP_NL_DEV_ADD, OP_NL_DEV_DEL, OP_NL_GET, OP_NL_GARBAGE,
	OP_OPEN, OP_CLOSE, OP_OPEN_BUSY,
	OP_IOCTL, OP_IOTLB_RANDOM, OP_IOTLB_REAL,
	OP_DRIVER, OP_POST, OP_SCRIBBLE, OP_KICK,
	OP_MMAP, OP_RLIMIT, OP_REBIND, OP_KNOB, OP_FORK,
	OP_COUNT
};

static const struct {
	const char *name;
	unsigned int weight;
} op_info[OP_COUNT] = {
	[OP_NL_DEV_ADD]		= { "nl-dev-add", 3 },
	[OP_NL_DEV_DEL]		= { "nl-dev-del", 2 },
	[OP_NL_GET]		= { "nl-get", 4 },
	[OP_NL_GARBAGE]		= { "nl-garbage", 4 },
	[OP_OPEN]		= { "open", 5 },
	[OP_CLOSE]		= { "close", 2 },
	[OP_OPEN_BUSY]		= { "open-busy", 1 },
	[OP_IOCTL]		= { "ioctl", 26 },
	[OP_IOTLB_RANDOM]	= { "iotlb-random", 14 },
	[OP_IOTLB_REAL]		= { "iotlb-real", 10 },
	[OP_DRIVER]		= { "driver", 4 },
	[OP_POST]		= { "post", 10 },
	[OP_SCRIBBLE]		= { "scribble", 3 },
	[OP_KICK]		= { "kick", 5 },
	[OP_MMAP]		= { "mmap", 1 },
	[OP_RLIMIT]		= { "rlimit", 1 },
	[OP_REBIND]		= { "rebind", 1 },
	[OP_KNOB]		= { "sim-knob", 2 },
	[OP_FORK]		= { "fork", 1 },
};

static struct slot slots[NSLOTS];
static struct region regions[NREGIONS];
static uint8_t *hole;			/* PROT_NONE */
static uint8_t *gone;			/* unmapped again */
static int eventfds[NEVENTFDS];
static char mgmts[2][32];
static unsigned int nmgmts;
static uint64_t seed = 1, nops = 10000, deadline_ms;
static unsigned int nthreads = 1;
static int verbose;
static atomic_uint_fast64_t done_ops;
static atomic_uint_fast64_t op_runs[OP_COUNT], op_ok[OP_COUNT];
static atomic_bool stop;
/* Readers: operations; the writer: the invariant check (see check_world). */
static pthread_rwlock_t world = PTHREAD_RWLOCK_INITIALIZER;
#define CHECK_EVERY	500
static long long pinned_base = -1;
static atomic_uint_fast64_t limit_max;	/* highest finite limit, bytes */
static atomic_bool limit_inf;		/* RLIM_INFINITY was set */
static atomic_uint violations;

static void note(struct thread *t, const char *fmt, ...) __printf(2, 3);
static void note(struct thread *t, const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(t->desc, sizeof(t->desc), fmt, ap);
	va_end(ap);
}

/* ---- value generators ---- */

static uint64_t region_iova_base(unsigned int r)
{
	/* distinct, page-aligned, below 4 GiB and above it */
	static const uint64_t base[NREGIONS] = {
		0x100000, 0x40000000, 0x1000000000ULL, 0x7ffff000000ULL,
	};

	return base[r];
}

static uint64_t bad_uaddr(struct fz_rng *r)
{
	switch (fz_below(r, 7)) {
	case 0: return 0;
	case 1: return (uint64_t)(uintptr_t)hole + fz_below(r, 4) * PAGE;
	case 2: return (uint64_t)(uintptr_t)gone + fz_below(r, 16) * PAGE;
	case 3: return 0xffffffff81000000ULL;
	case 4: return 0x0000800000000000ULL;	/* first non-canonical */
	case 5: return 0xfffffffffffff000ULL;
	default: return (uint64_t)(uintptr_t)hole + fz_below(r, PAGE);
	}
}

static uint64_t real_uaddr(struct fz_rng *r, unsigned int *reg,
			   uint64_t *avail)
{
	unsigned int i = fz_below(r, NREGIONS);
	uint64_t off = fz_below(r, regions[i].len / PAGE) * PAGE;

	if (fz_chance(r, 10))
		off += fz_below(r, PAGE);
	if (reg)
		*reg = i;
	if (avail)
		*avail = regions[i].len - off;
	return (uint64_t)(uintptr_t)regions[i].p + off;
}

static int any_fd(struct fz_rng *r, int own)
{
	switch (fz_below(r, 8)) {
	case 0: return -1;
	case 1: return own;
	case 2: return (int)fz_boundary32(r);
	case 3: return 0;
	default: return eventfds[fz_below(r, NEVENTFDS)];
	}
}

static uint32_t vq_index(struct fz_rng *r, uint32_t nvqs)
{
	if (fz_chance(r, 75))
		return fz_below(r, nvqs ? nvqs : 3);
	switch (fz_below(r, 4)) {
	case 0: return nvqs;
	case 1: return nvqs + 1;
	case 2: return 0xffff;
	default: return fz_boundary32(r);
	}
}

static uint8_t status_value(struct fz_rng *r)
{
	static const uint8_t v[] = {
		0, VIRTIO_CONFIG_S_ACKNOWLEDGE,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			VIRTIO_CONFIG_S_FEATURES_OK,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK,
		VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_NEEDS_RESET, 0xff,
	};

	if (fz_chance(r, 85))
		return v[fz_below(r, sizeof(v))];
	return fz_rand(r);
}

/* ---- slots ---- */

/* A slot, usually one with an open fd (fd operations need one). */
static struct slot *pick_slot(struct fz_rng *r)
{
	unsigned int open[NSLOTS], n = 0, i;

	if (fz_chance(r, 85)) {
		for (i = 0; i < NSLOTS; i++)
			if (__atomic_load_n(&slots[i].fd, __ATOMIC_RELAXED) >= 0)
				open[n++] = i;
		if (n)
			return &slots[open[fz_below(r, n)]];
	}
	return &slots[fz_below(r, NSLOTS)];
}

static int slot_fd_get(struct slot *s)
{
	pthread_rwlock_rdlock(&s->fdlock);
	if (s->fd < 0) {
		pthread_rwlock_unlock(&s->fdlock);
		return -1;
	}
	return s->fd;
}

static void slot_fd_put(struct slot *s)
{
	pthread_rwlock_unlock(&s->fdlock);
}

static int slot_open(struct slot *s)
{
	char node[64];
	uint32_t nvqs = 0;
	int fd;

	if (fz_vhost_node(s->name, node, sizeof(node)))
		return -ENOENT;
	fd = open(node, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, VHOST_VDPA_GET_VQS_COUNT, &nvqs) || nvqs > MAX_VQS)
		nvqs = 3;
	pthread_mutex_lock(&s->lock);
	s->nvqs = nvqs;
	s->layout_region = -1;
	pthread_mutex_unlock(&s->lock);
	return fd;
}

/* ---- netlink ops ---- */

static const char *nl_name(struct fz_rng *r, char *buf, size_t len)
{
	static const char *const bad[] = {
		"", "/", "a/b", "..", "fz-nosuch",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};

	if (fz_chance(r, 75))
		return slots[fz_below(r, NSLOTS)].name;
	snprintf(buf, len, "%s", bad[fz_below(r, ARRAY_SIZE(bad))]);
	return buf;
}

static int op_nl_dev_add(struct thread *t)
{
	struct slot *s = &slots[fz_below(&t->rng, NSLOTS)];
	struct fz_rng *r = &t->rng;
	struct fz_nla a[8];
	uint8_t mac[6];
	uint16_t mtu, vqp;
	uint64_t feat;
	unsigned int n = 0, i;
	const char *mgmt;
	int ret;

	if (!nmgmts)
		return -ENODEV;
	mgmt = mgmts[fz_below(r, nmgmts)];
	a[n++] = (struct fz_nla){ VDPA_ATTR_MGMTDEV_DEV_NAME, strlen(mgmt) + 1, mgmt };
	a[n++] = (struct fz_nla){ VDPA_ATTR_DEV_NAME, strlen(s->name) + 1, s->name };
	if (fz_chance(r, 30)) {
		for (i = 0; i < 6; i++)
			mac[i] = fz_rand(r);
		if (fz_chance(r, 50))
			mac[0] &= 0xfe;
		a[n++] = (struct fz_nla){ VDPA_ATTR_DEV_NET_CFG_MACADDR, 6, mac };
	}
	if (fz_chance(r, 20)) {
		mtu = fz_boundary32(r);
		a[n++] = (struct fz_nla){ VDPA_ATTR_DEV_NET_CFG_MTU, 2, &mtu };
	}
	if (fz_chance(r, 10)) {
		vqp = fz_boundary32(r);
		a[n++] = (struct fz_nla){ VDPA_ATTR_DEV_NET_CFG_MAX_VQP, 2, &vqp };
	}
	if (fz_chance(r, 20)) {
		feat = fz_chance(r, 50) ? fz_any64(r) : 0x308830028ULL;
		a[n++] = (struct fz_nla){ VDPA_ATTR_DEV_FEATURES, 8, &feat };
	}
	ret = fz_nl_request(&t->nl, VDPA_CMD_DEV_NEW, false, a, n, NULL);
	note(t, "dev add %s mgmt %s nattrs %u -> %d", s->name, mgmt, n, ret);
	if (!ret) {
		pthread_mutex_lock(&s->lock);
		snprintf(s->mgmt, sizeof(s->mgmt), "%s", mgmt);
		pthread_mutex_unlock(&s->lock);
	}
	return ret;
}

static int op_nl_dev_del(struct thread *t)
{
	char buf[80];
	const char *name = nl_name(&t->rng, buf, sizeof(buf));
	int ret = fz_dev_del(&t->nl, name);

	note(t, "dev del '%s' -> %d", name, ret);
	return ret;
}

static int op_nl_get(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	static const uint8_t cmds[] = {
		VDPA_CMD_MGMTDEV_GET, VDPA_CMD_DEV_GET, VDPA_CMD_DEV_CONFIG_GET,
		VDPA_CMD_DEV_VSTATS_GET,
	};
	uint8_t cmd = cmds[fz_below(r, sizeof(cmds))];
	bool dump = fz_chance(r, 40);
	struct fz_nla a[3];
	unsigned int n = 0, replies = 0;
	char buf[80];
	const char *name = nl_name(r, buf, sizeof(buf));
	uint32_t qidx = fz_chance(r, 70) ? fz_below(r, 4) : fz_boundary32(r);
	const char *mgmt = nmgmts ? mgmts[fz_below(r, nmgmts)] : "vdpasim_net";
	int ret;

	if (cmd == VDPA_CMD_MGMTDEV_GET) {
		if (!dump || fz_chance(r, 20))
			a[n++] = (struct fz_nla){ VDPA_ATTR_MGMTDEV_DEV_NAME,
						  strlen(mgmt) + 1, mgmt };
	} else if (!dump || fz_chance(r, 20)) {
		a[n++] = (struct fz_nla){ VDPA_ATTR_DEV_NAME, strlen(name) + 1, name };
	}
	if (cmd == VDPA_CMD_DEV_VSTATS_GET && fz_chance(r, 85))
		a[n++] = (struct fz_nla){ VDPA_ATTR_DEV_QUEUE_INDEX, 4, &qidx };
	ret = fz_nl_request(&t->nl, cmd, dump, a, n, &replies);
	note(t, "nl cmd %u dump %d '%s' qidx %u -> %d (%u replies)", cmd, dump,
	     name, qidx, ret, replies);
	return ret;
}

static int op_nl_garbage(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	uint8_t body[512], *p = body;
	unsigned int nattrs = fz_below(r, 6), i, j;
	uint16_t flags = fz_chance(r, 30) ? NLM_F_DUMP : 0;
	uint8_t cmd = fz_below(r, 12);
	int ret;

	for (i = 0; i < nattrs; i++) {
		uint16_t len = fz_chance(r, 50) ? fz_below(r, 12) : fz_below(r, 64);
		uint16_t type = fz_chance(r, 90) ? fz_below(r, 40) : fz_rand(r);

		if ((size_t)(p - body) + 4 + len + 4 > sizeof(body))
			break;
		/* sometimes a lying length */
		((uint16_t *)p)[0] = fz_chance(r, 5) ? (uint16_t)fz_below(r, 600) :
						       (uint16_t)(4 + len);
		((uint16_t *)p)[1] = type;
		for (j = 0; j < len; j++)
			p[4 + j] = fz_chance(r, 30) ? 0 : fz_rand(r);
		if (len && fz_chance(r, 50))
			p[4 + len - 1] = 0;	/* NUL-terminated string */
		p += 4 + ((len + 3) & ~3U);
	}
	if (fz_chance(r, 5))
		p += fz_below(r, 4);	/* unaligned tail */
	ret = fz_nl_request_raw(&t->nl, cmd, flags, body, p - body);
	note(t, "nl garbage cmd %u flags %#x %u attrs %zu bytes -> %d", cmd,
	     flags, nattrs, (size_t)(p - body), ret);
	return ret;
}

/* ---- open / close ---- */

static int op_open(struct thread *t)
{
	struct slot *s = &slots[fz_below(&t->rng, NSLOTS)];
	int fd, ret = 0;

	pthread_rwlock_wrlock(&s->fdlock);
	if (s->fd >= 0 && fz_chance(&t->rng, 50)) {
		/* close and reopen */
		close(s->fd);
		s->fd = -1;
	}
	if (s->fd < 0) {
		fd = slot_open(s);
		if (fd >= 0) {
			/* most clients take ownership at once */
			if (fz_chance(&t->rng, 80))
				ioctl(fd, VHOST_SET_OWNER);
			s->fd = fd;
		} else {
			ret = fd;
		}
	}
	pthread_rwlock_unlock(&s->fdlock);
	note(t, "open %s -> %d", s->name, ret);
	return ret;
}

static int op_close(struct thread *t)
{
	struct slot *s = &slots[fz_below(&t->rng, NSLOTS)];
	int ret = -EBADF;

	pthread_rwlock_wrlock(&s->fdlock);
	if (s->fd >= 0) {
		ret = close(s->fd) ? -errno : 0;
		s->fd = -1;
	}
	pthread_rwlock_unlock(&s->fdlock);
	note(t, "close %s -> %d", s->name, ret);
	return ret;
}

static int op_open_busy(struct thread *t)
{
	struct slot *s = &slots[fz_below(&t->rng, NSLOTS)];
	char node[64];
	int fd, ret;

	if (fz_vhost_node(s->name, node, sizeof(node)))
		return -ENOENT;
	fd = open(node, O_RDWR | O_CLOEXEC);
	ret = fd < 0 ? -errno : 0;
	if (fd >= 0) {
		/* nobody had it open: use it briefly, then let it go */
		uint64_t f;

		ioctl(fd, VHOST_GET_FEATURES, &f);
		close(fd);
	}
	note(t, "second open %s -> %d", node, ret);
	return ret;
}

/* ---- ioctls ---- */

enum argk {
	A_NONE, A_U64_IN, A_U64_OUT, A_U32_OUT, A_U8_IN, A_U8_OUT, A_U16_OUT,
	A_STATE, A_FILE, A_ADDR, A_CONFIG, A_MEM, A_INT_IN, A_RANGE, A_ASID,
	A_RAW,
};

static const struct {
	unsigned long cmd;
	enum argk kind;
} ioctls[] = {
	{ VHOST_GET_FEATURES, A_U64_OUT },
	{ VHOST_SET_FEATURES, A_U64_IN },
	{ VHOST_SET_OWNER, A_NONE },
	{ VHOST_RESET_OWNER, A_NONE },
	{ VHOST_SET_MEM_TABLE, A_MEM },
	{ VHOST_SET_LOG_BASE, A_U64_IN },
	{ VHOST_SET_LOG_FD, A_INT_IN },
	{ VHOST_SET_VRING_NUM, A_STATE },
	{ VHOST_SET_VRING_ADDR, A_ADDR },
	{ VHOST_SET_VRING_BASE, A_STATE },
	{ VHOST_GET_VRING_BASE, A_STATE },
	{ VHOST_SET_VRING_ENDIAN, A_STATE },
	{ VHOST_GET_VRING_ENDIAN, A_STATE },
	{ VHOST_SET_VRING_KICK, A_FILE },
	{ VHOST_SET_VRING_CALL, A_FILE },
	{ VHOST_SET_VRING_ERR, A_FILE },
	{ VHOST_SET_VRING_BUSYLOOP_TIMEOUT, A_STATE },
	{ VHOST_GET_VRING_BUSYLOOP_TIMEOUT, A_STATE },
	{ VHOST_SET_BACKEND_FEATURES, A_U64_IN },
	{ VHOST_GET_BACKEND_FEATURES, A_U64_OUT },
	{ VHOST_NET_SET_BACKEND, A_FILE },
	{ VHOST_VDPA_GET_DEVICE_ID, A_U32_OUT },
	{ VHOST_VDPA_GET_STATUS, A_U8_OUT },
	{ VHOST_VDPA_SET_STATUS, A_U8_IN },
	{ VHOST_VDPA_GET_CONFIG, A_CONFIG },
	{ VHOST_VDPA_SET_CONFIG, A_CONFIG },
	{ VHOST_VDPA_SET_VRING_ENABLE, A_STATE },
	{ VHOST_VDPA_GET_VRING_NUM, A_U16_OUT },
	{ VHOST_VDPA_SET_CONFIG_CALL, A_INT_IN },
	{ VHOST_VDPA_GET_IOVA_RANGE, A_RANGE },
	{ VHOST_VDPA_GET_CONFIG_SIZE, A_U32_OUT },
	{ VHOST_VDPA_GET_AS_NUM, A_U32_OUT },
	{ VHOST_VDPA_GET_VRING_GROUP, A_STATE },
	{ VHOST_VDPA_SET_GROUP_ASID, A_ASID },
	{ VHOST_VDPA_SUSPEND, A_NONE },
	{ VHOST_VDPA_RESUME, A_NONE },
	{ VHOST_VDPA_GET_VRING_DESC_GROUP, A_STATE },
	{ VHOST_VDPA_GET_VQS_COUNT, A_U32_OUT },
	{ VHOST_VDPA_GET_GROUP_NUM, A_U32_OUT },
	{ VHOST_VDPA_GET_VRING_SIZE, A_STATE },
	{ _IOW(VHOST_VIRTIO, 0x83, __u64), A_U64_IN },	/* FEATURES_ARRAY */
	{ _IO(VHOST_VIRTIO, 0xee), A_RAW },
	{ 0, A_RAW },	/* a random command number */
};

static uint64_t feature_value(struct fz_rng *r)
{
	uint64_t sane = (1ULL << VIRTIO_F_VERSION_1) |
			(1ULL << VIRTIO_F_ACCESS_PLATFORM);

	switch (fz_below(r, 4)) {
	case 0: return sane;
	case 1: return sane | (fz_rand(r) & 0xffffffffULL);
	case 2: return 0x308830028ULL;
	default: return fz_any64(r);
	}
}

static void fill_ioctl_arg(struct fz_rng *r, enum argk kind, uint8_t *arg,
			   int fd, uint32_t nvqs)
{
	struct vhost_vring_state *st = (void *)arg;
	struct vhost_vring_file *vf = (void *)arg;
	struct vhost_vring_addr *va = (void *)arg;
	struct vhost_vdpa_config *c = (void *)arg;
	struct vhost_memory *m = (void *)arg;
	uint64_t v;
	unsigned int i;

	switch (kind) {
	case A_U64_IN:
		v = fz_chance(r, 50) ? feature_value(r) :
			(fz_chance(r, 50) ? fz_below(r, 0x200) : fz_any64(r));
		memcpy(arg, &v, 8);
		break;
	case A_U8_IN:
		arg[0] = status_value(r);
		break;
	case A_STATE:
		st->index = vq_index(r, nvqs);
		st->num = fz_chance(r, 60) ? 1U << fz_below(r, 10) : fz_boundary32(r);
		break;
	case A_ASID:
		st->index = fz_chance(r, 70) ? fz_below(r, 3) : fz_boundary32(r);
		st->num = fz_chance(r, 70) ? fz_below(r, 3) : fz_boundary32(r);
		break;
	case A_FILE:
		vf->index = vq_index(r, nvqs);
		vf->fd = any_fd(r, fd);
		break;
	case A_ADDR:
		va->index = vq_index(r, nvqs);
		va->flags = fz_chance(r, 80) ? 0 : fz_boundary32(r);
		va->desc_user_addr = fz_chance(r, 70) ?
			region_iova_base(fz_below(r, NREGIONS)) + fz_below(r, 64) * 64 :
			fz_any64(r);
		va->avail_user_addr = va->desc_user_addr + 4096 +
			(fz_chance(r, 90) ? 0 : fz_below(r, 4));
		va->used_user_addr = va->desc_user_addr + 5120 +
			(fz_chance(r, 90) ? 0 : fz_below(r, 4));
		va->log_guest_addr = fz_chance(r, 90) ? 0 : fz_any64(r);
		break;
	case A_CONFIG:
		c->off = fz_chance(r, 70) ? fz_below(r, 80) : fz_boundary32(r);
		c->len = fz_chance(r, 70) ? fz_below(r, 80) : fz_boundary32(r);
		for (i = 0; i < 128; i++)
			c->buf[i] = fz_rand(r);
		break;
	case A_MEM:
		m->nregions = fz_chance(r, 80) ? fz_below(r, 70) : fz_boundary32(r);
		m->padding = fz_chance(r, 90) ? 0 : fz_rand(r);
		for (i = 0; i < 70; i++) {
			m->regions[i].guest_phys_addr = fz_any64(r);
			m->regions[i].memory_size = fz_any64(r);
			m->regions[i].userspace_addr = fz_any64(r);
			m->regions[i].flags_padding = 0;
		}
		break;
	case A_INT_IN:
		i = any_fd(r, fd);
		memcpy(arg, &i, 4);
		break;
	case A_RAW:
		for (i = 0; i < 64; i++)
			arg[i] = fz_rand(r);
		break;
	default:
		break;
	}
}

static int op_ioctl(struct thread *t)
{
	static __thread uint8_t arg[8192] __aligned(64);
	struct fz_rng *r = &t->rng;
	struct slot *s = pick_slot(r);
	unsigned int k = fz_below(r, ARRAY_SIZE(ioctls));
	unsigned long cmd = ioctls[k].cmd;
	void *p = arg;
	int fd, ret;

	if (!cmd)
		cmd = _IOC(fz_below(r, 4), VHOST_VIRTIO, fz_below(r, 256),
			   fz_below(r, 64));
	fd = slot_fd_get(s);
	if (fd < 0)
		return -EBADF;
	memset(arg, 0, 512);
	fill_ioctl_arg(r, ioctls[k].kind, arg, fd, s->nvqs);
	if (fz_chance(r, 4))
		p = fz_chance(r, 50) ? (void *)(uintptr_t)bad_uaddr(r) : NULL;
	ret = ioctl(fd, cmd, p) ? -errno : 0;
	slot_fd_put(s);
	note(t, "ioctl %s cmd %#lx arg[0..16] %016" PRIx64 "%016" PRIx64 "%s -> %d",
	     s->name, cmd, ((uint64_t *)arg)[0], ((uint64_t *)arg)[1],
	     p == arg ? "" : " (bad pointer)", ret);
	return ret;
}

/* ---- IOTLB ---- */

static ssize_t iotlb_write(struct fz_rng *r, int fd, int v2, uint32_t asid,
			   uint8_t type, uint64_t iova, uint64_t size,
			   uint64_t uaddr, uint8_t perm)
{
	uint8_t buf[128];
	uint32_t msg_type;
	struct iovec iov[3];
	size_t len, cut1, cut2;
	ssize_t ret;

	if (fz_chance(r, 85))
		return fz_iotlb(fd, v2, asid, type, iova, size, uaddr, perm);

	/* odd shapes: short, long, split across iovecs */
	memset(buf, 0, sizeof(buf));
	msg_type = v2 ? VHOST_IOTLB_MSG_V2 : VHOST_IOTLB_MSG;
	if (!fz_chance(r, 90))
		msg_type = fz_boundary32(r);
	len = fz_iotlb_msg(buf, v2, msg_type, asid, type, iova, size, uaddr,
			   perm);
	switch (fz_below(r, 3)) {
	case 0:
		ret = write(fd, buf, fz_below(r, len));
		break;
	case 1:
		ret = write(fd, buf, len + fz_below(r, sizeof(buf) - len + 1));
		break;
	default:
		cut1 = fz_below(r, len + 1);
		cut2 = cut1 + fz_below(r, len - cut1 + 1);
		iov[0] = (struct iovec){ buf, cut1 };
		iov[1] = (struct iovec){ buf + cut1, cut2 - cut1 };
		iov[2] = (struct iovec){ buf + cut2, len - cut2 };
		ret = writev(fd, iov, 3);
		break;
	}
	return ret;
}

static uint8_t iotlb_type(struct fz_rng *r)
{
	unsigned int x = fz_below(r, 100);

	if (x < 40)
		return VHOST_IOTLB_UPDATE;
	if (x < 65)
		return VHOST_IOTLB_INVALIDATE;
	if (x < 77)
		return VHOST_IOTLB_BATCH_BEGIN;
	if (x < 89)
		return VHOST_IOTLB_BATCH_END;
	return fz_chance(r, 50) ? fz_below(r, 8) : (uint8_t)fz_rand(r);
}

static int op_iotlb_random(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	struct slot *s = pick_slot(r);
	int v2 = fz_chance(r, 80);
	uint32_t asid = fz_chance(r, 70) ? fz_below(r, 3) : fz_boundary32(r);
	uint8_t type = iotlb_type(r);
	uint64_t iova = fz_chance(r, 50) ?
		region_iova_base(fz_below(r, NREGIONS)) + fz_below(r, 64) * PAGE :
		fz_any64(r);
	uint64_t avail = 0, size, uaddr;
	uint8_t perm = fz_chance(r, 85) ? 1 + fz_below(r, 3) : fz_rand(r);
	ssize_t ret;
	int fd;

	if (fz_chance(r, 75))
		uaddr = real_uaddr(r, NULL, &avail);
	else
		uaddr = bad_uaddr(r);
	if (avail && fz_chance(r, 70))
		size = 1 + fz_below(r, avail);	/* stays inside the region */
	else
		size = fz_any64(r);
	if (fz_chance(r, 50))
		iova &= ~(PAGE - 1);

	fd = slot_fd_get(s);
	if (fd < 0)
		return -EBADF;
	ret = iotlb_write(r, fd, v2, asid, type, iova, size, uaddr, perm);
	slot_fd_put(s);
	note(t, "iotlb %s v%d asid %u type %u iova %#" PRIx64 " size %#" PRIx64
	     " uaddr %#" PRIx64 " perm %u -> %zd", s->name, v2 ? 2 : 1, asid,
	     type, iova, size, uaddr, perm, ret < 0 ? -errno : ret);
	return ret < 0 ? -errno : 0;
}

/* Well-formed messages with real memory: update, invalidate, batches. */
static int op_iotlb_real(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	struct slot *s = pick_slot(r);
	unsigned int reg = fz_below(r, NREGIONS), n, i;
	uint64_t base = region_iova_base(reg), len = regions[reg].len;
	uint64_t uaddr = (uint64_t)(uintptr_t)regions[reg].p;
	uint32_t asid = fz_chance(r, 80) ? 0 : fz_below(r, 2);
	bool batch = fz_chance(r, 40);
	int fd, ret = 0;

	fd = slot_fd_get(s);
	if (fd < 0)
		return -EBADF;
	if (batch && fz_iotlb(fd, 1, asid, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, 0) < 0)
		ret = -errno;
	n = 1 + fz_below(r, 4);
	for (i = 0; i < n; i++) {
		uint64_t pages = len / PAGE;
		uint64_t first = fz_below(r, pages);
		uint64_t cnt = 1 + fz_below(r, pages - first);
		uint8_t type = fz_chance(r, 60) ? VHOST_IOTLB_UPDATE :
						  VHOST_IOTLB_INVALIDATE;

		if (fz_chance(r, 40)) {
			first = 0;
			cnt = pages;
		}
		if (fz_iotlb(fd, 1, asid, type, base + first * PAGE, cnt * PAGE,
			     uaddr + first * PAGE, 1 + fz_below(r, 3)) < 0 && !ret)
			ret = -errno;
	}
	if (batch && fz_chance(r, 90) &&
	    fz_iotlb(fd, 1, asid, VHOST_IOTLB_BATCH_END, 0, 0, 0, 0) < 0 && !ret)
		ret = -errno;
	slot_fd_put(s);
	note(t, "iotlb-real %s region %u asid %u batch %d n %u -> %d", s->name,
	     reg, asid, batch, n, ret);
	return ret;
}

/* ---- a small driver: real rings in a mapped region ---- */

static int driver_setup(struct thread *t, struct slot *s, int fd)
{
	struct fz_rng *r = &t->rng;
	unsigned int reg, q, nvqs = s->nvqs;
	uint64_t feat = 0, base, be = 0;
	uint8_t st;
	int ret = 0;

	/* a region big enough for the ring blocks and some buffers */
	do {
		reg = fz_below(r, NREGIONS);
	} while (regions[reg].len < BUF_AREA + 16 * PAGE);
	base = region_iova_base(reg);

	st = 0;
	ioctl(fd, VHOST_VDPA_SET_STATUS, &st);
	ioctl(fd, VHOST_SET_OWNER);
	if (!ioctl(fd, VHOST_GET_BACKEND_FEATURES, &be)) {
		be &= fz_chance(r, 70) ? ~0ULL : fz_rand(r);
		ioctl(fd, VHOST_SET_BACKEND_FEATURES, &be);
	}
	st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	ioctl(fd, VHOST_VDPA_SET_STATUS, &st);
	ioctl(fd, VHOST_GET_FEATURES, &feat);
	if (fz_chance(r, 20))
		feat &= fz_rand(r);
	ioctl(fd, VHOST_SET_FEATURES, &feat);
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	ioctl(fd, VHOST_VDPA_SET_STATUS, &st);

	if (fz_chance(r, 70)) {
		fz_iotlb(fd, 1, 0, VHOST_IOTLB_INVALIDATE, base,
			 regions[reg].len, 0, 0);
		if (fz_iotlb(fd, 1, 0, VHOST_IOTLB_UPDATE, base, regions[reg].len,
			     (uint64_t)(uintptr_t)regions[reg].p,
			     VHOST_ACCESS_RW) < 0)
			ret = -errno;
	}
	memset(regions[reg].p, 0, BUF_AREA);
	pthread_mutex_lock(&s->lock);
	s->layout_region = reg;
	s->layout_iova = base;
	pthread_mutex_unlock(&s->lock);

	for (q = 0; q < nvqs && q < MAX_VQS; q++) {
		uint16_t num = fz_chance(r, 90) ? 1U << (2 + fz_below(r, 7)) :
						   fz_boundary32(r);
		struct vhost_vring_state vs = { q, num };
		struct vhost_vring_addr va = {
			.index = q,
			.desc_user_addr = base + q * RING_BLOCK,
			.avail_user_addr = base + q * RING_BLOCK + 4096,
			.used_user_addr = base + q * RING_BLOCK + 5120,
		};
		struct vhost_vring_file kf = { q, eventfds[q % NEVENTFDS] };
		struct vhost_vring_file cf = { q, eventfds[(q + 4) % NEVENTFDS] };
		struct vhost_vring_state en = { q, 1 };
		struct vhost_vring_state b = { q, fz_chance(r, 80) ? 0 : fz_rand(r) & 0xffff };

		pthread_mutex_lock(&s->lock);
		s->num[q] = num;
		s->avail_idx[q] = b.num;
		pthread_mutex_unlock(&s->lock);
		ioctl(fd, VHOST_SET_VRING_NUM, &vs);
		ioctl(fd, VHOST_SET_VRING_ADDR, &va);
		ioctl(fd, VHOST_SET_VRING_BASE, &b);
		ioctl(fd, VHOST_SET_VRING_KICK, &kf);
		ioctl(fd, VHOST_SET_VRING_CALL, &cf);
		if (fz_chance(r, 95))
			ioctl(fd, VHOST_VDPA_SET_VRING_ENABLE, &en);
	}
	if (fz_chance(r, 90)) {
		st |= VIRTIO_CONFIG_S_DRIVER_OK;
		if (ioctl(fd, VHOST_VDPA_SET_STATUS, &st) && !ret)
			ret = -errno;
	}
	note(t, "driver %s region %u nvqs %u feat %#" PRIx64 " be %#" PRIx64
	     " -> %d", s->name, reg, nvqs, feat, be, ret);
	return ret;
}

static int op_driver(struct thread *t)
{
	struct slot *s = pick_slot(&t->rng);
	int fd, ret;

	fd = slot_fd_get(s);
	if (fd < 0)
		return -EBADF;
	ret = driver_setup(t, s, fd);
	slot_fd_put(s);
	return ret;
}

/* Put chains (sane or not) on a ring of a driven slot and kick. */
static int op_post(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	struct slot *s = pick_slot(r);
	unsigned int q, i, n, reg, nchains, c;
	struct vring_desc *desc;
	struct vring_avail *avail;
	uint64_t base, one = 1;
	uint16_t num, head;
	uint8_t *mem;
	int layout;

	pthread_mutex_lock(&s->lock);
	layout = s->layout_region;
	base = s->layout_iova;
	q = fz_below(r, s->nvqs ? (s->nvqs < MAX_VQS ? s->nvqs : MAX_VQS) : 1);
	num = s->num[q];
	if (layout < 0) {
		pthread_mutex_unlock(&s->lock);
		return -ENODEV;
	}
	reg = layout;
	mem = regions[reg].p;
	desc = (void *)(mem + q * RING_BLOCK);
	avail = (void *)(mem + q * RING_BLOCK + 4096);
	if (!num || num > 256 || (num & (num - 1)))
		num = 256;

	nchains = 1 + fz_below(r, 6);
	for (c = 0; c < nchains; c++) {
		head = fz_below(r, num);
		n = 1 + fz_below(r, 4);
		for (i = 0; i < n; i++) {
			uint16_t idx = (head + i) % num;
			struct vring_desc *d = &desc[idx];
			uint64_t off = BUF_AREA + fz_below(r, 15) * PAGE;

			if (fz_chance(r, 85)) {
				d->addr = base + off + fz_below(r, 64);
				d->len = 1 + fz_below(r, PAGE - 64);
				if (i == 0 && fz_chance(r, 50))
					d->len = 12 + 14 + fz_below(r, 100);
				d->flags = (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
					   (i > 0 && fz_chance(r, 60) ?
					    VRING_DESC_F_WRITE : 0);
				d->next = (idx + 1) % num;
				/* a frame to broadcast, or a blk header */
				if (i == 0 && off + 64 < regions[reg].len)
					memset(mem + off, 0xff, 6);
			} else {
				d->addr = fz_chance(r, 50) ? fz_any64(r) :
					  base + fz_below(r, regions[reg].len);
				d->len = fz_boundary32(r);
				d->flags = fz_rand(r) & 7;
				d->next = fz_chance(r, 50) ? idx : fz_rand(r);
				if ((d->flags & VRING_DESC_F_INDIRECT) &&
				    fz_chance(r, 70)) {
					/* point at another ring's descs */
					d->addr = base + fz_below(r, 3) * RING_BLOCK;
					d->len = 16 * (1 + fz_below(r, 20));
				}
			}
		}
		avail->ring[(s->avail_idx[q]) % num] = head;
		s->avail_idx[q]++;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (fz_chance(r, 5))
		avail->idx = fz_rand(r);	/* a wild index */
	else
		avail->idx = s->avail_idx[q];
	avail->flags = fz_chance(r, 90) ? 0 : fz_rand(r);
	pthread_mutex_unlock(&s->lock);
	if (write(eventfds[q % NEVENTFDS], &one, 8) < 0)
		return -errno;
	note(t, "post %s vq %u %u chains avail %u", s->name, q, nchains,
	     s->avail_idx[q]);
	return 0;
}

static int op_scribble(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	unsigned int reg = fz_below(r, NREGIONS), i, n = 1 + fz_below(r, 64);
	uint64_t off = fz_below(r, regions[reg].len);

	for (i = 0; i < n && off + i < regions[reg].len; i++)
		regions[reg].p[off + i] = fz_chance(r, 30) ? 0 : fz_rand(r);
	note(t, "scribble region %u off %#" PRIx64 " %u bytes", reg, off, n);
	return 0;
}

static int op_kick(struct thread *t)
{
	uint64_t v = fz_chance(&t->rng, 90) ? 1 : fz_rand(&t->rng) >> 2;
	int i = fz_below(&t->rng, NEVENTFDS);

	note(t, "kick eventfd %d", i);
	if (fz_chance(&t->rng, 20)) {
		uint64_t x;

		/* drain it sometimes */
		return read(eventfds[i], &x, 8) < 0 ? -errno : 0;
	}
	return write(eventfds[i], &v, 8) < 0 ? -errno : 0;
}

/* ---- the rest ---- */

static int op_mmap(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	struct slot *s = pick_slot(r);
	static const int prots[] = { PROT_WRITE, PROT_READ | PROT_WRITE,
				     PROT_READ, PROT_NONE };
	size_t len = fz_chance(r, 80) ? PAGE : PAGE * fz_below(r, 4);
	off_t off = (off_t)(fz_chance(r, 80) ? fz_below(r, 4) : fz_boundary32(r)) *
		    PAGE;
	void *p;
	int fd, ret = 0;

	fd = slot_fd_get(s);
	if (fd < 0)
		return -EBADF;
	p = mmap(NULL, len ? len : PAGE, prots[fz_below(r, 4)],
		 fz_chance(r, 85) ? MAP_SHARED : MAP_PRIVATE, fd, off);
	if (p == MAP_FAILED)
		ret = -errno;
	else
		munmap(p, len ? len : PAGE);	/* never touch a doorbell */
	slot_fd_put(s);
	note(t, "mmap %s len %zu off %#lx -> %d", s->name, len, (long)off, ret);
	return ret;
}

static int op_rlimit(struct thread *t)
{
	static const rlim_t v[] = { 0, PAGE, 64 * PAGE, 4UL << 20, 32UL << 20,
				    RLIM_INFINITY };
	struct rlimit rl;

	rl.rlim_cur = v[fz_below(&t->rng, 6)];
	rl.rlim_max = rl.rlim_cur;
	note(t, "rlimit memlock %lu", (unsigned long)rl.rlim_cur);
	if (rl.rlim_cur == RLIM_INFINITY)
		atomic_store(&limit_inf, true);
	else if (rl.rlim_cur > atomic_load(&limit_max))
		atomic_store(&limit_max, rl.rlim_cur);
	return setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
}

static const char *const knobs[] = {
	"fail_map", "fail_config_write", "stall", "drop_used", "corrupt_used",
};

#define NKNOBS	ARRAY_SIZE(knobs)

static void knob_path(const struct slot *s, const char *knob, char *path,
		      size_t len)
{
	snprintf(path, len, "/sys/kernel/debug/vdpa_sim/%s/%s", s->name, knob);
}

/* Is vhost_vdpa the driver of the slot's device?  Under bindlock. */
static bool slot_on_vhost(const struct slot *s)
{
	char path[128], target[256];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s/driver",
		 s->name);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	return !strcmp(base ? base + 1 : target, "vhost_vdpa");
}

/* Disarm every knob of the slot's device.  Under bindlock. */
static void slot_knobs_clear(const struct slot *s)
{
	char path[160];
	size_t i;

	for (i = 0; i < NKNOBS; i++) {
		knob_path(s, knobs[i], path, sizeof(path));
		fz_write_file(path, "0");
	}
}

/*
 * Unbind or bind vhost_vdpa; or move the device to the other bus driver
 * (virtio_vdpa, when loaded, and back) through driver_override.  Knobs
 * are cleared before any probe (see struct slot).
 */
static int op_rebind(struct thread *t)
{
	struct slot *s = &slots[fz_below(&t->rng, NSLOTS)];
	const char *what = fz_chance(&t->rng, 50) ? "unbind" : "bind";
	const char *drv;
	char path[128];
	int ret;

	pthread_mutex_lock(&s->bindlock);
	if (fz_chance(&t->rng, 30) &&
	    !access("/sys/bus/vdpa/drivers/virtio_vdpa", F_OK)) {
		drv = fz_chance(&t->rng, 50) ? "virtio_vdpa" : "vhost_vdpa";
		snprintf(path, sizeof(path),
			 "/sys/bus/vdpa/devices/%s/driver_override", s->name);
		ret = fz_write_file(path, drv);
		snprintf(path, sizeof(path),
			 "/sys/bus/vdpa/devices/%s/driver/unbind", s->name);
		fz_write_file(path, s->name);
		slot_knobs_clear(s);
		if (!ret)
			ret = fz_write_file("/sys/bus/vdpa/drivers_probe", s->name);
		pthread_mutex_unlock(&s->bindlock);
		note(t, "override %s -> %s: %d", s->name, drv, ret);
		return ret;
	}
	snprintf(path, sizeof(path), "/sys/bus/vdpa/drivers/vhost_vdpa/%s", what);
	ret = fz_write_file(path, s->name);
	pthread_mutex_unlock(&s->bindlock);
	note(t, "%s %s -> %d", what, s->name, ret);
	return ret;
}

/* Arm or disarm a simulator knob of a device vhost_vdpa drives. */
static int op_knob(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	struct slot *s = &slots[fz_below(r, NSLOTS)];
	const char *k = knobs[fz_below(r, NKNOBS)];
	char path[160], val[16];
	int ret = -EBUSY;

	knob_path(s, k, path, sizeof(path));
	snprintf(val, sizeof(val), "%u",
		 fz_chance(r, 50) ? 0 : (unsigned int)fz_below(r, 3));
	pthread_mutex_lock(&s->bindlock);
	if (slot_on_vhost(s))
		ret = fz_write_file(path, val);
	pthread_mutex_unlock(&s->bindlock);
	note(t, "knob %s = %s -> %d", path, val, ret);
	return ret;
}

/* A child shares the fds but is not the owner: EPERM/EFAULT all along. */
static int op_fork(struct thread *t)
{
	struct fz_rng *r = &t->rng;
	struct slot *s = pick_slot(r);
	int fd, status;
	pid_t pid;

	fd = slot_fd_get(s);
	if (fd < 0)
		return -EBADF;
	pid = fork();
	if (pid == 0) {
		struct vhost_vring_state st = { 0, 1 };
		uint8_t stat = 0;

		ioctl(fd, VHOST_VDPA_SET_VRING_ENABLE, &st);
		ioctl(fd, VHOST_VDPA_GET_STATUS, &stat);
		fz_iotlb(fd, 1, 0, VHOST_IOTLB_UPDATE, 0x100000, PAGE,
			 (uint64_t)(uintptr_t)regions[0].p, 3);
		fz_iotlb(fd, 1, 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0, 0);
		_exit(0);
	}
	slot_fd_put(s);
	if (pid < 0)
		return -errno;
	waitpid(pid, &status, 0);
	note(t, "fork child on %s", s->name);
	return 0;
}

typedef int (*op_fn)(struct thread *t);

static const op_fn op_fns[OP_COUNT] = {
	[OP_NL_DEV_ADD] = op_nl_dev_add,
	[OP_NL_DEV_DEL] = op_nl_dev_del,
	[OP_NL_GET] = op_nl_get,
	[OP_NL_GARBAGE] = op_nl_garbage,
	[OP_OPEN] = op_open,
	[OP_CLOSE] = op_close,
	[OP_OPEN_BUSY] = op_open_busy,
	[OP_IOCTL] = op_ioctl,
	[OP_IOTLB_RANDOM] = op_iotlb_random,
	[OP_IOTLB_REAL] = op_iotlb_real,
	[OP_DRIVER] = op_driver,
	[OP_POST] = op_post,
	[OP_SCRIBBLE] = op_scribble,
	[OP_KICK] = op_kick,
	[OP_MMAP] = op_mmap,
	[OP_RLIMIT] = op_rlimit,
	[OP_REBIND] = op_rebind,
	[OP_KNOB] = op_knob,
	[OP_FORK] = op_fork,
};

static enum op pick_op(struct fz_rng *r)
{
	static unsigned int total;
	unsigned int x, i;

	if (!total)
		for (i = 0; i < OP_COUNT; i++)
			total += op_info[i].weight;
	x = fz_below(r, total);
	for (i = 0; i < OP_COUNT; i++) {
		if (x < op_info[i].weight)
			return i;
		x -= op_info[i].weight;
	}
	return OP_IOCTL;
}

/*
 * With every other thread paused (the caller holds @world for writing):
 * each pinned page is charged (pins beyond the start == VmPin), and the
 * charge is within the highest finite RLIMIT_MEMLOCK set so far.
 */
static void check_world(uint64_t n)
{
	long long pinned = fz_sys_pinned() - pinned_base;
	long vmpin = fz_vmpin_kb();
	long long charged = vmpin < 0 ? -1 : vmpin / (long)(PAGE / 1024);
	uint64_t limit = atomic_load(&limit_max);

	if (pinned != charged) {
		fz_say("fuzz: FAIL: invariant at op %" PRIu64
		       ": %lld pages pinned, %lld charged (VmPin)\n",
		       n, pinned, charged);
		atomic_fetch_add(&violations, 1);
	}
	if (!atomic_load(&limit_inf) && charged * (long long)PAGE > (long long)limit) {
		fz_say("fuzz: FAIL: invariant at op %" PRIu64
		       ": %lld pages charged, over every RLIMIT_MEMLOCK set (%" PRIu64 " bytes)\n",
		       n, charged, limit);
		atomic_fetch_add(&violations, 1);
	}
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	uint64_t mine = nops / nthreads + (t->id < nops % nthreads);
	uint64_t i;

	for (i = 0; i < mine && !atomic_load(&stop); i++) {
		enum op op = pick_op(&t->rng);
		uint64_t n;
		int ret;

		t->desc[0] = 0;
		pthread_rwlock_rdlock(&world);
		ret = op_fns[op](t);
		pthread_rwlock_unlock(&world);
		atomic_fetch_add(&op_runs[op], 1);
		if (!ret)
			atomic_fetch_add(&op_ok[op], 1);
		if (verbose)
			fz_say("t%u %" PRIu64 " %s: %s\n", t->id, i, op_info[op].name,
			       t->desc[0] ? t->desc : (ret ? strerror(-ret) : "ok"));
		n = atomic_fetch_add(&done_ops, 1) + 1;
		if (n % CHECK_EVERY == 0) {
			pthread_rwlock_wrlock(&world);
			check_world(n);
			pthread_rwlock_unlock(&world);
		}
		if (n % 1000 == 0) {
			fz_say("fuzz: op %" PRIu64 "\n", n);
			fz_kmsg("vdpa-fuzz: seed %" PRIu64 " op %" PRIu64 "\n",
				seed, n);
		}
		if (deadline_ms && (i & 63) == 0 && fz_now_ms() > deadline_ms)
			atomic_store(&stop, true);
	}
	t->ops = i;
	return NULL;
}

/* ---- setup and teardown ---- */

static uint8_t *map_guarded(size_t len, int memfd)
{
	uint8_t *p = mmap(NULL, len + 2 * PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (memfd >= 0)
		p = mmap(p + PAGE, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED, memfd, 0);
	else
		p = mmap(p + PAGE, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, len);
	return p;
}

static int setup(void)
{
	static const size_t lens[NREGIONS] = {
		256 * 1024, 64 * 1024, 1024 * 1024, 2048 * 1024,
	};
	struct rlimit rl = { 32UL << 20, 32UL << 20 };
	unsigned int i;
	int memfd;

	atomic_store(&limit_max, rl.rlim_cur);

	for (i = 0; i < NREGIONS; i++) {
		memfd = -1;
		if (i == 2) {
			memfd = memfd_create("vdpa-fuzz", MFD_CLOEXEC);
			if (memfd < 0 || ftruncate(memfd, lens[i]))
				return -errno;
		}
		regions[i].p = map_guarded(lens[i], memfd);
		regions[i].len = lens[i];
		if (memfd >= 0)
			close(memfd);
		if (!regions[i].p)
			return -ENOMEM;
		if (i == 3)
			madvise(regions[i].p, lens[i], MADV_HUGEPAGE);
	}
	hole = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gone = mmap(NULL, 16 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED || gone == MAP_FAILED)
		return -ENOMEM;
	munmap(gone, 16 * PAGE);
	for (i = 0; i < NEVENTFDS; i++) {
		eventfds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (eventfds[i] < 0)
			return -errno;
	}
	for (i = 0; i < NSLOTS; i++) {
		pthread_rwlock_init(&slots[i].fdlock, NULL);
		pthread_mutex_init(&slots[i].lock, NULL);
		pthread_mutex_init(&slots[i].bindlock, NULL);
		snprintf(slots[i].name, sizeof(slots[i].name), "fz%u", i);
		slots[i].fd = -1;
		slots[i].nvqs = 3;
		slots[i].layout_region = -1;
	}
	if (!access("/sys/devices/vdpasim_net", F_OK))
		snprintf(mgmts[nmgmts++], sizeof(mgmts[0]), "vdpasim_net");
	if (!access("/sys/devices/vdpasim_blk", F_OK))
		snprintf(mgmts[nmgmts++], sizeof(mgmts[0]), "vdpasim_blk");
	setrlimit(RLIMIT_MEMLOCK, &rl);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Close every fd, delete every vdpa device; 0 if nothing stayed pinned. */
static int teardown(struct fz_nl *nl, long long pinned_before)
{
	struct dirent *e;
	long long pinned;
	int i, ret = 0;
	long vmpin;
	DIR *d;

	for (i = 0; i < NSLOTS; i++) {
		if (slots[i].fd >= 0)
			close(slots[i].fd);
		slots[i].fd = -1;
	}
	vmpin = fz_vmpin_kb();
	if (vmpin != 0) {
		fz_say("fuzz: FAIL: VmPin %ld kB after closing every fd\n", vmpin);
		ret = 1;
	}
	d = opendir("/sys/bus/vdpa/devices");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		i = fz_dev_del(nl, e->d_name);
		if (i)
			fz_say("fuzz: dev del %s at the end: %s\n", e->d_name,
			       strerror(-i));
	}
	if (d)
		closedir(d);
	pinned = fz_sys_pinned();
	if (pinned_before >= 0 && pinned > pinned_before) {
		fz_say("fuzz: FAIL: %lld pages pinned system-wide, %lld before\n",
		       pinned, pinned_before);
		ret = 1;
	}
	return ret;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-s SEED] [-n OPS] [-j THREADS] [-T SECS] [-v]\n"
		"  needs root, the vdpa netlink family, our simulator loaded;\n"
		"  vhost_vdpa loaded for the char device operations\n",
		"vdpa-fuzz");
	exit(2);
}

int main(int argc, char **argv)
{
	struct fz_run_opts run = { seed, nops, deadline_ms };
	struct thread *threads;
	struct fz_nl nl;
	long long pinned_before;
	uint64_t start, total = 0;
	unsigned int i;
	int c, ret;

	while ((c = getopt(argc, argv, "s:n:j:T:vh")) != -1) {
		switch (c) {
		case 'j':
			nthreads = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			if (!fz_run_opt(c, optarg, &run))
				usage();
		}
	}
	seed = run.seed;
	nops = run.nops;
	deadline_ms = run.deadline_ms;
	if (!nthreads || nthreads > 16)
		usage();
	/* Same addresses every run: a seed replays with the same uaddrs. */
	c = personality(0xffffffff);
	if (c != -1 && !(c & ADDR_NO_RANDOMIZE) &&
	    personality(c | ADDR_NO_RANDOMIZE) != -1) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n > 0) {
			self[n] = 0;
			execv(self, argv);
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fz_say("fuzz: seed %" PRIu64 " ops %" PRIu64 " threads %u\n", seed, nops,
	       nthreads);
	fz_kmsg("vdpa-fuzz: start seed %" PRIu64 " ops %" PRIu64 " threads %u\n",
		seed, nops, nthreads);
	ret = setup();
	if (ret) {
		fz_say("fuzz: setup failed: %s\n", strerror(-ret));
		return 2;
	}
	ret = fz_nl_open(&nl);
	if (ret) {
		fz_say("fuzz: no vdpa netlink family: %s\n", strerror(-ret));
		return 2;
	}
	pinned_before = fz_sys_pinned();
	pinned_base = pinned_before;
	start = fz_now_ms();
	if (deadline_ms)
		deadline_ms += start;

	threads = calloc(nthreads, sizeof(*threads));
	if (!threads)
		return 2;
	for (i = 0; i < nthreads; i++) {
		threads[i].id = i;
		fz_rng_seed(&threads[i].rng, seed * 1000003ULL + i);
		if (fz_nl_open(&threads[i].nl)) {
			fz_say("fuzz: netlink socket failed\n");
			return 2;
		}
	}
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]))
			return 2;
	for (i = 0; i < nthreads; i++) {
		pthread_join(threads[i].tid, NULL);
		total += threads[i].ops;
		fz_nl_close(&threads[i].nl);
	}

	ret = teardown(&nl, pinned_before);
	if (atomic_load(&violations)) {
		fz_say("fuzz: FAIL: %u invariant violations\n",
		       (unsigned int)atomic_load(&violations));
		ret = 1;
	}
	fz_say("fuzz: per op (runs/ok):");
	for (i = 0; i < OP_COUNT; i++)
		fz_say(" %s %" PRIu64 "/%" PRIu64, op_info[i].name,
		       (uint64_t)atomic_load(&op_runs[i]),
		       (uint64_t)atomic_load(&op_ok[i]));
	fz_say("\n");
	fz_say("fuzz: done seed %" PRIu64 " ops %" PRIu64
	       " threads %u in %.1fs%s, %u invariant violations\n",
	       seed, total, nthreads, (fz_now_ms() - start) / 1000.0,
	       total < nops ? " (time limit)" : "",
	       (unsigned int)atomic_load(&violations));
	fz_kmsg("vdpa-fuzz: done seed %" PRIu64 " ops %" PRIu64 "\n", seed, total);
	fz_nl_close(&nl);
	free(threads);
	return ret;
}
