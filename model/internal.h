/*
 * Inside the model (model/): its state, shared by the files that apply each
 * kind of record to it, and the functions they call in one another.  Nothing
 * outside model/ includes this; the model's interface is model/model.h.
 */
#ifndef MEMPROF_MODEL_INTERNAL_H
#define MEMPROF_MODEL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/array.h"
#include "lib/hashmap.h"
#include "lib/idxtab.h"
#include "model/model.h"

#define IMAGE_NONE UINT32_MAX
/* A cache line: what two threads write must not share one. */
#define MODEL_LINE 64
/* Fork chains deeper than this are cut: a guard against pid reuse making a cycle. */
#define FORK_DEPTH_MAX 64
/*
 * The largest page order a kernel allocates: MAX_PAGE_ORDER is 10 on x86 and
 * at most 13 (arm64 with 64 KiB pages).  A larger order is not a real
 * allocation, and the model keeps a slot per page, so such records are
 * ignored and counted rather than given 2^order slots each.
 */
#define PAGE_ORDER_MAX 13
/* A heap block larger than this cannot exist (malloc refuses above PTRDIFF_MAX). */
#define HEAP_SIZE_MAX ((uint64_t)INT64_MAX)
/*
 * What all views together may materialize, in map entries, temporaries
 * included, besides VIEW_ENTRIES_PER_MAP per MAP record.  A view copies what
 * its image inherits, so a trace forking an image of many maps many times
 * would otherwise ask for entries (and time) quadratic in its size; real
 * traces stay far below.
 */
#define VIEW_ENTRIES_BASE (1ull << 23)
#define VIEW_ENTRIES_PER_MAP 16
/* mremap(2)'s flag: the old range is left mapped (Linux 5.7). */
#define MREMAP_DONTUNMAP 4
/* In page_slot.site: the page itself is freed, the slot only counts for its allocation. */
#define PAGE_GONE 0x80000000u
/* __GFP_MOVABLE: the target's own pages (anonymous, page cache); kernel ones lack it. */
#define GFP_MOVABLE 0x08u

struct image {
	uint32_t pid;
	uint32_t parent;	/* the image it was forked from, IMAGE_NONE */
	size_t parent_maps;	/* how many of the parent's maps existed at the fork */
	bool exited;
	bool comm_from_leader;	/* comm came from the main thread or an exec */
	uint64_t exit_time;
	struct model_proc proc;	/* what --stat shows */
	/* -e mmap: the ranges its calls mapped and did not unmap, sorted by start. */
	struct vm_range *vm;
	size_t nvm, vm_cap;
	char comm[MPF_COMM_LEN];
	/*
	 * The name before the main thread's last rename: an exec renames the
	 * task to the new program's name just before its EXEC record, and that
	 * rename is not the old image's (process.c, model__on_exec).
	 */
	char comm_before[MPF_COMM_LEN];
	bool renamed;		/* comm_before holds the name before the last rename */
	struct model_map *maps;	/* in record order: a later map hides what it overlaps */
	size_t nmaps, maps_cap;
	/* Sorted, non-overlapping, inherited maps included; built on first lookup. */
	struct model_map *view;
	size_t nview;
	bool view_built;
	bool view_owned;	/* else it is an ancestor's view */
	bool view_refused;	/* past the views' budget: its addresses stay unmapped */
	/* Its own live totals and their timeline (report --timeline --per-process). */
	uint64_t live[MPF_EV__MAX];
	bool dirty;		/* changed since the last point */
	bool rss_in_total;	/* its live[MPF_EV_RSS] is in the model's RSS total */
	struct model_point *series;
	size_t nseries, series_cap;
};

struct vm_range {
	uint64_t start, end;
	uint32_t site;
};

