// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-conformance: check every ioctl and IOTLB rule of /dev/vhost-vdpa-N
 * against the documented ABI (Documentation: ABI.md section 2), with the
 * values of the net simulator (vdpasim_net).  One line per check:
 *   ok NAME
 *   FAIL NAME: expected X got Y
 * and a summary; the exit status is non-zero if any check failed.
 *
 * The device must be idle (nobody holds it open).  Run as root.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vdpa_user.h"

/* What the net simulator reports (ABI.md 5.2). */
#define SIM_DEVICE_ID		1
#define SIM_FEATURES		0x308830028ULL
/*
 * ... and vhost-vdpa's VHOST_F_LOG_ALL (bit 26) when its dirty_log
 * parameter is on: the simulator logs.
 */
#define SIM_VHOST_FEATURES	(SIM_FEATURES | (1ULL << 26))
#define DIRTY_LOG_PARAM		"/sys/module/vhost_vdpa/parameters/dirty_log"
#define SIM_NVQS		3
#define SIM_NGROUPS		2
#define SIM_NAS			2
#define SIM_CONFIG_SIZE		24
#define SIM_VQ_NUM_MAX		256
#define MSG_LEN			VDPA_IOTLB_MSG_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define BASE_FEATURES		(VDPA_BIT(VIRTIO_F_VERSION_1) | \
				 VDPA_BIT(VIRTIO_F_ACCESS_PLATFORM))
#define BACKEND_STD		(VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) | \
				 VDPA_BIT(VHOST_BACKEND_F_IOTLB_BATCH) | \
				 VDPA_BIT(VHOST_BACKEND_F_IOTLB_ASID))

/* Fixture: what a check needs before it runs, on a fresh open. */
#define S_FEAT		0x01	/* SET_FEATURES(VERSION_1 | ACCESS_PLATFORM) */
#define S_OWNER		0x02	/* SET_OWNER */
#define S_BACKEND	0x04	/* SET_BACKEND_FEATURES(V2 | BATCH | ASID) */
#define S_FEAT_OK	0x08	/* ACK, DRIVER, features, FEATURES_OK */
#define S_STATUS1	0x10	/* status ACKNOWLEDGE */

static const char *dev_path = "/dev/vhost-vdpa-0";
static unsigned int n_ok, n_fail;
static long page_size;
static uint64_t backend_offered;

/* ---- reporting ---- */

