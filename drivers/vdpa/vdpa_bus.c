// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa core: the "vdpa" bus, device lifetime, bus drivers, and the
 * helpers that keep config space and feature negotiation consistent.
 *
 * Module entry and exit live here too: the bus must exist before the
 * netlink family can create devices on it.
 */

#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/hashtable.h>
#include <linux/idr.h>
#include <linux/lockdep.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/stringhash.h>
#include <linux/sysfs.h>
#include <linux/vdpa.h>
#include <linux/vdpa_version.h>

#include "vdpa_core.h"

DECLARE_RWSEM(vdpa_dev_lock);

/*
 * Registered devices by name, so that finding one (every `vdpa dev add`
 * checks the name, every request names its device) does not walk the
 * whole bus: with a thousand devices that walk was most of a lookup.
 * Changed and read under vdpa_dev_lock (written for changes); a device is
 * in it from its device_add() until just before its device_unregister().
 */
static DEFINE_HASHTABLE(vdpa_by_name, 8);

static u32 vdpa_name_hash(const char *name)
{
	return full_name_hash(NULL, name, strlen(name));
}

/* Device indexes ("vdpa%u" names); the IDA has its own internal lock. */
static DEFINE_IDA(vdpa_index_ida);

static int vdpa_bus_match(struct device *dev, struct device_driver *drv)
{
	struct vdpa_device *vdev = dev_to_vdpa(dev);

	if (vdev->driver_override)
		return !strcmp(vdev->driver_override, drv->name);

	/* Every vdpa device can be driven by every vdpa bus driver. */
	return 1;
}

static int vdpa_bus_probe(struct device *dev)
{
	struct vdpa_device *vdev = dev_to_vdpa(dev);
	struct vdpa_driver *drv = drv_to_vdpa(dev->driver);
	const struct vdpa_config_ops *ops = vdev->ops;
	u16 num_max, num_min = 1;

	/* Set before the deletion detaches the driver, under the device lock. */
	if (READ_ONCE(vdev->deleting))
		return -ENODEV;

	num_max = ops->get_vq_num_max(vdev);
	if (ops->get_vq_num_min)
		num_min = ops->get_vq_num_min(vdev);
	if (num_max < num_min) {
		dev_err(dev, "largest queue size %u is below the smallest %u\n",
			num_max, num_min);
		return -EINVAL;
	}

	return drv->probe ? drv->probe(vdev) : 0;
}

static void vdpa_bus_remove(struct device *dev)
{
	struct vdpa_driver *drv = drv_to_vdpa(dev->driver);

	if (drv->remove)
		drv->remove(dev_to_vdpa(dev));
}

static ssize_t driver_override_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct vdpa_device *vdev = dev_to_vdpa(dev);
	ssize_t len;

	/* driver_set_override() swaps the string under the device lock. */
	device_lock(dev);
	len = sysfs_emit(buf, "%s\n", vdev->driver_override);
	device_unlock(dev);
	return len;
}

static ssize_t driver_override_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct vdpa_device *vdev = dev_to_vdpa(dev);
	int err;

	err = driver_set_override(dev, &vdev->driver_override, buf, count);
	return err ? err : count;
}
static DEVICE_ATTR_RW(driver_override);

static struct attribute *vdpa_dev_attrs[] = {
	&dev_attr_driver_override.attr,
	NULL,
};
ATTRIBUTE_GROUPS(vdpa_dev);

struct bus_type vdpa_bus_type = {
	.name = "vdpa",
	.dev_groups = vdpa_dev_groups,
	.match = vdpa_bus_match,
	.probe = vdpa_bus_probe,
	.remove = vdpa_bus_remove,
};

static void vdpa_release_dev(struct device *dev)
{
	struct vdpa_device *vdev = dev_to_vdpa(dev);

	if (vdev->ops->free)
		vdev->ops->free(vdev);
	ida_free(&vdpa_index_ida, vdev->index);
	kfree(vdev->driver_override);
	kfree(vdev);
}

/**
 * vdpa_name_is_valid - whether @name may name a vdpa device
 * @name: candidate name
 *
 * Names appear in sysfs and in netlink, so they must be non-empty, fit
 * VDPA_NAME_LEN and contain no '/'.
 */
bool vdpa_name_is_valid(const char *name)
{
	size_t len = strnlen(name, VDPA_NAME_LEN);

	return len && len < VDPA_NAME_LEN && !strchr(name, '/');
}

