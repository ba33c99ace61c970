/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_HIGHMEM_H
#define _SHIM_LINUX_HIGHMEM_H

#include <linux/mm.h>

extern unsigned long shim_kmap_count;

static inline void *kmap_local_page(struct page *page)
{
	shim_kmap_count++;
	return page;
}

static inline void kunmap_local(void *addr)
{
	shim_kmap_count--;
}

#endif
