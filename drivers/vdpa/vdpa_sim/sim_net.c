// SPDX-License-Identifier: GPL-2.0
/*
 * vDPA simulator: network device (management device "vdpasim_net").
 *
 * Each queue pair loops frames back: a frame the driver sends on TX i is
 * received on RX i if its destination is broadcast, multicast or the
 * device's MAC address (config space, changeable by the driver).  The
 * control queue (last) accepts MAC_ADDR_SET, VQ_PAIRS_SET and the RX mode
 * commands.
 *
 * When no RX buffer is free the frame is dropped and counted as an RX
 * overrun, as upstream does (and as a NIC does).  Keeping the TX buffer
 * until an RX buffer appears would lose nothing, but it stalls the TX
 * queue of clients that never post RX buffers (DPDK txonly expects TX to
 * keep going while RX is full), so we drop.
 */

#include <linux/device.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vdpa.h>
#include <linux/virtio_byteorder.h>
#include <linux/vdpa_version.h>
#include <asm/unaligned.h>
#include <uapi/linux/vdpa.h>
#include <uapi/linux/virtio_ids.h>
#include <uapi/linux/virtio_net.h>

#include "vdpa_sim.h"

#define VDPASIM_NET_NAME	"vdpasim_net"
#define VDPASIM_NET_MAX_VQP	16
#define VDPASIM_NET_BUDGET	64	/* requests per worker pass */
#define VDPASIM_NET_HDR_LEN	sizeof(struct virtio_net_hdr_mrg_rxbuf)
/* largest frame looped back: MTU 65535 plus a VLAN-tagged Ethernet header */
#define VDPASIM_NET_FRAME_MAX	(VLAN_ETH_HLEN + 65535)
#define VDPASIM_NET_BUF_SIZE	(VDPASIM_NET_HDR_LEN + VDPASIM_NET_FRAME_MAX)
#define VDPASIM_NET_CONFIG_SIZE	24

#define VDPASIM_NET_FEATURES	(VDPASIM_BASE_FEATURES | \
				 BIT_ULL(VIRTIO_NET_F_MTU) | \
				 BIT_ULL(VIRTIO_NET_F_MAC) | \
				 BIT_ULL(VIRTIO_NET_F_STATUS) | \
				 BIT_ULL(VIRTIO_NET_F_CTRL_VQ) | \
				 BIT_ULL(VIRTIO_NET_F_CTRL_MAC_ADDR))
/*
 * Offered only when provisioned (device_features): a device added without
 * them offers VDPASIM_NET_FEATURES, so drivers that would take the packed
 * layout by default (virtio_net) keep the split one unless asked.
 */
#define VDPASIM_NET_OPT_FEATURES	BIT_ULL(VIRTIO_F_RING_PACKED)

/* The config layout is ABI: 24 bytes, little endian. */
static_assert(sizeof(struct virtio_net_config) == VDPASIM_NET_CONFIG_SIZE);

/* queue counters; which ones a queue reports depends on its type */
struct vdpasim_net_rxq_stats {
	u64 packets;
	u64 bytes;
	u64 errors;
	u64 overruns;
	u64 drops;
};

struct vdpasim_net_txq_stats {
	u64 packets;
	u64 bytes;
	u64 errors;
	u64 drops;
};

struct vdpasim_net_cvq_stats {
	u64 requests;
	u64 successes;
	u64 errors;
};

/**
 * struct vdpasim_net - simulated network device
 * @sim: the core device; must stay first
 * @max_vqp: queue pairs (the control queue is vq 2 * @max_vqp)
 * @curr_vqp: pairs the driver asked for with VQ_PAIRS_SET (recorded only)
 * @rx_mode: VIRTIO_NET_CTRL_RX_* settings, bit per command (recorded only)
 * @next_pair: pair the next pass starts with, so all pairs get served
 * @config: config space image (little endian: the device is virtio 1.0 only)
 * @tx_chain: chain being transmitted
 * @rx_chain: chain being received into
 * @buf: frame buffer, VDPASIM_NET_BUF_SIZE bytes (vnet header + frame)
 * @rxq: counters of the RX queues
 * @txq: counters of the TX queues
 * @cvq: counters of the control queue
 *
 * All fields after @sim except @max_vqp are protected by @sim.lock.
 */
