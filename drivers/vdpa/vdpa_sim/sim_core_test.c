// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the vdpa_sim core: feature negotiation and status
 * transitions, through the bus helpers of vdpa.ko and the config ops.
 *
 * Each test creates a simulated device of a minimal class of its own (two
 * queues, no data path) with vdpasim_create() and never registers it, so
 * no driver binds and no management device is needed.  Needs a kernel with
 * CONFIG_KUNIT; see the Kbuild file.
 */

#include <kunit/test.h>
#include <linux/err.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/vdpa.h>
#include <linux/vhost_iotlb.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_ring.h>

#include "vdpa_sim.h"

#define F(bit)		BIT_ULL(bit)
/* What the test class offers. */
#define DEV_FEATURES	(F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM) | \
			 F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_F_RING_PACKED) | \
			 F(5))
/* The same with split rings. */
#define DEV_FEATURES_SPLIT	(DEV_FEATURES & ~F(VIRTIO_F_RING_PACKED))

static void core_get_config(struct vdpasim *sim, void *config)
{
	memset(config, 0x5a, 8);
}

static bool core_work(struct vdpasim *sim)
{
	return false;
}

static u32 core_get_vq_group(struct vdpasim *sim, u16 idx)
{
	return 0;
}

static const struct vdpasim_dev_attr core_attr = {
	.name = "kunit-sim-core",
	.alloc_size = sizeof(struct vdpasim),
	.id = 1,
	.features = DEV_FEATURES,
	.nvqs = 2,
	.ngroups = 1,
	.nas = 1,
	.config_size = 8,
	.get_config = core_get_config,
	.work = core_work,
	.get_vq_group = core_get_vq_group,
};

static int core_init(struct kunit *test)
{
	struct vdpasim *sim;

	sim = vdpasim_create(&core_attr, NULL);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(sim), "vdpasim_create: %ld",
			       PTR_ERR(sim));
	test->priv = sim;
	return 0;
}

static void core_exit(struct kunit *test)
{
	struct vdpasim *sim = test->priv;

	if (sim)
		vdpasim_put(sim);
}

static struct vdpa_device *vdev_of(struct kunit *test)
{
	return &((struct vdpasim *)test->priv)->vdpa;
}

/* ---- feature negotiation ---- */

struct feature_case {
	const char *name;
	u64 offered;		/* what the driver writes */
	int ret;
	u64 negotiated;		/* what get_driver_features then says */
};

static const struct feature_case feature_cases[] = {
	{ "nothing", 0, -EINVAL, 0 },
	{ "VERSION_1 without ACCESS_PLATFORM", F(VIRTIO_F_VERSION_1), -EINVAL,
	  0 },
	{ "all the device offers but ACCESS_PLATFORM",
	  DEV_FEATURES & ~F(VIRTIO_F_ACCESS_PLATFORM), -EINVAL, 0 },
	{ "ACCESS_PLATFORM alone", F(VIRTIO_F_ACCESS_PLATFORM), 0,
	  F(VIRTIO_F_ACCESS_PLATFORM) },
	{ "exactly the device's", DEV_FEATURES, 0, DEV_FEATURES },
	{ "every bit: masked to the device's", U64_MAX, 0, DEV_FEATURES },
	{ "one bit the device lacks", DEV_FEATURES | F(40), 0, DEV_FEATURES },
	{ "bit 63 the device lacks", F(VIRTIO_F_ACCESS_PLATFORM) | F(63), 0,
	  F(VIRTIO_F_ACCESS_PLATFORM) },
	{ "a subset", F(VIRTIO_F_ACCESS_PLATFORM) | F(5), 0,
	  F(VIRTIO_F_ACCESS_PLATFORM) | F(5) },
};

