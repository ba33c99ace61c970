// SPDX-License-Identifier: GPL-2.0
/*
 * vduse-net: a virtio-net device implemented in userspace through VDUSE,
 * whose frames go to and come from a TAP interface.
 *
 *   vduse-net [-n NAME] [-t TAP | -l] [-m MAC] [-q QUEUE_SIZE] [-A] [-P] [-B]
 *             [-U | -X]
 *
 * It creates the VDUSE device NAME (default vduse-net0; one queue pair,
 * features VERSION_1, ACCESS_PLATFORM, MAC, STATUS), sets up its two
 * queues and opens the TAP interface TAP (default vtap0), then serves the
 * device until SIGINT or SIGTERM: `vdpa dev add name NAME mgmtdev vduse`
 * makes it a vdpa device, and a bus driver (virtio_vdpa: a kernel ethX;
 * vhost_vdpa) drives it.  Frames the driver sends go out of the TAP
 * interface; frames that come in on it are given to the driver.  On exit
 * it prints its counters ("vduse-net: tx N frames ... rx N frames ...")
 * and destroys the device (which fails while a vdpa device still uses it;
 * the kernel then fails the driver's outstanding buffers itself).
 *
 * -l (loop) takes no TAP interface: the device loops every frame the driver
 * sends back to it, with the simulator's filter (broadcast, multicast and
 * frames to its own MAC come back, other unicast frames are dropped and
 * counted as "filtered"), through a packet-mode pipe of up to 4096-byte
 * frames (longer ones are dropped as well).  A vhost-vdpa client such as
 * vdpa-net-loop --shared then checks the data path end to end.
 *
 * -P offers packed virtqueues (VIRTIO_F_RING_PACKED) as well; the queues
 * are served as packed rings when the driver accepts the feature, as split
 * ones otherwise.
 *
 * -B (a hostile daemon, for tests): answer VDUSE_GET_VQ_STATE on packed
 * rings with a position out of range (index 0x8001, wrap counters 2),
 * which the kernel must refuse.
 *
 * -A (a hostile daemon, for tests): once the driver is up, set
 * VIRTIO_NET_S_ANNOUNCE in the config's status and inject a config
 * interrupt, although the device has no control virtqueue to acknowledge
 * it on (the kernel must not pass the bit on to the driver).
 *
 * The driver's memory is reached through VDUSE_IOTLB_GET_FD: the kernel
 * returns a file for the region holding an IOVA, which is mapped here and
 * kept until the kernel says the region changed (VDUSE_UPDATE_IOTLB) or
 * the device is reset.  Everything read from the rings comes from the
 * driver and is checked: indexes against the queue size, chains against
 * loops, every address against the regions the kernel gave.
 *
 * -U serves the bounce region (where the kernel copies the driver's
 * buffers) from this process's own memory instead: once the driver is up
 * (DRIVER_OK), if VDUSE_IOTLB_GET_INFO on IOVA 4096 reports
 * VDUSE_IOVA_CAP_UMEM, an anonymous mapping of the region's size is
 * registered with VDUSE_IOTLB_REG_UMEM ("vduse-net: umem registered N
 * bytes"; the kernel pins it, which RLIMIT_MEMLOCK must allow) and stands
 * for the region in the table of regions, checked like the others.  It is
 * deregistered (VDUSE_IOTLB_DEREG_UMEM, "vduse-net: umem deregistered") on
 * a device reset and at exit; after a failed registration the region is
 * served through VDUSE_IOTLB_GET_FD as without -U.  SIGUSR1 deregisters
 * it, and the device goes on through VDUSE_IOTLB_GET_FD (the
 * deregistration under traffic, when the test says).
 *
 * -X (a self-test of the kernel's checks): VDUSE_IOTLB_REG_UMEM before the
 * device is attached, then, once the driver is up, every refused
 * argument of VDUSE_IOTLB_REG_UMEM and VDUSE_IOTLB_DEREG_UMEM, a second
 * registration, one over RLIMIT_MEMLOCK, the pinned memory (VmPin), the
 * old file's bounce region while registered (SIGBUS) and after.  One line
 * a check, "umem check NAME: ok" or "umem check NAME: FAIL <errno>", then
 * "umem checks done: N of M failed"; the device is then served (no umem)
 * until SIGINT or SIGTERM, and the exit status is 1 if a check failed.
 *
 * No dependency beyond libc and the kernel's uapi headers.
 */

#define _GNU_SOURCE		/* pipe2(O_DIRECT), F_SETPIPE_SZ */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/vduse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define NQUEUES		2	/* 0: receive, 1: transmit */
#define RXQ		0
#define TXQ		1
#define MAX_REGIONS	64
#define MAX_FRAME	65536
#define NET_HDR_LEN	sizeof(struct virtio_net_hdr_v1)

struct region {
	uint64_t start, last;
	uint8_t *base;
	uint8_t perm;
	bool umem;		/* our registered memory, not a mapped file */
};

struct queue {
	bool on;
	uint16_t num;
	uint16_t last_avail;	/* next avail entry (packed: descriptor) */
	uint16_t used_idx;	/* next used entry (packed: descriptor) */
	bool avail_wrap;	/* packed: wrap counters of those two */
	bool used_wrap;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* packed rings: one descriptor ring and two event areas */
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *drv_event;
	struct vring_packed_desc_event *dev_event;
	int kickfd;
};

/* One buffer the driver made available: where it starts, what it is. */
struct buf {
	uint16_t head;		/* split: head index; packed: ring position */
	uint16_t id;		/* what goes into the used entry */
	uint16_t ndescs;	/* packed: descriptors it takes */
};

struct stats {
	unsigned long long tx_frames, tx_bytes, rx_frames, rx_bytes;
	unsigned long long rx_dropped, bad_chains, tap_errors, filtered;
};

