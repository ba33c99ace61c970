// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-vdpa: expose a vDPA device to userspace as /dev/vhost-vdpa-N, a
 * vhost character device (QEMU's vhost-vdpa netdev, DPDK virtio-user).
 *
 * This file has the bus driver, the char device, ownership, the
 * device-wide ioctls, mmap of doorbells and the revoke on removal.  The
 * virtqueue ioctls and eventfds are in vhost_vdpa_vring.c, IOTLB messages
 * (write()) in vhost_vdpa_dma.c.
 *
 * Lifetime.  struct vhost_vdpa embeds the char device's struct device,
 * whose reference count owns the structure: the binding to the vdpa device
 * holds one reference, every open file another.  The release callback of
 * that struct device frees the minor and the memory.
 *
 * Removal does not wait for userspace.  When the vdpa device goes away
 * (vdpa dev del, parent unload) while a file is open, remove() revokes it
 * under the device mutex: the device is reset, kick polling stops, the
 * parent's callbacks are cleared, every mapping is unmapped and unpinned
 * (vhost_vdpa_dma_destroy) and the eventfds dropped, all while the parent
 * is still there.  It then clears @vdpa (also under @revoke_sem, which
 * mmap and page faults take instead of the mutex) and zaps the doorbell
 * mappings of the file.  From then on ioctls and writes fail with ENODEV,
 * doorbell faults raise SIGBUS, and nothing touches the vdpa device or its
 * ops again; the memory goes with the last close.
 */

#include <linux/capability.h>
#include <linux/cdev.h>
#include <linux/compat.h>
#include <linux/eventfd.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kdev_t.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/panic.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/vdpa.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/vdpa_version.h>

#include "vhost_vdpa.h"
#include "vhost_vdpa_dma.h"

/* Most regions VHOST_SET_MEM_TABLE accepts (vhost's max_mem_regions). */
#define VHOST_VDPA_MAX_MEM_REGIONS	64

/* Backend features offered whatever the parent. */
#define VHOST_VDPA_BACKEND_BASE	(BIT_ULL(VHOST_BACKEND_F_IOTLB_MSG_V2) | \
				 BIT_ULL(VHOST_BACKEND_F_IOTLB_BATCH) | \
				 BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID))

/* Every backend feature this driver knows. */
#define VHOST_VDPA_BACKEND_KNOWN	GENMASK_ULL(VHOST_BACKEND_F_IOTLB_PERSIST, \
					    VHOST_BACKEND_F_IOTLB_MSG_V2)

static dev_t vhost_vdpa_devt;
/* Allocates char device minors; a minor is freed by the device release. */
static DEFINE_IDA(vhost_vdpa_ida);

static u64 vhost_vdpa_offered_backend(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	u64 features = VHOST_VDPA_BACKEND_BASE;

	if (ops->suspend)
		features |= BIT_ULL(VHOST_BACKEND_F_SUSPEND);
	if (ops->resume)
		features |= BIT_ULL(VHOST_BACKEND_F_RESUME);
	if (ops->get_vq_desc_group)
		features |= BIT_ULL(VHOST_BACKEND_F_DESC_ASID);
	/*
	 * set_map parents get their tables back after a reset (dma_on_reset);
	 * an IOMMU domain (no DMA ops) never loses them.
	 */
	if (ops->set_map || ops->reset_map || !ops->dma_map)
		features |= BIT_ULL(VHOST_BACKEND_F_IOTLB_PERSIST);
	if (ops->get_backend_features)
		features |= ops->get_backend_features(v->vdpa) &
			    VHOST_VDPA_BACKEND_KNOWN;
	return features;
}

static long vhost_vdpa_set_backend_features(struct vhost_vdpa *v,
					    u64 __user *argp)
{
	u64 features;

	if (copy_from_user(&features, argp, sizeof(features)))
		return -EFAULT;
	if (features & ~VHOST_VDPA_BACKEND_KNOWN)
		return -EOPNOTSUPP;
	if ((features & BIT_ULL(VHOST_BACKEND_F_DESC_ASID)) &&
	    !(features & BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID)))
		return -EINVAL;
	if (features & ~vhost_vdpa_offered_backend(v))
		return -EOPNOTSUPP;
	v->backend_features = features;
	return 0;
}

