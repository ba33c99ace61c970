// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the vdpa_sim split ring engine and IOTLB copies.
 *
 * The "driver" is the test itself: it builds rings in a few pages of its own,
 * maps them through a real vhost_iotlb (PA mode, as the simulator does) and
 * checks what the engine fetches, copies and publishes.  Needs a kernel with
 * CONFIG_KUNIT; see the Kbuild file.
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

#define TEST_ORDER	5			/* 128 KiB of "guest" memory */
#define TEST_SIZE	(PAGE_SIZE << TEST_ORDER)
#define TEST_IOVA	0x40000000ULL		/* IOVA of the first byte */
/* Ring placement, as offsets into the test memory. */
#define DESC_OFF	0x0000
#define AVAIL_OFF	0x1000
#define USED_OFF	0x2000
#define INDIR_OFF	0x4000
#define DATA_OFF	0x8000

static const struct ring_layout layout = {
	.order = TEST_ORDER,
	.iova = TEST_IOVA,
	.desc_off = DESC_OFF,
	.avail_off = AVAIL_OFF,
	.used_off = USED_OFF,
	.data_off = DATA_OFF,
	.fill_mul = 7,
	.fill_add = 3,
};

static u64 iova(unsigned long off)
{
	return TEST_IOVA + off;
}

static int ring_test_init(struct kunit *test)
{
	fx_init(test, &layout);
	return 0;
}

/* ---- IOTLB copies ---- */

/*
 * Two more windows onto the data area: IOVA 0x1000 read-only, then 0x2000
 * write-only onto the page after it.
 */
static void add_ro_wo_windows(struct kunit *test, struct ring_fixture *ctx)
{
	phys_addr_t data = page_to_phys(ctx->pages) + DATA_OFF;

	KUNIT_ASSERT_EQ(test, vhost_iotlb_add_range(ctx->iotlb, 0x1000, 0x1fff,
						    data, VHOST_MAP_RO), 0);
	KUNIT_ASSERT_EQ(test, vhost_iotlb_add_range(ctx->iotlb, 0x2000, 0x2fff,
						    data + 0x1000,
						    VHOST_MAP_WO), 0);
}

static void iotlb_copy_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	u8 buf[64];
	int i;

	add_ro_wo_windows(test, ctx);

	/* Across the RO/WO boundary: reading needs read permission. */
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, NULL, 0x1ff0, buf, 16),
			0);
	KUNIT_EXPECT_EQ(test, memcmp(buf, ctx->mem + DATA_OFF + 0xff0, 16), 0);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, NULL, 0x1ff0, buf, 17),
			-EACCES);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write(ctx->iotlb, NULL, 0x1ff0, buf, 4),
			-EACCES);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write(ctx->iotlb, NULL, 0x2ff0, buf, 16),
			0);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write(ctx->iotlb, NULL, 0x2ff0, buf, 17),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, NULL, 0xfff, buf, 2),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, NULL, 0x3000, buf, 0),
			0);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, NULL, U64_MAX, buf, 2),
			-EOVERFLOW);

	/* Across pages of one entry. */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = 0xc0 + i;
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write(ctx->iotlb, NULL,
						  iova(DATA_OFF + PAGE_SIZE - 20),
						  buf, sizeof(buf)), 0);
	KUNIT_EXPECT_EQ(test, memcmp(ctx->mem + DATA_OFF + PAGE_SIZE - 20, buf,
				     sizeof(buf)), 0);
}

/*
 * The 16-bit accessors of the ring indices: one access when the IOVA is
 * even and the entry allows it, otherwise the copy's answer.
 */
