/*
 * An index table: a hash set of 32-bit indices into an array its user keeps,
 * for the tables of millions of entries (stack nodes, sites, tree nodes)
 * where a copy of each key in the table would cost more than the entries
 * themselves.  Open addressing with linear probing, as lib/hashmap.h, with a
 * control byte per slot (0 empty, else 0x80 and seven bits of the hash) and
 * the index: five bytes a slot.  The user gives the hash of what it looks
 * for and says whether an index holds it; growing asks the user for the
 * hash of each index it holds.  No removal: these tables only grow, or are
 * cleared whole.
 */
#ifndef MEMPROF_LIB_IDXTAB_H
#define MEMPROF_LIB_IDXTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDXTAB_NONE UINT32_MAX

struct idxtab {
	uint8_t *ctrl;		/* capacity bytes; NULL until the first insertion */
	uint32_t *idx;		/* capacity indices */
	size_t mask;		/* capacity - 1 */
	size_t count;
	/*
	 * Set by a user whose table holds indices 0 to count - 1 exactly (each
	 * entry of its array, inserted in order): growing then asks for their
	 * hashes in that order, reading the user's array from start to end
	 * rather than in the order of the slots, a cache miss each.
	 */
	bool dense;
};

/* Whether entry idx of the user's array holds key. */
typedef bool (*idxtab_eq_fn)(const void *ctx, uint32_t idx, const void *key);
/* The hash of entry idx, as it was given when it was inserted. */
typedef uint64_t (*idxtab_hash_fn)(const void *ctx, uint32_t idx);

static inline uint8_t idxtab__tag(uint64_t hash)
{
	return 0x80 | (uint8_t)(hash >> 57);
}

/*
 * The index holding key, whose hash is hash, or IDXTAB_NONE.  Inline, so
 * that eq, a known function at most call sites, is inlined too.
 */
static inline uint32_t idxtab__find(const struct idxtab *t, uint64_t hash, idxtab_eq_fn eq,
				    const void *ctx, const void *key)
{
	uint8_t tag = idxtab__tag(hash);

	if (!t->ctrl)
		return IDXTAB_NONE;
	for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
		if (!t->ctrl[i])
			return IDXTAB_NONE;
		if (t->ctrl[i] == tag && eq(ctx, t->idx[i], key))
			return t->idx[i];
	}
}

/*
 * Adds idx, whose key hashes to hash and is not in the table yet (the caller
 * looked).  rehash gives the hashes of the entries when the table grows.
 * 0 or -ENOMEM.
 */
int idxtab__insert(struct idxtab *t, uint64_t hash, uint32_t idx, idxtab_hash_fn rehash,
		   const void *ctx);
/* Bytes the table takes: what a budget charges. */
size_t idxtab__bytes(const struct idxtab *t);
void idxtab__clear(struct idxtab *t);
void idxtab__free(struct idxtab *t);

#endif
