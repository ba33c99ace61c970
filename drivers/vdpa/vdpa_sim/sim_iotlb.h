/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_sim: copies between the simulator and driver memory through an IOTLB.
 *
 * The simulator keeps, per address space, a struct vhost_iotlb whose entries
 * map an inclusive IOVA range [start, last] to the physical address of pinned
 * pages (PA mode).  The helpers below are the only way the simulator touches
 * driver memory: every byte is translated and permission-checked.
 *
 * The caller holds whatever lock protects @iotlb against concurrent updates.
 *
 * @hint, if not NULL, is where the caller keeps the entry of @iotlb its last
 * access went through (NULL at first): an access starts from it, without a
 * tree search, when it covers the access's first byte, and leaves there the
 * entry the access ended in.  It must only ever hold an entry of @iotlb:
 * whoever removes entries from @iotlb, frees it, or gives the caller another
 * table clears the hint first, under the same lock.
 */
#ifndef _VDPA_SIM_IOTLB_H
#define _VDPA_SIM_IOTLB_H

#include <linux/types.h>

struct vhost_iotlb;
struct vhost_iotlb_map;

/*
 * Copy @len bytes at IOVA @iova into @dst; every byte needs read permission.
 * Returns 0, -EFAULT (a hole in the mapping or a bad physical address),
 * -EACCES (mapped without read permission) or -EOVERFLOW (@iova + @len wraps).
 */
int vdpasim_iotlb_read(struct vhost_iotlb *iotlb,
		       struct vhost_iotlb_map **hint, u64 iova, void *dst,
		       size_t len);

/*
 * Copy @len bytes from @src to IOVA @iova; every byte needs write permission.
 * Same return values as vdpasim_iotlb_read().  On error a prefix of the range
 * may already have been written.
 */
int vdpasim_iotlb_write(struct vhost_iotlb *iotlb,
			struct vhost_iotlb_map **hint, u64 iova,
			const void *src, size_t len);

/*
 * Read or write the little-endian 16-bit value at @iova with one access, so
 * that a driver reading or writing it at the same time sees, or leaves,
 * either the old or the new value, never one byte of each.  The ring
 * indices, flags and event fields need this.  An odd @iova (a driver bug:
 * the rings are aligned) falls back to a copy.  Same return values as
 * vdpasim_iotlb_read().
 */
int vdpasim_iotlb_read16(struct vhost_iotlb *iotlb,
			 struct vhost_iotlb_map **hint, u64 iova, __le16 *val);
int vdpasim_iotlb_write16(struct vhost_iotlb *iotlb,
			  struct vhost_iotlb_map **hint, u64 iova, __le16 val);

/*
 * Called by the copies for every page they reach through @iotlb: with the
 * debug parameter vdpa_sim.check_pins set, a page of a client's table (not
 * the core's identity translation) that nobody pins any more (unpinned
 * while the device can still reach it) is a WARN.  Defined by the
 * simulator core, which owns the identity translation.
 */
void vdpasim_iotlb_check_page(struct vhost_iotlb *iotlb, unsigned long pfn,
			      u64 iova);

#endif /* _VDPA_SIM_IOTLB_H */
