// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa-abuse: lifecycle and fault-injection scenarios for
 * tests/cases/80-abuse.sh.  Each subcommand drives /dev/vhost-vdpa-N (and
 * the vdpa netlink family) through one abuse scenario, checks what the
 * client must see (errno, VmPin) and exits 0 if all was as expected, 1 if
 * not (saying why), 77 if the scenario cannot run here.
 *
 *   failmap NODE DBGDIR      simulator fail_map knob on UPDATE, INVALIDATE,
 *                            BATCH_END and close
 *   ringerr NODE DBGDIR      malformed rings: ring_errors counts them, the
 *                            device recovers after a reset
 *   usedfault NODE DBGDIR    drop_used / corrupt_used knobs: the client sees
 *                            no completion / a bad one; a reset recovers
 *   delbatch NAME            delete the device while the fd is open,
 *                            mid-batch, with kicks in flight
 *   mapforever NODE          map and unmap in a loop until killed
 *   memlock NODE             RLIMIT_MEMLOCK exhaustion and accounting
 *   retired NODE CAP         a batch that overflows the table of removed
 *                            ranges (vhost_vdpa.max_iotlb_entries = CAP):
 *                            nothing the parent may reach is unpinned, and
 *                            every pinned page stays charged
 *   memlock_batch NODE N     N x (UPDATE a fresh 1 MiB, INVALIDATE it) in
 *                            one batch with RLIMIT_MEMLOCK 1 MiB: pins never
 *                            exceed the limit
 *   race NODE ITERS          threads racing ioctls, IOTLB writes and kicks
 *   openclose NODE N         N open/close cycles
 *   hold NODE                run a device, print "ready", wait for SIGUSR1,
 *                            then report what the fd answers and exit
 *   failnth OP NAME [MAX]    fail the 1st, 2nd... fault-injection point of
 *                            OP (devadd, open, update, status, vring,
 *                            start) via /proc/thread-self/fail-nth
 *   cycle NAME N [-F]        N rounds of add, open, map, start, close, del;
 *                            -F sets /proc/self/make-it-fail first
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/vdpa.h>

#include "fz_common.h"
#include "vdpa_user.h"

#define PAGE		4096UL
#define MEM_IOVA	0x100000ULL
#define MEM_LEN		0x100000UL
#define MEM_MID		(MEM_IOVA + 0x80000)	/* a mapped buffer, half way in */
#define EXTRA_IOVA	0x40000000ULL
#define NET_HDR		12

static int failures;

static void check(bool ok, const char *fmt, ...) __printf(2, 3);
static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("%s: ", ok ? "ok" : "FAIL");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	if (!ok)
		failures++;
}

static void __noreturn die(const char *fmt, ...) __printf(1, 2);
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static void *anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu: %s", len, strerror(errno));
	return p;
}

