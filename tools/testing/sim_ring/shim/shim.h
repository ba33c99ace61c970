/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side stand-ins for the kernel facilities used by sim_ring.c and
 * sim_iotlb.c, forced into every compilation unit of the harness.
 */
#ifndef _SHIM_H
#define _SHIM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the sim_ring harness assumes a little-endian host"
#endif

#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __packed __attribute__((packed))

/* "Physical memory" of the harness: shim_mem_pages pages at shim_mem. */
extern unsigned char *shim_mem;
extern unsigned long shim_mem_pages;

#endif
