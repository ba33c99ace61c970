// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-net-loop: drive a virtio-net vDPA device (the net simulator loops
 * every TX frame back into RX) through /dev/vhost-vdpa-N and check that
 * what comes back is exactly what was sent.
 *
 * Modes:
 *   default   loopback test; exits non-zero on any mismatch
 *   --bench   packets per second and IOTLB map throughput
 *   --hold    map and start the device, then wait for SIGUSR1 and check
 *             that the device was revoked (vdpa dev del) under us
 *   --cycles  open/close the device N times
 *   --stress  continuous numbered traffic for S seconds, every frame
 *             checked (order, duplicates, payload) while a second thread
 *             watches the used indices (used <= avail, never backwards)
 *   --hog     load every CPU (spinning, yielding and short-sleeping
 *             threads) for S seconds, to run next to a client
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

#include "vdpa_user.h"

#define RXQ			0
#define TXQ			1
#define HDR_LEN			12U	/* virtio_net_hdr_v1 */
#define SLOT_MIN		4096U	/* upstream's simulator copies a page */
#define MAX_FRAME		(18U + 65535U)	/* VLAN header + max MTU */
#define MAX_SLOT		(HDR_LEN + MAX_FRAME)
#define MIN_FRAME		20U	/* dst, src, type, seq, len */
#define MAX_SIZES		16
#define REGION_IOVA		0x40000000ULL
#define BENCH_IOVA		0x100000000000ULL
#define ETH_TYPE		0x88b5	/* local experimental */
#define BACKEND_WANTED		(VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) | \
				 VDPA_BIT(VHOST_BACKEND_F_IOTLB_BATCH) | \
				 VDPA_BIT(VHOST_BACKEND_F_IOTLB_ASID))

enum dst_kind { DST_BCAST, DST_UCAST, DST_MCAST, DST_FOREIGN };

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t src_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

struct opts {
	const char *dev;
	unsigned int count;
	unsigned int sizes[MAX_SIZES];
	unsigned int nsizes;
	uint8_t new_mac[6];
	uint8_t foreign_mac[6];
	unsigned int qsize;
	unsigned int burst;
	int timeout_ms;
	double bench_secs;
	unsigned int bench_map_mib;
	unsigned int bench_msgs;
	unsigned int cycles;
	unsigned int rounds;
	double stress_secs;
	double hog_secs;
	bool trap_stores;
	bool use_cvq;
	bool persist;
	bool bench;
	bool hold;
	bool pause;
	bool dirty_log;
	bool dirty_stop;
	bool shared;
	bool packed;
	bool verbose;
};

struct expect {
	uint32_t seq;
	uint32_t len;
	uint8_t kind;
};

struct stats {
	uint64_t tx_packets;
	uint64_t tx_bytes;		/* frames only */
	uint64_t rx_packets;
	uint64_t rx_bytes;		/* frames only */
	uint64_t foreign_sent;
	uint64_t foreign_bytes;
	uint64_t cvq_requests;
	uint64_t cvq_ok;
	uint64_t cvq_err;
	uint64_t errors;
};

struct loop {
	struct opts *o;
	struct vdpa_dev d;
	uint8_t dev_mac[6];		/* unicast destination */
	uint8_t orig_mac[6];
	bool has_cvq;
	unsigned int cvq;
	struct expect *exp;
	unsigned int exp_head, exp_tail, exp_cap;
	unsigned int rx_posted;
	uint32_t slot;			/* rx/tx buffer size */
	uint8_t *dirty_want;		/* --dirty-log: pages RX wrote, or NULL */
	struct stats st;
};

static void err_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vdpa-net-loop: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return -1;
		mac[i] = b[i];
	}
	return 0;
}

static const char *mac_str(const uint8_t *m)
{
	static char buf[4][18];
	static int n;
	char *p = buf[n++ & 3];

	snprintf(p, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
	return p;
}

static uint8_t pattern(uint32_t seq, unsigned int len, unsigned int i)
{
	return (uint8_t)(seq * 131 + i * 7 + len * 3 + (i >> 8));
}

static void frame_build(uint8_t *f, unsigned int len, const uint8_t *dst,
			uint32_t seq)
{
	unsigned int i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src_mac, 6);
	f[12] = ETH_TYPE >> 8;
	f[13] = ETH_TYPE & 0xff;
	f[14] = seq >> 24;
	f[15] = seq >> 16;
	f[16] = seq >> 8;
	f[17] = seq;
	f[18] = len >> 8;
	f[19] = len;
	for (i = MIN_FRAME; i < len; i++)
		f[i] = pattern(seq, len, i);
}

static const uint8_t *kind_mac(struct loop *l, enum dst_kind k)
{
	switch (k) {
	case DST_BCAST:
		return bcast_mac;
	case DST_UCAST:
		return l->dev_mac;
	case DST_MCAST:
		return mcast_mac;
	default:
		return l->o->foreign_mac;
	}
}

static int post_rx(struct loop *l)
{
	struct vdpa_vq *rx = &l->d.vq[RXQ];
	int n = 0, ret;

	while (rx->num_free) {
		ret = vdpa_vq_add_buf(rx, NULL, l->slot, true, NULL);
		if (ret < 0)
			return ret;
		n++;
	}
	l->rx_posted += n;
	if (n)
		return vdpa_vq_kick(rx);
	return 0;
}

/* Set the bits of the 4 KiB log pages of [@iova, @iova + @len). */
static void dirty_mark(uint8_t *map, uint64_t iova, uint64_t len)
{
	uint64_t p;

	if (!len)
		return;
	for (p = iova >> 12; p <= (iova + len - 1) >> 12; p++)
		map[p / 8] |= 1U << (p % 8);
}

/* IOVA of a byte of @vq's buffer slots. */
static uint64_t vq_data_iova(const struct vdpa_vq *vq, const void *p)
{
	return vq->slots_iova + ((const uint8_t *)p - vq->slots);
}

/* Check one received buffer against the oldest expected frame. */
static int check_rx(struct loop *l, const struct vdpa_used *u)
{
	static uint8_t want[MAX_SLOT];
	const uint8_t *got = u->data;
	const struct virtio_net_hdr_v1 *h = u->data;
	struct expect *e;
	uint32_t seq;
	unsigned int i;

	if (l->exp_head == l->exp_tail) {
		err_msg("unexpected frame received (len %u)", u->len);
		return -1;
	}
	e = &l->exp[l->exp_tail % l->exp_cap];
	l->exp_tail++;
	if (u->len != HDR_LEN + e->len) {
		err_msg("seq %u: rx length %u, expected %u", e->seq, u->len,
			HDR_LEN + e->len);
		if (u->len >= HDR_LEN + MIN_FRAME) {
			seq = got[HDR_LEN + 14] << 24 | got[HDR_LEN + 15] << 16 |
			      got[HDR_LEN + 16] << 8 | got[HDR_LEN + 17];
			err_msg("  received frame carries seq %u to %s", seq,
				mac_str(got + HDR_LEN));
		}
		return -1;
	}
	if (h->flags || h->gso_type || h->hdr_len || h->gso_size ||
	    h->csum_start || h->csum_offset || le16toh(h->num_buffers) > 1) {
		err_msg("seq %u: unexpected virtio-net header", e->seq);
		return -1;
	}
	if (l->dirty_want)
		dirty_mark(l->dirty_want, vq_data_iova(&l->d.vq[RXQ], u->data),
			   u->len);
	frame_build(want, e->len, kind_mac(l, e->kind), e->seq);
	if (memcmp(want, got + HDR_LEN, e->len)) {
		for (i = 0; i < e->len && want[i] == got[HDR_LEN + i]; i++)
			;
		err_msg("seq %u len %u: payload differs at byte %u (0x%02x, expected 0x%02x)",
			e->seq, e->len, i, got[HDR_LEN + i], want[i]);
		return -1;
	}
	l->st.rx_packets++;
	l->st.rx_bytes += e->len;
	return 0;
}

static int reap(struct loop *l, unsigned int *tx_done, unsigned int *rx_done,
		bool verify)
{
	struct vdpa_vq *rx = &l->d.vq[RXQ], *tx = &l->d.vq[TXQ];
	struct vdpa_used u;
	bool repost = false;
	int ret;

	while ((ret = vdpa_vq_get_used(tx, &u)) > 0)
		(*tx_done)++;
	if (ret < 0)
		return ret;
	while ((ret = vdpa_vq_get_used(rx, &u)) > 0) {
		l->rx_posted--;
		repost = true;
		(*rx_done)++;
		if (verify && check_rx(l, &u)) {
			l->st.errors++;
			return -EBADMSG;
		}
	}
	if (ret < 0)
		return ret;
	return repost ? post_rx(l) : 0;
}

