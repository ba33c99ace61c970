// SPDX-License-Identifier: GPL-2.0
/*
 * vDPA device simulator core: a generic software vDPA device.
 *
 * Device classes (net, blk) describe a device with struct vdpasim_dev_attr;
 * this file implements the vdpa_config_ops for it: split virtqueues, the
 * device's own IOVA -> physical address translation per address space (the
 * bus driver pins the memory and hands us physical addresses), and a
 * data-path worker that calls the class's work hook.
 *
 * Translation.  Each address space is either a table (struct vhost_iotlb,
 * PA mode, filled by vhost-vdpa through set_map or dma_map) or the
 * identity ("passthrough").  Identity serves in-kernel drivers such as
 * virtio_vdpa, which map rings and buffers with the DMA API on the vdpa
 * device itself: that device has no IOMMU and no DMA ops, so dma-direct
 * hands out physical addresses (swiotlb bounce buffers included, they are
 * RAM too).  An address space becomes the identity only when the device is
 * reset while a &vdpa_driver.dma_api driver is bound (virtio_vdpa resets
 * the device first thing in probe), and stops being it at the first
 * set_map, dma_map or dma_unmap.  Userspace clients (vhost-vdpa) therefore
 * only ever see tables: an unmapped IOVA is a hole, never host memory.
 *
 * Data-path worker: a pass over the queues runs in one of two places,
 * never both at once (each holds sim->lock for the whole pass).  A kick
 * first queues a pass on the system workqueue, which runs it on the
 * kicking CPU: a client that kicks and then waits for the completion (a
 * block queue, a request/response exchange) gets it without waking
 * another CPU, which on a loaded or emulated host costs more than the
 * pass itself.  A pass that ends with work left over (its class budget
 * spent) hands the data path to the device's own kthread_worker, which
 * keeps it, pass after pass, while its passes spend the budget or the
 * client kicks again during them: a streaming client then runs in
 * parallel with the device, and a busy device does not hold a shared
 * kworker.  Kicks go straight to the thread while it holds the data path
 * (@on_thread).  The thread shows up in ps as "vdpasim-<name>", and
 * starts with the data path, at the first DRIVER_OK, not with the device:
 * starting and stopping a kthread costs milliseconds on a slow or
 * emulated CPU, and devices that are only provisioned (thousands of them,
 * for some users) never need one.  The serve_on_kicker parameter (0)
 * sends every pass to the thread.
 */

#include <linux/bitops.h>
#include <linux/bottom_half.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/eventfd.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vhost_iotlb.h>
#include <linux/vdpa_version.h>
#include <uapi/linux/virtio_ring.h>

#include "sim_dirty.h"
#include "sim_iotlb.h"
#include "vdpa_sim.h"

static bool batch_mapping = true;
module_param(batch_mapping, bool, 0444);
MODULE_PARM_DESC(batch_mapping,
		 "1: take whole translation tables (set_map), and single changes to them (set_map_add/set_map_remove); 0: single entries only (dma_map/dma_unmap)");

static bool serve_on_kicker = true;
module_param(serve_on_kicker, bool, 0644);
MODULE_PARM_DESC(serve_on_kicker,
		 "1: serve a kick on the kicking CPU's workqueue first, the device's thread only takes over while the queues stay busy; 0: always on the thread");

static unsigned int max_iotlb_entries = 262144;
module_param(max_iotlb_entries, uint, 0444);
MODULE_PARM_DESC(max_iotlb_entries,
		 "Most translation entries per address space of a device (at least 2)");

static bool check_pins = IS_ENABLED(CONFIG_VDPA_SIM_CHECK_PINS);
module_param(check_pins, bool, 0644);
MODULE_PARM_DESC(check_pins,
		 "Debug: WARN when the device reaches a page through a translation table that nobody pins (default: CONFIG_VDPA_SIM_CHECK_PINS)");

/*
 * Off by default: a debugfs directory and seven files a device are most
 * of the cost of `vdpa dev add` and `vdpa dev del` for a thousand devices.
 */
static bool debugfs_knobs;
module_param_named(debugfs, debugfs_knobs, bool, 0644);
MODULE_PARM_DESC(debugfs,
		 "Test use: give each device added from now on its fault-injection directory vdpa_sim/<name>/ in debugfs (default off)");

static struct dentry *vdpasim_debugfs_root;

/*
 * The identity translation: [0, U64_MAX] -> 0, read-write.  Built once at
 * module load and never changed, so rings of any device may share it.
 */
static struct vhost_iotlb *vdpasim_identity;

/*
 * Invariant check (check_pins): every page a table translates to is pinned
 * by the client that installed it, from before the table reaches the device
 * until after the device can no longer reach it.  A page without any pin
 * here was unpinned too early, and may already belong to someone else.  A
 * pin by another user would hide that, so the check can miss, never lie.
 */
void vdpasim_iotlb_check_page(struct vhost_iotlb *iotlb, unsigned long pfn,
			      u64 iova)
{
	/* in-kernel drivers' DMA API memory is not pinned, nor need it be */
	if (!READ_ONCE(check_pins) || iotlb == vdpasim_identity)
		return;
	WARN_ONCE(!page_maybe_dma_pinned(pfn_to_page(pfn)),
		  "vdpa_sim: IOVA %#llx translates to pfn %#lx, which nobody pins\n",
		  iova, pfn);
}

/*
 * Dirty-page logging.  The ring engine notes what it writes in sim->dirty
 * (sim_dirty.h); the worker turns the notes into bits of the client's
 * bitmap before it releases sim->lock at the end of a pass, and in the
 * middle of a long one.  So whoever takes sim->lock, or waits for the
 * worker to stop (reset, suspend), finds every earlier write in the bitmap.
 * The bitmap is user memory of the client's mm: the worker, a kthread with
 * no mm of its own, adopts it (kthread_use_mm) for the flush.  The lock
 * order is sim->lock, then mmap_lock (taken by the page pin).
 */

/*
 * Set the bits of log pages [@first, @last].  Returns how many pages of the
 * bitmap could not be written.
 */
