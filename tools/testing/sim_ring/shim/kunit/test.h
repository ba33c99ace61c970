/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host-side stand-in for the KUnit API header: enough of it for the ring
 * engine's suites to run unchanged under ASan/UBSan, driven by the runner
 * in kunit_host.c.  Assertions longjmp out of the case; expectations only
 * mark it failed.  Output is one KTAP-like line per case.
 */
#ifndef _SHIM_KUNIT_TEST_H
#define _SHIM_KUNIT_TEST_H

#include <setjmp.h>
#include <stdio.h>
#include <linux/types.h>
#include <linux/errno.h>
#include <asm/byteorder.h>

#define GFP_KERNEL		0
#define U32_MAX			((u32)~0U)
#define KUNIT_PARAM_DESC_SIZE	128
#define KUNIT_HOST_MAX_ALLOCS	64
#define __force
#define BIT(n)			(1UL << (n))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MODULE_DESCRIPTION(x)
#define MODULE_LICENSE(x)

typedef u64 phys_addr_t;
struct page;
struct vhost_iotlb;

struct kunit {
	void *priv;
	const void *param_value;
	bool failed;
	jmp_buf abort;
	void *allocs[KUNIT_HOST_MAX_ALLOCS];
	unsigned int nallocs;
};

struct kunit_case {
	void (*run_case)(struct kunit *test);
	const char *name;
	const void *(*generate_params)(const void *prev, char *desc);
};

struct kunit_suite {
	const char *name;
	int (*init)(struct kunit *test);
	void (*exit)(struct kunit *test);
	struct kunit_case *test_cases;
};

void *kunit_kmalloc(struct kunit *test, size_t size, int gfp);
void *kunit_kzalloc(struct kunit *test, size_t size, int gfp);
size_t strscpy(char *dst, const char *src, size_t size);
extern struct kunit_suite *kunit_host_suite;
void kunit_host_fail(struct kunit *test, bool abort, const char *file,
		     int line, const char *what, long long a, long long b);

/* Stand-ins for the page allocator and the vhost_iotlb set-up calls. */
struct page *alloc_pages(int gfp, unsigned int order);
void __free_pages(struct page *page, unsigned int order);
void *page_address(struct page *page);
phys_addr_t page_to_phys(struct page *page);
struct vhost_iotlb *vhost_iotlb_alloc(unsigned int limit, unsigned int flags);
void vhost_iotlb_free(struct vhost_iotlb *iotlb);
int vhost_iotlb_add_range(struct vhost_iotlb *iotlb, u64 start, u64 last,
			  u64 addr, unsigned int perm);

#define KUNIT_HOST_BINARY(test, a, op, b, abort) do {			\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (!(_a op _b))						\
		kunit_host_fail(test, abort, __FILE__, __LINE__,	\
				#a " " #op " " #b, _a, _b);		\
} while (0)

#define KUNIT_EXPECT_EQ(t, a, b)	KUNIT_HOST_BINARY(t, a, ==, b, false)
#define KUNIT_EXPECT_NE(t, a, b)	KUNIT_HOST_BINARY(t, a, !=, b, false)
#define KUNIT_EXPECT_LT(t, a, b)	KUNIT_HOST_BINARY(t, a, <, b, false)
#define KUNIT_EXPECT_LE(t, a, b)	KUNIT_HOST_BINARY(t, a, <=, b, false)
#define KUNIT_EXPECT_GT(t, a, b)	KUNIT_HOST_BINARY(t, a, >, b, false)
#define KUNIT_EXPECT_GE(t, a, b)	KUNIT_HOST_BINARY(t, a, >=, b, false)
#define KUNIT_EXPECT_TRUE(t, c)		KUNIT_HOST_BINARY(t, !!(c), ==, 1, false)
#define KUNIT_EXPECT_FALSE(t, c)	KUNIT_HOST_BINARY(t, !!(c), ==, 0, false)
#define KUNIT_EXPECT_NULL(t, p)		KUNIT_HOST_BINARY(t, !(p), ==, 1, false)
#define KUNIT_EXPECT_PTR_EQ(t, a, b)	KUNIT_HOST_BINARY(t, (uintptr_t)(a), ==, \
						  (uintptr_t)(b), false)
#define KUNIT_EXPECT_NOT_NULL(t, p)	KUNIT_HOST_BINARY(t, !(p), ==, 0, false)
#define KUNIT_ASSERT_EQ(t, a, b)	KUNIT_HOST_BINARY(t, a, ==, b, true)
#define KUNIT_ASSERT_NE(t, a, b)	KUNIT_HOST_BINARY(t, a, !=, b, true)
#define KUNIT_ASSERT_LT(t, a, b)	KUNIT_HOST_BINARY(t, a, <, b, true)
#define KUNIT_ASSERT_LE(t, a, b)	KUNIT_HOST_BINARY(t, a, <=, b, true)
#define KUNIT_ASSERT_GT(t, a, b)	KUNIT_HOST_BINARY(t, a, >, b, true)
#define KUNIT_ASSERT_GE(t, a, b)	KUNIT_HOST_BINARY(t, a, >=, b, true)
#define KUNIT_ASSERT_TRUE(t, c)		KUNIT_HOST_BINARY(t, !!(c), ==, 1, true)
#define KUNIT_ASSERT_FALSE(t, c)	KUNIT_HOST_BINARY(t, !!(c), ==, 0, true)
#define KUNIT_ASSERT_NULL(t, p)		KUNIT_HOST_BINARY(t, !(p), ==, 1, true)
#define KUNIT_ASSERT_NOT_NULL(t, p)	KUNIT_HOST_BINARY(t, !(p), ==, 0, true)
/* The _MSG forms: the message is not printed on the host. */
#define KUNIT_EXPECT_EQ_MSG(t, a, b, ...)	KUNIT_EXPECT_EQ(t, a, b)
#define KUNIT_EXPECT_TRUE_MSG(t, c, ...)	KUNIT_EXPECT_TRUE(t, c)
#define KUNIT_EXPECT_FALSE_MSG(t, c, ...)	KUNIT_EXPECT_FALSE(t, c)
#define KUNIT_ASSERT_EQ_MSG(t, a, b, ...)	KUNIT_ASSERT_EQ(t, a, b)
#define KUNIT_ASSERT_TRUE_MSG(t, c, ...)	KUNIT_ASSERT_TRUE(t, c)
#define KUNIT_FAIL(t, ...)		KUNIT_EXPECT_TRUE(t, 0)

#define KUNIT_ARRAY_PARAM(name, array, get_desc)			\
	static const void *name##_gen_params(const void *prev, char *desc) \
	{								\
		__auto_type first = &(array)[0];			\
		typeof(first) next = prev ? (typeof(first))prev + 1 : first; \
									\
		if (next - first >= sizeof(array) / sizeof(*first))	\
			return NULL;					\
		get_desc(next, desc);					\
		return next;						\
	}

#define KUNIT_CASE(f)			{ f, #f, NULL }
#define KUNIT_CASE_PARAM(f, gen)	{ f, #f, gen }

/* The suite the runner's main() runs. */
#define kunit_test_suite(suite)						\
	struct kunit_suite *kunit_host_suite = &(suite)

#endif
