// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-vdpa virtqueues: the per-vring ioctls, kick eventfd polling, and
 * the call eventfds the parent's callbacks signal.
 *
 * Kicks: a wait-queue entry sits directly on the kick eventfd's wait
 * queue.  Its wake function runs in the context of whoever signals the
 * eventfd (an ioeventfd in KVM, a write() from userspace), with the
 * eventfd's wait-queue lock held and interrupts off, and calls the parent's
 * kick_vq there: there is no worker thread.  Removing the entry from the
 * wait queue takes the same lock, so once it is removed no wake function is
 * running or will run.
 *
 * Calls: the parent calls vhost_vdpa_vq_cb() from any context, possibly on
 * another CPU while SET_VRING_CALL replaces the eventfd.  The eventfd is
 * published with RCU and the old one is dropped after a grace period, so a
 * callback that still sees it signals a live context.  A parent that
 * signals cb->trigger itself must do so inside an RCU read-side section
 * (interrupt handlers are) and pick up the new callback structure on every
 * set_vq_cb().
 *
 * All functions here run with the device mutex held unless noted.
 */

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vdpa.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>

#include "vhost_vdpa.h"

/**
 * vhost_vdpa_eventfd_get - resolve an eventfd for a parent callback
 * @fd: file descriptor from userspace
 *
 * Return: a new wrapper holding a reference to the eventfd context, or an
 * ERR_PTR (-EBADF, -EINVAL for a file that is not an eventfd, -ENOMEM).
 */
struct vhost_vdpa_eventfd *vhost_vdpa_eventfd_get(int fd)
{
	struct vhost_vdpa_eventfd *efd;
	struct eventfd_ctx *ctx;

	ctx = eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return ERR_CAST(ctx);

	efd = kzalloc(sizeof(*efd), GFP_KERNEL);
	if (!efd) {
		eventfd_ctx_put(ctx);
		return ERR_PTR(-ENOMEM);
	}
	efd->ctx = ctx;
	return efd;
}

static void vhost_vdpa_eventfd_free(struct rcu_head *rcu)
{
	struct vhost_vdpa_eventfd *efd =
		container_of(rcu, struct vhost_vdpa_eventfd, rcu);

	eventfd_ctx_put(efd->ctx);
	kfree(efd);
}

/**
 * vhost_vdpa_eventfd_put - release a wrapper after an RCU grace period
 * @efd: a wrapper already unpublished, or NULL
 */
void vhost_vdpa_eventfd_put(struct vhost_vdpa_eventfd *efd)
{
	if (efd)
		call_rcu(&efd->rcu, vhost_vdpa_eventfd_free);
}

/* The parent's used-buffer callback; any context. */
static irqreturn_t vhost_vdpa_vq_cb(void *private)
{
	struct vhost_vdpa_vq *vq = private;
	struct vhost_vdpa_eventfd *call;

	rcu_read_lock();
	call = rcu_dereference(vq->call);
	if (call)
		eventfd_signal(call->ctx, 1);
	rcu_read_unlock();

	return IRQ_HANDLED;
}

static struct vhost_vdpa_eventfd *vhost_vdpa_vq_call(struct vhost_vdpa *v,
						     struct vhost_vdpa_vq *vq)
{
	return rcu_dereference_protected(vq->call, lockdep_is_held(&v->mutex));
}

/**
 * vhost_vdpa_vq_reinstall_cb - give the parent the vq's current callback
 * @v: the device
 * @index: virtqueue index
 */
void vhost_vdpa_vq_reinstall_cb(struct vhost_vdpa *v, u16 index)
{
	struct vhost_vdpa_vq *vq = &v->vqs[index];
	struct vhost_vdpa_eventfd *call = vhost_vdpa_vq_call(v, vq);
	struct vdpa_callback cb = {};

	if (call) {
		cb.callback = vhost_vdpa_vq_cb;
		cb.private = vq;
		cb.trigger = call->ctx;
	}
	v->vdpa->ops->set_vq_cb(v->vdpa, index, &cb);
}

/**
 * vhost_vdpa_setup_irq - register the vq's irq bypass producer
 * @v: the device, in DRIVER_OK
 * @index: virtqueue index
 *
 * Only parents with get_vq_irq and a vq with a call eventfd take part.  The
 * token is the call eventfd context, which KVM's irqfd matches.
 */