/*
 * Dirty-page logging is offered only when asked for.  QEMU 7.2 (Debian
 * 12's) takes VHOST_F_LOG_ALL as leave to migrate a guest without shadow
 * virtqueues, and its vhost-vdpa stop path resets the device before it
 * reads the queues' positions (VHOST_GET_VRING_BASE), so the destination
 * may resume from positions of a reset device.  Until a migration without
 * shadow virtqueues is proven with it, the default stays upstream's: no
 * VHOST_F_LOG_ALL, and QEMU refuses such a migration.
 */
static bool dirty_log;
module_param(dirty_log, bool, 0644);
MODULE_PARM_DESC(dirty_log,
		 "Offer VHOST_F_LOG_ALL for parents that log the pages they write, to files opened from now on (default: no; see Documentation/userspace-api.rst)");

/* The device features, and VHOST_F_LOG_ALL when the parent can log. */
static u64 vhost_vdpa_offered_features(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	u64 features = ops->get_device_features(v->vdpa);

	if (v->can_log)
		features |= BIT_ULL(VHOST_F_LOG_ALL);
	return features;
}

/*
 * Give the parent the log the client asked for, or take it back: the
 * parent logs while VHOST_F_LOG_ALL is acked and the owner set a base.
 * Called again when the base or the eventfd changes, to replace the log.
 */
static int vhost_vdpa_log_update(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	struct vdpa_dirty_log log;
	int ret;

	if (!ops->set_log)
		return 0;
	if (v->log_all && v->log_base_set && v->owner_mm) {
		log.mm = v->owner_mm;
		log.base = v->log_base;
		log.notify = v->log_ctx;
		ret = ops->set_log(v->vdpa, &log);
		if (ret)
			return ret;
		v->log_active = true;
		return 0;
	}
	if (v->log_active) {
		/* removing a log cannot fail */
		ops->set_log(v->vdpa, NULL);
		v->log_active = false;
	}
	return 0;
}

static long vhost_vdpa_set_log_all(struct vhost_vdpa *v, bool log_all)
{
	bool old = v->log_all;
	int ret;

	v->log_all = log_all;
	ret = vhost_vdpa_log_update(v);
	if (ret)
		v->log_all = old;
	return ret;
}

static long vhost_vdpa_set_features(struct vhost_vdpa *v, u64 __user *argp)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	bool features_ok, log_all;
	u64 features;

	features_ok = vdpa_get_status(v->vdpa) & VIRTIO_CONFIG_S_FEATURES_OK;
	if (features_ok && !v->can_log)
		return -EBUSY;
	if (copy_from_user(&features, argp, sizeof(features)))
		return -EFAULT;
	/* a vhost feature: the device never sees it */
	log_all = features & BIT_ULL(VHOST_F_LOG_ALL);
	if (log_all && !v->can_log)
		return -EINVAL;
	features &= ~BIT_ULL(VHOST_F_LOG_ALL);

	if (features_ok) {
		/*
		 * QEMU's vhost core starts and stops logging on a running
		 * device by setting its features again with VHOST_F_LOG_ALL
		 * toggled: that toggle is the only SET_FEATURES accepted.
		 */
		if (log_all == v->log_all ||
		    (features & ops->get_device_features(v->vdpa)) !=
		    vdpa_get_driver_features(v->vdpa))
			return -EBUSY;
		return vhost_vdpa_set_log_all(v, log_all);
	}

	if (vdpa_set_features(v->vdpa, features))
		return -EINVAL;
	/* Decides the VRING_BASE encoding (split or packed). */
	v->acked_features = vdpa_get_driver_features(v->vdpa);
	return vhost_vdpa_set_log_all(v, log_all);
}

static long vhost_vdpa_set_log_base(struct vhost_vdpa *v, u64 __user *argp)
{
	bool old_set = v->log_base_set;
	u64 base, old = v->log_base;
	int ret;

	if (copy_from_user(&base, argp, sizeof(base)))
		return -EFAULT;
	/*
	 * vhost also checks the log against the memory table; ours has no
	 * table (QEMU sends none to vhost-vdpa), so every bitmap byte is
	 * checked when the parent writes it instead.
	 */
	if (base != (unsigned long)base)
		return -EFAULT;

	v->log_base = base;
	v->log_base_set = true;
	ret = vhost_vdpa_log_update(v);
	if (ret) {
		v->log_base = old;
		v->log_base_set = old_set;
	}
	return ret;
}

