/* The hash map (lib/hashmap.h): growing, removal and iteration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hashmap.h"

/* Linear probing stays fast below this load: 7 slots in 10. */
#define LOAD_NUM 7
#define LOAD_DEN 10
#define CAPACITY_MIN 64

/*
 * The hash of n 64-bit words.  Most keys are two words (an address or an id
 * and a small number beside it): those cost one finaliser, the second word
 * spread by an odd multiplier before it is mixed into the first.
 */
static inline uint64_t hash_words(const uint64_t *w, size_t n)
{
	uint64_t h;

	if (n == 2)
		return hash_u64(w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL));
	h = hash_u64(w[0]);
	for (size_t i = 1; i < n; i++)
		h = hash_pair(h, w[i]);
	return h;
}

static inline bool key_eq(const struct hashmap *h, const void *slot, const void *key)
{
	const uint64_t *a = slot, *b = key;

	if (h->key_words == 2)
		return a[0] == b[0] && a[1] == b[1];
	for (uint32_t i = 0; i < h->key_words; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* 0 marks an empty slot: a full one has the top bit and seven bits of its hash. */
static uint8_t tag(uint64_t hash)
{
	return 0x80 | (uint8_t)(hash >> 57);
}

/* The slot of key, whose hash is hash; NULL when absent. */
static void *find_hashed(const struct hashmap *h, const void *key, uint64_t hash)
{
	uint8_t t = tag(hash);

	for (size_t i = hash & h->mask;; i = (i + 1) & h->mask) {
		uint8_t *slot;

		if (!h->ctrl[i])
			return NULL;
		slot = h->slots + i * h->slot_size;
		if (h->ctrl[i] == t && key_eq(h, slot, key))
			return slot;
	}
}

void *hashmap__find(const struct hashmap *h, const void *key)
{
	if (!h->ctrl)
		return NULL;
	return find_hashed(h, key, hash_words(key, h->key_words));
}

static size_t home(const struct hashmap *h, const uint8_t *slot)
{
	return hash_words((const uint64_t *)slot, h->key_words) & h->mask;
}

static int hashmap__grow(struct hashmap *h)
{
	size_t cap = h->ctrl ? (h->mask + 1) * 2 : CAPACITY_MIN, old_cap = h->ctrl ? h->mask + 1 : 0;
	uint8_t *ctrl, *slots, *old_ctrl = h->ctrl, *old_slots = h->slots;

	if (cap > SIZE_MAX / h->slot_size)
		return -ENOMEM;
	ctrl = calloc(cap, 1);
	slots = malloc(cap * h->slot_size);
	if (!ctrl || !slots) {
		free(ctrl);
		free(slots);
		return -ENOMEM;
	}
	h->ctrl = ctrl;
	h->slots = slots;
	h->mask = cap - 1;
	for (size_t i = 0; i < old_cap; i++) {
		const uint8_t *s = old_slots + i * h->slot_size;
		size_t j;

		if (!old_ctrl[i])
			continue;
		for (j = home(h, s); ctrl[j]; j = (j + 1) & h->mask)
			;
		ctrl[j] = old_ctrl[i];
		memcpy(slots + j * h->slot_size, s, h->slot_size);
	}
	free(old_ctrl);
	free(old_slots);
	return 0;
}

void *hashmap__insert(struct hashmap *h, const void *key, bool *added)
{
	/* Hashed once: the look-up and the insertion share it. */
	uint64_t hash = hash_words(key, h->key_words);
	uint8_t *slot = h->ctrl ? find_hashed(h, key, hash) : NULL;
	size_t i;

	*added = false;
	if (slot)
		return slot;
	if (!h->ctrl || (h->count + 1) * LOAD_DEN > (h->mask + 1) * LOAD_NUM) {
		if (hashmap__grow(h))
			return NULL;
	}
	for (i = hash & h->mask; h->ctrl[i]; i = (i + 1) & h->mask)
		;
	h->ctrl[i] = tag(hash);
	slot = h->slots + i * h->slot_size;
	memcpy(slot, key, h->key_words * 8);
	memset(slot + h->key_words * 8, 0, h->slot_size - h->key_words * 8);
	h->count++;
	*added = true;
	return slot;
}

void hashmap__remove(struct hashmap *h, void *slot)
{
	size_t i = (size_t)((uint8_t *)slot - h->slots) / h->slot_size, j = i;

	/* Each later slot of the run moves back into the hole unless its home lies in (i, j]. */
	for (;;) {
		size_t k;

		j = (j + 1) & h->mask;
		if (!h->ctrl[j])
			break;
		k = home(h, h->slots + j * h->slot_size);
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		h->ctrl[i] = h->ctrl[j];
		memcpy(h->slots + i * h->slot_size, h->slots + j * h->slot_size, h->slot_size);
		i = j;
	}
	h->ctrl[i] = 0;
	h->count--;
}

void hashmap__clear(struct hashmap *h)
{
	if (h->ctrl)
		memset(h->ctrl, 0, h->mask + 1);
	h->count = 0;
}

void hashmap__free(struct hashmap *h)
{
	free(h->ctrl);
	free(h->slots);
	h->ctrl = h->slots = NULL;
	h->mask = h->count = 0;
}

void *hashmap__next(const struct hashmap *h, size_t *pos)
{
	for (size_t i = *pos; h->ctrl && i <= h->mask; i++) {
		if (h->ctrl[i]) {
			*pos = i + 1;
			return h->slots + i * h->slot_size;
		}
	}
	return NULL;
}

int hmap__set(struct hmap *h, uint64_t a, uint64_t b, uint64_t v)
{
	const uint64_t key[2] = { a, b };
	struct hmap_slot *s;
	bool added;

	if (!h->map.slot_size)
		h->map = HASHMAP_INIT(struct hmap_slot, 16);
	s = hashmap__insert(&h->map, key, &added);
	if (!s)
		return -ENOMEM;
	s->v = v;
	return 0;
}
