/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-vdpa: private structures shared by the char device code
 * (vhost_vdpa_main.c) and the virtqueue code (vhost_vdpa_vring.c).
 */
#ifndef _VHOST_VDPA_H
#define _VHOST_VDPA_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/irqbypass.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/rwsem.h>
#include <linux/types.h>
#include <linux/wait.h>

struct eventfd_ctx;
struct file;
struct mm_struct;
struct vdpa_device;
struct vhost_memory;
struct vhost_vdpa;
struct vhost_vdpa_dma;

/**
 * struct vhost_vdpa_eventfd - an eventfd the parent's callbacks signal
 * @ctx: the eventfd context; this wrapper holds one reference to it
 * @rcu: frees the wrapper and drops @ctx once no callback can see it
 *
 * Callbacks may run on any CPU at any time, so the pointer to this wrapper
 * is published with RCU and a replaced wrapper is released only after a
 * grace period.
 */
struct vhost_vdpa_eventfd {
	struct eventfd_ctx *ctx;
	struct rcu_head rcu;
};

/**
 * struct vhost_vdpa_vq - vhost state of one virtqueue
 * @v: the device this virtqueue belongs to
 * @index: absolute virtqueue index
 * @kick_file: eventfd file polled for kicks, or NULL; holds a reference
 * @kick_wqh: wait queue @kick_wait sits on, NULL when not polling
 * @kick_wait: wait-queue entry whose wake function calls kick_vq
 * @kick_pt: poll table used once, to find @kick_wqh
 * @call: eventfd signalled by the used-buffer callback (RCU, see above)
 * @err_ctx: error eventfd, stored but never signalled
 * @producer: irq bypass producer (token = @call's ctx), during DRIVER_OK
 * @producer_registered: @producer is registered
 * @busyloop_timeout: VHOST_SET_VRING_BUSYLOOP_TIMEOUT value (unused)
 * @desc_addr: descriptor area of the last accepted VHOST_SET_VRING_ADDR
 * @avail_addr: driver area of it
 * @used_addr: device area of it
 * @saved_base: VHOST_GET_VRING_BASE's answer, kept at a reset while
 *		logging, valid if @base_saved
 * @base_saved: @saved_base is what VHOST_GET_VRING_BASE answers, until the
 *		next VHOST_SET_VRING_BASE of this queue or DRIVER_OK
 *
 * Everything is protected by the device mutex, except that @call is also
 * read under RCU by the parent's callback, and @kick_wait is used by the
 * eventfd's wake-up under the eventfd's wait-queue lock.
 */
struct vhost_vdpa_vq {
	struct vhost_vdpa *v;
	u16 index;
	struct file *kick_file;
	wait_queue_head_t *kick_wqh;
	wait_queue_entry_t kick_wait;
	poll_table kick_pt;
	struct vhost_vdpa_eventfd __rcu *call;
	struct eventfd_ctx *err_ctx;
	struct irq_bypass_producer producer;
	bool producer_registered;
	u32 busyloop_timeout;
	u64 desc_addr;
	u64 avail_addr;
	u64 used_addr;
	u32 saved_base;
	bool base_saved;
};

/**
 * struct vhost_vdpa - one /dev/vhost-vdpa-N
 * @dev: the char device; its reference count keeps this structure alive
 *	 (one reference held by the vdpa device binding, one per open file)
 * @cdev: character device
 * @mutex: serialises open, release, remove, ioctls and writes; protects
 *	   every field below unless noted
 * @revoke_sem: held for reading by mmap and page faults (which must not
 *	   take @mutex: it nests outside mmap_lock), for writing by remove
 *	   when it clears @vdpa
 * @vdpa: the vdpa device; NULL once the device was removed (revoked).
 *	   Written under both @mutex and @revoke_sem.
 * @minor: char device minor, from a private IDA
 * @nvqs: number of virtqueues (constant)
 * @vqs: per-virtqueue state, @nvqs entries
 * @opened: a file is open (the device is exclusive)
 * @mapping: address space of the open file, for zapping doorbell mappings
 * @owner_mm: the owner's mm (mmgrab'd), NULL without an owner
 * @mm_bound: bind_mm succeeded for @owner_mm (use_va parents)
 * @dma: DMA (IOTLB) state of the open file
 * @acked_features: driver features accepted at the last SET_FEATURES
 * @backend_features: acked VHOST_BACKEND_F_* mask
 * @suspended: SUSPEND succeeded and neither RESUME nor a reset followed
 * @config_call: eventfd of the config callback (RCU, like vq calls)
 * @mem_table: last SET_MEM_TABLE (stored, never used)
 * @log_all: VHOST_F_LOG_ALL is acked (cleared by a reset)
 * @log_base: VHOST_SET_LOG_BASE value, valid if @log_base_set
 * @log_base_set: the owner gave a log base
 * @log_ctx: VHOST_SET_LOG_FD eventfd, or NULL; one reference
 * @log_active: the parent holds a log (set_log) built from the above
 * @can_log: this open file offers VHOST_F_LOG_ALL: the parent has set_log
 *	     and the dirty_log parameter was on when the file was opened
 */
struct vhost_vdpa {
	struct device dev;
	struct cdev cdev;
	struct mutex mutex; /* serialises file ops and remove, see above */
	struct rw_semaphore revoke_sem;
	struct vdpa_device *vdpa;
	unsigned int minor;
	u32 nvqs;
	struct vhost_vdpa_vq *vqs;
	bool opened;
	struct address_space *mapping;
	struct mm_struct *owner_mm;
	bool mm_bound;
	struct vhost_vdpa_dma *dma;
	u64 acked_features;
	u64 backend_features;
	bool suspended;
	struct vhost_vdpa_eventfd __rcu *config_call;
	struct vhost_memory *mem_table;
	bool log_all;
	u64 log_base;
	bool log_base_set;
	struct eventfd_ctx *log_ctx;
	bool log_active;
	bool can_log;
};

/* vhost_vdpa_vring.c */
struct vhost_vdpa_eventfd *vhost_vdpa_eventfd_get(int fd);
void vhost_vdpa_eventfd_put(struct vhost_vdpa_eventfd *efd);
long vhost_vdpa_vring_ioctl(struct vhost_vdpa *v, unsigned int cmd,
			    void __user *argp);
void vhost_vdpa_vq_init(struct vhost_vdpa *v, u16 index);
void vhost_vdpa_save_bases(struct vhost_vdpa *v);
void vhost_vdpa_forget_bases(struct vhost_vdpa *v);
void vhost_vdpa_vq_reinstall_cb(struct vhost_vdpa *v, u16 index);
void vhost_vdpa_vq_cleanup(struct vhost_vdpa *v, u16 index);
void vhost_vdpa_vq_stop_kick(struct vhost_vdpa *v, u16 index);
void vhost_vdpa_setup_irq(struct vhost_vdpa *v, u16 index);
void vhost_vdpa_unsetup_irq(struct vhost_vdpa *v, u16 index);

#endif /* _VHOST_VDPA_H */