/* Ops every parent must implement; the rest are optional. */
static bool vdpa_ops_are_complete(const struct vdpa_config_ops *ops)
{
	return ops->set_vq_address && ops->set_vq_num && ops->kick_vq &&
	       ops->set_vq_cb && ops->set_vq_ready && ops->get_vq_ready &&
	       ops->set_vq_state && ops->get_vq_align &&
	       ops->get_vq_num_max && ops->get_device_features &&
	       ops->set_driver_features && ops->get_driver_features &&
	       ops->set_config_cb && ops->get_device_id &&
	       ops->get_vendor_id && ops->get_status && ops->set_status &&
	       ops->reset && ops->get_config_size && ops->get_config &&
	       ops->set_config;
}

static int vdpa_check_alloc_params(size_t size,
				   const struct vdpa_alloc_params *params)
{
	const struct vdpa_config_ops *ops = params->ops;

	if (size < sizeof(struct vdpa_device) || !ops) {
		pr_err("vdpa: alloc: no ops or structure too small\n");
		return -EINVAL;
	}
	if (!vdpa_ops_are_complete(ops)) {
		pr_err("vdpa: alloc: a mandatory config op is missing\n");
		return -EINVAL;
	}
	if (!ops->dma_map != !ops->dma_unmap ||
	    !ops->bind_mm != !ops->unbind_mm) {
		pr_err("vdpa: alloc: dma_map/dma_unmap or bind_mm/unbind_mm come in pairs\n");
		return -EINVAL;
	}
	if (!ops->set_map_add != !ops->set_map_remove ||
	    (ops->set_map_add && !ops->set_map)) {
		pr_err("vdpa: alloc: set_map_add/set_map_remove come in pairs, with set_map\n");
		return -EINVAL;
	}
	if (params->use_va && !ops->dma_map && !ops->set_map) {
		pr_err("vdpa: alloc: use_va needs the parent's own translation\n");
		return -EINVAL;
	}
	if (!params->ngroups || !params->nas) {
		pr_err("vdpa: alloc: ngroups and nas must be at least 1\n");
		return -EINVAL;
	}
	if (params->name && !vdpa_name_is_valid(params->name)) {
		pr_err("vdpa: alloc: invalid device name\n");
		return -EINVAL;
	}
	return 0;
}

/**
 * __vdpa_alloc_device - allocate a parent structure embedding a vdpa device
 * @size: size of the parent structure; its struct vdpa_device comes first
 * @params: what the parent says about the device
 *
 * Use vdpa_alloc_device().  The device is initialised but not yet on the
 * bus; the parent finishes its own setup, then registers it.  From here
 * on, put_device(&vdev->dev) is the only way to free it; the release
 * calls &vdpa_config_ops.free first.
 *
 * Return: the device, or ERR_PTR(-EINVAL) for bad @params, or
 * ERR_PTR(-ENOMEM).
 */
struct vdpa_device *__vdpa_alloc_device(size_t size,
					const struct vdpa_alloc_params *params)
{
	struct vdpa_device *vdev;
	int index;
	int err;

	err = vdpa_check_alloc_params(size, params);
	if (err)
		return ERR_PTR(err);

	vdev = kzalloc(size, GFP_KERNEL);
	if (!vdev)
		return ERR_PTR(-ENOMEM);

	index = ida_alloc(&vdpa_index_ida, GFP_KERNEL);
	if (index < 0) {
		err = index;
		goto err_free;
	}
	vdev->index = index;

	if (params->name)
		err = dev_set_name(&vdev->dev, "%s", params->name);
	else
		err = dev_set_name(&vdev->dev, "vdpa%u", vdev->index);
	if (err)
		goto err_ida;

	device_initialize(&vdev->dev);
	INIT_HLIST_NODE(&vdev->name_node);
	vdev->dev.bus = &vdpa_bus_type;
	vdev->dev.parent = params->parent;
	vdev->dev.release = vdpa_release_dev;
	/* Software parents DMA through the vdpa device itself. */
	vdev->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	vdev->dev.dma_mask = &vdev->dev.coherent_dma_mask;
	vdev->dma_dev = params->dma_dev ?: &vdev->dev;
	vdev->ops = params->ops;
	vdev->ngroups = params->ngroups;
	vdev->nas = params->nas;
	vdev->use_va = params->use_va;
	vdev->unsafe_noiommu = params->unsafe_noiommu;
	init_rwsem(&vdev->cf_lock);
	return vdev;

err_ida:
	ida_free(&vdpa_index_ida, vdev->index);
err_free:
	kfree(vdev);
	return ERR_PTR(err);
}
EXPORT_SYMBOL_GPL(__vdpa_alloc_device);

