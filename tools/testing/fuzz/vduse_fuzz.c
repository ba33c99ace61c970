// SPDX-License-Identifier: GPL-2.0
/*
 * vduse-fuzz: a seeded malicious VDUSE daemon.
 *
 *   vduse-fuzz [-s SEED] [-n OPS] [-T SECS] [-m MSG_TIMEOUT] [-L LIFE_MS]
 *              [-S SLACK_MS] [-v]
 *
 * The run is a series of sessions.  Each creates VDUSE devices through
 * /dev/vduse/control with invalid configs (each must be refused) and one
 * valid one (virtio-blk or virtio-net, boundary values), opens its node
 * and sets its queues up, then starts a daemon thread that answers the
 * kernel's requests in the session's manner: correctly, with garbage
 * (wrong request_id, short and oversized writes, random result codes and
 * vq states, short reads), late (around msg_timeout), never, or by dying
 * (closing everything) in the middle of a request.  Meanwhile the main
 * thread draws random operations: every ioctl of the device node with
 * random and boundary arguments (VQ_SETUP, VQ_SETUP_KICKFD with eventfds,
 * closed and wrong-type fds, VQ_INJECT_IRQ, DEV_SET_CONFIG, config irq,
 * IOTLB_GET_FD whose file it maps and touches, IOTLB_GET_INFO,
 * GET_FEATURES, REG_UMEM/DEREG_UMEM with random arguments and with the
 * valid ones, the registered memory scribbled on and unmapped at once...),
 * second opens, DESTROY_DEV, `vdpa dev add`
 * and `vdpa dev del` through generic netlink in threads of their own, and
 * the daemon's death and restart.  For blk, a reader thread reads the
 * /dev/vdX that virtio_blk gives (O_DIRECT) and accepts data or errors.
 * The daemon never serves the rings: I/O completes only by failing once
 * the daemon is gone, and each daemon dies at most LIFE_MS after start.
 *
 * Invariants, each a violation (exit status 1) when broken:
 *  - every invalid config is refused, every valid one accepted;
 *  - a second open of a node the daemon holds fails with EBUSY;
 *  - a short read or short write of the node gets EINVAL;
 *  - every `vdpa dev add`/`dev del` and every read of the disk returns at
 *    most 3 * msg_timeout + SLACK_MS after the daemon is gone (or after
 *    it began, if later);
 *  - after clean-up (dev del, DESTROY_DEV) no vdpa device and no node of
 *    ours is left.
 * The module's unload and the kernel log are checked by the test bed.
 * The last line: "VDUSE-FUZZ-RESULT seed=S ops=N sessions=N ... viol=N".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vduse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>

#include "fz_common.h"

#define PAGE		4096UL
#define CTL_PATH	"/dev/vduse/control"
#define TIMEOUT_PARAM	"/sys/module/vduse/parameters/msg_timeout"
#define NMAPS		4
#define NAME_PFX	"vfz"

/* ---- options and totals ---- */
static uint64_t seed = 1, nops = 2000;
static unsigned int msg_timeout = 1, life_ms = 4000, slack_ms = 20000;
static uint64_t deadline_ms;
static bool verbose;
static atomic_uint violations;
static bool hung;		/* a thread is stuck: no clean exit */

enum {
	C_OPS, C_SESSIONS, C_BLK, C_NET, C_BADCFG, C_REQS, C_GOOD, C_GARBAGE,
	C_LATE, C_IGNORED, C_DIED, C_ADD, C_ADD_OK, C_DEL, C_DEL_OK,
	C_READS, C_READ_OK, C_READ_ERR, C_MAPS, C_DESTROY_OK, C_RESTART,
	C_UMEM, C_UMEM_DEREG, C_SIGBUS,
	C_NR
};

static const char *const cnames[C_NR] = {
	"ops", "sessions", "blk", "net", "badcfg", "reqs", "good", "garbage",
	"late", "ignored", "died", "add", "add_ok", "del", "del_ok",
	"reads", "read_ok", "read_err", "maps", "destroy_ok", "restart",
	"umem", "umem_dereg", "sigbus",
};

static atomic_ulong cnt[C_NR];

static void violation(const char *fmt, ...) __printf(1, 2);
static void violation(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	atomic_fetch_add(&violations, 1);
	fz_say("vduse-fuzz: VIOLATION (seed %" PRIu64 "): %s\n", seed, buf);
	fz_kmsg("vduse-fuzz: VIOLATION: %s\n", buf);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t bound_ms(void)
{
	return 3ULL * msg_timeout * 1000 + slack_ms;
}

/* ---- one session's device ---- */
struct session;

/* A thread the session must see finish in bounded time. */
struct job {
	pthread_t th;
	bool started;
	atomic_bool done;
	uint64_t t0;		/* when it began */
	int ret;
	const char *what;
	pid_t tid;
	struct session *s;
	int kind;		/* 0 dev add, 1 dev del */
};

struct session {
	struct fz_rng rng;	/* the main thread's */
	char name[64];
	bool blk;
	uint32_t vq_num;
	uint64_t capacity;	/* sectors, blk */
	bool created;

	/* the daemon */
	pthread_rwlock_t fd_lock;	/* write: closing the node */
	int fd;				/* -1 once closed */
	pthread_t dth;
	bool dstarted;
	atomic_bool dstop;
	atomic_bool ddone;
	uint64_t dead_at;		/* when the last daemon closed its node */
	int mode;
	uint64_t die_at;
	uint64_t dseed;

	struct job jobs[4];
	struct job reader;
	atomic_bool rstop;

	/* IOTLB fds and their mappings, kept across operations */
	int map_fd[NMAPS];
	void *map[NMAPS];
	size_t map_len[NMAPS];
};

enum { M_GOOD, M_GARBAGE, M_LATE, M_NEVER, M_DIE, M_MIXED, M_NR };
static const char *const mode_names[M_NR] = {
	"good", "garbage", "late", "never", "die", "mixed",
};

/* Close the node (the daemon's death); the caller is its only closer. */
static void node_close(struct session *s)
{
	pthread_rwlock_wrlock(&s->fd_lock);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
		s->dead_at = fz_now_ms();
	}
	pthread_rwlock_unlock(&s->fd_lock);
}