static void feature_desc(const struct feature_case *fc, char *desc)
{
	strscpy(desc, fc->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(feature, feature_cases, feature_desc);

static void features_test(struct kunit *test)
{
	const struct feature_case *fc = test->param_value;
	struct vdpa_device *vdev = vdev_of(test);
	const struct vdpa_config_ops *ops = vdev->ops;

	KUNIT_EXPECT_EQ(test, ops->get_device_features(vdev), DEV_FEATURES);
	KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(vdev), 0ULL);
	KUNIT_EXPECT_FALSE(test, vdev->features_valid);

	KUNIT_EXPECT_EQ(test, vdpa_set_features(vdev, fc->offered), fc->ret);
	KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(vdev), fc->negotiated);
	KUNIT_EXPECT_EQ(test, vdev->features_valid, !fc->ret);

	/* A refused write leaves what an earlier one negotiated. */
	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES), 0);
	KUNIT_EXPECT_EQ(test, vdpa_set_features(vdev, fc->offered), fc->ret);
	KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(vdev),
			fc->ret ? DEV_FEATURES : fc->negotiated);
	KUNIT_EXPECT_TRUE(test, vdev->features_valid);

	/* A reset forgets them, and they must be negotiated again. */
	KUNIT_EXPECT_EQ(test, vdpa_reset(vdev), 0);
	KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(vdev), 0ULL);
	KUNIT_EXPECT_FALSE(test, vdev->features_valid);
}

/* ---- status transitions ---- */

#define ACK	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define DRV	VIRTIO_CONFIG_S_DRIVER
#define FOK	VIRTIO_CONFIG_S_FEATURES_OK
#define DOK	VIRTIO_CONFIG_S_DRIVER_OK
#define NRST	VIRTIO_CONFIG_S_NEEDS_RESET
#define FAIL	VIRTIO_CONFIG_S_FAILED

#define MAX_STEPS	8

struct status_case {
	const char *name;
	u8 steps[MAX_STEPS];	/* written in order; 0 resets */
	unsigned int nsteps;
	u8 final;		/* status read back at the end */
	u32 resets;		/* generation bumps expected */
};

static const struct status_case status_cases[] = {
	{ "the normal sequence", { ACK, ACK | DRV, ACK | DRV | FOK,
	  ACK | DRV | FOK | DOK }, 4, ACK | DRV | FOK | DOK, 0 },
	{ "then reset", { ACK, ACK | DRV, ACK | DRV | FOK,
	  ACK | DRV | FOK | DOK, 0 }, 5, 0, 1 },
	{ "FAILED is kept", { ACK, ACK | DRV, ACK | DRV | FAIL }, 3,
	  ACK | DRV | FAIL, 0 },
	{ "DRIVER_OK at once", { DOK }, 1, DOK, 0 },
	{ "DRIVER_OK twice", { ACK | DRV | FOK | DOK, ACK | DRV | FOK | DOK },
	  2, ACK | DRV | FOK | DOK, 0 },
	{ "DRIVER_OK cleared without reset",
	  { ACK | DRV | FOK | DOK, ACK | DRV | FOK }, 2, ACK | DRV | FOK, 0 },
	{ "NEEDS_RESET written by the driver", { ACK | NRST }, 1, ACK | NRST,
	  0 },
	{ "all bits", { 0xff }, 1, 0xff, 0 },
	{ "reset twice", { ACK, 0, 0 }, 3, 0, 2 },
	{ "reset, then the sequence again", { ACK | DRV | FOK | DOK, 0, ACK,
	  ACK | DRV, ACK | DRV | FOK, ACK | DRV | FOK | DOK }, 6,
	  ACK | DRV | FOK | DOK, 1 },
};