static long vhost_vdpa_set_log_fd(struct vhost_vdpa *v, int __user *argp)
{
	struct eventfd_ctx *ctx = NULL, *old;
	int fd, ret;

	if (copy_from_user(&fd, argp, sizeof(fd)))
		return -EFAULT;
	if (fd != VHOST_FILE_UNBIND) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}

	old = v->log_ctx;
	v->log_ctx = ctx;
	ret = vhost_vdpa_log_update(v);
	if (ret) {
		/* the parent still uses the old one */
		v->log_ctx = old;
		old = ctx;
	}
	if (old)
		eventfd_ctx_put(old);
	return ret;
}

/* Stop logging and forget the log: reset (the acked bit) or close (all). */
static void vhost_vdpa_log_stop(struct vhost_vdpa *v, bool all)
{
	v->log_all = false;
	if (all)
		v->log_base_set = false;
	vhost_vdpa_log_update(v);
	if (all && v->log_ctx) {
		eventfd_ctx_put(v->log_ctx);
		v->log_ctx = NULL;
	}
}

/* The parent's config-change callback; any context. */
static irqreturn_t vhost_vdpa_config_cb(void *private)
{
	struct vhost_vdpa *v = private;
	struct vhost_vdpa_eventfd *call;

	rcu_read_lock();
	call = rcu_dereference(v->config_call);
	if (call)
		eventfd_signal(call->ctx, 1);
	rcu_read_unlock();

	return IRQ_HANDLED;
}

static void vhost_vdpa_install_config_cb(struct vhost_vdpa *v)
{
	struct vdpa_callback cb = {
		.callback = vhost_vdpa_config_cb,
		.private = v,
	};

	v->vdpa->ops->set_config_cb(v->vdpa, &cb);
}

static long vhost_vdpa_set_config_call(struct vhost_vdpa *v, int __user *argp)
{
	struct vhost_vdpa_eventfd *call = NULL, *old;
	int fd;

	if (copy_from_user(&fd, argp, sizeof(fd)))
		return -EFAULT;
	/* Resolve first: on error the current eventfd stays. */
	if (fd != VHOST_FILE_UNBIND) {
		call = vhost_vdpa_eventfd_get(fd);
		if (IS_ERR(call))
			return PTR_ERR(call);
	}

	old = rcu_replace_pointer(v->config_call, call,
				  lockdep_is_held(&v->mutex));
	vhost_vdpa_install_config_cb(v);
	vhost_vdpa_eventfd_put(old);
	return 0;
}

/*
 * The device came back from a reset, which may have made the parent forget
 * its callbacks and mappings.  The eventfds stay bound across a reset, so
 * give the callbacks back; the mappings go back only if IOTLB_PERSIST was
 * acked (older userspace maps again after a reset).
 */
static void vhost_vdpa_after_reset(struct vhost_vdpa *v)
{
	u32 i;

	v->suspended = false;
	/* the parent drained its writes into the log before returning */
	vhost_vdpa_log_stop(v, false);
	for (i = 0; i < v->nvqs; i++) {
		vhost_vdpa_vq_reinstall_cb(v, i);
		v->vqs[i].desc_addr = 0;
		v->vqs[i].avail_addr = 0;
		v->vqs[i].used_addr = 0;
	}
	if (rcu_access_pointer(v->config_call))
		vhost_vdpa_install_config_cb(v);
	vhost_vdpa_dma_on_reset(v->dma, v->backend_features);
}

/*
 * A reset of a running device while the client logs dirty pages is QEMU
 * 7.2 stopping it for the last step of a migration.  Suspend the device so
 * that its queues' positions are final (its last writes are in the log
 * once suspend returns), and keep them for VHOST_GET_VRING_BASE, which
 * QEMU sends after the reset.  A parent without suspend gives its
 * positions as they are.
 */
static void vhost_vdpa_stop_for_migration(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	int ret;

	if (ops->suspend && !v->suspended) {
		ret = ops->suspend(v->vdpa);
		if (ret)
			dev_warn_ratelimited(&v->dev,
					     "suspend before a logged reset failed (%d): queue positions may move\n",
					     ret);
	}
	vhost_vdpa_save_bases(v);
}

