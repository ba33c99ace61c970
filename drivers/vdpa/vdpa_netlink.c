// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa core: the "vdpa" generic netlink family used by iproute2's vdpa
 * tool.  Command and attribute numbers, reply layouts, errnos and error
 * messages are ABI shared with upstream Linux.
 *
 * Every handler looks devices up under vdpa_dev_lock: GETs and dumps
 * hold it for reading, DEV_NEW, DEV_DEL and DEV_ATTR_SET for writing.
 * Config space is read under the device's cf_lock.  That is all the
 * locking they need, so the family runs with parallel_ops (no genl_mutex):
 * DEV_DEL may wait for userspace (vdpa_mgmtdev_del_finish()), and must not
 * stall every other generic netlink family meanwhile.
 */

#include <linux/etherdevice.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/stdarg.h>
#include <linux/string.h>
#include <linux/vdpa.h>
#include <linux/virtio_byteorder.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <net/genetlink.h>
#include <uapi/linux/vdpa.h>
#include <uapi/linux/virtio_blk.h>
#include <uapi/linux/virtio_net.h>

#include "vdpa_core.h"

#define VDPA_NL_NET_ATTRS	(BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR) | \
				 BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU) | \
				 BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP))

/* Feature bits that are not transport bits, i.e. mean something per class. */
#define VDPA_NL_DEVICE_F_MASK	(~0ULL << (VIRTIO_TRANSPORT_F_END + 1) | \
				 (BIT_ULL(VIRTIO_TRANSPORT_F_START) - 1))

static struct genl_family vdpa_nl_family;

/*
 * Formatted extack messages.  6.1 has no NL_SET_ERR_MSG_FMT, and the
 * message must outlive the handler: the ack is built after genl drops
 * its lock.  So each distinct formatted text is kept, once, until module
 * exit.  The texts depend only on attribute masks or on names of
 * existing devices, so they are few; past VDPA_NL_MSGS_MAX a fixed
 * fallback text is used instead.
 */
#define VDPA_NL_MSGS_MAX	128
#define VDPA_NL_MSG_LEN		160

struct vdpa_nl_msg {
	struct list_head node;
	char text[];
};

/* Protects vdpa_nl_msgs and vdpa_nl_nmsgs. */
static DEFINE_MUTEX(vdpa_nl_msgs_lock);
static LIST_HEAD(vdpa_nl_msgs);
static unsigned int vdpa_nl_nmsgs;

static const char *vdpa_nl_intern(const char *text)
{
	struct vdpa_nl_msg *msg;
	const char *found = NULL;
	size_t len = strlen(text) + 1;

	mutex_lock(&vdpa_nl_msgs_lock);
	list_for_each_entry(msg, &vdpa_nl_msgs, node) {
		if (!strcmp(msg->text, text)) {
			found = msg->text;
			goto out;
		}
	}
	if (vdpa_nl_nmsgs >= VDPA_NL_MSGS_MAX)
		goto out;
	msg = kmalloc(struct_size(msg, text, len), GFP_KERNEL);
	if (!msg)
		goto out;
	memcpy(msg->text, text, len);
	list_add(&msg->node, &vdpa_nl_msgs);
	vdpa_nl_nmsgs++;
	found = msg->text;
out:
	mutex_unlock(&vdpa_nl_msgs_lock);
	return found;
}

static void vdpa_nl_free_msgs(void)
{
	struct vdpa_nl_msg *msg, *next;

	list_for_each_entry_safe(msg, next, &vdpa_nl_msgs, node)
		kfree(msg);
	INIT_LIST_HEAD(&vdpa_nl_msgs);
	vdpa_nl_nmsgs = 0;
}

/*
 * Set a formatted "vdpa: " message; @fallback (a literal that already
 * carries the prefix) is used if the text cannot be kept.
 */
static __printf(3, 4) void vdpa_nl_err_fmt(struct netlink_ext_ack *extack,
					   const char *fallback,
					   const char *fmt, ...)
{
	char text[VDPA_NL_MSG_LEN];
	const char *msg;
	va_list args;
	int len;

	if (!extack)
		return;

	len = scnprintf(text, sizeof(text), "%s: ", KBUILD_MODNAME);
	va_start(args, fmt);
	vscnprintf(text + len, sizeof(text) - len, fmt, args);
	va_end(args);

	msg = vdpa_nl_intern(text) ?: fallback;
	do_trace_netlink_extack(msg);
	extack->_msg = msg;
}

/*
 * Copy a name attribute into @buf (VDPA_NAME_LEN bytes).  The policy
 * bounds its length; this also refuses empty names and embedded NULs,
 * which could never name anything.
 */
static bool vdpa_nl_get_name(const struct nlattr *attr, char *buf)
{
	const char *data = nla_data(attr);
	int len = nla_len(attr);

	if (len > 0 && !data[len - 1])
		len--;
	if (len <= 0 || len >= VDPA_NAME_LEN || memchr(data, '\0', len))
		return false;
	return nla_strscpy(buf, attr, VDPA_NAME_LEN) == len;
}

