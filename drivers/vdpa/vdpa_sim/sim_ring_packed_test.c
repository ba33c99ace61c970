// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the vdpa_sim packed ring engine (sim_ring_packed.c),
 * through the same interface the device classes use: fetch, unfetch,
 * push and should_notify on a ring with r.packed set.
 *
 * The test plays the driver in 1 MiB of its own memory, reachable through
 * three IOVA windows of one vhost_iotlb: read-write, read-only, write-only.
 * Needs a kernel with CONFIG_KUNIT; see the Kbuild file.
 */

#include <kunit/test.h>
#include <linux/bits.h>
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

#define MEM_ORDER	8			/* 1 MiB */
#define MEM_SIZE	(PAGE_SIZE << MEM_ORDER)
#define RW_IOVA		0x40000000ULL
#define RO_IOVA		0x100000000ULL
#define WO_IOVA		0x200000000ULL
/* Layout, as offsets: a 32768-entry ring, both event areas, a table. */
#define RING_OFF	0x00000		/* 16 * 32768 bytes */
#define DRV_EVT_OFF	0x80000		/* driver event suppression */
#define DEV_EVT_OFF	0x80010		/* device event suppression */
#define INDIR_OFF	0x81000		/* up to 0x100 descriptors */
#define DATA_OFF	0x90000		/* to the end: the pattern */

#define F_AVAIL		BIT(VRING_PACKED_DESC_F_AVAIL)
#define F_USED		BIT(VRING_PACKED_DESC_F_USED)
#define WRAP_BIT	BIT(VRING_PACKED_EVENT_F_WRAP_CTR)

static const struct ring_layout layout = {
	.order = MEM_ORDER,
	.iova = RW_IOVA,
	.desc_off = RING_OFF,
	.avail_off = DRV_EVT_OFF,
	.used_off = DEV_EVT_OFF,
	.data_off = DATA_OFF,
	.fill_mul = 7,
	.fill_add = 3,
};

static u64 rw(unsigned long off)
{
	return RW_IOVA + off;
}

static int packed_init(struct kunit *test)
{
	fx_add_ro_wo(test, fx_init(test, &layout), RO_IOVA, WO_IOVA);
	return 0;
}

/*
 * The driver's position lives in fx->avail_idx as an event offset does:
 * bits 0-14 the position, bit 15 the wrap counter.
 */
static u16 drv_pos(struct ring_fixture *fx)
{
	return fx->avail_idx & ~WRAP_BIT;
}

static bool drv_wrap(struct ring_fixture *fx)
{
	return fx->avail_idx & WRAP_BIT;
}

static void drv_advance(struct ring_fixture *fx)
{
	u16 pos = drv_pos(fx) + 1;
	bool wrap = drv_wrap(fx);

	if (pos == fx->r.num) {
		pos = 0;
		wrap = !wrap;
	}
	fx->avail_idx = pos | (wrap ? WRAP_BIT : 0);
}

/* A fresh packed ring of @num entries; both sides at 0 with wrap 1. */
static void pk_setup(struct ring_fixture *fx, u32 num)
{
	memset(fx->mem, 0, DATA_OFF);
	memset(&fx->r, 0, sizeof(fx->r));
	fx->r.num = num;
	fx->r.packed = true;
	fx->r.desc_addr = rw(RING_OFF);
	fx->r.avail_addr = rw(DRV_EVT_OFF);
	fx->r.used_addr = rw(DEV_EVT_OFF);
	fx->r.iotlb = fx->iotlb;
	vdpasim_ring_init(&fx->r, 0);
	fx->avail_idx = WRAP_BIT;
}

/* Descriptor @i of the table at offset @table. */
static void pk_put_desc(struct ring_fixture *fx, unsigned long table, u32 i,
			u64 addr, u32 len, u16 id, u16 flags)
{
	struct vring_packed_desc d = {
		.addr = cpu_to_le64(addr),
		.len = cpu_to_le32(len),
		.id = cpu_to_le16(id),
		.flags = cpu_to_le16(flags),
	};

	memcpy(fx->mem + table + sizeof(d) * i, &d, sizeof(d));
}

static u16 avail_bits(bool wrap)
{
	return wrap ? F_AVAIL : F_USED;
}

struct seg {
	unsigned long off;	/* in the memory, read-write window */
	u32 len;
	u16 flags;		/* WRITE, INDIRECT; NEXT is added */
};