static void respond(struct session *s, struct fz_rng *r,
		    const struct vduse_dev_request *req, int how)
{
	struct vduse_dev_response resp;
	char big[sizeof(resp) + 64];
	ssize_t n;
	int fd = s->fd;

	memset(&resp, 0, sizeof(resp));
	resp.request_id = req->request_id;
	resp.result = VDUSE_REQ_RESULT_OK;
	if (req->type == VDUSE_GET_VQ_STATE) {
		resp.vq_state.index = req->vq_state.index;
		resp.vq_state.split.avail_index = 0;
	}
	switch (how) {
	case 0:		/* correct */
		atomic_fetch_add(&cnt[C_GOOD], 1);
		break;
	case 1:		/* random result, random state */
		atomic_fetch_add(&cnt[C_GARBAGE], 1);
		resp.result = fz_chance(r, 50) ? VDUSE_REQ_RESULT_FAILED :
			fz_boundary32(r);
		resp.vq_state.index = fz_boundary32(r);
		resp.vq_state.split.avail_index = fz_rand(r);
		resp.vq_state.packed.last_used_idx = fz_rand(r);
		resp.reserved[fz_below(r, 4)] = fz_rand(r);
		break;
	case 2: {	/* wrong id: refused; then maybe the right answer */
		struct vduse_dev_response bad = resp;

		atomic_fetch_add(&cnt[C_GARBAGE], 1);
		bad.request_id += 1 + fz_below(r, 1000);
		n = write(fd, &bad, sizeof(bad));
		if (n >= 0)
			/* may hit another pending request: that is legal */
			break;
		if (errno != ENOENT)
			violation("%s: response with a wrong id: %s, not ENOENT",
				  s->name, strerror(errno));
		if (fz_chance(r, 50))
			return;
		break;
	}
	case 3:		/* short write */
		atomic_fetch_add(&cnt[C_GARBAGE], 1);
		n = write(fd, &resp, fz_below(r, sizeof(resp)));
		if (n >= 0 || errno != EINVAL)
			violation("%s: short response write gave %zd (%s), not EINVAL",
				  s->name, n, n < 0 ? strerror(errno) : "");
		if (fz_chance(r, 50))
			return;
		break;
	case 4:		/* oversized write: the kernel takes its part */
		atomic_fetch_add(&cnt[C_GARBAGE], 1);
		memset(big, 0xa5, sizeof(big));
		memcpy(big, &resp, sizeof(resp));
		n = write(fd, big, sizeof(resp) + 1 + fz_below(r, 64));
		if (n >= 0 && n != (ssize_t)sizeof(resp))
			violation("%s: oversized response: write returned %zd",
				  s->name, n);
		return;
	}
	n = write(fd, &resp, sizeof(resp));
	if (n >= 0 && n != (ssize_t)sizeof(resp))
		violation("%s: response write returned %zd", s->name, n);
}

/* The daemon: answers requests in the session's manner until told or dead. */
static void *daemon_main(void *arg)
{
	struct session *s = arg;
	struct vduse_dev_request req;
	char rbuf[sizeof(req) + 64];
	struct fz_rng r;
	struct pollfd p;
	int mode = s->mode, how;
	unsigned int nreq = 0, die_after;
	ssize_t n;

	fz_rng_seed(&r, s->dseed);
	die_after = fz_below(&r, 4);
	while (!atomic_load(&s->dstop) && fz_now_ms() < s->die_at) {
		p.fd = s->fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 50) <= 0 || !(p.revents & POLLIN))
			continue;
		if (fz_chance(&r, 5)) {
			n = read(s->fd, rbuf, fz_below(&r, sizeof(req)));
			if (n >= 0 || errno != EINVAL)
				violation("%s: short request read gave %zd (%s), not EINVAL",
					  s->name, n, n < 0 ? strerror(errno) : "");
		}
		/* an oversized read gets one request */
		n = read(s->fd, rbuf, sizeof(req) + (fz_chance(&r, 20) ?
						    fz_below(&r, 64) : 0));
		memcpy(&req, rbuf, sizeof(req));
		if (n < 0)
			continue;
		if (n != (ssize_t)sizeof(req)) {
			violation("%s: request read returned %zd", s->name, n);
			continue;
		}
		atomic_fetch_add(&cnt[C_REQS], 1);
		nreq++;
		if (verbose)
			fz_say("  %s: request type %u id %u\n", s->name, req.type,
			       req.request_id);
		switch (mode == M_MIXED ? (int)fz_below(&r, M_MIXED) : mode) {
		case M_GOOD:
			respond(s, &r, &req, 0);
			break;
		case M_GARBAGE:
			how = fz_below(&r, 5);
			respond(s, &r, &req, how);
			break;
		case M_LATE:
			/* around the timeout: just before or just after */
			atomic_fetch_add(&cnt[C_LATE], 1);
			sleep_ms(msg_timeout * 1000 - 300 + fz_below(&r, 600));
			respond(s, &r, &req, fz_chance(&r, 80) ? 0 : 1);
			break;
		case M_NEVER:
			atomic_fetch_add(&cnt[C_IGNORED], 1);
			break;
		case M_DIE:
			if (nreq > die_after)
				goto die;
			respond(s, &r, &req, 0);
			break;
		}
	}
die:
	if (!atomic_load(&s->dstop))
		atomic_fetch_add(&cnt[C_DIED], 1);
	node_close(s);
	atomic_store(&s->ddone, true);
	return NULL;
}

