// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the vdpa_sim split ring engine: the edges sim_ring_test.c
 * leaves out.  Queue sizes up to 32768 across the 16-bit wrap, bounds that
 * must still be accepted, malformed tables and unreadable or read-only ring
 * parts, chain copies at every offset, unfetch and recovery after init.
 *
 * The test plays the driver in 512 KiB of its own memory, reachable through
 * three IOVA windows of one vhost_iotlb: read-write, read-only, write-only.
 * Needs a kernel with CONFIG_KUNIT; see the Kbuild file.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/vhost_iotlb.h>
#include <uapi/linux/virtio_ring.h>

#include "sim_iotlb.h"
#include "sim_ring.h"
#include "sim_ring_fixture.h"

#define MEM_ORDER	7			/* 512 KiB */
#define MEM_SIZE	(PAGE_SIZE << MEM_ORDER)
/* The three windows onto the memory. */
#define RW_IOVA		0x40000000ULL
#define RO_IOVA		0x100000000ULL
#define WO_IOVA		0x200000000ULL
/* Layout, as offsets: room for every ring part of a 32768-entry queue. */
#define DESC_OFF	0x00000		/* only low descriptors are used */
#define AVAIL_OFF	0x10000		/* 4 + 2 * 32768 + 2 bytes */
#define USED_OFF	0x21000		/* 4 + 8 * 32768 + 2 bytes */
#define INDIR_OFF	0x62000		/* up to 0x1000 descriptors */
#define DATA_OFF	0x72000		/* to the end */

static const struct ring_layout layout = {
	.order = MEM_ORDER,
	.iova = RW_IOVA,
	.desc_off = DESC_OFF,
	.avail_off = AVAIL_OFF,
	.used_off = USED_OFF,
	.data_off = DATA_OFF,
	.fill_mul = 13,
	.fill_add = 1,
};

static u64 rw(unsigned long off)
{
	return RW_IOVA + off;
}

/* The fixture, plus a read-only and a write-only window onto it. */
static int edge_init(struct kunit *test)
{
	fx_add_ro_wo(test, fx_init(test, &layout), RO_IOVA, WO_IOVA);
	return 0;
}

/* ---- large queues across the wrap ---- */

static const u32 large_nums[] = { 4096, 16384, 32768 };

static void large_num_desc(const u32 *num, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "num %u", *num);
}

KUNIT_ARRAY_PARAM(large, large_nums, large_num_desc);

static void large_wrap_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	u32 num = *(const u32 *)test->param_value;
	unsigned int i;

	fx_ring_setup(ctx, num, 65533);
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 4, 0, 0);
	fx_put_desc(ctx, DESC_OFF, 1, rw(DATA_OFF), 4, VRING_DESC_F_WRITE, 0);
	for (i = 0; i < 5; i++) {
		u16 idx = 65533 + i;
		u32 slot = idx & (num - 1);

		fx_publish(ctx, i & 1);
		KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
		KUNIT_EXPECT_EQ(test, c->head, i & 1);
		KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&ctx->r, c->head, 100 + i),
				0);
		KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), (u16)(idx + 1));
		KUNIT_EXPECT_EQ(test, fx_get32(ctx, USED_OFF + 4 + 8 * slot), i & 1);
		KUNIT_EXPECT_EQ(test, fx_get32(ctx, USED_OFF + 8 + 8 * slot),
				100 + i);
	}
	KUNIT_EXPECT_EQ(test, ctx->r.last_avail_idx, 2);
	KUNIT_EXPECT_EQ(test, ctx->r.used_idx, 2);

	/* num chains pending across the wrap: all fetched; num + 1: broken. */
	fx_ring_setup(ctx, num, 65000);
	fx_put16(ctx, AVAIL_OFF + 2, (u16)(65000 + num));
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	fx_ring_setup(ctx, num, 65000);
	fx_put16(ctx, AVAIL_OFF + 2, (u16)(65000 + num + 1));
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), -EIO);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
}

/* ---- queue sizes ---- */

