// SPDX-License-Identifier: GPL-2.0
/*
 * vduse-net: a virtio-net device implemented in userspace through VDUSE,
 * whose frames go to and come from a TAP interface.
 *
 *   vduse-net [-n NAME] [-t TAP | -l] [-m MAC] [-q QUEUE_SIZE] [-A] [-P] [-B]
 *
 * It creates the VDUSE device NAME (default vduse-net0; one queue pair,
 * features VERSION_1, ACCESS_PLATFORM, MAC, STATUS), sets up its two
 * queues and opens the TAP interface TAP (default vtap0), then serves the
 * device until SIGINT or SIGTERM: `vdpa dev add name NAME mgmtdev vduse`
 * makes it a vdpa device, and a bus driver (virtio_vdpa: a kernel ethX;
 * vhost_vdpa) drives it.  Frames the driver sends go out of the TAP
 * interface; frames that come in on it are given to the driver.  On exit
 * it prints its counters ("vduse-net: tx N frames ... rx N frames ...")
 * and destroys the device (which fails while a vdpa device still uses it;
 * the kernel then fails the driver's outstanding buffers itself).
 *
 * -l (loop) takes no TAP interface: the device loops every frame the driver
 * sends back to it, with the simulator's filter (broadcast, multicast and
 * frames to its own MAC come back, other unicast frames are dropped and
 * counted as "filtered"), through a packet-mode pipe of up to 4096-byte
 * frames (longer ones are dropped as well).  A vhost-vdpa client such as
 * vdpa-net-loop --shared then checks the data path end to end.
 *
 * -P offers packed virtqueues (VIRTIO_F_RING_PACKED) as well; the queues
 * are served as packed rings when the driver accepts the feature, as split
 * ones otherwise.
 *
 * -B (a hostile daemon, for tests): answer VDUSE_GET_VQ_STATE on packed
 * rings with a position out of range (index 0x8001, wrap counters 2),
 * which the kernel must refuse.
 *
 * -A (a hostile daemon, for tests): once the driver is up, set
 * VIRTIO_NET_S_ANNOUNCE in the config's status and inject a config
 * interrupt, although the device has no control virtqueue to acknowledge
 * it on (the kernel must not pass the bit on to the driver).
 *
 * The driver's memory is reached through VDUSE_IOTLB_GET_FD: the kernel
 * returns a file for the region holding an IOVA, which is mapped here and
 * kept until the kernel says the region changed (VDUSE_UPDATE_IOTLB) or
 * the device is reset.  Everything read from the rings comes from the
 * driver and is checked: indexes against the queue size, chains against
 * loops, every address against the regions the kernel gave.
 *
 * No dependency beyond libc and the kernel's uapi headers.
 */

#define _GNU_SOURCE		/* pipe2(O_DIRECT), F_SETPIPE_SZ */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/vduse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define NQUEUES		2	/* 0: receive, 1: transmit */
#define RXQ		0
#define TXQ		1
#define MAX_REGIONS	64
#define MAX_FRAME	65536
#define NET_HDR_LEN	sizeof(struct virtio_net_hdr_v1)

struct region {
	uint64_t start, last;
	uint8_t *base;
	uint8_t perm;
};

struct queue {
	bool on;
	uint16_t num;
	uint16_t last_avail;	/* next avail entry (packed: descriptor) */
	uint16_t used_idx;	/* next used entry (packed: descriptor) */
	bool avail_wrap;	/* packed: wrap counters of those two */
	bool used_wrap;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* packed rings: one descriptor ring and two event areas */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_event;
	struct vring_packed_desc_event *dev_event;
	int kickfd;
};

/* One buffer the driver made available: where it starts, what it is. */
struct buf {
	uint16_t head;		/* split: head index; packed: ring position */
	uint16_t id;		/* what goes into the used entry */
	uint16_t ndescs;	/* packed: descriptors it takes */
};

struct stats {
	unsigned long long tx_frames, tx_bytes, rx_frames, rx_bytes;
	unsigned long long rx_dropped, bad_chains, tap_errors, filtered;
};