static const char *prog = "vduse-net";
static volatile sig_atomic_t stop;
/* frames come from tapfd and go to outfd: the TAP interface, or a pipe */
static int devfd = -1, tapfd = -1, outfd = -1;
static bool loop, announce, offer_packed, bad_state;
static bool packed;		/* the driver accepted VIRTIO_F_RING_PACKED */
static uint8_t dev_mac[6];
static uint8_t status;
static struct region regions[MAX_REGIONS];
static unsigned int nregions;
static struct queue queues[NQUEUES];
static struct stats st;
static uint8_t frame[NET_HDR_LEN + MAX_FRAME];

/* -U: the bounce region served from our own memory (VDUSE_IOTLB_REG_UMEM) */
static bool use_umem, umem_checks;
static volatile sig_atomic_t umem_dereg_asked;	/* SIGUSR1 */
static struct {
	bool tried;		/* since the last reset: registered or gave up */
	bool on;
	uint8_t *base;
	uint64_t iova, size;
} umem;

static void vwarnx(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
	exit(1);
}

/* ---- the driver's memory ---- */

static void drop_region(unsigned int i)
{
	struct region *r = &regions[i];

	if (!r->umem)
		munmap(r->base, r->last - r->start + 1);
	regions[i] = regions[--nregions];
}

/* Unmap the files' regions that meet [start, last] (not our umem). */
static void unmap_regions(uint64_t start, uint64_t last)
{
	unsigned int i = 0;

	while (i < nregions) {
		struct region *r = &regions[i];

		if (r->umem || r->last < start || r->start > last) {
			i++;
			continue;
		}
		drop_region(i);
	}
}

/* A free slot in the table: the first file region goes if it is full. */
static struct region *new_region(void)
{
	unsigned int i;

	for (i = 0; nregions == MAX_REGIONS && i < nregions; i++)
		if (!regions[i].umem)
			drop_region(i);
	return &regions[nregions++];
}

static struct region *find_region(uint64_t iova)
{
	struct vduse_iotlb_entry e = { .start = iova, .last = iova };
	struct region *r;
	unsigned int i;
	int prot = 0;
	void *p;
	int fd;

	for (i = 0; i < nregions; i++)
		if (iova >= regions[i].start && iova <= regions[i].last)
			return &regions[i];

	fd = ioctl(devfd, VDUSE_IOTLB_GET_FD, &e);
	if (fd < 0)
		return NULL;
	if (e.start > iova || e.last < iova || e.last - e.start >= SIZE_MAX) {
		close(fd);
		return NULL;
	}
	if (e.perm & VDUSE_ACCESS_RO)
		prot |= PROT_READ;
	if (e.perm & VDUSE_ACCESS_WO)
		prot |= PROT_WRITE | PROT_READ;
	p = mmap(NULL, e.last - e.start + 1, prot, MAP_SHARED, fd, e.offset);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	r = new_region();
	r->start = e.start;
	r->last = e.last;
	r->base = p;
	r->perm = e.perm;
	r->umem = false;
	return r;
}

/*
 * The address of [iova, iova + len) in this process, if one region holds
 * it all with the access asked (VDUSE_ACCESS_RO to read, _WO to write).
 */
static void *iova_ptr(uint64_t iova, uint64_t len, uint8_t access)
{
	struct region *r;

	if (!len || iova + len - 1 < iova)
		return NULL;
	r = find_region(iova);
	if (!r || iova + len - 1 > r->last || (r->perm & access) != access)
		return NULL;
	return r->base + (iova - r->start);
}

/* Copy between @buf and the driver's memory, across regions. */
static bool iova_copy(uint64_t iova, void *buf, uint64_t len, bool to_driver)
{
	while (len) {
		struct region *r = find_region(iova);
		uint64_t n;

		if (!r || (r->perm & (to_driver ? VDUSE_ACCESS_WO :
				      VDUSE_ACCESS_RO)) == 0)
			return false;
		n = r->last - iova + 1;
		if (!n || n > len)	/* !n: the region ends at 2^64 */
			n = len;
		if (to_driver)
			memcpy(r->base + (iova - r->start), buf, n);
		else
			memcpy(buf, r->base + (iova - r->start), n);
		buf = (uint8_t *)buf + n;
		iova += n;
		len -= n;
	}
	return true;
}

/* ---- -U: the bounce region in our own memory ---- */

static int umem_ioctl(unsigned long cmd, uint64_t uaddr, uint64_t iova,
		      uint64_t size)
{
	struct vduse_iova_umem u = { .uaddr = uaddr, .iova = iova, .size = size };

	return ioctl(devfd, cmd, &u);
}

/*
 * The bounce region: the one holding IOVA 4096, if the kernel lets the
 * daemon give its memory (VDUSE_IOVA_CAP_UMEM).  False (said why) if not.
 */
static bool umem_region(struct vduse_iova_info *info)
{
	long page = sysconf(_SC_PAGESIZE);

	*info = (struct vduse_iova_info){ .start = 4096, .last = 4096 };
	if (ioctl(devfd, VDUSE_IOTLB_GET_INFO, info) < 0) {
		warnx("IOTLB_GET_INFO: %s", strerror(errno));
		return false;
	}
	if (!(info->capability & VDUSE_IOVA_CAP_UMEM)) {
		warnx("the bounce region takes no umem (capability %#llx)",
		      (unsigned long long)info->capability);
		return false;
	}
	if (info->start > 4096 || info->last < 4096 || info->start % page ||
	    (info->last + 1) % page || info->last - info->start >= SIZE_MAX) {
		warnx("IOTLB_GET_INFO: a bad region [%#llx, %#llx]",
		      (unsigned long long)info->start,
		      (unsigned long long)info->last);
		return false;
	}
	return true;
}