static const u32 bad_nums[] = { 0, 3, 6, 32767, 32769, 65536, U32_MAX };

static void bad_num_desc(const u32 *num, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "num %u", *num);
}

KUNIT_ARRAY_PARAM(bad_num, bad_nums, bad_num_desc);

static void bad_num_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	u32 num = *(const u32 *)test->param_value;

	fx_ring_setup(ctx, 1, 0);
	ctx->r.num = num;
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"),
			-EINVAL);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	fx_ring_setup(ctx, 1, 0);
	ctx->r.num = num;
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 0), -EINVAL);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	/* Nothing was written to the used ring. */
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 0);
}

/* ---- bounds that are still valid ---- */

struct valid_case {
	const char *name;
	u32 num;
	void (*build)(struct ring_fixture *ctx);
	u16 head;
	unsigned int n_out, n_in;
	u64 out_len, in_len;
};

static void build_last_head(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 7, rw(DATA_OFF), 3, 0, 0);
	fx_publish(ctx, 7);
}

static void build_last_next(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 3, VRING_DESC_F_NEXT, 7);
	fx_put_desc(ctx, DESC_OFF, 7, rw(DATA_OFF), 5, VRING_DESC_F_WRITE, 0);
	fx_publish(ctx, 0);
}

/* Every descriptor of the table once, in reverse: the longest legal chain. */
static void build_whole_table(struct ring_fixture *ctx)
{
	int i;

	for (i = 7; i > 0; i--)
		fx_put_desc(ctx, DESC_OFF, i, rw(DATA_OFF), 1, VRING_DESC_F_NEXT,
			    i - 1);
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 1, VRING_DESC_F_WRITE, 0);
	fx_publish(ctx, 7);
}

static void build_max_segs(struct ring_fixture *ctx)
{
	unsigned int i, n = VDPASIM_CHAIN_MAX_SEGS;

	for (i = 0; i < n; i++)
		fx_put_desc(ctx, INDIR_OFF, i, rw(DATA_OFF), 2,
			    i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1);
	fx_put_desc(ctx, DESC_OFF, 0, rw(INDIR_OFF), n * 16,
		    VRING_DESC_F_INDIRECT, 0);
	fx_publish(ctx, 0);
}

/* 127 direct segments, then an indirect table of one: 128 in all. */
static void build_max_segs_mixed(struct ring_fixture *ctx)
{
	unsigned int i, n = VDPASIM_CHAIN_MAX_SEGS - 1;

	for (i = 0; i < n; i++)
		fx_put_desc(ctx, DESC_OFF, i, rw(DATA_OFF), 1, VRING_DESC_F_NEXT,
			    i + 1);
	fx_put_desc(ctx, DESC_OFF, n, rw(INDIR_OFF), 16, VRING_DESC_F_INDIRECT,
		    0);
	fx_put_desc(ctx, INDIR_OFF, 0, rw(DATA_OFF), 9, VRING_DESC_F_WRITE, 0);
	fx_publish(ctx, 0);
}

static void build_indirect_one(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 3, rw(INDIR_OFF), 16, VRING_DESC_F_INDIRECT,
		    0);
	fx_put_desc(ctx, INDIR_OFF, 0, rw(DATA_OFF), 11, VRING_DESC_F_WRITE, 0);
	fx_publish(ctx, 3);
}

static void build_indirect_last_next(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(INDIR_OFF), 4 * 16,
		    VRING_DESC_F_INDIRECT, 0);
	fx_put_desc(ctx, INDIR_OFF, 0, rw(DATA_OFF), 6, VRING_DESC_F_NEXT, 3);
	fx_put_desc(ctx, INDIR_OFF, 3, rw(DATA_OFF), 7, 0, 0);
	fx_publish(ctx, 0);
}

/* An indirect table larger than the queue (its own bound applies). */
static void build_indirect_bigger_than_queue(struct ring_fixture *ctx)
{
	unsigned int i, n = 64;

	for (i = 0; i < n; i++)
		fx_put_desc(ctx, INDIR_OFF, i, rw(DATA_OFF), 1,
			    i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1);
	fx_put_desc(ctx, DESC_OFF, 0, rw(INDIR_OFF), n * 16,
		    VRING_DESC_F_INDIRECT, 0);
	fx_publish(ctx, 0);
}

