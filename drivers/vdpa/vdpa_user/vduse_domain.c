// SPDX-License-Identifier: GPL-2.0
/*
 * The IOVA domain of a VDUSE device.
 *
 * Kernel drivers (virtio_vdpa and the virtio driver above it) use the DMA
 * API on the vdpa device.  Its DMA ops place every mapping in one linear
 * IOVA space of two regions whose pages are allocated on first use.  The
 * daemon maps that space through the file VDUSE_IOTLB_GET_FD returns (file
 * offset = IOVA).
 *
 * - The bounce region, IOVA [0, bounce size), holds streaming mappings
 *   (buffers).  They are bounced: the data is copied into the region's
 *   pages on map for DMA_TO_DEVICE and DMA_BIDIRECTIONAL, and back on
 *   unmap or sync for DMA_FROM_DEVICE and DMA_BIDIRECTIONAL.  A page of
 *   the region only ever holds zeroes or data of this device's own
 *   requests, which its daemon has seen already: so what the daemon finds
 *   in a DMA_FROM_DEVICE buffer, and what a short write of its leaves in
 *   the driver's buffer, is data it could have written there anyway.  (As
 *   upstream; copying on map in every direction cost a third of the copy
 *   work of a read.)  The daemon may back the region
 *   with pages of its own (VDUSE_IOTLB_REG_UMEM): each kernel page is then
 *   replaced by the daemon's, its data copied over, and the reverse when
 *   it takes them back.  Every access to a page of this region holds
 *   @pages_lock for reading, one page at a time, so a replacement is never
 *   seen half done.
 * - The coherent region, above it, holds coherent allocations (rings): the
 *   domain's own pages, mapped into the kernel with vmap(), shared by the
 *   kernel and the daemon.  A page there, once installed, backs its IOVA
 *   page until the domain is freed.
 */

#include <linux/anon_inodes.h>
#include <linux/bitmap.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vduse_domain.h"

/* Largest single streaming mapping: bounds how much one map may bounce. */
#define VDUSE_MAX_MAPPING	(256 * 1024)

struct vduse_domain *vduse_domain_create(u64 bounce_size, u64 coherent_size)
{
	struct vduse_domain *domain;

	domain = kzalloc(sizeof(*domain), GFP_KERNEL);
	if (!domain)
		return NULL;
	kref_init(&domain->kref);
	spin_lock_init(&domain->lock);
	rwlock_init(&domain->pages_lock);
	domain->bounce_pages = bounce_size >> PAGE_SHIFT;
	domain->npages = domain->bounce_pages + (coherent_size >> PAGE_SHIFT);
	domain->used = bitmap_zalloc(domain->npages, GFP_KERNEL);
	domain->pages = kvcalloc(domain->npages, sizeof(*domain->pages),
				 GFP_KERNEL);
	domain->orig = kvcalloc(domain->npages, sizeof(*domain->orig),
				GFP_KERNEL);
	if (!domain->used || !domain->pages || !domain->orig)
		goto err;
	/* IOVA 0 stays unused: some code takes a 0 address for "none". */
	__set_bit(0, domain->used);
	return domain;
err:
	kvfree(domain->orig);
	kvfree(domain->pages);
	bitmap_free(domain->used);
	kfree(domain);
	return NULL;
}

static void vduse_domain_release(struct kref *kref)
{
	struct vduse_domain *domain = container_of(kref, struct vduse_domain,
						   kref);
	unsigned long i;

	/* a daemon's pages go back when its device file is released */
	if (WARN_ON(domain->user))
		return;
	for (i = 0; i < domain->npages; i++)
		if (domain->pages[i])
			put_page(domain->pages[i]);
	kvfree(domain->orig);
	kvfree(domain->pages);
	bitmap_free(domain->used);
	kfree(domain);
}

void vduse_domain_put(struct vduse_domain *domain)
{
	kref_put(&domain->kref, vduse_domain_release);
}

/*
 * Install @page behind IOVA page @index unless one is there already;
 * return the page now there.  In the bounce region the caller holds
 * @pages_lock (for reading).
 */
static struct page *vduse_domain_install(struct vduse_domain *domain,
					 unsigned long index,
					 struct page *page)
{
	struct page *old = cmpxchg(&domain->pages[index], NULL, page);

	return old ? old : page;
}

