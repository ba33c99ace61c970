/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvdpa-user: a minimal virtio driver running in userspace on top of
 * /dev/vhost-vdpa-N, without QEMU.  It negotiates features, maps one
 * anonymous memory region through the IOTLB write() protocol, lays split
 * rings out in that region and moves buffers through them.
 *
 * Every function returns 0 (or a count) on success and a negative errno on
 * failure; errno is left as the kernel set it.
 */
#ifndef VDPA_USER_H
#define VDPA_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/vhost.h>
#include <linux/vhost_types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

/*
 * Items newer than some uapi headers.  The project's headers define all of
 * them; these fallbacks only matter when building against older ones.
 */
#ifndef VHOST_VDPA_RESUME
#define VHOST_VDPA_RESUME		_IO(VHOST_VIRTIO, 0x7E)
#endif
#ifndef VHOST_VDPA_GET_VRING_DESC_GROUP
#define VHOST_VDPA_GET_VRING_DESC_GROUP	_IOWR(VHOST_VIRTIO, 0x7F, \
					      struct vhost_vring_state)
#endif
#ifndef VHOST_VDPA_GET_VRING_SIZE
#define VHOST_VDPA_GET_VRING_SIZE	_IOWR(VHOST_VIRTIO, 0x82, \
					      struct vhost_vring_state)
#endif
#ifndef VHOST_BACKEND_F_RESUME
#define VHOST_BACKEND_F_RESUME		0x5
#endif
#ifndef VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK
#define VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK 0x6
#endif
#ifndef VHOST_BACKEND_F_DESC_ASID
#define VHOST_BACKEND_F_DESC_ASID	0x7
#endif
#ifndef VHOST_BACKEND_F_IOTLB_PERSIST
#define VHOST_BACKEND_F_IOTLB_PERSIST	0x8
#endif
#ifndef VIRTIO_F_ACCESS_PLATFORM
#define VIRTIO_F_ACCESS_PLATFORM	33
#endif
#ifndef VIRTIO_NET_F_STATUS
#define VIRTIO_NET_F_STATUS		16
#endif

/* ENOTSUPP is kernel-internal (524) but reaches userspace from mmap(). */
#define VDPA_ENOTSUPP			524

#define VDPA_MAX_VQS			16
#define VDPA_IOTLB_MSG_SIZE		72

#define VDPA_BIT(n)			(1ULL << (n))

/* One element of a descriptor chain: an IOVA inside a mapped region. */
struct vdpa_sg {
	uint64_t iova;
	uint32_t len;
};

/* A completed chain, as taken from the used ring. */
struct vdpa_used {
	uint16_t id;		/* head descriptor */
	uint32_t len;		/* bytes written by the device */
	void *cookie;		/* what was passed when the chain was added */
	void *data;		/* the head descriptor's buffer slot */
};

struct vdpa_dev;

/*
 * Driver-side state of one virtqueue: split, or packed when the device
 * accepted VIRTIO_F_RING_PACKED before vdpa_vq_setup() (then desc, avail
 * and used are NULL, and avail_idx and last_used are ring positions).
 */
struct vdpa_vq {
	struct vdpa_dev *dev;
	unsigned int index;
	unsigned int num;		/* ring size, 0 = not set up */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_iova;
	uint64_t avail_iova;		/* packed: driver event area */
	uint64_t used_iova;		/* packed: device event area */
	int kick_fd;
	int call_fd;
	uint16_t avail_idx;		/* next avail index to publish */
	uint16_t last_used;		/* next used entry to consume */
	uint16_t free_head;		/* free descriptors (packed: ids) */
	unsigned int num_free;		/* free descriptors */
	bool packed;
	bool avail_wrap;		/* packed: wrap counters */
	bool used_wrap;
	struct vring_packed_desc *pdesc;
	uint16_t *id_next;		/* packed: free ids, linked */
	uint16_t *id_descs;		/* packed: descriptors per id in use */
	void **cookie;			/* per head, owned by the caller */
	uint8_t *slots;			/* num buffers of slot_size bytes */
	uint64_t slots_iova;
	uint32_t slot_size;
	uint64_t kicks;
	uint64_t calls;			/* call eventfd wake-ups seen */
};

