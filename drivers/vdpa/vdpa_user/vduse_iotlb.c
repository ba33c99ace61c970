// SPDX-License-Identifier: GPL-2.0
/*
 * VDUSE: the table of user-memory entries vhost-vdpa installs.
 *
 * A VDUSE device is a use_va parent: when vhost-vdpa drives it, the
 * buffers and rings live in the memory of the vhost-vdpa client, and
 * set_map hands over a table whose entries each name a file (struct
 * vdpa_map_file) and the client's virtual address.  The table kept here
 * holds a reference on every file in it; VDUSE_IOTLB_GET_FD gives the
 * daemon a descriptor for the file behind an IOVA, which it maps.
 *
 * Whenever a table replaces another, the daemon is sent VDUSE_UPDATE_IOTLB
 * for the smallest range covering every entry that came or went, so that
 * it drops the mappings it made of entries that are gone and looks the
 * range up again.  The kernel's own accesses (ring tracking) never go
 * through this table: they only read the bounce domain, so they are off
 * while a table is installed (see vduse_iotlb_active()).
 *
 * @lock is a mutex: set_map, reset and the ioctls run in process context.
 * It is never held while the daemon is waited for.
 */

#include <linux/file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vhost_iotlb.h>

#include "vduse.h"

/* Drop every entry of @iotlb with the file reference it holds. */
static void vduse_iotlb_free_table(struct vhost_iotlb *iotlb)
{
	struct vhost_iotlb_map *map;
	struct vdpa_map_file *mf;

	if (!iotlb)
		return;
	while ((map = vhost_iotlb_itree_first(iotlb, 0, U64_MAX))) {
		mf = map->opaque;
		fput(mf->file);
		kfree(mf);
		vhost_iotlb_map_free(iotlb, map);
	}
	vhost_iotlb_free(iotlb);
}

/* Whether @iotlb has an entry identical to @map (same range and target). */
static bool vduse_iotlb_has(struct vhost_iotlb *iotlb,
			    const struct vhost_iotlb_map *map)
{
	const struct vdpa_map_file *mf = map->opaque, *other;
	struct vhost_iotlb_map *m;

	if (!iotlb)
		return false;
	m = vhost_iotlb_itree_first(iotlb, map->start, map->last);
	if (!m || m->start != map->start || m->last != map->last ||
	    m->addr != map->addr || m->perm != map->perm)
		return false;
	other = m->opaque;
	return other->file == mf->file && other->offset == mf->offset;
}

/* Widen [*start, *last] to cover the entries of @a missing from @b. */
static void vduse_iotlb_diff(struct vhost_iotlb *a, struct vhost_iotlb *b,
			     u64 *start, u64 *last)
{
	struct vhost_iotlb_map *map;

	if (!a)
		return;
	for (map = vhost_iotlb_itree_first(a, 0, U64_MAX); map;
	     map = vhost_iotlb_itree_next(map, 0, U64_MAX)) {
		if (vduse_iotlb_has(b, map))
			continue;
		*start = min(*start, map->start);
		*last = max(*last, map->last);
	}
}

/*
 * Install @table (NULL: none) and free the previous one; then tell the
 * daemon about the IOVAs whose translation changed.  A daemon that is gone
 * or silent does not stop the change: its mappings hold their own file
 * references, so stale ones are only stale, never dangling.
 */
static void vduse_iotlb_replace(struct vduse_dev *dev,
				struct vhost_iotlb *table)
{
	struct vduse_iotlb *ut = &dev->iotlb;
	u64 start = U64_MAX, last = 0;
	struct vhost_iotlb *old;

	/*
	 * Compare and free under the lock: a concurrent replace (a reset
	 * racing a set_map from another caller) would free @table.  Only
	 * the daemon is told outside it.
	 */
	mutex_lock(&ut->lock);
	old = ut->table;
	ut->table = table;
	WRITE_ONCE(ut->active, table && table->nmaps);
	vduse_iotlb_diff(old, table, &start, &last);
	vduse_iotlb_diff(table, old, &start, &last);
	vduse_iotlb_free_table(old);
	mutex_unlock(&ut->lock);

	if (start <= last)
		vduse_send_update_iotlb(dev, start, last);
}

/**
 * vduse_iotlb_set_map - the set_map of a VDUSE device
 * @dev: the device
 * @iotlb: the bus driver's table; every entry's opaque is a struct
 *	   vdpa_map_file
 *
 * Return: 0, or -EINVAL for an entry without a file, -ENOMEM; on error the
 * previous table stays.
 */
