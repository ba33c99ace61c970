/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small stand-in for the kernel's vhost_iotlb: a sorted array searched
 * linearly, with the same inclusive-interval query semantics.
 */
#ifndef _SHIM_LINUX_VHOST_IOTLB_H
#define _SHIM_LINUX_VHOST_IOTLB_H

#include <linux/types.h>

#define VHOST_MAP_RO 0x1
#define VHOST_MAP_WO 0x2
#define VHOST_MAP_RW 0x3

#define SHIM_IOTLB_MAX 512

struct vhost_iotlb;

struct vhost_iotlb_map {
	u64 start;
	u64 last;
	u64 addr;
	u32 perm;
	struct vhost_iotlb *iotlb;
};

struct vhost_iotlb {
	struct vhost_iotlb_map map[SHIM_IOTLB_MAX];	/* sorted by start */
	unsigned int n;
	unsigned long first_calls;	/* vhost_iotlb_itree_first() calls */
};

struct vhost_iotlb_map *
vhost_iotlb_itree_first(struct vhost_iotlb *iotlb, u64 start, u64 last);
struct vhost_iotlb_map *
vhost_iotlb_itree_next(struct vhost_iotlb_map *map, u64 start, u64 last);

#endif
