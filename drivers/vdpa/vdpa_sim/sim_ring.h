/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_sim: virtqueue engine (virtio 1.x, little-endian only), split
 * layout (sim_ring.c) and packed layout (sim_ring_packed.c) behind one
 * interface: the device classes never see which layout a queue uses.
 *
 * Pure ring logic with no knowledge of any device: every function takes its
 * whole state through its arguments, and driver memory is reached only through
 * vdpasim_iotlb_read()/vdpasim_iotlb_write() on the ring's IOTLB.  A malformed
 * or unmapped ring never crashes or hangs the simulator: the ring is marked
 * broken, one rate-limited line names the queue and the reason, and the
 * device stops serving that queue until it is re-initialised.
 *
 * Locking: the caller serialises all calls on one ring and holds the lock
 * that protects r->iotlb.
 *
 * The 16-bit fields the driver accesses concurrently (avail idx and flags,
 * used_event, used idx, avail_event) are read and written with single
 * 16-bit accesses (vdpasim_iotlb_read16()/vdpasim_iotlb_write16()), never
 * a byte-wise copy: a driver polling the used idx must never see one byte
 * of the old value and one of the new one.
 */
#ifndef _VDPA_SIM_RING_H
#define _VDPA_SIM_RING_H

#include <linux/types.h>

struct vhost_iotlb;
struct vhost_iotlb_map;
struct vdpasim_dirty;

/* One guest buffer of a descriptor chain: IOVA and length (may be 0). */
struct vdpasim_seg {
	u64 addr;
	u32 len;
};

/* Most segments one chain may have; a longer chain is malformed. */
#define VDPASIM_CHAIN_MAX_SEGS 128

/* Most entries of an indirect table (the size a 16-bit "next" can index). */
#define VDPASIM_INDIRECT_MAX_DESCS 65536

/* Largest queue size allowed by the virtio specification (both layouts). */
#define VDPASIM_RING_MAX_NUM 32768

/*
 * Packed rings: chains fetched and not yet pushed.  The used side must
 * advance by the number of ring descriptors each completed chain took, so
 * the engine remembers that number per fetched chain, in fetch order; a
 * push completes the oldest.  The classes complete every chain before they
 * fetch the next one from the same queue, so a small bound suffices.
 */
#define VDPASIM_PACKED_INFLIGHT_MAX 4

struct vdpasim_chain {
	u16 head;			/* id to return in the used ring */
	unsigned int n_out, n_in;	/* device-readable segs first, then writable */
	u64 out_len, in_len;		/* total bytes */
	struct vdpasim_seg seg[VDPASIM_CHAIN_MAX_SEGS]; /* out segs then in segs */
};

/*
 * Split: @desc_addr, @avail_addr and @used_addr are the descriptor table,
 * avail ring and used ring, and the indices run freely over 16 bits.
 * Packed: @desc_addr is the descriptor ring, @avail_addr the driver event
 * suppression structure, @used_addr the device event suppression
 * structure, and the indices are ring positions in [0, num) that come
 * with a wrap counter (the *_wrap fields, 1 after a reset).
 */
struct vdpasim_ring {
	/* configuration, set by the simulator core */
	u32 num;			/* queue size: split: a power of 2; <= 32768 */
	u64 desc_addr, avail_addr, used_addr;	/* IOVAs */
	struct vhost_iotlb *iotlb;	/* translation for this vq */
	struct vhost_iotlb_map *hint;	/* entry of @iotlb last used, or NULL:
					 * cleared by whoever changes @iotlb
					 * (see sim_iotlb.h)
					 */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool packed;			/* VIRTIO_F_RING_PACKED negotiated */
	struct vdpasim_dirty *dirty;	/* notes every write, or NULL */
	/* state */
	u16 last_avail_idx;		/* next avail entry the device reads */
	u16 avail_idx_seen;		/* split: avail idx as last read */
	u16 used_idx;			/* device's used idx shadow */
	bool used_unpublished;		/* split: used_idx is ahead of the
					 * used idx in the ring
					 */
	u16 signalled_used;		/* used idx at the last notification */
	bool signalled_used_valid;	/* signalled_used means something */
	bool broken;			/* malformed ring seen: stop this queue */
	/* packed state */
	bool avail_wrap;		/* driver wrap counter at last_avail_idx */
	bool used_wrap;			/* device wrap counter at used_idx */
	bool signalled_wrap;		/* used_wrap at the last notification */
	u16 prev_avail_idx;		/* position before the last fetch ... */
	bool prev_avail_wrap;		/* ... for vdpasim_ring_unfetch() */
	u8 inflight_first;		/* oldest entry of inflight_descs */
	u8 inflight_count;		/* chains fetched and not pushed */
	u16 inflight_descs[VDPASIM_PACKED_INFLIGHT_MAX]; /* their lengths */
};