static void iotlb_index16_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	__le16 v;

	add_ro_wo_windows(test, ctx);

	/* little endian, in place, both ways */
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write16(ctx->iotlb, NULL,
						    iova(DATA_OFF + 6),
						    cpu_to_le16(0x1234)), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, DATA_OFF + 6), 0x1234);
	KUNIT_EXPECT_EQ(test, ctx->mem[DATA_OFF + 6], 0x34);
	fx_put16(ctx, DATA_OFF + PAGE_SIZE - 2, 0xbeef);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL,
						   iova(DATA_OFF + PAGE_SIZE - 2),
						   &v), 0);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(v), 0xbeef);

	/* permissions and holes, as the copies report them */
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL, 0x1ffe, &v), 0);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write16(ctx->iotlb, NULL, 0x1ffe, v),
			-EACCES);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL, 0x2000, &v),
			-EACCES);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write16(ctx->iotlb, NULL, 0x2000, v), 0);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL, 0x3000, &v),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write16(ctx->iotlb, NULL, 0xffe, v),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL, U64_MAX - 1, &v),
			-EFAULT);

	/* odd IOVAs (no single access): copied, same answers */
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write16(ctx->iotlb, NULL,
						    iova(DATA_OFF + 9),
						    cpu_to_le16(0xa55a)), 0);
	KUNIT_EXPECT_EQ(test, ctx->mem[DATA_OFF + 9], 0x5a);
	KUNIT_EXPECT_EQ(test, ctx->mem[DATA_OFF + 10], 0xa5);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL,
						   iova(DATA_OFF + 9), &v), 0);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(v), 0xa55a);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL, 0x1fff, &v),
			-EACCES);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write16(ctx->iotlb, NULL, 0x2fff, v),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, NULL, U64_MAX, &v),
			-EOVERFLOW);
}

/*
 * The hint: an access starts from the entry the last one went through when
 * that entry covers its first byte, and searches otherwise.  Either way the
 * answers are those of an access without a hint, and the hint ends on the
 * entry the access ended in; a hole leaves it where it was.
 */
static void iotlb_hint_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	phys_addr_t data = page_to_phys(ctx->pages) + DATA_OFF;
	struct vhost_iotlb_map *hint = NULL, *ro, *wo, *rw;
	u8 buf[32];
	__le16 v;
	int i;

	add_ro_wo_windows(test, ctx);
	KUNIT_ASSERT_EQ(test, vhost_iotlb_add_range(ctx->iotlb, 0x3000, 0x3fff,
						    data + 0x2000,
						    VHOST_MAP_RW), 0);
	ro = vhost_iotlb_itree_first(ctx->iotlb, 0x1000, 0x1000);
	wo = vhost_iotlb_itree_first(ctx->iotlb, 0x2000, 0x2000);
	rw = vhost_iotlb_itree_first(ctx->iotlb, 0x3000, 0x3000);
	KUNIT_ASSERT_TRUE(test, ro && wo && rw);

	/* no hint yet: searched, then kept */
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, &hint, 0x1100, buf,
						 16), 0);
	KUNIT_EXPECT_EQ(test, memcmp(buf, ctx->mem + DATA_OFF + 0x100, 16), 0);
	KUNIT_EXPECT_PTR_EQ(test, hint, ro);
	/* a hint that does not cover the address, above or below it */
	fx_put16(ctx, DATA_OFF + 0x2002, 0x4321);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, &hint, 0x3002,
						   &v), 0);
	KUNIT_EXPECT_EQ(test, le16_to_cpu(v), 0x4321);
	KUNIT_EXPECT_PTR_EQ(test, hint, rw);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = 0x80 + i;
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write(ctx->iotlb, &hint, 0x2010,
						  buf, 4), 0);
	KUNIT_EXPECT_EQ(test, memcmp(ctx->mem + DATA_OFF + 0x1010, buf, 4), 0);
	KUNIT_EXPECT_PTR_EQ(test, hint, wo);
	/* across two entries from a covering hint: ends on the second */
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write(ctx->iotlb, &hint, 0x2ff0,
						  buf, sizeof(buf)), 0);
	KUNIT_EXPECT_EQ(test, memcmp(ctx->mem + DATA_OFF + 0x1ff0, buf,
				     sizeof(buf)), 0);
	KUNIT_EXPECT_PTR_EQ(test, hint, rw);
	/* permissions are the covering entry's, hint or not */
	hint = ro;
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write(ctx->iotlb, &hint, 0x1000,
						  buf, 4), -EACCES);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_write16(ctx->iotlb, &hint, 0x1002,
						    v), -EACCES);
	hint = wo;
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, &hint, 0x2000,
						   &v), -EACCES);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, &hint, 0x2ff0,
						 buf, 32), -EACCES);
	/* a hole: the same error, the hint stays */
	hint = rw;
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, &hint, 0x4000,
						 buf, 2), -EFAULT);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read16(ctx->iotlb, &hint, 0x800,
						   &v), -EFAULT);
	KUNIT_EXPECT_PTR_EQ(test, hint, rw);
	KUNIT_EXPECT_EQ(test, vdpasim_iotlb_read(ctx->iotlb, &hint, 0x3ff0,
						 buf, 17), -EFAULT);
}

