/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vDPA in-kernel API: the contract between the vdpa core, the parent
 * (vendor) drivers that create vDPA devices, and the bus drivers
 * (vhost_vdpa, virtio_vdpa) that expose them.
 *
 * This header is the project's own; it shadows the one shipped in distro
 * kernel headers (see the Kbuild file).  Documentation/driver-api/vdpa.rst
 * describes how to use it.
 */
#ifndef _LINUX_VDPA_H
#define _LINUX_VDPA_H

#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/if_ether.h>
#include <linux/mod_devicetable.h>
#include <linux/netlink.h>
#include <linux/rwsem.h>
#include <linux/types.h>

struct eventfd_ctx;
struct vhost_iotlb;
struct mm_struct;

/**
 * struct vdpa_callback - a virtqueue or config interrupt handler
 * @callback: called by the parent when the event fires; may be NULL
 * @private: argument for @callback
 * @trigger: optional eventfd_ctx the parent may signal itself instead of
 *	     calling @callback (fast path); NULL when unavailable
 */
struct vdpa_callback {
	irqreturn_t (*callback)(void *private);
	void *private;
	struct eventfd_ctx *trigger;
};

/**
 * struct vdpa_notification_area - a doorbell the client may map
 * @addr: physical address of the doorbell
 * @size: size of the doorbell area in bytes
 */
struct vdpa_notification_area {
	resource_size_t addr;
	resource_size_t size;
};

/**
 * struct vdpa_vq_state_split - split virtqueue position
 * @avail_index: next available index the device will read
 */
struct vdpa_vq_state_split {
	u16 avail_index;
};

/**
 * struct vdpa_vq_state_packed - packed virtqueue position
 * @last_avail_counter: wrap counter of @last_avail_idx
 * @last_avail_idx: next descriptor the device will read
 * @last_used_counter: wrap counter of @last_used_idx
 * @last_used_idx: next used slot the device will write
 */
struct vdpa_vq_state_packed {
	u16 last_avail_counter:1;
	u16 last_avail_idx:15;
	u16 last_used_counter:1;
	u16 last_used_idx:15;
};

/** struct vdpa_vq_state - virtqueue position, split or packed */
struct vdpa_vq_state {
	union {
		struct vdpa_vq_state_split split;
		struct vdpa_vq_state_packed packed;
	};
};

/**
 * struct vdpa_iova_range - the IOVA window a device can translate
 * @first: first usable IOVA
 * @last: last usable IOVA (inclusive)
 */
struct vdpa_iova_range {
	u64 first;
	u64 last;
};

/** Most statistics one virtqueue may report through vdpa_config_ops.get_vq_stats. */
#define VDPA_VQ_STATS_MAX	16

/**
 * struct vdpa_vq_stats - per-virtqueue counters reported to management
 * @count: number of valid entries in @name and @value
 * @name: counter names (static strings, e.g. "rx packets")
 * @value: counter values
 *
 * The core turns these into VDPA_ATTR_DEV_VENDOR_ATTR_NAME/VALUE pairs, so
 * parents never build netlink messages themselves.
 */
struct vdpa_vq_stats {
	unsigned int count;
	const char *name[VDPA_VQ_STATS_MAX];
	u64 value[VDPA_VQ_STATS_MAX];
};

/* A dirty log has one bit per 4 KiB of IOVA, whatever PAGE_SIZE is. */
#define VDPA_DIRTY_LOG_PAGE_SHIFT	12

/**
 * struct vdpa_dirty_log - where a parent records the memory it writes
 * @mm: address space of the bitmap (the bus driver's client).  The bus
 *	driver keeps it grabbed (mmgrab) until set_log replaced or removed
 *	the log; the parent takes mm_users (mmget_not_zero) around each use
 *	and gives up quietly once the address space is gone
 * @base: user address of the bitmap in @mm: the bit of IOVA page N
 *	(IOVA >> VDPA_DIRTY_LOG_PAGE_SHIFT) is bit N % 8 of byte @base + N / 8
 *	(vhost's layout).  Unchecked: it comes from the client, who may point
 *	it anywhere; a byte that cannot be written is an error of the log,
 *	never of the kernel
 * @notify: eventfd to signal after setting bits, or NULL; like @mm, the
 *	bus driver holds it until the log is replaced or removed
 */
