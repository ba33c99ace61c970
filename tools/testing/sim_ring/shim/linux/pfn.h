/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_LINUX_PFN_H
#define _SHIM_LINUX_PFN_H

#include <linux/mm.h>

#define PHYS_PFN(x) ((unsigned long)((x) >> PAGE_SHIFT))

#endif
