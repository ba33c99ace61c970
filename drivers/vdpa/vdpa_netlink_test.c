// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the vdpa core (vdpa.ko), from outside it.
 *
 * vdpa_netlink: attribute validation of the "vdpa" generic netlink family,
 * end to end.  The test opens a kernel netlink socket (given a file, so
 * that the CAP_NET_ADMIN check sees the test thread's credentials), sends
 * requests with malformed or out-of-range attributes and checks the errno
 * and the extended ack message of each answer.
 *
 * vdpa_bus: the checks __vdpa_alloc_device() makes of a parent's ops and
 * parameters, and the config and status helpers, on a fake parent.
 *
 * Needs a kernel with CONFIG_KUNIT; see the Kbuild file.
 */

#include <kunit/test.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/genetlink.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <linux/vdpa.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <uapi/linux/vdpa.h>

/* ---- a kernel generic netlink client ---- */

#define NL_BUF_SIZE	32768
#define NL_MSG_LEN	128

struct nl_ctx {
	struct socket *sock;
	struct file *file;
	u16 family;
	u32 seq;
	u8 *buf;
	char msg[NL_MSG_LEN];		/* extack text of the last answer */
};

/* Append one attribute to @buf at *@off. */
static void put_attr(u8 *buf, size_t *off, u16 type, const void *data,
		     u16 len)
{
	struct nlattr *nla = (struct nlattr *)(buf + *off);

	nla->nla_type = type;
	nla->nla_len = NLA_HDRLEN + len;
	memcpy(nla_data(nla), data, len);
	memset((u8 *)nla_data(nla) + len, 0, NLA_ALIGN(len) - len);
	*off += NLA_ALIGN(NLA_HDRLEN + len);
}

static int nl_send(struct nl_ctx *nl, u16 type, u8 cmd, u8 reserved,
		   u16 flags, const u8 *attrs, size_t attrs_len)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	size_t len = NLMSG_HDRLEN + GENL_HDRLEN + attrs_len;
	struct msghdr msg = { .msg_name = &addr,
			      .msg_namelen = sizeof(addr) };
	struct genlmsghdr *genl;
	struct nlmsghdr *nlh;
	struct kvec iov;
	int ret;

	nlh = kzalloc(NLMSG_ALIGN(len), GFP_KERNEL);
	if (!nlh)
		return -ENOMEM;
	nlh->nlmsg_len = len;
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	genl = nlmsg_data(nlh);
	genl->cmd = cmd;
	genl->version = 1;
	genl->reserved = reserved;
	memcpy((u8 *)genl + GENL_HDRLEN, attrs, attrs_len);
	iov.iov_base = nlh;
	iov.iov_len = len;
	ret = kernel_sendmsg(nl->sock, &msg, &iov, 1, len);
	kfree(nlh);
	return ret < 0 ? ret : 0;
}

/* Remember the extack text of an error or ack message. */
static void nl_ack_msg(struct nl_ctx *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = nlmsg_data(nlh);
	size_t off = sizeof(*e);
	const struct nlattr *nla;
	int rem;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	/* The echoed request may be of any length; the TLVs are aligned. */
	off = NLMSG_ALIGN(off);
	if (nlmsg_len(nlh) < off)
		return;
	nla_for_each_attr(nla, (const struct nlattr *)((const u8 *)e + off),
			  nlmsg_len(nlh) - off, rem)
		if (nla_type(nla) == NLMSGERR_ATTR_MSG)
			nla_strscpy(nl->msg, nla, sizeof(nl->msg));
}

/*
 * Read the answers to the last request up to its ack; return the ack's
 * error.  Requests to the kernel are handled while they are sent, so the
 * answer is queued already: never block.  With @family_id, pick the id
 * out of a CTRL_CMD_NEWFAMILY answer.
 */
