/*
 * The files and call stacks a trace defines, by id, and the stacks record -g
 * dwarf copied, unwound (through the unwinder report gives the model) when
 * the event that uses one says which process image it belongs to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

int model__on_file(struct model *m, const struct mpf_file *f)
{
	uint64_t *v = hmap__find(&m->file_ids, f->id, 0);
	struct model_file *mf;
	char *path = strdup(f->path ? f->path : "");
	int err;

	if (!path)
		return -ENOMEM;
	if (v) {
		/* Redefined: the latest record wins. */
		mf = &m->files[*v];
		free((char *)mf->path);
	} else {
		err = ARRAY_RESERVE(m->files, m->files_cap, m->nfiles + 1);
		if (!err)
			err = hmap__set(&m->file_ids, f->id, 0, m->nfiles);
		if (err) {
			free(path);
			return err;
		}
		mf = &m->files[m->nfiles];
		mf->index = (uint32_t)m->nfiles++;
	}
	mf->id = f->id;
	mf->build_id_len = f->build_id_len > MPF_BUILD_ID_MAX ? MPF_BUILD_ID_MAX : f->build_id_len;
	memcpy(mf->build_id, f->build_id, mf->build_id_len);
	mf->path = path;
	return 0;
}

int model__on_stack(struct model *m, const struct mpf_stack *s)
{
	uint32_t nr = s->nr > MPF_STACK_MAX ? MPF_STACK_MAX : s->nr;
	int err;

	if (!s->id)
		return 0;
	if (m->nstacks >= UINT32_MAX)
		return -ENOMEM;
	err = ARRAY_RESERVE(m->ips, m->ips_cap, m->nips + nr);
	if (!err)
		err = ARRAY_RESERVE(m->stacks, m->stacks_cap, m->nstacks + 1);
	if (err)
		return err;
	if (nr)
		memcpy(m->ips + m->nips, s->ips, nr * sizeof(*s->ips));
	m->stacks[m->nstacks] = (struct stack_ent){ .off = m->nips, .nr = nr, .flags = s->flags };
	m->nips += nr;
	/* Ids are looked up when used, so a redefined id does not change earlier sites. */
	err = hmap__set(&m->stack_ids, s->id, 0, m->nstacks);
	if (err)
		return err;
	m->nstacks++;
	return 0;
}

void model__set_unwinder(struct model *m, model_unwind_fn fn, void *ctx)
{
	m->unwind = fn;
	m->unwind_ctx = ctx;
}

int model__on_ustack(struct model *m, const struct mpf_ustack *u)
{
	if (!u->id)
		return 0;
	if (!m->pending_data) {
		m->pending_data = malloc(MPF_USTACK_MAX);
		if (!m->pending_data)
			return -ENOMEM;
	}
	m->pending = *u;
	if (m->pending.size > MPF_USTACK_MAX)
		m->pending.size = MPF_USTACK_MAX;
	memcpy(m->pending_data, u->data, m->pending.size);
	m->pending.data = m->pending_data;
	return 0;
}

/*
 * Unwinds the pending USTACK in image img and gives its id the result, as
 * a STACK record would have.  Unwound stacks repeat (copies of the same
 * call path differ in their locals): equal ones share one entry.
 */
static void model__unwind_pending(struct model *m, uint32_t img)
{
	struct mpf_stack st = { .id = m->pending.id, .flags = m->pending.flags };
	uint64_t h = 0x9e3779b97f4a7c15ULL, *v;
	bool truncated = false;
	int n = 0;

	m->pending.id = 0;
	if (m->unwind)
		n = m->unwind(m->unwind_ctx, img, &m->pending, m->unwound, MPF_STACK_MAX,
			      &truncated);
	if (m->unwind) {
		m->stats.ustacks++;
		m->stats.ustacks_truncated += truncated;
	}
	if (truncated)
		st.flags |= MPF_STACK_TRUNCATED;
	if (n <= 0) {
		hmap__set(&m->stack_ids, st.id, 0, MODEL_STACK_EMPTY);
		return;
	}
	for (int i = 0; i < n; i++)
		h = hash_pair(h, m->unwound[i]);
	h = hash_pair(h, st.flags);
	v = hmap__find(&m->stack_dedup, h, (uint64_t)n);
	if (v) {
		const struct stack_ent *e = &m->stacks[*v];

		if (e->nr == (uint32_t)n && e->flags == st.flags &&
		    !memcmp(m->ips + e->off, m->unwound, n * sizeof(uint64_t))) {
			hmap__set(&m->stack_ids, st.id, 0, *v);
			return;
		}
	}
	st.nr = n;
	st.ips = m->unwound;
	if (model__on_stack(m, &st))
		return;
	hmap__set(&m->stack_dedup, h, (uint64_t)n, m->nstacks - 1);
}

uint32_t model__stack_of(struct model *m, uint32_t img, uint32_t id)
{
	uint64_t *v;

	if (id && id == m->pending.id)
		model__unwind_pending(m, img);
	if (!id)
		return MODEL_STACK_EMPTY;
	v = hmap__find(&m->stack_ids, id, 0);
	if (v)
		return (uint32_t)*v;
	/* Remembered so each id is counted once; failing to remember only recounts it. */
	m->stats.undefined_stacks++;
	hmap__set(&m->stack_ids, id, 0, MODEL_STACK_EMPTY);
	return MODEL_STACK_EMPTY;
}