struct vdpasim_net {
	struct vdpasim sim;
	u16 max_vqp;
	u16 curr_vqp;
	u8 rx_mode;
	unsigned int next_pair;
	struct virtio_net_config config;
	struct vdpasim_chain *tx_chain;
	struct vdpasim_chain *rx_chain;
	u8 *buf;
	struct vdpasim_net_rxq_stats rxq[VDPASIM_NET_MAX_VQP];
	struct vdpasim_net_txq_stats txq[VDPASIM_NET_MAX_VQP];
	struct vdpasim_net_cvq_stats cvq;
};

static_assert(offsetof(struct vdpasim_net, sim) == 0);

static struct vdpasim_net *sim_to_net(struct vdpasim *sim)
{
	return container_of(sim, struct vdpasim_net, sim);
}

static u16 vdpasim_net_cvq_index(const struct vdpasim_net *net)
{
	return 2 * net->max_vqp;
}

/* control queue */

static u8 vdpasim_net_ctrl_mac(struct vdpasim_net *net, u8 cmd,
			       const u8 *data, u64 len)
{
	if (cmd != VIRTIO_NET_CTRL_MAC_ADDR_SET || len != ETH_ALEN)
		return VIRTIO_NET_ERR;
	memcpy(net->config.mac, data, ETH_ALEN);
	return VIRTIO_NET_OK;
}

static u8 vdpasim_net_ctrl_mq(struct vdpasim_net *net, u8 cmd,
			      const u8 *data, u64 len)
{
	u16 pairs;

	if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != sizeof(__le16))
		return VIRTIO_NET_ERR;
	pairs = get_unaligned_le16(data);
	if (pairs < 1 || pairs > net->max_vqp)
		return VIRTIO_NET_ERR;
	net->curr_vqp = pairs;
	return VIRTIO_NET_OK;
}

static u8 vdpasim_net_ctrl_rx(struct vdpasim_net *net, u8 cmd,
			      const u8 *data, u64 len)
{
	if (cmd > VIRTIO_NET_CTRL_RX_NOBCAST || len != 1)
		return VIRTIO_NET_ERR;
	if (data[0])
		net->rx_mode |= BIT(cmd);
	else
		net->rx_mode &= ~BIT(cmd);
	return VIRTIO_NET_OK;
}

/* Carry out one control request; returns the ack byte. */
static u8 vdpasim_net_ctrl(struct vdpasim_net *net, struct vdpasim_ring *ring,
			   const struct vdpasim_chain *chain)
{
	struct virtio_net_ctrl_hdr hdr;
	u8 data[8];
	u64 len;

	if (chain->out_len < sizeof(hdr) ||
	    vdpasim_chain_read(ring, chain, 0, &hdr, sizeof(hdr)) != sizeof(hdr))
		return VIRTIO_NET_ERR;
	/* every command we accept carries at most a few bytes */
	len = chain->out_len - sizeof(hdr);
	if (len > sizeof(data) ||
	    vdpasim_chain_read(ring, chain, sizeof(hdr), data, len) != len)
		return VIRTIO_NET_ERR;

	switch (hdr.class) {
	case VIRTIO_NET_CTRL_MAC:
		return vdpasim_net_ctrl_mac(net, hdr.cmd, data, len);
	case VIRTIO_NET_CTRL_MQ:
		return vdpasim_net_ctrl_mq(net, hdr.cmd, data, len);
	case VIRTIO_NET_CTRL_RX:
		return vdpasim_net_ctrl_rx(net, hdr.cmd, data, len);
	default:
		return VIRTIO_NET_ERR;
	}
}

static int vdpasim_net_serve_cvq(struct vdpasim_net *net, int budget)
{
	struct vdpasim *sim = &net->sim;
	u16 idx = vdpasim_net_cvq_index(net);
	struct vdpasim_ring *ring = vdpasim_vq_ring(sim, idx);
	struct vdpasim_chain *chain = net->tx_chain;
	u32 written;
	u8 ack;

	if (!vdpasim_has_feature(sim, VIRTIO_NET_F_CTRL_VQ))
		return budget;

	while (budget > 0 && vdpasim_vq_fetch(sim, idx, chain) > 0) {
		budget--;
		net->cvq.requests++;
		ack = vdpasim_net_ctrl(net, ring, chain);
		written = 0;
		if (chain->in_len >= sizeof(ack) &&
		    vdpasim_chain_write(ring, chain, 0, &ack, sizeof(ack)) == sizeof(ack))
			written = sizeof(ack);
		else
			ack = VIRTIO_NET_ERR;
		if (ack == VIRTIO_NET_OK)
			net->cvq.successes++;
		else
			net->cvq.errors++;
		if (vdpasim_vq_push(sim, idx, chain->head, written))
			break;
	}
	return budget;
}