struct vdpa_dirty_log {
	struct mm_struct *mm;
	u64 base;
	struct eventfd_ctx *notify;
};

struct vdpa_mgmt_dev;

/**
 * struct vdpa_map_file - what a VA mode IOTLB entry maps
 * @file: the file behind the user memory (a reference held by the entry)
 * @offset: offset in @file of the entry's first byte
 *
 * For use_va parents the bus driver sets the opaque of each vhost_iotlb
 * entry it hands over (set_map) or the @opaque of dma_map to one of these;
 * the entry's addr is the user virtual address.  It belongs to the bus
 * driver: a parent keeping the file beyond the call takes its own
 * reference (get_file()).
 */
struct vdpa_map_file {
	struct file *file;
	u64 offset;
};

/**
 * struct vdpa_device - a vDPA device on the vdpa bus
 * @dev: driver-model device; its name is the vdpa device name
 * @dma_dev: device used for DMA mapping (the parent's PCI function, or
 *	     @dev itself for software devices)
 * @ops: the parent's operations
 * @mdev: management device that created this device; NULL when the parent
 *	  registered it on its own (such devices cannot be deleted by users)
 * @cf_lock: serialises config space access against feature negotiation
 *	     and reset: readers are config reads, writers are config writes,
 *	     feature setting and status changes made through the core helpers
 * @index: unique device index (also the default name suffix)
 * @nvqs: number of virtqueues
 * @ngroups: number of virtqueue groups
 * @nas: number of address spaces
 * @features_valid: driver features were set since the last reset
 * @use_va: the parent translates user virtual addresses itself (no pinning)
 * @unsafe_noiommu: DMA reaches physical memory untranslated and unchecked
 *		    (see &vdpa_alloc_params.unsafe_noiommu); read it with
 *		    vdpa_is_unsafe_noiommu()
 * @driver_override: name of the only bus driver allowed to bind, or NULL;
 *		     set through sysfs, owned by the core (freed on release)
 * @deleting: core-private: a user's ``vdpa dev del`` is detaching the bus
 *	      driver; no bus driver may bind any more
 * @name_node: core-private: entry in the core's index of registered
 *	       devices by name
 *
 * Allocated with vdpa_alloc_device(), freed by the last put_device(), at
 * which point the parent's &vdpa_config_ops.free runs.
 */
struct vdpa_device {
	struct device dev;
	struct device *dma_dev;
	const struct vdpa_config_ops *ops;
	struct vdpa_mgmt_dev *mdev;
	struct rw_semaphore cf_lock;
	unsigned int index;
	u32 nvqs;
	unsigned int ngroups;
	unsigned int nas;
	bool features_valid;
	bool use_va;
	bool unsafe_noiommu;
	const char *driver_override;
	bool deleting;
	struct hlist_node name_node;
};