/*
 * Make a chain of @n descriptors with buffer id @id available, as a driver
 * does: every descriptor but the head first, the head's flags last.
 */
static void pk_add(struct ring_fixture *fx, const struct seg *s, unsigned int n,
		   u16 id)
{
	u16 head = drv_pos(fx), head_flags = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		u16 flags = s[i].flags | avail_bits(drv_wrap(fx));

		if (i + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		if (i == 0) {
			head_flags = flags;
			flags = avail_bits(!drv_wrap(fx));	/* not yet */
		}
		pk_put_desc(fx, RING_OFF, drv_pos(fx), rw(s[i].off), s[i].len,
			    i + 1 < n ? 0xdead : id, flags);
		drv_advance(fx);
	}
	fx_put16(fx, RING_OFF + 16 * head + 14, head_flags);
}

static void pk_add1(struct ring_fixture *fx, u32 len, u16 flags, u16 id)
{
	const struct seg s = { DATA_OFF, len, flags };

	pk_add(fx, &s, 1, id);
}

/* The used descriptor the device wrote at @pos. */
static void pk_used(struct ring_fixture *fx, u32 pos, u16 *id, u32 *len,
		    u16 *flags)
{
	*len = fx_get32(fx, RING_OFF + 16 * pos + 8);
	*id = fx_get16(fx, RING_OFF + 16 * pos + 12);
	*flags = fx_get16(fx, RING_OFF + 16 * pos + 14);
}

static void expect_used(struct kunit *test, struct ring_fixture *fx, u32 pos,
			u16 id, u32 len, bool wrap)
{
	u16 got_id, flags;
	u32 got_len;

	pk_used(fx, pos, &got_id, &got_len, &flags);
	KUNIT_EXPECT_EQ(test, got_id, id);
	KUNIT_EXPECT_EQ(test, got_len, len);
	KUNIT_EXPECT_EQ(test, flags & (F_AVAIL | F_USED),
			wrap ? F_AVAIL | F_USED : 0);
}

static int fetch(struct ring_fixture *fx)
{
	return vdpasim_ring_fetch(&fx->r, &fx->chain, "t");
}

/* ---- basics ---- */

static void single_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	struct vdpasim_chain *c = &fx->chain;

	pk_setup(fx, 8);
	KUNIT_EXPECT_EQ(test, fetch(fx), 0);
	pk_add1(fx, 64, 0, 5);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 5);
	KUNIT_EXPECT_EQ(test, c->n_out, 1);
	KUNIT_EXPECT_EQ(test, c->n_in, 0);
	KUNIT_EXPECT_EQ(test, c->out_len, 64);
	KUNIT_EXPECT_EQ(test, c->seg[0].addr, rw(DATA_OFF));
	KUNIT_EXPECT_EQ(test, fetch(fx), 0);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 5, 0), 0);
	expect_used(test, fx, 0, 5, 0, true);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 1);
	KUNIT_EXPECT_EQ(test, fx->r.last_avail_idx, 1);
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
	/* the address field of a used descriptor is left alone */
	KUNIT_EXPECT_EQ(test, fx_get32(fx, RING_OFF), (u32)rw(DATA_OFF));
}

static void chain_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	struct vdpasim_chain *c = &fx->chain;
	const struct seg s[] = {
		{ DATA_OFF, 10, 0 },
		{ DATA_OFF + 0x1000, 0, 0 },		/* kept, skipped by copies */
		{ DATA_OFF + 0x2000, 100, VRING_DESC_F_WRITE },
	};
	u8 buf[16], want[16];
	unsigned int i;

	pk_setup(fx, 8);
	pk_add(fx, s, ARRAY_SIZE(s), 3);
	pk_add1(fx, 8, 0, 4);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 3);
	KUNIT_EXPECT_EQ(test, c->n_out, 2);
	KUNIT_EXPECT_EQ(test, c->n_in, 1);
	KUNIT_EXPECT_EQ(test, c->out_len, 10);
	KUNIT_EXPECT_EQ(test, c->in_len, 100);
	KUNIT_EXPECT_EQ(test, vdpasim_chain_read(&fx->r, c, 0, buf, 16), 10);
	for (i = 0; i < 10; i++)
		want[i] = (u8)((DATA_OFF + i) * 7 + 3);
	KUNIT_EXPECT_EQ(test, memcmp(buf, want, 10), 0);
	memset(buf, 0xab, sizeof(buf));
	KUNIT_EXPECT_EQ(test, vdpasim_chain_write(&fx->r, c, 4, buf, 16), 16);
	KUNIT_EXPECT_EQ(test, fx->mem[DATA_OFF + 0x2000 + 4], 0xab);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, c->head, 20), 0);
	/* the used position moves past the whole chain */
	expect_used(test, fx, 0, 3, 20, true);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 3);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 4);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, c->head, 0), 0);
	expect_used(test, fx, 3, 4, 0, true);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 4);
}