static long vhost_vdpa_set_status(struct vhost_vdpa *v, u8 __user *argp)
{
	u8 status, old;
	int ret;
	u32 i;

	if (copy_from_user(&status, argp, sizeof(status)))
		return -EFAULT;

	old = vdpa_get_status(v->vdpa);
	/* Bits are only ever added, or all cleared by writing 0. */
	if (status && (old & ~status))
		return -EINVAL;

	if ((old & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(status & VIRTIO_CONFIG_S_DRIVER_OK))
		for (i = 0; i < v->nvqs; i++)
			vhost_vdpa_unsetup_irq(v, i);

	if (!status) {
		if ((old & VIRTIO_CONFIG_S_DRIVER_OK) && v->log_all)
			vhost_vdpa_stop_for_migration(v);
		ret = vdpa_reset(v->vdpa);
		if (ret) {
			/* the parent may have dropped some of its tables */
			vhost_vdpa_dma_parent_reset(v->dma);
			return ret;
		}
		vhost_vdpa_after_reset(v);
		return 0;
	}

	ret = vdpa_set_status(v->vdpa, status);
	if (ret)
		return ret;

	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		vhost_vdpa_forget_bases(v);
		for (i = 0; i < v->nvqs; i++)
			vhost_vdpa_setup_irq(v, i);
	}
	return 0;
}

static int vhost_vdpa_config_check(struct vhost_vdpa *v,
				   struct vhost_vdpa_config *c)
{
	size_t size = v->vdpa->ops->get_config_size(v->vdpa);

	if (!c->len || c->off > size || c->len > size - c->off)
		return -EINVAL;
	return 0;
}

static long vhost_vdpa_get_config(struct vhost_vdpa *v,
				  struct vhost_vdpa_config __user *argp)
{
	struct vhost_vdpa_config c;
	long ret = 0;
	u8 *buf;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (vhost_vdpa_config_check(v, &c))
		return -EINVAL;

	buf = kvzalloc(c.len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	vdpa_get_config(v->vdpa, c.off, buf, c.len);
	if (copy_to_user(argp->buf, buf, c.len))
		ret = -EFAULT;
	kvfree(buf);
	return ret;
}

static long vhost_vdpa_set_config(struct vhost_vdpa *v,
				  struct vhost_vdpa_config __user *argp)
{
	struct vhost_vdpa_config c;
	u8 *buf;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (vhost_vdpa_config_check(v, &c))
		return -EINVAL;

	buf = vmemdup_user(argp->buf, c.len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	vdpa_set_config(v->vdpa, c.off, buf, c.len);
	kvfree(buf);
	return 0;
}

static long vhost_vdpa_get_iova_range(struct vhost_vdpa *v, void __user *argp)
{
	struct vhost_vdpa_iova_range range;
	struct vdpa_iova_range r;

	vhost_vdpa_dma_iova_range(v->dma, &r);
	range.first = r.first;
	range.last = r.last;
	return copy_to_user(argp, &range, sizeof(range)) ? -EFAULT : 0;
}

static long vhost_vdpa_suspend(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	int ret;

	if (!(vdpa_get_status(v->vdpa) & VIRTIO_CONFIG_S_DRIVER_OK))
		return 0;
	if (!ops->suspend)
		return -EOPNOTSUPP;
	ret = ops->suspend(v->vdpa);
	if (!ret)
		v->suspended = true;
	return ret;
}

static long vhost_vdpa_resume(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	int ret;

	if (!(vdpa_get_status(v->vdpa) & VIRTIO_CONFIG_S_DRIVER_OK))
		return 0;
	if (!ops->resume)
		return -EOPNOTSUPP;
	ret = ops->resume(v->vdpa);
	if (!ret)
		v->suspended = false;
	return ret;
}

static bool vhost_vdpa_is_owner(struct vhost_vdpa *v)
{
	return v->owner_mm && v->owner_mm == current->mm;
}

static long vhost_vdpa_set_owner(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	struct mm_struct *mm = current->mm;
	int ret;

	if (v->owner_mm)
		return -EBUSY;
	if (!mm)
		return -EINVAL;

	if (v->vdpa->use_va && ops->bind_mm) {
		ret = ops->bind_mm(v->vdpa, mm);
		if (ret)
			return ret;
		v->mm_bound = true;
	}
	mmgrab(mm);
	v->owner_mm = mm;
	return 0;
}

/* Validated and kept, as vhost does, but DMA goes through the IOTLB. */
static long vhost_vdpa_set_mem_table(struct vhost_vdpa *v,
				     struct vhost_memory __user *argp)
{
	struct vhost_memory hdr, *mem;
	u32 i;