/* Register memory of our own for the bounce region, once the driver is up. */
static void umem_register(void)
{
	struct vduse_iova_info info;
	struct region *r;
	uint64_t size;
	void *p;

	umem.tried = true;
	if (!umem_region(&info))
		goto fallback;
	size = info.last - info.start + 1;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		warnx("mmap %llu bytes: %s", (unsigned long long)size,
		      strerror(errno));
		goto fallback;
	}
	if (umem_ioctl(VDUSE_IOTLB_REG_UMEM, (uintptr_t)p, info.start,
		       size) < 0) {
		warnx("IOTLB_REG_UMEM %llu bytes: %s%s",
		      (unsigned long long)size, strerror(errno),
		      errno == ENOMEM ? " (RLIMIT_MEMLOCK too low?)" : "");
		munmap(p, size);
		goto fallback;
	}
	/* the region's data is no longer in the file: drop our mappings */
	unmap_regions(info.start, info.last);
	r = new_region();
	r->start = info.start;
	r->last = info.last;
	r->base = p;
	r->perm = VDUSE_ACCESS_RW;
	r->umem = true;
	umem.on = true;
	umem.base = p;
	umem.iova = info.start;
	umem.size = size;
	umem_dereg_asked = 0;	/* a SIGUSR1 from before does not count */
	warnx("umem registered %llu bytes", (unsigned long long)size);
	return;
fallback:
	warnx("serving the bounce region through IOTLB_GET_FD");
}

/* Give the kernel its pages back: the region is reached by GET_FD again. */
static void umem_deregister(void)
{
	unsigned int i;

	if (!umem.on)
		return;
	for (i = 0; i < nregions; i++) {
		if (regions[i].umem) {
			drop_region(i);
			break;
		}
	}
	umem.on = false;
	if (umem_ioctl(VDUSE_IOTLB_DEREG_UMEM, (uintptr_t)umem.base,
		       umem.iova, umem.size) < 0)
		warnx("IOTLB_DEREG_UMEM: %s", strerror(errno));
	else
		warnx("umem deregistered");
	munmap(umem.base, umem.size);
	umem.base = NULL;
}

/* SIGUSR1 came while the memory is registered */
static bool umem_expired(void)
{
	return umem.on && umem_dereg_asked;
}

/* ---- -X: the kernel's checks of REG_UMEM and DEREG_UMEM ---- */

static unsigned int checks_run, checks_failed;

static const char *errno_name(int err)
{
	static char buf[32];

	switch (err) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case ENOENT: return "ENOENT";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOTTY: return "ENOTTY";
	}
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* One line a check; @got and @want are errnos, 0 for success. */
static void check(const char *name, int got, int want)
{
	checks_run++;
	if (got == want) {
		printf("umem check %s: ok\n", name);
	} else {
		checks_failed++;
		printf("umem check %s: FAIL %s", name, errno_name(got));
		printf(" (want %s)\n", errno_name(want));
	}
	fflush(stdout);
}

/* A check of a value, not of an errno. */
static void check_val(const char *name, unsigned long long got,
		      unsigned long long want, const char *what)
{
	checks_run++;
	if (got == want) {
		printf("umem check %s: ok\n", name);
	} else {
		checks_failed++;
		printf("umem check %s: FAIL %s %llu (want %llu)\n", name, what,
		       got, want);
	}
	fflush(stdout);
}

/* REG_UMEM or DEREG_UMEM with all fields given: 0 or the errno */
static int umem_try(unsigned long cmd, uint64_t uaddr, uint64_t iova,
		    uint64_t size, unsigned int resv, uint64_t resv_val)
{
	struct vduse_iova_umem u = { .uaddr = uaddr, .iova = iova, .size = size };

	if (resv < 3)
		u.reserved[resv] = resv_val;
	return ioctl(devfd, cmd, &u) < 0 ? errno : 0;
}

