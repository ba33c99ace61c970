// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit tests of the vdpa_sim split ring engine and IOTLB copies.
 *
 * sim_ring.c and sim_iotlb.c are compiled unchanged against the stand-ins
 * in shim/: "physical memory" is one malloc'd buffer, the IOTLB a sorted
 * array.  The tests play the driver by writing rings straight into that
 * memory, then check what the engine fetched, copied and published.  Run
 * under ASan/UBSan by default; "make valgrind" runs the same under valgrind.
 *
 * Usage: ring_test [fuzz-seed]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/errno.h>
#include <linux/mm.h>

#include <linux/vhost_iotlb.h>
#include <uapi/linux/virtio_ring.h>
#include "../../../drivers/vdpa/vdpa_sim/sim_iotlb.h"
#include "../../../drivers/vdpa/vdpa_sim/sim_ring.h"
#include "shim_ctl.h"

#define MEM_PAGES	1024UL
#define MEM_SIZE	(MEM_PAGES * PAGE_SIZE)
/* IOVA of physical address 0 in the default identity-plus-offset map. */
#define IOVA_OFF	0x7000000000ULL
#define IOVA(pa)	((u64)(pa) + IOVA_OFF)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Default ring placement (physical addresses). */
#define DESC_PA		0x10000UL	/* up to 32768 * 16 bytes */
#define AVAIL_PA	0x90000UL	/* up to 4 + 32768 * 2 + 2 */
#define USED_PA		0xb0000UL	/* up to 4 + 32768 * 8 + 2 */
#define INDIR_PA	0x100000UL
#define DATA_PA		0x110000UL	/* up to MEM_SIZE */

static struct vhost_iotlb tlb;
static unsigned int failures, checks;

#define CHECK(cond) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "%s:%d: %s: check failed: %s\n",	\
			__FILE__, __LINE__, __func__, #cond);		\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	checks++;							\
	if (_a != _b) {							\
		failures++;						\
		fprintf(stderr, "%s:%d: %s: %s == %lld, expected %lld\n",\
			__FILE__, __LINE__, __func__, #a, _a, _b);	\
	}								\
} while (0)

/* ---- the driver side ---------------------------------------------- */

static void put16(u64 pa, u16 v)
{
	memcpy(shim_mem + pa, &v, sizeof(v));
}

static void put32(u64 pa, u32 v)
{
	memcpy(shim_mem + pa, &v, sizeof(v));
}

static void put64(u64 pa, u64 v)
{
	memcpy(shim_mem + pa, &v, sizeof(v));
}

static u16 get16(u64 pa)
{
	u16 v;

	memcpy(&v, shim_mem + pa, sizeof(v));
	return v;
}

static u32 get32(u64 pa)
{
	u32 v;

	memcpy(&v, shim_mem + pa, sizeof(v));
	return v;
}

struct drv {
	u32 num;
	u16 avail_idx;
};

/* Descriptor i of the table at physical address table (IOVA in addr). */
static void set_desc(u64 table, u32 i, u64 addr, u32 len, u16 flags,
		     u16 next)
{
	u64 pa = table + 16ULL * i;

	put64(pa, addr);
	put32(pa + 8, len);
	put16(pa + 12, flags);
	put16(pa + 14, next);
}

static void publish(struct drv *d, u16 head)
{
	put16(AVAIL_PA + 4 + 2 * (d->avail_idx & (d->num - 1)), head);
	d->avail_idx++;
	put16(AVAIL_PA + 2, d->avail_idx);
}

static u16 used_idx(void)
{
	return get16(USED_PA + 2);
}

static u32 used_id(struct drv *d, u16 idx)
{
	return get32(USED_PA + 4 + 8 * (idx & (d->num - 1)));
}

static u32 used_len(struct drv *d, u16 idx)
{
	return get32(USED_PA + 8 + 8 * (idx & (d->num - 1)));
}

static void set_used_event(struct drv *d, u16 v)
{
	put16(AVAIL_PA + 4 + 2 * d->num, v);
}

static u16 avail_event(struct drv *d)
{
	return get16(USED_PA + 4 + 8 * d->num);
}

/* Fill the data area with a known pattern. */
static void fill_data(void)
{
	unsigned long i;

	for (i = DATA_PA; i < MEM_SIZE; i++)
		shim_mem[i] = (unsigned char)(i * 7 + 3);
}

/* Identity-plus-offset RW map of memory, ring of size num at base. */
static void setup_ring(struct vdpasim_ring *r, struct drv *d, u32 num,
		       u16 base)
{
	shim_iotlb_reset(&tlb);
	shim_iotlb_add(&tlb, IOVA(0), IOVA(MEM_SIZE - 1), 0, VHOST_MAP_RW);
	shim_access_hook = NULL;
	memset(r, 0, sizeof(*r));
	r->num = num;
	r->desc_addr = IOVA(DESC_PA);
	r->avail_addr = IOVA(AVAIL_PA);
	r->used_addr = IOVA(USED_PA);
	r->iotlb = &tlb;
	vdpasim_ring_init(r, base);
	d->num = num;
	d->avail_idx = base;
	put16(AVAIL_PA + 2, base);
	put16(USED_PA + 2, base);
}