	if (copy_from_user(&hdr, argp, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EOPNOTSUPP;
	if (hdr.nregions > VHOST_VDPA_MAX_MEM_REGIONS)
		return -E2BIG;

	mem = kvzalloc(struct_size(mem, regions, hdr.nregions), GFP_KERNEL);
	if (!mem)
		return -ENOMEM;
	mem->nregions = hdr.nregions;
	if (copy_from_user(mem->regions, argp->regions,
			   array_size(hdr.nregions, sizeof(mem->regions[0]))))
		goto fault;

	for (i = 0; i < hdr.nregions; i++) {
		struct vhost_memory_region *r = &mem->regions[i];
		u64 last;

		/* Empty or wrapping regions: vhost fails them with EFAULT. */
		if (!r->memory_size ||
		    check_add_overflow(r->guest_phys_addr, r->memory_size - 1,
				       &last))
			goto fault;
	}

	kvfree(v->mem_table);
	v->mem_table = mem;
	return 0;

fault:
	kvfree(mem);
	return -EFAULT;
}

static long vhost_vdpa_put_u32(void __user *argp, u32 val)
{
	return put_user(val, (u32 __user *)argp);
}

/*
 * Ioctls that work without an owner.  Returns -ENOIOCTLCMD for the others,
 * which need the owner.
 */
static long vhost_vdpa_device_ioctl(struct vhost_vdpa *v, unsigned int cmd,
				    void __user *argp)
{
	struct vdpa_device *vdpa = v->vdpa;
	const struct vdpa_config_ops *ops = vdpa->ops;

	switch (cmd) {
	case VHOST_GET_FEATURES:
		return put_user(vhost_vdpa_offered_features(v),
				(u64 __user *)argp);
	case VHOST_SET_FEATURES:
		return vhost_vdpa_set_features(v, argp);
	case VHOST_GET_BACKEND_FEATURES:
		return put_user(vhost_vdpa_offered_backend(v),
				(u64 __user *)argp);
	case VHOST_SET_BACKEND_FEATURES:
		return vhost_vdpa_set_backend_features(v, argp);
	case VHOST_SET_OWNER:
		return vhost_vdpa_set_owner(v);
	case VHOST_SET_LOG_BASE:
	case VHOST_SET_LOG_FD:
		/* The owner's, when the parent can log; ENOTTY otherwise. */
		return v->can_log ? -ENOIOCTLCMD : -ENOTTY;
	case VHOST_VDPA_GET_DEVICE_ID:
		return vhost_vdpa_put_u32(argp, ops->get_device_id(vdpa));
	case VHOST_VDPA_GET_STATUS:
		return put_user(vdpa_get_status(vdpa), (u8 __user *)argp);
	case VHOST_VDPA_SET_STATUS:
		return vhost_vdpa_set_status(v, argp);
	case VHOST_VDPA_GET_CONFIG:
		return vhost_vdpa_get_config(v, argp);
	case VHOST_VDPA_SET_CONFIG:
		return vhost_vdpa_set_config(v, argp);
	case VHOST_VDPA_GET_VRING_NUM:
		return put_user(ops->get_vq_num_max(vdpa), (u16 __user *)argp);
	case VHOST_VDPA_SET_CONFIG_CALL:
		return vhost_vdpa_set_config_call(v, argp);
	case VHOST_VDPA_GET_IOVA_RANGE:
		return vhost_vdpa_get_iova_range(v, argp);
	case VHOST_VDPA_GET_CONFIG_SIZE:
		return vhost_vdpa_put_u32(argp, ops->get_config_size(vdpa));
	case VHOST_VDPA_GET_AS_NUM:
		return vhost_vdpa_put_u32(argp, vdpa->nas);
	case VHOST_VDPA_GET_VQS_COUNT:
		return vhost_vdpa_put_u32(argp, v->nvqs);
	case VHOST_VDPA_GET_GROUP_NUM:
		return vhost_vdpa_put_u32(argp, vdpa->ngroups);
	case VHOST_VDPA_SUSPEND:
		return vhost_vdpa_suspend(v);
	case VHOST_VDPA_RESUME:
		return vhost_vdpa_resume(v);
	default:
		return -ENOIOCTLCMD;
	}
}

static long vhost_vdpa_unlocked_ioctl(struct file *file, unsigned int cmd,
				      unsigned long arg)
{
	struct vhost_vdpa *v = file->private_data;
	void __user *argp = (void __user *)arg;
	long ret;

	mutex_lock(&v->mutex);
	if (!v->vdpa) {
		ret = -ENODEV;
		goto out;
	}

	ret = vhost_vdpa_device_ioctl(v, cmd, argp);
	if (ret != -ENOIOCTLCMD)
		goto out;

	/* Everything else needs the owner, even ioctls we do not know. */
	if (!vhost_vdpa_is_owner(v)) {
		ret = -EPERM;
		goto out;
	}
	if (cmd == VHOST_SET_MEM_TABLE)
		ret = vhost_vdpa_set_mem_table(v, argp);
	else if (cmd == VHOST_SET_LOG_BASE)
		ret = vhost_vdpa_set_log_base(v, argp);
	else if (cmd == VHOST_SET_LOG_FD)
		ret = vhost_vdpa_set_log_fd(v, argp);
	else
		ret = vhost_vdpa_vring_ioctl(v, cmd, argp);
out:
	mutex_unlock(&v->mutex);
	return ret;
}

static ssize_t vhost_vdpa_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vhost_vdpa *v = iocb->ki_filp->private_data;
	ssize_t ret;

	mutex_lock(&v->mutex);
	if (!v->vdpa) {
		ret = -ENODEV;
	} else if (!vhost_vdpa_is_owner(v)) {
		/* vhost reports every failed message as EFAULT. */
		dev_dbg_ratelimited(&v->dev, "IOTLB write from a non-owner\n");
		ret = -EFAULT;
	} else {
		ret = vhost_vdpa_dma_write(v->dma, from, v->backend_features);
	}
	mutex_unlock(&v->mutex);
	return ret;
}

/*
 * Doorbell mmap.  Runs under mmap_lock, so it must not take the device
 * mutex (ioctls fault user memory with it held): @revoke_sem keeps the
 * vdpa device alive instead.
 */
static vm_fault_t vhost_vdpa_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vhost_vdpa *v = vma->vm_file->private_data;
	struct vdpa_notification_area notify;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct vdpa_device *vdpa;
	u16 index;