static u64 vdpasim_log_set_bits(struct vdpasim *sim, u64 first, u64 last)
{
	u64 page = first, errors = 0;

	while (page <= last) {
		struct page *upage;
		unsigned int bit;
		u64 byte, n, i;
		void *va;

		if (!vdpasim_dirty_bit_addr(sim->log.base, page, &byte, &bit) ||
		    byte != (unsigned long)byte)
			return errors + 1;
		/* the bits of the rest of this bitmap page, at most */
		n = ((u64)(PAGE_SIZE - offset_in_page(byte)) << 3) - bit;
		n = min(n, last - page + 1);
		if (pin_user_pages_fast(byte & PAGE_MASK, 1, FOLL_WRITE,
					&upage) != 1) {
			errors++;
			page += n;
			continue;
		}
		va = kmap_local_page(upage);
		/* atomic: the client clears bits concurrently as it reads them */
		for (i = 0; i < n; i++)
			set_bit_le((offset_in_page(byte) << 3) + bit + i, va);
		kunmap_local(va);
		unpin_user_pages_dirty_lock(&upage, 1, true);
		page += n;
	}
	return errors;
}

/* Write the noted ranges to the bitmap; from the worker, with sim->lock. */
static void vdpasim_dirty_flush(struct vdpasim *sim)
{
	struct vdpasim_dirty *d = sim->dirty;
	struct mm_struct *mm = sim->log.mm;
	u64 errors = 0;
	unsigned int i;

	lockdep_assert_held(&sim->lock);
	if (!d || !d->count)
		return;
	if (!sim->logging)
		goto out;
	/* only the worker writes driver memory, and it has no mm */
	if (current->mm || !(current->flags & PF_KTHREAD) ||
	    !mmget_not_zero(mm)) {
		sim->log_errors++;
		goto out;
	}

	kthread_use_mm(mm);
	for (i = 0; i < d->count; i++)
		errors += vdpasim_log_set_bits(sim, d->range[i].first,
					       d->range[i].last);
	kthread_unuse_mm(mm);
	/* the last user's teardown is not for a thread holding sim->lock */
	mmput_async(mm);

	if (errors) {
		sim->log_errors += errors;
		dev_warn_ratelimited(&sim->vdpa.dev,
				     "dirty log at %#llx: %llu bitmap pages not writable\n",
				     sim->log.base, errors);
	}
	if (sim->log.notify)
		eventfd_signal(sim->log.notify, 1);
out:
	vdpasim_dirty_clear(d);
}

/* Point the rings at the record while logging, at nothing otherwise. */
static void vdpasim_update_ring_dirty(struct vdpasim *sim)
{
	struct vdpasim_dirty *dirty = sim->logging ? sim->dirty : NULL;
	unsigned int i;

	lockdep_assert_held(&sim->lock);
	for (i = 0; i < sim->dev_attr.nvqs; i++)
		sim->vqs[i].ring.dirty = dirty;
}

/* vq helpers for the classes' work hooks (caller holds sim->lock) */

bool vdpasim_vq_usable(struct vdpasim *sim, u16 idx)
{
	struct vdpasim_vq *vq = &sim->vqs[idx];

	lockdep_assert_held(&sim->lock);
	return vq->ready && !vq->ring.broken;
}
EXPORT_SYMBOL_GPL(vdpasim_vq_usable);

/* 1: a chain was fetched; 0: nothing to do; < 0: the ring is now broken */
int vdpasim_vq_fetch(struct vdpasim *sim, u16 idx, struct vdpasim_chain *chain)
{
	struct vdpasim_vq *vq = &sim->vqs[idx];
	int ret;

	if (!vdpasim_vq_usable(sim, idx))
		return 0;
	ret = vdpasim_ring_fetch(&vq->ring, chain, vq->name);
	if (ret < 0)
		sim->ring_errors++;
	return ret;
}
EXPORT_SYMBOL_GPL(vdpasim_vq_fetch);

void vdpasim_vq_unfetch(struct vdpasim *sim, u16 idx)
{
	lockdep_assert_held(&sim->lock);
	vdpasim_ring_unfetch(&sim->vqs[idx].ring);
}
EXPORT_SYMBOL_GPL(vdpasim_vq_unfetch);

/*
 * debugfs fault injection on the used ring: drop_used swallows the
 * completion (the chain is consumed, nothing is published), corrupt_used
 * publishes an out-of-range id and length instead.  Returns true if the
 * push was dropped.
 */
static bool vdpasim_inject_used_fault(struct vdpasim *sim,
				      struct vdpasim_vq *vq, u16 *head,
				      u32 *len)
{
	if (sim->drop_used) {
		sim->drop_used--;
		dev_info_ratelimited(&sim->vdpa.dev,
				     "debugfs: %s: dropping used entry of chain %u\n",
				     vq->name, *head);
		vdpasim_ring_drop(&vq->ring);
		return true;
	}
	if (sim->corrupt_used) {
		sim->corrupt_used--;
		dev_info_ratelimited(&sim->vdpa.dev,
				     "debugfs: %s: corrupting used entry of chain %u\n",
				     vq->name, *head);
		*head = vq->ring.num;
		*len = U32_MAX;
	}
	return false;
}

/*
 * Complete chain @head with @len bytes written.  The driver sees it at the
 * end of the pass (vdpasim_publish_used()), with the others of the pass,
 * and the interrupt after that.
 */
int vdpasim_vq_push(struct vdpasim *sim, u16 idx, u16 head, u32 len)
{
	struct vdpasim_vq *vq = &sim->vqs[idx];
	int ret;

	lockdep_assert_held(&sim->lock);
	if (vdpasim_inject_used_fault(sim, vq, &head, &len))
		return 0;
	ret = vdpasim_ring_add_used(&vq->ring, head, len);
	if (ret < 0) {
		sim->ring_errors++;
		return ret;
	}
	vq->used_pending = true;
	/* room for the next chain's notes, whatever its length */
	if (sim->dirty && sim->dirty->count >= VDPASIM_DIRTY_FLUSH_AT)
		vdpasim_dirty_flush(sim);
	return 0;
}
EXPORT_SYMBOL_GPL(vdpasim_vq_push);

/* data-path worker */

void vdpasim_schedule_work(struct vdpasim *sim)
{
	/* paired with the release in vdpasim_start_worker() */
	struct kthread_worker *worker = smp_load_acquire(&sim->worker);

	/* none before the first DRIVER_OK, which queues a pass itself */
	if (!worker)
		return;
	if (serve_on_kicker && !READ_ONCE(sim->on_thread)) {
		queue_work(system_wq, &sim->kick_work);
	} else {
		WRITE_ONCE(sim->thread_kicked, true);
		kthread_queue_work(worker, &sim->work);
	}
}
EXPORT_SYMBOL_GPL(vdpasim_schedule_work);