/* loopback */

static size_t vdpasim_net_hdr_len(struct vdpasim_net *net)
{
	if (vdpasim_has_feature(&net->sim, VIRTIO_F_VERSION_1))
		return VDPASIM_NET_HDR_LEN;
	return sizeof(struct virtio_net_hdr);
}

/* Would the device receive this frame? */
static bool vdpasim_net_filter(struct vdpasim_net *net, const u8 *frame,
			       size_t len)
{
	if (len < ETH_ALEN)
		return false;
	if (is_multicast_ether_addr(frame))	/* broadcast included */
		return true;
	/* exact compare (upstream's strncmp stopped at the first 00 byte) */
	return ether_addr_equal(frame, net->config.mac);
}

/* Copy the TX chain's header and frame into @net->buf; its length or < 0. */
static ssize_t vdpasim_net_tx_read(struct vdpasim_net *net,
				   struct vdpasim_ring *ring,
				   const struct vdpasim_chain *chain)
{
	ssize_t n;

	if (chain->out_len > VDPASIM_NET_BUF_SIZE)
		return -EMSGSIZE;
	n = vdpasim_chain_read(ring, chain, 0, net->buf, chain->out_len);
	if (n < 0)
		return n;
	if (n != chain->out_len)
		return -EFAULT;
	return n;
}

/*
 * Receive the frame in @net->buf (@len bytes with the vnet header) on the
 * RX queue of @pair.  Returns false if the RX ring broke.
 */
static bool vdpasim_net_rx(struct vdpasim_net *net, unsigned int pair,
			   size_t hdr_len, size_t len)
{
	struct vdpasim *sim = &net->sim;
	struct vdpasim_net_rxq_stats *stats = &net->rxq[pair];
	struct vdpasim_chain *chain = net->rx_chain;
	u16 rxi = 2 * pair;
	ssize_t n;
	int ret;

	ret = vdpasim_vq_fetch(sim, rxi, chain);
	if (ret <= 0) {
		if (ret < 0)
			stats->errors++;
		else
			stats->overruns++;
		return ret == 0;
	}
	if (chain->in_len < len) {
		/* too small for this frame: keep the buffer for the next one */
		vdpasim_vq_unfetch(sim, rxi);
		stats->drops++;
		return true;
	}

	/* a received frame carries a clean header: no offloads, one buffer */
	memset(net->buf, 0, hdr_len);
	if (hdr_len == VDPASIM_NET_HDR_LEN)
		put_unaligned_le16(1, net->buf + offsetof(struct virtio_net_hdr_mrg_rxbuf,
							  num_buffers));

	n = vdpasim_chain_write(vdpasim_vq_ring(sim, rxi), chain, 0, net->buf, len);
	if (n != len) {
		stats->errors++;
		return !vdpasim_vq_push(sim, rxi, chain->head, 0);
	}
	stats->packets++;
	stats->bytes += len;
	return !vdpasim_vq_push(sim, rxi, chain->head, len);
}

