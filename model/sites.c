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

static bool site_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct model_site *s = &((const struct site_table *)ctx)->v[idx];
	const struct site_key *k = key;

	return s->stack == k->stack && s->image == k->image && s->tid == k->tid &&
	       s->kernel == k->kernel;
}

static uint64_t site_rehash(const void *ctx, uint32_t idx)
{
	const struct model_site *s = &((const struct site_table *)ctx)->v[idx];

	return site_hash(s->image, s->tid, s->stack, s->kernel);
}

/* Sites are found in an index table: 5 bytes a slot, where a hash map would keep the key too. */
int site_of(struct model *m, unsigned int ev, uint32_t img, uint32_t tid, uint32_t stack,
	    bool kernel, uint32_t *idx)
{
	struct site_table *t = &m->sites[ev];
	const struct site_key key = { img, tid, stack, kernel };
	uint64_t h = site_hash(img, tid, stack, kernel);
	uint32_t found = idxtab__find(&t->index, h, site_eq, t, &key);
	int err;

	if (found != IDXTAB_NONE) {
		*idx = found;
		return 0;
	}
	if (t->nr >= UINT32_MAX - 1)
		return -ENOMEM;
	err = ARRAY_RESERVE(t->v, t->cap, t->nr + 1);
	if (err)
		return err;
	t->v[t->nr] = (struct model_site){
		.image = img, .tid = tid, .stack = stack, .kernel = kernel
	};
	/* Every site is in the index, in the order made. */
	t->index.dense = true;
	err = idxtab__insert(&t->index, h, (uint32_t)t->nr, site_rehash, t);
	if (err)
		return err;
	*idx = (uint32_t)t->nr++;
	return 0;
}

int site_for(struct model *m, unsigned int ev, uint32_t pid, uint32_t tid, uint32_t stack_id,
	     bool kernel, uint32_t *img, uint32_t *si)
{
	int err = image_of(m, pid, img);

	return err ? err
		   : site_of(m, ev, *img, tid, model__stack_of(m, *img, stack_id), kernel, si);
}
