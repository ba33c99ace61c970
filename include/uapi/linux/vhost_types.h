/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Types of the vhost userspace ABI: the structures passed through the
 * ioctls of <linux/vhost.h>, the IOTLB messages written to a vhost file
 * descriptor, and the feature bit numbers.
 *
 * This project's copy matches the newest upstream ABI.  It is a superset of
 * the header shipped with Linux 6.1 and replaces it for our modules.
 */
#ifndef _LINUX_VHOST_TYPES_H
#define _LINUX_VHOST_TYPES_H

#include <linux/types.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

/* One number for one virtqueue: sizes, indexes, groups, timeouts. */
struct vhost_vring_state {
	unsigned int index;
	unsigned int num;
};

/* An eventfd (or backend fd) for one virtqueue; fd -1 unbinds. */
struct vhost_vring_file {
	unsigned int index;
	int fd;
};

/* Worker threads (vhost-net, vhost-scsi, vhost-vsock only). */
struct vhost_worker_state {
	/* Filled in by VHOST_NEW_WORKER, passed in by VHOST_FREE_WORKER. */
	unsigned int worker_id;
};

struct vhost_vring_worker {
	unsigned int index;
	unsigned int worker_id;
};

/* Virtqueue area addresses. */
struct vhost_vring_addr {
	unsigned int index;
	unsigned int flags;
/* Bit number in @flags: @log_guest_addr is valid and used writes are logged */
#define VHOST_VRING_F_LOG 0

	/* Descriptor table. */
	__u64 desc_user_addr;
	/* Device (used) area, 4-byte aligned. */
	__u64 used_user_addr;
	/* Driver (available) area, 2-byte aligned. */
	__u64 avail_user_addr;
	/* Where writes to the used area are logged, 4-byte aligned. */
	__u64 log_guest_addr;
};

/* One IOTLB operation.  The structure has no alignment requirement. */
struct vhost_iotlb_msg {
	__u64 iova;
	__u64 size;
	__u64 uaddr;
/* Values of @perm: which accesses the device may make */
#define VHOST_ACCESS_RO      0x1
#define VHOST_ACCESS_WO      0x2
#define VHOST_ACCESS_RW      0x3
	__u8 perm;
/* Values of @type */
#define VHOST_IOTLB_MISS           1
#define VHOST_IOTLB_UPDATE         2
#define VHOST_IOTLB_INVALIDATE     3
#define VHOST_IOTLB_ACCESS_FAIL    4
/*
 * A batch brackets any number of UPDATE and INVALIDATE messages so that the
 * device may apply them together.  The other fields of the BATCH_BEGIN and
 * BATCH_END messages are ignored.  Whether the device sees the changes
 * atomically is not guaranteed.
 */
#define VHOST_IOTLB_BATCH_BEGIN    5
#define VHOST_IOTLB_BATCH_END      6
	__u8 type;
};

/* Values of the message header type */
#define VHOST_IOTLB_MSG 0x1
#define VHOST_IOTLB_MSG_V2 0x2

/* Version 1 message: the address space is always 0. */
struct vhost_msg {
	int type;
	union {
		struct vhost_iotlb_msg iotlb;
		__u8 padding[64];
	};
};

/* Version 2 message: carries an address space id. */
struct vhost_msg_v2 {
	__u32 type;
	__u32 asid;
	union {
		struct vhost_iotlb_msg iotlb;
		__u8 padding[64];
	};
};

/* Guest memory layout of VHOST_SET_MEM_TABLE. */
struct vhost_memory_region {
	__u64 guest_phys_addr;
	__u64 memory_size; /* in bytes */
	__u64 userspace_addr;
	__u64 flags_padding; /* no flags are defined: must be 0 */
};

/* Region addresses and sizes are multiples of this. */
#define VHOST_PAGE_SIZE 0x1000

struct vhost_memory {
	__u32 nregions;
	__u32 padding;
	struct vhost_memory_region regions[];
};

/* vhost-scsi */

/*
 * ABI revision reported by VHOST_SCSI_GET_ABI_VERSION.
 * 0: first merged version.  1: vhost_tpgt is ignored, every target under
 * the WWPN is visible to the guest.
 */
#define VHOST_SCSI_ABI_VERSION	1

struct vhost_scsi_target {
	int abi_version;
	char vhost_wwpn[224]; /* TRANSPORT_IQN_LEN */
	unsigned short vhost_tpgt;
	unsigned short reserved;
};

/* vhost-vdpa */

/* Device config space access: @len bytes at offset @off, data in @buf. */
struct vhost_vdpa_config {
	__u32 off;
	__u32 len;
	__u8 buf[];
};

/* IOVA window that vhost-vdpa can map, @first to @last inclusive. */
struct vhost_vdpa_iova_range {
	__u64 first;
	__u64 last;
};

/* Feature words of VHOST_GET/SET_FEATURES_ARRAY: @count words follow. */
struct vhost_features_array {
	__u64 count;
	__u64 features[];
};

/* Transport feature bits used by vhost */
/* Log every write made through a descriptor; may change while running. */
#define VHOST_F_LOG_ALL 26
/* vhost-net adds a virtio_net_hdr to received packets and strips it on TX. */
#define VHOST_NET_F_VIRTIO_NET_HDR 27

/*
 * Backend feature bit numbers (VHOST_GET/SET_BACKEND_FEATURES take a mask
 * of 1ULL << these).
 */
/* IOTLB messages may use struct vhost_msg_v2 */
#define VHOST_BACKEND_F_IOTLB_MSG_V2 0x1
/* IOTLB updates may be bracketed by BATCH_BEGIN and BATCH_END */
#define VHOST_BACKEND_F_IOTLB_BATCH  0x2
/* The asid field of struct vhost_msg_v2 is honoured */
#define VHOST_BACKEND_F_IOTLB_ASID  0x3
/* VHOST_VDPA_SUSPEND is available */
#define VHOST_BACKEND_F_SUSPEND  0x4
/* VHOST_VDPA_RESUME is available */
#define VHOST_BACKEND_F_RESUME  0x5
/* Virtqueues may be enabled after DRIVER_OK */
#define VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK  0x6
/* Descriptor tables may live in their own group (VHOST_VDPA_GET_VRING_DESC_GROUP) */
#define VHOST_BACKEND_F_DESC_ASID    0x7
/* IOTLB mappings survive a device reset */
#define VHOST_BACKEND_F_IOTLB_PERSIST  0x8

#endif /* _LINUX_VHOST_TYPES_H */