/*
 * Queue frame @seq of @len bytes on TX and count it; the destination cycles
 * by @seq (every 8th to a foreign unicast, which must drop).  Returns 1 if
 * the frame is due back on RX, 0 if not, < 0 if it could not be queued.
 */
static int post_frame(struct loop *l, uint32_t seq, unsigned int len)
{
	static uint8_t buf[MAX_SLOT];
	enum dst_kind k;
	int ret;

	if (seq % 8 == 7)
		k = DST_FOREIGN;
	else
		k = seq % 3 == 0 ? DST_BCAST :
		    seq % 3 == 1 ? DST_UCAST : DST_MCAST;
	memset(buf, 0, HDR_LEN);
	frame_build(buf + HDR_LEN, len, kind_mac(l, k), seq);
	ret = vdpa_vq_add_buf(&l->d.vq[TXQ], buf, HDR_LEN + len, false, NULL);
	if (ret < 0)
		return ret;
	l->st.tx_packets++;
	l->st.tx_bytes += len;
	if (k == DST_FOREIGN) {
		l->st.foreign_sent++;
		l->st.foreign_bytes += len;
		return 0;
	}
	l->exp[l->exp_head % l->exp_cap] = (struct expect){
		.seq = seq, .len = len, .kind = k };
	l->exp_head++;
	return 1;
}

/* Send frames [seq, seq + n) of one size; wait for all of them. */
static int send_burst(struct loop *l, uint32_t seq, unsigned int n,
		      unsigned int len)
{
	struct vdpa_vq *tx = &l->d.vq[TXQ];
	unsigned int i, tx_done = 0, rx_done = 0, want_rx = 0;
	uint64_t deadline;
	int ret;

	for (i = 0; i < n; i++, seq++) {
		ret = post_frame(l, seq, len);
		if (ret < 0)
			return ret;
		want_rx += ret;
	}
	ret = vdpa_vq_kick(tx);
	if (ret)
		return ret;
	deadline = vdpa_now_ns() + (uint64_t)l->o->timeout_ms * 1000000;
	while (tx_done < n || rx_done < want_rx) {
		ret = reap(l, &tx_done, &rx_done, true);
		if (ret)
			return ret;
		if (tx_done >= n && rx_done >= want_rx)
			break;
		if (vdpa_now_ns() > deadline) {
			err_msg("timeout: size %u: %u/%u TX completed, %u/%u RX received",
				len, tx_done, n, rx_done, want_rx);
			return -ETIMEDOUT;
		}
		if (rx_done < want_rx)
			vdpa_vq_wait(&l->d.vq[RXQ], 20);
		else
			vdpa_vq_wait(tx, 20);
	}
	return 0;
}

static int cvq_cmd(struct loop *l, uint8_t class, uint8_t cmd,
		   const void *data, uint32_t len, uint8_t want)
{
	uint8_t ack = 0xff;
	int ret;

	ret = vdpa_net_ctrl(&l->d, l->cvq, class, cmd, data, len, &ack,
			    l->o->timeout_ms);
	l->st.cvq_requests++;
	if (ret) {
		err_msg("cvq class %u cmd %u: %s", class, cmd, strerror(-ret));
		return ret;
	}
	if (ack == VIRTIO_NET_OK)
		l->st.cvq_ok++;
	else
		l->st.cvq_err++;
	if (ack != want) {
		err_msg("cvq class %u cmd %u: ack %u, expected %u", class, cmd,
			ack, want);
		return -EPROTO;
	}
	return 0;
}

static int check_config_mac(struct loop *l, const uint8_t *want)
{
	uint8_t mac[6];
	int ret;

	ret = vdpa_get_config(&l->d, 0, mac, 6);
	if (ret) {
		err_msg("GET_CONFIG mac: %s", strerror(-ret));
		return ret;
	}
	if (memcmp(mac, want, 6)) {
		err_msg("config mac is %s, expected %s", mac_str(mac),
			mac_str(want));
		return -EPROTO;
	}
	return 0;
}

static int cvq_set_mac(struct loop *l, const uint8_t *mac)
{
	int ret;

	ret = cvq_cmd(l, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET,
		      mac, 6, VIRTIO_NET_OK);
	if (!ret)
		ret = check_config_mac(l, mac);
	return ret;
}

static int negotiate(struct loop *l);
static int start_rings(struct loop *l);

static int setup(struct loop *l, size_t region)
{
	struct vdpa_dev *d = &l->d;
	int ret;

	ret = vdpa_open(d, l->o->dev);
	if (ret) {
		err_msg("open %s: %s", l->o->dev, strerror(-ret));
		return ret;
	}
	ret = vdpa_query(d);
	if (ret) {
		err_msg("query: %s", strerror(-ret));
		return ret;
	}
	if (d->device_id != VIRTIO_ID_NET) {
		err_msg("device id %u is not virtio-net", d->device_id);
		return -ENODEV;
	}
	ret = vdpa_set_owner(d);
	if (!ret)
		ret = vdpa_set_backend_features(d, BACKEND_WANTED |
			(l->o->persist ? VDPA_BIT(VHOST_BACKEND_F_IOTLB_PERSIST) : 0));
	if (ret) {
		err_msg("owner/backend features: %s", strerror(-ret));
		return ret;
	}
	ret = negotiate(l);
	if (ret)
		return ret;
	ret = vdpa_get_config(d, 0, l->orig_mac, 6);
	if (ret) {
		err_msg("GET_CONFIG: %s", strerror(-ret));
		return ret;
	}
	memcpy(l->dev_mac, l->orig_mac, 6);

	if (l->o->shared)
		ret = vdpa_mem_map_shared(d, region, REGION_IOVA, 0);
	else
		ret = vdpa_mem_map(d, region, REGION_IOVA, 0);
	if (ret) {
		err_msg("IOTLB UPDATE of %zu bytes: %s (ulimit -l? VDUSE: --shared)",
			region, strerror(-ret));
		return ret;
	}
	return start_rings(l);
}

static int negotiate(struct loop *l)
{
	struct vdpa_dev *d = &l->d;
	uint64_t wanted;
	int ret;

	wanted = VDPA_BIT(VIRTIO_F_VERSION_1) |
		 VDPA_BIT(VIRTIO_F_ACCESS_PLATFORM) |
		 VDPA_BIT(VIRTIO_NET_F_MAC) | VDPA_BIT(VIRTIO_NET_F_MTU) |
		 VDPA_BIT(VIRTIO_NET_F_STATUS);
	if (l->o->use_cvq)
		wanted |= VDPA_BIT(VIRTIO_NET_F_CTRL_VQ) |
			  VDPA_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);
	if (l->o->packed)
		wanted |= VDPA_BIT(VIRTIO_F_RING_PACKED);
	ret = vdpa_negotiate(d, wanted);
	if (ret) {
		err_msg("feature negotiation (0x%llx of 0x%llx): %s",
			(unsigned long long)wanted,
			(unsigned long long)d->device_features, strerror(-ret));
		return ret;
	}
	if (l->o->packed && !(d->features & VDPA_BIT(VIRTIO_F_RING_PACKED))) {
		err_msg("--packed: the device does not offer RING_PACKED (0x%llx)",
			(unsigned long long)d->device_features);
		return -EOPNOTSUPP;
	}
	l->has_cvq = (d->features & VDPA_BIT(VIRTIO_NET_F_CTRL_VQ)) &&
		     (d->features & VDPA_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR)) &&
		     d->nvqs > 2;
	l->cvq = 2;
	return 0;
}