/* Caller holds vdpa_dev_lock. */
static struct vdpa_mgmt_dev *vdpa_nl_find_mgmtdev(struct nlattr **attrs,
						  int *err)
{
	char bus_name[VDPA_NAME_LEN];
	char name[VDPA_NAME_LEN];
	struct vdpa_mgmt_dev *mdev;
	bool have_bus = !!attrs[VDPA_ATTR_MGMTDEV_BUS_NAME];

	if (!attrs[VDPA_ATTR_MGMTDEV_DEV_NAME]) {
		*err = -EINVAL;
		return NULL;
	}
	*err = -ENODEV;
	if (!vdpa_nl_get_name(attrs[VDPA_ATTR_MGMTDEV_DEV_NAME], name))
		return NULL;
	if (have_bus &&
	    !vdpa_nl_get_name(attrs[VDPA_ATTR_MGMTDEV_BUS_NAME], bus_name))
		return NULL;

	mdev = vdpa_mgmtdev_find(have_bus ? bus_name : NULL, name);
	if (mdev)
		*err = 0;
	return mdev;
}

/*
 * Find the device named by VDPA_ATTR_DEV_NAME, which the caller checked is
 * present.  Caller holds vdpa_dev_lock and drops the reference.
 */
static struct vdpa_device *vdpa_nl_find_device(struct genl_info *info)
{
	char name[VDPA_NAME_LEN];
	struct vdpa_device *vdev = NULL;

	if (vdpa_nl_get_name(info->attrs[VDPA_ATTR_DEV_NAME], name))
		vdev = vdpa_find_device(name);
	if (!vdev)
		NL_SET_ERR_MSG_MOD(info->extack, "device not found");
	return vdev;
}

static int vdpa_nl_put_mgmtdev_handle(struct sk_buff *msg,
				      const struct vdpa_mgmt_dev *mdev)
{
	const struct bus_type *bus = mdev->device->bus;

	if (bus && nla_put_string(msg, VDPA_ATTR_MGMTDEV_BUS_NAME, bus->name))
		return -EMSGSIZE;
	if (nla_put_string(msg, VDPA_ATTR_MGMTDEV_DEV_NAME,
			   dev_name(mdev->device)))
		return -EMSGSIZE;
	return 0;
}

static int vdpa_nl_fill_mgmtdev(struct sk_buff *msg,
				const struct vdpa_mgmt_dev *mdev,
				u32 portid, u32 seq, int flags)
{
	void *hdr;

	hdr = genlmsg_put(msg, portid, seq, &vdpa_nl_family, flags,
			  VDPA_CMD_MGMTDEV_NEW);
	if (!hdr)
		return -EMSGSIZE;

	if (vdpa_nl_put_mgmtdev_handle(msg, mdev) ||
	    nla_put_u64_64bit(msg, VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES,
			      vdpa_mgmtdev_classes(mdev, NULL),
			      VDPA_ATTR_PAD) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_MGMTDEV_MAX_VQS,
			mdev->max_supported_vqs) ||
	    nla_put_u64_64bit(msg, VDPA_ATTR_DEV_SUPPORTED_FEATURES,
			      mdev->supported_features, VDPA_ATTR_PAD)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}

	genlmsg_end(msg, hdr);
	return 0;
}

static int vdpa_nl_cmd_mgmtdev_get_doit(struct sk_buff *skb,
					struct genl_info *info)
{
	struct vdpa_mgmt_dev *mdev;
	struct sk_buff *msg;
	int err;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	down_read(&vdpa_dev_lock);
	mdev = vdpa_nl_find_mgmtdev(info->attrs, &err);
	if (mdev)
		err = vdpa_nl_fill_mgmtdev(msg, mdev, info->snd_portid,
					   info->snd_seq, 0);
	else
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Fail to find the specified mgmt device");
	up_read(&vdpa_dev_lock);

	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int vdpa_nl_cmd_mgmtdev_get_dumpit(struct sk_buff *msg,
					  struct netlink_callback *cb)
{
	unsigned long start = cb->args[0], idx = 0;
	struct vdpa_mgmt_dev *mdev;
	int err = 0;

	down_read(&vdpa_dev_lock);
	list_for_each_entry(mdev, &vdpa_mgmtdev_list, list) {
		if (idx >= start) {
			err = vdpa_nl_fill_mgmtdev(msg, mdev,
						   NETLINK_CB(cb->skb).portid,
						   cb->nlh->nlmsg_seq,
						   NLM_F_MULTI);
			if (err)
				break;
		}
		idx++;
	}
	up_read(&vdpa_dev_lock);

	cb->args[0] = idx;
	/* Resume at the one that did not fit, unless nothing fits at all. */
	return err && !msg->len ? err : msg->len;
}

/* Read and check the provisioning attributes of DEV_NEW. */
static int vdpa_nl_parse_dev_config(struct nlattr **attrs,
				    struct vdpa_dev_set_config *config,
				    struct netlink_ext_ack *extack)
{
	u64 missing = 0;

