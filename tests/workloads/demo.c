/*
 * demo: a toy request server for `make demo`, with the kind of memory bugs
 * memprof is for.  It serves 20000 fake requests:
 *  - each request is parsed into a temporary buffer that is freed (churn, no leak);
 *  - responses are cached in a hash table of 400 keys; replacing an entry whose
 *    key collides forgets to free the old one, so about one request in four
 *    leaks an entry (about 1.9 MB under cache_put -> entry_new);
 *  - an index of request ids is built in a bump arena of fresh anonymous
 *    memory, one record per 2 KiB, so about 39 MiB of physical pages show up
 *    under index_add (page events);
 *  - a log buffer grows by realloc and is kept.
 * It runs in well under a second and prints a one-line summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))

#define CACHE_SLOTS 2048
#define NREQUESTS 20000

struct entry {
	char key[32];
	size_t len;
	char *body;
};

struct arena {
	char *base;
	size_t size;
	size_t used;
};

static struct entry *cache[CACHE_SLOTS];
static struct arena index_arena;
static char *log_buf;
static size_t log_len, log_cap;
static unsigned long checksum;

NOINLINE struct entry *entry_new(const char *key, size_t len)
{
	struct entry *e = malloc(sizeof(*e));

	snprintf(e->key, sizeof(e->key), "%s", key);
	e->len = len;
	e->body = malloc(len);
	memset(e->body, 'x', len);
	return e;
}

NOINLINE void entry_free(struct entry *e)
{
	free(e->body);
	free(e);
}

static unsigned int hash(const char *s)
{
	unsigned int h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

NOINLINE void cache_put(const char *key, size_t len)
{
	unsigned int slot = hash(key) % CACHE_SLOTS;
	struct entry *old = cache[slot];

	if (old && !strcmp(old->key, key))
		return;
	/* The bug: a colliding entry is dropped without entry_free(old). */
	cache[slot] = entry_new(key, len);
}

NOINLINE char *parse_request(unsigned int id)
{
	char *buf = malloc(256 + id % 1024);

	snprintf(buf, 256, "GET /item/%u HTTP/1.1", id % 400);
	return buf;
}

NOINLINE void log_line(const char *line)
{
	size_t n = strlen(line) + 1;

	if (log_len + n > log_cap) {
		log_cap = log_cap ? log_cap * 2 : 4096;
		log_buf = realloc(log_buf, log_cap);
	}
	memcpy(log_buf + log_len, line, n);
	log_len += n;
}

NOINLINE void arena_init(struct arena *a, size_t size)
{
	a->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->base == MAP_FAILED)
		abort();
	madvise(a->base, size, MADV_NOHUGEPAGE);
	a->size = size;
	a->used = 0;
}

/* Index records are spread out (one per 2 KiB) to make the page figures visible. */
NOINLINE void index_add(unsigned int id)
{
	struct arena *a = &index_arena;
	volatile unsigned int *rec;

	if (a->used + 2048 > a->size)
		return;
	rec = (volatile unsigned int *)(a->base + a->used);
	a->used += 2048;
	rec[0] = id;
}

NOINLINE void handle_request(unsigned int id)
{
	char *req = parse_request(id);
	char key[32];

	snprintf(key, sizeof(key), "%s", req + 10);
	cache_put(key, 100 + id % 400);
	index_add(id);
	if (id % 100 == 0)
		log_line(req);
	checksum += hash(req);
	free(req);
}

NOINLINE void serve(void)
{
	for (unsigned int id = 0; id < NREQUESTS; id++)
		handle_request(id);
}

int main(void)
{
	arena_init(&index_arena, 64UL << 20);
	serve();
	printf("demo: served %d requests, checksum %lu\n", NREQUESTS, checksum);
	return 0;
}