void vhost_vdpa_setup_irq(struct vhost_vdpa *v, u16 index)
{
	struct vhost_vdpa_vq *vq = &v->vqs[index];
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	struct vhost_vdpa_eventfd *call = vhost_vdpa_vq_call(v, vq);
	int irq, ret;

	if (!ops->get_vq_irq || !call || vq->producer_registered)
		return;

	irq = ops->get_vq_irq(v->vdpa, index);
	if (irq < 0)
		return;

	vq->producer.token = call->ctx;
	vq->producer.irq = irq;
	ret = irq_bypass_register_producer(&vq->producer);
	if (ret) {
		/*
		 * -EBUSY when the client binds one call eventfd to two vqs:
		 * userspace can repeat it at will, so ratelimited.
		 */
		dev_info_ratelimited(&v->dev,
				     "vq %u: irq bypass producer not registered (%d)\n",
				     index, ret);
		return;
	}
	vq->producer_registered = true;
}

/**
 * vhost_vdpa_unsetup_irq - unregister the vq's irq bypass producer
 * @v: the device
 * @index: virtqueue index
 *
 * Must run before the call eventfd the token points to is released.
 */
void vhost_vdpa_unsetup_irq(struct vhost_vdpa *v, u16 index)
{
	struct vhost_vdpa_vq *vq = &v->vqs[index];

	if (!vq->producer_registered)
		return;
	irq_bypass_unregister_producer(&vq->producer);
	vq->producer_registered = false;
	vq->producer.token = NULL;
}

static bool vhost_vdpa_driver_ok(struct vhost_vdpa *v)
{
	return vdpa_get_status(v->vdpa) & VIRTIO_CONFIG_S_DRIVER_OK;
}

/*
 * Wake function of the kick eventfd: runs under the eventfd's wait-queue
 * lock with interrupts off, so it only calls kick_vq.  The entry is removed
 * (under that lock) before the device can go away.
 */
static int vhost_vdpa_kick_wake(wait_queue_entry_t *wait, unsigned int mode,
				int sync, void *key)
{
	struct vhost_vdpa_vq *vq =
		container_of(wait, struct vhost_vdpa_vq, kick_wait);
	struct vdpa_device *vdpa = vq->v->vdpa;

	if (!(key_to_poll(key) & EPOLLIN))
		return 0;
	vdpa->ops->kick_vq(vdpa, vq->index);
	return 0;
}

static void vhost_vdpa_kick_queue_proc(struct file *file,
				       wait_queue_head_t *wqh, poll_table *pt)
{
	struct vhost_vdpa_vq *vq =
		container_of(pt, struct vhost_vdpa_vq, kick_pt);

	vq->kick_wqh = wqh;
	add_wait_queue(wqh, &vq->kick_wait);
}

/**
 * vhost_vdpa_vq_stop_kick - stop polling the kick eventfd and drop it
 * @v: the device
 * @index: virtqueue index
 */
void vhost_vdpa_vq_stop_kick(struct vhost_vdpa *v, u16 index)
{
	struct vhost_vdpa_vq *vq = &v->vqs[index];

	if (vq->kick_wqh) {
		remove_wait_queue(vq->kick_wqh, &vq->kick_wait);
		vq->kick_wqh = NULL;
	}
	if (vq->kick_file) {
		fput(vq->kick_file);
		vq->kick_file = NULL;
	}
}

static int vhost_vdpa_vq_start_kick(struct vhost_vdpa *v,
				    struct vhost_vdpa_vq *vq)
{
	__poll_t mask;

	init_waitqueue_func_entry(&vq->kick_wait, vhost_vdpa_kick_wake);
	init_poll_funcptr(&vq->kick_pt, vhost_vdpa_kick_queue_proc);

	mask = vfs_poll(vq->kick_file, &vq->kick_pt);
	if (mask & EPOLLERR) {
		vhost_vdpa_vq_stop_kick(v, vq->index);
		return -EINVAL;
	}
	/* Buffers made available before the eventfd was bound. */
	if (mask & EPOLLIN)
		v->vdpa->ops->kick_vq(v->vdpa, vq->index);
	return 0;
}

static long vhost_vdpa_set_vring_kick(struct vhost_vdpa *v,
				      struct vhost_vdpa_vq *vq,
				      void __user *argp)
{
	struct vhost_vring_file f;
	struct file *file = NULL;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.fd != VHOST_FILE_UNBIND) {
		file = eventfd_fget(f.fd);
		if (IS_ERR(file))
			return PTR_ERR(file);
	}

	if (file && file == vq->kick_file) {
		/* Same eventfd: keep polling as before. */
		fput(file);
		return 0;
	}

	vhost_vdpa_vq_stop_kick(v, vq->index);
	if (!file)
		return 0;
	vq->kick_file = file;
	return vhost_vdpa_vq_start_kick(v, vq);
}