static int nl_recv(struct nl_ctx *nl, u16 *family_id)
{
	struct msghdr msg = {};
	struct nlmsghdr *nlh;
	struct kvec iov;
	int len, rem;

	nl->msg[0] = '\0';
	for (;;) {
		iov.iov_base = nl->buf;
		iov.iov_len = NL_BUF_SIZE;
		len = kernel_recvmsg(nl->sock, &msg, &iov, 1, NL_BUF_SIZE,
				     MSG_DONTWAIT);
		if (len < 0)
			return len;
		for (nlh = (struct nlmsghdr *)nl->buf, rem = len;
		     nlmsg_ok(nlh, rem); nlh = nlmsg_next(nlh, &rem)) {
			if (nlh->nlmsg_seq != nl->seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				nl_ack_msg(nl, nlh);
				return ((struct nlmsgerr *)nlmsg_data(nlh))->error;
			}
			/* A dump ends with DONE, without an ack. */
			if (nlh->nlmsg_type == NLMSG_DONE)
				return nlmsg_len(nlh) >= sizeof(int) ?
				       *(int *)nlmsg_data(nlh) : 0;
			if (family_id && nlh->nlmsg_type == GENL_ID_CTRL) {
				const struct nlattr *nla;
				int arem;

				nla_for_each_attr(nla, genlmsg_data(nlmsg_data(nlh)),
						  genlmsg_len(nlmsg_data(nlh)),
						  arem)
					if (nla_type(nla) == CTRL_ATTR_FAMILY_ID)
						*family_id = nla_get_u16(nla);
			}
		}
	}
}

static int nl_open(struct kunit *test, struct nl_ctx *nl)
{
	u8 attrs[64];
	size_t off = 0;
	int one = 1;
	int ret;

	nl->buf = kunit_kzalloc(test, NL_BUF_SIZE, GFP_KERNEL);
	if (!nl->buf)
		return -ENOMEM;
	ret = sock_create_kern(&init_net, AF_NETLINK, SOCK_RAW,
			       NETLINK_GENERIC, &nl->sock);
	if (ret)
		return ret;
	/* On failure the socket is released with it. */
	nl->file = sock_alloc_file(nl->sock, 0, NULL);
	if (IS_ERR(nl->file)) {
		ret = PTR_ERR(nl->file);
		nl->file = NULL;
		nl->sock = NULL;
		return ret;
	}
	ret = nl->sock->ops->setsockopt(nl->sock, SOL_NETLINK, NETLINK_EXT_ACK,
					KERNEL_SOCKPTR(&one), sizeof(one));
	if (ret)
		return ret;

	put_attr(attrs, &off, CTRL_ATTR_FAMILY_NAME, VDPA_GENL_NAME,
		 sizeof(VDPA_GENL_NAME));
	ret = nl_send(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, 0, attrs, off);
	if (ret)
		return ret;
	ret = nl_recv(nl, &nl->family);
	if (!ret && !nl->family)
		ret = -ENOENT;
	return ret;
}

static int nl_init(struct kunit *test)
{
	struct nl_ctx *nl;
	int ret;

	nl = kunit_kzalloc(test, sizeof(*nl), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, nl);
	test->priv = nl;
	ret = nl_open(test, nl);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "no vdpa genl family (%d)", ret);
	return 0;
}

static void nl_exit(struct kunit *test)
{
	struct nl_ctx *nl = test->priv;

	if (nl && nl->file)
		fput(nl->file);
}

/* ---- the cases ---- */

struct attr_spec {
	u16 type;
	u16 len;
	const char *data;
};

#define MAX_ATTRS	4

struct nl_case {
	const char *name;
	u8 cmd;
	u8 reserved;
	u16 flags;
	struct attr_spec attrs[MAX_ATTRS];
	bool trailing;		/* three stray bytes after the attributes */
	int err;
	const char *msg;	/* substring of the extack text, or NULL */
};

#define NODEV	{ VDPA_ATTR_DEV_NAME, 16, "kunit-no-such-d" }
#define NAME63	"kunit-name-of-63-bytes........................................."
#define NAME64	NAME63 "x"

