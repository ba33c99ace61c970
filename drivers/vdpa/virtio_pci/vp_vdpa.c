// SPDX-License-Identifier: GPL-2.0
/*
 * vp_vdpa: a modern virtio-pci function as a vDPA parent.
 *
 * The function keeps its own data path: the vdpa client's rings live in
 * memory the function reaches by DMA, doorbells are the function's notify
 * registers (mmappable by vhost-vdpa when each queue has a page of its
 * own) and interrupts are the function's MSI-X vectors.  The driver only
 * forwards the control path (features, status, queue setup, config space)
 * to the common config structure, through the helpers the kernel exports
 * from virtio_pci_modern_dev.
 *
 * The PCI driver has no id table: it never takes a virtio function by
 * itself.  The administrator hands it one with driver_override (or
 * new_id), and gets a management device "pci/<BDF>" that creates one vdpa
 * device with the function's features, config space, queue count and
 * queue sizes.
 *
 * DMA goes through the PCI function.  Behind an IOMMU that is the
 * platform IOMMU; without one the function uses physical addresses, which
 * a vhost-vdpa client can only provide if IOVA equals physical address:
 * the unsafe_noiommu_mode parameter lets such clients in (see
 * Documentation/driver-api/vdpa.rst).
 */

#include <linux/delay.h>
#include <linux/device.h>
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/vdpa.h>
#include <linux/vdpa_version.h>
#include <linux/virtio_pci_modern.h>
#include <uapi/linux/vdpa.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_pci.h>

#define VP_VDPA_DRIVER_NAME	"vp-vdpa"
#define VP_VDPA_IRQ_NAME_LEN	48
/* how long a reset may take to read back as 0 */
#define VP_VDPA_RESET_TIMEOUT_MS	1000

static bool unsafe_noiommu_mode;
module_param(unsafe_noiommu_mode, bool, 0644);
MODULE_PARM_DESC(unsafe_noiommu_mode,
		 "Without an IOMMU, let vhost-vdpa map memory at IOVA == physical address (unsafe: the device reaches all memory)");

/**
 * struct vp_vdpa_vq - one virtqueue of the function
 * @notify: mapped doorbell
 * @notify_pa: physical address of the doorbell
 * @cb_lock: protects @cb against the interrupt handler
 * @cb: the client's interrupt callback
 * @irq: Linux irq of the queue's MSI-X vector, or -1 while none
 * @irq_name: name shown in /proc/interrupts
 */
struct vp_vdpa_vq {
	void __iomem *notify;
	resource_size_t notify_pa;
	spinlock_t cb_lock;	/* protects cb against the irq handler */
	struct vdpa_callback cb;
	int irq;
	char irq_name[VP_VDPA_IRQ_NAME_LEN];
};

/**
 * struct vp_vdpa - the vdpa device of one function
 * @vdpa: the vdpa device (first: vdpa_alloc_device() requires it)
 * @mdev: the function's modern virtio-pci state, owned by the mgmtdev
 * @pdev: the PCI function
 * @vqs: @nvqs queues
 * @nvqs: number of virtqueues of the function
 * @device_features: features offered (the function's, or a provisioned
 *		     subset)
 * @vq_num_max: largest queue size the function reported
 * @shared_notify: the doorbells lie in one mapping of @mdev (not per-vq)
 * @config_lock: protects @config_cb against the config interrupt handler
 * @config_cb: the client's config change callback
 * @config_irq: Linux irq of the config vector, or -1 while none
 * @config_irq_name: name shown in /proc/interrupts
 * @vectors: MSI-X vectors allocated (0 while none); with @config_irq and
 *	     each @vqs[i].irq, changed only by status changes and reset,
 *	     which the core serialises with the device's cf_lock
 */
struct vp_vdpa {
	struct vdpa_device vdpa;
	struct virtio_pci_modern_device *mdev;
	struct pci_dev *pdev;
	struct vp_vdpa_vq *vqs;
	u16 nvqs;
	u64 device_features;
	u16 vq_num_max;
	bool shared_notify;
	spinlock_t config_lock;	/* protects config_cb against the irq handler */
	struct vdpa_callback config_cb;
	int config_irq;
	char config_irq_name[VP_VDPA_IRQ_NAME_LEN];
	int vectors;
};

