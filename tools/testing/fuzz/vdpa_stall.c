// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-stall: a vhost-vdpa client whose IOTLB UPDATE sleeps in the kernel,
 * under the char device's mutex, for as long as this program decides.
 * For tests/cases/15-lifecycle.sh (vdpa dev del behind such a client).
 *
 *   vdpa-stall NODE MOUNTPOINT
 *
 * It serves a one-file FUSE file system at MOUNTPOINT itself (raw
 * /dev/fuse protocol, no libfuse), maps the file, and writes one UPDATE
 * (read-only) for the mapping from a second thread.  Pinning the pages
 * faults them in, the page cache asks FUSE to read them, and this program
 * holds every READ unanswered: the writer sleeps in pin_user_pages() with
 * the device mutex held.  (A userfaultfd range would not do: without
 * FAULT_FLAG_ALLOW_RETRY, as under pin_user_pages(), a userfault fails at
 * once with SIGBUS.)
 *
 * While the writer sleeps it holds the mmap_lock of this process for
 * reading: anything here that takes it for writing (malloc growing the
 * heap, mmap, a new thread's stack) would wait behind it and stall every
 * later page fault too.  So all memory is set up and touched first.
 *
 * Prints "stalled" once a READ is held, then waits for SIGUSR1; answers
 * the READs (zeros), prints "UPDATE: ok" or "UPDATE: <error>" when the
 * write returns, closes the device, prints "done" and exits 0.  Exits 2
 * if FUSE or the device cannot be set up, 1 on any other surprise.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fuse.h>

#include "fz_common.h"

#define FILE_INO	2
#define FILE_NAME	"f"
#define FILE_PAGES	16
#define MAX_HELD	64
#define UPDATE_IOVA	0x100000ULL
/* Largest READ answered in full (the kernel asks for 128 KiB at most). */
#define READ_MAX	(256 * 1024)
#define REQ_BUF		(FUSE_MIN_READ_BUFFER + 128 * 4096)

static int fuse_fd = -1;
static const char *mount_point;
static size_t page_size;

/* READs held while stalling: answered by release_reads(). */
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_cond = PTHREAD_COND_INITIALIZER;
static bool stalling = true;
static unsigned int nheld;
static struct {
	uint64_t unique;
	uint32_t size;
} held[MAX_HELD];

/* Touched before the UPDATE starts: see the top of the file. */
static uint8_t req_buf[REQ_BUF];
static uint8_t read_buf[sizeof(struct fuse_out_header) + READ_MAX];

static atomic_int update_done;
static ssize_t update_ret;
static int update_errno;

static void __noreturn die(int code, const char *fmt, ...) __printf(2, 3);
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vdpa-stall: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (mount_point)
		umount2(mount_point, MNT_DETACH);
	exit(code);
}

static void reply(uint64_t unique, int error, const void *arg, size_t len)
{
	struct fuse_out_header out = {
		.len = sizeof(out) + len,
		.error = error,
		.unique = unique,
	};
	uint8_t buf[sizeof(out) + 4096];

	if (len > sizeof(buf) - sizeof(out))
		die(1, "reply of %zu bytes", len);
	memcpy(buf, &out, sizeof(out));
	if (len)
		memcpy(buf + sizeof(out), arg, len);
	/* ENOENT: the request was interrupted meanwhile; fine. */
	if (write(fuse_fd, buf, out.len) < 0 && errno != ENOENT)
		fprintf(stderr, "vdpa-stall: %s: %s\n", __func__, strerror(errno));
}

/*
 * Zeros for a READ of @size bytes (the file is all zeros; a shorter
 * answer is a short read).  Called by one thread at a time (held_lock).
 */
static void reply_read(uint64_t unique, uint32_t size)
{
	struct fuse_out_header out = {
		.error = 0,
		.unique = unique,
	};

	if (size > READ_MAX)
		size = READ_MAX;
	out.len = sizeof(out) + size;
	memcpy(read_buf, &out, sizeof(out));
	memset(read_buf + sizeof(out), 0, size);
	if (write(fuse_fd, read_buf, out.len) < 0 && errno != ENOENT)
		fprintf(stderr, "vdpa-stall: read reply: %s\n", strerror(errno));
}

static void fill_attr(struct fuse_attr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	a->blksize = page_size;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0644;
		a->size = FILE_PAGES * page_size;
		a->blocks = a->size / 512;
	}
}

