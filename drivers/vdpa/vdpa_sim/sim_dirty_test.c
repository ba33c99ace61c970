// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the simulator's dirty-page record (sim_dirty.h): the
 * range and bit arithmetic at its edges, merging, a full record, and what
 * the ring engine notes when it completes a chain.  Needs a kernel with
 * CONFIG_KUNIT; see the Kbuild file.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/vhost_iotlb.h>
#include <uapi/linux/virtio_ring.h>

#include "sim_dirty.h"
#include "sim_ring.h"
#include "sim_ring_fixture.h"

/* ---- bytes to log pages ---- */

struct pages_case {
	const char *name;
	u64 iova, len;
	bool ok;
	u64 first, last;
};

static const struct pages_case pages_cases[] = {
	{ "empty", 0x1000, 0, false, 0, 0 },
	{ "one byte at 0", 0, 1, true, 0, 0 },
	{ "last byte of a page", 0xfff, 1, true, 0, 0 },
	{ "two bytes across a page end", 0xfff, 2, true, 0, 1 },
	{ "one whole page", 0x5000, 0x1000, true, 5, 5 },
	{ "one page plus a byte", 0x5000, 0x1001, true, 5, 6 },
	{ "last byte of the IOVA space", U64_MAX, 1, true,
	  U64_MAX >> 12, U64_MAX >> 12 },
	{ "ends at U64_MAX", U64_MAX - 0xfff, 0x1000, true,
	  U64_MAX >> 12, U64_MAX >> 12 },
	{ "wraps past U64_MAX", U64_MAX, 2, false, 0, 0 },
	{ "whole 2^64 minus one", 0, U64_MAX, true, 0, U64_MAX >> 12 },
	{ "4 GiB buffer", 0x7ffff000, 0x100000000ULL, true,
	  0x7ffff, 0x17fffe },
};

