/*
 * Allocation sites: one per event type, process image, thread and stack
 * (and, for pages, whether the kernel took them for itself), holding the
 * bytes and counts the views show.
 */
#include <errno.h>

#include "model/internal.h"

struct site_key {
	uint32_t image, tid, stack;
	bool kernel;
};

static uint64_t site_hash(uint32_t img, uint32_t tid, uint32_t stack, bool kernel)
{
	return hash_pair(img | (uint64_t)tid << 32, stack | (uint64_t)kernel << 32);
}

static bool site_is(const struct site_rec *s, const struct site_key *k)
{
	return s->stack == k->stack && s->image == k->image && s->tid == k->tid &&
	       !!(s->wide & SITE_KERNEL) == k->kernel;
}

static bool site_eq(const void *ctx, uint32_t idx, const void *key)
{
	return site_is(&((const struct site_table *)ctx)->v[idx], key);
}

static uint64_t site_rehash(const void *ctx, uint32_t idx)
{
	const struct site_rec *s = &((const struct site_table *)ctx)->v[idx];

	return site_hash(s->image, s->tid, s->stack, s->wide & SITE_KERNEL);
}

/* The entry of the sorted array for stack, NULL when it has none. */
static const struct site_by_stack *sorted__find(const struct site_table *t, uint32_t stack)
{
	size_t lo = 0, hi = t->nsorted;

	if (!hi || stack > t->sorted[hi - 1].stack)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->sorted[mid].stack < stack)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nsorted && t->sorted[lo].stack == stack ? &t->sorted[lo] : NULL;
}

int site_of(struct model *m, unsigned int ev, uint32_t img, uint32_t tid, uint32_t stack,
	    bool kernel, uint32_t *idx)
{
	struct site_table *t = &m->sites[ev];
	const struct site_key key = { img, tid, stack, kernel };
	const struct site_by_stack *e = sorted__find(t, stack);
	bool append = !t->nsorted || stack > t->sorted[t->nsorted - 1].stack;
	uint32_t found;
	int err;

	if (e && site_is(&t->v[e->site], &key)) {
		*idx = e->site;
		return 0;
	}
	if (t->index.count) {
		found = idxtab__find(&t->index, site_hash(img, tid, stack, kernel), site_eq, t,
				     &key);
		if (found != IDXTAB_NONE) {
			*idx = found;
			return 0;
		}
	}
	if (t->nr >= UINT32_MAX - 1)
		return -ENOMEM;
	err = ARRAY_RESERVE(t->v, t->cap, t->nr + 1);
	if (!err && append)
		err = ARRAY_RESERVE(t->sorted, t->sorted_cap, t->nsorted + 1);
	if (err)
		return err;
	t->v[t->nr] = (struct site_rec){
		.image = img, .tid = tid, .stack = stack, .wide = kernel ? SITE_KERNEL : 0
	};
	if (append) {
		t->sorted[t->nsorted++] = (struct site_by_stack){ .stack = stack,
								  .site = (uint32_t)t->nr };
	} else {
		err = idxtab__insert(&t->index, site_hash(img, tid, stack, kernel), (uint32_t)t->nr,
				     site_rehash, t);
		if (err)
			return err;
	}
	*idx = (uint32_t)t->nr++;
	return 0;
}

bool site__widen(struct model *m, struct site_table *t, uint32_t si)
{
	struct site_rec *s = &t->v[si];

	if (t->nwide >= SITE_WIDE_MASK - 1 || ARRAY_RESERVE(t->wide, t->wide_cap, t->nwide + 1)) {
		m->nomem = true;
		return false;
	}
	for (int k = 0; k < SITE__MAX; k++)
		t->wide[t->nwide][k] = s->c[k];
	s->wide |= (uint32_t)++t->nwide;
	return true;
}

int site_for(struct model *m, unsigned int ev, uint32_t pid, uint32_t tid, uint32_t stack_id,
	     bool kernel, uint32_t *img, uint32_t *si)
{
	int err = image_of(m, pid, img);

	return err ? err
		   : site_of(m, ev, *img, tid, model__stack_of(m, *img, stack_id), kernel, si);
}