/* The same with the ring area zeroed. */
static void setup(struct vdpasim_ring *r, struct drv *d, u32 num, u16 base)
{
	memset(shim_mem, 0, DATA_PA);
	setup_ring(r, d, num, base);
}

static struct vdpasim_chain chain;

/* Fetch expecting a malformed ring whose log line mentions reason. */
static void expect_broken(struct vdpasim_ring *r, const char *reason, int line)
{
	unsigned long logs = shim_log_count;
	int ret;

	shim_log_quiet = true;
	ret = vdpasim_ring_fetch(r, &chain, "q7");
	shim_log_quiet = false;
	checks++;
	if (ret >= 0 || !r->broken || shim_log_count != logs + 1 ||
	    !strstr(shim_last_log, "q7: ") || !strstr(shim_last_log, reason)) {
		failures++;
		fprintf(stderr, "line %d: expected broken (%s): ret %d broken %d log \"%s\"\n",
			line, reason, ret, r->broken,
			shim_log_count != logs ? shim_last_log : "");
	}
	/* Broken stays broken, silently. */
	logs = shim_log_count;
	CHECK_EQ(vdpasim_ring_fetch(r, &chain, "q7"), -EIO);
	CHECK_EQ(vdpasim_ring_push(r, 0, 0), -EIO);
	CHECK(!vdpasim_ring_should_notify(r));
	CHECK_EQ(shim_log_count, logs);
}

#define EXPECT_BROKEN(r, reason) expect_broken(r, reason, __LINE__)

/* ---- IOTLB copies ---------------------------------------------------- */

static void test_iotlb_basic(void)
{
	unsigned char buf[3 * 4096 + 10], ref[sizeof(buf)];
	unsigned int i;

	memset(shim_mem, 0, MEM_SIZE);
	for (i = 0; i < MEM_SIZE; i++)
		shim_mem[i] = (unsigned char)(i ^ (i >> 8));
	shim_iotlb_reset(&tlb);
	/* IOVA 0x100000.. : three entries, contiguous in IOVA, scattered in PA */
	shim_iotlb_add(&tlb, 0x100000, 0x100fff, 5 * PAGE_SIZE, VHOST_MAP_RW);
	shim_iotlb_add(&tlb, 0x101000, 0x102fff, 20 * PAGE_SIZE, VHOST_MAP_RW);
	shim_iotlb_add(&tlb, 0x103000, 0x103fff, 2 * PAGE_SIZE, VHOST_MAP_RO);
	shim_iotlb_add(&tlb, 0x104000, 0x104fff, 9 * PAGE_SIZE, VHOST_MAP_WO);
	/* hole at 0x105000 */
	shim_iotlb_add(&tlb, 0x106000, 0x106fff, 30 * PAGE_SIZE, VHOST_MAP_RW);
	/* top of the IOVA space */
	shim_iotlb_add(&tlb, ~0ULL - 0xfff, ~0ULL, 40 * PAGE_SIZE,
		       VHOST_MAP_RW);
	/* PA beyond the harness's memory */
	shim_iotlb_add(&tlb, 0x200000, 0x200fff, MEM_SIZE, VHOST_MAP_RW);

	/* Crosses entries and pages: one tree search, then next. */
	tlb.first_calls = 0;
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x100ff0, buf, sizeof(buf)), 0);
	CHECK_EQ(tlb.first_calls, 1);
	CHECK_EQ(shim_kmap_count, 0);
	memcpy(ref, shim_mem + 5 * PAGE_SIZE + 0xff0, 16);
	memcpy(ref + 16, shim_mem + 20 * PAGE_SIZE, 2 * 4096);
	memcpy(ref + 16 + 2 * 4096, shim_mem + 2 * PAGE_SIZE, 4096 - 6);
	CHECK(!memcmp(buf, ref, sizeof(buf)));

	/* Write across an RW/RW boundary, read it back. */
	for (i = 0; i < 100; i++)
		buf[i] = (unsigned char)(200 - i);
	CHECK_EQ(vdpasim_iotlb_write(&tlb, NULL, 0x100fc0, buf, 100), 0);
	CHECK(!memcmp(shim_mem + 5 * PAGE_SIZE + 0xfc0, buf, 64));
	CHECK(!memcmp(shim_mem + 20 * PAGE_SIZE, buf + 64, 36));
	memset(ref, 0, 100);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x100fc0, ref, 100), 0);
	CHECK(!memcmp(ref, buf, 100));

	/* Permissions. */
	CHECK_EQ(vdpasim_iotlb_write(&tlb, NULL, 0x103010, buf, 4), -EACCES);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x104010, buf, 4), -EACCES);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x103010, buf, 4), 0);
	CHECK_EQ(vdpasim_iotlb_write(&tlb, NULL, 0x104010, buf, 4), 0);
	/* RW into RO partway. */
	CHECK_EQ(vdpasim_iotlb_write(&tlb, NULL, 0x102ff0, buf, 32), -EACCES);

	/* Holes: before, between, after, partial overlap at both ends. */
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0xff000, buf, 4), -EFAULT);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0xffffe, buf, 4), -EFAULT);
	CHECK_EQ(vdpasim_iotlb_write(&tlb, NULL, 0x104ffe, buf, 4), -EFAULT);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x105000, buf, 1), -EFAULT);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x106ffe, buf, 4), -EFAULT);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x106ffc, buf, 4), 0);
	/* A hole inside the range, with an entry after it. */
	shim_iotlb_add(&tlb, 0x300000, 0x300fff, 50 * PAGE_SIZE, VHOST_MAP_RW);
	shim_iotlb_add(&tlb, 0x302000, 0x302fff, 52 * PAGE_SIZE, VHOST_MAP_RW);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x300ff0, buf, 0x1020), -EFAULT);
	CHECK_EQ(vdpasim_iotlb_write(&tlb, NULL, 0x300ff0, buf, 0x1020), -EFAULT);

	/* Zero length always succeeds, even unmapped. */
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x105000, buf, 0), 0);

	/* Top of the space: the last byte is fine, wrapping is not. */
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, ~0ULL, buf, 1), 0);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, ~0ULL - 3, buf, 4), 0);
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, ~0ULL, buf, 2), -EOVERFLOW);
	CHECK_EQ(vdpasim_iotlb_write(&tlb, NULL, ~0ULL - 3, buf, 5), -EOVERFLOW);

	/* An entry pointing outside memory is refused, not dereferenced. */
	CHECK_EQ(vdpasim_iotlb_read(&tlb, NULL, 0x200000, buf, 4), -EFAULT);
	CHECK_EQ(shim_kmap_count, 0);
	fill_data();
}