/* VmPin of /proc/self/status in kB, ULLONG_MAX if not found */
static unsigned long long vmpin_kb(void)
{
	unsigned long long kb = ULLONG_MAX;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return kb;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* RLIMIT_MEMLOCK's soft limit (the hard one raised if need be) */
static int set_memlock(rlim_t cur, const struct rlimit *old)
{
	struct rlimit rl = { .rlim_cur = cur, .rlim_max = old->rlim_max };

	if (old->rlim_max != RLIM_INFINITY && old->rlim_max < cur)
		rl.rlim_max = cur;
	return setrlimit(RLIMIT_MEMLOCK, &rl) < 0 ? errno : 0;
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

/* Read a byte at @p: true if that raised SIGBUS. */
static bool read_bus(const volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1))
		bus = true;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/* Map the domain file's region holding @iova; NULL (errno) on failure. */
static uint8_t *map_file_region(uint64_t iova, struct vduse_iotlb_entry *e)
{
	void *p;
	int fd;

	*e = (struct vduse_iotlb_entry){ .start = iova, .last = iova };
	fd = ioctl(devfd, VDUSE_IOTLB_GET_FD, e);
	if (fd < 0)
		return NULL;
	if (e->last < e->start || e->last - e->start >= SIZE_MAX) {
		close(fd);
		errno = ERANGE;
		return NULL;
	}
	p = mmap(NULL, e->last - e->start + 1, PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, e->offset);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* The size of the bounce region before the device is attached. */
static uint64_t bounce_size_guess(void)
{
	struct vduse_iova_info info = { .start = 4096, .last = 4096 };
	unsigned long long mb = 64;
	FILE *f;

	if (ioctl(devfd, VDUSE_IOTLB_GET_INFO, &info) == 0 && !info.start)
		return info.last + 1;
	f = fopen("/sys/module/vduse/parameters/domain_mb", "r");
	if (f) {
		if (fscanf(f, "%llu", &mb) != 1)
			mb = 64;
		fclose(f);
	}
	return mb << 20;
}

/* -X, before `vdpa dev add`: nothing to give the memory to yet */
static void umem_checks_detached(void)
{
	uint64_t size = bounce_size_guess();
	void *p;
	int err;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %llu bytes: %s", (unsigned long long)size,
		    strerror(errno));
	err = umem_try(VDUSE_IOTLB_REG_UMEM, (uintptr_t)p, 0, size, 3, 0);
	check("reg-detached", err, EINVAL);
	if (!err)
		umem_try(VDUSE_IOTLB_DEREG_UMEM, (uintptr_t)p, 0, size, 3, 0);
	check("dereg-detached", umem_try(VDUSE_IOTLB_DEREG_UMEM, (uintptr_t)p,
					 0, size, 3, 0), ENOENT);
	munmap(p, size);
}

/* -X, once the driver is up */
static void umem_checks_attached(void)
{
	struct vduse_iova_info info = { .start = 4096, .last = 4096 };
	struct vduse_iova_info cinfo;
	struct vduse_iotlb_entry e;
	struct rlimit old;
	uint64_t b, page = sysconf(_SC_PAGESIZE);
	uint8_t *buf, *hole, *old_map, *map;
	uintptr_t u;
	unsigned int i;
	char name[32];
	int err;

	/* the two regions: bounce with the capability, coherent without */
	err = ioctl(devfd, VDUSE_IOTLB_GET_INFO, &info) < 0 ? errno : 0;
	check("info-bounce", err, 0);
	if (err) {
		b = bounce_size_guess();
	} else {
		b = info.last + 1;
		check_val("info-bounce-start", info.start, 0, "start");
		check_val("info-bounce-cap",
			  info.capability & VDUSE_IOVA_CAP_UMEM,
			  VDUSE_IOVA_CAP_UMEM, "capability");
	}
	printf("umem bounce region: %llu bytes\n", (unsigned long long)b);
	cinfo = (struct vduse_iova_info){ .start = b, .last = b };
	err = ioctl(devfd, VDUSE_IOTLB_GET_INFO, &cinfo) < 0 ? errno : 0;
	check("info-coherent", err, 0);
	if (!err) {
		check_val("info-coherent-start", cinfo.start, b, "start");
		check_val("info-coherent-cap", cinfo.capability, 0,
			  "capability");
	}
	/* the file's bounce region as GET_FD gives it, before any REG */
	old_map = map_file_region(4096, &e);
	check("getfd-bounce", old_map ? 0 : errno, 0);
	if (old_map) {
		check_val("getfd-bounce-start", e.start, 0, "start");
		check_val("getfd-bounce-last", e.last, b - 1, "last");
		check_val("getfd-bounce-offset", e.offset, 0, "offset");
		check_val("getfd-bounce-perm", e.perm, VDUSE_ACCESS_RW, "perm");
		if (e.last != b - 1) {
			munmap(old_map, e.last - e.start + 1);
			old_map = NULL;
		}
	}

	buf = mmap(NULL, b, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* a hole: B bytes reserved, then only the first half mapped */
	hole = mmap(NULL, b, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED || hole == MAP_FAILED)
		die("mmap %llu bytes: %s", (unsigned long long)b,
		    strerror(errno));
	u = (uintptr_t)buf;

	check("dereg-none", umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b, 3, 0),
	      ENOENT);
	check("reg-iova", umem_try(VDUSE_IOTLB_REG_UMEM, u, page, b, 3, 0),
	      EINVAL);
	check("reg-size-small",
	      umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b - page, 3, 0), EINVAL);
	check("reg-size-large",
	      umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b + page, 3, 0), EINVAL);
	check("reg-size-zero", umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, 0, 3, 0),
	      EINVAL);
	check("reg-uaddr", umem_try(VDUSE_IOTLB_REG_UMEM, u + 8, 0, b, 3, 0),
	      EINVAL);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "reg-reserved%u", i);
		check(name, umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b, i, 1),
		      EINVAL);
	}
	/* unmapped memory, wholly or from the middle on: nothing stays pinned */
	munmap(hole, b);
	check("reg-unmapped",
	      umem_try(VDUSE_IOTLB_REG_UMEM, (uintptr_t)hole, 0, b, 3, 0),
	      EFAULT);
	if (mmap(hole, b / 2, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) ==
	    hole) {
		memset(hole, 1, b / 2);
		check("reg-half-unmapped",
		      umem_try(VDUSE_IOTLB_REG_UMEM, (uintptr_t)hole, 0, b, 3,
			       0), EFAULT);
		munmap(hole, b / 2);
	}
	check_val("vmpin-refused", vmpin_kb(), 0, "VmPin kB");

	/* RLIMIT_MEMLOCK: no bypass, not even for root; the limit itself is ok */
	getrlimit(RLIMIT_MEMLOCK, &old);
	err = set_memlock(b - page, &old);
	if (!err)
		err = umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b, 3, 0);
	check("reg-memlock", err, ENOMEM);
	if (!err)
		umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b, 3, 0);
	err = set_memlock(b, &old);
	if (!err)
		err = umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b, 3, 0);
	check("reg-memlock-exact", err, 0);
	if (!err)
		check("dereg-memlock-exact",
		      umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b, 3, 0), 0);
	if (setrlimit(RLIMIT_MEMLOCK, &old) < 0)
		warnx("restore RLIMIT_MEMLOCK: %s", strerror(errno));

	/* registered: pinned, charged, exclusive; the file's region gone */
	err = umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b, 3, 0);
	check("reg", err, 0);
	if (err == ENOMEM)
		warnx("(RLIMIT_MEMLOCK must allow %llu bytes)",
		      (unsigned long long)b);
	if (!err) {
		check_val("vmpin", vmpin_kb(), b >> 10, "VmPin kB");
		check("reg-twice",
		      umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b, 3, 0), EEXIST);
		/* the middle of the region: a page nothing faulted in yet */
		if (old_map)
			check_val("sigbus-registered",
				  read_bus(old_map + (b / 2 & ~(page - 1))),
				  1, "SIGBUS");
		check("dereg-size",
		      umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b - page, 3, 0),
		      EINVAL);
		check("dereg-iova",
		      umem_try(VDUSE_IOTLB_DEREG_UMEM, u, page, b, 3, 0),
		      EINVAL);
		for (i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "dereg-reserved%u", i);
			check(name, umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b,
					     i, 1), EINVAL);
		}
		check("dereg", umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b, 3, 0),
		      0);
		check_val("vmpin-dereg", vmpin_kb(), 0, "VmPin kB");
	}
	check("dereg-twice", umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b, 3, 0),
	      ENOENT);

	/* the file serves the region again, to a new mapping */
	map = map_file_region(4096, &e);
	check("getfd-dereg", map ? 0 : errno, 0);
	if (map) {
		check_val("fault-dereg",
			  read_bus(map + (b / 2 & ~(page - 1)) + page), 0,
			  "SIGBUS");
		munmap(map, e.last - e.start + 1);
	}
	/* and the memory can be given again */
	check("reg-again", umem_try(VDUSE_IOTLB_REG_UMEM, u, 0, b, 3, 0), 0);
	check("dereg-again", umem_try(VDUSE_IOTLB_DEREG_UMEM, u, 0, b, 3, 0),
	      0);

	if (old_map)
		munmap(old_map, b);
	munmap(buf, b);
	printf("umem checks done: %u of %u failed\n", checks_failed,
	       checks_run);
	fflush(stdout);
}

