// SPDX-License-Identifier: GPL-2.0
/*
 * The IOVA domain of a VDUSE device.
 *
 * Kernel drivers (virtio_vdpa and the virtio driver above it) use the DMA
 * API on the vdpa device.  Its DMA ops place every mapping in one linear
 * IOVA space whose pages are kernel pages allocated on first use.  The
 * daemon maps that space through the file VDUSE_IOTLB_GET_FD returns.
 *
 * - Coherent allocations (rings) are the domain's own pages, mapped into
 *   the kernel with vmap(): kernel and daemon share them.
 * - Streaming mappings (buffers) are bounced: the data is copied into the
 *   domain's pages on map (whatever the direction, so the daemon never
 *   sees stale data of another request) and back on unmap or sync for
 *   DMA_FROM_DEVICE and DMA_BIDIRECTIONAL.
 *
 * A page, once installed, backs its IOVA page until the domain is freed,
 * so the daemon's mappings never have to be invalidated.
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

struct vduse_domain *vduse_domain_create(u64 size)
{
	struct vduse_domain *domain;

	domain = kzalloc(sizeof(*domain), GFP_KERNEL);
	if (!domain)
		return NULL;
	kref_init(&domain->kref);
	spin_lock_init(&domain->lock);
	domain->npages = size >> PAGE_SHIFT;
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

	for (i = 0; i < domain->npages; i++)
		if (domain->pages[i])
			__free_page(domain->pages[i]);
	kvfree(domain->orig);
	kvfree(domain->pages);
	bitmap_free(domain->used);
	kfree(domain);
}

void vduse_domain_put(struct vduse_domain *domain)
{
	kref_put(&domain->kref, vduse_domain_release);
}

/* The page behind IOVA page @index, allocated with @gfp if still absent. */
static struct page *vduse_domain_page(struct vduse_domain *domain,
				      unsigned long index, gfp_t gfp)
{
	struct page *page = READ_ONCE(domain->pages[index]);
	struct page *old;

	if (page)
		return page;
	page = alloc_page(gfp | __GFP_ZERO);
	if (!page)
		return NULL;
	old = cmpxchg(&domain->pages[index], NULL, page);
	if (old) {
		__free_page(page);
		return old;
	}
	return page;
}

static unsigned long vduse_domain_alloc_iova(struct vduse_domain *domain,
					     unsigned long count)
{
	unsigned long flags, start;

	spin_lock_irqsave(&domain->lock, flags);
	start = bitmap_find_next_zero_area(domain->used, domain->npages, 1,
					   count, 0);
	if (start >= domain->npages)
		start = 0;
	else
		bitmap_set(domain->used, start, count);
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
 * memory they stand for.  Both pages exist: map installed them.
 */
static void vduse_domain_bounce(struct vduse_domain *domain, u64 iova,
				size_t size, bool to_device)
{
	while (size) {
		unsigned long index = iova >> PAGE_SHIFT;
		unsigned int off = offset_in_page(iova);
		phys_addr_t orig = domain->orig[index] + off;
		size_t len = min_t(size_t, size, PAGE_SIZE - off);
		struct page *page = READ_ONCE(domain->pages[index]);
		void *bounce, *buf;

		len = min_t(size_t, len, PAGE_SIZE - offset_in_page(orig));
		bounce = page_address(page) + off;
		buf = kmap_local_page(pfn_to_page(PHYS_PFN(orig)));
		if (to_device)
			memcpy(bounce, buf + offset_in_page(orig), len);
		else
			memcpy(buf + offset_in_page(orig), bounce, len);
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
	unsigned long count, start, i;

	if (!size || size > VDUSE_MAX_MAPPING)
		return DMA_MAPPING_ERROR;
	count = PFN_UP(off + size);
	start = vduse_domain_alloc_iova(domain, count);
	if (!start)
		return DMA_MAPPING_ERROR;
	for (i = 0; i < count; i++) {
		/* streaming maps may come from atomic context */
		if (!vduse_domain_page(domain, start + i, GFP_ATOMIC)) {
			vduse_domain_free_iova(domain, start, count);
			return DMA_MAPPING_ERROR;
		}
		domain->orig[start + i] = phys - off + i * PAGE_SIZE;
	}
	/* every direction: the daemon must not see another request's data */
	vduse_domain_bounce(domain, ((u64)start << PAGE_SHIFT) + off, size,
			    true);
	return ((dma_addr_t)start << PAGE_SHIFT) + off;
}

static void vduse_domain_unmap(struct vduse_domain *domain, dma_addr_t iova,
			       size_t size, enum dma_data_direction dir)
{
	unsigned long start = iova >> PAGE_SHIFT;

	if (WARN_ON_ONCE(!vduse_domain_range_ok(domain, iova, size)))
		return;
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		vduse_domain_bounce(domain, iova, size, false);
	vduse_domain_free_iova(domain, start,
			       PFN_UP(offset_in_page(iova) + size));
}

/**
 * vduse_domain_kaddr - kernel address of bytes of the domain
 * @domain: the domain
 * @iova: first byte
 * @len: number of bytes; [iova, iova + len) must not cross a page
 *
 * For the kernel's own accesses to rings and buffers on the daemon's
 * behalf.  The address may be anywhere the daemon could point to, so it is
 * checked, never trusted.
 *
 * Return: the address, or NULL if the range is outside the domain,
 * crosses a page or was never backed.
 */
void *vduse_domain_kaddr(struct vduse_domain *domain, u64 iova, size_t len)
{
	struct page *page;

	if (!vduse_domain_range_ok(domain, iova, len) ||
	    offset_in_page(iova) + len > PAGE_SIZE)
		return NULL;
	page = READ_ONCE(domain->pages[iova >> PAGE_SHIFT]);
	return page ? page_address(page) + offset_in_page(iova) : NULL;
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

	if (!vduse_domain_range_ok(domain, addr, size))
		return;
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		vduse_domain_bounce(domain, addr, size, false);
}

static void vduse_dma_sync_for_device(struct device *dev, dma_addr_t addr,
				      size_t size,
				      enum dma_data_direction dir)
{
	struct vduse_domain *domain = vduse_dev_to_domain(dev);

	if (!vduse_domain_range_ok(domain, addr, size))
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
	start = vduse_domain_alloc_iova(domain, count);
	if (!start)
		return NULL;
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
	if (WARN_ON_ONCE(!vduse_domain_range_ok(domain, handle, size)))
		return;
	vduse_domain_free_iova(domain, handle >> PAGE_SHIFT, PFN_UP(size));
}

static size_t vduse_dma_max_mapping_size(struct device *dev)
{
	return VDUSE_MAX_MAPPING;
}

/* IOVAs stay below 1 GiB (domain_mb's limit) */
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

static vm_fault_t vduse_domain_fault(struct vm_fault *vmf)
{
	struct vduse_domain *domain = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff >= domain->npages || !vmf->pgoff)
		return VM_FAULT_SIGBUS;
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
