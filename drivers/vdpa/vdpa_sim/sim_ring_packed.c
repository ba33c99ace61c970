// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_sim: packed virtqueue engine (VIRTIO_F_RING_PACKED, virtio 1.1+).
 *
 * Layout, from the uapi <linux/virtio_ring.h>: one ring of num 16-byte
 * descriptors {addr, len, id, flags} that the driver and the device both
 * write, plus two 4-byte event suppression structures {off_wrap, flags},
 * the driver's (read here) and the device's (written here).  Positions run
 * from 0 to num - 1; each side keeps a wrap counter that starts at 1 and
 * flips whenever its position passes the end of the ring.
 *
 * Everything the driver wrote is untrusted, as in the split engine: a chain
 * is bounded by the queue size and VDPASIM_CHAIN_MAX_SEGS, an indirect
 * table by VDPASIM_INDIRECT_MAX_DESCS, addresses are overflow-checked and
 * memory is reached only through the IOTLB helpers.  The fields both sides
 * access at the same time (descriptor flags, event flags and offsets) are
 * read and written with single 16-bit accesses.
 *
 * Edge cases the KUnit suite (sim_ring_packed_test.c) covers:
 *  - a one-descriptor chain, a chain of readable then writable descriptors,
 *    a chain that crosses the ring end (both wrap counters flip), a full
 *    ring of one-descriptor chains several laps long, num 1 and 32768 and
 *    a size that is not a power of 2;
 *  - buffer ids returned as given, the used position advanced by the
 *    chain's length, its flags equal to the used wrap counter;
 *  - descriptors not made available (AVAIL/USED pairs of the wrong lap);
 *  - indirect tables: good, INDIRECT with NEXT, INDIRECT inside one,
 *    length 0, not a multiple of 16, too large, unmapped;
 *  - chains longer than the ring or than VDPASIM_CHAIN_MAX_SEGS, readable
 *    after writable, unmapped or read-only ring and event areas;
 *  - driver event suppression: ENABLE, DISABLE, DESC with and without
 *    event_idx, across the wrap; device event publication with event_idx;
 *  - unfetch, a dropped completion, too many chains in flight, state set
 *    through init_packed and positions beyond the queue size.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/stddef.h>
#include <asm/barrier.h>
#include <asm/byteorder.h>
#include <uapi/linux/virtio_ring.h>

#include "sim_iotlb.h"
#include "sim_ring.h"
#include "sim_ring_priv.h"

/* Little-endian view of struct vring_packed_desc (VERSION_1 only). */
struct vdpasim_packed_desc {
	__le64 addr;
	__le32 len;
	__le16 id;
	__le16 flags;
};

static_assert(sizeof(struct vdpasim_packed_desc) ==
	      sizeof(struct vring_packed_desc));
static_assert(sizeof(struct vring_packed_desc_event) == 4);

#define VDPASIM_PACKED_F_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define VDPASIM_PACKED_F_USED	BIT(VRING_PACKED_DESC_F_USED)
#define VDPASIM_PACKED_WRAP	BIT(VRING_PACKED_EVENT_F_WRAP_CTR)
/* The event flags value lives in bits 0-1; the rest is reserved. */
#define VDPASIM_PACKED_EVENT_MASK	0x3

#define VDPASIM_PACKED_EVENT_OFF_WRAP	\
	offsetof(struct vring_packed_desc_event, off_wrap)
#define VDPASIM_PACKED_EVENT_FLAGS	\
	offsetof(struct vring_packed_desc_event, flags)

static u64 vdpasim_packed_desc_addr(u64 table, u32 i)
{
	return vdpasim_ring_addr(table,
				 (u64)i * sizeof(struct vdpasim_packed_desc));
}

void vdpasim_ring_packed_reset(struct vdpasim_ring *r)
{
	r->avail_wrap = true;
	r->used_wrap = true;
	r->signalled_wrap = true;
	r->prev_avail_idx = r->last_avail_idx;
	r->prev_avail_wrap = true;
	r->inflight_first = 0;
	r->inflight_count = 0;
}

void vdpasim_ring_init_packed(struct vdpasim_ring *r, u16 avail_idx,
			      bool avail_wrap, u16 used_idx, bool used_wrap)
{
	vdpasim_ring_init(r, avail_idx);
	r->avail_wrap = avail_wrap;
	r->prev_avail_wrap = avail_wrap;
	r->used_idx = used_idx;
	r->used_wrap = used_wrap;
	r->signalled_used = used_idx;
	r->signalled_wrap = used_wrap;
}
EXPORT_SYMBOL_GPL(vdpasim_ring_init_packed);