/*
 * The tree of call stacks, a node per stack: the stack whose innermost frame
 * is a frame, called from the stack of its parent node (a root,
 * MODEL_STACK_EMPTY or MODEL_STACK_TRUNCATED, above the outermost frame).  A
 * child's index is above its parent's.  A trace writes a stack's new nodes
 * in a row, each the parent of the next, and a trace of millions of distinct
 * stacks has over a hundred million nodes; so a node is its frame (two
 * bytes while there are fewer than 65,535 frames, else four) and a bit: set
 * for a head, a node whose parent is not the node before it, whose parent
 * and depth are kept in heads[] (by the rank of its bit).  Any other node's
 * parent is the node before it, its depth one more.  Depths are at most
 * MPF_STACK_MAX, so a node's head is at most that many bits before it.
 */
struct node_head {
	uint32_t parent;
	uint32_t depth;
};

struct head_word {
	uint64_t bits;
	uint32_t rank;
	uint32_t pad;
};

struct node_store {
	uint16_t *frame16;	/* while every frame index is below UINT16_MAX */
	uint32_t *frame32;	/* after: frame16 is freed */
	size_t frames_cap;
	/*
	 * A bit per node, 64 in a word, beside the number of heads before the
	 * word: finding a node's heads[] entry costs one cache miss, not two.
	 */
	struct head_word *head_words;
	size_t words_cap;
	struct node_head *heads;
	size_t nheads, heads_cap;
};

/* Stack ids id .. id + n - 1 of STACK_NODE records, in a row, are nodes node .. node + n - 1. */
struct id_run {
	uint32_t id, node, n;
};

/* A live heap block, keyed by (ptr, image); the image is that of its site. */
struct heap_slot {
	uint64_t ptr;		/* the key: ptr and image */
	uint32_t image, pad;
	uint64_t size;		/* bytes, or with --heap-sample the bytes the sample stands for */
	uint32_t site;
	uint32_t nr;		/* the allocations it stands for: 1, more when sampled */
};

/*
 * A live page, keyed by its page id.  Every page of an allocation has a
 * slot, because a free may cover part of an allocation (a split huge page)
 * or pages of several; the head's slot also counts the allocation's pages
 * still live, so that live allocations can be counted.
 */
struct page_slot {
	uint64_t page;		/* the key */
	uint64_t head;		/* the allocation's first page id */
	uint32_t site;
	uint32_t pages;		/* in the head's slot: pages of the allocation still live */
};

/* A table of live pages: the targets' own (page events) or the page cache pages they added. */
struct page_table {
	struct hashmap map;	/* of struct page_slot */
	unsigned int ev;	/* MPF_EV_PAGE or MPF_EV_CACHE: whose sites the slots name */
};

/* A site by its stack: the first site made for that stack node. */
struct site_by_stack {
	uint32_t stack, site;
};

/*
 * Sites are found by stack first: a trace defines each stack just before
 * the first event that uses it, so the first site of each new stack comes
 * in increasing stack order and goes on the end of a sorted array (no
 * bytes of its own while every site is such a first one, else 8 bytes a
 * site; no hashing, no cache miss); found by a binary search later.  The
 * others (a stack's site of another thread or process, an old stack's first
 * site once a newer one has one) go to the index table.
 */
/*
 * A site as the model keeps it: who and where (16 bytes), and its counts in
 * 32 bits, until one would leave them (4 GiB allocated at one site, a count
 * past 4 G): then all of the site's counts move to 64-bit ones in
 * site_table.wide.  model__site() gives either as a struct model_site (80
 * bytes).  Which counts a table keeps depends on the views that will read
 * them (model__set_site_counts()): all (48 bytes a site), the allocated and
 * live ones (32), or, for heap sites, none (16): what is live at a site is
 * then summed from the blocks live when it is read (model__count_live_sites()).
 */
enum site_count {
	SITE_ALLOC_BYTES, SITE_ALLOC_NR, SITE_LIVE_BYTES, SITE_LIVE_NR,
	SITE_TMP_BYTES, SITE_TMP_NR, SITE_PEAK_BYTES, SITE_PEAK_NR,
	SITE__MAX,
};
/* Counts below this are in site_table.basic, the others in site_table.more. */
#define SITE_BASIC SITE_TMP_BYTES
#define SITE_KERNEL 0x80000000u		/* in site_rec.wide: struct model_site's kernel */
#define SITE_WIDE_MASK 0x7fffffffu	/* 1 + the index in site_table.wide, 0: narrow */