/**
 * vdpa_find_device - look up a registered vdpa device by name
 * @name: device name, compared exactly
 *
 * Context: vdpa_dev_lock held (read or write).
 * Return: the device with a reference the caller drops with
 * put_device(), or NULL.
 */
struct vdpa_device *vdpa_find_device(const char *name)
{
	struct vdpa_device *vdev;

	lockdep_assert_held(&vdpa_dev_lock);
	hash_for_each_possible(vdpa_by_name, vdev, name_node,
			       vdpa_name_hash(name)) {
		if (!strcmp(dev_name(&vdev->dev), name)) {
			get_device(&vdev->dev);
			return vdev;
		}
	}
	return NULL;
}

/* vdpa_dev_lock held for writing: off the bus, and out of the index first. */
static void vdpa_remove_locked(struct vdpa_device *vdev)
{
	lockdep_assert_held_write(&vdpa_dev_lock);
	hash_del(&vdev->name_node);
	device_unregister(&vdev->dev);
}

static int vdpa_add_locked(struct vdpa_device *vdev, u32 nvqs)
{
	struct vdpa_device *other;
	int err;

	lockdep_assert_held_write(&vdpa_dev_lock);

	if (!nvqs) {
		dev_err(&vdev->dev, "a device needs at least one virtqueue\n");
		return -EINVAL;
	}

	other = vdpa_find_device(dev_name(&vdev->dev));
	if (other) {
		put_device(&other->dev);
		return -EEXIST;
	}

	vdev->nvqs = nvqs;
	err = device_add(&vdev->dev);
	if (err)
		return err;
	hash_add(vdpa_by_name, &vdev->name_node,
		 vdpa_name_hash(dev_name(&vdev->dev)));
	return 0;
}

/**
 * vdpa_register_device - put a device on the vdpa bus
 * @vdev: device from vdpa_alloc_device()
 * @nvqs: number of virtqueues
 *
 * For devices a parent creates on its own (not through a management
 * device); takes the device lock.  Bus drivers may probe before this
 * returns.  On failure the caller still owns its reference and drops it
 * with put_device().
 *
 * Return: 0, -EEXIST if the name is taken, -EINVAL for zero @nvqs, or the
 * error of device_add().
 */
int vdpa_register_device(struct vdpa_device *vdev, u32 nvqs)
{
	int err;

	down_write(&vdpa_dev_lock);
	err = vdpa_add_locked(vdev, nvqs);
	up_write(&vdpa_dev_lock);
	return err;
}
EXPORT_SYMBOL_GPL(vdpa_register_device);

/**
 * vdpa_mgmt_register_device - register a device from &vdpa_mgmtdev_ops.dev_add
 * @vdev: device from vdpa_alloc_device()
 * @nvqs: number of virtqueues
 *
 * Like vdpa_register_device(), but the caller already holds the device
 * lock, as the core does around dev_add.  If the parent left @vdev->mdev
 * NULL, the core fills in the management device whose dev_add is running.
 *
 * Return: as vdpa_register_device(); -EINVAL if no management device is
 * known.
 */
int vdpa_mgmt_register_device(struct vdpa_device *vdev, u32 nvqs)
{
	lockdep_assert_held_write(&vdpa_dev_lock);
	if (WARN_ON_ONCE(!rwsem_is_locked(&vdpa_dev_lock)))
		return -EINVAL;

	if (!vdev->mdev)
		vdev->mdev = vdpa_mgmtdev_adding();
	if (!vdev->mdev)
		return -EINVAL;

	return vdpa_add_locked(vdev, nvqs);
}
EXPORT_SYMBOL_GPL(vdpa_mgmt_register_device);

/**
 * vdpa_unregister_device - take a device off the bus
 * @vdev: a registered device
 *
 * The bound bus driver's remove runs first.  Drops the registration
 * reference; the memory goes with the last reference.
 */
void vdpa_unregister_device(struct vdpa_device *vdev)
{
	down_write(&vdpa_dev_lock);
	vdpa_remove_locked(vdev);
	up_write(&vdpa_dev_lock);
}
EXPORT_SYMBOL_GPL(vdpa_unregister_device);

/**
 * vdpa_mgmt_unregister_device - unregister from &vdpa_mgmtdev_ops.dev_del
 * @vdev: a registered device
 *
 * Like vdpa_unregister_device(), with the device lock already held.
 */
