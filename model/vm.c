/*
 * The address space calls of -e mmap: each image's mapped ranges, sorted,
 * with the site that mapped each piece, split and moved by munmap, mremap
 * and brk as the kernel does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

/* Bytes of [start, end) leave the live ranges of img; ranges split where needed. */
/*
 * The first of the image's ranges that ends after addr: the ranges are sorted
 * and do not overlap, so their ends are sorted too.
 */
static size_t vm__first_after(const struct image *im, uint64_t addr)
{
	size_t lo = 0, hi = im->nvm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->vm[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int vm__unmap(struct model *m, uint32_t img, uint64_t start, uint64_t end)
{
	struct image *im = &m->images[img];

	if (start >= end)
		return 0;
	for (size_t i = vm__first_after(im, start); i < im->nvm && im->vm[i].start < end; i++) {
		struct vm_range *r = &im->vm[i];
		const struct site_rec *site;
		uint32_t si;
		uint64_t lo, hi;

		if (r->end <= start || r->start >= end)
			continue;
		lo = r->start > start ? r->start : start;
		hi = r->end < end ? r->end : end;
		si = r->site;
		site = &m->sites[MPF_EV_MMAP].v[si];
		site__sub(m, MPF_EV_MMAP, si, SITE_LIVE_BYTES, hi - lo);
		live__sub(m, MPF_EV_MMAP, site->image, hi - lo);
		m->images[site->image].proc.freed[MPF_EV_MMAP] += hi - lo;
		if (lo > r->start && hi < r->end) {
			/* A hole in the middle: the range becomes two. */
			struct vm_range tail = { hi, r->end, r->site };
			int err = ARRAY_RESERVE(im->vm, im->vm_cap, im->nvm + 1);

			if (err)
				return err;
			r = &im->vm[i];
			memmove(r + 2, r + 1, (im->nvm - i - 1) * sizeof(*r));
			r->end = lo;
			r[1] = tail;
			im->nvm++;
			site__add(m, MPF_EV_MMAP, si, SITE_LIVE_NR, 1);
			i++;
		} else if (lo > r->start) {
			r->end = lo;
		} else if (hi < r->end) {
			r->start = hi;
		} else {
			site__sub(m, MPF_EV_MMAP, si, SITE_LIVE_NR, 1);
			memmove(r, r + 1, (im->nvm - i - 1) * sizeof(*r));
			im->nvm--;
			i--;
		}
	}
	return 0;
}

/* [start, end) mapped at site si in img (counted as allocated when fresh). */
static int vm__map(struct model *m, uint32_t img, uint64_t start, uint64_t end, uint32_t si,
		   bool fresh)
{
	struct image *im;
	uint32_t image;
	size_t i;
	int err;

	if (end <= start)
		return 0;
	err = vm__unmap(m, img, start, end);
	if (!err)
		err = ARRAY_RESERVE(m->images[img].vm, m->images[img].vm_cap,
				    m->images[img].nvm + 1);
	if (err)
		return err;
	im = &m->images[img];
	i = vm__first_after(im, start);
	memmove(&im->vm[i + 1], &im->vm[i], (im->nvm - i) * sizeof(im->vm[0]));
	im->vm[i] = (struct vm_range){ start, end, si };
	im->nvm++;
	image = m->sites[MPF_EV_MMAP].v[si].image;
	site__add(m, MPF_EV_MMAP, si, SITE_LIVE_BYTES, end - start);
	site__add(m, MPF_EV_MMAP, si, SITE_LIVE_NR, 1);
	site__grew(m, MPF_EV_MMAP, si);
	live__add(m, MPF_EV_MMAP, image, end - start);
	if (fresh) {
		site__add(m, MPF_EV_MMAP, si, SITE_ALLOC_BYTES, end - start);
		site__add(m, MPF_EV_MMAP, si, SITE_ALLOC_NR, 1);
		model__histogram_add(m, MPF_EV_MMAP, end - start);
		m->images[image].proc.alloc[MPF_EV_MMAP] += end - start;
	}
	return 0;
}

/*
 * mremap: the pieces of the old range keep their sites at the new address
 * (and are not allocations again); what it grew by is the mremap's.
 */
static int vm__remap(struct model *m, uint32_t img, const struct mpf_vm *v, uint32_t si)
{
	struct vm_range moved[64];
	struct image *im = &m->images[img];
	uint64_t old_end = v->old_addr + v->old_len;
	size_t n = 0;
	int err;

	/* MREMAP_DONTUNMAP: the old range stays mapped; the new one is the mremap's. */
	if (v->flags & MREMAP_DONTUNMAP)
		return vm__map(m, img, v->addr, v->addr + v->len, si, true);

	/* Beyond 64 pieces (a range with many holes punched in it), the rest count as unmapped. */
	for (size_t i = vm__first_after(im, v->old_addr); i < im->nvm && n < 64; i++) {
		struct vm_range *r = &im->vm[i];

		if (r->start >= old_end)
			break;
		moved[n++] = (struct vm_range){
			(r->start > v->old_addr ? r->start : v->old_addr) - v->old_addr,
			(r->end < old_end ? r->end : old_end) - v->old_addr, r->site
		};
	}
	/* Unmapped, then mapped again: not freed, not allocated. */
	err = vm__unmap(m, img, v->old_addr, old_end);
	for (size_t i = 0; i < n && !err; i++) {
		const struct site_rec *site = &m->sites[MPF_EV_MMAP].v[moved[i].site];
		uint64_t lo = moved[i].start, hi = moved[i].end < v->len ? moved[i].end : v->len;

		m->images[site->image].proc.freed[MPF_EV_MMAP] -= moved[i].end - moved[i].start;
		if (lo < hi) {
			err = vm__map(m, img, v->addr + lo, v->addr + hi, moved[i].site, false);
			if (hi < moved[i].end)
				m->images[site->image].proc.freed[MPF_EV_MMAP] += moved[i].end - hi;
		} else {
			m->images[site->image].proc.freed[MPF_EV_MMAP] += moved[i].end - moved[i].start;
		}
	}
	if (!err && v->len > v->old_len)
		err = vm__map(m, img, v->addr + v->old_len, v->addr + v->len, si, true);
	return err;
}

int model__on_vm(struct model *m, const struct mpf_vm *v)
{
	uint64_t ps = m->page_size, lo, hi;
	uint32_t img, si;
	int err;

	err = site_for(m, MPF_EV_MMAP, v->pid, v->tid, v->stack_id, false, &img, &si);
	if (err)
		return err;
	m->images[img].proc.calls[v->call]++;
	switch (v->call) {
	case MPF_VM_MMAP:
		if (v->addr + v->len < v->addr)
			return 0;
		return vm__map(m, img, v->addr, v->addr + v->len, si, true);
	case MPF_VM_MUNMAP:
		if (v->addr + v->len < v->addr)
			return 0;
		return vm__unmap(m, img, v->addr, v->addr + v->len);
	case MPF_VM_MREMAP:
		if (v->addr + v->len < v->addr || v->old_addr + v->old_len < v->old_addr)
			return 0;
		return vm__remap(m, img, v, si);
	case MPF_VM_BRK:
		/* The heap's pages run to the break rounded up to a page. */
		if (v->addr > UINT64_MAX - ps || v->old_addr > UINT64_MAX - ps)
			return 0;
		lo = (v->old_addr + ps - 1) / ps * ps;
		hi = (v->addr + ps - 1) / ps * ps;
		if (hi > lo)
			return vm__map(m, img, lo, hi, si, true);
		return vm__unmap(m, img, hi, lo);
	}
	return 0;
}