/**
 * struct vp_vdpa_mgmt - management device of one bound function
 * @mgmt: the management device ("pci/<BDF>")
 * @mdev: modern virtio-pci state of the function
 * @id_table: the function's virtio id, zero-terminated
 * @vp: the vdpa device created on the function, or NULL; changed only by
 *	dev_add and dev_del, which the core serialises with its device lock
 */
struct vp_vdpa_mgmt {
	struct vdpa_mgmt_dev mgmt;
	struct virtio_pci_modern_device mdev;
	struct virtio_device_id id_table[2];
	struct vp_vdpa *vp;
};

static struct vp_vdpa *vdpa_to_vp(struct vdpa_device *vdpa)
{
	return container_of(vdpa, struct vp_vdpa, vdpa);
}

static struct virtio_pci_modern_device *vdpa_to_mdev(struct vdpa_device *vdpa)
{
	return vdpa_to_vp(vdpa)->mdev;
}

/* Interrupts */

static irqreturn_t vp_vdpa_run_cb(spinlock_t *lock, struct vdpa_callback *cb)
{
	irqreturn_t ret = IRQ_HANDLED;

	spin_lock(lock);
	if (cb->trigger)
		eventfd_signal(cb->trigger, 1);
	else if (cb->callback)
		ret = cb->callback(cb->private);
	spin_unlock(lock);
	return ret;
}

static irqreturn_t vp_vdpa_vq_irq(int irq, void *data)
{
	struct vp_vdpa_vq *vq = data;

	return vp_vdpa_run_cb(&vq->cb_lock, &vq->cb);
}

static irqreturn_t vp_vdpa_config_irq(int irq, void *data)
{
	struct vp_vdpa *vp = data;

	return vp_vdpa_run_cb(&vp->config_lock, &vp->config_cb);
}

/* Detach every vector from the function, free the irqs, then the vectors. */
static void vp_vdpa_free_irqs(struct vp_vdpa *vp)
{
	u16 i;

	for (i = 0; i < vp->nvqs; i++) {
		if (vp->vqs[i].irq < 0)
			continue;
		vp_modern_queue_vector(vp->mdev, i, VIRTIO_MSI_NO_VECTOR);
		free_irq(vp->vqs[i].irq, &vp->vqs[i]);
		vp->vqs[i].irq = -1;
	}
	if (vp->config_irq >= 0) {
		vp_modern_config_vector(vp->mdev, VIRTIO_MSI_NO_VECTOR);
		free_irq(vp->config_irq, vp);
		vp->config_irq = -1;
	}
	if (vp->vectors) {
		pci_free_irq_vectors(vp->pdev);
		vp->vectors = 0;
	}
}

/*
 * One MSI-X vector per virtqueue (vector i for queue i) and the last one
 * for config changes, as upstream lays them out.  Done when the driver
 * sets DRIVER_OK, when the number of queues in use is final.  A vhost-vdpa
 * client sets DRIVER_OK as often as it likes: messages are ratelimited.
 */
static int vp_vdpa_request_irqs(struct vp_vdpa *vp)
{
	struct pci_dev *pdev = vp->pdev;
	int want = vp->nvqs + 1;
	int ret, irq;
	u16 i;

	ret = pci_alloc_irq_vectors(pdev, want, want, PCI_IRQ_MSIX);
	if (ret < 0) {
		dev_err_ratelimited(&pdev->dev,
				    "cannot allocate %d MSI-X vectors: %d\n",
				    want, ret);
		return ret;
	}
	vp->vectors = want;

	for (i = 0; i < vp->nvqs; i++) {
		struct vp_vdpa_vq *vq = &vp->vqs[i];

		snprintf(vq->irq_name, sizeof(vq->irq_name), "vp-vdpa[%s]-%u",
			 pci_name(pdev), i);
		irq = pci_irq_vector(pdev, i);
		ret = request_irq(irq, vp_vdpa_vq_irq, 0, vq->irq_name, vq);
		if (ret) {
			dev_err_ratelimited(&pdev->dev,
					    "cannot request irq %d of vq %u: %d\n",
					    irq, i, ret);
			goto err;
		}
		vq->irq = irq;
		if (vp_modern_queue_vector(vp->mdev, i, i) != i) {
			dev_err_ratelimited(&pdev->dev,
					    "the function refused MSI-X vector %u for vq %u\n",
					    i, i);
			ret = -EIO;
			goto err;
		}
	}

	snprintf(vp->config_irq_name, sizeof(vp->config_irq_name),
		 "vp-vdpa[%s]-config", pci_name(pdev));
	irq = pci_irq_vector(pdev, vp->nvqs);
	ret = request_irq(irq, vp_vdpa_config_irq, 0, vp->config_irq_name, vp);
	if (ret) {
		dev_err_ratelimited(&pdev->dev,
				    "cannot request the config irq %d: %d\n",
				    irq, ret);
		goto err;
	}
	vp->config_irq = irq;
	if (vp_modern_config_vector(vp->mdev, vp->nvqs) != vp->nvqs) {
		dev_err_ratelimited(&pdev->dev,
				    "the function refused the config MSI-X vector\n");
		ret = -EIO;
		goto err;
	}
	return 0;

err:
	vp_vdpa_free_irqs(vp);
	return ret;
}