/* ---- wrap at the end of the ring ---- */

static const u32 wrap_nums[] = { 1, 2, 3, 8, 255, 32768 };

static void num_desc(const u32 *num, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "num %u", *num);
}

KUNIT_ARRAY_PARAM(wrap, wrap_nums, num_desc);

/* One-descriptor chains for three laps: both counters flip at each end. */
static void wrap_laps_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	u32 num = *(const u32 *)test->param_value;
	u32 i, laps = num > 256 ? 1 : 3;
	/* each side's counter flips once per pass over the ring end */
	bool end_wrap = !(((laps * num + 1) / num) & 1);

	pk_setup(fx, num);
	for (i = 0; i < laps * num + 1; i++) {
		u32 pos = i % num;
		bool wrap = !((i / num) & 1);

		KUNIT_ASSERT_EQ(test, fx->r.avail_wrap, wrap);
		pk_add1(fx, 4, 0, (u16)i);
		KUNIT_ASSERT_EQ(test, fetch(fx), 1);
		KUNIT_ASSERT_EQ(test, fx->chain.head, (u16)i);
		KUNIT_ASSERT_EQ(test, fetch(fx), 0);
		KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, (u16)i, i), 0);
		expect_used(test, fx, pos, (u16)i, i, wrap);
	}
	KUNIT_EXPECT_EQ(test, fx->r.last_avail_idx, 1 % num);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 1 % num);
	KUNIT_EXPECT_EQ(test, fx->r.avail_wrap, end_wrap);
	KUNIT_EXPECT_EQ(test, fx->r.used_wrap, end_wrap);
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
}

/* A chain across the ring end: the tail lies in the next lap. */
static void wrap_chain_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	struct vdpasim_chain *c = &fx->chain;
	const struct seg s[] = {
		{ DATA_OFF, 8, 0 },
		{ DATA_OFF + 8, 8, 0 },
		{ DATA_OFF + 16, 8, VRING_DESC_F_WRITE },
	};

	pk_setup(fx, 4);
	pk_add1(fx, 4, 0, 0);
	pk_add1(fx, 4, 0, 1);
	pk_add1(fx, 4, 0, 2);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 0, 0), 0);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 2, 0), 0);
	/* positions 3, 0, 1: both counters flip inside the chain */
	pk_add(fx, s, ARRAY_SIZE(s), 9);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 9);
	KUNIT_EXPECT_EQ(test, c->n_out, 2);
	KUNIT_EXPECT_EQ(test, c->n_in, 1);
	KUNIT_EXPECT_EQ(test, fx->r.last_avail_idx, 2);
	KUNIT_EXPECT_FALSE(test, fx->r.avail_wrap);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 9, 8), 0);
	expect_used(test, fx, 3, 9, 8, true);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 2);
	KUNIT_EXPECT_FALSE(test, fx->r.used_wrap);
	/* the next lap's chain, with wrap 0 flags */
	pk_add1(fx, 4, 0, 10);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 10);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 10, 1), 0);
	expect_used(test, fx, 2, 10, 1, false);
}

/* ---- what is not available ---- */

struct flags_case {
	const char *name;
	bool wrap;		/* device's avail wrap counter */
	u16 flags;		/* of the descriptor at its position */
	int ret;
};

static const struct flags_case flags_cases[] = {
	{ "wrap 1, AVAIL", true, F_AVAIL, 1 },
	{ "wrap 1, none", true, 0, 0 },
	{ "wrap 1, USED", true, F_USED, 0 },
	{ "wrap 1, AVAIL|USED (used)", true, F_AVAIL | F_USED, 0 },
	{ "wrap 0, USED", false, F_USED, 1 },
	{ "wrap 0, none (used)", false, 0, 0 },
	{ "wrap 0, AVAIL", false, F_AVAIL, 0 },
	{ "wrap 0, AVAIL|USED", false, F_AVAIL | F_USED, 0 },
};

static void flags_case_desc(const struct flags_case *t, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", t->name);
}

KUNIT_ARRAY_PARAM(flags, flags_cases, flags_case_desc);

