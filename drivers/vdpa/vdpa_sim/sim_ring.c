// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_sim: split virtqueue engine (virtio 1.x, little-endian only).
 *
 * Layout, from the uapi <linux/virtio_ring.h>: a descriptor table of num
 * 16-byte entries; the avail ring {flags, idx, ring[num], used_event}; the
 * used ring {flags, idx, {id, len}[num], avail_event}.  Indices are free
 * running 16-bit counters; the slot of index i is i & (num - 1).
 *
 * Everything the driver wrote is untrusted.  The chain walk is bounded by
 * the table size and by VDPASIM_CHAIN_MAX_SEGS, every address computation is
 * overflow-checked, and memory is touched only through the IOTLB helpers.
 *
 * Edge cases a KUnit suite should cover (sim_ring_test.c covers them):
 *  - a single-descriptor chain, a readable+writable chain, zero-length
 *    descriptors inside a chain (kept, skipped by the copies);
 *  - an indirect chain, direct descriptors before an indirect one, the WRITE
 *    flag on the indirect descriptor ignored;
 *  - avail/used indices wrapping from 65535 to 0, with num 1 and num 32768;
 *  - avail idx num ahead (accepted) and num + 1 ahead (malformed);
 *  - head >= num, next >= num, next >= indirect table size;
 *  - loops: a descriptor chained to itself, a cycle longer than one, in the
 *    direct and in an indirect table; more than VDPASIM_CHAIN_MAX_SEGS;
 *  - INDIRECT with NEXT, INDIRECT inside an indirect table, indirect length
 *    0, not a multiple of 16, above VDPASIM_INDIRECT_MAX_DESCS;
 *  - a readable descriptor after a writable one (also a zero-length one);
 *  - unmapped or read-only desc table, avail ring and used ring; a table
 *    address whose offset computation wraps past 2^64;
 *  - queue size 0, not a power of two, above 32768;
 *  - chain_read/chain_write at offsets inside, at the end of and past the
 *    segments, across segment and page boundaries, with partial lengths;
 *  - should_notify: NO_INTERRUPT honoured without event_idx, ignored with
 *    it; used_event just behind, equal to and ahead of the new used idx,
 *    across the 16-bit wrap; the first call after init always notifies;
 *  - avail_event written with last_avail_idx when the ring runs empty, and
 *    a chain added concurrently found by the re-check;
 *  - a broken ring stays broken (-EIO) until vdpasim_ring_init().
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/printk.h>
#include <linux/stddef.h>
#include <asm/barrier.h>
#include <asm/byteorder.h>
#include <uapi/linux/virtio_ring.h>

#include "sim_dirty.h"
#include "sim_iotlb.h"
#include "sim_ring.h"
#include "sim_ring_priv.h"

/*
 * Little-endian views of the uapi structures.  The uapi ones use the
 * __virtio types, which also cover legacy devices; the simulator requires
 * VERSION_1, so the rings are always little-endian.
 */
struct vdpasim_desc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

struct vdpasim_used_elem {
	__le32 id;
	__le32 len;
};

static_assert(sizeof(struct vdpasim_desc) == sizeof(struct vring_desc));
static_assert(sizeof(struct vdpasim_used_elem) ==
	      sizeof(struct vring_used_elem));

/*
 * base + off, or U64_MAX when that wraps: any access of two bytes or more at
 * U64_MAX fails with -EOVERFLOW, so a wrapped address is never dereferenced.
 */
u64 vdpasim_ring_addr(u64 base, u64 off)
{
	u64 addr;

	if (check_add_overflow(base, off, &addr))
		return U64_MAX;
	return addr;
}

static u64 vdpasim_avail_slot_addr(const struct vdpasim_ring *r, u32 slot)
{
	return vdpasim_ring_addr(r->avail_addr,
				 offsetof(struct vring_avail, ring) +
				 (u64)slot * sizeof(__le16));
}

static u64 vdpasim_used_slot_addr(const struct vdpasim_ring *r, u32 slot)
{
	return vdpasim_ring_addr(r->used_addr,
				 offsetof(struct vring_used, ring) +
				 (u64)slot * sizeof(struct vdpasim_used_elem));
}