/* Virtqueue operations */

static int vp_vdpa_set_vq_address(struct vdpa_device *vdpa, u16 idx,
				  u64 desc_area, u64 driver_area,
				  u64 device_area)
{
	vp_modern_queue_address(vdpa_to_mdev(vdpa), idx, desc_area,
				driver_area, device_area);
	return 0;
}

static void vp_vdpa_set_vq_num(struct vdpa_device *vdpa, u16 idx, u32 num)
{
	vp_modern_set_queue_size(vdpa_to_mdev(vdpa), idx, num);
}

static u16 vp_vdpa_get_vq_size(struct vdpa_device *vdpa, u16 idx)
{
	return vp_modern_get_queue_size(vdpa_to_mdev(vdpa), idx);
}

static void vp_vdpa_kick_vq(struct vdpa_device *vdpa, u16 idx)
{
	vp_iowrite16(idx, vdpa_to_vp(vdpa)->vqs[idx].notify);
}

static void vp_vdpa_set_vq_cb(struct vdpa_device *vdpa, u16 idx,
			      struct vdpa_callback *cb)
{
	struct vp_vdpa_vq *vq = &vdpa_to_vp(vdpa)->vqs[idx];
	unsigned long flags;

	spin_lock_irqsave(&vq->cb_lock, flags);
	vq->cb = *cb;
	spin_unlock_irqrestore(&vq->cb_lock, flags);
}

/*
 * virtio-pci can only enable a queue: writing 0 to queue_enable is a
 * protocol violation (QEMU marks the device broken).  A queue is disabled
 * by the device reset, which every client does before reusing a queue.
 */
static void vp_vdpa_set_vq_ready(struct vdpa_device *vdpa, u16 idx,
				 bool ready)
{
	struct virtio_pci_modern_device *mdev = vdpa_to_mdev(vdpa);

	if (ready)
		vp_modern_set_queue_enable(mdev, idx, true);
	else if (vp_modern_get_queue_enable(mdev, idx))
		dev_dbg(&vdpa->dev, "vq %u stays enabled until reset\n", idx);
}

static bool vp_vdpa_get_vq_ready(struct vdpa_device *vdpa, u16 idx)
{
	return vp_modern_get_queue_enable(vdpa_to_mdev(vdpa), idx);
}

/*
 * virtio-pci has no register for the ring position: a queue always
 * starts at its initial state.  Setting exactly that state before the
 * queue is enabled is accepted, anything else is not.
 */