/* ---- virtqueues ---- */

static void queue_stop(struct queue *q)
{
	q->on = false;
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->pdesc = NULL;
	q->drv_event = NULL;
	q->dev_event = NULL;
}

static void reset_device(void)
{
	unsigned int i;

	for (i = 0; i < NQUEUES; i++) {
		queue_stop(&queues[i]);
		queues[i].last_avail = 0;
		queues[i].used_idx = 0;
		queues[i].avail_wrap = true;
		queues[i].used_wrap = true;
	}
	unmap_regions(0, UINT64_MAX);
}

/*
 * Learn where the rings are: at DRIVER_OK (@fresh: the indexes too, from
 * the state the driver set), or again after the kernel changed a region
 * (the indexes go on).
 */
static bool map_packed(struct queue *q, const struct vduse_vq_info *info,
		       uint64_t n)
{
	q->pdesc = iova_ptr(info->desc_addr, 16 * n, VDUSE_ACCESS_RW);
	q->drv_event = iova_ptr(info->driver_addr, 4, VDUSE_ACCESS_RO);
	q->dev_event = iova_ptr(info->device_addr, 4, VDUSE_ACCESS_RW);
	return q->pdesc && q->drv_event && q->dev_event;
}

static void start_queues(bool fresh)
{
	unsigned int i;

	if (fresh) {
		uint64_t features = 0;

		if (ioctl(devfd, VDUSE_DEV_GET_FEATURES, &features) < 0)
			warnx("DEV_GET_FEATURES: %s", strerror(errno));
		packed = features & (1ULL << VIRTIO_F_RING_PACKED);
	}
	for (i = 0; i < NQUEUES; i++) {
		struct vduse_vq_info info = { .index = i };
		struct queue *q = &queues[i];
		uint64_t n;

		if (ioctl(devfd, VDUSE_VQ_GET_INFO, &info) < 0) {
			warnx("queue %u: VQ_GET_INFO: %s", i, strerror(errno));
			continue;
		}
		if (!info.ready)
			continue;
		n = info.num;
		if (!n || n > 32768 || (n & (n - 1))) {
			warnx("queue %u: bad size %llu", i, (unsigned long long)n);
			continue;
		}
		if (packed && !map_packed(q, &info, n)) {
			warnx("queue %u: packed ring not mapped", i);
			queue_stop(q);
			continue;
		}
		if (!packed) {
			q->desc = iova_ptr(info.desc_addr, 16 * n,
					   VDUSE_ACCESS_RO);
			q->avail = iova_ptr(info.driver_addr, 6 + 2 * n,
					    VDUSE_ACCESS_RO);
			q->used = iova_ptr(info.device_addr, 6 + 8 * n,
					   VDUSE_ACCESS_RW);
		}
		if (!packed && (!q->desc || !q->avail || !q->used)) {
			warnx("queue %u: rings not mapped", i);
			queue_stop(q);
			continue;
		}
		q->num = n;
		if (fresh && packed) {
			q->last_avail = info.packed.last_avail_idx % n;
			q->avail_wrap = info.packed.last_avail_counter & 1;
			q->used_idx = info.packed.last_used_idx % n;
			q->used_wrap = info.packed.last_used_counter & 1;
		} else if (fresh) {
			q->last_avail = info.split.avail_index;
			q->used_idx = q->last_avail;
		}
		q->on = true;
	}
}

#define PACKED_AVAIL	0x0080	/* 1 << VRING_PACKED_DESC_F_AVAIL */
#define PACKED_USED	0x8000	/* 1 << VRING_PACKED_DESC_F_USED */

/* Packed: the driver made the descriptor at @pos available, in lap @wrap. */
static bool packed_avail(struct queue *q, uint16_t pos, bool wrap)
{
	uint16_t f = le16toh(__atomic_load_n(&q->pdesc[pos].flags,
					     __ATOMIC_ACQUIRE));

	return !!(f & PACKED_AVAIL) == wrap && !!(f & PACKED_USED) != wrap;
}