static const char *prog = "vduse-net";
static volatile sig_atomic_t stop;
/* frames come from tapfd and go to outfd: the TAP interface, or a pipe */
static int devfd = -1, tapfd = -1, outfd = -1;
static bool loop, announce, offer_packed, bad_state;
static bool packed;		/* the driver accepted VIRTIO_F_RING_PACKED */
static uint8_t dev_mac[6];
static uint8_t status;
static struct region regions[MAX_REGIONS];
static unsigned int nregions;
static struct queue queues[NQUEUES];
static struct stats st;
static uint8_t frame[NET_HDR_LEN + MAX_FRAME];

static void vwarnx(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	exit(1);
}

/* ---- the driver's memory ---- */

static void unmap_regions(uint64_t start, uint64_t last)
{
	unsigned int i = 0;

	while (i < nregions) {
		struct region *r = &regions[i];

		if (r->last < start || r->start > last) {
			i++;
			continue;
		}
		munmap(r->base, r->last - r->start + 1);
		regions[i] = regions[--nregions];
	}
}

static struct region *find_region(uint64_t iova)
{
	struct vduse_iotlb_entry e = { .start = iova, .last = iova };
	struct region *r;
	unsigned int i;
	int prot = 0;
	void *p;
	int fd;

	for (i = 0; i < nregions; i++)
		if (iova >= regions[i].start && iova <= regions[i].last)
			return &regions[i];
	if (nregions == MAX_REGIONS)
		unmap_regions(regions[0].start, regions[0].last);

	fd = ioctl(devfd, VDUSE_IOTLB_GET_FD, &e);
	if (fd < 0)
		return NULL;
	if (e.start > iova || e.last < iova || e.last - e.start >= SIZE_MAX) {
		close(fd);
		return NULL;
	}
	if (e.perm & VDUSE_ACCESS_RO)
		prot |= PROT_READ;
	if (e.perm & VDUSE_ACCESS_WO)
		prot |= PROT_WRITE | PROT_READ;
	p = mmap(NULL, e.last - e.start + 1, prot, MAP_SHARED, fd, e.offset);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	r = &regions[nregions++];
	r->start = e.start;
	r->last = e.last;
	r->base = p;
	r->perm = e.perm;
	return r;
}

/*
 * The address of [iova, iova + len) in this process, if one region holds
 * it all with the access asked (VDUSE_ACCESS_RO to read, _WO to write).
 */
static void *iova_ptr(uint64_t iova, uint64_t len, uint8_t access)
{
	struct region *r;

	if (!len || iova + len - 1 < iova)
		return NULL;
	r = find_region(iova);
	if (!r || iova + len - 1 > r->last || (r->perm & access) != access)
		return NULL;
	return r->base + (iova - r->start);
}

/* Copy between @buf and the driver's memory, across regions. */
static bool iova_copy(uint64_t iova, void *buf, uint64_t len, bool to_driver)
{
	while (len) {
		struct region *r = find_region(iova);
		uint64_t n;

		if (!r || (r->perm & (to_driver ? VDUSE_ACCESS_WO :
				      VDUSE_ACCESS_RO)) == 0)
			return false;
		n = r->last - iova + 1;
		if (!n || n > len)	/* !n: the region ends at 2^64 */
			n = len;
		if (to_driver)
			memcpy(r->base + (iova - r->start), buf, n);
		else
			memcpy(buf, r->base + (iova - r->start), n);
		buf = (uint8_t *)buf + n;
		iova += n;
		len -= n;
	}
	return true;
}

/* ---- virtqueues ---- */

static void queue_stop(struct queue *q)
{
	q->on = false;
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->pdesc = NULL;
	q->drv_event = NULL;
	q->dev_event = NULL;
}

static void reset_device(void)
{
	unsigned int i;

	for (i = 0; i < NQUEUES; i++) {
		queue_stop(&queues[i]);
		queues[i].last_avail = 0;
		queues[i].used_idx = 0;
		queues[i].avail_wrap = true;
		queues[i].used_wrap = true;
	}
	unmap_regions(0, UINT64_MAX);
}

/*
 * Learn where the rings are: at DRIVER_OK (@fresh: the indexes too, from
 * the state the driver set), or again after the kernel changed a region
 * (the indexes go on).
 */
