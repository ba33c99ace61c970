/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SHIM_UAPI_LINUX_VIRTIO_RING_H
#define _SHIM_UAPI_LINUX_VIRTIO_RING_H

/* The system's uapi header is the same file the kernel build uses. */
#include <linux/virtio_ring.h>

#endif