/* ---- chains ------------------------------------------------------- */

static void test_simple_chain(void)
{
	struct vdpasim_ring r;
	struct drv d;
	unsigned char buf[64], in[40];
	unsigned int i;

	setup(&r, &d, 8, 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 0);

	set_desc(DESC_PA, 3, IOVA(DATA_PA + 100), 10, VRING_DESC_F_NEXT, 5);
	set_desc(DESC_PA, 5, IOVA(DATA_PA + 4090), 20, VRING_DESC_F_NEXT, 6);
	set_desc(DESC_PA, 6, IOVA(DATA_PA + 0x3000), 0,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_PA, 1, IOVA(DATA_PA + 0x2000), 16,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	set_desc(DESC_PA, 0, IOVA(DATA_PA + 0x2ffc), 24, VRING_DESC_F_WRITE, 0);
	publish(&d, 3);

	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	CHECK_EQ(chain.head, 3);
	CHECK_EQ(chain.n_out, 2);
	CHECK_EQ(chain.n_in, 3);
	CHECK_EQ(chain.out_len, 30);
	CHECK_EQ(chain.in_len, 40);
	CHECK_EQ(r.last_avail_idx, 1);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 0);

	/* Read everything, then from inside the second segment, then past. */
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 0, buf, sizeof(buf)), 30);
	CHECK(!memcmp(buf, shim_mem + DATA_PA + 100, 10));
	CHECK(!memcmp(buf + 10, shim_mem + DATA_PA + 4090, 20));
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 12, buf, 5), 5);
	CHECK(!memcmp(buf, shim_mem + DATA_PA + 4092, 5));
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 10, buf, 20), 20);
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 30, buf, 1), 0);
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 1000, buf, 1), 0);
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 0, buf, 0), 0);

	/* Write: the zero-length segment is skipped. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(0xa0 + i);
	CHECK_EQ(vdpasim_chain_write(&r, &chain, 0, in, sizeof(in)), 40);
	CHECK(!memcmp(shim_mem + DATA_PA + 0x2000, in, 16));
	CHECK(!memcmp(shim_mem + DATA_PA + 0x2ffc, in + 16, 24));
	/* The last byte alone (a block status byte). */
	CHECK_EQ(vdpasim_chain_write(&r, &chain, chain.in_len - 1, "\x5a", 1),
		 1);
	CHECK_EQ(shim_mem[DATA_PA + 0x2ffc + 23], 0x5a);
	CHECK_EQ(vdpasim_chain_write(&r, &chain, 39, in, 10), 1);
	CHECK_EQ(vdpasim_chain_write(&r, &chain, 40, in, 10), 0);

	CHECK_EQ(vdpasim_ring_push(&r, chain.head, 40), 0);
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(used_id(&d, 0), 3);
	CHECK_EQ(used_len(&d, 0), 40);
	CHECK(!r.broken);
}

