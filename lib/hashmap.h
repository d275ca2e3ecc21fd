/*
 * The one hash map of memprof: every table that finds something by key (live
 * heap blocks and pages, stacks by id, interned strings and stacks, tree
 * children, symbol caches) is one of these.  Open addressing with linear
 * probing and backward-shift deletion (no tombstones), slots of a fixed size
 * that start with their key, and a control byte per slot: 0 for an empty
 * slot, else 0x80 and seven bits of the key's hash, so that a probe rarely
 * reads a slot that is not the one.  Keys are whole 64-bit words compared
 * as such: a key struct has no padding its users leave unset.
 *
 * Pointers to slots stay valid until the next insertion or removal.
 */
#ifndef MEMPROF_LIB_HASHMAP_H
#define MEMPROF_LIB_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap {
	uint8_t *ctrl;		/* capacity bytes; NULL until the first insertion */
	uint8_t *slots;		/* capacity * slot_size bytes */
	size_t mask;		/* capacity - 1, a power of two minus one */
	size_t count;
	uint32_t slot_size;	/* bytes, a multiple of 8 */
	uint32_t key_words;	/* 64-bit words of key at the start of a slot */
};

/* A map of slots of type `slot` whose key is its first key_size bytes. */
#define HASHMAP_INIT(slot, key_size)                                                      \
	((struct hashmap){ .slot_size = sizeof(slot), .key_words = (key_size) / 8 })

/* The 64-bit finaliser of MurmurHash3: cheap, and it spreads sequential ids and pointers. */
static inline uint64_t hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline uint64_t hash_pair(uint64_t a, uint64_t b)
{
	return hash_u64(a ^ hash_u64(b + 0x9e3779b97f4a7c15ULL));
}

/* The slot of key, NULL when absent. */
void *hashmap__find(const struct hashmap *h, const void *key);
/*
 * The slot of key, added when absent (*added then true, its bytes past the
 * key zeroed).  NULL when it cannot grow (no memory).
 */
void *hashmap__insert(struct hashmap *h, const void *key, bool *added);
/* Removes a slot hashmap__find or hashmap__insert returned. */
void hashmap__remove(struct hashmap *h, void *slot);
/* Empties the map, keeping its memory. */
void hashmap__clear(struct hashmap *h);
void hashmap__free(struct hashmap *h);
/*
 * Iteration: the next full slot at or after *pos, and *pos past it; NULL at
 * the end.  Start with *pos = 0.  No insertion or removal meanwhile.
 */
void *hashmap__next(const struct hashmap *h, size_t *pos);

/* ---- a pair of u64 to a u64: the shape most tables need ---- */

struct hmap_slot {
	uint64_t a, b;		/* the key */
	uint64_t v;
};

/* Zero-initialized it is an empty map. */
struct hmap {
	struct hashmap map;
};

/* The value of key (a, b), NULL when absent.  The pointer lasts until the next insert. */
static inline uint64_t *hmap__find(const struct hmap *h, uint64_t a, uint64_t b)
{
	const uint64_t key[2] = { a, b };
	struct hmap_slot *s = hashmap__find(&h->map, key);

	return s ? &s->v : NULL;
}

/* Sets key (a, b) to v, adding it when absent.  0 or -ENOMEM. */
int hmap__set(struct hmap *h, uint64_t a, uint64_t b, uint64_t v);

static inline size_t hmap__count(const struct hmap *h)
{
	return h->map.count;
}

static inline void hmap__free(struct hmap *h)
{
	hashmap__free(&h->map);
}

#endif
