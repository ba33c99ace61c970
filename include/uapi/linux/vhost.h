/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vhost userspace ABI: the ioctls of the vhost character devices
 * (/dev/vhost-net, /dev/vhost-scsi, /dev/vhost-vsock, /dev/vhost-vdpa-N).
 *
 * This project's copy matches the newest upstream ABI.  It is a superset of
 * the header shipped with Linux 6.1 and replaces it for our modules.  The
 * structures are in <linux/vhost_types.h>.
 */
#ifndef _LINUX_VHOST_H
#define _LINUX_VHOST_H

#include <linux/vhost_types.h>
#include <linux/types.h>
#include <linux/ioctl.h>

/* fd value of struct vhost_vring_file that detaches the current file */
#define VHOST_FILE_UNBIND -1

/* ioctl magic */
#define VHOST_VIRTIO 0xAF

/* Generic vhost ioctls */

/* Device features (virtio feature bits plus vhost transport bits). */
#define VHOST_GET_FEATURES	_IOR(VHOST_VIRTIO, 0x00, __u64)
#define VHOST_SET_FEATURES	_IOW(VHOST_VIRTIO, 0x00, __u64)
/* Feature words beyond the first 64 bits (struct vhost_features_array). */
#define VHOST_GET_FEATURES_ARRAY _IOR(VHOST_VIRTIO, 0x83, __u64)
#define VHOST_SET_FEATURES_ARRAY _IOW(VHOST_VIRTIO, 0x83, __u64)

/*
 * Make the calling process the owner of the file descriptor.  Most other
 * ioctls require an owner.  A second call fails until VHOST_RESET_OWNER.
 */
#define VHOST_SET_OWNER _IO(VHOST_VIRTIO, 0x01)
/* Drop the owner and return the device to its initial state. */
#define VHOST_RESET_OWNER _IO(VHOST_VIRTIO, 0x02)

/* Guest memory layout (struct vhost_memory). */
#define VHOST_SET_MEM_TABLE	_IOW(VHOST_VIRTIO, 0x03, struct vhost_memory)

/*
 * Dirty logging: each logged write sets the bit of its page in a bitmap at
 * the log base, with an atomic 32-bit operation.
 */
#define VHOST_SET_LOG_BASE _IOW(VHOST_VIRTIO, 0x04, __u64)
/* eventfd signalled after a logged write */
#define VHOST_SET_LOG_FD _IOW(VHOST_VIRTIO, 0x07, int)

/* Worker threads: create, destroy, attach to a vring, query. */
#define VHOST_NEW_WORKER _IOR(VHOST_VIRTIO, 0x8, struct vhost_worker_state)
#define VHOST_FREE_WORKER _IOW(VHOST_VIRTIO, 0x9, struct vhost_worker_state)
#define VHOST_ATTACH_VRING_WORKER _IOW(VHOST_VIRTIO, 0x15,		\
				       struct vhost_vring_worker)
#define VHOST_GET_VRING_WORKER _IOWR(VHOST_VIRTIO, 0x16,		\
				     struct vhost_vring_worker)

/* Virtqueue setup */

/* Queue size; cannot change while the ring runs. */
#define VHOST_SET_VRING_NUM _IOW(VHOST_VIRTIO, 0x10, struct vhost_vring_state)
/* Ring area addresses. */
#define VHOST_SET_VRING_ADDR _IOW(VHOST_VIRTIO, 0x11, struct vhost_vring_addr)
/* Index where the device resumes reading available descriptors. */
#define VHOST_SET_VRING_BASE _IOW(VHOST_VIRTIO, 0x12, struct vhost_vring_state)
/* Reads @index, returns the position in @num. */
#define VHOST_GET_VRING_BASE _IOWR(VHOST_VIRTIO, 0x12, struct vhost_vring_state)

/*
 * Ring byte order for legacy (pre-VERSION_1) devices.  Only some kernels
 * support it; a kernel that supports SET supports GET as well.
 */
#define VHOST_VRING_LITTLE_ENDIAN 0
#define VHOST_VRING_BIG_ENDIAN 1
#define VHOST_SET_VRING_ENDIAN _IOW(VHOST_VIRTIO, 0x13, struct vhost_vring_state)
#define VHOST_GET_VRING_ENDIAN _IOW(VHOST_VIRTIO, 0x14, struct vhost_vring_state)

/* eventfds */

/* Signalled by the driver when buffers were made available */
#define VHOST_SET_VRING_KICK _IOW(VHOST_VIRTIO, 0x20, struct vhost_vring_file)
/* Signalled by the device when buffers were used */
#define VHOST_SET_VRING_CALL _IOW(VHOST_VIRTIO, 0x21, struct vhost_vring_file)
/* Signalled on a ring error */
#define VHOST_SET_VRING_ERR _IOW(VHOST_VIRTIO, 0x22, struct vhost_vring_file)
/* Busy polling time, in microseconds */
#define VHOST_SET_VRING_BUSYLOOP_TIMEOUT _IOW(VHOST_VIRTIO, 0x23,	\
					 struct vhost_vring_state)
#define VHOST_GET_VRING_BUSYLOOP_TIMEOUT _IOW(VHOST_VIRTIO, 0x24,	\
					 struct vhost_vring_state)

/* Backend capabilities: a mask of 1ULL << VHOST_BACKEND_F_* */
#define VHOST_SET_BACKEND_FEATURES _IOW(VHOST_VIRTIO, 0x25, __u64)
#define VHOST_GET_BACKEND_FEATURES _IOR(VHOST_VIRTIO, 0x26, __u64)