static void status_desc(const struct status_case *sc, char *desc)
{
	strscpy(desc, sc->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(status, status_cases, status_desc);

static void status_test(struct kunit *test)
{
	const struct status_case *sc = test->param_value;
	struct vdpa_device *vdev = vdev_of(test);
	const struct vdpa_config_ops *ops = vdev->ops;
	u32 gen0 = ops->get_generation(vdev);
	unsigned int i;

	KUNIT_EXPECT_EQ(test, vdpa_get_status(vdev), 0);
	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES), 0);
	for (i = 0; i < sc->nsteps; i++) {
		KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, sc->steps[i]), 0);
		KUNIT_EXPECT_EQ_MSG(test, vdpa_get_status(vdev), sc->steps[i],
				    "step %u", i);
		if (!sc->steps[i]) {
			KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(vdev),
					0ULL);
			KUNIT_EXPECT_FALSE(test, vdev->features_valid);
		}
	}
	KUNIT_EXPECT_EQ(test, vdpa_get_status(vdev), sc->final);
	KUNIT_EXPECT_EQ(test, ops->get_generation(vdev) - gen0, sc->resets);
	/* Features survive every status write but 0. */
	if (!sc->resets)
		KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(vdev),
				DEV_FEATURES);
}

/* A reset returns every queue to its initial state. */
static void reset_queues_test(struct kunit *test)
{
	struct vdpa_device *vdev = vdev_of(test);
	const struct vdpa_config_ops *ops = vdev->ops;
	struct vdpa_vq_state state = { .split.avail_index = 1234 };
	u16 i;

	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES_SPLIT), 0);
	for (i = 0; i < 2; i++) {
		ops->set_vq_num(vdev, i, 256);
		KUNIT_EXPECT_EQ(test, ops->set_vq_address(vdev, i, 0x1000,
							  0x2000, 0x3000), 0);
		KUNIT_EXPECT_EQ(test, ops->set_vq_state(vdev, i, &state), 0);
		ops->set_vq_ready(vdev, i, true);
	}
	KUNIT_EXPECT_TRUE(test, ops->get_vq_ready(vdev, 0));
	KUNIT_EXPECT_TRUE(test, ops->get_vq_ready(vdev, 1));
	memset(&state, 0, sizeof(state));
	KUNIT_EXPECT_EQ(test, ops->get_vq_state(vdev, 1, &state), 0);
	KUNIT_EXPECT_EQ(test, state.split.avail_index, 1234);

	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, 0), 0);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_FALSE(test, ops->get_vq_ready(vdev, i));
		state.split.avail_index = 99;
		KUNIT_EXPECT_EQ(test, ops->get_vq_state(vdev, i, &state), 0);
		KUNIT_EXPECT_EQ(test, state.split.avail_index, 0);
	}
}

static void expect_packed_state(struct kunit *test, struct vdpa_device *vdev,
				u16 idx, u16 avail, bool avail_wrap, u16 used,
				bool used_wrap)
{
	struct vdpa_vq_state state;
	/* KUNIT_EXPECT_EQ() takes typeof(), which bit-fields refuse */
	u16 got_avail, got_used;
	bool got_avail_wrap, got_used_wrap;

	memset(&state, 0xff, sizeof(state));
	KUNIT_ASSERT_EQ(test, vdev->ops->get_vq_state(vdev, idx, &state), 0);
	got_avail = state.packed.last_avail_idx;
	got_avail_wrap = state.packed.last_avail_counter;
	got_used = state.packed.last_used_idx;
	got_used_wrap = state.packed.last_used_counter;
	KUNIT_EXPECT_EQ(test, got_avail, avail);
	KUNIT_EXPECT_EQ(test, got_avail_wrap, avail_wrap);
	KUNIT_EXPECT_EQ(test, got_used, used);
	KUNIT_EXPECT_EQ(test, got_used_wrap, used_wrap);
}

/*
 * Packed rings: the state set before ready is the one served and read
 * back, through suspend and resume; a reset returns both positions to 0
 * and both wrap counters to 1.
 */