static const char *errname(int e)
{
	static char buf[32];
	const char *n;

	if (!e)
		return "success";
	if (e == VDPA_ENOTSUPP)
		return "ENOTSUPP(524)";
	n = strerrorname_np(e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static void pass(const char *name)
{
	n_ok++;
	printf("ok %s\n", name);
}

static void failf(const char *name, const char *fmt, ...)
{
	va_list ap;

	n_fail++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ret: 0 or -errno; want: 0 or a positive errno. */
static bool expect_err(const char *name, int ret, int want)
{
	if (-ret == want) {
		pass(name);
		return true;
	}
	failf(name, "expected %s got %s", errname(want), errname(-ret));
	return false;
}

/* A byte count or -errno against a byte count or -errno. */
static bool expect_ret(const char *name, long ret, long want)
{
	char a[40], b[40];

	if (ret == want) {
		pass(name);
		return true;
	}
	if (want < 0)
		snprintf(a, sizeof(a), "%s", errname(-want));
	else
		snprintf(a, sizeof(a), "%ld", want);
	if (ret < 0)
		snprintf(b, sizeof(b), "%s", errname(-ret));
	else
		snprintf(b, sizeof(b), "%ld", ret);
	failf(name, "expected %s got %s", a, b);
	return false;
}

static bool expect_val(const char *name, int ret, uint64_t got, uint64_t want)
{
	if (ret) {
		failf(name, "expected 0x%llx got %s", (unsigned long long)want,
		      errname(-ret));
		return false;
	}
	if (got != want) {
		failf(name, "expected 0x%llx got 0x%llx",
		      (unsigned long long)want, (unsigned long long)got);
		return false;
	}
	pass(name);
	return true;
}

static bool expect_true(const char *name, bool cond, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		pass(name);
		return true;
	}
	n_fail++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return false;
}

/* ---- helpers ---- */

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static int ioctl_val(int fd, unsigned long req, unsigned long arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static int set_status(int fd, uint8_t s)
{
	return xioctl(fd, VHOST_VDPA_SET_STATUS, &s);
}

static uint8_t get_status(int fd)
{
	uint8_t s = 0xee;

	xioctl(fd, VHOST_VDPA_GET_STATUS, &s);
	return s;
}

static int set_u64(int fd, unsigned long req, uint64_t v)
{
	return xioctl(fd, req, &v);
}

static int vring_state(int fd, unsigned long req, uint32_t idx, uint32_t num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return xioctl(fd, req, &s);
}

static int vring_file(int fd, unsigned long req, uint32_t idx, int efd)
{
	struct vhost_vring_file f = { .index = idx, .fd = efd };

	return xioctl(fd, req, &f);
}

static int open_dev(void)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Open with a fixture; on failure report it under name and return -1. */
static int dev_setup(const char *name, unsigned int setup)
{
	uint64_t f = BASE_FEATURES;
	int fd, ret = 0;

	fd = open_dev();
	if (fd < 0) {
		failf(name, "setup: open %s: %s", dev_path, errname(-fd));
		return -1;
	}
	if (setup & S_OWNER)
		ret = xioctl(fd, VHOST_SET_OWNER, NULL);
	if (!ret && (setup & S_BACKEND))
		ret = set_u64(fd, VHOST_SET_BACKEND_FEATURES,
			      BACKEND_STD & backend_offered);
	if (!ret && (setup & (S_STATUS1 | S_FEAT_OK)))
		ret = set_status(fd, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (!ret && (setup & S_FEAT_OK))
		ret = set_status(fd, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER);
	if (!ret && (setup & (S_FEAT | S_FEAT_OK)))
		ret = xioctl(fd, VHOST_SET_FEATURES, &f);
	if (!ret && (setup & S_FEAT_OK)) {
		ret = set_status(fd, VIRTIO_CONFIG_S_ACKNOWLEDGE |
				 VIRTIO_CONFIG_S_DRIVER |
				 VIRTIO_CONFIG_S_FEATURES_OK);
		if (!ret && !(get_status(fd) & VIRTIO_CONFIG_S_FEATURES_OK))
			ret = -EPROTO;
	}
	if (ret) {
		failf(name, "setup 0x%x: %s", setup, errname(-ret));
		close(fd);
		return -1;
	}
	return fd;
}

static ssize_t iotlb(int fd, int ver, uint32_t asid, uint8_t type,
		     uint64_t iova, uint64_t size, const void *uaddr,
		     uint8_t perm)
{
	return vdpa_iotlb_msg(fd, ver, asid, type, iova, size,
			      (uintptr_t)uaddr, perm);
}

static ssize_t update(int fd, uint32_t asid, uint64_t iova, uint64_t size,
		      const void *uaddr)
{
	return iotlb(fd, VHOST_IOTLB_MSG_V2, asid, VHOST_IOTLB_UPDATE, iova,
		     size, uaddr, VHOST_ACCESS_RW);
}

static ssize_t invalidate(int fd, uint32_t asid, uint64_t iova, uint64_t size)
{
	return iotlb(fd, VHOST_IOTLB_MSG_V2, asid, VHOST_IOTLB_INVALIDATE, iova,
		     size, NULL, 0);
}

static long wr(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	madvise(p, len, MADV_DONTFORK);
	return p;
}

/* Run fn(fd) in a forked child; returns the child's result (0 or -errno). */
static int in_child(int fd, int (*fn)(int fd))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(-fn(fd) & 0xff);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

/* ---- table-driven ioctl checks ---- */

enum arg_kind {
	A_NULL,		/* NULL pointer */
	A_VALUE,	/* the integer v[0] itself (for _IO commands) */
	A_STATE,	/* vhost_vring_state {index, v[0]} */
	A_FILE,		/* vhost_vring_file {index, fd of kind v[0]} */
	A_ADDR,		/* vhost_vring_addr: index, flags v[0], desc v[1], */
			/* avail v[2], used v[3], log v[4] */
	A_U64,		/* u64 v[0] */
	A_INT,		/* int fd of kind v[0] */
	A_CONFIG,	/* vhost_vdpa_config {off v[0], len v[1]} */
	A_MEM,		/* vhost_memory {nregions v[0], padding v[1]} */
	A_INDEX,	/* a zeroed buffer starting with index */
};

enum fd_kind { FD_EVENT, FD_UNBIND, FD_BAD, FD_PIPE };

struct ioctl_case {
	const char *name;
	unsigned int setup;
	unsigned long req;
	enum arg_kind arg;
	uint32_t index;
	uint64_t v[5];
	int want;	/* 0 or errno */
};

#define VHOST_UNKNOWN	_IOW(VHOST_VIRTIO, 0x99, struct vhost_vring_state)

static const struct ioctl_case ioctl_cases[] = {
	/* owner rules (2.2) */
	{ "unowned SET_VRING_NUM -> EPERM", 0, VHOST_SET_VRING_NUM,
	  A_STATE, 0, { 64 }, EPERM },
	{ "unowned SET_VRING_ADDR -> EPERM", 0, VHOST_SET_VRING_ADDR,
	  A_ADDR, 0, { 0, 0x1000, 0x2000, 0x3000 }, EPERM },
	{ "unowned SET_VRING_ENABLE -> EPERM", 0,
	  VHOST_VDPA_SET_VRING_ENABLE, A_STATE, 0, { 1 }, EPERM },
	{ "unowned GET_VRING_GROUP -> EPERM", 0,
	  VHOST_VDPA_GET_VRING_GROUP, A_STATE, 0, { 0 }, EPERM },
	{ "unowned SET_GROUP_ASID -> EPERM", 0, VHOST_VDPA_SET_GROUP_ASID,
	  A_STATE, 0, { 0 }, EPERM },
	{ "unowned GET_VRING_BASE -> EPERM", 0, VHOST_GET_VRING_BASE,
	  A_STATE, 0, { 0 }, EPERM },
	{ "unowned SET_VRING_KICK -> EPERM", 0, VHOST_SET_VRING_KICK,
	  A_FILE, 0, { FD_EVENT }, EPERM },
	{ "unowned SET_MEM_TABLE -> EPERM", 0, VHOST_SET_MEM_TABLE, A_MEM,
	  0, { 0 }, EPERM },
	{ "unowned unknown ioctl -> EPERM", 0, VHOST_UNKNOWN, A_INDEX, 0,
	  { 0 }, EPERM },
	{ "unowned RESET_OWNER -> EPERM", 0, VHOST_RESET_OWNER, A_NULL, 0,
	  { 0 }, EPERM },
	{ "owner RESET_OWNER -> EFAULT", S_OWNER, VHOST_RESET_OWNER, A_NULL,
	  0, { 0 }, EFAULT },
	{ "second SET_OWNER -> EBUSY", S_OWNER, VHOST_SET_OWNER, A_NULL, 0,
	  { 0 }, EBUSY },

	/* what works without an owner */
	{ "unowned SET_FEATURES", 0, VHOST_SET_FEATURES, A_U64, 0,
	  { BASE_FEATURES }, 0 },
	{ "unowned SET_STATUS", 0, VHOST_VDPA_SET_STATUS, A_VALUE, 0,
	  { 0 }, 0 },
	{ "unowned SET_CONFIG_CALL eventfd", 0, VHOST_VDPA_SET_CONFIG_CALL,
	  A_INT, 0, { FD_EVENT }, 0 },
	{ "unowned SUSPEND (not DRIVER_OK)", 0, VHOST_VDPA_SUSPEND, A_NULL, 0,
	  { 0 }, 0 },

	/* unknown and unhandled commands (2.3) */
	{ "unknown ioctl -> ENOTTY", S_OWNER, VHOST_UNKNOWN, A_INDEX, 0,
	  { 0 }, ENOTTY },
	{ "unknown ioctl, index 3 -> ENOBUFS", S_OWNER, VHOST_UNKNOWN,
	  A_INDEX, 3, { 0 }, ENOBUFS },
	{ "unknown ioctl, NULL arg -> EFAULT", S_OWNER, VHOST_UNKNOWN, A_NULL,
	  0, { 0 }, EFAULT },
	{ "NET_SET_BACKEND -> ENOTTY", S_OWNER, VHOST_NET_SET_BACKEND,
	  A_FILE, 0, { FD_UNBIND }, ENOTTY },
	{ "foreign magic ioctl -> ENOTTY", S_OWNER, _IO('T', 0x01), A_INDEX,
	  0, { 0 }, ENOTTY },
	{ "SET_LOG_BASE -> ENOTTY", S_OWNER, VHOST_SET_LOG_BASE, A_U64, 0,
	  { 0 }, ENOTTY },
	{ "unowned SET_LOG_BASE -> ENOTTY", 0, VHOST_SET_LOG_BASE, A_U64, 0,
	  { 0 }, ENOTTY },
	{ "SET_LOG_FD -> ENOTTY", S_OWNER, VHOST_SET_LOG_FD, A_INT, 0,
	  { FD_EVENT }, ENOTTY },
	{ "SET_VRING_ENDIAN -> ENOTTY", S_OWNER, VHOST_SET_VRING_ENDIAN,
	  A_STATE, 0, { 0 }, ENOTTY },
	{ "GET_VRING_ENDIAN -> ENOTTY", S_OWNER, VHOST_GET_VRING_ENDIAN,
	  A_STATE, 0, { 0 }, ENOTTY },

	/* index rules */
	{ "SET_VRING_NUM index 3 -> ENOBUFS", S_OWNER, VHOST_SET_VRING_NUM,
	  A_STATE, 3, { 64 }, ENOBUFS },
	{ "SET_VRING_NUM index ~0 -> ENOBUFS", S_OWNER, VHOST_SET_VRING_NUM,
	  A_STATE, 0xffffffff, { 64 }, ENOBUFS },
	{ "SET_VRING_NUM NULL -> EFAULT", S_OWNER, VHOST_SET_VRING_NUM,
	  A_NULL, 0, { 0 }, EFAULT },
	{ "SET_VRING_ENABLE index 3 -> ENOBUFS", S_OWNER,
	  VHOST_VDPA_SET_VRING_ENABLE, A_STATE, 3, { 1 }, ENOBUFS },
	{ "GET_VRING_GROUP index 3 -> ENOBUFS", S_OWNER,
	  VHOST_VDPA_GET_VRING_GROUP, A_STATE, 3, { 0 }, ENOBUFS },
	{ "GET_VRING_BASE index 3 -> ENOBUFS", S_OWNER, VHOST_GET_VRING_BASE,
	  A_STATE, 3, { 0 }, ENOBUFS },
	{ "SET_VRING_CALL index 3 -> ENOBUFS", S_OWNER, VHOST_SET_VRING_CALL,
	  A_FILE, 3, { FD_EVENT }, ENOBUFS },

	/* SET_VRING_NUM */
	{ "SET_VRING_NUM 0 -> EINVAL", S_OWNER, VHOST_SET_VRING_NUM, A_STATE,
	  0, { 0 }, EINVAL },
	{ "SET_VRING_NUM 3 -> EINVAL", S_OWNER, VHOST_SET_VRING_NUM, A_STATE,
	  0, { 3 }, EINVAL },
	{ "SET_VRING_NUM 257 -> EINVAL", S_OWNER, VHOST_SET_VRING_NUM,
	  A_STATE, 0, { SIM_VQ_NUM_MAX + 1 }, EINVAL },
	{ "SET_VRING_NUM 0x10000 -> EINVAL", S_OWNER, VHOST_SET_VRING_NUM,
	  A_STATE, 0, { 0x10000 }, EINVAL },
	{ "SET_VRING_NUM 1", S_OWNER, VHOST_SET_VRING_NUM, A_STATE, 0,
	  { 1 }, 0 },
	{ "SET_VRING_NUM 256", S_OWNER, VHOST_SET_VRING_NUM, A_STATE, 2,
	  { 256 }, 0 },
	{ "SET_VRING_NUM 1024 (above max, not checked)", S_OWNER,
	  VHOST_SET_VRING_NUM, A_STATE, 0, { 1024 }, 0 },

	/* SET_VRING_ADDR */
	{ "SET_VRING_ADDR", S_OWNER, VHOST_SET_VRING_ADDR, A_ADDR, 0,
	  { 0, 0x1000, 0x2000, 0x3000 }, 0 },
	{ "SET_VRING_ADDR flags 0x2 -> EOPNOTSUPP", S_OWNER,
	  VHOST_SET_VRING_ADDR, A_ADDR, 0, { 2, 0x1000, 0x2000, 0x3000 },
	  EOPNOTSUPP },
	{ "SET_VRING_ADDR avail odd -> EINVAL", S_OWNER, VHOST_SET_VRING_ADDR,
	  A_ADDR, 0, { 0, 0x1000, 0x2001, 0x3000 }, EINVAL },
	{ "SET_VRING_ADDR used 2-aligned -> EINVAL", S_OWNER,
	  VHOST_SET_VRING_ADDR, A_ADDR, 0, { 0, 0x1000, 0x2000, 0x3002 },
	  EINVAL },
	{ "SET_VRING_ADDR log 2-aligned -> EINVAL", S_OWNER,
	  VHOST_SET_VRING_ADDR, A_ADDR, 0, { 0, 0x1000, 0x2000, 0x3000, 2 },
	  EINVAL },
	{ "SET_VRING_ADDR index 3 -> ENOBUFS", S_OWNER, VHOST_SET_VRING_ADDR,
	  A_ADDR, 3, { 0, 0x1000, 0x2000, 0x3000 }, ENOBUFS },

	/* SET_VRING_BASE */
	{ "SET_VRING_BASE 0xffff", S_OWNER, VHOST_SET_VRING_BASE, A_STATE, 0,
	  { 0xffff }, 0 },
	{ "SET_VRING_BASE 0x10000 -> EINVAL", S_OWNER, VHOST_SET_VRING_BASE,
	  A_STATE, 0, { 0x10000 }, EINVAL },

	/* eventfds */
	{ "SET_VRING_KICK eventfd", S_OWNER, VHOST_SET_VRING_KICK, A_FILE, 0,
	  { FD_EVENT }, 0 },
	{ "SET_VRING_KICK -1", S_OWNER, VHOST_SET_VRING_KICK, A_FILE, 0,
	  { FD_UNBIND }, 0 },
	{ "SET_VRING_KICK bad fd -> EBADF", S_OWNER, VHOST_SET_VRING_KICK,
	  A_FILE, 0, { FD_BAD }, EBADF },
	{ "SET_VRING_KICK pipe -> EINVAL", S_OWNER, VHOST_SET_VRING_KICK,
	  A_FILE, 0, { FD_PIPE }, EINVAL },
	{ "SET_VRING_CALL eventfd", S_OWNER, VHOST_SET_VRING_CALL, A_FILE, 1,
	  { FD_EVENT }, 0 },
	{ "SET_VRING_CALL -1", S_OWNER, VHOST_SET_VRING_CALL, A_FILE, 1,
	  { FD_UNBIND }, 0 },
	{ "SET_VRING_CALL bad fd -> EBADF", S_OWNER, VHOST_SET_VRING_CALL,
	  A_FILE, 0, { FD_BAD }, EBADF },
	{ "SET_VRING_CALL pipe -> EINVAL", S_OWNER, VHOST_SET_VRING_CALL,
	  A_FILE, 0, { FD_PIPE }, EINVAL },
	{ "SET_VRING_ERR eventfd", S_OWNER, VHOST_SET_VRING_ERR, A_FILE, 2,
	  { FD_EVENT }, 0 },
	{ "SET_CONFIG_CALL -1", 0, VHOST_VDPA_SET_CONFIG_CALL, A_INT, 0,
	  { FD_UNBIND }, 0 },
	{ "SET_CONFIG_CALL bad fd -> EBADF", 0, VHOST_VDPA_SET_CONFIG_CALL,
	  A_INT, 0, { FD_BAD }, EBADF },
	{ "SET_CONFIG_CALL pipe -> EINVAL", 0, VHOST_VDPA_SET_CONFIG_CALL,
	  A_INT, 0, { FD_PIPE }, EINVAL },
	{ "SET_VRING_BUSYLOOP_TIMEOUT", S_OWNER,
	  VHOST_SET_VRING_BUSYLOOP_TIMEOUT, A_STATE, 0, { 100 }, 0 },

	/* groups and address spaces */
	{ "SET_VRING_ENABLE before DRIVER_OK", S_OWNER,
	  VHOST_VDPA_SET_VRING_ENABLE, A_STATE, 0, { 1 }, 0 },
	{ "SET_GROUP_ASID group 3 -> ENOBUFS", S_OWNER,
	  VHOST_VDPA_SET_GROUP_ASID, A_STATE, 3, { 0 }, ENOBUFS },
	{ "SET_GROUP_ASID group 2 (>= ngroups) -> EINVAL", S_OWNER,
	  VHOST_VDPA_SET_GROUP_ASID, A_STATE, 2, { 0 }, EINVAL },
	{ "SET_GROUP_ASID asid 2 (>= nas) -> EINVAL", S_OWNER,
	  VHOST_VDPA_SET_GROUP_ASID, A_STATE, 0, { 2 }, EINVAL },
	{ "SET_GROUP_ASID asid ~0 -> EINVAL", S_OWNER,
	  VHOST_VDPA_SET_GROUP_ASID, A_STATE, 1, { 0xffffffff }, EINVAL },
	{ "SET_GROUP_ASID group 1 asid 1", S_OWNER,
	  VHOST_VDPA_SET_GROUP_ASID, A_STATE, 1, { 1 }, 0 },
	{ "SET_GROUP_ASID group 0 asid 0", S_OWNER,
	  VHOST_VDPA_SET_GROUP_ASID, A_STATE, 0, { 0 }, 0 },

	/* features */
	{ "SET_FEATURES without ACCESS_PLATFORM -> EINVAL", 0,
	  VHOST_SET_FEATURES, A_U64, 0, { VDPA_BIT(VIRTIO_F_VERSION_1) },
	  EINVAL },
	{ "SET_FEATURES after FEATURES_OK -> EBUSY", S_FEAT_OK,
	  VHOST_SET_FEATURES, A_U64, 0, { BASE_FEATURES }, EBUSY },
	{ "SET_FEATURES NULL -> EFAULT", 0, VHOST_SET_FEATURES, A_NULL, 0,
	  { 0 }, EFAULT },
	{ "SET_BACKEND_FEATURES bit 0 -> EOPNOTSUPP", 0,
	  VHOST_SET_BACKEND_FEATURES, A_U64, 0, { VDPA_BIT(0) }, EOPNOTSUPP },
	{ "SET_BACKEND_FEATURES bit 9 -> EOPNOTSUPP", 0,
	  VHOST_SET_BACKEND_FEATURES, A_U64, 0, { VDPA_BIT(9) }, EOPNOTSUPP },
	{ "SET_BACKEND_FEATURES bit 63 -> EOPNOTSUPP", 0,
	  VHOST_SET_BACKEND_FEATURES, A_U64, 0, { VDPA_BIT(63) },
	  EOPNOTSUPP },
	{ "SET_BACKEND_FEATURES NULL -> EFAULT", 0,
	  VHOST_SET_BACKEND_FEATURES, A_NULL, 0, { 0 }, EFAULT },
	{ "SET_BACKEND_FEATURES 0", 0, VHOST_SET_BACKEND_FEATURES, A_U64, 0,
	  { 0 }, 0 },
	{ "SET_BACKEND_FEATURES after FEATURES_OK", S_FEAT_OK,
	  VHOST_SET_BACKEND_FEATURES, A_U64, 0, { BACKEND_STD }, 0 },

	/* config space bounds (24 bytes) */
	{ "GET_CONFIG 0+24", 0, VHOST_VDPA_GET_CONFIG, A_CONFIG, 0,
	  { 0, 24 }, 0 },
	{ "GET_CONFIG 20+4", 0, VHOST_VDPA_GET_CONFIG, A_CONFIG, 0,
	  { 20, 4 }, 0 },
	{ "GET_CONFIG len 0 -> EINVAL", 0, VHOST_VDPA_GET_CONFIG, A_CONFIG, 0,
	  { 0, 0 }, EINVAL },
	{ "GET_CONFIG 0+25 -> EINVAL", 0, VHOST_VDPA_GET_CONFIG, A_CONFIG, 0,
	  { 0, 25 }, EINVAL },
	{ "GET_CONFIG 24+1 -> EINVAL", 0, VHOST_VDPA_GET_CONFIG, A_CONFIG, 0,
	  { 24, 1 }, EINVAL },
	{ "GET_CONFIG 25+1 -> EINVAL", 0, VHOST_VDPA_GET_CONFIG, A_CONFIG, 0,
	  { 25, 1 }, EINVAL },
	{ "GET_CONFIG 1+~0 -> EINVAL", 0, VHOST_VDPA_GET_CONFIG, A_CONFIG, 0,
	  { 1, 0xffffffff }, EINVAL },
	{ "SET_CONFIG len 0 -> EINVAL", 0, VHOST_VDPA_SET_CONFIG, A_CONFIG, 0,
	  { 0, 0 }, EINVAL },
	{ "SET_CONFIG 0+25 -> EINVAL", 0, VHOST_VDPA_SET_CONFIG, A_CONFIG, 0,
	  { 0, 25 }, EINVAL },
	{ "SET_CONFIG 30+1 -> EINVAL", 0, VHOST_VDPA_SET_CONFIG, A_CONFIG, 0,
	  { 30, 1 }, EINVAL },
	{ "SET_CONFIG 22+4 -> EINVAL", 0, VHOST_VDPA_SET_CONFIG, A_CONFIG, 0,
	  { 22, 4 }, EINVAL },

	/* SET_MEM_TABLE: stored, no effect */
	{ "SET_MEM_TABLE 0 regions", S_OWNER, VHOST_SET_MEM_TABLE, A_MEM, 0,
	  { 0 }, 0 },
	{ "SET_MEM_TABLE 1 region", S_OWNER, VHOST_SET_MEM_TABLE, A_MEM, 0,
	  { 1 }, 0 },
	{ "SET_MEM_TABLE 64 regions", S_OWNER, VHOST_SET_MEM_TABLE, A_MEM, 0,
	  { 64 }, 0 },
	{ "SET_MEM_TABLE padding -> EOPNOTSUPP", S_OWNER, VHOST_SET_MEM_TABLE,
	  A_MEM, 0, { 1, 1 }, EOPNOTSUPP },
	{ "SET_MEM_TABLE 65 regions -> E2BIG", S_OWNER, VHOST_SET_MEM_TABLE,
	  A_MEM, 0, { 65 }, E2BIG },
	{ "SET_MEM_TABLE NULL -> EFAULT", S_OWNER, VHOST_SET_MEM_TABLE,
	  A_NULL, 0, { 0 }, EFAULT },

	/* status */
	{ "SET_STATUS 0 (reset)", S_FEAT_OK, VHOST_VDPA_SET_STATUS, A_VALUE,
	  0, { 0 }, 0 },
	{ "SET_STATUS clearing a bit -> EINVAL", S_FEAT_OK,
	  VHOST_VDPA_SET_STATUS, A_VALUE, 0,
	  { VIRTIO_CONFIG_S_ACKNOWLEDGE }, EINVAL },
};

static int make_fd(enum fd_kind k, int *tofree)
{
	int p[2];

	*tofree = -1;
	switch (k) {
	case FD_EVENT:
		*tofree = eventfd(0, EFD_CLOEXEC);
		return *tofree;
	case FD_UNBIND:
		return -1;
	case FD_BAD:
		return 9999;
	case FD_PIPE:
		if (pipe2(p, O_CLOEXEC))
			return -1;
		close(p[1]);
		*tofree = p[0];
		return p[0];
	}
	return -1;
}

/* vhost_vdpa's dirty_log parameter: does an fd opened now offer LOG_ALL? */
static bool dirty_log_on(void)
{
	char c = 'N';
	FILE *f = fopen(DIRTY_LOG_PARAM, "r");

	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = 'N';
		fclose(f);
	}
	return c == 'Y' || c == '1';
}

/*
 * SET_LOG_BASE and SET_LOG_FD are ENOTTY on a device without dirty-page
 * logging; one that offers VHOST_F_LOG_ALL (bit 26) takes them from the
 * owner only, like every owner ioctl.
 */
static int log_case_want(int fd, const struct ioctl_case *c)
{
	uint64_t f = 0;

	if (c->req != VHOST_SET_LOG_BASE && c->req != VHOST_SET_LOG_FD)
		return c->want;
	if (ioctl(fd, VHOST_GET_FEATURES, &f) || !(f & (1ULL << 26)))
		return c->want;
	return (c->setup & S_OWNER) ? 0 : EPERM;
}

static void run_ioctl_case(const struct ioctl_case *c)
{
	union {
		struct vhost_vring_state state;
		struct vhost_vring_file file;
		struct vhost_vring_addr addr;
		uint64_t u64;
		int fd;
		uint8_t raw[64];
	} a;
	struct vhost_vdpa_config *cfg = NULL;
	struct vhost_memory *mem = NULL;
	int fd, tofree = -1, ret;
	void *arg = &a;
	unsigned int i;

	fd = dev_setup(c->name, c->setup);
	if (fd < 0)
		return;
	memset(&a, 0, sizeof(a));
	switch (c->arg) {
	case A_NULL:
		arg = NULL;
		break;
	case A_VALUE:
		/* SET_STATUS takes a pointer to u8; the rest are _IO */
		a.raw[0] = c->v[0];
		break;
	case A_STATE:
		a.state.index = c->index;
		a.state.num = c->v[0];
		break;
	case A_FILE:
		a.file.index = c->index;
		a.file.fd = make_fd(c->v[0], &tofree);
		break;
	case A_ADDR:
		a.addr.index = c->index;
		a.addr.flags = c->v[0];
		a.addr.desc_user_addr = c->v[1];
		a.addr.avail_user_addr = c->v[2];
		a.addr.used_user_addr = c->v[3];
		a.addr.log_guest_addr = c->v[4];
		break;
	case A_U64:
		a.u64 = c->v[0];
		break;
	case A_INT:
		a.fd = make_fd(c->v[0], &tofree);
		break;
	case A_CONFIG:
		cfg = calloc(1, sizeof(*cfg) + 64);
		cfg->off = c->v[0];
		cfg->len = c->v[1];
		if (c->req == VHOST_VDPA_SET_CONFIG && c->v[1] <= 64)
			/* write back what is there (zeros past the MAC) */
			xioctl(fd, VHOST_VDPA_GET_CONFIG, cfg);
		arg = cfg;
		break;
	case A_MEM:
		mem = calloc(1, sizeof(*mem) +
			     (c->v[0] + 1) * sizeof(mem->regions[0]));
		mem->nregions = c->v[0];
		mem->padding = c->v[1];
		for (i = 0; i < c->v[0]; i++) {
			mem->regions[i].guest_phys_addr = (uint64_t)i << 30;
			mem->regions[i].memory_size = 1 << 20;
			mem->regions[i].userspace_addr = 0x10000000ULL +
							 ((uint64_t)i << 30);
		}
		arg = mem;
		break;
	case A_INDEX:
		a.state.index = c->index;
		break;
	}
	ret = xioctl(fd, c->req, arg);
	expect_err(c->name, ret, log_case_want(fd, c));
	if (tofree >= 0)
		close(tofree);
	free(cfg);
	free(mem);
	close(fd);
}

/* ---- scenario checks ---- */

static void check_open_rules(void)
{
	int fd, fd2;
	char buf[8];

	fd = open_dev();
	if (!expect_err("open O_RDWR", fd < 0 ? fd : 0, 0))
		return;
	fd2 = open_dev();
	expect_err("second open -> EBUSY", fd2 < 0 ? fd2 : 0, EBUSY);
	if (fd2 >= 0)
		close(fd2);
	expect_err("read() -> EINVAL", read(fd, buf, sizeof(buf)) < 0 ?
		   -errno : 0, EINVAL);
	close(fd);
	fd = open_dev();
	expect_err("open after close", fd < 0 ? fd : 0, 0);
	if (fd >= 0)
		close(fd);
}

static void check_queries(void)
{
	struct vhost_vdpa_iova_range r = { 1, 1 };
	uint64_t f = 0, b = 0;
	uint32_t u = 0;
	uint16_t n = 0;
	uint8_t cfg[SIM_CONFIG_SIZE];
	struct vdpa_dev d = { .fd = -1 };
	unsigned int bit;
	int fd, ret;

	fd = dev_setup("queries", 0);
	if (fd < 0)
		return;
	ret = xioctl(fd, VHOST_VDPA_GET_DEVICE_ID, &u);
	expect_val("GET_DEVICE_ID == 1 (net)", ret, u, SIM_DEVICE_ID);
	ret = xioctl(fd, VHOST_GET_FEATURES, &f);
	if (dirty_log_on())
		expect_val("GET_FEATURES == 0x30c830028 (dirty_log: LOG_ALL too)",
			   ret, f, SIM_VHOST_FEATURES);
	else
		expect_val("GET_FEATURES == 0x308830028", ret, f, SIM_FEATURES);
	ret = xioctl(fd, VHOST_GET_BACKEND_FEATURES, &b);
	printf("# GET_BACKEND_FEATURES = 0x%llx (", (unsigned long long)b);
	for (bit = 0; bit < 64; bit++)
		if (b & VDPA_BIT(bit))
			printf(" %u", bit);
	printf(" )\n");
	backend_offered = b;
	expect_true("GET_BACKEND_FEATURES has bits 1-3", !ret &&
		    (b & BACKEND_STD) == BACKEND_STD, "got 0x%llx",
		    (unsigned long long)b);
	expect_true("GET_BACKEND_FEATURES only bits 1-8", !ret &&
		    !(b & ~0x1feULL), "got 0x%llx", (unsigned long long)b);
	expect_true("GET_BACKEND_FEATURES has SUSPEND (sim suspends)", !ret &&
		    (b & VDPA_BIT(VHOST_BACKEND_F_SUSPEND)), "got 0x%llx",
		    (unsigned long long)b);
	ret = xioctl(fd, VHOST_VDPA_GET_VQS_COUNT, &u);
	expect_val("GET_VQS_COUNT == 3", ret, u, SIM_NVQS);
	ret = xioctl(fd, VHOST_VDPA_GET_GROUP_NUM, &u);
	expect_val("GET_GROUP_NUM == 2", ret, u, SIM_NGROUPS);
	ret = xioctl(fd, VHOST_VDPA_GET_AS_NUM, &u);
	expect_val("GET_AS_NUM == 2", ret, u, SIM_NAS);
	ret = xioctl(fd, VHOST_VDPA_GET_CONFIG_SIZE, &u);
	expect_val("GET_CONFIG_SIZE == 24", ret, u, SIM_CONFIG_SIZE);
	ret = xioctl(fd, VHOST_VDPA_GET_VRING_NUM, &n);
	expect_val("GET_VRING_NUM == 256", ret, n, SIM_VQ_NUM_MAX);
	ret = xioctl(fd, VHOST_VDPA_GET_IOVA_RANGE, &r);
	expect_val("GET_IOVA_RANGE first == 0", ret, r.first, 0);
	expect_val("GET_IOVA_RANGE last == U64_MAX", ret, r.last, ~0ULL);
	expect_val("GET_STATUS == 0 after open", 0, get_status(fd), 0);

	d.fd = fd;
	ret = vdpa_get_config(&d, 0, cfg, sizeof(cfg));
	expect_val("config status == LINK_UP", ret, cfg[6] | cfg[7] << 8,
		   VIRTIO_NET_S_LINK_UP);
	expect_val("config max_virtqueue_pairs == 0", ret,
		   cfg[8] | cfg[9] << 8, 0);
	expect_true("config mtu >= 68", !ret && (cfg[10] | cfg[11] << 8) >= 68,
		    "mtu %u", cfg[10] | cfg[11] << 8);
	printf("# config mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u\n", cfg[0],
	       cfg[1], cfg[2], cfg[3], cfg[4], cfg[5], cfg[10] | cfg[11] << 8);
	close(fd);
}

static void check_status_and_features(void)
{
	uint8_t mac[6], mac2[6], back[6];
	struct vdpa_dev d = { .fd = -1 };
	uint64_t f;
	int fd, ret;

	fd = dev_setup("status", 0);
	if (fd < 0)
		return;
	d.fd = fd;
	ret = set_status(fd, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	expect_val("SET_STATUS ACK reads back 1", ret, get_status(fd), 1);
	ret = set_status(fd, VIRTIO_CONFIG_S_ACKNOWLEDGE |
			 VIRTIO_CONFIG_S_DRIVER);
	expect_val("SET_STATUS ACK|DRIVER reads back 3", ret, get_status(fd),
		   3);
	f = BASE_FEATURES | VDPA_BIT(VIRTIO_NET_F_MAC);
	expect_err("SET_FEATURES VERSION_1|ACCESS_PLATFORM|MAC",
		   xioctl(fd, VHOST_SET_FEATURES, &f), 0);
	ret = set_status(fd, 0xb);
	expect_val("FEATURES_OK accepted (read back)", ret, get_status(fd),
		   0xb);
	expect_err("SET_FEATURES after FEATURES_OK -> EBUSY",
		   xioctl(fd, VHOST_SET_FEATURES, &f), EBUSY);
	expect_err("SET_STATUS 0xb -> 0x3 -> EINVAL", set_status(fd, 3),
		   EINVAL);
	ret = set_status(fd, 0);
	expect_val("SET_STATUS 0 resets", ret, get_status(fd), 0);
	expect_err("SET_FEATURES after reset",
		   xioctl(fd, VHOST_SET_FEATURES, &f), 0);

	/* SET_CONFIG of the MAC (QEMU and DPDK do this), then restore */
	ret = vdpa_get_config(&d, 0, mac, 6);
	memcpy(mac2, "\x02\x11\x22\x33\x44\x55", 6);
	if (!ret)
		ret = vdpa_set_config(&d, 0, mac2, 6);
	if (!ret)
		ret = vdpa_get_config(&d, 0, back, 6);
	expect_true("SET_CONFIG mac then GET_CONFIG", !ret &&
		    !memcmp(back, mac2, 6), "%s", errname(-ret));
	vdpa_set_config(&d, 0, mac, 6);
	close(fd);

	/* all device features before SET_OWNER (rust-vmm, QEMU) */
	fd = dev_setup("features", 0);
	if (fd < 0)
		return;
	xioctl(fd, VHOST_GET_FEATURES, &f);
	expect_err("SET_FEATURES(all offered) before SET_OWNER",
		   xioctl(fd, VHOST_SET_FEATURES, &f), 0);
	close(fd);
}

static void check_backend_features(void)
{
	uint64_t b = 0;
	int fd;

	fd = dev_setup("backend", 0);
	if (fd < 0)
		return;
	xioctl(fd, VHOST_GET_BACKEND_FEATURES, &b);
	expect_err("SET_BACKEND_FEATURES(all offered)",
		   set_u64(fd, VHOST_SET_BACKEND_FEATURES, b), 0);
	expect_err("SET_BACKEND_FEATURES repeated",
		   set_u64(fd, VHOST_SET_BACKEND_FEATURES, b & BACKEND_STD), 0);
	if (!(b & VDPA_BIT(VHOST_BACKEND_F_RESUME)))
		expect_err("SET_BACKEND_FEATURES RESUME (not offered) -> EOPNOTSUPP",
			   set_u64(fd, VHOST_SET_BACKEND_FEATURES,
				   VDPA_BIT(VHOST_BACKEND_F_RESUME)),
			   EOPNOTSUPP);
	if (!(b & VDPA_BIT(VHOST_BACKEND_F_IOTLB_PERSIST)))
		expect_err("SET_BACKEND_FEATURES IOTLB_PERSIST (not offered) -> EOPNOTSUPP",
			   set_u64(fd, VHOST_SET_BACKEND_FEATURES,
				   VDPA_BIT(VHOST_BACKEND_F_IOTLB_PERSIST)),
			   EOPNOTSUPP);
	close(fd);
}

static int child_set_num(int fd)
{
	return vring_state(fd, VHOST_SET_VRING_NUM, 0, 64);
}

static int child_iotlb(int fd)
{
	static char page[8192];
	ssize_t n = update(fd, 0, 0x200000, 4096,
			   (void *)(((uintptr_t)page + 4095) & ~4095UL));

	return n < 0 ? (int)n : 0;
}

static int child_get_features(int fd)
{
	uint64_t f;

	return xioctl(fd, VHOST_GET_FEATURES, &f);
}

static void *thread_fn(void *arg)
{
	int fd = *(int *)arg;

	return (void *)(long)vring_state(fd, VHOST_SET_VRING_NUM, 0, 64);
}

static void check_owner_rules(void)
{
	pthread_t t;
	void *res;
	int fd;

	fd = dev_setup("owner", S_OWNER);
	if (fd < 0)
		return;
	expect_err("owner SET_VRING_NUM", child_set_num(fd), 0);
	if (pthread_create(&t, NULL, thread_fn, &fd) == 0 &&
	    pthread_join(t, &res) == 0)
		expect_err("owner's thread SET_VRING_NUM", (long)res, 0);
	else
		failf("owner's thread SET_VRING_NUM", "pthread failed");
	expect_err("forked child SET_VRING_NUM -> EPERM",
		   in_child(fd, child_set_num), EPERM);
	expect_err("forked child IOTLB write -> EFAULT",
		   in_child(fd, child_iotlb), EFAULT);
	expect_err("forked child GET_FEATURES (no owner needed)",
		   in_child(fd, child_get_features), 0);
	close(fd);
}

static void check_vring_values(void)
{
	struct vhost_vring_state s;
	int fd, ret;

	fd = dev_setup("vring", S_OWNER);
	if (fd < 0)
		return;
	s = (struct vhost_vring_state){ .index = 2 };
	ret = xioctl(fd, VHOST_VDPA_GET_VRING_GROUP, &s);
	expect_val("GET_VRING_GROUP vq 2 == 1", ret, s.num, 1);
	s = (struct vhost_vring_state){ .index = 0, .num = 12345 };
	ret = xioctl(fd, VHOST_VDPA_GET_VRING_GROUP, &s);
	expect_val("GET_VRING_GROUP vq 0 == 0", ret, s.num, 0);
	s = (struct vhost_vring_state){ .index = 1 };
	ret = xioctl(fd, VHOST_VDPA_GET_VRING_GROUP, &s);
	expect_val("GET_VRING_GROUP vq 1 == 0", ret, s.num, 0);

	ret = vring_state(fd, VHOST_SET_VRING_NUM, 0, 32);
	if (!ret)
		ret = vring_state(fd, VHOST_SET_VRING_BASE, 0, 7);
	s = (struct vhost_vring_state){ .index = 0 };
	if (!ret)
		ret = xioctl(fd, VHOST_GET_VRING_BASE, &s);
	expect_val("SET_VRING_BASE 7 then GET_VRING_BASE == 7", ret, s.num, 7);

	ret = vring_state(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, 1, 77);
	s = (struct vhost_vring_state){ .index = 1 };
	if (!ret)
		ret = xioctl(fd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s);
	expect_val("GET_VRING_BUSYLOOP_TIMEOUT == 77", ret, s.num, 77);

	s = (struct vhost_vring_state){ .index = 0 };
	ret = xioctl(fd, VHOST_VDPA_GET_VRING_DESC_GROUP, &s);
	expect_err("GET_VRING_DESC_GROUP (sim has none) -> EOPNOTSUPP", ret,
		   EOPNOTSUPP);
	s = (struct vhost_vring_state){ .index = 0 };
	ret = xioctl(fd, VHOST_VDPA_GET_VRING_SIZE, &s);
	if (ret == -EOPNOTSUPP)
		pass("GET_VRING_SIZE -> EOPNOTSUPP (no get_vq_size)");
	else
		expect_val("GET_VRING_SIZE == 32", ret, s.num, 32);
	close(fd);
}

static void check_suspend_resume(void)
{
	struct vdpa_dev d;
	struct vhost_vring_state s = { .index = 0 };
	bool resume;
	int ret, fd;

	fd = dev_setup("suspend", 0);
	if (fd < 0)
		return;
	resume = backend_offered & VDPA_BIT(VHOST_BACKEND_F_RESUME);
	expect_err("SUSPEND at status 0", ioctl_val(fd, VHOST_VDPA_SUSPEND, 0),
		   0);
	expect_err(resume ? "RESUME at status 0" :
		   "RESUME (not offered) -> EOPNOTSUPP",
		   ioctl_val(fd, VHOST_VDPA_RESUME, 0), resume ? 0 : EOPNOTSUPP);
	close(fd);

	/* a running device: DRIVER_OK with rings in mapped memory */
	ret = vdpa_open(&d, dev_path);
	if (!ret)
		ret = vdpa_query(&d);
	if (!ret)
		ret = vdpa_set_owner(&d);
	if (!ret)
		ret = vdpa_set_backend_features(&d, BACKEND_STD |
			VDPA_BIT(VHOST_BACKEND_F_SUSPEND) |
			VDPA_BIT(VHOST_BACKEND_F_RESUME));
	if (!ret)
		ret = vdpa_negotiate(&d, BASE_FEATURES);
	if (!ret)
		ret = vdpa_mem_map(&d, 1 << 20, 0x100000, 0);
	if (!ret)
		ret = vdpa_vq_setup(&d, 0, 64, 256);
	if (!ret)
		ret = vdpa_vq_setup(&d, 1, 64, 256);
	if (!ret)
		ret = vdpa_vq_enable(&d, 0, true);
	if (!ret)
		ret = vdpa_vq_enable(&d, 1, true);
	if (!ret)
		ret = vdpa_driver_ok(&d);
	if (!expect_err("start a device (DRIVER_OK)", ret, 0)) {
		vdpa_close(&d);
		return;
	}
	expect_err("SET_VRING_ENABLE after DRIVER_OK",
		   vring_state(d.fd, VHOST_VDPA_SET_VRING_ENABLE, 0, 1), 0);
	expect_err("SUSPEND while DRIVER_OK",
		   ioctl_val(d.fd, VHOST_VDPA_SUSPEND, 0), 0);
	ret = xioctl(d.fd, VHOST_GET_VRING_BASE, &s);
	expect_val("GET_VRING_BASE after SUSPEND == 0", ret, s.num, 0);
	if (resume)
		expect_err("RESUME while DRIVER_OK",
			   ioctl_val(d.fd, VHOST_VDPA_RESUME, 0), 0);
	expect_err("SET_VRING_CALL swap during DRIVER_OK",
		   vring_file(d.fd, VHOST_SET_VRING_CALL, 0, d.vq[0].call_fd),
		   0);
	expect_err("reset after DRIVER_OK", vdpa_reset(&d), 0);
	s = (struct vhost_vring_state){ .index = 0, .num = 99 };
	ret = xioctl(d.fd, VHOST_GET_VRING_BASE, &s);
	expect_val("GET_VRING_BASE after reset == 0", ret, s.num, 0);
	vdpa_close(&d);

	fd = dev_setup("status after close", 0);
	if (fd >= 0) {
		expect_val("status 0 on the next open", 0, get_status(fd), 0);
		close(fd);
	}
}

/*
 * --packed, on a device that offers RING_PACKED: VHOST_SET/GET_VRING_BASE
 * carry the packed position as upstream encodes it (bits 0-14 last avail
 * index, 15 its wrap counter, 16-30 last used index, 31 its wrap counter),
 * kept by SUSPEND and RESUME, refused while running, cleared by a reset.
 */
static void check_packed_state(void)
{
	static const uint32_t values[] = {
		0x80008000, 0x00000000, 0x12345678, 0x7fff7fff, 0xffffffff,
	};
	uint64_t f = BASE_FEATURES | VDPA_BIT(VIRTIO_F_RING_PACKED);
	struct vdpa_dev d;
	unsigned int i;
	uint32_t num = 0;
	char name[80];
	int fd, ret;

	fd = dev_setup("packed", S_OWNER);
	if (fd < 0)
		return;
	ret = xioctl(fd, VHOST_SET_FEATURES, &f);
	if (!expect_err("SET_FEATURES with RING_PACKED", ret, 0)) {
		close(fd);
		return;
	}
	expect_err("SET_VRING_NUM 0 256", vring_state(fd, VHOST_SET_VRING_NUM, 0, 256), 0);
	for (i = 0; i < ARRAY_SIZE(values); i++) {
		snprintf(name, sizeof(name),
			 "packed SET_VRING_BASE 0x%08x then GET", values[i]);
		ret = vring_state(fd, VHOST_SET_VRING_BASE, 0, values[i]);
		if (!ret)
			ret = vdpa_get_vring_base(fd, 0, &num);
		expect_val(name, ret, num, values[i]);
	}
	/*
	 * The simulator's reading of an avail half alone (a used half of 0),
	 * which DPDK's virtio-user sends: the used position follows.
	 */
	ret = vring_state(fd, VHOST_SET_VRING_BASE, 0, 0x8000);
	if (!ret)
		ret = vdpa_get_vring_base(fd, 0, &num);
	expect_val("packed SET_VRING_BASE 0x8000 (avail half only) then GET",
		   ret, num, 0x80008000);
	close(fd);

	/* a running device */
	ret = vdpa_open(&d, dev_path);
	if (!ret)
		ret = vdpa_query(&d);
	if (!ret)
		ret = vdpa_set_owner(&d);
	if (!ret)
		ret = vdpa_set_backend_features(&d, BACKEND_STD |
			VDPA_BIT(VHOST_BACKEND_F_SUSPEND) |
			VDPA_BIT(VHOST_BACKEND_F_RESUME));
	if (!ret)
		ret = vdpa_negotiate(&d, f);
	if (!ret && !(d.features & VDPA_BIT(VIRTIO_F_RING_PACKED)))
		ret = -EPROTO;
	if (!ret)
		ret = vdpa_mem_map(&d, 1 << 20, 0x100000, 0);
	for (i = 0; i < 2 && !ret; i++) {
		ret = vdpa_vq_setup(&d, i, 64, 256);
		/* a fresh packed ring: both wrap counters 1 */
		if (!ret)
			ret = vring_state(d.fd, VHOST_SET_VRING_BASE, i,
					  0x80008000);
		if (!ret)
			ret = vdpa_vq_enable(&d, i, true);
	}
	if (!ret)
		ret = vdpa_driver_ok(&d);
	if (!expect_err("start a packed device (DRIVER_OK)", ret, 0)) {
		vdpa_close(&d);
		return;
	}
	ret = vdpa_get_vring_base(d.fd, 1, &num);
	expect_val("packed GET_VRING_BASE while running", ret, num, 0x80008000);
	expect_err("packed SET_VRING_BASE while running -> EINVAL",
		   vring_state(d.fd, VHOST_SET_VRING_BASE, 1, 0x80008000),
		   EINVAL);
	expect_err("SUSPEND a packed device",
		   ioctl_val(d.fd, VHOST_VDPA_SUSPEND, 0), 0);
	ret = vdpa_get_vring_base(d.fd, 1, &num);
	expect_val("packed GET_VRING_BASE after SUSPEND", ret, num, 0x80008000);
	ret = vring_state(d.fd, VHOST_SET_VRING_BASE, 1, 0x00050003);
	if (!ret)
		ret = vdpa_get_vring_base(d.fd, 1, &num);
	expect_val("packed SET_VRING_BASE while suspended, then GET", ret, num,
		   0x00050003);
	if (d.backend_features & VDPA_BIT(VHOST_BACKEND_F_RESUME)) {
		expect_err("RESUME a packed device",
			   ioctl_val(d.fd, VHOST_VDPA_RESUME, 0), 0);
		ret = vdpa_get_vring_base(d.fd, 1, &num);
		expect_val("packed GET_VRING_BASE after RESUME", ret, num,
			   0x00050003);
	}
	expect_err("reset a packed device", vdpa_reset(&d), 0);
	/* no features after the reset: the split encoding, index 0 */
	ret = vdpa_get_vring_base(d.fd, 1, &num);
	expect_val("GET_VRING_BASE after reset == 0", ret, num, 0);
	ret = xioctl(d.fd, VHOST_SET_FEATURES, &f);
	if (!ret)
		ret = vdpa_get_vring_base(d.fd, 1, &num);
	expect_val("packed GET_VRING_BASE after reset == 0x80008000", ret, num,
		   0x80008000);
	vdpa_close(&d);
}

/* mmap() of @fd: 0 (and unmapped again) or -errno. */
static int mmap_err(int fd, size_t len, int prot, int flags, off_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

static void check_mmap(void)
{
	int fd;

	fd = dev_setup("mmap", 0);
	if (fd < 0)
		return;
	expect_err("mmap 2 pages -> EINVAL",
		   mmap_err(fd, 2 * page_size, PROT_WRITE, MAP_SHARED, 0), EINVAL);
	expect_err("mmap MAP_PRIVATE -> EINVAL",
		   mmap_err(fd, page_size, PROT_WRITE, MAP_PRIVATE, 0), EINVAL);
	expect_err("mmap PROT_READ -> EINVAL",
		   mmap_err(fd, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, 0),
		   EINVAL);
	expect_err("mmap doorbell vq 0 (sim has none) -> ENOTSUPP",
		   mmap_err(fd, page_size, PROT_WRITE, MAP_SHARED, 0),
		   VDPA_ENOTSUPP);
	close(fd);
}

/* ---- IOTLB write() ---- */

static void check_iotlb_basic(void)
{
	alignas(8) uint8_t raw[256];
	uint8_t *mem = anon(16 * 4096);
	struct vhost_msg_v2 *m = (void *)raw;
	struct vhost_iotlb_msg v1;
	uint32_t hdr[2];
	long pin;
	int fd;

	fd = dev_setup("iotlb unowned", 0);
	if (fd >= 0) {
		expect_ret("unowned UPDATE -> EFAULT",
			   update(fd, 0, 0x10000, 4096, mem), -EFAULT);
		close(fd);
	}

	fd = dev_setup("iotlb", S_OWNER | S_BACKEND);
	if (fd < 0)
		return;
	expect_ret("V2 UPDATE returns 72", update(fd, 0, 0x10000, 4096, mem),
		   MSG_LEN);
	expect_ret("V1 UPDATE returns 72",
		   iotlb(fd, VHOST_IOTLB_MSG, 0, VHOST_IOTLB_UPDATE, 0x20000,
			 4096, mem + 4096, VHOST_ACCESS_RO), MSG_LEN);

	memset(raw, 0, sizeof(raw));
	m->type = VHOST_IOTLB_MSG_V2;
	m->iotlb.type = VHOST_IOTLB_UPDATE;
	m->iotlb.iova = 0x30000;
	m->iotlb.size = 4096;
	m->iotlb.uaddr = (uintptr_t)(mem + 2 * 4096);
	m->iotlb.perm = VHOST_ACCESS_WO;
	expect_ret("200-byte write returns 72", wr(fd, raw, 200), MSG_LEN);
	m->iotlb.iova = 0x40000;
	m->iotlb.uaddr = (uintptr_t)(mem + 3 * 4096);
	expect_ret("40-byte write (minimum) returns 72", wr(fd, raw, 40),
		   MSG_LEN);
	m->iotlb.iova = 0x50000;
	expect_ret("39-byte write -> EINVAL", wr(fd, raw, 39), -EINVAL);
	expect_ret("3-byte write -> EINVAL", wr(fd, raw, 3), -EINVAL);
	expect_ret("unreadable buffer -> EINVAL", wr(fd, (void *)8, MSG_LEN),
		   -EINVAL);
	m->type = 3;
	expect_ret("header type 3 -> EINVAL", wr(fd, raw, MSG_LEN), -EINVAL);
	m->type = 0;
	expect_ret("header type 0 -> EINVAL", wr(fd, raw, MSG_LEN), -EINVAL);

	expect_ret("UPDATE size 0 -> EINVAL", update(fd, 0, 0x50000, 0, mem),
		   -EINVAL);
	expect_ret("UPDATE overlapping -> EFAULT",
		   update(fd, 0, 0x10800, 4096, mem + 4 * 4096), -EFAULT);
	expect_ret("UPDATE duplicate -> EFAULT",
		   update(fd, 0, 0x10000, 4096, mem), -EFAULT);
	expect_ret("UPDATE iova+size overflows -> EFAULT",
		   update(fd, 0, 0xfffffffffffff000ULL, 0x2000, mem + 5 * 4096),
		   -EFAULT);
	expect_ret("UPDATE size ~0 -> EFAULT",
		   update(fd, 0, 0x1000, ~0ULL, mem), -EFAULT);
	expect_ret("UPDATE uaddr NULL -> EFAULT",
		   update(fd, 0, 0x60000, 4096, NULL), -EFAULT);
	expect_ret("UPDATE {0xFFFF0000, 0xFFFF, NULL} -> EFAULT",
		   update(fd, 0, 0xffff0000ULL, 0xffff, NULL), -EFAULT);
	expect_ret("UPDATE unmapped uaddr -> EFAULT",
		   update(fd, 0, 0x60000, 4096, (void *)0x1000), -EFAULT);
	expect_ret("UPDATE perm 0 -> EFAULT",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_UPDATE, 0x60000,
			 4096, mem + 6 * 4096, 0), -EFAULT);
	expect_ret("UPDATE perm 4 -> EFAULT",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_UPDATE, 0x60000,
			 4096, mem + 6 * 4096, 4), -EFAULT);
	expect_ret("MISS -> EFAULT",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_MISS, 0x60000,
			 4096, mem, 3), -EFAULT);
	expect_ret("ACCESS_FAIL -> EFAULT",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_ACCESS_FAIL,
			 0x60000, 4096, mem, 3), -EFAULT);
	expect_ret("iotlb type 7 -> EFAULT",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, 7, 0x60000, 4096, mem, 3),
		   -EFAULT);
	expect_ret("UPDATE asid 2 (>= nas) -> EFAULT",
		   update(fd, 2, 0x60000, 4096, mem + 6 * 4096), -EFAULT);
	expect_ret("UPDATE asid 1", update(fd, 1, 0x60000, 4096, mem + 6 * 4096),
		   MSG_LEN);
	expect_ret("INVALIDATE asid 1", invalidate(fd, 1, 0x60000, 4096),
		   MSG_LEN);
	expect_ret("INVALIDATE of nothing returns 72",
		   invalidate(fd, 0, 0x900000, 4096), MSG_LEN);
	expect_ret("BATCH_END without BEGIN (AS exists)",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_END, 0, 0,
			 NULL, 0), MSG_LEN);

	/* INVALIDATE removes every whole entry it touches */
	expect_ret("INVALIDATE 1 byte inside an entry",
		   invalidate(fd, 0, 0x10010, 1), MSG_LEN);
	expect_ret("re-UPDATE after partial INVALIDATE (entry gone)",
		   update(fd, 0, 0x10000, 4096, mem), MSG_LEN);

	/* in a batch, another asid is refused */
	expect_ret("BATCH_BEGIN asid 0",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0,
			 NULL, 0), MSG_LEN);
	expect_ret("UPDATE asid 1 inside an asid-0 batch -> EFAULT",
		   update(fd, 1, 0x70000, 4096, mem + 7 * 4096), -EFAULT);
	expect_ret("UPDATE asid 0 inside the batch",
		   update(fd, 0, 0x70000, 4096, mem + 7 * 4096), MSG_LEN);
	expect_ret("BATCH_END",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_END, 0, 0,
			 NULL, 0), MSG_LEN);

	/* INVALIDATE size 0 at iova > 0 removes the entry holding iova */
	expect_ret("UPDATE a page at 0x80000",
		   update(fd, 0, 0x80000, 4096, mem + 8 * 4096), MSG_LEN);
	expect_ret("INVALIDATE(0x80010, size 0)",
		   invalidate(fd, 0, 0x80010, 0), MSG_LEN);
	expect_ret("re-UPDATE 0x80000 (entry gone)",
		   update(fd, 0, 0x80000, 4096, mem + 8 * 4096), MSG_LEN);

	/* V1: the 4 bytes after the type are a hole, not an asid */
	memset(raw, 0, sizeof(raw));
	v1 = (struct vhost_iotlb_msg){
		.iova = 0x90000, .size = 4096, .type = VHOST_IOTLB_UPDATE,
		.uaddr = (uintptr_t)(mem + 9 * 4096), .perm = VHOST_ACCESS_RW };
	hdr[0] = VHOST_IOTLB_MSG;
	hdr[1] = 1;
	memcpy(raw, hdr, sizeof(hdr));
	memcpy(raw + 8, &v1, sizeof(v1));
	expect_ret("V1 UPDATE with a non-zero hole", wr(fd, raw, MSG_LEN),
		   MSG_LEN);
	expect_ret("... lands in asid 0 (overlap -> EFAULT)",
		   update(fd, 0, 0x90000, 4096, mem + 9 * 4096), -EFAULT);

	/* a device reset keeps vhost-vdpa's table (only close clears it) */
	expect_err("SET_STATUS 0", set_status(fd, 0), 0);
	expect_ret("table kept across reset (overlap -> EFAULT)",
		   update(fd, 0, 0x90000, 4096, mem + 9 * 4096), -EFAULT);

	pin = vdpa_vmpin_kb();
	expect_true("VmPin counts pinned pages", pin >= 5 * 4,
		    "VmPin %ld kB, expected >= 20", pin);
	expect_ret("INVALIDATE(0, 0) wraps to everything",
		   invalidate(fd, 0, 0, 0), MSG_LEN);
	expect_val("VmPin 0 after INVALIDATE", 0, vdpa_vmpin_kb(), 0);
	close(fd);
	munmap(mem, 16 * 4096);
}