	down_read(&v->revoke_sem);
	vdpa = v->vdpa;
	if (!vdpa || !vdpa->ops->get_vq_notification ||
	    vma->vm_pgoff > U16_MAX || vma->vm_pgoff >= v->nvqs)
		goto out;

	index = array_index_nospec(vma->vm_pgoff, v->nvqs);
	notify = vdpa->ops->get_vq_notification(vdpa, index);
	ret = vmf_insert_pfn(vma, vmf->address & PAGE_MASK,
			     PFN_DOWN(notify.addr));
out:
	up_read(&v->revoke_sem);
	return ret;
}

static const struct vm_operations_struct vhost_vdpa_vm_ops = {
	.fault = vhost_vdpa_fault,
};

static int vhost_vdpa_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vhost_vdpa *v = file->private_data;
	unsigned long size = vma->vm_end - vma->vm_start;
	struct vdpa_notification_area notify;
	struct vdpa_device *vdpa;
	int ret = 0;
	u16 index;

	if (size != PAGE_SIZE)
		return -EINVAL;
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	/* Doorbells are write-only. */
	if (vma->vm_flags & VM_READ)
		return -EINVAL;

	down_read(&v->revoke_sem);
	vdpa = v->vdpa;
	if (!vdpa) {
		ret = -ENODEV;
		goto out;
	}
	/* ENOTSUPP (524), not EOPNOTSUPP: what clients have always seen. */
	if (!vdpa->ops->get_vq_notification) {
		ret = -ENOTSUPP;
		goto out;
	}
	/* The page offset is the user's choice of queue. */
	if (vma->vm_pgoff > U16_MAX || vma->vm_pgoff >= v->nvqs) {
		ret = -EINVAL;
		goto out;
	}
	index = array_index_nospec(vma->vm_pgoff, v->nvqs);
	notify = vdpa->ops->get_vq_notification(vdpa, index);
	if (notify.addr & ~PAGE_MASK) {
		ret = -EINVAL;
		goto out;
	}
	if (notify.size != size) {
		ret = -ENOTSUPP;
		goto out;
	}

	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vma->vm_ops = &vhost_vdpa_vm_ops;
out:
	up_read(&v->revoke_sem);
	return ret;
}

/*
 * A parent without an IOMMU (vdpa_is_unsafe_noiommu()) lets the client's
 * mappings reach physical memory as they are: as VFIO's no-IOMMU mode,
 * only CAP_SYS_RAWIO may open it, and using it taints the kernel.
 */
static int vhost_vdpa_check_noiommu(struct vhost_vdpa *v)
{
	if (!vdpa_is_unsafe_noiommu(v->vdpa))
		return 0;
	if (!capable(CAP_SYS_RAWIO)) {
		dev_warn_ratelimited(&v->dev,
				     "no-IOMMU device: open by %s (%d) refused without CAP_SYS_RAWIO\n",
				     current->comm, task_pid_nr(current));
		return -EPERM;
	}
	dev_warn_ratelimited(&v->dev,
			     "no-IOMMU device opened by %s (%d): raw DMA to physical memory, tainting the kernel\n",
			     current->comm, task_pid_nr(current));
	add_taint(TAINT_USER, LOCKDEP_STILL_OK);
	return 0;
}

static int vhost_vdpa_open(struct inode *inode, struct file *file)
{
	struct vhost_vdpa *v = container_of(inode->i_cdev, struct vhost_vdpa,
					    cdev);
	struct vhost_vdpa_dma *dma;
	int ret;
	u32 i;

	mutex_lock(&v->mutex);
	if (!v->vdpa) {
		ret = -ENODEV;
		goto unlock;
	}
	if (v->opened) {
		ret = -EBUSY;
		goto unlock;
	}
	ret = vhost_vdpa_check_noiommu(v);
	if (ret)
		goto unlock;

	ret = vdpa_reset(v->vdpa);
	if (ret)
		goto unlock;

	dma = vhost_vdpa_dma_create(v->vdpa);
	if (IS_ERR(dma)) {
		ret = PTR_ERR(dma);
		goto unlock;
	}

	v->dma = dma;
	for (i = 0; i < v->nvqs; i++)
		vhost_vdpa_vq_init(v, i);
	v->acked_features = 0;
	v->backend_features = 0;
	v->suspended = false;
	v->log_all = false;
	v->log_base_set = false;
	v->log_active = false;
	v->log_ctx = NULL;
	v->can_log = READ_ONCE(dirty_log) && v->vdpa->ops->set_log;
	v->mapping = file->f_mapping;
	v->opened = true;
	get_device(&v->dev);
	file->private_data = v;
unlock:
	mutex_unlock(&v->mutex);
	return ret;
}

/*
 * Return the device to its unopened state: everything the open file set
 * up, in the order of upstream's release.  Called with the mutex held and
 * the vdpa device still present, from release() or from remove().
 */
static void vhost_vdpa_teardown(struct vhost_vdpa *v)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	struct vdpa_callback cb = {};
	u32 i;
	int ret;