/**
 * struct vdpa_config_ops - operations a parent implements
 *
 * Virtqueue operations (@idx is the absolute virtqueue index, < nvqs):
 * @set_vq_address: set the descriptor, driver (avail) and device (used)
 *	area addresses; they are IOVAs in the vq's address space
 * @set_vq_num: set the queue size
 * @kick_vq: the driver made buffers available; may run in atomic context
 * @set_vq_cb: install the used-buffer interrupt handler
 * @set_vq_ready: enable (true) or disable the virtqueue
 * @get_vq_ready: whether the virtqueue is enabled
 * @set_vq_state: restore the queue position
 * @get_vq_state: read the queue position (works while running and after
 *	suspend); optional: absent means -EOPNOTSUPP
 * @get_vq_notification: doorbell of the vq, optional (for mmap)
 * @get_vq_irq: Linux irq of the vq for irq bypass, optional; < 0 if none
 * @get_vq_size: the queue size currently in use, optional
 * @get_vq_group: group the vq belongs to (< ngroups), optional
 * @get_vq_desc_group: group of the vq's descriptor table, optional
 * @get_vq_stats: fill per-vq counters, optional; @extack for errors
 *
 * Device operations:
 * @get_vq_align: required alignment of the vq areas
 * @get_vq_num_max: largest supported queue size
 * @get_vq_num_min: smallest supported queue size, optional (default 1)
 * @get_device_features: features offered by the device
 * @get_backend_features: vhost backend feature bits the parent adds,
 *	optional
 * @set_driver_features: accept features; returns -EINVAL if refused
 * @get_driver_features: the accepted features
 * @set_config_cb: install the config change handler
 * @get_device_id: virtio device id
 * @get_vendor_id: virtio vendor id
 * @get_status: device status byte
 * @set_status: set the device status byte (a non-zero value)
 * @reset: reset the device; returns 0 or a negative errno.  A successful
 *	reset also drops every translation set_map or dma_map installed:
 *	bus drivers unpin the memory behind them once it returns 0
 * @suspend: stop processing, keeping state; optional
 * @resume: continue after @suspend; optional
 * @get_config_size: size of the device config space
 * @get_config: read config space (bounds are checked by the core)
 * @set_config: write config space (bounds are checked by the core)
 * @get_generation: config generation counter, optional
 * @get_iova_range: usable IOVA window, optional (default [0, U64_MAX])
 * @set_group_asid: attach a vq group to an address space; the core has
 *	checked group < ngroups and asid < nas; optional
 *
 * DMA operations, for parents with their own translation (all optional;
 * a parent with none of them uses the platform IOMMU of @dma_dev):
 * @set_map: replace the whole translation of address space @asid with
 *	@iotlb; on error the previous translation must stay in force
 * @set_map_add: set_map parents, optional (with @set_map_remove): add one
 *	translation [iova, iova+size-1] -> pa to the table of @asid.  Called
 *	only while that table is the last one set_map accepted plus the
 *	changes made since by these two ops (no reset in between), and never
 *	for a range overlapping one of its entries.  On error the table is
 *	unchanged
 * @set_map_remove: remove from the table of @asid the entry
 *	[iova, iova+size-1] that set_map or @set_map_add installed; when it
 *	returns 0 the device can no longer reach the range (bus drivers unpin
 *	it at once); on error it may still, so its memory stays pinned
 * @reset_map: return address space @asid to its default translation
 * @dma_map: add one translation [iova, iova+size-1] -> pa
 * @dma_unmap: remove translations in [iova, iova+size-1]; on error the
 *	range may still be translated, so bus drivers keep its memory pinned
 * @bind_mm: use_va parents: translate through @mm from now on
 * @unbind_mm: use_va parents: stop using the bound mm
 *
 * Dirty-page logging (optional; bus drivers offer VHOST_F_LOG_ALL only to
 * clients of parents that have it):
 * @set_log: from now on set, in @log's bitmap, the bit of every IOVA page
 *	the device writes (used rings and device-writable buffers); @log is
 *	copied.  NULL stops logging.  Replacing or removing a log returns only
 *	once every write the device made before the call is in the old
 *	bitmap and the parent no longer touches the old mm or eventfd; a
 *	@reset or @suspend returns only once the writes made before it are
 *	in the bitmap.  The log survives a reset: the bus driver removes it
 *	when it wants to.  Sleeps
 *
 * @free: release parent resources; called once from the device release
 */
struct vdpa_config_ops {
	int (*set_vq_address)(struct vdpa_device *vdev, u16 idx, u64 desc_area,
			      u64 driver_area, u64 device_area);
	void (*set_vq_num)(struct vdpa_device *vdev, u16 idx, u32 num);
	void (*kick_vq)(struct vdpa_device *vdev, u16 idx);
	void (*set_vq_cb)(struct vdpa_device *vdev, u16 idx,
			  struct vdpa_callback *cb);
	void (*set_vq_ready)(struct vdpa_device *vdev, u16 idx, bool ready);
	bool (*get_vq_ready)(struct vdpa_device *vdev, u16 idx);
	int (*set_vq_state)(struct vdpa_device *vdev, u16 idx,
			    const struct vdpa_vq_state *state);
	int (*get_vq_state)(struct vdpa_device *vdev, u16 idx,
			    struct vdpa_vq_state *state);
	struct vdpa_notification_area
		(*get_vq_notification)(struct vdpa_device *vdev, u16 idx);
	int (*get_vq_irq)(struct vdpa_device *vdev, u16 idx);
	u16 (*get_vq_size)(struct vdpa_device *vdev, u16 idx);
	u32 (*get_vq_group)(struct vdpa_device *vdev, u16 idx);
	u32 (*get_vq_desc_group)(struct vdpa_device *vdev, u16 idx);
	int (*get_vq_stats)(struct vdpa_device *vdev, u16 idx,
			    struct vdpa_vq_stats *stats,
			    struct netlink_ext_ack *extack);