static void check_iotlb_fresh(void)
{
	uint8_t *mem = anon(4096);
	int fd;

	fd = dev_setup("iotlb fresh", S_OWNER | S_BACKEND);
	if (fd < 0)
		return;
	expect_ret("INVALIDATE on a fresh fd -> EFAULT",
		   invalidate(fd, 0, 0, ~0ULL), -EFAULT);
	expect_ret("BATCH_END on a fresh fd -> EFAULT",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_END, 0, 0,
			 NULL, 0), -EFAULT);
	expect_ret("BATCH_BEGIN on a fresh fd",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_BEGIN, 0, 0,
			 NULL, 0), MSG_LEN);
	expect_ret("INVALIDATE(0, ~0) after BEGIN (DPDK)",
		   invalidate(fd, 0, 0, ~0ULL), MSG_LEN);
	expect_ret("UPDATE in the batch", update(fd, 0, 0x1000, 4096, mem),
		   MSG_LEN);
	expect_ret("BATCH_END",
		   iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_END, 0, 0,
			 NULL, 0), MSG_LEN);
	close(fd);

	/* without IOTLB_ASID acked, the V2 asid is ignored (read as 0) */
	fd = dev_setup("iotlb no asid", S_OWNER);
	if (fd < 0)
		return;
	expect_err("SET_BACKEND_FEATURES MSG_V2 only",
		   set_u64(fd, VHOST_SET_BACKEND_FEATURES,
			   VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2)), 0);
	expect_ret("V2 asid 5 without IOTLB_ASID acked is asid 0",
		   update(fd, 5, 0x1000, 4096, mem), MSG_LEN);
	expect_ret("... and is found in asid 0 (overlap -> EFAULT)",
		   update(fd, 0, 0x1000, 4096, mem), -EFAULT);
	close(fd);
	munmap(mem, 4096);
}

