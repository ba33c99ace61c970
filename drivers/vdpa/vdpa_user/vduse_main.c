// SPDX-License-Identifier: GPL-2.0
/*
 * VDUSE: vDPA devices implemented by a userspace process (the daemon).
 *
 * /dev/vduse/control creates and destroys devices; each device gets
 * /dev/vduse/<name>, which its daemon opens to set up virtqueues, receive
 * requests (read) and answer them (write).  The management device "vduse"
 * puts a created device on the vdpa bus (`vdpa dev add ... mgmtdev vduse`).
 *
 * Locks, outermost first: vduse_dev.umem_lock, vduse_lock (global), then
 * vduse_dev.lock, then the spinlocks (vduse_dev.msg_lock, vduse_vq.lock,
 * vduse_vq.irq_lock, vduse_dev.config_cb_lock), never two of those at
 * once; the domain's locks are innermost.  No lock is held while a
 * request waits for the daemon.
 */

#include <linux/cdev.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vdpa_version.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vduse.h"

#define VDUSE_DEV_MAX		BIT(MINORBITS)
#define VDUSE_MAX_VQS		64
#define VDUSE_MAX_VQ_SIZE	1024
#define VDUSE_MAX_CONFIG_SIZE	PAGE_SIZE
/* vdpa device names are shorter than VDUSE's */
#define VDUSE_MAX_NAME_LEN	63

static unsigned int msg_timeout = 10;
module_param(msg_timeout, uint, 0644);
MODULE_PARM_DESC(msg_timeout,
		 "Seconds the daemon has to answer a request before the device is marked broken (default 10, at least 1)");

static unsigned int domain_mb = 64;
module_param(domain_mb, uint, 0444);
MODULE_PARM_DESC(domain_mb,
		 "Size in MiB of each device's IOVA space for kernel drivers' DMA (default 64, 1 to 1024)");

/* Protects vduse_idr and each device's @vdev and @connected transitions. */
static DEFINE_MUTEX(vduse_lock);
static DEFINE_IDR(vduse_idr);
static dev_t vduse_major;
static struct class *vduse_class;
static struct cdev vduse_ctrl_cdev;
static struct cdev vduse_dev_cdev;
static struct device *vduse_ctrl_node;
static struct workqueue_struct *vduse_wq;

/* One request in flight to the daemon, on the stack of its sender. */
struct vduse_msg {
	struct vduse_dev_request req;
	struct vduse_dev_response resp;
	struct list_head list;
	wait_queue_head_t waitq;
	bool completed;
	bool failed;
};

static struct vduse_dev *vdpa_to_vduse(struct vdpa_device *vdpa)
{
	return container_of(vdpa, struct vduse_vdpa, vdpa)->dev;
}

struct vduse_domain *vduse_dev_to_domain(struct device *dev)
{
	return vdpa_to_vduse(dev_to_vdpa(dev))->domain;
}

/* ---- requests to the daemon ---- */

/* @msg_lock held: complete every queued request with failure. */
static void vduse_fail_msgs(struct vduse_dev *dev)
{
	struct vduse_msg *msg, *tmp;

	list_splice_init(&dev->recv_list, &dev->send_list);
	list_for_each_entry_safe(msg, tmp, &dev->send_list, list) {
		list_del_init(&msg->list);
		msg->failed = true;
		msg->completed = true;
		wake_up(&msg->waitq);
	}
}

static void vduse_dev_break(struct vduse_dev *dev, const char *why)
{
	bool was;

	spin_lock(&dev->msg_lock);
	was = dev->broken;
	dev->broken = true;
	vduse_fail_msgs(dev);
	spin_unlock(&dev->msg_lock);
	if (!was)
		dev_warn_ratelimited(dev->node, "device broken: %s\n", why);
	/* a daemon in read() or poll() learns it (vduse_dev_read) */
	wake_up(&dev->waitq);
	queue_work(vduse_wq, &dev->drain_work);
}

/*
 * msg_timeout in jiffies.  It is any uint, so multiply in 64 bits, and
 * cap it where jiffies comparisons (the unbind watchdog's) still work.
 */
static unsigned long vduse_timeout(void)
{
	u64 timeout = (u64)max(READ_ONCE(msg_timeout), 1U) * HZ;

	return min_t(u64, timeout, MAX_JIFFY_OFFSET);
}

/*
 * Send @msg and wait for the answer, at most msg_timeout seconds.  A
 * daemon that does not answer in time breaks the device: later requests
 * fail at once rather than each waiting out the timeout.
 */
static int vduse_msg_sync(struct vduse_dev *dev, struct vduse_msg *msg)
{
	long left;

	init_waitqueue_head(&msg->waitq);
	INIT_LIST_HEAD(&msg->list);
	spin_lock(&dev->msg_lock);
	if (dev->broken || !dev->connected) {
		spin_unlock(&dev->msg_lock);
		return -EIO;
	}
	msg->req.request_id = dev->msg_unique++;
	list_add_tail(&msg->list, &dev->send_list);
	spin_unlock(&dev->msg_lock);
	wake_up(&dev->waitq);

	left = wait_event_killable_timeout(msg->waitq, msg->completed,
					   vduse_timeout());

	spin_lock(&dev->msg_lock);
	if (!msg->completed) {
		list_del(&msg->list);
		spin_unlock(&dev->msg_lock);
		if (left == 0) {
			vduse_dev_break(dev, "request timed out");
			return -ETIMEDOUT;
		}
		return -EINTR;
	}
	spin_unlock(&dev->msg_lock);
	if (msg->failed || msg->resp.result != VDUSE_REQ_RESULT_OK)
		return -EIO;
	return 0;
}

/* Tell the daemon to drop its mappings of [start, last]. */
int vduse_send_update_iotlb(struct vduse_dev *dev, u64 start, u64 last)
{
	struct vduse_msg msg = { 0 };

	msg.req.type = VDUSE_UPDATE_IOTLB;
	msg.req.iova.start = start;
	msg.req.iova.last = last;
	return vduse_msg_sync(dev, &msg);
}

static int vduse_send_status(struct vduse_dev *dev, u8 status)
{
	struct vduse_msg msg = { 0 };

	msg.req.type = VDUSE_SET_STATUS;
	msg.req.s.status = status;
	return vduse_msg_sync(dev, &msg);
}

/* ---- vdpa ops ---- */

static struct vduse_vq *vduse_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);

	return &dev->vqs[array_index_nospec(idx, dev->vq_num)];
}

static int vduse_vdpa_set_vq_address(struct vdpa_device *vdpa, u16 idx,
				     u64 desc_area, u64 driver_area,
				     u64 device_area)
{
	struct vduse_vq *vq = vduse_vq(vdpa, idx);

	spin_lock_irq(&vq->lock);
	vq->desc_addr = desc_area;
	vq->driver_addr = driver_area;
	vq->device_addr = device_area;
	spin_unlock_irq(&vq->lock);
	return 0;
}

static void vduse_vdpa_set_vq_num(struct vdpa_device *vdpa, u16 idx, u32 num)
{
	struct vduse_vq *vq = vduse_vq(vdpa, idx);

	spin_lock_irq(&vq->lock);
	vq->num = num;
	spin_unlock_irq(&vq->lock);
}

static void vduse_vdpa_kick_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	struct vduse_vq *vq = vduse_vq(vdpa, idx);
	struct eventfd_ctx *ctx;
	unsigned long flags;

	rcu_read_lock();
	spin_lock_irqsave(&vq->lock, flags);
	vduse_vq_track(dev, vq);
	ctx = rcu_dereference(vq->kickfd);
	if (!ctx)
		vq->kicked = true;
	spin_unlock_irqrestore(&vq->lock, flags);
	/* vhost-vdpa kicks from inside its client's eventfd wake-up */
	if (ctx && !eventfd_signal_allowed())
		queue_work(vduse_wq, &vq->kick_work);
	else if (ctx)
		eventfd_signal(ctx, 1);
	rcu_read_unlock();
	if (READ_ONCE(dev->broken))
		queue_work(vduse_wq, &dev->drain_work);
}