/* ---- chains ---- */

static void simple_chain_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	u8 buf[32];

	fx_ring_setup(ctx, 8, 0);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 0);
	fx_put_desc(ctx, DESC_OFF, 3, iova(DATA_OFF), 10, VRING_DESC_F_NEXT, 5);
	fx_put_desc(ctx, DESC_OFF, 5, iova(DATA_OFF + 0x100), 0,
		    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 6);
	fx_put_desc(ctx, DESC_OFF, 6, iova(DATA_OFF + 0x200), 8,
		    VRING_DESC_F_WRITE, 0);
	fx_publish(ctx, 3);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->head, 3);
	KUNIT_EXPECT_EQ(test, c->n_out, 1U);
	KUNIT_EXPECT_EQ(test, c->n_in, 2U);
	KUNIT_EXPECT_EQ(test, c->out_len, 10ULL);
	KUNIT_EXPECT_EQ(test, c->in_len, 8ULL);
	KUNIT_EXPECT_EQ(test, vdpasim_chain_read(&ctx->r, c, 4, buf, 32), 6);
	KUNIT_EXPECT_EQ(test, memcmp(buf, ctx->mem + DATA_OFF + 4, 6), 0);
	KUNIT_EXPECT_EQ(test, vdpasim_chain_write(&ctx->r, c, 7, "\x5a", 1), 1);
	KUNIT_EXPECT_EQ(test, ctx->mem[DATA_OFF + 0x207], 0x5a);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, c->head, 8), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 1);
	KUNIT_EXPECT_EQ(test, fx_get32(ctx, USED_OFF + 4), 3U);
	KUNIT_EXPECT_EQ(test, fx_get32(ctx, USED_OFF + 8), 8U);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 0);
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
}

/* Make chains @first..@first + @n - 1 available, each one readable byte. */
static void publish_byte_chains(struct ring_fixture *ctx, u16 first, u16 n)
{
	u16 head;

	for (head = first; head < first + n; head++) {
		fx_put_desc(ctx, DESC_OFF, head, iova(DATA_OFF), 1, 0, 0);
		fx_publish(ctx, head);
	}
}

/* A fresh ring (see fx_ring_setup()) with @n such chains from head 0. */
static void setup_byte_chains(struct ring_fixture *ctx, u32 num, u16 base,
			      u16 n)
{
	fx_ring_setup(ctx, num, base);
	publish_byte_chains(ctx, 0, n);
}

/*
 * The avail idx is read once per batch: the chains its last value showed
 * are fetched without reading it again, in order, and a value written
 * meanwhile (here a malformed one) is seen when they are used up.
 */
static void avail_batch_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	u16 head;

	setup_byte_chains(ctx, 8, 65534, 3);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->head, 0);
	/* 9 ahead of the device once it has the three: malformed when read */
	fx_put16(ctx, AVAIL_OFF + 2, (65534 + 3 + 9) & 0xffff);
	for (head = 1; head < 3; head++) {
		KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
		KUNIT_EXPECT_EQ(test, c->head, head);
	}
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), -EIO);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);

	/* an unfetch is fetched again from what was seen */
	fx_ring_setup(ctx, 8, 0);
	fx_put_desc(ctx, DESC_OFF, 4, iova(DATA_OFF), 1, 0, 0);
	fx_publish(ctx, 4);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	vdpasim_ring_unfetch(&ctx->r);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->head, 4);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 0);
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
}

/*
 * Used entries added without publication are in the ring but not under the
 * used idx, which one publication then moves past all of them (and only
 * once: nothing to store when nothing was added since).
 */