static bool map_packed(struct queue *q, const struct vduse_vq_info *info,
		       uint64_t n)
{
	q->pdesc = iova_ptr(info->desc_addr, 16 * n, VDUSE_ACCESS_RW);
	q->drv_event = iova_ptr(info->driver_addr, 4, VDUSE_ACCESS_RO);
	q->dev_event = iova_ptr(info->device_addr, 4, VDUSE_ACCESS_RW);
	return q->pdesc && q->drv_event && q->dev_event;
}

static void start_queues(bool fresh)
{
	unsigned int i;

	if (fresh) {
		uint64_t features = 0;

		if (ioctl(devfd, VDUSE_DEV_GET_FEATURES, &features) < 0)
			warnx("DEV_GET_FEATURES: %s", strerror(errno));
		packed = features & (1ULL << VIRTIO_F_RING_PACKED);
	}
	for (i = 0; i < NQUEUES; i++) {
		struct vduse_vq_info info = { .index = i };
		struct queue *q = &queues[i];
		uint64_t n;

		if (ioctl(devfd, VDUSE_VQ_GET_INFO, &info) < 0) {
			warnx("queue %u: VQ_GET_INFO: %s", i, strerror(errno));
			continue;
		}
		if (!info.ready)
			continue;
		n = info.num;
		if (!n || n > 32768 || (n & (n - 1))) {
			warnx("queue %u: bad size %llu", i, (unsigned long long)n);
			continue;
		}
		if (packed && !map_packed(q, &info, n)) {
			warnx("queue %u: packed ring not mapped", i);
			queue_stop(q);
			continue;
		}
		if (!packed) {
			q->desc = iova_ptr(info.desc_addr, 16 * n,
					   VDUSE_ACCESS_RO);
			q->avail = iova_ptr(info.driver_addr, 6 + 2 * n,
					    VDUSE_ACCESS_RO);
			q->used = iova_ptr(info.device_addr, 6 + 8 * n,
					   VDUSE_ACCESS_RW);
		}
		if (!packed && (!q->desc || !q->avail || !q->used)) {
			warnx("queue %u: rings not mapped", i);
			queue_stop(q);
			continue;
		}
		q->num = n;
		if (fresh && packed) {
			q->last_avail = info.packed.last_avail_idx % n;
			q->avail_wrap = info.packed.last_avail_counter & 1;
			q->used_idx = info.packed.last_used_idx % n;
			q->used_wrap = info.packed.last_used_counter & 1;
		} else if (fresh) {
			q->last_avail = info.split.avail_index;
			q->used_idx = q->last_avail;
		}
		q->on = true;
	}
}

#define PACKED_AVAIL	0x0080	/* 1 << VRING_PACKED_DESC_F_AVAIL */
#define PACKED_USED	0x8000	/* 1 << VRING_PACKED_DESC_F_USED */

/* Packed: the driver made the descriptor at @pos available, in lap @wrap. */
static bool packed_avail(struct queue *q, uint16_t pos, bool wrap)
{
	uint16_t f = le16toh(__atomic_load_n(&q->pdesc[pos].flags,
					     __ATOMIC_ACQUIRE));

	return !!(f & PACKED_AVAIL) == wrap && !!(f & PACKED_USED) != wrap;
}