static bool queue_has_avail(struct queue *q)
{
	if (!q->on)
		return false;
	if (packed)
		return packed_avail(q, q->last_avail, q->avail_wrap);
	return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

/*
 * The next buffer (queue_has_avail() said there is one).  Packed: its
 * chain is the descriptors that follow with VRING_DESC_F_NEXT, at most a
 * ring's worth; the id is the last one's.
 */
static void queue_peek(struct queue *q, struct buf *b)
{
	uint16_t pos;

	if (!packed) {
		b->head = q->avail->ring[q->last_avail % q->num];
		b->id = b->head;
		b->ndescs = 1;
		return;
	}
	b->head = q->last_avail;
	pos = b->head;
	for (b->ndescs = 1; b->ndescs < q->num; b->ndescs++) {
		if (!(le16toh(q->pdesc[pos].flags) & VRING_DESC_F_NEXT))
			break;
		pos = (pos + 1) % q->num;
	}
	b->id = le16toh(q->pdesc[pos].id);
}

static void packed_advance(struct queue *q, uint16_t *pos, bool *wrap,
			   uint16_t n)
{
	*pos += n;
	if (*pos >= q->num) {
		*pos -= q->num;
		*wrap = !*wrap;
	}
}

/* Return buffer @b with @len bytes written, and move past it. */
static void queue_push(struct queue *q, const struct buf *b, uint32_t len)
{
	struct vring_used_elem *e;
	struct vring_packed_desc *d;

	if (packed) {
		d = &q->pdesc[q->used_idx];
		d->id = htole16(b->id);
		d->len = htole32(len);
		__atomic_store_n(&d->flags,
				 htole16(q->used_wrap ?
					 PACKED_AVAIL | PACKED_USED : 0),
				 __ATOMIC_RELEASE);
		packed_advance(q, &q->last_avail, &q->avail_wrap, b->ndescs);
		packed_advance(q, &q->used_idx, &q->used_wrap, b->ndescs);
		return;
	}
	e = &q->used->ring[q->used_idx % q->num];
	e->id = b->head;
	e->len = len;
	q->last_avail++;
	q->used_idx++;
	__atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

/* The driver asked for no interrupts (no EVENT_IDX is offered). */
static bool queue_quiet(struct queue *q)
{
	if (packed)
		return le16toh(__atomic_load_n(&q->drv_event->flags,
					       __ATOMIC_ACQUIRE)) ==
		       VRING_PACKED_EVENT_FLAG_DISABLE;
	return __atomic_load_n(&q->avail->flags, __ATOMIC_ACQUIRE) &
	       VRING_AVAIL_F_NO_INTERRUPT;
}

static void queue_notify(unsigned int index)
{
	struct queue *q = &queues[index];
	uint32_t i = index;

	/* a full barrier: used entries out before the driver's flags are read */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->on || queue_quiet(q))
		return;
	if (ioctl(devfd, VDUSE_VQ_INJECT_IRQ, &i) < 0)
		warnx("queue %u: VQ_INJECT_IRQ: %s", index, strerror(errno));
}

/*
 * Walk the chain at @head: call @fn on each descriptor's buffer, readable
 * ones if @writable is false, writable ones otherwise (a descriptor of the
 * other kind is an error).  False on a malformed chain.
 */
static bool walk_packed(struct queue *q, const struct buf *b, bool writable,
			bool (*fn)(uint64_t addr, uint32_t len, void *arg),
			void *arg)
{
	uint16_t pos = b->head, n;

	for (n = 0; n < b->ndescs; n++) {
		struct vring_packed_desc d = q->pdesc[pos];
		uint16_t flags = le16toh(d.flags);

		if (flags & VRING_DESC_F_INDIRECT)
			return false;	/* not offered */
		if (!!(flags & VRING_DESC_F_WRITE) != writable)
			return false;
		if (!fn(le64toh(d.addr), le32toh(d.len), arg))
			return false;
		pos = (pos + 1) % q->num;
	}
	/* a chain that ran over the whole ring is malformed */
	return !(le16toh(q->pdesc[(pos + q->num - 1) % q->num].flags) &
		 VRING_DESC_F_NEXT);
}

static bool walk_chain(struct queue *q, const struct buf *b, bool writable,
		       bool (*fn)(uint64_t addr, uint32_t len, void *arg),
		       void *arg)
{
	unsigned int count = 0;
	uint16_t i = b->head;

	if (packed)
		return walk_packed(q, b, writable, fn, arg);
	for (;;) {
		struct vring_desc d;

		if (i >= q->num || ++count > q->num)
			return false;
		d = q->desc[i];
		if (d.flags & VRING_DESC_F_INDIRECT)
			return false;	/* not offered */
		if (!!(d.flags & VRING_DESC_F_WRITE) != writable)
			return false;
		if (!fn(d.addr, d.len, arg))
			return false;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return true;
		i = d.next;
	}
}

struct gather {
	uint8_t *buf;
	size_t len, cap;
};

static bool gather_fn(uint64_t addr, uint32_t len, void *arg)
{
	struct gather *g = arg;

	if (len > g->cap - g->len)
		return false;
	if (!iova_copy(addr, g->buf + g->len, len, false))
		return false;
	g->len += len;
	return true;
}

static bool scatter_fn(uint64_t addr, uint32_t len, void *arg)
{
	struct gather *g = arg;
	size_t n = g->cap - g->len;

	if (n > len)
		n = len;
	if (n && !iova_copy(addr, g->buf + g->len, n, true))
		return false;
	g->len += n;
	return true;
}

/*
 * Loop mode: what the simulator's filter passes (broadcast, multicast,
 * this device's MAC), and what one pipe packet holds.
 */
static bool loop_accepts(const uint8_t *f, size_t len)
{
	if (len < 14 || len > PIPE_BUF)
		return false;
	return (f[0] & 1) || !memcmp(f, dev_mac, 6);
}

/* Frames the driver sent: out of the TAP interface (or the loop). */
static void serve_tx(void)
{
	struct queue *q = &queues[TXQ];
	bool done = false;

	while (!stop && queue_has_avail(q)) {
		struct gather g = { .buf = frame, .cap = sizeof(frame) };
		struct buf b;

		queue_peek(q, &b);
		if (walk_chain(q, &b, false, gather_fn, &g) &&
		    g.len >= NET_HDR_LEN) {
			if (loop && !loop_accepts(frame + NET_HDR_LEN,
						  g.len - NET_HDR_LEN)) {
				st.filtered++;
			} else if (write(outfd, frame + NET_HDR_LEN,
					 g.len - NET_HDR_LEN) < 0) {
				st.tap_errors++;
			} else {
				st.tx_frames++;
				st.tx_bytes += g.len - NET_HDR_LEN;
			}
		} else {
			st.bad_chains++;
		}
		queue_push(q, &b, 0);
		done = true;
	}
	if (done)
		queue_notify(TXQ);
}

/* Frames from the TAP interface: to the driver, while it has buffers. */
static bool serve_rx(void)
{
	struct queue *q = &queues[RXQ];
	struct virtio_net_hdr_v1 hdr = { .num_buffers = 1 };
	bool done = false;
	ssize_t n;

	while (!stop && queue_has_avail(q)) {
		struct gather g;
		struct buf b;

		n = read(tapfd, frame + NET_HDR_LEN, MAX_FRAME);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				st.tap_errors++;
			break;
		}
		memcpy(frame, &hdr, sizeof(hdr));
		g = (struct gather){ .buf = frame, .cap = NET_HDR_LEN + n };
		queue_peek(q, &b);
		if (!walk_chain(q, &b, true, scatter_fn, &g)) {
			st.bad_chains++;
			g.len = 0;
		} else if (g.len < g.cap) {
			st.rx_dropped++;	/* buffer too small */
			continue;
		} else {
			st.rx_frames++;
			st.rx_bytes += n;
		}
		queue_push(q, &b, g.len);
		done = true;
	}
	if (done)
		queue_notify(RXQ);
	return queue_has_avail(q);
}