static const struct nl_case nl_cases[] = {
	/* policy validation, before any handler */
	{ "baseline: unknown device", VDPA_CMD_DEV_GET, 0, 0, { NODEV },
	  false, -ENODEV, "device not found" },
	{ "attribute type 0", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { 0, 4, "\0\0\0\0" } }, false, -EINVAL,
	  "Unknown attribute type" },
	{ "type VDPA_ATTR_MAX: no policy", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_MAX, 4, "\0\0\0\0" } }, false, -EINVAL,
	  "Unsupported attribute" },
	{ "type VDPA_ATTR_MAX + 1", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_MAX + 1, 4, "\0\0\0\0" } }, false, -EINVAL,
	  "Unknown attribute type" },
	{ "u32 of 2 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_ID, 2, "\1\0" } }, false, -EINVAL,
	  "invalid attribute length" },
	{ "u16 of 4 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_NET_CFG_MTU, 4, "\xdc\5\0\0" } }, false,
	  -EINVAL, "invalid attribute length" },
	{ "u64 of 4 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_FEATURES, 4, "\0\0\0\0" } }, false,
	  -EINVAL, "invalid attribute length" },
	{ "u8 of 2 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_BLK_READ_ONLY, 2, "\1\0" } }, false,
	  -EINVAL, "invalid attribute length" },
	{ "MTU 67", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_NET_CFG_MTU, 2, "\x43\0" } }, false,
	  -ERANGE, "integer out of range" },
	{ "MTU 68", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_NET_CFG_MTU, 2, "\x44\0" } }, false,
	  -ENODEV, NULL },
	{ "MTU 65535", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_NET_CFG_MTU, 2, "\xff\xff" } }, false,
	  -ENODEV, NULL },
	{ "MAC of 5 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_NET_CFG_MACADDR, 5, "\2\0\0\0\0" } },
	  false, -ERANGE, "out of range" },
	{ "MAC of 7 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_NET_CFG_MACADDR, 7, "\2\0\0\0\0\1\0" } },
	  false, -ERANGE, "out of range" },
	{ "MAC of 6 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_NET_CFG_MACADDR, 6, "\2\0\0\0\0\1" } },
	  false, -ENODEV, NULL },
	{ "name of 63 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 64, NAME63 } }, false, -ENODEV, NULL },
	{ "name of 64 bytes", VDPA_CMD_DEV_GET, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 65, NAME64 } }, false, -ERANGE,
	  "failed policy validation" },
	{ "empty string attribute", VDPA_CMD_DEV_GET, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 0, "" } }, false, -ERANGE,
	  "failed policy validation" },
	{ "bus name without NUL", VDPA_CMD_MGMTDEV_GET, 0, 0,
	  { { VDPA_ATTR_MGMTDEV_BUS_NAME, 3, "pci" },
	    { VDPA_ATTR_MGMTDEV_DEV_NAME, 5, "none" } }, false, -EINVAL,
	  "failed policy validation" },
	{ "NLA_F_NESTED on a u32", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV, { VDPA_ATTR_DEV_ID | NLA_F_NESTED, 4, "\1\0\0\0" } },
	  false, -EINVAL, "NLA_F_NESTED not expected" },
	{ "bytes after the last attribute", VDPA_CMD_DEV_GET, 0, 0,
	  { NODEV }, true, -EINVAL, "leftover" },
	/* the handlers' own checks */
	{ "DEV_NEW without a name", VDPA_CMD_DEV_NEW, 0, 0,
	  { { VDPA_ATTR_MGMTDEV_DEV_NAME, 5, "none" } }, false, -EINVAL,
	  NULL },
	{ "DEV_NEW name with '/'", VDPA_CMD_DEV_NEW, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 4, "a/b" },
	    { VDPA_ATTR_MGMTDEV_DEV_NAME, 5, "none" } }, false, -EINVAL,
	  "must not contain '/'" },
	{ "DEV_NEW empty name", VDPA_CMD_DEV_NEW, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 1, "" },
	    { VDPA_ATTR_MGMTDEV_DEV_NAME, 5, "none" } }, false, -EINVAL,
	  "non-empty" },
	{ "DEV_NEW name with a NUL inside", VDPA_CMD_DEV_NEW, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 4, "a\0b" },
	    { VDPA_ATTR_MGMTDEV_DEV_NAME, 5, "none" } }, false, -EINVAL,
	  "non-empty" },
	{ "DEV_NEW without a management device", VDPA_CMD_DEV_NEW, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 9, "kunit-nd" } }, false, -EINVAL,
	  "management device" },
	{ "DEV_NEW on an unknown management device", VDPA_CMD_DEV_NEW, 0, 0,
	  { { VDPA_ATTR_DEV_NAME, 9, "kunit-nd" },
	    { VDPA_ATTR_MGMTDEV_DEV_NAME, 11, "kunit-none" } }, false,
	  -ENODEV, "management device" },
	{ "DEV_DEL without a name", VDPA_CMD_DEV_DEL, 0, 0, { }, false,
	  -EINVAL, NULL },
	{ "DEV_DEL of an unknown device", VDPA_CMD_DEV_DEL, 0, 0, { NODEV },
	  false, -ENODEV, "device not found" },
	{ "DEV_GET without a name", VDPA_CMD_DEV_GET, 0, 0, { }, false,
	  -EINVAL, NULL },
	{ "MGMTDEV_GET without a name", VDPA_CMD_MGMTDEV_GET, 0, 0, { },
	  false, -EINVAL, NULL },
	{ "MGMTDEV_GET of an unknown one", VDPA_CMD_MGMTDEV_GET, 0, 0,
	  { { VDPA_ATTR_MGMTDEV_DEV_NAME, 11, "kunit-none" } }, false,
	  -ENODEV, NULL },
	/* the generic netlink header */
	{ "unknown command", 100, 0, 0, { NODEV }, false, -EOPNOTSUPP, NULL },
	{ "ATTR_SET with a reserved byte", VDPA_CMD_DEV_ATTR_SET, 1, 0,
	  { NODEV }, false, -EINVAL, "reserved" },
	{ "ATTR_SET with NLM_F_REPLACE", VDPA_CMD_DEV_ATTR_SET, 0,
	  NLM_F_REPLACE, { NODEV }, false, -EINVAL, "reserved bits" },
	{ "DEV_GET (older) ignores the reserved byte", VDPA_CMD_DEV_GET, 1, 0,
	  { NODEV }, false, -ENODEV, NULL },
};