static bool queue_has_avail(struct queue *q)
{
	if (!q->on)
		return false;
	if (packed)
		return packed_avail(q, q->last_avail, q->avail_wrap);
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

/*
 * The next buffer (queue_has_avail() said there is one).  Packed: its
 * chain is the descriptors that follow with VRING_DESC_F_NEXT, at most a
 * ring's worth; the id is the last one's.
 */
static void queue_peek(struct queue *q, struct buf *b)
{
	uint16_t pos;

	if (!packed) {
		b->head = q->avail->ring[q->last_avail % q->num];
		b->id = b->head;
		b->ndescs = 1;
		return;
	}
	b->head = q->last_avail;
	pos = b->head;
	for (b->ndescs = 1; b->ndescs < q->num; b->ndescs++) {
		if (!(le16toh(q->pdesc[pos].flags) & VRING_DESC_F_NEXT))
			break;
		pos = (pos + 1) % q->num;
	}
	b->id = le16toh(q->pdesc[pos].id);
}

static void packed_advance(struct queue *q, uint16_t *pos, bool *wrap,
			   uint16_t n)
{
	*pos += n;
	if (*pos >= q->num) {
		*pos -= q->num;
		*wrap = !*wrap;
	}
}

/* Return buffer @b with @len bytes written, and move past it. */
static void queue_push(struct queue *q, const struct buf *b, uint32_t len)
{
	struct vring_used_elem *e;
	struct vring_packed_desc *d;

	if (packed) {
		d = &q->pdesc[q->used_idx];
		d->id = htole16(b->id);
		d->len = htole32(len);
		__atomic_store_n(&d->flags,
				 htole16(q->used_wrap ?
					 PACKED_AVAIL | PACKED_USED : 0),
				 __ATOMIC_RELEASE);
		packed_advance(q, &q->last_avail, &q->avail_wrap, b->ndescs);
		packed_advance(q, &q->used_idx, &q->used_wrap, b->ndescs);
		return;
	}
	e = &q->used->ring[q->used_idx % q->num];
	e->id = b->head;
	e->len = len;
	q->last_avail++;
	q->used_idx++;
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

/* The driver asked for no interrupts (no EVENT_IDX is offered). */
static bool queue_quiet(struct queue *q)
{
	if (packed)
		return le16toh(__atomic_load_n(&q->drv_event->flags,
					       __ATOMIC_ACQUIRE)) ==
		       VRING_PACKED_EVENT_FLAG_DISABLE;
	return __atomic_load_n(&q->avail->flags, __ATOMIC_ACQUIRE) &
	       VRING_AVAIL_F_NO_INTERRUPT;
}

static void queue_notify(unsigned int index)
{
	struct queue *q = &queues[index];
	uint32_t i = index;

	/* a full barrier: used entries out before the driver's flags are read */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->on || queue_quiet(q))
		return;
	if (ioctl(devfd, VDUSE_VQ_INJECT_IRQ, &i) < 0)
		warnx("queue %u: VQ_INJECT_IRQ: %s", index, strerror(errno));
}

/*
 * Walk the chain at @head: call @fn on each descriptor's buffer, readable
 * ones if @writable is false, writable ones otherwise (a descriptor of the
 * other kind is an error).  False on a malformed chain.
 */
static bool walk_packed(struct queue *q, const struct buf *b, bool writable,
			bool (*fn)(uint64_t addr, uint32_t len, void *arg),
			void *arg)
{
	uint16_t pos = b->head, n;

	for (n = 0; n < b->ndescs; n++) {
		struct vring_packed_desc d = q->pdesc[pos];
		uint16_t flags = le16toh(d.flags);

		if (flags & VRING_DESC_F_INDIRECT)
			return false;	/* not offered */
		if (!!(flags & VRING_DESC_F_WRITE) != writable)
			return false;
		if (!fn(le64toh(d.addr), le32toh(d.len), arg))
			return false;
		pos = (pos + 1) % q->num;
	}
	/* a chain that ran over the whole ring is malformed */
	return !(le16toh(q->pdesc[(pos + q->num - 1) % q->num].flags) &
		 VRING_DESC_F_NEXT);
}

static bool walk_chain(struct queue *q, const struct buf *b, bool writable,
		       bool (*fn)(uint64_t addr, uint32_t len, void *arg),
		       void *arg)
{
	unsigned int count = 0;
	uint16_t i = b->head;

	if (packed)
		return walk_packed(q, b, writable, fn, arg);
	for (;;) {
		struct vring_desc d;

		if (i >= q->num || ++count > q->num)
			return false;
		d = q->desc[i];
		if (d.flags & VRING_DESC_F_INDIRECT)
			return false;	/* not offered */
		if (!!(d.flags & VRING_DESC_F_WRITE) != writable)
			return false;
		if (!fn(d.addr, d.len, arg))
			return false;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		i = d.next;
	}
}

struct gather {
	uint8_t *buf;
	size_t len, cap;
};

static bool gather_fn(uint64_t addr, uint32_t len, void *arg)
{
	struct gather *g = arg;

	if (len > g->cap - g->len)
		return false;
	if (!iova_copy(addr, g->buf + g->len, len, false))
		return false;
	g->len += len;
	return true;
}

static bool scatter_fn(uint64_t addr, uint32_t len, void *arg)
{
	struct gather *g = arg;
	size_t n = g->cap - g->len;

	if (n > len)
		n = len;
	if (n && !iova_copy(addr, g->buf + g->len, n, true))
		return false;
	g->len += n;
	return true;
}

/*
 * Loop mode: what the simulator's filter passes (broadcast, multicast,
 * this device's MAC), and what one pipe packet holds.
 */
static bool loop_accepts(const uint8_t *f, size_t len)
{
	if (len < 14 || len > PIPE_BUF)
		return false;
	return (f[0] & 1) || !memcmp(f, dev_mac, 6);
}

/* Frames the driver sent: out of the TAP interface (or the loop). */
static void serve_tx(void)
{
	struct queue *q = &queues[TXQ];
	bool done = false;

	while (!stop && queue_has_avail(q)) {
		struct gather g = { .buf = frame, .cap = sizeof(frame) };
		struct buf b;

		queue_peek(q, &b);
		if (walk_chain(q, &b, false, gather_fn, &g) &&
		    g.len >= NET_HDR_LEN) {
			if (loop && !loop_accepts(frame + NET_HDR_LEN,
						  g.len - NET_HDR_LEN)) {
				st.filtered++;
			} else if (write(outfd, frame + NET_HDR_LEN,
					 g.len - NET_HDR_LEN) < 0) {
				st.tap_errors++;
			} else {
				st.tx_frames++;
				st.tx_bytes += g.len - NET_HDR_LEN;
			}
		} else {
			st.bad_chains++;
		}
		queue_push(q, &b, 0);
		done = true;
	}
	if (done)
		queue_notify(TXQ);
}

/* Frames from the TAP interface: to the driver, while it has buffers. */
static bool serve_rx(void)
{
	struct queue *q = &queues[RXQ];
	struct virtio_net_hdr_v1 hdr = { .num_buffers = 1 };
	bool done = false;
	ssize_t n;

	while (!stop && queue_has_avail(q)) {
		struct gather g;
		struct buf b;

		n = read(tapfd, frame + NET_HDR_LEN, MAX_FRAME);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				st.tap_errors++;
			break;
		}
		memcpy(frame, &hdr, sizeof(hdr));
		g = (struct gather){ .buf = frame, .cap = NET_HDR_LEN + n };
		queue_peek(q, &b);
		if (!walk_chain(q, &b, true, scatter_fn, &g)) {
			st.bad_chains++;
			g.len = 0;
		} else if (g.len < g.cap) {
			st.rx_dropped++;	/* buffer too small */
			continue;
		} else {
			st.rx_frames++;
			st.rx_bytes += n;
		}
		queue_push(q, &b, g.len);
		done = true;
	}
	if (done)
		queue_notify(RXQ);
	return queue_has_avail(q);
}