static int read_u64_file(const char *dir, const char *name, uint64_t *v)
{
	char path[256];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fscanf(f, "%" SCNu64, v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

static void knob(const char *dir, const char *name, unsigned int v)
{
	char path[256], val[16];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(val, sizeof(val), "%u", v);
	if (fz_write_file(path, val))
		die("cannot write %s", path);
}

static void set_memlock(rlim_t v)
{
	struct rlimit rl = { v, v };

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		die("setrlimit: %s", strerror(errno));
}

/* A running virtio-net driver: 1 MiB mapped, rx/tx rings, DRIVER_OK. */
static int start_net(struct vdpa_dev *d, const char *node, bool map)
{
	uint64_t backend = VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) |
			   VDPA_BIT(VHOST_BACKEND_F_IOTLB_BATCH);
	uint64_t want = VDPA_BIT(VIRTIO_F_VERSION_1) |
			VDPA_BIT(VIRTIO_F_ACCESS_PLATFORM) |
			VDPA_BIT(VIRTIO_NET_F_MAC);
	int ret, i;

	ret = vdpa_open(d, node);
	if (!ret)
		ret = vdpa_query(d);
	if (!ret)
		ret = vdpa_set_owner(d);
	if (!ret)
		ret = vdpa_set_backend_features(d, backend);
	if (!ret)
		ret = vdpa_negotiate(d, want);
	if (!ret && map)
		ret = vdpa_mem_map(d, MEM_LEN, MEM_IOVA, 0);
	for (i = 0; !ret && i < 2; i++)
		ret = vdpa_vq_setup(d, i, 64, 2048);
	for (i = 0; !ret && i < 2; i++)
		ret = vdpa_vq_enable(d, i, true);
	if (!ret)
		ret = vdpa_driver_ok(d);
	return ret;
}

/* Restart after a reset: renegotiate, remap, new rings. */
static int restart_net(struct vdpa_dev *d)
{
	uint64_t want = VDPA_BIT(VIRTIO_F_VERSION_1) |
			VDPA_BIT(VIRTIO_F_ACCESS_PLATFORM) |
			VDPA_BIT(VIRTIO_NET_F_MAC);
	int ret, i;

	ret = vdpa_negotiate(d, want);
	/* the parent forgot the maps with the reset: map again */
	if (!ret)
		ret = vdpa_iotlb_invalidate(d, 0, d->mem_iova, d->mem_len);
	if (!ret)
		ret = vdpa_iotlb_update(d, 0, d->mem_iova, d->mem_len, d->mem,
					VHOST_ACCESS_RW);
	d->mem_used = 0;
	for (i = 0; !ret && i < 2; i++)
		ret = vdpa_vq_setup(d, i, 64, 2048);
	for (i = 0; !ret && i < 2; i++)
		ret = vdpa_vq_enable(d, i, true);
	if (!ret)
		ret = vdpa_driver_ok(d);
	return ret;
}

/*
 * One broadcast frame from tx loops back into rx within @ms: 1 if it did,
 * 0 if nothing came, < 0 if the used ring made no sense.
 */
static int loopback_wait(struct vdpa_dev *d, int ms)
{
	uint8_t frame[NET_HDR + 60];
	struct vdpa_used u;
	int ret;

	memset(frame, 0, sizeof(frame));
	memset(frame + NET_HDR, 0xff, 6);
	frame[NET_HDR + 12] = 0x08;
	ret = vdpa_vq_add_buf(&d->vq[0], NULL, 2048, true, NULL);
	if (ret < 0)
		return false;
	ret = vdpa_vq_add_buf(&d->vq[1], frame, sizeof(frame), false, NULL);
	if (ret < 0)
		return false;
	vdpa_vq_kick(&d->vq[0]);
	vdpa_vq_kick(&d->vq[1]);
	if (vdpa_vq_wait(&d->vq[0], ms) <= 0)
		return 0;
	ret = vdpa_vq_get_used(&d->vq[0], &u);
	while (vdpa_vq_get_used(&d->vq[1], &u) > 0)
		;
	return ret;
}

static bool loopback_once(struct vdpa_dev *d)
{
	return loopback_wait(d, 5000) > 0;
}

static long vmpin(void)
{
	return fz_vmpin_kb();
}

/* ---- failmap ---- */

static int cmd_failmap(const char *node, const char *dbg)
{
	struct vdpa_dev d;
	uint8_t *extra = anon(64 * PAGE);
	uint64_t left;
	ssize_t n;
	int ret;

	set_memlock(RLIM_INFINITY);
	ret = start_net(&d, node, true);
	if (ret)
		die("start: %s", strerror(-ret));
	check(loopback_once(&d), "traffic before any injection");

	/* UPDATE refused by the parent: EFAULT, nothing stays pinned */
	knob(dbg, "fail_map", 1);
	n = vdpa_iotlb_msg(d.fd, VHOST_IOTLB_MSG_V2, 0, VHOST_IOTLB_UPDATE,
			   EXTRA_IOVA, 64 * PAGE, (uintptr_t)extra,
			   VHOST_ACCESS_RW);
	check(n == -EFAULT, "UPDATE with fail_map: %zd (want -EFAULT)", n);
	check(!read_u64_file(dbg, "fail_map", &left) && !left,
	      "fail_map consumed");
	check(vmpin() == (long)(MEM_LEN / 1024),
	      "VmPin after the refused UPDATE: %ld kB (want %lu)", vmpin(),
	      MEM_LEN / 1024);
	check(loopback_once(&d), "the old table stays in force");

	/* the same UPDATE again works */
	ret = vdpa_iotlb_update(&d, 0, EXTRA_IOVA, 64 * PAGE, extra,
				VHOST_ACCESS_RW);
	check(!ret, "UPDATE after the injection: %d", ret);

	/*
	 * INVALIDATE refused: only logged (upstream ABI), then recovers.
	 * The simulator refuses the single removal (set_map_remove), then
	 * the whole table vhost-vdpa falls back to.
	 */
	knob(dbg, "fail_map", 2);
	ret = vdpa_iotlb_invalidate(&d, 0, EXTRA_IOVA, 64 * PAGE);
	check(!ret, "INVALIDATE with fail_map returns %d (logged only)", ret);
	check(!read_u64_file(dbg, "fail_map", &left) && !left,
	      "removal and table both refused (fail_map left %llu)",
	      (unsigned long long)left);
	/* the parent still translates the range: pinned and charged */
	check(vmpin() == (long)((MEM_LEN + 64 * PAGE) / 1024),
	      "VmPin after it: %ld kB (the removed range is still charged)",
	      vmpin());
	check(loopback_once(&d), "traffic after a refused INVALIDATE");

	/* a refused BATCH_END is reported */
	ret = vdpa_iotlb_batch_begin(&d, 0);
	if (!ret)
		ret = vdpa_iotlb_update(&d, 0, EXTRA_IOVA, 64 * PAGE, extra,
					VHOST_ACCESS_RW);
	check(!ret, "UPDATE inside a batch: %d", ret);
	knob(dbg, "fail_map", 1);
	ret = vdpa_iotlb_batch_end(&d, 0);
	check(ret == -EFAULT, "BATCH_END with fail_map: %d (want -EFAULT)", ret);
	check(loopback_once(&d), "traffic after a refused BATCH_END");
	ret = vdpa_iotlb_invalidate(&d, 0, EXTRA_IOVA, 64 * PAGE);
	check(!ret, "INVALIDATE after it: %d", ret);
	check(vmpin() == (long)(MEM_LEN / 1024),
	      "VmPin once a table is accepted: %ld kB", vmpin());

	/* close with the empty-table push refused: still unpinned */
	ret = vdpa_iotlb_update(&d, 0, EXTRA_IOVA, 64 * PAGE, extra,
				VHOST_ACCESS_RW);
	check(!ret, "UPDATE before close: %d", ret);
	knob(dbg, "fail_map", 2);
	vdpa_close(&d);
	check(vmpin() == 0, "VmPin after close: %ld kB", vmpin());
	knob(dbg, "fail_map", 0);
	munmap(extra, 64 * PAGE);
	return failures ? 1 : 0;
}

/* ---- ringerr ---- */

static void post_raw(struct vdpa_vq *vq, uint16_t head, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next,
		     uint16_t idx_step)
{
	vq->desc[head].addr = htole64(addr);
	vq->desc[head].len = htole32(len);
	vq->desc[head].flags = htole16(flags);
	vq->desc[head].next = htole16(next);
	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = htole16(head);
	vq->avail_idx += idx_step;
	__atomic_store_n(&vq->avail->idx, htole16(vq->avail_idx),
			 __ATOMIC_RELEASE);
	vdpa_vq_kick(vq);
}

static int cmd_ringerr(const char *node, const char *dbg)
{
	static const struct {
		const char *what;
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next, step;
		bool counted;	/* a ring error, not just a failed copy */
	} bad[] = {
		{ "unmapped buffer", 0xdead0000ULL, 64, 0, 0, 1, false },
		{ "descriptor loop", MEM_MID, 64, VRING_DESC_F_NEXT, 5, 1, true },
		{ "next out of range", MEM_MID, 64, VRING_DESC_F_NEXT, 1000, 1, true },
		{ "avail index jump", MEM_MID, 64, 0, 0, 200, true },
		{ "indirect table unmapped", 0xbeef000ULL, 160, VRING_DESC_F_INDIRECT, 0, 1, true },
		{ "indirect bad length", MEM_MID, 15, VRING_DESC_F_INDIRECT, 0, 1, true },
	};
	struct vdpa_dev d;
	uint64_t before, after, t0;
	unsigned int i;
	int ret;

	set_memlock(RLIM_INFINITY);
	ret = start_net(&d, node, true);
	if (ret)
		die("start: %s", strerror(-ret));
	check(loopback_once(&d), "traffic before");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (read_u64_file(dbg, "ring_errors", &before))
			die("no ring_errors in %s", dbg);
		/* the tx queue; descriptor 5 points to itself for the loop */
		post_raw(&d.vq[1], 5, bad[i].addr, bad[i].len, bad[i].flags,
			 bad[i].next, bad[i].step);
		t0 = fz_now_ms();
		do {
			usleep(20000);
			read_u64_file(dbg, "ring_errors", &after);
		} while (after == before && bad[i].counted &&
			 fz_now_ms() - t0 < 5000);
		check(after > before || !bad[i].counted,
		      "%s: ring_errors %" PRIu64 " -> %" PRIu64, bad[i].what,
		      before, after);
		ret = restart_net(&d);
		check(!ret, "%s: reset and restart: %d", bad[i].what, ret);
		if (ret)
			break;
		check(loopback_once(&d), "%s: traffic after the reset",
		      bad[i].what);
	}
	vdpa_close(&d);
	check(vmpin() == 0, "VmPin after close: %ld kB", vmpin());
	return failures ? 1 : 0;
}

