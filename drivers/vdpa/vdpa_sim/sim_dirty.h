/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_sim: the record of what the device wrote, for dirty-page logging.
 *
 * While a client logs (vdpa_config_ops.set_log), every write of the ring
 * engine to driver memory (used entries and index, event suppression
 * fields, device-writable buffers) notes its IOVA range here, as a range
 * of 4 KiB log pages.  The simulator core turns the ranges into bits of
 * the client's bitmap from its worker thread, at the end of each pass, so
 * the bitmap is complete whenever no pass runs.
 *
 * Pure arithmetic, no locking: the caller holds the lock that serialises
 * the ring engine (vdpasim.lock).  A full record never loses a write: the
 * last range grows to cover the new one, which may mark pages that were
 * not written (harmless for a migration, which then copies them again).
 */
#ifndef _VDPA_SIM_DIRTY_H
#define _VDPA_SIM_DIRTY_H

#include <linux/minmax.h>
#include <linux/overflow.h>
#include <linux/types.h>

/* The log page: 4 KiB whatever PAGE_SIZE is (vhost's VHOST_PAGE_SIZE). */
#define VDPASIM_LOG_PAGE_SHIFT	12

/* Ranges one record holds; the core flushes well before it fills. */
#define VDPASIM_DIRTY_MAX	512

/* Ranges held when the core flushes in the middle of a pass. */
#define VDPASIM_DIRTY_FLUSH_AT	256

/* How many of the newest ranges a note tries to merge with. */
#define VDPASIM_DIRTY_MERGE_WINDOW	8

/* Log pages @first..@last, inclusive. */
struct vdpasim_dirty_range {
	u64 first;
	u64 last;
};

/**
 * struct vdpasim_dirty - ranges written since the last flush
 * @count: ranges in use
 * @merged_over: a note found the record full and grew the last range
 * @range: the ranges, in the order they were noted
 */
struct vdpasim_dirty {
	unsigned int count;
	bool merged_over;
	struct vdpasim_dirty_range range[VDPASIM_DIRTY_MAX];
};

/*
 * Log pages of the bytes [@iova, @iova + @len - 1].  False for an empty or
 * wrapping range, which no copy can have written.
 */
static inline bool vdpasim_dirty_pages(u64 iova, u64 len, u64 *first,
				       u64 *last)
{
	u64 end;

	if (!len || check_add_overflow(iova, len - 1, &end))
		return false;
	*first = iova >> VDPASIM_LOG_PAGE_SHIFT;
	*last = end >> VDPASIM_LOG_PAGE_SHIFT;
	return true;
}

/* Whether [@first, @last] overlaps or touches @r, so one range holds both. */
static inline bool vdpasim_dirty_joins(const struct vdpasim_dirty_range *r,
				       u64 first, u64 last)
{
	return (r->last == U64_MAX || first <= r->last + 1) &&
	       (last == U64_MAX || r->first <= last + 1);
}

/* Note that the device wrote @len bytes at IOVA @iova. */
static inline void vdpasim_dirty_note(struct vdpasim_dirty *d, u64 iova,
				      u64 len)
{
	struct vdpasim_dirty_range *r;
	unsigned int i, seen;
	u64 first, last;

	if (!vdpasim_dirty_pages(iova, len, &first, &last))
		return;

	for (i = d->count, seen = 0;
	     i > 0 && seen < VDPASIM_DIRTY_MERGE_WINDOW; i--, seen++) {
		r = &d->range[i - 1];
		if (vdpasim_dirty_joins(r, first, last)) {
			r->first = min(r->first, first);
			r->last = max(r->last, last);
			return;
		}
	}

	if (d->count < VDPASIM_DIRTY_MAX) {
		r = &d->range[d->count++];
		r->first = first;
		r->last = last;
		return;
	}
	r = &d->range[d->count - 1];
	r->first = min(r->first, first);
	r->last = max(r->last, last);
	d->merged_over = true;
}

static inline void vdpasim_dirty_clear(struct vdpasim_dirty *d)
{
	d->count = 0;
	d->merged_over = false;
}

/*
 * Where the bit of log page @page lives in a bitmap at user address @base:
 * byte @base + @page / 8, bit @page % 8 of it (vhost's layout, the same in
 * either byte order).  False when the byte address wraps.
 */
static inline bool vdpasim_dirty_bit_addr(u64 base, u64 page, u64 *byte,
					  unsigned int *bit)
{
	if (check_add_overflow(base, page >> 3, byte))
		return false;
	*bit = page & 7;
	return true;
}

#endif /* _VDPA_SIM_DIRTY_H */
