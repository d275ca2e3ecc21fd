/*
 * A table of two generations: entries of a fixed size (a key and what goes
 * with it) found through an index table (lib/idxtab.h) per generation.  When
 * the newer generation is full, the older is forgotten and the newer becomes
 * the older; an entry found in the older moves to the newer.  What is in use
 * stays, however long the table lives, and its memory stays bounded by two
 * generations.  The trace writer remembers stack nodes and frames so.
 */
#ifndef MEMPROF_LIB_GENTABLE_H
#define MEMPROF_LIB_GENTABLE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/idxtab.h"

#define GEN_TABLE_ENT_MAX	16	/* bytes of an entry, at most */

/* One generation: its entries and their index. */
struct gen {
	struct idxtab index;
	void *ents;
	size_t n, cap;
};

/*
 * The user sets max (entries of one generation), ent_size and the three
 * functions; the rest starts zeroed.  eq and rehash are given the struct gen
 * searched as their ctx, the entries being its ents.
 */
struct gen_table {
	struct gen g[2];	/* g[cur] the newer */
	unsigned int cur;
	size_t max;
	size_t ent_size;	/* <= GEN_TABLE_ENT_MAX */
	uint64_t (*hash)(const void *ent);
	idxtab_hash_fn rehash;
	idxtab_eq_fn eq;
};

/*
 * Appends ent to the newer generation, making the newer the older first
 * when it is full.  The entry's address, or NULL without memory.
 */
void *gen_table__add(struct gen_table *t, const void *ent);
/* Forgets every entry, keeping the memory. */
void gen_table__clear(struct gen_table *t);
void gen_table__free(struct gen_table *t);

/*
 * The entry equal to key, or NULL: one the older generation holds moves to
 * the newer, keeping its id.  *err is -ENOMEM when moving it failed.  Inline,
 * so that eq is.
 */
static inline void *gen_table__find(struct gen_table *t, const void *key, idxtab_eq_fn eq,
				    int *err)
{
	uint64_t h = t->hash(key);
	struct gen *g = &t->g[t->cur];
	uint32_t i = idxtab__find(&g->index, h, eq, g, key);
	void *ent;

	if (i != IDXTAB_NONE)
		return (char *)g->ents + (size_t)i * t->ent_size;
	g = &t->g[!t->cur];
	i = idxtab__find(&g->index, h, eq, g, key);
	if (i == IDXTAB_NONE)
		return NULL;
	ent = gen_table__add(t, (char *)g->ents + (size_t)i * t->ent_size);
	if (!ent)
		*err = -ENOMEM;
	return ent;
}

#endif