/* Mark @r broken and say why, once per breakage (later calls see broken). */
int vdpasim_ring_fail(struct vdpasim_ring *r, const char *name, int err,
		      const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_warn_ratelimited("%s: virtqueue stopped: %pV\n",
			    name ? name : "(unnamed)", &vaf);
	va_end(args);
	r->broken = true;
	return err;
}

int vdpasim_ring_read16(struct vdpasim_ring *r, u64 addr, u16 *val)
{
	__le16 v;
	int ret;

	ret = vdpasim_iotlb_read16(r->iotlb, &r->hint, addr, &v);
	if (ret)
		return ret;
	*val = le16_to_cpu(v);
	return 0;
}

int vdpasim_ring_write16(struct vdpasim_ring *r, u64 addr, u16 val)
{
	if (unlikely(r->dirty))
		vdpasim_dirty_note(r->dirty, addr, sizeof(val));
	return vdpasim_iotlb_write16(r->iotlb, &r->hint, addr, cpu_to_le16(val));
}

int vdpasim_ring_write(struct vdpasim_ring *r, u64 iova,
		       const void *buf, size_t len)
{
	if (unlikely(r->dirty))
		vdpasim_dirty_note(r->dirty, iova, len);
	return vdpasim_iotlb_write(r->iotlb, &r->hint, iova, buf, len);
}

/* The queue size is set by the driver and not validated before use. */
static int vdpasim_ring_check_num(struct vdpasim_ring *r, const char *name)
{
	if (r->num && r->num <= VDPASIM_RING_MAX_NUM && is_power_of_2(r->num))
		return 0;
	return vdpasim_ring_fail(r, name, -EINVAL,
				 "queue size %u is not a power of 2 in [1, %u]",
				 r->num, VDPASIM_RING_MAX_NUM);
}

void vdpasim_ring_init(struct vdpasim_ring *r, u16 base)
{
	r->last_avail_idx = base;
	r->avail_idx_seen = base;
	r->used_idx = base;
	r->used_unpublished = false;
	r->signalled_used = base;
	r->signalled_used_valid = false;
	r->broken = false;
	vdpasim_ring_packed_reset(r);
}
EXPORT_SYMBOL_GPL(vdpasim_ring_init);

/*
 * How many chains the driver has made available: 0..num, or <0 if broken.
 * The avail idx is read again only when the chains its last value showed
 * are all fetched: one read per batch rather than per chain.  (Those chains
 * were published before that read, which the caller's barrier ordered
 * before its reads of them; sim->lock orders passes on different CPUs.)
 */
static int vdpasim_ring_pending(struct vdpasim_ring *r, const char *name)
{
	u64 addr = vdpasim_ring_addr(r->avail_addr,
				     offsetof(struct vring_avail, idx));
	u16 avail_idx, pending;
	int ret;

	pending = r->avail_idx_seen - r->last_avail_idx;
	if (pending && pending <= r->num)
		return pending;
	ret = vdpasim_ring_read16(r, addr, &avail_idx);
	if (ret)
		return vdpasim_ring_fail(r, name, ret,
					 "cannot read avail idx at IOVA %#llx (error %d)",
					 addr, ret);
	pending = avail_idx - r->last_avail_idx;
	if (pending > r->num)
		return vdpasim_ring_fail(r, name, -EIO,
					 "avail idx %u is %u entries ahead of the device's %u (queue size %u)",
					 avail_idx, pending, r->last_avail_idx,
					 r->num);
	r->avail_idx_seen = avail_idx;
	return pending;
}

/*
 * The ring looked empty: with event_idx, ask for a kick at the next chain by
 * publishing avail_event, then look again, since the driver may have added a
 * chain and read the old avail_event in between.
 */