	if (attrs[VDPA_ATTR_DEV_NET_CFG_MACADDR]) {
		memcpy(config->net.mac,
		       nla_data(attrs[VDPA_ATTR_DEV_NET_CFG_MACADDR]), ETH_ALEN);
		config->mask |= BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR);
	}
	if (attrs[VDPA_ATTR_DEV_NET_CFG_MTU]) {
		config->net.mtu = nla_get_u16(attrs[VDPA_ATTR_DEV_NET_CFG_MTU]);
		config->mask |= BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU);
	}
	if (attrs[VDPA_ATTR_DEV_NET_CFG_MAX_VQP]) {
		config->net.max_vq_pairs =
			nla_get_u16(attrs[VDPA_ATTR_DEV_NET_CFG_MAX_VQP]);
		if (!config->net.max_vq_pairs) {
			NL_SET_ERR_MSG_MOD(extack,
					   "At least one pair of VQs is required");
			return -EINVAL;
		}
		config->mask |= BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP);
	}
	if (!attrs[VDPA_ATTR_DEV_FEATURES])
		return 0;

	config->device_features = nla_get_u64(attrs[VDPA_ATTR_DEV_FEATURES]);
	config->mask |= BIT_ULL(VDPA_ATTR_DEV_FEATURES);

	/* Explicit features must include what the other attributes need. */
	if ((config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR)) &&
	    !(config->device_features & BIT_ULL(VIRTIO_NET_F_MAC)))
		missing |= BIT_ULL(VIRTIO_NET_F_MAC);
	if ((config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MTU)) &&
	    !(config->device_features & BIT_ULL(VIRTIO_NET_F_MTU)))
		missing |= BIT_ULL(VIRTIO_NET_F_MTU);
	if ((config->mask & BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MAX_VQP)) &&
	    config->net.max_vq_pairs > 1 &&
	    !(config->device_features & BIT_ULL(VIRTIO_NET_F_MQ)))
		missing |= BIT_ULL(VIRTIO_NET_F_MQ);
	if (missing) {
		vdpa_nl_err_fmt(extack,
				"vdpa: Missing features for provided attributes",
				"Missing features 0x%llx for provided attributes",
				missing);
		return -EINVAL;
	}
	return 0;
}

/* Check DEV_NEW attributes against what @mdev can do. */
static int vdpa_nl_check_dev_config(const struct vdpa_mgmt_dev *mdev,
				    const struct vdpa_dev_set_config *config,
				    struct netlink_ext_ack *extack)
{
	u64 unsupported = config->mask & ~mdev->config_attr_mask;
	unsigned int nclasses;
	u64 classes;

	if (unsupported) {
		vdpa_nl_err_fmt(extack,
				"vdpa: Some provided attributes are not supported",
				"Some provided attributes are not supported: 0x%llx",
				unsupported);
		return -EOPNOTSUPP;
	}

	classes = vdpa_mgmtdev_classes(mdev, &nclasses);
	if ((config->mask & VDPA_NL_NET_ATTRS) &&
	    !(classes & BIT_ULL(VIRTIO_ID_NET))) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Network class attributes provided on unsupported management device");
		return -EINVAL;
	}
	if (!(config->mask & VDPA_NL_NET_ATTRS) &&
	    (config->mask & BIT_ULL(VDPA_ATTR_DEV_FEATURES)) &&
	    (classes & BIT_ULL(VIRTIO_ID_NET)) && nclasses > 1 &&
	    (config->device_features & VDPA_NL_DEVICE_F_MASK)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Management device supports multi-class while device features specified are ambiguous");
		return -EINVAL;
	}
	if ((config->mask & BIT_ULL(VDPA_ATTR_DEV_FEATURES)) &&
	    (config->device_features & ~mdev->supported_features)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Requested device features are not supported by the management device");
		return -EINVAL;
	}
	return 0;
}

static int vdpa_nl_cmd_dev_new_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct vdpa_dev_set_config config = {};
	struct nlattr **attrs = info->attrs;
	char name[VDPA_NAME_LEN];
	struct vdpa_mgmt_dev *mdev;
	int err;

	if (!attrs[VDPA_ATTR_DEV_NAME])
		return -EINVAL;
	if (!vdpa_nl_get_name(attrs[VDPA_ATTR_DEV_NAME], name) ||
	    !vdpa_name_is_valid(name)) {
		NL_SET_BAD_ATTR(info->extack, attrs[VDPA_ATTR_DEV_NAME]);
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Device name must be non-empty and must not contain '/'");
		return -EINVAL;
	}

	err = vdpa_nl_parse_dev_config(attrs, &config, info->extack);
	if (err)
		return err;

	/* The op needs CAP_NET_ADMIN already; kept for any future relaxation. */
	if ((config.mask & VDPA_NL_NET_ATTRS) &&
	    !netlink_capable(skb, CAP_NET_ADMIN))
		return -EPERM;

	down_write(&vdpa_dev_lock);
	mdev = vdpa_nl_find_mgmtdev(attrs, &err);
	if (!mdev) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Fail to find the specified management device");
		goto out;
	}
	err = vdpa_nl_check_dev_config(mdev, &config, info->extack);
	if (!err)
		err = vdpa_mgmtdev_add_device(mdev, name, &config,
					      info->extack);
out:
	up_write(&vdpa_dev_lock);
	return err;
}

static int vdpa_nl_cmd_dev_del_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	struct vdpa_device *vdev;
	int err = 0;

	if (!info->attrs[VDPA_ATTR_DEV_NAME])
		return -EINVAL;

	down_write(&vdpa_dev_lock);
	vdev = vdpa_nl_find_device(info);
	if (!vdev) {
		up_write(&vdpa_dev_lock);
		return -ENODEV;
	}
	if (!vdev->mdev) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Only user created device can be deleted by user");
		err = -EINVAL;
	} else if (vdev->deleting) {
		NL_SET_ERR_MSG_MOD(info->extack, "the device is being deleted");
		err = -EBUSY;
	} else {
		vdpa_mgmtdev_del_begin(vdev);
	}
	up_write(&vdpa_dev_lock);
	if (err) {
		put_device(&vdev->dev);
		return err;
	}

	/*
	 * Waits for the bus driver's clients without holding vdpa_dev_lock
	 * (nor genl_mutex: parallel_ops); drops our reference.
	 */
	vdpa_mgmtdev_del_finish(vdev);
	return 0;
}