static void packed_state_test(struct kunit *test)
{
	struct vdpa_device *vdev = vdev_of(test);
	const struct vdpa_config_ops *ops = vdev->ops;
	struct vdpa_vq_state state = {
		.packed = {
			.last_avail_idx = 3,
			.last_avail_counter = 0,
			.last_used_idx = 2,
			.last_used_counter = 1,
		},
	};

	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES), 0);
	/* packed rings need not be a power of 2 */
	ops->set_vq_num(vdev, 0, 5);
	KUNIT_EXPECT_EQ(test, ops->set_vq_address(vdev, 0, 0x1000, 0x2000,
						  0x3000), 0);
	KUNIT_EXPECT_EQ(test, ops->set_vq_state(vdev, 0, &state), 0);
	expect_packed_state(test, vdev, 0, 3, false, 2, true);
	ops->set_vq_ready(vdev, 0, true);
	expect_packed_state(test, vdev, 0, 3, false, 2, true);
	KUNIT_EXPECT_FALSE(test, vdpa_to_sim(vdev)->vqs[0].ring.broken);
	KUNIT_EXPECT_TRUE(test, vdpa_to_sim(vdev)->vqs[0].ring.packed);

	KUNIT_ASSERT_EQ(test, ops->suspend(vdev), 0);
	expect_packed_state(test, vdev, 0, 3, false, 2, true);
	KUNIT_ASSERT_EQ(test, ops->resume(vdev), 0);
	expect_packed_state(test, vdev, 0, 3, false, 2, true);

	/* the largest encodable positions come back unchanged */
	state.packed.last_avail_idx = 0x7fff;
	state.packed.last_avail_counter = 1;
	state.packed.last_used_idx = 0x7fff;
	state.packed.last_used_counter = 0;
	KUNIT_EXPECT_EQ(test, ops->set_vq_state(vdev, 1, &state), 0);
	expect_packed_state(test, vdev, 1, 0x7fff, true, 0x7fff, false);

	/* an avail half alone (used 0 with counter 0): used follows avail */
	memset(&state, 0, sizeof(state));
	state.packed.last_avail_counter = 1;
	KUNIT_EXPECT_EQ(test, ops->set_vq_state(vdev, 1, &state), 0);
	expect_packed_state(test, vdev, 1, 0, true, 0, true);
	state.packed.last_avail_idx = 9;
	state.packed.last_avail_counter = 0;
	KUNIT_EXPECT_EQ(test, ops->set_vq_state(vdev, 1, &state), 0);
	expect_packed_state(test, vdev, 1, 9, false, 9, false);
	/* both halves 0 is a position of its own: lap 2, index 0 */
	memset(&state, 0, sizeof(state));
	KUNIT_EXPECT_EQ(test, ops->set_vq_state(vdev, 1, &state), 0);
	expect_packed_state(test, vdev, 1, 0, false, 0, false);

	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, 0), 0);
	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES), 0);
	expect_packed_state(test, vdev, 0, 0, true, 0, true);
	expect_packed_state(test, vdev, 1, 0, true, 0, true);
}

/* Queue numbers the driver may and may not pick. */
static void vq_limits_test(struct kunit *test)
{
	struct vdpa_device *vdev = vdev_of(test);
	const struct vdpa_config_ops *ops = vdev->ops;
	u16 max = ops->get_vq_num_max(vdev);

	KUNIT_EXPECT_GE(test, max, 1);
	KUNIT_EXPECT_LE(test, max, 32768);
	KUNIT_EXPECT_TRUE(test, is_power_of_2(max));
	if (ops->get_vq_num_min)
		KUNIT_EXPECT_LE(test, ops->get_vq_num_min(vdev), max);
	KUNIT_EXPECT_EQ(test, ops->get_vq_align(vdev), (u32)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, ops->get_device_id(vdev), 1U);
	KUNIT_EXPECT_EQ(test, ops->get_config_size(vdev), (size_t)8);
}

/*
 * A config read before features were set negotiates features 0, which the
 * simulator refuses (it needs ACCESS_PLATFORM): still no features.
 */