/* Any queue size up to 32768 is valid; the positions come from outside. */
static int vdpasim_packed_check(struct vdpasim_ring *r, const char *name)
{
	if (!r->num || r->num > VDPASIM_RING_MAX_NUM)
		return vdpasim_ring_fail(r, name, -EINVAL,
					 "queue size %u is not in [1, %u]",
					 r->num, VDPASIM_RING_MAX_NUM);
	if (r->last_avail_idx >= r->num || r->used_idx >= r->num)
		return vdpasim_ring_fail(r, name, -EINVAL,
					 "packed positions avail %u used %u are not below the queue size %u",
					 r->last_avail_idx, r->used_idx, r->num);
	return 0;
}

/* The next position after @*i, flipping @*wrap at the end of the ring. */
static void vdpasim_packed_advance(const struct vdpasim_ring *r, u16 *i,
				   bool *wrap, u32 n)
{
	u32 next = (u32)*i + n;

	if (next >= r->num) {
		next -= r->num;
		*wrap = !*wrap;
	}
	*i = next;
}

/*
 * Read the flags of the descriptor at the device's next position, once.
 * Returns 1 when the driver made it available for this lap, 0 if not.
 */
static int vdpasim_packed_head_flags(struct vdpasim_ring *r, const char *name,
				     u16 *flags)
{
	u64 addr = vdpasim_packed_desc_addr(r->desc_addr, r->last_avail_idx);
	bool avail, used;
	int ret;

	addr = vdpasim_ring_addr(addr,
				 offsetof(struct vdpasim_packed_desc, flags));
	ret = vdpasim_ring_read16(r, addr, flags);
	if (ret)
		return vdpasim_ring_fail(r, name, ret,
					 "cannot read the flags of descriptor %u at IOVA %#llx (error %d)",
					 r->last_avail_idx, addr, ret);
	avail = *flags & VDPASIM_PACKED_F_AVAIL;
	used = *flags & VDPASIM_PACKED_F_USED;
	return avail == r->avail_wrap && used != r->avail_wrap;
}

/*
 * The ring looked empty: with event_idx, ask for a kick when the descriptor
 * at the device's position becomes available (DESC mode), then look again,
 * since the driver may have made it available before it saw the request.
 */
static int vdpasim_packed_arm_kick(struct vdpasim_ring *r, const char *name,
				   u16 *flags)
{
	u16 off_wrap = r->last_avail_idx |
		       (r->avail_wrap ? VDPASIM_PACKED_WRAP : 0);
	u64 addr = vdpasim_ring_addr(r->used_addr,
				     VDPASIM_PACKED_EVENT_OFF_WRAP);
	int ret;

	ret = vdpasim_ring_write16(r, addr, off_wrap);
	if (ret)
		goto fail;
	/* The offset must be visible before the flags that give it meaning. */
	smp_wmb();
	addr = vdpasim_ring_addr(r->used_addr, VDPASIM_PACKED_EVENT_FLAGS);
	ret = vdpasim_ring_write16(r, addr, VRING_PACKED_EVENT_FLAG_DESC);
	if (ret)
		goto fail;
	/* Pairs with the driver's barrier between its flags store and event load. */
	smp_mb();
	return vdpasim_packed_head_flags(r, name, flags);

fail:
	return vdpasim_ring_fail(r, name, ret,
				 "cannot write the device event suppression at IOVA %#llx (error %d)",
				 addr, ret);
}

static int vdpasim_packed_read_desc(struct vdpasim_ring *r, const char *name,
				    u64 table, u32 i, bool indirect,
				    struct vdpasim_packed_desc *d)
{
	u64 addr = vdpasim_packed_desc_addr(table, i);
	int ret;

	ret = vdpasim_iotlb_read(r->iotlb, &r->hint, addr, d, sizeof(*d));
	if (ret)
		return vdpasim_ring_fail(r, name, ret,
					 "cannot read %sdescriptor %u at IOVA %#llx (error %d)",
					 indirect ? "indirect " : "", i, addr,
					 ret);
	return 0;
}

