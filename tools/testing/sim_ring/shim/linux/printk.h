/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_PRINTK_H
#define _SHIM_LINUX_PRINTK_H

#include <stdarg.h>

struct va_format {
	const char *fmt;
	va_list *va;
};

/*
 * The one log call of sim_ring.c, "<prefix>%s: ...: %pV\n" with a name and a
 * struct va_format: the harness records the line so tests can check it.
 */
void shim_log(const char *fmt, const char *name, struct va_format *vaf);
#define pr_warn_ratelimited(fmt, ...) shim_log(pr_fmt(fmt), __VA_ARGS__)

#endif