static void nl_case_desc(const struct nl_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(nl, nl_cases, nl_case_desc);

static void attr_validation_test(struct kunit *test)
{
	const struct nl_case *c = test->param_value;
	struct nl_ctx *nl = test->priv;
	size_t off = 0;
	unsigned int i;
	u8 *attrs;

	attrs = kunit_kzalloc(test, 512, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, attrs);
	for (i = 0; i < MAX_ATTRS && c->attrs[i].data; i++)
		put_attr(attrs, &off, c->attrs[i].type, c->attrs[i].data,
			 c->attrs[i].len);
	if (c->trailing) {
		memset(attrs + off, 0x11, 3);
		off += 3;
	}
	KUNIT_ASSERT_EQ(test, nl_send(nl, nl->family, c->cmd, c->reserved,
				      c->flags, attrs, off), 0);
	KUNIT_EXPECT_EQ(test, nl_recv(nl, NULL), c->err);
	if (c->msg)
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(nl->msg, c->msg),
					  "extack: \"%s\"", nl->msg);
}

/* A successful request is acked with 0; the management list answers. */
static void dump_test(struct kunit *test)
{
	struct nl_ctx *nl = test->priv;

	KUNIT_ASSERT_EQ(test, nl_send(nl, nl->family, VDPA_CMD_MGMTDEV_GET, 0,
				      NLM_F_DUMP, NULL, 0), 0);
	KUNIT_EXPECT_EQ(test, nl_recv(nl, NULL), 0);
	KUNIT_ASSERT_EQ(test, nl_send(nl, nl->family, VDPA_CMD_DEV_GET, 0,
				      NLM_F_DUMP, NULL, 0), 0);
	KUNIT_EXPECT_EQ(test, nl_recv(nl, NULL), 0);
}

static struct kunit_case vdpa_netlink_cases[] = {
	KUNIT_CASE_PARAM(attr_validation_test, nl_gen_params),
	KUNIT_CASE(dump_test),
	{}
};

static struct kunit_suite vdpa_netlink_suite = {
	.name = "vdpa_netlink",
	.init = nl_init,
	.exit = nl_exit,
	.test_cases = vdpa_netlink_cases,
};

/* ---- vdpa_bus: a fake parent ---- */

struct fake_parent {
	struct vdpa_device vdev;	/* first: vdpa_alloc_device() rule */
	u8 config[10];
	u8 status;
	u64 features;
	int set_features_ret, reset_ret;
	unsigned int set_features_calls, reset_calls, set_status_calls;
	unsigned int bad_config_reads;
};

static struct fake_parent *to_fake(struct vdpa_device *vdev)
{
	return container_of(vdev, struct fake_parent, vdev);
}

static int fp_set_vq_address(struct vdpa_device *v, u16 i, u64 d, u64 a,
			     u64 u)
{
	return 0;
}

static void fp_set_vq_num(struct vdpa_device *v, u16 i, u32 n)
{
}

static void fp_kick_vq(struct vdpa_device *v, u16 i)
{
}

static void fp_set_vq_cb(struct vdpa_device *v, u16 i,
			 struct vdpa_callback *cb)
{
}

static void fp_set_vq_ready(struct vdpa_device *v, u16 i, bool r)
{
}

static bool fp_get_vq_ready(struct vdpa_device *v, u16 i)
{
	return false;
}

static int fp_set_vq_state(struct vdpa_device *v, u16 i,
			   const struct vdpa_vq_state *s)
{
	return 0;
}

static u32 fp_get_vq_align(struct vdpa_device *v)
{
	return PAGE_SIZE;
}

