/*
 * Unit tests of lib/: the hash map every table uses (insertion, removal in the
 * middle of a probe run, growth, iteration, keys of two words), the pair map
 * over it, the index table, and the string table.
 */
#include <stdio.h>
#include <string.h>

#include "lib/hashmap.h"
#include "lib/idxtab.h"
#include "lib/strtab.h"
#include "lib/text.h"
#include "tests/unit/unit.h"

struct two {
	uint64_t a, b;		/* the key */
	uint64_t v;
};

/* Keys inserted, half removed in an order that cuts probe runs, the rest still found. */
static void test_hashmap(void)
{
	struct hashmap h = HASHMAP_INIT(struct two, 16);
	const uint64_t n = 100000;
	size_t pos = 0, seen = 0;
	struct two *s;
	bool added;

	for (uint64_t i = 0; i < n; i++) {
		const uint64_t key[2] = { i * 4096, i & 3 };

		s = hashmap__insert(&h, key, &added);
		REQUIRE(s && added && s->v == 0);
		s->v = i;
	}
	CHECK(h.count == n);
	/* Inserting a key again finds it. */
	s = hashmap__insert(&h, (uint64_t[2]){ 4096 * 7, 3 }, &added);
	CHECK(s && !added && s->v == 7);
	for (uint64_t i = 0; i < n; i += 2) {
		s = hashmap__find(&h, (uint64_t[2]){ i * 4096, i & 3 });
		REQUIRE(s && s->v == i);
		hashmap__remove(&h, s);
	}
	CHECK(h.count == n / 2);
	for (uint64_t i = 0; i < n; i++) {
		s = hashmap__find(&h, (uint64_t[2]){ i * 4096, i & 3 });
		CHECK(i % 2 ? s && s->v == i : !s);
		/* The same first word with another second is another key. */
		CHECK(!hashmap__find(&h, (uint64_t[2]){ i * 4096, (i & 3) ^ 4 }));
	}
	while ((s = hashmap__next(&h, &pos)))
		seen += s->v % 2;
	CHECK(seen == n / 2);
	hashmap__clear(&h);
	CHECK(h.count == 0 && !hashmap__find(&h, (uint64_t[2]){ 4096, 1 }));
	hashmap__free(&h);
	CHECK(!hashmap__find(&h, (uint64_t[2]){ 0, 0 }));
}

static void test_hmap(void)
{
	struct hmap h = { 0 };

	CHECK(!hmap__find(&h, 0, 0));
	/* (0, 0) is a key like any other: emptiness is not told by a key value. */
	CHECK(hmap__set(&h, 0, 0, 5) == 0);
	CHECK(hmap__set(&h, UINT64_MAX, 1, 6) == 0);
	CHECK(hmap__set(&h, 0, 0, 7) == 0);
	CHECK(hmap__find(&h, 0, 0) && *hmap__find(&h, 0, 0) == 7);
	CHECK(hmap__find(&h, UINT64_MAX, 1) && *hmap__find(&h, UINT64_MAX, 1) == 6);
	CHECK(hmap__count(&h) == 2);
	hmap__free(&h);
}

/* The index table over an array of keys whose hashes share their low bits: long probe runs. */
static uint64_t idx_hash(const void *ctx, uint32_t idx)
{
	const uint64_t *keys = ctx;

	/* Only the tag bits and bit 0 differ. */
	return keys[idx] << 57 | (keys[idx] & 1);
}

static bool idx_eq(const void *ctx, uint32_t idx, const void *key)
{
	return ((const uint64_t *)ctx)[idx] == *(const uint64_t *)key;
}

static void idxtab_fill(bool dense)
{
	static uint64_t keys[5000];
	struct idxtab t = { .dense = dense };
	uint64_t k;

	CHECK(idxtab__find(&t, 0, idx_eq, keys, &(uint64_t){ 0 }) == IDXTAB_NONE);
	for (uint32_t i = 0; i < 5000; i++) {
		keys[i] = (uint64_t)i * 7 + 3;
		REQUIRE(idxtab__find(&t, idx_hash(keys, i), idx_eq, keys, &keys[i]) ==
			IDXTAB_NONE);
		REQUIRE(idxtab__insert(&t, idx_hash(keys, i), i, idx_hash, keys) == 0);
	}
	CHECK(t.count == 5000);
	for (uint32_t i = 0; i < 5000; i++)
		CHECK(idxtab__find(&t, idx_hash(keys, i), idx_eq, keys, &keys[i]) == i);
	k = 5000 * 7 + 3;
	CHECK(idxtab__find(&t, k << 57 | (k & 1), idx_eq, keys, &k) == IDXTAB_NONE);
	CHECK(idxtab__bytes(&t) >= 5000 * 5);
	idxtab__clear(&t);
	CHECK(t.count == 0 && idxtab__find(&t, idx_hash(keys, 1), idx_eq, keys, &keys[1]) ==
				     IDXTAB_NONE);
	idxtab__free(&t);
	CHECK(idxtab__bytes(&t) == 0);
}

/* Growing rehashes in the order of the slots, or of the indices of a dense table. */
static void test_idxtab(void)
{
	idxtab_fill(false);
	idxtab_fill(true);
}

static void test_strtab(void)
{
	struct strtab *t = strtab__new();
	char buf[32];
	uint32_t id;

	REQUIRE(t);
	for (int i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "name %d", i);
		CHECK(strtab__intern(t, buf) == i);
	}
	CHECK(strtab__intern(t, "name 123") == 123);
	CHECK(!strcmp(strtab__str(t, 19999), "name 19999"));
	CHECK(!strcmp(strtab__str(t, 20000), ""));
	CHECK(strtab__count(t) == 20000);
	CHECK(strtab__intern(t, "") == 20000);
	CHECK(strtab__intern_id(t, "a\tb\x1b[0m", &id) == 0);
	CHECK(strtab__printable(t, &id) == 0 && !strcmp(strtab__str(t, id), "a?b?[0m"));
	strtab__delete(t);
}

static void test_text(void)
{
	char buf[64], s[] = "ok\nno\x7f";

	CHECK(!strcmp(make_printable(s), "ok?no?"));
	CHECK(utf8_len((const unsigned char *)"\xc3\xa9") == 2);
	CHECK(utf8_len((const unsigned char *)"\xc3") == 0);
	CHECK(utf8_len((const unsigned char *)"\xed\xa0\x80") == 0);	/* a surrogate */
	CHECK(!strcmp(hex_str((const uint8_t *)"\x01\xab\xff", 3, buf), "01abff"));
}

const struct unit_test lib_tests[] = {
	{ "lib_hashmap", test_hashmap },
	{ "lib_hmap", test_hmap },
	{ "lib_idxtab", test_idxtab },
	{ "lib_strtab", test_strtab },
	{ "lib_text", test_text },
	{},
};
