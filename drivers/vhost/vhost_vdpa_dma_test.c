// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the vhost-vdpa IOTLB: range arithmetic, message parsing
 * and validation, invalidation, batching and address spaces.
 *
 * The file under test is compiled into this module (included below), so the
 * tests reach its static helpers and its state without any export.  The
 * parent is a fake that records what it is asked.  A KUnit test runs in a
 * kernel thread with no user memory, so entries are entered by the test
 * itself: kernel pages given a pin reference the way pin_user_pages() does,
 * which the code under test must drop exactly once (checked at exit).
 * Needs a kernel with CONFIG_KUNIT; see the Kbuild file.
 */

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/page_ref.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <linux/vmstat.h>

#include "vhost_vdpa_dma.c"

/* ---- pure helpers ---- */

static void perm_ok_test(struct kunit *test)
{
	unsigned int perm;

	for (perm = 0; perm < 256; perm++)
		KUNIT_EXPECT_EQ_MSG(test, vhost_vdpa_dma_perm_ok(perm),
				    perm >= 1 && perm <= 3, "perm %u", perm);
}

struct update_case {
	const char *name;
	u64 first, last;	/* device range */
	u64 iova, size;
	bool ok;
	u64 expect_last;
};

static const struct update_case update_cases[] = {
	{ "one byte at 0", 0, U64_MAX, 0, 1, true, 0 },
	{ "one page", 0, U64_MAX, 0x1000, 0x1000, true, 0x1fff },
	{ "all but the last byte", 0, U64_MAX, 0, U64_MAX, true,
	  U64_MAX - 1 },
	{ "ends exactly at 2^64 - 1", 0, U64_MAX, 1, U64_MAX, true, U64_MAX },
	{ "wraps past 2^64 by one", 0, U64_MAX, 2, U64_MAX, false, 0 },
	{ "last byte of the space", 0, U64_MAX, U64_MAX, 1, true, U64_MAX },
	{ "two bytes at the last byte", 0, U64_MAX, U64_MAX, 2, false, 0 },
	{ "page below the range", 0x1000, 0xffff, 0xfff, 1, false, 0 },
	{ "the whole range", 0x1000, 0xffff, 0x1000, 0xf000, true, 0xffff },
	{ "one byte past the range", 0x1000, 0xffff, 0x1000, 0xf001, false,
	  0 },
	{ "last byte of the range", 0x1000, 0xffff, 0xffff, 1, true, 0xffff },
	{ "first byte after the range", 0x1000, 0xffff, 0x10000, 1, false, 0 },
	{ "one-byte range", 5, 5, 5, 1, true, 5 },
	{ "one-byte range, two bytes", 5, 5, 5, 2, false, 0 },
	{ "range ending at 2^64 - 1", 0x1000, U64_MAX, U64_MAX - 0xfff,
	  0x1000, true, U64_MAX },
};