static void avail_flags_test(struct kunit *test)
{
	const struct flags_case *t = test->param_value;
	struct ring_fixture *fx = test->priv;

	pk_setup(fx, 8);
	vdpasim_ring_init_packed(&fx->r, 5, t->wrap, 5, t->wrap);
	pk_put_desc(fx, RING_OFF, 5, rw(DATA_OFF), 4, 1, t->flags);
	KUNIT_EXPECT_EQ(test, fetch(fx), t->ret);
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
	KUNIT_EXPECT_EQ(test, fx->r.last_avail_idx, t->ret ? 6 : 5);
}

/* ---- indirect tables ---- */

static void indirect_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	struct vdpasim_chain *c = &fx->chain;
	const struct seg direct = { DATA_OFF, 6, 0 };
	const struct seg s[2] = {
		{ DATA_OFF, 6, 0 },
		{ INDIR_OFF, 3 * 16, VRING_DESC_F_INDIRECT },
	};

	pk_setup(fx, 4);
	pk_put_desc(fx, INDIR_OFF, 0, rw(DATA_OFF + 0x100), 10, 0, 0);
	/* NEXT inside the table means nothing: the table is used whole */
	pk_put_desc(fx, INDIR_OFF, 1, rw(DATA_OFF + 0x200), 20, 0,
		    VRING_DESC_F_NEXT);
	pk_put_desc(fx, INDIR_OFF, 2, rw(DATA_OFF + 0x300), 30, 0,
		    VRING_DESC_F_WRITE);
	pk_add(fx, &s[1], 1, 7);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 7);
	KUNIT_EXPECT_EQ(test, c->n_out, 2);
	KUNIT_EXPECT_EQ(test, c->n_in, 1);
	KUNIT_EXPECT_EQ(test, c->out_len, 30);
	KUNIT_EXPECT_EQ(test, c->in_len, 30);
	KUNIT_EXPECT_EQ(test, c->seg[2].addr, rw(DATA_OFF + 0x300));
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 7, 30), 0);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 1);

	/* a direct descriptor before the indirect one: two ring slots */
	pk_add(fx, s, 2, 8);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 8);
	KUNIT_EXPECT_EQ(test, c->n_out, 3);
	KUNIT_EXPECT_EQ(test, c->out_len, 36);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 8, 0), 0);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 3);
	pk_add(fx, &direct, 1, 9);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, c->head, 9);
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
}

/* ---- malformed rings ---- */

struct bad_case {
	const char *name;
	void (*build)(struct ring_fixture *fx);
	int ret;
};

static void bad_indirect_next(struct ring_fixture *fx)
{
	pk_put_desc(fx, INDIR_OFF, 0, rw(DATA_OFF), 4, 0, 0);
	pk_add1(fx, 0, 0, 0);	/* overwritten below */
	pk_put_desc(fx, RING_OFF, 0, rw(INDIR_OFF), 16, 1,
		    F_AVAIL | VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT);
}

static void put_indirect_head(struct ring_fixture *fx, u64 table, u32 len)
{
	pk_put_desc(fx, RING_OFF, 0, table, len, 1,
		    F_AVAIL | VRING_DESC_F_INDIRECT);
}

static void bad_indirect_nested(struct ring_fixture *fx)
{
	pk_put_desc(fx, INDIR_OFF, 0, rw(DATA_OFF), 4, 0, 0);
	pk_put_desc(fx, INDIR_OFF, 1, rw(INDIR_OFF), 32,
		    0, VRING_DESC_F_INDIRECT);
	put_indirect_head(fx, rw(INDIR_OFF), 32);
}

static void bad_indirect_len0(struct ring_fixture *fx)
{
	put_indirect_head(fx, rw(INDIR_OFF), 0);
}

static void bad_indirect_len24(struct ring_fixture *fx)
{
	put_indirect_head(fx, rw(INDIR_OFF), 24);
}

static void bad_indirect_huge(struct ring_fixture *fx)
{
	put_indirect_head(fx, rw(INDIR_OFF), 16 * (VDPASIM_INDIRECT_MAX_DESCS + 1));
}

static void bad_indirect_unmapped(struct ring_fixture *fx)
{
	put_indirect_head(fx, 0x10, 16);
}

static void bad_indirect_wraps(struct ring_fixture *fx)
{
	put_indirect_head(fx, U64_MAX - 7, 32);
}

