// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the VDUSE IOVA domain: its two regions, bounce copies,
 * and a daemon's pages put in place of the bounce region's and taken back
 * (VDUSE_IOTLB_REG_UMEM/DEREG_UMEM), also while buffers are being bounced
 * on another CPU.
 *
 * The file under test is compiled into this module (included below).  A
 * KUnit test has no user memory: the daemon's pages are kernel pages the
 * test allocates, and their reference counts show whether the domain still
 * holds on to them.  Needs a kernel with CONFIG_KUNIT; see the Kbuild file.
 */

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/page_ref.h>

#include "vduse_domain.c"

/* The DMA ops' lookup; the tests call the domain directly. */
struct vduse_domain *vduse_dev_to_domain(struct device *dev)
{
	return NULL;
}

#define BOUNCE_PAGES	16
#define COHERENT_PAGES	8

struct umem_ctx {
	struct vduse_domain *domain;
	struct page *user[BOUNCE_PAGES];
};

static int umem_init(struct kunit *test)
{
	struct umem_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->domain = vduse_domain_create(BOUNCE_PAGES * PAGE_SIZE,
					  COHERENT_PAGES * PAGE_SIZE);
	KUNIT_ASSERT_NOT_NULL(test, ctx->domain);
	for (i = 0; i < BOUNCE_PAGES; i++) {
		ctx->user[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, ctx->user[i]);
		memset(page_address(ctx->user[i]), 0xee, PAGE_SIZE);
	}
	test->priv = ctx;
	return 0;
}

static void umem_exit(struct kunit *test)
{
	struct umem_ctx *ctx = test->priv;
	unsigned int i;

	vduse_domain_clear_user_pages(ctx->domain);
	/* only the test's own reference is left on every "daemon" page */
	for (i = 0; i < BOUNCE_PAGES; i++) {
		KUNIT_EXPECT_EQ_MSG(test, page_ref_count(ctx->user[i]), 1,
				    "user page %u", i);
		__free_page(ctx->user[i]);
	}
	vduse_domain_put(ctx->domain);
}

/* Map @len bytes of @buf for DMA; the IOVA, or DMA_MAPPING_ERROR. */
static dma_addr_t map_buf(struct umem_ctx *ctx, void *buf, size_t len,
			  enum dma_data_direction dir)
{
	return vduse_domain_map(ctx->domain, virt_to_phys(buf), len, dir);
}

static void regions_test(struct kunit *test)
{
	struct umem_ctx *ctx = test->priv;
	struct vduse_domain *d = ctx->domain;
	unsigned long count;
	dma_addr_t iova;
	u8 *buf;

	KUNIT_EXPECT_EQ(test, vduse_domain_bounce_size(d),
			(u64)BOUNCE_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, vduse_domain_last(d),
			(u64)(BOUNCE_PAGES + COHERENT_PAGES) * PAGE_SIZE - 1);

	/* streaming mappings stay in the bounce region, never page 0 */
	buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (count = 0; count < BOUNCE_PAGES; count++) {
		iova = map_buf(ctx, buf, 64, DMA_TO_DEVICE);
		if (iova == DMA_MAPPING_ERROR)
			break;
		KUNIT_EXPECT_GE(test, iova, (dma_addr_t)PAGE_SIZE);
		KUNIT_EXPECT_LT(test, iova, (dma_addr_t)vduse_domain_bounce_size(d));
	}
	KUNIT_EXPECT_EQ(test, count, (unsigned long)BOUNCE_PAGES - 1);

	/* coherent allocations stay above it */
	iova = vduse_domain_alloc_iova(d, d->bounce_pages, d->npages,
				       COHERENT_PAGES);
	KUNIT_EXPECT_EQ(test, iova, (dma_addr_t)BOUNCE_PAGES);
	iova = vduse_domain_alloc_iova(d, d->bounce_pages, d->npages, 1);
	KUNIT_EXPECT_EQ(test, iova, (dma_addr_t)0);
}

