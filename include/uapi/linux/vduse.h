/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * VDUSE: vDPA devices implemented by a userspace process.
 *
 * The ioctl numbers, structure layouts and message types are those of
 * upstream Linux's <linux/vduse.h> (API version 0), so unmodified clients
 * such as qemu-storage-daemon work.  Documentation/userspace-api.rst
 * describes how this implementation uses them.
 */
#ifndef _UAPI_VDUSE_H_
#define _UAPI_VDUSE_H_

#include <linux/types.h>

#define VDUSE_BASE	0x81

/* ---- /dev/vduse/control ---- */

/* The only API version this implementation speaks. */
#define VDUSE_API_VERSION	0

/* Read the API version the kernel supports. */
#define VDUSE_GET_API_VERSION	_IOR(VDUSE_BASE, 0x00, __u64)

/* Tell the kernel which API version the caller speaks (per open file). */
#define VDUSE_SET_API_VERSION	_IOW(VDUSE_BASE, 0x01, __u64)

/**
 * struct vduse_dev_config - what VDUSE_CREATE_DEV creates
 * @name: device name, NUL terminated; also the vdpa device name
 * @vendor_id: virtio vendor id
 * @device_id: virtio device id
 * @features: virtio features the device offers
 * @vq_num: number of virtqueues
 * @vq_align: ring alignment the device needs
 * @reserved: must be zero
 * @config_size: size of @config in bytes
 * @config: initial device config space
 */
struct vduse_dev_config {
#define VDUSE_NAME_MAX	256
	char name[VDUSE_NAME_MAX];
	__u32 vendor_id;
	__u32 device_id;
	__u64 features;
	__u32 vq_num;
	__u32 vq_align;
	__u32 reserved[13];
	__u32 config_size;
	__u8 config[];
};

/* Create a device; it appears as /dev/vduse/<name>. */
#define VDUSE_CREATE_DEV	_IOW(VDUSE_BASE, 0x02, struct vduse_dev_config)

/* Destroy a device that no process has open and no vdpa device uses. */
#define VDUSE_DESTROY_DEV	_IOW(VDUSE_BASE, 0x03, char[VDUSE_NAME_MAX])

/* ---- /dev/vduse/<name> ---- */

/**
 * struct vduse_iotlb_entry - one IOVA region and the file that backs it
 * @offset: offset in the returned file where @start is mapped
 * @start: first IOVA of the region (in: an IOVA to look up)
 * @last: last IOVA of the region, inclusive (in: end of the lookup)
 * @perm: VDUSE_ACCESS_* the daemon may map the region with
 */
struct vduse_iotlb_entry {
	__u64 offset;
	__u64 start;
	__u64 last;
#define VDUSE_ACCESS_RO 0x1
#define VDUSE_ACCESS_WO 0x2
#define VDUSE_ACCESS_RW 0x3
	__u8 perm;
};

/* Find the region holding [start, last]; returns a file to mmap. */
#define VDUSE_IOTLB_GET_FD	_IOWR(VDUSE_BASE, 0x10, struct vduse_iotlb_entry)

/* Read the features the driver accepted. */
#define VDUSE_DEV_GET_FEATURES	_IOR(VDUSE_BASE, 0x11, __u64)

/**
 * struct vduse_config_data - a write to device config space
 * @offset: offset in config space
 * @length: number of bytes in @buffer
 * @buffer: the new bytes
 */
struct vduse_config_data {
	__u32 offset;
	__u32 length;
	__u8 buffer[];
};

#define VDUSE_DEV_SET_CONFIG	_IOW(VDUSE_BASE, 0x12, struct vduse_config_data)

/* Raise a config change interrupt. */
#define VDUSE_DEV_INJECT_CONFIG_IRQ	_IO(VDUSE_BASE, 0x13)

/**
 * struct vduse_vq_config - virtqueue set-up, before the device is used
 * @index: virtqueue index
 * @max_size: largest ring size the device supports
 * @reserved: must be zero
 */
struct vduse_vq_config {
	__u32 index;
	__u16 max_size;
	__u16 reserved[13];
};

#define VDUSE_VQ_SETUP		_IOW(VDUSE_BASE, 0x14, struct vduse_vq_config)

/**
 * struct vduse_vq_state_split - split ring position
 * @avail_index: next available ring index the device will read
 */
struct vduse_vq_state_split {
	__u16 avail_index;
};

/**
 * struct vduse_vq_state_packed - packed ring position
 * @last_avail_counter: wrap counter of @last_avail_idx
 * @last_avail_idx: next descriptor the device will read
 * @last_used_counter: wrap counter of @last_used_idx
 * @last_used_idx: next used slot the device will write
 */
struct vduse_vq_state_packed {
	__u16 last_avail_counter;
	__u16 last_avail_idx;
	__u16 last_used_counter;
	__u16 last_used_idx;
};

/**
 * struct vduse_vq_info - what the driver set up for one virtqueue
 * @index: virtqueue index (in)
 * @num: ring size
 * @desc_addr: IOVA of the descriptor area
 * @driver_addr: IOVA of the driver (available) area
 * @device_addr: IOVA of the device (used) area
 * @split: split ring position
 * @packed: packed ring position
 * @ready: whether the driver enabled the queue
 */
