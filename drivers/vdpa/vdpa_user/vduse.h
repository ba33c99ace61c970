/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VDUSE: internal structures shared by the files of the vduse module.
 */
#ifndef _VDUSE_H
#define _VDUSE_H

#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/vdpa.h>
#include <linux/vhost_iotlb.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <uapi/linux/vduse.h>

#include "vduse_domain.h"

/**
 * struct vduse_packed_buf - a buffer the driver made available (packed ring)
 * @status: IOVA of a virtio-blk request's status byte, or 0
 * @descs: number of ring descriptors the buffer takes up: the device skips
 *	   that many when it returns the buffer
 */
struct vduse_packed_buf {
	u64 status;
	u16 descs;
};

/**
 * struct vduse_vq - one virtqueue
 * @lock: protects every field below except @cb (taken in atomic context:
 *	  kick_vq runs under the driver's queue lock)
 * @index: virtqueue index
 * @max_size: VDUSE_VQ_SETUP's max_size; 0 until set up
 * @num: ring size the driver chose
 * @desc_addr: IOVA of the descriptor table
 * @driver_addr: IOVA of the available ring
 * @device_addr: IOVA of the used ring
 * @state: position the driver restored (set_vq_state)
 * @ready: the driver enabled the queue
 * @kickfd: eventfd signalled on each kick, or NULL; changed under @lock,
 *	    read under RCU and signalled without @lock (signalling wakes the
 *	    eventfd's waiters, which may be another queue's kick path: never
 *	    with a queue lock held), put after a grace period
 * @kicked: a kick came while there was no @kickfd
 * @packed: the queue is a packed ring (fixed when it is enabled)
 * @seen_avail: split: available ring index up to which @inflight is up to
 *		date; packed: position of the next descriptor to record, as
 *		a lap counter (see vduse_ring.c)
 * @seen_used: split: used ring index up to which @inflight is up to date;
 *	       packed: position of the next used descriptor, as @seen_avail
 * @inflight: descriptor heads (split) or buffer ids (packed) the driver
 *	      made available that the device has not returned (see
 *	      vduse_vq_track())
 * @bufs: packed rings only: what was recorded of each buffer id in
 *	  @inflight; NULL when the device does not offer packed rings
 * @irq_lock: protects @cb (held while it runs), @irq_affinity and
 *	      @irq_cpu
 * @cb: the driver's used-buffer handler
 * @irq_affinity: CPUs @cb may run on for injected interrupts (sysfs
 *		  vqN/irq_cb_affinity); all by default: the daemon's own
 *		  thread, in its VDUSE_VQ_INJECT_IRQ
 * @irq_cpu: CPU @irq_work was last queued on when @irq_affinity is not
 *	     all CPUs, else -1; the next one is the next CPU of the mask that
 *	     is online, round robin
 * @sysfs_attr: vqN/irq_cb_affinity (var: this queue)
 * @sysfs_attrs: the attributes of @sysfs_group
 * @sysfs_group: the directory vqN of /sys/class/vduse/NAME
 * @sysfs_name: "vqN"
 * @irq_work: runs @cb for interrupts the daemon injected when
 *	      @irq_affinity is not all CPUs, on the next CPU of the mask
 * @kick_work: signals @kickfd for a kick that came inside an eventfd
 *	       wake-up (vhost-vdpa's kick eventfd), where it cannot be signalled
 */
struct vduse_vq {
	/* the vq's set-up, kick eventfd and in-flight record */
	spinlock_t lock;
	u32 index;
	u16 max_size;
	u32 num;
	u64 desc_addr;
	u64 driver_addr;
	u64 device_addr;
	struct vdpa_vq_state state;
	bool ready;
	struct eventfd_ctx __rcu *kickfd;
	bool kicked;
	bool packed;
	u16 seen_avail;
	u16 seen_used;
	unsigned long *inflight;
	struct vduse_packed_buf *bufs;
	/* @cb (held while it runs), @irq_affinity, @irq_cpu */
	spinlock_t irq_lock;
	struct vdpa_callback cb;
	cpumask_var_t irq_affinity;
	int irq_cpu;
	struct dev_ext_attribute sysfs_attr;
	struct attribute *sysfs_attrs[2];
	struct attribute_group sysfs_group;
	char sysfs_name[16];
	struct work_struct irq_work;
	struct work_struct kick_work;
};

struct vduse_vdpa;

/**
 * struct vduse_umem - a daemon's memory backing the bounce region
 * @pages: its pages, pinned, one per page of the bounce region
 * @npages: number of @pages, charged to @mm->pinned_vm
 * @mm: the daemon's mm (mmgrab()), uncharged when the pages are unpinned
 */
struct vduse_umem {
	struct page **pages;
	unsigned long npages;
	struct mm_struct *mm;
};

/**
 * struct vduse_iotlb - the user-memory table vhost-vdpa installed
 * @lock: protects @table
 * @table: entries whose opaque is a struct vdpa_map_file holding a file
 *	   reference; NULL when there is none
 * @active: @table has entries: the rings and buffers are in a vhost-vdpa
 *	    client's memory, not in the bounce domain (read locklessly)
 */
struct vduse_iotlb {
	/* @table */
	struct mutex lock;
	struct vhost_iotlb *table;
	bool active;
};