/* Lay the rings out from the start of the region and start the device. */
static int start_rings(struct loop *l)
{
	struct vdpa_dev *d = &l->d;
	unsigned int i, nq = l->has_cvq ? 3 : 2;
	int ret;

	d->mem_used = 0;
	l->rx_posted = 0;
	l->exp_head = 0;
	l->exp_tail = 0;
	for (i = 0; i < nq; i++) {
		ret = vdpa_vq_setup(d, i, i == 2 ? 64 : l->o->qsize,
				    i == 2 ? 64 : l->slot);
		if (ret) {
			err_msg("vq %u setup: %s", i, strerror(-ret));
			return ret;
		}
	}
	ret = post_rx(l);
	for (i = 0; !ret && i < nq; i++)
		ret = vdpa_vq_enable(d, i, true);
	if (!ret)
		ret = vdpa_driver_ok(d);
	if (ret) {
		err_msg("start: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static uint32_t slot_size(struct opts *o)
{
	uint32_t max = 0, i;

	for (i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	max = (HDR_LEN + max + 4095) & ~4095U;
	return max < SLOT_MIN ? SLOT_MIN : max;
}

static size_t region_size(struct opts *o)
{
	return ((size_t)o->qsize * slot_size(o) * 2 + 64 * 64 + 16 * 4096 +
		0xfffff) & ~(size_t)0xfffff;
}

static void print_stats(struct loop *l)
{
	struct stats *s = &l->st;

	fprintf(stdout,
		"stats tx_packets %llu tx_bytes %llu rx_packets %llu rx_bytes %llu foreign_packets %llu foreign_bytes %llu cvq_requests %llu cvq_ok %llu cvq_err %llu errors %llu\n",
		(unsigned long long)s->tx_packets,
		(unsigned long long)s->tx_bytes,
		(unsigned long long)s->rx_packets,
		(unsigned long long)s->rx_bytes,
		(unsigned long long)s->foreign_sent,
		(unsigned long long)s->foreign_bytes,
		(unsigned long long)s->cvq_requests,
		(unsigned long long)s->cvq_ok, (unsigned long long)s->cvq_err,
		(unsigned long long)s->errors);
	fflush(stdout);
}

static int wait_signal(const char *what, int secs)
{
	struct timespec ts = { .tv_sec = secs };
	sigset_t set;
	int sig;

	printf("%s\n", what);
	fflush(stdout);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sig = sigtimedwait(&set, NULL, &ts);
	if (sig < 0) {
		err_msg("no signal within %d s", secs);
		return -1;
	}
	return sig;
}

static void block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* One round of traffic: CVQ MAC change, every size, CVQ errors, restore. */
static int traffic(struct loop *l, uint32_t *seq)
{
	struct opts *o = l->o;
	unsigned int si, sent, n;
	struct vdpa_used u;
	int ret;

	if (l->has_cvq) {
		ret = cvq_set_mac(l, o->new_mac);
		if (ret)
			return ret;
		memcpy(l->dev_mac, o->new_mac, 6);
		printf("cvq: MAC_ADDR_SET %s ok, config shows it\n",
		       mac_str(o->new_mac));
	}
	if (!memcmp(l->dev_mac, o->foreign_mac, 6)) {
		err_msg("foreign MAC equals the device MAC");
		return -EINVAL;
	}
	for (si = 0; si < o->nsizes; si++) {
		for (sent = 0; sent < o->count; sent += n) {
			n = o->count - sent;
			if (n > o->burst)
				n = o->burst;
			ret = send_burst(l, *seq, n, o->sizes[si]);
			if (ret)
				return ret;
			*seq += n;
		}
		if (o->verbose)
			printf("size %u: %u frames ok\n", o->sizes[si],
			       o->count);
	}
	/* a dropped foreign frame must not show up late either */
	if (vdpa_vq_wait(&l->d.vq[RXQ], 100) > 0 &&
	    vdpa_vq_get_used(&l->d.vq[RXQ], &u) > 0) {
		err_msg("late frame received (len %u) after all traffic", u.len);
		return -EBADMSG;
	}
	if (l->has_cvq) {
		/* malformed and unknown commands: the device answers ERR */
		ret = cvq_cmd(l, VIRTIO_NET_CTRL_MAC,
			      VIRTIO_NET_CTRL_MAC_ADDR_SET, l->orig_mac, 5,
			      VIRTIO_NET_ERR);
		if (!ret)
			ret = check_config_mac(l, l->dev_mac);
		if (!ret)
			ret = cvq_cmd(l, 0x55, 0, NULL, 0, VIRTIO_NET_ERR);
		if (!ret)
			ret = cvq_set_mac(l, l->orig_mac);
		if (ret)
			return ret;
		memcpy(l->dev_mac, l->orig_mac, 6);
		printf("cvq: short MAC_ADDR_SET and unknown class: ERR; MAC back to %s\n",
		       mac_str(l->orig_mac));
	}
	return 0;
}

/*
 * Reset and start again on the same fd.  With IOTLB_PERSIST acked the
 * mappings survive the reset; without it the device forgets them (6.1
 * semantics) while vhost-vdpa keeps its table, so, as QEMU does, we
 * invalidate and map again after the reset.
 */
static int restart(struct loop *l)
{
	struct vdpa_dev *d = &l->d;
	bool persist = d->backend_features &
		       VDPA_BIT(VHOST_BACKEND_F_IOTLB_PERSIST);
	int ret;

	ret = negotiate(l);
	if (ret)
		return ret;
	if (!persist) {
		ret = vdpa_mem_unmap(d);
		if (!ret)
			ret = vdpa_iotlb_update(d, d->asid, d->mem_iova,
						d->mem_len, d->mem,
						VHOST_ACCESS_RW);
		if (ret) {
			err_msg("re-map after reset: %s", strerror(-ret));
			return ret;
		}
		d->mem_mapped = true;
	}
	printf("reset and restarted, mappings %s\n",
	       persist ? "kept (IOTLB_PERSIST)" : "invalidated and mapped again");
	return start_rings(l);
}

static int run_loop(struct opts *o)
{
	struct loop l = { .o = o };
	unsigned int round;
	uint32_t seq = 0;
	uint8_t status = 0;
	int ret, ok = 1;

	l.exp_cap = o->burst + 1;
	l.exp = calloc(l.exp_cap, sizeof(*l.exp));
	if (!l.exp)
		return 1;
	if (o->pause)
		block_signals();
	l.slot = slot_size(o);
	ret = setup(&l, region_size(o));
	if (ret)
		goto out;
	printf("device %s: features 0x%llx backend 0x%llx mac %s%s\n", o->dev,
	       (unsigned long long)l.d.features,
	       (unsigned long long)l.d.backend_features, mac_str(l.orig_mac),
	       l.has_cvq ? " cvq" : "");
	for (round = 0; round < o->rounds; round++) {
		ret = round ? restart(&l) : 0;
		if (!ret)
			ret = traffic(&l, &seq);
		if (ret)
			goto out;
	}
	print_stats(&l);
	if (o->pause && wait_signal("paused", 300) < 0) {
		ret = -ETIMEDOUT;
		goto out;
	}
	ret = vdpa_reset(&l.d);
	if (!ret)
		ret = vdpa_get_status(&l.d, &status);
	if (ret || status) {
		err_msg("reset: %s, status %u", strerror(-ret), status);
		ok = 0;
	}
out:
	if (ret) {
		ok = 0;
		print_stats(&l);
	}
	vdpa_close(&l.d);
	free(l.exp);
	printf("%s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}

/* ---- dirty-page logging (VHOST_F_LOG_ALL) ---- */

#ifndef VHOST_F_LOG_ALL
#define VHOST_F_LOG_ALL		26
#endif

/* Send @o->count frames of each size, @o->burst per kick. */
static int dirty_traffic(struct loop *l, uint32_t *seq)
{
	struct opts *o = l->o;
	unsigned int i, sent, n;
	int ret;

	for (i = 0; i < o->nsizes; i++)
		for (sent = 0; sent < o->count; sent += n) {
			n = o->count - sent < o->burst ? o->count - sent :
							 o->burst;
			ret = send_burst(l, *seq, n, o->sizes[i]);
			if (ret)
				return ret;
			*seq += n;
		}
	return 0;
}

/*
 * Logging on or off the way QEMU's vhost core does it on a running device:
 * the acked features again with VHOST_F_LOG_ALL toggled, then every ring's
 * addresses again with VHOST_VRING_F_LOG toggled.
 */
static int dirty_switch(struct loop *l, bool on)
{
	struct vdpa_dev *d = &l->d;
	uint64_t features = d->features;
	unsigned int i;
	int ret;

	if (on)
		features |= VDPA_BIT(VHOST_F_LOG_ALL);
	if (ioctl(d->fd, VHOST_SET_FEATURES, &features)) {
		err_msg("SET_FEATURES 0x%llx while running: %s",
			(unsigned long long)features, strerror(errno));
		return -errno;
	}
	for (i = 0; i < 2; i++) {
		struct vdpa_vq *vq = &d->vq[i];
		struct vhost_vring_addr a = {
			.index = i,
			.flags = on ? 1U << VHOST_VRING_F_LOG : 0,
			.desc_user_addr = vq->desc_iova,
			.avail_user_addr = vq->avail_iova,
			.used_user_addr = vq->used_iova,
			.log_guest_addr = vq->used_iova,
		};

		ret = ioctl(d->fd, VHOST_SET_VRING_ADDR, &a);
		if (ret) {
			err_msg("SET_VRING_ADDR %u (log %d) while running: %s",
				i, on, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Mark the used-ring slots @vq filled since @from, and its index. */
static void dirty_mark_used(uint8_t *map, const struct vdpa_vq *vq,
			    uint16_t from)
{
	uint16_t k;

	for (k = from; k != vq->last_used; k++)
		dirty_mark(map, vq->used_iova + 4 + 8ULL * (k & (vq->num - 1)),
			   8);
	if (from != vq->last_used)
		dirty_mark(map, vq->used_iova + 2, 2);
}

/* Compare the log with what the device must have written; 0 if equal. */
static int dirty_compare(const uint64_t *log, const uint8_t *want,
			 uint64_t npages)
{
	const uint8_t *got = (const uint8_t *)log;
	uint64_t p, marked = 0, wanted = 0, bad = 0;

	for (p = 0; p < npages; p++) {
		bool g = got[p / 8] & (1U << (p % 8));
		bool w = want[p / 8] & (1U << (p % 8));

		marked += g;
		wanted += w;
		if (g == w)
			continue;
		if (bad++ < 8)
			err_msg("IOVA page 0x%llx: %s", (unsigned long long)p << 12,
				g ? "marked, never written" :
				    "written, not marked");
	}
	printf("dirty log: %llu pages marked, %llu written, %llu differ\n",
	       (unsigned long long)marked, (unsigned long long)wanted,
	       (unsigned long long)bad);
	return bad || !wanted ? -1 : 0;
}

static int dirty_expect(struct vdpa_dev *d, unsigned long cmd,
			const char *what, void *arg, int want)
{
	int ret = ioctl(d->fd, cmd, arg) ? errno : 0;

	if (ret == want)
		return 0;
	err_msg("%s: %s, expected %s", what, ret ? strerror(ret) : "success",
		want ? strerror(want) : "success");
	return -1;
}

/* Bases the device cannot write through: errors of the log, no more. */
static int dirty_hostile(struct loop *l, uint32_t *seq)
{
	struct vdpa_dev *d = &l->d;
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
	uint64_t bases[4], base;
	unsigned int i;
	int ret = 0;

	if (ro == MAP_FAILED)
		return -errno;
	bases[0] = (uintptr_t)ro;		/* read-only */
	bases[1] = 0xffff888000000000ULL;	/* kernel address */
	bases[2] = UINT64_MAX - 16;		/* byte address wraps */
	bases[3] = 0x1000;			/* unmapped */
	for (i = 0; i < 4 && !ret; i++) {
		base = bases[i];
		ret = ioctl(d->fd, VHOST_SET_LOG_BASE, &base) ? -errno : 0;
		if (ret) {
			err_msg("SET_LOG_BASE 0x%llx: %s",
				(unsigned long long)base, strerror(-ret));
			break;
		}
		ret = dirty_switch(l, true);
		if (!ret)
			ret = dirty_traffic(l, seq);
		if (!ret)
			ret = dirty_switch(l, false);
		if (!ret)
			printf("hostile log base 0x%llx: traffic ok\n",
			       (unsigned long long)base);
	}
	munmap(ro, 4096);
	return ret;
}

/*
 * QEMU 7.2's stop for the last step of a migration: reset the running
 * device with logging on and frames in flight, then read the queues'
 * positions.  They must be the device's at the reset, which the guest
 * resumes from on the destination: the used index it wrote (the simulator
 * completes in order and holds nothing across a stop), not 0, the same on
 * a second read; a base the client sets replaces them.
 */
static int dirty_stop(struct loop *l)
{
	static const unsigned int qs[] = { RXQ, TXQ };
	struct vdpa_dev *d = &l->d;
	struct vhost_vring_state set = { .index = TXQ, .num = 7 };
	uint32_t base, again;
	unsigned int i;
	uint16_t used;
	int ret;

	ret = vdpa_reset(d);
	if (!ret)
		ret = vdpa_add_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				      VIRTIO_CONFIG_S_DRIVER);
	if (ret) {
		err_msg("reset with logging on: %s", strerror(-ret));
		return ret;
	}
	for (i = 0; i < 2; i++) {
		struct vdpa_vq *vq = &d->vq[qs[i]];

		ret = vdpa_get_vring_base(d->fd, qs[i], &base);
		if (!ret)
			ret = vdpa_get_vring_base(d->fd, qs[i], &again);
		if (ret) {
			err_msg("GET_VRING_BASE %u after the reset: %s", qs[i],
				strerror(-ret));
			return ret;
		}
		used = __atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE);
		printf("stop while logging: vq %u base %u used idx %u avail idx %u\n",
		       qs[i], base, used, vq->avail_idx);
		if (base != used || !base || again != base ||
		    (uint16_t)(vq->avail_idx - base) > vq->num) {
			err_msg("vq %u: base %u (again %u) after the reset, used %u, avail %u",
				qs[i], base, again, used, vq->avail_idx);
			return -EBADMSG;
		}
	}
	if (ioctl(d->fd, VHOST_SET_VRING_BASE, &set) ||
	    vdpa_get_vring_base(d->fd, TXQ, &base) || base != set.num) {
		err_msg("SET_VRING_BASE %u after the reset: read back %u", set.num,
			base);
		return -EBADMSG;
	}
	printf("stop while logging: positions kept, a set base replaces them\n");
	return 0;
}

static int run_dirty(struct opts *o)
{
	struct loop l = { .o = o };
	struct vdpa_dev *d = &l.d;
	uint64_t *log = NULL, *snap = NULL, base, features, cnt = 0;
	uint64_t npages, words;
	uint16_t rx0, tx0;
	uint32_t seq = 0;
	size_t region;
	int efd = -1, ret, ok = 0;

	o->use_cvq = false;
	l.exp_cap = o->burst + 1;
	l.exp = calloc(l.exp_cap, sizeof(*l.exp));
	if (!l.exp)
		return 1;
	l.slot = slot_size(o);
	region = region_size(o);
	ret = setup(&l, region);
	if (ret)
		goto out;
	ret = ioctl(d->fd, VHOST_GET_FEATURES, &features) ? -errno : 0;
	if (ret || !(features & VDPA_BIT(VHOST_F_LOG_ALL))) {
		err_msg("VHOST_F_LOG_ALL not offered (features 0x%llx)",
			(unsigned long long)features);
		ret = -EOPNOTSUPP;
		goto out;
	}

	npages = (REGION_IOVA + region) >> 12;
	words = (npages + 63) / 64;
	log = calloc(words, 8);
	snap = calloc(words, 8);
	l.dirty_want = calloc(words, 8);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!log || !snap || !l.dirty_want || efd < 0) {
		ret = -ENOMEM;
		goto out;
	}
	base = (uintptr_t)log;
	ret = ioctl(d->fd, VHOST_SET_LOG_BASE, &base) ? -errno : 0;
	if (!ret)
		ret = ioctl(d->fd, VHOST_SET_LOG_FD, &efd) ? -errno : 0;
	if (ret) {
		err_msg("SET_LOG_BASE/SET_LOG_FD: %s", strerror(-ret));
		goto out;
	}

	/* while running, only LOG_ALL may change, and rings may not move */
	features = d->features ^ VDPA_BIT(VIRTIO_NET_F_MTU);
	ret = dirty_expect(d, VHOST_SET_FEATURES, "SET_FEATURES changing MTU",
			   &features, EBUSY);
	if (!ret) {
		struct vhost_vring_addr a = {
			.index = RXQ,
			.desc_user_addr = d->vq[RXQ].desc_iova + 4096,
			.avail_user_addr = d->vq[RXQ].avail_iova,
			.used_user_addr = d->vq[RXQ].used_iova,
		};

		ret = dirty_expect(d, VHOST_SET_VRING_ADDR,
				   "SET_VRING_ADDR moving a ring", &a, EINVAL);
	}
	if (ret)
		goto out;

	ret = dirty_switch(&l, true);
	if (ret)
		goto out;
	rx0 = d->vq[RXQ].last_used;
	tx0 = d->vq[TXQ].last_used;
	ret = dirty_traffic(&l, &seq);
	if (ret)
		goto out;
	dirty_mark_used(l.dirty_want, &d->vq[RXQ], rx0);
	dirty_mark_used(l.dirty_want, &d->vq[TXQ], tx0);
	/* turning logging off returns once the log holds every write */
	ret = dirty_switch(&l, false);
	if (ret)
		goto out;
	if (dirty_compare(log, l.dirty_want, npages)) {
		ret = -EBADMSG;
		goto out;
	}
	if (read(efd, &cnt, sizeof(cnt)) != sizeof(cnt) || !cnt) {
		err_msg("the log eventfd was never signalled");
		ret = -EBADMSG;
		goto out;
	}
	printf("dirty log eventfd: signalled\n");

	/* logging off: the log stays as it is */
	memcpy(snap, log, words * 8);
	free(l.dirty_want);
	l.dirty_want = NULL;
	ret = dirty_traffic(&l, &seq);
	if (ret)
		goto out;
	if (memcmp(snap, log, words * 8)) {
		err_msg("the log changed while logging was off");
		ret = -EBADMSG;
		goto out;
	}
	printf("dirty log: unchanged while off\n");

	ret = dirty_hostile(&l, &seq);
	if (ret)
		goto out;

	/*
	 * close with logging on and frames in flight; with --dirty-stop,
	 * reset first as QEMU 7.2 does
	 */
	base = (uintptr_t)log;
	ret = ioctl(d->fd, VHOST_SET_LOG_BASE, &base) ? -errno : 0;
	if (!ret)
		ret = dirty_switch(&l, true);
	if (!ret) {
		unsigned int i;

		for (i = 0; i < o->burst; i++)
			post_frame(&l, seq++, o->sizes[0]);
		vdpa_vq_kick(&d->vq[TXQ]);
		if (o->dirty_stop)
			ret = dirty_stop(&l);
	}
	if (!ret)
		ok = 1;
out:
	if (ret)
		print_stats(&l);
	vdpa_close(d);
	if (efd >= 0)
		close(efd);
	free(l.dirty_want);
	free(snap);
	free(log);
	free(l.exp);
	printf("%s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}

/* ---- benchmark ---- */

static double bench_pps(struct loop *l, unsigned int len, double secs)
{
	static uint8_t buf[MAX_SLOT];
	struct vdpa_vq *tx = &l->d.vq[TXQ], *rx = &l->d.vq[RXQ];
	unsigned int tx_done = 0, rx_done = 0, inflight = 0, budget, i;
	uint64_t t0, end, now, start_rx;
	int ret;

	memset(buf, 0, HDR_LEN);
	frame_build(buf + HDR_LEN, len, bcast_mac, 0);
	start_rx = 0;
	t0 = vdpa_now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	for (;;) {
		/* never more in flight than there are RX buffers posted */
		budget = l->rx_posted > inflight ? l->rx_posted - inflight : 0;
		if (budget > tx->num_free)
			budget = tx->num_free;
		if (budget > 64)
			budget = 64;
		for (i = 0; i < budget; i++) {
			ret = vdpa_vq_add_buf(tx, buf, HDR_LEN + len, false,
					      NULL);
			if (ret < 0)
				return -1;
		}
		inflight += budget;
		if (budget && vdpa_vq_kick(tx))
			return -1;
		vdpa_vq_wait(rx, 50);
		i = rx_done;
		if (reap(l, &tx_done, &rx_done, false))
			return -1;
		inflight -= rx_done - i;
		now = vdpa_now_ns();
		if (now >= end)
			break;
	}
	/* drain */
	while (inflight && vdpa_vq_wait(rx, 500) > 0) {
		i = rx_done;
		if (reap(l, &tx_done, &rx_done, false))
			return -1;
		inflight -= rx_done - i;
	}
	now = vdpa_now_ns();
	return (rx_done - start_rx) / ((now - t0) / 1e9);
}

static void raise_memlock(void)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

	if (setrlimit(RLIMIT_MEMLOCK, &r))
		err_msg("cannot raise RLIMIT_MEMLOCK: %s", strerror(errno));
}

static int bench_map(struct loop *l, size_t bytes)
{
	struct vdpa_dev *d = &l->d;
	uint64_t t0, t1, t2;
	void *p;
	int ret;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		err_msg("mmap %zu MiB: %s", bytes >> 20, strerror(errno));
		return -errno;
	}
	t0 = vdpa_now_ns();
	ret = vdpa_iotlb_update(d, 0, BENCH_IOVA, bytes, p, VHOST_ACCESS_RW);
	t1 = vdpa_now_ns();
	if (ret) {
		err_msg("UPDATE of %zu MiB: %s", bytes >> 20, strerror(-ret));
		munmap(p, bytes);
		return ret;
	}
	printf("bench map: one UPDATE of %zu MiB: %.3f s, %.2f GiB/s, VmPin %ld kB\n",
	       bytes >> 20, (t1 - t0) / 1e9,
	       (bytes / 1073741824.0) / ((t1 - t0) / 1e9), vdpa_vmpin_kb());
	ret = vdpa_iotlb_invalidate(d, 0, BENCH_IOVA, bytes);
	t2 = vdpa_now_ns();
	if (ret)
		err_msg("INVALIDATE: %s", strerror(-ret));
	else
		printf("bench unmap: one INVALIDATE of %zu MiB: %.3f s, %.2f GiB/s, VmPin %ld kB\n",
		       bytes >> 20, (t2 - t1) / 1e9,
		       (bytes / 1073741824.0) / ((t2 - t1) / 1e9),
		       vdpa_vmpin_kb());
	munmap(p, bytes);
	return ret;
}

static int bench_msgs(struct loop *l, unsigned int n, bool batch)
{
	struct vdpa_dev *d = &l->d;
	size_t bytes = (size_t)n * 4096;
	uint64_t t0, t1;
	unsigned int i;
	uint8_t *p;
	int ret = 0;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	t0 = vdpa_now_ns();
	if (batch)
		ret = vdpa_iotlb_batch_begin(d, 0);
	for (i = 0; !ret && i < n; i++)
		ret = vdpa_iotlb_update(d, 0, BENCH_IOVA + (uint64_t)i * 8192,
					4096, p + (size_t)i * 4096,
					VHOST_ACCESS_RW);
	if (!ret && batch)
		ret = vdpa_iotlb_batch_end(d, 0);
	t1 = vdpa_now_ns();
	if (ret) {
		err_msg("%s UPDATE %u of %u: %s", batch ? "batched" : "single",
			i, n, strerror(-ret));
	} else {
		printf("bench %s: %u UPDATE messages of 4 KiB in %.3f s: %.0f msg/s\n",
		       batch ? "batched" : "unbatched", n, (t1 - t0) / 1e9,
		       n / ((t1 - t0) / 1e9));
	}
	if (vdpa_iotlb_invalidate(d, 0, BENCH_IOVA, (uint64_t)n * 8192))
		err_msg("INVALIDATE after the message bench failed");
	munmap(p, bytes);
	return ret;
}

static int run_bench(struct opts *o)
{
	static const unsigned int sizes[] = { 64, 1500 };
	struct loop l = { .o = o };
	unsigned int i;
	double pps;
	int ret, fail = 0;

	l.exp_cap = 1;
	l.exp = calloc(1, sizeof(*l.exp));
	l.slot = slot_size(o);
	ret = setup(&l, region_size(o));
	if (ret)
		goto out;
	for (i = 0; i < 2; i++) {
		pps = bench_pps(&l, sizes[i], o->bench_secs);
		if (pps < 0) {
			fail = 1;
			continue;
		}
		printf("bench pps: %u-byte frames: %.0f packets/s (%.1f Mbit/s)\n",
		       sizes[i], pps, pps * sizes[i] * 8 / 1e6);
	}
	fflush(stdout);
	/* 0 leaves a figure out (a VDUSE device takes shared memory only) */
	if (o->bench_map_mib && bench_map(&l, (size_t)o->bench_map_mib << 20))
		fail = 1;
	if (o->bench_msgs && bench_msgs(&l, o->bench_msgs, true))
		fail = 1;
	if (o->bench_msgs &&
	    bench_msgs(&l, o->bench_msgs < 1024 ? o->bench_msgs : 1024, false))
		fail = 1;
out:
	if (ret)
		fail = 1;
	vdpa_close(&l.d);
	free(l.exp);
	printf("%s\n", fail ? "FAIL" : "PASS");
	return fail;
}

/* ---- stress: continuous numbered traffic, used indices watched ---- */

/*
 * A second thread reads each queue's used index as fast as it can, the way
 * a polling driver (DPDK) does, and checks what the device may publish: the
 * used index only moves forward, and never past the avail index the driver
 * published (used <= avail).  A value outside that window is a corrupt
 * (e.g. torn) store of the index by the device, even if it lasts an instant.
 */
struct watch {
	struct vdpa_vq *vq[2];
	int stop;
	uint64_t reads;
	uint64_t bad;
	char first[3][160];
};

static void *watch_fn(void *arg)
{
	struct watch *w = arg;
	uint16_t prev[2], used, avail;
	unsigned int i;

	for (i = 0; i < 2; i++)
		prev[i] = le16toh(__atomic_load_n(&w->vq[i]->used->idx,
						  __ATOMIC_ACQUIRE));
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		for (i = 0; i < 2; i++) {
			struct vdpa_vq *vq = w->vq[i];

			used = le16toh(__atomic_load_n(&vq->used->idx,
						       __ATOMIC_ACQUIRE));
			/* read after used: avail only grows meanwhile */
			avail = le16toh(__atomic_load_n(&vq->avail->idx,
							__ATOMIC_ACQUIRE));
			w->reads++;
			if ((uint16_t)(used - prev[i]) <=
			    (uint16_t)(avail - prev[i])) {
				prev[i] = used;
				continue;
			}
			if (w->bad < 3)
				snprintf(w->first[w->bad], sizeof(w->first[0]),
					 "vq %u: used idx read as %u (%#06x) after %u (%#06x), avail idx %u (%#06x)",
					 vq->index, used, used, prev[i], prev[i],
					 avail, avail);
			w->bad++;
		}
	}
	return NULL;
}

/*
 * --trap-stores: a hardware write watchpoint on each used idx, at the
 * kernel's direct-map address of its page (PFN from /proc/self/pagemap,
 * direct-map base from a RAM segment of /proc/kcore; root only).  Every
 * store the device makes to the index then takes a debug trap right after
 * it, and a store done in two pieces traps between them: the first piece
 * stays visible for the whole trap, long enough for the watcher to see it.
 * The hit count tells the pieces per store, too.
 */
struct trap {
	int fd[64];
	unsigned int nfd;
};

static int kcore_direct_map_base(uint64_t *base)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned int i;
	int fd, ret = -ENOENT;

	fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		close(fd);
		return -EIO;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff +
			  (off_t)i * eh.e_phentsize) != sizeof(ph))
			break;
		/*
		 * RAM: p_paddr is __pa(p_vaddr).  The kernel text (at or above
		 * __START_KERNEL_map) has a different offset, vmalloc and
		 * vmemmap have no p_paddr.  (4- or 5-level paging: the direct
		 * map may start below 0xffff800000000000.)
		 */
		if (ph.p_type != PT_LOAD || ph.p_paddr == (Elf64_Addr)-1 ||
		    ph.p_vaddr >= 0xffffffff80000000ULL ||
		    !(ph.p_vaddr >> 63))
			continue;
		*base = ph.p_vaddr - ph.p_paddr;
		ret = 0;
		break;
	}
	close(fd);
	return ret;
}

static int user_to_pa(const void *p, uint64_t *pa)
{
	uint64_t ent, va = (uintptr_t)p;
	long psz = sysconf(_SC_PAGESIZE);
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &ent, sizeof(ent), (va / psz) * 8) != sizeof(ent)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	/* present, with a PFN (hidden without CAP_SYS_ADMIN) */
	if (!(ent >> 63) || !(ent & ((1ULL << 55) - 1)))
		return -EPERM;
	*pa = (ent & ((1ULL << 55) - 1)) * psz + va % psz;
	return 0;
}

static int trap_stores(struct trap *t, const void *addr)
{
	struct perf_event_attr a;
	uint64_t base = 0, pa = 0;
	long cpu, ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int ret, fd;

	ret = kcore_direct_map_base(&base);
	if (ret) {
		err_msg("/proc/kcore: no direct-map segment: %s", strerror(-ret));
		return ret;
	}
	ret = user_to_pa(addr, &pa);
	if (ret) {
		err_msg("/proc/self/pagemap: %s", strerror(-ret));
		return ret;
	}
	for (cpu = 0; cpu < ncpu && t->nfd < 64; cpu++) {
		memset(&a, 0, sizeof(a));
		a.type = PERF_TYPE_BREAKPOINT;
		a.size = sizeof(a);
		a.bp_type = HW_BREAKPOINT_W;
		a.bp_addr = base + pa;
		a.bp_len = HW_BREAKPOINT_LEN_2;
		fd = syscall(__NR_perf_event_open, &a, -1, (int)cpu, -1,
			     PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			err_msg("perf_event_open: breakpoint at %#llx on CPU %ld: %s",
				(unsigned long long)a.bp_addr, cpu,
				strerror(-ret));
			return ret;
		}
		t->fd[t->nfd++] = fd;
	}
	return 0;
}

/* Stores trapped since trap_stores(); closes the watchpoints. */
static uint64_t trap_hits(struct trap *t)
{
	uint64_t n, sum = 0;
	unsigned int i;

	for (i = 0; i < t->nfd; i++) {
		if (read(t->fd[i], &n, sizeof(n)) == sizeof(n))
			sum += n;
		close(t->fd[i]);
	}
	t->nfd = 0;
	return sum;
}

/* Queue up to @n numbered frames on TX (sizes and kinds cycle by seq). */
static int stress_send(struct loop *l, uint32_t *seq, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++, (*seq)++) {
		ret = post_frame(l, *seq, l->o->sizes[*seq % l->o->nsizes]);
		if (ret < 0)
			return ret;
	}
	return n ? vdpa_vq_kick(&l->d.vq[TXQ]) : 0;
}