static bool vduse_is_packed(struct vduse_dev *dev)
{
	bool packed;

	mutex_lock(&dev->lock);
	packed = dev->driver_features & BIT_ULL(VIRTIO_F_RING_PACKED);
	mutex_unlock(&dev->lock);
	return packed;
}

static void vduse_vdpa_set_vq_cb(struct vdpa_device *vdpa, u16 idx,
				 struct vdpa_callback *cb)
{
	struct vduse_vq *vq = vduse_vq(vdpa, idx);

	spin_lock_irq(&vq->irq_lock);
	vq->cb.callback = cb->callback;
	vq->cb.private = cb->private;
	vq->cb.trigger = NULL;
	spin_unlock_irq(&vq->irq_lock);
}

static void vduse_vdpa_set_vq_ready(struct vdpa_device *vdpa, u16 idx,
				    bool ready)
{
	struct vduse_vq *vq = vduse_vq(vdpa, idx);
	bool packed = vduse_is_packed(vdpa_to_vduse(vdpa));

	spin_lock_irq(&vq->lock);
	if (ready && !vq->ready) {
		vq->packed = packed;
		vduse_vq_reset_tracking(vq);
	}
	vq->ready = ready;
	spin_unlock_irq(&vq->lock);
}

static bool vduse_vdpa_get_vq_ready(struct vdpa_device *vdpa, u16 idx)
{
	struct vduse_vq *vq = vduse_vq(vdpa, idx);
	bool ready;

	spin_lock_irq(&vq->lock);
	ready = vq->ready;
	spin_unlock_irq(&vq->lock);
	return ready;
}

/*
 * A packed ring position: an index below 2^15 (the wrap counter is kept
 * apart, never in bit 15) and two wrap counters that are 0 or 1.
 */
static bool vduse_packed_state_ok(u16 avail_counter, u16 avail_idx,
				  u16 used_counter, u16 used_idx)
{
	return avail_counter <= 1 && used_counter <= 1 &&
	       avail_idx < BIT(15) && used_idx < BIT(15);
}

static int vduse_vdpa_set_vq_state(struct vdpa_device *vdpa, u16 idx,
				   const struct vdpa_vq_state *state)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	struct vduse_vq *vq = vduse_vq(vdpa, idx);
	const struct vdpa_vq_state_packed *p = &state->packed;

	if (vduse_is_packed(dev) &&
	    !vduse_packed_state_ok(p->last_avail_counter, p->last_avail_idx,
				   p->last_used_counter, p->last_used_idx))
		return -EINVAL;
	spin_lock_irq(&vq->lock);
	vq->state = *state;
	spin_unlock_irq(&vq->lock);
	return 0;
}

static int vduse_vdpa_get_vq_state(struct vdpa_device *vdpa, u16 idx,
				   struct vdpa_vq_state *state)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	const struct vduse_vq_state_packed *p;
	struct vduse_msg msg = { 0 };
	int ret;

	msg.req.type = VDUSE_GET_VQ_STATE;
	msg.req.vq_state.index = idx;
	ret = vduse_msg_sync(dev, &msg);
	if (ret)
		return ret;
	if (!vduse_is_packed(dev)) {
		state->split.avail_index = msg.resp.vq_state.split.avail_index;
		return 0;
	}
	/* the daemon's answer: refused, not masked, when out of range */
	p = &msg.resp.vq_state.packed;
	if (!vduse_packed_state_ok(p->last_avail_counter, p->last_avail_idx,
				   p->last_used_counter, p->last_used_idx)) {
		dev_warn_ratelimited(dev->node,
				     "vq %u: packed state %u/%u %u/%u out of range\n",
				     idx, p->last_avail_counter,
				     p->last_avail_idx, p->last_used_counter,
				     p->last_used_idx);
		return -EINVAL;
	}
	state->packed.last_avail_counter = p->last_avail_counter;
	state->packed.last_avail_idx = p->last_avail_idx;
	state->packed.last_used_counter = p->last_used_counter;
	state->packed.last_used_idx = p->last_used_idx;
	return 0;
}

static u32 vduse_vdpa_get_vq_align(struct vdpa_device *vdpa)
{
	return vdpa_to_vduse(vdpa)->vq_align;
}

/* The smallest max_size of the queues: every queue supports it. */
static u16 vduse_vdpa_get_vq_num_max(struct vdpa_device *vdpa)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	u16 num = VDUSE_MAX_VQ_SIZE;
	u32 i;

	for (i = 0; i < dev->vq_num; i++)
		num = min(num, dev->vqs[i].max_size);
	return num;
}

static u64 vduse_vdpa_get_device_features(struct vdpa_device *vdpa)
{
	return vdpa_to_vduse(vdpa)->device_features;
}

static int vduse_vdpa_set_driver_features(struct vdpa_device *vdpa,
					  u64 features)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);

	if (features & ~dev->device_features)
		return -EINVAL;
	mutex_lock(&dev->lock);
	dev->driver_features = features;
	mutex_unlock(&dev->lock);
	return 0;
}

static u64 vduse_vdpa_get_driver_features(struct vdpa_device *vdpa)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	u64 features;

	mutex_lock(&dev->lock);
	features = dev->driver_features;
	mutex_unlock(&dev->lock);
	return features;
}

static void vduse_vdpa_set_config_cb(struct vdpa_device *vdpa,
				     struct vdpa_callback *cb)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);

	spin_lock_irq(&dev->config_cb_lock);
	dev->config_cb.callback = cb->callback;
	dev->config_cb.private = cb->private;
	spin_unlock_irq(&dev->config_cb_lock);
}

static u32 vduse_vdpa_get_device_id(struct vdpa_device *vdpa)
{
	return vdpa_to_vduse(vdpa)->device_id;
}

static u32 vduse_vdpa_get_vendor_id(struct vdpa_device *vdpa)
{
	return vdpa_to_vduse(vdpa)->vendor_id;
}

static u8 vduse_vdpa_get_status(struct vdpa_device *vdpa)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	u8 status;

	mutex_lock(&dev->lock);
	status = dev->status;
	mutex_unlock(&dev->lock);
	return status;
}

/*
 * The daemon must accept a status for it to take effect; a broken device
 * reports DEVICE_NEEDS_RESET, so drivers see it failed.
 */
static void vduse_vdpa_set_status(struct vdpa_device *vdpa, u8 status)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	int ret;

	ret = vduse_send_status(dev, status);
	mutex_lock(&dev->lock);
	if (!ret)
		dev->status = status;
	else
		dev->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	mutex_unlock(&dev->lock);
}

static int vduse_vdpa_reset(struct vdpa_device *vdpa)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	u32 i;

	/* the daemon is told, but a dead or silent one does not stop a reset */
	vduse_send_status(dev, 0);
	mutex_lock(&dev->lock);
	dev->status = 0;
	dev->driver_features = 0;
	mutex_unlock(&dev->lock);
	for (i = 0; i < dev->vq_num; i++) {
		struct vduse_vq *vq = &dev->vqs[i];

		spin_lock_irq(&vq->lock);
		vq->ready = false;
		vq->num = 0;
		vq->desc_addr = 0;
		vq->driver_addr = 0;
		vq->device_addr = 0;
		vq->kicked = false;
		memset(&vq->state, 0, sizeof(vq->state));
		vduse_vq_reset_tracking(vq);
		spin_unlock_irq(&vq->lock);
		spin_lock_irq(&vq->irq_lock);
		vq->cb.callback = NULL;
		vq->cb.private = NULL;
		spin_unlock_irq(&vq->irq_lock);
	}
	spin_lock_irq(&dev->config_cb_lock);
	dev->config_cb.callback = NULL;
	dev->config_cb.private = NULL;
	spin_unlock_irq(&dev->config_cb_lock);
	/* a reset drops set_map's table (vhost-vdpa then drops its files) */
	vduse_iotlb_clear(dev);
	return 0;
}

static size_t vduse_vdpa_get_config_size(struct vdpa_device *vdpa)
{
	return vdpa_to_vduse(vdpa)->config_size;
}