static void update_case_desc(const struct update_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(update, update_cases, update_case_desc);

static void update_last_test(struct kunit *test)
{
	const struct update_case *c = test->param_value;
	struct vdpa_iova_range range = { .first = c->first, .last = c->last };
	u64 last = 0;
	bool ok;

	ok = vhost_vdpa_dma_update_last(&range, c->iova, c->size, &last);
	KUNIT_EXPECT_EQ(test, ok, c->ok);
	if (c->ok)
		KUNIT_EXPECT_EQ(test, last, c->expect_last);
}

struct invalidate_last_case {
	const char *name;
	u64 iova, size, expect;
};

static const struct invalidate_last_case invalidate_last_cases[] = {
	{ "size 0 at 0: everything", 0, 0, U64_MAX },
	{ "size 0 elsewhere: that address", 0x1000, 0, 0x1000 },
	{ "size 0 at the last byte", U64_MAX, 0, U64_MAX },
	{ "one byte at 0", 0, 1, 0 },
	{ "one page", 0x1000, 0x1000, 0x1fff },
	{ "last byte", U64_MAX, 1, U64_MAX },
	{ "past 2^64 stops at the end", U64_MAX, 2, U64_MAX },
	{ "1 + (2^64 - 1) ends at the end", 1, U64_MAX, U64_MAX },
	{ "2 + (2^64 - 1) stops at the end", 2, U64_MAX, U64_MAX },
	{ "0 + (2^64 - 1)", 0, U64_MAX, U64_MAX - 1 },
};

static void invalidate_last_desc(const struct invalidate_last_case *c,
				 char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(invalidate_last, invalidate_last_cases,
		  invalidate_last_desc);

static void invalidate_last_test(struct kunit *test)
{
	const struct invalidate_last_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_invalidate_last(c->iova, c->size),
			c->expect);
}

struct npages_case {
	const char *name;
	u64 iova, size;
	int ret;
	u64 npages;
};

static const struct npages_case npages_cases[] = {
	{ "one byte", 0, 1, 0, 1 },
	{ "one page", 0, PAGE_SIZE, 0, 1 },
	{ "one page and a byte", 0, PAGE_SIZE + 1, 0, 2 },
	{ "last byte of a page", PAGE_SIZE - 1, 1, 0, 1 },
	{ "across a page boundary", PAGE_SIZE - 1, 2, 0, 2 },
	{ "unaligned three pages", 0x234, 3 * PAGE_SIZE, 0, 4 },
	{ "aligned, 2^64 - 1 bytes", 0, U64_MAX, 0, (U64_MAX >> PAGE_SHIFT) + 1 },
	{ "page aligned, 2^64 - 1 bytes", PAGE_SIZE, U64_MAX, 0,
	  (U64_MAX >> PAGE_SHIFT) + 1 },
	{ "offset 1, 2^64 - 1 bytes", 1, U64_MAX, -EINVAL, 0 },
	{ "last byte of the space", U64_MAX, 1, 0, 1 },
	{ "offset overflows the count", U64_MAX, U64_MAX - PAGE_SIZE + 2,
	  -EINVAL, 0 },
};

static void npages_desc(const struct npages_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(npages, npages_cases, npages_desc);

static void npages_test(struct kunit *test)
{
	const struct npages_case *c = test->param_value;
	u64 npages = 0;

	KUNIT_ASSERT_EQ(test, vhost_vdpa_dma_npages(c->iova, c->size, &npages),
			c->ret);
	if (!c->ret)
		KUNIT_EXPECT_EQ(test, npages, c->npages);
}

/* ---- message parsing ---- */

#define ASID_ACKED	BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID)

struct parse_case {
	const char *name;
	u32 header;		/* VHOST_IOTLB_MSG, VHOST_IOTLB_MSG_V2, other */
	u64 features;
	size_t len;		/* bytes written */
	size_t split;		/* second iovec starts here; 0: one iovec */
	u8 type;
	u64 size;
	int ret;
	u32 asid;
};

#define V1_LEN	(offsetof(struct vhost_msg, iotlb) + sizeof(struct vhost_iotlb_msg))
#define V2_LEN	(offsetof(struct vhost_msg_v2, iotlb) + sizeof(struct vhost_iotlb_msg))

static const struct parse_case parse_cases[] = {
	{ "V1 whole struct", VHOST_IOTLB_MSG, 0, sizeof(struct vhost_msg), 0,
	  VHOST_IOTLB_UPDATE, 0x1000, 0, 0 },
	{ "V1 without padding", VHOST_IOTLB_MSG, 0, V1_LEN, 0,
	  VHOST_IOTLB_UPDATE, 0x1000, 0, 0 },
	{ "V1 one byte short", VHOST_IOTLB_MSG, 0, V1_LEN - 1, 0,
	  VHOST_IOTLB_UPDATE, 0x1000, -EINVAL, 0 },
	{ "V1 ignores the asid feature", VHOST_IOTLB_MSG, ASID_ACKED,
	  sizeof(struct vhost_msg), 0, VHOST_IOTLB_UPDATE, 0x1000, 0, 0 },
	{ "V2 with asid acked", VHOST_IOTLB_MSG_V2, ASID_ACKED,
	  sizeof(struct vhost_msg_v2), 0, VHOST_IOTLB_UPDATE, 0x1000, 0, 7 },
	{ "V2 asid ignored unless acked", VHOST_IOTLB_MSG_V2, 0,
	  sizeof(struct vhost_msg_v2), 0, VHOST_IOTLB_UPDATE, 0x1000, 0, 0 },
	{ "V2 without padding", VHOST_IOTLB_MSG_V2, ASID_ACKED, V2_LEN, 0,
	  VHOST_IOTLB_INVALIDATE, 0x1000, 0, 7 },
	{ "V2 one byte short", VHOST_IOTLB_MSG_V2, ASID_ACKED, V2_LEN - 1, 0,
	  VHOST_IOTLB_INVALIDATE, 0x1000, -EINVAL, 0 },
	{ "V2 short asid", VHOST_IOTLB_MSG_V2, ASID_ACKED, 7, 0,
	  VHOST_IOTLB_INVALIDATE, 0x1000, -EINVAL, 0 },
	{ "V2 short asid, not acked", VHOST_IOTLB_MSG_V2, 0, 7, 0,
	  VHOST_IOTLB_INVALIDATE, 0x1000, -EINVAL, 0 },
	{ "longer write", VHOST_IOTLB_MSG_V2, ASID_ACKED, 200, 0,
	  VHOST_IOTLB_UPDATE, 1, 0, 7 },
	{ "header split mid-field", VHOST_IOTLB_MSG_V2, ASID_ACKED,
	  sizeof(struct vhost_msg_v2), 6, VHOST_IOTLB_UPDATE, 0x1000, 0, 7 },
	{ "body split mid-field", VHOST_IOTLB_MSG, 0,
	  sizeof(struct vhost_msg), 21, VHOST_IOTLB_UPDATE, 0x1000, 0, 0 },
	{ "header type 0", 0, 0, sizeof(struct vhost_msg_v2), 0,
	  VHOST_IOTLB_UPDATE, 0x1000, -EINVAL, 0 },
	{ "header type 3", 3, 0, sizeof(struct vhost_msg_v2), 0,
	  VHOST_IOTLB_UPDATE, 0x1000, -EINVAL, 0 },
	{ "three bytes", VHOST_IOTLB_MSG_V2, 0, 3, 0, VHOST_IOTLB_UPDATE,
	  0x1000, -EINVAL, 0 },
	{ "nothing", VHOST_IOTLB_MSG_V2, 0, 0, 0, VHOST_IOTLB_UPDATE, 0x1000,
	  -EINVAL, 0 },
	{ "UPDATE of size 0", VHOST_IOTLB_MSG_V2, 0,
	  sizeof(struct vhost_msg_v2), 0, VHOST_IOTLB_UPDATE, 0, -EINVAL, 0 },
	{ "INVALIDATE of size 0", VHOST_IOTLB_MSG_V2, 0,
	  sizeof(struct vhost_msg_v2), 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0 },
	{ "BATCH_BEGIN", VHOST_IOTLB_MSG_V2, 0, sizeof(struct vhost_msg_v2),
	  0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0 },
	{ "unknown message type", VHOST_IOTLB_MSG_V2, 0,
	  sizeof(struct vhost_msg_v2), 0, 42, 0, 0, 0 },
};

static void parse_desc(const struct parse_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(parse, parse_cases, parse_desc);

/* Lay out a message as userspace would, in a 256-byte buffer. */
static void build_msg(u8 *buf, u32 header, u32 asid, u64 iova, u64 size,
		      u64 uaddr, u8 perm, u8 type)
{
	struct vhost_iotlb_msg m = {
		.iova = iova, .size = size, .uaddr = uaddr,
		.perm = perm, .type = type,
	};
	size_t body = header == VHOST_IOTLB_MSG ?
		      offsetof(struct vhost_msg, iotlb) :
		      offsetof(struct vhost_msg_v2, iotlb);

	memset(buf, 0xa5, 256);
	memcpy(buf, &header, sizeof(header));
	if (header != VHOST_IOTLB_MSG)
		memcpy(buf + sizeof(header), &asid, sizeof(asid));
	memcpy(buf + body, &m, sizeof(m));
}

static void parse_test(struct kunit *test)
{
	const struct parse_case *c = test->param_value;
	struct vhost_iotlb_msg msg;
	struct iov_iter from;
	struct kvec kv[2];
	u32 asid = 99;
	u8 *buf;

	buf = kunit_kzalloc(test, 256, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	build_msg(buf, c->header, 7, 0x12345000, c->size, 0x7f0000001000ULL,
		  VHOST_ACCESS_RW, c->type);
	kv[0].iov_base = buf;
	kv[0].iov_len = c->split ? c->split : c->len;
	kv[1].iov_base = buf + c->split;
	kv[1].iov_len = c->len - c->split;
	iov_iter_kvec(&from, ITER_SOURCE, kv, c->split ? 2 : 1, c->len);

	KUNIT_ASSERT_EQ(test, vhost_vdpa_dma_parse(&from, c->features, &msg,
						   &asid), c->ret);
	if (c->ret)
		return;
	KUNIT_EXPECT_EQ(test, asid, c->asid);
	KUNIT_EXPECT_EQ(test, msg.iova, 0x12345000ULL);
	KUNIT_EXPECT_EQ(test, msg.size, c->size);
	KUNIT_EXPECT_EQ(test, msg.uaddr, 0x7f0000001000ULL);
	KUNIT_EXPECT_EQ(test, msg.perm, VHOST_ACCESS_RW);
	KUNIT_EXPECT_EQ(test, msg.type, c->type);
}

/* ---- a fake parent and pinned entries ---- */

#define MAX_FAKES	16
#define MAX_CALLS	32

struct fake_entry {
	struct page *page;	/* first of npages order-0 pages */
	unsigned int npages;
	u8 perm;
};

struct dma_ctx {
	struct vdpa_device vdev;
	struct vhost_vdpa_dma *dma;
	struct mm_struct *mm;		/* fake owner: only counters used */
	struct vdpa_iova_range range;
	struct fake_entry fakes[MAX_FAKES];
	unsigned int nfakes;
	/* what the parent was asked */
	int set_map_ret, dma_map_ret, unmap_ret;
	unsigned int set_map_calls, dma_map_calls, unmap_calls;
	u32 set_map_asid;
	unsigned int set_map_nmaps;
	u64 unmap_iova[MAX_CALLS], unmap_size[MAX_CALLS];
	u32 unmap_asid[MAX_CALLS];
	/*
	 * set_map_add/set_map_remove parents: the parent's own table (what
	 * its worker translates through), kept from set_map and the two ops.
	 */
	struct vhost_iotlb *parent;
	int add_ret, remove_ret;
	unsigned int add_calls, remove_calls;
	u64 add_iova, add_size, remove_iova, remove_size;
	/* set_map_remove called for a page not pinned, or not charged */
	unsigned int remove_violations;
	/*
	 * VA mode: the file behind the entries (the test holds one
	 * reference), and tables handed to set_map with an entry lacking
	 * its file or the reference on it
	 */
	struct file *va_file;
	unsigned int va_violations;
};

static struct dma_ctx *to_ctx(struct vdpa_device *vdev)
{
	return container_of(vdev, struct dma_ctx, vdev);
}

static int fake_set_map(struct vdpa_device *vdev, unsigned int asid,
			struct vhost_iotlb *iotlb)
{
	struct dma_ctx *ctx = to_ctx(vdev);

	struct vhost_iotlb_map *map;

	ctx->set_map_calls++;
	ctx->set_map_asid = asid;
	ctx->set_map_nmaps = iotlb->nmaps;
	if (ctx->set_map_ret || !ctx->parent)
		return ctx->set_map_ret;
	vhost_iotlb_reset(ctx->parent);
	for (map = vhost_iotlb_itree_first(iotlb, 0, U64_MAX); map;
	     map = vhost_iotlb_itree_next(map, 0, U64_MAX))
		if (vhost_iotlb_add_range(ctx->parent, map->start, map->last,
					  map->addr, map->perm))
			return -ENOMEM;
	return 0;
}

static int fake_set_map_add(struct vdpa_device *vdev, unsigned int asid,
			    u64 iova, u64 size, u64 pa, u32 perm)
{
	struct dma_ctx *ctx = to_ctx(vdev);

	ctx->add_calls++;
	ctx->add_iova = iova;
	ctx->add_size = size;
	if (ctx->add_ret)
		return ctx->add_ret;
	return vhost_iotlb_add_range(ctx->parent, iova, iova + size - 1, pa,
				     perm);
}

/* Pin references left on a fake entry's pages, in pins. */
static unsigned int fake_pins(const struct fake_entry *f, unsigned int i)
{
	return (page_ref_count(f->page + i) - 1) / GUP_PIN_COUNTING_BIAS;
}

/* Pages pinned by the test's fake entries, in pages. */
static u64 fakes_pinned(struct dma_ctx *ctx)
{
	unsigned int i, j;
	u64 n = 0;

	for (i = 0; i < ctx->nfakes; i++)
		for (j = 0; j < ctx->fakes[i].npages; j++)
			n += fake_pins(&ctx->fakes[i], j);
	return n;
}

/*
 * Until set_map_remove returns, the parent's worker may still translate
 * the range: every page behind it must still be pinned, and every pinned
 * page still charged.
 */
static int fake_set_map_remove(struct vdpa_device *vdev, unsigned int asid,
			       u64 iova, u64 size)
{
	struct dma_ctx *ctx = to_ctx(vdev);
	struct vhost_iotlb_map *map;
	u64 last = iova + size - 1;
	u64 i;

	ctx->remove_calls++;
	ctx->remove_iova = iova;
	ctx->remove_size = size;
	for (map = vhost_iotlb_itree_first(ctx->parent, iova, last); map;
	     map = vhost_iotlb_itree_next(map, iova, last))
		for (i = 0; i < PFN_DOWN(map->size); i++)
			if (!page_maybe_dma_pinned(pfn_to_page(PFN_DOWN(map->addr) +
							       i)))
				ctx->remove_violations++;
	if (atomic64_read(&ctx->mm->pinned_vm) != fakes_pinned(ctx))
		ctx->remove_violations++;
	if (ctx->remove_ret)
		return ctx->remove_ret;
	vhost_iotlb_del_range(ctx->parent, iova, last);
	return 0;
}

static int fake_dma_map(struct vdpa_device *vdev, unsigned int asid, u64 iova,
			u64 size, u64 pa, u32 perm, void *opaque)
{
	struct dma_ctx *ctx = to_ctx(vdev);

	ctx->dma_map_calls++;
	return ctx->dma_map_ret;
}

static int fake_dma_unmap(struct vdpa_device *vdev, unsigned int asid,
			  u64 iova, u64 size)
{
	struct dma_ctx *ctx = to_ctx(vdev);

	if (ctx->unmap_calls < MAX_CALLS) {
		ctx->unmap_iova[ctx->unmap_calls] = iova;
		ctx->unmap_size[ctx->unmap_calls] = size;
		ctx->unmap_asid[ctx->unmap_calls] = asid;
	}
	ctx->unmap_calls++;
	return ctx->unmap_ret;
}

static struct vdpa_iova_range fake_get_iova_range(struct vdpa_device *vdev)
{
	return to_ctx(vdev)->range;
}

static const struct vdpa_config_ops set_map_ops = {
	.set_map = fake_set_map,
	.get_iova_range = fake_get_iova_range,
};

/* A use_va parent: every entry must carry a file the table holds. */
static int fake_va_set_map(struct vdpa_device *vdev, unsigned int asid,
			   struct vhost_iotlb *iotlb)
{
	struct dma_ctx *ctx = to_ctx(vdev);
	struct vhost_iotlb_map *map;
	struct vdpa_map_file *mf;

	ctx->set_map_calls++;
	ctx->set_map_asid = asid;
	ctx->set_map_nmaps = iotlb->nmaps;
	for (map = vhost_iotlb_itree_first(iotlb, 0, U64_MAX); map;
	     map = vhost_iotlb_itree_next(map, 0, U64_MAX)) {
		mf = map->opaque;
		if (!mf || mf->file != ctx->va_file ||
		    file_count(mf->file) < 2)
			ctx->va_violations++;
	}
	return ctx->set_map_ret;
}

static const struct vdpa_config_ops va_set_map_ops = {
	.set_map = fake_va_set_map,
	.get_iova_range = fake_get_iova_range,
};

static const struct vdpa_config_ops delta_ops = {
	.set_map = fake_set_map,
	.set_map_add = fake_set_map_add,
	.set_map_remove = fake_set_map_remove,
	.get_iova_range = fake_get_iova_range,
};

static const struct vdpa_config_ops dma_map_ops = {
	.dma_map = fake_dma_map,
	.dma_unmap = fake_dma_unmap,
};

static const struct vdpa_config_ops no_map_ops = {
	.get_iova_range = fake_get_iova_range,
};

static const struct vdpa_config_ops map_no_unmap_ops = {
	.dma_map = fake_dma_map,
};

static int dma_test_init(struct kunit *test)
{
	struct dma_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->mm = kunit_kzalloc(test, sizeof(*ctx->mm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->mm);
	/* One reference for the test; the one the file takes is added later. */
	atomic_set(&ctx->mm->mm_count, 1);
	ctx->vdev.dev.init_name = "kunit-vdpa";
	ctx->vdev.nas = 2;
	ctx->vdev.ops = &set_map_ops;
	ctx->range.first = 0;
	ctx->range.last = U64_MAX;
	test->priv = ctx;
	return 0;
}

/* Create the file's DMA state for a parent with @ops. */
static void ctx_open(struct kunit *test, const struct vdpa_config_ops *ops)
{
	struct dma_ctx *ctx = test->priv;

	ctx->vdev.ops = ops;
	ctx->dma = vhost_vdpa_dma_create(&ctx->vdev);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->dma));
}

static void dma_test_exit(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	unsigned int i, j;

	if (!ctx)
		return;
	if (!IS_ERR_OR_NULL(ctx->dma))
		vhost_vdpa_dma_destroy(ctx->dma, true);
	if (ctx->va_file) {
		/* every entry dropped its file reference exactly once */
		KUNIT_EXPECT_EQ(test, file_count(ctx->va_file), 1L);
		KUNIT_EXPECT_EQ(test, ctx->va_violations, 0U);
		fput(ctx->va_file);
	}
	if (ctx->parent) {
		/* destroy gave the parent an empty table */
		KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 0U);
		vhost_iotlb_free(ctx->parent);
	}
	/* Every pin the test took must have been dropped exactly once. */
	for (i = 0; i < ctx->nfakes; i++) {
		struct fake_entry *f = &ctx->fakes[i];

		for (j = 0; j < f->npages; j++) {
			struct page *p = f->page + j;

			KUNIT_EXPECT_EQ(test, page_ref_count(p), 1);
			if (page_ref_count(p) > 1)
				page_ref_sub(p, page_ref_count(p) - 1);
			ClearPageDirty(p);
			__free_page(p);
		}
	}
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->mm->pinned_vm), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->mm->mm_count), 1);
}