static void build_zero_lengths(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 0, VRING_DESC_F_NEXT, 1);
	fx_put_desc(ctx, DESC_OFF, 1, rw(DATA_OFF), 5, VRING_DESC_F_NEXT, 2);
	fx_put_desc(ctx, DESC_OFF, 2, 0, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		    3);
	fx_put_desc(ctx, DESC_OFF, 3, rw(DATA_OFF), 0, VRING_DESC_F_WRITE, 0);
	fx_publish(ctx, 0);
}

/* Flags no one defined are ignored. */
static void build_unknown_flags(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 8, VRING_DESC_F_NEXT | 0xfff0,
		    1);
	fx_put_desc(ctx, DESC_OFF, 1, rw(DATA_OFF), 8, VRING_DESC_F_WRITE | 0x80,
		    0);
	fx_publish(ctx, 0);
}

/* Lengths add up past 32 bits without wrapping. */
static void build_huge_lengths(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), U32_MAX, VRING_DESC_F_NEXT, 1);
	fx_put_desc(ctx, DESC_OFF, 1, rw(DATA_OFF), U32_MAX, 0, 0);
	fx_publish(ctx, 0);
}

/* The NEXT field of the last descriptor is not looked at. */
static void build_garbage_next(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 2, rw(DATA_OFF), 1, 0, 0xffff);
	fx_publish(ctx, 2);
}

static const struct valid_case valid_cases[] = {
	{ "head num - 1", 8, build_last_head, 7, 1, 0, 3, 0 },
	{ "next num - 1", 8, build_last_next, 0, 1, 1, 3, 5 },
	{ "chain of the whole table", 8, build_whole_table, 7, 7, 1, 7, 1 },
	{ "exactly the segment limit", 4, build_max_segs, 0,
	  VDPASIM_CHAIN_MAX_SEGS, 0, 2 * VDPASIM_CHAIN_MAX_SEGS, 0 },
	{ "segment limit, direct then indirect", 256, build_max_segs_mixed, 0,
	  VDPASIM_CHAIN_MAX_SEGS - 1, 1, VDPASIM_CHAIN_MAX_SEGS - 1, 9 },
	{ "indirect table of one", 4, build_indirect_one, 3, 0, 1, 0, 11 },
	{ "indirect next = table size - 1", 2, build_indirect_last_next, 0, 2,
	  0, 13, 0 },
	{ "indirect table larger than the queue", 2,
	  build_indirect_bigger_than_queue, 0, 64, 0, 64, 0 },
	{ "zero-length descriptors kept", 4, build_zero_lengths, 0, 2, 2, 5,
	  0 },
	{ "unknown flags ignored", 4, build_unknown_flags, 0, 1, 1, 8, 8 },
	{ "lengths beyond 4 GiB", 4, build_huge_lengths, 0, 2, 0,
	  2ULL * U32_MAX, 0 },
	{ "garbage next without NEXT", 4, build_garbage_next, 2, 1, 0, 1, 0 },
};

static void valid_desc(const struct valid_case *vc, char *desc)
{
	strscpy(desc, vc->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(valid, valid_cases, valid_desc);

static void valid_test(struct kunit *test)
{
	const struct valid_case *vc = test->param_value;
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;

	fx_ring_setup(ctx, vc->num, 65535);
	vc->build(ctx);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
	KUNIT_EXPECT_EQ(test, c->head, vc->head);
	KUNIT_EXPECT_EQ(test, c->n_out, vc->n_out);
	KUNIT_EXPECT_EQ(test, c->n_in, vc->n_in);
	KUNIT_EXPECT_EQ(test, c->out_len, vc->out_len);
	KUNIT_EXPECT_EQ(test, c->in_len, vc->in_len);
	KUNIT_EXPECT_EQ(test, ctx->r.last_avail_idx, 0);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 0);
}

/* ---- malformed or inaccessible rings ---- */

struct bad_case {
	const char *name;
	void (*build)(struct ring_fixture *ctx);
	int err;
};

static void build_indirect_next_range(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(INDIR_OFF), 2 * 16,
		    VRING_DESC_F_INDIRECT, 0);
	fx_put_desc(ctx, INDIR_OFF, 0, rw(DATA_OFF), 1, VRING_DESC_F_NEXT, 2);
	fx_publish(ctx, 0);
}