static int vdpa_nl_fill_dev(struct vdpa_device *vdev, struct sk_buff *msg,
			    u32 portid, u32 seq, int flags,
			    struct netlink_ext_ack *extack)
{
	const struct vdpa_config_ops *ops = vdev->ops;
	u16 min_size = ops->get_vq_num_min ? ops->get_vq_num_min(vdev) : 1;
	void *hdr;

	/* DEV_GET replies carry the DEV_NEW command number (upstream ABI). */
	hdr = genlmsg_put(msg, portid, seq, &vdpa_nl_family, flags,
			  VDPA_CMD_DEV_NEW);
	if (!hdr)
		return -EMSGSIZE;

	if (vdpa_nl_put_mgmtdev_handle(msg, vdev->mdev) ||
	    nla_put_string(msg, VDPA_ATTR_DEV_NAME, dev_name(&vdev->dev)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_ID, ops->get_device_id(vdev)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_VENDOR_ID,
			ops->get_vendor_id(vdev)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_MAX_VQS, vdev->nvqs) ||
	    nla_put_u16(msg, VDPA_ATTR_DEV_MAX_VQ_SIZE,
			ops->get_vq_num_max(vdev)) ||
	    nla_put_u16(msg, VDPA_ATTR_DEV_MIN_VQ_SIZE, min_size)) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}

	genlmsg_end(msg, hdr);
	return 0;
}

static bool vdpa_nl_config_is_le(u64 features)
{
	return (features & BIT_ULL(VIRTIO_F_VERSION_1)) ||
	       virtio_legacy_is_little_endian();
}

static int vdpa_nl_fill_net_config(struct vdpa_device *vdev,
				   struct sk_buff *msg)
{
	u64 features = vdev->ops->get_device_features(vdev);
	bool le = vdpa_nl_config_is_le(features);
	struct virtio_net_config cfg;

	vdpa_config_read_raw(vdev, &cfg, sizeof(cfg));

	if (nla_put_u64_64bit(msg, VDPA_ATTR_DEV_FEATURES, features,
			      VDPA_ATTR_PAD))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_NET_F_MTU)) &&
	    nla_put_u16(msg, VDPA_ATTR_DEV_NET_CFG_MTU,
			__virtio16_to_cpu(le, cfg.mtu)))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_NET_F_MAC)) &&
	    nla_put(msg, VDPA_ATTR_DEV_NET_CFG_MACADDR, sizeof(cfg.mac),
		    cfg.mac))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_NET_F_STATUS)) &&
	    nla_put_u16(msg, VDPA_ATTR_DEV_NET_STATUS,
			__virtio16_to_cpu(le, cfg.status)))
		return -EMSGSIZE;
	if ((features & (BIT_ULL(VIRTIO_NET_F_MQ) | BIT_ULL(VIRTIO_NET_F_RSS))) &&
	    nla_put_u16(msg, VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
			__virtio16_to_cpu(le, cfg.max_virtqueue_pairs)))
		return -EMSGSIZE;
	return 0;
}

static int vdpa_nl_put_blk_topology(struct sk_buff *msg, bool le,
				    const struct virtio_blk_config *cfg)
{
	if (nla_put_u8(msg, VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP,
		       cfg->physical_block_exp) ||
	    nla_put_u8(msg, VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET,
		       cfg->alignment_offset) ||
	    nla_put_u16(msg, VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE,
			__virtio16_to_cpu(le, cfg->min_io_size)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE,
			__virtio32_to_cpu(le, cfg->opt_io_size)))
		return -EMSGSIZE;
	return 0;
}

static int vdpa_nl_put_blk_discard(struct sk_buff *msg, bool le,
				   const struct virtio_blk_config *cfg)
{
	if (nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC,
			__virtio32_to_cpu(le, cfg->max_discard_sectors)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG,
			__virtio32_to_cpu(le, cfg->max_discard_seg)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN,
			__virtio32_to_cpu(le, cfg->discard_sector_alignment)))
		return -EMSGSIZE;
	return 0;
}

static int vdpa_nl_put_blk_write_zeroes(struct sk_buff *msg, bool le,
					const struct virtio_blk_config *cfg)
{
	if (nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC,
			__virtio32_to_cpu(le, cfg->max_write_zeroes_sectors)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG,
			__virtio32_to_cpu(le, cfg->max_write_zeroes_seg)))
		return -EMSGSIZE;
	return 0;
}

static int vdpa_nl_fill_blk_config(struct vdpa_device *vdev,
				   struct sk_buff *msg)
{
	u64 features = vdev->ops->get_device_features(vdev);
	bool le = vdpa_nl_config_is_le(features);
	struct virtio_blk_config cfg;

	vdpa_config_read_raw(vdev, &cfg, sizeof(cfg));