/* Every descriptor of the ring chained, the last one too: no end. */
static void bad_too_long(struct ring_fixture *fx)
{
	u32 i;

	fx->r.num = 8;
	for (i = 0; i < fx->r.num; i++)
		pk_put_desc(fx, RING_OFF, i, rw(DATA_OFF), 1, 0,
			    F_AVAIL | VRING_DESC_F_NEXT);
}

/* More segments than a chain may have (the ring is 256 long). */
static void bad_too_many_segs(struct ring_fixture *fx)
{
	u32 i;

	for (i = 0; i <= VDPASIM_CHAIN_MAX_SEGS; i++)
		pk_put_desc(fx, RING_OFF, i, rw(DATA_OFF), 1, 0,
			    F_AVAIL | VRING_DESC_F_NEXT);
	pk_put_desc(fx, RING_OFF, i, rw(DATA_OFF), 1, 0, F_AVAIL);
}

/* ... the same through an indirect table. */
static void bad_too_many_indirect(struct ring_fixture *fx)
{
	u32 i;

	for (i = 0; i <= VDPASIM_CHAIN_MAX_SEGS; i++)
		pk_put_desc(fx, INDIR_OFF, i, rw(DATA_OFF), 1, 0, 0);
	put_indirect_head(fx, rw(INDIR_OFF), 16 * (VDPASIM_CHAIN_MAX_SEGS + 1));
}

static void bad_read_after_write(struct ring_fixture *fx)
{
	const struct seg s[] = {
		{ DATA_OFF, 4, VRING_DESC_F_WRITE },
		{ DATA_OFF, 4, 0 },
	};

	pk_add(fx, s, 2, 1);
}

static void bad_read_after_write_indirect(struct ring_fixture *fx)
{
	pk_put_desc(fx, INDIR_OFF, 0, rw(DATA_OFF), 4, 0, VRING_DESC_F_WRITE);
	pk_put_desc(fx, INDIR_OFF, 1, rw(DATA_OFF), 0, 0, 0);
	put_indirect_head(fx, rw(INDIR_OFF), 32);
}

static void bad_ring_unmapped(struct ring_fixture *fx)
{
	fx->r.desc_addr = 0x1000;
}

static void bad_ring_wraps(struct ring_fixture *fx)
{
	fx->r.desc_addr = U64_MAX - 7;
}

/* The next descriptor of a chain lies in a hole of the translation. */
static void bad_chain_into_hole(struct ring_fixture *fx)
{
	/* a 2-entry ring whose second entry is past the mapped window */
	fx->r.desc_addr = RW_IOVA + MEM_SIZE - 16;
	fx->r.num = 2;
	fx_put16(fx, MEM_SIZE - 2, F_AVAIL | VRING_DESC_F_NEXT);
}

static void bad_num0(struct ring_fixture *fx)
{
	fx->r.num = 0;
}

static void bad_num_huge(struct ring_fixture *fx)
{
	fx->r.num = VDPASIM_RING_MAX_NUM + 1;
}

static void bad_avail_pos(struct ring_fixture *fx)
{
	vdpasim_ring_init_packed(&fx->r, fx->r.num, true, 0, true);
}

static void bad_used_pos(struct ring_fixture *fx)
{
	vdpasim_ring_init_packed(&fx->r, 0, true, 0x7fff, true);
}

static const struct bad_case bad_cases[] = {
	{ "INDIRECT with NEXT", bad_indirect_next, -EIO },
	{ "INDIRECT inside a table", bad_indirect_nested, -EIO },
	{ "indirect length 0", bad_indirect_len0, -EIO },
	{ "indirect length 24", bad_indirect_len24, -EIO },
	{ "indirect table too large", bad_indirect_huge, -EIO },
	{ "indirect table unmapped", bad_indirect_unmapped, -EFAULT },
	{ "indirect table wraps", bad_indirect_wraps, -EOVERFLOW },
	{ "chain longer than the ring", bad_too_long, -EIO },
	{ "chain of 129 segments", bad_too_many_segs, -EIO },
	{ "indirect table of 129", bad_too_many_indirect, -EIO },
	{ "readable after writable", bad_read_after_write, -EIO },
	{ "same, indirect", bad_read_after_write_indirect, -EIO },
	{ "ring unmapped", bad_ring_unmapped, -EFAULT },
	{ "ring address wraps", bad_ring_wraps, -EOVERFLOW },
	{ "chain runs into a hole", bad_chain_into_hole, -EFAULT },
	{ "queue size 0", bad_num0, -EINVAL },
	{ "queue size 32769", bad_num_huge, -EINVAL },
	{ "avail position = size", bad_avail_pos, -EINVAL },
	{ "used position 32767", bad_used_pos, -EINVAL },
};

