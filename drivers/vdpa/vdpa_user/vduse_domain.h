/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IOVA domain of a VDUSE device: kernel drivers' DMA goes through
 * pages the daemon maps with VDUSE_IOTLB_GET_FD and mmap().
 */
#ifndef _VDUSE_DOMAIN_H
#define _VDUSE_DOMAIN_H

#include <linux/dma-map-ops.h>
#include <linux/kref.h>
#include <linux/spinlock.h>

/**
 * struct vduse_domain - one linear IOVA space backed by kernel pages
 * @kref: one reference for the device, one per file VDUSE_IOTLB_GET_FD
 *	  returned (that file's mappings keep it alive)
 * @lock: protects @used (taken from any context, irqs off)
 * @npages: size of the space in pages; IOVA page 0 is never handed out
 * @used: bitmap of the IOVA pages allocated to mappings
 * @pages: backing page of each IOVA page, NULL until first needed; once
 *	   set (cmpxchg) it never changes until the domain is freed, so the
 *	   daemon's mappings never go stale
 * @orig: for IOVA pages of streaming mappings, the physical address the
 *	  first byte of the IOVA page stands for (bounce copies)
 */
struct vduse_domain {
	struct kref kref;
	/* @used; any context */
	spinlock_t lock;
	unsigned long npages;
	unsigned long *used;
	struct page **pages;
	phys_addr_t *orig;
};

struct vduse_domain *vduse_domain_create(u64 size);
void vduse_domain_put(struct vduse_domain *domain);
struct file;
struct file *vduse_domain_get_file(struct vduse_domain *domain);
void *vduse_domain_kaddr(struct vduse_domain *domain, u64 iova, size_t len);

static inline u64 vduse_domain_last(const struct vduse_domain *domain)
{
	return ((u64)domain->npages << PAGE_SHIFT) - 1;
}

/* The DMA ops of a VDUSE vdpa device; they find the domain with this. */
struct vduse_domain *vduse_dev_to_domain(struct device *dev);
extern const struct dma_map_ops vduse_dma_ops;

#endif /* _VDUSE_DOMAIN_H */
