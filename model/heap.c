/*
 * Live heap blocks: each allocation counted at its site and live until its
 * free, keyed by (ptr, image) so that forked processes with the same heap
 * layout keep their own; and heaptrack's "temporary" allocations.  In a
 * sampled trace (record --heap-sample) each block counts for the bytes and
 * allocations it stands for.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

static struct heap_slot *heap__find(struct model *m, uint32_t img, uint64_t ptr)
{
	const struct heap_slot key = { .ptr = ptr, .image = img };

	return hashmap__find(&m->heap, &key);
}

/* Block s leaves its site and its image's live total (the slot itself stays). */
static void heap__unlive(struct model *m, const struct heap_slot *s)
{
	site__sub(m, MPF_EV_HEAP, s->site, SITE_LIVE_BYTES, s->size);
	site__sub(m, MPF_EV_HEAP, s->site, SITE_LIVE_NR, s->nr);
	live__sub(m, MPF_EV_HEAP, s->image, s->size);
}

static int heap__insert(struct model *m, uint32_t img, uint64_t ptr, uint64_t size, uint32_t nr,
			uint32_t si)
{
	const struct heap_slot key = { .ptr = ptr, .image = img };
	bool added;
	/* One look-up: an insertion that finds the block returns its slot. */
	struct heap_slot *s = hashmap__insert(&m->heap, &key, &added);

	if (!s)
		return -ENOMEM;
	/* Already live: its free was lost; the new block replaces it. */
	if (!added)
		heap__unlive(m, s);
	s->size = size;
	s->site = si;
	s->nr = nr;
	site__add(m, MPF_EV_HEAP, si, SITE_LIVE_BYTES, size);
	site__add(m, MPF_EV_HEAP, si, SITE_LIVE_NR, nr);
	site__grew(m, MPF_EV_HEAP, si);
	live__add(m, MPF_EV_HEAP, img, size);
	return 0;
}

/*
 * Each thread's latest allocation, for "temporary": the last thread's is
 * kept in the model (m->alloc_tid, m->alloc_ptr), not in last_alloc, which
 * holds the others and gets the kept one when another thread allocates.
 * Runs of one thread then cost no look-up.
 */
static int last_alloc__set(struct model *m, uint32_t tid, uint64_t ptr)
{
	int err = 0;

	if (m->alloc_cached && m->alloc_tid != tid)
		err = hmap__set(&m->last_alloc, m->alloc_tid, 0, m->alloc_ptr);
	if (err)
		return err;
	m->alloc_cached = true;
	m->alloc_tid = tid;
	m->alloc_ptr = ptr;
	return 0;
}

/* "Temporary" needs each thread's latest allocation: only where the sites count it. */
static bool heap__counts_temporary(const struct model *m)
{
	return m->sites[MPF_EV_HEAP].counts == MODEL_COUNTS_ALL;
}

static uint64_t *last_alloc__find(struct model *m, uint32_t tid)
{
	if (m->alloc_cached && m->alloc_tid == tid)
		return &m->alloc_ptr;
	return hmap__find(&m->last_alloc, tid, 0);
}

/*
 * What a sampled allocation of size bytes stands for: it was sampled with
 * probability p = 1 - exp(-size / interval), so size / p bytes and 1 / p
 * allocations, on average (the estimate is unbiased).
 */
static void heap__weight(const struct model *m, uint64_t size, uint64_t *bytes, uint32_t *nr)
{
	double p, n;

	*bytes = size;
	*nr = 1;
	if (!m->heap_sample || !size)
		return;
	p = -expm1(-(double)size / (double)m->heap_sample);
	n = 1.0 / p;
	*bytes = (uint64_t)llround((double)size * n);
	*nr = n >= UINT32_MAX ? UINT32_MAX : (uint32_t)llround(n);
}

/* An allocation of size bytes at ptr by pid from stack_id: counted, and live from now on. */
int heap__alloc(struct model *m, uint32_t pid, uint32_t tid, uint32_t stack_id,
		       uint64_t ptr, uint64_t size)
{
	uint32_t img, si, nr;
	uint64_t bytes;
	int err;

	if (m->stacks_only) {
		/* The image and the stack, as site_for() would make and find them. */
		err = image_of(m, pid, &img);
		if (!err)
			(void)model__stack_node(m, img, stack_id);
		return err;
	}
	err = site_for(m, MPF_EV_HEAP, pid, tid, stack_id, false, &img, &si);
	if (err)
		return err;
	heap__weight(m, size, &bytes, &nr);
	site__add(m, MPF_EV_HEAP, si, SITE_ALLOC_BYTES, bytes);
	site__add(m, MPF_EV_HEAP, si, SITE_ALLOC_NR, nr);
	m->images[img].proc.alloc[MPF_EV_HEAP] += bytes;
	model__histogram_add(m, MPF_EV_HEAP, size);
	if (heap__counts_temporary(m))
		err = last_alloc__set(m, tid, ptr);
	if (!err)
		err = heap__insert(m, img, ptr, bytes, nr, si);
	return err;
}

int heap__free(struct model *m, uint32_t pid, uint32_t tid, uint64_t ptr)
{
	uint64_t *last;
	struct heap_slot *s;
	uint32_t img;
	int err;

	if (!ptr)
		return 0;
	err = image_of(m, pid, &img);
	/* Its image made as ever (a realloc's pid may be new); no block was kept. */
	if (err || m->stacks_only)
		return err;
	s = heap__find(m, img, ptr);
	if (!s)
		return 0;
	/* Freed by the thread that allocated it last: nothing was allocated in between. */
	last = heap__counts_temporary(m) ? last_alloc__find(m, tid) : NULL;
	if (last && *last == ptr) {
		site__add(m, MPF_EV_HEAP, s->site, SITE_TMP_BYTES, s->size);
		site__add(m, MPF_EV_HEAP, s->site, SITE_TMP_NR, s->nr);
		*last = 0;
	}
	m->images[s->image].proc.freed[MPF_EV_HEAP] += s->size;
	heap__unlive(m, s);
	hashmap__remove(&m->heap, s);
	return 0;
}

int model__on_realloc(struct model *m, const struct mpf_heap_realloc *r)
{
	int err = 0;

	/* ptr 0 with a size is a failed realloc: the old block is untouched. */
	if (r->old_ptr && (r->ptr || !r->size))
		err = heap__free(m, r->pid, r->tid, r->old_ptr);
	if (!err && r->ptr)
		err = heap__alloc(m, r->pid, r->tid, r->stack_id, r->ptr, r->size);
	return err;
}
