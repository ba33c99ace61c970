// SPDX-License-Identifier: GPL-2.0
/*
 * vDPA simulator: block device (management device "vdpasim_blk").
 *
 * Every device is a private RAM disk, zero-filled when the device is
 * added and freed when it is deleted.  Its size is the module parameter
 * capacity_mb as it is at `vdpa dev add` time (the parameter is writable,
 * so devices of different sizes can coexist).  One request queue serves
 * IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES; the config space and
 * the features are those of upstream's simulator.
 *
 * Requests come from untrusted drivers: every length and sector is checked
 * before the disk is touched, with arithmetic that cannot wrap, and a bad
 * request completes with VIRTIO_BLK_S_IOERR (malformed or out of range) or
 * VIRTIO_BLK_S_UNSUPP (a type or flag the device does not implement).
 */

#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vdpa.h>
#include <linux/vdpa_version.h>
#include <linux/virtio_byteorder.h>
#include <linux/vmalloc.h>
#include <uapi/linux/vdpa.h>
#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_ids.h>

#include "vdpa_sim.h"

#define VDPASIM_BLK_NAME	"vdpasim_blk"
#define VDPASIM_BLK_SECTOR_SHIFT	9
#define VDPASIM_BLK_SECTOR_SIZE	512U
#define VDPASIM_BLK_SIZE_MAX	4096	/* bytes per segment, as upstream */
#define VDPASIM_BLK_SEG_MAX	32	/* segments per request, as upstream */
/*
 * Most sectors one IN or OUT request may move.  Upstream compares the
 * sector count with size_max * seg_max; the same number is kept so that
 * every request upstream accepts is accepted here.
 */
#define VDPASIM_BLK_XFER_MAX_SECTORS	((u64)VDPASIM_BLK_SIZE_MAX * VDPASIM_BLK_SEG_MAX)
#define VDPASIM_BLK_DWZ_MAX_SECTORS	UINT_MAX
#define VDPASIM_BLK_ID		"vdpa_blk_sim"
#define VDPASIM_BLK_BUDGET	32		/* requests per worker pass */
#define VDPASIM_BLK_BYTE_BUDGET	SZ_4M		/* bytes moved per worker pass */
#define VDPASIM_BLK_CHUNK	SZ_1M		/* bytes copied between reschedules */
#define VDPASIM_BLK_CONFIG_SIZE	72
#define VDPASIM_BLK_CAPACITY_MB_DEFAULT	128

#define VDPASIM_BLK_FEATURES	(VDPASIM_BASE_FEATURES | \
				 BIT_ULL(VIRTIO_BLK_F_SIZE_MAX) | \
				 BIT_ULL(VIRTIO_BLK_F_SEG_MAX) | \
				 BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) | \
				 BIT_ULL(VIRTIO_BLK_F_FLUSH) | \
				 BIT_ULL(VIRTIO_BLK_F_TOPOLOGY) | \
				 BIT_ULL(VIRTIO_BLK_F_MQ) | \
				 BIT_ULL(VIRTIO_BLK_F_DISCARD) | \
				 BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES))
/* Offered only when provisioned with device_features (see vdpasim_net). */
#define VDPASIM_BLK_OPT_FEATURES	BIT_ULL(VIRTIO_F_RING_PACKED)

/*
 * The config layout is ABI: 72 bytes as in Linux 6.1's header (up to the
 * secure-erase fields), the size upstream's simulator reports there.
 */
static_assert(sizeof(struct virtio_blk_config) == VDPASIM_BLK_CONFIG_SIZE);

/* The request header and the DISCARD/WRITE_ZEROES segment, wire layout. */
static_assert(sizeof(struct virtio_blk_outhdr) == 16);
static_assert(sizeof(struct virtio_blk_discard_write_zeroes) == 16);

static unsigned int capacity_mb = VDPASIM_BLK_CAPACITY_MB_DEFAULT;
module_param(capacity_mb, uint, 0644);
MODULE_PARM_DESC(capacity_mb,
		 "Size in MiB of the RAM disk of each device added from now on (default 128)");

/**
 * struct vdpasim_blk - simulated block device
 * @sim: the core device; must stay first
 * @capacity: disk size in 512-byte sectors (fixed at creation)
 * @disk: the RAM disk, @capacity sectors, zero-filled at creation
 * @chain: the request being served
 * @config: config space image (little endian: virtio 1.0 only)
 *
 * @capacity, @disk and @config are set before the device is registered
 * and never change; @chain and the disk contents are protected by
 * @sim.lock (only the worker touches them).
 */