static void bad_case_desc(const struct bad_case *t, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", t->name);
}

KUNIT_ARRAY_PARAM(bad, bad_cases, bad_case_desc);

/* A malformed ring breaks, says so once, and stays broken until init. */
static void bad_test(struct kunit *test)
{
	const struct bad_case *t = test->param_value;
	struct ring_fixture *fx = test->priv;

	pk_setup(fx, 256);
	t->build(fx);
	KUNIT_EXPECT_EQ(test, fetch(fx), t->ret);
	KUNIT_EXPECT_TRUE(test, fx->r.broken);
	KUNIT_EXPECT_EQ(test, fetch(fx), -EIO);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&fx->r, 0, 0), -EIO);
	KUNIT_EXPECT_FALSE(test, vdpasim_ring_should_notify(&fx->r));
	KUNIT_EXPECT_EQ(test, fx->r.inflight_count, 0);

	/* a fresh start serves a good chain */
	pk_setup(fx, 256);
	pk_add1(fx, 4, 0, 3);
	KUNIT_EXPECT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, fx->chain.head, 3);
}

/* Ring sizes that are not a power of 2 are fine for packed rings. */
static void odd_num_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	u16 id;

	pk_setup(fx, 3);
	for (id = 0; id < 4; id++) {
		pk_add1(fx, 4, 0, id);
		KUNIT_ASSERT_EQ(test, fetch(fx), 1);
		KUNIT_EXPECT_EQ(test, fx->chain.head, id);
		KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, id, id), 0);
	}
	/* the fourth chain went to position 0 of the second lap */
	expect_used(test, fx, 0, 3, 3, false);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 1);
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
}

/* A device that cannot write the used descriptor stops the queue. */
static void used_read_only_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;

	pk_setup(fx, 8);
	fx->r.desc_addr = RO_IOVA + RING_OFF;
	pk_add1(fx, 4, 0, 1);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&fx->r, 1, 0), -EACCES);
	KUNIT_EXPECT_TRUE(test, fx->r.broken);
	/* nothing was handed back to the driver */
	KUNIT_EXPECT_EQ(test, fx_get16(fx, RING_OFF + 14), F_AVAIL);
}

/* ---- unfetch and chains in flight ---- */

static void unfetch_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	const struct seg s[] = {
		{ DATA_OFF, 4, 0 },
		{ DATA_OFF, 4, VRING_DESC_F_WRITE },
	};

	pk_setup(fx, 4);
	vdpasim_ring_init_packed(&fx->r, 3, true, 3, true);
	fx->avail_idx = 3 | WRAP_BIT;
	pk_add(fx, s, 2, 6);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, fx->r.last_avail_idx, 1);
	KUNIT_EXPECT_FALSE(test, fx->r.avail_wrap);
	vdpasim_ring_unfetch(&fx->r);
	KUNIT_EXPECT_EQ(test, fx->r.last_avail_idx, 3);
	KUNIT_EXPECT_TRUE(test, fx->r.avail_wrap);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, fx->chain.head, 6);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 6, 4), 0);
	expect_used(test, fx, 3, 6, 4, true);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 1);
	KUNIT_EXPECT_FALSE(test, fx->r.used_wrap);
}

/* Chains complete in fetch order; one too many in flight is a bug. */
static void inflight_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	const struct seg two[] = {
		{ DATA_OFF, 4, 0 },
		{ DATA_OFF, 4, 0 },
	};
	unsigned int i;

	pk_setup(fx, 64);
	for (i = 0; i < VDPASIM_PACKED_INFLIGHT_MAX; i++) {
		pk_add(fx, two, 1 + (i & 1), i);
		KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	}
	/* completed in order: 1 + 2 + 1 + 2 positions */
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 0, 0), 0);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 1);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 1, 0), 0);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 3);
	expect_used(test, fx, 1, 1, 0, true);
	pk_add1(fx, 4, 0, 50);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 2, 0), 0);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 3, 0), 0);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 50, 0), 0);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 7);
	expect_used(test, fx, 6, 50, 0, true);

	for (i = 0; i < VDPASIM_PACKED_INFLIGHT_MAX; i++) {
		pk_add1(fx, 4, 0, i);
		KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	}
	pk_add1(fx, 4, 0, 99);
	KUNIT_EXPECT_EQ(test, fetch(fx), -EIO);
	KUNIT_EXPECT_TRUE(test, fx->r.broken);
}