/*
 * Reset the state to start at avail/used index @base (set_vq_state, ready).
 * For a packed ring: both positions @base, both wrap counters 1.
 */
void vdpasim_ring_init(struct vdpasim_ring *r, u16 base);

/*
 * Packed ring state (set_vq_state, ready): next descriptor to read at
 * @avail_idx with wrap counter @avail_wrap, next used descriptor to write
 * at @used_idx with @used_wrap.  Positions >= num are caught at the next
 * fetch or push, which then break the ring.
 */
void vdpasim_ring_init_packed(struct vdpasim_ring *r, u16 avail_idx,
			      bool avail_wrap, u16 used_idx, bool used_wrap);

/*
 * Fetch the next available chain into @c.  Returns 1 when a chain was
 * fetched, 0 when the ring is empty, <0 when the ring is malformed or its
 * structures are not mapped (r->broken is then set and a rate-limited line
 * naming @name and the reason is logged).  A broken ring returns -EIO.
 *
 * With event_idx, a fetch that finds the ring empty publishes avail_event =
 * last_avail_idx (so the driver kicks for its next chain), then looks at the
 * avail idx once more, closing the race with a driver adding a chain
 * meanwhile.  Memory ordering: the avail idx is read before the ring entry
 * and descriptors (smp_rmb()); see vdpasim_ring_push() for the used side.
 */
int vdpasim_ring_fetch(struct vdpasim_ring *r, struct vdpasim_chain *c,
		       const char *name);

/*
 * Give back the chain fetched last, when it cannot be served now.  Only the
 * last fetch can be undone, and only before anything else is pushed.
 */
void vdpasim_ring_unfetch(struct vdpasim_ring *r);

/*
 * Copy up to @len bytes from the device-readable segments of @c, starting at
 * byte offset @off within them.  Zero-length segments are skipped.  Returns
 * the number of bytes copied (less than @len when the segments end first) or
 * a negative errno from the translation.
 */
ssize_t vdpasim_chain_read(struct vdpasim_ring *r,
			   const struct vdpasim_chain *c, u64 off, void *buf,
			   size_t len);

/* Same as vdpasim_chain_read(), into the device-writable segments of @c. */
ssize_t vdpasim_chain_write(struct vdpasim_ring *r,
			    const struct vdpasim_chain *c, u64 off,
			    const void *buf, size_t len);

/*
 * Consider the oldest fetched chain completed without telling the driver
 * (the simulator's drop_used fault injection): nothing is written, the used
 * position does not move.  Keeps the packed engine's record of chains in
 * flight in step; nothing to do for a split ring.
 */
void vdpasim_ring_drop(struct vdpasim_ring *r);

/*
 * Add {@head, @len} to the used ring and publish the new used index after
 * it (smp_wmb() between the two stores).  Returns 0, or <0 when the used
 * ring is not writable (the ring is then broken) or already broken.
 *
 * Packed: writes the used descriptor {id @head, len @len} at the used
 * position, then (smp_wmb()) its flags with one 16-bit store, and advances
 * by the number of descriptors the oldest fetched chain took.  Chains
 * complete in the order they were fetched.
 */
int vdpasim_ring_push(struct vdpasim_ring *r, u16 head, u32 len);

/*
 * vdpasim_ring_push() without the used idx store: a split ring's entry is
 * written and counted in @used_idx, and reaches the driver at the next
 * vdpasim_ring_publish_used(), with every entry added before it (one
 * barrier and one index store for a batch of completions, as a device
 * that completes in bursts would).  The caller must publish before it
 * lets go of the ring: before it decides on an interrupt, and before
 * anyone else can look at the ring (reset, suspend, get_vq_state).
 * Packed: the same as vdpasim_ring_push() (each descriptor's flags are
 * its own publication).
 */
int vdpasim_ring_add_used(struct vdpasim_ring *r, u16 head, u32 len);

/*
 * Store the used idx of the entries added since the last publication
 * (smp_wmb() before it); nothing when there are none.  Returns 0, or <0
 * when the used idx is not writable (the ring is then broken).
 */
int vdpasim_ring_publish_used(struct vdpasim_ring *r);

/*
 * After one or more pushes: should the driver be interrupted?  Honours
 * VRING_AVAIL_F_NO_INTERRUPT, or used_event when event_idx is set (the
 * first decision after vdpasim_ring_init() is always yes).  A full barrier
 * orders the used idx store before the driver's flags/used_event are read.
 * If those cannot be read, the ring breaks and the answer is yes.
 *
 * Packed: the driver event suppression flags decide: ENABLE yes, DISABLE
 * no, DESC (meaningful only with event_idx, else taken as ENABLE) yes when
 * the used descriptor at the driver's offset and wrap counter was written
 * since the last decision; an undefined value is taken as ENABLE.
 */
bool vdpasim_ring_should_notify(struct vdpasim_ring *r);

#endif /* _VDPA_SIM_RING_H */
