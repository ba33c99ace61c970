/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_ERRNO_H
#define _SHIM_LINUX_ERRNO_H

/* The system uapi numbers are the kernel's. */
#include_next <linux/errno.h>

#endif