struct site_rec {
	uint32_t image, tid, stack;
	uint32_t wide;
};

/* MODEL_COUNTS_LIVE: a site's live bytes and blocks, summed from its live blocks. */
struct site_live {
	uint64_t site;		/* the key */
	uint64_t bytes, nr;
};

struct site_table {
	struct site_rec *v;
	size_t nr, cap;
	enum model_site_counts counts;
	/* Each site's counts below SITE_BASIC, and from it on: NULL when not kept. */
	uint32_t (*basic)[SITE_BASIC];
	uint32_t (*more)[SITE__MAX - SITE_BASIC];
	size_t basic_cap, more_cap;
	/* MODEL_COUNTS_LIVE: a bit per site with live blocks, and their struct site_live. */
	uint64_t *live_bits;
	struct hashmap live;
	uint64_t (*wide)[SITE__MAX];
	size_t nwide, wide_cap;
	/*
	 * The sorted array: its first nimplicit entries are sites 0 ..
	 * nimplicit - 1 themselves, made in a row each with a stack above the
	 * one before (all of them, in a trace that defines each stack before
	 * its first event), read from v without a copy; sorted holds the rest.
	 */
	size_t nimplicit;
	struct site_by_stack *sorted;	/* stacks strictly increasing, above the implicit ones */
	size_t nsorted, sorted_cap;
	struct idxtab index;	/* (image, tid, stack, kernel) -> site, the key read from v */
};

struct model {
	uint32_t page_size;

	struct image *images;
	size_t nimages, images_cap;
	struct hmap pids;	/* (pid, 0) -> its current image */
	uint32_t last_pid, last_image;	/* events come in runs of one process */
	bool views_built;
	uint64_t view_entries;	/* map entries views have materialized, temporaries included */

	struct model_file *files;
	size_t nfiles, files_cap;
	struct hmap file_ids;	/* (id, 0) -> index */

	/* stacks.c: the tree of call stacks, and the frames it is made of */
	struct node_store nodes;
	size_t nnodes;
	struct idxtab node_index;	/* (parent, frame) -> node, of the stacks the model made */
	uint64_t *frame_ips;
	uint8_t *frame_flags;		/* MPF_FRAME_EXACT */
	size_t nframes, frames_cap, frame_flags_cap;
	struct idxtab frame_index;	/* (ip, flags) -> frame */
	uint32_t *frame_ids;		/* FRAME record id -> frame + 1 (0: not defined) */
	size_t nframe_ids, frame_ids_cap;
	struct hmap frame_ids_far;	/* (id, 0) -> frame: ids past what frame_ids may grow to */
	struct id_run *runs;		/* the ids of STACK_NODE records, increasing */
	size_t nruns, runs_cap, run_hint;
	struct hmap stack_ids;		/* (id, 0) -> node: STACK, USTACK, node ids out of order */
	/*
	 * model__stage(): the stack table is the staging thread's until it sets
	 * this.  Here, with what that thread alone writes, not at the end, whose
	 * cache lines model__add() writes for every record.  staged_nrec: the
	 * records it saw, counted as nrec is; stage_until, its copy of
	 * stacks_until.  A cache line of their own (the model is allocated on
	 * one): the main thread reading a field beside staged_nrec for every
	 * record would take the line away from the writer each time.
	 */
	_Alignas(MODEL_LINE) bool unstaged;
	uint64_t staged_nrec, stage_until;

	/*
	 * The last USTACK read: the event that uses it comes next, and only
	 * that event says which process image it is to be unwound in.
	 */
	_Alignas(MODEL_LINE) model_unwind_fn unwind;
	void *unwind_ctx;
	model_event_fn on_event;
	void *on_event_ctx;
	struct mpf_ustack pending;
	uint8_t *pending_data;	/* MPF_USTACK_MAX bytes */
	uint64_t unwound[MPF_STACK_MAX];

	struct site_table sites[MPF_EV__MAX];

