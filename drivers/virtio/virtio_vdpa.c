// SPDX-License-Identifier: GPL-2.0
/*
 * virtio_vdpa: a vdpa bus driver that puts every vdpa device bound to it on
 * the kernel's virtio bus, so that the distribution's own virtio drivers
 * (virtio_net, virtio_blk...) drive it unchanged.
 *
 * Each virtio transport operation is forwarded to the parent's
 * vdpa_config_ops: features, status, reset and config space through the
 * core helpers (which keep feature negotiation consistent with config
 * reads), virtqueues directly.  Rings and buffers are ordinary kernel
 * memory mapped by virtio_ring with the DMA API on the vdpa device's DMA
 * device, which is the parent of the virtio device; the parent sees the
 * resulting DMA addresses.
 *
 * Lifetime.  struct virtio_vdpa embeds the virtio device, whose reference
 * count owns the structure: probe registers it, remove unregisters it, and
 * the device's release callback frees it.  Nothing here touches the vdpa
 * device after remove returns: the virtio driver's remove resets the
 * device and deletes the virtqueues before unregister_virtio_device()
 * returns.
 */

#include <linux/device.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vdpa.h>
#include <linux/vdpa_version.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <uapi/linux/virtio_ids.h>

/**
 * struct virtio_vdpa - a vdpa device presented on the virtio bus
 * @vdev: the virtio device; its release frees this structure
 * @vdpa: the bound vdpa device (valid from probe until remove returns)
 */
struct virtio_vdpa {
	struct virtio_device vdev;
	struct vdpa_device *vdpa;
};

static struct virtio_vdpa *to_virtio_vdpa(struct virtio_device *vdev)
{
	return container_of(vdev, struct virtio_vdpa, vdev);
}

static struct vdpa_device *vd_get_vdpa(struct virtio_device *vdev)
{
	return to_virtio_vdpa(vdev)->vdpa;
}

/* config space, status, reset */

static void virtio_vdpa_get(struct virtio_device *vdev, unsigned int offset,
			    void *buf, unsigned int len)
{
	vdpa_get_config(vd_get_vdpa(vdev), offset, buf, len);
}

static void virtio_vdpa_set(struct virtio_device *vdev, unsigned int offset,
			    const void *buf, unsigned int len)
{
	vdpa_set_config(vd_get_vdpa(vdev), offset, buf, len);
}

static u32 virtio_vdpa_generation(struct virtio_device *vdev)
{
	struct vdpa_device *vdpa = vd_get_vdpa(vdev);

	/* Without a counter, virtio reads each field once: still correct. */
	return vdpa->ops->get_generation ? vdpa->ops->get_generation(vdpa) : 0;
}

static u8 virtio_vdpa_get_status(struct virtio_device *vdev)
{
	return vdpa_get_status(vd_get_vdpa(vdev));
}

static void virtio_vdpa_set_status(struct virtio_device *vdev, u8 status)
{
	int err;

	err = vdpa_set_status(vd_get_vdpa(vdev), status);
	if (err)
		dev_err(&vdev->dev, "setting status 0x%x failed: %d\n",
			status, err);
}

static void virtio_vdpa_reset(struct virtio_device *vdev)
{
	int err;

	err = vdpa_reset(vd_get_vdpa(vdev));
	if (err)
		dev_err(&vdev->dev, "device reset failed: %d\n", err);
}

/* features */

static u64 virtio_vdpa_get_features(struct virtio_device *vdev)
{
	struct vdpa_device *vdpa = vd_get_vdpa(vdev);

	return vdpa->ops->get_device_features(vdpa);
}

static int virtio_vdpa_finalize_features(struct virtio_device *vdev)
{
	/* Keep the transport bits virtio_ring implements, drop the others. */
	vring_transport_features(vdev);

	return vdpa_set_features(vd_get_vdpa(vdev), vdev->features);
}

/* virtqueues */

static bool virtio_vdpa_notify(struct virtqueue *vq)
{
	struct vdpa_device *vdpa = vd_get_vdpa(vq->vdev);

	vdpa->ops->kick_vq(vdpa, vq->index);
	return true;
}

/* The parent's used-buffer interrupt for one virtqueue. */
static irqreturn_t virtio_vdpa_vq_interrupt(void *private)
{
	return vring_interrupt(0, private);
}

/* The parent's config change interrupt. */
static irqreturn_t virtio_vdpa_config_interrupt(void *private)
{
	virtio_config_changed(private);
	return IRQ_HANDLED;
}

