// SPDX-License-Identifier: GPL-2.0
/*
 * vdpa_sim: copies between the simulator and driver memory through an IOTLB.
 *
 * A copy is split into runs, one per IOTLB entry it crosses, and each run
 * into pieces that stay within one page, mapped with kmap_local_page().  The
 * interval tree is searched once for the whole range; later entries are
 * reached with vhost_iotlb_itree_next() while they follow without a gap.
 * A caller may keep a hint, the entry its last access went through: the
 * next access starts there when that entry covers its first byte, with no
 * tree search (a ring's descriptors, indices and buffers mostly lie in one
 * entry).  The hint is only ever an entry of that same table: whoever
 * removes an entry or changes the table clears it (vdpasim_ring's hint:
 * the core, under the lock the passes hold).
 *
 * memcpy() gives no single-copy atomicity: on x86 with ERMS it is "rep
 * movsb", which stores (and loads) one byte at a time and may take an
 * interrupt between two bytes.  That is fine for buffers and descriptors,
 * which the driver does not touch while the device owns them, but not for
 * the 16-bit ring indices, which the driver reads and writes concurrently:
 * those go through vdpasim_iotlb_read16()/vdpasim_iotlb_write16().
 */

#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pfn.h>
#include <linux/string.h>
#include <linux/vhost_iotlb.h>

#include "sim_iotlb.h"

/*
 * Copy between @buf and @len bytes of pinned memory at physical address @pa,
 * IOVA @iova of @iotlb (for the debug check of pins).
 */
