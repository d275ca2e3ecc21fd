/*
 * What the parts of `memprof report` share: the view being printed, the
 * output formats' entry points, and a small open addressing hash map used for
 * the lookup tables (pid to process, stack id to stack, child by name, symbol
 * cache).  The map lives here, inline, because every report module needs one
 * and none of them owns it.
 */
#ifndef MEMPROF_REPORT_REPORT_H
#define MEMPROF_REPORT_REPORT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct strtab;
struct tree;

enum report_show {
	REPORT_SHOW_LIVE,	/* bytes still allocated at the end of the trace */
	REPORT_SHOW_ALLOC,	/* bytes allocated during the trace */
	REPORT_SHOW_COUNT,	/* the number of allocations during the trace (tree, folded) */
	REPORT_SHOW_LEAKS,	/* heap blocks never freed, bytes and blocks (tree, folded) */
	REPORT_SHOW_PEAK,	/* bytes live when the live total was highest (tree, folded) */
	REPORT_SHOW_TEMPORARY,	/* heap blocks freed before the next allocation (tree, folded) */
};

/* One event type's section of the report, as output-tree prints its header. */
struct report_section {
	const char *event;		/* "page", "heap" */
	enum report_show show;
	bool reverse;			/* allocation sites first */
	uint64_t total;			/* bytes (--show=count: allocations), the top level's sum */
	uint64_t allocations;		/* allocation events behind total */
	uint64_t cache_total;		/* --format=json: page cache bytes, apart from total */
	uint64_t threshold_kib;		/* 0: no folding */
	/*
	 * Or NULL: a tree built from the same paths in the same order as the
	 * one printed, so with the same node numbers, holding a count per
	 * node (--show=leaks: blocks, temporary: allocations).  [other]
	 * nodes are not in it.
	 */
	const struct tree *counts;
	uint64_t peak_ns;		/* --show=peak: when, from the trace's start */
};

/* ---- hash map: a pair of u64 to a u64 ---- */

/* A slot is free when its key's first half is HMAP_FREE, so keys never use that value. */
#define HMAP_FREE UINT64_MAX

struct hmap_slot {
	uint64_t a, b;
	uint64_t v;
};

struct hmap {
	struct hmap_slot *slots;
	size_t mask;		/* slots - 1; slots is a power of two */
	size_t count;
};

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

/* The value of key (a, b), NULL when absent.  The pointer lasts until the next insert. */
static inline uint64_t *hmap__find(const struct hmap *h, uint64_t a, uint64_t b)
{
	size_t i;

	if (!h->slots)
		return NULL;
	for (i = hash_pair(a, b) & h->mask;; i = (i + 1) & h->mask) {
		struct hmap_slot *s = &h->slots[i];

		if (s->a == HMAP_FREE)
			return NULL;
		if (s->a == a && s->b == b)
			return &s->v;
	}
}

