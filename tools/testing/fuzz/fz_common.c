// SPDX-License-Identifier: GPL-2.0
/*
 * Shared pieces of the vDPA fuzzer and abuse helpers; see fz_common.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vdpa.h>

#include "fz_common.h"

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void fz_rng_seed(struct fz_rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t fz_rand(struct fz_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

uint64_t fz_below(struct fz_rng *r, uint64_t n)
{
	return n ? fz_rand(r) % n : 0;
}

bool fz_chance(struct fz_rng *r, unsigned int pct)
{
	return fz_below(r, 100) < pct;
}

bool fz_run_opt(int c, const char *arg, struct fz_run_opts *o)
{
	switch (c) {
	case 's':
		o->seed = strtoull(arg, NULL, 0);
		return true;
	case 'n':
		o->nops = strtoull(arg, NULL, 0);
		return true;
	case 'T':
		o->deadline_ms = strtoull(arg, NULL, 0) * 1000;
		return true;
	}
	return false;
}

uint64_t fz_boundary64(struct fz_rng *r)
{
	static const uint64_t fixed[] = {
		0, 1, 2, 3, 7, 8, 0xff, 0x100, 0xfff, 0x1000, 0x1001,
		0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
		0xfffffffffffff000ULL, 0xfffffffffffffffeULL,
		0xffffffffffffffffULL, 0x00007ffffffff000ULL,
		0xffff800000000000ULL,
	};
	uint64_t v;

	switch (fz_below(r, 4)) {
	case 0:
		return fixed[fz_below(r, ARRAY_SIZE(fixed))];
	case 1:
		v = 1ULL << fz_below(r, 64);
		return v + fz_below(r, 3) - 1;
	case 2:
		return ~0ULL - fz_below(r, 0x2000);
	default:
		return fz_below(r, 0x20);
	}
}

uint32_t fz_boundary32(struct fz_rng *r)
{
	static const uint32_t fixed[] = {
		0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000,
		0x8001, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
	};

	if (fz_chance(r, 50))
		return fixed[fz_below(r, ARRAY_SIZE(fixed))];
	return (uint32_t)fz_boundary64(r);
}

uint64_t fz_any64(struct fz_rng *r)
{
	return fz_chance(r, 60) ? fz_boundary64(r) : fz_rand(r);
}

/* ---- netlink ---- */

#define FZ_NL_BUF	16384
#define NLA_ALIGNED(len)	(((len) + 3U) & ~3U)

static int nl_put_attr(char *buf, size_t cap, size_t *off, uint16_t type,
		       const void *data, uint16_t len)
{
	struct nlattr *a;
	size_t need = NLA_HDRLEN + NLA_ALIGNED(len);

	if (*off + need > cap || NLA_HDRLEN + len > 0xffff)
		return -E2BIG;
	a = (struct nlattr *)(buf + *off);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy(buf + *off + NLA_HDRLEN, data, len);
	memset(buf + *off + NLA_HDRLEN + len, 0, NLA_ALIGNED(len) - len);
	*off += need;
	return 0;
}