/* The page behind IOVA page @index, allocated with @gfp if still absent. */
static struct page *vduse_domain_page(struct vduse_domain *domain,
				      unsigned long index, gfp_t gfp)
{
	struct page *page = READ_ONCE(domain->pages[index]);
	struct page *installed;

	if (page)
		return page;
	page = alloc_page(gfp | __GFP_ZERO);
	if (!page)
		return NULL;
	installed = vduse_domain_install(domain, index, page);
	if (installed != page)
		__free_page(page);
	return installed;
}

/*
 * Find @count free IOVA pages in [@first, @end); 0 if there are none.
 * Next fit: the search starts where the previous one in the region ended
 * (@hint, if inside it), so that it does not walk over the mappings in
 * flight every time, and wraps around once.
 */
static unsigned long vduse_domain_alloc_iova(struct vduse_domain *domain,
					     unsigned long first,
					     unsigned long end,
					     unsigned long count)
{
	unsigned long flags, start, from;

	spin_lock_irqsave(&domain->lock, flags);
	from = domain->hint > first && domain->hint < end ? domain->hint :
	       first;
	start = bitmap_find_next_zero_area(domain->used, end, from, count, 0);
	if (start >= end && from != first)
		start = bitmap_find_next_zero_area(domain->used, end, first,
						   count, 0);
	if (start >= end) {
		start = 0;
	} else {
		bitmap_set(domain->used, start, count);
		domain->hint = start + count;
	}
	spin_unlock_irqrestore(&domain->lock, flags);
	return start;
}

static void vduse_domain_free_iova(struct vduse_domain *domain,
				   unsigned long start, unsigned long count)
{
	unsigned long flags;

	spin_lock_irqsave(&domain->lock, flags);
	bitmap_clear(domain->used, start, count);
	spin_unlock_irqrestore(&domain->lock, flags);
}

static bool vduse_domain_range_ok(struct vduse_domain *domain, u64 iova,
				  size_t size)
{
	return size && iova >= PAGE_SIZE && iova <= vduse_domain_last(domain) &&
	       size - 1 <= vduse_domain_last(domain) - iova;
}

/*
 * Copy between the bounce pages of [iova, iova + size) and the original
 * memory they stand for.  The pages exist: map installed them, and a
 * page in use is never removed, only replaced with its data.
 */
static void vduse_domain_bounce(struct vduse_domain *domain, u64 iova,
				size_t size, bool to_device)
{
	while (size) {
		unsigned long index = iova >> PAGE_SHIFT;
		unsigned int off = offset_in_page(iova);
		phys_addr_t orig = domain->orig[index] + off;
		size_t len = min_t(size_t, size, PAGE_SIZE - off);
		unsigned long flags;
		struct page *page;
		void *bounce, *buf;

		len = min_t(size_t, len, PAGE_SIZE - offset_in_page(orig));
		buf = kmap_local_page(pfn_to_page(PHYS_PFN(orig)));
		read_lock_irqsave(&domain->pages_lock, flags);
		page = domain->pages[index];
		if (!WARN_ON_ONCE(!page)) {
			bounce = page_address(page) + off;
			if (to_device)
				memcpy(bounce, buf + offset_in_page(orig), len);
			else
				memcpy(buf + offset_in_page(orig), bounce, len);
		}
		read_unlock_irqrestore(&domain->pages_lock, flags);
		kunmap_local(buf);
		iova += len;
		size -= len;
	}
}

static dma_addr_t vduse_domain_map(struct vduse_domain *domain,
				   phys_addr_t phys, size_t size,
				   enum dma_data_direction dir)
{
	unsigned int off = offset_in_page(phys);
	unsigned long count, start, i, flags;
	struct page *page;

	if (!size || size > VDUSE_MAX_MAPPING)
		return DMA_MAPPING_ERROR;
	count = PFN_UP(off + size);
	start = vduse_domain_alloc_iova(domain, 1, domain->bounce_pages,
					count);
	if (!start)
		return DMA_MAPPING_ERROR;
	for (i = 0; i < count; i++) {
		/* streaming maps may come from atomic context */
		read_lock_irqsave(&domain->pages_lock, flags);
		page = vduse_domain_page(domain, start + i, GFP_ATOMIC);
		read_unlock_irqrestore(&domain->pages_lock, flags);
		if (!page) {
			vduse_domain_free_iova(domain, start, count);
			return DMA_MAPPING_ERROR;
		}
		domain->orig[start + i] = phys - off + i * PAGE_SIZE;
	}
	if (dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL)
		vduse_domain_bounce(domain, ((u64)start << PAGE_SHIFT) + off,
				    size, true);
	return ((dma_addr_t)start << PAGE_SHIFT) + off;
}