	u32 (*get_vq_align)(struct vdpa_device *vdev);
	u16 (*get_vq_num_max)(struct vdpa_device *vdev);
	u16 (*get_vq_num_min)(struct vdpa_device *vdev);
	u64 (*get_device_features)(struct vdpa_device *vdev);
	u64 (*get_backend_features)(const struct vdpa_device *vdev);
	int (*set_driver_features)(struct vdpa_device *vdev, u64 features);
	u64 (*get_driver_features)(struct vdpa_device *vdev);
	void (*set_config_cb)(struct vdpa_device *vdev,
			      struct vdpa_callback *cb);
	u32 (*get_device_id)(struct vdpa_device *vdev);
	u32 (*get_vendor_id)(struct vdpa_device *vdev);
	u8 (*get_status)(struct vdpa_device *vdev);
	void (*set_status)(struct vdpa_device *vdev, u8 status);
	int (*reset)(struct vdpa_device *vdev);
	int (*suspend)(struct vdpa_device *vdev);
	int (*resume)(struct vdpa_device *vdev);
	size_t (*get_config_size)(struct vdpa_device *vdev);
	void (*get_config)(struct vdpa_device *vdev, unsigned int offset,
			   void *buf, unsigned int len);
	void (*set_config)(struct vdpa_device *vdev, unsigned int offset,
			   const void *buf, unsigned int len);
	u32 (*get_generation)(struct vdpa_device *vdev);
	struct vdpa_iova_range (*get_iova_range)(struct vdpa_device *vdev);
	int (*set_group_asid)(struct vdpa_device *vdev, unsigned int group,
			      unsigned int asid);

	int (*set_map)(struct vdpa_device *vdev, unsigned int asid,
		       struct vhost_iotlb *iotlb);
	int (*set_map_add)(struct vdpa_device *vdev, unsigned int asid,
			   u64 iova, u64 size, u64 pa, u32 perm);
	int (*set_map_remove)(struct vdpa_device *vdev, unsigned int asid,
			      u64 iova, u64 size);
	int (*reset_map)(struct vdpa_device *vdev, unsigned int asid);
	int (*dma_map)(struct vdpa_device *vdev, unsigned int asid, u64 iova,
		       u64 size, u64 pa, u32 perm, void *opaque);
	int (*dma_unmap)(struct vdpa_device *vdev, unsigned int asid, u64 iova,
			 u64 size);
	int (*bind_mm)(struct vdpa_device *vdev, struct mm_struct *mm);
	void (*unbind_mm)(struct vdpa_device *vdev);
	int (*set_log)(struct vdpa_device *vdev,
		       const struct vdpa_dirty_log *log);

	void (*free)(struct vdpa_device *vdev);
};

/**
 * struct vdpa_alloc_params - what a parent says about a new device
 * @parent: parent device in the device tree, or NULL (software devices)
 * @dma_dev: DMA device, or NULL to use the vdpa device itself
 * @ops: operations table (required)
 * @ngroups: number of virtqueue groups (at least 1)
 * @nas: number of address spaces (at least 1)
 * @name: device name, or NULL for "vdpa%u"
 * @use_va: the parent works on user virtual addresses
 * @unsafe_noiommu: no IOMMU stands between the device and memory: the
 *		    addresses a bus driver's client installs (dma_map) reach
 *		    physical memory as they are, so whoever drives the device
 *		    can read and write all of memory.  Bus drivers that hand
 *		    the device to userspace must then demand CAP_SYS_RAWIO
 *		    and taint the kernel, as VFIO's no-IOMMU mode does.
 */