/* Detach virtqueue @index from its ring: off, and no more interrupts. */
static void virtio_vdpa_vq_detach(struct vdpa_device *vdpa, u16 index)
{
	struct vdpa_callback cb = {};

	vdpa->ops->set_vq_ready(vdpa, index, false);
	vdpa->ops->set_vq_cb(vdpa, index, &cb);
}

/* Hand the ring of @vq to the parent and enable the queue. */
static int virtio_vdpa_vq_attach(struct vdpa_device *vdpa,
				 struct virtqueue *vq, bool has_callback)
{
	const struct vdpa_config_ops *ops = vdpa->ops;
	struct vdpa_callback cb = {};
	struct vdpa_vq_state state = {};
	u16 index = vq->index;
	int err;

	if (has_callback) {
		cb.callback = virtio_vdpa_vq_interrupt;
		cb.private = vq;
	}
	ops->set_vq_cb(vdpa, index, &cb);
	ops->set_vq_num(vdpa, index, virtqueue_get_vring_size(vq));

	err = ops->set_vq_address(vdpa, index, virtqueue_get_desc_addr(vq),
				  virtqueue_get_avail_addr(vq),
				  virtqueue_get_used_addr(vq));
	if (err) {
		dev_err(&vdpa->dev, "vq %u: parent refused the ring addresses: %d\n",
			index, err);
		goto err_detach;
	}

	/* A fresh ring: both wrap counters start at 1 for packed rings. */
	if (virtio_has_feature(vq->vdev, VIRTIO_F_RING_PACKED)) {
		state.packed.last_avail_counter = 1;
		state.packed.last_used_counter = 1;
	}
	err = ops->set_vq_state(vdpa, index, &state);
	if (err) {
		dev_err(&vdpa->dev, "vq %u: parent refused the initial state: %d\n",
			index, err);
		goto err_detach;
	}

	ops->set_vq_ready(vdpa, index, true);
	return 0;

err_detach:
	virtio_vdpa_vq_detach(vdpa, index);
	return err;
}

static struct virtqueue *virtio_vdpa_setup_vq(struct virtio_device *vdev,
					      unsigned int index,
					      vq_callback_t *callback,
					      const char *name, bool ctx)
{
	struct vdpa_device *vdpa = vd_get_vdpa(vdev);
	const struct vdpa_config_ops *ops = vdpa->ops;
	u16 num_max, num_min = 1;
	struct virtqueue *vq;
	int err;

	if (index >= vdpa->nvqs) {
		dev_err(&vdev->dev, "driver wants vq %u, device has %u\n",
			index, vdpa->nvqs);
		return ERR_PTR(-ENOENT);
	}
	/* A queue still enabled belongs to someone else (or was leaked). */
	if (ops->get_vq_ready(vdpa, index)) {
		dev_err(&vdev->dev, "vq %u is already enabled\n", index);
		return ERR_PTR(-ENOENT);
	}

	num_max = ops->get_vq_num_max(vdpa);
	if (ops->get_vq_num_min)
		num_min = ops->get_vq_num_min(vdpa);
	if (!num_max) {
		dev_err(&vdev->dev, "vq %u: parent reports size 0\n", index);
		return ERR_PTR(-ENOENT);
	}

	/*
	 * The ring lives in memory DMA-mapped on vdev->dev.parent, the vdpa
	 * device's DMA device; its size may shrink if memory is short.
	 */
	vq = vring_create_virtqueue(index, num_max, ops->get_vq_align(vdpa),
				    vdev, true, true, ctx, virtio_vdpa_notify,
				    callback, name);
	if (!vq) {
		dev_err(&vdev->dev, "vq %u: cannot allocate a ring of up to %u entries\n",
			index, num_max);
		return ERR_PTR(-ENOMEM);
	}
	if (virtqueue_get_vring_size(vq) < num_min) {
		dev_err(&vdev->dev, "vq %u: ring of %u entries, parent needs %u\n",
			index, virtqueue_get_vring_size(vq), num_min);
		err = -ENOMEM;
		goto err_del;
	}

	err = virtio_vdpa_vq_attach(vdpa, vq, !!callback);
	if (err)
		goto err_del;
	return vq;

err_del:
	vring_del_virtqueue(vq);
	return ERR_PTR(err);
}

static void virtio_vdpa_del_vqs(struct virtio_device *vdev)
{
	struct vdpa_device *vdpa = vd_get_vdpa(vdev);
	struct virtqueue *vq, *next;

	/* vring_create_virtqueue() put each queue on vdev->vqs. */
	list_for_each_entry_safe(vq, next, &vdev->vqs, list) {
		virtio_vdpa_vq_detach(vdpa, vq->index);
		vring_del_virtqueue(vq);
	}
}

