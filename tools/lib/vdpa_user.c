// SPDX-License-Identifier: GPL-2.0
/*
 * libvdpa-user: a userspace virtio driver over /dev/vhost-vdpa-N.
 *
 * The device sees IOVAs only: everything it touches (rings, buffers) lives
 * in one anonymous region that we map with IOTLB UPDATE messages, and the
 * ring addresses handed to SET_VRING_ADDR are IOVAs inside that region.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vdpa_user.h"

#define VDPA_RING_ALIGN		4096

static int vdpa_ioctl(struct vdpa_dev *d, unsigned long req, void *arg)
{
	if (ioctl(d->fd, req, arg) < 0)
		return -errno;
	return 0;
}

uint64_t vdpa_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

long vdpa_vmpin_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

int vdpa_open(struct vdpa_dev *d, const char *path)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < VDPA_MAX_VQS; i++) {
		d->vq[i].dev = d;
		d->vq[i].index = i;
		d->vq[i].kick_fd = -1;
		d->vq[i].call_fd = -1;
	}
	d->fd = open(path, O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return -errno;
	return 0;
}

int vdpa_query(struct vdpa_dev *d)
{
	int ret;

	ret = vdpa_ioctl(d, VHOST_VDPA_GET_DEVICE_ID, &d->device_id);
	if (!ret)
		ret = vdpa_ioctl(d, VHOST_GET_FEATURES, &d->device_features);
	if (!ret)
		ret = vdpa_ioctl(d, VHOST_GET_BACKEND_FEATURES,
				 &d->backend_offered);
	if (!ret)
		ret = vdpa_ioctl(d, VHOST_VDPA_GET_VQS_COUNT, &d->nvqs);
	if (!ret)
		ret = vdpa_ioctl(d, VHOST_VDPA_GET_GROUP_NUM, &d->ngroups);
	if (!ret)
		ret = vdpa_ioctl(d, VHOST_VDPA_GET_AS_NUM, &d->nas);
	if (!ret)
		ret = vdpa_ioctl(d, VHOST_VDPA_GET_CONFIG_SIZE,
				 &d->config_size);
	if (!ret)
		ret = vdpa_ioctl(d, VHOST_VDPA_GET_VRING_NUM, &d->vq_num_max);
	return ret;
}

static void vdpa_vq_release(struct vdpa_vq *vq)
{
	if (vq->kick_fd >= 0)
		close(vq->kick_fd);
	if (vq->call_fd >= 0)
		close(vq->call_fd);
	vq->kick_fd = -1;
	vq->call_fd = -1;
	free(vq->cookie);
	vq->cookie = NULL;
	free(vq->id_next);
	vq->id_next = NULL;
	free(vq->id_descs);
	vq->id_descs = NULL;
	vq->pdesc = NULL;
	vq->num = 0;
}

void vdpa_close(struct vdpa_dev *d)
{
	unsigned int i;

	/* Closing the fd resets the device and unpins before the munmap. */
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	for (i = 0; i < VDPA_MAX_VQS; i++)
		vdpa_vq_release(&d->vq[i]);
	if (d->mem)
		munmap(d->mem, d->mem_len);
	d->mem = NULL;
	d->mem_mapped = false;
}

int vdpa_set_owner(struct vdpa_dev *d)
{
	return vdpa_ioctl(d, VHOST_SET_OWNER, NULL);
}

int vdpa_get_status(struct vdpa_dev *d, uint8_t *status)
{
	return vdpa_ioctl(d, VHOST_VDPA_GET_STATUS, status);
}

int vdpa_set_status(struct vdpa_dev *d, uint8_t status)
{
	return vdpa_ioctl(d, VHOST_VDPA_SET_STATUS, &status);
}