struct vduse_vq_info {
	__u32 index;
	__u32 num;
	__u64 desc_addr;
	__u64 driver_addr;
	__u64 device_addr;
	union {
		struct vduse_vq_state_split split;
		struct vduse_vq_state_packed packed;
	};
	__u8 ready;
};

#define VDUSE_VQ_GET_INFO	_IOWR(VDUSE_BASE, 0x15, struct vduse_vq_info)

/**
 * struct vduse_vq_eventfd - an eventfd for a virtqueue
 * @index: virtqueue index
 * @fd: eventfd, or VDUSE_EVENTFD_DEASSIGN to remove it
 */
struct vduse_vq_eventfd {
	__u32 index;
#define VDUSE_EVENTFD_DEASSIGN -1
	int fd;
};

/* The eventfd the kernel signals when the driver kicks the queue. */
#define VDUSE_VQ_SETUP_KICKFD	_IOW(VDUSE_BASE, 0x16, struct vduse_vq_eventfd)

/* Raise the used-buffer interrupt of a virtqueue (argument: its index). */
#define VDUSE_VQ_INJECT_IRQ	_IOW(VDUSE_BASE, 0x17, __u32)

/**
 * struct vduse_iova_umem - userspace memory for an IOVA region
 * @uaddr: start of the memory in the caller
 * @iova: first IOVA
 * @size: size in bytes
 * @reserved: must be zero
 */
struct vduse_iova_umem {
	__u64 uaddr;
	__u64 iova;
	__u64 size;
	__u64 reserved[3];
};

#define VDUSE_IOTLB_REG_UMEM	_IOW(VDUSE_BASE, 0x18, struct vduse_iova_umem)
#define VDUSE_IOTLB_DEREG_UMEM	_IOW(VDUSE_BASE, 0x19, struct vduse_iova_umem)

/**
 * struct vduse_iova_info - an IOVA region and what it can do
 * @start: first IOVA (in: the start of the lookup)
 * @last: last IOVA, inclusive (in: the end of the lookup)
 * @capability: VDUSE_IOVA_CAP_* flags
 * @reserved: zero
 */
struct vduse_iova_info {
	__u64 start;
	__u64 last;
#define VDUSE_IOVA_CAP_UMEM (1 << 0)
	__u64 capability;
	__u64 reserved[3];
};

#define VDUSE_IOTLB_GET_INFO	_IOWR(VDUSE_BASE, 0x1a, struct vduse_iova_info)

/* ---- messages: read(2) a request, write(2) its response ---- */

/**
 * enum vduse_req_type - what the kernel asks the daemon
 * @VDUSE_GET_VQ_STATE: report a virtqueue's position
 * @VDUSE_SET_STATUS: the driver wrote the status byte
 * @VDUSE_UPDATE_IOTLB: drop cached mappings of an IOVA range
 */
enum vduse_req_type {
	VDUSE_GET_VQ_STATE,
	VDUSE_SET_STATUS,
	VDUSE_UPDATE_IOTLB,
};

/**
 * struct vduse_vq_state - a virtqueue's position
 * @index: virtqueue index
 * @split: split ring position
 * @packed: packed ring position
 */
struct vduse_vq_state {
	__u32 index;
	union {
		struct vduse_vq_state_split split;
		struct vduse_vq_state_packed packed;
	};
};

/**
 * struct vduse_dev_status - a device status byte
 * @status: the status
 */
struct vduse_dev_status {
	__u8 status;
};

/**
 * struct vduse_iova_range - an IOVA range
 * @start: first IOVA
 * @last: last IOVA, inclusive
 */
struct vduse_iova_range {
	__u64 start;
	__u64 last;
};

/**
 * struct vduse_dev_request - one request from the kernel
 * @type: enum vduse_req_type
 * @request_id: to quote in the response
 * @reserved: zero
 * @vq_state: VDUSE_GET_VQ_STATE: the queue (index only)
 * @s: VDUSE_SET_STATUS: the new status
 * @iova: VDUSE_UPDATE_IOTLB: the range
 * @padding: fixes the size
 */
struct vduse_dev_request {
	__u32 type;
	__u32 request_id;
	__u32 reserved[4];
	union {
		struct vduse_vq_state vq_state;
		struct vduse_dev_status s;
		struct vduse_iova_range iova;
		__u32 padding[32];
	};
};

/**
 * struct vduse_dev_response - the daemon's answer to one request
 * @request_id: the request's @request_id
 * @result: VDUSE_REQ_RESULT_*
 * @reserved: zero
 * @vq_state: VDUSE_GET_VQ_STATE: the position
 * @padding: fixes the size
 */
struct vduse_dev_response {
	__u32 request_id;
#define VDUSE_REQ_RESULT_OK	0x00
#define VDUSE_REQ_RESULT_FAILED	0x01
	__u32 result;
	__u32 reserved[4];
	union {
		struct vduse_vq_state vq_state;
		__u32 padding[32];
	};
};

#endif /* _UAPI_VDUSE_H_ */