static int vdpasim_net_serve_pair(struct vdpasim_net *net, unsigned int pair,
				  int budget)
{
	struct vdpasim *sim = &net->sim;
	struct vdpasim_net_txq_stats *stats = &net->txq[pair];
	struct vdpasim_chain *chain = net->tx_chain;
	size_t hdr_len = vdpasim_net_hdr_len(net);
	u16 rxi = 2 * pair, txi = 2 * pair + 1;
	struct vdpasim_ring *ring = vdpasim_vq_ring(sim, txi);
	ssize_t len;
	bool rx_ok;
	int ret;

	if (!vdpasim_vq_usable(sim, rxi) || !vdpasim_vq_usable(sim, txi))
		return budget;

	while (budget > 0) {
		ret = vdpasim_vq_fetch(sim, txi, chain);
		if (ret <= 0) {
			if (ret < 0)
				stats->errors++;
			break;
		}
		budget--;
		rx_ok = true;

		/*
		 * Counted as upstream's simulator does: every frame read is a
		 * transmitted packet (bytes include the vnet header), one that
		 * fails the filter is an RX drop; tx drops count frames too
		 * short to carry a vnet header.
		 */
		len = vdpasim_net_tx_read(net, ring, chain);
		if (len < 0) {
			stats->errors++;
		} else if (len < hdr_len) {
			stats->drops++;
		} else {
			stats->packets++;
			stats->bytes += len;
			if (vdpasim_net_filter(net, net->buf + hdr_len, len - hdr_len))
				rx_ok = vdpasim_net_rx(net, pair, hdr_len, len);
			else
				net->rxq[pair].drops++;
		}
		/* the device writes nothing into a TX buffer */
		if (vdpasim_vq_push(sim, txi, chain->head, 0) || !rx_ok)
			break;
	}
	return budget;
}

static bool vdpasim_net_work(struct vdpasim *sim)
{
	struct vdpasim_net *net = sim_to_net(sim);
	int budget = VDPASIM_NET_BUDGET;
	unsigned int i, pair;

	/* the control queue first: it may change the MAC the filter uses */
	budget = vdpasim_net_serve_cvq(net, budget);

	for (i = 0; i < net->max_vqp && budget > 0; i++) {
		pair = (net->next_pair + i) % net->max_vqp;
		budget = vdpasim_net_serve_pair(net, pair, budget);
	}
	net->next_pair = (net->next_pair + 1) % net->max_vqp;

	return budget <= 0;
}

/* class hooks */

static void vdpasim_net_get_config(struct vdpasim *sim, void *config)
{
	memcpy(config, &sim_to_net(sim)->config, VDPASIM_NET_CONFIG_SIZE);
}

/* Only the MAC address is writable (QEMU writes its -device mac here). */
static void vdpasim_net_set_config(struct vdpasim *sim, unsigned int offset,
				   const void *buf, unsigned int len)
{
	struct vdpasim_net *net = sim_to_net(sim);

	if (offset >= ETH_ALEN)
		return;
	memcpy(net->config.mac + offset, buf, min_t(unsigned int, len,
						    ETH_ALEN - offset));
}

/*
 * Data queues in group 0, the control queue (the last one) alone in group 1.
 * Called while the device is created, before max_vqp is set.
 */
static u32 vdpasim_net_get_vq_group(struct vdpasim *sim, u16 idx)
{
	return idx == sim->dev_attr.nvqs - 1 ? 1 : 0;
}

static void vdpasim_net_stat(struct vdpa_vq_stats *stats, const char *name,
			     u64 value)
{
	if (WARN_ON_ONCE(stats->count >= VDPA_VQ_STATS_MAX))
		return;
	stats->name[stats->count] = name;
	stats->value[stats->count] = value;
	stats->count++;
}

static int vdpasim_net_get_vq_stats(struct vdpasim *sim, u16 idx,
				    struct vdpa_vq_stats *stats,
				    struct netlink_ext_ack *extack)
{
	struct vdpasim_net *net = sim_to_net(sim);
	const struct vdpasim_net_rxq_stats *rx;
	const struct vdpasim_net_txq_stats *tx;

	stats->count = 0;
	if (idx == vdpasim_net_cvq_index(net)) {
		vdpasim_net_stat(stats, "cvq requests", net->cvq.requests);
		vdpasim_net_stat(stats, "cvq successes", net->cvq.successes);
		vdpasim_net_stat(stats, "cvq errors", net->cvq.errors);
	} else if (idx % 2 == 0) {
		rx = &net->rxq[idx / 2];
		vdpasim_net_stat(stats, "rx packets", rx->packets);
		vdpasim_net_stat(stats, "rx bytes", rx->bytes);
		vdpasim_net_stat(stats, "rx errors", rx->errors);
		vdpasim_net_stat(stats, "rx overruns", rx->overruns);
		vdpasim_net_stat(stats, "rx drops", rx->drops);
	} else {
		tx = &net->txq[idx / 2];
		vdpasim_net_stat(stats, "tx packets", tx->packets);
		vdpasim_net_stat(stats, "tx bytes", tx->bytes);
		vdpasim_net_stat(stats, "tx errors", tx->errors);
		vdpasim_net_stat(stats, "tx drops", tx->drops);
	}
	return 0;
}