static void daemon_start(struct session *s)
{
	/* mostly answering daemons that live long enough to get requests */
	static const uint8_t modes[20] = {
		M_GOOD, M_GOOD, M_GOOD, M_GOOD, M_GOOD, M_GOOD, M_GOOD,
		M_MIXED, M_MIXED, M_MIXED, M_MIXED, M_GARBAGE, M_GARBAGE,
		M_GARBAGE, M_LATE, M_LATE, M_NEVER, M_NEVER, M_DIE, M_DIE,
	};

	s->dseed = fz_rand(&s->rng);
	s->mode = modes[fz_below(&s->rng, ARRAY_SIZE(modes))];
	s->die_at = fz_now_ms() + (fz_chance(&s->rng, 20) ?
				   fz_below(&s->rng, life_ms + 1) :
				   life_ms / 2 + fz_below(&s->rng, life_ms / 2 + 1));
	atomic_store(&s->dstop, false);
	atomic_store(&s->ddone, false);
	if (pthread_create(&s->dth, NULL, daemon_main, s)) {
		fz_say("vduse-fuzz: pthread_create failed\n");
		exit(2);
	}
	s->dstarted = true;
	if (verbose)
		fz_say("  %s: daemon %s, dies in %" PRIu64 " ms\n", s->name,
		       mode_names[s->mode], s->die_at - fz_now_ms());
}

static void nop_handler(int sig)
{
	(void)sig;
}

/*
 * Stop the daemon.  Its reads block (a request it saw in poll() may be
 * failed and gone before its read()): SIGUSR1, without SA_RESTART,
 * interrupts them.
 */
static void daemon_stop(struct session *s)
{
	if (!s->dstarted)
		return;
	atomic_store(&s->dstop, true);
	while (!atomic_load(&s->ddone)) {
		pthread_kill(s->dth, SIGUSR1);
		sleep_ms(10);
	}
	pthread_join(s->dth, NULL);
	s->dstarted = false;
}

/* ---- bounded waits ---- */

static void dump_stack(pid_t tid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		fz_say("%s", buf);
	}
}

/* Wait for @j; false (and a violation) if it outlives its bound. */
static bool job_wait(struct session *s, struct job *j)
{
	uint64_t from, end;

	if (!j->started)
		return true;
	for (;;) {
		if (atomic_load(&j->done)) {
			pthread_join(j->th, NULL);
			j->started = false;
			return true;
		}
		from = j->t0 > s->dead_at ? j->t0 : s->dead_at;
		end = from + bound_ms();
		if (s->fd < 0 && fz_now_ms() > end)
			break;
		sleep_ms(20);
	}
	violation("%s: %s still blocked %" PRIu64
		  " ms after the daemon died (bound %" PRIu64 " ms); its stack:",
		  s->name, j->what, fz_now_ms() - s->dead_at, bound_ms());
	dump_stack(j->tid);
	hung = true;
	return false;
}

/* ---- netlink jobs ---- */

static void *nl_main(void *arg)
{
	struct job *j = arg;
	struct fz_nl nl;
	int ret;

	j->tid = gettid();
	ret = fz_nl_open(&nl);
	if (!ret) {
		if (j->kind == 0)
			ret = fz_dev_add(&nl, j->s->name, "vduse");
		else
			ret = fz_dev_del(&nl, j->s->name);
		fz_nl_close(&nl);
	}
	j->ret = ret;
	if (j->kind == 0 && !ret)
		atomic_fetch_add(&cnt[C_ADD_OK], 1);
	if (j->kind == 1 && !ret)
		atomic_fetch_add(&cnt[C_DEL_OK], 1);
	atomic_store(&j->done, true);
	return NULL;
}

static int nl_start(struct session *s, int kind)
{
	struct job *j = NULL;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(s->jobs); i++) {
		if (s->jobs[i].started && atomic_load(&s->jobs[i].done)) {
			pthread_join(s->jobs[i].th, NULL);
			s->jobs[i].started = false;
		}
		if (!s->jobs[i].started && !j)
			j = &s->jobs[i];
	}
	if (!j)
		return -EBUSY;
	memset(j, 0, sizeof(*j));
	j->s = s;
	j->kind = kind;
	j->what = kind ? "vdpa dev del" : "vdpa dev add";
	j->t0 = fz_now_ms();
	atomic_fetch_add(&cnt[kind ? C_DEL : C_ADD], 1);
	if (pthread_create(&j->th, NULL, nl_main, j))
		return -EAGAIN;
	j->started = true;
	return 0;
}

/* ---- the disk reader ---- */

static int disk_of(const char *name, char *dev, size_t len)
{
	char path[600];
	struct dirent *d, *b;
	DIR *dir, *bd;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s", name);
	dir = opendir(path);
	if (!dir)
		return -ENOENT;
	while (ret && (d = readdir(dir))) {
		if (strncmp(d->d_name, "virtio", 6))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s/%s/block",
			 name, d->d_name);
		bd = opendir(path);
		if (!bd)
			continue;
		while ((b = readdir(bd))) {
			if (b->d_name[0] == '.')
				continue;
			snprintf(dev, len, "/dev/%.100s", b->d_name);
			ret = 0;
			break;
		}
		closedir(bd);
	}
	closedir(dir);
	return ret;
}

static void *reader_main(void *arg)
{
	struct job *j = arg;
	struct session *s = j->s;
	struct fz_rng r;
	char dev[128];
	void *buf;
	int fd = -1;
	ssize_t n;

	j->tid = gettid();
	fz_rng_seed(&r, s->dseed ^ 0x5eed);
	if (posix_memalign(&buf, PAGE, 4 * PAGE))
		goto out;
	while (!atomic_load(&s->rstop)) {
		if (fd < 0) {
			if (!disk_of(s->name, dev, sizeof(dev)))
				fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
			if (fd < 0) {
				sleep_ms(50);
				continue;
			}
		}
		atomic_fetch_add(&cnt[C_READS], 1);
		n = pread(fd, buf, PAGE * (1 + fz_below(&r, 4)),
			  PAGE * fz_below(&r, s->capacity / 8 + 1));
		if (n >= 0) {
			atomic_fetch_add(&cnt[C_READ_OK], 1);
		} else {
			atomic_fetch_add(&cnt[C_READ_ERR], 1);
			close(fd);
			fd = -1;
			sleep_ms(20);
		}
	}
	if (fd >= 0)
		close(fd);
	free(buf);
out:
	atomic_store(&j->done, true);
	return NULL;
}

