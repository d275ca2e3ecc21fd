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

/*
 * What the stack table's budget (model__set_trace_size) charges: an id's
 * entry in stack_ids, and a stack's entry, its stack_dedup entry and its
 * frames.  Hash map entries are 24 bytes in tables at most half full.
 */
#define ID_COST 48
#define STACK_COST (sizeof(struct stack_ent) + 48)

static uint64_t stack__hash(const uint64_t *ips, uint32_t nr, uint32_t flags)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (uint32_t i = 0; i < nr; i++)
		h = hash_pair(h, ips[i]);
	return hash_pair(h, flags);
}

/* The index of the stack equal to (ips, nr, flags) the table holds, or 0 when none. */
static uint32_t stack__find(const struct model *m, uint64_t h, const uint64_t *ips, uint32_t nr,
			    uint32_t flags)
{
	uint64_t *v = hmap__find(&m->stack_dedup, h, nr);
	const struct stack_ent *e;

	if (!v)
		return 0;
	e = &m->stacks[*v];
	if (e->nr != nr || e->flags != flags || memcmp(m->ips + e->off, ips, nr * sizeof(*ips)))
		return 0;
	return (uint32_t)*v;
}

/*
 * A stack under an id.  Equal stacks share one entry: record writes each
 * distinct stack once but again under a new id after its table restarts, and
 * unwound copies of one call path are equal.  Past the budget a new stack is
 * not kept, nor its id: the events that use it have no stack.
 */
int model__on_stack(struct model *m, const struct mpf_stack *s)
{
	uint32_t nr = s->nr > MPF_STACK_MAX ? MPF_STACK_MAX : s->nr, idx;
	struct model_stats *st = &m->stats;
	uint64_t h, cost = ID_COST;
	int err;

	if (!s->id)
		return 0;
	if (!nr)
		return hmap__set(&m->stack_ids, s->id, 0, MODEL_STACK_EMPTY);
	h = stack__hash(s->ips, nr, s->flags);
	idx = stack__find(m, h, s->ips, nr, s->flags);
	if (!idx)
		cost += STACK_COST + (uint64_t)nr * sizeof(*s->ips);
	if (st->stack_bytes + cost > st->stack_budget) {
		st->stacks_dropped++;
		return 0;
	}
	if (!idx) {
		if (m->nstacks >= UINT32_MAX)
			return -ENOMEM;
		err = ARRAY_RESERVE(m->ips, m->ips_cap, m->nips + nr);
		if (!err)
			err = ARRAY_RESERVE(m->stacks, m->stacks_cap, m->nstacks + 1);
		if (!err)
			err = hmap__set(&m->stack_dedup, h, nr, m->nstacks);
		if (err)
			return err;
		memcpy(m->ips + m->nips, s->ips, nr * sizeof(*s->ips));
		m->stacks[m->nstacks] =
			(struct stack_ent){ .off = m->nips, .nr = nr, .flags = s->flags };
		m->nips += nr;
		idx = (uint32_t)m->nstacks++;
	}
	st->stack_bytes += cost;
	/* Ids are looked up when used, so a redefined id does not change earlier sites. */
	return hmap__set(&m->stack_ids, s->id, 0, idx);
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
 * call path differ in their locals): model__on_stack() keeps one of each.
 */
static void model__unwind_pending(struct model *m, uint32_t img)
{
	struct mpf_stack st = { .id = m->pending.id, .flags = m->pending.flags };
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
	st.nr = n;
	st.ips = m->unwound;
	/* Out of memory or past the budget: the id stays undefined, the event has no stack. */
	(void)model__on_stack(m, &st);
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
	/*
	 * Remembered so each id is counted once; failing to remember only
	 * recounts it.  Once stacks were dropped, an id not found is most
	 * likely one of theirs, which stacks_dropped counts.
	 */
	if (!m->stats.stacks_dropped)
		m->stats.undefined_stacks++;
	hmap__set(&m->stack_ids, id, 0, MODEL_STACK_EMPTY);
	return MODEL_STACK_EMPTY;
}