static bool vdpasim_running(const struct vdpasim *sim)
{
	return (sim->status & VIRTIO_CONFIG_S_DRIVER_OK) && !sim->suspended &&
	       !sim->removed && !READ_ONCE(sim->stall);
}

/*
 * Publish the used entries the pass added: once per queue and pass rather
 * than per chain.  Before the dirty flush (the index store is a write to
 * log) and the interrupts; and before sim->lock is let go, so whoever takes
 * it next (reset, suspend, get_vq_state, the next pass) finds every used
 * entry published.
 */
static void vdpasim_publish_used(struct vdpasim *sim)
{
	unsigned int i;

	for (i = 0; i < sim->dev_attr.nvqs; i++) {
		struct vdpasim_vq *vq = &sim->vqs[i];

		/* a ring that broke during the pass was counted then */
		if (vq->used_pending && !vq->ring.broken &&
		    vdpasim_ring_publish_used(&vq->ring))
			sim->ring_errors++;
	}
}

static void vdpasim_notify_used(struct vdpasim *sim)
{
	unsigned int i;

	for (i = 0; i < sim->dev_attr.nvqs; i++) {
		struct vdpasim_vq *vq = &sim->vqs[i];

		if (!vq->used_pending)
			continue;
		vq->used_pending = false;
		if (!vq->cb.callback || !vdpasim_ring_should_notify(&vq->ring))
			continue;
		/* the handler may raise a softirq (NAPI): let it run on enable */
		local_bh_disable();
		vq->cb.callback(vq->cb.private);
		local_bh_enable();
	}
}

/* One pass over the queues, with sim->lock; true if work is left over. */
static bool vdpasim_pass(struct vdpasim *sim)
{
	bool again = false;

	lockdep_assert_held(&sim->lock);
	if (vdpasim_running(sim)) {
		again = sim->dev_attr.work(sim);
		vdpasim_publish_used(sim);
		/* the pages are marked before the driver hears of them */
		vdpasim_dirty_flush(sim);
		vdpasim_notify_used(sim);
	}
	return again;
}

/*
 * A pass on the thread.  The thread keeps the data path while its passes
 * spend the budget or the client kicks during them (it is producing
 * beside the device); a pass with neither gives it back to the kicker.
 */
static void vdpasim_work_fn(struct kthread_work *work)
{
	struct vdpasim *sim = container_of(work, struct vdpasim, work);
	bool again;

	mutex_lock(&sim->lock);
	sim->thread_passes++;
	WRITE_ONCE(sim->thread_kicked, false);
	again = vdpasim_pass(sim);
	WRITE_ONCE(sim->on_thread, again || READ_ONCE(sim->thread_kicked));
	mutex_unlock(&sim->lock);

	if (again)
		kthread_queue_work(sim->worker, &sim->work);
}

/*
 * A pass on the kicking CPU's workqueue.  A pass that leaves work over,
 * or that finds the device busy, hands the data path to the thread.
 */
static void vdpasim_kick_work_fn(struct work_struct *work)
{
	struct vdpasim *sim = container_of(work, struct vdpasim, kick_work);
	bool again = true;

	if (mutex_trylock(&sim->lock)) {
		sim->kicker_passes++;
		again = vdpasim_pass(sim);
		if (again)
			WRITE_ONCE(sim->on_thread, true);
		mutex_unlock(&sim->lock);
	}
	if (again)
		kthread_queue_work(sim->worker, &sim->work);
}

/*
 * Stop the data path: the caller has made vdpasim_running() false under the
 * lock, so a pass that starts now does nothing; wait for one in progress and
 * drop a queued one.  The kick work goes first: it may queue the thread's.
 */
static void vdpasim_stop_worker(struct vdpasim *sim)
{
	cancel_work_sync(&sim->kick_work);
	kthread_cancel_work_sync(&sim->work);
	WRITE_ONCE(sim->on_thread, false);
}

/* virtqueue and translation state */

/* The translation address space @asid currently stands for. */
static struct vhost_iotlb *vdpasim_as_iotlb(struct vdpasim *sim,
					    unsigned int asid)
{
	return sim->as_identity[asid] ? vdpasim_identity : sim->iotlb[asid];
}

/*
 * Point every ring at the translation of the address space its group uses,
 * and forget the entry each last used (sim_iotlb.h): called, under the lock
 * the passes hold, by everything that changes a table or which table a ring
 * uses, before the next pass.
 */
static void vdpasim_update_ring_iotlbs(struct vdpasim *sim)
{
	unsigned int i;

	lockdep_assert_held(&sim->lock);
	for (i = 0; i < sim->dev_attr.nvqs; i++) {
		struct vdpasim_vq *vq = &sim->vqs[i];

		vq->ring.iotlb = vdpasim_as_iotlb(sim, sim->group_asid[vq->group]);
		vq->ring.hint = NULL;
	}
}

/*
 * Address space @asid becomes a table again (a client installs a map);
 * the caller updates the rings.  The table is empty while in identity.
 */
static void vdpasim_as_leave_identity(struct vdpasim *sim, unsigned int asid)
{
	lockdep_assert_held(&sim->lock);
	if (!sim->as_identity[asid])
		return;
	sim->as_identity[asid] = false;
	vhost_iotlb_reset(sim->iotlb[asid]);
}

/* Split rings need a power of 2; packed rings take any size. */
static bool vdpasim_ring_num_ok(const struct vdpasim_ring *r)
{
	return r->num && r->num <= VDPASIM_RING_MAX_NUM &&
	       (r->packed || is_power_of_2(r->num));
}

/*
 * Load the ring from the driver's settings, keeping its position: split,
 * last_avail_idx (used idx follows it: every chain was completed); packed,
 * both positions and wrap counters, as reset or set_vq_state left them.
 */
static void vdpasim_vq_load(struct vdpasim *sim, struct vdpasim_vq *vq)
{
	struct vdpasim_ring *r = &vq->ring;

	r->num = vq->num;
	r->desc_addr = vq->desc_addr;
	r->avail_addr = vq->driver_addr;
	r->used_addr = vq->device_addr;
	r->event_idx = vdpasim_has_feature(sim, VIRTIO_RING_F_EVENT_IDX);
	r->packed = vdpasim_has_feature(sim, VIRTIO_F_RING_PACKED);
	r->broken = false;
	if (r->packed)
		vdpasim_ring_init_packed(r, r->last_avail_idx, r->avail_wrap,
					 r->used_idx, r->used_wrap);
	else
		vdpasim_ring_init(r, r->last_avail_idx);
	vq->used_pending = false;

	if (!vdpasim_ring_num_ok(r)) {
		dev_warn_ratelimited(&sim->vdpa.dev,
				     "%s: invalid queue size %u, queue not served\n",
				     vq->name, vq->num);
		r->broken = true;
	}
}