/* Set status bits and read them back: the device may refuse silently. */
int vdpa_add_status(struct vdpa_dev *d, uint8_t bits)
{
	uint8_t status;
	int ret;

	ret = vdpa_get_status(d, &status);
	if (ret)
		return ret;
	ret = vdpa_set_status(d, status | bits);
	if (ret)
		return ret;
	ret = vdpa_get_status(d, &status);
	if (ret)
		return ret;
	if ((status & bits) != bits)
		return -EPROTO;
	return 0;
}

int vdpa_reset(struct vdpa_dev *d)
{
	uint8_t status;
	int ret;

	ret = vdpa_set_status(d, 0);
	if (ret)
		return ret;
	ret = vdpa_get_status(d, &status);
	if (ret)
		return ret;
	d->features = 0;
	return status ? -EPROTO : 0;
}

/* VHOST_GET_VRING_BASE of queue @idx into *@num; 0 or -errno. */
int vdpa_get_vring_base(int fd, unsigned int idx, uint32_t *num)
{
	struct vhost_vring_state s = { .index = idx };

	if (ioctl(fd, VHOST_GET_VRING_BASE, &s) < 0)
		return -errno;
	*num = s.num;
	return 0;
}

int vdpa_negotiate(struct vdpa_dev *d, uint64_t wanted)
{
	uint64_t features;
	int ret;

	ret = vdpa_reset(d);
	if (!ret)
		ret = vdpa_add_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (!ret)
		ret = vdpa_add_status(d, VIRTIO_CONFIG_S_DRIVER);
	if (ret)
		return ret;
	features = wanted & d->device_features;
	ret = vdpa_ioctl(d, VHOST_SET_FEATURES, &features);
	if (ret)
		return ret;
	ret = vdpa_add_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	if (ret)
		return ret;
	d->features = features;
	return 0;
}

int vdpa_set_backend_features(struct vdpa_dev *d, uint64_t wanted)
{
	uint64_t acked;
	int ret;

	ret = vdpa_ioctl(d, VHOST_GET_BACKEND_FEATURES, &d->backend_offered);
	if (ret)
		return ret;
	acked = d->backend_offered & wanted;
	ret = vdpa_ioctl(d, VHOST_SET_BACKEND_FEATURES, &acked);
	if (ret)
		return ret;
	d->backend_features = acked;
	return 0;
}

int vdpa_driver_ok(struct vdpa_dev *d)
{
	return vdpa_add_status(d, VIRTIO_CONFIG_S_DRIVER_OK);
}

static int vdpa_config_io(struct vdpa_dev *d, unsigned long req, uint32_t off,
			  void *buf, uint32_t len)
{
	struct vhost_vdpa_config *c;
	int ret;

	c = calloc(1, sizeof(*c) + len);
	if (!c)
		return -ENOMEM;
	c->off = off;
	c->len = len;
	if (req == VHOST_VDPA_SET_CONFIG)
		memcpy(c->buf, buf, len);
	ret = vdpa_ioctl(d, req, c);
	if (!ret && req == VHOST_VDPA_GET_CONFIG)
		memcpy(buf, c->buf, len);
	free(c);
	return ret;
}

int vdpa_get_config(struct vdpa_dev *d, uint32_t off, void *buf, uint32_t len)
{
	return vdpa_config_io(d, VHOST_VDPA_GET_CONFIG, off, buf, len);
}

int vdpa_set_config(struct vdpa_dev *d, uint32_t off, const void *buf,
		    uint32_t len)
{
	return vdpa_config_io(d, VHOST_VDPA_SET_CONFIG, off, (void *)buf, len);
}

ssize_t vdpa_iotlb_msg(int fd, int version, uint32_t asid, uint8_t type,
		       uint64_t iova, uint64_t size, uint64_t uaddr,
		       uint8_t perm)
{
	struct vhost_iotlb_msg *m;
	union {
		struct vhost_msg v1;
		struct vhost_msg_v2 v2;
	} msg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	if (version == VHOST_IOTLB_MSG) {
		msg.v1.type = VHOST_IOTLB_MSG;
		m = &msg.v1.iotlb;
	} else {
		msg.v2.type = version;
		msg.v2.asid = asid;
		m = &msg.v2.iotlb;
	}
	m->iova = iova;
	m->size = size;
	m->uaddr = uaddr;
	m->perm = perm;
	m->type = type;
	n = write(fd, &msg, VDPA_IOTLB_MSG_SIZE);
	return n < 0 ? -errno : n;
}