static int nl_send(struct fz_nl *nl, uint16_t type, uint8_t cmd,
		   uint16_t flags, const void *body, size_t len)
{
	char buf[FZ_NL_BUF];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = NLMSG_DATA(h);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	size_t total = NLMSG_LENGTH(GENL_HDRLEN) + len;

	if (total > sizeof(buf))
		return -E2BIG;
	memset(buf, 0, NLMSG_LENGTH(GENL_HDRLEN));
	h->nlmsg_len = total;
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++nl->seq;
	g->cmd = cmd;
	g->version = 1;
	if (len)
		memcpy(buf + NLMSG_LENGTH(GENL_HDRLEN), body, len);
	if (sendto(nl->fd, buf, total, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	return 0;
}

static void nl_parse_extack(struct fz_nl *nl, struct nlmsghdr *h)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off, end;

	nl->ext_msg[0] = 0;
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = NLMSG_HDRLEN + sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	end = h->nlmsg_len;
	while (off + NLA_HDRLEN <= end) {
		struct nlattr *a = (struct nlattr *)((char *)h + off);

		if (a->nla_len < NLA_HDRLEN || off + a->nla_len > end)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			size_t n = a->nla_len - NLA_HDRLEN;

			if (n >= sizeof(nl->ext_msg))
				n = sizeof(nl->ext_msg) - 1;
			memcpy(nl->ext_msg, (char *)a + NLA_HDRLEN, n);
			nl->ext_msg[n] = 0;
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

/*
 * Read until the request @seq ends (error/ack, or DONE for a dump).  The
 * family id of a CTRL reply is stored in nl->family when @want_family.
 */
static int nl_wait(struct fz_nl *nl, bool want_family, unsigned int *nreplies)
{
	static __thread char buf[65536];
	uint32_t seq = nl->seq;

	if (nreplies)
		*nreplies = 0;
	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;	/* EAGAIN: timed out */
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				nl_parse_extack(nl, h);
				return e->error;
			}
			if (nreplies)
				(*nreplies)++;
			if (want_family) {
				struct genlmsghdr *g = NLMSG_DATA(h);
				char *p = (char *)g + GENL_HDRLEN;
				char *end = (char *)h + h->nlmsg_len;

				while (p + NLA_HDRLEN <= end) {
					struct nlattr *a = (struct nlattr *)p;

					if (a->nla_len < NLA_HDRLEN)
						break;
					if (a->nla_type == CTRL_ATTR_FAMILY_ID)
						memcpy(&nl->family,
						       p + NLA_HDRLEN, 2);
					p += NLA_ALIGN(a->nla_len);
				}
			}
		}
	}
}

int fz_nl_open(struct fz_nl *nl)
{
	struct timeval tv = { .tv_sec = 10 };
	char body[64];
	size_t off = 0;
	int one = 1, r;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

	nl_put_attr(body, sizeof(body), &off, CTRL_ATTR_FAMILY_NAME,
		    VDPA_GENL_NAME, sizeof(VDPA_GENL_NAME));
	r = nl_send(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK, body, off);
	if (!r)
		r = nl_wait(nl, true, NULL);
	if (!r && !nl->family)
		r = -ENOENT;
	if (r) {
		close(nl->fd);
		nl->fd = -1;
	}
	return r;
}