static void stress_ring_state(struct loop *l, const char *why)
{
	unsigned int i;

	err_msg("%s", why);
	for (i = RXQ; i <= TXQ; i++) {
		struct vdpa_vq *vq = &l->d.vq[i];

		err_msg("  %s: avail idx %u, used idx %u, driver consumed up to %u, %u free",
			i == RXQ ? "rx" : "tx", vq->avail_idx,
			le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE)),
			vq->last_used, vq->num_free);
	}
}

static int run_stress(struct opts *o)
{
	struct loop l = { .o = o };
	struct watch w = { 0 };
	struct trap trap[2] = { 0 };
	struct vdpa_used u;
	unsigned int tx_done = 0, rx_done = 0, budget, inflight, i;
	uint64_t t0, end, deadline;
	uint32_t seq = 0;
	pthread_t th;
	bool watching = false;
	int ret, fail = 0;

	l.exp_cap = 2 * o->qsize;
	l.exp = calloc(l.exp_cap, sizeof(*l.exp));
	if (!l.exp)
		return 1;
	l.slot = slot_size(o);
	ret = setup(&l, region_size(o));
	if (ret)
		goto out;
	w.vq[0] = &l.d.vq[RXQ];
	w.vq[1] = &l.d.vq[TXQ];
	for (i = 0; o->trap_stores && i < 2; i++) {
		ret = trap_stores(&trap[i], &w.vq[i]->used->idx);
		if (ret) {
			err_msg("write watchpoint on the used idx: %s",
				strerror(-ret));
			goto out;
		}
	}
	ret = -pthread_create(&th, NULL, watch_fn, &w);
	if (ret) {
		err_msg("watcher thread: %s", strerror(-ret));
		goto out;
	}
	watching = true;

	t0 = vdpa_now_ns();
	end = t0 + (uint64_t)(o->stress_secs * 1e9);
	while (vdpa_now_ns() < end) {
		/* never more frames due back than RX buffers posted */
		inflight = l.exp_head - l.exp_tail;
		budget = l.rx_posted > inflight ? l.rx_posted - inflight : 0;
		if (budget > l.d.vq[TXQ].num_free)
			budget = l.d.vq[TXQ].num_free;
		if (budget > o->burst)
			budget = o->burst;
		ret = stress_send(&l, &seq, budget);
		if (!ret && !budget)
			ret = vdpa_vq_wait(&l.d.vq[RXQ], 1) < 0 ? -EIO : 0;
		if (!ret)
			ret = reap(&l, &tx_done, &rx_done, true);
		if (ret)
			goto out;
	}
	/* drain: every frame due back arrives, every TX chain completes */
	deadline = vdpa_now_ns() + (uint64_t)o->timeout_ms * 1000000;
	while (l.exp_head != l.exp_tail || tx_done != l.st.tx_packets) {
		if (vdpa_now_ns() > deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		vdpa_vq_wait(&l.d.vq[RXQ], 10);
		ret = reap(&l, &tx_done, &rx_done, true);
		if (ret)
			goto out;
	}
	if (ret) {
		err_msg("timeout draining: %u frames due back, %llu TX chains not completed",
			l.exp_head - l.exp_tail,
			(unsigned long long)(l.st.tx_packets - tx_done));
		goto out;
	}
	if (vdpa_vq_wait(&l.d.vq[RXQ], 100) > 0 &&
	    vdpa_vq_get_used(&l.d.vq[RXQ], &u) > 0) {
		err_msg("late frame received (len %u) after all traffic", u.len);
		ret = -EBADMSG;
		goto out;
	}
out:
	if (watching) {
		__atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		fprintf(stdout,
			"stress: %.1f s, %u frames sent, %u received, %u TX completions; watcher: %llu used idx reads, %llu out of [last seen, avail]\n",
			(vdpa_now_ns() - t0) / 1e9, seq, rx_done, tx_done,
			(unsigned long long)w.reads,
			(unsigned long long)w.bad);
		for (i = 0; i < w.bad && i < 3; i++)
			err_msg("watcher: %s", w.first[i]);
		if (w.bad)
			fail = 1;
	}
	/*
	 * How many traps one completion (one store of the index) took: not
	 * a verdict (the count per access depends on the CPU and on the
	 * emulator), but a store made in pieces shows up as more than
	 * usual.
	 */
	for (i = 0; o->trap_stores && !ret && i < 2; i++) {
		uint64_t hits = trap_hits(&trap[i]);
		unsigned int done = i ? tx_done : rx_done;

		printf("trap: %s used idx: %llu trapped stores for %u completions (%.2f each)\n",
		       i ? "tx" : "rx", (unsigned long long)hits, done,
		       done ? (double)hits / done : 0.0);
	}
	for (i = 0; i < 2; i++)
		trap_hits(&trap[i]);
	if (ret) {
		fail = 1;
		if (ret == -EPROTO)
			stress_ring_state(&l,
					  "a used index moved by more than the queue size, or a used id is out of range");
		else
			stress_ring_state(&l, strerror(-ret));
	}
	if (l.st.rx_packets > l.st.tx_packets - l.st.foreign_sent) {
		err_msg("received %llu frames, more than the %llu sent to a MAC the device accepts",
			(unsigned long long)l.st.rx_packets,
			(unsigned long long)(l.st.tx_packets - l.st.foreign_sent));
		fail = 1;
	}
	print_stats(&l);
	if (!ret && vdpa_reset(&l.d))
		fail = 1;
	vdpa_close(&l.d);
	free(l.exp);
	printf("%s\n", fail ? "FAIL" : "PASS");
	return fail;
}

/* ---- hog: load every CPU ---- */

enum hog_kind { HOG_SPIN, HOG_YIELD, HOG_SLEEP, HOG_KINDS };

struct hog {
	pthread_t th;
	int cpu;
	enum hog_kind kind;
};

static int hog_stop;

static void *hog_fn(void *arg)
{
	struct timespec ts = { .tv_nsec = 20000 };
	struct hog *h = arg;
	cpu_set_t set;
	unsigned int i;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	/* short sleeps: a timer interrupt every few tens of microseconds */
	if (h->kind == HOG_SLEEP)
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	while (!__atomic_load_n(&hog_stop, __ATOMIC_RELAXED)) {
		switch (h->kind) {
		case HOG_SPIN:
			for (i = 0; i < 100000; i++)
				__asm__ volatile("" ::: "memory");
			break;
		case HOG_YIELD:
			sched_yield();
			break;
		default:
			nanosleep(&ts, NULL);
			break;
		}
	}
	return NULL;
}

static int run_hog(struct opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct hog *h;
	unsigned int i, n, started = 0;
	int sig;

	if (ncpu < 1)
		ncpu = 1;
	n = ncpu * HOG_KINDS;
	h = calloc(n, sizeof(*h));
	if (!h)
		return 1;
	block_signals();
	for (i = 0; i < n; i++) {
		h[i].cpu = i / HOG_KINDS;
		h[i].kind = i % HOG_KINDS;
		if (pthread_create(&h[i].th, NULL, hog_fn, &h[i]))
			break;
		started++;
	}
	printf("hog: %u threads on %ld CPUs (spin, yield, 20 us sleeps)\n",
	       started, ncpu);
	sig = wait_signal("hogging", (int)o->hog_secs);
	__atomic_store_n(&hog_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < started; i++)
		pthread_join(h[i].th, NULL);
	free(h);
	printf("hog: stopped (%s)\n", sig < 0 ? "time" : "signal");
	return 0;
}

/* ---- revocation: hold the device while it is deleted ---- */

static int expect_enodev(const char *what, int ret)
{
	if (ret == -ENODEV) {
		printf("ok %s after removal: ENODEV\n", what);
		return 0;
	}
	printf("FAIL %s after removal: expected ENODEV got %s\n", what,
	       ret ? strerror(-ret) : "success");
	return 1;
}

static int run_hold(struct opts *o)
{
	struct vhost_vring_state s = { .index = 0, .num = 64 };
	struct loop l = { .o = o };
	uint32_t id;
	uint8_t st;
	long pin;
	int ret, fail = 0;

	block_signals();
	l.exp_cap = 1;
	l.exp = calloc(1, sizeof(*l.exp));
	l.slot = slot_size(o);
	ret = setup(&l, region_size(o));
	if (ret) {
		fail = 1;
		goto out;
	}
	printf("VmPin before removal: %ld kB\n", vdpa_vmpin_kb());
	if (wait_signal("held", 300) < 0) {
		fail = 1;
		goto out;
	}
	fail |= expect_enodev("GET_DEVICE_ID",
			      ioctl(l.d.fd, VHOST_VDPA_GET_DEVICE_ID, &id) ?
			      -errno : 0);
	fail |= expect_enodev("GET_STATUS",
			      ioctl(l.d.fd, VHOST_VDPA_GET_STATUS, &st) ?
			      -errno : 0);
	fail |= expect_enodev("SET_VRING_NUM",
			      ioctl(l.d.fd, VHOST_SET_VRING_NUM, &s) ?
			      -errno : 0);
	fail |= expect_enodev("IOTLB write",
			      vdpa_iotlb_update(&l.d, 0, 0x1000, 4096, l.d.mem,
						VHOST_ACCESS_RW));
	/* a kick must not reach the revoked device (nothing to check) */
	vdpa_vq_kick(&l.d.vq[TXQ]);
	pin = vdpa_vmpin_kb();
	if (pin) {
		printf("FAIL VmPin after removal: %ld kB, expected 0\n", pin);
		fail = 1;
	} else {
		printf("ok VmPin after removal: 0 kB\n");
	}
	if (close(l.d.fd)) {
		printf("FAIL close after removal: %s\n", strerror(errno));
		fail = 1;
	} else {
		printf("ok close after removal\n");
	}
	l.d.fd = -1;
out:
	vdpa_close(&l.d);
	free(l.exp);
	printf("%s\n", fail ? "FAIL" : "PASS");
	return fail;
}

/* ---- open/close cycles ---- */

static int run_cycles(struct opts *o)
{
	struct vdpa_dev d;
	unsigned int i;
	uint8_t *p;
	long pin;
	int ret;

	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	for (i = 0; i < o->cycles; i++) {
		ret = vdpa_open(&d, o->dev);
		if (!ret)
			ret = vdpa_query(&d);
		/* every 10th cycle also owns the device and pins a little */
		if (!ret && i % 10 == 0) {
			ret = vdpa_set_owner(&d);
			if (!ret)
				ret = vdpa_iotlb_update(&d, 0, 0x10000, 65536,
							p, VHOST_ACCESS_RW);
		}
		if (ret) {
			err_msg("cycle %u: %s", i, strerror(-ret));
			vdpa_close(&d);
			return 1;
		}
		vdpa_close(&d);
	}
	pin = vdpa_vmpin_kb();
	printf("%u open/close cycles done, VmPin %ld kB\n", o->cycles, pin);
	munmap(p, 65536);
	if (pin) {
		printf("FAIL\n");
		return 1;
	}
	printf("PASS\n");
	return 0;
}

static void usage(void)
{
	printf("usage: vdpa-net-loop [options]\n"
	       "  -d, --dev PATH        device node (/dev/vhost-vdpa-0)\n"
	       "  -n, --count N         frames per size (64)\n"
	       "  -s, --sizes A,B,...   frame sizes without the virtio header\n"
	       "                        (60,64,128,1000,1500,4084; %u..%u)\n"
	       "  -m, --mac MAC         MAC to set through the control vq\n"
	       "                        (02:1d:a0:00:00:01)\n"
	       "  -f, --foreign MAC     unicast destination that must drop\n"
	       "                        (02:de:ad:be:ef:01)\n"
	       "  -q, --qsize N         rx/tx ring size (256)\n"
	       "  -b, --burst N         frames per kick (32)\n"
	       "  -t, --timeout MS      per-burst timeout (5000)\n"
	       "      --no-cvq          do not use the control vq\n"
	       "      --rounds N        reset and restart N - 1 times (1)\n"
	       "      --persist         ack IOTLB_PERSIST: keep the maps across\n"
	       "                        resets instead of mapping again\n"
	       "      --pause           before the final reset, print 'paused'\n"
	       "                        and wait for SIGUSR1\n"
	       "      --bench           packets/s and IOTLB map throughput\n"
	       "      --bench-time S    seconds per pps run (3)\n"
	       "      --bench-map-mib N size of the one-UPDATE map bench (1024; 0: none)\n"
	       "      --bench-msgs N    batched 4 KiB UPDATE messages (16384; 0: none)\n"
	       "      --hold            start, print 'held', wait for SIGUSR1,\n"
	       "                        then expect the device revoked\n"
	       "      --cycles N        open/close N times\n"
	       "      --stress S        S seconds of numbered frames, each\n"
	       "                        checked, used indices watched\n"
	       "      --trap-stores     with --stress: a hardware write\n"
	       "                        watchpoint on each used idx (root)\n"
	       "      --shared          DMA region in a memfd mapped MAP_SHARED\n"
	       "                        (a VDUSE device needs it)\n"
	       "      --packed          packed virtqueues (the device must\n"
	       "                        offer RING_PACKED; no control vq)\n"
	       "      --dirty-log       VHOST_F_LOG_ALL: check that exactly the\n"
	       "                        pages the device wrote are logged\n"
	       "      --dirty-stop      the same, ending as QEMU 7.2 stops a\n"
	       "                        migrating device: reset, then the\n"
	       "                        queues' positions\n"
	       "      --hog S           load every CPU for S seconds (or until\n"
	       "                        SIGTERM/SIGINT/SIGUSR1)\n"
	       "  -v, --verbose\n", MIN_FRAME, MAX_FRAME);
}

static int parse_sizes(struct opts *o, char *s)
{
	char *tok, *end;
	unsigned long v;

	o->nsizes = 0;
	for (tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		v = strtoul(tok, &end, 0);
		if (*end || v < MIN_FRAME || v > MAX_FRAME ||
		    o->nsizes >= MAX_SIZES)
			return -1;
		o->sizes[o->nsizes++] = v;
	}
	return o->nsizes ? 0 : -1;
}

int main(int argc, char **argv)
{
	enum { O_NOCVQ = 256, O_PAUSE, O_BENCH, O_BTIME, O_BMAP, O_BMSGS,
	       O_HOLD, O_CYCLES, O_ROUNDS, O_PERSIST, O_STRESS, O_HOG, O_TRAP,
	       O_DIRTY, O_DSTOP, O_SHARED, O_PACKED };
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "sizes", required_argument, NULL, 's' },
		{ "mac", required_argument, NULL, 'm' },
		{ "foreign", required_argument, NULL, 'f' },
		{ "qsize", required_argument, NULL, 'q' },
		{ "burst", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-cvq", no_argument, NULL, O_NOCVQ },
		{ "pause", no_argument, NULL, O_PAUSE },
		{ "bench", no_argument, NULL, O_BENCH },
		{ "bench-time", required_argument, NULL, O_BTIME },
		{ "bench-map-mib", required_argument, NULL, O_BMAP },
		{ "bench-msgs", required_argument, NULL, O_BMSGS },
		{ "hold", no_argument, NULL, O_HOLD },
		{ "cycles", required_argument, NULL, O_CYCLES },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "persist", no_argument, NULL, O_PERSIST },
		{ "stress", required_argument, NULL, O_STRESS },
		{ "hog", required_argument, NULL, O_HOG },
		{ "trap-stores", no_argument, NULL, O_TRAP },
		{ "dirty-log", no_argument, NULL, O_DIRTY },
		{ "dirty-stop", no_argument, NULL, O_DSTOP },
		{ "shared", no_argument, NULL, O_SHARED },
		{ "packed", no_argument, NULL, O_PACKED },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	char defsizes[] = "60,64,128,1000,1500,4084";
	struct opts o = {
		.dev = "/dev/vhost-vdpa-0",
		.count = 64,
		.new_mac = { 0x02, 0x1d, 0xa0, 0x00, 0x00, 0x01 },
		.foreign_mac = { 0x02, 0xde, 0xad, 0xbe, 0xef, 0x01 },
		.qsize = 256,
		.burst = 32,
		.timeout_ms = 5000,
		.bench_secs = 3,
		.bench_map_mib = 1024,
		.bench_msgs = 16384,
		.rounds = 1,
		.use_cvq = true,
	};
	int c;

	parse_sizes(&o, defsizes);
	while ((c = getopt_long(argc, argv, "d:n:s:m:f:q:b:t:vh", lo,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dev = optarg;
			break;
		case 'n':
			o.count = strtoul(optarg, NULL, 0);
			break;
		case 's':
			if (parse_sizes(&o, optarg)) {
				err_msg("bad --sizes");
				return 2;
			}
			break;
		case 'm':
			if (parse_mac(optarg, o.new_mac)) {
				err_msg("bad --mac");
				return 2;
			}
			break;
		case 'f':
			if (parse_mac(optarg, o.foreign_mac)) {
				err_msg("bad --foreign");
				return 2;
			}
			break;
		case 'q':
			o.qsize = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			o.burst = strtoul(optarg, NULL, 0);
			break;
		case 't':
			o.timeout_ms = strtol(optarg, NULL, 0);
			break;
		case O_NOCVQ:
			o.use_cvq = false;
			break;
		case O_PAUSE:
			o.pause = true;
			break;
		case O_BENCH:
			o.bench = true;
			break;
		case O_BTIME:
			o.bench_secs = strtod(optarg, NULL);
			break;
		case O_BMAP:
			o.bench_map_mib = strtoul(optarg, NULL, 0);
			break;
		case O_BMSGS:
			o.bench_msgs = strtoul(optarg, NULL, 0);
			break;
		case O_HOLD:
			o.hold = true;
			break;
		case O_CYCLES:
			o.cycles = strtoul(optarg, NULL, 0);
			break;
		case O_ROUNDS:
			o.rounds = strtoul(optarg, NULL, 0);
			break;
		case O_PERSIST:
			o.persist = true;
			break;
		case O_STRESS:
			o.stress_secs = strtod(optarg, NULL);
			break;
		case O_HOG:
			o.hog_secs = strtod(optarg, NULL);
			break;
		case O_TRAP:
			o.trap_stores = true;
			break;
		case O_DIRTY:
			o.dirty_log = true;
			break;
		case O_DSTOP:
			o.dirty_log = true;
			o.dirty_stop = true;
			break;
		case O_SHARED:
			o.shared = true;
			break;
		case O_PACKED:
			o.packed = true;
			o.use_cvq = false;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (!o.rounds) {
		err_msg("--rounds must be at least 1");
		return 2;
	}
	if (!o.qsize || (o.qsize & (o.qsize - 1)) || o.qsize > 32768 ||
	    !o.burst || o.burst > o.qsize / 2) {
		err_msg("--qsize must be a power of two and --burst at most half of it");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	raise_memlock();
	if (o.hog_secs > 0)
		return run_hog(&o);
	if (o.cycles)
		return run_cycles(&o);
	if (o.stress_secs > 0)
		return run_stress(&o);
	if (o.hold)
		return run_hold(&o);
	if (o.bench)
		return run_bench(&o);
	if (o.dirty_log)
		return run_dirty(&o);
	return run_loop(&o);
}
