/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared pieces of the vDPA fuzzer and abuse helpers: a seeded PRNG, a
 * minimal generic-netlink client for the "vdpa" family, IOTLB messages and
 * small sysfs/procfs readers, a printer for threads.  Userspace only, libc
 * only.
 */
#ifndef FZ_COMMON_H
#define FZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vhost.h>
#include <linux/vhost_types.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#ifndef __printf
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#endif
#ifndef __noreturn
#define __noreturn		__attribute__((noreturn))
#endif
#ifndef __aligned
#define __aligned(x)		__attribute__((aligned(x)))
#endif

/* ---- command line ---- */
/* The options every fuzzer of this directory takes. */
struct fz_run_opts {
	uint64_t seed;		/* -s: the PRNG seed */
	uint64_t nops;		/* -n: how many operations */
	uint64_t deadline_ms;	/* -T: seconds of work at most (0: no limit) */
};

/*
 * Take getopt's option @c (argument @arg) if it is one of struct
 * fz_run_opts'; false for any other.
 */
bool fz_run_opt(int c, const char *arg, struct fz_run_opts *o);

/* ---- PRNG (splitmix64 seeding an xoshiro256**) ---- */
struct fz_rng {
	uint64_t s[4];
};

void fz_rng_seed(struct fz_rng *r, uint64_t seed);
uint64_t fz_rand(struct fz_rng *r);
/* Uniform in [0, n); n == 0 gives 0. */
uint64_t fz_below(struct fz_rng *r, uint64_t n);
/* True with probability pct/100. */
bool fz_chance(struct fz_rng *r, unsigned int pct);
/* An "interesting" 64-bit value: 0, 1, powers of two +-1, page edges, max... */
uint64_t fz_boundary64(struct fz_rng *r);
uint32_t fz_boundary32(struct fz_rng *r);
/* Either a boundary value or plain random bits. */
uint64_t fz_any64(struct fz_rng *r);

/* ---- generic netlink, family "vdpa" ---- */
struct fz_nl {
	int fd;
	uint16_t family;
	uint32_t seq;
	char ext_msg[256];	/* extack text of the last error, if any */
};

struct fz_nla {
	uint16_t type;
	uint16_t len;		/* payload length */
	const void *data;
};

/* Open a socket and resolve the family; -errno if the family is absent. */
int fz_nl_open(struct fz_nl *nl);
void fz_nl_close(struct fz_nl *nl);
/*
 * Send one request (dump if @dump) with @n attributes and wait for its
 * end.  Returns 0, or the -errno the kernel answered.  Replies are read
 * and dropped; @nreplies (optional) counts the data messages.
 */
int fz_nl_request(struct fz_nl *nl, uint8_t cmd, bool dump,
		  const struct fz_nla *attrs, unsigned int n,
		  unsigned int *nreplies);
/* The two halves of fz_nl_request(): the kernel acts during the send. */
int fz_nl_send(struct fz_nl *nl, uint8_t cmd, bool dump,
	       const struct fz_nla *attrs, unsigned int n);
int fz_nl_wait(struct fz_nl *nl, unsigned int *nreplies);
/* Send raw bytes as one genl request body (after the genl header). */
int fz_nl_request_raw(struct fz_nl *nl, uint8_t cmd, uint16_t flags,
		      const void *body, size_t len);

/* vdpa dev add NAME mgmtdev MGMT; vdpa dev del NAME. */
int fz_dev_add(struct fz_nl *nl, const char *name, const char *mgmt);
int fz_dev_del(struct fz_nl *nl, const char *name);

/* ---- files ---- */
/* Write @val (no newline added) to the file at @path: 0 or -errno. */
int fz_write_file(const char *path, const char *val);

/* ---- vhost-vdpa ---- */
/*
 * Lay out one IOTLB message (V2 with @asid if @v2) in @buf, which holds a
 * struct vhost_msg_v2; @msg_type goes in its header (VHOST_IOTLB_MSG[_V2]
 * or anything).  Returns its length.
 */
size_t fz_iotlb_msg(void *buf, int v2, uint32_t msg_type, uint32_t asid,
		    uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
		    uint8_t perm);
/* Write one IOTLB message; returns what write() returned (-1 + errno). */
ssize_t fz_iotlb(int fd, int v2, uint32_t asid, uint8_t type, uint64_t iova,
		 uint64_t size, uint64_t uaddr, uint8_t perm);
/* /dev/vhost-vdpa-N of vdpa device NAME into @path; -ENOENT if none. */
int fz_vhost_node(const char *name, char *path, size_t len);
/* Wait up to @ms for the node of NAME to exist. */
int fz_wait_node(const char *name, char *path, size_t len, int ms);

/* ---- misc ---- */
/* VmPin of this process, in kB (-1 if unreadable). */
long fz_vmpin_kb(void);
/* System-wide FOLL_PIN pins (acquired - released), after a stat refresh. */
long long fz_sys_pinned(void);
uint64_t fz_now_ms(void);
/* Log a line to the kernel log (level 6) so dmesg shows where we were. */
void fz_kmsg(const char *fmt, ...) __printf(1, 2);
/*
 * printf() to stdout under a lock of the process, then fflush(): lines of
 * several threads do not mix, and what was said is out before a crash.
 */
void fz_say(const char *fmt, ...) __printf(1, 2);
/* Hold fz_say()'s lock across several printf()s that belong together. */
void fz_say_lock(void);
void fz_say_unlock(void);

#endif /* FZ_COMMON_H */
