/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vDPA device simulator: the API between the simulator core (vdpa_sim.ko)
 * and the device classes built on it (vdpa_sim_net.ko, later blk).
 *
 * The core implements the whole &vdpa_config_ops for a generic device with
 * split virtqueues, its own per-address-space translation (PA mode) and a
 * data-path worker.  A class describes its device with &vdpasim_dev_attr,
 * creates instances with vdpasim_create() and serves its queues from the
 * &vdpasim_dev_attr.work hook with the vdpasim_vq_*() helpers below and the
 * chain accessors of sim_ring.h.  Address spaces translate through tables
 * (vhost-vdpa) or as the identity (in-kernel DMA API drivers: virtio_vdpa);
 * classes never see the difference.
 */
#ifndef _VDPA_SIM_H
#define _VDPA_SIM_H

#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/vdpa.h>
#include <linux/workqueue.h>
#include <uapi/linux/virtio_config.h>

#include "sim_ring.h"

struct dentry;
struct vdpasim;
struct vdpasim_dirty;

/* Size limits the core enforces for every class. */
#define VDPASIM_VQ_NUM_MAX	256
#define VDPASIM_VQ_NAME_LEN	32

/* Transport features every simulated device offers and the driver must accept. */
#define VDPASIM_BASE_FEATURES	(BIT_ULL(VIRTIO_F_ANY_LAYOUT) | \
				 BIT_ULL(VIRTIO_F_VERSION_1) | \
				 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM))

/**
 * struct vdpasim_dev_attr - what a device class says about one new device
 * @mgmt_dev: management device creating it
 * @name: vdpa device name chosen by the user
 * @alloc_size: size of the class structure, which embeds &struct vdpasim
 *		as its first member
 * @id: virtio device id
 * @features: device features offered to the driver (must contain
 *	      VDPASIM_BASE_FEATURES' VERSION_1 and ACCESS_PLATFORM)
 * @nvqs: number of virtqueues
 * @ngroups: number of virtqueue groups (at least 1)
 * @nas: number of address spaces (at least 1)
 * @config_size: size of the device config space in bytes
 * @get_config: fill the whole config image (@config_size bytes)
 * @set_config: apply a driver write of @len bytes at @offset (already
 *		bounds-checked); bytes the class does not accept are dropped
 * @start: set up what the data path needs, at the first DRIVER_OK (so a
 *	   device nobody drives costs no data-path memory), optional; an
 *	   error sets NEEDS_RESET and the data path does not start (the
 *	   driver may reset and try again)
 * @work: serve the queues for one pass; return true if the budget ran out
 *	  and another pass is needed
 * @get_vq_group: group of virtqueue @idx (< @nvqs); must return < @ngroups
 *		  and never change (called once, at creation)
 * @get_vq_stats: fill the counters of virtqueue @idx (< @nvqs), optional
 * @reset: return class state to power-on values (device reset), optional
 * @free: release class resources, optional; runs once, from
 *	  vdpasim_unregister() or when creation fails part way (so it must
 *	  cope with zeroed class fields); no hook runs after it
 *
 * @get_config, @set_config, @start, @work, @get_vq_stats and @reset run with
 * &vdpasim.lock held: they may use device and queue state freely and must
 * not sleep for long.
 */
struct vdpasim_dev_attr {
	struct vdpa_mgmt_dev *mgmt_dev;
	const char *name;
	size_t alloc_size;
	u32 id;
	u64 features;
	u32 nvqs;
	unsigned int ngroups;
	unsigned int nas;
	size_t config_size;

	void (*get_config)(struct vdpasim *sim, void *config);
	void (*set_config)(struct vdpasim *sim, unsigned int offset,
			   const void *buf, unsigned int len);
	int (*start)(struct vdpasim *sim);
	bool (*work)(struct vdpasim *sim);
	u32 (*get_vq_group)(struct vdpasim *sim, u16 idx);
	int (*get_vq_stats)(struct vdpasim *sim, u16 idx,
			    struct vdpa_vq_stats *stats,
			    struct netlink_ext_ack *extack);
	void (*reset)(struct vdpasim *sim);
	void (*free)(struct vdpasim *sim);
};

/**
 * struct vdpasim_vq - one simulated virtqueue
 * @ring: ring engine state; its configuration is loaded from the fields
 *	  below when the queue becomes ready
 * @desc_addr: descriptor area IOVA as last set by the driver
 * @driver_addr: driver (avail) area IOVA
 * @device_addr: device (used) area IOVA
 * @num: queue size as last set by the driver (not validated until ready)
 * @group: virtqueue group (fixed by the class)
 * @ready: the driver enabled the queue
 * @used_pending: entries were pushed since the last interrupt decision
 * @cb: used-buffer interrupt handler
 * @name: "<device>-vq<idx>", for log messages
 */
struct vdpasim_vq {
	struct vdpasim_ring ring;
	u64 desc_addr;
	u64 driver_addr;
	u64 device_addr;
	u32 num;
	u32 group;
	bool ready;
	bool used_pending;
	struct vdpa_callback cb;
	char name[VDPASIM_VQ_NAME_LEN];
};