/* ---- requests from the kernel ---- */

static void serve_request(void)
{
	struct vduse_dev_response resp = { 0 };
	struct vduse_dev_request req;
	bool reset = false;
	uint64_t features;
	struct queue *q;
	ssize_t n;

	n = read(devfd, &req, sizeof(req));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		die("read a request: %s", strerror(errno));
	}
	if (n != sizeof(req))
		die("short request: %zd bytes", n);
	resp.request_id = req.request_id;
	resp.result = VDUSE_REQ_RESULT_OK;
	switch (req.type) {
	case VDUSE_SET_STATUS:
		if (!req.s.status) {
			reset_device();
			reset = true;
		} else if ((req.s.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
			 !(status & VIRTIO_CONFIG_S_DRIVER_OK))
			start_queues(true);
		status = req.s.status;
		break;
	case VDUSE_GET_VQ_STATE:
		if (req.vq_state.index >= NQUEUES) {
			resp.result = VDUSE_REQ_RESULT_FAILED;
			break;
		}
		resp.vq_state.index = req.vq_state.index;
		q = &queues[req.vq_state.index];
		/* asked before DRIVER_OK too: the features say which layout */
		if (ioctl(devfd, VDUSE_DEV_GET_FEATURES, &features) < 0)
			features = 0;
		if ((features & (1ULL << VIRTIO_F_RING_PACKED)) && bad_state) {
			resp.vq_state.packed.last_avail_idx = 0x8001;
			resp.vq_state.packed.last_avail_counter = 2;
			resp.vq_state.packed.last_used_idx = 0x8001;
			resp.vq_state.packed.last_used_counter = 2;
		} else if (features & (1ULL << VIRTIO_F_RING_PACKED)) {
			resp.vq_state.packed.last_avail_idx = q->last_avail;
			resp.vq_state.packed.last_avail_counter = q->avail_wrap;
			resp.vq_state.packed.last_used_idx = q->used_idx;
			resp.vq_state.packed.last_used_counter = q->used_wrap;
		} else {
			resp.vq_state.split.avail_index = q->last_avail;
		}
		break;
	case VDUSE_UPDATE_IOTLB:
		/* the rings may have been in it: find them again */
		unmap_regions(req.iova.start, req.iova.last);
		if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
			queue_stop(&queues[RXQ]);
			queue_stop(&queues[TXQ]);
			start_queues(false);
		}
		break;
	default:
		resp.result = VDUSE_REQ_RESULT_FAILED;
		break;
	}
	if (write(devfd, &resp, sizeof(resp)) != sizeof(resp))
		warnx("answer request %u: %s", req.request_id, strerror(errno));
	/* (not before the answer: the kernel waits for it) */
	if (reset) {
		umem_deregister();
		umem.tried = false;
	}
}

/* ---- set-up ---- */

static int create_device(const char *name, const uint8_t mac[6], int qsize)
{
	struct virtio_net_config net = { 0 };
	struct vduse_dev_config *cfg;
	size_t csize = offsetof(struct virtio_net_config, max_virtqueue_pairs);
	uint64_t api = VDUSE_API_VERSION;
	char path[300];
	int ctl, fd, i;

	ctl = open("/dev/vduse/control", O_RDWR);
	if (ctl < 0)
		die("/dev/vduse/control: %s (is the vduse module loaded?)",
		    strerror(errno));
	if (ioctl(ctl, VDUSE_SET_API_VERSION, &api) < 0)
		die("SET_API_VERSION %llu: %s", (unsigned long long)api,
		    strerror(errno));
	cfg = calloc(1, sizeof(*cfg) + csize);
	if (!cfg)
		die("out of memory");
	snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	cfg->device_id = VIRTIO_ID_NET;
	cfg->features = 1ULL << VIRTIO_F_VERSION_1 |
			1ULL << VIRTIO_F_ACCESS_PLATFORM |
			1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_STATUS;
	if (offer_packed)
		cfg->features |= 1ULL << VIRTIO_F_RING_PACKED;
	cfg->vq_num = NQUEUES;
	cfg->vq_align = 4096;
	cfg->config_size = csize;
	memcpy(net.mac, mac, 6);
	net.status = htole16(VIRTIO_NET_S_LINK_UP);
	memcpy(cfg->config, &net, csize);
	if (ioctl(ctl, VDUSE_CREATE_DEV, cfg) < 0)
		die("CREATE_DEV %s: %s", name, strerror(errno));
	free(cfg);

	snprintf(path, sizeof(path), "/dev/vduse/%s", name);
	for (i = 0; i < 100; i++) {
		fd = open(path, O_RDWR | O_NONBLOCK);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(50000);
	}
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	for (i = 0; i < NQUEUES; i++) {
		struct vduse_vq_config vq = { .index = i, .max_size = qsize };
		struct vduse_vq_eventfd efd = { .index = i };

		if (ioctl(fd, VDUSE_VQ_SETUP, &vq) < 0)
			die("VQ_SETUP %d: %s", i, strerror(errno));
		queues[i].kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (queues[i].kickfd < 0)
			die("eventfd: %s", strerror(errno));
		efd.fd = queues[i].kickfd;
		if (ioctl(fd, VDUSE_VQ_SETUP_KICKFD, &efd) < 0)
			die("VQ_SETUP_KICKFD %d: %s", i, strerror(errno));
	}
	devfd = fd;
	return ctl;
}