/*
 * Pin and charge @npages physically contiguous pages as a PA mode UPDATE
 * would before entering them; the entry is left to the caller.
 */
static struct fake_entry *pin_fake(struct kunit *test, unsigned int npages,
				   u8 perm)
{
	struct dma_ctx *ctx = test->priv;
	unsigned int order = get_order(npages << PAGE_SHIFT);
	struct vhost_vdpa_dma *dma = ctx->dma;
	struct fake_entry *f;
	struct page *page;
	unsigned int i;

	KUNIT_ASSERT_LT(test, ctx->nfakes, MAX_FAKES);
	page = alloc_pages(GFP_KERNEL, order);
	KUNIT_ASSERT_NOT_NULL(test, page);
	split_page(page, order);
	for (i = npages; i < 1U << order; i++)
		__free_page(page + i);
	f = &ctx->fakes[ctx->nfakes++];
	f->page = page;
	f->npages = npages;
	f->perm = perm;
	for (i = 0; i < npages; i++) {
		page_ref_add(page + i, GUP_PIN_COUNTING_BIAS);
		mod_node_page_state(page_pgdat(page + i), NR_FOLL_PIN_ACQUIRED,
				    1);
	}
	if (!dma->mm) {
		dma->mm = ctx->mm;
		mmgrab(dma->mm);
	}
	atomic64_add(npages, &dma->mm->pinned_vm);
	dma->pinned += npages;
	return f;
}

/*
 * Enter [iova, iova + npages pages) in address space @asid as a PA mode
 * UPDATE would: pinned, charged to the (fake) owner, in the table.  The
 * parent is not told, as when the entry came in a batch.
 */
static void add_fake(struct kunit *test, u32 asid, u64 iova,
		     unsigned int npages, u8 perm)
{
	struct dma_ctx *ctx = test->priv;
	struct fake_entry *f;
	struct vhost_vdpa_as *as;
	const char *why = NULL;

	as = vhost_vdpa_dma_find_or_create_as(ctx->dma, asid, &why);
	KUNIT_ASSERT_FALSE(test, IS_ERR(as));
	f = pin_fake(test, npages, perm);
	KUNIT_ASSERT_EQ(test, vhost_iotlb_add_range(&as->iotlb, iova,
						    iova + ((u64)npages << PAGE_SHIFT) - 1,
						    page_to_phys(f->page), perm), 0);
}

/* Write one V2 message; returns what write() would. */
static ssize_t send(struct kunit *test, u32 asid, u8 type, u64 iova, u64 size,
		    u8 perm)
{
	struct dma_ctx *ctx = test->priv;
	struct iov_iter from;
	struct kvec kv;
	u8 buf[256];

	build_msg(buf, VHOST_IOTLB_MSG_V2, asid, iova, size, 0x10000, perm,
		  type);
	kv.iov_base = buf;
	kv.iov_len = sizeof(struct vhost_msg_v2);
	iov_iter_kvec(&from, ITER_SOURCE, &kv, 1, kv.iov_len);
	return vhost_vdpa_dma_write(ctx->dma, &from, ASID_ACKED);
}

/* Entries left in address space @asid. */
static unsigned int nmaps(struct dma_ctx *ctx, u32 asid)
{
	return ctx->dma->as[asid] ? ctx->dma->as[asid]->iotlb.nmaps : 0;
}

