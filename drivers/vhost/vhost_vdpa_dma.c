// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-vdpa IOTLB: userspace describes its DMA address spaces by writing
 * IOTLB messages to /dev/vhost-vdpa-N.  Each address space is a vhost_iotlb
 * table; in PA mode (the parent translates physical addresses) the user
 * pages behind an UPDATE are pinned, charged to the owner's RLIMIT_MEMLOCK
 * and entered as one entry per physically contiguous run.
 *
 * Parents either take single entries (dma_map/dma_unmap) or whole tables
 * (set_map); parents with neither DMA through the platform IOMMU, where
 * each open file gets its own IOMMU domain and entries are mapped into it
 * one by one.  A set_map parent keeps using its previous table until it
 * accepts a new one, so entries removed from a table are only unpinned once
 * the parent took a table without them: until then they sit in the address
 * space's "retired" table, still pinned and still charged.
 *
 * Pushing the whole table costs O(n) per message.  A set_map parent that
 * also has set_map_add/set_map_remove gets the messages outside a batch as
 * single changes instead, while its table is known to be ours ("in sync":
 * it accepted our last table, nothing changed since except through those
 * ops, and it was not reset).  set_map_remove returning 0 means the parent
 * can no longer reach the range, so its pages are unpinned at once, like
 * after dma_unmap.  Any failure of these ops, a refused table, a batch or a
 * reset leaves the table out of sync; the next message then pushes the whole
 * table again.
 *
 * The invariant every path keeps: a page is unpinned (and uncharged) only
 * when no parent table, no IOMMU domain and no parent worker can reach it:
 * after dma_unmap or iommu_unmap returned for it, after set_map accepted a
 * table without it, or after a reset, which drops a parent's tables.  When
 * the retired table fills up, or an UPDATE inside a batch needs the
 * RLIMIT_MEMLOCK that retired entries hold, the table as it stands is pushed
 * early (the parent then stops translating the removed ranges sooner than
 * the batch asked, never later), which releases them; a batch remapping the
 * same memory (INVALIDATE then UPDATE) so needs no more RLIMIT_MEMLOCK than
 * upstream.  If the parent refuses that table, the message fails instead.
 *
 * VA mode (the parent's use_va) pins nothing and charges nothing: the
 * parent reaches the memory through the file behind it.  An UPDATE walks
 * the owner's VMAs over [uaddr, uaddr + size) and enters one entry per VMA:
 * its addr is the user address, its opaque a struct vdpa_map_file holding a
 * reference on the VMA's file and the file offset of that address.  Every
 * VMA must be a shared mapping of a file (not anonymous, not MAP_PRIVATE,
 * not I/O or PFN memory) allowing the access asked, else the whole message
 * fails.  The same table, retire and push rules apply, with "holds a file
 * reference" in place of "pinned": a file reference is dropped exactly when
 * a pinned page would be unpinned, so no path leaks one.  A use_va parent
 * that keeps a file beyond the call takes its own reference, which is why a
 * parent refusing to drop its table costs no leak here.
 *
 * All entry points run under the char device's mutex (see the header).
 */

#include <linux/err.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vdpa.h>
#include <linux/vhost_iotlb.h>
#include <linux/vhost_types.h>

#include "vhost_vdpa_dma.h"

static unsigned int max_iotlb_entries = 262144;
module_param(max_iotlb_entries, uint, 0444);
MODULE_PARM_DESC(max_iotlb_entries,
		 "Most IOTLB entries per address space (default: 262144, 1 GiB of 4 KiB pages)");

/* Pages pinned per pin_user_pages_fast() call: one page of pointers. */
#define VHOST_VDPA_PIN_CHUNK	(PAGE_SIZE / sizeof(struct page *))
/* UPDATEs of at most this many pages take their page pointers on the stack. */
#define VHOST_VDPA_PIN_STACK	8

/**
 * struct vhost_vdpa_as - one address space of an open file
 * @iotlb: the translations userspace installed; the table parents get
 * @retired: entries removed from @iotlb that a set_map parent may still be
 *	     using; still pinned and charged; unpinned and uncharged once the
 *	     parent accepts a new table
 * @asid: the address space id
 * @in_sync: set_map parents: the parent's table is exactly @iotlb (it
 *	     accepted it, and every change since went through set_map_add or
 *	     set_map_remove), so @retired is empty
 */
struct vhost_vdpa_as {
	struct vhost_iotlb iotlb;
	struct vhost_iotlb retired;
	u32 asid;
	bool in_sync;
};

/**
 * struct vhost_vdpa_dma - DMA state of one open file
 * @vdev: the device
 * @range: IOVAs the device can translate
 * @mm: the mm pinned pages are charged to (mmgrab'd at the first UPDATE)
 * @pinned: pages this file has pinned and charged to @mm->pinned_vm, retired
 *	    entries included
 * @domain: platform-IOMMU parents: this file's IOMMU domain, attached to
 *	    the DMA device from create to destroy; NULL otherwise
 * @per_entry: entries go one by one (dma_map, or the IOMMU domain), not as
 *	       tables (set_map)
 * @in_batch: between BATCH_BEGIN and BATCH_END: set_map is deferred
 * @batch_asid: address space of the open batch
 * @as: address spaces indexed by asid, @vdev->nas of them, NULL until used
 */
struct vhost_vdpa_dma {
	struct vdpa_device *vdev;
	struct vdpa_iova_range range;
	struct mm_struct *mm;
	u64 pinned;
	struct iommu_domain *domain;
	bool per_entry;
	bool in_batch;
	u32 batch_asid;
	struct vhost_vdpa_as *as[];
};

static const char *const vhost_vdpa_iotlb_type_names[] = {
	[VHOST_IOTLB_MISS] = "MISS",
	[VHOST_IOTLB_UPDATE] = "UPDATE",
	[VHOST_IOTLB_INVALIDATE] = "INVALIDATE",
	[VHOST_IOTLB_ACCESS_FAIL] = "ACCESS_FAIL",
	[VHOST_IOTLB_BATCH_BEGIN] = "BATCH_BEGIN",
	[VHOST_IOTLB_BATCH_END] = "BATCH_END",
};

static const char *vhost_vdpa_iotlb_type_name(u8 type)
{
	if (type < ARRAY_SIZE(vhost_vdpa_iotlb_type_names) &&
	    vhost_vdpa_iotlb_type_names[type])
		return vhost_vdpa_iotlb_type_names[type];
	return "unknown";
}

static struct device *vhost_vdpa_dma_dev(struct vhost_vdpa_dma *dma)
{
	return &dma->vdev->dev;
}

/*
 * Whether a message on @as goes to a set_map parent entry by entry: outside
 * a batch, to a parent with set_map_add, whose table is ours.
 */
static bool vhost_vdpa_dma_delta(const struct vhost_vdpa_dma *dma,
				 const struct vhost_vdpa_as *as)
{
	/* set_map_add cannot carry a VA entry's file */
	return !dma->per_entry && !dma->vdev->use_va &&
	       dma->vdev->ops->set_map_add &&
	       !dma->in_batch && as->in_sync;
}

/*
 * Map one entry into the parent (dma_map, or set_map_add for a set_map
 * parent in sync) or the IOMMU domain.  A set_map_add that fails leaves the
 * parent's table unknown to us: the next message pushes a whole table.
 */
static int vhost_vdpa_dma_map_one(struct vhost_vdpa_dma *dma,
				  struct vhost_vdpa_as *as,
				  u64 iova, u64 size, u64 pa, u32 perm,
				  void *opaque)
{
	struct vdpa_device *vdev = dma->vdev;
	int prot = IOMMU_CACHE;
	int r;

	if (!dma->per_entry) {
		r = vdev->ops->set_map_add(vdev, as->asid, iova, size, pa,
					   perm);
		if (r)
			as->in_sync = false;
		return r;
	}
	if (!dma->domain)
		return vdev->ops->dma_map(vdev, as->asid, iova, size, pa, perm,
					  opaque);
	if (perm & VHOST_ACCESS_RO)
		prot |= IOMMU_READ;
	if (perm & VHOST_ACCESS_WO)
		prot |= IOMMU_WRITE;
	return iommu_map(dma->domain, iova, pa, size, prot);
}

/*
 * Unmap one entry from the parent (dma_unmap, or set_map_remove for a
 * set_map parent in sync) or the IOMMU domain.  Not 0: the translation may
 * still be in force, so the pages must stay pinned.
 */
static int vhost_vdpa_dma_unmap_one(struct vhost_vdpa_dma *dma,
				    struct vhost_vdpa_as *as, u64 iova,
				    u64 size)
{
	struct vdpa_device *vdev = dma->vdev;
	int r;

	if (!dma->per_entry) {
		r = vdev->ops->set_map_remove(vdev, as->asid, iova, size);
		if (r)
			as->in_sync = false;
		return r;
	}
	if (dma->domain)
		return iommu_unmap(dma->domain, iova, size) == size ? 0 : -EIO;
	return vdev->ops->dma_unmap(vdev, as->asid, iova, size);
}

/*
 * Pure helpers: the range arithmetic and message checks, kept apart from the
 * pinning and the parent so that vhost_vdpa_dma_test.c can check them alone.
 */

/* The access permissions an UPDATE may ask for. */
static bool vhost_vdpa_dma_perm_ok(u8 perm)
{
	return perm == VHOST_ACCESS_RO || perm == VHOST_ACCESS_WO ||
	       perm == VHOST_ACCESS_RW;
}

/*
 * The inclusive last IOVA of an UPDATE of @size (not 0) bytes at @iova, in
 * *@last; false when the range wraps past 2^64 or leaves @range.
 */
static bool vhost_vdpa_dma_update_last(const struct vdpa_iova_range *range,
				       u64 iova, u64 size, u64 *last)
{
	return iova >= range->first &&
	       !check_add_overflow(iova, size - 1, last) &&
	       *last <= range->last;
}

/*
 * The inclusive last IOVA an INVALIDATE of @size bytes at @iova covers.
 * Size 0 at iova 0 means the whole space (upstream wraps around); at another
 * iova, the entry containing it.  A range running past the end of the space
 * stops there.
 */
static u64 vhost_vdpa_dma_invalidate_last(u64 iova, u64 size)
{
	u64 last;

	if (!size)
		return iova ? iova : U64_MAX;
	if (check_add_overflow(iova, size - 1, &last))
		return U64_MAX;
	return last;
}

/*
 * The pages a PA mode UPDATE of @size bytes at @iova pins, in *@npages: the
 * count starts at the page holding @iova.  -EINVAL when it cannot be counted.
 */
static int vhost_vdpa_dma_npages(u64 iova, u64 size, u64 *npages)
{
	u64 bytes;

	if (check_add_overflow(size, iova & ~(u64)PAGE_MASK, &bytes))
		return -EINVAL;
	*npages = (bytes >> PAGE_SHIFT) + !!(bytes & ~(u64)PAGE_MASK);
	return 0;
}

static int vhost_vdpa_dma_charge(struct vhost_vdpa_dma *dma, u64 npages)
{
	u64 limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;

	if (npages > limit)
		return -ENOMEM;
	if ((u64)atomic64_add_return(npages, &dma->mm->pinned_vm) > limit) {
		atomic64_sub(npages, &dma->mm->pinned_vm);
		return -ENOMEM;
	}
	dma->pinned += npages;
	return 0;
}

static void vhost_vdpa_dma_uncharge(struct vhost_vdpa_dma *dma, u64 npages)
{
	if (!npages)
		return;
	atomic64_sub(npages, &dma->mm->pinned_vm);
	dma->pinned -= npages;
}

/* Unpin the pages of @map and free it; no parent involved. */
static void vhost_vdpa_dma_unpin_entry(struct vhost_iotlb *iotlb,
				       struct vhost_iotlb_map *map)
{
	unpin_user_page_range_dirty_lock(pfn_to_page(PFN_DOWN(map->addr)),
					 PFN_DOWN(map->size),
					 map->perm & VHOST_ACCESS_WO);
	vhost_iotlb_map_free(iotlb, map);
}

/* VA mode: drop the entry's file reference and free it. */
static void vhost_vdpa_dma_put_file_entry(struct vhost_iotlb *iotlb,
					  struct vhost_iotlb_map *map)
{
	struct vdpa_map_file *mf = map->opaque;

	fput(mf->file);
	kfree(mf);
	vhost_iotlb_map_free(iotlb, map);
}

/*
 * The same, and uncharge it: every pinned entry is charged.  A VA entry
 * drops its file reference instead.
 */
static void vhost_vdpa_dma_free_entry(struct vhost_vdpa_dma *dma,
				      struct vhost_iotlb *iotlb,
				      struct vhost_iotlb_map *map)
{
	if (dma->vdev->use_va) {
		vhost_vdpa_dma_put_file_entry(iotlb, map);
		return;
	}
	vhost_vdpa_dma_uncharge(dma, PFN_DOWN(map->size));
	vhost_vdpa_dma_unpin_entry(iotlb, map);
}

static void vhost_vdpa_dma_free_all(struct vhost_vdpa_dma *dma,
				    struct vhost_iotlb *iotlb)
{
	struct vhost_iotlb_map *map;

	while ((map = vhost_iotlb_itree_first(iotlb, 0, U64_MAX)))
		vhost_vdpa_dma_free_entry(dma, iotlb, map);
}

/* Unpin and uncharge every retired entry: the parent no longer uses them. */
static void vhost_vdpa_dma_release_retired(struct vhost_vdpa_dma *dma,
					   struct vhost_vdpa_as *as)
{
	vhost_vdpa_dma_free_all(dma, &as->retired);
}

/* Push the table of @as to a set_map parent; on success drop the retired. */
static int vhost_vdpa_dma_push(struct vhost_vdpa_dma *dma,
			       struct vhost_vdpa_as *as)
{
	struct vdpa_device *vdev = dma->vdev;
	int r;

	r = vdev->ops->set_map(vdev, as->asid, &as->iotlb);
	if (r) {
		/* it kept its previous table, which is not ours any more */
		as->in_sync = false;
		dev_warn_ratelimited(vhost_vdpa_dma_dev(dma),
				     "vhost-vdpa: asid %u: parent refused the IOTLB table: %d\n",
				     as->asid, r);
		return r;
	}
	as->in_sync = true;
	vhost_vdpa_dma_release_retired(dma, as);
	return 0;
}

/*
 * Inside a batch, push the table as it stands so that the retired entries
 * can be released before BATCH_END: the parent stops translating ranges the
 * client already removed, which is what the client asked, only sooner.
 */
static int vhost_vdpa_dma_flush_retired(struct vhost_vdpa_dma *dma,
					struct vhost_vdpa_as *as)
{
	if (!as->retired.nmaps)
		return 0;
	return vhost_vdpa_dma_push(dma, as);
}

/*
 * Push early every address space holding retired entries (a set_map parent
 * only has any); true if some were released.
 */
static bool vhost_vdpa_dma_flush_all_retired(struct vhost_vdpa_dma *dma)
{
	struct vhost_vdpa_as *as;
	bool released = false;
	unsigned int asid;

	for (asid = 0; asid < dma->vdev->nas; asid++) {
		as = dma->as[asid];
		if (as && as->retired.nmaps &&
		    !vhost_vdpa_dma_flush_retired(dma, as))
			released = true;
	}
	return released;
}

/*
 * Move @map from the table of a set_map parent to the retired table, where
 * its pages stay pinned and charged until the parent accepted a table
 * without it.  A full retired table is emptied first by pushing the table
 * early.  Never unpins: if the entry cannot be retired it stays in the table
 * (still mapped) and the error is returned.
 */
static int vhost_vdpa_dma_retire_entry(struct vhost_vdpa_dma *dma,
				       struct vhost_vdpa_as *as,
				       struct vhost_iotlb_map *map,
				       const char **why)
{
	int r;

	if (as->retired.nmaps >= as->retired.limit &&
	    vhost_vdpa_dma_flush_retired(dma, as)) {
		*why = "too many removed ranges pending; the parent refused the table";
		return -ENOSPC;
	}
	/* a VA entry's file reference moves with it */
	r = vhost_iotlb_add_range_ctx(&as->retired, map->start, map->last,
				      map->addr, map->perm, map->opaque);
	if (r) {
		*why = "cannot track a removed range until the parent drops it";
		return r;
	}
	vhost_iotlb_map_free(&as->iotlb, map);
	as->in_sync = false;
	return 0;
}

/*
 * Remove every entry overlapping [start, last] (whole entries, no split),
 * from the parent one by one if @one_by_one, else by retiring them for the
 * next table.  It fails when the parent refuses to unmap an entry (which
 * then stays, still pinned) or when a set_map parent's entry cannot be
 * retired (see retire_entry); entries removed before the failure stay
 * removed.
 */
static int vhost_vdpa_dma_remove_range(struct vhost_vdpa_dma *dma,
				       struct vhost_vdpa_as *as,
				       u64 start, u64 last, bool one_by_one,
				       const char **why)
{
	struct vhost_iotlb_map *map;
	int r;

	while ((map = vhost_iotlb_itree_first(&as->iotlb, start, last))) {
		if (one_by_one) {
			r = vhost_vdpa_dma_unmap_one(dma, as, map->start,
						     map->size);
			if (r) {
				*why = "the parent refused to unmap a range";
				return r;
			}
			vhost_vdpa_dma_free_entry(dma, &as->iotlb, map);
			continue;
		}
		r = vhost_vdpa_dma_retire_entry(dma, as, map, why);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Undo entries added by a failed UPDATE: the parent has not seen them in a
 * table (set_map was not called or failed), or got them one by one
 * (@one_by_one: dma_map, set_map_add or the IOMMU domain).  An entry the
 * parent refuses to unmap stays in the table, pinned.
 */
static void vhost_vdpa_dma_undo_range(struct vhost_vdpa_dma *dma,
				      struct vhost_vdpa_as *as,
				      u64 start, u64 last, bool one_by_one)
{
	struct vhost_iotlb_map *map, *next;

	for (map = vhost_iotlb_itree_first(&as->iotlb, start, last); map;
	     map = next) {
		next = vhost_iotlb_itree_next(map, start, last);
		if (one_by_one &&
		    vhost_vdpa_dma_unmap_one(dma, as, map->start, map->size))
			continue;
		vhost_vdpa_dma_free_entry(dma, &as->iotlb, map);
	}
}

/*
 * Enter @npages pinned pages from @pfn at @iova; map it in the parent at
 * once if @one_by_one (else it goes with the next table).
 */
static int vhost_vdpa_dma_add_entry(struct vhost_vdpa_dma *dma,
				    struct vhost_vdpa_as *as, u64 iova,
				    unsigned long pfn, u64 npages, u32 perm,
				    bool one_by_one)
{
	u64 size = npages << PAGE_SHIFT;
	u64 last = iova + size - 1;
	int r;

	if (as->iotlb.nmaps >= as->iotlb.limit) {
		dev_warn_ratelimited(vhost_vdpa_dma_dev(dma),
				     "vhost-vdpa: asid %u: IOTLB full (%u entries); raise vhost_vdpa parameter max_iotlb_entries\n",
				     as->asid, as->iotlb.limit);
		return -ENOSPC;
	}
	r = vhost_iotlb_add_range(&as->iotlb, iova, last, PFN_PHYS(pfn), perm);
	if (r)
		return r;
	if (!one_by_one) {
		as->in_sync = false;	/* until the next table */
		return 0;
	}
	r = vhost_vdpa_dma_map_one(dma, as, iova, size, PFN_PHYS(pfn), perm,
				   NULL);
	if (r)
		vhost_iotlb_del_range(&as->iotlb, iova, last);
	return r;
}

/*
 * PA mode UPDATE: pin the pages from @msg->uaddr, chunk by chunk, and enter
 * one entry per physically contiguous run.  Like upstream, the page count
 * comes from the offset of the iova in its page, and the iova is rounded
 * down.  Any failure undoes the whole message.
 */
static int vhost_vdpa_dma_map_pa(struct vhost_vdpa_dma *dma,
				 struct vhost_vdpa_as *as,
				 const struct vhost_iotlb_msg *msg,
				 const char **why)
{
	u64 offset = msg->iova & ~(u64)PAGE_MASK;
	u64 start = msg->iova - offset;
	unsigned long uaddr = msg->uaddr & PAGE_MASK;
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long run_pfn = 0;
	u64 npages, committed = 0, run_len = 0;
	struct page *stack_pages[VHOST_VDPA_PIN_STACK];
	struct page **pages = stack_pages;
	bool one_by_one;
	long pinned, i;
	int r;

	r = vhost_vdpa_dma_npages(msg->iova, msg->size, &npages);
	if (r) {
		*why = "size overflows";
		return r;
	}

	r = vhost_vdpa_dma_charge(dma, npages);
	/* Retired entries may hold part of the limit: release them. */
	if (r && vhost_vdpa_dma_flush_all_retired(dma))
		r = vhost_vdpa_dma_charge(dma, npages);
	if (r) {
		*why = "over RLIMIT_MEMLOCK";
		return r;
	}
	/* After the flush above, which may have brought the table in sync. */
	one_by_one = dma->per_entry || vhost_vdpa_dma_delta(dma, as);
	/* Most single-buffer maps are small: spare them a page allocation. */
	if (npages > ARRAY_SIZE(stack_pages))
		pages = (struct page **)__get_free_page(GFP_KERNEL);
	if (!pages) {
		*why = "out of memory";
		r = -ENOMEM;
		goto uncharge;
	}
	if (msg->perm & VHOST_ACCESS_WO)
		gup_flags |= FOLL_WRITE;

	while (committed + run_len < npages) {
		u64 want = min_t(u64, npages - committed - run_len,
				 VHOST_VDPA_PIN_CHUNK);

		if (fatal_signal_pending(current)) {
			*why = "interrupted";
			r = -EINTR;
			goto undo;
		}
		/*
		 * @dma->mm is the caller's (checked before): the lockless
		 * page-table walk, which falls back to the locked one for
		 * pages not present or to be migrated (FOLL_LONGTERM).
		 */
		pinned = pin_user_pages_fast(uaddr, want, gup_flags, pages);
		if (pinned <= 0) {
			*why = "cannot pin the user memory";
			r = pinned ? pinned : -EFAULT;
			goto undo;
		}

		for (i = 0; i < pinned; i++) {
			unsigned long pfn = page_to_pfn(pages[i]);

			if (run_len && pfn == run_pfn + run_len) {
				run_len++;
				continue;
			}
			if (run_len) {
				r = vhost_vdpa_dma_add_entry(dma, as,
							     start + (committed << PAGE_SHIFT),
							     run_pfn, run_len, msg->perm,
							     one_by_one);
				if (r) {
					*why = "cannot add an IOTLB entry";
					unpin_user_pages(pages + i, pinned - i);
					goto undo;
				}
				committed += run_len;
			}
			run_pfn = pfn;
			run_len = 1;
		}
		uaddr += (unsigned long)pinned << PAGE_SHIFT;
		cond_resched();
	}

	r = vhost_vdpa_dma_add_entry(dma, as, start + (committed << PAGE_SHIFT),
				     run_pfn, run_len, msg->perm, one_by_one);
	if (r) {
		*why = "cannot add an IOTLB entry";
		goto undo;
	}
	committed += run_len;
	run_len = 0;

	if (!one_by_one && !dma->in_batch) {
		r = vhost_vdpa_dma_push(dma, as);
		if (r) {
			*why = "the parent refused the new table";
			goto undo;
		}
	}
	if (pages != stack_pages)
		free_page((unsigned long)pages);
	return 0;

undo:
	if (run_len)
		unpin_user_page_range_dirty_lock(pfn_to_page(run_pfn), run_len,
						 false);
	if (committed)
		vhost_vdpa_dma_undo_range(dma, as, start,
					  start + (committed << PAGE_SHIFT) - 1,
					  one_by_one);
	if (pages != stack_pages)
		free_page((unsigned long)pages);
uncharge:
	/* Entries removed above uncharged their own pages. */
	vhost_vdpa_dma_uncharge(dma, npages - committed);
	return r;
}

/*
 * VA mode: may @vma back an entry with access @perm?  Only a shared file
 * mapping can: the parent (a VDUSE daemon, say) maps the same file, so it
 * sees what the owner sees.  Anonymous and MAP_PRIVATE memory would be a
 * private copy, I/O and PFN mappings have no page cache behind them.
 */
static bool vhost_vdpa_dma_va_vma_ok(const struct vm_area_struct *vma,
				     u8 perm, const char **why)
{
	if (!vma->vm_file || !(vma->vm_flags & VM_SHARED)) {
		*why = "VA mode needs shared file memory (memfd, MAP_SHARED file)";
		return false;
	}
	if (vma->vm_flags & (VM_IO | VM_PFNMAP)) {
		*why = "VA mode cannot map I/O or PFN memory";
		return false;
	}
	if (((perm & VHOST_ACCESS_RO) && !(vma->vm_flags & VM_MAYREAD)) ||
	    ((perm & VHOST_ACCESS_WO) && !(vma->vm_flags & VM_MAYWRITE))) {
		*why = "the mapping does not allow the access asked";
		return false;
	}
	return true;
}

/*
 * VA mode: enter one entry per VMA of the owner over [uaddr, uaddr + size)
 * into the table alone (the parent is told by the caller), each holding a
 * reference on its VMA's file.  On failure the entries added are freed.
 */
static int vhost_vdpa_dma_add_va_entries(struct vhost_vdpa_dma *dma,
					 struct vhost_vdpa_as *as,
					 const struct vhost_iotlb_msg *msg,
					 const char **why)
{
	u64 iova = msg->iova, uaddr = msg->uaddr, left = msg->size;
	struct vm_area_struct *vma;
	struct vdpa_map_file *mf;
	u64 len;
	int r = 0;

	mmap_read_lock(dma->mm);
	while (left) {
		vma = vma_lookup(dma->mm, uaddr);
		if (!vma) {
			*why = "no user mapping at an address of the range";
			r = -EFAULT;
			break;
		}
		if (!vhost_vdpa_dma_va_vma_ok(vma, msg->perm, why)) {
			r = -EINVAL;
			break;
		}
		if (as->iotlb.nmaps >= as->iotlb.limit) {
			*why = "IOTLB full; raise vhost_vdpa parameter max_iotlb_entries";
			r = -ENOSPC;
			break;
		}
		len = min_t(u64, left, vma->vm_end - uaddr);
		mf = kmalloc(sizeof(*mf), GFP_KERNEL);
		if (!mf) {
			*why = "out of memory";
			r = -ENOMEM;
			break;
		}
		mf->file = get_file(vma->vm_file);
		mf->offset = ((u64)vma->vm_pgoff << PAGE_SHIFT) +
			     (uaddr - vma->vm_start);
		r = vhost_iotlb_add_range_ctx(&as->iotlb, iova, iova + len - 1,
					      uaddr, msg->perm, mf);
		if (r) {
			fput(mf->file);
			kfree(mf);
			*why = "cannot add an IOTLB entry";
			break;
		}
		iova += len;
		uaddr += len;
		left -= len;
	}
	mmap_read_unlock(dma->mm);

	if (r && iova != msg->iova)
		vhost_vdpa_dma_undo_range(dma, as, msg->iova, iova - 1, false);
	return r;
}

/*
 * VA mode UPDATE: enter the entries, then hand them to the parent: one by
 * one (dma_map, with the struct vdpa_map_file as opaque) or as a table.
 * Any failure undoes the whole message.
 */
static int vhost_vdpa_dma_map_va(struct vhost_vdpa_dma *dma,
				 struct vhost_vdpa_as *as,
				 const struct vhost_iotlb_msg *msg,
				 const char **why)
{
	u64 last = msg->iova + msg->size - 1;
	struct vhost_iotlb_map *map;
	u64 ulast;
	int r;

	if (check_add_overflow(msg->uaddr, msg->size - 1, &ulast)) {
		*why = "user address range wraps";
		return -EINVAL;
	}
	r = vhost_vdpa_dma_add_va_entries(dma, as, msg, why);
	if (r)
		return r;

	if (!dma->per_entry) {
		as->in_sync = false;
		if (dma->in_batch)
			return 0;
		r = vhost_vdpa_dma_push(dma, as);
		if (r) {
			*why = "the parent refused the new table";
			vhost_vdpa_dma_undo_range(dma, as, msg->iova, last,
						  false);
		}
		return r;
	}

	for (map = vhost_iotlb_itree_first(&as->iotlb, msg->iova, last); map;
	     map = vhost_iotlb_itree_next(map, msg->iova, last)) {
		r = vhost_vdpa_dma_map_one(dma, as, map->start, map->size,
					   map->addr, map->perm, map->opaque);
		if (r)
			break;
	}
	if (!r)
		return 0;
	*why = "the parent refused to map a range";
	/* entries before the refused one are mapped, the rest are not */
	if (map->start != msg->iova)
		vhost_vdpa_dma_undo_range(dma, as, msg->iova, map->start - 1,
					  true);
	vhost_vdpa_dma_undo_range(dma, as, map->start, last, false);
	return r;
}

static int vhost_vdpa_dma_update(struct vhost_vdpa_dma *dma,
				 struct vhost_vdpa_as *as,
				 const struct vhost_iotlb_msg *msg,
				 const char **why)
{
	u64 last;

	/* The parser refused size 0, so last cannot wrap below iova. */
	if (!vhost_vdpa_dma_update_last(&dma->range, msg->iova, msg->size,
					&last)) {
		*why = "outside the device's IOVA range";
		return -EINVAL;
	}
	if (vhost_iotlb_itree_first(&as->iotlb, msg->iova, last)) {
		*why = "overlaps an existing mapping";
		return -EEXIST;
	}
	if (!vhost_vdpa_dma_perm_ok(msg->perm)) {
		*why = "bad access permission";
		return -EINVAL;
	}
	if (!dma->mm) {
		if (!current->mm) {
			*why = "no user memory";
			return -EFAULT;
		}
		dma->mm = current->mm;
		mmgrab(dma->mm);
	} else if (dma->mm != current->mm) {
		*why = "caller's memory is not the owner's";
		return -EPERM;
	}

	if (dma->vdev->use_va)
		return vhost_vdpa_dma_map_va(dma, as, msg, why);
	return vhost_vdpa_dma_map_pa(dma, as, msg, why);
}

static int vhost_vdpa_dma_invalidate(struct vhost_vdpa_dma *dma,
				     struct vhost_vdpa_as *as,
				     const struct vhost_iotlb_msg *msg,
				     const char **why)
{
	u64 last = vhost_vdpa_dma_invalidate_last(msg->iova, msg->size);
	bool delta = vhost_vdpa_dma_delta(dma, as);
	bool one_by_one = dma->per_entry || delta;
	int r;

	r = vhost_vdpa_dma_remove_range(dma, as, msg->iova, last, one_by_one,
					why);
	if (r && delta) {
		/*
		 * The parent refused a single removal: the entry is still in
		 * our table and maybe in its.  Go on as a set_map parent
		 * without the pair would: retire what is left, push a table.
		 */
		one_by_one = false;
		r = vhost_vdpa_dma_remove_range(dma, as, msg->iova, last,
						false, why);
	}
	/*
	 * Like upstream, a refused table is only logged here: the removed
	 * entries stay pinned (retired) until a later table is accepted.
	 */
	if (!one_by_one && !dma->in_batch)
		vhost_vdpa_dma_push(dma, as);
	return r;
}

static struct vhost_vdpa_as *
vhost_vdpa_dma_find_or_create_as(struct vhost_vdpa_dma *dma, u32 asid,
				 const char **why)
{
	struct vhost_vdpa_as *as;

	if (asid >= dma->vdev->nas) {
		*why = "no such address space";
		return ERR_PTR(-EINVAL);
	}
	if (dma->as[asid])
		return dma->as[asid];

	as = kzalloc(sizeof(*as), GFP_KERNEL);
	if (!as) {
		*why = "out of memory";
		return ERR_PTR(-ENOMEM);
	}
	vhost_iotlb_init(&as->iotlb, max_iotlb_entries, 0);
	vhost_iotlb_init(&as->retired, max_iotlb_entries, 0);
	as->asid = asid;
	dma->as[asid] = as;
	return as;
}

static int vhost_vdpa_dma_handle(struct vhost_vdpa_dma *dma, u32 asid,
				 const struct vhost_iotlb_msg *msg,
				 const char **why)
{
	struct vhost_vdpa_as *as;
	int r = 0;

	/* @asid comes from userspace and indexes dma->as[]: bound speculation. */
	if (asid >= dma->vdev->nas) {
		*why = "no such address space";
		return -EINVAL;
	}
	asid = array_index_nospec(asid, dma->vdev->nas);

	if (msg->type == VHOST_IOTLB_UPDATE ||
	    msg->type == VHOST_IOTLB_BATCH_BEGIN) {
		as = vhost_vdpa_dma_find_or_create_as(dma, asid, why);
		if (IS_ERR(as))
			return PTR_ERR(as);
	} else {
		as = asid < dma->vdev->nas ? dma->as[asid] : NULL;
		if (!as) {
			*why = "no such address space (no UPDATE or BATCH_BEGIN yet)";
			return -EINVAL;
		}
	}
	if (dma->in_batch && dma->batch_asid != asid) {
		*why = "a batch is open on another address space";
		return -EINVAL;
	}

	switch (msg->type) {
	case VHOST_IOTLB_UPDATE:
		return vhost_vdpa_dma_update(dma, as, msg, why);
	case VHOST_IOTLB_INVALIDATE:
		return vhost_vdpa_dma_invalidate(dma, as, msg, why);
	case VHOST_IOTLB_BATCH_BEGIN:
		dma->in_batch = true;
		dma->batch_asid = asid;
		return 0;
	case VHOST_IOTLB_BATCH_END:
		if (dma->in_batch && !dma->per_entry) {
			r = vhost_vdpa_dma_push(dma, as);
			if (r)
				*why = "the parent refused the batched table";
		}
		dma->in_batch = false;
		return r;
	default:
		*why = "unsupported message type";
		return -EINVAL;
	}
}

/*
 * Read one IOTLB message from @from into @msg and @asid (0 unless the V2
 * header carries one and VHOST_BACKEND_F_IOTLB_ASID was acked).  -EINVAL for
 * an unknown header type, a short header or body, or a size-0 UPDATE.
 */
static int vhost_vdpa_dma_parse(struct iov_iter *from,
				u64 acked_backend_features,
				struct vhost_iotlb_msg *msg, u32 *asid)
{
	u32 type;

	*asid = 0;
	if (copy_from_iter(&type, sizeof(type), from) != sizeof(type))
		return -EINVAL;

	switch (type) {
	case VHOST_IOTLB_MSG:
		/* The V1 header has a hole before the 8-aligned union. */
		iov_iter_advance(from, offsetof(struct vhost_msg, iotlb) -
				 sizeof(type));
		break;
	case VHOST_IOTLB_MSG_V2:
		if (acked_backend_features &
		    BIT_ULL(VHOST_BACKEND_F_IOTLB_ASID)) {
			if (copy_from_iter(asid, sizeof(*asid), from) !=
			    sizeof(*asid))
				return -EINVAL;
		} else {
			iov_iter_advance(from, sizeof(*asid));
		}
		break;
	default:
		return -EINVAL;
	}

	if (copy_from_iter(msg, sizeof(*msg), from) != sizeof(*msg))
		return -EINVAL;
	if (msg->type == VHOST_IOTLB_UPDATE && !msg->size)
		return -EINVAL;
	return 0;
}

ssize_t vhost_vdpa_dma_write(struct vhost_vdpa_dma *dma, struct iov_iter *from,
			     u64 acked_backend_features)
{
	struct vhost_iotlb_msg msg;
	const char *why = "failed";
	u32 asid;
	int r;

	r = vhost_vdpa_dma_parse(from, acked_backend_features, &msg, &asid);
	if (r)
		return r;

	r = vhost_vdpa_dma_handle(dma, asid, &msg, &why);
	if (r) {
		dev_warn_ratelimited(vhost_vdpa_dma_dev(dma),
				     "vhost-vdpa: IOTLB %s asid %u iova 0x%llx size 0x%llx perm %u: %s (%d)\n",
				     vhost_vdpa_iotlb_type_name(msg.type), asid,
				     msg.iova, msg.size, msg.perm, why, r);
		return -EFAULT;
	}
	return sizeof(struct vhost_msg_v2);
}

void vhost_vdpa_dma_parent_reset(struct vhost_vdpa_dma *dma)
{
	unsigned int asid;

	for (asid = 0; asid < dma->vdev->nas; asid++)
		if (dma->as[asid])
			dma->as[asid]->in_sync = false;
}

void vhost_vdpa_dma_on_reset(struct vhost_vdpa_dma *dma,
			     u64 acked_backend_features)
{
	struct vdpa_device *vdev = dma->vdev;
	struct vhost_iotlb_map *map;
	struct vhost_vdpa_as *as;
	unsigned int asid;
	int r;

	vhost_vdpa_dma_parent_reset(dma);
	/* an IOMMU domain is not touched by a device reset */
	if (!(acked_backend_features & BIT_ULL(VHOST_BACKEND_F_IOTLB_PERSIST)) ||
	    dma->domain)
		return;

	for (asid = 0; asid < vdev->nas; asid++) {
		as = dma->as[asid];
		if (!as)
			continue;
		if (!dma->per_entry) {
			vhost_vdpa_dma_push(dma, as);
			continue;
		}
		for (map = vhost_iotlb_itree_first(&as->iotlb, 0, U64_MAX); map;
		     map = vhost_iotlb_itree_next(map, 0, U64_MAX)) {
			r = vdev->ops->dma_map(vdev, asid, map->start,
					       map->size, map->addr, map->perm,
					       map->opaque);
			if (r)
				dev_warn_ratelimited(&vdev->dev,
						     "vhost-vdpa: asid %u: cannot restore [0x%llx, 0x%llx] after reset: %d\n",
						     asid, map->start, map->last, r);
		}
	}
}

/*
 * A domain of our own on the DMA device, as upstream: the device must sit
 * on a bus, behind a cache-coherent IOMMU.
 */
static int vhost_vdpa_dma_attach_domain(struct vhost_vdpa_dma *dma,
					struct device *dma_dev)
{
	struct iommu_domain *domain;
	int r;

	if (!dma_dev->bus) {
		dev_err_ratelimited(&dma->vdev->dev,
				    "vhost-vdpa: DMA device %s is on no bus\n",
				    dev_name(dma_dev));
		return -EFAULT;
	}
	if (!device_iommu_capable(dma_dev, IOMMU_CAP_CACHE_COHERENCY)) {
		dev_err_ratelimited(&dma->vdev->dev,
				    "vhost-vdpa: DMA device %s is not behind a cache-coherent IOMMU\n",
				    dev_name(dma_dev));
		return -ENOTSUPP;
	}
	domain = iommu_domain_alloc(dma_dev->bus);
	if (!domain) {
		dev_err_ratelimited(&dma->vdev->dev,
				    "vhost-vdpa: cannot allocate an IOMMU domain\n");
		return -EIO;
	}
	r = iommu_attach_device(domain, dma_dev);
	if (r) {
		dev_err_ratelimited(&dma->vdev->dev,
				    "vhost-vdpa: cannot attach %s to an IOMMU domain: %d\n",
				    dev_name(dma_dev), r);
		iommu_domain_free(domain);
		return r;
	}
	dma->domain = domain;
	return 0;
}

struct vhost_vdpa_dma *vhost_vdpa_dma_create(struct vdpa_device *vdev)
{
	const struct vdpa_config_ops *ops = vdev->ops;
	bool platform = !ops->dma_map && !ops->set_map;
	struct device *dma_dev = vdpa_get_dma_dev(vdev);
	struct vhost_vdpa_dma *dma;
	int r;

	if (platform && !dma_dev) {
		dev_err_ratelimited(&vdev->dev,
				    "vhost-vdpa: no DMA device and no DMA ops\n");
		return ERR_PTR(-EOPNOTSUPP);
	}
	if (ops->dma_map && !ops->dma_unmap) {
		dev_err_ratelimited(&vdev->dev,
				    "vhost-vdpa: parent has dma_map but no dma_unmap\n");
		return ERR_PTR(-EINVAL);
	}

	dma = kzalloc(struct_size(dma, as, vdev->nas), GFP_KERNEL);
	if (!dma)
		return ERR_PTR(-ENOMEM);
	dma->vdev = vdev;
	dma->per_entry = !!ops->dma_map || platform;
	dma->range.first = 0;
	dma->range.last = U64_MAX;
	if (platform) {
		r = vhost_vdpa_dma_attach_domain(dma, dma_dev);
		if (r) {
			kfree(dma);
			return ERR_PTR(r);
		}
		if (dma->domain->geometry.force_aperture) {
			dma->range.first = dma->domain->geometry.aperture_start;
			dma->range.last = dma->domain->geometry.aperture_end;
		}
	}
	if (ops->get_iova_range)
		dma->range = ops->get_iova_range(vdev);
	return dma;
}

void vhost_vdpa_dma_iova_range(const struct vhost_vdpa_dma *dma,
			       struct vdpa_iova_range *range)
{
	*range = dma->range;
}

/*
 * The parent refused to drop a table that still reaches these pages and was
 * not reset: unpinning them would hand memory the device may write to the
 * page allocator.  Keep them pinned for good (a leak, said once) and leave
 * them charged to the owner, whose RLIMIT_MEMLOCK they still hold.
 */
static void vhost_vdpa_dma_abandon_all(struct vhost_vdpa_dma *dma,
				       struct vhost_iotlb *iotlb)
{
	struct vhost_iotlb_map *map;

	while ((map = vhost_iotlb_itree_first(iotlb, 0, U64_MAX))) {
		dma->pinned -= PFN_DOWN(map->size);
		vhost_iotlb_map_free(iotlb, map);
	}
}

/*
 * Unmap and unpin every entry of a per-entry parent.  An entry the parent
 * refuses to unmap is still unpinned if the parent was reset (which dropped
 * it) and a parent, not an IOMMU domain, held it; else it is abandoned
 * pinned (see abandon_all).
 */
static void vhost_vdpa_dma_unmap_all(struct vhost_vdpa_dma *dma,
				     struct vhost_vdpa_as *as,
				     bool parent_reset)
{
	struct vhost_iotlb_map *map;
	u64 left = 0;

	while ((map = vhost_iotlb_itree_first(&as->iotlb, 0, U64_MAX))) {
		if (!vhost_vdpa_dma_unmap_one(dma, as, map->start, map->size) ||
		    (parent_reset && !dma->domain) || dma->vdev->use_va) {
			vhost_vdpa_dma_free_entry(dma, &as->iotlb, map);
			continue;
		}
		left += PFN_DOWN(map->size);
		dma->pinned -= PFN_DOWN(map->size);
		vhost_iotlb_map_free(&as->iotlb, map);
	}
	if (left)
		dev_err_ratelimited(vhost_vdpa_dma_dev(dma),
				    "vhost-vdpa: asid %u: the parent refused to unmap: leaving %llu pages pinned for good\n",
				    as->asid, left);
}

/* Take every table of @asid away from a set_map parent; 0 or an errno. */
static int vhost_vdpa_dma_drop_tables(struct vhost_vdpa_dma *dma, u32 asid)
{
	const struct vdpa_config_ops *ops = dma->vdev->ops;
	struct vhost_iotlb empty;
	int r;

	vhost_iotlb_init(&empty, 1, 0);
	r = ops->set_map(dma->vdev, asid, &empty);
	if (r && ops->reset_map)
		r = ops->reset_map(dma->vdev, asid);
	return r;
}

void vhost_vdpa_dma_destroy(struct vhost_vdpa_dma *dma, bool parent_reset)
{
	struct vdpa_device *vdev;
	struct vhost_vdpa_as *as;
	unsigned int asid;
	u64 before;

	if (IS_ERR_OR_NULL(dma))
		return;
	vdev = dma->vdev;

	for (asid = 0; asid < vdev->nas; asid++) {
		as = dma->as[asid];
		if (!as)
			continue;
		if (dma->per_entry) {
			vhost_vdpa_dma_unmap_all(dma, as, parent_reset);
		} else if (!vhost_vdpa_dma_drop_tables(dma, asid) ||
			   parent_reset || vdev->use_va) {
			/* a use_va parent holds its own file references */
			vhost_vdpa_dma_free_all(dma, &as->iotlb);
		} else {
			before = dma->pinned;
			vhost_vdpa_dma_abandon_all(dma, &as->iotlb);
			vhost_vdpa_dma_abandon_all(dma, &as->retired);
			dev_err_ratelimited(&vdev->dev,
					    "vhost-vdpa: asid %u: the parent was not reset and refused an empty table: leaving %llu pages pinned for good\n",
					    asid, before - dma->pinned);
		}
		vhost_vdpa_dma_release_retired(dma, as);
		kfree(as);
		dma->as[asid] = NULL;
	}

	if (dma->domain) {
		iommu_detach_device(dma->domain, vdpa_get_dma_dev(vdev));
		iommu_domain_free(dma->domain);
	}
	WARN_ON(dma->pinned);
	if (dma->mm)
		mmdrop(dma->mm);
	kfree(dma);
}
