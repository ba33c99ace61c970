// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa core: management devices, the objects users name in
 * "vdpa dev add ... mgmtdev M" to create vdpa devices.
 */

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mod_devicetable.h>
#include <linux/string.h>
#include <linux/vdpa.h>
#include <linux/wait.h>

#include "vdpa_core.h"

LIST_HEAD(vdpa_mgmtdev_list);

/*
 * The management device whose dev_add is running, so that
 * vdpa_mgmt_register_device() can fill in vdev->mdev; vdpa_dev_lock.
 */
static struct vdpa_mgmt_dev *vdpa_mgmtdev_in_add;

/*
 * User deletions between vdpa_mgmtdev_del_begin() and the end of
 * vdpa_mgmtdev_del_finish(), which run partly without vdpa_dev_lock, and
 * the wait queue vdpa_mgmtdev_unregister() waits on until there are none.
 */
static atomic_t vdpa_mgmtdev_dels = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(vdpa_mgmtdev_dels_wq);

/* NULL @bus_name selects only management devices that sit on no bus. */
static bool vdpa_mgmtdev_has_handle(const struct vdpa_mgmt_dev *mdev,
				    const char *bus_name,
				    const char *name)
{
	const struct bus_type *bus = mdev->device->bus;

	if (!bus != !bus_name)
		return false;
	if (bus && strcmp(bus->name, bus_name))
		return false;
	return !strcmp(dev_name(mdev->device), name);
}

/**
 * vdpa_mgmtdev_find - look up a management device by its handle
 * @bus_name: bus of its device, or NULL for a device on no bus
 * @name: name of its device
 *
 * Caller holds vdpa_dev_lock.
 *
 * Return: the management device or NULL.
 */
struct vdpa_mgmt_dev *vdpa_mgmtdev_find(const char *bus_name,
					const char *name)
{
	struct vdpa_mgmt_dev *mdev;

	lockdep_assert_held(&vdpa_dev_lock);
	list_for_each_entry(mdev, &vdpa_mgmtdev_list, list)
		if (vdpa_mgmtdev_has_handle(mdev, bus_name, name))
			return mdev;
	return NULL;
}

/**
 * vdpa_mgmtdev_classes - virtio device ids a management device can create
 * @mdev: the management device
 * @nclasses: if not NULL, receives the number of ids counted
 *
 * Return: bit n set for virtio device id n; ids above 63 are left out.
 */
u64 vdpa_mgmtdev_classes(const struct vdpa_mgmt_dev *mdev,
			 unsigned int *nclasses)
{
	const struct virtio_device_id *id;
	unsigned int n = 0;
	u64 classes = 0;

	for (id = mdev->id_table; id->device; id++) {
		if (id->device > 63)
			continue;
		classes |= BIT_ULL(id->device);
		n++;
	}
	if (nclasses)
		*nclasses = n;
	return classes;
}

/**
 * vdpa_mgmtdev_add_device - run a management device's dev_add
 * @mdev: the management device
 * @name: name of the new device
 * @config: provisioning attributes
 * @extack: for the parent's error messages
 *
 * Caller holds vdpa_dev_lock for writing.
 *
 * Return: the result of dev_add.
 */
int vdpa_mgmtdev_add_device(struct vdpa_mgmt_dev *mdev, const char *name,
			    const struct vdpa_dev_set_config *config,
			    struct netlink_ext_ack *extack)
{
	int err;

	lockdep_assert_held_write(&vdpa_dev_lock);
	vdpa_mgmtdev_in_add = mdev;
	err = mdev->ops->dev_add(mdev, name, config, extack);
	vdpa_mgmtdev_in_add = NULL;
	return err;
}

/**
 * vdpa_mgmtdev_del_begin - start a user's deletion of a device
 * @vdev: a device created by a management device (@vdev->mdev set), not
 *	  already being deleted
 *
 * Caller holds vdpa_dev_lock for writing and a reference to @vdev, which
 * it hands to vdpa_mgmtdev_del_finish(), to be called after dropping the
 * lock.  From here on no bus driver binds to @vdev.
 */
void vdpa_mgmtdev_del_begin(struct vdpa_device *vdev)
{
	lockdep_assert_held_write(&vdpa_dev_lock);
	WRITE_ONCE(vdev->deleting, true);
	atomic_inc(&vdpa_mgmtdev_dels);
}