/* ---- usedfault ---- */

static int cmd_usedfault(const char *node, const char *dbg)
{
	char path[256];
	struct vdpa_dev d;
	uint64_t left;
	int ret;

	snprintf(path, sizeof(path), "%s/drop_used", dbg);
	if (access(path, F_OK)) {
		printf("skip: no %s\n", path);
		return 77;
	}
	set_memlock(RLIM_INFINITY);
	ret = start_net(&d, node, true);
	if (ret)
		die("start: %s", strerror(-ret));
	check(loopback_once(&d), "traffic before");

	/* the rx completion is swallowed: the client never sees it */
	knob(dbg, "drop_used", 1);
	ret = loopback_wait(&d, 1000);
	check(ret == 0, "dropped used entry: nothing completes (%d)", ret);
	check(!read_u64_file(dbg, "drop_used", &left) && !left,
	      "drop_used consumed");
	ret = restart_net(&d);
	check(!ret, "reset and restart: %d", ret);
	check(loopback_once(&d), "traffic after the reset");

	/* an out-of-range id is published: the client detects it */
	knob(dbg, "corrupt_used", 1);
	ret = loopback_wait(&d, 5000);
	check(ret == -EPROTO, "corrupted used entry: %d (want -EPROTO)", ret);
	check(!read_u64_file(dbg, "corrupt_used", &left) && !left,
	      "corrupt_used consumed");
	ret = restart_net(&d);
	check(!ret, "reset and restart: %d", ret);
	check(loopback_once(&d), "traffic after the reset");

	vdpa_close(&d);
	check(vmpin() == 0, "VmPin after close: %ld kB", vmpin());
	return failures ? 1 : 0;
}

/* ---- delbatch ---- */

static atomic_int kicker_stop;

static void *kicker(void *arg)
{
	struct vdpa_dev *d = arg;
	uint64_t one = 1;

	while (!kicker_stop) {
		if (write(d->vq[1].kick_fd, &one, 8) < 0)
			break;
		if (write(d->vq[0].kick_fd, &one, 8) < 0)
			break;
	}
	return NULL;
}

static int cmd_delbatch(const char *name)
{
	uint8_t *extra = anon(4 << 20);
	char node[64];
	struct vdpa_dev d;
	struct fz_nl nl;
	pthread_t tid;
	uint64_t t0, ms;
	uint8_t st;
	int ret, i;

	set_memlock(RLIM_INFINITY);
	if (fz_nl_open(&nl))
		die("no vdpa netlink family");
	if (fz_wait_node(name, node, sizeof(node), 5000))
		die("no vhost-vdpa node for %s", name);
	ret = start_net(&d, node, true);
	if (ret)
		die("start: %s", strerror(-ret));
	for (i = 0; i < 32; i++)
		vdpa_vq_add_buf(&d.vq[0], NULL, 2048, true, NULL);
	pthread_create(&tid, NULL, kicker, &d);

	ret = vdpa_iotlb_batch_begin(&d, 0);
	for (i = 0; !ret && i < 4; i++)
		ret = vdpa_iotlb_update(&d, 0, EXTRA_IOVA + i * (1 << 20),
					1 << 20, extra + i * (1 << 20),
					VHOST_ACCESS_RW);
	check(!ret, "batch of 4 UPDATEs: %d", ret);
	check(vmpin() == 5 * 1024, "VmPin mid-batch: %ld kB (want 5120)",
	      vmpin());

	alarm(60);
	t0 = fz_now_ms();
	ret = fz_dev_del(&nl, name);
	ms = fz_now_ms() - t0;
	alarm(0);
	check(!ret, "dev del with the fd open mid-batch: %d (%" PRIu64 " ms)",
	      ret, ms);
	check(ms < 20000, "dev del returned promptly");
	kicker_stop = 1;
	pthread_join(tid, NULL);

	ret = vdpa_iotlb_update(&d, 0, 0x80000000ULL, PAGE, extra,
				VHOST_ACCESS_RW);
	check(ret == -ENODEV, "UPDATE after removal: %d (want -ENODEV)", ret);
	ret = vdpa_iotlb_batch_end(&d, 0);
	check(ret == -ENODEV, "BATCH_END after removal: %d (want -ENODEV)", ret);
	ret = ioctl(d.fd, VHOST_VDPA_GET_STATUS, &st) ? -errno : 0;
	check(ret == -ENODEV, "GET_STATUS after removal: %d (want -ENODEV)", ret);
	check(vmpin() == 0, "VmPin after removal, fd still open: %ld kB",
	      vmpin());
	check(access(node, F_OK) != 0, "%s is gone", node);
	ret = close(d.fd) ? -errno : 0;
	d.fd = -1;
	check(!ret, "close after removal: %d", ret);
	vdpa_close(&d);
	fz_nl_close(&nl);
	return failures ? 1 : 0;
}

/* ---- mapforever ---- */