static unsigned int nretired(struct dma_ctx *ctx, u32 asid)
{
	return ctx->dma->as[asid] ? ctx->dma->as[asid]->retired.nmaps : 0;
}

/* ---- creation ---- */

static void create_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	struct vhost_vdpa_dma *dma;

	ctx->vdev.ops = &no_map_ops;
	KUNIT_EXPECT_EQ(test, PTR_ERR(vhost_vdpa_dma_create(&ctx->vdev)),
			-EOPNOTSUPP);
	ctx->vdev.ops = &map_no_unmap_ops;
	KUNIT_EXPECT_EQ(test, PTR_ERR(vhost_vdpa_dma_create(&ctx->vdev)),
			-EINVAL);

	/* No get_iova_range: the whole space. */
	ctx->vdev.ops = &dma_map_ops;
	dma = vhost_vdpa_dma_create(&ctx->vdev);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dma));
	KUNIT_EXPECT_EQ(test, dma->range.first, 0ULL);
	KUNIT_EXPECT_EQ(test, dma->range.last, U64_MAX);
	KUNIT_EXPECT_TRUE(test, dma->per_entry);
	vhost_vdpa_dma_destroy(dma, true);

	ctx->range.first = 0x1000;
	ctx->range.last = 0xfffff;
	ctx->vdev.ops = &set_map_ops;
	dma = vhost_vdpa_dma_create(&ctx->vdev);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dma));
	KUNIT_EXPECT_EQ(test, dma->range.first, 0x1000ULL);
	KUNIT_EXPECT_EQ(test, dma->range.last, 0xfffffULL);
	KUNIT_EXPECT_FALSE(test, dma->per_entry);
	vhost_vdpa_dma_destroy(dma, true);
	/* Nothing was ever mapped: the parent is not bothered. */
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 0U);

	vhost_vdpa_dma_destroy(NULL, true);
	vhost_vdpa_dma_destroy(ERR_PTR(-EINVAL), false);
}

/* ---- message validation through handle() ---- */

struct handle_case {
	const char *name;
	bool open_as;		/* BATCH_BEGIN + END on asid 0 first */
	bool batch_on_0;	/* leave a batch open on asid 0 */
	bool fake_entry;	/* one entry at [0x10000, 0x10fff] of asid 0 */
	bool use_va;
	u32 asid;
	u8 type;
	u64 iova, size;
	u8 perm;
	int ret;
	const char *why;	/* a substring of the reason */
};

static const struct handle_case handle_cases[] = {
	{ "UPDATE on asid nas", false, false, false, false, 2,
	  VHOST_IOTLB_UPDATE, 0x1000, 0x1000, VHOST_ACCESS_RW, -EINVAL,
	  "no such address space" },
	{ "BATCH_BEGIN on asid U32_MAX", false, false, false, false, U32_MAX,
	  VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, -EINVAL, "no such address space" },
	{ "INVALIDATE before any UPDATE", false, false, false, false, 0,
	  VHOST_IOTLB_INVALIDATE, 0, 0, 0, -EINVAL, "no UPDATE or BATCH_BEGIN" },
	{ "BATCH_END before any UPDATE", false, false, false, false, 0,
	  VHOST_IOTLB_BATCH_END, 0, 0, 0, -EINVAL, "no UPDATE or BATCH_BEGIN" },
	{ "INVALIDATE on asid nas", true, false, false, false, 2,
	  VHOST_IOTLB_INVALIDATE, 0, 0, 0, -EINVAL, "no such address space" },
	{ "MISS from userspace", true, false, false, false, 0,
	  VHOST_IOTLB_MISS, 0, 0x1000, 0, -EINVAL, "unsupported" },
	{ "ACCESS_FAIL from userspace", true, false, false, false, 0,
	  VHOST_IOTLB_ACCESS_FAIL, 0, 0x1000, 0, -EINVAL, "unsupported" },
	{ "type 0", true, false, false, false, 0, 0, 0, 0x1000, 0, -EINVAL,
	  "unsupported" },
	{ "type 255", true, false, false, false, 0, 255, 0, 0x1000, 0, -EINVAL,
	  "unsupported" },
	{ "UPDATE on another asid than the batch", true, true, false, false, 1,
	  VHOST_IOTLB_UPDATE, 0x1000, 0x1000, VHOST_ACCESS_RW, -EINVAL,
	  "batch is open on another" },
	{ "BATCH_BEGIN on another asid than the batch", true, true, false,
	  false, 1, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, -EINVAL,
	  "batch is open on another" },
	{ "UPDATE below the range", false, false, false, false, 0,
	  VHOST_IOTLB_UPDATE, 0xfff, 1, VHOST_ACCESS_RW, -EINVAL,
	  "outside the device's IOVA range" },
	{ "UPDATE past the range", false, false, false, false, 0,
	  VHOST_IOTLB_UPDATE, 0xff000, 0x1001, VHOST_ACCESS_RW, -EINVAL,
	  "outside the device's IOVA range" },
	{ "UPDATE wrapping 2^64", false, false, false, false, 0,
	  VHOST_IOTLB_UPDATE, 0x2000, U64_MAX, VHOST_ACCESS_RW, -EINVAL,
	  "outside the device's IOVA range" },
	{ "UPDATE overlapping the first byte", false, false, true, false, 0,
	  VHOST_IOTLB_UPDATE, 0xf000, 0x1001, VHOST_ACCESS_RW, -EEXIST,
	  "overlaps" },
	{ "UPDATE overlapping the last byte", false, false, true, false, 0,
	  VHOST_IOTLB_UPDATE, 0x10fff, 0x1000, VHOST_ACCESS_RW, -EEXIST,
	  "overlaps" },
	{ "UPDATE inside an entry", false, false, true, false, 0,
	  VHOST_IOTLB_UPDATE, 0x10800, 1, VHOST_ACCESS_RO, -EEXIST,
	  "overlaps" },
	{ "UPDATE covering an entry", false, false, true, false, 0,
	  VHOST_IOTLB_UPDATE, 0x8000, 0x10000, VHOST_ACCESS_RO, -EEXIST,
	  "overlaps" },
	{ "UPDATE with perm 0", false, false, false, false, 0,
	  VHOST_IOTLB_UPDATE, 0x1000, 0x1000, 0, -EINVAL, "permission" },
	{ "UPDATE with perm 4", false, false, false, false, 0,
	  VHOST_IOTLB_UPDATE, 0x1000, 0x1000, 4, -EINVAL, "permission" },
	{ "UPDATE with perm 0xff", false, false, false, false, 0,
	  VHOST_IOTLB_UPDATE, 0x1000, 0x1000, 0xff, -EINVAL, "permission" },
	{ "VA UPDATE from a thread without memory", false, false, false,
	  true, 0, VHOST_IOTLB_UPDATE, 0x1000, 0x1000, VHOST_ACCESS_RW,
	  -EFAULT, "no user memory" },
	{ "VA UPDATE wrapping 2^64", false, false, false, true, 0,
	  VHOST_IOTLB_UPDATE, 0x2000, U64_MAX, VHOST_ACCESS_RW, -EINVAL,
	  "outside the device's IOVA range" },
	{ "UPDATE from a thread without memory", false, false, false, false,
	  0, VHOST_IOTLB_UPDATE, 0x1000, 0x1000, VHOST_ACCESS_RW, -EFAULT,
	  "no user memory" },
	{ "UPDATE from another mm than the owner's", false, false, true,
	  false, 0, VHOST_IOTLB_UPDATE, 0x1000, 0x1000, VHOST_ACCESS_RW,
	  -EPERM, "not the owner's" },
	{ "UPDATE next to an entry, other mm", false, false, true, false, 0,
	  VHOST_IOTLB_UPDATE, 0x11000, 0x1000, VHOST_ACCESS_WO, -EPERM,
	  "not the owner's" },
};

static void handle_desc(const struct handle_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(handle, handle_cases, handle_desc);

static void handle_test(struct kunit *test)
{
	const struct handle_case *c = test->param_value;
	struct dma_ctx *ctx = test->priv;
	struct vhost_iotlb_msg msg = {
		.iova = c->iova, .size = c->size, .uaddr = 0x10000,
		.perm = c->perm, .type = c->type,
	};
	const char *why = NULL;
	unsigned int calls;

	ctx->range.first = 0x1000;
	ctx->range.last = 0xfffff;
	ctx->vdev.use_va = c->use_va;
	ctx_open(test, &set_map_ops);
	if (c->open_as || c->batch_on_0) {
		KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0,
					   0, 0), 72);
		if (!c->batch_on_0)
			KUNIT_ASSERT_EQ(test, send(test, 0,
						   VHOST_IOTLB_BATCH_END, 0, 0,
						   0), 72);
	}
	if (c->fake_entry)
		add_fake(test, 0, 0x10000, 1, VHOST_ACCESS_RW);
	calls = ctx->set_map_calls;

	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_handle(ctx->dma, c->asid, &msg,
						    &why), c->ret);
	KUNIT_ASSERT_NOT_NULL(test, why);
	KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(why, c->why), "why: %s", why);
	/* A refused message changes nothing. */
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, calls);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), c->fake_entry ? 1U : 0U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, c->fake_entry ? 1ULL : 0ULL);
	/* write() turns every refusal after parsing into -EFAULT. */
	KUNIT_EXPECT_EQ(test, send(test, c->asid, c->type, c->iova, c->size,
				   c->perm), -EFAULT);
}