static void vdpasim_vq_reset(struct vdpasim *sim, struct vdpasim_vq *vq)
{
	vq->desc_addr = 0;
	vq->driver_addr = 0;
	vq->device_addr = 0;
	vq->num = 0;
	WRITE_ONCE(vq->ready, false);
	vq->used_pending = false;
	vq->cb.callback = NULL;
	vq->cb.private = NULL;
	vq->cb.trigger = NULL;
	memset(&vq->ring, 0, sizeof(vq->ring));
	vdpasim_ring_init(&vq->ring, 0);
}

/* Power-on state; the worker is stopped (or not created yet). */
static void vdpasim_reset_state(struct vdpasim *sim)
{
	unsigned int i;
	bool identity;

	lockdep_assert_held(&sim->lock);
	for (i = 0; i < sim->dev_attr.nvqs; i++)
		vdpasim_vq_reset(sim, &sim->vqs[i]);
	for (i = 0; i < sim->dev_attr.ngroups; i++)
		sim->group_asid[i] = 0;
	identity = vdpa_dma_api_driver_bound(&sim->vdpa);
	for (i = 0; i < sim->dev_attr.nas; i++) {
		vhost_iotlb_reset(sim->iotlb[i]);
		sim->as_identity[i] = identity;
	}
	vdpasim_update_ring_iotlbs(sim);
	vdpasim_update_ring_dirty(sim);
	if (sim->dev_attr.reset && !sim->removed)
		sim->dev_attr.reset(sim);
	sim->features = 0;
	sim->status = 0;
	sim->suspended = false;
	sim->generation++;
}

/* vdpa_config_ops */

static int vdpasim_set_vq_address(struct vdpa_device *vdpa, u16 idx,
				  u64 desc_area, u64 driver_area,
				  u64 device_area)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	struct vdpasim_vq *vq = &sim->vqs[idx];

	mutex_lock(&sim->lock);
	vq->desc_addr = desc_area;
	vq->driver_addr = driver_area;
	vq->device_addr = device_area;
	mutex_unlock(&sim->lock);
	return 0;
}

static void vdpasim_set_vq_num(struct vdpa_device *vdpa, u16 idx, u32 num)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	mutex_lock(&sim->lock);
	sim->vqs[idx].num = num;
	mutex_unlock(&sim->lock);
}

/* Atomic context (eventfd wake-up with IRQs off): never sleep here. */
static void vdpasim_kick_vq(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	if (READ_ONCE(sim->vqs[idx].ready))
		vdpasim_schedule_work(sim);
}

static void vdpasim_set_vq_cb(struct vdpa_device *vdpa, u16 idx,
			      struct vdpa_callback *cb)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	mutex_lock(&sim->lock);
	sim->vqs[idx].cb = *cb;
	mutex_unlock(&sim->lock);
}

static void vdpasim_set_vq_ready(struct vdpa_device *vdpa, u16 idx, bool ready)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	struct vdpasim_vq *vq = &sim->vqs[idx];
	bool start;

	mutex_lock(&sim->lock);
	if (ready)
		vdpasim_vq_load(sim, vq);
	WRITE_ONCE(vq->ready, ready);
	/* kicks sent before the queue was enabled were not acted on */
	start = ready && vdpasim_running(sim);
	mutex_unlock(&sim->lock);

	if (start)
		vdpasim_schedule_work(sim);
}

static bool vdpasim_get_vq_ready(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	return READ_ONCE(sim->vqs[idx].ready);
}

/*
 * Some clients encode only the avail half of a packed position in
 * VHOST_SET_VRING_BASE (DPDK's virtio-user sends 0x8000 for a fresh ring,
 * following vhost-user, where the used position follows the avail one), so
 * the used half arrives as index 0 with wrap counter 0.  The simulator
 * completes in order and holds no chain across a stop, so its own state
 * always has used = avail: a used half of 0 beside another avail half can
 * only mean that, and is served as used = avail.
 */
static void vdpasim_set_packed_state(struct vdpasim_ring *r,
				     const struct vdpa_vq_state_packed *s)
{
	u16 used_idx = s->last_used_idx;
	bool used_wrap = s->last_used_counter;

	if (!used_idx && !used_wrap &&
	    (s->last_avail_idx || s->last_avail_counter)) {
		used_idx = s->last_avail_idx;
		used_wrap = s->last_avail_counter;
	}
	vdpasim_ring_init_packed(r, s->last_avail_idx, s->last_avail_counter,
				 used_idx, used_wrap);
}

static int vdpasim_set_vq_state(struct vdpa_device *vdpa, u16 idx,
				const struct vdpa_vq_state *state)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	struct vdpasim_ring *r = &sim->vqs[idx].ring;

	mutex_lock(&sim->lock);
	r->packed = vdpasim_has_feature(sim, VIRTIO_F_RING_PACKED);
	if (r->packed)
		vdpasim_set_packed_state(r, &state->packed);
	else
		vdpasim_ring_init(r, state->split.avail_index);
	/*
	 * A loaded ring with a bad size stays off (ready reloads it anyway);
	 * packed positions beyond the size break the ring at its next use.
	 */
	if (!vdpasim_ring_num_ok(r))
		r->broken = true;
	mutex_unlock(&sim->lock);
	return 0;
}

static int vdpasim_get_vq_state(struct vdpa_device *vdpa, u16 idx,
				struct vdpa_vq_state *state)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	const struct vdpasim_ring *r;

	mutex_lock(&sim->lock);
	r = &sim->vqs[idx].ring;
	if (vdpasim_has_feature(sim, VIRTIO_F_RING_PACKED)) {
		state->packed.last_avail_idx = r->last_avail_idx;
		state->packed.last_avail_counter = r->avail_wrap;
		state->packed.last_used_idx = r->used_idx;
		state->packed.last_used_counter = r->used_wrap;
	} else {
		state->split.avail_index = r->last_avail_idx;
	}
	mutex_unlock(&sim->lock);
	return 0;
}

static u16 vdpasim_get_vq_size(struct vdpa_device *vdpa, u16 idx)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	u16 num;

	mutex_lock(&sim->lock);
	num = sim->vqs[idx].num;
	mutex_unlock(&sim->lock);
	return num;
}