static void build_indirect_too_big(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(INDIR_OFF),
		    (VDPASIM_INDIRECT_MAX_DESCS + 1) * 16, VRING_DESC_F_INDIRECT,
		 0);
	fx_publish(ctx, 0);
}

static void build_indirect_len_max(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(INDIR_OFF), U32_MAX,
		    VRING_DESC_F_INDIRECT, 0);
	fx_publish(ctx, 0);
}

static void build_indirect_unmapped(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	fx_publish(ctx, 0);
}

static void build_indirect_write_only(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, WO_IOVA + INDIR_OFF, 16,
		    VRING_DESC_F_INDIRECT, 0);
	fx_put_desc(ctx, INDIR_OFF, 0, rw(DATA_OFF), 1, 0, 0);
	fx_publish(ctx, 0);
}

/* The table runs off the end of the mapping. */
static void build_indirect_past_mapping(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, RW_IOVA + MEM_SIZE - 16, 2 * 16,
		    VRING_DESC_F_INDIRECT, 0);
	fx_put_desc(ctx, (MEM_SIZE - 16), 0, rw(DATA_OFF), 1, VRING_DESC_F_NEXT,
		    1);
	fx_publish(ctx, 0);
}

static void build_desc_write_only(struct ring_fixture *ctx)
{
	ctx->r.desc_addr = WO_IOVA + DESC_OFF;
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 1, 0, 0);
	fx_publish(ctx, 0);
}

static void build_avail_write_only(struct ring_fixture *ctx)
{
	ctx->r.avail_addr = WO_IOVA + AVAIL_OFF;
	fx_publish(ctx, 0);
}

/* The avail idx is mapped, its ring slot is not. */
static void build_avail_slot_unmapped(struct ring_fixture *ctx)
{
	ctx->r.avail_addr = RW_IOVA + MEM_SIZE - 4;
	fx_put16(ctx, MEM_SIZE - 2, ctx->avail_idx + 1);
}

static void build_desc_addr_wraps(struct ring_fixture *ctx)
{
	ctx->r.desc_addr = U64_MAX - 15;
	fx_publish(ctx, 1);
}

static void build_avail_addr_wraps(struct ring_fixture *ctx)
{
	ctx->r.avail_addr = U64_MAX - 1;
}

static void build_long_loop(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 1, VRING_DESC_F_NEXT, 1);
	fx_put_desc(ctx, DESC_OFF, 1, rw(DATA_OFF), 1, VRING_DESC_F_NEXT, 2);
	fx_put_desc(ctx, DESC_OFF, 2, rw(DATA_OFF), 1, VRING_DESC_F_NEXT, 3);
	fx_put_desc(ctx, DESC_OFF, 3, rw(DATA_OFF), 1, VRING_DESC_F_NEXT, 1);
	fx_publish(ctx, 0);
}

static void build_write_then_read_indirect(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 4,
		    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fx_put_desc(ctx, DESC_OFF, 1, rw(INDIR_OFF), 16, VRING_DESC_F_INDIRECT,
		    0);
	fx_put_desc(ctx, INDIR_OFF, 0, rw(DATA_OFF), 4, 0, 0);
	fx_publish(ctx, 0);
}

static void build_second_indirect(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, rw(INDIR_OFF), 16, VRING_DESC_F_INDIRECT,
		    0);
	fx_put_desc(ctx, INDIR_OFF, 0, rw(INDIR_OFF + 0x100), 16,
		    VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	fx_publish(ctx, 0);
}