/* ---- invalidation: whole entries, never split ---- */

/* Entries of the invalidate tests, in asid 0. */
static const struct {
	u64 iova;
	unsigned int npages;
	u8 perm;
} inval_entries[] = {
	{ 0x1000, 1, VHOST_ACCESS_RO },		/* [0x1000, 0x1fff] */
	{ 0x4000, 4, VHOST_ACCESS_WO },		/* [0x4000, 0x7fff] */
	{ 0x10000, 1, VHOST_ACCESS_RW },	/* [0x10000, 0x10fff] */
	{ U64_MAX - 0xfff, 1, VHOST_ACCESS_RW },	/* the last page */
};

struct inval_case {
	const char *name;
	u64 iova, size;
	unsigned int removed;	/* bit i: inval_entries[i] removed */
};

static const struct inval_case inval_cases[] = {
	{ "size 0 at 0: everything", 0, 0, 0xf },
	{ "size 0 at an entry's first byte", 0x1000, 0, 0x1 },
	{ "size 0 inside an entry", 0x1800, 0, 0x1 },
	{ "size 0 at an entry's last byte", 0x7fff, 0, 0x2 },
	{ "size 0 in a hole", 0x3000, 0, 0 },
	{ "one byte in the middle: whole entry", 0x5000, 1, 0x2 },
	{ "the hole between two entries", 0x8000, 0x8000, 0 },
	{ "one byte into the next entry", 0x8000, 0x8001, 0x4 },
	{ "the last byte of one, the first of the next", 0x1fff, 0x2002, 0x3 },
	{ "exactly one entry", 0x4000, 0x4000, 0x2 },
	{ "from 0x2000 to the end", 0x2000, U64_MAX, 0xe },
	{ "past 2^64 from the last page", U64_MAX - 0x10, 0x100, 0x8 },
	{ "the last byte only", U64_MAX, 1, 0x8 },
	{ "size 0 at the last byte", U64_MAX, 0, 0x8 },
	{ "all but the last byte", 0, U64_MAX, 0xf },
	{ "past 2^64 from a hole", 0x11000, U64_MAX, 0x8 },
};

static void inval_desc(const struct inval_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(inval, inval_cases, inval_desc);

static void add_inval_entries(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(inval_entries); i++)
		add_fake(test, 0, inval_entries[i].iova,
			 inval_entries[i].npages, inval_entries[i].perm);
}

/* Check which entries are left in asid 0 and which pages still pinned. */
static void check_inval(struct kunit *test, unsigned int removed,
			bool still_pinned)
{
	struct dma_ctx *ctx = test->priv;
	struct vhost_iotlb *iotlb = &ctx->dma->as[0]->iotlb;
	unsigned int i, j, left = 0;
	u64 pinned = 0;

	for (i = 0; i < ARRAY_SIZE(inval_entries); i++) {
		u64 first = inval_entries[i].iova;
		u64 last = first +
			   ((u64)inval_entries[i].npages << PAGE_SHIFT) - 1;
		struct vhost_iotlb_map *map;
		bool gone = removed & BIT(i);

		map = vhost_iotlb_itree_first(iotlb, first, last);
		if (gone) {
			KUNIT_EXPECT_NULL_MSG(test, map, "entry %u", i);
		} else {
			KUNIT_EXPECT_NOT_NULL_MSG(test, map, "entry %u", i);
			/* Kept entries are kept whole. */
			if (map) {
				KUNIT_EXPECT_EQ(test, map->start, first);
				KUNIT_EXPECT_EQ(test, map->last, last);
			}
			left++;
		}
		if (!gone || still_pinned)
			pinned += inval_entries[i].npages;
		for (j = 0; j < ctx->fakes[i].npages; j++)
			KUNIT_EXPECT_EQ_MSG(test, fake_pins(&ctx->fakes[i], j),
					    !gone || still_pinned,
					    "entry %u page %u", i, j);
	}
	KUNIT_EXPECT_EQ(test, iotlb->nmaps, left);
	/* Every page still pinned stays charged, retired ones included. */
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, pinned);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->mm->pinned_vm), pinned);
}

static void invalidate_per_entry_test(struct kunit *test)
{
	const struct inval_case *c = test->param_value;
	struct dma_ctx *ctx = test->priv;
	unsigned int i, n = 0;

	ctx_open(test, &dma_map_ops);
	add_inval_entries(test);
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, c->iova,
				   c->size, 0), 72);
	check_inval(test, c->removed, false);
	/* The parent unmapped exactly the removed entries, each whole. */
	KUNIT_EXPECT_EQ(test, ctx->unmap_calls, hweight32(c->removed));
	for (i = 0; i < ARRAY_SIZE(inval_entries); i++) {
		if (!(c->removed & BIT(i)) || n >= ctx->unmap_calls)
			continue;
		KUNIT_EXPECT_EQ(test, ctx->unmap_iova[n], inval_entries[i].iova);
		KUNIT_EXPECT_EQ(test, ctx->unmap_size[n],
				(u64)inval_entries[i].npages << PAGE_SHIFT);
		KUNIT_EXPECT_EQ(test, ctx->unmap_asid[n], 0U);
		n++;
	}
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 0U);
	/* Only device-writable pages were dirtied at unpin. */
	for (i = 0; i < ARRAY_SIZE(inval_entries); i++)
		if (c->removed & BIT(i))
			KUNIT_EXPECT_EQ_MSG(test, PageDirty(ctx->fakes[i].page),
					    !!(inval_entries[i].perm &
					       VHOST_ACCESS_WO), "entry %u", i);
}

static void invalidate_set_map_test(struct kunit *test)
{
	const struct inval_case *c = test->param_value;
	struct dma_ctx *ctx = test->priv;

	ctx_open(test, &set_map_ops);
	add_inval_entries(test);

	/* A refused table: the removed entries stay pinned, retired. */
	ctx->set_map_ret = -ENOMEM;
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, c->iova,
				   c->size, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), hweight32(c->removed));
	check_inval(test, c->removed, true);

	/* The next accepted table releases them. */
	ctx->set_map_ret = 0;
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x2000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 2U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_asid, 0U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps,
			ARRAY_SIZE(inval_entries) - hweight32(c->removed));
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 0U);
	check_inval(test, c->removed, false);
}

/* ---- batches and address spaces ---- */

static void batch_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	ctx_open(test, &set_map_ops);
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	add_fake(test, 0, 0x1000, 2, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x8000, 1, VHOST_ACCESS_RO);
	/* Inside a batch nothing reaches the parent; removed stay pinned. */
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x1000,
				   0x2000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 0U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 1), 1U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 3ULL);
	/* A nested BATCH_BEGIN on the same asid is accepted. */
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	/* BATCH_END pushes one table and releases the retired entries. */
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 1U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 0), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 1), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[1], 0), 1U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 1ULL);
	KUNIT_EXPECT_FALSE(test, ctx->dma->in_batch);
	/* A second BATCH_END outside a batch pushes nothing. */
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);

	/* A refused batched table is reported and closes the batch. */
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	ctx->set_map_ret = -EIO;
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			-EFAULT);
	KUNIT_EXPECT_FALSE(test, ctx->dma->in_batch);
}

static void batch_per_entry_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	ctx_open(test, &dma_map_ops);
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	/* A per-entry parent unmaps at once, batch or not. */
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->unmap_calls, 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 0), 0U);
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 0U);
}

static void asid_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	ctx_open(test, &set_map_ops);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	add_fake(test, 1, 0x1000, 1, VHOST_ACCESS_RW);
	/* Same IOVA in two address spaces; each INVALIDATE stays in its own. */
	KUNIT_EXPECT_EQ(test, send(test, 1, VHOST_IOTLB_INVALIDATE, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_asid, 1U);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 1), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 0), 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[1], 0), 0U);
	/* A batch on asid 1 refuses asid 0 until it ends. */
	KUNIT_EXPECT_EQ(test, send(test, 1, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, send(test, 1, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_asid, 0U);
}

/* Without the ASID feature, a V2 message's asid field means nothing. */
static void asid_not_acked_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	struct iov_iter from;
	struct kvec kv;
	u8 buf[256];

	ctx_open(test, &set_map_ops);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	add_fake(test, 1, 0x1000, 1, VHOST_ACCESS_RW);
	build_msg(buf, VHOST_IOTLB_MSG_V2, 1, 0, 0, 0, 0,
		  VHOST_IOTLB_INVALIDATE);
	kv.iov_base = buf;
	kv.iov_len = sizeof(struct vhost_msg_v2);
	iov_iter_kvec(&from, ITER_SOURCE, &kv, 1, kv.iov_len);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_write(ctx->dma, &from, 0), 72);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 1), 1U);
}