static u16 fp_get_vq_num_max(struct vdpa_device *v)
{
	return 256;
}

static u64 fp_get_device_features(struct vdpa_device *v)
{
	return BIT_ULL(32);
}

static int fp_set_driver_features(struct vdpa_device *v, u64 features)
{
	struct fake_parent *fp = to_fake(v);

	fp->set_features_calls++;
	if (!fp->set_features_ret)
		fp->features = features;
	return fp->set_features_ret;
}

static u64 fp_get_driver_features(struct vdpa_device *v)
{
	return to_fake(v)->features;
}

static void fp_set_config_cb(struct vdpa_device *v, struct vdpa_callback *cb)
{
}

static u32 fp_get_device_id(struct vdpa_device *v)
{
	return 1;
}

static u32 fp_get_vendor_id(struct vdpa_device *v)
{
	return 0;
}

static u8 fp_get_status(struct vdpa_device *v)
{
	return to_fake(v)->status;
}

static void fp_set_status(struct vdpa_device *v, u8 status)
{
	to_fake(v)->set_status_calls++;
	to_fake(v)->status = status;
}

static int fp_reset(struct vdpa_device *v)
{
	struct fake_parent *fp = to_fake(v);

	fp->reset_calls++;
	fp->status = 0;
	fp->features = 0;
	return fp->reset_ret;
}

static size_t fp_get_config_size(struct vdpa_device *v)
{
	return sizeof(to_fake(v)->config);
}

static void fp_get_config(struct vdpa_device *v, unsigned int off, void *buf,
			  unsigned int len)
{
	struct fake_parent *fp = to_fake(v);

	/* The core must never ask for bytes past the config space. */
	if (off > sizeof(fp->config) || len > sizeof(fp->config) - off) {
		fp->bad_config_reads++;
		return;
	}
	memcpy(buf, fp->config + off, len);
}

static void fp_set_config(struct vdpa_device *v, unsigned int off,
			  const void *buf, unsigned int len)
{
}

static int fp_dma_map(struct vdpa_device *v, unsigned int asid, u64 iova,
		      u64 size, u64 pa, u32 perm, void *opaque)
{
	return 0;
}

static int fp_dma_unmap(struct vdpa_device *v, unsigned int asid, u64 iova,
			u64 size)
{
	return 0;
}

static int fp_set_map(struct vdpa_device *v, unsigned int asid,
		      struct vhost_iotlb *iotlb)
{
	return 0;
}

static int fp_bind_mm(struct vdpa_device *v, struct mm_struct *mm)
{
	return 0;
}

static void fp_unbind_mm(struct vdpa_device *v)
{
}

static const struct vdpa_config_ops fp_ops = {
	.set_vq_address = fp_set_vq_address,
	.set_vq_num = fp_set_vq_num,
	.kick_vq = fp_kick_vq,
	.set_vq_cb = fp_set_vq_cb,
	.set_vq_ready = fp_set_vq_ready,
	.get_vq_ready = fp_get_vq_ready,
	.set_vq_state = fp_set_vq_state,
	.get_vq_align = fp_get_vq_align,
	.get_vq_num_max = fp_get_vq_num_max,
	.get_device_features = fp_get_device_features,
	.set_driver_features = fp_set_driver_features,
	.get_driver_features = fp_get_driver_features,
	.set_config_cb = fp_set_config_cb,
	.get_device_id = fp_get_device_id,
	.get_vendor_id = fp_get_vendor_id,
	.get_status = fp_get_status,
	.set_status = fp_set_status,
	.reset = fp_reset,
	.get_config_size = fp_get_config_size,
	.get_config = fp_get_config,
	.set_config = fp_set_config,
};

struct alloc_case {
	const char *name;
	void (*tweak)(struct vdpa_config_ops *ops,
		      struct vdpa_alloc_params *p, size_t *size);
	int err;
	const char *dev_name;	/* expected on success; NULL: "vdpa%u" */
};

static void tw_none(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		    size_t *size)
{
}

static void tw_no_ops(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		      size_t *size)
{
	p->ops = NULL;
}

static void tw_small(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		     size_t *size)
{
	*size = sizeof(struct vdpa_device) - 1;
}

static void tw_no_set_status(struct vdpa_config_ops *o,
			     struct vdpa_alloc_params *p, size_t *size)
{
	o->set_status = NULL;
}

static void tw_no_get_config(struct vdpa_config_ops *o,
			     struct vdpa_alloc_params *p, size_t *size)
{
	o->get_config = NULL;
}