static int vdpa_iotlb_send(struct vdpa_dev *d, uint32_t asid, uint8_t type,
			   uint64_t iova, uint64_t size, uint64_t uaddr,
			   uint8_t perm)
{
	ssize_t n;

	n = vdpa_iotlb_msg(d->fd, VHOST_IOTLB_MSG_V2, asid, type, iova, size,
			   uaddr, perm);
	if (n < 0)
		return n;
	return n == VDPA_IOTLB_MSG_SIZE ? 0 : -EPROTO;
}

int vdpa_iotlb_update(struct vdpa_dev *d, uint32_t asid, uint64_t iova,
		      uint64_t size, const void *uaddr, uint8_t perm)
{
	return vdpa_iotlb_send(d, asid, VHOST_IOTLB_UPDATE, iova, size,
			       (uintptr_t)uaddr, perm);
}

int vdpa_iotlb_invalidate(struct vdpa_dev *d, uint32_t asid, uint64_t iova,
			  uint64_t size)
{
	return vdpa_iotlb_send(d, asid, VHOST_IOTLB_INVALIDATE, iova, size, 0,
			       0);
}

int vdpa_iotlb_batch_begin(struct vdpa_dev *d, uint32_t asid)
{
	return vdpa_iotlb_send(d, asid, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, 0);
}

int vdpa_iotlb_batch_end(struct vdpa_dev *d, uint32_t asid)
{
	return vdpa_iotlb_send(d, asid, VHOST_IOTLB_BATCH_END, 0, 0, 0, 0);
}

/*
 * The DMA region: private anonymous memory (pinned by PA mode parents), or
 * with @shared a memfd mapped MAP_SHARED, which is what VA mode parents
 * (VDUSE) need: their daemon maps the same file.
 */
static int mem_map(struct vdpa_dev *d, size_t len, uint64_t iova,
		   uint32_t asid, bool shared)
{
	void *p;
	int ret, fd;

	if (shared) {
		fd = memfd_create("vdpa-dma", MFD_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (ftruncate(fd, len)) {
			ret = -errno;
			close(fd);
			return ret;
		}
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, fd, 0);
		/* the mapping keeps the file */
		close(fd);
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	}
	if (p == MAP_FAILED)
		return -errno;
	/* A forked child must not share (and break COW on) pinned pages. */
	madvise(p, len, MADV_DONTFORK);
	ret = vdpa_iotlb_update(d, asid, iova, len, p, VHOST_ACCESS_RW);
	if (ret) {
		munmap(p, len);
		return ret;
	}
	d->mem = p;
	d->mem_len = len;
	d->mem_used = 0;
	d->mem_iova = iova;
	d->asid = asid;
	d->mem_mapped = true;
	return 0;
}

int vdpa_mem_map(struct vdpa_dev *d, size_t len, uint64_t iova, uint32_t asid)
{
	return mem_map(d, len, iova, asid, false);
}

int vdpa_mem_map_shared(struct vdpa_dev *d, size_t len, uint64_t iova,
			uint32_t asid)
{
	return mem_map(d, len, iova, asid, true);
}

int vdpa_mem_unmap(struct vdpa_dev *d)
{
	int ret = 0;

	if (d->mem_mapped)
		ret = vdpa_iotlb_invalidate(d, d->asid, d->mem_iova,
					    d->mem_len);
	d->mem_mapped = false;
	return ret;
}

