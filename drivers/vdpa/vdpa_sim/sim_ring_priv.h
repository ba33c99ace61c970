/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdpa_sim: what the split engine (sim_ring.c) shares with the packed one
 * (sim_ring_packed.c).  Internal to vdpa_sim.ko: nothing here is exported.
 */
#ifndef _VDPA_SIM_RING_PRIV_H
#define _VDPA_SIM_RING_PRIV_H

#include <linux/types.h>

#include "sim_ring.h"

/* base + off, or U64_MAX (an address no access can use) when that wraps. */
u64 vdpasim_ring_addr(u64 base, u64 off);

/* Mark @r broken, log one rate-limited line naming @name; returns @err. */
__printf(4, 5) int vdpasim_ring_fail(struct vdpasim_ring *r, const char *name,
				     int err, const char *fmt, ...);

/* Single 16-bit little-endian accesses to fields the driver shares. */
int vdpasim_ring_read16(struct vdpasim_ring *r, u64 addr, u16 *val);
int vdpasim_ring_write16(struct vdpasim_ring *r, u64 addr, u16 val);

/*
 * Copy @len bytes to driver memory at @iova, noting the range in the dirty
 * record first when the client logs (a failed copy may have written part).
 */
int vdpasim_ring_write(struct vdpasim_ring *r, u64 iova,
		       const void *buf, size_t len);

/*
 * Append one non-indirect descriptor to @c (readable ones before writable
 * ones, at most VDPASIM_CHAIN_MAX_SEGS); breaks the ring otherwise.
 */
int vdpasim_chain_add(struct vdpasim_ring *r, struct vdpasim_chain *c,
		      const char *name, u64 addr, u32 len, bool writable);

/* The packed layout, called by the interface functions when r->packed. */
void vdpasim_ring_packed_reset(struct vdpasim_ring *r);
int vdpasim_ring_packed_fetch(struct vdpasim_ring *r, struct vdpasim_chain *c,
			      const char *name);
void vdpasim_ring_packed_unfetch(struct vdpasim_ring *r);
u32 vdpasim_ring_packed_complete_oldest(struct vdpasim_ring *r);
int vdpasim_ring_packed_push(struct vdpasim_ring *r, u16 id, u32 len);
bool vdpasim_ring_packed_should_notify(struct vdpasim_ring *r);

#endif /* _VDPA_SIM_RING_PRIV_H */