static void check_iotlb_pinning(void)
{
	struct rlimit old, low;
	size_t len = 1 << 20;
	uint8_t *mem = anon(len), *m;
	long pin;
	int fd;

	/* memlock accounting: no CAP_IPC_LOCK bypass, even for root */
	fd = dev_setup("memlock", S_OWNER | S_BACKEND);
	if (fd < 0)
		return;
	getrlimit(RLIMIT_MEMLOCK, &old);
	low = old;
	low.rlim_cur = 64 << 10;
	if (setrlimit(RLIMIT_MEMLOCK, &low)) {
		failf("RLIMIT_MEMLOCK 64 KiB", "setrlimit: %s",
		      strerror(errno));
	} else {
		expect_ret("UPDATE 1 MiB over RLIMIT_MEMLOCK 64 KiB -> EFAULT",
			   update(fd, 0, 0x100000, len, mem), -EFAULT);
		expect_val("VmPin 0 after the refused UPDATE", 0,
			   vdpa_vmpin_kb(), 0);
		expect_ret("UPDATE 32 KiB under RLIMIT_MEMLOCK",
			   update(fd, 0, 0x100000, 32 << 10, mem), MSG_LEN);
		setrlimit(RLIMIT_MEMLOCK, &old);
	}
	expect_ret("UPDATE 1 MiB with the limit restored",
		   update(fd, 0, 0x200000, len, mem), MSG_LEN);
	pin = vdpa_vmpin_kb();
	expect_true("VmPin >= 1 MiB + 32 KiB", pin >= 1024 + 32,
		    "VmPin %ld kB", pin);
	close(fd);
	expect_val("VmPin 0 after close", 0, vdpa_vmpin_kb(), 0);

	/* rust-vmm test_vdpa_kern_dma: unaligned 0xFFFF-byte malloc buffer */
	fd = dev_setup("rust-vmm dma", S_OWNER | S_BACKEND);
	if (fd < 0)
		return;
	m = malloc(0xffff);
	expect_ret("rust-vmm: UPDATE {0xFFFF0000, 0xFFFF, malloc}",
		   update(fd, 0, 0xffff0000ULL, 0xffff, m), MSG_LEN);
	pin = vdpa_vmpin_kb();
	expect_true("rust-vmm: 16 pages pinned", pin == 64,
		    "VmPin %ld kB, expected 64", pin);
	expect_ret("rust-vmm: INVALIDATE {0xFFFF0000, 0xFFFF}",
		   invalidate(fd, 0, 0xffff0000ULL, 0xffff), MSG_LEN);
	expect_val("rust-vmm: VmPin 0 after INVALIDATE", 0, vdpa_vmpin_kb(),
		   0);
	free(m);
	close(fd);
	munmap(mem, len);
}