struct vdpa_alloc_params {
	struct device *parent;
	struct device *dma_dev;
	const struct vdpa_config_ops *ops;
	unsigned int ngroups;
	unsigned int nas;
	const char *name;
	bool use_va;
	bool unsafe_noiommu;
};

struct vdpa_device *__vdpa_alloc_device(size_t size,
					const struct vdpa_alloc_params *params);

/**
 * vdpa_alloc_device - allocate a parent structure embedding a vdpa device
 * @type: the parent's device structure type
 * @member: name of its struct vdpa_device member, which must come first
 * @params: &struct vdpa_alloc_params
 *
 * Returns a pointer to @type, or an ERR_PTR.  Before registration, undo
 * with put_device(&vdev->dev), which calls &vdpa_config_ops.free.
 */
#define vdpa_alloc_device(type, member, params)				\
	((type *)__vdpa_alloc_device(sizeof(type) +			\
				     BUILD_BUG_ON_ZERO(offsetof(type, member)), \
				     params))

int vdpa_register_device(struct vdpa_device *vdev, u32 nvqs);
void vdpa_unregister_device(struct vdpa_device *vdev);

/**
 * vdpa_is_unsafe_noiommu - the device DMAs to physical memory unchecked
 * @vdev: the vdpa device
 *
 * Set by the parent at allocation (&vdpa_alloc_params.unsafe_noiommu) and
 * constant for the life of the device.
 *
 * Return: true if a client of the device gets raw physical DMA.
 */
static inline bool vdpa_is_unsafe_noiommu(const struct vdpa_device *vdev)
{
	return vdev->unsafe_noiommu;
}

/*
 * The same, for use from &vdpa_mgmtdev_ops callbacks only: the core already
 * holds its device lock when it calls them.
 */
int vdpa_mgmt_register_device(struct vdpa_device *vdev, u32 nvqs);
void vdpa_mgmt_unregister_device(struct vdpa_device *vdev);

/**
 * struct vdpa_driver - a vdpa bus driver (vhost_vdpa, virtio_vdpa)
 * @driver: driver-model driver
 * @probe: bind to a device
 * @remove: unbind; must not return while anything still uses the
 *	    device's ops (the parent may go away right after)
 * @dma_api: the driver's own kernel code puts rings and buffers in
 *	     memory mapped with the DMA API on &vdpa_device.dma_dev and never
 *	     installs translations (virtio_vdpa).  A parent with its own
 *	     translation (set_map/dma_map) that is reset while such a driver
 *	     is bound must translate DMA addresses of dma_dev until a map is
 *	     installed; see vdpa_dma_api_driver_bound().
 */
struct vdpa_driver {
	struct device_driver driver;
	int (*probe)(struct vdpa_device *vdev);
	void (*remove)(struct vdpa_device *vdev);
	bool dma_api;
};

int __vdpa_register_driver(struct vdpa_driver *drv, struct module *owner);
#define vdpa_register_driver(drv) __vdpa_register_driver(drv, THIS_MODULE)
void vdpa_unregister_driver(struct vdpa_driver *drv);

struct notifier_block;
int vdpa_bus_register_notifier(struct notifier_block *nb);
void vdpa_bus_unregister_notifier(struct notifier_block *nb);

#define module_vdpa_driver(__vdpa_driver)				\
	module_driver(__vdpa_driver, vdpa_register_driver,		\
		      vdpa_unregister_driver)

static inline struct vdpa_device *dev_to_vdpa(struct device *dev)
{
	return container_of(dev, struct vdpa_device, dev);
}

static inline struct vdpa_driver *drv_to_vdpa(struct device_driver *drv)
{
	return container_of(drv, struct vdpa_driver, driver);
}

/**
 * vdpa_dma_api_driver_bound - whether a &vdpa_driver.dma_api driver is bound
 * @vdev: the device
 *
 * For parents with their own translation, from an op the bound driver
 * calls (typically reset): the driver core sets the driver before probe
 * and clears it after remove, so the answer is stable during such calls.
 *
 * Return: true if the bound (or probing) driver maps memory with the DMA
 * API on @vdev->dma_dev.
 */
static inline bool vdpa_dma_api_driver_bound(struct vdpa_device *vdev)
{
	struct device_driver *drv = READ_ONCE(vdev->dev.driver);

	return drv && drv_to_vdpa(drv)->dma_api;
}

