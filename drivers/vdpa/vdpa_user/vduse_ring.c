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
 * Packed virtqueues are followed at the same two moments, but there is
 * only one ring: the device returns a buffer by overwriting, at its own
 * used position, the descriptor there, and skips as many descriptors as
 * the buffer took.  So a packed queue keeps two positions, as lap
 * counters in 0..2 * num - 1 (the wrap counter is 1 on even laps): the
 * next descriptor to record and the next used one.  A descriptor is
 * recorded when its AVAIL bit equals the wrap counter of its lap and its
 * USED bit does not; the chain that follows (VRING_DESC_F_NEXT) makes one
 * buffer, whose id is in its last descriptor.  What the device returns
 * later is no longer in the ring, so each recorded id keeps the number of
 * descriptors it took and, for virtio-blk, the IOVA of its status byte.
 * A used descriptor carries both bits equal to its lap's wrap counter.
 * Failing writes one used descriptor per outstanding id, id and length
 * before flags, in the phase of the used position.
 *
 * The one-ring layout has two weaknesses the split ring has not, as
 * slots are overwritten before the kernel may have read them.  A daemon
 * that returns a buffer before the kernel recorded it (it polls the ring,
 * or turned kicks off and is not yet injecting an interrupt) overwrites
 * its descriptor: the used position then passes the recorded one, which
 * is moved along with it, and a buffer not yet recorded that shared those
 * slots is lost (not failed if the daemon dies later).  And a driver that
 * polls (virtio_net's NAPI) may take a used descriptor the daemon wrote
 * after the last record and make its slot available again, for the next
 * lap: the used pass steps over such slots one at a time, and the id
 * returned there stays recorded until the driver makes it available
 * again (Linux reuses the id it freed last first); if the daemon dies
 * before that, failing it returns an id the driver does not expect, which
 * it reports as a broken ring.  Reads stay bounded (at most 2 * num
 * descriptors per record, ids below num, chains and indirect tables
 * bounded), so a corrupt ring still can at worst return a wrong id or
 * miss one.
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
	return !vduse_iotlb_active(dev) &&
	       vduse_domain_copy(dev->domain, iova, buf, len, false);
}

static bool vduse_write(struct vduse_dev *dev, u64 iova, const void *buf,
			size_t len)
{
	return !vduse_iotlb_active(dev) &&
	       vduse_domain_copy(dev->domain, iova, (void *)buf, len, true);
}

static bool vduse_read16(struct vduse_dev *dev, u64 iova, u16 *val)
{
	__le16 v;

	if (!vduse_read(dev, iova, &v, sizeof(v)))
		return false;
	*val = le16_to_cpu(v);
	return true;
}

/* Lap counter of a packed ring position: 0..num - 1 when @wrap is 1. */
static u16 vduse_packed_seq(u32 num, u16 idx, u16 wrap)
{
	if (!num)
		return 0;
	idx %= num;
	return wrap ? idx : idx + num;
}

void vduse_vq_reset_tracking(struct vduse_vq *vq)
{
	const struct vdpa_vq_state_packed *p = &vq->state.packed;

	if (vq->packed) {
		vq->seen_avail = vduse_packed_seq(vq->num, p->last_avail_idx,
						  p->last_avail_counter);
		vq->seen_used = vduse_packed_seq(vq->num, p->last_used_idx,
						 p->last_used_counter);
	} else {
		vq->seen_avail = vq->state.split.avail_index;
		vq->seen_used = vq->state.split.avail_index;
	}
	if (vq->inflight)
		bitmap_zero(vq->inflight, vq->max_size);
}

/* ---- packed rings ---- */

#define VDUSE_PACKED_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define VDUSE_PACKED_USED	BIT(VRING_PACKED_DESC_F_USED)
/* No status byte recorded (IOVA 0 may be a real one). */
#define VDUSE_NO_STATUS		U64_MAX

static u16 vduse_seq_add(const struct vduse_vq *vq, u16 seq, u32 n)
{
	return (seq + n) % (2 * vq->num);
}

/* The wrap counter of the lap @seq is in. */
static bool vduse_seq_wrap(const struct vduse_vq *vq, u16 seq)
{
	return seq < vq->num;
}

static u64 vduse_seq_desc(const struct vduse_vq *vq, u16 seq)
{
	u16 pos = vduse_seq_wrap(vq, seq) ? seq : seq - vq->num;

	return vq->desc_addr + sizeof(struct vring_packed_desc) * pos;
}

/* Descriptors from @from up to (not including) @to, in ring order. */
static u16 vduse_seq_dist(const struct vduse_vq *vq, u16 from, u16 to)
{
	return (to + 2 * vq->num - from) % (2 * vq->num);
}

static bool vduse_packed_flags(struct vduse_dev *dev, struct vduse_vq *vq,
			       u16 seq, u16 *flags)
{
	return vduse_read16(dev, vduse_seq_desc(vq, seq) +
			    offsetof(struct vring_packed_desc, flags), flags);
}