static int cmd_mapforever(const char *node)
{
	size_t len = 8 << 20;
	uint8_t *mem = anon(len);
	struct vdpa_dev d;
	bool said = false;
	int ret;

	set_memlock(RLIM_INFINITY);
	ret = vdpa_open(&d, node);
	if (!ret)
		ret = vdpa_set_owner(&d);
	if (ret)
		die("open: %s", strerror(-ret));
	for (;;) {
		ret = vdpa_iotlb_update(&d, 0, MEM_IOVA, len, mem,
					VHOST_ACCESS_RW);
		if (ret)
			die("UPDATE: %s", strerror(-ret));
		if (!said) {
			printf("ready\n");
			fflush(stdout);
			said = true;
		}
		ret = vdpa_iotlb_invalidate(&d, 0, MEM_IOVA, len);
		if (ret)
			die("INVALIDATE: %s", strerror(-ret));
	}
}

/* Open and own @node, IOTLB V2 messages and batches acked; dies on error. */
static void open_batching(struct vdpa_dev *d, const char *node)
{
	int ret;

	ret = vdpa_open(d, node);
	if (!ret)
		ret = vdpa_set_owner(d);
	if (!ret)
		ret = vdpa_set_backend_features(d,
						VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) |
						VDPA_BIT(VHOST_BACKEND_F_IOTLB_BATCH));
	if (ret)
		die("open: %s", strerror(-ret));
}

/* ---- memlock ---- */

static int cmd_memlock(const char *node)
{
	uint8_t *mem = anon(1 << 20);
	struct vdpa_dev d;
	int ret;

	open_batching(&d, node);
	set_memlock(64 * PAGE);

	ret = vdpa_iotlb_update(&d, 0, 0x100000, 32 * PAGE, mem, VHOST_ACCESS_RW);
	check(!ret, "UPDATE half the limit: %d", ret);
	ret = vdpa_iotlb_update(&d, 0, 0x200000, 64 * PAGE, mem + 32 * PAGE,
				VHOST_ACCESS_RW);
	check(ret == -EFAULT, "UPDATE over the limit: %d (want -EFAULT)", ret);
	check(vmpin() == 128, "VmPin after the refusal: %ld kB (want 128)",
	      vmpin());
	ret = vdpa_iotlb_update(&d, 0, 0x200000, 32 * PAGE, mem + 32 * PAGE,
				VHOST_ACCESS_RO);
	check(!ret, "UPDATE up to exactly the limit: %d", ret);
	check(vmpin() == 256, "VmPin at the limit: %ld kB", vmpin());
	ret = vdpa_iotlb_update(&d, 0, 0x300000, PAGE, mem + 64 * PAGE,
				VHOST_ACCESS_RW);
	check(ret == -EFAULT, "one page more: %d (want -EFAULT)", ret);
	ret = vdpa_iotlb_update(&d, 0, 0x400000, 1ULL << 40, mem,
				VHOST_ACCESS_RW);
	check(ret == -EFAULT, "1 TiB UPDATE: %d (want -EFAULT)", ret);

	/* remap inside a batch: the removal uncharges first */
	ret = vdpa_iotlb_batch_begin(&d, 0);
	if (!ret)
		ret = vdpa_iotlb_invalidate(&d, 0, 0x100000, 32 * PAGE);
	if (!ret)
		ret = vdpa_iotlb_update(&d, 0, 0x500000, 32 * PAGE, mem,
					VHOST_ACCESS_RW);
	if (!ret)
		ret = vdpa_iotlb_batch_end(&d, 0);
	check(!ret, "remap at the limit inside a batch: %d", ret);
	check(vmpin() == 256, "VmPin after the remap: %ld kB", vmpin());

	set_memlock(0);
	ret = vdpa_iotlb_update(&d, 0, 0x600000, PAGE, mem + 100 * PAGE,
				VHOST_ACCESS_RW);
	check(ret == -EFAULT, "UPDATE with RLIMIT_MEMLOCK 0: %d", ret);
	ret = vdpa_iotlb_invalidate(&d, 0, 0, 0);
	check(!ret, "INVALIDATE of the whole space: %d", ret);
	check(vmpin() == 0, "VmPin after it: %ld kB", vmpin());
	ret = vdpa_iotlb_update(&d, 0, 0x100000, 16 * PAGE, mem, VHOST_ACCESS_RW);
	check(ret == -EFAULT, "UPDATE with limit 0 and nothing pinned: %d", ret);
	set_memlock(RLIM_INFINITY);
	ret = vdpa_iotlb_update(&d, 0, 0x100000, 256 * PAGE, mem, VHOST_ACCESS_RW);
	check(!ret, "UPDATE after raising the limit: %d", ret);
	vdpa_close(&d);
	check(vmpin() == 0, "VmPin after close: %ld kB", vmpin());
	return failures ? 1 : 0;
}

/* ---- pins and charges: the invariants of vhost_vdpa_dma.c ---- */

/*
 * Pages pinned system-wide beyond @base must all be this process's and all
 * charged to it (VmPin): a pinned page is never uncharged, and nothing
 * else pins meanwhile.  Returns the pinned count beyond @base.
 */
static long long check_pins_charged(long long base, const char *when)
{
	long long pinned = fz_sys_pinned() - base;
	long vmpin_pages = vmpin() / (long)(PAGE / 1024);

	check(pinned == vmpin_pages,
	      "%s: %lld pages pinned, %ld charged (VmPin)", when, pinned,
	      vmpin_pages);
	return pinned;
}

/*
 * Issue 12, item 1: INVALIDATE inside a batch moves the entry aside
 * ("retired"): the parent keeps translating it until BATCH_END, so its
 * pages must stay pinned.  Overflow that table first (CAP + 16 removals of
 * a scratch page), then remove the page Q behind an RX buffer, drop the
 * process's own mapping of Q, and have the device write a frame into it.
 * Q's pin must hold until the batch ends (the debug kernel's
 * vdpa_sim.check_pins also WARNs on any write to an unpinned page).
 */