static void test_chain_copy_errors(void)
{
	struct vdpasim_ring r;
	struct drv d;
	unsigned char buf[32] = { 0 };

	setup(&r, &d, 4, 0);
	shim_iotlb_add(&tlb, 0x1000, 0x1fff, DATA_PA, VHOST_MAP_RO);
	/* readable: mapped, then unmapped; writable: read-only memory */
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 8, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_PA, 1, 0x5000, 8, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_PA, 2, 0x1000, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		 3);
	set_desc(DESC_PA, 3, ~0ULL - 3, 8, VRING_DESC_F_WRITE, 0);
	publish(&d, 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	/* Data-buffer faults are the caller's business, not a broken ring. */
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 0, buf, 8), 8);
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 0, buf, 9), -EFAULT);
	CHECK_EQ(vdpasim_chain_write(&r, &chain, 0, buf, 4), -EACCES);
	CHECK_EQ(vdpasim_chain_write(&r, &chain, 8, buf, 4), -EFAULT);
	CHECK_EQ(vdpasim_chain_write(&r, &chain, 8, buf, 5), -EOVERFLOW);
	/* Inside the segment, past 2^64: not a wrap to IOVA 0. */
	CHECK_EQ(vdpasim_chain_write(&r, &chain, 12, buf, 1), -EOVERFLOW);
	CHECK(!r.broken);
}

static void test_indirect_chain(void)
{
	struct vdpasim_ring r;
	struct drv d;
	unsigned char buf[64];

	setup(&r, &d, 4, 0);
	/* direct readable, then an indirect table of 6 (4 used, out of order) */
	set_desc(DESC_PA, 2, IOVA(DATA_PA), 4, VRING_DESC_F_NEXT, 1);
	set_desc(DESC_PA, 1, IOVA(INDIR_PA), 6 * 16,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	set_desc(INDIR_PA, 0, IOVA(DATA_PA + 10), 6, VRING_DESC_F_NEXT, 4);
	set_desc(INDIR_PA, 4, IOVA(DATA_PA + 20), 0, VRING_DESC_F_NEXT, 5);
	set_desc(INDIR_PA, 5, IOVA(DATA_PA + 30), 7,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	set_desc(INDIR_PA, 3, IOVA(DATA_PA + 40), 9, VRING_DESC_F_WRITE, 0);
	publish(&d, 2);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	CHECK_EQ(chain.head, 2);
	CHECK_EQ(chain.n_out, 3);
	CHECK_EQ(chain.n_in, 2);
	CHECK_EQ(chain.out_len, 10);
	CHECK_EQ(chain.in_len, 16);
	CHECK_EQ(chain.seg[1].addr, IOVA(DATA_PA + 10));
	CHECK_EQ(chain.seg[4].addr, IOVA(DATA_PA + 40));
	CHECK_EQ(vdpasim_chain_read(&r, &chain, 2, buf, 64), 8);
	CHECK(!memcmp(buf, shim_mem + DATA_PA + 2, 2));
	CHECK(!memcmp(buf + 2, shim_mem + DATA_PA + 10, 6));

	/* An indirect table that fills the segment limit exactly is fine. */
	{
		unsigned int i, n = VDPASIM_CHAIN_MAX_SEGS;

		for (i = 0; i < n; i++)
			set_desc(INDIR_PA, i, IOVA(DATA_PA + i), 1,
				 i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1);
		set_desc(DESC_PA, 0, IOVA(INDIR_PA), n * 16,
			 VRING_DESC_F_INDIRECT, 0);
		publish(&d, 0);
		CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
		CHECK_EQ(chain.n_out, n);
		CHECK_EQ(vdpasim_chain_read(&r, &chain, 0, buf, 64), 64);
		CHECK(!memcmp(buf, shim_mem + DATA_PA, 64));
	}
	CHECK(!r.broken);
}

/* Indices wrap at 65535 with the slot taken modulo num. */
static void test_wrap(void)
{
	static const u32 nums[] = { 1, 2, 4, 256, 32768 };
	unsigned int n;

	for (n = 0; n < ARRAY_SIZE(nums); n++) {
		u32 num = nums[n];
		struct vdpasim_ring r;
		struct drv d;
		unsigned int i;

		setup(&r, &d, num, 65533);
		for (i = 0; i < num && i < 4; i++)
			set_desc(DESC_PA, i, IOVA(DATA_PA + i), 1, 0, 0);
		for (i = 0; i < 10; i++) {
			u16 head = i % (num < 4 ? num : 4);

			publish(&d, head);
			CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "w"), 1);
			CHECK_EQ(chain.head, head);
			CHECK_EQ(chain.out_len, 1);
			CHECK_EQ(vdpasim_ring_push(&r, chain.head, i), 0);
			CHECK_EQ(used_idx(), (u16)(65534 + i));
			CHECK_EQ(used_id(&d, (u16)(65533 + i)), head);
			CHECK_EQ(used_len(&d, (u16)(65533 + i)), i);
			CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "w"), 0);
		}
		CHECK_EQ(r.last_avail_idx, 7);
		CHECK_EQ(r.used_idx, 7);

		/* A full ring straddling the wrap. */
		setup(&r, &d, num, (u16)(65536 - num / 2));
		set_desc(DESC_PA, 0, IOVA(DATA_PA), 1, 0, 0);
		for (i = 0; i < num; i++)
			publish(&d, 0);
		for (i = 0; i < num; i++)
			CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "w"), 1);
		CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "w"), 0);
		CHECK(!r.broken);
	}
}

