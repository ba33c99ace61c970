/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_MM_H
#define _SHIM_LINUX_MM_H

#include <stdbool.h>
#include <linux/bits.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE BIT(PAGE_SHIFT)
#define offset_in_page(p) ((unsigned long)(p) & (PAGE_SIZE - 1))

/* A page frame of the harness's "physical memory". */
struct page;

static inline bool pfn_valid(unsigned long pfn)
{
	return pfn < shim_mem_pages;
}

static inline struct page *pfn_to_page(unsigned long pfn)
{
	return (struct page *)(shim_mem + pfn * PAGE_SIZE);
}

#endif