static int vp_vdpa_set_vq_state(struct vdpa_device *vdpa, u16 idx,
				const struct vdpa_vq_state *state)
{
	struct virtio_pci_modern_device *mdev = vdpa_to_mdev(vdpa);
	const struct vdpa_vq_state_packed *packed = &state->packed;

	if (!(vp_modern_get_status(mdev) & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    vp_modern_get_queue_enable(mdev, idx))
		return -EOPNOTSUPP;

	if (vp_modern_get_driver_features(mdev) & BIT_ULL(VIRTIO_F_RING_PACKED)) {
		if (packed->last_avail_counter && !packed->last_avail_idx &&
		    packed->last_used_counter && !packed->last_used_idx)
			return 0;
		return -EOPNOTSUPP;
	}
	return state->split.avail_index ? -EOPNOTSUPP : 0;
}

/* Not readable on virtio-pci (GET_VRING_BASE gives EOPNOTSUPP, as upstream). */
static int vp_vdpa_get_vq_state(struct vdpa_device *vdpa, u16 idx,
				struct vdpa_vq_state *state)
{
	return -EOPNOTSUPP;
}

static struct vdpa_notification_area
vp_vdpa_get_vq_notification(struct vdpa_device *vdpa, u16 idx)
{
	struct vp_vdpa *vp = vdpa_to_vp(vdpa);
	struct vdpa_notification_area area = {
		.addr = vp->vqs[idx].notify_pa,
		/* the doorbell's stride: PAGE_SIZE with one page per queue */
		.size = vp->mdev->notify_offset_multiplier,
	};

	return area;
}

static int vp_vdpa_get_vq_irq(struct vdpa_device *vdpa, u16 idx)
{
	int irq = READ_ONCE(vdpa_to_vp(vdpa)->vqs[idx].irq);

	return irq < 0 ? -EINVAL : irq;
}

/* Device operations */

static u32 vp_vdpa_get_vq_align(struct vdpa_device *vdpa)
{
	return PAGE_SIZE;
}

static u16 vp_vdpa_get_vq_num_max(struct vdpa_device *vdpa)
{
	return vdpa_to_vp(vdpa)->vq_num_max;
}

static u64 vp_vdpa_get_device_features(struct vdpa_device *vdpa)
{
	return vdpa_to_vp(vdpa)->device_features;
}

static int vp_vdpa_set_driver_features(struct vdpa_device *vdpa, u64 features)
{
	struct vp_vdpa *vp = vdpa_to_vp(vdpa);

	if (features & ~vp->device_features) {
		dev_dbg(&vdpa->dev, "features 0x%llx not offered (0x%llx)\n",
			features, vp->device_features);
		return -EINVAL;
	}
	vp_modern_set_features(vp->mdev, features);
	return 0;
}

static u64 vp_vdpa_get_driver_features(struct vdpa_device *vdpa)
{
	return vp_modern_get_driver_features(vdpa_to_mdev(vdpa));
}

static void vp_vdpa_set_config_cb(struct vdpa_device *vdpa,
				  struct vdpa_callback *cb)
{
	struct vp_vdpa *vp = vdpa_to_vp(vdpa);
	unsigned long flags;

	spin_lock_irqsave(&vp->config_lock, flags);
	vp->config_cb = *cb;
	spin_unlock_irqrestore(&vp->config_lock, flags);
}

static u32 vp_vdpa_get_device_id(struct vdpa_device *vdpa)
{
	return vdpa_to_mdev(vdpa)->id.device;
}

static u32 vp_vdpa_get_vendor_id(struct vdpa_device *vdpa)
{
	return vdpa_to_mdev(vdpa)->id.vendor;
}

static u8 vp_vdpa_get_status(struct vdpa_device *vdpa)
{
	return vp_modern_get_status(vdpa_to_mdev(vdpa));
}

static void vp_vdpa_set_status(struct vdpa_device *vdpa, u8 status)
{
	struct vp_vdpa *vp = vdpa_to_vp(vdpa);
	u8 old = vp_modern_get_status(vp->mdev);

	/*
	 * Without vectors the rings still work, but completions are only
	 * seen by polling: say so, do not fail the status change (upstream
	 * does not either).
	 */
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !(old & VIRTIO_CONFIG_S_DRIVER_OK) && !vp->vectors &&
	    vp_vdpa_request_irqs(vp))
		dev_warn_ratelimited(&vdpa->dev, "running without interrupts\n");

	vp_modern_set_status(vp->mdev, status);
}

/* Reset the function and wait until it reads back 0, as the spec asks. */
static int vp_vdpa_hw_reset(struct vp_vdpa *vp)
{
	unsigned int waited = 0;

	vp_modern_set_status(vp->mdev, 0);
	while (vp_modern_get_status(vp->mdev)) {
		if (waited++ >= VP_VDPA_RESET_TIMEOUT_MS) {
			/* also reached from every open, close and reset */
			dev_err_ratelimited(&vp->vdpa.dev,
					    "the function did not complete its reset\n");
			return -ETIMEDOUT;
		}
		usleep_range(1000, 2000);
	}
	vp_vdpa_free_irqs(vp);
	return 0;
}