/* Whether [iova, iova + size) lies in the bounce region. */
static bool vduse_domain_bounce_ok(struct vduse_domain *domain, u64 iova,
				   size_t size)
{
	return vduse_domain_range_ok(domain, iova, size) &&
	       iova + size <= vduse_domain_bounce_size(domain);
}

static void vduse_domain_unmap(struct vduse_domain *domain, dma_addr_t iova,
			       size_t size, enum dma_data_direction dir)
{
	unsigned long start = iova >> PAGE_SHIFT;

	if (WARN_ON_ONCE(!vduse_domain_bounce_ok(domain, iova, size)))
		return;
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		vduse_domain_bounce(domain, iova, size, false);
	vduse_domain_free_iova(domain, start,
			       PFN_UP(offset_in_page(iova) + size));
}

/**
 * vduse_domain_copy - copy to or from bytes of the domain
 * @domain: the domain
 * @iova: first byte
 * @buf: kernel buffer
 * @len: number of bytes
 * @to_domain: copy @buf into the domain, else the domain into @buf
 *
 * For the kernel's own accesses to rings and buffers on the daemon's
 * behalf.  The address may be anywhere the daemon could point to, so it is
 * checked, never trusted.
 *
 * Return: true if done; false if the range is outside the domain or part
 * of it was never backed (then part of the copy may have been done).
 */
bool vduse_domain_copy(struct vduse_domain *domain, u64 iova, void *buf,
		       size_t len, bool to_domain)
{
	if (!len || !vduse_domain_range_ok(domain, iova, len))
		return false;
	while (len) {
		size_t chunk = min_t(size_t, len,
				     PAGE_SIZE - offset_in_page(iova));
		unsigned long flags;
		struct page *page;
		void *p;

		read_lock_irqsave(&domain->pages_lock, flags);
		page = domain->pages[iova >> PAGE_SHIFT];
		if (page) {
			p = page_address(page) + offset_in_page(iova);
			if (to_domain)
				memcpy(p, buf, chunk);
			else
				memcpy(buf, p, chunk);
		}
		read_unlock_irqrestore(&domain->pages_lock, flags);
		if (!page)
			return false;
		buf += chunk;
		iova += chunk;
		len -= chunk;
	}
	return true;
}

/**
 * vduse_domain_set_user_pages - back the bounce region with a daemon's pages
 * @domain: the domain
 * @pages: one pinned page per page of the bounce region, in IOVA order;
 *	   the caller keeps them pinned until vduse_domain_clear_user_pages()
 *	   returned (page 0 is never used)
 *
 * The data of every kernel page of the region is copied into its
 * replacement, then the kernel page is put (a daemon's mapping of it made
 * earlier keeps it alive, but no longer sees the device's data).
 *
 * Return: 0, or -EEXIST if the region already has a daemon's pages.
 */
int vduse_domain_set_user_pages(struct vduse_domain *domain,
				struct page **pages)
{
	unsigned long i, flags;
	struct page *old;

	write_lock_irqsave(&domain->pages_lock, flags);
	if (domain->user) {
		write_unlock_irqrestore(&domain->pages_lock, flags);
		return -EEXIST;
	}
	domain->user = true;
	write_unlock_irqrestore(&domain->pages_lock, flags);

	for (i = 1; i < domain->bounce_pages; i++) {
		write_lock_irqsave(&domain->pages_lock, flags);
		old = domain->pages[i];
		if (old)
			copy_highpage(pages[i], old);
		domain->pages[i] = pages[i];
		write_unlock_irqrestore(&domain->pages_lock, flags);
		if (old)
			put_page(old);
		cond_resched();
	}
	return 0;
}

/**
 * vduse_domain_clear_user_pages - give the bounce region kernel pages again
 * @domain: the domain
 *
 * Pages of IOVA pages in use get a kernel page with the daemon's page's
 * data; the others none (allocated when next used).  Afterwards the domain
 * no longer refers to any of the daemon's pages.  May sleep; never fails.
 */