static void legacy_config_read_test(struct kunit *test)
{
	struct vdpa_device *vdev = vdev_of(test);
	u8 buf[8];

	vdpa_get_config(vdev, 0, buf, sizeof(buf));
	KUNIT_EXPECT_EQ(test, buf[0], 0x5a);
	KUNIT_EXPECT_FALSE(test, vdev->features_valid);
	KUNIT_EXPECT_EQ(test, vdpa_get_driver_features(vdev), 0ULL);
}

/* Config reads are clamped to the config space; nothing is overrun. */
static void config_read_test(struct kunit *test)
{
	struct vdpa_device *vdev = vdev_of(test);
	static const struct {
		unsigned int off, len;
		unsigned int copied;	/* bytes that come from the device */
	} reads[] = {
		{ 0, 8, 8 }, { 0, 16, 8 }, { 4, 8, 4 }, { 7, 1, 1 },
		{ 8, 4, 0 }, { 100, 4, 0 }, { UINT_MAX, 4, 0 }, { 3, 0, 0 },
	};
	u8 buf[16];
	unsigned int i, j;

	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES), 0);
	for (i = 0; i < ARRAY_SIZE(reads); i++) {
		memset(buf, 0xee, sizeof(buf));
		vdpa_get_config(vdev, reads[i].off, buf, reads[i].len);
		for (j = 0; j < reads[i].copied; j++)
			KUNIT_EXPECT_EQ_MSG(test, buf[j], 0x5a, "read %u byte %u",
					    i, j);
		/* Past the config space, within the read: zeroes. */
		for (; j < reads[i].len && j < sizeof(buf); j++)
			KUNIT_EXPECT_EQ_MSG(test, buf[j], 0, "read %u byte %u",
					    i, j);
		/* Beyond the buffer the caller passed, nothing is written. */
		for (j = reads[i].len; j < sizeof(buf); j++)
			KUNIT_EXPECT_EQ_MSG(test, buf[j], 0xee, "read %u byte %u",
					    i, j);
	}
}

/*
 * The data-path thread: none for a device that is only provisioned, one
 * from the first DRIVER_OK, the same one across resets and later
 * DRIVER_OKs (freed with the device, in core_exit()).
 */
static void worker_lifetime_test(struct kunit *test)
{
	struct vdpasim *sim = test->priv;
	struct vdpa_device *vdev = vdev_of(test);
	struct kthread_worker *first;

	KUNIT_EXPECT_NULL(test, sim->worker);
	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES), 0);
	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, ACK | DRV | FOK), 0);
	KUNIT_EXPECT_NULL(test, sim->worker);
	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, ACK | DRV | FOK | DOK), 0);
	first = sim->worker;
	KUNIT_ASSERT_NOT_NULL(test, first);
	KUNIT_EXPECT_EQ(test, vdpa_get_status(vdev), ACK | DRV | FOK | DOK);

	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, 0), 0);
	KUNIT_EXPECT_PTR_EQ(test, sim->worker, first);
	KUNIT_ASSERT_EQ(test, vdpa_set_features(vdev, DEV_FEATURES), 0);
	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, ACK | DRV | FOK | DOK), 0);
	KUNIT_EXPECT_PTR_EQ(test, sim->worker, first);
}

/* Point every ring's hint at the entry translating @iova. */
static void set_hints(struct kunit *test, struct vdpasim *sim, u64 iova)
{
	unsigned int i;

	mutex_lock(&sim->lock);
	for (i = 0; i < sim->dev_attr.nvqs; i++) {
		struct vdpasim_ring *r = &sim->vqs[i].ring;

		r->hint = vhost_iotlb_itree_first(r->iotlb, iova, iova);
		KUNIT_EXPECT_NOT_NULL(test, r->hint);
	}
	mutex_unlock(&sim->lock);
}