/* ---- rust-vmm vhost crate checklist (test_vdpa_kern_ioctls) ---- */

static void check_rust_vmm(void)
{
	struct vhost_vring_addr addr = {
		.index = 0, .desc_user_addr = 0x1000,
		.avail_user_addr = 0x2000, .used_user_addr = 0x3000,
	};
	struct vhost_memory *mem;
	struct vhost_vring_state s;
	struct vdpa_dev d = { .fd = -1 };
	uint8_t cfg[8];
	uint16_t max = 0;
	uint64_t f = 0, log = 0;
	int fd, efd, ret;

	fd = open(dev_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		failf("rust-vmm open O_NONBLOCK", "%s", errname(errno));
		return;
	}
	d.fd = fd;
	xioctl(fd, VHOST_GET_FEATURES, &f);
	expect_err("rust-vmm: SET_FEATURES(all) before SET_OWNER",
		   xioctl(fd, VHOST_SET_FEATURES, &f), 0);
	expect_err("rust-vmm: SET_OWNER", xioctl(fd, VHOST_SET_OWNER, NULL),
		   0);
	mem = calloc(1, sizeof(*mem) + sizeof(mem->regions[0]));
	mem->nregions = 1;
	mem->regions[0].memory_size = 0x10000;
	mem->regions[0].userspace_addr = 0x10000;
	expect_err("rust-vmm: SET_MEM_TABLE 1 region",
		   xioctl(fd, VHOST_SET_MEM_TABLE, mem), 0);
	free(mem);
	expect_val("rust-vmm: GET_STATUS == 0", 0, get_status(fd), 0);
	ret = set_status(fd, 1);
	expect_val("rust-vmm: SET_STATUS(1) reads 1", ret, get_status(fd), 1);
	ret = vdpa_get_config(&d, 0, cfg, 8);
	if (!ret)
		ret = vdpa_set_config(&d, 0, cfg, 8);
	expect_err("rust-vmm: GET/SET_CONFIG(0, 8)", ret, 0);
	efd = eventfd(0, EFD_CLOEXEC);
	if (f & (1ULL << 26)) {
		/* a logging device: rust-vmm acked LOG_ALL with "all" */
		expect_err("rust-vmm: SET_LOG_BASE (LOG_ALL offered)",
			   xioctl(fd, VHOST_SET_LOG_BASE, &log), 0);
		expect_err("rust-vmm: SET_LOG_FD (LOG_ALL offered)",
			   xioctl(fd, VHOST_SET_LOG_FD, &efd), 0);
	} else {
		expect_true("rust-vmm: SET_LOG_BASE fails",
			    xioctl(fd, VHOST_SET_LOG_BASE, &log) < 0,
			    "succeeded");
		expect_true("rust-vmm: SET_LOG_FD fails",
			    xioctl(fd, VHOST_SET_LOG_FD, &efd) < 0,
			    "succeeded");
	}
	xioctl(fd, VHOST_VDPA_GET_VRING_NUM, &max);
	expect_true("rust-vmm: SET_VRING_NUM(max + 1) fails",
		    vring_state(fd, VHOST_SET_VRING_NUM, 0, max + 1) < 0,
		    "succeeded");
	expect_err("rust-vmm: SET_VRING_NUM(32)",
		   vring_state(fd, VHOST_SET_VRING_NUM, 0, 32), 0);
	expect_err("rust-vmm: SET_VRING_ADDR 0x1000/0x2000/0x3000",
		   xioctl(fd, VHOST_SET_VRING_ADDR, &addr), 0);
	expect_err("rust-vmm: SET_VRING_BASE(0, 1)",
		   vring_state(fd, VHOST_SET_VRING_BASE, 0, 1), 0);
	expect_err("rust-vmm: SET_VRING_CALL",
		   vring_file(fd, VHOST_SET_VRING_CALL, 0, efd), 0);
	expect_err("rust-vmm: SET_VRING_KICK",
		   vring_file(fd, VHOST_SET_VRING_KICK, 0, efd), 0);
	expect_err("rust-vmm: SET_VRING_ERR",
		   vring_file(fd, VHOST_SET_VRING_ERR, 0, efd), 0);
	expect_err("rust-vmm: SET_CONFIG_CALL",
		   xioctl(fd, VHOST_VDPA_SET_CONFIG_CALL, &efd), 0);
	s = (struct vhost_vring_state){ .index = 0, .num = 12345 };
	ret = xioctl(fd, VHOST_VDPA_GET_VRING_GROUP, &s);
	expect_err("rust-vmm: set_group_asid(0, 12345) (sends GET_VRING_GROUP)",
		   ret, 0);
	if (backend_offered & VDPA_BIT(VHOST_BACKEND_F_SUSPEND))
		expect_err("rust-vmm: SUSPEND",
			   ioctl_val(fd, VHOST_VDPA_SUSPEND, 0), 0);
	s = (struct vhost_vring_state){ .index = 0 };
	ret = xioctl(fd, VHOST_GET_VRING_BASE, &s);
	expect_val("rust-vmm: GET_VRING_BASE(0) == 1", ret, s.num, 1);
	expect_err("rust-vmm: SET_VRING_ENABLE(0, 1)",
		   vring_state(fd, VHOST_VDPA_SET_VRING_ENABLE, 0, 1), 0);
	expect_err("rust-vmm: SET_VRING_ENABLE(0, 0)",
		   vring_state(fd, VHOST_VDPA_SET_VRING_ENABLE, 0, 0), 0);
	close(efd);
	close(fd);
}