static void test_unfetch(void)
{
	struct vdpasim_ring r;
	struct drv d;

	setup(&r, &d, 4, 65535);
	set_desc(DESC_PA, 1, IOVA(DATA_PA), 1, 0, 0);
	publish(&d, 1);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	CHECK_EQ(r.last_avail_idx, 0);
	vdpasim_ring_unfetch(&r);
	CHECK_EQ(r.last_avail_idx, 65535);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	CHECK_EQ(chain.head, 1);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 0);
}

/* ---- notifications ------------------------------------------------ */

static void test_no_interrupt(void)
{
	struct vdpasim_ring r;
	struct drv d;

	setup(&r, &d, 4, 0);
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);
	CHECK(vdpasim_ring_should_notify(&r));
	put16(AVAIL_PA, VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);
	CHECK(!vdpasim_ring_should_notify(&r));

	/* With event_idx the flag means nothing. */
	setup(&r, &d, 4, 0);
	r.event_idx = true;
	put16(AVAIL_PA, VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);
	CHECK(vdpasim_ring_should_notify(&r));
}

static void test_event_idx(void)
{
	struct vdpasim_ring r;
	struct drv d;
	unsigned int i;

	setup(&r, &d, 8, 65530);
	r.event_idx = true;
	set_used_event(&d, 0);	/* far away: still, the first one notifies */
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);
	CHECK(vdpasim_ring_should_notify(&r));	/* 65531, first */
	/* Nothing new: no interrupt whatever used_event says. */
	set_used_event(&d, 65530);
	CHECK(!vdpasim_ring_should_notify(&r));

	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);	/* 65532 */
	set_used_event(&d, 65531);			/* crossed: notify */
	CHECK(vdpasim_ring_should_notify(&r));
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);	/* 65533 */
	set_used_event(&d, 65533);			/* not yet */
	CHECK(!vdpasim_ring_should_notify(&r));
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);	/* 65534 */
	set_used_event(&d, 65531);			/* already behind */
	CHECK(!vdpasim_ring_should_notify(&r));

	/* Several pushes across the wrap; used_event inside the batch. */
	for (i = 0; i < 4; i++)
		CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);	/* -> 2 */
	CHECK_EQ(r.used_idx, 2);
	CHECK_EQ(used_idx(), 2);
	set_used_event(&d, 65535);
	CHECK(vdpasim_ring_should_notify(&r));
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);	/* 3 */
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);	/* 4 */
	set_used_event(&d, 2);
	CHECK(vdpasim_ring_should_notify(&r));
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);	/* 5 */
	set_used_event(&d, 3);
	CHECK(!vdpasim_ring_should_notify(&r));

	/* init forgets what was signalled. */
	vdpasim_ring_init(&r, 9);
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), 0);
	set_used_event(&d, 1000);
	CHECK(vdpasim_ring_should_notify(&r));
}

static struct drv *race_drv;
static u64 race_addr;

/* When the engine is about to write avail_event, a driver adds a chain. */
static void race_hook(u64 iova)
{
	if (iova == race_addr) {
		shim_access_hook = NULL;
		publish(race_drv, 0);
	}
}

static void test_avail_event(void)
{
	struct vdpasim_ring r;
	struct drv d;

	setup(&r, &d, 8, 100);
	r.event_idx = true;
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 1, 0, 0);
	publish(&d, 0);
	publish(&d, 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	CHECK_EQ(avail_event(&d), 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 0);
	CHECK_EQ(avail_event(&d), 102);

	/* A chain published between the empty check and avail_event. */
	race_drv = &d;
	race_addr = IOVA(USED_PA + 4 + 8 * 8);
	shim_access_hook = race_hook;
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 1);
	CHECK(!shim_access_hook);
	CHECK_EQ(r.last_avail_idx, 103);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 0);
	CHECK_EQ(avail_event(&d), 103);

	/* Without event_idx, avail_event is left alone. */
	setup(&r, &d, 8, 0);
	put16(USED_PA + 4 + 8 * 8, 0x4444);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q0"), 0);
	CHECK_EQ(avail_event(&d), 0x4444);
}