struct vdpasim_blk {
	struct vdpasim sim;
	u64 capacity;
	u8 *disk;
	struct vdpasim_chain *chain;
	struct virtio_blk_config config;
};

static_assert(offsetof(struct vdpasim_blk, sim) == 0);

static struct vdpasim_blk *sim_to_blk(struct vdpasim *sim)
{
	return container_of(sim, struct vdpasim_blk, sim);
}

/*
 * Is [@sector, @sector + @nsec) inside the disk?  Written so that nothing
 * can wrap: @sector is compared first, then @nsec with what is left.
 */
static bool vdpasim_blk_range_ok(const struct vdpasim_blk *blk, u64 sector,
				 u64 nsec)
{
	if (sector >= blk->capacity) {
		dev_dbg_ratelimited(&blk->sim.vdpa.dev,
				    "request starts at sector %llu, capacity is %llu\n",
				    sector, blk->capacity);
		return false;
	}
	if (nsec > blk->capacity - sector) {
		dev_dbg_ratelimited(&blk->sim.vdpa.dev,
				    "request of %llu sectors at %llu ends past capacity %llu\n",
				    nsec, sector, blk->capacity);
		return false;
	}
	return true;
}

/*
 * Byte length of an IN/OUT payload in sectors, or false if it is not a
 * whole number of sectors or larger than one request may be.
 */
static bool vdpasim_blk_xfer_sectors(u64 len, u64 *nsec)
{
	if (len & (VDPASIM_BLK_SECTOR_SIZE - 1))
		return false;
	*nsec = len >> VDPASIM_BLK_SECTOR_SHIFT;
	return *nsec <= VDPASIM_BLK_XFER_MAX_SECTORS;
}

/* Where sector @sector starts in the disk; the range was checked. */
static u8 *vdpasim_blk_at(struct vdpasim_blk *blk, u64 sector)
{
	return blk->disk + ((size_t)sector << VDPASIM_BLK_SECTOR_SHIFT);
}

/*
 * Move @len bytes between the disk at @disk and the chain at byte @off of
 * its writable (@to_driver) or readable segments.  One request may move
 * 64 MiB and a pass several requests: go in pieces and let others run in
 * between.  False if the chain ended early or is not mapped.
 */
static bool vdpasim_blk_copy(struct vdpasim_ring *ring,
			     const struct vdpasim_chain *chain, u64 off,
			     u8 *disk, u64 len, bool to_driver)
{
	ssize_t ret;
	u64 done, n;

	for (done = 0; done < len; done += n) {
		n = min_t(u64, len - done, VDPASIM_BLK_CHUNK);
		if (to_driver)
			ret = vdpasim_chain_write(ring, chain, off + done,
						  disk + done, n);
		else
			ret = vdpasim_chain_read(ring, chain, off + done,
						 disk + done, n);
		if (ret < 0 || ret != n)
			return false;
		cond_resched();
	}
	return true;
}

/* Zero @len bytes of the disk at @disk, in pieces as above. */
static void vdpasim_blk_zero(u8 *disk, u64 len)
{
	u64 n;

	for (; len; len -= n, disk += n) {
		n = min_t(u64, len, VDPASIM_BLK_CHUNK);
		memset(disk, 0, n);
		cond_resched();
	}
}

/*
 * IN: disk -> the writable segments before the status byte.  @data_len is
 * the number of bytes the driver offered; *@written gets what was copied.
 */
static u8 vdpasim_blk_read(struct vdpasim_blk *blk, struct vdpasim_ring *ring,
			   const struct vdpasim_chain *chain, u64 sector,
			   u64 data_len, u32 *written)
{
	u64 nsec;

	if (!vdpasim_blk_xfer_sectors(data_len, &nsec) ||
	    !vdpasim_blk_range_ok(blk, sector, nsec) ||
	    !vdpasim_blk_copy(ring, chain, 0, vdpasim_blk_at(blk, sector),
			      data_len, true))
		return VIRTIO_BLK_S_IOERR;
	*written = data_len;
	return VIRTIO_BLK_S_OK;
}