	struct hashmap heap;	/* of struct heap_slot */
	uint64_t heap_sample;	/* INFO heap-sample: the mean bytes between samples, 0: exact */
	struct hmap last_alloc;	/* (tid, 0) -> the ptr of its latest heap allocation, or 0 */
	bool alloc_cached;	/* the last allocating thread's is here, not in last_alloc: */
	uint32_t alloc_tid;
	uint64_t alloc_ptr;
	struct page_table pages, cache;
	uint64_t rss_total;		/* the sum of the live processes' latest RSS samples */
	uint64_t time;			/* of the last event record applied */
	bool applied;			/* an event record was */
	uint64_t now;			/* the time of the record being applied */
	uint32_t *dirty;		/* images changed since the last point */
	size_t ndirty, dirty_cap;
	struct model_point *points;	/* the timeline */
	size_t npoints;
	uint64_t point_step;		/* ns between points, doubled as they fill */

	struct model_histogram hist[MPF_EV__MAX];
	struct model_info *infos;
	size_t ninfos, infos_cap;
	struct hmap thread_names;	/* (tid, 0) -> index in thread_comms */
	char (*thread_comms)[MPF_COMM_LEN];
	size_t nthread_comms, thread_comms_cap;
	struct model_filtered filtered_in;
	uint64_t last_time;		/* of the last record */

	struct model_stats stats;
	uint64_t nrec;				/* records given to model__add */
	uint64_t live_total[MPF_EV__MAX];	/* the sum of the sites' live_bytes */
	struct model_peak peak[MPF_EV__MAX];
	uint64_t stop[MPF_EV__MAX];		/* with bit ev of stops */
	unsigned int stops;
	/*
	 * Past this record every event type is stopped (model__stop_after()):
	 * no stack defined later is ever used, so none is built.
	 */
	uint64_t stacks_until;
	struct model_filter filter;
	bool filtered;
	bool nomem;		/* a site's counts could not widen: model__add fails */
	bool stacks_only;	/* model__set_stacks_only(): heap events make no sites */
	/* The record being applied was staged (model__stage()): its stack ids are nodes. */
	bool id_is_node;
};

/*
 * In mpf_record.staged: model__stage() took its part; -errno in bits 8 to 30
 * if that failed; MPF_STAGE_CONSUMED for a stack definition it took whole.
 */
#define MODEL_STAGED 1u
#define MODEL_STAGED_ERR(staged) (((staged) & ~MPF_STAGE_CONSUMED) >> 8)

/* ---- across model/ ---- */

/* Live bytes of type ev come to or leave image img: its total and the model's move. */
void live__mark(struct model *m, uint32_t img);
static inline void live__add(struct model *m, unsigned int ev, uint32_t img, uint64_t bytes)
{
	m->live_total[ev] += bytes;
	m->images[img].live[ev] += bytes;
	if (!m->images[img].dirty)
		live__mark(m, img);
}

static inline void live__sub(struct model *m, unsigned int ev, uint32_t img, uint64_t bytes)
{
	m->live_total[ev] -= bytes;
	m->images[img].live[ev] -= bytes;
	if (!m->images[img].dirty)
		live__mark(m, img);
}

/* process.c: process images, their names, forks, execs, exits, maps; RSS samples */
int image__new(struct model *m, uint32_t pid, uint32_t *idx);
int image_of(struct model *m, uint32_t pid, uint32_t *idx);
int model__on_comm(struct model *m, const struct mpf_comm *c);
int model__on_fork(struct model *m, const struct mpf_fork *f);
int model__on_exec(struct model *m, const struct mpf_exec *e);
int model__on_exit(struct model *m, const struct mpf_record *rec);
int model__on_map(struct model *m, const struct mpf_map *map);
int model__on_rss(struct model *m, const struct mpf_rss *r);

/* maps.c: each image's sorted view of its maps, built on the first lookup */
void model__drop_views(struct model *m);