static void vdpasim_net_reset(struct vdpasim *sim)
{
	struct vdpasim_net *net = sim_to_net(sim);

	net->curr_vqp = 1;
	net->rx_mode = 0;
	net->next_pair = 0;
}

/*
 * The data path's buffers (a frame of up to 64 KiB and two chains), at the
 * first DRIVER_OK: a device that is never driven (a thousand of them for a
 * scale test) does not hold them.  They stay until the device goes.
 */
static int vdpasim_net_start(struct vdpasim *sim)
{
	struct vdpasim_net *net = sim_to_net(sim);

	if (!net->tx_chain)
		net->tx_chain = kmalloc(sizeof(*net->tx_chain), GFP_KERNEL);
	if (!net->rx_chain)
		net->rx_chain = kmalloc(sizeof(*net->rx_chain), GFP_KERNEL);
	if (!net->buf)
		net->buf = kvmalloc(VDPASIM_NET_BUF_SIZE, GFP_KERNEL);
	if (!net->tx_chain || !net->rx_chain || !net->buf)
		return -ENOMEM;
	return 0;
}

static void vdpasim_net_free(struct vdpasim *sim)
{
	struct vdpasim_net *net = sim_to_net(sim);

	kvfree(net->buf);
	kfree(net->rx_chain);
	kfree(net->tx_chain);
}

/* management device */

static int vdpasim_net_check_config(const struct vdpa_dev_set_config *config,
				    u16 *max_vqp, u64 *features,
				    struct netlink_ext_ack *extack)
{
	const u64 required = BIT_ULL(VIRTIO_F_VERSION_1) |
			     BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);

	*max_vqp = 1;
	*features = VDPASIM_NET_FEATURES;

	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP)) {
		*max_vqp = config->net.max_vq_pairs;
		if (*max_vqp < 1) {
			NL_SET_ERR_MSG_MOD(extack, "max_vqp must be at least 1");
			return -EINVAL;
		}
		if (*max_vqp > VDPASIM_NET_MAX_VQP) {
			NL_SET_ERR_MSG_MOD(extack,
					   "max_vqp exceeds the simulator's limit of 16 queue pairs");
			return -EINVAL;
		}
	}
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_FEATURES)) {
		*features = config->device_features;
		if ((*features & required) != required) {
			NL_SET_ERR_MSG_MOD(extack,
					   "device_features must include VERSION_1 and ACCESS_PLATFORM");
			return -EINVAL;
		}
	}
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU) &&
	    config->net.mtu < ETH_MIN_MTU) {
		NL_SET_ERR_MSG_MOD(extack, "mtu must be at least 68");
		return -EINVAL;
	}
	if (*max_vqp > 1) {
		if (!(*features & BIT_ULL(VIRTIO_NET_F_CTRL_VQ))) {
			NL_SET_ERR_MSG_MOD(extack,
					   "max_vqp above 1 needs the CTRL_VQ feature");
			return -EINVAL;
		}
		*features |= BIT_ULL(VIRTIO_NET_F_MQ);
	}
	return 0;
}

static void vdpasim_net_init_config(struct vdpasim_net *net,
				    const struct vdpa_dev_set_config *config)
{
	struct virtio_net_config *cfg = &net->config;

	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR))
		memcpy(cfg->mac, config->net.mac, ETH_ALEN);
	cfg->status = __cpu_to_virtio16(true, VIRTIO_NET_S_LINK_UP);
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP))
		cfg->max_virtqueue_pairs = __cpu_to_virtio16(true, net->max_vqp);
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU))
		cfg->mtu = __cpu_to_virtio16(true, config->net.mtu);
	else
		cfg->mtu = __cpu_to_virtio16(true, ETH_DATA_LEN);
}

static int vdpasim_net_dev_add(struct vdpa_mgmt_dev *mdev, const char *name,
			       const struct vdpa_dev_set_config *config,
			       struct netlink_ext_ack *extack)
{
	struct vdpasim_dev_attr attr = {
		.mgmt_dev = mdev,
		.name = name,
		.alloc_size = sizeof(struct vdpasim_net),
		.id = VIRTIO_ID_NET,
		.ngroups = 2,
		.nas = 2,
		.config_size = VDPASIM_NET_CONFIG_SIZE,
		.get_config = vdpasim_net_get_config,
		.set_config = vdpasim_net_set_config,
		.start = vdpasim_net_start,
		.work = vdpasim_net_work,
		.get_vq_group = vdpasim_net_get_vq_group,
		.get_vq_stats = vdpasim_net_get_vq_stats,
		.reset = vdpasim_net_reset,
		.free = vdpasim_net_free,
	};
	struct vdpasim_net *net;
	struct vdpasim *sim;
	u16 max_vqp;
	int ret;

