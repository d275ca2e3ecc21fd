/* The index table (lib/idxtab.h): insertion and growth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/idxtab.h"

/* As lib/hashmap.c: linear probing stays fast below 7 slots in 10. */
#define LOAD_NUM 7
#define LOAD_DEN 10
#define CAPACITY_MIN 64

static void place(uint8_t *ctrl, uint32_t *idx, size_t mask, uint64_t hash, uint32_t v)
{
	size_t i;

	for (i = hash & mask; ctrl[i]; i = (i + 1) & mask)
		;
	ctrl[i] = idxtab__tag(hash);
	idx[i] = v;
}

static int idxtab__grow(struct idxtab *t, idxtab_hash_fn rehash, const void *ctx)
{
	size_t cap = t->ctrl ? (t->mask + 1) * 2 : CAPACITY_MIN;
	size_t old_cap = t->ctrl ? t->mask + 1 : 0;
	uint8_t *ctrl;
	uint32_t *idx;

	if (cap > SIZE_MAX / sizeof(*idx))
		return -ENOMEM;
	ctrl = calloc(cap, 1);
	idx = malloc(cap * sizeof(*idx));
	if (!ctrl || !idx) {
		free(ctrl);
		free(idx);
		return -ENOMEM;
	}
	if (t->dense)
		for (size_t i = 0; i < t->count; i++)
			place(ctrl, idx, cap - 1, rehash(ctx, (uint32_t)i), (uint32_t)i);
	else
		for (size_t i = 0; i < old_cap; i++)
			if (t->ctrl[i])
				place(ctrl, idx, cap - 1, rehash(ctx, t->idx[i]), t->idx[i]);
	free(t->ctrl);
	free(t->idx);
	t->ctrl = ctrl;
	t->idx = idx;
	t->mask = cap - 1;
	return 0;
}

int idxtab__insert(struct idxtab *t, uint64_t hash, uint32_t idx, idxtab_hash_fn rehash,
		   const void *ctx)
{
	int err;

	if (!t->ctrl || (t->count + 1) * LOAD_DEN > (t->mask + 1) * LOAD_NUM) {
		err = idxtab__grow(t, rehash, ctx);
		if (err)
			return err;
	}
	place(t->ctrl, t->idx, t->mask, hash, idx);
	t->count++;
	return 0;
}

size_t idxtab__bytes(const struct idxtab *t)
{
	return t->ctrl ? (t->mask + 1) * (1 + sizeof(*t->idx)) : 0;
}

void idxtab__clear(struct idxtab *t)
{
	if (t->ctrl)
		memset(t->ctrl, 0, t->mask + 1);
	t->count = 0;
}

void idxtab__free(struct idxtab *t)
{
	free(t->ctrl);
	free(t->idx);
	*t = (struct idxtab){ 0 };
}