/**
 * vdpa_mgmtdev_del_finish - detach the bus driver, then delete the device
 * @vdev: the device passed to vdpa_mgmtdev_del_begin(); the caller's
 *	  reference is dropped
 *
 * The bus driver's remove may wait, for as long as userspace decides, for
 * a client call in progress (vhost-vdpa waits for an ioctl or write that
 * sleeps in a page fault under its device mutex).  So it runs here with
 * no global lock held: vdpa_dev_lock is free for every other request and,
 * the family having parallel_ops, so is genl_mutex.  Then the parent's
 * dev_del runs under vdpa_dev_lock as always, unless the management device
 * went away meanwhile and deleted the device itself.
 *
 * Context: process context, no vdpa_dev_lock.  May sleep indefinitely.
 */
void vdpa_mgmtdev_del_finish(struct vdpa_device *vdev)
{
	device_release_driver(&vdev->dev);

	down_write(&vdpa_dev_lock);
	/* Still registered: its management device is still registered too. */
	if (device_is_registered(&vdev->dev))
		vdev->mdev->ops->dev_del(vdev->mdev, vdev);
	up_write(&vdpa_dev_lock);

	/* The last reference may call the parent's free op. */
	put_device(&vdev->dev);
	if (atomic_dec_and_test(&vdpa_mgmtdev_dels))
		wake_up_all(&vdpa_mgmtdev_dels_wq);
}

/* The management device whose dev_add is running, if any. */
struct vdpa_mgmt_dev *vdpa_mgmtdev_adding(void)
{
	lockdep_assert_held_write(&vdpa_dev_lock);
	return vdpa_mgmtdev_in_add;
}

/**
 * vdpa_mgmtdev_register - make a management device visible to users
 * @mdev: filled in by the parent; @mdev->device must stay registered
 *	  until vdpa_mgmtdev_unregister() returns
 *
 * Return: 0; -EINVAL if @device, @ops, @ops->dev_add, @ops->dev_del or
 * @id_table is missing; -EEXIST if a management device with the same
 * handle (bus and device name) is already registered.
 */
int vdpa_mgmtdev_register(struct vdpa_mgmt_dev *mdev)
{
	const char *bus_name;
	int err = 0;

	if (!mdev->device || !mdev->ops || !mdev->ops->dev_add ||
	    !mdev->ops->dev_del || !mdev->id_table)
		return -EINVAL;

	bus_name = mdev->device->bus ? mdev->device->bus->name : NULL;

	down_write(&vdpa_dev_lock);
	if (vdpa_mgmtdev_find(bus_name, dev_name(mdev->device)))
		err = -EEXIST;
	else
		list_add_tail(&mdev->list, &vdpa_mgmtdev_list);
	up_write(&vdpa_dev_lock);
	return err;
}
EXPORT_SYMBOL_GPL(vdpa_mgmtdev_register);

static int vdpa_dev_is_of_mgmtdev(struct device *dev, const void *mdev)
{
	return dev_to_vdpa(dev)->mdev == mdev;
}

/**
 * vdpa_mgmtdev_unregister - remove a management device and its devices
 * @mdev: a registered management device
 *
 * Users can no longer reach @mdev, and every vdpa device it created is
 * deleted through its dev_del, before this returns.  It also waits for
 * the users' deletions still running (vdpa_mgmtdev_del_finish()), whose
 * last reference to a device may call the parent's free op.
 */
void vdpa_mgmtdev_unregister(struct vdpa_mgmt_dev *mdev)
{
	struct device *dev;
	bool stuck;

	down_write(&vdpa_dev_lock);
	list_del(&mdev->list);

	/*
	 * Restart the lookup after each deletion rather than walking the
	 * bus while devices leave it.
	 */
	while ((dev = bus_find_device(&vdpa_bus_type, NULL, mdev,
				      vdpa_dev_is_of_mgmtdev))) {
		mdev->ops->dev_del(mdev, dev_to_vdpa(dev));
		stuck = device_is_registered(dev);
		put_device(dev);
		/* A dev_del that did not unregister would loop forever. */
		if (WARN_ON_ONCE(stuck))
			break;
	}
	up_write(&vdpa_dev_lock);

	wait_event(vdpa_mgmtdev_dels_wq, !atomic_read(&vdpa_mgmtdev_dels));
}
EXPORT_SYMBOL_GPL(vdpa_mgmtdev_unregister);