static int vdpasim_ring_arm_kick(struct vdpasim_ring *r, const char *name)
{
	u64 addr = vdpasim_used_slot_addr(r, r->num);
	int ret;

	ret = vdpasim_ring_write16(r, addr, r->last_avail_idx);
	if (ret)
		return vdpasim_ring_fail(r, name, ret,
					 "cannot write avail_event at IOVA %#llx (error %d)",
					 addr, ret);
	/* Pairs with the driver's barrier between its idx store and event load. */
	smp_mb();
	return vdpasim_ring_pending(r, name);
}

int vdpasim_chain_add(struct vdpasim_ring *r, struct vdpasim_chain *c,
		      const char *name, u64 addr, u32 len, bool writable)
{
	unsigned int n = c->n_out + c->n_in;

	if (n >= VDPASIM_CHAIN_MAX_SEGS)
		return vdpasim_ring_fail(r, name, -EIO,
					 "chain at head %u has more than %u segments",
					 c->head, VDPASIM_CHAIN_MAX_SEGS);
	c->seg[n].addr = addr;
	c->seg[n].len = len;
	if (writable) {
		c->n_in++;
		c->in_len += len;
		return 0;
	}
	if (c->n_in)
		return vdpasim_ring_fail(r, name, -EIO,
					 "chain at head %u has a device-readable descriptor after a device-writable one",
					 c->head);
	c->n_out++;
	c->out_len += len;
	return 0;
}

/*
 * Walk the chain starting at descriptor @head of the ring's table into @c.
 * At most one indirect table is followed; within each table, a chain longer
 * than the table must revisit a descriptor, so it is a loop.
 */