/* ---- malformed rings ------------------------------------------------ */

static void test_malformed(void)
{
	struct vdpasim_ring r;
	struct drv d;
	unsigned int i;

	/* Queue sizes. */
	setup(&r, &d, 4, 0);
	r.num = 0;
	EXPECT_BROKEN(&r, "queue size 0");
	setup(&r, &d, 4, 0);
	r.num = 6;
	EXPECT_BROKEN(&r, "queue size 6");
	setup(&r, &d, 4, 0);
	r.num = 65536;
	EXPECT_BROKEN(&r, "queue size 65536");
	setup(&r, &d, 4, 0);
	r.num = 0;
	shim_log_quiet = true;
	CHECK_EQ(vdpasim_ring_push(&r, 0, 0), -EINVAL);
	shim_log_quiet = false;
	CHECK(r.broken);

	/* avail idx ahead by num is fine, by num + 1 is not. */
	setup(&r, &d, 4, 65534);
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 1, 0, 0);
	put16(AVAIL_PA + 2, 2);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q7"), 1);
	setup(&r, &d, 4, 65534);
	put16(AVAIL_PA + 2, 3);
	EXPECT_BROKEN(&r, "avail idx 3 is 5 entries ahead");
	setup(&r, &d, 4, 10);
	put16(AVAIL_PA + 2, 9);		/* going backwards = far ahead */
	EXPECT_BROKEN(&r, "ahead");

	/* Head and next out of range. */
	setup(&r, &d, 4, 0);
	publish(&d, 4);
	EXPECT_BROKEN(&r, "head 4 in avail ring slot 0 is out of range");
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 4);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "next index 4 is out of range");

	/* Loops: self, longer cycle, full-size legal chain then one more. */
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 2, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 2);
	publish(&d, 2);
	EXPECT_BROKEN(&r, "loops");
	setup(&r, &d, 8, 0);
	set_desc(DESC_PA, 1, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 2);
	set_desc(DESC_PA, 2, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 3);
	set_desc(DESC_PA, 3, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 1);
	publish(&d, 1);
	EXPECT_BROKEN(&r, "loops");
	setup(&r, &d, 4, 0);
	for (i = 0; i < 4; i++)
		set_desc(DESC_PA, i, IOVA(DATA_PA), 1,
			 i < 3 ? VRING_DESC_F_NEXT : 0, i + 1);
	publish(&d, 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q7"), 1);
	CHECK_EQ(chain.n_out, 4);

	/* Loop inside an indirect table. */
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(INDIR_PA), 3 * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(INDIR_PA, 0, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 1);
	set_desc(INDIR_PA, 1, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 0);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "more than 3 descriptors in the indirect table");
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(INDIR_PA), 3 * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(INDIR_PA, 0, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 3);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "next index 3 is out of range (indirect table size 3)");

	/* Too many segments. */
	setup(&r, &d, 4, 0);
	for (i = 0; i <= VDPASIM_CHAIN_MAX_SEGS; i++)
		set_desc(INDIR_PA, i, IOVA(DATA_PA), 1,
			 i < VDPASIM_CHAIN_MAX_SEGS ? VRING_DESC_F_NEXT : 0,
			 i + 1);
	set_desc(DESC_PA, 0, IOVA(INDIR_PA), 200 * 16,
		 VRING_DESC_F_INDIRECT, 0);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "more than 128 segments");

	/* Indirect misuse. */
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(INDIR_PA), 32,
		 VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "both INDIRECT and NEXT");
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(INDIR_PA), 32, VRING_DESC_F_INDIRECT, 0);
	set_desc(INDIR_PA, 0, IOVA(DATA_PA), 1, VRING_DESC_F_NEXT, 1);
	set_desc(INDIR_PA, 1, IOVA(INDIR_PA), 32, VRING_DESC_F_INDIRECT, 0);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "inside an indirect table");
	{
		static const u32 bad_len[] = { 0, 8, 17, 31,
			(VDPASIM_INDIRECT_MAX_DESCS + 1) * 16, 0xfffffff0 };
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(bad_len); k++) {
			setup(&r, &d, 4, 0);
			set_desc(DESC_PA, 0, IOVA(INDIR_PA), bad_len[k],
				 VRING_DESC_F_INDIRECT, 0);
			publish(&d, 0);
			EXPECT_BROKEN(&r, "indirect table length");
		}
	}
	/* The largest legal indirect table, mostly unused. */
	setup(&r, &d, 4, 0);
	shim_iotlb_add(&tlb, 0x100000000ULL,
		       0x100000000ULL + VDPASIM_INDIRECT_MAX_DESCS * 16 - 1,
		       INDIR_PA, VHOST_MAP_RO);
	set_desc(DESC_PA, 0, 0x100000000ULL, VDPASIM_INDIRECT_MAX_DESCS * 16,
		 VRING_DESC_F_INDIRECT, 0);
	set_desc(INDIR_PA, 0, IOVA(DATA_PA), 1, 0, 0);
	publish(&d, 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q7"), 1);

	/* Readable after writable, also after a zero-length writable. */
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 1,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_PA, 1, IOVA(DATA_PA), 1, 0, 0);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "device-readable descriptor after a device-writable");
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 0,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_PA, 1, IOVA(DATA_PA), 5, 0, 0);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "device-readable descriptor after a device-writable");
	/* ... and inside an indirect table after a direct writable one. */
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 1,
		 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC_PA, 1, IOVA(INDIR_PA), 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(INDIR_PA, 0, IOVA(DATA_PA), 1, 0, 0);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "device-readable descriptor after a device-writable");

	/* Ring structures not mapped. */
	setup(&r, &d, 4, 0);
	r.avail_addr = 0x1000;
	EXPECT_BROKEN(&r, "cannot read avail idx at IOVA 0x1002 (error -14)");
	setup(&r, &d, 4, 0);
	publish(&d, 0);
	r.desc_addr = 0x1000;
	EXPECT_BROKEN(&r, "cannot read descriptor 0 at IOVA 0x1000 (error -14)");
	setup(&r, &d, 4, 0);
	publish(&d, 0);
	r.desc_addr = IOVA(MEM_SIZE - 16);	/* descriptor 0 fits, 1 not */
	put64(MEM_SIZE - 16, IOVA(DATA_PA));
	put32(MEM_SIZE - 8, 1);
	put16(MEM_SIZE - 4, VRING_DESC_F_NEXT);
	put16(MEM_SIZE - 2, 1);
	EXPECT_BROKEN(&r, "cannot read descriptor 1");
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "cannot read indirect descriptor 0 at IOVA 0x1000");
	/* A table address whose offset wraps past 2^64. */
	setup(&r, &d, 4, 0);
	set_desc(DESC_PA, 0, ~0ULL - 15, 64, VRING_DESC_F_INDIRECT, 0);
	shim_iotlb_add(&tlb, ~0ULL - 0xfff, ~0ULL, DATA_PA, VHOST_MAP_RW);
	put16(DATA_PA + 0xff0 + 12, VRING_DESC_F_NEXT);
	put16(DATA_PA + 0xff0 + 14, 1);
	publish(&d, 0);
	EXPECT_BROKEN(&r, "error -75");
	/* Avail ring read-only is fine for the device... */
	setup(&r, &d, 4, 0);
	shim_iotlb_reset(&tlb);
	shim_iotlb_add(&tlb, IOVA(0), IOVA(AVAIL_PA - 1), 0, VHOST_MAP_RW);
	shim_iotlb_add(&tlb, IOVA(AVAIL_PA), IOVA(AVAIL_PA + 0xfff), AVAIL_PA,
		       VHOST_MAP_RO);
	shim_iotlb_add(&tlb, IOVA(AVAIL_PA + 0x1000), IOVA(MEM_SIZE - 1),
		       AVAIL_PA + 0x1000, VHOST_MAP_RW);
	r.event_idx = true;
	set_desc(DESC_PA, 0, IOVA(DATA_PA), 1, 0, 0);
	publish(&d, 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q7"), 1);
	CHECK_EQ(vdpasim_ring_push(&r, 0, 1), 0);
	CHECK(vdpasim_ring_should_notify(&r));
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q7"), 0);
	/* ... a read-only used ring is not. */
	shim_iotlb_reset(&tlb);
	shim_iotlb_add(&tlb, IOVA(0), IOVA(USED_PA - 1), 0, VHOST_MAP_RW);
	shim_iotlb_add(&tlb, IOVA(USED_PA), IOVA(USED_PA + 0xfff), USED_PA,
		       VHOST_MAP_RO);
	r.hint = NULL;		/* as the core does on every table change */
	publish(&d, 0);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q7"), 1);
	shim_log_quiet = true;
	CHECK_EQ(vdpasim_ring_push(&r, 0, 1), -EACCES);
	shim_log_quiet = false;
	CHECK(r.broken);
	CHECK(strstr(shim_last_log, "cannot write slot 1"));
	CHECK_EQ(used_idx(), 1);
	/* avail_event not writable: broken when the ring runs empty. */
	setup(&r, &d, 4, 0);
	r.event_idx = true;
	r.used_addr = IOVA(MEM_SIZE - 4 - 8 * 4);	/* avail_event past end */
	EXPECT_BROKEN(&r, "cannot write avail_event");
	/* used_event / flags not readable: notify, and broken. */
	setup(&r, &d, 4, 0);
	r.avail_addr = IOVA(MEM_SIZE - 4 - 2 * 4);	/* used_event past end */
	r.event_idx = true;
	shim_log_quiet = true;
	CHECK(vdpasim_ring_should_notify(&r));
	shim_log_quiet = false;
	CHECK(r.broken);
	CHECK(strstr(shim_last_log, "cannot read used_event"));

	/* init makes a broken ring usable again. */
	setup(&r, &d, 4, 0);
	publish(&d, 4);
	EXPECT_BROKEN(&r, "out of range");
	vdpasim_ring_init(&r, 1);
	CHECK(!r.broken);
	CHECK_EQ(vdpasim_ring_fetch(&r, &chain, "q7"), 0);
}