static void build_avail_far_ahead(struct ring_fixture *ctx)
{
	fx_put16(ctx, AVAIL_OFF + 2, ctx->avail_idx + 0x8000);
}

static void build_avail_behind(struct ring_fixture *ctx)
{
	fx_put16(ctx, AVAIL_OFF + 2, ctx->avail_idx - 1);
}

static const struct bad_case bad_cases[] = {
	{ "indirect next out of range", build_indirect_next_range, -EIO },
	{ "indirect table of 65537", build_indirect_too_big, -EIO },
	{ "indirect length 2^32 - 1", build_indirect_len_max, -EIO },
	{ "indirect table unmapped", build_indirect_unmapped, -EFAULT },
	{ "indirect table write-only", build_indirect_write_only, -EACCES },
	{ "indirect table past the mapping", build_indirect_past_mapping,
	  -EFAULT },
	{ "descriptor table write-only", build_desc_write_only, -EACCES },
	{ "avail ring write-only", build_avail_write_only, -EACCES },
	{ "avail slot unmapped", build_avail_slot_unmapped, -EFAULT },
	{ "descriptor table at 2^64 - 16", build_desc_addr_wraps,
	  -EOVERFLOW },
	{ "avail ring at 2^64 - 2", build_avail_addr_wraps, -EOVERFLOW },
	{ "loop of three after a head", build_long_loop, -EIO },
	{ "readable indirect after writable", build_write_then_read_indirect,
	  -EIO },
	{ "indirect inside indirect, WRITE set", build_second_indirect, -EIO },
	{ "avail idx 32768 ahead", build_avail_far_ahead, -EIO },
	{ "avail idx behind the device", build_avail_behind, -EIO },
};

static void bad_desc(const struct bad_case *bc, char *desc)
{
	strscpy(desc, bc->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bad, bad_cases, bad_desc);

static void bad_test(struct kunit *test)
{
	const struct bad_case *bc = test->param_value;
	struct ring_fixture *ctx = test->priv;
	u16 last = 65535;

	fx_ring_setup(ctx, 4, last);
	bc->build(ctx);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"),
			bc->err);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	/* Nothing consumed, nothing published. */
	KUNIT_EXPECT_EQ(test, ctx->r.last_avail_idx, last);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), last);
}

/* ---- the used side ---- */

static void used_read_only_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;

	fx_ring_setup(ctx, 4, 0);
	ctx->r.used_addr = RO_IOVA + USED_OFF;
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 1, 0, 0);
	fx_publish(ctx, 0);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 1), -EACCES);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	KUNIT_EXPECT_EQ(test, ctx->r.used_idx, 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 0);
}

/* The used element is writable, the used idx is not. */
static void used_idx_unmapped_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;

	fx_ring_setup(ctx, 1, 0);
	/* idx at offset 2 falls before the window, ring[0] at 4 inside. */
	ctx->r.used_addr = RW_IOVA - 4;
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 1), -EFAULT);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	/* the entry went in; the index over it could not */
	KUNIT_EXPECT_EQ(test, fx_get32(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, fx_get32(ctx, 4), 1U);
}

static void used_addr_wraps_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;

	fx_ring_setup(ctx, 4, 0);
	ctx->r.used_addr = U64_MAX - 8;
	ctx->r.used_idx = 3;
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 1), -EOVERFLOW);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
}

/* With event_idx, running empty writes avail_event: here it cannot. */
static void avail_event_read_only_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;

	fx_ring_setup(ctx, 8, 5);
	ctx->r.event_idx = true;
	ctx->r.used_addr = RO_IOVA + USED_OFF;
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"),
			-EACCES);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	/* Without event_idx an empty ring writes nothing and stays fine. */
	fx_ring_setup(ctx, 8, 5);
	ctx->r.used_addr = RO_IOVA + USED_OFF;
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"), 0);
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
}