static inline int hmap__grow(struct hmap *h)
{
	size_t n = h->slots ? (h->mask + 1) * 2 : 64;
	struct hmap_slot *slots = malloc(n * sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		slots[i].a = HMAP_FREE;
	if (h->slots) {
		for (size_t i = 0; i <= h->mask; i++) {
			struct hmap_slot *s = &h->slots[i];
			size_t j;

			if (s->a == HMAP_FREE)
				continue;
			for (j = hash_pair(s->a, s->b) & (n - 1); slots[j].a != HMAP_FREE;
			     j = (j + 1) & (n - 1))
				;
			slots[j] = *s;
		}
		free(h->slots);
	}
	h->slots = slots;
	h->mask = n - 1;
	return 0;
}

/* Sets key (a, b) to v, adding it when absent.  0 or -ENOMEM. */
static inline int hmap__set(struct hmap *h, uint64_t a, uint64_t b, uint64_t v)
{
	uint64_t *p = hmap__find(h, a, b);
	size_t i;

	if (p) {
		*p = v;
		return 0;
	}
	/* Linear probing stays fast up to about half full. */
	if (!h->slots || (h->count + 1) * 2 > h->mask + 1) {
		int err = hmap__grow(h);

		if (err)
			return err;
	}
	for (i = hash_pair(a, b) & h->mask; h->slots[i].a != HMAP_FREE; i = (i + 1) & h->mask)
		;
	h->slots[i] = (struct hmap_slot){ .a = a, .b = b, .v = v };
	h->count++;
	return 0;
}

static inline void hmap__free(struct hmap *h)
{
	free(h->slots);
	*h = (struct hmap){ 0 };
}

/* Grows *p (of *cap elements of size) to hold at least n; 0 or -ENOMEM. */
static inline int array__reserve(void **p, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *q;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

/* Through a void * temporary, so that no pointer is written through a differently typed lvalue. */
#define ARRAY_RESERVE(p, cap, n)                                                              \
	({                                                                                    \
		void *q_ = (p);                                                               \
		int err_ = array__reserve(&q_, &(cap), (n), sizeof(*(p)));                    \
		(p) = q_;                                                                     \
		err_;                                                                         \
	})

/* ---- what the formats print ---- */

/* What a tree name stands for, for the formats that say it (json). */
enum report_category {
	REPORT_CAT_UNKNOWN,	/* [unknown], [incomplete], or a frame no file names */
	REPORT_CAT_PROCESS,	/* the process node */
	REPORT_CAT_EXECUTABLE,	/* a function in a file that is not a shared object */
	REPORT_CAT_LIBRARY,	/* a function in a shared object (NAME.so, NAME.so.N) */
	REPORT_CAT_KERNEL,	/* [kernel] */
	REPORT_CAT_OTHER,	/* [other]: folded siblings */
};

/* Where a name of the tree came from: the first frame seen with it. */
struct report_frame {
	uint32_t executable;	/* strtab id of the file's basename, UINT32_MAX: none */
	uint64_t offset;	/* the frame's offset in that file, else its address */
	enum report_category category;
};

/* Frames by tree name id; built only for the formats that need it. */
struct report_frames {
	struct hmap by_name;	/* (name, 0) -> index in v */
	struct report_frame *v;
	size_t nr, cap;
};

/* "live memory at the end of the trace", ...: what a view shows, for titles. */
const char *report_show_title(enum report_show show);
/* "live", "alloc", "count", "leaks", "peak", "temporary": as --show takes them. */
const char *report_show_name(enum report_show show);
/*
 * --show=leaks and temporary: the count (blocks, allocations) of node child
 * of parent, whose count is parent_count; an [other] node has none of its
 * own in sec->counts and holds what its shown siblings do not.
 */
uint64_t report_child_count(const struct tree *t, const struct report_section *sec,
			    uint32_t parent, uint64_t parent_count, uint32_t child);

/* All return 0 or -errno (a write error on f). */
int output_tree__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec);
int output_folded__print(FILE *f, const struct tree *t, const struct strtab *names);
/* One JSON object per section; first/last: the first and last of an array. */
int output_json__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec, const struct report_frames *frames,
		       bool first, bool last);
int output_svg__print(FILE *f, const struct tree *t, const struct strtab *names,
		      const struct report_section *sec);
/*
 * A gzipped pprof profile.proto of one event type, from the model's sites
 * rather than the tree: one sample per site, live and allocated values both.
 */
struct model;
struct symbolizer;
int output_pprof__print(FILE *f, struct model *m, struct symbolizer *sym, struct strtab *names,
			unsigned int ev, enum report_show show);

/* --stat: what to show of which processes. */
struct report_stat_opts {
	uint64_t start_time, end_time;	/* the trace's, ns */
	unsigned int events;		/* 1 << event type, for the types recorded */
	const uint32_t *pids;		/* --pid */
	size_t npids;
	const char *comm;		/* --comm */
};
int output_stat__print(FILE *f, const struct model *m, const struct report_stat_opts *o);

/*
 * --timeline: the live totals of each event type in events over time, as
 * rows of a table (at most rows of them), and as an SVG line chart.
 */
struct model_point;
int output_timeline__print(FILE *f, const struct model_point *pts, size_t n, unsigned int events,
			   uint64_t start, const uint64_t *peak_time, const uint64_t *peak_bytes,
			   unsigned int rows);
int output_timeline__svg(FILE *f, const struct model_point *pts, size_t n, unsigned int events,
			 uint64_t start, const uint64_t *peak_time, const uint64_t *peak_bytes,
			 const char *title);

#endif
