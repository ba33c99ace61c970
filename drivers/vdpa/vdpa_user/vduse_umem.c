// SPDX-License-Identifier: GPL-2.0
/*
 * VDUSE: a daemon's own memory as the bounce region of its device
 * (VDUSE_IOTLB_REG_UMEM, VDUSE_IOTLB_DEREG_UMEM).
 *
 * The daemon hands over a buffer exactly the size of the bounce region
 * (IOVA 0 up to the size VDUSE_IOTLB_GET_INFO reports with
 * VDUSE_IOVA_CAP_UMEM); its pages are pinned, charged to the daemon's
 * RLIMIT_MEMLOCK (mm->pinned_vm, no exemption, as upstream) and put in
 * place of the region's kernel pages with their data.  From then on the
 * bounce data of IOVA x is at the buffer's address + x.
 *
 * Invariant: a page of the buffer is unpinned only after the domain no
 * longer refers to it (vduse_domain_clear_user_pages() returned), so no
 * bounce copy, ring access or mapping of the domain can reach it.  The
 * registration goes with DEREG_UMEM, with the daemon's release of its
 * device file (exit, kill) and never outlives it.
 *
 * @umem_lock serialises registration and its removal; it is taken before
 * vduse_lock (release) and never held while the daemon is waited for.
 */

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vduse.h"

/* Unpin and uncharge @umem's pages and free it. */
static void vduse_umem_free(struct vduse_umem *umem)
{
	unpin_user_pages_dirty_lock(umem->pages, umem->npages, true);
	atomic64_sub(umem->npages, &umem->mm->pinned_vm);
	mmdrop(umem->mm);
	kvfree(umem->pages);
	kfree(umem);
}

/* Pin @npages pages from @uaddr into @pages; return how many (or errno). */
static long vduse_umem_pin(u64 uaddr, unsigned long npages,
			   struct page **pages)
{
	unsigned long done = 0;
	int ret;

	while (done < npages) {
		ret = pin_user_pages_fast(uaddr + (done << PAGE_SHIFT),
					  min_t(unsigned long, npages - done,
						INT_MAX),
					  FOLL_WRITE | FOLL_LONGTERM,
					  pages + done);
		if (ret <= 0) {
			if (done)
				unpin_user_pages(pages, done);
			return ret ? ret : -EFAULT;
		}
		done += ret;
		if (fatal_signal_pending(current)) {
			unpin_user_pages(pages, done);
			return -EINTR;
		}
	}
	return done;
}

/**
 * vduse_umem_reg - VDUSE_IOTLB_REG_UMEM
 * @dev: the device
 * @req: the request, copied in (reserved fields already checked zero)
 *
 * Return: 0; -EINVAL unless the device is attached, iova is 0, size the
 * bounce region's and uaddr page aligned; -EEXIST if memory is registered
 * already; -ENOMEM beyond RLIMIT_MEMLOCK; the pinning's error (-EFAULT
 * for an address without memory).
 */
int vduse_umem_reg(struct vduse_dev *dev, const struct vduse_iova_umem *req)
{
	struct vduse_domain *domain = dev->domain;
	u64 limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long npages = domain->bounce_pages;
	struct vduse_umem *umem;
	long pinned;
	int ret;

	if (!READ_ONCE(dev->vdev) || req->iova ||
	    req->size != vduse_domain_bounce_size(domain) ||
	    !PAGE_ALIGNED(req->uaddr))
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(req->uaddr), req->size))
		return -EFAULT;

	mutex_lock(&dev->umem_lock);
	ret = -EEXIST;
	if (dev->umem)
		goto unlock;
	ret = -ENOMEM;
	umem = kzalloc(sizeof(*umem), GFP_KERNEL);
	if (!umem)
		goto unlock;
	umem->pages = kvcalloc(npages, sizeof(*umem->pages), GFP_KERNEL);
	if (!umem->pages)
		goto err_free;
	umem->npages = npages;
	umem->mm = current->mm;
	if ((u64)atomic64_add_return(npages, &umem->mm->pinned_vm) > limit)
		goto err_uncharge;
	pinned = vduse_umem_pin(req->uaddr, npages, umem->pages);
	if (pinned < 0) {
		ret = pinned;
		goto err_uncharge;
	}
	ret = vduse_domain_set_user_pages(domain, umem->pages);
	if (WARN_ON_ONCE(ret)) {
		unpin_user_pages(umem->pages, npages);
		goto err_uncharge;
	}
	mmgrab(umem->mm);
	dev->umem = umem;
	mutex_unlock(&dev->umem_lock);
	return 0;

err_uncharge:
	atomic64_sub(npages, &umem->mm->pinned_vm);
	kvfree(umem->pages);
err_free:
	kfree(umem);
unlock:
	mutex_unlock(&dev->umem_lock);
	return ret;
}

/**
 * vduse_umem_dereg - VDUSE_IOTLB_DEREG_UMEM, and the daemon's release
 * @dev: the device
 * @iova: must be the registered memory's IOVA (0)
 * @size: must be the bounce region's size
 *
 * The region gets kernel pages again, with the data of the pages in use.
 *
 * Return: 0, -ENOENT if nothing is registered, -EINVAL for another range.
 */
int vduse_umem_dereg(struct vduse_dev *dev, u64 iova, u64 size)
{
	struct vduse_umem *umem;

	mutex_lock(&dev->umem_lock);
	umem = dev->umem;
	if (!umem) {
		mutex_unlock(&dev->umem_lock);
		return -ENOENT;
	}
	if (iova || size != vduse_domain_bounce_size(dev->domain)) {
		mutex_unlock(&dev->umem_lock);
		return -EINVAL;
	}
	vduse_domain_clear_user_pages(dev->domain);
	dev->umem = NULL;
	mutex_unlock(&dev->umem_lock);
	vduse_umem_free(umem);
	return 0;
}