/* ---- requests from the kernel ---- */

static void serve_request(void)
{
	struct vduse_dev_response resp = { 0 };
	struct vduse_dev_request req;
	uint64_t features;
	struct queue *q;
	ssize_t n;

	n = read(devfd, &req, sizeof(req));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		die("read a request: %s", strerror(errno));
	}
	if (n != sizeof(req))
		die("short request: %zd bytes", n);
	resp.request_id = req.request_id;
	resp.result = VDUSE_REQ_RESULT_OK;
	switch (req.type) {
	case VDUSE_SET_STATUS:
		if (!req.s.status)
			reset_device();
		else if ((req.s.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
			 !(status & VIRTIO_CONFIG_S_DRIVER_OK))
			start_queues(true);
		status = req.s.status;
		break;
	case VDUSE_GET_VQ_STATE:
		if (req.vq_state.index >= NQUEUES) {
			resp.result = VDUSE_REQ_RESULT_FAILED;
			break;
		}
		resp.vq_state.index = req.vq_state.index;
		q = &queues[req.vq_state.index];
		/* asked before DRIVER_OK too: the features say which layout */
		if (ioctl(devfd, VDUSE_DEV_GET_FEATURES, &features) < 0)
			features = 0;
		if ((features & (1ULL << VIRTIO_F_RING_PACKED)) && bad_state) {
			resp.vq_state.packed.last_avail_idx = 0x8001;
			resp.vq_state.packed.last_avail_counter = 2;
			resp.vq_state.packed.last_used_idx = 0x8001;
			resp.vq_state.packed.last_used_counter = 2;
		} else if (features & (1ULL << VIRTIO_F_RING_PACKED)) {
			resp.vq_state.packed.last_avail_idx = q->last_avail;
			resp.vq_state.packed.last_avail_counter = q->avail_wrap;
			resp.vq_state.packed.last_used_idx = q->used_idx;
			resp.vq_state.packed.last_used_counter = q->used_wrap;
		} else {
			resp.vq_state.split.avail_index = q->last_avail;
		}
		break;
	case VDUSE_UPDATE_IOTLB:
		/* the rings may have been in it: find them again */
		unmap_regions(req.iova.start, req.iova.last);
		if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
			queue_stop(&queues[RXQ]);
			queue_stop(&queues[TXQ]);
			start_queues(false);
		}
		break;
	default:
		resp.result = VDUSE_REQ_RESULT_FAILED;
		break;
	}
	if (write(devfd, &resp, sizeof(resp)) != sizeof(resp))
		warnx("answer request %u: %s", req.request_id, strerror(errno));
}

