// SPDX-License-Identifier: GPL-2.0
/*
 * VDUSE: failing in-flight requests when the daemon is gone.
 *
 * A kernel driver (virtio_blk) waits for every request it made available
 * until the device returns it; nothing else completes it, and removing the
 * disk waits for them too.  So once the daemon has died or stopped
 * answering, the kernel completes the outstanding requests itself, with
 * an error status.
 *
 * To know which requests are outstanding, each split virtqueue's ring is
 * followed from the kernel side: every kick and every interrupt the daemon
 * injects first records the heads newly made available and those newly
 * used.  The driver only reuses a head after its used-buffer handler
 * returned it, and that handler only runs from an injected interrupt
 * (after the record), so no head is made available twice between two
 * records and none escapes.  Everything read from the rings may have been
 * written by the daemon: indexes are bounded, heads checked, and a
 * corrupt record can at worst complete a wrong head, which the virtio
 * ring detects and reports (it marks the queue broken).
 *
 * Only the bounce domain is read: while vhost-vdpa's table is installed
 * the rings are in its client's memory, and that client (not the kernel)
 * deals with a dead daemon, so nothing is followed or failed.
 */

#include <linux/eventfd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "vduse.h"

/* Longest descriptor chain or indirect table followed. */
#define VDUSE_MAX_CHAIN	1024

static bool vduse_read(struct vduse_dev *dev, u64 iova, void *buf,
		       size_t len)
{
	if (vduse_iotlb_active(dev))
		return false;
	while (len) {
		size_t chunk = min_t(size_t, len,
				     PAGE_SIZE - offset_in_page(iova));
		void *src = vduse_domain_kaddr(dev->domain, iova, chunk);

		if (!src)
			return false;
		memcpy(buf, src, chunk);
		buf += chunk;
		iova += chunk;
		len -= chunk;
	}
	return true;
}

static bool vduse_write(struct vduse_dev *dev, u64 iova, const void *buf,
			size_t len)
{
	if (vduse_iotlb_active(dev))
		return false;
	while (len) {
		size_t chunk = min_t(size_t, len,
				     PAGE_SIZE - offset_in_page(iova));
		void *dst = vduse_domain_kaddr(dev->domain, iova, chunk);

		if (!dst)
			return false;
		memcpy(dst, buf, chunk);
		buf += chunk;
		iova += chunk;
		len -= chunk;
	}
	return true;
}

static bool vduse_read16(struct vduse_dev *dev, u64 iova, u16 *val)
{
	__le16 v;

	if (!vduse_read(dev, iova, &v, sizeof(v)))
		return false;
	*val = le16_to_cpu(v);
	return true;
}

void vduse_vq_reset_tracking(struct vduse_vq *vq)
{
	vq->seen_avail = vq->state.split.avail_index;
	vq->seen_used = vq->state.split.avail_index;
	if (vq->inflight)
		bitmap_zero(vq->inflight, vq->max_size);
}

/**
 * vduse_vq_track - record the heads made available and used since last time
 * @dev: the device
 * @vq: the queue; its @lock is held
 */
void vduse_vq_track(struct vduse_dev *dev, struct vduse_vq *vq)
{
	u16 avail, used, n;
	__le32 id;
	u16 head;

	lockdep_assert_held(&vq->lock);
	if (!vq->ready || !vq->num || vq->num > vq->max_size)
		return;
	if (!vduse_read16(dev, vq->driver_addr + 2, &avail))
		return;
	for (n = 0; vq->seen_avail != avail && n < vq->num; n++) {
		u64 slot = vq->driver_addr + 4 + 2 * (vq->seen_avail % vq->num);

		if (!vduse_read16(dev, slot, &head))
			break;
		if (head < vq->num)
			__set_bit(head, vq->inflight);
		vq->seen_avail++;
	}
	if (!vduse_read16(dev, vq->device_addr + 2, &used))
		return;
	for (n = 0; vq->seen_used != used && n < vq->num; n++) {
		u64 slot = vq->device_addr + 4 + 8 * (vq->seen_used % vq->num);

		if (!vduse_read(dev, slot, &id, sizeof(id)))
			break;
		if (le32_to_cpu(id) < vq->num)
			__clear_bit(le32_to_cpu(id), vq->inflight);
		vq->seen_used++;
	}
}

/*
 * Split ring entries as a VERSION_1 device sees them: little-endian always
 * (<linux/virtio_ring.h> types them __virtio*, for legacy devices too).
 */
struct vduse_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct vduse_used_elem {
	__le32 id;
	__le32 len;
};

/*
 * The device-writable byte a virtio-blk request ends with is its status:
 * find the last device-writable descriptor of the chain at @head, through
 * an indirect table if there is one.
 */
static bool vduse_blk_status_addr(struct vduse_dev *dev, struct vduse_vq *vq,
				  u16 head, u64 *addr)
{
	u64 table = vq->desc_addr;
	u32 entries = vq->num, i = head, n;
	struct vduse_desc desc;
	bool found = false;

	for (n = 0; n < VDUSE_MAX_CHAIN; n++) {
		if (i >= entries || !vduse_read(dev, table + 16ULL * i, &desc,
						sizeof(desc)))
			return false;
		if (le16_to_cpu(desc.flags) & VRING_DESC_F_INDIRECT) {
			/* only the head may be indirect; its table restarts */
			if (table != vq->desc_addr)
				return false;
			table = le64_to_cpu(desc.addr);
			entries = le32_to_cpu(desc.len) / sizeof(desc);
			i = 0;
			continue;
		}
		if ((le16_to_cpu(desc.flags) & VRING_DESC_F_WRITE) &&
		    le32_to_cpu(desc.len)) {
			*addr = le64_to_cpu(desc.addr) + le32_to_cpu(desc.len) - 1;
			found = true;
		}
		if (!(le16_to_cpu(desc.flags) & VRING_DESC_F_NEXT))
			return found;
		i = le16_to_cpu(desc.next);
	}
	return false;
}

