/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-vdpa: the IOTLB (DMA mapping) half of a /dev/vhost-vdpa-N file.
 *
 * The char device code owns the file and its locking; this part turns
 * IOTLB messages written by userspace into address-space tables, pins the
 * memory behind them, charges it to the owner's RLIMIT_MEMLOCK and keeps the
 * parent's translation in step with the tables.
 *
 * Locking contract: every function below is called with the char device's
 * mutex held, which serialises them all for one struct vhost_vdpa_dma; none
 * of them takes a lock of its own.  The vdpa device must stay alive (not yet
 * removed from its parent) from create to destroy.
 */
#ifndef _VHOST_VDPA_DMA_H
#define _VHOST_VDPA_DMA_H

#include <linux/nospec.h>
#include <linux/types.h>

struct iov_iter;
struct vdpa_device;
struct vdpa_iova_range;

/*
 * All DMA-mapping state of one open file: its address spaces (created on
 * demand), the batch state, and the mm the pinned pages are charged to.
 */
struct vhost_vdpa_dma;

/**
 * vhost_vdpa_dma_create - set up the DMA state of a newly opened file
 * @vdev: the device; its nas, use_va and DMA operations pick the model
 *
 * A parent with neither set_map nor dma_map DMAs through the platform
 * IOMMU of its DMA device: the file gets an IOMMU domain of its own,
 * attached to that device until destroy.
 *
 * Return: the new state, or an ERR_PTR: for a platform-IOMMU parent
 * -EOPNOTSUPP without a DMA device, -EFAULT if it is on no bus, -ENOTSUPP
 * without a cache-coherent IOMMU, -EIO if no domain can be allocated, or
 * the attach error; -EINVAL for dma_map without dma_unmap; -ENOMEM.
 */
struct vhost_vdpa_dma *vhost_vdpa_dma_create(struct vdpa_device *vdev);

/**
 * vhost_vdpa_dma_iova_range - the IOVAs userspace may map
 * @dma: the file's DMA state
 * @range: filled with the parent's get_iova_range, else the IOMMU
 *	   domain's aperture when it is enforced, else [0, U64_MAX]
 */
void vhost_vdpa_dma_iova_range(const struct vhost_vdpa_dma *dma,
			       struct vdpa_iova_range *range);

/**
 * vhost_vdpa_dma_write - handle one IOTLB message written to the file
 * @dma: the file's DMA state
 * @from: the bytes written (a V1 struct vhost_msg or a struct vhost_msg_v2)
 * @acked_backend_features: the backend features acked by userspace
 *
 * Called from write() after the owner check, so current->mm is the owner's.
 *
 * Return: sizeof(struct vhost_msg_v2) (72) on success whatever the write
 * length; -EINVAL for a bad or short header, a short body or a size-0
 * UPDATE; -EFAULT when the message itself fails (the real cause is logged,
 * rate-limited).
 */
ssize_t vhost_vdpa_dma_write(struct vhost_vdpa_dma *dma, struct iov_iter *from,
			     u64 acked_backend_features);

/**
 * vhost_vdpa_dma_parent_reset - a reset of the device was attempted
 * @dma: the file's DMA state
 *
 * Whether or not it succeeded, the parent's tables are no longer known to
 * match ours: the next change to each goes as a whole table (set_map).
 * vhost_vdpa_dma_on_reset() calls it; call it alone after a failed reset.
 */
void vhost_vdpa_dma_parent_reset(struct vhost_vdpa_dma *dma);

/**
 * vhost_vdpa_dma_on_reset - the device was reset (SET_STATUS 0, open)
 * @dma: the file's DMA state
 * @acked_backend_features: the backend features acked by userspace
 *
 * The tables always survive a reset.  If VHOST_BACKEND_F_IOTLB_PERSIST was
 * acked they are pushed back to the parent, which may have dropped its copy.
 */
void vhost_vdpa_dma_on_reset(struct vhost_vdpa_dma *dma,
			     u64 acked_backend_features);

/**
 * vhost_vdpa_dma_destroy - drop every mapping and free the state
 * @dma: the file's DMA state; NULL or an ERR_PTR is ignored
 * @parent_reset: the device was reset successfully just before, so a
 *		  set_map parent holds no table any more
 *
 * Unmaps everything from the parent, unpins all pages (dirtying those the
 * device could write), uncharges them and releases the mm.  A set_map
 * parent is given an empty table first (reset_map if it refuses); if it
 * refuses both and was not reset, the pages it may still reach are left
 * pinned for good rather than freed under it (logged).  In VA mode (use_va)
 * the entries' file references are dropped in every case: a parent keeping
 * a file holds its own reference.  Called from
 * release() and from the device's remove (revoke).
 */
void vhost_vdpa_dma_destroy(struct vhost_vdpa_dma *dma, bool parent_reset);

#endif /* _VHOST_VDPA_DMA_H */
