/*
 * Allocation sites: one per event type, process image, thread and stack
 * (and, for pages, whether the kernel took them for itself), holding the
 * bytes and counts the views show.
 */
#include <errno.h>

#include "model/internal.h"

int site_of(struct model *m, unsigned int ev, uint32_t img, uint32_t tid, uint32_t stack,
	    bool kernel, uint32_t *idx)
{
	struct site_table *t = &m->sites[ev];
	uint64_t key = stack | (uint64_t)kernel << 32;
	uint64_t *v = hmap__find(&t->index, img | (uint64_t)tid << 32, key);
	int err;

	if (v) {
		*idx = (uint32_t)*v;
		return 0;
	}
	if (t->nr >= UINT32_MAX)
		return -ENOMEM;
	err = ARRAY_RESERVE(t->v, t->cap, t->nr + 1);
	if (!err)
		err = hmap__set(&t->index, img | (uint64_t)tid << 32, key, t->nr);
	if (err)
		return err;
	t->v[t->nr] = (struct model_site){
		.image = img, .tid = tid, .stack = stack, .kernel = kernel
	};
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