static int virtio_vdpa_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
				struct virtqueue *vqs[],
				vq_callback_t *callbacks[],
				const char * const names[], const bool *ctx,
				struct irq_affinity *desc)
{
	struct vdpa_device *vdpa = vd_get_vdpa(vdev);
	struct vdpa_callback cb = {
		.callback = virtio_vdpa_config_interrupt,
		.private = vdev,
	};
	unsigned int i, index = 0;
	int err;

	for (i = 0; i < nvqs; i++) {
		/* A NULL name: the driver skips this queue (no index used). */
		if (!names[i]) {
			vqs[i] = NULL;
			continue;
		}
		vqs[i] = virtio_vdpa_setup_vq(vdev, index++, callbacks[i],
					      names[i], ctx ? ctx[i] : false);
		if (IS_ERR(vqs[i])) {
			err = PTR_ERR(vqs[i]);
			goto err_del;
		}
	}

	vdpa->ops->set_config_cb(vdpa, &cb);
	return 0;

err_del:
	virtio_vdpa_del_vqs(vdev);
	return err;
}

static const char *virtio_vdpa_bus_name(struct virtio_device *vdev)
{
	return dev_name(&vd_get_vdpa(vdev)->dev);
}

static const struct virtio_config_ops virtio_vdpa_config_ops = {
	.get			= virtio_vdpa_get,
	.set			= virtio_vdpa_set,
	.generation		= virtio_vdpa_generation,
	.get_status		= virtio_vdpa_get_status,
	.set_status		= virtio_vdpa_set_status,
	.reset			= virtio_vdpa_reset,
	.find_vqs		= virtio_vdpa_find_vqs,
	.del_vqs		= virtio_vdpa_del_vqs,
	.get_features		= virtio_vdpa_get_features,
	.finalize_features	= virtio_vdpa_finalize_features,
	.bus_name		= virtio_vdpa_bus_name,
};

/* bus driver */

static void virtio_vdpa_release(struct device *dev)
{
	kfree(to_virtio_vdpa(dev_to_virtio(dev)));
}

static int virtio_vdpa_probe(struct vdpa_device *vdpa)
{
	const struct vdpa_config_ops *ops = vdpa->ops;
	struct virtio_vdpa *vd;
	u32 device_id;
	int err;

	device_id = ops->get_device_id(vdpa);
	if (!device_id) {
		dev_err(&vdpa->dev, "device id 0 (no device): not a virtio device\n");
		return -ENODEV;
	}

	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd)
		return -ENOMEM;
	vd->vdpa = vdpa;
	vd->vdev.dev.parent = vdpa_get_dma_dev(vdpa);
	vd->vdev.dev.release = virtio_vdpa_release;
	vd->vdev.config = &virtio_vdpa_config_ops;
	vd->vdev.id.device = device_id;
	vd->vdev.id.vendor = ops->get_vendor_id(vdpa);

	/* Set before registering: the virtio driver may probe right away. */
	vdpa_set_drvdata(vdpa, vd);

	err = register_virtio_device(&vd->vdev);
	if (err) {
		dev_err(&vdpa->dev, "cannot register the virtio device: %d\n",
			err);
		vdpa_set_drvdata(vdpa, NULL);
		/* The device is initialised: its release frees @vd. */
		put_device(&vd->vdev.dev);
		return err;
	}
	return 0;
}

static void virtio_vdpa_remove(struct vdpa_device *vdpa)
{
	struct virtio_vdpa *vd = vdpa_get_drvdata(vdpa);
	struct vdpa_callback cb = {};

	/*
	 * find_vqs gave the parent a pointer to the virtio device, which
	 * unregistering may free: take it back first.  A config change now
	 * would only reach a driver that is going away.
	 */
	vdpa->ops->set_config_cb(vdpa, &cb);
	unregister_virtio_device(&vd->vdev);
	vdpa_set_drvdata(vdpa, NULL);
}

static struct vdpa_driver virtio_vdpa_driver = {
	.driver = {
		.name = "virtio_vdpa",
	},
	.probe = virtio_vdpa_probe,
	.remove = virtio_vdpa_remove,
	.dma_api = true,
};

module_vdpa_driver(virtio_vdpa_driver);

MODULE_DESCRIPTION("vDPA bus driver for the kernel's virtio drivers");
MODULE_LICENSE("GPL");
MODULE_VERSION(VDPA_VERSION);