void vduse_domain_clear_user_pages(struct vduse_domain *domain)
{
	struct page *spare = NULL;
	unsigned long i, flags;

	if (!READ_ONCE(domain->user))
		return;
	for (i = 1; i < domain->bounce_pages; i++) {
		if (!spare)
			spare = alloc_page(GFP_KERNEL | __GFP_NOFAIL);
		write_lock_irqsave(&domain->pages_lock, flags);
		/* @used changes under @lock; a new user takes @pages_lock next */
		if (test_bit(i, domain->used)) {
			copy_highpage(spare, domain->pages[i]);
			domain->pages[i] = spare;
			spare = NULL;
		} else {
			domain->pages[i] = NULL;
		}
		write_unlock_irqrestore(&domain->pages_lock, flags);
		cond_resched();
	}
	write_lock_irqsave(&domain->pages_lock, flags);
	domain->user = false;
	write_unlock_irqrestore(&domain->pages_lock, flags);
	if (spare)
		__free_page(spare);
}

/* ---- DMA ops ---- */

static dma_addr_t vduse_dma_map_page(struct device *dev, struct page *page,
				     unsigned long offset, size_t size,
				     enum dma_data_direction dir,
				     unsigned long attrs)
{
	return vduse_domain_map(vduse_dev_to_domain(dev),
				page_to_phys(page) + offset, size, dir);
}

static void vduse_dma_unmap_page(struct device *dev, dma_addr_t addr,
				 size_t size, enum dma_data_direction dir,
				 unsigned long attrs)
{
	vduse_domain_unmap(vduse_dev_to_domain(dev), addr, size, dir);
}

static void vduse_dma_unmap_sg(struct device *dev, struct scatterlist *sgl,
			       int nents, enum dma_data_direction dir,
			       unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		vduse_dma_unmap_page(dev, sg_dma_address(sg), sg_dma_len(sg),
				     dir, attrs);
}

static int vduse_dma_map_sg(struct device *dev, struct scatterlist *sgl,
			    int nents, enum dma_data_direction dir,
			    unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg->dma_address = vduse_dma_map_page(dev, sg_page(sg),
						     sg->offset, sg->length,
						     dir, attrs);
		if (sg->dma_address == DMA_MAPPING_ERROR) {
			vduse_dma_unmap_sg(dev, sgl, i, dir, attrs);
			return -ENOMEM;
		}
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

static void vduse_dma_sync_for_cpu(struct device *dev, dma_addr_t addr,
				   size_t size, enum dma_data_direction dir)
{
	struct vduse_domain *domain = vduse_dev_to_domain(dev);

	if (!vduse_domain_bounce_ok(domain, addr, size))
		return;
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		vduse_domain_bounce(domain, addr, size, false);
}

static void vduse_dma_sync_for_device(struct device *dev, dma_addr_t addr,
				      size_t size,
				      enum dma_data_direction dir)
{
	struct vduse_domain *domain = vduse_dev_to_domain(dev);

	if (!vduse_domain_bounce_ok(domain, addr, size))
		return;
	if (dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL)
		vduse_domain_bounce(domain, addr, size, true);
}

static void *vduse_dma_alloc(struct device *dev, size_t size,
			     dma_addr_t *handle, gfp_t gfp,
			     unsigned long attrs)
{
	struct vduse_domain *domain = vduse_dev_to_domain(dev);
	unsigned long count = PFN_UP(size), start, i;
	void *vaddr;

	/* vmap() sleeps */
	if (!size || !gfpflags_allow_blocking(gfp))
		return NULL;
	start = vduse_domain_alloc_iova(domain, domain->bounce_pages,
					domain->npages, count);
	if (!start)
		return NULL;
	/* the coherent region: no replacement, no @pages_lock */
	for (i = 0; i < count; i++)
		if (!vduse_domain_page(domain, start + i, GFP_KERNEL))
			goto err;
	vaddr = vmap(&domain->pages[start], count, VM_MAP, PAGE_KERNEL);
	if (!vaddr)
		goto err;
	/* pages are reused: clear what an earlier user left */
	memset(vaddr, 0, count << PAGE_SHIFT);
	*handle = (dma_addr_t)start << PAGE_SHIFT;
	return vaddr;
err:
	vduse_domain_free_iova(domain, start, count);
	return NULL;
}

static void vduse_dma_free(struct device *dev, size_t size, void *vaddr,
			   dma_addr_t handle, unsigned long attrs)
{
	struct vduse_domain *domain = vduse_dev_to_domain(dev);

	vunmap(vaddr);
	if (WARN_ON_ONCE(!vduse_domain_range_ok(domain, handle, size) ||
			 handle < vduse_domain_bounce_size(domain)))
		return;
	vduse_domain_free_iova(domain, handle >> PAGE_SHIFT, PFN_UP(size));
}

static size_t vduse_dma_max_mapping_size(struct device *dev)
{
	return VDUSE_MAX_MAPPING;
}

/* IOVAs stay below 2 GiB (domain_mb's limit, plus the rings) */
static int vduse_dma_supported(struct device *dev, u64 mask)
{
	return mask >= DMA_BIT_MASK(32);
}

static u64 vduse_dma_get_required_mask(struct device *dev)
{
	return DMA_BIT_MASK(64);
}

const struct dma_map_ops vduse_dma_ops = {
	.alloc = vduse_dma_alloc,
	.free = vduse_dma_free,
	.map_page = vduse_dma_map_page,
	.unmap_page = vduse_dma_unmap_page,
	.map_sg = vduse_dma_map_sg,
	.unmap_sg = vduse_dma_unmap_sg,
	.sync_single_for_cpu = vduse_dma_sync_for_cpu,
	.sync_single_for_device = vduse_dma_sync_for_device,
	.dma_supported = vduse_dma_supported,
	.get_required_mask = vduse_dma_get_required_mask,
	.max_mapping_size = vduse_dma_max_mapping_size,
};

/* ---- the file the daemon maps ---- */

/*
 * A page of the bounce region for the daemon's mapping, unless the daemon
 * backs the region with its own pages: then it uses those (SIGBUS).
 */
static vm_fault_t vduse_domain_bounce_fault(struct vm_fault *vmf,
					    struct vduse_domain *domain)
{
	struct page *page, *fresh = NULL;
	vm_fault_t ret = 0;

	if (!READ_ONCE(domain->pages[vmf->pgoff])) {
		fresh = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!fresh)
			return VM_FAULT_OOM;
	}
	read_lock_irq(&domain->pages_lock);
	page = domain->pages[vmf->pgoff];
	if (domain->user)
		ret = VM_FAULT_SIGBUS;
	else if (!page && fresh)
		page = vduse_domain_install(domain, vmf->pgoff, fresh);
	if (!ret && page) {
		get_page(page);
		vmf->page = page;
	}
	read_unlock_irq(&domain->pages_lock);
	if (fresh && page != fresh)
		__free_page(fresh);
	/* taken back (DEREG_UMEM) since it was looked at: the VM retries */
	if (!ret && !page)
		ret = VM_FAULT_NOPAGE;
	return ret;
}