static void used_batch_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	u16 head;

	setup_byte_chains(ctx, 4, 65535, 3);
	for (head = 0; head < 3; head++) {
		KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
		KUNIT_EXPECT_EQ(test,
				vdpasim_ring_add_used(&ctx->r, c->head, head + 10),
				0);
		/* slots 3, 0, 1: the index wraps past 65535 */
		KUNIT_EXPECT_EQ(test, fx_get32(ctx, USED_OFF + 4 +
					       8 * ((head + 3) % 4)), head);
		KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 65535);
	}
	KUNIT_EXPECT_EQ(test, ctx->r.used_idx, 2);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_publish_used(&ctx->r), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 2);

	/* a second publication with nothing new stores nothing */
	fx_put16(ctx, USED_OFF + 2, 0xdead);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_publish_used(&ctx->r), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 0xdead);

	/* a push publishes at once, its own entry and any added before */
	fx_put16(ctx, USED_OFF + 2, 2);
	publish_byte_chains(ctx, 0, 2);
	for (head = 0; head < 2; head++)
		KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_add_used(&ctx->r, 0, 1), 0);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, 1, 1), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), 4);
	KUNIT_EXPECT_FALSE(test, ctx->r.broken);
}

static void indirect_chain_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;

	fx_ring_setup(ctx, 4, 0);
	fx_put_desc(ctx, DESC_OFF, 2, iova(DATA_OFF), 4, VRING_DESC_F_NEXT, 1);
	fx_put_desc(ctx, DESC_OFF, 1, iova(INDIR_OFF), 4 * 16,
		    VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	fx_put_desc(ctx, INDIR_OFF, 0, iova(DATA_OFF + 10), 6, VRING_DESC_F_NEXT,
		    3);
	fx_put_desc(ctx, INDIR_OFF, 3, iova(DATA_OFF + 20), 9, VRING_DESC_F_WRITE,
		    0);
	fx_publish(ctx, 2);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, c->n_out, 2U);
	KUNIT_EXPECT_EQ(test, c->n_in, 1U);
	KUNIT_EXPECT_EQ(test, c->out_len, 10ULL);
	KUNIT_EXPECT_EQ(test, c->in_len, 9ULL);
	KUNIT_EXPECT_EQ(test, c->seg[2].addr, iova(DATA_OFF + 20));
}

/* Queue sizes whose indices are driven across 65535 -> 0. */
static const u32 wrap_nums[] = { 1, 2, 8, 256 };

static void wrap_num_desc(const u32 *num, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "num %u", *num);
}

KUNIT_ARRAY_PARAM(wrap, wrap_nums, wrap_num_desc);

static void wrap_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;
	struct vdpasim_chain *c = &ctx->chain;
	u32 num = *(const u32 *)test->param_value;
	unsigned int i;

	fx_ring_setup(ctx, num, 65533);
	fx_put_desc(ctx, DESC_OFF, 0, iova(DATA_OFF), 1, 0, 0);
	for (i = 0; i < 6; i++) {
		u16 idx = 65533 + i;

		fx_publish(ctx, 0);
		KUNIT_ASSERT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
		KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&ctx->r, 0, i), 0);
		KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 2), (u16)(idx + 1));
		KUNIT_EXPECT_EQ(test,
				fx_get32(ctx, USED_OFF + 8 + 8 * (idx & (num - 1))),
				i);
	}
	KUNIT_EXPECT_EQ(test, ctx->r.last_avail_idx, 3);
	/* A full ring straddling the wrap is accepted, one more is not. */
	fx_ring_setup(ctx, num, 65535);
	fx_put16(ctx, AVAIL_OFF + 2, (u16)(65535 + num));
	for (i = 0; i < num; i++)
		KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 0);
	fx_ring_setup(ctx, num, 65535);
	fx_put16(ctx, AVAIL_OFF + 2, (u16)(65535 + num + 1));
	KUNIT_EXPECT_LT(test, vdpasim_ring_fetch(&ctx->r, c, "t"), 0);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
}

/* ---- malformed rings: each must break the ring, not the kernel ---- */

struct malformed_case {
	const char *name;
	void (*build)(struct ring_fixture *ctx);
};

static void build_head_range(struct ring_fixture *ctx)
{
	fx_publish(ctx, 4);
}

static void build_next_range(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(DATA_OFF), 1, VRING_DESC_F_NEXT, 4);
	fx_publish(ctx, 0);
}

static void build_self_loop(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 1, iova(DATA_OFF), 1, VRING_DESC_F_NEXT, 1);
	fx_publish(ctx, 1);
}

static void build_cycle(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(DATA_OFF), 1, VRING_DESC_F_NEXT, 2);
	fx_put_desc(ctx, DESC_OFF, 2, iova(DATA_OFF), 1, VRING_DESC_F_NEXT, 0);
	fx_publish(ctx, 0);
}

