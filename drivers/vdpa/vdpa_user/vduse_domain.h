/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IOVA domain of a VDUSE device: kernel drivers' DMA goes through
 * pages the daemon maps with VDUSE_IOTLB_GET_FD and mmap(), or, for the
 * bounce region, pages of its own it registered (VDUSE_IOTLB_REG_UMEM).
 */
#ifndef _VDUSE_DOMAIN_H
#define _VDUSE_DOMAIN_H

#include <linux/dma-map-ops.h>
#include <linux/kref.h>
#include <linux/spinlock.h>

/**
 * struct vduse_domain - the IOVA space of a VDUSE device for kernel drivers
 * @kref: one reference for the device, one per file VDUSE_IOTLB_GET_FD
 *	  returned (that file's mappings keep it alive)
 * @lock: protects @used and @hint (taken from any context, irqs off)
 * @pages_lock: taken for writing to change a page of the bounce region
 *		(VDUSE_IOTLB_REG_UMEM and DEREG_UMEM), for reading around
 *		every access to or installation of a bounce region page
 *		(any context; the writer keeps irqs off)
 * @npages: size of the space in pages; IOVA page 0 is never handed out
 * @bounce_pages: pages [0, @bounce_pages) are the bounce region (streaming
 *		  mappings), the rest the coherent region (rings)
 * @user: the bounce region is backed by a daemon's pinned pages (under
 *	  @pages_lock)
 * @used: bitmap of the IOVA pages allocated to mappings
 * @hint: where the next search for free IOVA pages starts (under @lock)
 * @pages: backing page of each IOVA page, NULL until first needed.  In the
 *	   coherent region a page once set (cmpxchg) stays until the domain
 *	   is freed (the kernel maps rings with vmap()).  In the bounce region
 *	   it is replaced only under @pages_lock held for writing, with its
 *	   data when the page is in use
 * @orig: for IOVA pages of streaming mappings, the physical address the
 *	  first byte of the IOVA page stands for (bounce copies)
 */
struct vduse_domain {
	struct kref kref;
	/* @used, @hint; any context */
	spinlock_t lock;
	/* the bounce region's @pages and @user */
	rwlock_t pages_lock;
	unsigned long npages;
	unsigned long bounce_pages;
	bool user;
	unsigned long *used;
	unsigned long hint;
	struct page **pages;
	phys_addr_t *orig;
};

struct vduse_domain *vduse_domain_create(u64 bounce_size, u64 coherent_size);
void vduse_domain_put(struct vduse_domain *domain);
struct file;
struct file *vduse_domain_get_file(struct vduse_domain *domain);
bool vduse_domain_copy(struct vduse_domain *domain, u64 iova, void *buf,
		       size_t len, bool to_domain);
int vduse_domain_set_user_pages(struct vduse_domain *domain,
				struct page **pages);
void vduse_domain_clear_user_pages(struct vduse_domain *domain);

static inline u64 vduse_domain_last(const struct vduse_domain *domain)
{
	return ((u64)domain->npages << PAGE_SHIFT) - 1;
}

/* Size of the bounce region, IOVA [0, size): VDUSE_IOTLB_REG_UMEM's size. */
static inline u64 vduse_domain_bounce_size(const struct vduse_domain *domain)
{
	return (u64)domain->bounce_pages << PAGE_SHIFT;
}

/* The DMA ops of a VDUSE vdpa device; they find the domain with this. */
struct vduse_domain *vduse_dev_to_domain(struct device *dev);
extern const struct dma_map_ops vduse_dma_ops;

#endif /* _VDUSE_DOMAIN_H */