/*
 * The dead daemon no longer moves the used ring's avail_event (nor clears
 * VRING_USED_F_NO_NOTIFY): ask for a kick on the very next request, or the
 * driver would never kick again and its requests would never be failed.
 * False if requests came in meanwhile: record and fail those first.
 */
static bool vduse_vq_want_kicks(struct vduse_dev *dev, struct vduse_vq *vq)
{
	__le16 val = cpu_to_le16(0);
	u16 avail;

	vduse_write(dev, vq->device_addr, &val, sizeof(val));
	if (dev->driver_features & BIT_ULL(VIRTIO_RING_F_EVENT_IDX)) {
		val = cpu_to_le16(vq->seen_avail);
		vduse_write(dev, vq->device_addr + 4 + 8ULL * vq->num, &val,
			    sizeof(val));
	}
	/* the driver reads avail_event after it publishes its index */
	smp_mb();
	return !vduse_read16(dev, vq->driver_addr + 2, &avail) ||
	       avail == vq->seen_avail;
}

/* Return every recorded head with an error; @vq->lock held. */
static unsigned int vduse_vq_fail_inflight(struct vduse_dev *dev,
					   struct vduse_vq *vq)
{
	static const u8 ioerr = VIRTIO_BLK_S_IOERR;
	unsigned int failed = 0, round;
	unsigned long head;
	struct vduse_used_elem elem;
	__le16 idx;
	u64 status;

	if (!vq->ready || !vq->num || vq->num > vq->max_size)
		return 0;
	for (round = 0; round < 4; round++) {
		vduse_vq_track(dev, vq);
		for_each_set_bit(head, vq->inflight, vq->num) {
			if (dev->device_id == VIRTIO_ID_BLOCK &&
			    vduse_blk_status_addr(dev, vq, head, &status))
				vduse_write(dev, status, &ioerr, sizeof(ioerr));
			elem.id = cpu_to_le32(head);
			elem.len = cpu_to_le32(dev->device_id == VIRTIO_ID_BLOCK);
			if (!vduse_write(dev, vq->device_addr + 4 +
					 8 * (vq->seen_used % vq->num), &elem,
					 sizeof(elem)))
				break;
			vq->seen_used++;
			__clear_bit(head, vq->inflight);
			failed++;
		}
		/* the entries must be visible before the index */
		smp_wmb();
		idx = cpu_to_le16(vq->seen_used);
		vduse_write(dev, vq->device_addr + 2, &idx, sizeof(idx));
		if (vduse_vq_want_kicks(dev, vq))
			break;
	}
	return failed;
}

/**
 * vduse_vq_kick_work - pass on a kick made where no eventfd may be signalled
 * @work: &vduse_vq.kick_work
 *
 * vhost-vdpa kicks from the wake-up of its client's kick eventfd, and an
 * eventfd cannot be signalled from inside another's wake-up.
 */
void vduse_vq_kick_work(struct work_struct *work)
{
	struct vduse_vq *vq = container_of(work, struct vduse_vq, kick_work);
	struct eventfd_ctx *ctx;

	rcu_read_lock();
	spin_lock_irq(&vq->lock);
	ctx = rcu_dereference(vq->kickfd);
	if (!ctx)
		vq->kicked = true;
	spin_unlock_irq(&vq->lock);
	/* never under vq->lock: see &vduse_vq.kickfd */
	if (ctx)
		eventfd_signal(ctx, 1);
	rcu_read_unlock();
}

/**
 * vduse_cancel_kicks - wait for deferred kicks; no bus driver is bound
 * @dev: the device
 */
void vduse_cancel_kicks(struct vduse_dev *dev)
{
	u32 i;

	for (i = 0; i < dev->vq_num; i++)
		cancel_work_sync(&dev->vqs[i].kick_work);
}

/**
 * vduse_drain_work - fail every in-flight request of a broken device
 * @work: &vduse_dev.drain_work
 *
 * Queued when the device breaks and on every kick after that, so requests
 * made later fail as well.
 */
void vduse_drain_work(struct work_struct *work)
{
	struct vduse_dev *dev = container_of(work, struct vduse_dev,
					     drain_work);
	unsigned int i, failed;

	for (i = 0; i < dev->vq_num; i++) {
		struct vduse_vq *vq = &dev->vqs[i];

		spin_lock_irq(&vq->lock);
		failed = vduse_vq_fail_inflight(dev, vq);
		spin_unlock_irq(&vq->lock);
		if (!failed)
			continue;
		dev_warn_ratelimited(dev->node,
				     "vq %u: failed %u request(s) the daemon left\n",
				     i, failed);
		spin_lock_irq(&vq->irq_lock);
		if (vq->cb.callback)
			vq->cb.callback(vq->cb.private);
		spin_unlock_irq(&vq->irq_lock);
	}
}