static void handle(const struct fuse_in_header *in, const void *arg)
{
	switch (in->opcode) {
	case FUSE_INIT: {
		const struct fuse_init_in *ii = arg;
		struct fuse_init_out io = {
			.major = FUSE_KERNEL_VERSION,
			.minor = ii->minor < FUSE_KERNEL_MINOR_VERSION ?
				 ii->minor : FUSE_KERNEL_MINOR_VERSION,
			.max_readahead = ii->max_readahead,
			.max_write = 4096,
			.max_background = 16,
			.congestion_threshold = 12,
		};

		reply(in->unique, 0, &io, sizeof(io));
		break;
	}
	case FUSE_LOOKUP: {
		struct fuse_entry_out eo = { 0 };

		if (in->nodeid != FUSE_ROOT_ID || strcmp(arg, FILE_NAME)) {
			reply(in->unique, -ENOENT, NULL, 0);
			break;
		}
		eo.nodeid = FILE_INO;
		eo.entry_valid = 3600;
		eo.attr_valid = 3600;
		fill_attr(&eo.attr, FILE_INO);
		reply(in->unique, 0, &eo, sizeof(eo));
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out ao = { .attr_valid = 3600 };

		fill_attr(&ao.attr, in->nodeid);
		reply(in->unique, 0, &ao, sizeof(ao));
		break;
	}
	case FUSE_OPEN: {
		struct fuse_open_out oo = { .fh = 1, .open_flags = FOPEN_KEEP_CACHE };

		reply(in->unique, 0, &oo, sizeof(oo));
		break;
	}
	case FUSE_READ: {
		const struct fuse_read_in *ri = arg;

		pthread_mutex_lock(&held_lock);
		if (stalling && nheld < MAX_HELD) {
			held[nheld].unique = in->unique;
			held[nheld].size = ri->size;
			nheld++;
			pthread_cond_broadcast(&held_cond);
			pthread_mutex_unlock(&held_lock);
			break;
		}
		reply_read(in->unique, ri->size);
		pthread_mutex_unlock(&held_lock);
		break;
	}
	case FUSE_FLUSH:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_DESTROY:
		reply(in->unique, 0, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		/* no answer expected */
		break;
	default:
		/* FUSE's "not implemented": the kernel may stop asking */
		reply(in->unique, -ENOSYS, NULL, 0);
		break;
	}
}

static void *serve(void *unused)
{
	uint8_t *buf = req_buf;
	ssize_t n;

	(void)unused;
	for (;;) {
		n = read(fuse_fd, buf, sizeof(req_buf));
		if (n < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			/* ENODEV: unmounted */
			break;
		}
		if ((size_t)n < sizeof(struct fuse_in_header))
			die(1, "short FUSE request (%zd bytes)", n);
		handle((const struct fuse_in_header *)buf,
		       buf + sizeof(struct fuse_in_header));
	}
	return NULL;
}

static void release_reads(void)
{
	unsigned int i;

	pthread_mutex_lock(&held_lock);
	stalling = false;
	for (i = 0; i < nheld; i++)
		reply_read(held[i].unique, held[i].size);
	nheld = 0;
	pthread_mutex_unlock(&held_lock);
}

struct update_arg {
	int fd;
	const void *addr;
	size_t len;
};

static void *do_update(void *p)
{
	struct update_arg *u = p;

	update_ret = fz_iotlb(u->fd, 0, 0, VHOST_IOTLB_UPDATE, UPDATE_IOVA,
			      u->len, (uintptr_t)u->addr, VHOST_ACCESS_RO);
	update_errno = errno;
	atomic_store(&update_done, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	pthread_t server, writer;
	struct update_arg u;
	char opts[256], path[4096];
	struct timespec until;
	sigset_t set;
	int dev, file, sig, r;
	void *map;

	if (argc != 3)
		die(1, "usage: vdpa-stall NODE MOUNTPOINT");
	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(req_buf, 0, sizeof(req_buf));
	memset(read_buf, 0, sizeof(read_buf));
	/* stdout's buffer is allocated now, not while stalled */
	printf("vdpa-stall: pid %d\n", (int)getpid());
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	setrlimit(RLIMIT_MEMLOCK, &unlimited);

	fuse_fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse_fd < 0)
		die(2, "/dev/fuse: %s", strerror(errno));
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse_fd);
	if (mount("vdpa-stall", argv[2], "fuse", MS_NOSUID | MS_NODEV, opts))
		die(2, "mount %s: %s", argv[2], strerror(errno));
	mount_point = argv[2];
	if (pthread_create(&server, NULL, serve, NULL))
		die(1, "pthread_create");

	snprintf(path, sizeof(path), "%s/%s", argv[2], FILE_NAME);
	file = open(path, O_RDONLY | O_CLOEXEC);
	if (file < 0)
		die(1, "%s: %s", path, strerror(errno));
	u.len = FILE_PAGES * page_size;
	map = mmap(NULL, u.len, PROT_READ, MAP_PRIVATE, file, 0);
	/*
	 * Close now, while the server runs: close() waits for the answer
	 * to a FLUSH, which nobody would give during exit.
	 */
	close(file);
	if (map == MAP_FAILED)
		die(1, "mmap: %s", strerror(errno));

	dev = open(argv[1], O_RDWR | O_CLOEXEC);
	if (dev < 0)
		die(2, "%s: %s", argv[1], strerror(errno));
	if (ioctl(dev, VHOST_SET_OWNER))
		die(1, "SET_OWNER: %s", strerror(errno));
	u.fd = dev;
	u.addr = map;
	if (pthread_create(&writer, NULL, do_update, &u))
		die(1, "pthread_create");

	/* Wait (20 s at most) for the page cache to ask for the data. */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&held_lock);
	r = 0;
	while (!nheld && !atomic_load(&update_done) && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&held_cond, &held_lock, &until);
	pthread_mutex_unlock(&held_lock);
	if (atomic_load(&update_done))
		die(1, "the UPDATE did not sleep: %s",
		    update_ret < 0 ? strerror(update_errno) : "it succeeded");
	if (r == ETIMEDOUT)
		die(1, "no FUSE READ within 20 s");
	printf("stalled\n");

	sigwait(&set, &sig);
	release_reads();
	pthread_join(writer, NULL);
	if (update_ret < 0)
		printf("UPDATE: %s\n", strerror(update_errno));
	else
		printf("UPDATE: ok\n");
	close(dev);
	munmap(map, u.len);
	umount2(argv[2], MNT_DETACH);
	printf("done\n");
	/* The server thread ends with the connection, at exit. */
	_exit(0);
}