static long vhost_vdpa_set_vring_call(struct vhost_vdpa *v,
				      struct vhost_vdpa_vq *vq,
				      void __user *argp)
{
	struct vhost_vdpa_eventfd *call = NULL, *old;
	struct vhost_vring_file f;
	bool driver_ok;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.fd != VHOST_FILE_UNBIND) {
		call = vhost_vdpa_eventfd_get(f.fd);
		if (IS_ERR(call))
			return PTR_ERR(call);
	}

	/*
	 * The producer's token is the old context: unregister it first.  The
	 * parent may still run the old callback on another CPU; it then sees
	 * either eventfd, both alive until the grace period after the swap.
	 */
	driver_ok = vhost_vdpa_driver_ok(v);
	vhost_vdpa_unsetup_irq(v, vq->index);
	old = rcu_replace_pointer(vq->call, call, lockdep_is_held(&v->mutex));
	vhost_vdpa_vq_reinstall_cb(v, vq->index);
	if (driver_ok)
		vhost_vdpa_setup_irq(v, vq->index);
	vhost_vdpa_eventfd_put(old);
	return 0;
}

static long vhost_vdpa_set_vring_err(struct vhost_vdpa_vq *vq,
				     void __user *argp)
{
	struct eventfd_ctx *ctx = NULL;
	struct vhost_vring_file f;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.fd != VHOST_FILE_UNBIND) {
		ctx = eventfd_ctx_fdget(f.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	swap(ctx, vq->err_ctx);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

static long vhost_vdpa_set_vring_num(struct vhost_vdpa *v, u16 idx,
				     void __user *argp)
{
	struct vhost_vring_state s;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	/* Not checked against get_vq_num_max: QEMU relies on that. */
	if (!s.num || s.num > 0xffff || !is_power_of_2(s.num))
		return -EINVAL;
	v->vdpa->ops->set_vq_num(v->vdpa, idx, s.num);
	return 0;
}

/* [6.8] ring addresses and positions are fixed while the device runs. */
static bool vhost_vdpa_vq_changeable(struct vhost_vdpa *v)
{
	return !vhost_vdpa_driver_ok(v) || v->suspended;
}

static long vhost_vdpa_set_vring_addr(struct vhost_vdpa *v, u16 idx,
				      void __user *argp)
{
	struct vhost_vdpa_vq *vq = &v->vqs[idx];
	struct vhost_vring_addr a;
	bool changeable;
	int ret;

	changeable = vhost_vdpa_vq_changeable(v);
	/* logging parents: see below */
	if (!changeable && !v->can_log)
		return -EINVAL;
	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~BIT(VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	/* The avail ring holds u16s, the used ring and the log u32s. */
	if ((a.avail_user_addr & (sizeof(u16) - 1)) ||
	    (a.used_user_addr & (sizeof(u32) - 1)) ||
	    (a.log_guest_addr & (sizeof(u32) - 1)))
		return -EINVAL;

	if (!changeable) {
		/*
		 * QEMU's vhost core turns logging on and off on a running
		 * device by sending the same addresses again with another
		 * VHOST_VRING_F_LOG: nothing to do, the parent logs the
		 * used ring at the IOVAs it writes.  Moving a ring is not.
		 */
		if (a.desc_user_addr != vq->desc_addr ||
		    a.avail_user_addr != vq->avail_addr ||
		    a.used_user_addr != vq->used_addr)
			return -EINVAL;
		return 0;
	}

	ret = v->vdpa->ops->set_vq_address(v->vdpa, idx, a.desc_user_addr,
					   a.avail_user_addr, a.used_user_addr);
	if (ret)
		return -EINVAL;
	vq->desc_addr = a.desc_user_addr;
	vq->avail_addr = a.avail_user_addr;
	vq->used_addr = a.used_user_addr;
	return 0;
}

static bool vhost_vdpa_packed(struct vhost_vdpa *v)
{
	return v->acked_features & BIT_ULL(VIRTIO_F_RING_PACKED);
}

/*
 * Packed rings encode both positions in the u32: bits 0-14 the last avail
 * index and bit 15 its wrap counter, bits 16-30 the last used index and
 * bit 31 its wrap counter.
 */
static long vhost_vdpa_set_vring_base(struct vhost_vdpa *v, u16 idx,
				      void __user *argp)
{
	struct vdpa_vq_state state = {};
	struct vhost_vring_state s;
	int ret;

	if (!vhost_vdpa_vq_changeable(v))
		return -EINVAL;
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;

	if (vhost_vdpa_packed(v)) {
		state.packed.last_avail_idx = s.num & 0x7fff;
		state.packed.last_avail_counter = !!(s.num & 0x8000);
		state.packed.last_used_idx = (s.num >> 16) & 0x7fff;
		state.packed.last_used_counter = !!(s.num & 0x80000000);
	} else {
		if (s.num > 0xffff)
			return -EINVAL;
		state.split.avail_index = s.num;
	}
	ret = v->vdpa->ops->set_vq_state(v->vdpa, idx, &state);
	if (!ret)
		v->vqs[idx].base_saved = false;
	return ret;
}

/* The parent's position of queue @idx, in VHOST_GET_VRING_BASE's encoding. */
static int vhost_vdpa_read_base(struct vhost_vdpa *v, u16 idx, u32 *num)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	struct vdpa_vq_state state = {};
	int ret;

	if (!ops->get_vq_state)
		return -EOPNOTSUPP;
	ret = ops->get_vq_state(v->vdpa, idx, &state);
	if (ret)
		return ret;

	if (vhost_vdpa_packed(v))
		*num = state.packed.last_avail_idx |
			(u32)state.packed.last_avail_counter << 15 |
			(u32)state.packed.last_used_idx << 16 |
			(u32)state.packed.last_used_counter << 31;
	else
		*num = state.split.avail_index;
	return 0;
}

static long vhost_vdpa_get_vring_base(struct vhost_vdpa *v, u16 idx,
				      void __user *argp)
{
	struct vhost_vdpa_vq *vq = &v->vqs[idx];
	struct vhost_vring_state s = { .index = idx };
	int ret;

	if (vq->base_saved) {
		s.num = vq->saved_base;
	} else {
		ret = vhost_vdpa_read_base(v, idx, &s.num);
		if (ret)
			return ret;
	}
	return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
}

/**
 * vhost_vdpa_save_bases - keep every queue's position across a reset
 * @v: the device, stopped (suspended, or its parent cannot suspend)
 *
 * QEMU 7.2 stops a vhost-vdpa device by resetting it and only then reads
 * the queues' positions (VHOST_GET_VRING_BASE), which a reset device has
 * lost.  For a migration (VHOST_F_LOG_ALL acked) those positions are the
 * guest's state on the destination, so they are read before the reset and
 * given to VHOST_GET_VRING_BASE until the client sets a base or starts the
 * device again.
 */
void vhost_vdpa_save_bases(struct vhost_vdpa *v)
{
	struct vhost_vdpa_vq *vq;
	u32 i;

	for (i = 0; i < v->nvqs; i++) {
		vq = &v->vqs[i];
		vq->base_saved = !vhost_vdpa_read_base(v, i, &vq->saved_base);
	}
}

/* The device runs again: the queues' positions are the parent's. */
void vhost_vdpa_forget_bases(struct vhost_vdpa *v)
{
	u32 i;

	for (i = 0; i < v->nvqs; i++)
		v->vqs[i].base_saved = false;
}

static long vhost_vdpa_put_state(void __user *argp, u16 idx, u32 num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
}

static long vhost_vdpa_get_vring_group(struct vhost_vdpa *v, u16 idx,
				       void __user *argp, bool desc)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	u32 group;

	if (desc) {
		if (!ops->get_vq_desc_group)
			return -EOPNOTSUPP;
		group = ops->get_vq_desc_group(v->vdpa, idx);
	} else {
		if (!ops->get_vq_group)
			return -EOPNOTSUPP;
		group = ops->get_vq_group(v->vdpa, idx);
	}
	if (group >= v->vdpa->ngroups)
		return -EIO;
	return vhost_vdpa_put_state(argp, idx, group);
}

/* The "index" is a group here: it already passed the index < nvqs check. */
static long vhost_vdpa_set_group_asid(struct vhost_vdpa *v, void __user *argp)
{
	const struct vdpa_config_ops *ops = v->vdpa->ops;
	struct vhost_vring_state s;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.index >= v->vdpa->ngroups || s.num >= v->vdpa->nas)
		return -EINVAL;
	if (!ops->set_group_asid)
		return -EOPNOTSUPP;
	/* Both index the parent's tables. */
	s.index = array_index_nospec(s.index, v->vdpa->ngroups);
	s.num = array_index_nospec(s.num, v->vdpa->nas);
	return ops->set_group_asid(v->vdpa, s.index, s.num);
}