/* Suppression state unreadable: interrupt anyway, and break the ring. */
static void notify_unreadable_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	bool event_idx = *(const bool *)test->param_value;

	fx_ring_setup(ctx, 8, 0);
	ctx->r.event_idx = event_idx;
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 0), 0);
	ctx->r.avail_addr = WO_IOVA + AVAIL_OFF;
	KUNIT_EXPECT_TRUE(test, vdpasim_ring_should_notify(&ctx->r));
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	KUNIT_EXPECT_FALSE(test, vdpasim_ring_should_notify(&ctx->r));
}

static const bool event_idx_params[] = { false, true };

static void event_idx_desc(const bool *on, char *desc)
{
	strscpy(desc, *on ? "event_idx" : "flags", KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(event_idx, event_idx_params, event_idx_desc);

/* used_event walked over a whole 16-bit turn of pushes. */
static void notify_sweep_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	unsigned int i, notified = 0;

	fx_ring_setup(ctx, 1, 65530);
	ctx->r.event_idx = true;
	KUNIT_EXPECT_TRUE(test, vdpasim_ring_should_notify(&ctx->r));
	/* The driver asks for an interrupt after used idx 3 (past the wrap). */
	fx_put16(ctx, AVAIL_OFF + 4 + 2 * 1, 3);
	for (i = 0; i < 20; i++) {
		KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 0), 0);
		if (vdpasim_ring_should_notify(&ctx->r)) {
			notified++;
			/* Once, when used idx goes 3 -> 4. */
			KUNIT_EXPECT_EQ(test, ctx->r.used_idx, 4);
		}
	}
	KUNIT_EXPECT_EQ(test, notified, 1U);
}

/* ---- chain copies ---- */

struct copy_case {
	const char *name;
	bool write;
	u64 off;
	size_t len;
	ssize_t ret;
	unsigned long data_off;	/* where the first byte lands, if ret > 0 */
};

/*
 * The chain every copy case uses: out segments 10 bytes at DATA_OFF, 0
 * bytes, 20 bytes at DATA_OFF + 0x100; in segments 0 bytes, 5 bytes at
 * DATA_OFF + 0x200, PAGE_SIZE + 10 bytes straddling a page from
 * DATA_OFF + 0x1000 - 6.
 */
static void copy_chain(struct vdpasim_chain *c)
{
	static const struct vdpasim_seg segs[] = {
		{ RW_IOVA + DATA_OFF, 10 },
		{ RW_IOVA + DATA_OFF + 0x40, 0 },
		{ RW_IOVA + DATA_OFF + 0x100, 20 },
		{ RW_IOVA + DATA_OFF + 0x180, 0 },
		{ RW_IOVA + DATA_OFF + 0x200, 5 },
		{ RW_IOVA + DATA_OFF + 0x1000 - 6, PAGE_SIZE + 10 },
	};

	memset(c, 0, sizeof(*c));
	memcpy(c->seg, segs, sizeof(segs));
	c->n_out = 3;
	c->n_in = 3;
	c->out_len = 30;
	c->in_len = 15 + PAGE_SIZE;
}

static const struct copy_case copy_cases[] = {
	{ "read all", false, 0, 30, 30, DATA_OFF },
	{ "read more than there is", false, 0, 100, 30, DATA_OFF },
	{ "read inside the first", false, 3, 4, 4, DATA_OFF + 3 },
	{ "read across the empty segment", false, 8, 4, 4, DATA_OFF + 8 },
	{ "read from the second", false, 10, 5, 5, DATA_OFF + 0x100 },
	{ "read the last byte", false, 29, 1, 1, DATA_OFF + 0x113 },
	{ "read at the end", false, 30, 1, 0, 0 },
	{ "read past the end", false, 31, 1, 0, 0 },
	{ "read at offset 2^64 - 1", false, U64_MAX, 1, 0, 0 },
	{ "read nothing", false, 0, 0, 0, 0 },
	{ "write all", true, 0, PAGE_SIZE + 15, PAGE_SIZE + 15,
	  DATA_OFF + 0x200 },
	{ "write across a page", true, 5, 100, 100, DATA_OFF + 0x1000 - 6 },
	{ "write the last byte", true, PAGE_SIZE + 14, 8, 1,
	  DATA_OFF + 0x1000 + PAGE_SIZE + 3 },
	{ "write at the end", true, PAGE_SIZE + 15, 1, 0, 0 },
	{ "write past the end", true, U64_MAX - 3, 4, 0, 0 },
};