/* stacks.c: files, stacks and the stacks record -g dwarf copied */
int model__on_file(struct model *m, const struct mpf_file *f);
int model__on_stack(struct model *m, const struct mpf_stack *s);
int model__on_ustack(struct model *m, const struct mpf_ustack *u);
int model__on_frame(struct model *m, const struct mpf_frame *f);
int model__on_stack_node(struct model *m, const struct mpf_stack_node *n);
/* The node of stack id in img: model__stack_of(), or id itself in a record staged. */
uint32_t model__stack_node(struct model *m, uint32_t img, uint32_t id);
/* A node's head: the nearest node at or before it whose bit is set. */
static inline uint32_t node__head(const struct node_store *ns, uint32_t n)
{
	size_t w = n >> 6;
	uint64_t bits = ns->head_words[w].bits & (~0ull >> (63 - (n & 63)));

	while (!bits)
		bits = ns->head_words[--w].bits;
	return (uint32_t)(w * 64 + 63 - (unsigned int)__builtin_clzll(bits));
}

/*
 * The bits set in x, inline: built for any x86-64, __builtin_popcountll() is
 * a call into libgcc's table loop, a percent and a half of building a model.
 */
static inline uint32_t bits_set(uint64_t x)
{
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (uint32_t)((x * 0x0101010101010101ull) >> 56);
}

/* The heads[] entry of head node h. */
static inline const struct node_head *node__head_of(const struct node_store *ns, uint32_t h)
{
	const struct head_word *hw = &ns->head_words[h >> 6];
	uint64_t below = hw->bits & ((1ull << (h & 63)) - 1);

	return &ns->heads[hw->rank + bits_set(below)];
}

static inline uint32_t node__parent(const struct model *m, uint32_t n)
{
	const struct node_store *ns = &m->nodes;

	if (!(ns->head_words[n >> 6].bits >> (n & 63) & 1))
		return n - 1;
	return node__head_of(ns, n)->parent;
}

static inline uint32_t node__depth(const struct model *m, uint32_t n)
{
	uint32_t h = node__head(&m->nodes, n);

	return node__head_of(&m->nodes, h)->depth + (n - h);
}

/* A root's frame is MODEL_FRAME_NONE. */
static inline uint32_t node__frame(const struct model *m, uint32_t n)
{
	if (n <= MODEL_STACK_TRUNCATED)
		return MODEL_FRAME_NONE;
	return m->nodes.frame32 ? m->nodes.frame32[n] : m->nodes.frame16[n];
}

/* The roots of the stack tree, at model__new. */
int stacks__init(struct model *m);
void stacks__free(struct model *m);

/* sites.c: allocation sites */
int site_of(struct model *m, unsigned int ev, uint32_t img, uint32_t tid, uint32_t stack,
	    bool kernel, uint32_t *idx);
/* The site of an event of type ev by pid, tid with stack_id: the image in *img, the site in *si. */
int site_for(struct model *m, unsigned int ev, uint32_t pid, uint32_t tid, uint32_t stack_id,
	     bool kernel, uint32_t *img, uint32_t *si);
/* Moves site si's counts to 64 bits; false (and m->nomem) when out of memory. */
bool site__widen(struct model *m, struct site_table *t, uint32_t si);

/*
 * The counts' accessors, inlined at every call: k is a constant there, and
 * which array holds it (or none, which makes the call nothing) is decided
 * when compiling.  Left to itself gcc makes an out-of-line copy of site__add().
 */
#define SITE_INLINE inline __attribute__((always_inline))

/* Where narrow count k of site si is kept: NULL when the table keeps no such count. */
static SITE_INLINE uint32_t *site__narrow(const struct site_table *t, uint32_t si,
					  enum site_count k)
{
	if (k < SITE_BASIC)
		return t->basic ? &t->basic[si][k] : NULL;
	return t->more ? &t->more[si][k - SITE_BASIC] : NULL;
}

/* Count k of site si where the table keeps no such count: summed, or 0. */
uint64_t site__summed(const struct site_table *t, uint32_t si, enum site_count k);
/* MODEL_COUNTS_LIVE, once summed: whether site si has live blocks. */
static inline bool site__summed_live(const struct site_table *t, uint32_t si)
{
	return t->live_bits && t->live_bits[si / 64] >> (si % 64) & 1;
}