/**
 * struct vdpasim - a simulated vDPA device (core part)
 * @vdpa: the vdpa device; must stay the first member
 * @dev_attr: copy of the class description
 * @lock: protects everything below that the worker and the vdpa ops
 *	  share: status, features, @suspended, @vqs, @group_asid, @iotlb,
 *	  @as_identity (the
 *	  translation copies: the worker reads them while vhost-vdpa edits
 *	  them), the config image and the class's device state and counters.
 *	  A mutex: all users run in process context (passes run in a kworker
 *	  or the device thread), and set_map may rebuild large tables;
 *	  kick_vq, the only atomic op, does not take it.
 * @worker: dedicated data-path thread of this device; NULL until the
 *	    first DRIVER_OK, set once under @lock, read locklessly
 * @work: the data-path pass queued on @worker
 * @kick_work: a data-path pass on the workqueue of the CPU that kicked
 *	       (see vdpasim_schedule_work())
 * @on_thread: passes go to @worker until one of its passes neither
 *	       spends the budget nor sees a kick; written by the passes, read
 *	       locklessly
 * @thread_kicked: a kick went to @worker since its current pass started
 * @vqs: @dev_attr.nvqs virtqueues
 * @iotlb: per-address-space translation copies (@dev_attr.nas entries)
 * @as_identity: per address space: translate as the identity (DMA address
 *		 = physical address) instead of @iotlb, which is then empty
 * @group_asid: address space each virtqueue group is attached to
 * @iotlb_limit: entry cap of each translation copy
 * @config: config space image, filled by &vdpasim_dev_attr.get_config
 * @features: accepted driver features
 * @status: virtio device status byte
 * @suspended: stopped by the suspend op; cleared by resume and reset
 * @removed: unregistered: the class is detached, the data path is off
 * @generation: config generation, bumped by reset
 * @debugfs: this device's debugfs directory, or NULL/error
 * @fail_map: debugfs: fail this many next set_map, set_map_add,
 *	      set_map_remove or dma_map calls
 * @fail_config_write: debugfs: ignore this many next config writes
 * @stall: debugfs: the data path does nothing while set
 * @drop_used: debugfs: this many next completions publish no used entry
 * @corrupt_used: debugfs: this many next completions publish id = queue
 *		  size (out of range) and len = U32_MAX
 * @ring_errors: debugfs: malformed-ring events seen by the data path
 * @kicker_passes: debugfs: passes run on the kicking CPU's workqueue
 * @thread_passes: debugfs: passes run on @worker
 * @dirty: ranges the data path wrote since the last flush; allocated at
 *	   the first set_log, the rings point at it only while logging
 * @log: the client's dirty log (set_log); valid while @logging
 * @logging: set_log installed @log
 * @log_errors: debugfs: log bytes that could not be written (unmapped,
 *		read-only, beyond the address space) or address space gone
 */
struct vdpasim {
	struct vdpa_device vdpa;
	struct vdpasim_dev_attr dev_attr;
	struct mutex lock; /* device, queue and translation state; see above */
	struct kthread_worker *worker;
	struct kthread_work work;
	struct work_struct kick_work;
	bool on_thread;
	bool thread_kicked;
	struct vdpasim_vq *vqs;
	struct vhost_iotlb **iotlb;
	bool *as_identity;
	u32 *group_asid;
	unsigned int iotlb_limit;
	void *config;
	u64 features;
	u8 status;
	bool suspended;
	bool removed;
	u32 generation;
	struct dentry *debugfs;
	u32 fail_map;
	u32 fail_config_write;
	bool stall;
	u32 drop_used;
	u32 corrupt_used;
	u64 ring_errors;
	u64 kicker_passes;
	u64 thread_passes;
	struct vdpasim_dirty *dirty;
	struct vdpa_dirty_log log;
	bool logging;
	u64 log_errors;
};

static inline struct vdpasim *vdpa_to_sim(struct vdpa_device *vdpa)
{
	return container_of(vdpa, struct vdpasim, vdpa);
}

struct vdpasim *vdpasim_create(const struct vdpasim_dev_attr *attr,
			       struct netlink_ext_ack *extack);
int vdpasim_register(struct vdpasim *sim);
void vdpasim_unregister(struct vdpasim *sim);
void vdpasim_put(struct vdpasim *sim);
void vdpasim_schedule_work(struct vdpasim *sim);

bool vdpasim_vq_usable(struct vdpasim *sim, u16 idx);
int vdpasim_vq_fetch(struct vdpasim *sim, u16 idx, struct vdpasim_chain *chain);
void vdpasim_vq_unfetch(struct vdpasim *sim, u16 idx);
int vdpasim_vq_push(struct vdpasim *sim, u16 idx, u16 head, u32 len);

/* The ring of virtqueue @idx, for the chain accessors of sim_ring.h. */
static inline struct vdpasim_ring *vdpasim_vq_ring(struct vdpasim *sim,
						   u16 idx)
{
	return &sim->vqs[idx].ring;
}

/* Whether the driver accepted feature @bit; caller holds @sim->lock. */
static inline bool vdpasim_has_feature(const struct vdpasim *sim,
				       unsigned int bit)
{
	return sim->features & BIT_ULL(bit);
}

#endif /* _VDPA_SIM_H */