static int vdpasim_ring_walk(struct vdpasim_ring *r, struct vdpasim_chain *c,
			     const char *name, u16 head)
{
	u64 table = r->desc_addr;
	u32 table_size = r->num;
	u32 count = 0;
	u32 i = head;
	bool indirect = false;
	int ret;

	c->head = head;
	c->n_out = 0;
	c->n_in = 0;
	c->out_len = 0;
	c->in_len = 0;

	for (;;) {
		struct vdpasim_desc d;
		u64 addr;
		u16 flags;
		u32 len;

		if (++count > table_size)
			return vdpasim_ring_fail(r, name, -EIO,
						 "chain at head %u loops: more than %u descriptors in the %s table",
						 head, table_size,
						 indirect ? "indirect" : "descriptor");
		addr = vdpasim_ring_addr(table, (u64)i * sizeof(d));
		ret = vdpasim_iotlb_read(r->iotlb, &r->hint, addr, &d, sizeof(d));
		if (ret)
			return vdpasim_ring_fail(r, name, ret,
						 "cannot read %sdescriptor %u at IOVA %#llx (error %d)",
						 indirect ? "indirect " : "", i,
						 addr, ret);
		flags = le16_to_cpu(d.flags);
		len = le32_to_cpu(d.len);
		addr = le64_to_cpu(d.addr);

		if (flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return vdpasim_ring_fail(r, name, -EIO,
							 "chain at head %u: indirect descriptor %u inside an indirect table",
							 head, i);
			if (flags & VRING_DESC_F_NEXT)
				return vdpasim_ring_fail(r, name, -EIO,
							 "chain at head %u: descriptor %u has both INDIRECT and NEXT",
							 head, i);
			if (!len || len % sizeof(d) ||
			    len / sizeof(d) > VDPASIM_INDIRECT_MAX_DESCS)
				return vdpasim_ring_fail(r, name, -EIO,
							 "chain at head %u: indirect table length %u is not a multiple of %zu in [%zu, %zu]",
							 head, len, sizeof(d), sizeof(d),
							 VDPASIM_INDIRECT_MAX_DESCS * sizeof(d));
			/* The WRITE flag of this descriptor has no meaning. */
			table = addr;
			table_size = len / sizeof(d);
			count = 0;
			i = 0;
			indirect = true;
			continue;
		}

		ret = vdpasim_chain_add(r, c, name, addr, len,
					flags & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = le16_to_cpu(d.next);
		if (i >= table_size)
			return vdpasim_ring_fail(r, name, -EIO,
						 "chain at head %u: next index %u is out of range (%s table size %u)",
						 head, i,
						 indirect ? "indirect" : "descriptor",
						 table_size);
	}
}

int vdpasim_ring_fetch(struct vdpasim_ring *r, struct vdpasim_chain *c,
		       const char *name)
{
	u32 slot;
	u64 addr;
	u16 head;
	int ret;

	if (r->packed)
		return vdpasim_ring_packed_fetch(r, c, name);
	if (r->broken)
		return -EIO;
	ret = vdpasim_ring_check_num(r, name);
	if (ret)
		return ret;

	ret = vdpasim_ring_pending(r, name);
	if (!ret && r->event_idx)
		ret = vdpasim_ring_arm_kick(r, name);
	if (ret <= 0)
		return ret;
	/*
	 * With the avail idx read above, acquire: the ring entries and
	 * descriptors the driver wrote before publishing it are read after.
	 */
	smp_rmb();

	slot = r->last_avail_idx & (r->num - 1);
	addr = vdpasim_avail_slot_addr(r, slot);
	ret = vdpasim_ring_read16(r, addr, &head);
	if (ret)
		return vdpasim_ring_fail(r, name, ret,
					 "cannot read avail ring slot %u at IOVA %#llx (error %d)",
					 slot, addr, ret);
	if (head >= r->num)
		return vdpasim_ring_fail(r, name, -EIO,
					 "head %u in avail ring slot %u is out of range (queue size %u)",
					 head, slot, r->num);
	ret = vdpasim_ring_walk(r, c, name, head);
	if (ret)
		return ret;
	r->last_avail_idx++;
	return 1;
}
EXPORT_SYMBOL_GPL(vdpasim_ring_fetch);

void vdpasim_ring_unfetch(struct vdpasim_ring *r)
{
	if (r->packed) {
		vdpasim_ring_packed_unfetch(r);
		return;
	}
	r->last_avail_idx--;
}
EXPORT_SYMBOL_GPL(vdpasim_ring_unfetch);

static ssize_t vdpasim_chain_copy(struct vdpasim_ring *r,
				  const struct vdpasim_seg *seg,
				  unsigned int nseg, u64 off, void *buf,
				  size_t len, bool to_guest)
{
	size_t done = 0;
	unsigned int i;

	for (i = 0; i < nseg && done < len; i++) {
		size_t n;
		u64 iova;
		int ret;

		if (off >= seg[i].len) {
			off -= seg[i].len;
			continue;
		}
		n = min_t(u64, seg[i].len - off, len - done);
		if (check_add_overflow(seg[i].addr, off, &iova))
			return -EOVERFLOW;
		if (to_guest)
			ret = vdpasim_ring_write(r, iova, buf + done, n);
		else
			ret = vdpasim_iotlb_read(r->iotlb, &r->hint, iova, buf + done, n);
		if (ret)
			return ret;
		done += n;
		off = 0;
	}
	return done;
}

ssize_t vdpasim_chain_read(struct vdpasim_ring *r,
			   const struct vdpasim_chain *c, u64 off, void *buf,
			   size_t len)
{
	return vdpasim_chain_copy(r, c->seg, min_t(unsigned int, c->n_out,
						   VDPASIM_CHAIN_MAX_SEGS),
				  off, buf, len, false);
}
EXPORT_SYMBOL_GPL(vdpasim_chain_read);

ssize_t vdpasim_chain_write(struct vdpasim_ring *r,
			    const struct vdpasim_chain *c, u64 off,
			    const void *buf, size_t len)
{
	unsigned int first = min_t(unsigned int, c->n_out,
				   VDPASIM_CHAIN_MAX_SEGS);
	unsigned int nseg = min_t(unsigned int, c->n_in,
				  VDPASIM_CHAIN_MAX_SEGS - first);

	/* The copy only reads @buf when writing to the guest. */
	return vdpasim_chain_copy(r, c->seg + first, nseg, off, (void *)buf,
				  len, true);
}
EXPORT_SYMBOL_GPL(vdpasim_chain_write);

void vdpasim_ring_drop(struct vdpasim_ring *r)
{
	if (r->packed)
		vdpasim_ring_packed_complete_oldest(r);
}
EXPORT_SYMBOL_GPL(vdpasim_ring_drop);

int vdpasim_ring_add_used(struct vdpasim_ring *r, u16 head, u32 len)
{
	struct vdpasim_used_elem elem = {
		.id = cpu_to_le32(head),
		.len = cpu_to_le32(len),
	};
	u64 addr;
	u32 slot;
	int ret;

	if (r->packed)
		return vdpasim_ring_packed_push(r, head, len);
	if (r->broken)
		return -EIO;
	ret = vdpasim_ring_check_num(r, NULL);
	if (ret)
		return ret;

	slot = r->used_idx & (r->num - 1);
	addr = vdpasim_used_slot_addr(r, slot);
	ret = vdpasim_ring_write(r, addr, &elem, sizeof(elem));
	if (ret)
		return vdpasim_ring_fail(r, NULL, ret,
					 "used ring at IOVA %#llx: cannot write slot %u at IOVA %#llx (error %d)",
					 r->used_addr, slot, addr, ret);
	r->used_idx++;
	r->used_unpublished = true;
	return 0;
}
EXPORT_SYMBOL_GPL(vdpasim_ring_add_used);

int vdpasim_ring_publish_used(struct vdpasim_ring *r)
{
	u64 addr;
	int ret;

	if (!r->used_unpublished)
		return 0;
	r->used_unpublished = false;
	if (r->broken)
		return -EIO;
	/* The driver must see the entries before the index that covers them. */
	smp_wmb();
	addr = vdpasim_ring_addr(r->used_addr, offsetof(struct vring_used, idx));
	ret = vdpasim_ring_write16(r, addr, r->used_idx);
	if (ret)
		return vdpasim_ring_fail(r, NULL, ret,
					 "used ring at IOVA %#llx: cannot write used idx (error %d)",
					 r->used_addr, ret);
	return 0;
}
EXPORT_SYMBOL_GPL(vdpasim_ring_publish_used);

int vdpasim_ring_push(struct vdpasim_ring *r, u16 head, u32 len)
{
	int ret;

	ret = vdpasim_ring_add_used(r, head, len);
	if (ret)
		return ret;
	return vdpasim_ring_publish_used(r);
}
EXPORT_SYMBOL_GPL(vdpasim_ring_push);

bool vdpasim_ring_should_notify(struct vdpasim_ring *r)
{
	u16 old, new, event, flags;
	bool valid;
	u64 addr;
	int ret;

	if (r->packed)
		return vdpasim_ring_packed_should_notify(r);
	if (r->broken)
		return false;
	/*
	 * The used idx store must be visible before the driver's suppression
	 * state is read, or a driver re-enabling interrupts at the same time
	 * could see the old used idx while the device sees the old state.
	 */
	smp_mb();

	if (!r->event_idx) {
		addr = vdpasim_ring_addr(r->avail_addr,
					 offsetof(struct vring_avail, flags));
		ret = vdpasim_ring_read16(r, addr, &flags);
		if (ret)
			goto fail;
		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}

	addr = vdpasim_avail_slot_addr(r, r->num);
	ret = vdpasim_ring_read16(r, addr, &event);
	if (ret)
		goto fail;
	old = r->signalled_used;
	new = r->used_idx;
	valid = r->signalled_used_valid;
	r->signalled_used = new;
	r->signalled_used_valid = true;
	/* Nothing tells where the driver stands yet: interrupt to be safe. */
	if (!valid)
		return true;
	return vring_need_event(event, new, old);

fail:
	/* Interrupt anyway: the driver may then notice the stopped queue. */
	vdpasim_ring_fail(r, NULL, ret,
			  "avail ring at IOVA %#llx: cannot read %s at IOVA %#llx (error %d)",
			  r->avail_addr, r->event_idx ? "used_event" : "flags",
			  addr, ret);
	return true;
}
EXPORT_SYMBOL_GPL(vdpasim_ring_should_notify);
