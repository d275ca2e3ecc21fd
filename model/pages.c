/*
 * Live pages: the targets' own (page events) and the page cache pages they
 * added (cache events), a slot per page, since a free may cover part of an
 * allocation or pages of several; a page of the target's that becomes page
 * cache moves from the one table to the other.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

/* Orders above the largest a kernel allocates, or past the last page id, are no pages. */
static bool pages_valid(uint64_t page, uint32_t order)
{
	return order <= PAGE_ORDER_MAX && page + (1ULL << order) >= page;
}

static struct page_slot *pages__find(struct page_table *t, uint64_t page)
{
	return hashmap__find(&t->map, &page);
}

static void pages__remove(struct page_table *t, struct page_slot *s)
{
	hashmap__remove(&t->map, s);
}

/*
 * One live page leaves the table.  Freed: its site loses a page, and a live
 * allocation when it was the allocation's last.  Freed by its owner's exit
 * teardown (keep_live): its bytes stay live, as the process held them, but the
 * page is no longer the owner's, so a later allocation of it takes nothing
 * from the owner.  The head's slot carries the allocation's page count, so
 * when the head page goes first its slot stays, marked PAGE_GONE, until the
 * last.
 */
static void pages__release(struct model *m, struct page_table *t, struct page_slot *s,
			   bool keep_live)
{
	uint32_t si = s->site & ~PAGE_GONE;
	const struct site_rec *site = &m->sites[t->ev].v[si];
	uint64_t head_id = s->head;
	bool is_head = s->page == head_id, last = false;
	struct page_slot *head;

	if (!keep_live) {
		site__sub(m, t->ev, si, SITE_LIVE_BYTES, m->page_size);
		live__sub(m, t->ev, site->image, m->page_size);
		m->images[site->image].proc.freed[t->ev] += m->page_size;
	}
	head = is_head ? s : pages__find(t, head_id);
	if (head && head->pages && --head->pages == 0) {
		if (!keep_live)
			site__sub(m, t->ev, si, SITE_LIVE_NR, 1);
		last = true;
	}
	if (is_head) {
		if (last)
			pages__remove(t, s);
		else
			s->site |= PAGE_GONE;
		return;
	}
	pages__remove(t, s);
	head = last ? pages__find(t, head_id) : NULL;
	if (head && (head->site & PAGE_GONE))
		pages__remove(t, head);
}

/* 2^order pages from page, allocated (or added to the cache) at site si: live from now on. */
static int pages__insert(struct model *m, struct page_table *t, uint64_t page,
			 unsigned int order, uint32_t si)
{
	uint32_t image = m->sites[t->ev].v[si].image;
	uint64_t pages = 1ULL << order;
	bool added;

	site__add(m, t->ev, si, SITE_ALLOC_BYTES, pages * m->page_size);
	site__add(m, t->ev, si, SITE_ALLOC_NR, 1);
	model__histogram_add(m, t->ev, pages * m->page_size);
	m->images[image].proc.alloc[t->ev] += pages * m->page_size;
	for (uint64_t p = page; p < page + pages; p++) {
		struct page_slot *s = pages__find(t, p);

		/* Still live: its free was lost.  The new allocation takes the page. */
		if (s && !(s->site & PAGE_GONE))
			pages__release(m, t, s, false);
		s = pages__find(t, p);
		if (s)
			pages__remove(t, s);
		s = hashmap__insert(&t->map, &p, &added);
		if (!s)
			return -ENOMEM;
		s->head = page;
		s->site = si;
		s->pages = p == page ? (uint32_t)pages : 0;
	}
	site__add(m, t->ev, si, SITE_LIVE_BYTES, pages * m->page_size);
	site__add(m, t->ev, si, SITE_LIVE_NR, 1);
	site__grew(m, t->ev, si);
	live__add(m, t->ev, image, pages * m->page_size);
	return 0;
}

int model__on_page_alloc(struct model *m, const struct mpf_page_alloc *a)
{
	uint32_t img, si;
	int err;

	if (!pages_valid(a->page, a->order))
		return 0;
	err = site_for(m, MPF_EV_PAGE, a->pid, a->tid, a->stack_id, !(a->gfp & GFP_MOVABLE), &img,
		       &si);
	if (err)
		return err;
	return pages__insert(m, &m->pages, a->page, a->order, si);
}

/* A page of a process's that the page cache took: not freed, moved. */
static void page_to_cache(struct model *m, struct page_slot *s)
{
	const struct site_rec *ps = &m->sites[MPF_EV_PAGE].v[s->site];
	struct image *img = &m->images[ps->image];

	pages__release(m, &m->pages, s, false);
	img->proc.freed[MPF_EV_PAGE] -= m->page_size;
	img->proc.to_cache += m->page_size;
}

void model__on_page_free(struct model *m, const struct mpf_record *rec)
{
	const struct mpf_page_free *f = &rec->page_free;

	if (!pages_valid(f->page, f->order))
		return;
	for (uint64_t p = f->page; p < f->page + (1ULL << f->order); p++) {
		struct page_slot *s = pages__find(&m->pages, p);
		const struct image *owner;

		if (!s || (s->site & PAGE_GONE))
			continue;
		/*
		 * Live means live when the owner began to exit: the frees of its
		 * teardown (flagged by the recorder: by the owner, unmapping its
		 * memory as it exits; or later than its EXIT, such as page tables
		 * freed after an RCU grace period) do not count.
		 */
		owner = &m->images[m->sites[MPF_EV_PAGE].v[s->site].image];
		if (f->flags & MPF_PAGE_FREE_TO_CACHE) {
			page_to_cache(m, s);
			continue;
		}
		pages__release(m, &m->pages, s,
			       ((f->flags & MPF_PAGE_FREE_EXITING) && f->pid == owner->pid) ||
				       (owner->exited && rec->time >= owner->exit_time));
	}
}

/*
 * Pages added to the page cache: cache of the adding site from now on, until
 * deleted, whatever becomes of the process (the cache outlives it).  A page
 * the target allocated itself leaves its page events' live bytes: it is
 * cache now, not the process's own memory (TezEdge's value and cacheValue).
 */
int model__on_cache_add(struct model *m, const struct mpf_cache_add *a)
{
	uint32_t img, si;
	int err;

	if (!pages_valid(a->page, a->order))
		return 0;
	err = site_for(m, MPF_EV_CACHE, a->pid, a->tid, a->stack_id, false, &img, &si);
	if (err)
		return err;
	for (uint64_t p = a->page; p < a->page + (1ULL << a->order); p++) {
		struct page_slot *s = pages__find(&m->pages, p);

		if (s && !(s->site & PAGE_GONE))
			page_to_cache(m, s);
	}
	return pages__insert(m, &m->cache, a->page, a->order, si);
}

void model__on_cache_del(struct model *m, const struct mpf_cache_del *d)
{
	if (!pages_valid(d->page, d->order))
		return;
	for (uint64_t p = d->page; p < d->page + (1ULL << d->order); p++) {
		struct page_slot *s = pages__find(&m->cache, p);

		if (s && !(s->site & PAGE_GONE))
			pages__release(m, &m->cache, s, false);
	}
}