static void tw_no_kick(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		       size_t *size)
{
	o->kick_vq = NULL;
}

static void tw_map_only(struct vdpa_config_ops *o,
			struct vdpa_alloc_params *p, size_t *size)
{
	o->dma_map = fp_dma_map;
}

static void tw_unmap_only(struct vdpa_config_ops *o,
			  struct vdpa_alloc_params *p, size_t *size)
{
	o->dma_unmap = fp_dma_unmap;
}

static void tw_map_pair(struct vdpa_config_ops *o,
			struct vdpa_alloc_params *p, size_t *size)
{
	o->dma_map = fp_dma_map;
	o->dma_unmap = fp_dma_unmap;
}

static void tw_bind_only(struct vdpa_config_ops *o,
			 struct vdpa_alloc_params *p, size_t *size)
{
	o->bind_mm = fp_bind_mm;
}

static void tw_unbind_only(struct vdpa_config_ops *o,
			   struct vdpa_alloc_params *p, size_t *size)
{
	o->unbind_mm = fp_unbind_mm;
}

static void tw_va_alone(struct vdpa_config_ops *o,
			struct vdpa_alloc_params *p, size_t *size)
{
	p->use_va = true;
}

static void tw_va_set_map(struct vdpa_config_ops *o,
			  struct vdpa_alloc_params *p, size_t *size)
{
	p->use_va = true;
	o->set_map = fp_set_map;
}

static int fp_set_map_add(struct vdpa_device *v, unsigned int asid, u64 iova,
			  u64 size, u64 pa, u32 perm)
{
	return 0;
}

static int fp_set_map_remove(struct vdpa_device *v, unsigned int asid,
			     u64 iova, u64 size)
{
	return 0;
}

static void tw_set_map_delta(struct vdpa_config_ops *o,
			     struct vdpa_alloc_params *p, size_t *size)
{
	o->set_map = fp_set_map;
	o->set_map_add = fp_set_map_add;
	o->set_map_remove = fp_set_map_remove;
}

static void tw_set_map_add_only(struct vdpa_config_ops *o,
				struct vdpa_alloc_params *p, size_t *size)
{
	tw_set_map_delta(o, p, size);
	o->set_map_remove = NULL;
}

static void tw_set_map_remove_only(struct vdpa_config_ops *o,
				   struct vdpa_alloc_params *p, size_t *size)
{
	tw_set_map_delta(o, p, size);
	o->set_map_add = NULL;
}

static void tw_delta_without_set_map(struct vdpa_config_ops *o,
				     struct vdpa_alloc_params *p, size_t *size)
{
	tw_set_map_delta(o, p, size);
	o->set_map = NULL;
}

static void tw_va_dma_map(struct vdpa_config_ops *o,
			  struct vdpa_alloc_params *p, size_t *size)
{
	p->use_va = true;
	tw_map_pair(o, p, size);
}

static void tw_no_groups(struct vdpa_config_ops *o,
			 struct vdpa_alloc_params *p, size_t *size)
{
	p->ngroups = 0;
}

static void tw_no_as(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		     size_t *size)
{
	p->nas = 0;
}

static void tw_empty_name(struct vdpa_config_ops *o,
			  struct vdpa_alloc_params *p, size_t *size)
{
	p->name = "";
}

static void tw_slash_name(struct vdpa_config_ops *o,
			  struct vdpa_alloc_params *p, size_t *size)
{
	p->name = "a/b";
}

static void tw_name63(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		      size_t *size)
{
	p->name = NAME63;
}

static void tw_name64(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		      size_t *size)
{
	p->name = NAME64;
}

static void tw_no_name(struct vdpa_config_ops *o, struct vdpa_alloc_params *p,
		       size_t *size)
{
	p->name = NULL;
}