/*
 * Where the worker threads of a vhost device are created from: the owner's
 * process (task) or kthreadd.
 */
#define VHOST_FORK_OWNER_KTHREAD 0
#define VHOST_FORK_OWNER_TASK 1
#define VHOST_SET_FORK_FROM_OWNER _IOW(VHOST_VIRTIO, 0x84, __u8)
#define VHOST_GET_FORK_FROM_OWNER _IOR(VHOST_VIRTIO, 0x85, __u8)

/* vhost-net */

/*
 * Attach a ring to a socket (raw packet socket or tap).  fd -1 detaches it,
 * which stops the ring.
 */
#define VHOST_NET_SET_BACKEND _IOW(VHOST_VIRTIO, 0x30, struct vhost_vring_file)

/* vhost-scsi */

#define VHOST_SCSI_SET_ENDPOINT _IOW(VHOST_VIRTIO, 0x40, struct vhost_scsi_target)
#define VHOST_SCSI_CLEAR_ENDPOINT _IOW(VHOST_VIRTIO, 0x41, struct vhost_scsi_target)
/* The number must never change: userspace depends on it. */
#define VHOST_SCSI_GET_ABI_VERSION _IOW(VHOST_VIRTIO, 0x42, int)
/* The "events missed" flag */
#define VHOST_SCSI_SET_EVENTS_MISSED _IOW(VHOST_VIRTIO, 0x43, __u32)
#define VHOST_SCSI_GET_EVENTS_MISSED _IOW(VHOST_VIRTIO, 0x44, __u32)

/* vhost-vsock */

#define VHOST_VSOCK_SET_GUEST_CID	_IOW(VHOST_VIRTIO, 0x60, __u64)
#define VHOST_VSOCK_SET_RUNNING		_IOW(VHOST_VIRTIO, 0x61, int)

/* vhost-vdpa */

/* virtio device id, as defined by the virtio specification */
#define VHOST_VDPA_GET_DEVICE_ID	_IOR(VHOST_VIRTIO, 0x70, __u32)
/* virtio device status byte */
#define VHOST_VDPA_GET_STATUS		_IOR(VHOST_VIRTIO, 0x71, __u8)
#define VHOST_VDPA_SET_STATUS		_IOW(VHOST_VIRTIO, 0x72, __u8)
/* Device config space (struct vhost_vdpa_config followed by the data) */
#define VHOST_VDPA_GET_CONFIG		_IOR(VHOST_VIRTIO, 0x73, \
					     struct vhost_vdpa_config)
#define VHOST_VDPA_SET_CONFIG		_IOW(VHOST_VIRTIO, 0x74, \
					     struct vhost_vdpa_config)
/* Enable (@num != 0) or disable a virtqueue */
#define VHOST_VDPA_SET_VRING_ENABLE	_IOW(VHOST_VIRTIO, 0x75, \
					     struct vhost_vring_state)
/* Largest queue size the device supports */
#define VHOST_VDPA_GET_VRING_NUM	_IOR(VHOST_VIRTIO, 0x76, __u16)
/* eventfd signalled on config changes; -1 detaches it */
#define VHOST_VDPA_SET_CONFIG_CALL	_IOW(VHOST_VIRTIO, 0x77, int)
/* IOVA window that may be mapped */
#define VHOST_VDPA_GET_IOVA_RANGE	_IOR(VHOST_VIRTIO, 0x78, \
					     struct vhost_vdpa_iova_range)
/* Size of the device config space */
#define VHOST_VDPA_GET_CONFIG_SIZE	_IOR(VHOST_VIRTIO, 0x79, __u32)
/* Number of address spaces */
#define VHOST_VDPA_GET_AS_NUM		_IOR(VHOST_VIRTIO, 0x7A, unsigned int)
/* Group of the virtqueue @index, returned in @num */
#define VHOST_VDPA_GET_VRING_GROUP	_IOWR(VHOST_VIRTIO, 0x7B,	\
					      struct vhost_vring_state)
/* Attach group @index to address space @num */
#define VHOST_VDPA_SET_GROUP_ASID	_IOW(VHOST_VIRTIO, 0x7C, \
					     struct vhost_vring_state)
/*
 * Stop processing virtqueues.  On return the device keeps everything needed
 * to continue later (ring positions and device state) and does not change
 * its configuration any more.
 */
#define VHOST_VDPA_SUSPEND		_IO(VHOST_VIRTIO, 0x7D)
/* Continue after VHOST_VDPA_SUSPEND */
#define VHOST_VDPA_RESUME		_IO(VHOST_VIRTIO, 0x7E)
/*
 * Group of the descriptor table of virtqueue @index, returned in @num;
 * only with VHOST_BACKEND_F_DESC_ASID.
 */
#define VHOST_VDPA_GET_VRING_DESC_GROUP	_IOWR(VHOST_VIRTIO, 0x7F,	\
					      struct vhost_vring_state)
/* Number of virtqueues */
#define VHOST_VDPA_GET_VQS_COUNT	_IOR(VHOST_VIRTIO, 0x80, __u32)
/* Number of virtqueue groups */
#define VHOST_VDPA_GET_GROUP_NUM	_IOR(VHOST_VIRTIO, 0x81, __u32)
/* Queue size in use by virtqueue @index, returned in @num */
#define VHOST_VDPA_GET_VRING_SIZE	_IOWR(VHOST_VIRTIO, 0x82,	\
					      struct vhost_vring_state)

#endif /* _LINUX_VHOST_H */