static void build_indirect_loop(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(INDIR_OFF), 32, VRING_DESC_F_INDIRECT,
		    0);
	fx_put_desc(ctx, INDIR_OFF, 0, iova(DATA_OFF), 1, VRING_DESC_F_NEXT, 1);
	fx_put_desc(ctx, INDIR_OFF, 1, iova(DATA_OFF), 1, VRING_DESC_F_NEXT, 0);
	fx_publish(ctx, 0);
}

static void build_too_many_segs(struct ring_fixture *ctx)
{
	unsigned int i, n = VDPASIM_CHAIN_MAX_SEGS + 1;

	for (i = 0; i < n; i++)
		fx_put_desc(ctx, INDIR_OFF, i, iova(DATA_OFF), 1,
			    i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1);
	fx_put_desc(ctx, DESC_OFF, 0, iova(INDIR_OFF), n * 16,
		    VRING_DESC_F_INDIRECT, 0);
	fx_publish(ctx, 0);
}

static void build_indirect_next(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(INDIR_OFF), 16,
		    VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	fx_publish(ctx, 0);
}

static void build_nested_indirect(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(INDIR_OFF), 16, VRING_DESC_F_INDIRECT,
		    0);
	fx_put_desc(ctx, INDIR_OFF, 0, iova(INDIR_OFF), 16, VRING_DESC_F_INDIRECT,
		    0);
	fx_publish(ctx, 0);
}

static void build_indirect_len0(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(INDIR_OFF), 0, VRING_DESC_F_INDIRECT,
		    0);
	fx_publish(ctx, 0);
}

static void build_indirect_len17(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(INDIR_OFF), 17, VRING_DESC_F_INDIRECT,
		    0);
	fx_publish(ctx, 0);
}

static void build_read_after_write(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, iova(DATA_OFF), 0,
		    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	fx_put_desc(ctx, DESC_OFF, 1, iova(DATA_OFF), 1, 0, 0);
	fx_publish(ctx, 0);
}

static void build_avail_jump(struct ring_fixture *ctx)
{
	fx_put16(ctx, AVAIL_OFF + 2, ctx->avail_idx + ctx->r.num + 1);
}

static void build_unmapped_desc(struct ring_fixture *ctx)
{
	ctx->r.desc_addr = 0x10;
	fx_publish(ctx, 0);
}

static void build_unmapped_avail(struct ring_fixture *ctx)
{
	ctx->r.avail_addr = iova(TEST_SIZE - 1);
}

static void build_wrapping_table(struct ring_fixture *ctx)
{
	fx_put_desc(ctx, DESC_OFF, 0, U64_MAX - 7, 32, VRING_DESC_F_INDIRECT, 0);
	fx_publish(ctx, 0);
}

static void build_bad_num(struct ring_fixture *ctx)
{
	ctx->r.num = 12;
}

static const struct malformed_case malformed_cases[] = {
	{ "head out of range", build_head_range },
	{ "next out of range", build_next_range },
	{ "self loop", build_self_loop },
	{ "cycle", build_cycle },
	{ "indirect loop", build_indirect_loop },
	{ "too many segments", build_too_many_segs },
	{ "indirect with next", build_indirect_next },
	{ "nested indirect", build_nested_indirect },
	{ "indirect length 0", build_indirect_len0 },
	{ "indirect length 17", build_indirect_len17 },
	{ "readable after writable", build_read_after_write },
	{ "avail idx num + 1 ahead", build_avail_jump },
	{ "unmapped descriptor table", build_unmapped_desc },
	{ "unmapped avail idx", build_unmapped_avail },
	{ "table wrapping 2^64", build_wrapping_table },
	{ "queue size 12", build_bad_num },
};

static void malformed_desc(const struct malformed_case *mc, char *desc)
{
	strscpy(desc, mc->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(malformed, malformed_cases, malformed_desc);

static void malformed_test(struct kunit *test)
{
	const struct malformed_case *mc = test->param_value;
	struct ring_fixture *ctx = test->priv;

	fx_ring_setup(ctx, 4, 65534);
	mc->build(ctx);
	KUNIT_EXPECT_LT(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"), 0);
	KUNIT_EXPECT_TRUE(test, ctx->r.broken);
	/* Broken stays broken until init. */
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"),
			-EIO);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 0), -EIO);
	KUNIT_EXPECT_FALSE(test, vdpasim_ring_should_notify(&ctx->r));
}