	if (nla_put_u64_64bit(msg, VDPA_ATTR_DEV_FEATURES, features,
			      VDPA_ATTR_PAD) ||
	    nla_put_u64_64bit(msg, VDPA_ATTR_DEV_BLK_CFG_CAPACITY,
			      __virtio64_to_cpu(le, cfg.capacity),
			      VDPA_ATTR_PAD))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_BLK_F_SIZE_MAX)) &&
	    nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX,
			__virtio32_to_cpu(le, cfg.size_max)))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_BLK_F_BLK_SIZE)) &&
	    nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE,
			__virtio32_to_cpu(le, cfg.blk_size)))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_BLK_F_SEG_MAX)) &&
	    nla_put_u32(msg, VDPA_ATTR_DEV_BLK_CFG_SEG_MAX,
			__virtio32_to_cpu(le, cfg.seg_max)))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_BLK_F_MQ)) &&
	    nla_put_u16(msg, VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES,
			__virtio16_to_cpu(le, cfg.num_queues)))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_BLK_F_TOPOLOGY)) &&
	    vdpa_nl_put_blk_topology(msg, le, &cfg))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_BLK_F_DISCARD)) &&
	    vdpa_nl_put_blk_discard(msg, le, &cfg))
		return -EMSGSIZE;
	if ((features & BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES)) &&
	    vdpa_nl_put_blk_write_zeroes(msg, le, &cfg))
		return -EMSGSIZE;
	if (nla_put_u8(msg, VDPA_ATTR_DEV_BLK_READ_ONLY,
		       !!(features & BIT_ULL(VIRTIO_BLK_F_RO))) ||
	    nla_put_u8(msg, VDPA_ATTR_DEV_BLK_FLUSH,
		       !!(features & BIT_ULL(VIRTIO_BLK_F_FLUSH))))
		return -EMSGSIZE;
	return 0;
}

/* Returns -EOPNOTSUPP, with nothing added to @msg, for other classes. */
static int vdpa_nl_fill_config(struct vdpa_device *vdev, struct sk_buff *msg,
			       u32 portid, u32 seq, int flags,
			       struct netlink_ext_ack *extack)
{
	const struct vdpa_config_ops *ops = vdev->ops;
	u32 device_id = ops->get_device_id(vdev);
	void *hdr;
	int err;

	if (device_id != VIRTIO_ID_NET && device_id != VIRTIO_ID_BLOCK)
		return -EOPNOTSUPP;

	hdr = genlmsg_put(msg, portid, seq, &vdpa_nl_family, flags,
			  VDPA_CMD_DEV_CONFIG_GET);
	if (!hdr)
		return -EMSGSIZE;

	down_read(&vdev->cf_lock);
	err = -EMSGSIZE;
	if (nla_put_string(msg, VDPA_ATTR_DEV_NAME, dev_name(&vdev->dev)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_ID, device_id))
		goto out;