static int vp_vdpa_reset(struct vdpa_device *vdpa)
{
	return vp_vdpa_hw_reset(vdpa_to_vp(vdpa));
}

static size_t vp_vdpa_get_config_size(struct vdpa_device *vdpa)
{
	return vdpa_to_mdev(vdpa)->device_len;
}

/* Byte accesses, repeated until the config generation is stable. */
static void vp_vdpa_get_config(struct vdpa_device *vdpa, unsigned int offset,
			       void *buf, unsigned int len)
{
	struct virtio_pci_modern_device *mdev = vdpa_to_mdev(vdpa);
	u8 *p = buf;
	u32 gen;
	unsigned int i;

	do {
		gen = vp_modern_generation(mdev);
		for (i = 0; i < len; i++)
			p[i] = vp_ioread8(mdev->device + offset + i);
	} while (gen != vp_modern_generation(mdev));
}

static void vp_vdpa_set_config(struct vdpa_device *vdpa, unsigned int offset,
			       const void *buf, unsigned int len)
{
	struct virtio_pci_modern_device *mdev = vdpa_to_mdev(vdpa);
	const u8 *p = buf;
	unsigned int i;

	for (i = 0; i < len; i++)
		vp_iowrite8(p[i], mdev->device + offset + i);
}

static u32 vp_vdpa_get_generation(struct vdpa_device *vdpa)
{
	return vp_modern_generation(vdpa_to_mdev(vdpa));
}

/*
 * No-IOMMU mode: the function reaches physical addresses, so the only
 * translation it can honour is the identity.  vhost-vdpa pins the pages
 * and passes their physical address; anything else is refused.
 */
static int vp_vdpa_dma_map(struct vdpa_device *vdpa, unsigned int asid,
			   u64 iova, u64 size, u64 pa, u32 perm, void *opaque)
{
	if (iova != pa) {
		dev_warn_ratelimited(&vdpa->dev,
				     "no IOMMU: IOVA 0x%llx must equal the physical address 0x%llx\n",
				     iova, pa);
		return -EINVAL;
	}
	return 0;
}

static int vp_vdpa_dma_unmap(struct vdpa_device *vdpa, unsigned int asid,
			     u64 iova, u64 size)
{
	return 0;
}

static void vp_vdpa_free(struct vdpa_device *vdpa)
{
	struct vp_vdpa *vp = vdpa_to_vp(vdpa);
	u16 i;

	if (!vp->vqs)
		return;
	for (i = 0; i < vp->nvqs; i++)
		if (vp->vqs[i].notify && !vp->shared_notify)
			pci_iounmap(vp->pdev, vp->vqs[i].notify);
	kfree(vp->vqs);
}

#define VP_VDPA_COMMON_OPS						\
	.set_vq_address = vp_vdpa_set_vq_address,			\
	.set_vq_num = vp_vdpa_set_vq_num,				\
	.kick_vq = vp_vdpa_kick_vq,					\
	.set_vq_cb = vp_vdpa_set_vq_cb,					\
	.set_vq_ready = vp_vdpa_set_vq_ready,				\
	.get_vq_ready = vp_vdpa_get_vq_ready,				\
	.set_vq_state = vp_vdpa_set_vq_state,				\
	.get_vq_state = vp_vdpa_get_vq_state,				\
	.get_vq_notification = vp_vdpa_get_vq_notification,		\
	.get_vq_irq = vp_vdpa_get_vq_irq,				\
	.get_vq_size = vp_vdpa_get_vq_size,				\
	.get_vq_align = vp_vdpa_get_vq_align,				\
	.get_vq_num_max = vp_vdpa_get_vq_num_max,			\
	.get_device_features = vp_vdpa_get_device_features,		\
	.set_driver_features = vp_vdpa_set_driver_features,		\
	.get_driver_features = vp_vdpa_get_driver_features,		\
	.set_config_cb = vp_vdpa_set_config_cb,				\
	.get_device_id = vp_vdpa_get_device_id,				\
	.get_vendor_id = vp_vdpa_get_vendor_id,				\
	.get_status = vp_vdpa_get_status,				\
	.set_status = vp_vdpa_set_status,				\
	.reset = vp_vdpa_reset,						\
	.get_config_size = vp_vdpa_get_config_size,			\
	.get_config = vp_vdpa_get_config,				\
	.set_config = vp_vdpa_set_config,				\
	.get_generation = vp_vdpa_get_generation,			\
	.free = vp_vdpa_free