	ret = vdpasim_net_check_config(config, &max_vqp, &attr.features, extack);
	if (ret)
		return ret;
	attr.nvqs = 2 * max_vqp + 1;

	sim = vdpasim_create(&attr, extack);
	if (IS_ERR(sim))
		return PTR_ERR(sim);
	net = sim_to_net(sim);

	net->max_vqp = max_vqp;
	net->curr_vqp = 1;
	vdpasim_net_init_config(net, config);

	ret = vdpasim_register(sim);
	if (ret)
		goto err_put;
	return 0;

err_put:
	vdpasim_put(sim);
	return ret;
}

static void vdpasim_net_dev_del(struct vdpa_mgmt_dev *mdev,
				struct vdpa_device *vdpa)
{
	vdpasim_unregister(vdpa_to_sim(vdpa));
}

static int vdpasim_net_dev_set_attr(struct vdpa_mgmt_dev *mdev,
				    struct vdpa_device *vdpa,
				    const struct vdpa_dev_set_config *config,
				    struct netlink_ext_ack *extack)
{
	struct vdpasim *sim = vdpa_to_sim(vdpa);

	if (config->mask & ~BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR)) {
		NL_SET_ERR_MSG_MOD(extack, "only the MAC address can be changed");
		return -EOPNOTSUPP;
	}
	if (config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR)) {
		mutex_lock(&sim->lock);
		memcpy(sim_to_net(sim)->config.mac, config->net.mac, ETH_ALEN);
		mutex_unlock(&sim->lock);
	}
	return 0;
}

static const struct vdpa_mgmtdev_ops vdpasim_net_mgmtdev_ops = {
	.dev_add = vdpasim_net_dev_add,
	.dev_del = vdpasim_net_dev_del,
	.dev_set_attr = vdpasim_net_dev_set_attr,
};

static const struct virtio_device_id vdpasim_net_id_table[] = {
	{ VIRTIO_ID_NET, VIRTIO_DEV_ANY_ID },
	{ 0 },
};

/* static object: nothing to free when the last reference goes */
static void vdpasim_net_mgmtdev_release(struct device *dev)
{
}

static struct device vdpasim_net_mgmtdev_dev = {
	.init_name = VDPASIM_NET_NAME,
	.release = vdpasim_net_mgmtdev_release,
};

static struct vdpa_mgmt_dev vdpasim_net_mgmtdev = {
	.device = &vdpasim_net_mgmtdev_dev,
	.ops = &vdpasim_net_mgmtdev_ops,
	.id_table = vdpasim_net_id_table,
	.config_attr_mask = BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR) |
			    BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU) |
			    BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP) |
			    BIT_ULL(VDPA_ATTR_DEV_FEATURES),
	.supported_features = VDPASIM_NET_FEATURES | VDPASIM_NET_OPT_FEATURES,
	.max_supported_vqs = 3,
};

static int __init vdpasim_net_init(void)
{
	int ret;

	ret = device_register(&vdpasim_net_mgmtdev_dev);
	if (ret) {
		put_device(&vdpasim_net_mgmtdev_dev);
		return ret;
	}

	ret = vdpa_mgmtdev_register(&vdpasim_net_mgmtdev);
	if (ret)
		goto err_unregister_dev;
	return 0;

err_unregister_dev:
	device_unregister(&vdpasim_net_mgmtdev_dev);
	return ret;
}

static void __exit vdpasim_net_exit(void)
{
	/* the core deletes the devices still present through dev_del */
	vdpa_mgmtdev_unregister(&vdpasim_net_mgmtdev);
	device_unregister(&vdpasim_net_mgmtdev_dev);
}

module_init(vdpasim_net_init);
module_exit(vdpasim_net_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(VDPA_VERSION);
MODULE_DESCRIPTION("vDPA simulator: network device");