static u32 vdpasim_get_vq_group(struct vdpa_device *vdpa, u16 idx)
{
	return vdpa_to_sim(vdpa)->vqs[idx].group;
}

static int vdpasim_get_vq_stats(struct vdpa_device *vdpa, u16 idx,
				struct vdpa_vq_stats *stats,
				struct netlink_ext_ack *extack)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	int ret;

	if (idx >= sim->dev_attr.nvqs) {
		NL_SET_ERR_MSG_MOD(extack, "queue index out of range");
		return -EINVAL;
	}
	if (!sim->dev_attr.get_vq_stats) {
		NL_SET_ERR_MSG_MOD(extack, "device has no queue statistics");
		return -EOPNOTSUPP;
	}

	mutex_lock(&sim->lock);
	if (sim->removed)
		ret = -ENODEV;
	else
		ret = sim->dev_attr.get_vq_stats(sim, idx, stats, extack);
	mutex_unlock(&sim->lock);
	return ret;
}

static u32 vdpasim_get_vq_align(struct vdpa_device *vdpa)
{
	return PAGE_SIZE;
}

static u16 vdpasim_get_vq_num_max(struct vdpa_device *vdpa)
{
	return VDPASIM_VQ_NUM_MAX;
}

static u16 vdpasim_get_vq_num_min(struct vdpa_device *vdpa)
{
	return 1;
}

static u64 vdpasim_get_device_features(struct vdpa_device *vdpa)
{
	return vdpa_to_sim(vdpa)->dev_attr.features;
}

static int vdpasim_set_driver_features(struct vdpa_device *vdpa, u64 features)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	/* PA-mode translation is only meaningful if the driver uses IOVAs */
	if (!(features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)))
		return -EINVAL;

	mutex_lock(&sim->lock);
	sim->features = features & sim->dev_attr.features;
	mutex_unlock(&sim->lock);
	return 0;
}

static u64 vdpasim_get_driver_features(struct vdpa_device *vdpa)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	u64 features;

	mutex_lock(&sim->lock);
	features = sim->features;
	mutex_unlock(&sim->lock);
	return features;
}

/* The simulated config space never changes on its own: no config interrupt. */
static void vdpasim_set_config_cb(struct vdpa_device *vdpa,
				  struct vdpa_callback *cb)
{
}

static u32 vdpasim_get_device_id(struct vdpa_device *vdpa)
{
	return vdpa_to_sim(vdpa)->dev_attr.id;
}

static u32 vdpasim_get_vendor_id(struct vdpa_device *vdpa)
{
	return 0;
}

static u8 vdpasim_get_status(struct vdpa_device *vdpa)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	u8 status;

	mutex_lock(&sim->lock);
	status = sim->status;
	mutex_unlock(&sim->lock);
	return status;
}

/*
 * Create the data-path thread at the first DRIVER_OK; it lives until the
 * device is freed.  Lockless readers (vdpasim_schedule_work(), from any
 * context) see either NULL or a fully set up worker.
 */
static int vdpasim_start_worker(struct vdpasim *sim)
{
	struct kthread_worker *worker;

	lockdep_assert_held(&sim->lock);
	if (sim->worker)
		return 0;
	worker = kthread_create_worker(0, "vdpasim-%s", dev_name(&sim->vdpa.dev));
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	/* paired with the acquire in vdpasim_schedule_work() */
	smp_store_release(&sim->worker, worker);
	return 0;
}

static void vdpasim_set_status(struct vdpa_device *vdpa, u8 status)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	bool start;
	int ret;

	mutex_lock(&sim->lock);
	start = !(sim->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
		(status & VIRTIO_CONFIG_S_DRIVER_OK);
	if (start) {
		ret = sim->dev_attr.start ? sim->dev_attr.start(sim) : 0;
		if (!ret)
			ret = vdpasim_start_worker(sim);
		if (ret) {
			/* no data path: tell the driver, which must reset */
			dev_err_ratelimited(&vdpa->dev,
					    "cannot start the data path: %d\n",
					    ret);
			status |= VIRTIO_CONFIG_S_NEEDS_RESET;
			start = false;
		}
	}
	sim->status = status;
	mutex_unlock(&sim->lock);

	/* serve what the driver queued before DRIVER_OK */
	if (start)
		vdpasim_schedule_work(sim);
}

static int vdpasim_reset(struct vdpa_device *vdpa)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	mutex_lock(&sim->lock);
	sim->status = 0;
	mutex_unlock(&sim->lock);

	vdpasim_stop_worker(sim);

	mutex_lock(&sim->lock);
	vdpasim_reset_state(sim);
	mutex_unlock(&sim->lock);
	return 0;
}

static int vdpasim_suspend(struct vdpa_device *vdpa)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	mutex_lock(&sim->lock);
	sim->suspended = true;
	mutex_unlock(&sim->lock);

	vdpasim_stop_worker(sim);
	return 0;
}

static int vdpasim_resume(struct vdpa_device *vdpa)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	bool start;

	mutex_lock(&sim->lock);
	sim->suspended = false;
	start = vdpasim_running(sim);
	mutex_unlock(&sim->lock);

	/* kicks that came while suspended were dropped by the stopped worker */
	if (start)
		vdpasim_schedule_work(sim);
	return 0;
}

static size_t vdpasim_get_config_size(struct vdpa_device *vdpa)
{
	return vdpa_to_sim(vdpa)->dev_attr.config_size;
}

static bool vdpasim_config_range_ok(struct vdpasim *sim, unsigned int offset,
				    unsigned int len)
{
	size_t size = sim->dev_attr.config_size;

	return offset <= size && len <= size - offset;
}

static void vdpasim_get_config(struct vdpa_device *vdpa, unsigned int offset,
			       void *buf, unsigned int len)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	if (!vdpasim_config_range_ok(sim, offset, len))
		return;

	mutex_lock(&sim->lock);
	/* after removal the image keeps its last contents */
	if (!sim->removed)
		sim->dev_attr.get_config(sim, sim->config);
	memcpy(buf, sim->config + offset, len);
	mutex_unlock(&sim->lock);
}