static inline void *vdpa_get_drvdata(const struct vdpa_device *vdev)
{
	return dev_get_drvdata(&vdev->dev);
}

static inline void vdpa_set_drvdata(struct vdpa_device *vdev, void *data)
{
	dev_set_drvdata(&vdev->dev, data);
}

static inline struct device *vdpa_get_dma_dev(struct vdpa_device *vdev)
{
	return vdev->dma_dev;
}

/*
 * Core helpers for bus drivers.  They take @cf_lock and keep
 * @features_valid consistent; use them rather than the raw ops for
 * features, status, reset and config space.
 */
int vdpa_reset(struct vdpa_device *vdev);
int vdpa_set_features(struct vdpa_device *vdev, u64 features);
u64 vdpa_get_driver_features(struct vdpa_device *vdev);
u8 vdpa_get_status(struct vdpa_device *vdev);
int vdpa_set_status(struct vdpa_device *vdev, u8 status);
void vdpa_get_config(struct vdpa_device *vdev, unsigned int offset,
		     void *buf, unsigned int len);
void vdpa_set_config(struct vdpa_device *vdev, unsigned int offset,
		     const void *buf, unsigned int len);

/**
 * struct vdpa_dev_set_config - provisioning attributes of DEV_NEW
 * @device_features: VDPA_ATTR_DEV_FEATURES
 * @net: network class attributes
 * @net.mac: VDPA_ATTR_DEV_NET_CFG_MACADDR
 * @net.mtu: VDPA_ATTR_DEV_NET_CFG_MTU
 * @net.max_vq_pairs: VDPA_ATTR_DEV_NET_CFG_MAX_VQP
 * @mask: BIT_ULL(VDPA_ATTR_*) of the attributes present
 */
struct vdpa_dev_set_config {
	u64 device_features;
	struct {
		u8 mac[ETH_ALEN];
		u16 mtu;
		u16 max_vq_pairs;
	} net;
	u64 mask;
};

/**
 * struct vdpa_mgmtdev_ops - what a management device does for users
 * @dev_add: create and register (vdpa_mgmt_register_device()) a device
 *	     named @name; report precise errors through @extack
 * @dev_del: unregister (vdpa_mgmt_unregister_device()) a device it created
 * @dev_set_attr: change attributes of a live device, optional
 *
 * All three run with the core's device lock held for writing.
 * @dev_set_attr additionally runs with the device's @cf_lock held for
 * writing, so it must update config space directly, not through
 * vdpa_set_config().
 */
struct vdpa_mgmtdev_ops {
	int (*dev_add)(struct vdpa_mgmt_dev *mdev, const char *name,
		       const struct vdpa_dev_set_config *config,
		       struct netlink_ext_ack *extack);
	void (*dev_del)(struct vdpa_mgmt_dev *mdev, struct vdpa_device *vdev);
	int (*dev_set_attr)(struct vdpa_mgmt_dev *mdev,
			    struct vdpa_device *vdev,
			    const struct vdpa_dev_set_config *config,
			    struct netlink_ext_ack *extack);
};

/**
 * struct vdpa_mgmt_dev - a management device (one per parent instance)
 * @device: the device users name it by (bus/name, or just name if it
 *	    sits on no bus)
 * @ops: management operations
 * @id_table: virtio device ids it can create, zero-terminated
 * @config_attr_mask: BIT_ULL(VDPA_ATTR_*) of the DEV_NEW attributes
 *	    it accepts
 * @supported_features: features a new device may be provisioned with
 * @max_supported_vqs: most virtqueues one device may have
 * @list: core-private list entry
 */
struct vdpa_mgmt_dev {
	struct device *device;
	const struct vdpa_mgmtdev_ops *ops;
	const struct virtio_device_id *id_table;
	u64 config_attr_mask;
	u64 supported_features;
	u32 max_supported_vqs;
	struct list_head list;
};

int vdpa_mgmtdev_register(struct vdpa_mgmt_dev *mdev);
void vdpa_mgmtdev_unregister(struct vdpa_mgmt_dev *mdev);

#endif /* _LINUX_VDPA_H */