static void pages_case_desc(const struct pages_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(pages, pages_cases, pages_case_desc);

static void pages_test(struct kunit *test)
{
	const struct pages_case *c = test->param_value;
	u64 first = 0, last = 0;

	KUNIT_ASSERT_EQ(test, vdpasim_dirty_pages(c->iova, c->len, &first,
						  &last), c->ok);
	if (!c->ok)
		return;
	KUNIT_EXPECT_EQ(test, first, c->first);
	KUNIT_EXPECT_EQ(test, last, c->last);
}

/* ---- log page to bitmap byte and bit ---- */

struct bit_case {
	const char *name;
	u64 base, page;
	bool ok;
	u64 byte;
	unsigned int bit;
};

static const struct bit_case bit_cases[] = {
	{ "page 0", 0x10000, 0, true, 0x10000, 0 },
	{ "page 7", 0x10000, 7, true, 0x10000, 7 },
	{ "page 8", 0x10000, 8, true, 0x10001, 0 },
	{ "page 64 (second u64)", 0x10000, 64, true, 0x10008, 0 },
	{ "highest page", 0x10000, U64_MAX >> 12, true,
	  0x10000 + (U64_MAX >> 15), 7 },
	{ "base at U64_MAX, page 7", U64_MAX, 7, true, U64_MAX, 7 },
	{ "base at U64_MAX, page 8", U64_MAX, 8, false, 0, 0 },
	{ "byte address wraps", U64_MAX - 0x10, U64_MAX >> 12, false, 0, 0 },
};

static void bit_case_desc(const struct bit_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bit, bit_cases, bit_case_desc);

static void bit_test(struct kunit *test)
{
	const struct bit_case *c = test->param_value;
	unsigned int bit = 0;
	u64 byte = 0;

	KUNIT_ASSERT_EQ(test, vdpasim_dirty_bit_addr(c->base, c->page, &byte,
						     &bit), c->ok);
	if (!c->ok)
		return;
	KUNIT_EXPECT_EQ(test, byte, c->byte);
	KUNIT_EXPECT_EQ(test, bit, c->bit);
}

/* ---- the record ---- */

static struct vdpasim_dirty *dirty_alloc(struct kunit *test)
{
	struct vdpasim_dirty *d = kunit_kzalloc(test, sizeof(*d), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, d);
	return d;
}

static void merge_test(struct kunit *test)
{
	struct vdpasim_dirty *d = dirty_alloc(test);

	/* the same page twice, then the next one: one range */
	vdpasim_dirty_note(d, 0x2004, 8);
	vdpasim_dirty_note(d, 0x2002, 2);
	vdpasim_dirty_note(d, 0x3000, 0x10);
	KUNIT_ASSERT_EQ(test, d->count, 1U);
	KUNIT_EXPECT_EQ(test, d->range[0].first, 2ULL);
	KUNIT_EXPECT_EQ(test, d->range[0].last, 3ULL);
	/* a gap of one page: a range of its own */
	vdpasim_dirty_note(d, 0x5000, 1);
	KUNIT_ASSERT_EQ(test, d->count, 2U);
	KUNIT_EXPECT_EQ(test, d->range[1].first, 5ULL);
	/* the page just below the first range joins it */
	vdpasim_dirty_note(d, 0x1fff, 1);
	KUNIT_ASSERT_EQ(test, d->count, 2U);
	KUNIT_EXPECT_EQ(test, d->range[0].first, 1ULL);
	/* empty and wrapping writes note nothing */
	vdpasim_dirty_note(d, 0x9000, 0);
	vdpasim_dirty_note(d, U64_MAX, 2);
	KUNIT_EXPECT_EQ(test, d->count, 2U);
	KUNIT_EXPECT_FALSE(test, d->merged_over);
	vdpasim_dirty_clear(d);
	KUNIT_EXPECT_EQ(test, d->count, 0U);
}

static void top_page_test(struct kunit *test)
{
	struct vdpasim_dirty *d = dirty_alloc(test);
	const u64 top = U64_MAX >> VDPASIM_LOG_PAGE_SHIFT;

	vdpasim_dirty_note(d, U64_MAX, 1);
	vdpasim_dirty_note(d, U64_MAX - 0x1fff, 0x1000);
	KUNIT_ASSERT_EQ(test, d->count, 1U);
	KUNIT_EXPECT_EQ(test, d->range[0].first, top - 1);
	KUNIT_EXPECT_EQ(test, d->range[0].last, top);
}

/*
 * Pages two apart never merge; once the record is full the last range
 * grows, so nothing written is lost (and pages in between are marked).
 */
static void full_test(struct kunit *test)
{
	struct vdpasim_dirty *d = dirty_alloc(test);
	unsigned int i;

	for (i = 0; i < VDPASIM_DIRTY_MAX; i++)
		vdpasim_dirty_note(d, (u64)i * 0x2000, 1);
	KUNIT_ASSERT_EQ(test, d->count, (unsigned int)VDPASIM_DIRTY_MAX);
	KUNIT_EXPECT_FALSE(test, d->merged_over);

	vdpasim_dirty_note(d, 0x10000000, 1);
	KUNIT_EXPECT_EQ(test, d->count, (unsigned int)VDPASIM_DIRTY_MAX);
	KUNIT_EXPECT_TRUE(test, d->merged_over);
	KUNIT_EXPECT_EQ(test, d->range[VDPASIM_DIRTY_MAX - 1].first,
			(u64)(VDPASIM_DIRTY_MAX - 1) * 2);
	KUNIT_EXPECT_EQ(test, d->range[VDPASIM_DIRTY_MAX - 1].last, 0x10000ULL);
}

/* ---- what the ring engine notes ---- */

#define MEM_ORDER	4			/* 64 KiB */
#define RW_IOVA		0x40000000ULL
#define DESC_OFF	0x0000
#define AVAIL_OFF	0x1000
#define USED_OFF	0x2000
#define DATA_OFF	0x4000

static const struct ring_layout layout = {
	.order = MEM_ORDER,
	.iova = RW_IOVA,
	.desc_off = DESC_OFF,
	.avail_off = AVAIL_OFF,
	.used_off = USED_OFF,
	.data_off = DATA_OFF,
	.fill_mul = 7,
	.fill_add = 3,
};

static int ring_init(struct kunit *test)
{
	fx_init(test, &layout);
	return 0;
}

static bool noted(const struct vdpasim_dirty *d, u64 iova)
{
	u64 page = iova >> VDPASIM_LOG_PAGE_SHIFT;
	unsigned int i;

	for (i = 0; i < d->count; i++)
		if (d->range[i].first <= page && page <= d->range[i].last)
			return true;
	return false;
}

/*
 * A chain reading page 4 and writing pages 6 and 8: the write notes the
 * two buffer pages and the push the used ring's page, and nothing else.
 */
static void ring_notes_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	struct vdpasim_chain *c = &fx->chain;
	struct vdpasim_dirty *d = dirty_alloc(test);
	u8 buf[64] = { 1 };

	fx_ring_setup(fx, 8, 0);
	fx_put_desc(fx, DESC_OFF, 0, RW_IOVA + 0x4000, 16,
		    VRING_DESC_F_NEXT, 1);
	fx_put_desc(fx, DESC_OFF, 1, RW_IOVA + 0x6fe0, 32,
		    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	fx_put_desc(fx, DESC_OFF, 2, RW_IOVA + 0x8000, 32,
		    VRING_DESC_F_WRITE, 0);
	fx_publish(fx, 0);
	fx->r.dirty = d;

	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&fx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, d->count, 0U);
	KUNIT_ASSERT_EQ(test, vdpasim_chain_read(&fx->r, c, 0, buf, 16), 16);
	KUNIT_EXPECT_EQ(test, d->count, 0U);
	KUNIT_ASSERT_EQ(test, vdpasim_chain_write(&fx->r, c, 0, buf, 40), 40);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&fx->r, 0, 40), 0);

	KUNIT_EXPECT_TRUE(test, noted(d, RW_IOVA + 0x6fe0));
	KUNIT_EXPECT_TRUE(test, noted(d, RW_IOVA + 0x8000));
	KUNIT_EXPECT_TRUE(test, noted(d, RW_IOVA + USED_OFF));
	KUNIT_EXPECT_FALSE(test, noted(d, RW_IOVA + 0x7000));
	KUNIT_EXPECT_FALSE(test, noted(d, RW_IOVA + 0x4000));
	KUNIT_EXPECT_FALSE(test, noted(d, RW_IOVA + AVAIL_OFF));
	KUNIT_EXPECT_FALSE(test, noted(d, RW_IOVA + DESC_OFF));
	KUNIT_EXPECT_FALSE(test, d->merged_over);
}