static void vdpasim_set_config(struct vdpa_device *vdpa, unsigned int offset,
			       const void *buf, unsigned int len)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	if (!vdpasim_config_range_ok(sim, offset, len))
		return;

	mutex_lock(&sim->lock);
	if (sim->fail_config_write) {
		sim->fail_config_write--;
		dev_info_ratelimited(&vdpa->dev,
				     "debugfs: ignoring config write of %u bytes at %u\n",
				     len, offset);
	} else if (sim->dev_attr.set_config && !sim->removed) {
		sim->dev_attr.set_config(sim, offset, buf, len);
	}
	mutex_unlock(&sim->lock);
}

static u32 vdpasim_get_generation(struct vdpa_device *vdpa)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	u32 generation;

	mutex_lock(&sim->lock);
	generation = sim->generation;
	mutex_unlock(&sim->lock);
	return generation;
}

static struct vdpa_iova_range vdpasim_get_iova_range(struct vdpa_device *vdpa)
{
	struct vdpa_iova_range range = {
		.first = 0,
		.last = U64_MAX,
	};

	return range;
}

static int vdpasim_set_group_asid(struct vdpa_device *vdpa, unsigned int group,
				  unsigned int asid)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	/* the core checked already; these index our arrays, so check again */
	if (group >= sim->dev_attr.ngroups || asid >= sim->dev_attr.nas)
		return -EINVAL;

	mutex_lock(&sim->lock);
	sim->group_asid[group] = asid;
	vdpasim_update_ring_iotlbs(sim);
	mutex_unlock(&sim->lock);
	return 0;
}

/* debugfs fault injection: should this map operation fail? */
static bool vdpasim_inject_map_failure(struct vdpasim *sim, unsigned int asid)
{
	lockdep_assert_held(&sim->lock);
	if (!sim->fail_map)
		return false;
	sim->fail_map--;
	dev_info_ratelimited(&sim->vdpa.dev,
			     "debugfs: failing a map of ASID %u\n", asid);
	return true;
}

/* The same, for an operation that does not hold sim->lock otherwise. */
static bool vdpasim_map_refused(struct vdpasim *sim, unsigned int asid)
{
	bool refused;

	mutex_lock(&sim->lock);
	refused = vdpasim_inject_map_failure(sim, asid);
	mutex_unlock(&sim->lock);
	return refused;
}

static void vdpasim_log_map_error(struct vdpasim *sim, unsigned int asid,
				  int err)
{
	if (err == -ENOSPC)
		dev_warn_ratelimited(&sim->vdpa.dev,
				     "ASID %u: more than %u translation entries (module parameter vdpa_sim.max_iotlb_entries)\n",
				     asid, sim->iotlb_limit);
	else
		dev_warn_ratelimited(&sim->vdpa.dev,
				     "ASID %u: map failed: %d\n", asid, err);
}

/*
 * Replace the translation of @asid by a copy of @iotlb.  The copy is built
 * aside and swapped in, so on failure the previous translation stays in
 * force and the worker never sees a half-built table.
 */
static int vdpasim_set_map(struct vdpa_device *vdpa, unsigned int asid,
			   struct vhost_iotlb *iotlb)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	struct vhost_iotlb_map *map;
	struct vhost_iotlb *new, *old;
	int ret;

	if (asid >= sim->dev_attr.nas)
		return -EINVAL;
	if (vdpasim_map_refused(sim, asid))
		return -ENOMEM;

	new = vhost_iotlb_alloc(sim->iotlb_limit, 0);
	if (!new)
		return -ENOMEM;

	for (map = vhost_iotlb_itree_first(iotlb, 0, U64_MAX); map;
	     map = vhost_iotlb_itree_next(map, 0, U64_MAX)) {
		ret = vhost_iotlb_add_range(new, map->start, map->last,
					    map->addr, map->perm);
		if (ret)
			goto err_free;
	}

	mutex_lock(&sim->lock);
	old = sim->iotlb[asid];
	sim->iotlb[asid] = new;
	sim->as_identity[asid] = false;
	vdpasim_update_ring_iotlbs(sim);
	mutex_unlock(&sim->lock);

	vhost_iotlb_free(old);
	return 0;

err_free:
	vhost_iotlb_free(new);
	vdpasim_log_map_error(sim, asid, ret);
	return ret;
}

static int vdpasim_dma_map(struct vdpa_device *vdpa, unsigned int asid,
			   u64 iova, u64 size, u64 pa, u32 perm, void *opaque)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	int ret;

	if (asid >= sim->dev_attr.nas || !size || iova + size - 1 < iova)
		return -EINVAL;

	mutex_lock(&sim->lock);
	if (vdpasim_inject_map_failure(sim, asid)) {
		ret = -ENOMEM;
	} else {
		vdpasim_as_leave_identity(sim, asid);
		vdpasim_update_ring_iotlbs(sim);
		ret = vhost_iotlb_add_range_ctx(sim->iotlb[asid], iova,
						iova + size - 1, pa, perm,
						opaque);
	}
	mutex_unlock(&sim->lock);

	if (ret)
		vdpasim_log_map_error(sim, asid, ret);
	return ret;
}

static int vdpasim_dma_unmap(struct vdpa_device *vdpa, unsigned int asid,
			     u64 iova, u64 size)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	u64 last;

	if (asid >= sim->dev_attr.nas)
		return -EINVAL;
	if (!size)
		return 0;
	last = iova + size - 1 < iova ? U64_MAX : iova + size - 1;

	mutex_lock(&sim->lock);
	vdpasim_as_leave_identity(sim, asid);
	vdpasim_update_ring_iotlbs(sim);
	vhost_iotlb_del_range(sim->iotlb[asid], iova, last);
	mutex_unlock(&sim->lock);
	return 0;
}

/*
 * set_map_add/set_map_remove: one entry more or less in the table set_map
 * installed, in O(log n) rather than a copy of the whole table.  The worker
 * translates only under sim->lock, which both take: once set_map_remove
 * returns, no pass can still reach the range.
 */
static int vdpasim_set_map_add(struct vdpa_device *vdpa, unsigned int asid,
			       u64 iova, u64 size, u64 pa, u32 perm)
{
	return vdpasim_dma_map(vdpa, asid, iova, size, pa, perm, NULL);
}

static int vdpasim_set_map_remove(struct vdpa_device *vdpa, unsigned int asid,
				  u64 iova, u64 size)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	if (asid >= sim->dev_attr.nas)
		return -EINVAL;
	/* a refused removal is what bus drivers must survive: let tests ask */
	if (vdpasim_map_refused(sim, asid))
		return -EBUSY;
	return vdpasim_dma_unmap(vdpa, asid, iova, size);
}