static long vhost_vdpa_set_vring_enable(struct vhost_vdpa *v, u16 idx,
					void __user *argp)
{
	struct vhost_vring_state s;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	/* Accepted before and after DRIVER_OK (QEMU >= 8.2 relies on it). */
	v->vdpa->ops->set_vq_ready(v->vdpa, idx, s.num != 0);
	return 0;
}

static long vhost_vdpa_busyloop(struct vhost_vdpa_vq *vq, unsigned int cmd,
				void __user *argp)
{
	struct vhost_vring_state s;

	if (cmd == VHOST_GET_VRING_BUSYLOOP_TIMEOUT)
		return vhost_vdpa_put_state(argp, vq->index,
					    vq->busyloop_timeout);
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	vq->busyloop_timeout = s.num;
	return 0;
}

/**
 * vhost_vdpa_vring_ioctl - a per-virtqueue ioctl, or any unknown one
 * @v: the device; the caller checked the owner
 * @cmd: ioctl command
 * @argp: its argument, starting with a u32 virtqueue index
 *
 * Return: 0 or a negative errno; -EFAULT if the index cannot be read,
 * -ENOBUFS if it is out of range, -ENOTTY for commands not handled here.
 */
long vhost_vdpa_vring_ioctl(struct vhost_vdpa *v, unsigned int cmd,
			    void __user *argp)
{
	struct vhost_vdpa_vq *vq;
	u32 idx;

	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= v->nvqs)
		return -ENOBUFS;
	idx = array_index_nospec(idx, v->nvqs);
	vq = &v->vqs[idx];

	switch (cmd) {
	case VHOST_SET_VRING_NUM:
		return vhost_vdpa_set_vring_num(v, idx, argp);
	case VHOST_SET_VRING_ADDR:
		return vhost_vdpa_set_vring_addr(v, idx, argp);
	case VHOST_SET_VRING_BASE:
		return vhost_vdpa_set_vring_base(v, idx, argp);
	case VHOST_GET_VRING_BASE:
		return vhost_vdpa_get_vring_base(v, idx, argp);
	case VHOST_SET_VRING_KICK:
		return vhost_vdpa_set_vring_kick(v, vq, argp);
	case VHOST_SET_VRING_CALL:
		return vhost_vdpa_set_vring_call(v, vq, argp);
	case VHOST_SET_VRING_ERR:
		return vhost_vdpa_set_vring_err(vq, argp);
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		return vhost_vdpa_busyloop(vq, cmd, argp);
	case VHOST_VDPA_SET_VRING_ENABLE:
		return vhost_vdpa_set_vring_enable(v, idx, argp);
	case VHOST_VDPA_GET_VRING_GROUP:
		return vhost_vdpa_get_vring_group(v, idx, argp, false);
	case VHOST_VDPA_GET_VRING_DESC_GROUP:
		return vhost_vdpa_get_vring_group(v, idx, argp, true);
	case VHOST_VDPA_SET_GROUP_ASID:
		return vhost_vdpa_set_group_asid(v, argp);
	case VHOST_VDPA_GET_VRING_SIZE:
		if (!v->vdpa->ops->get_vq_size)
			return -EOPNOTSUPP;
		return vhost_vdpa_put_state(argp, idx,
					    v->vdpa->ops->get_vq_size(v->vdpa, idx));
	default:
		/* Endianness (no cross-endian support), and unknown ioctls. */
		return -ENOTTY;
	}
}