static int cmd_retired(const char *node, unsigned int cap)
{
	uint64_t scratch_iova = EXTRA_IOVA + 16 * PAGE;
	uint8_t *q = anon(PAGE), *scratch = anon(PAGE);
	uint8_t frame[NET_HDR + 60];
	struct vdpa_sg sg = { EXTRA_IOVA, PAGE };
	long long base, before, after;
	unsigned int i, refused = 0;
	struct vdpa_dev d;
	int ret;

	set_memlock(RLIM_INFINITY);
	base = fz_sys_pinned();
	memset(q, 0xa5, PAGE);
	ret = start_net(&d, node, true);
	if (!ret)
		ret = vdpa_iotlb_update(&d, 0, EXTRA_IOVA, PAGE, q,
					VHOST_ACCESS_RW);
	if (ret)
		die("start: %s", strerror(-ret));
	check(loopback_once(&d), "traffic before the batch");
	check_pins_charged(base, "before the batch");

	ret = vdpa_iotlb_batch_begin(&d, 0);
	if (ret)
		die("BATCH_BEGIN: %s", strerror(-ret));
	for (i = 0; i < cap + 16; i++) {
		ret = vdpa_iotlb_update(&d, 0, scratch_iova, PAGE, scratch,
					VHOST_ACCESS_RW);
		if (!ret)
			ret = vdpa_iotlb_invalidate(&d, 0, scratch_iova, PAGE);
		if (ret && ret != -EFAULT)
			die("scratch %u: %s", i, strerror(-ret));
		refused += !!ret;
	}
	check(!refused, "%u of %u scratch removals refused (the table can be pushed early)",
	      refused, cap + 16);
	check_pins_charged(base, "after overflowing the removed ranges");

	before = fz_sys_pinned();
	ret = vdpa_iotlb_invalidate(&d, 0, EXTRA_IOVA, PAGE);
	check(!ret || ret == -EFAULT, "INVALIDATE of Q: %d", ret);
	after = fz_sys_pinned();
	check(after == before,
	      "INVALIDATE inside the batch unpinned %lld pages the parent still translates",
	      before - after);
	check_pins_charged(base, "after removing Q");

	/* Q is now only the device's: write a frame into it */
	munmap(q, PAGE);
	memset(frame, 0, sizeof(frame));
	memset(frame + NET_HDR, 0xff, 6);
	frame[NET_HDR + 12] = 0x08;
	vdpa_vq_add_sg(&d.vq[0], &sg, 0, 1, NULL);
	vdpa_vq_add_buf(&d.vq[1], frame, sizeof(frame), false, NULL);
	vdpa_vq_kick(&d.vq[0]);
	vdpa_vq_kick(&d.vq[1]);
	vdpa_vq_wait(&d.vq[1], 2000);
	usleep(100 * 1000);
	check(fz_sys_pinned() == after, "pins held while the device may write Q");

	ret = vdpa_iotlb_batch_end(&d, 0);
	check(!ret, "BATCH_END: %d", ret);
	check(check_pins_charged(base, "after BATCH_END") ==
	      (long long)(MEM_LEN / PAGE), "only the 1 MiB region left pinned");
	vdpa_close(&d);
	check(fz_sys_pinned() == base && vmpin() == 0,
	      "nothing pinned or charged after close");
	munmap(scratch, PAGE);
	return failures ? 1 : 0;
}

/*
 * Issue 12, item 2: pages removed inside a batch stay pinned until the
 * batch ends, so they must stay charged: N x (UPDATE a fresh 1 MiB,
 * INVALIDATE it) with RLIMIT_MEMLOCK 1 MiB never holds more than 1 MiB
 * pinned, and every UPDATE still succeeds (the table is pushed early to
 * release what was removed).
 */
static int cmd_memlock_batch(const char *node, unsigned int n)
{
	size_t mib = 1UL << 20;
	uint8_t *mem = anon(n * mib);
	long long base, pinned, most = 0;
	unsigned int i, ok = 0;
	struct vdpa_dev d;
	int ret;

	base = fz_sys_pinned();
	open_batching(&d, node);
	set_memlock(mib);
	ret = vdpa_iotlb_batch_begin(&d, 0);
	if (ret)
		die("BATCH_BEGIN: %s", strerror(-ret));
	for (i = 0; i < n; i++) {
		uint64_t iova = 0x10000000ULL + i * (uint64_t)mib;

		ret = vdpa_iotlb_update(&d, 0, iova, mib, mem + i * mib,
					VHOST_ACCESS_RW);
		if (!ret)
			ret = vdpa_iotlb_invalidate(&d, 0, iova, mib);
		ok += !ret;
		pinned = check_pins_charged(base, "inside the batch");
		if (pinned > most)
			most = pinned;
		if (pinned > (long long)(mib / PAGE))
			break;
	}
	check(most <= (long long)(mib / PAGE),
	      "at most %lld pages pinned with RLIMIT_MEMLOCK %zu pages",
	      most, mib / PAGE);
	check(ok == n, "%u of %u remaps inside the batch worked", ok, n);
	ret = vdpa_iotlb_batch_end(&d, 0);
	check(!ret, "BATCH_END: %d", ret);
	vdpa_close(&d);
	set_memlock(RLIM_INFINITY);
	check(fz_sys_pinned() == base && vmpin() == 0,
	      "nothing pinned or charged after close");
	munmap(mem, n * mib);
	return failures ? 1 : 0;
}

/* ---- race ---- */

struct race {
	struct vdpa_dev *d;
	uint8_t *extra;
	unsigned int iters;
	struct fz_rng rng;
	unsigned long errs;
};