/* ---- reset and teardown ---- */

static void reset_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	ctx_open(test, &dma_map_ops);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x3000, 2, VHOST_ACCESS_RO);
	add_fake(test, 1, 0x1000, 1, VHOST_ACCESS_RW);
	vhost_vdpa_dma_on_reset(ctx->dma, 0);
	KUNIT_EXPECT_EQ(test, ctx->dma_map_calls, 0U);
	/* With IOTLB_PERSIST every entry of every space is restored. */
	vhost_vdpa_dma_on_reset(ctx->dma,
				BIT_ULL(VHOST_BACKEND_F_IOTLB_PERSIST));
	KUNIT_EXPECT_EQ(test, ctx->dma_map_calls, 3U);
	/* A refusing parent is only logged; the tables survive. */
	ctx->dma_map_ret = -ENOMEM;
	vhost_vdpa_dma_on_reset(ctx->dma,
				BIT_ULL(VHOST_BACKEND_F_IOTLB_PERSIST));
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 2U);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 1), 1U);
}

static void reset_set_map_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	ctx_open(test, &set_map_ops);
	add_fake(test, 1, 0x1000, 1, VHOST_ACCESS_RW);
	vhost_vdpa_dma_on_reset(ctx->dma, 0);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 0U);
	vhost_vdpa_dma_on_reset(ctx->dma,
				BIT_ULL(VHOST_BACKEND_F_IOTLB_PERSIST));
	/* Only the address space that exists is pushed. */
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_asid, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 1U);
}

static void destroy_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	bool per_entry = *(const bool *)test->param_value;
	unsigned int i;

	ctx_open(test, per_entry ? &dma_map_ops : &set_map_ops);
	add_fake(test, 0, 0x1000, 3, VHOST_ACCESS_WO);
	add_fake(test, 0, 0x8000, 1, VHOST_ACCESS_RO);
	add_fake(test, 1, 0x1000, 1, VHOST_ACCESS_RW);
	if (!per_entry) {
		/* Leave one entry retired, still pinned, at destroy. */
		ctx->set_map_ret = -EBUSY;
		KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE,
					   0x8000, 1, 0), 72);
		KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 1U);
		ctx->set_map_ret = 0;
		ctx->set_map_calls = 0;
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->mm->mm_count), 2);
	vhost_vdpa_dma_destroy(ctx->dma, false);
	ctx->dma = NULL;
	if (per_entry) {
		KUNIT_EXPECT_EQ(test, ctx->unmap_calls, 3U);
	} else {
		/* One empty table per address space in use. */
		KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 2U);
		KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 0U);
	}
	for (i = 0; i < ctx->nfakes; i++) {
		KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[i], 0), 0U);
		KUNIT_EXPECT_EQ_MSG(test, PageDirty(ctx->fakes[i].page),
				    !!(ctx->fakes[i].perm & VHOST_ACCESS_WO),
				    "entry %u", i);
	}
	/* exit checks pinned_vm is back to 0 and the mm reference dropped. */
}

static const bool destroy_params[] = { false, true };

static void destroy_desc(const bool *per_entry, char *desc)
{
	strscpy(desc, *per_entry ? "dma_map parent" : "set_map parent",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(destroy, destroy_params, destroy_desc);

/*
 * A set_map parent that refuses the empty table at close: unpinned only if
 * the device was reset (it then holds no table); else left pinned for good.
 */
static void destroy_refused_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	bool parent_reset = *(const bool *)test->param_value;
	struct fake_entry *f;
	u64 pinned_vm;

	ctx_open(test, &set_map_ops);
	add_fake(test, 0, 0x1000, 2, VHOST_ACCESS_RW);
	ctx->set_map_ret = -EIO;
	vhost_vdpa_dma_destroy(ctx->dma, parent_reset);
	ctx->dma = NULL;
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	f = &ctx->fakes[0];
	KUNIT_EXPECT_EQ(test, fake_pins(f, 0), parent_reset ? 0U : 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(f, 1), parent_reset ? 0U : 1U);
	pinned_vm = atomic64_read(&ctx->mm->pinned_vm);
	KUNIT_EXPECT_EQ(test, pinned_vm, parent_reset ? 0ULL : 2ULL);
	if (!parent_reset) {
		/* What a leak costs; undone here so that exit's checks hold. */
		unpin_user_page_range_dirty_lock(f->page, 2, false);
		atomic64_sub(2, &ctx->mm->pinned_vm);
	}
}

/*
 * A dma_map parent that refuses to unmap: the INVALIDATE fails and the
 * entry stays, pinned; at close it is unpinned only after a reset.
 */
static void unmap_refused_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	bool parent_reset = *(const bool *)test->param_value;
	struct fake_entry *f;

	ctx_open(test, &dma_map_ops);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	f = &ctx->fakes[0];
	ctx->unmap_ret = -EBUSY;
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(f, 0), 1U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 1ULL);
	vhost_vdpa_dma_destroy(ctx->dma, parent_reset);
	ctx->dma = NULL;
	KUNIT_EXPECT_EQ(test, fake_pins(f, 0), parent_reset ? 0U : 1U);
	if (!parent_reset) {
		unpin_user_page_range_dirty_lock(f->page, 1, false);
		atomic64_sub(1, &ctx->mm->pinned_vm);
	}
}

static const bool destroy_refused_params[] = { false, true };

static void destroy_refused_desc(const bool *reset, char *desc)
{
	strscpy(desc, *reset ? "after a reset" : "without a reset",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(destroy_refused, destroy_refused_params,
		  destroy_refused_desc);

/*
 * A full retired table inside a batch: the table is pushed early, which
 * releases the retired entries; if the parent refuses it, the INVALIDATE
 * fails and leaves the entry mapped and pinned.  Nothing is ever unpinned
 * while the parent's last accepted table still has it.
 */
static void retired_full_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	struct vhost_vdpa_as *as;
	unsigned int i;

	ctx_open(test, &set_map_ops);
	for (i = 0; i < 4; i++)
		add_fake(test, 0, 0x10000 * (i + 1), 1, VHOST_ACCESS_RW);
	as = ctx->dma->as[0];
	as->retired.limit = 2;
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x10000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x20000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 0U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 2U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 4ULL);

	/* The third removal pushes the two left in the table first. */
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x30000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 2U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 0), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[1], 0), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[2], 0), 1U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 2ULL);

	/* Full again and the parent refuses: refused, nothing unpinned. */
	as->retired.limit = 1;
	ctx->set_map_ret = -ENOMEM;
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x40000,
				   0x1000, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 2U);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[2], 0), 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[3], 0), 1U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 2ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->mm->pinned_vm), 2);

	/* BATCH_END's accepted table releases the retired entry. */
	ctx->set_map_ret = 0;
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[2], 0), 0U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 1ULL);
}

/* ---- RLIMIT_MEMLOCK accounting ---- */

static void charge_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	u64 limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct vhost_vdpa_dma *dma;

	if (rlimit(RLIMIT_MEMLOCK) == RLIM_INFINITY || limit < 2)
		kunit_skip(test, "RLIMIT_MEMLOCK is %lu",
			   rlimit(RLIMIT_MEMLOCK));
	ctx_open(test, &set_map_ops);
	dma = ctx->dma;
	dma->mm = ctx->mm;
	mmgrab(dma->mm);

	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_charge(dma, limit + 1), -ENOMEM);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_charge(dma, U64_MAX), -ENOMEM);
	KUNIT_EXPECT_EQ(test, atomic64_read(&dma->mm->pinned_vm), 0);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_charge(dma, limit - 1), 0);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_charge(dma, 2), -ENOMEM);
	KUNIT_EXPECT_EQ(test, atomic64_read(&dma->mm->pinned_vm), limit - 1);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_charge(dma, 1), 0);
	KUNIT_EXPECT_EQ(test, dma->pinned, limit);
	/* Another user of the same mm counts too. */
	vhost_vdpa_dma_uncharge(dma, 2);
	atomic64_add(1, &dma->mm->pinned_vm);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_charge(dma, 2), -ENOMEM);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_charge(dma, 1), 0);
	atomic64_sub(1, &dma->mm->pinned_vm);
	vhost_vdpa_dma_uncharge(dma, 0);
	KUNIT_EXPECT_EQ(test, dma->pinned, limit - 1);
	vhost_vdpa_dma_uncharge(dma, limit - 1);
	KUNIT_EXPECT_EQ(test, dma->pinned, 0ULL);
	KUNIT_EXPECT_EQ(test, atomic64_read(&dma->mm->pinned_vm), 0);
}