/**
 * vhost_vdpa_vq_init - reset a virtqueue's vhost state (no eventfds)
 * @v: the device
 * @index: virtqueue index
 */
void vhost_vdpa_vq_init(struct vhost_vdpa *v, u16 index)
{
	struct vhost_vdpa_vq *vq = &v->vqs[index];

	vq->v = v;
	vq->index = index;
	vq->busyloop_timeout = 0;
	vq->desc_addr = 0;
	vq->avail_addr = 0;
	vq->used_addr = 0;
	vq->base_saved = false;
}

/**
 * vhost_vdpa_vq_cleanup - detach and drop every eventfd of a virtqueue
 * @v: the device, already reset, irq bypass already unregistered
 * @index: virtqueue index
 */
void vhost_vdpa_vq_cleanup(struct vhost_vdpa *v, u16 index)
{
	struct vhost_vdpa_vq *vq = &v->vqs[index];
	struct vhost_vdpa_eventfd *call;
	struct vdpa_callback cb = {};

	vhost_vdpa_vq_stop_kick(v, index);

	v->vdpa->ops->set_vq_cb(v->vdpa, index, &cb);
	call = rcu_replace_pointer(vq->call, NULL, lockdep_is_held(&v->mutex));
	vhost_vdpa_eventfd_put(call);

	if (vq->err_ctx) {
		eventfd_ctx_put(vq->err_ctx);
		vq->err_ctx = NULL;
	}
	vq->busyloop_timeout = 0;
}