/* OUT: the readable segments after the header -> disk. */
static u8 vdpasim_blk_write(struct vdpasim_blk *blk, struct vdpasim_ring *ring,
			    const struct vdpasim_chain *chain, u64 sector)
{
	u64 len = chain->out_len - sizeof(struct virtio_blk_outhdr);
	u64 nsec;

	/* a driver fault part way leaves the range partly written, as a disk */
	if (!vdpasim_blk_xfer_sectors(len, &nsec) ||
	    !vdpasim_blk_range_ok(blk, sector, nsec) ||
	    !vdpasim_blk_copy(ring, chain, sizeof(struct virtio_blk_outhdr),
			      vdpasim_blk_at(blk, sector), len, false))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static u8 vdpasim_blk_get_id(struct vdpasim_ring *ring,
			     const struct vdpasim_chain *chain, u64 data_len,
			     u32 *written)
{
	char id[VIRTIO_BLK_ID_BYTES] = VDPASIM_BLK_ID;

	if (data_len < sizeof(id) ||
	    vdpasim_chain_write(ring, chain, 0, id, sizeof(id)) != sizeof(id))
		return VIRTIO_BLK_S_IOERR;
	*written = sizeof(id);
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: exactly one range segment (max_*_seg is 1). */
static u8 vdpasim_blk_dwz(struct vdpasim_blk *blk, struct vdpasim_ring *ring,
			  const struct vdpasim_chain *chain, u32 type)
{
	struct virtio_blk_discard_write_zeroes range;
	u64 sector;
	u32 nsec, flags;

	if (chain->out_len != sizeof(struct virtio_blk_outhdr) + sizeof(range) ||
	    vdpasim_chain_read(ring, chain, sizeof(struct virtio_blk_outhdr),
			       &range, sizeof(range)) != sizeof(range))
		return VIRTIO_BLK_S_IOERR;

	sector = le64_to_cpu(range.sector);
	nsec = le32_to_cpu(range.num_sectors);
	flags = le32_to_cpu(range.flags);

	if (type == VIRTIO_BLK_T_DISCARD && flags)
		return VIRTIO_BLK_S_UNSUPP;
	if (type == VIRTIO_BLK_T_WRITE_ZEROES &&
	    (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP))
		return VIRTIO_BLK_S_UNSUPP;
	if (!vdpasim_blk_range_ok(blk, sector, nsec))
		return VIRTIO_BLK_S_IOERR;

	/* a discarded range keeps its data, as upstream: reads are undefined */
	if (type == VIRTIO_BLK_T_WRITE_ZEROES)
		vdpasim_blk_zero(vdpasim_blk_at(blk, sector),
				 (u64)nsec << VDPASIM_BLK_SECTOR_SHIFT);
	return VIRTIO_BLK_S_OK;
}

/*
 * Carry out the request in @chain.  Returns the status byte; *@written
 * gets the payload bytes written into the driver's buffers (the status
 * byte not included).
 */
static u8 vdpasim_blk_handle(struct vdpasim_blk *blk, struct vdpasim_ring *ring,
			     const struct vdpasim_chain *chain, u32 *written)
{
	struct virtio_blk_outhdr hdr;
	u64 data_len = chain->in_len - 1;	/* in_len >= 1: checked */
	u64 sector;
	u32 type;

	*written = 0;
	if (chain->out_len < sizeof(hdr) ||
	    vdpasim_chain_read(ring, chain, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_BLK_S_IOERR;
	type = __virtio32_to_cpu(true, hdr.type);
	sector = __virtio64_to_cpu(true, hdr.sector);

	/* only IN and OUT address the disk through the header */
	if (type != VIRTIO_BLK_T_IN && type != VIRTIO_BLK_T_OUT && sector)
		return VIRTIO_BLK_S_IOERR;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		return vdpasim_blk_read(blk, ring, chain, sector, data_len,
					written);
	case VIRTIO_BLK_T_OUT:
		return vdpasim_blk_write(blk, ring, chain, sector);
	case VIRTIO_BLK_T_FLUSH:
		/* RAM: nothing is ever cached */
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return vdpasim_blk_get_id(ring, chain, data_len, written);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return vdpasim_blk_dwz(blk, ring, chain, type);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Serve one fetched request and complete it; false if the ring broke. */
static bool vdpasim_blk_serve(struct vdpasim_blk *blk, u64 *bytes)
{
	struct vdpasim *sim = &blk->sim;
	struct vdpasim_ring *ring = vdpasim_vq_ring(sim, 0);
	struct vdpasim_chain *chain = blk->chain;
	u32 written = 0;
	u8 status;

	/* no room for the status byte: nothing can be reported */
	if (!chain->in_len) {
		dev_dbg_ratelimited(&sim->vdpa.dev,
				    "request without a writable status byte\n");
		return !vdpasim_vq_push(sim, 0, chain->head, 0);
	}

	status = vdpasim_blk_handle(blk, ring, chain, &written);

	/* the status is the last writable byte of the chain */
	if (vdpasim_chain_write(ring, chain, chain->in_len - 1, &status,
				sizeof(status)) == sizeof(status))
		written++;
	*bytes += written + chain->out_len;
	return !vdpasim_vq_push(sim, 0, chain->head, written);
}

static bool vdpasim_blk_work(struct vdpasim *sim)
{
	struct vdpasim_blk *blk = sim_to_blk(sim);
	int budget = VDPASIM_BLK_BUDGET;
	u64 bytes = 0;

	if (!vdpasim_vq_usable(sim, 0))
		return false;

	while (budget > 0 && bytes < VDPASIM_BLK_BYTE_BUDGET) {
		if (vdpasim_vq_fetch(sim, 0, blk->chain) <= 0)
			return false;
		budget--;
		if (!vdpasim_blk_serve(blk, &bytes))
			return false;
	}
	return true;
}

/* class hooks */

static void vdpasim_blk_get_config(struct vdpasim *sim, void *config)
{
	memcpy(config, &sim_to_blk(sim)->config, VDPASIM_BLK_CONFIG_SIZE);
}

static u32 vdpasim_blk_get_vq_group(struct vdpasim *sim, u16 idx)
{
	return 0;
}

static void vdpasim_blk_free(struct vdpasim *sim)
{
	struct vdpasim_blk *blk = sim_to_blk(sim);

	vfree(blk->disk);
	blk->disk = NULL;
	kfree(blk->chain);
	blk->chain = NULL;
}

/* management device */

static void vdpasim_blk_init_config(struct vdpasim_blk *blk)
{
	struct virtio_blk_config *cfg = &blk->config;

	cfg->capacity = __cpu_to_virtio64(true, blk->capacity);
	cfg->size_max = __cpu_to_virtio32(true, VDPASIM_BLK_SIZE_MAX);
	cfg->seg_max = __cpu_to_virtio32(true, VDPASIM_BLK_SEG_MAX);
	cfg->blk_size = __cpu_to_virtio32(true, VDPASIM_BLK_SECTOR_SIZE);
	cfg->physical_block_exp = 0;
	cfg->alignment_offset = 0;
	cfg->min_io_size = __cpu_to_virtio16(true, 1);
	cfg->opt_io_size = __cpu_to_virtio32(true, 1);
	cfg->num_queues = __cpu_to_virtio16(true, 1);
	cfg->max_discard_sectors = __cpu_to_virtio32(true, VDPASIM_BLK_DWZ_MAX_SECTORS);
	cfg->max_discard_seg = __cpu_to_virtio32(true, 1);
	/* in sectors; upstream's value */
	cfg->discard_sector_alignment = __cpu_to_virtio32(true, VDPASIM_BLK_SECTOR_SIZE);
	cfg->max_write_zeroes_sectors = __cpu_to_virtio32(true, VDPASIM_BLK_DWZ_MAX_SECTORS);
	cfg->max_write_zeroes_seg = __cpu_to_virtio32(true, 1);
}

/* The disk size chosen by capacity_mb now, in bytes; 0 if it is refused. */
static size_t vdpasim_blk_disk_bytes(struct netlink_ext_ack *extack)
{
	unsigned int mb = READ_ONCE(capacity_mb);
	u64 half_ram = (u64)totalram_pages() << (PAGE_SHIFT - 1);
	u64 bytes = (u64)mb << 20;

	if (!mb) {
		NL_SET_ERR_MSG_MOD(extack,
				   "module parameter capacity_mb of vdpa_sim_blk must be at least 1");
		return 0;
	}
	if (bytes > half_ram) {
		NL_SET_ERR_MSG_MOD(extack,
				   "module parameter capacity_mb of vdpa_sim_blk exceeds half of the RAM");
		return 0;
	}
	return bytes;
}

static int vdpasim_blk_dev_add(struct vdpa_mgmt_dev *mdev, const char *name,
			       const struct vdpa_dev_set_config *config,
			       struct netlink_ext_ack *extack)
{
	struct vdpasim_dev_attr attr = {
		.mgmt_dev = mdev,
		.name = name,
		.alloc_size = sizeof(struct vdpasim_blk),
		.id = VIRTIO_ID_BLOCK,
		.features = VDPASIM_BLK_FEATURES,
		.nvqs = 1,
		.ngroups = 1,
		.nas = 1,
		.config_size = VDPASIM_BLK_CONFIG_SIZE,
		.get_config = vdpasim_blk_get_config,
		.work = vdpasim_blk_work,
		.get_vq_group = vdpasim_blk_get_vq_group,
		.free = vdpasim_blk_free,
	};
	struct vdpasim_blk *blk;
	struct vdpasim *sim;
	size_t bytes;
	int ret;

	/*
	 * The core refuses attributes outside config_attr_mask and features
	 * outside supported_features; the simulator needs these two.
	 */
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_FEATURES)) {
		const u64 required = BIT_ULL(VIRTIO_F_VERSION_1) |
				     BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);

		if ((config->device_features & required) != required) {
			NL_SET_ERR_MSG_MOD(extack,
					   "device_features must include VERSION_1 and ACCESS_PLATFORM");
			return -EINVAL;
		}
		attr.features = config->device_features;
	}
	bytes = vdpasim_blk_disk_bytes(extack);
	if (!bytes)
		return -EINVAL;

	sim = vdpasim_create(&attr, extack);
	if (IS_ERR(sim))
		return PTR_ERR(sim);
	blk = sim_to_blk(sim);

	ret = -ENOMEM;
	blk->chain = kmalloc(sizeof(*blk->chain), GFP_KERNEL);
	if (!blk->chain)
		goto err_put;
	/* zeroed: a new disk must not show earlier kernel memory */
	blk->disk = __vmalloc(bytes, GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN);
	if (!blk->disk) {
		NL_SET_ERR_MSG_MOD(extack,
				   "cannot allocate the RAM disk (module parameter capacity_mb)");
		goto err_put;
	}
	blk->capacity = bytes >> VDPASIM_BLK_SECTOR_SHIFT;
	vdpasim_blk_init_config(blk);

	ret = vdpasim_register(sim);
	if (ret)
		goto err_put;
	return 0;

err_put:
	vdpasim_put(sim);
	return ret;
}

static void vdpasim_blk_dev_del(struct vdpa_mgmt_dev *mdev,
				struct vdpa_device *vdpa)
{
	vdpasim_unregister(vdpa_to_sim(vdpa));
}

static const struct vdpa_mgmtdev_ops vdpasim_blk_mgmtdev_ops = {
	.dev_add = vdpasim_blk_dev_add,
	.dev_del = vdpasim_blk_dev_del,
};

static const struct virtio_device_id vdpasim_blk_id_table[] = {
	{ VIRTIO_ID_BLOCK, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

/* static object: nothing to free when the last reference goes */
static void vdpasim_blk_mgmtdev_release(struct device *dev)
{
}

static struct device vdpasim_blk_mgmtdev_dev = {
	.init_name = VDPASIM_BLK_NAME,
	.release = vdpasim_blk_mgmtdev_release,
};

/*
 * As upstream but for device_features, the one provisioning attribute, so
 * that a device can offer RING_PACKED; no queue count shown.
 */
static struct vdpa_mgmt_dev vdpasim_blk_mgmtdev = {
	.device = &vdpasim_blk_mgmtdev_dev,
	.ops = &vdpasim_blk_mgmtdev_ops,
	.id_table = vdpasim_blk_id_table,
	.config_attr_mask = BIT_ULL(VDPA_ATTR_DEV_FEATURES),
	.supported_features = VDPASIM_BLK_FEATURES | VDPASIM_BLK_OPT_FEATURES,
};

static int __init vdpasim_blk_init(void)
{
	int ret;

	ret = device_register(&vdpasim_blk_mgmtdev_dev);
	if (ret) {
		put_device(&vdpasim_blk_mgmtdev_dev);
		return ret;
	}

	ret = vdpa_mgmtdev_register(&vdpasim_blk_mgmtdev);
	if (ret)
		goto err_unregister_dev;
	return 0;

err_unregister_dev:
	device_unregister(&vdpasim_blk_mgmtdev_dev);
	return ret;
}

static void __exit vdpasim_blk_exit(void)
{
	/* the core deletes the devices still present through dev_del */
	vdpa_mgmtdev_unregister(&vdpasim_blk_mgmtdev);
	device_unregister(&vdpasim_blk_mgmtdev_dev);
}

module_init(vdpasim_blk_init);
module_exit(vdpasim_blk_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(VDPA_VERSION);
MODULE_DESCRIPTION("vDPA simulator: block device");