static vm_fault_t vduse_domain_fault(struct vm_fault *vmf)
{
	struct vduse_domain *domain = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff >= domain->npages || !vmf->pgoff)
		return VM_FAULT_SIGBUS;
	if (vmf->pgoff < domain->bounce_pages)
		return vduse_domain_bounce_fault(vmf, domain);
	page = vduse_domain_page(domain, vmf->pgoff, GFP_KERNEL);
	if (!page)
		return VM_FAULT_OOM;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vduse_domain_vm_ops = {
	.fault = vduse_domain_fault,
};

static int vduse_domain_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct vduse_domain *domain = file->private_data;
	unsigned long pages = vma_pages(vma);

	if (vma->vm_pgoff > domain->npages ||
	    pages > domain->npages - vma->vm_pgoff)
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &vduse_domain_vm_ops;
	return 0;
}

static int vduse_domain_file_release(struct inode *inode, struct file *file)
{
	vduse_domain_put(file->private_data);
	return 0;
}

static const struct file_operations vduse_domain_fops = {
	.owner = THIS_MODULE,
	.mmap = vduse_domain_mmap,
	.release = vduse_domain_file_release,
};

/**
 * vduse_domain_get_file - a new file mapping the whole domain
 * @domain: the domain; the file holds a reference on it
 *
 * The caller installs it in a descriptor once nothing can fail any more,
 * or drops it with fput().
 *
 * Return: the file, or an ERR_PTR().
 */
struct file *vduse_domain_get_file(struct vduse_domain *domain)
{
	struct file *file;

	kref_get(&domain->kref);
	file = anon_inode_getfile("[vduse-domain]", &vduse_domain_fops, domain,
				  O_RDWR);
	if (IS_ERR(file))
		vduse_domain_put(domain);
	return file;
}