/* DMA through the platform IOMMU (or straight, for virtio_vdpa). */
static const struct vdpa_config_ops vp_vdpa_ops = {
	VP_VDPA_COMMON_OPS,
};

/* No IOMMU and unsafe_noiommu_mode: identity mappings for vhost-vdpa. */
static const struct vdpa_config_ops vp_vdpa_noiommu_ops = {
	VP_VDPA_COMMON_OPS,
	.dma_map = vp_vdpa_dma_map,
	.dma_unmap = vp_vdpa_dma_unmap,
};

/* Management device */

static struct vp_vdpa_mgmt *to_vp_mgmt(struct vdpa_mgmt_dev *mgmt)
{
	return container_of(mgmt, struct vp_vdpa_mgmt, mgmt);
}

static int vp_vdpa_map_doorbells(struct vp_vdpa *vp)
{
	u16 i;

	vp->vqs = kcalloc(vp->nvqs, sizeof(*vp->vqs), GFP_KERNEL);
	if (!vp->vqs)
		return -ENOMEM;
	for (i = 0; i < vp->nvqs; i++) {
		struct vp_vdpa_vq *vq = &vp->vqs[i];

		spin_lock_init(&vq->cb_lock);
		vq->irq = -1;
		vq->notify = vp_modern_map_vq_notify(vp->mdev, i,
						     &vq->notify_pa);
		if (!vq->notify) {
			dev_err(&vp->pdev->dev, "cannot map the doorbell of vq %u\n",
				i);
			return -EIO;
		}
	}
	return 0;
}

static const struct vdpa_config_ops *vp_vdpa_pick_ops(struct pci_dev *pdev)
{
	if (device_iommu_mapped(&pdev->dev) || !unsafe_noiommu_mode)
		return &vp_vdpa_ops;
	dev_warn(&pdev->dev,
		 "unsafe no-IOMMU mode: vhost-vdpa clients get DMA to physical addresses\n");
	return &vp_vdpa_noiommu_ops;
}

static int vp_vdpa_dev_add(struct vdpa_mgmt_dev *mgmt, const char *name,
			   const struct vdpa_dev_set_config *config,
			   struct netlink_ext_ack *extack)
{
	struct vp_vdpa_mgmt *vm = to_vp_mgmt(mgmt);
	struct pci_dev *pdev = vm->mdev.pci_dev;
	struct vdpa_alloc_params params = {
		.parent = &pdev->dev,
		.dma_dev = &pdev->dev,
		.ngroups = 1,
		.nas = 1,
		.name = name,
	};
	struct vp_vdpa *vp;
	u64 features = mgmt->supported_features;
	int err;
	u16 i;

	if (vm->vp) {
		NL_SET_ERR_MSG_MOD(extack,
				   "The PCI function already backs a vdpa device");
		dev_err(&pdev->dev, "already backs vdpa device %s\n",
			dev_name(&vm->vp->vdpa.dev));
		return -EBUSY;
	}
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_FEATURES)) {
		if (config->device_features & ~features) {
			NL_SET_ERR_MSG_MOD(extack,
					   "Features not offered by the PCI function");
			dev_err(&pdev->dev, "cannot provision features 0x%llx: it offers 0x%llx\n",
				config->device_features, features);
			return -EINVAL;
		}
		features = config->device_features;
	}

	params.ops = vp_vdpa_pick_ops(pdev);
	/* vhost-vdpa then wants CAP_SYS_RAWIO at open, and taints */
	params.unsafe_noiommu = params.ops == &vp_vdpa_noiommu_ops;
	vp = vdpa_alloc_device(struct vp_vdpa, vdpa, &params);
	if (IS_ERR(vp))
		return PTR_ERR(vp);
	vp->mdev = &vm->mdev;
	vp->pdev = pdev;
	vp->nvqs = mgmt->max_supported_vqs;
	vp->device_features = features;
	vp->shared_notify = !!vm->mdev.notify_base;
	vp->config_irq = -1;
	spin_lock_init(&vp->config_lock);

	err = vp_vdpa_map_doorbells(vp);
	if (err)
		goto err_put;
	err = vp_vdpa_hw_reset(vp);
	if (err)
		goto err_put;
	/* after a reset each queue reports the largest size it supports */
	for (i = 0; i < vp->nvqs; i++)
		vp->vq_num_max = max(vp->vq_num_max,
				     vp_modern_get_queue_size(vp->mdev, i));
	err = vdpa_mgmt_register_device(&vp->vdpa, vp->nvqs);
	if (err)
		goto err_put;
	vm->vp = vp;
	return 0;