/* Append every entry of the indirect table @ind points to, in order. */
static int vdpasim_packed_indirect(struct vdpasim_ring *r,
				   struct vdpasim_chain *c, const char *name,
				   const struct vdpasim_packed_desc *ind)
{
	const size_t dsize = sizeof(struct vdpasim_packed_desc);
	u64 table = le64_to_cpu(ind->addr);
	u32 len = le32_to_cpu(ind->len);
	u32 i, n;
	int ret;

	if (!len || len % dsize || len / dsize > VDPASIM_INDIRECT_MAX_DESCS)
		return vdpasim_ring_fail(r, name, -EIO,
					 "chain at %u: indirect table length %u is not a multiple of %zu in [%zu, %zu]",
					 c->head, len, dsize, dsize,
					 VDPASIM_INDIRECT_MAX_DESCS * dsize);
	n = len / dsize;
	for (i = 0; i < n; i++) {
		struct vdpasim_packed_desc d;
		u16 flags;

		ret = vdpasim_packed_read_desc(r, name, table, i, true, &d);
		if (ret)
			return ret;
		flags = le16_to_cpu(d.flags);
		if (flags & VRING_DESC_F_INDIRECT)
			return vdpasim_ring_fail(r, name, -EIO,
						 "chain at %u: indirect descriptor %u inside an indirect table",
						 c->head, i);
		/* The table is used whole and in order: NEXT means nothing. */
		ret = vdpasim_chain_add(r, c, name, le64_to_cpu(d.addr),
					le32_to_cpu(d.len),
					flags & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Walk the chain whose head, at the device's position, has @flags (read
 * once, before the barrier that orders the rest).  On success the chain's
 * buffer id is in c->head and *@ndescs holds the ring descriptors it took.
 */
static int vdpasim_packed_walk(struct vdpasim_ring *r, struct vdpasim_chain *c,
			       const char *name, u16 flags, u32 *ndescs)
{
	struct vdpasim_packed_desc d;
	u16 i = r->last_avail_idx;
	bool wrap = r->avail_wrap;
	u32 count = 0;
	int ret;

	/* the head's position names the chain in messages until its id is known */
	c->head = i;
	c->n_out = 0;
	c->n_in = 0;
	c->out_len = 0;
	c->in_len = 0;

	for (;;) {
		ret = vdpasim_packed_read_desc(r, name, r->desc_addr, i, false,
					       &d);
		if (ret)
			return ret;
		/* the rest of the chain was written before the head's flags */
		if (count)
			flags = le16_to_cpu(d.flags);
		count++;

		if (flags & VRING_DESC_F_INDIRECT) {
			if (flags & VRING_DESC_F_NEXT)
				return vdpasim_ring_fail(r, name, -EIO,
							 "chain at %u: descriptor %u has both INDIRECT and NEXT",
							 c->head, i);
			ret = vdpasim_packed_indirect(r, c, name, &d);
			if (ret)
				return ret;
			break;
		}
		ret = vdpasim_chain_add(r, c, name, le64_to_cpu(d.addr),
					le32_to_cpu(d.len),
					flags & VRING_DESC_F_WRITE);
		if (ret)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		if (count >= r->num)
			return vdpasim_ring_fail(r, name, -EIO,
						 "chain at %u is longer than the queue size %u",
						 c->head, r->num);
		vdpasim_packed_advance(r, &i, &wrap, 1);
	}
	c->head = le16_to_cpu(d.id);
	*ndescs = count;
	return 0;
}

int vdpasim_ring_packed_fetch(struct vdpasim_ring *r, struct vdpasim_chain *c,
			      const char *name)
{
	u32 ndescs;
	u16 flags;
	int ret;

	if (r->broken)
		return -EIO;
	ret = vdpasim_packed_check(r, name);
	if (ret)
		return ret;

	ret = vdpasim_packed_head_flags(r, name, &flags);
	if (!ret && r->event_idx)
		ret = vdpasim_packed_arm_kick(r, name, &flags);
	if (ret <= 0)
		return ret;
	if (r->inflight_count >= VDPASIM_PACKED_INFLIGHT_MAX)
		return vdpasim_ring_fail(r, name, -EIO,
					 "more than %u chains fetched and not completed",
					 VDPASIM_PACKED_INFLIGHT_MAX);
	/*
	 * Acquire: the head's flags gave the descriptors to the device; their
	 * other fields, and the rest of the chain, are read after them.
	 */
	smp_rmb();

	ret = vdpasim_packed_walk(r, c, name, flags, &ndescs);
	if (ret)
		return ret;
	r->inflight_descs[(r->inflight_first + r->inflight_count) %
			  VDPASIM_PACKED_INFLIGHT_MAX] = ndescs;
	r->inflight_count++;
	r->prev_avail_idx = r->last_avail_idx;
	r->prev_avail_wrap = r->avail_wrap;
	vdpasim_packed_advance(r, &r->last_avail_idx, &r->avail_wrap, ndescs);
	return 1;
}

void vdpasim_ring_packed_unfetch(struct vdpasim_ring *r)
{
	if (!r->inflight_count)
		return;
	r->inflight_count--;
	r->last_avail_idx = r->prev_avail_idx;
	r->avail_wrap = r->prev_avail_wrap;
}

/* The ring descriptors the oldest fetched chain took (1 if none is known). */
u32 vdpasim_ring_packed_complete_oldest(struct vdpasim_ring *r)
{
	u32 ndescs;

	if (!r->inflight_count)
		return 1;
	ndescs = r->inflight_descs[r->inflight_first];
	r->inflight_first = (r->inflight_first + 1) %
			    VDPASIM_PACKED_INFLIGHT_MAX;
	r->inflight_count--;
	return ndescs;
}

int vdpasim_ring_packed_push(struct vdpasim_ring *r, u16 id, u32 len)
{
	/* len and id are adjacent: one copy, then the flags on their own */
	struct {
		__le32 len;
		__le16 id;
	} __packed elem = {
		.len = cpu_to_le32(len),
		.id = cpu_to_le16(id),
	};
	u64 addr, desc;
	u16 flags;
	int ret;

	if (r->broken)
		return -EIO;
	ret = vdpasim_packed_check(r, NULL);
	if (ret)
		return ret;

	desc = vdpasim_packed_desc_addr(r->desc_addr, r->used_idx);
	addr = vdpasim_ring_addr(desc, offsetof(struct vdpasim_packed_desc, len));
	ret = vdpasim_ring_write(r, addr, &elem, sizeof(elem));
	if (ret)
		goto fail;
	/* The driver must see id and len before the flags that hand them over. */
	smp_wmb();
	flags = r->used_wrap ? VDPASIM_PACKED_F_AVAIL | VDPASIM_PACKED_F_USED : 0;
	addr = vdpasim_ring_addr(desc, offsetof(struct vdpasim_packed_desc, flags));
	ret = vdpasim_ring_write16(r, addr, flags);
	if (ret)
		goto fail;
	vdpasim_packed_advance(r, &r->used_idx, &r->used_wrap,
			       vdpasim_ring_packed_complete_oldest(r));
	return 0;

fail:
	return vdpasim_ring_fail(r, NULL, ret,
				 "packed ring at IOVA %#llx: cannot write used descriptor %u at IOVA %#llx (error %d)",
				 r->desc_addr, r->used_idx, addr, ret);
}

/*
 * A position with its wrap counter as one number modulo 2 * num, so that
 * consecutive positions stay consecutive across the ring end.
 */
static u32 vdpasim_packed_linear(const struct vdpasim_ring *r, u32 idx,
				 bool wrap)
{
	return wrap ? idx : idx + r->num;
}

/* Whether [old, new) holds @event, modulo 2 * num (vring_need_event()'s rule). */
static bool vdpasim_packed_need_event(const struct vdpasim_ring *r, u32 event,
				      u32 new, u32 old)
{
	u32 period = 2 * r->num;

	return (new + period - event - 1) % period <
	       (new + period - old) % period;
}

bool vdpasim_ring_packed_should_notify(struct vdpasim_ring *r)
{
	u32 old, new, event;
	u16 flags, off_wrap;
	bool valid;
	u64 addr;
	int ret;

	if (r->broken)
		return false;
	/*
	 * The used flags stores must be visible before the driver's
	 * suppression state is read (see the split engine).
	 */
	smp_mb();

	addr = vdpasim_ring_addr(r->avail_addr, VDPASIM_PACKED_EVENT_FLAGS);
	ret = vdpasim_ring_read16(r, addr, &flags);
	if (ret)
		goto fail;
	old = vdpasim_packed_linear(r, r->signalled_used, r->signalled_wrap);
	new = vdpasim_packed_linear(r, r->used_idx, r->used_wrap);
	valid = r->signalled_used_valid;
	r->signalled_used = r->used_idx;
	r->signalled_wrap = r->used_wrap;
	r->signalled_used_valid = true;

	switch (flags & VDPASIM_PACKED_EVENT_MASK) {
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		return false;
	case VRING_PACKED_EVENT_FLAG_DESC:
		if (r->event_idx)
			break;
		/* DESC without event_idx is undefined: interrupt to be safe */
		return true;
	default:
		return true;
	}

	/* The driver writes the offset before the flags that select it. */
	smp_rmb();
	addr = vdpasim_ring_addr(r->avail_addr, VDPASIM_PACKED_EVENT_OFF_WRAP);
	ret = vdpasim_ring_read16(r, addr, &off_wrap);
	if (ret)
		goto fail;
	if (!valid)
		return true;
	/* no used descriptor is ever written at an offset beyond the ring */
	if ((off_wrap & ~VDPASIM_PACKED_WRAP) >= r->num)
		return false;
	event = vdpasim_packed_linear(r, off_wrap & ~VDPASIM_PACKED_WRAP,
				      off_wrap & VDPASIM_PACKED_WRAP);
	return vdpasim_packed_need_event(r, event, new, old);

fail:
	vdpasim_ring_fail(r, NULL, ret,
			  "packed ring at IOVA %#llx: cannot read the driver event suppression at IOVA %#llx (error %d)",
			  r->desc_addr, addr, ret);
	return true;
}