void *vdpa_mem_alloc(struct vdpa_dev *d, size_t len, size_t align,
		     uint64_t *iova)
{
	size_t off;

	if (!align)
		align = 1;
	off = (d->mem_used + align - 1) & ~(align - 1);
	if (!d->mem || off > d->mem_len || len > d->mem_len - off)
		return NULL;
	d->mem_used = off + len;
	if (iova)
		*iova = d->mem_iova + off;
	return d->mem + off;
}

static int vdpa_vq_ioctls(struct vdpa_dev *d, struct vdpa_vq *vq)
{
	struct vhost_vring_state state = { .index = vq->index };
	struct vhost_vring_file file = { .index = vq->index };
	struct vhost_vring_addr addr = { .index = vq->index };
	int ret;

	state.num = vq->num;
	ret = vdpa_ioctl(d, VHOST_SET_VRING_NUM, &state);
	if (ret)
		return ret;
	/* packed: both wrap counters (bits 15 and 31) start at 1 */
	state.num = vq->packed ? 0x80008000U : 0;
	ret = vdpa_ioctl(d, VHOST_SET_VRING_BASE, &state);
	if (ret)
		return ret;
	addr.desc_user_addr = vq->desc_iova;
	addr.avail_user_addr = vq->avail_iova;
	addr.used_user_addr = vq->used_iova;
	ret = vdpa_ioctl(d, VHOST_SET_VRING_ADDR, &addr);
	if (ret)
		return ret;
	file.fd = vq->kick_fd;
	ret = vdpa_ioctl(d, VHOST_SET_VRING_KICK, &file);
	if (ret)
		return ret;
	file.fd = vq->call_fd;
	return vdpa_ioctl(d, VHOST_SET_VRING_CALL, &file);
}

static void vdpa_vq_start(struct vdpa_vq *vq)
{
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->avail_wrap = true;
	vq->used_wrap = true;
	vq->kicks = 0;
	vq->calls = 0;
}

/* A set-up ring's eventfds and its vhost ioctls; released on failure. */
static int vdpa_vq_connect(struct vdpa_dev *d, struct vdpa_vq *vq)
{
	int ret;

	vq->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vq->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vq->kick_fd < 0 || vq->call_fd < 0)
		ret = -errno;
	else
		ret = vdpa_vq_ioctls(d, vq);
	if (ret)
		vdpa_vq_release(vq);
	return ret;
}

static int vdpa_vq_setup_packed(struct vdpa_dev *d, struct vdpa_vq *vq,
				uint32_t slot_size)
{
	unsigned int num = vq->num, i;
	void *drv, *dev;

	vq->pdesc = vdpa_mem_alloc(d, 16 * num, VDPA_RING_ALIGN,
				   &vq->desc_iova);
	drv = vdpa_mem_alloc(d, 4, 4, &vq->avail_iova);
	dev = vdpa_mem_alloc(d, 4, 4, &vq->used_iova);
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->slot_size = slot_size;
	vq->slots = vdpa_mem_alloc(d, (size_t)slot_size * num, 64,
				   &vq->slots_iova);
	vq->cookie = calloc(num, sizeof(*vq->cookie));
	vq->id_next = calloc(num, sizeof(*vq->id_next));
	vq->id_descs = calloc(num, sizeof(*vq->id_descs));
	if (!vq->pdesc || !drv || !dev || !vq->slots || !vq->cookie ||
	    !vq->id_next || !vq->id_descs) {
		vdpa_vq_release(vq);
		return -ENOMEM;
	}
	/* flags 0: no descriptor available in the first lap; events on */
	memset(vq->pdesc, 0, 16 * num);
	memset(drv, 0, 4);
	memset(dev, 0, 4);
	for (i = 0; i < num; i++)
		vq->id_next[i] = i + 1;
	vq->free_head = 0;
	vq->num_free = num;
	vdpa_vq_start(vq);
	return vdpa_vq_connect(d, vq);
}