/*
 * Entry caps, run on request with the module loaded with a small cap:
 * vhost_vdpa max_iotlb_entries=N refuses the (N+1)th entry of an address
 * space; vdpa_sim max_iotlb_entries=N makes set_map fail, unbatched at
 * the (N+1)th UPDATE and batched at BATCH_END.  Every UPDATE maps one
 * page at its own IOVA, so one message is one entry.
 */
static void check_entry_cap(unsigned int cap, bool batch, const char *who)
{
	size_t len = (size_t)(cap + 1) * 4096;
	uint8_t *mem = anon(len);
	char name[96];
	unsigned int i;
	long ret = 0;
	int fd;

	fd = dev_setup(who, S_OWNER | S_BACKEND);
	if (fd < 0)
		return;
	if (batch)
		ret = iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_BEGIN, 0,
			    0, NULL, 0);
	for (i = 0; i < cap && ret >= 0; i++)
		ret = update(fd, 0, 0x100000 + (uint64_t)i * 0x2000, 4096,
			     mem + (size_t)i * 4096);
	snprintf(name, sizeof(name), "%s: %u %sUPDATEs up to the cap", who, cap,
		 batch ? "batched " : "");
	expect_ret(name, ret, MSG_LEN);
	ret = update(fd, 0, 0x100000 + (uint64_t)cap * 0x2000, 4096,
		     mem + (size_t)cap * 4096);
	if (batch) {
		snprintf(name, sizeof(name),
			 "%s: UPDATE %u in a batch (checked at END)", who,
			 cap + 1);
		expect_ret(name, ret, MSG_LEN);
		ret = iotlb(fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_BATCH_END, 0,
			    0, NULL, 0);
		snprintf(name, sizeof(name), "%s: BATCH_END over the cap -> EFAULT",
			 who);
	} else {
		snprintf(name, sizeof(name), "%s: UPDATE %u over the cap -> EFAULT",
			 who, cap + 1);
	}
	expect_ret(name, ret, -EFAULT);
	snprintf(name, sizeof(name), "%s: INVALIDATE everything", who);
	expect_ret(name, invalidate(fd, 0, 0, ~0ULL), MSG_LEN);
	snprintf(name, sizeof(name), "%s: UPDATE works again", who);
	expect_ret(name, update(fd, 0, 0x100000, 4096, mem), MSG_LEN);
	close(fd);
	snprintf(name, sizeof(name), "%s: VmPin 0 after close", who);
	expect_val(name, 0, vdpa_vmpin_kb(), 0);
	munmap(mem, len);
}