int vduse_iotlb_set_map(struct vduse_dev *dev, struct vhost_iotlb *iotlb)
{
	struct vhost_iotlb *table = NULL;
	struct vhost_iotlb_map *map;
	struct vdpa_map_file *mf, *src;
	int ret;

	if (iotlb->nmaps) {
		/* a limit of 0 would refuse every entry */
		table = vhost_iotlb_alloc(iotlb->nmaps, 0);
		if (!table)
			return -ENOMEM;
	}
	for (map = vhost_iotlb_itree_first(iotlb, 0, U64_MAX); map;
	     map = vhost_iotlb_itree_next(map, 0, U64_MAX)) {
		src = map->opaque;
		if (!src || !src->file) {
			ret = -EINVAL;
			goto err;
		}
		mf = kmalloc(sizeof(*mf), GFP_KERNEL);
		if (!mf) {
			ret = -ENOMEM;
			goto err;
		}
		mf->file = get_file(src->file);
		mf->offset = src->offset;
		ret = vhost_iotlb_add_range_ctx(table, map->start, map->last,
						map->addr, map->perm, mf);
		if (ret) {
			fput(mf->file);
			kfree(mf);
			goto err;
		}
	}
	vduse_iotlb_replace(dev, table);
	return 0;
err:
	vduse_iotlb_free_table(table);
	return ret;
}

/**
 * vduse_iotlb_clear - drop the table (reset, detach, destroy)
 * @dev: the device
 */
void vduse_iotlb_clear(struct vduse_dev *dev)
{
	vduse_iotlb_replace(dev, NULL);
}

/**
 * vduse_iotlb_lookup - the table entry overlapping [start, last], if any
 * @dev: the device
 * @start: first IOVA
 * @last: last IOVA
 * @entry: filled with the entry's range, offset and permission
 * @file: set to the entry's file with a new reference, for the caller
 *
 * While a table is installed the bounce domain is not the daemon's
 * business: an IOVA outside the table is not mapped at all.
 *
 * Return: 0 if an entry was found, -ENOENT if there is no table (look in
 * the bounce domain), -EINVAL if the table has no such entry.
 */
static int vduse_iotlb_lookup(struct vduse_dev *dev, u64 start, u64 last,
			      struct vduse_iotlb_entry *entry,
			      struct file **file)
{
	struct vduse_iotlb *ut = &dev->iotlb;
	struct vhost_iotlb_map *map = NULL;
	struct vdpa_map_file *mf;
	int ret = -ENOENT;

	mutex_lock(&ut->lock);
	if (ut->table) {
		map = vhost_iotlb_itree_first(ut->table, start, last);
		ret = map ? 0 : -EINVAL;
	}
	if (map) {
		mf = map->opaque;
		entry->start = map->start;
		entry->last = map->last;
		entry->offset = mf->offset;
		/* VHOST_ACCESS_* and VDUSE_ACCESS_* have the same values */
		entry->perm = map->perm;
		if (file)
			*file = get_file(mf->file);
	}
	mutex_unlock(&ut->lock);
	return ret;
}

/**
 * vduse_iotlb_table_get_fd - VDUSE_IOTLB_GET_FD for an IOVA of the table
 * @dev: the device
 * @entry: the request, already copied in and checked (start <= last)
 * @argp: where to copy the answer
 *
 * Return: a new descriptor for the file of the entry overlapping the range
 * (the answer copied out), -ENOENT when there is no table (the caller then
 * tries the bounce domain), or another negative errno (-EINVAL: no entry).
 */
long vduse_iotlb_table_get_fd(struct vduse_dev *dev,
			      struct vduse_iotlb_entry *entry,
			      void __user *argp)
{
	struct file *file;
	int fd;

	fd = vduse_iotlb_lookup(dev, entry->start, entry->last, entry, &file);
	if (fd)
		return fd;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		fput(file);
		return fd;
	}
	if (copy_to_user(argp, entry, sizeof(*entry))) {
		put_unused_fd(fd);
		fput(file);
		return -EFAULT;
	}
	fd_install(fd, file);
	return fd;
}

/**
 * vduse_iotlb_table_get_info - VDUSE_IOTLB_GET_INFO for an IOVA of the table
 * @dev: the device
 * @info: the request (start <= last); filled in on success
 *
 * Return: 0 if a table entry overlaps the range, -ENOENT when there is no
 * table (the caller then tries the bounce domain), -EINVAL if the table
 * has no such entry.
 */
int vduse_iotlb_table_get_info(struct vduse_dev *dev,
			       struct vduse_iova_info *info)
{
	struct vduse_iotlb_entry entry;
	int ret;

	ret = vduse_iotlb_lookup(dev, info->start, info->last, &entry, NULL);
	if (ret)
		return ret;
	info->start = entry.start;
	info->last = entry.last;
	info->capability = 0;
	return 0;
}

void vduse_iotlb_init(struct vduse_dev *dev)
{
	mutex_init(&dev->iotlb.lock);
}