int vdpa_vq_setup(struct vdpa_dev *d, unsigned int index, unsigned int num,
		  uint32_t slot_size)
{
	struct vdpa_vq *vq;
	unsigned int i;

	if (index >= VDPA_MAX_VQS || !num || (num & (num - 1)) || num > 32768)
		return -EINVAL;
	vq = &d->vq[index];
	vdpa_vq_release(vq);
	vq->num = num;
	vq->packed = d->features & VDPA_BIT(VIRTIO_F_RING_PACKED);
	if (vq->packed)
		return vdpa_vq_setup_packed(d, vq, slot_size);
	vq->desc = vdpa_mem_alloc(d, 16 * num, VDPA_RING_ALIGN,
				  &vq->desc_iova);
	vq->avail = vdpa_mem_alloc(d, 6 + 2 * num, VDPA_RING_ALIGN,
				   &vq->avail_iova);
	vq->used = vdpa_mem_alloc(d, 6 + 8 * num, VDPA_RING_ALIGN,
				  &vq->used_iova);
	vq->slot_size = slot_size;
	vq->slots = vdpa_mem_alloc(d, (size_t)slot_size * num, 64,
				   &vq->slots_iova);
	vq->cookie = calloc(num, sizeof(*vq->cookie));
	if (!vq->desc || !vq->avail || !vq->used || !vq->slots ||
	    !vq->cookie) {
		vdpa_vq_release(vq);
		return -ENOMEM;
	}
	memset(vq->desc, 0, 16 * num);
	memset(vq->avail, 0, 6 + 2 * num);
	memset(vq->used, 0, 6 + 8 * num);
	for (i = 0; i < num; i++)
		vq->desc[i].next = htole16((i + 1) & (num - 1));
	vq->free_head = 0;
	vq->num_free = num;
	vdpa_vq_start(vq);
	return vdpa_vq_connect(d, vq);
}

int vdpa_vq_enable(struct vdpa_dev *d, unsigned int index, bool enable)
{
	struct vhost_vring_state state = { .index = index, .num = enable };

	return vdpa_ioctl(d, VHOST_VDPA_SET_VRING_ENABLE, &state);
}

void *vdpa_vq_slot(struct vdpa_vq *vq, uint16_t id)
{
	return vq->slots + (size_t)id * vq->slot_size;
}

static uint64_t vdpa_vq_slot_iova(struct vdpa_vq *vq, uint16_t id)
{
	return vq->slots_iova + (uint64_t)id * vq->slot_size;
}

#define VDPA_PACKED_AVAIL	0x0080U	/* 1 << VRING_PACKED_DESC_F_AVAIL */
#define VDPA_PACKED_USED	0x8000U	/* 1 << VRING_PACKED_DESC_F_USED */