static int vdpasim_set_log(struct vdpa_device *vdpa,
			   const struct vdpa_dirty_log *log)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	struct vdpasim_dirty *dirty = NULL;

	if (log && !READ_ONCE(sim->dirty)) {
		dirty = kvzalloc(sizeof(*dirty), GFP_KERNEL);
		if (!dirty)
			return -ENOMEM;
	}

	/* no pass runs while we hold the lock, and each flushed its notes */
	mutex_lock(&sim->lock);
	if (!sim->dirty) {
		sim->dirty = dirty;
		dirty = NULL;
	}
	if (sim->dirty)
		vdpasim_dirty_clear(sim->dirty);
	if (log)
		sim->log = *log;
	else
		memset(&sim->log, 0, sizeof(sim->log));
	sim->logging = !!log;
	vdpasim_update_ring_dirty(sim);
	mutex_unlock(&sim->lock);

	kvfree(dirty);
	return 0;
}

static void vdpasim_free(struct vdpa_device *vdpa)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);
	unsigned int i;

	cancel_work_sync(&sim->kick_work);
	if (sim->worker) {
		kthread_cancel_work_sync(&sim->work);
		kthread_destroy_worker(sim->worker);
	}
	if (sim->dev_attr.free)
		sim->dev_attr.free(sim);
	if (sim->iotlb) {
		for (i = 0; i < sim->dev_attr.nas; i++)
			if (sim->iotlb[i])
				vhost_iotlb_free(sim->iotlb[i]);
		kfree(sim->iotlb);
	}
	kvfree(sim->dirty);
	kfree(sim->config);
	kfree(sim->as_identity);
	kfree(sim->group_asid);
	kfree(sim->vqs);
	mutex_destroy(&sim->lock);
	/* taken by vdpasim_unregister(): our code had to stay until now */
	if (sim->removed)
		module_put(THIS_MODULE);
}

/* batch_mapping=1: whole tables through set_map, and changes to them */
static const struct vdpa_config_ops vdpasim_batch_ops = {
	.set_vq_address		= vdpasim_set_vq_address,
	.set_vq_num		= vdpasim_set_vq_num,
	.kick_vq		= vdpasim_kick_vq,
	.set_vq_cb		= vdpasim_set_vq_cb,
	.set_vq_ready		= vdpasim_set_vq_ready,
	.get_vq_ready		= vdpasim_get_vq_ready,
	.set_vq_state		= vdpasim_set_vq_state,
	.get_vq_state		= vdpasim_get_vq_state,
	.get_vq_size		= vdpasim_get_vq_size,
	.get_vq_group		= vdpasim_get_vq_group,
	.get_vq_stats		= vdpasim_get_vq_stats,
	.get_vq_align		= vdpasim_get_vq_align,
	.get_vq_num_max		= vdpasim_get_vq_num_max,
	.get_vq_num_min		= vdpasim_get_vq_num_min,
	.get_device_features	= vdpasim_get_device_features,
	.set_driver_features	= vdpasim_set_driver_features,
	.get_driver_features	= vdpasim_get_driver_features,
	.set_config_cb		= vdpasim_set_config_cb,
	.get_device_id		= vdpasim_get_device_id,
	.get_vendor_id		= vdpasim_get_vendor_id,
	.get_status		= vdpasim_get_status,
	.set_status		= vdpasim_set_status,
	.reset			= vdpasim_reset,
	.suspend		= vdpasim_suspend,
	.resume			= vdpasim_resume,
	.get_config_size	= vdpasim_get_config_size,
	.get_config		= vdpasim_get_config,
	.set_config		= vdpasim_set_config,
	.get_generation		= vdpasim_get_generation,
	.get_iova_range		= vdpasim_get_iova_range,
	.set_group_asid		= vdpasim_set_group_asid,
	.set_map		= vdpasim_set_map,
	.set_map_add		= vdpasim_set_map_add,
	.set_map_remove		= vdpasim_set_map_remove,
	.set_log		= vdpasim_set_log,
	.free			= vdpasim_free,
};

/* batch_mapping=0: the same, with dma_map/dma_unmap instead of set_map* */
static struct vdpa_config_ops vdpasim_dma_ops __ro_after_init;

/* debugfs */

static int vdpasim_stall_get(void *data, u64 *val)
{
	struct vdpasim *sim = data;

	*val = READ_ONCE(sim->stall);
	return 0;
}