/* Without a record, nothing is noted anywhere (the usual case). */
static void ring_no_record_test(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;
	struct vdpasim_chain *c = &fx->chain;

	fx_ring_setup(fx, 8, 0);
	fx_put_desc(fx, DESC_OFF, 0, RW_IOVA + 0x6000, 32,
		    VRING_DESC_F_WRITE, 0);
	fx_publish(fx, 0);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&fx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_chain_write(&fx->r, c, 0, "x", 1), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&fx->r, 0, 1), 0);
	KUNIT_EXPECT_TRUE(test, !fx->r.dirty);
}

static struct kunit_case vdpasim_dirty_cases[] = {
	KUNIT_CASE_PARAM(pages_test, pages_gen_params),
	KUNIT_CASE_PARAM(bit_test, bit_gen_params),
	KUNIT_CASE(merge_test),
	KUNIT_CASE(top_page_test),
	KUNIT_CASE(full_test),
	KUNIT_CASE(ring_notes_test),
	KUNIT_CASE(ring_no_record_test),
	{}
};

static struct kunit_suite vdpasim_dirty_suite = {
	.name = "vdpasim_dirty",
	.init = ring_init,
	.exit = fx_exit,
	.test_cases = vdpasim_dirty_cases,
};

kunit_test_suite(vdpasim_dirty_suite);

MODULE_DESCRIPTION("KUnit tests of the vdpa_sim dirty-page record");
MODULE_LICENSE("GPL");