static bool vduse_packed_is_avail(const struct vduse_vq *vq, u16 seq,
				  u16 flags)
{
	bool wrap = vduse_seq_wrap(vq, seq);

	return !!(flags & VDUSE_PACKED_AVAIL) == wrap &&
	       !!(flags & VDUSE_PACKED_USED) != wrap;
}

static bool vduse_packed_is_used(const struct vduse_vq *vq, u16 seq,
				 u16 flags)
{
	bool wrap = vduse_seq_wrap(vq, seq);

	return !!(flags & VDUSE_PACKED_AVAIL) == wrap &&
	       !!(flags & VDUSE_PACKED_USED) == wrap;
}

/* Made available again in the lap after that of @seq: used and reused. */
static bool vduse_packed_is_reused(const struct vduse_vq *vq, u16 seq,
				   u16 flags)
{
	bool wrap = vduse_seq_wrap(vq, seq);

	return !!(flags & VDUSE_PACKED_AVAIL) != wrap &&
	       !!(flags & VDUSE_PACKED_USED) == wrap;
}

/* A virtio-blk status byte: the last byte of a device-writable buffer. */
static void vduse_packed_status(struct vduse_dev *dev,
				const struct vring_packed_desc *desc,
				u64 *status)
{
	struct vring_packed_desc last;
	u32 entries;

	if (le16_to_cpu(desc->flags) & VRING_DESC_F_INDIRECT) {
		/* the table's entries are all used, in order: its last one */
		entries = le32_to_cpu(desc->len) / sizeof(last);
		if (!entries || entries > VDUSE_MAX_CHAIN ||
		    !vduse_read(dev, le64_to_cpu(desc->addr) +
				sizeof(last) * (entries - 1), &last,
				sizeof(last)))
			return;
		desc = &last;
	}
	if ((le16_to_cpu(desc->flags) & VRING_DESC_F_WRITE) &&
	    le32_to_cpu(desc->len))
		*status = le64_to_cpu(desc->addr) + le32_to_cpu(desc->len) - 1;
}

/*
 * Record the buffer made available at @vq->seen_avail, if there is one;
 * the number of descriptors it takes, 0 if none.
 */
static u32 vduse_packed_record(struct vduse_dev *dev, struct vduse_vq *vq)
{
	bool blk = dev->device_id == VIRTIO_ID_BLOCK;
	struct vring_packed_desc desc;
	u64 status = VDUSE_NO_STATUS;
	u16 seq = vq->seen_avail, flags, id;
	u32 descs;

	if (!vduse_packed_flags(dev, vq, seq, &flags) ||
	    !vduse_packed_is_avail(vq, seq, flags))
		return 0;
	/* the driver makes a chain's first descriptor available last */
	smp_rmb();
	for (descs = 1; ; descs++) {
		if (!vduse_read(dev, vduse_seq_desc(vq, seq), &desc,
				sizeof(desc)))
			return 0;
		if (blk)
			vduse_packed_status(dev, &desc, &status);
		if (!(le16_to_cpu(desc.flags) & VRING_DESC_F_NEXT) ||
		    descs >= vq->num)
			break;
		seq = vduse_seq_add(vq, seq, 1);
	}
	id = le16_to_cpu(desc.id);
	if (id < vq->num) {
		__set_bit(id, vq->inflight);
		vq->bufs[id].descs = descs;
		vq->bufs[id].status = status;
	}
	vq->seen_avail = vduse_seq_add(vq, vq->seen_avail, descs);
	return descs;
}

/* Record buffers made available; at most about num descriptors. */
static void vduse_packed_record_avail(struct vduse_dev *dev,
				      struct vduse_vq *vq)
{
	u32 seen = 0, descs;

	while (seen < vq->num) {
		descs = vduse_packed_record(dev, vq);
		if (!descs)
			break;
		seen += descs;
	}
}

/*
 * The device returned a buffer of @descs descriptors at @vq->seen_used:
 * move the used position past it, and the recorded one too if the device
 * went beyond what was recorded.
 */
static void vduse_packed_skip_used(struct vduse_vq *vq, u16 descs)
{
	u16 ahead = vduse_seq_dist(vq, vq->seen_used, vq->seen_avail);

	vq->seen_used = vduse_seq_add(vq, vq->seen_used, descs);
	if (descs > ahead)
		vq->seen_avail = vq->seen_used;
}

static void vduse_packed_record_used(struct vduse_dev *dev,
				     struct vduse_vq *vq)
{
	u16 flags, id, descs;
	u32 n;

	for (n = 0; n < vq->num; n++) {
		u64 at = vduse_seq_desc(vq, vq->seen_used);

		if (!vduse_packed_flags(dev, vq, vq->seen_used, &flags))
			return;
		/*
		 * The driver took a used descriptor the kernel had not
		 * recorded yet and made its slot available again: step over
		 * the slot (its id stays recorded until made available again).
		 */
		if (vduse_packed_is_reused(vq, vq->seen_used, flags)) {
			vduse_packed_skip_used(vq, 1);
			continue;
		}
		if (!vduse_packed_is_used(vq, vq->seen_used, flags))
			return;
		/* the device writes the id before it flips the flags */
		smp_rmb();
		if (!vduse_read16(dev, at + offsetof(struct vring_packed_desc,
						     id), &id))
			return;
		descs = 1;
		if (id < vq->num && test_bit(id, vq->inflight)) {
			__clear_bit(id, vq->inflight);
			descs = vq->bufs[id].descs;
		}
		vduse_packed_skip_used(vq, descs);
	}
}