/*
 * A link announcement (VIRTIO_NET_S_ANNOUNCE in the status) is acknowledged
 * on the control virtqueue, which a VDUSE net device never has; virtio_net
 * of 6.1 does not check and hits BUG_ON(!CTRL_VQ) in its config work.  The
 * daemon writes the config, so the bit never reaches the driver.
 */
static void vduse_net_filter_config(unsigned int offset, u8 *buf,
				    unsigned int len)
{
	unsigned int at = offsetof(struct virtio_net_config, status);

	/* the bit is in the low byte of the little-endian status */
	if (offset <= at && at - offset < len)
		buf[at - offset] &= ~VIRTIO_NET_S_ANNOUNCE;
}

static void vduse_vdpa_get_config(struct vdpa_device *vdpa,
				  unsigned int offset, void *buf,
				  unsigned int len)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);

	/* the core checked the bounds against get_config_size */
	mutex_lock(&dev->lock);
	memcpy(buf, dev->config + offset, len);
	mutex_unlock(&dev->lock);
	if (dev->device_id == VIRTIO_ID_NET)
		vduse_net_filter_config(offset, buf, len);
}

/* Config space is the daemon's: drivers' writes are ignored, as upstream. */
static void vduse_vdpa_set_config(struct vdpa_device *vdpa,
				  unsigned int offset, const void *buf,
				  unsigned int len)
{
}

static u32 vduse_vdpa_get_generation(struct vdpa_device *vdpa)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);
	u32 gen;

	mutex_lock(&dev->lock);
	gen = dev->generation;
	mutex_unlock(&dev->lock);
	return gen;
}

/*
 * vhost-vdpa's IOVAs: any, as upstream.  They never meet the bounce
 * domain's, which only kernel drivers (virtio_vdpa) use.
 */
static struct vdpa_iova_range vduse_vdpa_get_iova_range(struct vdpa_device *vdpa)
{
	return (struct vdpa_iova_range) { .first = 0, .last = U64_MAX };
}

static int vduse_vdpa_set_map(struct vdpa_device *vdpa, unsigned int asid,
			      struct vhost_iotlb *iotlb)
{
	if (asid)
		return -EINVAL;
	return vduse_iotlb_set_map(vdpa_to_vduse(vdpa), iotlb);
}

static const struct vdpa_config_ops vduse_vdpa_ops = {
	.set_vq_address = vduse_vdpa_set_vq_address,
	.set_vq_num = vduse_vdpa_set_vq_num,
	.kick_vq = vduse_vdpa_kick_vq,
	.set_vq_cb = vduse_vdpa_set_vq_cb,
	.set_vq_ready = vduse_vdpa_set_vq_ready,
	.get_vq_ready = vduse_vdpa_get_vq_ready,
	.set_vq_state = vduse_vdpa_set_vq_state,
	.get_vq_state = vduse_vdpa_get_vq_state,
	.get_vq_align = vduse_vdpa_get_vq_align,
	.get_vq_num_max = vduse_vdpa_get_vq_num_max,
	.get_device_features = vduse_vdpa_get_device_features,
	.set_driver_features = vduse_vdpa_set_driver_features,
	.get_driver_features = vduse_vdpa_get_driver_features,
	.set_config_cb = vduse_vdpa_set_config_cb,
	.get_device_id = vduse_vdpa_get_device_id,
	.get_vendor_id = vduse_vdpa_get_vendor_id,
	.get_status = vduse_vdpa_get_status,
	.set_status = vduse_vdpa_set_status,
	.reset = vduse_vdpa_reset,
	.get_config_size = vduse_vdpa_get_config_size,
	.get_config = vduse_vdpa_get_config,
	.set_config = vduse_vdpa_set_config,
	.get_generation = vduse_vdpa_get_generation,
	.get_iova_range = vduse_vdpa_get_iova_range,
	.set_map = vduse_vdpa_set_map,
};

/* ---- /dev/vduse/<name> ---- */

/* @msg_lock held: a breakage poll() reports and no read() has yet. */
static bool vduse_broken_untold(struct vduse_dev *dev)
{
	return dev->broken && !dev->broken_told;
}

/*
 * A broken device gets no request until it is attached again, so the
 * first read() after the breakage fails with EIO instead of sleeping: a
 * daemon woken by EPOLLERR (qemu-storage-daemon reads on it) would
 * otherwise sleep here, past its own SIGTERM.  Later reads wait as usual.
 */
static ssize_t vduse_dev_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	struct vduse_dev *dev = file->private_data;
	struct vduse_dev_request req;
	struct vduse_msg *msg;
	int ret;

	if (count < sizeof(req))
		return -EINVAL;
	spin_lock(&dev->msg_lock);
	while (list_empty(&dev->send_list)) {
		if (vduse_broken_untold(dev)) {
			dev->broken_told = true;
			spin_unlock(&dev->msg_lock);
			return -EIO;
		}
		spin_unlock(&dev->msg_lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		/* rechecked under @msg_lock: a told breakage sleeps on */
		ret = wait_event_interruptible(dev->waitq,
					       !list_empty(&dev->send_list) ||
					       (READ_ONCE(dev->broken) &&
						!READ_ONCE(dev->broken_told)));
		if (ret)
			return ret;
		spin_lock(&dev->msg_lock);
	}
	msg = list_first_entry(&dev->send_list, struct vduse_msg, list);
	req = msg->req;
	list_move_tail(&msg->list, &dev->recv_list);
	spin_unlock(&dev->msg_lock);

	if (copy_to_user(buf, &req, sizeof(req))) {
		/* the request is still pending: hand it out again */
		spin_lock(&dev->msg_lock);
		list_for_each_entry(msg, &dev->recv_list, list) {
			if (msg->req.request_id == req.request_id) {
				list_move(&msg->list, &dev->send_list);
				break;
			}
		}
		spin_unlock(&dev->msg_lock);
		return -EFAULT;
	}
	return sizeof(req);
}

static ssize_t vduse_dev_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct vduse_dev *dev = file->private_data;
	struct vduse_dev_response resp;
	struct vduse_msg *msg;

	if (count < sizeof(resp))
		return -EINVAL;
	if (copy_from_user(&resp, buf, sizeof(resp)))
		return -EFAULT;
	spin_lock(&dev->msg_lock);
	list_for_each_entry(msg, &dev->recv_list, list) {
		if (msg->req.request_id != resp.request_id)
			continue;
		list_del_init(&msg->list);
		msg->resp = resp;
		msg->completed = true;
		wake_up(&msg->waitq);
		spin_unlock(&dev->msg_lock);
		WRITE_ONCE(dev->alive, jiffies);
		return sizeof(resp);
	}
	spin_unlock(&dev->msg_lock);
	dev_dbg_ratelimited(dev->node, "response to unknown request %u\n",
			    resp.request_id);
	return -ENOENT;
}

static __poll_t vduse_dev_poll(struct file *file, poll_table *wait)
{
	struct vduse_dev *dev = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &dev->waitq, wait);
	spin_lock(&dev->msg_lock);
	if (!list_empty(&dev->send_list))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (!list_empty(&dev->recv_list))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (vduse_broken_untold(dev))
		mask |= EPOLLERR;
	spin_unlock(&dev->msg_lock);
	return mask;
}

static int vduse_get_vq_index(struct vduse_dev *dev, u32 index)
{
	if (index >= dev->vq_num)
		return -EINVAL;
	return array_index_nospec(index, dev->vq_num);
}