void fz_nl_close(struct fz_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

int fz_nl_send(struct fz_nl *nl, uint8_t cmd, bool dump,
	       const struct fz_nla *attrs, unsigned int n)
{
	char body[FZ_NL_BUF - 64];
	size_t off = 0;
	unsigned int i;
	int r;

	for (i = 0; i < n; i++) {
		r = nl_put_attr(body, sizeof(body), &off, attrs[i].type,
				attrs[i].data, attrs[i].len);
		if (r)
			return r;
	}
	return nl_send(nl, nl->family, cmd, dump ? NLM_F_DUMP : NLM_F_ACK,
		       body, off);
}

int fz_nl_wait(struct fz_nl *nl, unsigned int *nreplies)
{
	return nl_wait(nl, false, nreplies);
}

int fz_nl_request(struct fz_nl *nl, uint8_t cmd, bool dump,
		  const struct fz_nla *attrs, unsigned int n,
		  unsigned int *nreplies)
{
	int r = fz_nl_send(nl, cmd, dump, attrs, n);

	return r ? r : nl_wait(nl, false, nreplies);
}

int fz_nl_request_raw(struct fz_nl *nl, uint8_t cmd, uint16_t flags,
		      const void *body, size_t len)
{
	int r = nl_send(nl, nl->family, cmd, flags | NLM_F_ACK, body, len);

	return r ? r : nl_wait(nl, false, NULL);
}

int fz_dev_add(struct fz_nl *nl, const char *name, const char *mgmt)
{
	struct fz_nla a[] = {
		{ VDPA_ATTR_MGMTDEV_DEV_NAME, strlen(mgmt) + 1, mgmt },
		{ VDPA_ATTR_DEV_NAME, strlen(name) + 1, name },
	};

	return fz_nl_request(nl, VDPA_CMD_DEV_NEW, false, a, 2, NULL);
}

int fz_dev_del(struct fz_nl *nl, const char *name)
{
	struct fz_nla a = { VDPA_ATTR_DEV_NAME, strlen(name) + 1, name };

	return fz_nl_request(nl, VDPA_CMD_DEV_DEL, false, &a, 1, NULL);
}

/* ---- files ---- */

int fz_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* ---- vhost-vdpa ---- */

size_t fz_iotlb_msg(void *buf, int v2, uint32_t msg_type, uint32_t asid,
		    uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
		    uint8_t perm)
{
	union {
		struct vhost_msg m1;
		struct vhost_msg_v2 m2;
	} u;
	struct vhost_iotlb_msg *m;
	size_t len;

	memset(&u, 0, sizeof(u));
	if (v2) {
		u.m2.type = msg_type;
		u.m2.asid = asid;
		m = &u.m2.iotlb;
		len = sizeof(u.m2);
	} else {
		u.m1.type = (int)msg_type;
		m = &u.m1.iotlb;
		len = sizeof(u.m1);
	}
	m->iova = iova;
	m->size = size;
	m->uaddr = uaddr;
	m->perm = perm;
	m->type = type;
	memcpy(buf, &u, len);
	return len;
}

ssize_t fz_iotlb(int fd, int v2, uint32_t asid, uint8_t type, uint64_t iova,
		 uint64_t size, uint64_t uaddr, uint8_t perm)
{
	uint8_t buf[sizeof(struct vhost_msg) > sizeof(struct vhost_msg_v2) ?
		    sizeof(struct vhost_msg) : sizeof(struct vhost_msg_v2)];
	size_t len;

	len = fz_iotlb_msg(buf, v2, v2 ? VHOST_IOTLB_MSG_V2 : VHOST_IOTLB_MSG,
			   asid, type, iova, size, uaddr, perm);
	return write(fd, buf, len);
}

int fz_vhost_node(const char *name, char *path, size_t len)
{
	char dir[256];
	struct dirent *e;
	DIR *d;
	int r = -ENOENT;

	snprintf(dir, sizeof(dir), "/sys/bus/vdpa/devices/%s", name);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strncmp(e->d_name, "vhost-vdpa-", 11)) {
			snprintf(path, len, "/dev/%s", e->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

int fz_wait_node(const char *name, char *path, size_t len, int ms)
{
	uint64_t end = fz_now_ms() + ms;
	int r;

	for (;;) {
		r = fz_vhost_node(name, path, len);
		if (!r && !access(path, F_OK))
			return 0;
		if (fz_now_ms() >= end)
			return r ? r : -ENOENT;
		usleep(10000);
	}
}

/* ---- misc ---- */

long fz_vmpin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long long fz_sys_pinned(void)
{
	long long acq = 0, rel = 0, v;
	char name[64];
	FILE *f;
	int fd;

	/* best effort: without the refresh the figure is approximate */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		ssize_t n = write(fd, "1", 1);

		(void)n;
		close(fd);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &v) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			acq = v;
		else if (!strcmp(name, "nr_foll_pin_released"))
			rel = v;
	}
	fclose(f);
	return acq - rel;
}

uint64_t fz_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fz_kmsg(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int fd, n;

	n = snprintf(buf, sizeof(buf), "<6>");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* the kernel log is best effort */
	n = write(fd, buf, n);
	(void)n;
	close(fd);
}

static pthread_mutex_t fz_say_mutex = PTHREAD_MUTEX_INITIALIZER;

void fz_say_lock(void)
{
	pthread_mutex_lock(&fz_say_mutex);
}

void fz_say_unlock(void)
{
	pthread_mutex_unlock(&fz_say_mutex);
}

void fz_say(const char *fmt, ...)
{
	va_list ap;

	fz_say_lock();
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	fz_say_unlock();
}