/* A dropped completion writes nothing and keeps the record in step. */
static void drop_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	const struct seg two[] = {
		{ DATA_OFF, 4, 0 },
		{ DATA_OFF, 4, 0 },
	};
	unsigned int i;

	pk_setup(fx, 16);
	pk_add(fx, two, 2, 1);
	pk_add1(fx, 4, 0, 2);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	vdpasim_ring_drop(&fx->r);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 0);
	/* the head of the dropped chain is left as the driver made it */
	KUNIT_EXPECT_EQ(test, fx_get16(fx, RING_OFF + 14),
			F_AVAIL | VRING_DESC_F_NEXT);
	/* the next completion takes the second chain's length: 1 */
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 2, 0), 0);
	KUNIT_EXPECT_EQ(test, fx->r.used_idx, 1);
	/* more drops than the limit of chains in flight: never broken */
	for (i = 0; i < 2 * VDPASIM_PACKED_INFLIGHT_MAX; i++) {
		pk_add1(fx, 4, 0, i);
		KUNIT_ASSERT_EQ(test, fetch(fx), 1);
		vdpasim_ring_drop(&fx->r);
	}
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
	KUNIT_EXPECT_EQ(test, fx->r.inflight_count, 0);
}

/* ---- event suppression ---- */

struct notify_case {
	const char *name;
	bool event_idx;
	u16 flags;		/* driver event flags */
	u16 off_wrap;		/* driver event offset and wrap */
	bool want;		/* after pushes at positions 6, 7, 0 (lap 2) */
};

static const struct notify_case notify_cases[] = {
	{ "ENABLE", false, VRING_PACKED_EVENT_FLAG_ENABLE, 0, true },
	{ "DISABLE", false, VRING_PACKED_EVENT_FLAG_DISABLE, 0, false },
	{ "DISABLE, event_idx", true, VRING_PACKED_EVENT_FLAG_DISABLE, 7 | WRAP_BIT, false },
	{ "DESC without event_idx", false, VRING_PACKED_EVENT_FLAG_DESC, 0, true },
	{ "reserved value 3", true, 3, 0, true },
	{ "reserved bits above", true, 0xfffc | VRING_PACKED_EVENT_FLAG_DISABLE, 0, false },
	{ "DESC before the batch", true, VRING_PACKED_EVENT_FLAG_DESC, 5 | WRAP_BIT, false },
	{ "DESC at the batch start", true, VRING_PACKED_EVENT_FLAG_DESC, 6 | WRAP_BIT, true },
	{ "DESC inside", true, VRING_PACKED_EVENT_FLAG_DESC, 7 | WRAP_BIT, true },
	{ "DESC at the last, next lap", true, VRING_PACKED_EVENT_FLAG_DESC, 0, true },
	{ "DESC after the batch", true, VRING_PACKED_EVENT_FLAG_DESC, 1, false },
	{ "DESC at 0, old lap", true, VRING_PACKED_EVENT_FLAG_DESC, 0 | WRAP_BIT, false },
	{ "DESC at 6, wrong lap", true, VRING_PACKED_EVENT_FLAG_DESC, 6, false },
	{ "DESC beyond the ring", true, VRING_PACKED_EVENT_FLAG_DESC, 0x7fff, false },
};

static void notify_case_desc(const struct notify_case *t, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", t->name);
}

KUNIT_ARRAY_PARAM(notify, notify_cases, notify_case_desc);

static void notify_test(struct kunit *test)
{
	const struct notify_case *t = test->param_value;
	struct ring_fixture *fx = test->priv;
	u16 id;

	pk_setup(fx, 8);
	fx->r.event_idx = t->event_idx;
	vdpasim_ring_init_packed(&fx->r, 6, true, 6, true);
	fx->avail_idx = 6 | WRAP_BIT;
	fx_put16(fx, DRV_EVT_OFF, t->off_wrap);
	fx_put16(fx, DRV_EVT_OFF + 2, t->flags);
	/* the first decision after init: yes unless disabled */
	KUNIT_EXPECT_EQ(test, vdpasim_ring_should_notify(&fx->r),
			(t->flags & 3) != VRING_PACKED_EVENT_FLAG_DISABLE);
	for (id = 0; id < 3; id++) {
		pk_add1(fx, 4, 0, id);
		KUNIT_ASSERT_EQ(test, fetch(fx), 1);
		KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, id, 0), 0);
	}
	KUNIT_EXPECT_EQ(test, vdpasim_ring_should_notify(&fx->r), t->want);
	KUNIT_EXPECT_EQ(test, fx->r.signalled_used, 1);
	KUNIT_EXPECT_FALSE(test, fx->r.signalled_wrap);
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
}