/* ---- fuzz ---------------------------------------------------------- */

static u64 rng_state;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A plausible-looking but random descriptor at (table, i). */
static void fuzz_desc(u64 table, u32 i, u32 table_size)
{
	u64 addr = rnd() & 1 ? IOVA(DATA_PA + rnd() % 0x10000) : rnd();
	u32 len = rnd() & 1 ? rnd() % 3000 : (u32)rnd();
	u16 flags = rnd() % 8;
	u16 next = rnd() % 4 ? rnd() % (table_size + 1) : (u16)rnd();

	if ((flags & VRING_DESC_F_INDIRECT) && rnd() % 2) {
		addr = IOVA(INDIR_PA);
		len = 16 * (rnd() % 40);
	}
	set_desc(table, i, addr, len, flags, next);
}

static void test_fuzz(u64 seed, unsigned int rounds)
{
	static unsigned char buf[8192];
	unsigned int round, i;

	rng_state = seed ? seed : 1;
	for (round = 0; round < rounds; round++) {
		u32 num = 1U << (rnd() % 9);
		struct vdpasim_ring r;
		struct drv d;
		u32 limit;
		int ret = 1;

		setup_ring(&r, &d, num, (u16)rnd());
		if (rnd() % 16 == 0)
			r.num = (u32)rnd() % 1000;
		r.event_idx = rnd() & 1;
		limit = r.num <= VDPASIM_RING_MAX_NUM ? r.num : 0;
		for (i = 0; i < num; i++)
			fuzz_desc(DESC_PA, i, num);
		for (i = 0; i < 40; i++)
			fuzz_desc(INDIR_PA, i, 40);
		for (i = 0; i <= num; i++)
			put16(AVAIL_PA + 4 + 2 * i,
			      rnd() % 4 ? rnd() % num : (u16)rnd());
		put16(AVAIL_PA + 2, d.avail_idx + (rnd() % 4 ? rnd() % (num + 1) :
						   rnd()));
		put16(AVAIL_PA, rnd() % 2);
		shim_log_quiet = true;
		for (i = 0; i < 2 * limit + 2 && ret > 0; i++) {
			ret = vdpasim_ring_fetch(&r, &chain, "fuzz");
			CHECK(ret >= -EOVERFLOW && ret <= 1);
			CHECK(ret >= 0 || r.broken);
			if (ret != 1)
				break;
			CHECK(chain.n_out + chain.n_in <= VDPASIM_CHAIN_MAX_SEGS);
			CHECK(chain.head < r.num);
			vdpasim_chain_read(&r, &chain, rnd() % 64, buf,
					   rnd() % sizeof(buf));
			vdpasim_chain_write(&r, &chain, rnd() % 64, buf,
					    rnd() % sizeof(buf));
			/* completions published one by one or in batches */
			if (rnd() & 1)
				ret = vdpasim_ring_push(&r, chain.head, 0);
			else
				ret = vdpasim_ring_add_used(&r, chain.head, 0);
			if (ret < 0)
				break;
			ret = 1;
			if (rnd() % 4)
				continue;
			CHECK_EQ(vdpasim_ring_publish_used(&r), 0);
			CHECK_EQ(used_idx(), r.used_idx);
			vdpasim_ring_should_notify(&r);
		}
		/* what was added is published at the end, never lost */
		if (!r.broken) {
			CHECK_EQ(vdpasim_ring_publish_used(&r), 0);
			CHECK_EQ(used_idx(), r.used_idx);
		}
		shim_log_quiet = false;
		CHECK(i <= limit + 1);
		CHECK_EQ(shim_kmap_count, 0);
	}
}

int main(int argc, char **argv)
{
	u64 seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5eed;

	/* A walk that never ends is a failure too (SIGALRM kills us). */
	alarm(60);
	shim_mem_pages = MEM_PAGES;
	shim_mem = malloc(MEM_SIZE);
	if (!shim_mem)
		return 2;

	fill_data();
	test_iotlb_basic();
	test_simple_chain();
	test_chain_copy_errors();
	test_indirect_chain();
	test_wrap();
	test_unfetch();
	test_no_interrupt();
	test_event_idx();
	test_avail_event();
	test_malformed();
	test_fuzz(seed, 5000);

	free(shim_mem);
	printf("sim_ring: %u checks, %u failed\n", checks, failures);
	return failures ? 1 : 0;
}