/* One open /dev/vhost-vdpa-N. */
struct vdpa_dev {
	int fd;
	uint32_t device_id;
	uint64_t device_features;
	uint64_t features;		/* accepted driver features */
	uint64_t backend_offered;
	uint64_t backend_features;	/* acked backend features */
	uint32_t nvqs;
	uint32_t ngroups;
	uint32_t nas;
	uint32_t config_size;
	uint16_t vq_num_max;
	/* the DMA region: anonymous memory mapped at mem_iova in asid */
	uint8_t *mem;
	size_t mem_len;
	size_t mem_used;
	uint64_t mem_iova;
	uint32_t asid;
	bool mem_mapped;
	struct vdpa_vq vq[VDPA_MAX_VQS];
};

/* Open, query, close. */
int vdpa_open(struct vdpa_dev *d, const char *path);
int vdpa_query(struct vdpa_dev *d);
void vdpa_close(struct vdpa_dev *d);
int vdpa_set_owner(struct vdpa_dev *d);

/* Status and features. */
int vdpa_get_status(struct vdpa_dev *d, uint8_t *status);
int vdpa_set_status(struct vdpa_dev *d, uint8_t status);
int vdpa_add_status(struct vdpa_dev *d, uint8_t bits);
int vdpa_reset(struct vdpa_dev *d);
int vdpa_get_vring_base(int fd, unsigned int idx, uint32_t *num);
int vdpa_negotiate(struct vdpa_dev *d, uint64_t wanted);
int vdpa_set_backend_features(struct vdpa_dev *d, uint64_t wanted);
int vdpa_driver_ok(struct vdpa_dev *d);

/* Device config space. */
int vdpa_get_config(struct vdpa_dev *d, uint32_t off, void *buf, uint32_t len);
int vdpa_set_config(struct vdpa_dev *d, uint32_t off, const void *buf,
		    uint32_t len);

/* IOTLB messages.  vdpa_iotlb_msg() returns what write() returned. */
ssize_t vdpa_iotlb_msg(int fd, int version, uint32_t asid, uint8_t type,
		       uint64_t iova, uint64_t size, uint64_t uaddr,
		       uint8_t perm);
int vdpa_iotlb_update(struct vdpa_dev *d, uint32_t asid, uint64_t iova,
		      uint64_t size, const void *uaddr, uint8_t perm);
int vdpa_iotlb_invalidate(struct vdpa_dev *d, uint32_t asid, uint64_t iova,
			  uint64_t size);
int vdpa_iotlb_batch_begin(struct vdpa_dev *d, uint32_t asid);
int vdpa_iotlb_batch_end(struct vdpa_dev *d, uint32_t asid);

/* The DMA region. */
int vdpa_mem_map(struct vdpa_dev *d, size_t len, uint64_t iova, uint32_t asid);
/* The same with a memfd mapped MAP_SHARED (VA mode parents: VDUSE). */
int vdpa_mem_map_shared(struct vdpa_dev *d, size_t len, uint64_t iova,
			uint32_t asid);
void *vdpa_mem_alloc(struct vdpa_dev *d, size_t len, size_t align,
		     uint64_t *iova);
int vdpa_mem_unmap(struct vdpa_dev *d);

/* Virtqueues. */
int vdpa_vq_setup(struct vdpa_dev *d, unsigned int index, unsigned int num,
		  uint32_t slot_size);
int vdpa_vq_enable(struct vdpa_dev *d, unsigned int index, bool enable);
int vdpa_vq_add_sg(struct vdpa_vq *vq, const struct vdpa_sg *sg,
		   unsigned int out, unsigned int in, void *cookie);
int vdpa_vq_add_buf(struct vdpa_vq *vq, const void *data, uint32_t len,
		    bool writable, void *cookie);
void *vdpa_vq_slot(struct vdpa_vq *vq, uint16_t id);
int vdpa_vq_kick(struct vdpa_vq *vq);
int vdpa_vq_get_used(struct vdpa_vq *vq, struct vdpa_used *u);
bool vdpa_vq_has_used(struct vdpa_vq *vq);
int vdpa_vq_wait(struct vdpa_vq *vq, int timeout_ms);

/* virtio-net helpers. */
int vdpa_net_ctrl(struct vdpa_dev *d, unsigned int cvq, uint8_t class,
		  uint8_t cmd, const void *data, uint32_t len, uint8_t *ack,
		  int timeout_ms);

/* Misc. */
long vdpa_vmpin_kb(void);
uint64_t vdpa_now_ns(void);

#endif /* VDPA_USER_H */
