// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-blk: a minimal virtio-blk driver on /dev/vhost-vdpa-N, used to check
 * the block simulator (vdpasim_blk) without QEMU.
 *
 * Default mode runs every check below and prints one "ok"/"not ok" line
 * per check, then PASS or FAIL (exit status 0 or 1):
 *   config space, features, GET_ID, FLUSH; pseudo-random patterns written
 *   and read back (single and multi-segment, first and last sectors, a
 *   batch larger than the device's per-pass budget); WRITE_ZEROES and
 *   DISCARD with their flags; requests outside the disk, with sector
 *   arithmetic that would wrap, and malformed requests, each refused with
 *   the expected status while the data around them stays intact.
 *
 * --fill SEED / --verify SEED write / check a pattern over the first
 * --sectors N sectors (default 2048), so that a test can show that data
 * outlives a close of the fd; --verify 0 checks for zeros.  With --loop
 * they repeat until something fails (I/O running while a test deletes the
 * device).
 *
 * --bench SECS measures, for SECS seconds each, with as many requests in
 * flight as the kernel's virtio_blk has under fio at queue depth 16: 4 KiB
 * random reads and writes (IOPS) and 128 KiB sequential reads and writes
 * (MB/s; fio's 1 MiB requests as the device receives them) over the
 * whole disk, for make bench.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include "vdpa_user.h"

#define REGION_IOVA	0x40000000ULL
#define REGION_SIZE	(4U << 20)
#define BENCH_QD	16U		/* --bench: requests in flight */
#define BENCH_MAX	(128U << 10)	/* --bench: largest request */
#define BENCH_REGION	(REGION_SIZE + BENCH_QD * (BENCH_MAX + 4096U))
#define UNMAPPED_IOVA	(REGION_IOVA + 2 * REGION_SIZE)
#define QSIZE		256U
#define SECTOR		512U
#define XFER_MAX	(2U << 20)	/* largest data buffer of one request */
#define BATCH		48U		/* requests in flight, above the budget */
#define BATCH_SECTORS	8U
#define TIMEOUT_MS	60000		/* default wait for one completion */
#define STATUS_NONE	0xffU		/* the device did not write a status */
#define BLK_ID		"vdpa_blk_sim"
#define MIN_CAPACITY	16384U		/* sectors the checks use: 8 MiB */

/* Upstream's simulator: features, config values. */
#define SIM_FEATURES	0x308007646ULL
#define SIM_CONFIG_SIZE	72U
#define SIM_SIZE_MAX	4096U
#define SIM_SEG_MAX	32U

#define BACKEND_WANTED	(VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) | \
			 VDPA_BIT(VHOST_BACKEND_F_IOTLB_BATCH))

struct opts {
	const char *dev;
	uint64_t capacity;	/* expected, in sectors; 0: not checked */
	int mode;		/* 0 suite, 1 fill, 2 verify, 3 print pattern,
				 * 4 bench */
	int bench_secs;
	uint32_t seed;
	uint32_t sectors;
	int timeout_ms;
	bool loop;
	bool verbose;
	bool shared;		/* DMA region in a memfd, MAP_SHARED */
};

/* One request's memory in the DMA region. */
struct slot {
	struct virtio_blk_outhdr *hdr;
	uint64_t hdr_iova;
	uint8_t *status;
	uint64_t status_iova;
	uint8_t *data;
	uint64_t data_iova;
};

struct blk {
	struct vdpa_dev d;
	struct vdpa_vq *vq;
	uint64_t capacity;
	struct slot big;		/* XFER_MAX bytes of data */
	struct slot batch[BATCH];	/* BATCH_SECTORS sectors each */
	uint8_t *ref;			/* expected contents, XFER_MAX bytes */
	unsigned int failed;
	unsigned int passed;
	int timeout_ms;
	bool verbose;
};

static void check(struct blk *b, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(struct blk *b, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		b->passed++;
	else
		b->failed++;
	if (ok && !b->verbose)
		return;
	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void die(const char *what, int err)
{
	printf("not ok - %s: %s\nFAIL\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

/* xorshift32: the same pattern for the same seed and sector */
static void pattern(uint8_t *buf, uint64_t sector, uint32_t nsec, uint32_t seed)
{
	uint32_t i, x = 0;

	for (i = 0; i < nsec * SECTOR; i += 4) {
		if (i % SECTOR == 0)
			x = seed ^ (uint32_t)((sector + i / SECTOR) * 2654435761U) ^ 0x9e3779b9U;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		memcpy(buf + i, &x, 4);
	}
}

static int slot_alloc(struct blk *b, struct slot *s, uint32_t data_len)
{
	s->hdr = vdpa_mem_alloc(&b->d, sizeof(*s->hdr), 16, &s->hdr_iova);
	s->status = vdpa_mem_alloc(&b->d, 1, 1, &s->status_iova);
	s->data = vdpa_mem_alloc(&b->d, data_len, 64, &s->data_iova);
	return s->hdr && s->status && s->data ? 0 : -ENOMEM;
}

/* Put one request on the ring (not kicked). */
static int queue_req(struct blk *b, const struct vdpa_sg *sg, unsigned int out,
		     unsigned int in, void *cookie)
{
	int ret;

	ret = vdpa_vq_add_sg(b->vq, sg, out, in, cookie);
	return ret < 0 ? ret : 0;
}

/* Wait for one completion. */
static int reap(struct blk *b, struct vdpa_used *u)
{
	int ret;

	ret = vdpa_vq_wait(b->vq, b->timeout_ms);
	if (ret <= 0)
		return ret ? ret : -ETIMEDOUT;
	ret = vdpa_vq_get_used(b->vq, u);
	if (ret <= 0)
		return ret ? ret : -EPROTO;
	return 0;
}

/* Submit a chain and wait for it; *len gets the used length. */
static int run_sg(struct blk *b, const struct vdpa_sg *sg, unsigned int out,
		  unsigned int in, uint32_t *len)
{
	struct vdpa_used u;
	int ret;

	ret = queue_req(b, sg, out, in, b);
	if (!ret)
		ret = vdpa_vq_kick(b->vq);
	if (!ret)
		ret = reap(b, &u);
	if (ret)
		die("request", ret);
	if (u.cookie != b)
		die("completion of an unknown request", EPROTO);
	*len = u.len;
	return 0;
}

static void set_hdr(struct slot *s, uint32_t type, uint64_t sector)
{
	s->hdr->type = htole32(type);
	s->hdr->ioprio = 0;
	s->hdr->sector = htole64(sector);
	*s->status = STATUS_NONE;
}

/*
 * The usual layout: header | data (device-readable for OUT and the
 * DISCARD/WRITE_ZEROES range, writable for IN and GET_ID) | status.
 * Returns the status byte; *used gets the used length.
 */
static uint8_t do_req(struct blk *b, struct slot *s, uint32_t type,
		      uint64_t sector, uint32_t len, uint32_t *used)
{
	struct vdpa_sg sg[3];
	unsigned int n = 0, out = 1;
	uint32_t ulen;

	set_hdr(s, type, sector);
	sg[n++] = (struct vdpa_sg){ s->hdr_iova, sizeof(*s->hdr) };
	if (len) {
		sg[n++] = (struct vdpa_sg){ s->data_iova, len };
		if (type != VIRTIO_BLK_T_IN && type != VIRTIO_BLK_T_GET_ID)
			out++;
	}
	sg[n++] = (struct vdpa_sg){ s->status_iova, 1 };
	run_sg(b, sg, out, n - out, &ulen);
	if (used)
		*used = ulen;
	return *s->status;
}

static uint8_t rw(struct blk *b, uint32_t type, uint64_t sector, uint32_t nsec)
{
	return do_req(b, &b->big, type, sector, nsec * SECTOR, NULL);
}

/* DISCARD or WRITE_ZEROES of one range. */
static uint8_t dwz(struct blk *b, uint32_t type, uint64_t sector, uint32_t nsec,
		   uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes *r = (void *)b->big.data;

	r->sector = htole64(sector);
	r->num_sectors = htole32(nsec);
	r->flags = htole32(flags);
	return do_req(b, &b->big, type, 0, sizeof(*r), NULL);
}

/* Write the pattern for SEED at [sector, sector + nsec). */
static bool write_pattern(struct blk *b, uint64_t sector, uint32_t nsec,
			  uint32_t seed)
{
	pattern(b->big.data, sector, nsec, seed);
	return rw(b, VIRTIO_BLK_T_OUT, sector, nsec) == VIRTIO_BLK_S_OK;
}

/* Does [sector, sector + nsec) hold the pattern for SEED (0: zeros)? */
static bool read_matches(struct blk *b, uint64_t sector, uint32_t nsec,
			 uint32_t seed)
{
	uint8_t st;

	memset(b->big.data, 0xa5, nsec * SECTOR);
	st = rw(b, VIRTIO_BLK_T_IN, sector, nsec);
	if (st != VIRTIO_BLK_S_OK) {
		printf("# read of %u sectors at %" PRIu64 ": status %u\n",
		       nsec, sector, st);
		return false;
	}
	if (seed)
		pattern(b->ref, sector, nsec, seed);
	else
		memset(b->ref, 0, nsec * SECTOR);
	if (memcmp(b->big.data, b->ref, nsec * SECTOR)) {
		printf("# data mismatch in %u sectors at %" PRIu64 "\n", nsec,
		       sector);
		return false;
	}
	return true;
}

static int open_dev(struct blk *b, const struct opts *o)
{
	struct vdpa_dev *d = &b->d;
	uint64_t wanted;
	size_t region;
	int ret;

	ret = vdpa_open(d, o->dev);
	if (ret)
		die("open", ret);
	ret = vdpa_query(d);
	if (ret)
		die("query", ret);
	if (d->device_id != VIRTIO_ID_BLOCK) {
		printf("not ok - device id %u is not virtio-blk\nFAIL\n",
		       d->device_id);
		exit(1);
	}
	ret = vdpa_set_owner(d);
	if (!ret)
		ret = vdpa_set_backend_features(d, BACKEND_WANTED);
	if (ret)
		die("owner/backend features", ret);
	wanted = VDPA_BIT(VIRTIO_F_VERSION_1) |
		 VDPA_BIT(VIRTIO_F_ACCESS_PLATFORM) |
		 VDPA_BIT(VIRTIO_BLK_F_SIZE_MAX) |
		 VDPA_BIT(VIRTIO_BLK_F_SEG_MAX) |
		 VDPA_BIT(VIRTIO_BLK_F_BLK_SIZE) |
		 VDPA_BIT(VIRTIO_BLK_F_FLUSH) |
		 VDPA_BIT(VIRTIO_BLK_F_DISCARD) |
		 VDPA_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	ret = vdpa_negotiate(d, wanted);
	if (ret)
		die("feature negotiation", ret);
	ret = vdpa_get_config(d, 0, &b->capacity, sizeof(b->capacity));
	if (ret)
		die("GET_CONFIG", ret);
	b->capacity = le64toh(b->capacity);
	if (b->capacity < MIN_CAPACITY) {
		printf("not ok - capacity %" PRIu64 " sectors, at least %u needed\nFAIL\n",
		       b->capacity, MIN_CAPACITY);
		exit(1);
	}

	region = o->mode == 4 ? BENCH_REGION : REGION_SIZE;
	if (o->shared)
		ret = vdpa_mem_map_shared(d, region, REGION_IOVA, 0);
	else
		ret = vdpa_mem_map(d, region, REGION_IOVA, 0);
	if (ret)
		die(o->shared ? "IOTLB UPDATE of the shared DMA region" :
		    "IOTLB UPDATE of the DMA region (ulimit -l? shared memory for VDUSE: --shared)",
		    ret);
	ret = vdpa_vq_setup(d, 0, QSIZE, 16);
	if (ret)
		die("vq setup", ret);
	b->vq = &d->vq[0];
	ret = slot_alloc(b, &b->big, XFER_MAX);
	for (unsigned int i = 0; !ret && i < BATCH; i++)
		ret = slot_alloc(b, &b->batch[i], BATCH_SECTORS * SECTOR);
	if (ret)
		die("DMA region too small", ret);
	ret = vdpa_vq_enable(d, 0, true);
	if (!ret)
		ret = vdpa_driver_ok(d);
	if (ret)
		die("DRIVER_OK", ret);
	return 0;
}

static void check_config(struct blk *b, const struct opts *o)
{
	struct virtio_blk_config cfg;
	int ret;

	check(b, b->d.config_size == SIM_CONFIG_SIZE, "config size %u",
	      b->d.config_size);
	check(b, b->d.device_features == SIM_FEATURES,
	      "device features 0x%" PRIx64, b->d.device_features);
	check(b, b->d.nvqs == 1 && b->d.ngroups == 1 && b->d.nas == 1,
	      "1 vq, 1 group, 1 address space (%u, %u, %u)", b->d.nvqs,
	      b->d.ngroups, b->d.nas);
	memset(&cfg, 0, sizeof(cfg));
	ret = vdpa_get_config(&b->d, 0, &cfg, SIM_CONFIG_SIZE);
	check(b, !ret, "GET_CONFIG of the whole config space");
	check(b, le32toh(cfg.size_max) == SIM_SIZE_MAX &&
	      le32toh(cfg.seg_max) == SIM_SEG_MAX &&
	      le32toh(cfg.blk_size) == SECTOR &&
	      le16toh(cfg.num_queues) == 1 &&
	      le16toh(cfg.min_io_size) == 1 && le32toh(cfg.opt_io_size) == 1,
	      "size_max %u seg_max %u blk_size %u num_queues %u min_io %u opt_io %u",
	      le32toh(cfg.size_max), le32toh(cfg.seg_max),
	      le32toh(cfg.blk_size), le16toh(cfg.num_queues),
	      le16toh(cfg.min_io_size), le32toh(cfg.opt_io_size));
	check(b, le32toh(cfg.max_discard_sectors) == UINT32_MAX &&
	      le32toh(cfg.max_discard_seg) == 1 &&
	      le32toh(cfg.discard_sector_alignment) == SECTOR &&
	      le32toh(cfg.max_write_zeroes_sectors) == UINT32_MAX &&
	      le32toh(cfg.max_write_zeroes_seg) == 1,
	      "discard and write-zeroes limits");
	if (o->capacity)
		check(b, b->capacity == o->capacity,
		      "capacity %" PRIu64 " sectors, expected %" PRIu64,
		      b->capacity, o->capacity);
}

static void check_get_id_flush(struct blk *b)
{
	char id[VIRTIO_BLK_ID_BYTES] = BLK_ID;
	uint32_t used;
	uint8_t st;

	memset(b->big.data, 0xa5, VIRTIO_BLK_ID_BYTES);
	st = do_req(b, &b->big, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES,
		    &used);
	check(b, st == VIRTIO_BLK_S_OK && used == VIRTIO_BLK_ID_BYTES + 1 &&
	      !memcmp(b->big.data, id, sizeof(id)),
	      "GET_ID: status %u, used %u, id '%.20s'", st, used,
	      (char *)b->big.data);
	st = do_req(b, &b->big, VIRTIO_BLK_T_GET_ID, 0, 10, NULL);
	check(b, st == VIRTIO_BLK_S_IOERR, "GET_ID into 10 bytes: IOERR (%u)",
	      st);
	st = do_req(b, &b->big, VIRTIO_BLK_T_FLUSH, 0, 0, &used);
	check(b, st == VIRTIO_BLK_S_OK && used == 1, "FLUSH: status %u used %u",
	      st, used);
	st = do_req(b, &b->big, VIRTIO_BLK_T_FLUSH, 1, 0, NULL);
	check(b, st == VIRTIO_BLK_S_IOERR, "FLUSH with sector 1: IOERR (%u)",
	      st);
}

static void check_patterns(struct blk *b, uint32_t seed)
{
	uint64_t last = b->capacity - 1;
	uint64_t mid = b->capacity / 2 + 3;
	uint32_t n = XFER_MAX / SECTOR;

	check(b, read_matches(b, 100, 8, 0), "a new disk reads as zeros");
	check(b, write_pattern(b, 0, 1, seed) && read_matches(b, 0, 1, seed),
	      "sector 0 round trip");
	check(b, write_pattern(b, last, 1, seed) &&
	      read_matches(b, last, 1, seed), "last sector round trip");
	check(b, write_pattern(b, last - 127, 128, seed) &&
	      read_matches(b, last - 127, 128, seed),
	      "64 KiB ending at the last sector");
	check(b, write_pattern(b, mid, n, seed) && read_matches(b, mid, n, seed),
	      "%u KiB in one request", XFER_MAX >> 10);
	check(b, read_matches(b, mid + 1, 3, seed) &&
	      read_matches(b, 0, 1, seed),
	      "partial reads see the same data");
}

/* Data split over uneven segments, status sharing the data's descriptor. */
static void check_segments(struct blk *b, uint32_t seed)
{
	struct slot *s = &b->big;
	struct vdpa_sg sg[5];
	uint32_t used;

	pattern(s->data, 200, 4, seed);
	set_hdr(s, VIRTIO_BLK_T_OUT, 200);
	sg[0] = (struct vdpa_sg){ s->hdr_iova, 16 };
	sg[1] = (struct vdpa_sg){ s->data_iova, 100 };
	sg[2] = (struct vdpa_sg){ s->data_iova + 100, 0 };
	sg[3] = (struct vdpa_sg){ s->data_iova + 100, 1948 };
	sg[4] = (struct vdpa_sg){ s->status_iova, 1 };
	run_sg(b, sg, 4, 1, &used);
	check(b, *s->status == VIRTIO_BLK_S_OK && used == 1,
	      "OUT over 3 data segments: status %u used %u", *s->status, used);

	/* IN with the status byte at the end of the last data segment */
	memset(s->data, 0, 4 * SECTOR + 1);
	s->hdr->type = htole32(VIRTIO_BLK_T_IN);
	sg[1] = (struct vdpa_sg){ s->data_iova, 1000 };
	sg[2] = (struct vdpa_sg){ s->data_iova + 1000, 4 * SECTOR + 1 - 1000 };
	run_sg(b, sg, 1, 2, &used);
	pattern(b->ref, 200, 4, seed);
	check(b, s->data[4 * SECTOR] == VIRTIO_BLK_S_OK &&
	      used == 4 * SECTOR + 1 && !memcmp(s->data, b->ref, 4 * SECTOR),
	      "IN with the status in the data segment: status %u used %u",
	      s->data[4 * SECTOR], used);
}

/* More requests than one worker pass serves, kicked once. */
static void check_batch(struct blk *b, uint32_t seed)
{
	struct vdpa_sg sg[3];
	struct vdpa_used u;
	unsigned int i, ok = 0, done = 0;
	int ret = 0;

	for (i = 0; i < BATCH; i++) {
		struct slot *s = &b->batch[i];

		pattern(s->data, 4096 + i * BATCH_SECTORS, BATCH_SECTORS,
			seed + 1);
		set_hdr(s, VIRTIO_BLK_T_OUT, 4096 + i * BATCH_SECTORS);
		sg[0] = (struct vdpa_sg){ s->hdr_iova, 16 };
		sg[1] = (struct vdpa_sg){ s->data_iova, BATCH_SECTORS * SECTOR };
		sg[2] = (struct vdpa_sg){ s->status_iova, 1 };
		ret = queue_req(b, sg, 2, 1, s);
		if (ret)
			die("queueing the batch", ret);
	}
	ret = vdpa_vq_kick(b->vq);
	while (!ret && done < BATCH) {
		ret = reap(b, &u);
		if (ret)
			break;
		done++;
		if (*((struct slot *)u.cookie)->status == VIRTIO_BLK_S_OK)
			ok++;
	}
	check(b, !ret && ok == BATCH, "%u writes kicked once: %u done, %u ok",
	      BATCH, done, ok);
	check(b, read_matches(b, 4096, BATCH * BATCH_SECTORS, seed + 1),
	      "the batch reads back");
}

static void check_dwz(struct blk *b, uint32_t seed)
{
	uint8_t st;

	write_pattern(b, 1000, 32, seed);
	st = dwz(b, VIRTIO_BLK_T_WRITE_ZEROES, 1008, 8, 0);
	check(b, st == VIRTIO_BLK_S_OK && read_matches(b, 1008, 8, 0) &&
	      read_matches(b, 1000, 8, seed) && read_matches(b, 1016, 16, seed),
	      "WRITE_ZEROES zeroes its range only (%u)", st);
	st = dwz(b, VIRTIO_BLK_T_WRITE_ZEROES, 1016, 8,
		 VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	check(b, st == VIRTIO_BLK_S_OK && read_matches(b, 1016, 8, 0),
	      "WRITE_ZEROES with UNMAP (%u)", st);
	st = dwz(b, VIRTIO_BLK_T_WRITE_ZEROES, 1024, 8, 2);
	check(b, st == VIRTIO_BLK_S_UNSUPP && read_matches(b, 1024, 8, seed),
	      "WRITE_ZEROES with an unknown flag: UNSUPP (%u)", st);
	st = dwz(b, VIRTIO_BLK_T_DISCARD, 1000, 8, 0);
	check(b, st == VIRTIO_BLK_S_OK, "DISCARD (%u)", st);
	st = dwz(b, VIRTIO_BLK_T_DISCARD, 1000, 8, 1);
	check(b, st == VIRTIO_BLK_S_UNSUPP, "DISCARD with flags: UNSUPP (%u)",
	      st);
	st = dwz(b, VIRTIO_BLK_T_DISCARD, b->capacity - 4, 8, 0);
	check(b, st == VIRTIO_BLK_S_IOERR, "DISCARD past the end: IOERR (%u)",
	      st);
	st = dwz(b, VIRTIO_BLK_T_DISCARD, 1, UINT32_MAX, 0);
	check(b, st == VIRTIO_BLK_S_IOERR, "DISCARD of 2^32-1 sectors: IOERR (%u)",
	      st);
	st = dwz(b, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX - 1, 4, 0);
	check(b, st == VIRTIO_BLK_S_IOERR,
	      "WRITE_ZEROES whose end wraps 2^64: IOERR (%u)", st);
	st = dwz(b, VIRTIO_BLK_T_WRITE_ZEROES, b->capacity, 0, 0);
	check(b, st == VIRTIO_BLK_S_IOERR,
	      "WRITE_ZEROES of 0 sectors at the capacity: IOERR (%u)", st);
	/* two ranges: max_write_zeroes_seg is 1 */
	memmove(b->big.data + 16, b->big.data, 16);
	st = do_req(b, &b->big, VIRTIO_BLK_T_WRITE_ZEROES, 0, 32, NULL);
	check(b, st == VIRTIO_BLK_S_IOERR, "WRITE_ZEROES of 2 ranges: IOERR (%u)",
	      st);
}

static void check_out_of_range(struct blk *b, uint32_t seed)
{
	uint64_t cap = b->capacity;
	uint8_t st;

	write_pattern(b, cap - 1, 1, seed);
	st = rw(b, VIRTIO_BLK_T_IN, cap, 1);
	check(b, st == VIRTIO_BLK_S_IOERR, "IN at the capacity: IOERR (%u)", st);
	st = rw(b, VIRTIO_BLK_T_IN, cap - 1, 2);
	check(b, st == VIRTIO_BLK_S_IOERR, "IN across the end: IOERR (%u)", st);
	st = rw(b, VIRTIO_BLK_T_IN, UINT64_MAX, 1);
	check(b, st == VIRTIO_BLK_S_IOERR, "IN at sector 2^64-1: IOERR (%u)", st);
	st = rw(b, VIRTIO_BLK_T_IN, UINT64_MAX >> 9, 1);
	check(b, st == VIRTIO_BLK_S_IOERR,
	      "IN whose byte offset wraps 2^64: IOERR (%u)", st);
	st = rw(b, VIRTIO_BLK_T_IN, cap, 0);
	check(b, st == VIRTIO_BLK_S_IOERR,
	      "IN of 0 sectors at the capacity: IOERR (%u)", st);
	memset(b->big.data, 0x5a, 2 * SECTOR);
	st = rw(b, VIRTIO_BLK_T_OUT, cap - 1, 2);
	check(b, st == VIRTIO_BLK_S_IOERR && read_matches(b, cap - 1, 1, seed),
	      "OUT across the end: IOERR (%u), last sector unchanged", st);
	st = rw(b, VIRTIO_BLK_T_OUT, UINT64_MAX - 1, 4);
	check(b, st == VIRTIO_BLK_S_IOERR,
	      "OUT whose end wraps 2^64: IOERR (%u)", st);
}

static void check_malformed(struct blk *b, uint32_t seed)
{
	struct slot *s = &b->big;
	struct vdpa_sg sg[3];
	uint32_t used;
	uint8_t st;

	write_pattern(b, 300, 2, seed);
	st = do_req(b, s, VIRTIO_BLK_T_IN, 300, 700, NULL);
	check(b, st == VIRTIO_BLK_S_IOERR,
	      "IN of 700 bytes (not whole sectors): IOERR (%u)", st);
	memset(s->data, 0x5a, 700);
	st = do_req(b, s, VIRTIO_BLK_T_OUT, 300, 700, NULL);
	check(b, st == VIRTIO_BLK_S_IOERR && read_matches(b, 300, 2, seed),
	      "OUT of 700 bytes: IOERR (%u), data unchanged", st);
	st = do_req(b, s, 2 /* SCSI_CMD */, 0, 0, NULL);
	check(b, st == VIRTIO_BLK_S_UNSUPP, "SCSI_CMD: UNSUPP (%u)", st);
	st = do_req(b, s, 14 /* SECURE_ERASE */, 0, 16, NULL);
	check(b, st == VIRTIO_BLK_S_UNSUPP, "SECURE_ERASE: UNSUPP (%u)", st);
	st = do_req(b, s, 0x80000000U | VIRTIO_BLK_T_OUT, 0, 0, NULL);
	check(b, st == VIRTIO_BLK_S_UNSUPP, "legacy BARRIER flag: UNSUPP (%u)",
	      st);

	/* header of 8 bytes only */
	set_hdr(s, VIRTIO_BLK_T_IN, 0);
	sg[0] = (struct vdpa_sg){ s->hdr_iova, 8 };
	sg[1] = (struct vdpa_sg){ s->status_iova, 1 };
	run_sg(b, sg, 1, 1, &used);
	check(b, *s->status == VIRTIO_BLK_S_IOERR && used == 1,
	      "8-byte header: IOERR (%u), used %u", *s->status, used);

	/* data outside every mapping: the request fails, the queue does not */
	set_hdr(s, VIRTIO_BLK_T_OUT, 300);
	sg[0] = (struct vdpa_sg){ s->hdr_iova, 16 };
	sg[1] = (struct vdpa_sg){ UNMAPPED_IOVA, SECTOR };
	sg[2] = (struct vdpa_sg){ s->status_iova, 1 };
	run_sg(b, sg, 2, 1, &used);
	check(b, *s->status == VIRTIO_BLK_S_IOERR && read_matches(b, 300, 2, seed),
	      "OUT from an unmapped IOVA: IOERR (%u), data unchanged", *s->status);
	set_hdr(s, VIRTIO_BLK_T_IN, 300);
	run_sg(b, sg, 1, 2, &used);
	check(b, *s->status == VIRTIO_BLK_S_IOERR,
	      "IN into an unmapped IOVA: IOERR (%u)", *s->status);

	/* nothing writable: completed without a status, the ring goes on */
	set_hdr(s, VIRTIO_BLK_T_FLUSH, 0);
	sg[0] = (struct vdpa_sg){ s->hdr_iova, 16 };
	run_sg(b, sg, 1, 0, &used);
	check(b, used == 0, "request without a status byte: used %u", used);
	check(b, read_matches(b, 300, 2, seed), "the queue still works");
}

/*
 * Each completion is signalled on the call eventfd (the driver never sets
 * VRING_AVAIL_F_NO_INTERRUPT): wait for the eventfd alone, not the ring.
 */
static void check_interrupts(struct blk *b)
{
	struct pollfd pfd = { .fd = b->vq->call_fd, .events = POLLIN };
	struct vdpa_sg sg[2];
	struct vdpa_used u;
	unsigned int i, got = 0;
	uint64_t cnt;
	int ret = 0;

	for (i = 0; !ret && i < 8; i++) {
		/* drain what earlier completions left */
		while (read(b->vq->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
			;
		set_hdr(&b->big, VIRTIO_BLK_T_FLUSH, 0);
		sg[0] = (struct vdpa_sg){ b->big.hdr_iova, 16 };
		sg[1] = (struct vdpa_sg){ b->big.status_iova, 1 };
		ret = queue_req(b, sg, 1, 1, b);
		if (!ret)
			ret = vdpa_vq_kick(b->vq);
		if (!ret && poll(&pfd, 1, b->timeout_ms) == 1 &&
		    read(b->vq->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
			got++;
		if (!ret)
			ret = reap(b, &u);
	}
	check(b, !ret && got == 8, "8 completions, 8 interrupts (%u)", got);
}

static int run_suite(struct blk *b, const struct opts *o)
{
	uint32_t seed = o->seed ? o->seed : 0x5eed;

	check_config(b, o);
	check_get_id_flush(b);
	check_interrupts(b);
	check_patterns(b, seed);
	check_segments(b, seed);
	check_batch(b, seed);
	check_dwz(b, seed);
	check_out_of_range(b, seed);
	check_malformed(b, seed);
	printf("# %u checks passed, %u failed; capacity %" PRIu64
	       " sectors; %" PRIu64 " kicks, %" PRIu64 " interrupts\n",
	       b->passed, b->failed, b->capacity, b->vq->kicks, b->vq->calls);
	return b->failed ? 1 : 0;
}

/* --fill / --verify over the first o->sectors sectors. */
static int run_fill_verify(struct blk *b, const struct opts *o)
{
	uint32_t chunk = XFER_MAX / SECTOR, n;
	uint64_t s;
	bool ok = true;

	printf("# device id %u, config: capacity %" PRIu64 " sectors\n",
	       b->d.device_id, b->capacity);
	if (o->sectors > b->capacity) {
		printf("not ok - %u sectors do not fit in %" PRIu64 "\n",
		       o->sectors, b->capacity);
		return 1;
	}
	do {
		for (s = 0; ok && s < o->sectors; s += n) {
			n = o->sectors - s < chunk ? o->sectors - s : chunk;
			if (o->mode == 1)
				ok = write_pattern(b, s, n, o->seed);
			else
				ok = read_matches(b, s, n, o->seed);
		}
	} while (ok && o->loop);
	check(b, ok, "%s %u sectors, seed %u",
	      o->mode == 1 ? "fill" : "verify", o->sectors, o->seed);
	if (o->mode == 1)
		check(b, do_req(b, &b->big, VIRTIO_BLK_T_FLUSH, 0, 0, NULL) ==
		      VIRTIO_BLK_S_OK, "flush");
	return b->failed ? 1 : 0;
}

/*
 * --bench: one kind of request, as the kernel's virtio_blk issues fio's:
 * segments of at most the device's size_max (4 KiB), at most seg_max (32)
 * of them, so a 1 MiB read arrives as 128 KiB requests.  Without indirect
 * descriptors, which the simulator does not offer, a request takes one
 * descriptor per segment plus two: the queue holds at most BENCH_QD of
 * the 4 KiB ones and QSIZE / 34 = 7 of the 128 KiB ones.
 */
struct bench_job {
	const char *name;
	uint32_t type;		/* VIRTIO_BLK_T_IN or _OUT */
	uint32_t segs;		/* 4 KiB segments per request */
	bool random;		/* random aligned offsets, else sequential */
};

#define BENCH_SEG	4096U
#define BENCH_SEGS_MAX	SIM_SEG_MAX

static unsigned int bench_qd(const struct bench_job *j)
{
	unsigned int qd = QSIZE / (j->segs + 2);

	return qd < BENCH_QD ? qd : BENCH_QD;
}

/* The first sector of the next request of @j. */
static uint64_t bench_sector(const struct blk *b, const struct bench_job *j,
			     uint64_t *pos, uint32_t *rng)
{
	uint64_t per = j->segs * BENCH_SEG / SECTOR;
	uint64_t units = b->capacity / per, u;

	if (j->random) {
		*rng ^= *rng << 13;
		*rng ^= *rng >> 17;
		*rng ^= *rng << 5;
		u = *rng % units;
	} else {
		u = (*pos)++ % units;
	}
	return u * per;
}

static void bench_queue(struct blk *b, struct slot *s,
			const struct bench_job *j, uint64_t sector)
{
	struct vdpa_sg sg[BENCH_SEGS_MAX + 2];
	unsigned int i, out = j->type == VIRTIO_BLK_T_OUT ? j->segs + 1 : 1;
	int ret;

	set_hdr(s, j->type, sector);
	sg[0] = (struct vdpa_sg){ s->hdr_iova, sizeof(*s->hdr) };
	for (i = 0; i < j->segs; i++)
		sg[1 + i] = (struct vdpa_sg){ s->data_iova + i * BENCH_SEG,
					      BENCH_SEG };
	sg[1 + j->segs] = (struct vdpa_sg){ s->status_iova, 1 };
	ret = queue_req(b, sg, out, j->segs + 2 - out, s);
	if (ret)
		die("bench: queueing a request", ret);
}

/*
 * Keep bench_qd() requests of @j in flight for @secs seconds (each one
 * completed is queued again, one kick per batch of completions), then
 * let the last ones complete.  Prints the rate; false if a request failed.
 */
static bool bench_job(struct blk *b, struct slot *slots,
		      const struct bench_job *j, int secs)
{
	uint64_t t0, end, now, pos = 0, done = 0, errors = 0;
	unsigned int i, inflight = 0, queued, qd = bench_qd(j);
	uint32_t rng = 0x2545f491U;
	struct vdpa_used u;
	double elapsed;
	int ret;

	t0 = vdpa_now_ns();
	end = t0 + (uint64_t)secs * 1000000000ULL;
	for (i = 0; i < qd; i++, inflight++)
		bench_queue(b, &slots[i], j, bench_sector(b, j, &pos, &rng));
	ret = vdpa_vq_kick(b->vq);
	while (!ret && inflight) {
		ret = vdpa_vq_wait(b->vq, b->timeout_ms);
		if (ret <= 0) {
			ret = ret ? ret : -ETIMEDOUT;
			break;
		}
		now = vdpa_now_ns();
		queued = 0;
		while ((ret = vdpa_vq_get_used(b->vq, &u)) > 0) {
			struct slot *s = u.cookie;

			inflight--;
			done++;
			if (*s->status != VIRTIO_BLK_S_OK)
				errors++;
			if (now < end) {
				bench_queue(b, s, j, bench_sector(b, j, &pos, &rng));
				inflight++;
				queued++;
			}
		}
		if (!ret && queued)
			ret = vdpa_vq_kick(b->vq);
	}
	if (ret)
		die("bench: waiting for completions", ret);
	elapsed = (vdpa_now_ns() - t0) / 1e9;
	printf("bench: %s, QD%u: %.0f IOPS, %.1f MB/s (%" PRIu64 " requests, %" PRIu64 " failed, %.2f s)\n",
	       j->name, qd, done / elapsed,
	       done * (double)j->segs * BENCH_SEG / elapsed / 1e6, done, errors,
	       elapsed);
	return !errors;
}

/* --bench SECS: the fio jobs of make bench's blk figures, as they arrive. */
static int run_bench(struct blk *b, const struct opts *o)
{
	static const struct bench_job jobs[] = {
		{ "4 KiB random read", VIRTIO_BLK_T_IN, 1, true },
		{ "4 KiB random write", VIRTIO_BLK_T_OUT, 1, true },
		{ "128 KiB sequential read", VIRTIO_BLK_T_IN, BENCH_SEGS_MAX, false },
		{ "128 KiB sequential write", VIRTIO_BLK_T_OUT, BENCH_SEGS_MAX, false },
	};
	static struct slot slots[BENCH_QD];
	unsigned int i;

	printf("# device id %u, config: capacity %" PRIu64 " sectors\n",
	       b->d.device_id, b->capacity);
	for (i = 0; i < BENCH_QD; i++)
		if (slot_alloc(b, &slots[i], BENCH_MAX))
			die("bench: DMA region too small", ENOMEM);
	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		check(b, bench_job(b, slots, &jobs[i], o->bench_secs),
		      "%s: every request completed with VIRTIO_BLK_S_OK",
		      jobs[i].name);
	return b->failed ? 1 : 0;
}

/* --pattern: what --fill SEED writes, to compare with an image file. */
static int print_pattern(struct blk *b, const struct opts *o)
{
	uint32_t chunk = XFER_MAX / SECTOR, n;
	uint64_t s;

	for (s = 0; s < o->sectors; s += n) {
		n = o->sectors - s < chunk ? o->sectors - s : chunk;
		pattern(b->ref, s, n, o->seed);
		if (fwrite(b->ref, SECTOR, n, stdout) != n)
			return 1;
	}
	return fflush(stdout) ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vdpa-blk [-d /dev/vhost-vdpa-N] [--capacity SECTORS] [-v]\n"
		"       vdpa-blk [-d DEV] --fill SEED|--verify SEED [--sectors N] [--loop] [--shared]\n"
		"       vdpa-blk --pattern SEED [--sectors N]\n"
		"       vdpa-blk [-d DEV] --bench SECS [--shared]\n"
		"  default: run every check against the block simulator\n"
		"  --capacity N   also check that the disk has N sectors\n"
		"  --fill SEED    write a pattern over the first N sectors\n"
		"  --verify SEED  check it (SEED 0: zeros)\n"
		"  --loop         repeat the fill or verify until something fails\n"
		"  --shared       DMA region in a memfd mapped MAP_SHARED (VDUSE)\n"
		"  --pattern SEED print the pattern of the first N sectors, no device\n"
		"  --bench SECS   IOPS and MB/s of 4 KiB random and 128 KiB sequential\n"
		"                 reads and writes, SECS seconds each\n"
		"  --timeout MS   wait at most MS for a completion (default 60000)\n"
		"  -v             print passing checks too\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "fill", required_argument, NULL, 'F' },
		{ "verify", required_argument, NULL, 'V' },
		{ "sectors", required_argument, NULL, 'n' },
		{ "loop", no_argument, NULL, 'l' },
		{ "shared", no_argument, NULL, 's' },
		{ "pattern", required_argument, NULL, 'P' },
		{ "bench", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = {
		.dev = "/dev/vhost-vdpa-0",
		.sectors = 2048,
		.timeout_ms = TIMEOUT_MS,
	};
	static struct blk b;
	int c, ret;

	while ((c = getopt_long(argc, argv, "d:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.dev = optarg;
			break;
		case 'c':
			o.capacity = strtoull(optarg, NULL, 0);
			break;
		case 'F':
		case 'V':
			o.mode = c == 'F' ? 1 : 2;
			o.seed = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			o.sectors = strtoul(optarg, NULL, 0);
			break;
		case 'l':
			o.loop = true;
			break;
		case 's':
			o.shared = true;
			break;
		case 'P':
			o.mode = 3;
			o.seed = strtoul(optarg, NULL, 0);
			break;
		case 'B':
			o.mode = 4;
			o.bench_secs = atoi(optarg);
			break;
		case 't':
			o.timeout_ms = atoi(optarg);
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o.mode == 1 && !o.seed) ||
	    (o.mode == 4 && o.bench_secs <= 0) ||
	    o.timeout_ms <= 0 || (o.loop && !o.mode)) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	b.verbose = o.verbose;
	b.timeout_ms = o.timeout_ms;
	b.ref = malloc(XFER_MAX);
	if (!b.ref)
		die("malloc", ENOMEM);
	if (o.mode == 3)
		return print_pattern(&b, &o);

	open_dev(&b, &o);
	if (o.mode == 4)
		ret = run_bench(&b, &o);
	else if (o.mode)
		ret = run_fill_verify(&b, &o);
	else
		ret = run_suite(&b, &o);
	vdpa_close(&b.d);
	free(b.ref);
	printf("%s\n", ret ? "FAIL" : "PASS");
	return ret;
}
