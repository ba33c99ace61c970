/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private interfaces shared by the files of the vdpa core module
 * (vdpa_bus.c, vdpa_mgmt.c, vdpa_netlink.c).  Nothing here is exported.
 */
#ifndef _VDPA_CORE_H
#define _VDPA_CORE_H

#include <linux/device.h>
#include <linux/list.h>
#include <linux/rwsem.h>
#include <linux/vdpa.h>

/*
 * Longest device or management device name the core accepts, including
 * the terminating NUL.  Netlink requests with longer names fail policy
 * validation; parents get -EINVAL from vdpa_alloc_device().
 */
#define VDPA_NAME_LEN	64

/*
 * The device lock.  Held for writing while vdpa devices are added to or
 * removed from the bus and while management devices come and go (so also
 * around every vdpa_mgmtdev_ops callback); held for reading by netlink
 * GET requests and dumps, so a device cannot disappear under them.
 */
extern struct rw_semaphore vdpa_dev_lock;

extern struct bus_type vdpa_bus_type;

/* Registered management devices, in registration order; vdpa_dev_lock. */
extern struct list_head vdpa_mgmtdev_list;

/* vdpa_bus.c */
bool vdpa_name_is_valid(const char *name);
struct vdpa_device *vdpa_find_device(const char *name);
void vdpa_config_read_raw(struct vdpa_device *vdev, void *buf,
			  unsigned int len);

/* vdpa_mgmt.c */
struct vdpa_mgmt_dev *vdpa_mgmtdev_find(const char *bus_name,
					const char *name);
u64 vdpa_mgmtdev_classes(const struct vdpa_mgmt_dev *mdev,
			 unsigned int *nclasses);
int vdpa_mgmtdev_add_device(struct vdpa_mgmt_dev *mdev, const char *name,
			    const struct vdpa_dev_set_config *config,
			    struct netlink_ext_ack *extack);
struct vdpa_mgmt_dev *vdpa_mgmtdev_adding(void);
void vdpa_mgmtdev_del_begin(struct vdpa_device *vdev);
void vdpa_mgmtdev_del_finish(struct vdpa_device *vdev);

/* vdpa_netlink.c */
int vdpa_netlink_register(void);
void vdpa_netlink_unregister(void);

#endif /* _VDPA_CORE_H */