static void expect_no_hints(struct kunit *test, struct vdpasim *sim,
			    const char *after)
{
	unsigned int i;

	mutex_lock(&sim->lock);
	for (i = 0; i < sim->dev_attr.nvqs; i++)
		KUNIT_EXPECT_NULL_MSG(test, sim->vqs[i].ring.hint,
				      "vq %u after %s", i, after);
	mutex_unlock(&sim->lock);
}

/* One entry more or less, through whichever ops batch_mapping chose. */
static int map_one(struct vdpa_device *vdev, u64 iova, u64 pa)
{
	if (vdev->ops->set_map_add)
		return vdev->ops->set_map_add(vdev, 0, iova, PAGE_SIZE, pa,
					      VHOST_MAP_RW);
	return vdev->ops->dma_map(vdev, 0, iova, PAGE_SIZE, pa, VHOST_MAP_RW,
				  NULL);
}

static int unmap_one(struct vdpa_device *vdev, u64 iova)
{
	if (vdev->ops->set_map_remove)
		return vdev->ops->set_map_remove(vdev, 0, iova, PAGE_SIZE);
	return vdev->ops->dma_unmap(vdev, 0, iova, PAGE_SIZE);
}

/*
 * The entry each ring's copies last went through (its hint) is forgotten
 * by every change of a table, under the lock the passes hold: no pass can
 * follow a hint into a removed entry.
 */
static void ring_hint_test(struct kunit *test)
{
	struct vdpasim *sim = test->priv;
	struct vdpa_device *vdev = vdev_of(test);
	const struct vdpa_config_ops *ops = vdev->ops;
	struct vhost_iotlb *tlb;
	struct page *page;
	u64 pa;

	page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	pa = page_to_phys(page);
	tlb = vhost_iotlb_alloc(16, 0);
	if (!tlb)
		__free_page(page);
	KUNIT_ASSERT_NOT_NULL(test, tlb);

	KUNIT_EXPECT_EQ(test, map_one(vdev, 0x1000, pa), 0);
	set_hints(test, sim, 0x1000);
	KUNIT_EXPECT_EQ(test, map_one(vdev, 0x2000, pa), 0);
	expect_no_hints(test, sim, "a map");
	set_hints(test, sim, 0x2000);
	KUNIT_EXPECT_EQ(test, unmap_one(vdev, 0x2000), 0);
	expect_no_hints(test, sim, "an unmap");
	set_hints(test, sim, 0x1000);
	if (ops->set_map) {
		KUNIT_EXPECT_EQ(test, vhost_iotlb_add_range(tlb, 0x1000, 0x1fff,
							    pa, VHOST_MAP_RW),
				0);
		KUNIT_EXPECT_EQ(test, ops->set_map(vdev, 0, tlb), 0);
		expect_no_hints(test, sim, "set_map");
		set_hints(test, sim, 0x1000);
	}
	KUNIT_EXPECT_EQ(test, vdpa_set_status(vdev, 0), 0);
	expect_no_hints(test, sim, "reset");

	vhost_iotlb_free(tlb);
	__free_page(page);
}

static struct kunit_case vdpasim_core_cases[] = {
	KUNIT_CASE_PARAM(features_test, feature_gen_params),
	KUNIT_CASE_PARAM(status_test, status_gen_params),
	KUNIT_CASE(reset_queues_test),
	KUNIT_CASE(packed_state_test),
	KUNIT_CASE(vq_limits_test),
	KUNIT_CASE(legacy_config_read_test),
	KUNIT_CASE(config_read_test),
	KUNIT_CASE(worker_lifetime_test),
	KUNIT_CASE(ring_hint_test),
	{}
};

static struct kunit_suite vdpasim_core_suite = {
	.name = "vdpasim_core",
	.init = core_init,
	.exit = core_exit,
	.test_cases = vdpasim_core_cases,
};

kunit_test_suite(vdpasim_core_suite);

MODULE_DESCRIPTION("KUnit tests of the vdpa_sim core: features and status");
MODULE_LICENSE("GPL");