static int vdpasim_copy_phys(struct vhost_iotlb *iotlb, u64 pa, u64 iova,
			     void *buf, size_t len, bool to_guest)
{
	while (len) {
		unsigned long pfn = PHYS_PFN(pa);
		size_t off = offset_in_page(pa);
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		void *va;

		/* An entry pointing outside RAM is a bug elsewhere: refuse it. */
		if (!pfn_valid(pfn))
			return -EFAULT;
		vdpasim_iotlb_check_page(iotlb, pfn, iova);
		va = kmap_local_page(pfn_to_page(pfn));
		if (to_guest)
			memcpy(va + off, buf, n);
		else
			memcpy(buf, va + off, n);
		kunmap_local(va);
		pa += n;
		iova += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * The entry that translates @iova, searching from @map (the entry that
 * translated the byte just before @iova) when there is one.  NULL for a hole.
 * (Entries never overlap in the simulator's tables: vhost-vdpa refuses
 * overlapping maps, and the identity table has one entry.)
 */
static struct vhost_iotlb_map *vdpasim_iotlb_find(struct vhost_iotlb *iotlb,
						  struct vhost_iotlb_map *map,
						  u64 iova, u64 last)
{
	if (map) {
		map = vhost_iotlb_itree_next(map, iova, last);
		if (map && map->start <= iova)
			return map;
	}
	/*
	 * The overlapping entry with the lowest start covers @iova if any
	 * entry does, so one more lookup settles both a first search and the
	 * (never expected) case of overlapping entries.
	 */
	map = vhost_iotlb_itree_first(iotlb, iova, last);
	if (map && map->start <= iova)
		return map;
	return NULL;
}

/* The entry that translates @iova: *@hint if it does, else a search. */
static struct vhost_iotlb_map *
vdpasim_iotlb_start(struct vhost_iotlb *iotlb, struct vhost_iotlb_map **hint,
		    u64 iova, u64 last)
{
	struct vhost_iotlb_map *map = hint ? *hint : NULL;

	if (map && map->start <= iova && iova <= map->last)
		return map;
	map = vdpasim_iotlb_find(iotlb, NULL, iova, last);
	if (map && hint)
		*hint = map;
	return map;
}

static int vdpasim_iotlb_copy(struct vhost_iotlb *iotlb,
			      struct vhost_iotlb_map **hint, u64 iova,
			      void *buf, size_t len, bool to_guest)
{
	u32 perm = to_guest ? VHOST_MAP_WO : VHOST_MAP_RO;
	struct vhost_iotlb_map *map = NULL;
	u64 last;

	if (!len)
		return 0;
	if (check_add_overflow(iova, (u64)len - 1, &last))
		return -EOVERFLOW;

	for (;;) {
		u64 run_last;
		size_t n;
		int ret;

		if (map)
			map = vdpasim_iotlb_find(iotlb, map, iova, last);
		else
			map = vdpasim_iotlb_start(iotlb, hint, iova, last);
		if (!map)
			return -EFAULT;
		if (hint)
			*hint = map;
		if ((map->perm & perm) != perm)
			return -EACCES;
		run_last = min(map->last, last);
		n = run_last - iova + 1;
		ret = vdpasim_copy_phys(iotlb, map->addr + (iova - map->start),
					iova, buf, n, to_guest);
		if (ret)
			return ret;
		if (run_last == last)
			return 0;
		buf += n;
		iova = run_last + 1;
	}
}

/*
 * One 16-bit access at @iova, or -EAGAIN if no single access can do it (an
 * odd IOVA or physical address, or the two bytes in two entries): the
 * caller then copies, which also gives the same errors as a copy.
 */
static int vdpasim_iotlb_access16(struct vhost_iotlb *iotlb,
				  struct vhost_iotlb_map **hint, u64 iova,
				  __le16 *val, bool to_guest)
{
	u32 perm = to_guest ? VHOST_MAP_WO : VHOST_MAP_RO;
	struct vhost_iotlb_map *map;
	__le16 *p;
	void *va;
	u64 pa;

	/* even, so iova + 1 does not wrap and both bytes share a page */
	if (iova & 1)
		return -EAGAIN;
	map = vdpasim_iotlb_start(iotlb, hint, iova, iova + 1);
	if (!map || map->last < iova + 1 || (map->perm & perm) != perm)
		return -EAGAIN;
	pa = map->addr + (iova - map->start);
	if ((pa & 1) || !pfn_valid(PHYS_PFN(pa)))
		return -EAGAIN;
	vdpasim_iotlb_check_page(iotlb, PHYS_PFN(pa), iova);
	va = kmap_local_page(pfn_to_page(PHYS_PFN(pa)));
	p = va + offset_in_page(pa);
	if (to_guest)
		WRITE_ONCE(*p, *val);
	else
		*val = READ_ONCE(*p);
	kunmap_local(va);
	return 0;
}

int vdpasim_iotlb_read16(struct vhost_iotlb *iotlb,
			 struct vhost_iotlb_map **hint, u64 iova, __le16 *val)
{
	if (!vdpasim_iotlb_access16(iotlb, hint, iova, val, false))
		return 0;
	return vdpasim_iotlb_copy(iotlb, hint, iova, val, sizeof(*val), false);
}
EXPORT_SYMBOL_GPL(vdpasim_iotlb_read16);

int vdpasim_iotlb_write16(struct vhost_iotlb *iotlb,
			  struct vhost_iotlb_map **hint, u64 iova, __le16 val)
{
	if (!vdpasim_iotlb_access16(iotlb, hint, iova, &val, true))
		return 0;
	return vdpasim_iotlb_copy(iotlb, hint, iova, &val, sizeof(val), true);
}
EXPORT_SYMBOL_GPL(vdpasim_iotlb_write16);

int vdpasim_iotlb_read(struct vhost_iotlb *iotlb,
		       struct vhost_iotlb_map **hint, u64 iova, void *dst,
		       size_t len)
{
	return vdpasim_iotlb_copy(iotlb, hint, iova, dst, len, false);
}
EXPORT_SYMBOL_GPL(vdpasim_iotlb_read);

int vdpasim_iotlb_write(struct vhost_iotlb *iotlb,
			struct vhost_iotlb_map **hint, u64 iova,
			const void *src, size_t len)
{
	/* The copy only reads @src when writing to the guest. */
	return vdpasim_iotlb_copy(iotlb, hint, iova, (void *)src, len, true);
}
EXPORT_SYMBOL_GPL(vdpasim_iotlb_write);