static SITE_INLINE uint64_t site__get(const struct site_table *t, uint32_t si, enum site_count k)
{
	uint32_t w = t->v[si].wide & SITE_WIDE_MASK;
	const uint32_t *c;

	if (w)
		return t->wide[w - 1][k];
	c = site__narrow(t, si, k);
	return c ? *c : site__summed(t, si, k);
}

static inline void site__set(struct model *m, unsigned int ev, uint32_t si, enum site_count k,
			     uint64_t v)
{
	struct site_table *t = &m->sites[ev];
	uint32_t w = t->v[si].wide & SITE_WIDE_MASK;
	uint32_t *c = site__narrow(t, si, k);

	if (!c)
		return;
	if (!w && v <= UINT32_MAX) {
		*c = (uint32_t)v;
		return;
	}
	if (!w && !site__widen(m, t, si))
		return;
	t->wide[(t->v[si].wide & SITE_WIDE_MASK) - 1][k] = v;
}

/* Count k of site si plus d, or minus d: as 64-bit counts would, wrapping included. */
static SITE_INLINE void site__add(struct model *m, unsigned int ev, uint32_t si, enum site_count k,
				  uint64_t d)
{
	struct site_table *t = &m->sites[ev];
	uint32_t *c = site__narrow(t, si, k);

	if (!c)
		return;
	if (!(t->v[si].wide & SITE_WIDE_MASK) && d <= UINT32_MAX - *c)
		*c += (uint32_t)d;
	else
		site__set(m, ev, si, k, site__get(t, si, k) + d);
}

static SITE_INLINE void site__sub(struct model *m, unsigned int ev, uint32_t si, enum site_count k,
				  uint64_t d)
{
	struct site_table *t = &m->sites[ev];
	uint32_t *c = site__narrow(t, si, k);

	if (!c)
		return;
	if (!(t->v[si].wide & SITE_WIDE_MASK) && d <= *c)
		*c -= (uint32_t)d;
	else
		site__set(m, ev, si, k, site__get(t, si, k) - d);
}

/* A site's live bytes grew: its own peak follows (--show=site-peak). */
static inline void site__grew(struct model *m, unsigned int ev, uint32_t si)
{
	const struct site_table *t = &m->sites[ev];
	uint64_t live;

	if (!t->more)
		return;
	live = site__get(t, si, SITE_LIVE_BYTES);
	if (live > site__get(t, si, SITE_PEAK_BYTES)) {
		site__set(m, ev, si, SITE_PEAK_BYTES, live);
		site__set(m, ev, si, SITE_PEAK_NR, site__get(t, si, SITE_LIVE_NR));
	}
}
/* The allocation histogram (report --histogram): bucket b holds sizes in [2^(b-1), 2^b). */
static inline void model__histogram_add(struct model *m, unsigned int ev, uint64_t size)
{
	unsigned int b = size ? 64 - (unsigned int)__builtin_clzll(size) : 0;

	m->hist[ev].nr[b]++;
	m->hist[ev].bytes[b] += size;
}

/* heap.c */
int heap__alloc(struct model *m, uint32_t pid, uint32_t tid, uint32_t stack_id, uint64_t ptr,
		uint64_t size);
int heap__free(struct model *m, uint32_t pid, uint32_t tid, uint64_t ptr);
int model__on_realloc(struct model *m, const struct mpf_heap_realloc *r);

/* pages.c: the targets' pages and the page cache pages they added */
int model__on_page_alloc(struct model *m, const struct mpf_page_alloc *a);
void model__on_page_free(struct model *m, const struct mpf_record *rec);
int model__on_cache_add(struct model *m, const struct mpf_cache_add *a);
void model__on_cache_del(struct model *m, const struct mpf_cache_del *d);

/* vm.c: -e mmap */
int model__on_vm(struct model *m, const struct mpf_vm *v);

/* timeline.c */
int timeline__note(struct model *m);
void timeline__note_images_now(struct model *m);
int timeline__before(struct model *m, uint64_t time);

#endif