/* ---- set_map parents with set_map_add/set_map_remove ---- */

/*
 * Every page the parent's table reaches is pinned, and the owner is charged
 * for exactly the pages pinned: what check_pins checks in the simulator.
 */
static void check_parent(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	struct vhost_iotlb_map *map;
	struct page *page;
	u64 i;

	for (map = vhost_iotlb_itree_first(ctx->parent, 0, U64_MAX); map;
	     map = vhost_iotlb_itree_next(map, 0, U64_MAX)) {
		for (i = 0; i < PFN_DOWN(map->size); i++) {
			page = pfn_to_page(PFN_DOWN(map->addr) + i);
			KUNIT_EXPECT_TRUE_MSG(test, page_maybe_dma_pinned(page),
					      "[%#llx, %#llx] page %llu",
					      map->start, map->last, i);
		}
	}
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->mm->pinned_vm),
			fakes_pinned(ctx));
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, fakes_pinned(ctx));
	KUNIT_EXPECT_EQ(test, ctx->remove_violations, 0U);
}

static void delta_open(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	ctx->parent = vhost_iotlb_alloc(MAX_CALLS, 0);
	KUNIT_ASSERT_NOT_NULL(test, ctx->parent);
	ctx_open(test, &delta_ops);
}

/* An INVALIDATE of a hole: changes nothing, but pushes when out of sync. */
static void send_nop(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE,
				   0x40000000, 0x1000, 0), 72);
}

static bool in_sync(struct dma_ctx *ctx, u32 asid)
{
	return ctx->dma->as[asid] && ctx->dma->as[asid]->in_sync;
}

/*
 * Out of sync, a message pushes the whole table; in sync, an INVALIDATE
 * removes each entry with set_map_remove and unpins it once that returned.
 */
static void delta_invalidate_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	delta_open(test);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x4000, 2, VHOST_ACCESS_WO);
	add_fake(test, 0, 0x10000, 1, VHOST_ACCESS_RO);
	KUNIT_EXPECT_FALSE(test, in_sync(ctx, 0));

	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x10000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 2U);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[2], 0), 0U);
	KUNIT_EXPECT_TRUE(test, in_sync(ctx, 0));
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 2U);
	check_parent(test);

	/* One byte inside an entry removes it whole, without a table. */
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x5000, 1,
				   0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->remove_iova, 0x4000ULL);
	KUNIT_EXPECT_EQ(test, ctx->remove_size, 0x2000ULL);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[1], 0), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[1], 1), 0U);
	KUNIT_EXPECT_TRUE(test, PageDirty(ctx->fakes[1].page));
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 1U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 1ULL);
	check_parent(test);

	/* A hole: nothing to tell the parent. */
	send_nop(test);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 1U);

	/* size 0 at 0: everything, entry by entry */
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 2U);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 0U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 0ULL);
	check_parent(test);
}

/*
 * The UPDATE path, entry by entry (a KUnit thread has no user memory to
 * pin, so the pages come from pin_fake as map_pa would have pinned them).
 */
static void delta_add_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	struct vhost_vdpa_as *as;
	struct fake_entry *f, *g;

	delta_open(test);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	as = ctx->dma->as[0];
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_delta(ctx->dma, as));
	send_nop(test);
	KUNIT_ASSERT_TRUE(test, vhost_vdpa_dma_delta(ctx->dma, as));

	f = pin_fake(test, 2, VHOST_ACCESS_RW);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_add_entry(ctx->dma, as, 0x8000,
						       page_to_pfn(f->page), 2,
						       VHOST_ACCESS_RW, true),
			0);
	KUNIT_EXPECT_EQ(test, ctx->add_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->add_iova, 0x8000ULL);
	KUNIT_EXPECT_EQ(test, ctx->add_size, 0x2000ULL);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 2U);
	KUNIT_EXPECT_TRUE(test, as->in_sync);
	check_parent(test);

	/* Refused: neither table has it, and the next change is a table. */
	ctx->add_ret = -ENOSPC;
	g = pin_fake(test, 1, VHOST_ACCESS_RO);
	KUNIT_EXPECT_EQ(test, vhost_vdpa_dma_add_entry(ctx->dma, as, 0x20000,
						       page_to_pfn(g->page), 1,
						       VHOST_ACCESS_RO, true),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 2U);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 2U);
	KUNIT_EXPECT_FALSE(test, as->in_sync);
	/* what map_pa does with pages it could not enter */
	unpin_user_page_range_dirty_lock(g->page, 1, false);
	vhost_vdpa_dma_uncharge(ctx->dma, 1);
	check_parent(test);
	send_nop(test);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 2U);
	KUNIT_EXPECT_TRUE(test, as->in_sync);

	/*
	 * A failed UPDATE undoes what it entered: out of the parent first,
	 * then unpinned and uncharged.
	 */
	vhost_vdpa_dma_undo_range(ctx->dma, as, 0x8000, 0x9fff, true);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->remove_iova, 0x8000ULL);
	KUNIT_EXPECT_EQ(test, fake_pins(f, 0), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(f, 1), 0U);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 1U);
	check_parent(test);
}

/*
 * A parent refusing set_map_remove: the INVALIDATE goes on as for a
 * set_map parent without the pair (retire, push a table; a refused table is
 * only logged), and nothing is unpinned while the parent may still have it.
 */
static void delta_remove_refused_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	delta_open(test);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x2000, 1, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x3000, 1, VHOST_ACCESS_RW);
	send_nop(test);
	KUNIT_ASSERT_TRUE(test, in_sync(ctx, 0));

	/* Refused removal, accepted table: released by the table. */
	ctx->remove_ret = -EBUSY;
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x1000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 2U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 2U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 0), 0U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 2U);
	KUNIT_EXPECT_TRUE(test, in_sync(ctx, 0));
	check_parent(test);

	/* Both refused: retired, pinned and charged, as the parent has it. */
	ctx->set_map_ret = -ENOMEM;
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x2000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 2U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 3U);
	KUNIT_EXPECT_EQ(test, nmaps(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[1], 0), 1U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 2ULL);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 2U);
	KUNIT_EXPECT_FALSE(test, in_sync(ctx, 0));
	check_parent(test);

	/* Out of sync: no single removal; the next table releases both. */
	ctx->remove_ret = 0;
	ctx->set_map_ret = 0;
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x3000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 2U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 4U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[1], 0), 0U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[2], 0), 0U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 0ULL);
	KUNIT_EXPECT_TRUE(test, in_sync(ctx, 0));
	check_parent(test);
}

/* Batches go as one table; a reset forgets the parent's table. */
static void delta_batch_reset_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	delta_open(test);
	add_fake(test, 0, 0x1000, 1, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x2000, 1, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x3000, 1, VHOST_ACCESS_RW);
	add_fake(test, 0, 0x4000, 1, VHOST_ACCESS_RW);
	send_nop(test);
	KUNIT_ASSERT_EQ(test, ctx->set_map_calls, 1U);

	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x1000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 0U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 0), 1U);
	check_parent(test);
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 2U);
	KUNIT_EXPECT_EQ(test, fake_pins(&ctx->fakes[0], 0), 0U);
	KUNIT_EXPECT_TRUE(test, in_sync(ctx, 0));
	check_parent(test);

	/* Without IOTLB_PERSIST the parent's table is gone: push again. */
	vhost_iotlb_reset(ctx->parent);
	vhost_vdpa_dma_on_reset(ctx->dma, 0);
	KUNIT_EXPECT_FALSE(test, in_sync(ctx, 0));
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x2000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 0U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 3U);
	KUNIT_EXPECT_EQ(test, ctx->parent->nmaps, 2U);
	check_parent(test);

	/* With it, the pushed-back table is in sync. */
	vhost_iotlb_reset(ctx->parent);
	vhost_vdpa_dma_on_reset(ctx->dma,
				BIT_ULL(VHOST_BACKEND_F_IOTLB_PERSIST));
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 4U);
	KUNIT_EXPECT_TRUE(test, in_sync(ctx, 0));
	KUNIT_EXPECT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x3000,
				   0x1000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 4U);
	check_parent(test);

	/* A failed reset may have dropped it too. */
	vhost_vdpa_dma_parent_reset(ctx->dma);
	send_nop(test);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 5U);
	KUNIT_EXPECT_EQ(test, ctx->remove_calls, 1U);
	check_parent(test);
}

/* ---- VA mode (use_va parents): entries hold file references ---- */