/* ---- configs ---- */

struct cfgbuf {
	struct vduse_dev_config c;
	uint8_t space[PAGE + 64];
};

static const unsigned int blk_bits[] = { 1, 2, 4, 5, 6, 9, 10, 11, 12, 13, 14,
					 28, 29 };
static const unsigned int net_bits[] = { 0, 1, 3, 5, 7, 8, 9, 10, 11, 12, 13,
					 14, 15, 16, 27, 28, 29, 63 };

static void valid_config(struct session *s, struct cfgbuf *b)
{
	struct fz_rng *r = &s->rng;
	unsigned int i;
	uint64_t f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_ACCESS_PLATFORM;

	memset(b, 0, sizeof(*b));
	snprintf(b->c.name, sizeof(b->c.name), "%s", s->name);
	b->c.vendor_id = fz_boundary32(r);
	b->c.vq_align = fz_chance(r, 30) ? (fz_chance(r, 50) ? 4 : PAGE) :
		1U << (2 + fz_below(r, 11));
	if (s->blk) {
		b->c.device_id = VIRTIO_ID_BLOCK;
		for (i = 0; i < ARRAY_SIZE(blk_bits); i++)
			if (fz_chance(r, 25))
				f |= 1ULL << blk_bits[i];
		b->c.vq_num = fz_chance(r, 60) ? 1 : 1 + fz_below(r, 64);
		b->c.config_size = fz_chance(r, 30) ? 8 :
			fz_chance(r, 50) ? 60 : 8 + fz_below(r, PAGE - 7);
		if ((f & 1ULL << 12) && b->c.config_size < 36)
			b->c.config_size = 36;
		/* capacity, then random bytes past it */
		for (i = 8; i < b->c.config_size; i++)
			b->c.config[i] = fz_chance(r, 70) ? 0 : fz_rand(r);
		if (b->c.config_size >= 36) {
			uint16_t nq = fz_chance(r, 70) ? 1 : fz_boundary32(r);

			memcpy(&b->c.config[34], &nq, 2);
		}
		s->capacity = fz_chance(r, 20) ? 0 :
			fz_chance(r, 80) ? 64ULL << fz_below(r, 8) : fz_boundary64(r);
		if (fz_chance(r, 60)) {
			/* a config virtio_blk takes: a disk appears */
			f &= ~(1ULL << 5 | 1ULL << 6 | 1ULL << 10 | 1ULL << 12);
			b->c.vq_num = 1;
			b->c.config_size = 60;
			memset(b->c.config, 0, 60);
			if (!s->capacity || s->capacity > 1ULL << 30)
				s->capacity = 2048;
		}
		memcpy(b->c.config, &s->capacity, 8);
	} else {
		b->c.device_id = VIRTIO_ID_NET;
		for (i = 0; i < ARRAY_SIZE(net_bits); i++)
			if (fz_chance(r, 30))
				f |= 1ULL << net_bits[i];
		b->c.vq_num = 2;
		b->c.config_size = fz_chance(r, 50) ? 12 : 8 + fz_below(r, 64);
		if ((f & 1ULL << 3) && b->c.config_size < 12)
			b->c.config_size = 12;
		for (i = 0; i < b->c.config_size; i++)
			b->c.config[i] = fz_chance(r, 50) ? 0 : fz_rand(r);
		b->c.config[0] = 0x52;	/* a unicast MAC */
	}
	/* packed rings: the kernel follows them as well as split ones */
	if (fz_chance(r, 30))
		f |= 1ULL << VIRTIO_F_RING_PACKED;
	b->c.features = f;
	s->vq_num = b->c.vq_num;
}

/* Mutate a valid config into one the kernel must refuse. */
static const char *invalid_config(struct fz_rng *r, struct cfgbuf *b)
{
	bool net = b->c.device_id == VIRTIO_ID_NET;
	uint32_t v;

	switch (fz_below(r, net ? 13 : 11)) {
	case 0:
		b->c.reserved[fz_below(r, 13)] = 1 | fz_rand(r);
		return "reserved";
	case 1:
		switch (fz_below(r, 4)) {
		case 0:
			b->c.name[0] = 0;
			break;
		case 1:
			b->c.name[1] = '/';
			break;
		case 2:
			memset(b->c.name, 'n', 64);
			b->c.name[64] = 0;
			break;
		default:
			memset(b->c.name, 'x', sizeof(b->c.name));
			break;
		}
		return "name";
	case 2:
		do
			v = fz_boundary32(r);
		while (v == VIRTIO_ID_NET || v == VIRTIO_ID_BLOCK);
		b->c.device_id = v;
		return "device_id";
	case 3:
		b->c.features &= ~(1ULL << VIRTIO_F_VERSION_1);
		return "no VERSION_1";
	case 4:
		b->c.features &= ~(1ULL << VIRTIO_F_ACCESS_PLATFORM);
		return "no ACCESS_PLATFORM";
	case 5:
		b->c.reserved[fz_below(r, 13)] = 1 + fz_below(r, 0xff);
		return "reserved";
	case 6:
		b->c.vq_num = fz_chance(r, 50) ? 0 : 65 + fz_below(r, 0xffff);
		return "vq_num";
	case 7:
		do
			v = fz_boundary32(r);
		while (v >= 4 && v <= PAGE && !(v & (v - 1)));
		b->c.vq_align = v;
		return "vq_align";
	case 8:
		do
			v = fz_boundary32(r);
		while (v >= 8 && v <= PAGE);
		b->c.config_size = v;
		return "config_size";
	case 9:
		snprintf(b->c.name, sizeof(b->c.name), "control");
		return "name control";
	case 10:
		if (!net) {
			b->c.features |= 1ULL << 12;	/* MQ without num_queues */
			b->c.config_size = 8 + fz_below(r, 28);
			return "blk MQ";
		}
		static const uint32_t nq[] = { 1, 3, 4, 6, 64 };

		b->c.vq_num = nq[fz_below(r, ARRAY_SIZE(nq))];
		return "net vq_num";
	case 11:
		b->c.features |= 1ULL << (fz_chance(r, 50) ? 17 : 21 + fz_below(r, 3));
		return "net feature";
	default:
		b->c.features |= 1ULL << 3;	/* MTU without mtu */
		b->c.config_size = 8 + fz_below(r, 4);
		return "net MTU";
	}
}