static long vduse_vq_setup(struct vduse_dev *dev, void __user *argp)
{
	struct vduse_vq_config config;
	struct vduse_packed_buf *bufs = NULL;
	struct vduse_vq *vq;
	unsigned long *inflight;
	int idx;

	if (copy_from_user(&config, argp, sizeof(config)))
		return -EFAULT;
	if (memchr_inv(config.reserved, 0, sizeof(config.reserved)))
		return -EINVAL;
	idx = vduse_get_vq_index(dev, config.index);
	if (idx < 0)
		return idx;
	if (!config.max_size || config.max_size > VDUSE_MAX_VQ_SIZE) {
		dev_warn_ratelimited(dev->node, "vq %d: max_size %u not in 1..%u\n",
				     idx, config.max_size, VDUSE_MAX_VQ_SIZE);
		return -EINVAL;
	}
	inflight = bitmap_zalloc(config.max_size, GFP_KERNEL);
	if (dev->device_features & BIT_ULL(VIRTIO_F_RING_PACKED))
		bufs = kcalloc(config.max_size, sizeof(*bufs), GFP_KERNEL);
	if (!inflight || ((dev->device_features &
			   BIT_ULL(VIRTIO_F_RING_PACKED)) && !bufs)) {
		bitmap_free(inflight);
		kfree(bufs);
		return -ENOMEM;
	}
	mutex_lock(&vduse_lock);
	if (dev->vdev) {
		mutex_unlock(&vduse_lock);
		bitmap_free(inflight);
		kfree(bufs);
		return -EBUSY;
	}
	vq = &dev->vqs[idx];
	spin_lock_irq(&vq->lock);
	swap(vq->inflight, inflight);
	swap(vq->bufs, bufs);
	vq->max_size = config.max_size;
	spin_unlock_irq(&vq->lock);
	mutex_unlock(&vduse_lock);
	bitmap_free(inflight);
	kfree(bufs);
	return 0;
}

