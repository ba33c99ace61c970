/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The driver side of the ring engine's KUnit suites (sim_ring_test.c,
 * sim_ring_edge_test.c): pages of the test's own, mapped read-write at
 * one IOVA through a vhost_iotlb, the rest filled with a pattern, and a
 * split ring laid out in them at offsets each suite chooses.  Test-only:
 * static functions, one copy per suite module.
 */

#ifndef _VDPA_SIM_RING_FIXTURE_H
#define _VDPA_SIM_RING_FIXTURE_H

#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/vhost_iotlb.h>
#include <uapi/linux/virtio_ring.h>

#include "sim_ring.h"

/* Where a suite puts things, as offsets into its memory. */
struct ring_layout {
	unsigned int order;		/* of the pages */
	u64 iova;			/* of the first byte, read-write */
	unsigned long desc_off;
	unsigned long avail_off;
	unsigned long used_off;
	unsigned long data_off;		/* to the end: the pattern */
	u8 fill_mul, fill_add;		/* byte i = i * mul + add */
};

struct ring_fixture {
	const struct ring_layout *lay;
	struct vhost_iotlb *iotlb;
	struct page *pages;
	u8 *mem;
	struct vdpasim_ring r;
	struct vdpasim_chain chain;
	u16 avail_idx;			/* the driver's next avail index */
};

static inline void fx_put16(struct ring_fixture *fx, unsigned long off, u16 v)
{
	__le16 le = cpu_to_le16(v);

	memcpy(fx->mem + off, &le, sizeof(le));
}

static inline u16 fx_get16(struct ring_fixture *fx, unsigned long off)
{
	__le16 le;

	memcpy(&le, fx->mem + off, sizeof(le));
	return le16_to_cpu(le);
}

static inline u32 fx_get32(struct ring_fixture *fx, unsigned long off)
{
	__le32 le;

	memcpy(&le, fx->mem + off, sizeof(le));
	return le32_to_cpu(le);
}

/* Descriptor @i of the table at offset @table. */
static inline void fx_put_desc(struct ring_fixture *fx, unsigned long table,
			       u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
	struct vring_desc d = {
		.addr = (__force __virtio64)cpu_to_le64(addr),
		.len = (__force __virtio32)cpu_to_le32(len),
		.flags = (__force __virtio16)cpu_to_le16(flags),
		.next = (__force __virtio16)cpu_to_le16(next),
	};

	memcpy(fx->mem + table + sizeof(d) * i, &d, sizeof(d));
}

/* Make chain @head available, as a driver does. */
static inline void fx_publish(struct ring_fixture *fx, u16 head)
{
	unsigned long avail = fx->lay->avail_off;

	fx_put16(fx, avail + 4 + 2 * (fx->avail_idx & (fx->r.num - 1)), head);
	fx->avail_idx++;
	fx_put16(fx, avail + 2, fx->avail_idx);
}

/* A fresh ring of @num entries whose indexes start at @base. */
static inline void fx_ring_setup(struct ring_fixture *fx, u32 num, u16 base)
{
	const struct ring_layout *lay = fx->lay;

	memset(fx->mem, 0, lay->data_off);
	memset(&fx->r, 0, sizeof(fx->r));
	fx->r.num = num;
	fx->r.desc_addr = lay->iova + lay->desc_off;
	fx->r.avail_addr = lay->iova + lay->avail_off;
	fx->r.used_addr = lay->iova + lay->used_off;
	fx->r.iotlb = fx->iotlb;
	vdpasim_ring_init(&fx->r, base);
	fx->avail_idx = base;
	fx_put16(fx, lay->avail_off + 2, base);
	fx_put16(fx, lay->used_off + 2, base);
}

/*
 * The suite's .init: the fixture in test->priv, or the test fails.  More
 * windows onto fx->pages can be added to fx->iotlb afterwards.
 */
static inline struct ring_fixture *fx_init(struct kunit *test,
					   const struct ring_layout *lay)
{
	unsigned long size = PAGE_SIZE << lay->order, i;
	struct ring_fixture *fx;
	int ret;

	fx = kunit_kzalloc(test, sizeof(*fx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fx);
	fx->lay = lay;
	fx->pages = alloc_pages(GFP_KERNEL, lay->order);
	KUNIT_ASSERT_NOT_NULL(test, fx->pages);
	fx->mem = page_address(fx->pages);
	/* A limit of 0 would refuse every entry. */
	fx->iotlb = vhost_iotlb_alloc(16, 0);
	if (!fx->iotlb) {
		__free_pages(fx->pages, lay->order);
		KUNIT_ASSERT_NOT_NULL(test, fx->iotlb);
	}
	ret = vhost_iotlb_add_range(fx->iotlb, lay->iova, lay->iova + size - 1,
				    page_to_phys(fx->pages), VHOST_MAP_RW);
	if (ret) {
		vhost_iotlb_free(fx->iotlb);
		__free_pages(fx->pages, lay->order);
		KUNIT_ASSERT_EQ(test, ret, 0);
	}
	for (i = lay->data_off; i < size; i++)
		fx->mem[i] = (u8)(i * lay->fill_mul + lay->fill_add);
	test->priv = fx;
	return fx;
}

/*
 * A read-only window at @ro_iova and a write-only one at @wo_iova onto the
 * whole of fx->pages, besides the read-write one of fx_init().
 */
static inline void fx_add_ro_wo(struct kunit *test, struct ring_fixture *fx,
				u64 ro_iova, u64 wo_iova)
{
	u64 size = PAGE_SIZE << fx->lay->order;
	phys_addr_t pa = page_to_phys(fx->pages);

	KUNIT_ASSERT_EQ(test, vhost_iotlb_add_range(fx->iotlb, ro_iova,
						    ro_iova + size - 1, pa,
						    VHOST_MAP_RO), 0);
	KUNIT_ASSERT_EQ(test, vhost_iotlb_add_range(fx->iotlb, wo_iova,
						    wo_iova + size - 1, pa,
						    VHOST_MAP_WO), 0);
}

/* The suite's .exit; also called when .init failed. */
static inline void fx_exit(struct kunit *test)
{
	struct ring_fixture *fx = test->priv;

	if (!fx)
		return;
	vhost_iotlb_free(fx->iotlb);
	__free_pages(fx->pages, fx->lay->order);
}

#endif /* _VDPA_SIM_RING_FIXTURE_H */