	for (i = 0; i < v->nvqs; i++)
		vhost_vdpa_unsetup_irq(v, i);

	ret = vdpa_reset(v->vdpa);
	/* Each close of the node gets here: ratelimited. */
	if (ret)
		dev_warn_ratelimited(&v->dev, "reset failed (%d) while closing\n",
				     ret);
	/* before the owner's mm goes: the parent holds it while logging */
	vhost_vdpa_log_stop(v, true);

	for (i = 0; i < v->nvqs; i++)
		vhost_vdpa_vq_stop_kick(v, i);

	ops->set_config_cb(v->vdpa, &cb);
	vhost_vdpa_eventfd_put(rcu_replace_pointer(v->config_call, NULL,
						   lockdep_is_held(&v->mutex)));

	/* a parent that was reset holds no table any more */
	vhost_vdpa_dma_destroy(v->dma, !ret);
	v->dma = NULL;

	for (i = 0; i < v->nvqs; i++)
		vhost_vdpa_vq_cleanup(v, i);

	if (v->mm_bound) {
		if (ops->unbind_mm)
			ops->unbind_mm(v->vdpa);
		v->mm_bound = false;
	}
	if (v->owner_mm) {
		mmdrop(v->owner_mm);
		v->owner_mm = NULL;
	}
	kvfree(v->mem_table);
	v->mem_table = NULL;
}

static int vhost_vdpa_release(struct inode *inode, struct file *file)
{
	struct vhost_vdpa *v = file->private_data;

	mutex_lock(&v->mutex);
	/* After a revoke, remove() already tore everything down. */
	if (v->vdpa)
		vhost_vdpa_teardown(v);
	v->mapping = NULL;
	v->opened = false;
	mutex_unlock(&v->mutex);

	put_device(&v->dev);
	return 0;
}

static const struct file_operations vhost_vdpa_fops = {
	.owner		= THIS_MODULE,
	.open		= vhost_vdpa_open,
	.release	= vhost_vdpa_release,
	.write_iter	= vhost_vdpa_write_iter,
	.unlocked_ioctl	= vhost_vdpa_unlocked_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vhost_vdpa_mmap,
};