static void set_copies_and_releases_test(struct kunit *test)
{
	struct umem_ctx *ctx = test->priv;
	struct vduse_domain *d = ctx->domain;
	struct page *old;
	dma_addr_t iova;
	u8 *buf, *got;

	buf = kunit_kmalloc(test, 100, GFP_KERNEL);
	got = kunit_kzalloc(test, 100, GFP_KERNEL);
	KUNIT_ASSERT_TRUE(test, buf && got);
	memset(buf, 0x5a, 100);
	iova = map_buf(ctx, buf, 100, DMA_BIDIRECTIONAL);
	KUNIT_ASSERT_NE(test, iova, DMA_MAPPING_ERROR);
	old = d->pages[iova >> PAGE_SHIFT];
	get_page(old);

	KUNIT_ASSERT_EQ(test, vduse_domain_set_user_pages(d, ctx->user), 0);
	KUNIT_EXPECT_EQ(test, vduse_domain_set_user_pages(d, ctx->user),
			-EEXIST);
	/* the kernel page is let go, its data now in the daemon's page */
	KUNIT_EXPECT_EQ(test, page_ref_count(old), 1);
	put_page(old);
	KUNIT_EXPECT_PTR_EQ(test, d->pages[iova >> PAGE_SHIFT],
			    ctx->user[iova >> PAGE_SHIFT]);
	KUNIT_EXPECT_EQ(test, memcmp(page_address(ctx->user[iova >> PAGE_SHIFT]) +
				     offset_in_page(iova), buf, 100), 0);

	/* the "device" answers in the daemon's page; unmap brings it back */
	memset(page_address(ctx->user[iova >> PAGE_SHIFT]) +
	       offset_in_page(iova), 0xa5, 100);
	KUNIT_EXPECT_TRUE(test, vduse_domain_copy(d, iova, got, 100, false));
	KUNIT_EXPECT_EQ(test, got[0], 0xa5);
	vduse_domain_unmap(d, iova, 100, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_EQ(test, buf[0], 0xa5);
	KUNIT_EXPECT_EQ(test, buf[99], 0xa5);
}

static void clear_keeps_pages_in_use_test(struct kunit *test)
{
	struct umem_ctx *ctx = test->priv;
	struct vduse_domain *d = ctx->domain;
	unsigned long i, index;
	dma_addr_t iova;
	u8 *buf;

	buf = kunit_kmalloc(test, 200, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, vduse_domain_set_user_pages(d, ctx->user), 0);
	memset(buf, 0x11, 200);
	iova = map_buf(ctx, buf, 200, DMA_FROM_DEVICE);
	KUNIT_ASSERT_NE(test, iova, DMA_MAPPING_ERROR);
	index = iova >> PAGE_SHIFT;
	/* the device writes its answer while the daemon's pages back it */
	memset(page_address(ctx->user[index]) + offset_in_page(iova), 0x77,
	       200);

	vduse_domain_clear_user_pages(d);
	KUNIT_EXPECT_FALSE(test, d->user);
	for (i = 0; i < BOUNCE_PAGES; i++) {
		KUNIT_EXPECT_PTR_NE_MSG(test, d->pages[i], ctx->user[i],
					"page %lu", i);
		/* only the page in use has a kernel page again */
		if (i != index)
			KUNIT_EXPECT_NULL_MSG(test, d->pages[i], "page %lu", i);
	}
	KUNIT_ASSERT_NOT_NULL(test, d->pages[index]);
	vduse_domain_unmap(d, iova, 200, DMA_FROM_DEVICE);
	KUNIT_EXPECT_EQ(test, buf[0], 0x77);
	KUNIT_EXPECT_EQ(test, buf[199], 0x77);
	/* clearing again is a no-op */
	vduse_domain_clear_user_pages(d);
}

static void copy_bounds_test(struct kunit *test)
{
	struct umem_ctx *ctx = test->priv;
	struct vduse_domain *d = ctx->domain;
	u8 byte = 0;

	KUNIT_EXPECT_FALSE(test, vduse_domain_copy(d, 0, &byte, 1, false));
	KUNIT_EXPECT_FALSE(test, vduse_domain_copy(d, vduse_domain_last(d) + 1,
						   &byte, 1, false));
	KUNIT_EXPECT_FALSE(test, vduse_domain_copy(d, vduse_domain_last(d),
						   &byte, 2, false));
	KUNIT_EXPECT_FALSE(test, vduse_domain_copy(d, U64_MAX, &byte, 1, true));
	/* never backed: refused, not allocated */
	KUNIT_EXPECT_FALSE(test, vduse_domain_copy(d, PAGE_SIZE, &byte, 1,
						   false));
	KUNIT_EXPECT_NULL(test, d->pages[1]);
}

struct bouncer {
	struct umem_ctx *ctx;
	unsigned long rounds;
	unsigned long bad;
	bool failed_map;
};

/*
 * Bounce buffers with a per-round pattern through the region and check
 * each comes back intact: a replacement of a page must never lose or mix
 * data of a mapping in flight.
 */
static int bouncer_fn(void *arg)
{
	struct bouncer *b = arg;
	size_t len = 3 * PAGE_SIZE;
	dma_addr_t iova;
	u8 *buf;
	size_t i;

	buf = kmalloc(len, GFP_KERNEL);
	if (!buf) {
		b->failed_map = true;
		goto wait;
	}
	while (!kthread_should_stop()) {
		u8 pattern = (u8)(b->rounds * 7 + 1);

		memset(buf, pattern, len);
		iova = map_buf(b->ctx, buf, len, DMA_BIDIRECTIONAL);
		if (iova == DMA_MAPPING_ERROR) {
			b->failed_map = true;
			break;
		}
		memset(buf, 0, len);
		cond_resched();
		vduse_domain_unmap(b->ctx->domain, iova, len,
				   DMA_BIDIRECTIONAL);
		for (i = 0; i < len; i++)
			if (buf[i] != pattern) {
				b->bad++;
				break;
			}
		b->rounds++;
	}
	kfree(buf);
wait:
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static void replace_under_traffic_test(struct kunit *test)
{
	struct umem_ctx *ctx = test->priv;
	struct bouncer b = { .ctx = ctx };
	struct task_struct *task;
	unsigned int i;

	task = kthread_run(bouncer_fn, &b, "vduse-bouncer");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	for (i = 0; i < 200; i++) {
		KUNIT_ASSERT_EQ(test,
				vduse_domain_set_user_pages(ctx->domain,
							    ctx->user), 0);
		cond_resched();
		vduse_domain_clear_user_pages(ctx->domain);
		cond_resched();
	}
	kthread_stop(task);
	KUNIT_EXPECT_FALSE(test, b.failed_map);
	KUNIT_EXPECT_GT(test, b.rounds, 0UL);
	KUNIT_EXPECT_EQ_MSG(test, b.bad, 0UL, "of %lu round trips", b.rounds);
}

static struct kunit_case vduse_domain_cases[] = {
	KUNIT_CASE(regions_test),
	KUNIT_CASE(set_copies_and_releases_test),
	KUNIT_CASE(clear_keeps_pages_in_use_test),
	KUNIT_CASE(copy_bounds_test),
	KUNIT_CASE(replace_under_traffic_test),
	{}
};

static struct kunit_suite vduse_domain_suite = {
	.name = "vduse_domain",
	.init = umem_init,
	.exit = umem_exit,
	.test_cases = vduse_domain_cases,
};

kunit_test_suite(vduse_domain_suite);

MODULE_DESCRIPTION("KUnit tests of the VDUSE IOVA domain");
MODULE_LICENSE("GPL");