static int ctl_open(void)
{
	uint64_t api = VDUSE_API_VERSION;
	int fd = open(CTL_PATH, O_RDWR | O_CLOEXEC);

	if (fd >= 0 && ioctl(fd, VDUSE_SET_API_VERSION, &api)) {
		fz_say("vduse-fuzz: SET_API_VERSION: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int destroy(int ctl, const char *name)
{
	char n[VDUSE_NAME_MAX] = { 0 };

	snprintf(n, sizeof(n), "%s", name);
	return ioctl(ctl, VDUSE_DESTROY_DEV, n) ? -errno : 0;
}

/* ---- operations on the node ---- */

/*
 * A mapping of the bounce region faults with SIGBUS while memory is
 * registered with REG_UMEM (as upstream): touching it jumps back here.
 */
static __thread sigjmp_buf touch_env;
static __thread volatile sig_atomic_t touching;

static void sigbus_handler(int sig)
{
	if (!touching) {
		signal(sig, SIG_DFL);
		return;		/* the fault again, now fatal */
	}
	siglongjmp(touch_env, 1);
}

/* One load (or store of @val) of @p[@off], which may fault with SIGBUS. */
static void touch(uint8_t *p, size_t off, bool store, uint8_t val)
{
	if (sigsetjmp(touch_env, 1)) {
		touching = 0;
		atomic_fetch_add(&cnt[C_SIGBUS], 1);
		return;
	}
	touching = 1;
	if (store)
		__atomic_store_n(&p[off], val, __ATOMIC_RELAXED);
	else
		(void)__atomic_load_n(&p[off], __ATOMIC_RELAXED);
	touching = 0;
}

/*
 * The mapped pages are shared with the kernel: access them with relaxed
 * atomics, so that each touch is one real load or store of the byte.
 */
static void unmap_one(struct session *s, unsigned int i, bool load)
{
	uint8_t *p = s->map[i];

	if (!p)
		return;
	if (load)
		touch(p, fz_below(&s->rng, s->map_len[i]), false, 0);
	munmap(s->map[i], s->map_len[i]);
	close(s->map_fd[i]);
	s->map[i] = NULL;
}

static void op_get_fd(struct session *s, int fd)
{
	struct fz_rng *r = &s->rng;
	struct vduse_iotlb_entry e = { 0 };
	unsigned int i, k;
	uint8_t *p;
	size_t len;
	int mfd;

	e.start = fz_chance(r, 70) ? PAGE + PAGE * fz_below(r, 64) : fz_any64(r);
	e.last = fz_chance(r, 70) ? e.start + fz_below(r, 1 << 20) : fz_any64(r);
	e.perm = fz_rand(r);
	mfd = ioctl(fd, VDUSE_IOTLB_GET_FD, &e);
	if (mfd < 0)
		return;
	i = fz_below(r, NMAPS);
	unmap_one(s, i, false);
	len = e.last - e.start + 1;
	if (e.last < e.start || len > (1ULL << 32) || !len) {
		violation("%s: IOTLB_GET_FD returned range %#llx-%#llx", s->name,
			  (unsigned long long)e.start, (unsigned long long)e.last);
		close(mfd);
		return;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, e.offset);
	if (p == MAP_FAILED) {
		close(mfd);
		return;
	}
	atomic_fetch_add(&cnt[C_MAPS], 1);
	/* touch a few pages; rarely scribble over what the driver put there */
	for (k = 0; k < 8; k++)
		touch(p, fz_below(r, len), fz_chance(r, 5), fz_rand(r));
	s->map_fd[i] = mfd;
	s->map[i] = p;
	s->map_len[i] = len;
	if (fz_chance(r, 50))
		unmap_one(s, i, true);
}

/*
 * A valid VDUSE_IOTLB_REG_UMEM (the size GET_INFO reports), its memory
 * scribbled on and unmapped at once while registered (the kernel's pins
 * keep the pages), or a valid DEREG_UMEM: the bounce region's pages are
 * replaced under the driver's traffic.
 */
static void op_umem(struct session *s, int fd)
{
	struct vduse_iova_info ii = { .start = PAGE, .last = PAGE };
	struct vduse_iova_umem um = { 0 };
	struct fz_rng *r = &s->rng;
	unsigned int k;
	uint8_t *p;

	if (ioctl(fd, VDUSE_IOTLB_GET_INFO, &ii) ||
	    !(ii.capability & VDUSE_IOVA_CAP_UMEM))
		return;
	if (ii.start || ii.last < ii.start || ii.last >= (1ULL << 32)) {
		violation("%s: IOTLB_GET_INFO: UMEM region %#llx-%#llx", s->name,
			  (unsigned long long)ii.start,
			  (unsigned long long)ii.last);
		return;
	}
	um.size = ii.last + 1;
	if (fz_chance(r, 40)) {
		if (!ioctl(fd, VDUSE_IOTLB_DEREG_UMEM, &um))
			atomic_fetch_add(&cnt[C_UMEM_DEREG], 1);
		return;
	}
	p = mmap(NULL, um.size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	um.uaddr = (uintptr_t)p;
	if (!ioctl(fd, VDUSE_IOTLB_REG_UMEM, &um)) {
		atomic_fetch_add(&cnt[C_UMEM], 1);
		for (k = 0; k < 8; k++)
			p[fz_below(r, um.size)] = fz_rand(r);
	}
	munmap(p, um.size);
}

static int wrong_fd(struct session *s, int ctl, int *tmp)
{
	struct fz_rng *r = &s->rng;
	int p[2];

	*tmp = -1;
	switch (fz_below(r, 6)) {
	case 0:
		return VDUSE_EVENTFD_DEASSIGN;
	case 1:		/* a closed fd */
		p[0] = eventfd(0, EFD_CLOEXEC);
		if (p[0] >= 0)
			close(p[0]);
		return p[0];
	case 2:		/* a pipe */
		if (pipe2(p, O_CLOEXEC))
			return -1;
		close(p[1]);
		return *tmp = p[0];
	case 3:
		return ctl;
	case 4:
		return fz_boundary32(r);
	default:
		return *tmp = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
}

static void node_op(struct session *s, int ctl, unsigned int op)
{
	struct fz_rng *r = &s->rng;
	union {
		struct vduse_vq_config vq;
		struct vduse_vq_eventfd efd;
		struct vduse_vq_info info;
		struct vduse_iova_info ii;
		struct vduse_iova_umem um;
		struct vduse_config_data cd;
		uint8_t raw[3 * PAGE];
		uint64_t u64;
		uint32_t u32;
	} a;
	int fd, tmp;

	pthread_rwlock_rdlock(&s->fd_lock);
	fd = s->fd;
	if (fd < 0) {
		pthread_rwlock_unlock(&s->fd_lock);
		return;
	}
	memset(&a, 0, sizeof(a));
	switch (op) {
	case 0:
		a.vq.index = fz_chance(r, 80) ? fz_below(r, s->vq_num + 1) :
			fz_boundary32(r);
		a.vq.max_size = fz_chance(r, 70) ? 1U << fz_below(r, 11) :
			fz_boundary32(r);
		if (fz_chance(r, 5))
			a.vq.reserved[fz_below(r, 13)] = 1;
		ioctl(fd, VDUSE_VQ_SETUP, &a.vq);
		break;
	case 1:
		a.efd.index = fz_chance(r, 80) ? fz_below(r, s->vq_num + 1) :
			fz_boundary32(r);
		a.efd.fd = wrong_fd(s, ctl, &tmp);
		ioctl(fd, VDUSE_VQ_SETUP_KICKFD, &a.efd);
		if (tmp >= 0)
			close(tmp);
		break;
	case 2:
		a.u32 = fz_chance(r, 80) ? fz_below(r, s->vq_num + 1) :
			fz_boundary32(r);
		ioctl(fd, VDUSE_VQ_INJECT_IRQ, &a.u32);
		break;
	case 3:
		a.cd.offset = fz_chance(r, 70) ? fz_below(r, 80) : fz_boundary32(r);
		a.cd.length = fz_chance(r, 70) ? fz_below(r, 80) : fz_boundary32(r);
		memset(a.cd.buffer, fz_rand(r), 2 * PAGE);
		ioctl(fd, VDUSE_DEV_SET_CONFIG, &a.cd);
		break;
	case 4:
		ioctl(fd, VDUSE_DEV_INJECT_CONFIG_IRQ);
		break;
	case 5:
		op_get_fd(s, fd);
		break;
	case 6:
		a.ii.start = fz_chance(r, 50) ? PAGE : fz_any64(r);
		a.ii.last = fz_chance(r, 50) ? a.ii.start + fz_below(r, 1 << 24) :
			fz_any64(r);
		if (fz_chance(r, 5))
			a.ii.reserved[fz_below(r, 3)] = 1;
		ioctl(fd, VDUSE_IOTLB_GET_INFO, &a.ii);
		break;
	case 7:
		ioctl(fd, VDUSE_DEV_GET_FEATURES, &a.u64);
		break;
	case 8:
		if (fz_chance(r, 30)) {
			op_umem(s, fd);
			break;
		}
		a.um.uaddr = (uintptr_t)a.raw & ~(PAGE - 1);
		a.um.iova = fz_any64(r);
		a.um.size = fz_any64(r);
		ioctl(fd, fz_chance(r, 50) ? VDUSE_IOTLB_REG_UMEM :
		      VDUSE_IOTLB_DEREG_UMEM, &a.um);
		break;
	case 9:
		a.u32 = fz_chance(r, 80) ? fz_below(r, s->vq_num + 1) :
			fz_boundary32(r);
		ioctl(fd, VDUSE_VQ_GET_INFO, &a.info);
		break;
	default:	/* an ioctl the node does not have */
		ioctl(fd, _IOC(fz_below(r, 4), VDUSE_BASE, 0x1b + fz_below(r, 8),
			       fz_below(r, 64)), a.raw);
		break;
	}
	pthread_rwlock_unlock(&s->fd_lock);
}

/* ---- a session ---- */

static void bad_creates(struct session *s, int ctl)
{
	struct cfgbuf *b = malloc(sizeof(*b));
	unsigned int i, n = fz_below(&s->rng, 4);
	const char *what;
	int ret;

	for (i = 0; b && i < n; i++) {
		valid_config(s, b);
		what = invalid_config(&s->rng, b);
		atomic_fetch_add(&cnt[C_BADCFG], 1);
		atomic_fetch_add(&cnt[C_OPS], 1);
		ret = ioctl(ctl, VDUSE_CREATE_DEV, b) ? -errno : 0;
		if (ret != -EINVAL) {
			violation("create with a bad config (%s) gave %s, not EINVAL",
				  what, ret ? strerror(-ret) : "success");
			if (!ret) {
				b->c.name[VDUSE_NAME_MAX - 1] = 0;
				destroy(ctl, b->c.name);
			}
		}
	}
	free(b);
}

static bool gone(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "/sys/bus/vdpa/devices/%s", name);
	if (!access(p, F_OK))
		return false;
	snprintf(p, sizeof(p), "/dev/vduse/%s", name);
	return access(p, F_OK) != 0;
}

/* Returns false if the run cannot go on (a stuck thread). */
static bool session(unsigned int sn, int ctl, uint64_t budget)
{
	struct session *s = calloc(1, sizeof(*s));
	struct cfgbuf *b = malloc(sizeof(*b));
	struct fz_nl nl;
	uint64_t i, t0;
	unsigned int k;
	char path[128];
	int ret, fd2;
	bool ok = true;

	if (!s || !b)
		exit(2);
	fz_rng_seed(&s->rng, seed * 1000003 + sn);
	pthread_rwlock_init(&s->fd_lock, NULL);
	s->fd = -1;
	s->dead_at = 0;
	snprintf(s->name, sizeof(s->name), NAME_PFX "%u", sn % 8);
	s->blk = fz_chance(&s->rng, 60);
	atomic_fetch_add(&cnt[C_SESSIONS], 1);
	atomic_fetch_add(&cnt[s->blk ? C_BLK : C_NET], 1);

	bad_creates(s, ctl);
	valid_config(s, b);
	ret = ioctl(ctl, VDUSE_CREATE_DEV, b) ? -errno : 0;
	atomic_fetch_add(&cnt[C_OPS], 1);
	if (ret) {
		violation("%s: create (%s, %u vqs, align %u, config %u, features %#llx) failed: %s",
			  s->name, s->blk ? "blk" : "net", b->c.vq_num, b->c.vq_align,
			  b->c.config_size, (unsigned long long)b->c.features,
			  strerror(-ret));
		goto out;
	}
	s->created = true;
	ret = ioctl(ctl, VDUSE_CREATE_DEV, b) ? -errno : 0;
	if (ret != -EEXIST)
		violation("%s: a second create gave %s, not EEXIST", s->name,
			  strerror(-ret));
	snprintf(path, sizeof(path), "/dev/vduse/%s", s->name);
	for (k = 0; k < 200 && s->fd < 0; k++) {
		s->fd = open(path, O_RDWR | O_CLOEXEC);
		if (s->fd < 0)
			sleep_ms(10);
	}
	if (s->fd < 0) {
		violation("%s: cannot open %s: %s", s->name, path, strerror(errno));
		goto cleanup;
	}
	/* every queue, mostly valid: an unset one makes dev add fail */
	for (k = 0; k < s->vq_num; k++) {
		struct vduse_vq_config vq = { .index = k };

		vq.max_size = fz_chance(&s->rng, 95) ?
			(fz_chance(&s->rng, 20) ? (fz_chance(&s->rng, 50) ? 1 : 1024) :
			 64 << fz_below(&s->rng, 5)) : 0;
		ioctl(s->fd, VDUSE_VQ_SETUP, &vq);
	}
	if (verbose)
		fz_say("session %u: %s %s, %u vqs, capacity %" PRIu64 "\n", sn,
		       s->name, s->blk ? "blk" : "net", s->vq_num, s->capacity);
	daemon_start(s);
	if (s->blk) {
		s->reader.s = s;
		s->reader.what = "a read of the disk";
		s->reader.t0 = fz_now_ms();
		if (!pthread_create(&s->reader.th, NULL, reader_main, &s->reader))
			s->reader.started = true;
	}

	/* attach at once, mostly: the requests come while the daemon lives */
	if (fz_chance(&s->rng, 70))
		nl_start(s, 0);
	t0 = fz_now_ms();
	for (i = 0; i < budget; i++) {
		unsigned int op = fz_below(&s->rng, 100);

		atomic_fetch_add(&cnt[C_OPS], 1);
		if (op < 55) {
			node_op(s, ctl, fz_below(&s->rng, 11));
		} else if (op < 67) {
			nl_start(s, 0);
		} else if (op < 75) {
			nl_start(s, 1);
		} else if (op < 78) {
			/* DESTROY_DEV: refused while open or attached */
			pthread_rwlock_rdlock(&s->fd_lock);
			ret = destroy(ctl, s->name);
			if (!ret && s->fd >= 0)
				violation("%s: destroyed while its node is open",
					  s->name);
			pthread_rwlock_unlock(&s->fd_lock);
			if (!ret) {
				atomic_fetch_add(&cnt[C_DESTROY_OK], 1);
				s->created = false;
				break;
			}
		} else if (op < 81) {
			/* a second open: EBUSY while the daemon has it */
			pthread_rwlock_rdlock(&s->fd_lock);
			fd2 = open(path, O_RDWR | O_CLOEXEC);
			if (fd2 >= 0 && s->fd >= 0)
				violation("%s: a second open of the node succeeded",
					  s->name);
			pthread_rwlock_unlock(&s->fd_lock);
			if (fd2 < 0)
				continue;
			if (s->fd < 0 && fz_chance(&s->rng, 60)) {
				/* a new daemon on the same device */
				daemon_stop(s);
				pthread_rwlock_wrlock(&s->fd_lock);
				s->fd = fd2;
				pthread_rwlock_unlock(&s->fd_lock);
				atomic_fetch_add(&cnt[C_RESTART], 1);
				daemon_start(s);
			} else {
				close(fd2);
			}
		} else if (op < 83) {
			daemon_stop(s);		/* the daemon dies now */
		} else if (op < 86) {
			ret = fz_nl_open(&nl);
			if (!ret) {	/* a name VDUSE does not have */
				ret = fz_dev_add(&nl, NAME_PFX "-none", "vduse");
				if (!ret)
					violation("dev add of an unknown VDUSE name succeeded");
				fz_nl_close(&nl);
			}
		} else if (op < 90) {
			unmap_one(s, fz_below(&s->rng, NMAPS), true);
		} else {
			sleep_ms(fz_below(&s->rng, 300));
		}
		if (deadline_ms && fz_now_ms() > deadline_ms)
			break;
	}
	if (verbose)
		fz_say("  %s: %" PRIu64 " ops in %" PRIu64 " ms\n", s->name, i,
		       fz_now_ms() - t0);

cleanup:
	/*
	 * Half the time the daemon lives out its life first, the disk's
	 * reader and the netlink threads blocked on it; then it dies if it
	 * has not, and everything it blocked must return.
	 */
	if (fz_chance(&s->rng, 50))
		while (s->dstarted && !atomic_load(&s->ddone) &&
		       fz_now_ms() < s->die_at + 100)
			sleep_ms(20);
	daemon_stop(s);
	node_close(s);
	atomic_store(&s->rstop, true);
	for (k = 0; k < ARRAY_SIZE(s->jobs); k++)
		ok &= job_wait(s, &s->jobs[k]);
	if (ok)
		ok &= job_wait(s, &s->reader);
	if (!ok)
		goto out;
	/* detach (bounded too) and destroy */
	if (nl_start(s, 1) == 0)
		ok &= job_wait(s, &s->jobs[0]);
	if (!ok)
		goto out;
	/* mappings may outlive the device: touch them after destroy */
	if (s->created) {
		ret = destroy(ctl, s->name);
		if (ret)
			violation("%s: DESTROY_DEV after clean-up: %s", s->name,
				  strerror(-ret));
		else
			atomic_fetch_add(&cnt[C_DESTROY_OK], 1);
	}
	for (k = 0; k < NMAPS; k++)
		unmap_one(s, k, true);
	for (k = 0; k < 100 && !gone(s->name); k++)
		sleep_ms(20);
	if (!gone(s->name))
		violation("%s: a vdpa device or /dev/vduse node is left after clean-up",
			  s->name);
out:
	if (ok)
		free(s);	/* else a thread still uses it */
	free(b);
	return ok;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s SEED] [-n OPS] [-T SECS] [-m MSG_TIMEOUT] [-L LIFE_MS] [-S SLACK_MS] [-v]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct fz_run_opts run = { seed, nops, deadline_ms };
	char old_timeout[32] = "", val[32];
	uint64_t t0, budget;
	struct fz_rng top;
	unsigned int sn = 0, k;
	int c, ctl, fd;
	ssize_t n;

	while ((c = getopt(argc, argv, "s:n:T:m:L:S:vh")) != -1) {
		switch (c) {
		case 'm':
			msg_timeout = strtoul(optarg, NULL, 0);
			break;
		case 'L':
			life_ms = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			slack_ms = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			if (!fz_run_opt(c, optarg, &run))
				usage(argv[0]);
		}
	}
	seed = run.seed;
	nops = run.nops;
	deadline_ms = run.deadline_ms;
	if (optind != argc || !msg_timeout)
		usage(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	{
		/* REG_UMEM pins a bounce region per session (no exemption) */
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	{
		struct sigaction sa = { .sa_handler = nop_handler };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
		sa.sa_handler = sigbus_handler;
		sigaction(SIGBUS, &sa, NULL);
	}
	t0 = fz_now_ms();
	if (deadline_ms)
		deadline_ms += t0;

	ctl = ctl_open();
	if (ctl < 0) {
		fz_say("vduse-fuzz: cannot open %s: %s\n", CTL_PATH, strerror(errno));
		return 2;
	}
	fd = open(TIMEOUT_PARAM, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, old_timeout, sizeof(old_timeout) - 1);
		old_timeout[n > 0 ? n : 0] = 0;
		close(fd);
	}
	snprintf(val, sizeof(val), "%u", msg_timeout);
	if (fz_write_file(TIMEOUT_PARAM, val))
		fz_say("vduse-fuzz: cannot set msg_timeout: the bounds use %u s anyway\n",
		       msg_timeout);
	fz_say("vduse-fuzz: seed %" PRIu64 " ops %" PRIu64
	       " msg_timeout %u s, daemon life <= %u ms, bound %" PRIu64 " ms\n",
	       seed, nops, msg_timeout, life_ms, bound_ms());
	fz_kmsg("vduse-fuzz: start seed %" PRIu64 " ops %" PRIu64 "\n", seed, nops);

	fz_rng_seed(&top, seed);
	while (atomic_load(&cnt[C_OPS]) < nops) {
		if (deadline_ms && fz_now_ms() > deadline_ms) {
			fz_say("vduse-fuzz: time limit reached\n");
			break;
		}
		budget = 5 + fz_below(&top, 60);
		fz_kmsg("vduse-fuzz: seed %" PRIu64 " session %u op %lu\n", seed, sn,
			atomic_load(&cnt[C_OPS]));
		if (!session(sn++, ctl, budget))
			break;
	}

	/* nothing of ours may be left */
	for (k = 0; !hung && k < 8; k++) {
		char name[16];

		snprintf(name, sizeof(name), NAME_PFX "%u", k);
		if (!gone(name))
			violation("%s is left at the end", name);
	}
	close(ctl);
	if (old_timeout[0])
		fz_write_file(TIMEOUT_PARAM, old_timeout);

	fz_say_lock();
	printf("vduse-fuzz: done seed %" PRIu64 " ops %lu in %.1fs, %u invariant violations\n",
	       seed, atomic_load(&cnt[C_OPS]), (fz_now_ms() - t0) / 1000.0,
	       atomic_load(&violations));
	printf("VDUSE-FUZZ-RESULT seed=%" PRIu64, seed);
	for (k = 0; k < C_NR; k++)
		printf(" %s=%lu", cnames[k], atomic_load(&cnt[k]));
	printf(" viol=%u%s\n", atomic_load(&violations), hung ? " HUNG" : "");
	fflush(stdout);
	fz_say_unlock();
	fz_kmsg("vduse-fuzz: done seed %" PRIu64 "\n", seed);
	if (hung)
		_exit(1);
	return atomic_load(&violations) ? 1 : 0;
}