	/* Driver features mean something only once negotiation is over. */
	if ((ops->get_status(vdev) & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    nla_put_u64_64bit(msg, VDPA_ATTR_DEV_NEGOTIATED_FEATURES,
			      ops->get_driver_features(vdev), VDPA_ATTR_PAD))
		goto out;

	if (device_id == VIRTIO_ID_NET)
		err = vdpa_nl_fill_net_config(vdev, msg);
	else
		err = vdpa_nl_fill_blk_config(vdev, msg);
out:
	up_read(&vdev->cf_lock);
	if (err) {
		genlmsg_cancel(msg, hdr);
		return err;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

typedef int (*vdpa_nl_fill_fn)(struct vdpa_device *vdev, struct sk_buff *msg,
			       u32 portid, u32 seq, int flags,
			       struct netlink_ext_ack *extack);

static int vdpa_nl_dev_get_common(struct genl_info *info, vdpa_nl_fill_fn fill,
				  bool unmanaged_msg)
{
	struct vdpa_device *vdev;
	struct sk_buff *msg;
	int err;

	if (!info->attrs[VDPA_ATTR_DEV_NAME])
		return -EINVAL;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	down_read(&vdpa_dev_lock);
	vdev = vdpa_nl_find_device(info);
	if (!vdev) {
		err = -ENODEV;
		goto out_unlock;
	}
	if (!vdev->mdev) {
		if (unmanaged_msg)
			NL_SET_ERR_MSG_MOD(info->extack,
					   "unmanaged vdpa device");
		err = -EINVAL;
		goto out_put;
	}
	err = fill(vdev, msg, info->snd_portid, info->snd_seq, 0,
		   info->extack);
	if (err == -EOPNOTSUPP)
		NL_SET_ERR_MSG_MOD(info->extack,
				   "the configuration of this device class cannot be shown");
out_put:
	put_device(&vdev->dev);
out_unlock:
	up_read(&vdpa_dev_lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int vdpa_nl_cmd_dev_get_doit(struct sk_buff *skb,
				    struct genl_info *info)
{
	/* Upstream gives no message for an unmanaged device here. */
	return vdpa_nl_dev_get_common(info, vdpa_nl_fill_dev, false);
}

static int vdpa_nl_cmd_dev_config_get_doit(struct sk_buff *skb,
					   struct genl_info *info)
{
	return vdpa_nl_dev_get_common(info, vdpa_nl_fill_config, true);
}

struct vdpa_nl_dump {
	struct sk_buff *msg;
	struct netlink_callback *cb;
	vdpa_nl_fill_fn fill;
	unsigned long start;
	unsigned long idx;
	int err;
};

static int vdpa_nl_dump_one(struct device *dev, void *data)
{
	struct vdpa_device *vdev = dev_to_vdpa(dev);
	struct vdpa_nl_dump *dump = data;
	int err;

	/* Devices without a management device are not listed. */
	if (!vdev->mdev)
		return 0;

	if (dump->idx >= dump->start) {
		err = dump->fill(vdev, dump->msg,
				 NETLINK_CB(dump->cb->skb).portid,
				 dump->cb->nlh->nlmsg_seq, NLM_F_MULTI,
				 dump->cb->extack);
		/* A class whose config cannot be shown is skipped. */
		if (err && err != -EOPNOTSUPP) {
			dump->err = err;
			return err;
		}
	}
	dump->idx++;
	return 0;
}

static int vdpa_nl_dump_devices(struct sk_buff *msg,
				struct netlink_callback *cb,
				vdpa_nl_fill_fn fill)
{
	struct vdpa_nl_dump dump = {
		.msg = msg,
		.cb = cb,
		.fill = fill,
		.start = cb->args[0],
	};

	down_read(&vdpa_dev_lock);
	bus_for_each_dev(&vdpa_bus_type, NULL, &dump, vdpa_nl_dump_one);
	up_read(&vdpa_dev_lock);

	cb->args[0] = dump.idx;
	/* Resume at the one that did not fit, unless nothing fits at all. */
	return dump.err && !msg->len ? dump.err : msg->len;
}

static int vdpa_nl_cmd_dev_get_dumpit(struct sk_buff *msg,
				      struct netlink_callback *cb)
{
	return vdpa_nl_dump_devices(msg, cb, vdpa_nl_fill_dev);
}

static int vdpa_nl_cmd_dev_config_get_dumpit(struct sk_buff *msg,
					     struct netlink_callback *cb)
{
	return vdpa_nl_dump_devices(msg, cb, vdpa_nl_fill_config);
}

static int vdpa_nl_put_vq_stats(struct vdpa_device *vdev, u32 index,
				struct sk_buff *msg,
				struct netlink_ext_ack *extack)
{
	struct vdpa_vq_stats *stats;
	unsigned int i;
	int err;

	/* Too big for the stack next to the rest of the request path. */
	stats = kzalloc(sizeof(*stats), GFP_KERNEL);
	if (!stats)
		return -ENOMEM;

	err = vdev->ops->get_vq_stats(vdev, index, stats, extack);
	if (err)
		goto out;
	if (WARN_ON_ONCE(stats->count > VDPA_VQ_STATS_MAX))
		stats->count = VDPA_VQ_STATS_MAX;

	for (i = 0; i < stats->count; i++) {
		if (nla_put_string(msg, VDPA_ATTR_DEV_VENDOR_ATTR_NAME,
				   stats->name[i]) ||
		    nla_put_u64_64bit(msg, VDPA_ATTR_DEV_VENDOR_ATTR_VALUE,
				      stats->value[i], VDPA_ATTR_PAD)) {
			err = -EMSGSIZE;
			goto out;
		}
	}
out:
	kfree(stats);
	return err;
}

/* Body of a net device's VSTATS reply; cf_lock held for reading. */
static int vdpa_nl_fill_net_vstats(struct vdpa_device *vdev, u32 index,
				   struct sk_buff *msg,
				   struct netlink_ext_ack *extack)
{
	const struct vdpa_config_ops *ops = vdev->ops;
	struct virtio_net_config cfg;
	u64 features;

	if (!ops->get_vq_stats)
		return -EOPNOTSUPP;
	if (!(ops->get_status(vdev) & VIRTIO_CONFIG_S_FEATURES_OK)) {
		NL_SET_ERR_MSG_MOD(extack, "feature negotiation not complete");
		return -EAGAIN;
	}
	if (index >= vdev->nvqs) {
		NL_SET_ERR_MSG_MOD(extack,
				   "queue index is not a virtqueue of the device");
		return -EINVAL;
	}
	/* The parent indexes its queues with it. */
	index = array_index_nospec(index, vdev->nvqs);

	features = ops->get_driver_features(vdev);
	if (nla_put_u64_64bit(msg, VDPA_ATTR_DEV_NEGOTIATED_FEATURES,
			      features, VDPA_ATTR_PAD))
		return -EMSGSIZE;

	/* iproute2 reads MAX_VQP and features before QUEUE_INDEX. */
	if (features & (BIT_ULL(VIRTIO_NET_F_MQ) | BIT_ULL(VIRTIO_NET_F_RSS))) {
		vdpa_config_read_raw(vdev, &cfg, sizeof(cfg));
		if (nla_put_u16(msg, VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
				__virtio16_to_cpu(vdpa_nl_config_is_le(features),
						  cfg.max_virtqueue_pairs)))
			return -EMSGSIZE;
	}
	if (nla_put_u32(msg, VDPA_ATTR_DEV_QUEUE_INDEX, index))
		return -EMSGSIZE;

	return vdpa_nl_put_vq_stats(vdev, index, msg, extack);
}

static int vdpa_nl_fill_vstats(struct vdpa_device *vdev, u32 index,
			       struct sk_buff *msg, struct genl_info *info)
{
	u32 device_id = vdev->ops->get_device_id(vdev);
	void *hdr;
	int err;

	hdr = genlmsg_put(msg, info->snd_portid, info->snd_seq,
			  &vdpa_nl_family, 0, VDPA_CMD_DEV_VSTATS_GET);
	if (!hdr)
		return -EMSGSIZE;

	err = -EMSGSIZE;
	if (nla_put_string(msg, VDPA_ATTR_DEV_NAME, dev_name(&vdev->dev)) ||
	    nla_put_u32(msg, VDPA_ATTR_DEV_ID, device_id))
		goto out;

	/* Upstream has counters for network devices only. */
	if (device_id != VIRTIO_ID_NET) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "vstats are not supported for this device class");
		err = -EOPNOTSUPP;
		goto out;
	}
	if (index > VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "queue index exceeds max value");
		err = -ERANGE;
		goto out;
	}

	down_read(&vdev->cf_lock);
	err = vdpa_nl_fill_net_vstats(vdev, index, msg, info->extack);
	up_read(&vdev->cf_lock);
out:
	if (err) {
		genlmsg_cancel(msg, hdr);
		return err;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

static int vdpa_nl_cmd_dev_vstats_get_doit(struct sk_buff *skb,
					   struct genl_info *info)
{
	struct vdpa_device *vdev;
	struct sk_buff *msg;
	u32 index;
	int err;

	if (!info->attrs[VDPA_ATTR_DEV_NAME] ||
	    !info->attrs[VDPA_ATTR_DEV_QUEUE_INDEX])
		return -EINVAL;
	index = nla_get_u32(info->attrs[VDPA_ATTR_DEV_QUEUE_INDEX]);

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	down_read(&vdpa_dev_lock);
	vdev = vdpa_nl_find_device(info);
	if (!vdev) {
		err = -ENODEV;
		goto out_unlock;
	}
	if (vdev->mdev) {
		err = vdpa_nl_fill_vstats(vdev, index, msg, info);
	} else {
		NL_SET_ERR_MSG_MOD(info->extack, "unmanaged vdpa device");
		err = -EINVAL;
	}
	put_device(&vdev->dev);
out_unlock:
	up_read(&vdpa_dev_lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int vdpa_nl_set_net_attrs(struct vdpa_device *vdev,
				 struct genl_info *info)
{
	const struct nlattr *mac_attr =
		info->attrs[VDPA_ATTR_DEV_NET_CFG_MACADDR];
	struct vdpa_dev_set_config config = {};
	struct vdpa_mgmt_dev *mdev = vdev->mdev;
	int err;

	if (!mac_attr)
		return -EOPNOTSUPP;
	if (!is_valid_ether_addr(nla_data(mac_attr))) {
		NL_SET_BAD_ATTR(info->extack, mac_attr);
		NL_SET_ERR_MSG_MOD(info->extack, "Invalid MAC address");
		return -EOPNOTSUPP;
	}
	if (!mdev->ops->dev_set_attr) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Operation not supported by the device.");
		return -EOPNOTSUPP;
	}

	ether_addr_copy(config.net.mac, nla_data(mac_attr));
	config.mask = BIT_ULL(VDPA_ATTR_DEV_NET_CFG_MACADDR);

	/* Config readers must not see the MAC half written. */
	down_write(&vdev->cf_lock);
	err = mdev->ops->dev_set_attr(mdev, vdev, &config, info->extack);
	up_write(&vdev->cf_lock);
	return err;
}

static int vdpa_nl_cmd_dev_attr_set_doit(struct sk_buff *skb,
					 struct genl_info *info)
{
	struct vdpa_device *vdev;
	int err;

	if (!info->attrs[VDPA_ATTR_DEV_NAME])
		return -EINVAL;

	down_write(&vdpa_dev_lock);
	vdev = vdpa_nl_find_device(info);
	if (!vdev) {
		err = -ENODEV;
		goto out_unlock;
	}
	if (!vdev->mdev) {
		NL_SET_ERR_MSG_MOD(info->extack, "unmanaged vdpa device");
		err = -EINVAL;
	} else if (vdpa_mgmtdev_classes(vdev->mdev, NULL) &
		   BIT_ULL(VIRTIO_ID_NET)) {
		err = vdpa_nl_set_net_attrs(vdev, info);
	} else {
		/* Upstream returns 0 here, which hides the failure. */
		vdpa_nl_err_fmt(info->extack,
				"vdpa: device class not supported",
				"%s device not supported",
				dev_name(&vdev->dev));
		err = -EOPNOTSUPP;
	}
	put_device(&vdev->dev);
out_unlock:
	up_write(&vdpa_dev_lock);
	return err;
}

/*
 * Strict, typed policy for every attribute, reply-only ones included, so
 * nothing reaches a handler unvalidated.
 */
static const struct nla_policy vdpa_nl_policy[VDPA_ATTR_MAX + 1] = {
	[VDPA_ATTR_MGMTDEV_BUS_NAME] = { .type = NLA_NUL_STRING,
					 .len = VDPA_NAME_LEN - 1 },
	[VDPA_ATTR_MGMTDEV_DEV_NAME] = { .type = NLA_STRING,
					 .len = VDPA_NAME_LEN - 1 },
	[VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES] = { .type = NLA_U64 },
	[VDPA_ATTR_DEV_NAME] = { .type = NLA_STRING,
				 .len = VDPA_NAME_LEN - 1 },
	[VDPA_ATTR_DEV_ID] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_VENDOR_ID] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_MAX_VQS] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_MAX_VQ_SIZE] = { .type = NLA_U16 },
	[VDPA_ATTR_DEV_MIN_VQ_SIZE] = { .type = NLA_U16 },
	[VDPA_ATTR_DEV_NET_CFG_MACADDR] = NLA_POLICY_ETH_ADDR,
	[VDPA_ATTR_DEV_NET_STATUS] = { .type = NLA_U16 },
	[VDPA_ATTR_DEV_NET_CFG_MAX_VQP] = { .type = NLA_U16 },
	/* Smallest MTU virtio-net allows (virtio spec 1.1, 5.1.4.1). */
	[VDPA_ATTR_DEV_NET_CFG_MTU] = NLA_POLICY_MIN(NLA_U16, 68),
	[VDPA_ATTR_DEV_NEGOTIATED_FEATURES] = { .type = NLA_U64 },
	[VDPA_ATTR_DEV_MGMTDEV_MAX_VQS] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_SUPPORTED_FEATURES] = { .type = NLA_U64 },
	[VDPA_ATTR_DEV_QUEUE_INDEX] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_VENDOR_ATTR_NAME] = { .type = NLA_NUL_STRING },
	[VDPA_ATTR_DEV_VENDOR_ATTR_VALUE] = { .type = NLA_U64 },
	[VDPA_ATTR_DEV_FEATURES] = { .type = NLA_U64 },
	[VDPA_ATTR_DEV_BLK_CFG_CAPACITY] = { .type = NLA_U64 },
	[VDPA_ATTR_DEV_BLK_CFG_SIZE_MAX] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_BLK_SIZE] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_SEG_MAX] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_NUM_QUEUES] = { .type = NLA_U16 },
	[VDPA_ATTR_DEV_BLK_CFG_PHY_BLK_EXP] = { .type = NLA_U8 },
	[VDPA_ATTR_DEV_BLK_CFG_ALIGN_OFFSET] = { .type = NLA_U8 },
	[VDPA_ATTR_DEV_BLK_CFG_MIN_IO_SIZE] = { .type = NLA_U16 },
	[VDPA_ATTR_DEV_BLK_CFG_OPT_IO_SIZE] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEC] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_MAX_DISCARD_SEG] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_DISCARD_SEC_ALIGN] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEC] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_CFG_MAX_WRITE_ZEROES_SEG] = { .type = NLA_U32 },
	[VDPA_ATTR_DEV_BLK_READ_ONLY] = { .type = NLA_U8 },
	[VDPA_ATTR_DEV_BLK_FLUSH] = { .type = NLA_U8 },
};