static void vhost_vdpa_dev_release(struct device *dev)
{
	struct vhost_vdpa *v = container_of(dev, struct vhost_vdpa, dev);

	ida_free(&vhost_vdpa_ida, v->minor);
	mutex_destroy(&v->mutex);
	kfree(v->vqs);
	kfree(v);
}

static int vhost_vdpa_probe(struct vdpa_device *vdpa)
{
	const struct vdpa_config_ops *ops = vdpa->ops;
	struct vhost_vdpa *v;
	int minor, ret;
	u32 i;

	/* one IOMMU domain per open file: one group, one address space */
	if (!ops->set_map && !ops->dma_map &&
	    (vdpa->ngroups > 1 || vdpa->nas > 1)) {
		dev_err(&vdpa->dev,
			"vhost-vdpa: a platform-IOMMU parent must have one group and one address space\n");
		return -EOPNOTSUPP;
	}

	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	v->vqs = kcalloc(vdpa->nvqs, sizeof(*v->vqs), GFP_KERNEL);
	if (!v->vqs) {
		ret = -ENOMEM;
		goto err_free;
	}
	minor = ida_alloc_max(&vhost_vdpa_ida, MINORMASK, GFP_KERNEL);
	if (minor < 0) {
		ret = minor;
		goto err_free;
	}

	v->minor = minor;
	v->vdpa = vdpa;
	v->nvqs = vdpa->nvqs;
	mutex_init(&v->mutex);
	init_rwsem(&v->revoke_sem);
	for (i = 0; i < v->nvqs; i++)
		vhost_vdpa_vq_init(v, i);

	/* From here on, the device release frees everything. */
	device_initialize(&v->dev);
	v->dev.parent = &vdpa->dev;
	v->dev.devt = MKDEV(MAJOR(vhost_vdpa_devt), minor);
	v->dev.release = vhost_vdpa_dev_release;
	ret = dev_set_name(&v->dev, "vhost-vdpa-%u", minor);
	if (ret)
		goto err_put;

	cdev_init(&v->cdev, &vhost_vdpa_fops);
	v->cdev.owner = THIS_MODULE;
	vdpa_set_drvdata(vdpa, v);
	/* No class: devtmpfs creates /dev/vhost-vdpa-N from the devt. */
	ret = cdev_device_add(&v->cdev, &v->dev);
	if (ret)
		goto err_put;
	return 0;

err_put:
	vdpa_set_drvdata(vdpa, NULL);
	put_device(&v->dev);
	return ret;
err_free:
	kfree(v->vqs);
	kfree(v);
	return ret;
}

static void vhost_vdpa_remove(struct vdpa_device *vdpa)
{
	struct vhost_vdpa *v = vdpa_get_drvdata(vdpa);

	/* No new opens through the device node. */
	cdev_device_del(&v->cdev, &v->dev);

	mutex_lock(&v->mutex);
	if (v->opened)
		vhost_vdpa_teardown(v);
	down_write(&v->revoke_sem);
	v->vdpa = NULL;
	up_write(&v->revoke_sem);
	/* Faults now raise SIGBUS: drop the doorbells already mapped. */
	if (v->mapping)
		unmap_mapping_range(v->mapping, 0, 0, 1);
	mutex_unlock(&v->mutex);

	vdpa_set_drvdata(vdpa, NULL);
	put_device(&v->dev);
}

static struct vdpa_driver vhost_vdpa_driver = {
	.driver = {
		.name = "vhost_vdpa",
	},
	.probe = vhost_vdpa_probe,
	.remove = vhost_vdpa_remove,
};

static int __init vhost_vdpa_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&vhost_vdpa_devt, 0, MINORMASK + 1,
				  "vhost-vdpa");
	if (ret)
		return ret;

	ret = vdpa_register_driver(&vhost_vdpa_driver);
	if (ret)
		goto err_region;
	return 0;

err_region:
	unregister_chrdev_region(vhost_vdpa_devt, MINORMASK + 1);
	return ret;
}
module_init(vhost_vdpa_init);

static void __exit vhost_vdpa_exit(void)
{
	vdpa_unregister_driver(&vhost_vdpa_driver);
	unregister_chrdev_region(vhost_vdpa_devt, MINORMASK + 1);
	/* Eventfd wrappers still waiting for a grace period. */
	rcu_barrier();
	ida_destroy(&vhost_vdpa_ida);
}
module_exit(vhost_vdpa_exit);

MODULE_DESCRIPTION("vhost char device for vDPA devices");
MODULE_LICENSE("GPL");
MODULE_VERSION(VDPA_VERSION);