static const struct alloc_case alloc_cases[] = {
	{ "complete ops", tw_none, 0, "kunit-fake" },
	{ "no ops", tw_no_ops, -EINVAL, NULL },
	{ "structure too small", tw_small, -EINVAL, NULL },
	{ "no set_status", tw_no_set_status, -EINVAL, NULL },
	{ "no get_config", tw_no_get_config, -EINVAL, NULL },
	{ "no kick_vq", tw_no_kick, -EINVAL, NULL },
	{ "dma_map without dma_unmap", tw_map_only, -EINVAL, NULL },
	{ "dma_unmap without dma_map", tw_unmap_only, -EINVAL, NULL },
	{ "dma_map and dma_unmap", tw_map_pair, 0, "kunit-fake" },
	{ "bind_mm without unbind_mm", tw_bind_only, -EINVAL, NULL },
	{ "unbind_mm without bind_mm", tw_unbind_only, -EINVAL, NULL },
	{ "use_va without translation", tw_va_alone, -EINVAL, NULL },
	{ "use_va with set_map", tw_va_set_map, 0, "kunit-fake" },
	{ "use_va with dma_map", tw_va_dma_map, 0, "kunit-fake" },
	{ "set_map with set_map_add and _remove", tw_set_map_delta, 0,
	  "kunit-fake" },
	{ "set_map_add without set_map_remove", tw_set_map_add_only, -EINVAL,
	  NULL },
	{ "set_map_remove without set_map_add", tw_set_map_remove_only,
	  -EINVAL, NULL },
	{ "set_map_add and _remove without set_map", tw_delta_without_set_map,
	  -EINVAL, NULL },
	{ "no groups", tw_no_groups, -EINVAL, NULL },
	{ "no address spaces", tw_no_as, -EINVAL, NULL },
	{ "empty name", tw_empty_name, -EINVAL, NULL },
	{ "name with '/'", tw_slash_name, -EINVAL, NULL },
	{ "name of 63 bytes", tw_name63, 0, NAME63 },
	{ "name of 64 bytes", tw_name64, -EINVAL, NULL },
	{ "no name", tw_no_name, 0, NULL },
};

static void alloc_desc(const struct alloc_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(alloc, alloc_cases, alloc_desc);

static void alloc_test(struct kunit *test)
{
	const struct alloc_case *c = test->param_value;
	struct vdpa_alloc_params params = {
		.ngroups = 1, .nas = 1, .name = "kunit-fake",
	};
	size_t size = sizeof(struct fake_parent);
	struct vdpa_config_ops *ops;
	struct vdpa_device *vdev;
	char expect[64];

	ops = kunit_kmalloc(test, sizeof(*ops), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ops);
	*ops = fp_ops;
	params.ops = ops;
	c->tweak(ops, &params, &size);

	vdev = __vdpa_alloc_device(size, &params);
	if (c->err) {
		KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(vdev), c->err);
		return;
	}
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(vdev), "error %ld",
			       PTR_ERR(vdev));
	if (c->dev_name)
		strscpy(expect, c->dev_name, sizeof(expect));
	else
		snprintf(expect, sizeof(expect), "vdpa%u", vdev->index);
	KUNIT_EXPECT_STREQ(test, dev_name(&vdev->dev), expect);
	KUNIT_EXPECT_EQ(test, vdev->nas, 1U);
	KUNIT_EXPECT_EQ(test, vdev->use_va, params.use_va);
	KUNIT_EXPECT_FALSE(test, vdev->features_valid);
	put_device(&vdev->dev);
}

static int bus_init(struct kunit *test)
{
	struct vdpa_alloc_params params = {
		.ops = &fp_ops, .ngroups = 1, .nas = 1, .name = "kunit-fake",
	};
	struct fake_parent *fp;
	struct vdpa_device *vdev;
	unsigned int i;

	vdev = __vdpa_alloc_device(sizeof(*fp), &params);
	KUNIT_ASSERT_FALSE(test, IS_ERR(vdev));
	fp = to_fake(vdev);
	for (i = 0; i < sizeof(fp->config); i++)
		fp->config[i] = 0xa0 + i;
	test->priv = fp;
	return 0;
}

static void bus_exit(struct kunit *test)
{
	struct fake_parent *fp = test->priv;

	if (fp)
		put_device(&fp->vdev.dev);
}

static void config_clamp_test(struct kunit *test)
{
	static const struct {
		unsigned int off, len, copied;
	} reads[] = {
		{ 0, 10, 10 }, { 0, 16, 10 }, { 6, 8, 4 }, { 9, 1, 1 },
		{ 10, 4, 0 }, { 11, 4, 0 }, { UINT_MAX, 8, 0 }, { 4, 0, 0 },
	};
	struct fake_parent *fp = test->priv;
	unsigned int i, j;
	u8 buf[16];

	KUNIT_ASSERT_EQ(test, vdpa_set_features(&fp->vdev, BIT_ULL(32)), 0);
	for (i = 0; i < ARRAY_SIZE(reads); i++) {
		memset(buf, 0xee, sizeof(buf));
		vdpa_get_config(&fp->vdev, reads[i].off, buf, reads[i].len);
		for (j = 0; j < reads[i].copied; j++)
			KUNIT_EXPECT_EQ_MSG(test, buf[j], 0xa0 + reads[i].off + j,
					    "read %u byte %u", i, j);
		for (; j < reads[i].len; j++)
			KUNIT_EXPECT_EQ_MSG(test, buf[j], 0, "read %u byte %u",
					    i, j);
		for (; j < sizeof(buf); j++)
			KUNIT_EXPECT_EQ_MSG(test, buf[j], 0xee,
					    "read %u byte %u", i, j);
	}
	KUNIT_EXPECT_EQ(test, fp->bad_config_reads, 0U);
}

