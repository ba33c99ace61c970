// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side stand-ins: "physical memory", the fake vhost_iotlb and the log.
 */
#include <stdio.h>
#include <stdlib.h>

#include "shim/shim.h"
#include <linux/printk.h>
#include <linux/vhost_iotlb.h>
#include "shim_ctl.h"
#include "../../../drivers/vdpa/vdpa_sim/sim_iotlb.h"

unsigned char *shim_mem;
unsigned long shim_mem_pages;
unsigned long shim_kmap_count;

char shim_last_log[512];
unsigned long shim_log_count;
bool shim_log_quiet;

void (*shim_access_hook)(u64 iova);

/* The harness's "physical memory" has no pins to check. */
void vdpasim_iotlb_check_page(struct vhost_iotlb *iotlb, unsigned long pfn,
			      u64 iova)
{
	if (shim_access_hook)
		shim_access_hook(iova);
}

static bool overlaps(const struct vhost_iotlb_map *map, u64 start, u64 last)
{
	return map->start <= last && map->last >= start;
}

struct vhost_iotlb_map *
vhost_iotlb_itree_first(struct vhost_iotlb *iotlb, u64 start, u64 last)
{
	unsigned int i;

	iotlb->first_calls++;
	for (i = 0; i < iotlb->n; i++)
		if (overlaps(&iotlb->map[i], start, last))
			return &iotlb->map[i];
	return NULL;
}

struct vhost_iotlb_map *
vhost_iotlb_itree_next(struct vhost_iotlb_map *map, u64 start, u64 last)
{
	struct vhost_iotlb *iotlb = map->iotlb;
	unsigned int i;

	for (i = map - iotlb->map + 1; i < iotlb->n; i++)
		if (overlaps(&iotlb->map[i], start, last))
			return &iotlb->map[i];
	return NULL;
}

void shim_iotlb_reset(struct vhost_iotlb *iotlb)
{
	memset(iotlb, 0, sizeof(*iotlb));
}

void shim_iotlb_add(struct vhost_iotlb *iotlb, u64 start, u64 last, u64 pa,
		    u32 perm)
{
	unsigned int i;

	if (iotlb->n == SHIM_IOTLB_MAX) {
		fprintf(stderr, "shim: IOTLB full\n");
		abort();
	}
	for (i = iotlb->n; i && iotlb->map[i - 1].start > start; i--)
		iotlb->map[i] = iotlb->map[i - 1];
	iotlb->map[i] = (struct vhost_iotlb_map){
		.start = start, .last = last, .addr = pa, .perm = perm,
		.iotlb = iotlb,
	};
	iotlb->n++;
}

void shim_log(const char *fmt, const char *name, struct va_format *vaf)
{
	char text[384], fmt2[128];
	const char *pv = strstr(fmt, "%pV");
	va_list va;

	if (!pv || (size_t)(pv - fmt) + 3 + strlen(pv + 3) >= sizeof(fmt2)) {
		fprintf(stderr, "shim: unexpected log format %s\n", fmt);
		abort();
	}
	/* Same format with %pV turned into %s for the pre-formatted text. */
	snprintf(fmt2, sizeof(fmt2), "%.*s%%s%s", (int)(pv - fmt), fmt, pv + 3);
	va_copy(va, *vaf->va);
	vsnprintf(text, sizeof(text), vaf->fmt, va);
	va_end(va);
	snprintf(shim_last_log, sizeof(shim_last_log), fmt2, name, text);
	shim_log_count++;
	if (!shim_log_quiet)
		fputs(shim_last_log, stderr);
}