static long vduse_vq_get_info(struct vduse_dev *dev, void __user *argp)
{
	struct vduse_vq_info info = { 0 };
	struct vduse_vq *vq;
	bool packed;
	u32 index;
	int idx;

	if (get_user(index, (u32 __user *)argp))
		return -EFAULT;
	idx = vduse_get_vq_index(dev, index);
	if (idx < 0)
		return idx;
	vq = &dev->vqs[idx];
	info.index = idx;
	packed = vduse_is_packed(dev);
	spin_lock_irq(&vq->lock);
	info.num = vq->num;
	info.desc_addr = vq->desc_addr;
	info.driver_addr = vq->driver_addr;
	info.device_addr = vq->device_addr;
	if (packed) {
		info.packed.last_avail_counter =
			vq->state.packed.last_avail_counter;
		info.packed.last_avail_idx = vq->state.packed.last_avail_idx;
		info.packed.last_used_counter =
			vq->state.packed.last_used_counter;
		info.packed.last_used_idx = vq->state.packed.last_used_idx;
	} else {
		info.split.avail_index = vq->state.split.avail_index;
	}
	info.ready = vq->ready;
	spin_unlock_irq(&vq->lock);
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

static long vduse_vq_setup_kickfd(struct vduse_dev *dev, void __user *argp)
{
	struct eventfd_ctx *ctx = NULL, *old;
	struct vduse_vq_eventfd efd;
	bool pending;
	struct vduse_vq *vq;
	int idx;

	if (copy_from_user(&efd, argp, sizeof(efd)))
		return -EFAULT;
	idx = vduse_get_vq_index(dev, efd.index);
	if (idx < 0)
		return idx;
	if (efd.fd != VDUSE_EVENTFD_DEASSIGN) {
		if (efd.fd < 0)
			return -EINVAL;
		ctx = eventfd_ctx_fdget(efd.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	vq = &dev->vqs[idx];
	rcu_read_lock();
	spin_lock_irq(&vq->lock);
	old = rcu_dereference_protected(vq->kickfd, lockdep_is_held(&vq->lock));
	rcu_assign_pointer(vq->kickfd, ctx);
	/* a kick that came while there was no eventfd is not lost */
	pending = ctx && vq->kicked;
	if (pending)
		vq->kicked = false;
	spin_unlock_irq(&vq->lock);
	if (pending)
		eventfd_signal(ctx, 1);
	rcu_read_unlock();
	if (old) {
		/* kick paths may still be signalling it */
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
	return 0;
}

/*
 * Queue @vq's handler work on the next CPU of its affinity (irq_lock
 * held, the mask not all CPUs): round robin over the CPUs of the mask
 * that are online, or on any CPU when none of them is.
 */
static void vduse_vq_irq_queue(struct vduse_vq *vq)
{
	int cpu;

	lockdep_assert_held(&vq->irq_lock);
	cpu = cpumask_next_and(vq->irq_cpu, vq->irq_affinity, cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first_and(vq->irq_affinity, cpu_online_mask);
	if (cpu >= nr_cpu_ids) {
		queue_work(vduse_wq, &vq->irq_work);
		return;
	}
	vq->irq_cpu = cpu;
	queue_work_on(cpu, system_highpri_wq, &vq->irq_work);
}

static long vduse_vq_inject_irq(struct vduse_dev *dev, void __user *argp)
{
	struct vduse_vq *vq;
	u32 index;
	int idx;

	if (get_user(index, (u32 __user *)argp))
		return -EFAULT;
	idx = vduse_get_vq_index(dev, index);
	if (idx < 0)
		return idx;
	vq = &dev->vqs[idx];
	WRITE_ONCE(dev->alive, jiffies);
	/* record completions before the driver can reuse their heads */
	spin_lock_irq(&vq->lock);
	vduse_vq_track(dev, vq);
	spin_unlock_irq(&vq->lock);
	/*
	 * Any CPU will do: run the handler here, in the daemon's thread, as
	 * a device's interrupt runs on whatever CPU it lands.  A hop to a
	 * worker costs a wake-up and a context switch per interrupt, more
	 * than the handler of a small request (Documentation/testing.rst,
	 * 35-vduse).  The daemon pays for its own interrupts, however many
	 * it injects, and a reset (which clears @cb under irq_lock) cannot
	 * race the call.
	 */
	spin_lock_irq(&vq->irq_lock);
	if (vq->irq_cpu < 0) {
		spin_unlock_irq(&vq->irq_lock);
		vduse_vq_call_driver(vq);
		return 0;
	}
	/* injections while one is pending are one interrupt, as on hardware */
	vduse_vq_irq_queue(vq);
	spin_unlock_irq(&vq->irq_lock);
	return 0;
}

/**
 * vduse_vq_call_driver - run the driver's handler of @vq's interrupt
 * @vq: the queue
 *
 * From process context, as a hard interrupt would: with bottom halves off,
 * so the softirq a handler raises (a single-queue block device completes
 * its requests in BLOCK_SOFTIRQ) runs here when they are turned back on
 * instead of waking ksoftirqd, one context switch more per interrupt.
 */
void vduse_vq_call_driver(struct vduse_vq *vq)
{
	local_bh_disable();
	spin_lock_irq(&vq->irq_lock);
	if (vq->cb.callback)
		vq->cb.callback(vq->cb.private);
	spin_unlock_irq(&vq->irq_lock);
	local_bh_enable();
}

/* The driver's handler for interrupts the daemon injected. */
static void vduse_vq_irq_work(struct work_struct *work)
{
	vduse_vq_call_driver(container_of(work, struct vduse_vq, irq_work));
}

static long vduse_dev_set_config(struct vduse_dev *dev, void __user *argp)
{
	struct vduse_config_data data;
	u8 *buf;

	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	if (!data.length || data.offset > dev->config_size ||
	    data.length > dev->config_size - data.offset)
		return -EINVAL;
	buf = memdup_user(argp + offsetof(struct vduse_config_data, buffer),
			  data.length);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	mutex_lock(&dev->lock);
	memcpy(dev->config + data.offset, buf, data.length);
	dev->generation++;
	mutex_unlock(&dev->lock);
	kfree(buf);
	return 0;
}

static long vduse_dev_inject_config_irq(struct vduse_dev *dev)
{
	spin_lock_irq(&dev->config_cb_lock);
	if (dev->config_cb.callback)
		dev->config_cb.callback(dev->config_cb.private);
	spin_unlock_irq(&dev->config_cb_lock);
	return 0;
}

/*
 * The region of the bounce domain holding @iova, as one IOTLB entry:
 * the bounce region [0, bounce size - 1] or the coherent region above it.
 * File offset = IOVA.
 */
static bool vduse_domain_region(struct vduse_dev *dev, u64 iova,
				struct vduse_iotlb_entry *entry)
{
	u64 bounce_size = vduse_domain_bounce_size(dev->domain);

	if (iova > vduse_domain_last(dev->domain))
		return false;
	entry->start = iova < bounce_size ? 0 : bounce_size;
	entry->last = iova < bounce_size ? bounce_size - 1 :
		      vduse_domain_last(dev->domain);
	entry->offset = entry->start;
	entry->perm = VDUSE_ACCESS_RW;
	return true;
}

/*
 * An entry of vhost-vdpa's table (its file), else a region of the bounce
 * domain (the domain's file, mapped read-write).
 */
static long vduse_iotlb_get_fd(struct vduse_dev *dev, void __user *argp)
{
	struct vduse_iotlb_entry entry;
	struct file *file;
	long ret;
	int fd;

	if (copy_from_user(&entry, argp, sizeof(entry)))
		return -EFAULT;
	if (entry.start > entry.last)
		return -EINVAL;
	ret = vduse_iotlb_table_get_fd(dev, &entry, argp);
	if (ret != -ENOENT)
		return ret;
	if (!vduse_domain_region(dev, entry.start, &entry))
		return -EINVAL;
	/* the caller learns the fd from the return value, the rest from @entry */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = vduse_domain_get_file(dev->domain);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	if (copy_to_user(argp, &entry, sizeof(entry))) {
		fput(file);
		put_unused_fd(fd);
		return -EFAULT;
	}
	fd_install(fd, file);
	return fd;
}

static long vduse_iotlb_get_info(struct vduse_dev *dev, void __user *argp)
{
	struct vduse_iotlb_entry entry;
	struct vduse_iova_info info;
	int ret;

	if (copy_from_user(&info, argp, sizeof(info)))
		return -EFAULT;
	if (info.start > info.last ||
	    memchr_inv(info.reserved, 0, sizeof(info.reserved)))
		return -EINVAL;
	ret = vduse_iotlb_table_get_info(dev, &info);
	if (!ret)
		return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
	if (ret != -ENOENT)
		return ret;
	if (!vduse_domain_region(dev, info.start, &entry))
		return -EINVAL;
	info.start = entry.start;
	info.last = entry.last;
	/* the bounce region takes a daemon's memory while attached */
	info.capability = 0;
	if (!entry.start && READ_ONCE(dev->vdev))
		info.capability = VDUSE_IOVA_CAP_UMEM;
	return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
}

/* VDUSE_IOTLB_REG_UMEM and VDUSE_IOTLB_DEREG_UMEM, see vduse_umem.c */
static long vduse_iotlb_umem(struct vduse_dev *dev, void __user *argp,
			     bool reg)
{
	struct vduse_iova_umem req;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	if (memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	if (reg)
		return vduse_umem_reg(dev, &req);
	return vduse_umem_dereg(dev, req.iova, req.size);
}

static long vduse_dev_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct vduse_dev *dev = file->private_data;
	void __user *argp = (void __user *)arg;
	u64 features;

	switch (cmd) {
	case VDUSE_IOTLB_GET_FD:
		return vduse_iotlb_get_fd(dev, argp);
	case VDUSE_DEV_GET_FEATURES:
		mutex_lock(&dev->lock);
		features = dev->driver_features;
		mutex_unlock(&dev->lock);
		return put_user(features, (u64 __user *)argp);
	case VDUSE_DEV_SET_CONFIG:
		return vduse_dev_set_config(dev, argp);
	case VDUSE_DEV_INJECT_CONFIG_IRQ:
		return vduse_dev_inject_config_irq(dev);
	case VDUSE_VQ_SETUP:
		return vduse_vq_setup(dev, argp);
	case VDUSE_VQ_GET_INFO:
		return vduse_vq_get_info(dev, argp);
	case VDUSE_VQ_SETUP_KICKFD:
		return vduse_vq_setup_kickfd(dev, argp);
	case VDUSE_VQ_INJECT_IRQ:
		return vduse_vq_inject_irq(dev, argp);
	case VDUSE_IOTLB_GET_INFO:
		return vduse_iotlb_get_info(dev, argp);
	case VDUSE_IOTLB_REG_UMEM:
		return vduse_iotlb_umem(dev, argp, true);
	case VDUSE_IOTLB_DEREG_UMEM:
		return vduse_iotlb_umem(dev, argp, false);
	default:
		return -ENOTTY;
	}
}

static int vduse_dev_open(struct inode *inode, struct file *file)
{
	struct vduse_dev *dev;
	int ret = 0;

	mutex_lock(&vduse_lock);
	dev = idr_find(&vduse_idr, iminor(inode));
	if (!dev) {
		ret = -ENODEV;
		goto out;
	}
	spin_lock(&dev->msg_lock);
	if (dev->connected)
		ret = -EBUSY;
	else
		dev->connected = true;
	spin_unlock(&dev->msg_lock);
	if (!ret)
		file->private_data = dev;
out:
	mutex_unlock(&vduse_lock);
	return ret;
}

/*
 * The daemon is gone: its pending requests fail, and if a vdpa device is
 * attached it is broken for good, its in-flight requests failed.
 */
static int vduse_dev_release(struct inode *inode, struct file *file)
{
	struct vduse_dev *dev = file->private_data;
	u32 i;

	/* the daemon's memory goes back to it before anything else */
	vduse_umem_dereg(dev, 0, vduse_domain_bounce_size(dev->domain));
	mutex_lock(&vduse_lock);
	spin_lock(&dev->msg_lock);
	dev->connected = false;
	vduse_fail_msgs(dev);
	spin_unlock(&dev->msg_lock);
	if (dev->vdev)
		vduse_dev_break(dev, "daemon closed the device");
	for (i = 0; i < dev->vq_num; i++) {
		struct vduse_vq *vq = &dev->vqs[i];
		struct eventfd_ctx *ctx;

		spin_lock_irq(&vq->lock);
		ctx = rcu_dereference_protected(vq->kickfd,
						lockdep_is_held(&vq->lock));
		RCU_INIT_POINTER(vq->kickfd, NULL);
		spin_unlock_irq(&vq->lock);
		if (ctx) {
			synchronize_rcu();
			eventfd_ctx_put(ctx);
		}
	}
	mutex_unlock(&vduse_lock);
	return 0;
}

static const struct file_operations vduse_dev_fops = {
	.owner = THIS_MODULE,
	.open = vduse_dev_open,
	.release = vduse_dev_release,
	.read = vduse_dev_read,
	.write = vduse_dev_write,
	.poll = vduse_dev_poll,
	.unlocked_ioctl = vduse_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* ---- /sys/class/vduse/NAME/vqN/irq_cb_affinity ---- */

static struct vduse_vq *vduse_attr_vq(struct device_attribute *attr)
{
	return container_of(attr, struct dev_ext_attribute, attr)->var;
}

static ssize_t irq_cb_affinity_show(struct device *d,
				    struct device_attribute *attr, char *buf)
{
	struct vduse_vq *vq = vduse_attr_vq(attr);
	ssize_t ret;

	spin_lock_irq(&vq->irq_lock);
	ret = sysfs_emit(buf, "%*pb\n", cpumask_pr_args(vq->irq_affinity));
	spin_unlock_irq(&vq->irq_lock);
	return ret;
}

/* A CPU list as cpumask_parse() reads it; at least one CPU must be active. */
static ssize_t irq_cb_affinity_store(struct device *d,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct vduse_vq *vq = vduse_attr_vq(attr);
	cpumask_var_t mask;
	int ret;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	ret = cpumask_parse(buf, mask);
	if (!ret && !cpumask_intersects(mask, cpu_active_mask))
		ret = -EINVAL;
	if (!ret) {
		spin_lock_irq(&vq->irq_lock);
		cpumask_copy(vq->irq_affinity, mask);
		/* bound: the next queueing starts from the first CPU */
		vq->irq_cpu = cpumask_subset(cpu_possible_mask, mask) ? -1 :
			      nr_cpu_ids - 1;
		spin_unlock_irq(&vq->irq_lock);
	}
	free_cpumask_var(mask);
	return ret ? ret : count;
}

/* One directory vqN per queue in the device node's (removed with it). */
static int vduse_vq_sysfs_add(struct vduse_dev *dev, struct vduse_vq *vq)
{
	struct device_attribute *attr = &vq->sysfs_attr.attr;

	sysfs_attr_init(&attr->attr);
	attr->attr.name = "irq_cb_affinity";
	attr->attr.mode = 0644;
	attr->show = irq_cb_affinity_show;
	attr->store = irq_cb_affinity_store;
	vq->sysfs_attr.var = vq;
	vq->sysfs_attrs[0] = &attr->attr;
	snprintf(vq->sysfs_name, sizeof(vq->sysfs_name), "vq%u", vq->index);
	vq->sysfs_group.name = vq->sysfs_name;
	vq->sysfs_group.attrs = vq->sysfs_attrs;
	return sysfs_create_group(&dev->node->kobj, &vq->sysfs_group);
}

/* ---- device creation ---- */

static void vduse_unbind_watchdog(struct work_struct *work);

static struct vduse_dev *vduse_find_dev(const char *name)
{
	struct vduse_dev *dev;
	int id;

	lockdep_assert_held(&vduse_lock);
	idr_for_each_entry(&vduse_idr, dev, id)
		if (!strcmp(dev->name, name))
			return dev;
	return NULL;
}

static void vduse_dev_free(struct vduse_dev *dev)
{
	u32 i;

	if (dev->vqs)
		for (i = 0; i < dev->vq_num; i++) {
			bitmap_free(dev->vqs[i].inflight);
			kfree(dev->vqs[i].bufs);
			free_cpumask_var(dev->vqs[i].irq_affinity);
		}
	kfree(dev->vqs);
	bitmap_free(dev->drain_told);
	vduse_iotlb_clear(dev);
	/* released with the daemon's file, which is closed by now */
	WARN_ON(dev->umem);
	if (dev->domain)
		vduse_domain_put(dev->domain);
	kfree(dev->config);
	kfree(dev->name);
	kfree(dev);
}

/*
 * The coherent region holds the rings: up to 8 pages a queue (a split
 * ring of 1024 entries; a packed one and its two event areas), twice that
 * so that rings allocated again after a reset always fit.
 */
static u64 vduse_coherent_size(u32 vq_num)
{
	return max_t(u64, SZ_1M, (u64)vq_num * 16 * PAGE_SIZE);
}

static bool vduse_name_ok(const char *name)
{
	size_t len = strnlen(name, VDUSE_NAME_MAX);

	return len && len <= VDUSE_MAX_NAME_LEN && !strchr(name, '/') &&
	       strcmp(name, "control") && strcmp(name, ".") &&
	       strcmp(name, "..");
}

/*
 * What a virtio-net device from userspace may offer.  No control virtqueue,
 * as upstream: virtio_net waits for its answers with the RTNL held, so a
 * daemon that stops answering would stall every network configuration of
 * the host; nor what depends on it (multiqueue, receive filters, VLAN
 * filters, announcements, MAC setting, offload control, RSS).  Without
 * multiqueue, one queue pair.
 */
#define VDUSE_NET_FEATURES						\
	(BIT_ULL(VIRTIO_NET_F_CSUM) | BIT_ULL(VIRTIO_NET_F_GUEST_CSUM) |	\
	 BIT_ULL(VIRTIO_NET_F_MTU) | BIT_ULL(VIRTIO_NET_F_MAC) |		\
	 BIT_ULL(VIRTIO_NET_F_GUEST_TSO4) | BIT_ULL(VIRTIO_NET_F_GUEST_TSO6) | \
	 BIT_ULL(VIRTIO_NET_F_GUEST_ECN) | BIT_ULL(VIRTIO_NET_F_GUEST_UFO) | \
	 BIT_ULL(VIRTIO_NET_F_HOST_TSO4) | BIT_ULL(VIRTIO_NET_F_HOST_TSO6) | \
	 BIT_ULL(VIRTIO_NET_F_HOST_ECN) | BIT_ULL(VIRTIO_NET_F_HOST_UFO) |	\
	 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) | BIT_ULL(VIRTIO_NET_F_STATUS) |	\
	 BIT_ULL(VIRTIO_NET_F_SPEED_DUPLEX) |				\
	 BIT_ULL(VIRTIO_F_ANY_LAYOUT) | BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) | \
	 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) | BIT_ULL(VIRTIO_F_VERSION_1) |	\
	 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | BIT_ULL(VIRTIO_F_RING_PACKED))

static const char *vduse_net_config_problem(const struct vduse_dev_config *config)
{
	if (config->features & BIT_ULL(VIRTIO_NET_F_CTRL_VQ))
		return "virtio-net: no control virtqueue (VIRTIO_NET_F_CTRL_VQ) from userspace";
	if (config->features & ~VDUSE_NET_FEATURES)
		return "virtio-net: a feature offered is not supported from userspace";
	if (config->vq_num != 2)
		return "virtio-net: vq_num must be 2 (one queue pair)";
	if ((config->features & BIT_ULL(VIRTIO_NET_F_MTU)) &&
	    config->config_size < offsetofend(struct virtio_net_config, mtu))
		return "virtio-net: VIRTIO_NET_F_MTU offered without mtu in config";
	return NULL;
}

static const char *vduse_blk_config_problem(const struct vduse_dev_config *config)
{
	if ((config->features & BIT_ULL(VIRTIO_BLK_F_MQ)) &&
	    config->config_size < offsetofend(struct virtio_blk_config, num_queues))
		return "VIRTIO_BLK_F_MQ offered without num_queues in config";
	return NULL;
}

/* Why a config is refused, for the log; NULL if it is acceptable. */
static const char *vduse_config_problem(const struct vduse_dev_config *config)
{
	if (memchr_inv(config->reserved, 0, sizeof(config->reserved)))
		return "reserved fields not zero";
	if (!vduse_name_ok(config->name))
		return "name empty, too long (63 bytes at most), or containing '/'";
	if (config->device_id != VIRTIO_ID_BLOCK &&
	    config->device_id != VIRTIO_ID_NET)
		return "device class not supported (virtio-net, id 1, and virtio-blk, id 2)";
	if (!(config->features & BIT_ULL(VIRTIO_F_VERSION_1)))
		return "VIRTIO_F_VERSION_1 not offered";
	if (!(config->features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)))
		return "VIRTIO_F_ACCESS_PLATFORM not offered";
	if (!config->vq_num || config->vq_num > VDUSE_MAX_VQS)
		return "vq_num not in 1..64";
	if (config->vq_align < 4 || config->vq_align > PAGE_SIZE ||
	    !is_power_of_2(config->vq_align))
		return "vq_align not a power of 2 in 4..PAGE_SIZE";
	if (config->config_size < sizeof(__virtio64) ||
	    config->config_size > VDUSE_MAX_CONFIG_SIZE)
		return "config_size not in 8..PAGE_SIZE";
	if (config->device_id == VIRTIO_ID_NET)
		return vduse_net_config_problem(config);
	return vduse_blk_config_problem(config);
}

/* Create a device with config space @buf, which it takes over (or frees). */
static int vduse_create_dev(struct vduse_dev_config *config, void *buf,
			    u64 api_version)
{
	struct vduse_dev *dev;
	const char *why;
	int ret;
	u32 i;

	why = vduse_config_problem(config);
	if (why) {
		pr_warn_ratelimited("vduse: create_dev: %s\n", why);
		kfree(buf);
		return -EINVAL;
	}
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev) {
		kfree(buf);
		return -ENOMEM;
	}
	mutex_init(&dev->lock);
	spin_lock_init(&dev->config_cb_lock);
	spin_lock_init(&dev->msg_lock);
	INIT_LIST_HEAD(&dev->send_list);
	INIT_LIST_HEAD(&dev->recv_list);
	init_waitqueue_head(&dev->waitq);
	INIT_WORK(&dev->drain_work, vduse_drain_work);
	vduse_iotlb_init(dev);
	mutex_init(&dev->umem_lock);
	INIT_DELAYED_WORK(&dev->unbind_watchdog, vduse_unbind_watchdog);
	dev->api_version = api_version;
	dev->vendor_id = config->vendor_id;
	dev->device_id = config->device_id;
	dev->device_features = config->features;
	dev->vq_num = config->vq_num;
	dev->vq_align = config->vq_align;
	dev->config_size = config->config_size;
	dev->config = buf;
	ret = -ENOMEM;
	dev->name = kstrdup(config->name, GFP_KERNEL);
	dev->vqs = kcalloc(dev->vq_num, sizeof(*dev->vqs), GFP_KERNEL);
	dev->drain_told = bitmap_zalloc(dev->vq_num, GFP_KERNEL);
	dev->domain = vduse_domain_create((u64)clamp(domain_mb, 1U, 1024U) << 20,
					  vduse_coherent_size(dev->vq_num));
	if (!dev->name || !dev->vqs || !dev->drain_told || !dev->domain)
		goto err_free;
	for (i = 0; i < dev->vq_num; i++) {
		if (!zalloc_cpumask_var(&dev->vqs[i].irq_affinity, GFP_KERNEL))
			goto err_free;
		cpumask_setall(dev->vqs[i].irq_affinity);
		dev->vqs[i].irq_cpu = -1;
		spin_lock_init(&dev->vqs[i].lock);
		spin_lock_init(&dev->vqs[i].irq_lock);
		INIT_WORK(&dev->vqs[i].irq_work, vduse_vq_irq_work);
		INIT_WORK(&dev->vqs[i].kick_work, vduse_vq_kick_work);
		dev->vqs[i].index = i;
	}

	mutex_lock(&vduse_lock);
	ret = -EEXIST;
	if (vduse_find_dev(dev->name))
		goto err_unlock;
	ret = idr_alloc(&vduse_idr, dev, 1, VDUSE_DEV_MAX, GFP_KERNEL);
	if (ret < 0)
		goto err_unlock;
	dev->minor = ret;
	dev->node = device_create(vduse_class, NULL,
				  MKDEV(MAJOR(vduse_major), dev->minor), dev,
				  "%s", dev->name);
	if (IS_ERR(dev->node)) {
		ret = PTR_ERR(dev->node);
		goto err_idr;
	}
	for (i = 0; i < dev->vq_num; i++) {
		ret = vduse_vq_sysfs_add(dev, &dev->vqs[i]);
		if (ret)
			goto err_node;
	}
	mutex_unlock(&vduse_lock);
	return 0;

err_node:
	/* the vqN directories go with the node's */
	device_destroy(vduse_class, MKDEV(MAJOR(vduse_major), dev->minor));
err_idr:
	idr_remove(&vduse_idr, dev->minor);
err_unlock:
	mutex_unlock(&vduse_lock);
err_free:
	vduse_dev_free(dev);
	return ret;
}

/* vduse_lock held. */
static int vduse_destroy_dev(const char *name)
{
	struct vduse_dev *dev;
	bool busy;

	lockdep_assert_held(&vduse_lock);
	dev = vduse_find_dev(name);
	if (!dev)
		return -EINVAL;
	spin_lock(&dev->msg_lock);
	busy = dev->connected;
	spin_unlock(&dev->msg_lock);
	if (busy || dev->vdev)
		return -EBUSY;
	idr_remove(&vduse_idr, dev->minor);
	device_destroy(vduse_class, MKDEV(MAJOR(vduse_major), dev->minor));
	/* detached and without a daemon: nothing can queue the works again */
	cancel_delayed_work_sync(&dev->unbind_watchdog);
	cancel_work_sync(&dev->drain_work);
	/* an interrupt the daemon injected before it closed its node */
	vduse_cancel_vq_work(dev);
	vduse_dev_free(dev);
	return 0;
}

/* ---- /dev/vduse/control ---- */

static long vduse_ioctl_create_dev(struct file *file, void __user *argp)
{
	struct vduse_dev_config config;
	void *buf;

	if (copy_from_user(&config, argp, sizeof(config)))
		return -EFAULT;
	config.name[VDUSE_NAME_MAX - 1] = '\0';
	if (!config.config_size || config.config_size > VDUSE_MAX_CONFIG_SIZE) {
		pr_warn_ratelimited("vduse: create_dev: config_size %u not in 8..%lu\n",
				    config.config_size, VDUSE_MAX_CONFIG_SIZE);
		return -EINVAL;
	}
	buf = memdup_user(argp + sizeof(config), config.config_size);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	/* it takes @buf, whatever the outcome */
	return vduse_create_dev(&config, buf, *(u64 *)file->private_data);
}

static long vduse_ctrl_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	u64 *api_version = file->private_data;
	void __user *argp = (void __user *)arg;
	char name[VDUSE_NAME_MAX];
	u64 version;
	int ret;

	switch (cmd) {
	case VDUSE_GET_API_VERSION:
		return put_user(*api_version, (u64 __user *)argp);
	case VDUSE_SET_API_VERSION:
		if (get_user(version, (u64 __user *)argp))
			return -EFAULT;
		if (version > VDUSE_API_VERSION)
			return -EINVAL;
		*api_version = version;
		return 0;
	case VDUSE_CREATE_DEV:
		return vduse_ioctl_create_dev(file, argp);
	case VDUSE_DESTROY_DEV:
		if (copy_from_user(name, argp, sizeof(name)))
			return -EFAULT;
		name[VDUSE_NAME_MAX - 1] = '\0';
		mutex_lock(&vduse_lock);
		ret = vduse_destroy_dev(name);
		mutex_unlock(&vduse_lock);
		return ret;
	default:
		return -ENOTTY;
	}
}

