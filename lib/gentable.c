/* A table of two generations: see gentable.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/gentable.h"

void *gen_table__add(struct gen_table *t, const void *ent)
{
	struct gen *g = &t->g[t->cur];
	uint64_t copy[GEN_TABLE_ENT_MAX / 8];
	void *slot;

	if (g->n >= t->max) {
		/* ent may be in the generation forgotten now. */
		memcpy(copy, ent, t->ent_size);
		ent = copy;
		t->cur = !t->cur;
		g = &t->g[t->cur];
		idxtab__clear(&g->index);
		g->n = 0;
	}
	if (g->n >= g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 1024;
		void *p;

		if (cap > t->max)
			cap = t->max;
		p = realloc(g->ents, cap * t->ent_size);
		if (!p)
			return NULL;
		g->ents = p;
		g->cap = cap;
	}
	slot = (char *)g->ents + g->n * t->ent_size;
	memcpy(slot, ent, t->ent_size);
	if (idxtab__insert(&g->index, t->hash(slot), (uint32_t)g->n, t->rehash, g))
		return NULL;
	g->n++;
	return slot;
}

void gen_table__clear(struct gen_table *t)
{
	for (int i = 0; i < 2; i++) {
		idxtab__clear(&t->g[i].index);
		t->g[i].n = 0;
	}
}

void gen_table__free(struct gen_table *t)
{
	for (int i = 0; i < 2; i++) {
		idxtab__free(&t->g[i].index);
		free(t->g[i].ents);
	}
}