/* A packed chain: n descriptors from avail_idx, the first made available last. */
static int vdpa_vq_add_packed(struct vdpa_vq *vq, const struct vdpa_sg *sg,
			      unsigned int out, unsigned int n, void *cookie)
{
	uint16_t id = vq->free_head, pos = vq->avail_idx, flags, head_flags = 0;
	bool wrap = vq->avail_wrap;
	unsigned int k;

	if (id >= vq->num)
		return -ENOSPC;
	for (k = 0; k < n; k++) {
		struct vring_packed_desc *d = &vq->pdesc[pos];

		flags = k >= out ? VRING_DESC_F_WRITE : 0;
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		flags |= wrap ? VDPA_PACKED_AVAIL : VDPA_PACKED_USED;
		d->addr = htole64(sg[k].iova);
		d->len = htole32(sg[k].len);
		d->id = htole16(id);
		if (k)
			d->flags = htole16(flags);
		else
			head_flags = flags;
		if (++pos == vq->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	vq->free_head = vq->id_next[id];
	vq->id_descs[id] = n;
	vq->num_free -= n;
	vq->cookie[id] = cookie;
	/* the rest of the chain before its first descriptor */
	__atomic_store_n(&vq->pdesc[vq->avail_idx].flags, htole16(head_flags),
			 __ATOMIC_RELEASE);
	vq->avail_idx = pos;
	vq->avail_wrap = wrap;
	return id;
}

int vdpa_vq_add_sg(struct vdpa_vq *vq, const struct vdpa_sg *sg,
		   unsigned int out, unsigned int in, void *cookie)
{
	unsigned int n = out + in, k;
	uint16_t head, id, flags;

	if (!n)
		return -EINVAL;
	if (n > vq->num_free)
		return -ENOSPC;
	if (vq->packed)
		return vdpa_vq_add_packed(vq, sg, out, n, cookie);
	head = vq->free_head;
	id = head;
	for (k = 0; k < n; k++) {
		flags = k >= out ? VRING_DESC_F_WRITE : 0;
		if (k + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		vq->desc[id].addr = htole64(sg[k].iova);
		vq->desc[id].len = htole32(sg[k].len);
		vq->desc[id].flags = htole16(flags);
		/* the free list link doubles as the chain link */
		if (k + 1 < n)
			id = le16toh(vq->desc[id].next);
	}
	vq->free_head = le16toh(vq->desc[id].next);
	vq->num_free -= n;
	vq->cookie[head] = cookie;

	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = htole16(head);
	vq->avail_idx++;
	/* descriptors and the ring entry before the index */
	__atomic_store_n(&vq->avail->idx, htole16(vq->avail_idx),
			 __ATOMIC_RELEASE);
	return head;
}

int vdpa_vq_add_buf(struct vdpa_vq *vq, const void *data, uint32_t len,
		    bool writable, void *cookie)
{
	struct vdpa_sg sg;
	uint16_t id;

	if (!vq->num_free)
		return -ENOSPC;
	if (len > vq->slot_size)
		return -EMSGSIZE;
	id = vq->free_head;
	if (data)
		memcpy(vdpa_vq_slot(vq, id), data, len);
	sg.iova = vdpa_vq_slot_iova(vq, id);
	sg.len = len;
	return vdpa_vq_add_sg(vq, &sg, writable ? 0 : 1, writable ? 1 : 0,
			      cookie);
}

int vdpa_vq_kick(struct vdpa_vq *vq)
{
	uint64_t one = 1;

	/* the ring updates must be visible before the device looks */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (write(vq->kick_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	vq->kicks++;
	return 0;
}

static bool vdpa_vq_has_used_packed(struct vdpa_vq *vq)
{
	uint16_t f = le16toh(__atomic_load_n(&vq->pdesc[vq->last_used].flags,
					     __ATOMIC_ACQUIRE));

	return !!(f & VDPA_PACKED_AVAIL) == vq->used_wrap &&
	       !!(f & VDPA_PACKED_USED) == vq->used_wrap;
}

bool vdpa_vq_has_used(struct vdpa_vq *vq)
{
	uint16_t idx;

	if (vq->packed)
		return vdpa_vq_has_used_packed(vq);
	idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	return idx != vq->last_used;
}

static int vdpa_vq_get_used_packed(struct vdpa_vq *vq, struct vdpa_used *u)
{
	struct vring_packed_desc *d = &vq->pdesc[vq->last_used];
	uint16_t id, n;

	if (!vdpa_vq_has_used_packed(vq))
		return 0;
	id = le16toh(d->id);
	if (id >= vq->num || !vq->id_descs[id])
		return -EPROTO;
	n = vq->id_descs[id];
	u->id = id;
	u->len = le32toh(d->len);
	u->cookie = vq->cookie[id];
	u->data = vdpa_vq_slot(vq, id);
	vq->cookie[id] = NULL;
	vq->id_descs[id] = 0;
	vq->last_used += n;
	if (vq->last_used >= vq->num) {
		vq->last_used -= vq->num;
		vq->used_wrap = !vq->used_wrap;
	}
	vq->id_next[id] = vq->free_head;
	vq->free_head = id;
	vq->num_free += n;
	return 1;
}

int vdpa_vq_get_used(struct vdpa_vq *vq, struct vdpa_used *u)
{
	struct vring_used_elem *e;
	unsigned int n = 1;
	uint16_t idx, id, last;

	if (vq->packed)
		return vdpa_vq_get_used_packed(vq, u);
	idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	if (idx == vq->last_used)
		return 0;
	if ((uint16_t)(idx - vq->last_used) > vq->num)
		return -EPROTO;
	e = &vq->used->ring[vq->last_used & (vq->num - 1)];
	id = le32toh(e->id);
	if (id >= vq->num)
		return -EPROTO;
	u->id = id;
	u->len = le32toh(e->len);
	u->cookie = vq->cookie[id];
	u->data = vdpa_vq_slot(vq, id);
	vq->cookie[id] = NULL;
	vq->last_used++;

	last = id;
	while (le16toh(vq->desc[last].flags) & VRING_DESC_F_NEXT) {
		last = le16toh(vq->desc[last].next);
		if (++n > vq->num)
			return -EPROTO;
	}
	vq->desc[last].next = htole16(vq->free_head);
	vq->free_head = id;
	vq->num_free += n;
	return 1;
}

/*
 * Wait until the used ring has something.  The call eventfd is the
 * notification; the used index is checked as well so that a missed or
 * suppressed interrupt only costs a short poll slice.
 */
int vdpa_vq_wait(struct vdpa_vq *vq, int timeout_ms)
{
	uint64_t deadline = vdpa_now_ns() + (uint64_t)timeout_ms * 1000000;
	struct pollfd pfd = { .fd = vq->call_fd, .events = POLLIN };
	uint64_t now, cnt;
	int slice;

	for (;;) {
		if (vdpa_vq_has_used(vq))
			return 1;
		now = vdpa_now_ns();
		if (now >= deadline)
			return 0;
		slice = (deadline - now) / 1000000 + 1;
		if (slice > 20)
			slice = 20;
		if (poll(&pfd, 1, slice) < 0 && errno != EINTR)
			return -errno;
		if (pfd.revents & POLLIN) {
			if (read(vq->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
				vq->calls += cnt;
		}
	}
}

int vdpa_net_ctrl(struct vdpa_dev *d, unsigned int cvq, uint8_t class,
		  uint8_t cmd, const void *data, uint32_t len, uint8_t *ack,
		  int timeout_ms)
{
	struct vdpa_vq *vq = &d->vq[cvq];
	struct vdpa_sg sg[2];
	struct vdpa_used u;
	uint16_t id0, id1;
	uint8_t *out;
	int ret;

	if (vq->num_free < 2)
		return -ENOSPC;
	if (len + 2 > vq->slot_size)
		return -EMSGSIZE;
	id0 = vq->free_head;
	id1 = le16toh(vq->desc[id0].next);
	out = vdpa_vq_slot(vq, id0);
	out[0] = class;
	out[1] = cmd;
	if (len)
		memcpy(out + 2, data, len);
	*(uint8_t *)vdpa_vq_slot(vq, id1) = 0xff;
	sg[0].iova = vdpa_vq_slot_iova(vq, id0);
	sg[0].len = len + 2;
	sg[1].iova = vdpa_vq_slot_iova(vq, id1);
	sg[1].len = 1;
	ret = vdpa_vq_add_sg(vq, sg, 1, 1, NULL);
	if (ret < 0)
		return ret;
	ret = vdpa_vq_kick(vq);
	if (ret)
		return ret;
	ret = vdpa_vq_wait(vq, timeout_ms);
	if (ret <= 0)
		return ret ? ret : -ETIMEDOUT;
	ret = vdpa_vq_get_used(vq, &u);
	if (ret <= 0)
		return ret ? ret : -EPROTO;
	if (u.id != id0)
		return -EPROTO;
	*ack = *(uint8_t *)vdpa_vq_slot(vq, id1);
	return 0;
}