static void *race_ioctls(void *arg)
{
	struct race *r = arg;
	struct vdpa_dev *d = r->d;
	unsigned int i;

	for (i = 0; i < r->iters; i++) {
		struct vhost_vring_state s = { fz_below(&r->rng, 3), 0 };
		struct vhost_vring_file f = { fz_below(&r->rng, 3), -1 };
		uint8_t st, cfg[8];
		uint64_t v;
		int ret = 0;

		switch (fz_below(&r->rng, 10)) {
		case 0:
			ret = restart_net(d) ? -1 : 0;
			break;
		case 1:
			s.num = 1 << fz_below(&r->rng, 9);
			ret = ioctl(d->fd, VHOST_SET_VRING_NUM, &s);
			break;
		case 2:
			s.num = fz_below(&r->rng, 2);
			ret = ioctl(d->fd, VHOST_VDPA_SET_VRING_ENABLE, &s);
			break;
		case 3:
			ret = ioctl(d->fd, VHOST_GET_VRING_BASE, &s);
			break;
		case 4:
			ret = ioctl(d->fd, fz_below(&r->rng, 2) ?
				    VHOST_VDPA_SUSPEND : VHOST_VDPA_RESUME);
			break;
		case 5:
			ret = vdpa_get_config(d, 0, cfg, 8);
			break;
		case 6:
			f.fd = fz_below(&r->rng, 2) ? d->vq[f.index % 2].call_fd : -1;
			ret = ioctl(d->fd, VHOST_SET_VRING_CALL, &f);
			break;
		case 7:
			ret = ioctl(d->fd, VHOST_VDPA_GET_STATUS, &st);
			break;
		case 8:
			v = VDPA_BIT(VHOST_BACKEND_F_IOTLB_MSG_V2) |
			    VDPA_BIT(VHOST_BACKEND_F_IOTLB_BATCH);
			ret = ioctl(d->fd, VHOST_SET_BACKEND_FEATURES, &v);
			break;
		default:
			st = 0;
			ret = ioctl(d->fd, VHOST_VDPA_SET_STATUS, &st);
			break;
		}
		if (ret)
			r->errs++;
	}
	return NULL;
}

static void *race_iotlb(void *arg)
{
	struct race *r = arg;
	struct vdpa_dev *d = r->d;
	unsigned int i;

	for (i = 0; i < r->iters; i++) {
		uint64_t first = fz_below(&r->rng, 256);
		uint64_t cnt = 1 + fz_below(&r->rng, 256 - first);
		bool batch = fz_chance(&r->rng, 30);
		int ret = 0;

		if (batch)
			ret |= vdpa_iotlb_batch_begin(d, 0);
		if (fz_chance(&r->rng, 55))
			ret |= vdpa_iotlb_update(d, 0, EXTRA_IOVA + first * PAGE,
						 cnt * PAGE, r->extra + first * PAGE,
						 VHOST_ACCESS_RW);
		else
			ret |= vdpa_iotlb_invalidate(d, 0,
						     EXTRA_IOVA + first * PAGE,
						     cnt * PAGE);
		if (fz_chance(&r->rng, 3)) {
			/* the ring memory itself goes and comes back */
			ret |= vdpa_iotlb_invalidate(d, 0, d->mem_iova, d->mem_len);
			ret |= vdpa_iotlb_update(d, 0, d->mem_iova, d->mem_len,
						 d->mem, VHOST_ACCESS_RW);
		}
		if (batch)
			ret |= vdpa_iotlb_batch_end(d, 0);
		if (ret)
			r->errs++;
	}
	return NULL;
}

static void *race_kicks(void *arg)
{
	struct race *r = arg;
	struct vdpa_dev *d = r->d;
	uint64_t one = 1;
	unsigned int i;

	for (i = 0; i < r->iters * 4; i++) {
		if (write(d->vq[i & 1].kick_fd, &one, 8) < 0)
			r->errs++;
		if ((i & 15) == 0)
			sched_yield();
	}
	return NULL;
}

static int cmd_race(const char *node, unsigned int iters)
{
	void *(*fn[3])(void *) = { race_ioctls, race_iotlb, race_kicks };
	struct race r[3];
	pthread_t tid[3];
	struct vdpa_dev d;
	uint8_t *extra = anon(256 * PAGE);
	uint64_t t0 = fz_now_ms();
	int i, ret;

	set_memlock(RLIM_INFINITY);
	ret = start_net(&d, node, true);
	if (ret)
		die("start: %s", strerror(-ret));
	for (i = 0; i < 3; i++) {
		r[i] = (struct race){ .d = &d, .extra = extra, .iters = iters };
		fz_rng_seed(&r[i].rng, 77 + i);
		pthread_create(&tid[i], NULL, fn[i], &r[i]);
	}
	for (i = 0; i < 3; i++)
		pthread_join(tid[i], NULL);
	printf("race: %u iterations in %" PRIu64 " ms; errors %lu/%lu/%lu\n",
	       iters, fz_now_ms() - t0, r[0].errs, r[1].errs, r[2].errs);
	ret = restart_net(&d);
	check(!ret, "restart after the race: %d", ret);
	check(!ret && loopback_once(&d), "traffic after the race");
	vdpa_close(&d);
	check(vmpin() == 0, "VmPin after close: %ld kB", vmpin());
	return failures ? 1 : 0;
}

/* ---- openclose ---- */

static int cmd_openclose(const char *node, unsigned int n)
{
	uint8_t *mem = anon(16 * PAGE);
	uint64_t t0 = fz_now_ms(), f;
	unsigned int i, bad = 0;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	set_memlock(RLIM_INFINITY);
	for (i = 0; i < n; i++) {
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			printf("open %u: %s\n", i, strerror(errno));
			bad++;
			continue;
		}
		if (ioctl(fd, VHOST_GET_FEATURES, &f))
			bad++;
		if (i % 4 == 0) {
			struct vhost_vring_file kf = { i % 3, efd };
			uint8_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE;

			if (ioctl(fd, VHOST_SET_OWNER) ||
			    fz_iotlb(fd, 1, 0, VHOST_IOTLB_UPDATE, 0x100000,
				     16 * PAGE, (uintptr_t)mem, 3) != 72 ||
			    ioctl(fd, VHOST_SET_VRING_KICK, &kf) ||
			    ioctl(fd, VHOST_VDPA_SET_STATUS, &st))
				bad++;
		}
		close(fd);
	}
	printf("openclose: %u cycles in %" PRIu64 " ms\n", n, fz_now_ms() - t0);
	check(!bad, "%u failed calls", bad);
	check(vmpin() == 0, "VmPin at the end: %ld kB", vmpin());
	return failures ? 1 : 0;
}

/* ---- hold ---- */