static void destroy_device(int ctl, const char *name)
{
	char buf[VDUSE_NAME_MAX] = { 0 };

	close(devfd);
	devfd = -1;
	snprintf(buf, sizeof(buf), "%s", name);
	if (ioctl(ctl, VDUSE_DESTROY_DEV, buf) < 0)
		warnx("DESTROY_DEV %s: %s", name, strerror(errno));
	close(ctl);
}

/* Loop mode: a non-blocking packet-mode pipe, tapfd its read end. */
static void open_loop(void)
{
	int p[2];

	if (pipe2(p, O_DIRECT | O_NONBLOCK | O_CLOEXEC) < 0)
		die("pipe2: %s", strerror(errno));
	/* room for a whole ring of frames; the default is 16 */
	if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0)
		warnx("F_SETPIPE_SZ: %s", strerror(errno));
	tapfd = p[0];
	outfd = p[1];
}

static int open_tap(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		die("/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF %s: %s", name, strerror(errno));
	return fd;
}

/* -A: claim a link announcement the driver has no way to acknowledge */
static void send_announce(void)
{
	struct {
		struct vduse_config_data hdr;
		uint16_t status;
	} c = {
		.hdr.offset = offsetof(struct virtio_net_config, status),
		.hdr.length = 2,
		.status = htole16(VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE),
	};

	if (ioctl(devfd, VDUSE_DEV_SET_CONFIG, &c) < 0)
		warnx("SET_CONFIG status: %s", strerror(errno));
	else if (ioctl(devfd, VDUSE_DEV_INJECT_CONFIG_IRQ) < 0)
		warnx("INJECT_CONFIG_IRQ: %s", strerror(errno));
	else
		printf("%s: announced (status LINK_UP | ANNOUNCE)\n", prog);
	fflush(stdout);
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		umem_dereg_asked = 1;
	else
		stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-n NAME] [-t TAP | -l] [-m MAC] [-q QUEUE_SIZE]\n"
		"       [-A] [-P] [-B] [-U | -X]\n"
		"  -U  serve the bounce region from our memory (REG_UMEM);\n"
		"      SIGUSR1 deregisters it, then GET_FD serves it\n"
		"  -X  check REG_UMEM's and DEREG_UMEM's errors, then serve\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *name = "vduse-net0", *tap = "vtap0";
	uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x60 };
	struct sigaction sa = { .sa_handler = on_signal };
	bool rx_wait = false, checked = false;
	int qsize = 256, ctl, c;

	while ((c = getopt(argc, argv, "n:t:lm:q:APBUXh")) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 't':
			tap = optarg;
			break;
		case 'l':
			loop = true;
			break;
		case 'A':
			announce = true;
			break;
		case 'P':
			offer_packed = true;
			break;
		case 'B':
			bad_state = true;
			break;
		case 'U':
			use_umem = true;
			break;
		case 'X':
			umem_checks = true;
			break;
		case 'm':
			if (sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
				   &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
				   &mac[5]) != 6)
				usage();
			break;
		case 'q':
			qsize = atoi(optarg);
			if (qsize < 1 || qsize > 32768 || (qsize & (qsize - 1)))
				die("queue size must be a power of 2 up to 32768");
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (use_umem && umem_checks))
		usage();

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memcpy(dev_mac, mac, sizeof(dev_mac));
	if (loop) {
		open_loop();
	} else {
		tapfd = open_tap(tap);
		outfd = tapfd;
	}
	ctl = create_device(name, mac, qsize);
	if (umem_checks)
		umem_checks_detached();
	printf("%s: device %s, %s %s: ready\n", prog, name,
	       loop ? "loop" : "TAP", loop ? "pipe" : tap);
	fflush(stdout);

	while (!stop) {
		struct pollfd p[4] = {
			{ .fd = devfd, .events = POLLIN },
			{ .fd = queues[RXQ].kickfd, .events = POLLIN },
			{ .fd = queues[TXQ].kickfd, .events = POLLIN },
			{ .fd = rx_wait ? -1 : tapfd, .events = POLLIN },
		};
		uint64_t v;

		if (poll(p, 4, 1000) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (p[0].revents & (POLLERR | POLLHUP))
			die("device node closed under us");
		if (p[0].revents & POLLIN)
			serve_request();
		if (p[1].revents & POLLIN) {
			if (read(queues[RXQ].kickfd, &v, sizeof(v)) < 0)
				v = 0;
			rx_wait = false;	/* new receive buffers */
		}
		if (p[2].revents & POLLIN &&
		    read(queues[TXQ].kickfd, &v, sizeof(v)) < 0)
			v = 0;
		if (!(status & VIRTIO_CONFIG_S_DRIVER_OK))
			continue;
		if (umem_checks && !checked) {
			checked = true;
			umem_checks_attached();
		}
		if (use_umem && !umem.tried)
			umem_register();
		else if (umem_expired())
			umem_deregister();
		if (announce) {
			announce = false;
			send_announce();
		}
		/* kicks may be coalesced: look at both rings every time */
		serve_tx();
		if (!rx_wait || p[3].revents & POLLIN)
			rx_wait = !serve_rx();
	}

	fprintf(stdout,
		"%s: tx %llu frames %llu bytes, rx %llu frames %llu bytes, rx dropped %llu, bad chains %llu, tap errors %llu, filtered %llu\n",
		prog, st.tx_frames, st.tx_bytes, st.rx_frames, st.rx_bytes,
		st.rx_dropped, st.bad_chains, st.tap_errors, st.filtered);
	fflush(stdout);
	umem_deregister();
	destroy_device(ctl, name);
	if (outfd != tapfd)
		close(outfd);
	close(tapfd);
	if (umem_checks && !checked)
		warnx("umem checks: the driver never came up");
	return umem_checks && (checks_failed || !checked);
}
