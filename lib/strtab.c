/*
 * The string table (lib/strtab.h): the strings back to back in one buffer,
 * found by their hash in the hash map, with a chain per hash for the
 * strings (never seen yet) that would share one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/hashmap.h"
#include "lib/strtab.h"
#include "lib/text.h"

#define NO_ID UINT32_MAX

struct str_slot {
	uint64_t hash;		/* the key */
	uint32_t id;		/* the first string with this hash */
	uint32_t pad;
};

struct strtab {
	char *chars;		/* every string, NUL-terminated, back to back */
	size_t len, cap;
	size_t *offs;		/* id -> offset in chars */
	uint32_t *next;		/* id -> the next string with its hash, NO_ID */
	size_t nr, offs_cap, next_cap;
	struct hashmap index;	/* hash -> first id */
};

struct strtab *strtab__new(void)
{
	struct strtab *t = calloc(1, sizeof(*t));

	if (t)
		t->index = HASHMAP_INIT(struct str_slot, 8);
	return t;
}

void strtab__delete(struct strtab *t)
{
	if (!t)
		return;
	free(t->chars);
	free(t->offs);
	free(t->next);
	hashmap__free(&t->index);
	free(t);
}

/* FNV-1a: the map mixes the result further. */
static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

int strtab__intern(struct strtab *t, const char *s)
{
	uint64_t hash = str_hash(s);
	size_t len = strlen(s) + 1;
	struct str_slot *slot;
	uint32_t id;
	bool added;
	int err;

	slot = hashmap__find(&t->index, &hash);
	for (id = slot ? slot->id : NO_ID; id != NO_ID; id = t->next[id])
		if (!strcmp(t->chars + t->offs[id], s))
			return (int)id;
	if (t->nr >= INT32_MAX)
		return -ENOMEM;
	err = ARRAY_RESERVE(t->chars, t->cap, t->len + len);
	if (!err)
		err = ARRAY_RESERVE(t->offs, t->offs_cap, t->nr + 1);
	if (!err)
		err = ARRAY_RESERVE(t->next, t->next_cap, t->nr + 1);
	if (err)
		return err;
	slot = hashmap__insert(&t->index, &hash, &added);
	if (!slot)
		return -ENOMEM;
	id = (uint32_t)t->nr++;
	memcpy(t->chars + t->len, s, len);
	t->offs[id] = t->len;
	t->len += len;
	t->next[id] = added ? NO_ID : slot->id;
	slot->id = id;
	return (int)id;
}

int strtab__intern_id(struct strtab *t, const char *s, uint32_t *id)
{
	int v = strtab__intern(t, s);

	if (v < 0)
		return v;
	*id = (uint32_t)v;
	return 0;
}

const char *strtab__str(const struct strtab *t, uint32_t id)
{
	return id < t->nr ? t->chars + t->offs[id] : "";
}

size_t strtab__len(const struct strtab *t, uint32_t id)
{
	if (id >= t->nr)
		return 0;
	/* Back to back, each with its NUL. */
	return (id + 1 < t->nr ? t->offs[id + 1] : t->len) - t->offs[id] - 1;
}

size_t strtab__count(const struct strtab *t)
{
	return t->nr;
}

int strtab__printable(struct strtab *t, uint32_t *id)
{
	const char *s = strtab__str(t, *id);
	char *copy;
	int err;

	if (!has_unprintable(s))
		return 0;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	err = strtab__intern_id(t, make_printable(copy), id);
	free(copy);
	return err;
}