static void check_sysfs(void)
{
	char line[128];
	bool found = false;
	FILE *f;

	f = fopen("/proc/devices", "re");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " vhost-vdpa\n"))
			found = true;
	if (f)
		fclose(f);
	expect_true("/proc/devices lists vhost-vdpa", found, "not found");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "vhost-cap", required_argument, NULL, 'V' },
		{ "sim-cap", required_argument, NULL, 'S' },
		{ "packed", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned int i, vhost_cap = 0, sim_cap = 0;
	bool packed = false;
	int c;

	while ((c = getopt_long(argc, argv, "d:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			dev_path = optarg;
			break;
		case 'V':
			vhost_cap = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			sim_cap = strtoul(optarg, NULL, 0);
			break;
		case 'P':
			packed = true;
			break;
		default:
			printf("usage: vdpa-conformance [-d /dev/vhost-vdpa-N]\n"
			       "  --vhost-cap N   only check vhost_vdpa max_iotlb_entries=N\n"
			       "  --sim-cap N     only check vdpa_sim max_iotlb_entries=N\n"
			       "  --packed        only check the packed ring state (a device\n"
			       "                  provisioned with RING_PACKED)\n");
			return c == 'h' ? 0 : 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	page_size = sysconf(_SC_PAGESIZE);
	if (setrlimit(RLIMIT_MEMLOCK, &r))
		printf("# cannot raise RLIMIT_MEMLOCK: %s\n", strerror(errno));
	if (vdpa_vmpin_kb() != 0)
		printf("# VmPin is not 0 at start\n");

	if (packed) {
		check_packed_state();
		printf("%u passed, %u failed\n", n_ok, n_fail);
		return n_fail ? 1 : 0;
	}
	if (vhost_cap || sim_cap) {
		if (vhost_cap)
			check_entry_cap(vhost_cap, false, "vhost_vdpa cap");
		if (sim_cap) {
			check_entry_cap(sim_cap, false, "vdpa_sim cap");
			check_entry_cap(sim_cap, true, "vdpa_sim cap");
		}
		printf("%u passed, %u failed\n", n_ok, n_fail);
		return n_fail ? 1 : 0;
	}

	check_sysfs();
	check_open_rules();
	check_queries();
	for (i = 0; i < ARRAY_SIZE(ioctl_cases); i++)
		run_ioctl_case(&ioctl_cases[i]);
	check_status_and_features();
	check_backend_features();
	check_owner_rules();
	check_vring_values();
	check_suspend_resume();
	check_mmap();
	check_iotlb_basic();
	check_iotlb_fresh();
	check_iotlb_pinning();
	check_rust_vmm();

	printf("%u passed, %u failed\n", n_ok, n_fail);
	return n_fail ? 1 : 0;
}