static int vduse_ctrl_open(struct inode *inode, struct file *file)
{
	u64 *api_version = kzalloc(sizeof(*api_version), GFP_KERNEL);

	if (!api_version)
		return -ENOMEM;
	*api_version = VDUSE_API_VERSION;
	file->private_data = api_version;
	return 0;
}

static int vduse_ctrl_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations vduse_ctrl_fops = {
	.owner = THIS_MODULE,
	.open = vduse_ctrl_open,
	.release = vduse_ctrl_release,
	.unlocked_ioctl = vduse_ctrl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* ---- management device "vduse" ---- */

static int vduse_dev_add(struct vdpa_mgmt_dev *mdev, const char *name,
			 const struct vdpa_dev_set_config *config,
			 struct netlink_ext_ack *extack)
{
	struct vdpa_alloc_params params = {
		.ops = &vduse_vdpa_ops,
		.ngroups = 1,
		.nas = 1,
		.name = name,
		/* vhost-vdpa hands over files and user addresses (set_map) */
		.use_va = true,
	};
	struct vduse_vdpa *vdev;
	struct vduse_dev *dev;
	int ret;
	u32 i;

	if (config->mask) {
		NL_SET_ERR_MSG_MOD(extack, "vduse devices take no attributes");
		return -EOPNOTSUPP;
	}
	mutex_lock(&vduse_lock);
	dev = vduse_find_dev(name);
	if (!dev) {
		NL_SET_ERR_MSG_MOD(extack, "no VDUSE device of that name");
		ret = -ENODEV;
		goto err_unlock;
	}
	if (dev->vdev) {
		NL_SET_ERR_MSG_MOD(extack, "VDUSE device already attached");
		ret = -EEXIST;
		goto err_unlock;
	}
	for (i = 0; i < dev->vq_num; i++) {
		if (!dev->vqs[i].max_size) {
			NL_SET_ERR_MSG_MOD(extack, "a vq is not set up (VDUSE_VQ_SETUP)");
			ret = -EINVAL;
			goto err_unlock;
		}
	}
	vdev = vdpa_alloc_device(struct vduse_vdpa, vdpa, &params);
	if (IS_ERR(vdev)) {
		ret = PTR_ERR(vdev);
		goto err_unlock;
	}
	vdev->dev = dev;
	vdev->vdpa.mdev = mdev;
	set_dma_ops(&vdev->vdpa.dev, &vduse_dma_ops);
	spin_lock(&dev->msg_lock);
	dev->broken = false;
	dev->broken_told = false;
	spin_unlock(&dev->msg_lock);
	/*
	 * drain_work was cancelled at the last detach; if a daemon's close
	 * queued it since, it finds no request to fail (none before the new
	 * driver makes some), so it touches no bit while this clears them.
	 */
	bitmap_zero(dev->drain_told, dev->vq_num);
	dev->vdev = vdev;
	mutex_unlock(&vduse_lock);

	/* the bus driver probes and talks to the daemon: no vduse_lock */
	ret = vdpa_mgmt_register_device(&vdev->vdpa, dev->vq_num);
	if (ret) {
		/* before clearing @vdev, which lets VDUSE_DESTROY_DEV free @dev */
		cancel_delayed_work_sync(&dev->unbind_watchdog);
		cancel_work_sync(&dev->drain_work);
		vduse_cancel_vq_work(dev);
		vduse_iotlb_clear(dev);
		mutex_lock(&vduse_lock);
		dev->vdev = NULL;
		mutex_unlock(&vduse_lock);
		put_device(&vdev->vdpa.dev);
	}
	return ret;

err_unlock:
	mutex_unlock(&vduse_lock);
	return ret;
}

static void vduse_dev_del(struct vdpa_mgmt_dev *mdev, struct vdpa_device *vdpa)
{
	struct vduse_dev *dev = vdpa_to_vduse(vdpa);

	/*
	 * Removal waits for in-flight I/O: drain_work fails it if the device
	 * breaks (vduse_unbind_watchdog() sees to that if the daemon stalls).
	 */
	vdpa_mgmt_unregister_device(vdpa);
	cancel_delayed_work_sync(&dev->unbind_watchdog);
	cancel_work_sync(&dev->drain_work);
	vduse_cancel_vq_work(dev);
	/* whatever the bus driver left */
	vduse_iotlb_clear(dev);
	mutex_lock(&vduse_lock);
	dev->vdev = NULL;
	mutex_unlock(&vduse_lock);
}

/*
 * A bus driver unbinding from the vdpa device (`vdpa dev del`, a sysfs
 * unbind, the driver's module going) waits for the daemon: a disk's
 * removal for its requests in flight, the reset for an answer.  A daemon
 * that stopped (SIGSTOP, a debugger) neither answers nor dies, so nothing
 * else would end the first wait.  If the daemon shows no life for
 * msg_timeout while the unbinding runs, break the device: its requests
 * are failed and later ones fail at once.
 */
static void vduse_unbind_watchdog(struct work_struct *work)
{
	struct vduse_dev *dev = container_of(to_delayed_work(work),
					     struct vduse_dev, unbind_watchdog);
	unsigned long deadline = READ_ONCE(dev->alive) + vduse_timeout();

	if (time_before(jiffies, deadline)) {
		queue_delayed_work(vduse_wq, &dev->unbind_watchdog,
				   deadline - jiffies);
		return;
	}
	vduse_dev_break(dev, "daemon silent while its driver unbinds");
}

static struct vdpa_mgmt_dev vduse_mgmtdev;

/* Arms vduse_unbind_watchdog() while a bus driver unbinds from a device. */
static int vduse_bus_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct vdpa_device *vdpa = dev_to_vdpa(data);
	struct vduse_dev *dev;

	if (vdpa->mdev != &vduse_mgmtdev)
		return NOTIFY_DONE;
	dev = vdpa_to_vduse(vdpa);
	switch (action) {
	case BUS_NOTIFY_UNBIND_DRIVER:
		WRITE_ONCE(dev->alive, jiffies);
		queue_delayed_work(vduse_wq, &dev->unbind_watchdog,
				   vduse_timeout());
		break;
	case BUS_NOTIFY_UNBOUND_DRIVER:
		cancel_delayed_work_sync(&dev->unbind_watchdog);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block vduse_bus_nb = {
	.notifier_call = vduse_bus_notify,
};

static const struct vdpa_mgmtdev_ops vduse_mgmtdev_ops = {
	.dev_add = vduse_dev_add,
	.dev_del = vduse_dev_del,
};

static const struct virtio_device_id vduse_id_table[] = {
	{ VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID },
	{ VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

/* static object: nothing to free when the last reference goes */
static void vduse_mgmtdev_release(struct device *dev)
{
}

static struct device vduse_mgmtdev_dev = {
	.init_name = "vduse",
	.release = vduse_mgmtdev_release,
};

static struct vdpa_mgmt_dev vduse_mgmtdev = {
	.device = &vduse_mgmtdev_dev,
	.ops = &vduse_mgmtdev_ops,
	.id_table = vduse_id_table,
};

/* ---- module ---- */

static char *vduse_devnode(struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "vduse/%s", dev_name(dev));
}

static int __init vduse_init(void)
{
	int ret;

	vduse_class = class_create(THIS_MODULE, "vduse");
	if (IS_ERR(vduse_class))
		return PTR_ERR(vduse_class);
	vduse_class->devnode = vduse_devnode;

	ret = alloc_chrdev_region(&vduse_major, 0, VDUSE_DEV_MAX, "vduse");
	if (ret)
		goto err_class;

	cdev_init(&vduse_ctrl_cdev, &vduse_ctrl_fops);
	vduse_ctrl_cdev.owner = THIS_MODULE;
	ret = cdev_add(&vduse_ctrl_cdev, vduse_major, 1);
	if (ret)
		goto err_region;
	cdev_init(&vduse_dev_cdev, &vduse_dev_fops);
	vduse_dev_cdev.owner = THIS_MODULE;
	ret = cdev_add(&vduse_dev_cdev, MKDEV(MAJOR(vduse_major), 1),
		       VDUSE_DEV_MAX - 1);
	if (ret)
		goto err_ctrl_cdev;

	vduse_ctrl_node = device_create(vduse_class, NULL, vduse_major, NULL,
					"control");
	if (IS_ERR(vduse_ctrl_node)) {
		ret = PTR_ERR(vduse_ctrl_node);
		goto err_dev_cdev;
	}

	/* high priority: it runs the drivers' handlers of injected interrupts */
	vduse_wq = alloc_workqueue("vduse", WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!vduse_wq) {
		ret = -ENOMEM;
		goto err_ctrl_node;
	}

	ret = vdpa_bus_register_notifier(&vduse_bus_nb);
	if (ret)
		goto err_wq;
	ret = device_register(&vduse_mgmtdev_dev);
	if (ret) {
		put_device(&vduse_mgmtdev_dev);
		goto err_notifier;
	}
	ret = vdpa_mgmtdev_register(&vduse_mgmtdev);
	if (ret)
		goto err_mgmt_dev;
	return 0;

err_mgmt_dev:
	device_unregister(&vduse_mgmtdev_dev);
err_notifier:
	vdpa_bus_unregister_notifier(&vduse_bus_nb);
err_wq:
	destroy_workqueue(vduse_wq);
err_ctrl_node:
	device_destroy(vduse_class, vduse_major);
err_dev_cdev:
	cdev_del(&vduse_dev_cdev);
err_ctrl_cdev:
	cdev_del(&vduse_ctrl_cdev);
err_region:
	unregister_chrdev_region(vduse_major, VDUSE_DEV_MAX);
err_class:
	class_destroy(vduse_class);
	return ret;
}

static void __exit vduse_exit(void)
{
	struct vduse_dev *dev;
	int id;

	/* the core deletes the attached devices through dev_del */
	vdpa_mgmtdev_unregister(&vduse_mgmtdev);
	device_unregister(&vduse_mgmtdev_dev);
	vdpa_bus_unregister_notifier(&vduse_bus_nb);
	/* no file is open (each pins the module): every device is idle */
	mutex_lock(&vduse_lock);
	idr_for_each_entry(&vduse_idr, dev, id)
		WARN_ON(vduse_destroy_dev(dev->name));
	mutex_unlock(&vduse_lock);
	idr_destroy(&vduse_idr);
	destroy_workqueue(vduse_wq);
	device_destroy(vduse_class, vduse_major);
	cdev_del(&vduse_dev_cdev);
	cdev_del(&vduse_ctrl_cdev);
	unregister_chrdev_region(vduse_major, VDUSE_DEV_MAX);
	class_destroy(vduse_class);
}

module_init(vduse_init);
module_exit(vduse_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vDPA devices implemented in userspace (VDUSE)");
MODULE_VERSION(VDPA_VERSION);