static int vdpasim_stall_set(void *data, u64 val)
{
	struct vdpasim *sim = data;

	WRITE_ONCE(sim->stall, !!val);
	/* pick up what was kicked while stalled */
	if (!val)
		vdpasim_schedule_work(sim);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(vdpasim_stall_fops, vdpasim_stall_get,
			 vdpasim_stall_set, "%llu\n");

static void vdpasim_debugfs_add(struct vdpasim *sim)
{
	struct dentry *dir;

	if (!READ_ONCE(debugfs_knobs))
		return;
	dir = debugfs_create_dir(dev_name(&sim->vdpa.dev), vdpasim_debugfs_root);
	if (IS_ERR(dir))
		return;
	sim->debugfs = dir;
	debugfs_create_u32("fail_map", 0600, dir, &sim->fail_map);
	debugfs_create_u32("fail_config_write", 0600, dir,
			   &sim->fail_config_write);
	debugfs_create_file_unsafe("stall", 0600, dir, sim, &vdpasim_stall_fops);
	debugfs_create_u32("drop_used", 0600, dir, &sim->drop_used);
	debugfs_create_u32("corrupt_used", 0600, dir, &sim->corrupt_used);
	debugfs_create_u64("ring_errors", 0400, dir, &sim->ring_errors);
	debugfs_create_u64("log_errors", 0400, dir, &sim->log_errors);
	debugfs_create_u64("kicker_passes", 0400, dir, &sim->kicker_passes);
	debugfs_create_u64("thread_passes", 0400, dir, &sim->thread_passes);
}

/* device life cycle, used by the classes' mgmtdev ops */

/**
 * vdpasim_create - allocate and initialise a simulated device
 * @attr: the class's description; copied
 * @extack: for errors the user caused
 *
 * Returns the device, not yet registered, or an ERR_PTR.  The class then
 * sets up its part of the @attr->alloc_size structure and calls
 * vdpasim_register(), or vdpasim_put() to give up.
 */
struct vdpasim *vdpasim_create(const struct vdpasim_dev_attr *attr,
			       struct netlink_ext_ack *extack)
{
	struct vdpa_alloc_params params = {
		.ops = batch_mapping ? &vdpasim_batch_ops : &vdpasim_dma_ops,
		.ngroups = attr->ngroups,
		.nas = attr->nas,
		.name = attr->name,
		.use_va = false,
	};
	struct vdpa_device *vdpa;
	struct vdpasim *sim;
	unsigned int i;

	if (WARN_ON(attr->alloc_size < sizeof(*sim) || !attr->nvqs ||
		    !attr->ngroups || !attr->nas || !attr->config_size ||
		    !attr->get_config || !attr->work || !attr->get_vq_group))
		return ERR_PTR(-EINVAL);
	if (max_iotlb_entries < 2) {
		NL_SET_ERR_MSG_MOD(extack,
				   "module parameter max_iotlb_entries must be at least 2");
		return ERR_PTR(-EINVAL);
	}

	vdpa = __vdpa_alloc_device(attr->alloc_size, &params);
	if (IS_ERR(vdpa))
		return ERR_CAST(vdpa);
	sim = vdpa_to_sim(vdpa);
	sim->dev_attr = *attr;
	/* the caller's name string need not outlive this call */
	sim->dev_attr.name = NULL;
	mutex_init(&sim->lock);
	kthread_init_work(&sim->work, vdpasim_work_fn);
	INIT_WORK(&sim->kick_work, vdpasim_kick_work_fn);
	sim->iotlb_limit = max_iotlb_entries;

	sim->vqs = kcalloc(attr->nvqs, sizeof(*sim->vqs), GFP_KERNEL);
	sim->group_asid = kcalloc(attr->ngroups, sizeof(*sim->group_asid),
				  GFP_KERNEL);
	sim->config = kzalloc(attr->config_size, GFP_KERNEL);
	sim->iotlb = kcalloc(attr->nas, sizeof(*sim->iotlb), GFP_KERNEL);
	sim->as_identity = kcalloc(attr->nas, sizeof(*sim->as_identity),
				   GFP_KERNEL);
	if (!sim->vqs || !sim->group_asid || !sim->config || !sim->iotlb ||
	    !sim->as_identity)
		goto err_put;
	for (i = 0; i < attr->nas; i++) {
		sim->iotlb[i] = vhost_iotlb_alloc(sim->iotlb_limit, 0);
		if (!sim->iotlb[i])
			goto err_put;
	}

	for (i = 0; i < attr->nvqs; i++) {
		struct vdpasim_vq *vq = &sim->vqs[i];

		vq->group = attr->get_vq_group(sim, i);
		if (WARN_ON(vq->group >= attr->ngroups))
			goto err_put;
		snprintf(vq->name, sizeof(vq->name), "%s-vq%u",
			 dev_name(&vdpa->dev), i);
	}

	mutex_lock(&sim->lock);
	vdpasim_reset_state(sim);
	mutex_unlock(&sim->lock);
	return sim;

err_put:
	put_device(&vdpa->dev);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(vdpasim_create);

/* Make a created device visible; the class's mgmtdev dev_add calls this. */
int vdpasim_register(struct vdpasim *sim)
{
	int ret;

	ret = vdpa_mgmt_register_device(&sim->vdpa, sim->dev_attr.nvqs);
	if (ret)
		return ret;
	vdpasim_debugfs_add(sim);
	return 0;
}
EXPORT_SYMBOL_GPL(vdpasim_register);

/*
 * Cut a removed device off its class: stop the data path and release the
 * class's resources now, while the class module is certainly loaded.  The
 * device itself may live on (someone holding a reference, e.g. an open
 * vhost-vdpa fd), but nothing reaches class code any more.
 */
static void vdpasim_detach_class(struct vdpasim *sim)
{
	unsigned int i;

	mutex_lock(&sim->lock);
	sim->removed = true;
	sim->status = 0;
	for (i = 0; i < sim->dev_attr.nvqs; i++)
		WRITE_ONCE(sim->vqs[i].ready, false);
	mutex_unlock(&sim->lock);

	vdpasim_stop_worker(sim);

	if (sim->dev_attr.free)
		sim->dev_attr.free(sim);
	sim->dev_attr.free = NULL;
}

/*
 * From the class's mgmtdev dev_del.  The device is freed with its last
 * reference, possibly later, by vdpasim_free(), which is our code: hold
 * this module until then.
 */
void vdpasim_unregister(struct vdpasim *sim)
{
	__module_get(THIS_MODULE);
	get_device(&sim->vdpa.dev);

	debugfs_remove_recursive(sim->debugfs);
	sim->debugfs = NULL;
	vdpa_mgmt_unregister_device(&sim->vdpa);
	vdpasim_detach_class(sim);

	put_device(&sim->vdpa.dev);
}
EXPORT_SYMBOL_GPL(vdpasim_unregister);

/* Drop a device that vdpasim_create() returned and that was not registered. */
void vdpasim_put(struct vdpasim *sim)
{
	put_device(&sim->vdpa.dev);
}
EXPORT_SYMBOL_GPL(vdpasim_put);

static int __init vdpasim_init(void)
{
	int ret;

	/* [0, U64_MAX] is stored as two entries (a u64 size cannot say 2^64) */
	vdpasim_identity = vhost_iotlb_alloc(2, 0);
	if (!vdpasim_identity)
		return -ENOMEM;
	ret = vhost_iotlb_add_range(vdpasim_identity, 0, U64_MAX, 0,
				    VHOST_MAP_RW);
	if (ret) {
		pr_err("vdpa_sim: cannot build the identity translation: %d\n",
		       ret);
		vhost_iotlb_free(vdpasim_identity);
		return ret;
	}

	vdpasim_dma_ops = vdpasim_batch_ops;
	vdpasim_dma_ops.set_map = NULL;
	vdpasim_dma_ops.set_map_add = NULL;
	vdpasim_dma_ops.set_map_remove = NULL;
	vdpasim_dma_ops.dma_map = vdpasim_dma_map;
	vdpasim_dma_ops.dma_unmap = vdpasim_dma_unmap;

	vdpasim_debugfs_root = debugfs_create_dir("vdpa_sim", NULL);
	return 0;
}

static void __exit vdpasim_exit(void)
{
	debugfs_remove_recursive(vdpasim_debugfs_root);
	vhost_iotlb_free(vdpasim_identity);
}

module_init(vdpasim_init);
module_exit(vdpasim_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(VDPA_VERSION);
MODULE_DESCRIPTION("vDPA device simulator core");