static void copy_desc(const struct copy_case *cc, char *desc)
{
	strscpy(desc, cc->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(copy, copy_cases, copy_desc);

static void copy_test(struct kunit *test)
{
	const struct copy_case *cc = test->param_value;
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	size_t buflen = cc->len ? cc->len : 1;
	u8 *buf, *before;
	ssize_t i;

	buf = kunit_kmalloc(test, buflen, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	before = kunit_kmalloc(test, MEM_SIZE - DATA_OFF, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, before);
	memcpy(before, ctx->mem + DATA_OFF, MEM_SIZE - DATA_OFF);
	fx_ring_setup(ctx, 4, 0);
	copy_chain(c);

	if (!cc->write) {
		memset(buf, 0, buflen);
		KUNIT_ASSERT_EQ(test, vdpasim_chain_read(&ctx->r, c, cc->off,
							 buf, cc->len),
				cc->ret);
		if (cc->ret > 0)
			KUNIT_EXPECT_EQ(test, buf[0], ctx->mem[cc->data_off]);
		KUNIT_EXPECT_EQ(test, memcmp(before, ctx->mem + DATA_OFF,
					     MEM_SIZE - DATA_OFF), 0);
		return;
	}
	for (i = 0; i < buflen; i++)
		buf[i] = 0x80 | (i & 0x7f);
	KUNIT_ASSERT_EQ(test, vdpasim_chain_write(&ctx->r, c, cc->off, buf,
						  cc->len), cc->ret);
	if (cc->ret > 0)
		KUNIT_EXPECT_EQ(test, ctx->mem[cc->data_off], buf[0]);
	/* Never into the device-readable segments. */
	KUNIT_EXPECT_EQ(test, memcmp(before, ctx->mem + DATA_OFF, 0x200), 0);
}

/* A read of the whole chain gives the bytes in segment order. */
static void copy_order_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	size_t in_len = PAGE_SIZE + 15;
	unsigned int i;
	u8 buf[30];
	u8 *in;

	in = kunit_kmalloc(test, in_len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, in);
	fx_ring_setup(ctx, 4, 0);
	copy_chain(c);
	KUNIT_ASSERT_EQ(test, vdpasim_chain_read(&ctx->r, c, 0, buf, 30), 30);
	KUNIT_EXPECT_EQ(test, memcmp(buf, ctx->mem + DATA_OFF, 10), 0);
	KUNIT_EXPECT_EQ(test, memcmp(buf + 10, ctx->mem + DATA_OFF + 0x100, 20),
			0);
	for (i = 0; i < in_len; i++)
		in[i] = i * 3;
	KUNIT_ASSERT_EQ(test, vdpasim_chain_write(&ctx->r, c, 0, in, in_len),
			(ssize_t)in_len);
	KUNIT_EXPECT_EQ(test, memcmp(ctx->mem + DATA_OFF + 0x200, in, 5), 0);
	KUNIT_EXPECT_EQ(test, memcmp(ctx->mem + DATA_OFF + 0x1000 - 6, in + 5,
				     PAGE_SIZE + 10), 0);
}

struct copy_err_case {
	const char *name;
	u64 addr;
	bool write;
	int err;
};

static const struct copy_err_case copy_err_cases[] = {
	{ "read unmapped", 0x1000, false, -EFAULT },
	{ "write unmapped", 0x1000, true, -EFAULT },
	{ "read write-only", WO_IOVA + DATA_OFF, false, -EACCES },
	{ "write read-only", RO_IOVA + DATA_OFF, true, -EACCES },
	{ "read at 2^64 - 2, offset 4", U64_MAX - 1, false, -EOVERFLOW },
	{ "write at 2^64 - 2, offset 4", U64_MAX - 1, true, -EOVERFLOW },
};

static void copy_err_desc(const struct copy_err_case *ce, char *desc)
{
	strscpy(desc, ce->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(copy_err, copy_err_cases, copy_err_desc);

static void copy_err_test(struct kunit *test)
{
	const struct copy_err_case *ce = test->param_value;
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	u8 buf[8] = { 0 };
	ssize_t ret;

	fx_ring_setup(ctx, 4, 0);
	memset(c, 0, sizeof(*c));
	c->seg[0].addr = ce->addr;
	c->seg[0].len = 16;
	if (ce->write) {
		c->n_in = 1;
		ret = vdpasim_chain_write(&ctx->r, c, 4, buf, sizeof(buf));
	} else {
		c->n_out = 1;
		ret = vdpasim_chain_read(&ctx->r, c, 4, buf, sizeof(buf));
	}
	KUNIT_EXPECT_EQ(test, ret, (ssize_t)ce->err);
	/* A copy error is the device's to handle: the ring is not broken. */
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
}

/* ---- unfetch and recovery ---- */

static void unfetch_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;

	fx_ring_setup(ctx, 2, 65535);
	fx_put_desc(ctx, DESC_OFF, 1, rw(DATA_OFF), 1, 0, 0);
	fx_put_desc(ctx, DESC_OFF, 0, rw(DATA_OFF), 2, 0, 0);
	fx_publish(ctx, 1);
	fx_publish(ctx, 0);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->head, 1);
	KUNIT_EXPECT_EQ(test, ctx->r.last_avail_idx, 0);
	/* Given back across the wrap, fetched again. */
	vdpasim_ring_unfetch(&ctx->r);
	KUNIT_EXPECT_EQ(test, ctx->r.last_avail_idx, 65535);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->head, 1);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->head, 0);
	KUNIT_EXPECT_EQ(test, c->out_len, 2ULL);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 0);
}