/* ---- notifications ---- */

struct notify_case {
	const char *name;
	u16 signalled;		/* used idx at the previous notification */
	u16 used;		/* used idx now */
	u16 used_event;
	bool expect;
};

static const struct notify_case notify_cases[] = {
	{ "event just crossed", 10, 11, 10, true },
	{ "event not reached", 10, 11, 11, false },
	{ "event already behind", 10, 11, 9, false },
	{ "event inside a batch", 10, 14, 12, true },
	{ "batch across the wrap", 65534, 2, 65535, true },
	{ "event after the wrap", 65534, 2, 1, true },
	{ "event ahead across the wrap", 65534, 2, 2, false },
	{ "nothing new", 7, 7, 6, false },
};

static void notify_desc(const struct notify_case *nc, char *desc)
{
	strscpy(desc, nc->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(notify, notify_cases, notify_desc);

static void event_idx_test(struct kunit *test)
{
	const struct notify_case *nc = test->param_value;
	struct ring_fixture *ctx = test->priv;
	u16 i;

	fx_ring_setup(ctx, 8, nc->signalled);
	ctx->r.event_idx = true;
	/* The first decision after init always notifies. */
	KUNIT_EXPECT_TRUE(test, vdpasim_ring_should_notify(&ctx->r));
	for (i = nc->signalled; i != nc->used; i++)
		KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 0), 0);
	fx_put16(ctx, AVAIL_OFF + 4 + 2 * 8, nc->used_event);
	/* NO_INTERRUPT means nothing with event_idx. */
	fx_put16(ctx, AVAIL_OFF, VRING_AVAIL_F_NO_INTERRUPT);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_should_notify(&ctx->r), nc->expect);
}

static void no_interrupt_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;

	fx_ring_setup(ctx, 8, 0);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 0), 0);
	KUNIT_EXPECT_TRUE(test, vdpasim_ring_should_notify(&ctx->r));
	fx_put16(ctx, AVAIL_OFF, VRING_AVAIL_F_NO_INTERRUPT);
	KUNIT_ASSERT_EQ(test, vdpasim_ring_push(&ctx->r, 0, 0), 0);
	KUNIT_EXPECT_FALSE(test, vdpasim_ring_should_notify(&ctx->r));
}

static void avail_event_test(struct kunit *test)
{
	struct ring_fixture *ctx = test->priv;

	fx_ring_setup(ctx, 8, 100);
	ctx->r.event_idx = true;
	fx_put_desc(ctx, DESC_OFF, 0, iova(DATA_OFF), 1, 0, 0);
	fx_publish(ctx, 0);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"), 1);
	KUNIT_EXPECT_EQ(test, vdpasim_ring_fetch(&ctx->r, &ctx->chain, "t"), 0);
	KUNIT_EXPECT_EQ(test, fx_get16(ctx, USED_OFF + 4 + 8 * 8), 101);
}

static struct kunit_case vdpasim_ring_cases[] = {
	KUNIT_CASE(iotlb_copy_test),
	KUNIT_CASE(iotlb_index16_test),
	KUNIT_CASE(iotlb_hint_test),
	KUNIT_CASE(simple_chain_test),
	KUNIT_CASE(avail_batch_test),
	KUNIT_CASE(used_batch_test),
	KUNIT_CASE(indirect_chain_test),
	KUNIT_CASE_PARAM(wrap_test, wrap_gen_params),
	KUNIT_CASE_PARAM(malformed_test, malformed_gen_params),
	KUNIT_CASE_PARAM(event_idx_test, notify_gen_params),
	KUNIT_CASE(no_interrupt_test),
	KUNIT_CASE(avail_event_test),
	{}
};

static struct kunit_suite vdpasim_ring_suite = {
	.name = "vdpasim_ring",
	.init = ring_test_init,
	.exit = fx_exit,
	.test_cases = vdpasim_ring_cases,
};

kunit_test_suite(vdpasim_ring_suite);

MODULE_DESCRIPTION("KUnit tests of the vdpa_sim ring engine");
MODULE_LICENSE("GPL");