static int cmd_hold(const char *node)
{
	struct vdpa_dev d;
	sigset_t set;
	uint8_t st;
	int sig, ret, i;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	set_memlock(RLIM_INFINITY);
	ret = start_net(&d, node, true);
	if (ret)
		die("start: %s", strerror(-ret));
	for (i = 0; i < 32; i++)
		vdpa_vq_add_buf(&d.vq[0], NULL, 2048, true, NULL);
	vdpa_vq_kick(&d.vq[0]);
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	ret = ioctl(d.fd, VHOST_VDPA_GET_STATUS, &st) ? -errno : 0;
	printf("GET_STATUS: %s\n", ret ? strerror(-ret) : "ok");
	ret = vdpa_iotlb_update(&d, 0, EXTRA_IOVA, PAGE, d.mem, VHOST_ACCESS_RW);
	printf("UPDATE: %s\n", ret ? strerror(-ret) : "ok");
	printf("VmPin: %ld\n", vmpin());
	vdpa_close(&d);
	printf("VmPin after close: %ld\n", vmpin());
	return vmpin() == 0 ? 0 : 1;
}

/* ---- failnth ---- */

static int failnth_fd = -1;

static void failnth_arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(failnth_fd, buf, len, 0) != len)
		die("fail-nth: %s", strerror(errno));
}

/*
 * True if the armed failure was injected (the counter reached 0).  The
 * read and the write here copy to and from userspace, which counts too
 * with fail_usercopy: a read failing with EFAULT means the counter ran
 * out only there (the operation did not reach it), and the write of 0 may
 * need a second try.
 */
static bool failnth_disarm(void)
{
	char buf[16] = "";
	bool hit;
	int i;

	if (pread(failnth_fd, buf, sizeof(buf) - 1, 0) < 0) {
		if (errno != EFAULT)
			die("fail-nth read: %s", strerror(errno));
		hit = false;
	} else {
		hit = atoi(buf) == 0;
	}
	for (i = 0; i < 3; i++) {
		if (pwrite(failnth_fd, "0", 1, 0) == 1)
			return hit;
		if (errno != EFAULT)
			break;
	}
	die("fail-nth: %s", strerror(errno));
}

/* DEV_NEW under fail-nth: the kernel does its work in the send. */
static int failnth_dev_add(struct fz_nl *nl, const char *name,
			   unsigned int n, bool *hit)
{
	const char *mgmt = "vdpasim_net";
	struct fz_nla a[] = {
		{ VDPA_ATTR_MGMTDEV_DEV_NAME, strlen(mgmt) + 1, mgmt },
		{ VDPA_ATTR_DEV_NAME, strlen(name) + 1, name },
	};
	int ret;

	failnth_arm(n);
	ret = fz_nl_send(nl, VDPA_CMD_DEV_NEW, false, a, 2);
	*hit = failnth_disarm();
	return ret ? ret : fz_nl_wait(nl, NULL);
}

static bool dev_exists(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/bus/vdpa/devices/%s", name);
	return !access(path, F_OK);
}

static int cmd_failnth(const char *op, const char *name, unsigned int max)
{
	uint8_t *mem = anon(64 * PAGE);
	unsigned int n, injected = 0, errs = 0;
	struct vdpa_dev d = { .fd = -1 };
	char node[64];
	struct fz_nl nl;
	bool hit = false;
	int ret;

	failnth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (failnth_fd < 0) {
		printf("skip: no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)\n");
		return 77;
	}
	set_memlock(RLIM_INFINITY);
	if (fz_nl_open(&nl))
		die("no vdpa netlink family");

	if (strcmp(op, "devadd")) {
		if (!dev_exists(name) && fz_dev_add(&nl, name, "vdpasim_net"))
			die("cannot add %s", name);
		if (fz_wait_node(name, node, sizeof(node), 5000))
			die("no node for %s", name);
	}

	for (n = 1; n <= max; n++) {
		if (!strcmp(op, "devadd")) {
			ret = failnth_dev_add(&nl, name, n, &hit);
			/*
			 * ENOBUFS: the request or its ack skb could not be
			 * allocated; in the second case the device exists.
			 */
			if (ret && ret != -ENOBUFS && dev_exists(name))
				check(false, "devadd n=%u failed (%d) but %s exists",
				      n, ret, name);
			if (!ret || dev_exists(name)) {
				int del = fz_dev_del(&nl, name);

				check(!del, "del after devadd n=%u: %d", n, del);
			}
		} else if (!strcmp(op, "open")) {
			int fd, fd2;

			failnth_arm(n);
			fd = open(node, O_RDWR | O_CLOEXEC);
			ret = fd < 0 ? -errno : 0;
			hit = failnth_disarm();
			if (fd >= 0)
				close(fd);
			fd2 = open(node, O_RDWR | O_CLOEXEC);
			check(fd2 >= 0, "open after open n=%u (%d): %s", n, ret,
			      fd2 < 0 ? strerror(errno) : "ok");
			if (fd2 >= 0)
				close(fd2);
		} else if (!strcmp(op, "update")) {
			if (d.fd < 0) {
				ret = vdpa_open(&d, node);
				if (!ret)
					ret = vdpa_set_owner(&d);
				if (ret)
					die("open: %s", strerror(-ret));
			}
			failnth_arm(n);
			ret = vdpa_iotlb_update(&d, 0, 0x100000, 64 * PAGE, mem,
						VHOST_ACCESS_RW);
			hit = failnth_disarm();
			if (!ret)
				vdpa_iotlb_invalidate(&d, 0, 0x100000, 64 * PAGE);
			check(vmpin() == 0, "VmPin after update n=%u (%d): %ld kB",
			      n, ret, vmpin());
		} else if (!strcmp(op, "status") || !strcmp(op, "vring")) {
			uint8_t st;

			if (d.fd >= 0)
				vdpa_close(&d);
			if (!strcmp(op, "status")) {
				ret = start_net(&d, node, true);
				if (ret)
					die("start: %s", strerror(-ret));
				/* add FAILED, then reset: one count for both */
				failnth_arm(n);
				st = VIRTIO_CONFIG_S_ACKNOWLEDGE |
				     VIRTIO_CONFIG_S_DRIVER |
				     VIRTIO_CONFIG_S_FEATURES_OK |
				     VIRTIO_CONFIG_S_DRIVER_OK |
				     VIRTIO_CONFIG_S_FAILED;
				ret = ioctl(d.fd, VHOST_VDPA_SET_STATUS, &st) ?
					-errno : 0;
				st = 0;
				if (ioctl(d.fd, VHOST_VDPA_SET_STATUS, &st) && !ret)
					ret = -errno;
				hit = failnth_disarm();
			} else {
				struct vhost_vring_file f = { 0, -1 };
				int efd = eventfd(0, EFD_CLOEXEC);

				ret = vdpa_open(&d, node);
				if (!ret)
					ret = vdpa_set_owner(&d);
				if (ret)
					die("open: %s", strerror(-ret));
				f.fd = efd;
				/* the count runs on across the three calls */
				failnth_arm(n);
				ret = ioctl(d.fd, VHOST_SET_VRING_CALL, &f) ? -errno : 0;
				if (!ret)
					ret = ioctl(d.fd, VHOST_SET_VRING_KICK, &f) ?
						-errno : 0;
				if (!ret)
					ret = ioctl(d.fd, VHOST_VDPA_SET_CONFIG_CALL,
						    &efd) ? -errno : 0;
				hit = failnth_disarm();
				close(efd);
			}
			ret = ioctl(d.fd, VHOST_VDPA_GET_STATUS, &st) ? -errno : 0;
			check(!ret, "GET_STATUS after n=%u: %d", n, ret);
			vdpa_close(&d);
			d.fd = -1;
		} else if (!strcmp(op, "start")) {
			/* open, owner, negotiation, map, rings, DRIVER_OK */
			if (d.fd >= 0)
				vdpa_close(&d);
			failnth_arm(n);
			ret = start_net(&d, node, true);
			hit = failnth_disarm();
			if (!ret)
				check(loopback_once(&d), "traffic after start n=%u", n);
			if (d.fd >= 0)
				vdpa_close(&d);
			d.fd = -1;
			check(vmpin() == 0, "VmPin after start n=%u (%d): %ld kB",
			      n, ret, vmpin());
		} else {
			die("unknown failnth op %s", op);
		}
		if (!hit)
			break;
		injected++;
		if (ret)
			errs++;
	}
	if (d.fd >= 0)
		vdpa_close(&d);
	printf("failnth %s: %u injected failures, %u of them reached the client as errors%s\n",
	       op, injected, errs, n > max ? " (stopped at the limit)" : "");
	check(vmpin() == 0, "VmPin at the end: %ld kB", vmpin());
	fz_nl_close(&nl);
	return failures ? 1 : 0;
}