/* ---- set-up ---- */

static int create_device(const char *name, const uint8_t mac[6], int qsize)
{
	struct virtio_net_config net = { 0 };
	struct vduse_dev_config *cfg;
	size_t csize = offsetof(struct virtio_net_config, max_virtqueue_pairs);
	uint64_t api = VDUSE_API_VERSION;
	char path[300];
	int ctl, fd, i;

	ctl = open("/dev/vduse/control", O_RDWR);
	if (ctl < 0)
		die("/dev/vduse/control: %s (is the vduse module loaded?)",
		    strerror(errno));
	if (ioctl(ctl, VDUSE_SET_API_VERSION, &api) < 0)
		die("SET_API_VERSION %llu: %s", (unsigned long long)api,
		    strerror(errno));
	cfg = calloc(1, sizeof(*cfg) + csize);
	if (!cfg)
		die("out of memory");
	snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	cfg->device_id = VIRTIO_ID_NET;
	cfg->features = 1ULL << VIRTIO_F_VERSION_1 |
			1ULL << VIRTIO_F_ACCESS_PLATFORM |
			1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS;
	if (offer_packed)
		cfg->features |= 1ULL << VIRTIO_F_RING_PACKED;
	cfg->vq_num = NQUEUES;
	cfg->vq_align = 4096;
	cfg->config_size = csize;
	memcpy(net.mac, mac, 6);
	net.status = htole16(VIRTIO_NET_S_LINK_UP);
	memcpy(cfg->config, &net, csize);
	if (ioctl(ctl, VDUSE_CREATE_DEV, cfg) < 0)
		die("CREATE_DEV %s: %s", name, strerror(errno));
	free(cfg);

	snprintf(path, sizeof(path), "/dev/vduse/%s", name);
	for (i = 0; i < 100; i++) {
		fd = open(path, O_RDWR | O_NONBLOCK);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(50000);
	}
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (i = 0; i < NQUEUES; i++) {
		struct vduse_vq_config vq = { .index = i, .max_size = qsize };
		struct vduse_vq_eventfd efd = { .index = i };

		if (ioctl(fd, VDUSE_VQ_SETUP, &vq) < 0)
			die("VQ_SETUP %d: %s", i, strerror(errno));
		queues[i].kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (queues[i].kickfd < 0)
			die("eventfd: %s", strerror(errno));
		efd.fd = queues[i].kickfd;
		if (ioctl(fd, VDUSE_VQ_SETUP_KICKFD, &efd) < 0)
			die("VQ_SETUP_KICKFD %d: %s", i, strerror(errno));
	}
	devfd = fd;
	return ctl;
}

static void destroy_device(int ctl, const char *name)
{
	char buf[VDUSE_NAME_MAX] = { 0 };

	close(devfd);
	devfd = -1;
	snprintf(buf, sizeof(buf), "%s", name);
	if (ioctl(ctl, VDUSE_DESTROY_DEV, buf) < 0)
		warnx("DESTROY_DEV %s: %s", name, strerror(errno));
	close(ctl);
}

/* Loop mode: a non-blocking packet-mode pipe, tapfd its read end. */
static void open_loop(void)
{
	int p[2];

	if (pipe2(p, O_DIRECT | O_NONBLOCK | O_CLOEXEC) < 0)
		die("pipe2: %s", strerror(errno));
	/* room for a whole ring of frames; the default is 16 */
	if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
		warnx("F_SETPIPE_SZ: %s", strerror(errno));
	tapfd = p[0];
	outfd = p[1];
}