static void vduse_packed_track(struct vduse_dev *dev, struct vduse_vq *vq)
{
	if (!vq->bufs || vq->seen_avail >= 2 * vq->num ||
	    vq->seen_used >= 2 * vq->num)
		return;
	vduse_packed_record_avail(dev, vq);
	vduse_packed_record_used(dev, vq);
	/* the used pass may have moved the recorded position */
	vduse_packed_record_avail(dev, vq);
}

/* Return buffer @id with an error status at the used position. */
static bool vduse_packed_fail_one(struct vduse_dev *dev, struct vduse_vq *vq,
				  u16 id)
{
	static const u8 ioerr = VIRTIO_BLK_S_IOERR;
	bool blk = dev->device_id == VIRTIO_ID_BLOCK;
	const struct vduse_packed_buf *buf = &vq->bufs[id];
	u64 at = vduse_seq_desc(vq, vq->seen_used);
	__le32 len = cpu_to_le32(blk);
	__le16 le_id = cpu_to_le16(id);
	__le16 flags;

	if (blk && buf->status != VDUSE_NO_STATUS)
		vduse_write(dev, buf->status, &ioerr, sizeof(ioerr));
	if (!vduse_write(dev, at + offsetof(struct vring_packed_desc, len),
			 &len, sizeof(len)) ||
	    !vduse_write(dev, at + offsetof(struct vring_packed_desc, id),
			 &le_id, sizeof(le_id)))
		return false;
	/* the driver reads id and length once it sees the flags */
	smp_wmb();
	flags = cpu_to_le16(vduse_seq_wrap(vq, vq->seen_used) ?
			    VDUSE_PACKED_AVAIL | VDUSE_PACKED_USED : 0);
	if (!vduse_write(dev, at + offsetof(struct vring_packed_desc, flags),
			 &flags, sizeof(flags)))
		return false;
	__clear_bit(id, vq->inflight);
	vduse_packed_skip_used(vq, max_t(u16, buf->descs, 1));
	return true;
}

/*
 * The dead daemon may have left the device event suppression at DISABLE:
 * ask for a kick on every request.  False if one came in meanwhile.
 */
static bool vduse_packed_want_kicks(struct vduse_dev *dev,
				    struct vduse_vq *vq)
{
	__le16 val = cpu_to_le16(VRING_PACKED_EVENT_FLAG_ENABLE);
	u16 flags;

	vduse_write(dev, vq->device_addr +
		    offsetof(struct vring_packed_desc_event, flags), &val,
		    sizeof(val));
	/* the driver reads the event flags after it makes a buffer available */
	smp_mb();
	return !vduse_packed_flags(dev, vq, vq->seen_avail, &flags) ||
	       !vduse_packed_is_avail(vq, vq->seen_avail, flags);
}

static unsigned int vduse_packed_fail_inflight(struct vduse_dev *dev,
					       struct vduse_vq *vq)
{
	unsigned int failed = 0, round;
	unsigned long id;

	if (!vq->bufs)
		return 0;
	for (round = 0; round < 4; round++) {
		vduse_vq_track(dev, vq);
		if (vq->seen_avail >= 2 * vq->num ||
		    vq->seen_used >= 2 * vq->num)
			return failed;
		for_each_set_bit(id, vq->inflight, vq->num) {
			if (!vduse_packed_fail_one(dev, vq, id))
				break;
			failed++;
		}
		if (vduse_packed_want_kicks(dev, vq))
			break;
	}
	return failed;
}

/* ---- split rings ---- */

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
	if (vq->packed) {
		vduse_packed_track(dev, vq);
		return;
	}
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
	if (vq->packed)
		return vduse_packed_fail_inflight(dev, vq);
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
 * vduse_cancel_vq_work - wait for deferred kicks and interrupts
 * @dev: the device; no bus driver is bound, or it is about to be freed
 */
void vduse_cancel_vq_work(struct vduse_dev *dev)
{
	u32 i;

	for (i = 0; i < dev->vq_num; i++) {
		cancel_work_sync(&dev->vqs[i].kick_work);
		cancel_work_sync(&dev->vqs[i].irq_work);
	}
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
		/*
		 * Once per queue and breakage: a driver that goes on (a
		 * network driver refilling its receive queue) fails requests
		 * on every kick, and the first line says all there is.
		 */
		if (!test_and_set_bit(i, dev->drain_told))
			dev_warn(dev->node,
				 "vq %u: failed %u request(s) the daemon left; later ones fail too, silently\n",
				 i, failed);
		else
			dev_dbg_ratelimited(dev->node,
					    "vq %u: failed %u more request(s)\n",
					    i, failed);
		vduse_vq_call_driver(vq);
	}
}