/* ---- cycle ---- */

static int make_fail_fd = -1;

/* Fault injection for this thread on or off (cycle -F). */
static void fi(bool on)
{
	int i;

	if (make_fail_fd < 0)
		return;
	/* switching off may itself meet an injected failure: retry */
	for (i = 0; i < 100; i++)
		if (pwrite(make_fail_fd, on ? "1" : "0", 1, 0) == 1)
			return;
	die("make-it-fail: %s", strerror(errno));
}

static int cmd_cycle(const char *name, unsigned int n, bool make_fail)
{
	unsigned int i, ok = 0, added = 0;
	char node[64];
	struct fz_nl nl;
	int ret;

	set_memlock(RLIM_INFINITY);
	if (fz_nl_open(&nl))
		die("no vdpa netlink family");
	if (make_fail) {
		make_fail_fd = open("/proc/thread-self/make-it-fail",
				    O_RDWR | O_CLOEXEC);
		if (make_fail_fd < 0)
			die("no /proc/thread-self/make-it-fail");
	}
	for (i = 0; i < n; i++) {
		struct vdpa_dev d = { .fd = -1 };

		fi(true);
		ret = fz_dev_add(&nl, name, "vdpasim_net");
		fi(false);
		if (ret && !dev_exists(name))
			continue;
		added++;
		if (!fz_wait_node(name, node, sizeof(node), 2000)) {
			fi(true);
			ret = start_net(&d, node, true);
			fi(false);
			if (!ret) {
				fi(true);
				ret = loopback_once(&d);
				fi(false);
				ok += ret;
			}
			fi(true);
			if (d.fd >= 0)
				vdpa_close(&d);
			fi(false);
		}
		/* deletion must work, at worst after a few refusals */
		fi(true);
		fz_dev_del(&nl, name);
		fi(false);
		if (dev_exists(name)) {
			ret = fz_dev_del(&nl, name);
			check(!ret, "round %u: del without injection: %d", i, ret);
		}
		check(vmpin() == 0, "round %u: VmPin %ld kB", i, vmpin());
	}
	printf("cycle: %u rounds, %u devices added, %u with working traffic\n",
	       n, added, ok);
	check(!dev_exists(name), "%s deleted at the end", name);
	fz_nl_close(&nl);
	return failures ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s: see the header of vdpa_abuse.c\n",
		"vdpa-abuse");
	exit(2);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "failmap") && argc == 4)
		return cmd_failmap(argv[2], argv[3]);
	if (!strcmp(argv[1], "ringerr") && argc == 4)
		return cmd_ringerr(argv[2], argv[3]);
	if (!strcmp(argv[1], "usedfault") && argc == 4)
		return cmd_usedfault(argv[2], argv[3]);
	if (!strcmp(argv[1], "delbatch"))
		return cmd_delbatch(argv[2]);
	if (!strcmp(argv[1], "mapforever"))
		return cmd_mapforever(argv[2]);
	if (!strcmp(argv[1], "memlock"))
		return cmd_memlock(argv[2]);
	if (!strcmp(argv[1], "retired") && argc == 4)
		return cmd_retired(argv[2], strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[1], "memlock_batch") && argc == 4)
		return cmd_memlock_batch(argv[2], strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[1], "race") && argc == 4)
		return cmd_race(argv[2], strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[1], "openclose") && argc == 4)
		return cmd_openclose(argv[2], strtoul(argv[3], NULL, 0));
	if (!strcmp(argv[1], "hold"))
		return cmd_hold(argv[2]);
	if (!strcmp(argv[1], "failnth") && argc >= 4)
		return cmd_failnth(argv[2], argv[3],
				   argc > 4 ? strtoul(argv[4], NULL, 0) : 500);
	if (!strcmp(argv[1], "cycle") && argc >= 4)
		return cmd_cycle(argv[2], strtoul(argv[3], NULL, 0),
				 argc > 4 && !strcmp(argv[4], "-F"));
	usage();
}