/*
 * No op sets GENL_DONT_VALIDATE_*: requests are validated strictly
 * against the family policy, old commands included.
 */
static const struct genl_small_ops vdpa_nl_ops[] = {
	{
		.cmd = VDPA_CMD_MGMTDEV_GET,
		.doit = vdpa_nl_cmd_mgmtdev_get_doit,
		.dumpit = vdpa_nl_cmd_mgmtdev_get_dumpit,
	},
	{
		.cmd = VDPA_CMD_DEV_NEW,
		.doit = vdpa_nl_cmd_dev_new_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VDPA_CMD_DEV_DEL,
		.doit = vdpa_nl_cmd_dev_del_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VDPA_CMD_DEV_GET,
		.doit = vdpa_nl_cmd_dev_get_doit,
		.dumpit = vdpa_nl_cmd_dev_get_dumpit,
	},
	{
		.cmd = VDPA_CMD_DEV_CONFIG_GET,
		.doit = vdpa_nl_cmd_dev_config_get_doit,
		.dumpit = vdpa_nl_cmd_dev_config_get_dumpit,
	},
	{
		.cmd = VDPA_CMD_DEV_VSTATS_GET,
		.doit = vdpa_nl_cmd_dev_vstats_get_doit,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VDPA_CMD_DEV_ATTR_SET,
		.doit = vdpa_nl_cmd_dev_attr_set_doit,
		.flags = GENL_ADMIN_PERM,
	},
};

/*
 * maxattr is VDPA_ATTR_MAX as upstream, so CTRL_ATTR_MAXATTR reports the
 * same value (37); the entry at VDPA_ATTR_MAX itself is empty and rejected
 * by strict validation.
 */
static struct genl_family vdpa_nl_family __ro_after_init = {
	.name = VDPA_GENL_NAME,
	.version = VDPA_GENL_VERSION,
	.maxattr = VDPA_ATTR_MAX,
	.policy = vdpa_nl_policy,
	.netnsok = false,
	/* Handlers lock for themselves: see the top of the file. */
	.parallel_ops = true,
	.module = THIS_MODULE,
	.small_ops = vdpa_nl_ops,
	.n_small_ops = ARRAY_SIZE(vdpa_nl_ops),
	/* Header checks for commands newer than VSTATS_GET, as upstream. */
	.resv_start_op = VDPA_CMD_DEV_VSTATS_GET + 1,
};

int vdpa_netlink_register(void)
{
	return genl_register_family(&vdpa_nl_family);
}

void vdpa_netlink_unregister(void)
{
	/* After this no ack can still point at a kept message. */
	genl_unregister_family(&vdpa_nl_family);
	vdpa_nl_free_msgs();
}