/**
 * struct vduse_dev - a device created by VDUSE_CREATE_DEV
 * @name: device name (also the vdpa device's)
 * @minor: minor number of /dev/vduse/@name
 * @node: the char device's struct device
 * @api_version: API version of the creator
 * @vendor_id: virtio vendor id
 * @device_id: virtio device id
 * @device_features: features offered
 * @vq_num: number of virtqueues
 * @vq_align: ring alignment
 * @vqs: the virtqueues
 * @domain: the IOVA domain the vdpa device's DMA goes through
 * @drain_work: fails in-flight requests once the device is broken
 * @drain_told: queues whose failed requests @drain_work has reported since
 *		the device was last attached (it reports each queue once)
 * @unbind_watchdog: breaks the device if a bus driver's unbinding goes on
 *		     for msg_timeout without a sign of life from the daemon
 * @alive: jiffies of the daemon's last answer or injected interrupt, or
 *	   of the start of an unbinding
 * @lock: protects @driver_features, @status, @config and @generation;
 *	  never held while waiting for the daemon
 * @driver_features: features the driver accepted
 * @status: device status byte
 * @config_size: size of @config
 * @config: config space
 * @generation: config generation, bumped on each VDUSE_DEV_SET_CONFIG
 * @config_cb_lock: protects @config_cb and is held while it runs
 * @config_cb: the driver's config change handler
 * @msg_lock: protects @send_list, @recv_list, @msg_unique, @connected,
 *	      @broken, @broken_told and every queued message's completion
 * @send_list: requests the daemon has not read yet
 * @recv_list: requests read and waiting for their response
 * @waitq: the daemon waits here for requests
 * @msg_unique: next request id
 * @connected: a daemon has /dev/vduse/@name open
 * @broken: the daemon died or failed to answer in time; requests fail at
 *	    once and in-flight I/O is failed by @drain_work
 * @broken_told: a read() has returned EIO for @broken; poll() stops
 *		 reporting EPOLLERR, so the daemon neither spins on it nor
 *		 sleeps in read() unaware
 * @vdev: the attached vdpa device or NULL (protected by vduse_lock)
 * @iotlb: the table set_map installed (vhost-vdpa), see vduse_iotlb.c
 * @umem_lock: protects @umem (see vduse_umem.c)
 * @umem: the daemon's memory backing the bounce region, or NULL
 */
struct vduse_dev {
	char *name;
	int minor;
	struct device *node;
	u64 api_version;
	u32 vendor_id;
	u32 device_id;
	u64 device_features;
	u32 vq_num;
	u32 vq_align;
	struct vduse_vq *vqs;
	struct vduse_domain *domain;
	struct work_struct drain_work;
	unsigned long *drain_told;
	struct delayed_work unbind_watchdog;
	unsigned long alive;

	/* features, status, config space; never held across a request */
	struct mutex lock;
	u64 driver_features;
	u8 status;
	u32 config_size;
	u8 *config;
	u32 generation;

	/* @config_cb, held while it runs */
	spinlock_t config_cb_lock;
	struct vdpa_callback config_cb;

	/* the request lists, @connected, @broken and @broken_told */
	spinlock_t msg_lock;
	struct list_head send_list;
	struct list_head recv_list;
	wait_queue_head_t waitq;
	u32 msg_unique;
	bool connected;
	bool broken;
	bool broken_told;

	struct vduse_vdpa *vdev;
	struct vduse_iotlb iotlb;

	/* @umem; taken before vduse_lock */
	struct mutex umem_lock;
	struct vduse_umem *umem;
};

/**
 * struct vduse_vdpa - the vdpa device of an attached VDUSE device
 * @vdpa: the vdpa device; its struct device carries vduse_dma_ops
 * @dev: the VDUSE device; valid while registered (dev_del detaches it
 *	 before the VDUSE device may be destroyed)
 */
struct vduse_vdpa {
	struct vdpa_device vdpa;
	struct vduse_dev *dev;
};

void vduse_vq_track(struct vduse_dev *dev, struct vduse_vq *vq);
void vduse_vq_reset_tracking(struct vduse_vq *vq);
void vduse_drain_work(struct work_struct *work);
void vduse_vq_call_driver(struct vduse_vq *vq);
void vduse_vq_kick_work(struct work_struct *work);
void vduse_cancel_vq_work(struct vduse_dev *dev);

int vduse_send_update_iotlb(struct vduse_dev *dev, u64 start, u64 last);

void vduse_iotlb_init(struct vduse_dev *dev);
int vduse_iotlb_set_map(struct vduse_dev *dev, struct vhost_iotlb *iotlb);
void vduse_iotlb_clear(struct vduse_dev *dev);
long vduse_iotlb_table_get_fd(struct vduse_dev *dev,
			      struct vduse_iotlb_entry *entry,
			      void __user *argp);
int vduse_iotlb_table_get_info(struct vduse_dev *dev,
			       struct vduse_iova_info *info);

int vduse_umem_reg(struct vduse_dev *dev, const struct vduse_iova_umem *req);
int vduse_umem_dereg(struct vduse_dev *dev, u64 iova, u64 size);

/* The rings are in a vhost-vdpa client's memory, out of the kernel's reach. */
static inline bool vduse_iotlb_active(struct vduse_dev *dev)
{
	return READ_ONCE(dev->iotlb.active);
}

#endif /* _VDUSE_H */