/* A config read before features were set is a legacy driver's: features 0. */
static void legacy_read_test(struct kunit *test)
{
	struct fake_parent *fp = test->priv;
	u8 buf[4];

	fp->set_features_ret = -EINVAL;
	vdpa_get_config(&fp->vdev, 0, buf, sizeof(buf));
	KUNIT_EXPECT_EQ(test, fp->set_features_calls, 1U);
	KUNIT_EXPECT_FALSE(test, fp->vdev.features_valid);
	/* Refused: the next read tries again. */
	vdpa_get_config(&fp->vdev, 0, buf, sizeof(buf));
	KUNIT_EXPECT_EQ(test, fp->set_features_calls, 2U);

	fp->set_features_ret = 0;
	vdpa_get_config(&fp->vdev, 0, buf, sizeof(buf));
	KUNIT_EXPECT_EQ(test, fp->set_features_calls, 3U);
	KUNIT_EXPECT_TRUE(test, fp->vdev.features_valid);
	KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(&fp->vdev), 0ULL);
	vdpa_get_config(&fp->vdev, 0, buf, sizeof(buf));
	KUNIT_EXPECT_EQ(test, fp->set_features_calls, 3U);
	KUNIT_EXPECT_EQ(test, buf[0], 0xa0);
}

static void status_reset_test(struct kunit *test)
{
	struct fake_parent *fp = test->priv;
	struct vdpa_device *vdev = &fp->vdev;

	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, BIT_ULL(32)), 0);
	KUNIT_EXPECT_TRUE(test, vdev->features_valid);
	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, 0x0f), 0);
	KUNIT_EXPECT_EQ(test, vdpa_get_status(vdev), 0x0f);
	KUNIT_EXPECT_EQ(test, fp->set_status_calls, 1U);
	KUNIT_EXPECT_EQ(test, fp->reset_calls, 0U);
	/* 0 is a reset, not a status write, and features go. */
	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, 0), 0);
	KUNIT_EXPECT_EQ(test, fp->set_status_calls, 1U);
	KUNIT_EXPECT_EQ(test, fp->reset_calls, 1U);
	KUNIT_EXPECT_FALSE(test, vdev->features_valid);
	KUNIT_EXPECT_EQ(test, vdpa_get_status(vdev), 0);
	/* A failing reset is reported, and features still go. */
	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, BIT_ULL(32)), 0);
	fp->reset_ret = -EIO;
	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, 0), -EIO);
	KUNIT_EXPECT_FALSE(test, vdev->features_valid);
	KUNIT_EXPECT_EQ(test, vdpa_reset(vdev), -EIO);
	KUNIT_EXPECT_EQ(test, fp->reset_calls, 3U);
	/* A refused feature write leaves features_valid as it was. */
	fp->reset_ret = 0;
	fp->set_features_ret = -EINVAL;
	KUNIT_EXPECT_EQ(test, vdpa_set_features(vdev, BIT_ULL(33)), -EINVAL);
	KUNIT_EXPECT_FALSE(test, vdev->features_valid);
}

static struct kunit_case vdpa_alloc_cases[] = {
	KUNIT_CASE_PARAM(alloc_test, alloc_gen_params),
	{}
};

static struct kunit_suite vdpa_alloc_suite = {
	.name = "vdpa_alloc",
	.test_cases = vdpa_alloc_cases,
};

static struct kunit_case vdpa_bus_cases[] = {
	KUNIT_CASE(config_clamp_test),
	KUNIT_CASE(legacy_read_test),
	KUNIT_CASE(status_reset_test),
	{}
};

static struct kunit_suite vdpa_bus_suite = {
	.name = "vdpa_bus",
	.init = bus_init,
	.exit = bus_exit,
	.test_cases = vdpa_bus_cases,
};

kunit_test_suites(&vdpa_netlink_suite, &vdpa_alloc_suite, &vdpa_bus_suite);

MODULE_DESCRIPTION("KUnit tests of the vdpa core: netlink validation, bus");
MODULE_LICENSE("GPL");