void vdpa_mgmt_unregister_device(struct vdpa_device *vdev)
{
	WARN_ON_ONCE(!rwsem_is_locked(&vdpa_dev_lock));
	vdpa_remove_locked(vdev);
}
EXPORT_SYMBOL_GPL(vdpa_mgmt_unregister_device);

/**
 * __vdpa_register_driver - register a vdpa bus driver
 * @drv: the driver
 * @owner: its module
 *
 * Return: 0 or the error of driver_register().
 */
int __vdpa_register_driver(struct vdpa_driver *drv, struct module *owner)
{
	drv->driver.bus = &vdpa_bus_type;
	drv->driver.owner = owner;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_GPL(__vdpa_register_driver);

/**
 * vdpa_unregister_driver - unregister a vdpa bus driver
 * @drv: the driver; its remove runs for every bound device first
 */
void vdpa_unregister_driver(struct vdpa_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_GPL(vdpa_unregister_driver);

/**
 * vdpa_bus_register_notifier - follow the driver core's events on the bus
 * @nb: called with a BUS_NOTIFY_* action and the &struct device of a vdpa
 *	device (dev_to_vdpa()), for every device on the bus
 *
 * For a parent that must know when a bus driver starts unbinding from its
 * device (BUS_NOTIFY_UNBIND_DRIVER, before the driver's remove) and when
 * it is done (BUS_NOTIFY_UNBOUND_DRIVER): the core calls no parent op in
 * between.
 *
 * Return: 0 or a negative errno.
 */
int vdpa_bus_register_notifier(struct notifier_block *nb)
{
	return bus_register_notifier(&vdpa_bus_type, nb);
}
EXPORT_SYMBOL_GPL(vdpa_bus_register_notifier);

/**
 * vdpa_bus_unregister_notifier - undo vdpa_bus_register_notifier()
 * @nb: the registered notifier
 */
void vdpa_bus_unregister_notifier(struct notifier_block *nb)
{
	bus_unregister_notifier(&vdpa_bus_type, nb);
}
EXPORT_SYMBOL_GPL(vdpa_bus_unregister_notifier);

/* cf_lock held for writing. */
static int vdpa_set_features_locked(struct vdpa_device *vdev, u64 features)
{
	int err;

	err = vdev->ops->set_driver_features(vdev, features);
	if (!err)
		vdev->features_valid = true;
	return err;
}

/* cf_lock held for writing. */
static int vdpa_reset_locked(struct vdpa_device *vdev)
{
	vdev->features_valid = false;
	return vdev->ops->reset(vdev);
}

/**
 * vdpa_reset - reset the device
 * @vdev: the device
 *
 * Features must be negotiated again afterwards.
 *
 * Return: the result of &vdpa_config_ops.reset.
 */
int vdpa_reset(struct vdpa_device *vdev)
{
	int err;

	down_write(&vdev->cf_lock);
	err = vdpa_reset_locked(vdev);
	up_write(&vdev->cf_lock);
	return err;
}
EXPORT_SYMBOL_GPL(vdpa_reset);

/**
 * vdpa_set_features - accept driver features
 * @vdev: the device
 * @features: the accepted feature bits
 *
 * Return: 0, or the parent's error (-EINVAL if it refuses @features).
 */
int vdpa_set_features(struct vdpa_device *vdev, u64 features)
{
	int err;

	down_write(&vdev->cf_lock);
	err = vdpa_set_features_locked(vdev, features);
	up_write(&vdev->cf_lock);
	return err;
}
EXPORT_SYMBOL_GPL(vdpa_set_features);

/**
 * vdpa_get_driver_features - the features accepted by the driver
 * @vdev: the device
 *
 * Return: the accepted feature bits.
 */
u64 vdpa_get_driver_features(struct vdpa_device *vdev)
{
	u64 features;

	down_read(&vdev->cf_lock);
	features = vdev->ops->get_driver_features(vdev);
	up_read(&vdev->cf_lock);
	return features;
}
EXPORT_SYMBOL_GPL(vdpa_get_driver_features);

/**
 * vdpa_get_status - read the device status byte
 * @vdev: the device
 *
 * Return: the status byte.
 */
u8 vdpa_get_status(struct vdpa_device *vdev)
{
	u8 status;

	down_read(&vdev->cf_lock);
	status = vdev->ops->get_status(vdev);
	up_read(&vdev->cf_lock);
	return status;
}
EXPORT_SYMBOL_GPL(vdpa_get_status);

/**
 * vdpa_set_status - write the device status byte
 * @vdev: the device
 * @status: new status; 0 resets the device as vdpa_reset() does
 *
 * Return: 0, or the error of the reset when @status is 0.
 */
int vdpa_set_status(struct vdpa_device *vdev, u8 status)
{
	int err = 0;

	down_write(&vdev->cf_lock);
	if (status)
		vdev->ops->set_status(vdev, status);
	else
		err = vdpa_reset_locked(vdev);
	up_write(&vdev->cf_lock);
	return err;
}
EXPORT_SYMBOL_GPL(vdpa_set_status);

/*
 * Read the part of [offset, offset + len) that lies inside config space and
 * zero the rest of @buf.  Caller holds cf_lock.
 */
static void vdpa_config_read_clamped(struct vdpa_device *vdev,
				     unsigned int offset, void *buf,
				     unsigned int len)
{
	size_t size = vdev->ops->get_config_size(vdev);
	unsigned int avail = 0;

	if (offset < size)
		avail = min_t(size_t, len, size - offset);
	if (avail)
		vdev->ops->get_config(vdev, offset, buf, avail);
	memset((u8 *)buf + avail, 0, len - avail);
}

/**
 * vdpa_config_read_raw - read config space from offset 0 for netlink
 * @vdev: the device
 * @buf: destination
 * @len: bytes wanted; those past the config space read as zero
 *
 * Caller holds cf_lock for reading.  Unlike vdpa_get_config(), never
 * changes the device: management reads must not negotiate features.
 */
void vdpa_config_read_raw(struct vdpa_device *vdev, void *buf,
			  unsigned int len)
{
	lockdep_assert_held(&vdev->cf_lock);
	vdpa_config_read_clamped(vdev, 0, buf, len);
}

/**
 * vdpa_get_config - read device config space
 * @vdev: the device
 * @offset: first byte to read
 * @buf: destination
 * @len: number of bytes
 *
 * A read before the driver set features is taken as coming from a legacy
 * driver: features 0 are set first.  Bytes outside the config space
 * (&vdpa_config_ops.get_config_size) are not read from the parent and
 * come back as zero.
 */
void vdpa_get_config(struct vdpa_device *vdev, unsigned int offset,
		     void *buf, unsigned int len)
{
	down_read(&vdev->cf_lock);
	if (!vdev->features_valid) {
		up_read(&vdev->cf_lock);
		down_write(&vdev->cf_lock);
		/* Someone may have set features while we waited. */
		if (!vdev->features_valid)
			vdpa_set_features_locked(vdev, 0);
		downgrade_write(&vdev->cf_lock);
	}
	vdpa_config_read_clamped(vdev, offset, buf, len);
	up_read(&vdev->cf_lock);
}
EXPORT_SYMBOL_GPL(vdpa_get_config);

/**
 * vdpa_set_config - write device config space
 * @vdev: the device
 * @offset: first byte to write
 * @buf: source
 * @len: number of bytes
 *
 * A write that does not lie entirely inside the config space is dropped
 * whole (and logged, rate-limited): a partial write could leave a
 * multi-byte field half updated.
 */
void vdpa_set_config(struct vdpa_device *vdev, unsigned int offset,
		     const void *buf, unsigned int len)
{
	size_t size;

	down_write(&vdev->cf_lock);
	size = vdev->ops->get_config_size(vdev);
	if (offset <= size && len <= size - offset)
		vdev->ops->set_config(vdev, offset, buf, len);
	else
		dev_warn_ratelimited(&vdev->dev,
				     "config write [%u, +%u) outside %zu bytes dropped\n",
				     offset, len, size);
	up_write(&vdev->cf_lock);
}
EXPORT_SYMBOL_GPL(vdpa_set_config);

static int __init vdpa_init(void)
{
	int err;

	err = bus_register(&vdpa_bus_type);
	if (err)
		return err;

	err = vdpa_netlink_register();
	if (err)
		goto err_bus;
	return 0;

err_bus:
	bus_unregister(&vdpa_bus_type);
	return err;
}

static void __exit vdpa_exit(void)
{
	vdpa_netlink_unregister();
	bus_unregister(&vdpa_bus_type);
	ida_destroy(&vdpa_index_ida);
}

module_init(vdpa_init);
module_exit(vdpa_exit);

MODULE_DESCRIPTION("vDPA bus, device management and netlink interface");
MODULE_LICENSE("GPL");
MODULE_VERSION(VDPA_VERSION);
