/*
 * Allocation sites: one per event type, process image, thread and stack
 * (and, for pages, whether the kernel took them for itself), holding the
 * bytes and counts the views show.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

/* The stack of the sorted array's last entry; false when it is empty. */
static bool sorted__last(const struct site_table *t, uint32_t *stack)
{
	if (t->nsorted)
		*stack = t->sorted[t->nsorted - 1].stack;
	else if (t->nimplicit)
		*stack = t->v[t->nimplicit - 1].stack;
	else
		return false;
	return true;
}

/* The site of the sorted array's entry for stack, IDXTAB_NONE when it has none. */
static uint32_t sorted__find(const struct site_table *t, uint32_t stack)
{
	size_t n = t->nimplicit, i;
	uint32_t last;

	if (!sorted__last(t, &last) || stack > last)
		return IDXTAB_NONE;
	if (n && stack <= t->v[n - 1].stack) {
		i = array__lower_bound_u32(t->v, 0, n, sizeof(*t->v), offsetof(struct site_rec, stack),
					   stack);
		return t->v[i].stack == stack ? (uint32_t)i : IDXTAB_NONE;
	}
	i = array__lower_bound_u32(t->sorted, 0, t->nsorted, sizeof(*t->sorted),
				   offsetof(struct site_by_stack, stack), stack);
	return i < t->nsorted && t->sorted[i].stack == stack ? t->sorted[i].site : IDXTAB_NONE;
}

int site_of(struct model *m, unsigned int ev, uint32_t img, uint32_t tid, uint32_t stack,
	    bool kernel, uint32_t *idx)
{
	struct site_table *t = &m->sites[ev];
	const struct site_key key = { img, tid, stack, kernel };
	uint32_t e = sorted__find(t, stack), last;
	bool append = !sorted__last(t, &last) || stack > last;
	/* Every site so far is one of the implicit entries: so is this one. */
	bool implicit = append && t->nimplicit == t->nr;
	uint32_t found;
	int err;

	if (e != IDXTAB_NONE && site_is(&t->v[e], &key)) {
		*idx = e;
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
	if (!err && t->counts != MODEL_COUNTS_LIVE)
		err = ARRAY_RESERVE(t->basic, t->basic_cap, t->nr + 1);
	if (!err && t->counts == MODEL_COUNTS_ALL)
		err = ARRAY_RESERVE(t->more, t->more_cap, t->nr + 1);
	if (!err && append && !implicit)
		err = ARRAY_RESERVE(t->sorted, t->sorted_cap, t->nsorted + 1);
	if (err)
		return err;
	t->v[t->nr] = (struct site_rec){
		.image = img, .tid = tid, .stack = stack, .wide = kernel ? SITE_KERNEL : 0
	};
	if (t->basic)
		memset(t->basic[t->nr], 0, sizeof(t->basic[t->nr]));
	if (t->more)
		memset(t->more[t->nr], 0, sizeof(t->more[t->nr]));
	if (implicit) {
		t->nimplicit++;
	} else if (append) {
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
		t->wide[t->nwide][k] = site__get(t, si, (enum site_count)k);
	s->wide |= (uint32_t)++t->nwide;
	return true;
}

uint64_t site__summed(const struct site_table *t, uint32_t si, enum site_count k)
{
	const struct site_live *l;

	if ((k != SITE_LIVE_BYTES && k != SITE_LIVE_NR) || !site__summed_live(t, si))
		return 0;
	l = hashmap__find(&t->live, &(uint64_t){ si });
	return !l ? 0 : k == SITE_LIVE_BYTES ? l->bytes : l->nr;
}

/*
 * MODEL_COUNTS_LIVE: what is live at each heap site, summed from the live
 * blocks (heap slots count for the bytes and allocations they stand for),
 * as the counts the other modes keep would have it, wrapping included.
 */
int model__count_live_sites(struct model *m)
{
	struct site_table *t = &m->sites[MPF_EV_HEAP];
	const struct heap_slot *s;
	size_t pos = 0;

	if (t->counts != MODEL_COUNTS_LIVE)
		return 0;
	free(t->live_bits);
	hashmap__free(&t->live);
	t->live = HASHMAP_INIT(struct site_live, sizeof(uint64_t));
	t->live_bits = calloc((t->nr + 63) / 64 + 1, sizeof(*t->live_bits));
	if (!t->live_bits)
		return -ENOMEM;
	while ((s = hashmap__next(&m->heap, &pos))) {
		struct site_live *l;
		bool added;

		l = hashmap__insert(&t->live, &(uint64_t){ s->site }, &added);
		if (!l)
			return -ENOMEM;
		l->bytes += s->size;
		l->nr += s->nr;
		t->live_bits[s->site / 64] |= 1ull << (s->site % 64);
	}
	return 0;
}

int site_for(struct model *m, unsigned int ev, uint32_t pid, uint32_t tid, uint32_t stack_id,
	     bool kernel, uint32_t *img, uint32_t *si)
{
	int err = image_of(m, pid, img);

	return err ? err
		   : site_of(m, ev, *img, tid, model__stack_node(m, *img, stack_id), kernel, si);
}
