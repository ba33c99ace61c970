// SPDX-License-Identifier: GPL-2.0
/*
 * Runner of one KUnit suite on the host: runs every case and parameter of
 * the suite named by its kunit_test_suite(), with the suite's init and exit
 * around each, and exits non-zero if any failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/vhost_iotlb.h>
#include "shim_ctl.h"

void *kunit_kmalloc(struct kunit *test, size_t size, int gfp)
{
	void *p;

	if (test->nallocs == KUNIT_HOST_MAX_ALLOCS)
		return NULL;
	p = malloc(size ? size : 1);
	if (p)
		test->allocs[test->nallocs++] = p;
	return p;
}

void *kunit_kzalloc(struct kunit *test, size_t size, int gfp)
{
	void *p = kunit_kmalloc(test, size, gfp);

	if (p)
		memset(p, 0, size);
	return p;
}

size_t strscpy(char *dst, const char *src, size_t size)
{
	snprintf(dst, size, "%s", src);
	return strlen(dst);
}

void kunit_host_fail(struct kunit *test, bool abort, const char *file,
		     int line, const char *what, long long a, long long b)
{
	test->failed = true;
	printf("    # %s:%d: %s failed: %lld vs %lld\n", file, line, what, a, b);
	if (abort)
		longjmp(test->abort, 1);
}

/* The suite's "physical memory" is the harness's, one region at a time. */
struct page *alloc_pages(int gfp, unsigned int order)
{
	if (shim_mem)
		return NULL;
	shim_mem_pages = 1UL << order;
	shim_mem = aligned_alloc(PAGE_SIZE, shim_mem_pages * PAGE_SIZE);
	return (struct page *)shim_mem;
}

void __free_pages(struct page *page, unsigned int order)
{
	free(page);
	shim_mem = NULL;
	shim_mem_pages = 0;
}

void *page_address(struct page *page)
{
	return page;
}

phys_addr_t page_to_phys(struct page *page)
{
	return (unsigned char *)page - shim_mem;
}

/* The stand-in table, with the entry limit the kernel's one enforces. */
struct kunit_host_iotlb {
	struct vhost_iotlb iotlb;	/* first: freed through it */
	unsigned int limit;
};

struct vhost_iotlb *vhost_iotlb_alloc(unsigned int limit, unsigned int flags)
{
	struct kunit_host_iotlb *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->limit = limit;
	return &t->iotlb;
}

void vhost_iotlb_free(struct vhost_iotlb *iotlb)
{
	free(iotlb);
}

/* As the kernel's: a limit of 0 refuses everything, a full table too. */
int vhost_iotlb_add_range(struct vhost_iotlb *iotlb, u64 start, u64 last,
			  u64 addr, unsigned int perm)
{
	struct kunit_host_iotlb *t = (struct kunit_host_iotlb *)iotlb;

	if (last < start)
		return -EFAULT;
	if (!t->limit)
		return -EINVAL;
	if (iotlb->n >= t->limit || iotlb->n >= SHIM_IOTLB_MAX)
		return -ENOSPC;
	shim_iotlb_add(iotlb, start, last, addr, perm);
	return 0;
}

static bool run_one(struct kunit_suite *suite, struct kunit_case *c,
		    const void *param, const char *desc, unsigned int n)
{
	struct kunit test;
	unsigned int i;

	memset(&test, 0, sizeof(test));
	test.param_value = param;
	if (!setjmp(test.abort)) {
		if (suite->init && suite->init(&test))
			test.failed = true;
		else
			c->run_case(&test);
	}
	if (suite->exit)
		suite->exit(&test);
	for (i = 0; i < test.nallocs; i++)
		free(test.allocs[i]);
	printf("%s %u %s%s%s\n", test.failed ? "not ok" : "ok", n, c->name,
	       *desc ? " " : "", desc);
	return !test.failed;
}

int main(void)
{
	struct kunit_suite *suite = kunit_host_suite;
	char desc[KUNIT_PARAM_DESC_SIZE];
	unsigned int n = 0, failed = 0;
	struct kunit_case *c;

	shim_log_quiet = true;
	printf("# Subtest: %s\n", suite->name);
	for (c = suite->test_cases; c->run_case; c++) {
		const void *param = NULL;

		if (!c->generate_params) {
			failed += !run_one(suite, c, NULL, "", ++n);
			continue;
		}
		while ((param = c->generate_params(param, desc)))
			failed += !run_one(suite, c, param, desc, ++n);
	}
	printf("# %s: %u cases, %u failed\n", suite->name, n, failed);
	return failed ? 1 : 0;
}