static void recover_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;

	fx_ring_setup(ctx, 4, 10);
	fx_publish(ctx, 9);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), -EIO);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), -EIO);
	/* The driver fixes its ring and the device is re-initialised. */
	fx_put16(ctx, AVAIL_OFF + 4 + 2 * (10 & 3), 2);
	fx_put_desc(ctx, DESC_OFF, 2, rw(DATA_OFF), 7, 0, 0);
	vdpasim_ring_init(&ctx->r, 10);
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->head, 2);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, 2, 7), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 11);
	/* init starts over: the first decision notifies again. */
	ctx->r.event_idx = true;
	KUNIT_EXPECT_TRUE(test, vdpasim_ring_should_notify(&ctx->r));
}

static struct kunit_case vdpasim_ring_edge_cases[] = {
	KUNIT_CASE_PARAM(large_wrap_test, large_gen_params),
	KUNIT_CASE_PARAM(bad_num_test, bad_num_gen_params),
	KUNIT_CASE_PARAM(valid_test, valid_gen_params),
	KUNIT_CASE_PARAM(bad_test, bad_gen_params),
	KUNIT_CASE(used_read_only_test),
	KUNIT_CASE(used_idx_unmapped_test),
	KUNIT_CASE(used_addr_wraps_test),
	KUNIT_CASE(avail_event_read_only_test),
	KUNIT_CASE_PARAM(notify_unreadable_test, event_idx_gen_params),
	KUNIT_CASE(notify_sweep_test),
	KUNIT_CASE_PARAM(copy_test, copy_gen_params),
	KUNIT_CASE(copy_order_test),
	KUNIT_CASE_PARAM(copy_err_test, copy_err_gen_params),
	KUNIT_CASE(unfetch_test),
	KUNIT_CASE(recover_test),
	{}
};

static struct kunit_suite vdpasim_ring_edge_suite = {
	.name = "vdpasim_ring_edge",
	.init = edge_init,
	.exit = fx_exit,
	.test_cases = vdpasim_ring_edge_cases,
};

kunit_test_suite(vdpasim_ring_edge_suite);

MODULE_DESCRIPTION("KUnit tests of the vdpa_sim ring engine: edge cases");
MODULE_LICENSE("GPL");