/* Open a use_va set_map parent and the shmem file its entries map. */
static void va_open(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	struct file *file;

	file = shmem_file_setup("kunit-vhost-vdpa", 16 * PAGE_SIZE, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	ctx->va_file = file;
	ctx->vdev.use_va = true;
	ctx_open(test, &va_set_map_ops);
}

/*
 * Enter [iova, iova + size) of asid 0 as the VMA walk of a VA UPDATE
 * would (a reference on the file, the file offset), without telling the
 * parent, as in a batch.
 */
static void add_va(struct kunit *test, u64 iova, u64 size, u64 offset)
{
	struct dma_ctx *ctx = test->priv;
	struct vdpa_map_file *mf;
	struct vhost_vdpa_as *as;
	const char *why = NULL;

	as = vhost_vdpa_dma_find_or_create_as(ctx->dma, 0, &why);
	KUNIT_ASSERT_FALSE(test, IS_ERR(as));
	mf = kmalloc(sizeof(*mf), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mf);
	mf->file = get_file(ctx->va_file);
	mf->offset = offset;
	KUNIT_ASSERT_EQ(test, vhost_iotlb_add_range_ctx(&as->iotlb, iova,
							iova + size - 1,
							0x7f0000000000ULL + offset,
							VHOST_ACCESS_RW, mf), 0);
	as->in_sync = false;
}

/* References the tables hold on the test's file. */
static long va_refs(struct dma_ctx *ctx)
{
	return file_count(ctx->va_file) - 1;
}

/* The VMAs a VA UPDATE accepts: shared file mappings allowing the access. */
static void va_vma_ok_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	struct vm_area_struct *vma;
	const char *why = NULL;

	va_open(test);
	vma = kunit_kzalloc(test, sizeof(*vma), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	vma->vm_file = ctx->va_file;
	vma->vm_flags = VM_SHARED | VM_MAYSHARE | VM_READ | VM_WRITE |
			VM_MAYREAD | VM_MAYWRITE;
	KUNIT_EXPECT_TRUE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RW,
							 &why));
	/* MAP_PRIVATE of the file: a private copy the daemon cannot see */
	vma->vm_flags &= ~(VM_SHARED | VM_MAYSHARE);
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RO,
							  &why));
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "shared file memory"));
	/* anonymous memory, even shared */
	vma->vm_flags |= VM_SHARED | VM_MAYSHARE;
	vma->vm_file = NULL;
	why = NULL;
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RO,
							  &why));
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "shared file memory"));
	vma->vm_file = ctx->va_file;
	/* PFN and I/O memory */
	vma->vm_flags |= VM_PFNMAP;
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RO,
							  &why));
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "I/O or PFN"));
	vma->vm_flags &= ~VM_PFNMAP;
	vma->vm_flags |= VM_IO;
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RO,
							  &why));
	vma->vm_flags &= ~VM_IO;
	/* a read-only file: device-writable entries are refused */
	vma->vm_flags &= ~(VM_WRITE | VM_MAYWRITE);
	KUNIT_EXPECT_TRUE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RO,
							 &why));
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_WO,
							  &why));
	KUNIT_EXPECT_NOT_NULL(test, strstr(why, "access asked"));
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RW,
							  &why));
	vma->vm_flags &= ~VM_MAYREAD;
	vma->vm_flags |= VM_MAYWRITE;
	KUNIT_EXPECT_TRUE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_WO,
							 &why));
	KUNIT_EXPECT_FALSE(test, vhost_vdpa_dma_va_vma_ok(vma, VHOST_ACCESS_RO,
							  &why));
}

/*
 * INVALIDATE, refused tables and batches: a file reference is dropped
 * exactly when a pinned page would be unpinned, i.e. once the parent took
 * a table without the entry; never before.  No delta ops in VA mode.
 */
static void va_invalidate_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	va_open(test);
	add_va(test, 0x1000, 0x2000, 0);
	add_va(test, 0x10000, 0x1000, 0x2000);
	add_va(test, 0x20000, 0x3000, 0x3000);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 3L);

	/* accepted: the removed entry's reference goes at once */
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x1000,
				   0x2000, 0), 72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 2U);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 2L);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 0U);

	/* refused: it is kept, retired, while the parent may use it */
	ctx->set_map_ret = -EIO;
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x10000,
				   1, 0), 72);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 2L);

	/* a batch: nothing reaches the parent until BATCH_END */
	ctx->set_map_ret = 0;
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0),
			72);
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 2U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 2U);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 2L);
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_BATCH_END, 0, 0, 0),
			72);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 3U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 0U);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 0U);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 0L);
	KUNIT_EXPECT_EQ(test, ctx->dma->pinned, 0ULL);
}

/*
 * Close: every reference is dropped, retired ones too, whether the parent
 * takes the empty table or not (a use_va parent holds its own references,
 * so refusing costs no leak here); nothing was ever charged.
 */
static void va_destroy_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;
	bool refused = *(const bool *)test->param_value;

	va_open(test);
	add_va(test, 0x1000, 0x1000, 0);
	add_va(test, 0x4000, 0x4000, 0x1000);
	ctx->set_map_ret = -EBUSY;
	KUNIT_ASSERT_EQ(test, send(test, 0, VHOST_IOTLB_INVALIDATE, 0x1000,
				   1, 0), 72);
	KUNIT_EXPECT_EQ(test, nretired(ctx, 0), 1U);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 2L);
	ctx->set_map_ret = refused ? -EIO : 0;
	vhost_vdpa_dma_destroy(ctx->dma, false);
	ctx->dma = NULL;
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 0L);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 0U);
	/* exit checks the count once more and that no mm was taken */
}

static void va_destroy_desc(const bool *refused, char *desc)
{
	strscpy(desc, *refused ? "empty table refused" : "empty table taken",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(va_destroy, destroy_params, va_destroy_desc);

/*
 * A reset with IOTLB_PERSIST pushes the VA table back with its files;
 * without it nothing is pushed and the references stay with the table.
 */
static void va_reset_test(struct kunit *test)
{
	struct dma_ctx *ctx = test->priv;

	va_open(test);
	add_va(test, 0x1000, 0x1000, 0);
	vhost_vdpa_dma_on_reset(ctx->dma, 0);
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 0U);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 1L);
	vhost_vdpa_dma_on_reset(ctx->dma,
				BIT_ULL(VHOST_BACKEND_F_IOTLB_PERSIST));
	KUNIT_EXPECT_EQ(test, ctx->set_map_calls, 1U);
	KUNIT_EXPECT_EQ(test, ctx->set_map_nmaps, 1U);
	KUNIT_EXPECT_EQ(test, va_refs(ctx), 1L);
}

static struct kunit_case vhost_vdpa_dma_cases[] = {
	KUNIT_CASE(perm_ok_test),
	KUNIT_CASE_PARAM(update_last_test, update_gen_params),
	KUNIT_CASE_PARAM(invalidate_last_test, invalidate_last_gen_params),
	KUNIT_CASE_PARAM(npages_test, npages_gen_params),
	KUNIT_CASE_PARAM(parse_test, parse_gen_params),
	KUNIT_CASE(create_test),
	KUNIT_CASE_PARAM(handle_test, handle_gen_params),
	KUNIT_CASE_PARAM(invalidate_per_entry_test, inval_gen_params),
	KUNIT_CASE_PARAM(invalidate_set_map_test, inval_gen_params),
	KUNIT_CASE(batch_test),
	KUNIT_CASE(batch_per_entry_test),
	KUNIT_CASE(asid_test),
	KUNIT_CASE(asid_not_acked_test),
	KUNIT_CASE(reset_test),
	KUNIT_CASE(reset_set_map_test),
	KUNIT_CASE_PARAM(destroy_test, destroy_gen_params),
	KUNIT_CASE_PARAM(destroy_refused_test, destroy_refused_gen_params),
	KUNIT_CASE(retired_full_test),
	KUNIT_CASE_PARAM(unmap_refused_test, destroy_refused_gen_params),
	KUNIT_CASE(charge_test),
	KUNIT_CASE(delta_invalidate_test),
	KUNIT_CASE(delta_add_test),
	KUNIT_CASE(delta_remove_refused_test),
	KUNIT_CASE(delta_batch_reset_test),
	KUNIT_CASE(va_vma_ok_test),
	KUNIT_CASE(va_invalidate_test),
	KUNIT_CASE_PARAM(va_destroy_test, va_destroy_gen_params),
	KUNIT_CASE(va_reset_test),
	{}
};

static struct kunit_suite vhost_vdpa_dma_suite = {
	.name = "vhost_vdpa_dma",
	.init = dma_test_init,
	.exit = dma_test_exit,
	.test_cases = vhost_vdpa_dma_cases,
};

kunit_test_suite(vhost_vdpa_dma_suite);

MODULE_DESCRIPTION("KUnit tests of the vhost-vdpa IOTLB");
MODULE_LICENSE("GPL");
