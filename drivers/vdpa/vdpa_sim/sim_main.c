// SPDX-License-Identifier: GPL-2.0
/* placeholder, replaced by the real implementation */
#include <linux/module.h>
#include <linux/vdpa.h>
#include <uapi/linux/vdpa.h>
static int __maybe_unused x_sim_main = sizeof(struct vdpa_alloc_params) + VDPA_ATTR_DEV_BLK_FLUSH;
MODULE_LICENSE("GPL");