static void notify_unreadable_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;

	pk_setup(fx, 8);
	fx->r.avail_addr = WO_IOVA + DRV_EVT_OFF;
	KUNIT_EXPECT_TRUE(test, vdpasim_ring_should_notify(&fx->r));
	KUNIT_EXPECT_TRUE(test, fx->r.broken);
}

/* With event_idx, running empty asks for a kick at the next position. */
static void device_event_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;

	pk_setup(fx, 2);
	fx->r.event_idx = true;
	KUNIT_EXPECT_EQ(test, fetch(fx), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(fx, DEV_EVT_OFF), WRAP_BIT);
	KUNIT_EXPECT_EQ(test, fx_get16(fx, DEV_EVT_OFF + 2),
			VRING_PACKED_EVENT_FLAG_DESC);
	pk_add1(fx, 4, 0, 0);
	pk_add1(fx, 4, 0, 1);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, fetch(fx), 0);
	/* position 0 of the second lap: wrap counter 0 */
	KUNIT_EXPECT_EQ(test, fx_get16(fx, DEV_EVT_OFF), 0);

	/* without event_idx the device leaves the area alone */
	pk_setup(fx, 2);
	fx_put16(fx, DEV_EVT_OFF + 2, VRING_PACKED_EVENT_FLAG_ENABLE);
	KUNIT_EXPECT_EQ(test, fetch(fx), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(fx, DEV_EVT_OFF + 2),
			VRING_PACKED_EVENT_FLAG_ENABLE);

	/* a read-only device area breaks the ring */
	pk_setup(fx, 2);
	fx->r.event_idx = true;
	fx->r.used_addr = RO_IOVA + DEV_EVT_OFF;
	KUNIT_EXPECT_EQ(test, fetch(fx), -EACCES);
	KUNIT_EXPECT_TRUE(test, fx->r.broken);
}

/* Addresses inside descriptors are checked when copied, not fetched. */
static void bad_buffer_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	struct vdpasim_chain *c = &fx->chain;
	u8 buf[8];

	pk_setup(fx, 8);
	pk_put_desc(fx, RING_OFF, 0, U64_MAX - 3, 8, 1, F_AVAIL);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_chain_read(&fx->r, c, 0, buf, 8),
			-EOVERFLOW);
	pk_put_desc(fx, RING_OFF, 1, 0x1000, 8, 2, F_AVAIL);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 1, 0), 0);
	KUNIT_ASSERT_EQ(test, fetch(fx), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_chain_read(&fx->r, c, 0, buf, 8),
			-EFAULT);
	KUNIT_EXPECT_FALSE(test, fx->r.broken);
}

static struct kunit_case vdpasim_ring_packed_cases[] = {
	KUNIT_CASE(single_test),
	KUNIT_CASE(chain_test),
	KUNIT_CASE_PARAM(wrap_laps_test, wrap_gen_params),
	KUNIT_CASE(wrap_chain_test),
	KUNIT_CASE_PARAM(avail_flags_test, flags_gen_params),
	KUNIT_CASE(indirect_test),
	KUNIT_CASE_PARAM(bad_test, bad_gen_params),
	KUNIT_CASE(odd_num_test),
	KUNIT_CASE(used_read_only_test),
	KUNIT_CASE(unfetch_test),
	KUNIT_CASE(inflight_test),
	KUNIT_CASE(drop_test),
	KUNIT_CASE_PARAM(notify_test, notify_gen_params),
	KUNIT_CASE(notify_unreadable_test),
	KUNIT_CASE(device_event_test),
	KUNIT_CASE(bad_buffer_test),
	{}
};

static struct kunit_suite vdpasim_ring_packed_suite = {
	.name = "vdpasim_ring_packed",
	.init = packed_init,
	.exit = fx_exit,
	.test_cases = vdpasim_ring_packed_cases,
};

kunit_test_suite(vdpasim_ring_packed_suite);

MODULE_DESCRIPTION("KUnit tests of the vdpa_sim packed ring engine");
MODULE_LICENSE("GPL");