static int open_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die("/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF %s: %s", name, strerror(errno));
	return fd;
}

/* -A: claim a link announcement the driver has no way to acknowledge */
static void send_announce(void)
{
	struct {
		struct vduse_config_data hdr;
		uint16_t status;
	} c = {
		.hdr.offset = offsetof(struct virtio_net_config, status),
		.hdr.length = 2,
		.status = htole16(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE),
	};

	if (ioctl(devfd, VDUSE_DEV_SET_CONFIG, &c) < 0)
		warnx("SET_CONFIG status: %s", strerror(errno));
	else if (ioctl(devfd, VDUSE_DEV_INJECT_CONFIG_IRQ) < 0)
		warnx("INJECT_CONFIG_IRQ: %s", strerror(errno));
	else
		printf("%s: announced (status LINK_UP | ANNOUNCE)\n", prog);
	fflush(stdout);
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-n NAME] [-t TAP | -l] [-m MAC] [-q QUEUE_SIZE]\n"
		"       [-A] [-P] [-B]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *name = "vduse-net0", *tap = "vtap0";
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x60 };
	struct sigaction sa = { .sa_handler = on_signal };
	bool rx_wait = false;
	int qsize = 256, ctl, c;

	while ((c = getopt(argc, argv, "n:t:lm:q:APBh")) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 't':
			tap = optarg;
			break;
		case 'l':
			loop = true;
			break;
		case 'A':
			announce = true;
			break;
		case 'P':
			offer_packed = true;
			break;
		case 'B':
			bad_state = true;
			break;
		case 'm':
			if (sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
				   &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
				   &mac[5]) != 6)
				usage();
			break;
		case 'q':
			qsize = atoi(optarg);
			if (qsize < 1 || qsize > 32768 || (qsize & (qsize - 1)))
				die("queue size must be a power of 2 up to 32768");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memcpy(dev_mac, mac, sizeof(dev_mac));
	if (loop) {
		open_loop();
	} else {
		tapfd = open_tap(tap);
		outfd = tapfd;
	}
	ctl = create_device(name, mac, qsize);
	printf("%s: device %s, %s %s: ready\n", prog, name,
	       loop ? "loop" : "TAP", loop ? "pipe" : tap);
	fflush(stdout);

	while (!stop) {
		struct pollfd p[4] = {
			{ .fd = devfd, .events = POLLIN },
			{ .fd = queues[RXQ].kickfd, .events = POLLIN },
			{ .fd = queues[TXQ].kickfd, .events = POLLIN },
			{ .fd = rx_wait ? -1 : tapfd, .events = POLLIN },
		};
		uint64_t v;

		if (poll(p, 4, 1000) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (p[0].revents & (POLLERR | POLLHUP))
			die("device node closed under us");
		if (p[0].revents & POLLIN)
			serve_request();
		if (p[1].revents & POLLIN) {
			if (read(queues[RXQ].kickfd, &v, sizeof(v)) < 0)
				v = 0;
			rx_wait = false;	/* new receive buffers */
		}
		if (p[2].revents & POLLIN &&
		    read(queues[TXQ].kickfd, &v, sizeof(v)) < 0)
			v = 0;
		if (!(status & VIRTIO_CONFIG_S_DRIVER_OK))
			continue;
		if (announce) {
			announce = false;
			send_announce();
		}
		/* kicks may be coalesced: look at both rings every time */
		serve_tx();
		if (!rx_wait || p[3].revents & POLLIN)
			rx_wait = !serve_rx();
	}

	fprintf(stdout,
		"%s: tx %llu frames %llu bytes, rx %llu frames %llu bytes, rx dropped %llu, bad chains %llu, tap errors %llu, filtered %llu\n",
		prog, st.tx_frames, st.tx_bytes, st.rx_frames, st.rx_bytes,
		st.rx_dropped, st.bad_chains, st.tap_errors, st.filtered);
	fflush(stdout);
	destroy_device(ctl, name);
	if (outfd != tapfd)
		close(outfd);
	close(tapfd);
	return 0;
}
