/* SPDX-License-Identifier: GPL-2.0 */
/* Controls of the host-side stand-ins, for the tests. */
#ifndef _SHIM_CTL_H
#define _SHIM_CTL_H

#include <linux/types.h>

struct vhost_iotlb;

extern unsigned long shim_kmap_count;
extern char shim_last_log[512];
extern unsigned long shim_log_count;
extern bool shim_log_quiet;
/*
 * Called with the IOVA of every page piece the engine is about to access
 * (vdpasim_iotlb_check_page()), with or without a tree search, to play a
 * racing driver.
 */
extern void (*shim_access_hook)(u64 iova);

void shim_iotlb_reset(struct vhost_iotlb *iotlb);
void shim_iotlb_add(struct vhost_iotlb *iotlb, u64 start, u64 last, u64 pa,
		    u32 perm);

#endif