err_put:
	put_device(&vp->vdpa.dev);
	return err;
}

static void vp_vdpa_dev_del(struct vdpa_mgmt_dev *mgmt,
			    struct vdpa_device *vdpa)
{
	struct vp_vdpa_mgmt *vm = to_vp_mgmt(mgmt);
	struct vp_vdpa *vp = vdpa_to_vp(vdpa);

	/* The bus driver is gone after unregister; the hardware is ours. */
	get_device(&vdpa->dev);
	vdpa_mgmt_unregister_device(vdpa);
	vp_vdpa_hw_reset(vp);
	vm->vp = NULL;
	put_device(&vdpa->dev);
}

static const struct vdpa_mgmtdev_ops vp_vdpa_mgmt_ops = {
	.dev_add = vp_vdpa_dev_add,
	.dev_del = vp_vdpa_dev_del,
};

/* PCI driver */

static int vp_vdpa_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct virtio_pci_modern_device *mdev;
	struct vp_vdpa_mgmt *vm;
	u16 nvqs;
	int err;

	vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	if (!vm)
		return -ENOMEM;
	mdev = &vm->mdev;
	mdev->pci_dev = pdev;

	err = pci_enable_device(pdev);
	if (err) {
		dev_err(&pdev->dev, "cannot enable the function: %d\n", err);
		goto err_free;
	}
	err = vp_modern_probe(mdev);
	if (err) {
		dev_err(&pdev->dev, "not a modern virtio-pci function: %d\n",
			err);
		goto err_disable;
	}
	/* Whatever the previous driver left running stops here. */
	vp_modern_set_status(mdev, 0);
	nvqs = vp_modern_get_num_queues(mdev);
	if (!nvqs) {
		dev_err(&pdev->dev, "the function has no virtqueues\n");
		err = -ENODEV;
		goto err_remove;
	}
	pci_set_master(pdev);

	vm->id_table[0].device = mdev->id.device;
	vm->id_table[0].vendor = mdev->id.vendor;
	vm->mgmt.device = &pdev->dev;
	vm->mgmt.ops = &vp_vdpa_mgmt_ops;
	vm->mgmt.id_table = vm->id_table;
	vm->mgmt.config_attr_mask = BIT_ULL(VDPA_ATTR_DEV_FEATURES);
	vm->mgmt.supported_features = vp_modern_get_features(mdev);
	vm->mgmt.max_supported_vqs = nvqs;
	pci_set_drvdata(pdev, vm);

	err = vdpa_mgmtdev_register(&vm->mgmt);
	if (err) {
		dev_err(&pdev->dev, "cannot register management device: %d\n",
			err);
		goto err_master;
	}
	return 0;

err_master:
	pci_clear_master(pdev);
err_remove:
	vp_modern_remove(mdev);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(vm);
	return err;
}

static void vp_vdpa_remove(struct pci_dev *pdev)
{
	struct vp_vdpa_mgmt *vm = pci_get_drvdata(pdev);

	/* deletes the vdpa device through dev_del, which resets the function */
	vdpa_mgmtdev_unregister(&vm->mgmt);
	vp_modern_set_status(&vm->mdev, 0);
	pci_clear_master(pdev);
	vp_modern_remove(&vm->mdev);
	pci_disable_device(pdev);
	kfree(vm);
}

/* No ids: functions are bound through driver_override or new_id only. */
static struct pci_driver vp_vdpa_driver = {
	.name = VP_VDPA_DRIVER_NAME,
	.id_table = NULL,
	.probe = vp_vdpa_probe,
	.remove = vp_vdpa_remove,
};
module_pci_driver(vp_vdpa_driver);

MODULE_LICENSE("GPL");
MODULE_VERSION(VDPA_VERSION);
MODULE_DESCRIPTION("vDPA parent for modern virtio-pci functions");
