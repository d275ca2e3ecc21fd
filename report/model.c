/*
 * The model behind the report: applies each record of a trace to a set of
 * tables and keeps, per event type and allocation site, the bytes allocated
 * and still live.  Traces hold tens of millions of events, so the per-event
 * path does a few hash lookups and no allocation: the live blocks and pages
 * sit in open addressing tables sized by doubling.
 *
 * "Live" follows the issue that defined it: for a process that exits during
 * the recording, live means live when it began to exit, so the frees of its
 * exit teardown (flagged by the recorder, or later than its EXIT record) do not
 * count.  A free of something allocated before the recording is ignored.
 */
#include <string.h>

#include "lib/array.h"
#include "lib/hashmap.h"
#include "report/model.h"
#include "report/report.h"

#define IMAGE_NONE UINT32_MAX
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
	struct model_map *maps;	/* in record order: a later map hides what it overlaps */
	size_t nmaps, maps_cap;
	/* Sorted, non-overlapping, inherited maps included; built on first lookup. */
	struct model_map *view;
	size_t nview;
	bool view_built;
	bool view_owned;	/* else it is an ancestor's view */
	bool view_refused;	/* past the views' budget: its addresses stay unmapped */
};

struct vm_range {
	uint64_t start, end;
	uint32_t site;
};

struct stack_ent {
	size_t off;		/* in model.ips */
	uint32_t nr, flags;
};

/* A live heap block, keyed by (ptr, image); the image is that of its site. */
struct heap_slot {
	uint64_t ptr;		/* the key: ptr and image */
	uint32_t image, pad;
	uint64_t size;
	uint32_t site;
	uint32_t pad2;
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

struct site_table {
	struct model_site *v;
	size_t nr, cap;
	struct hmap index;	/* (image, stack) -> site */
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

	uint64_t *ips;
	size_t nips, ips_cap;
	struct stack_ent *stacks;
	size_t nstacks, stacks_cap;
	struct hmap stack_ids;	/* (id, 0) -> stack index */
	struct hmap stack_dedup;	/* (hash of frames, nr) -> stack index, for unwound ones */

	/*
	 * The last USTACK read: the event that uses it comes next, and only
	 * that event says which process image it is to be unwound in.
	 */
	model_unwind_fn unwind;
	void *unwind_ctx;
	model_event_fn on_event;
	void *on_event_ctx;
	struct mpf_ustack pending;
	uint8_t *pending_data;	/* MPF_USTACK_MAX bytes */
	uint64_t unwound[MPF_STACK_MAX];

	struct site_table sites[MPF_EV__MAX];

	struct hashmap heap;	/* of struct heap_slot */
	struct hmap last_alloc;	/* (tid, 0) -> the ptr of its latest heap allocation, or 0 */
	struct page_table pages, cache;
	uint64_t rss_total;		/* the sum of the live processes' latest RSS samples */
	uint64_t time;			/* of the last event record applied */
	bool applied;			/* an event record was */
	uint64_t now;			/* the time of the record being applied */
	struct model_point *points;	/* the timeline */
	size_t npoints;
	uint64_t point_step;		/* ns between points, doubled as they fill */

	struct model_stats stats;
	uint64_t nrec;				/* records given to model__add */
	uint64_t live_total[MPF_EV__MAX];	/* the sum of the sites' live_bytes */
	struct model_peak peak[MPF_EV__MAX];
	uint64_t stop[MPF_EV__MAX];		/* with bit ev of stops */
	unsigned int stops;
	struct model_filter filter;
	bool filtered;
};

struct model *model__new(uint32_t page_size)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->page_size = page_size ? page_size : 4096;
	m->last_image = IMAGE_NONE;
	/* Stack index 0 is the empty stack. */
	if (ARRAY_RESERVE(m->stacks, m->stacks_cap, 1)) {
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->stacks[0] = (struct stack_ent){ 0 };
	m->nstacks = 1;
	m->heap = HASHMAP_INIT(struct heap_slot, 16);
	m->pages = (struct page_table){ HASHMAP_INIT(struct page_slot, 8), MPF_EV_PAGE };
	m->cache = (struct page_table){ HASHMAP_INIT(struct page_slot, 8), MPF_EV_CACHE };
	m->point_step = 1000;	/* 1 us, doubled each time the timeline fills */
	return m;
}

static void model__drop_views(struct model *m)
{
	for (size_t i = 0; i < m->nimages; i++) {
		struct image *im = &m->images[i];

		if (im->view_owned)
			free(im->view);
		im->view = NULL;
		im->nview = 0;
		im->view_built = false;
		im->view_owned = false;
	}
	m->views_built = false;
}

void model__delete(struct model *m)
{
	if (!m)
		return;
	model__drop_views(m);
	for (size_t i = 0; i < m->nimages; i++) {
		free(m->images[i].maps);
		free(m->images[i].vm);
		free(m->images[i].proc.args);
	}
	free(m->points);
	free(m->images);
	hmap__free(&m->pids);
	for (size_t i = 0; i < m->nfiles; i++)
		free((char *)m->files[i].path);
	free(m->files);
	hmap__free(&m->file_ids);
	free(m->ips);
	free(m->stacks);
	hmap__free(&m->stack_ids);
	hmap__free(&m->stack_dedup);
	free(m->pending_data);
	for (int ev = 0; ev < MPF_EV__MAX; ev++) {
		free(m->sites[ev].v);
		hmap__free(&m->sites[ev].index);
	}
	hashmap__free(&m->heap);
	hmap__free(&m->last_alloc);
	hashmap__free(&m->pages.map);
	hashmap__free(&m->cache.map);
	free(m);
}

/* ---- processes ---- */

static int image__new(struct model *m, uint32_t pid, uint32_t *idx)
{
	int err;

	if (m->nimages >= IMAGE_NONE)
		return -ENOMEM;
	err = ARRAY_RESERVE(m->images, m->images_cap, m->nimages + 1);
	if (err)
		return err;
	err = hmap__set(&m->pids, pid, 0, m->nimages);
	if (err)
		return err;
	m->images[m->nimages] = (struct image){
		.pid = pid, .parent = IMAGE_NONE,
		.proc = { .start_time = m->now, .prev = MODEL_IMAGE_NONE },
	};
	*idx = (uint32_t)m->nimages++;
	m->last_pid = pid;
	m->last_image = *idx;
	return 0;
}

/* The current image of pid, created when the trace had not shown pid before. */
static int image_of(struct model *m, uint32_t pid, uint32_t *idx)
{
	uint64_t *v;

	if (m->last_image != IMAGE_NONE && m->last_pid == pid) {
		*idx = m->last_image;
		return 0;
	}
	v = hmap__find(&m->pids, pid, 0);
	if (!v)
		return image__new(m, pid, idx);
	*idx = (uint32_t)*v;
	m->last_pid = pid;
	m->last_image = *idx;
	return 0;
}

static void image__set_comm(struct image *im, const char *comm, size_t len)
{
	if (len >= MPF_COMM_LEN)
		len = MPF_COMM_LEN - 1;
	memcpy(im->comm, comm, len);
	im->comm[len] = '\0';
}

static int model__on_comm(struct model *m, const struct mpf_comm *c)
{
	uint32_t img;
	struct image *im;
	int err = image_of(m, c->pid, &img);

	if (err)
		return err;
	im = &m->images[img];
	/* The process is named after its main thread; other threads name themselves. */
	if (c->tid == c->pid || !im->comm_from_leader) {
		image__set_comm(im, c->comm, strnlen(c->comm, MPF_COMM_LEN));
		im->comm_from_leader = c->tid == c->pid;
	}
	return 0;
}

/* Whether anc is img or one of the images it was forked from (as far as views look). */
static bool image__descends(const struct model *m, uint32_t img, uint32_t anc)
{
	for (int depth = 0; img != IMAGE_NONE && depth <= FORK_DEPTH_MAX; depth++) {
		if (img == anc)
			return true;
		img = m->images[img].parent;
	}
	return false;
}

static int model__on_fork(struct model *m, const struct mpf_fork *f)
{
	uint32_t parent, child;
	uint64_t *v;
	int err;

	err = image_of(m, f->ppid, &parent);
	if (err)
		return err;
	/*
	 * A pid already seen and not exited is this child seen early (records
	 * from different CPUs can arrive slightly out of order); an exited one
	 * is being reused by a new process.
	 */
	v = hmap__find(&m->pids, f->pid, 0);
	if (v && !m->images[*v].exited && f->pid != f->ppid) {
		child = (uint32_t)*v;
		/* A process cannot be its own ancestor: such a FORK is nonsense, ignored. */
		if (m->images[child].parent != IMAGE_NONE || image__descends(m, parent, child))
			return 0;
	} else {
		err = image__new(m, f->pid, &child);
		if (err)
			return err;
	}
	m->images[child].parent = parent;
	m->images[child].parent_maps = m->images[parent].nmaps;
	if (!m->images[child].comm[0])
		memcpy(m->images[child].comm, m->images[parent].comm, MPF_COMM_LEN);
	return 0;
}

static int model__on_exec(struct model *m, const struct mpf_exec *e)
{
	const char *name = e->filename ? e->filename : "";
	const char *slash = strrchr(name, '/');
	uint32_t img;
	int err;

	uint64_t *v = hmap__find(&m->pids, e->pid, 0);
	uint32_t prev = v ? (uint32_t)*v : MODEL_IMAGE_NONE;

	/* The old address space is gone: earlier stacks keep the old image and its maps. */
	err = image__new(m, e->pid, &img);
	if (err)
		return err;
	/* --stat shows a process from its fork to its exit, across its execs. */
	if (prev != MODEL_IMAGE_NONE && !m->images[prev].exited) {
		struct model_proc *pp = &m->images[prev].proc;

		/* Its address space is gone: its RSS goes from the total, the new image's comes. */
		if (pp->has_rss && !pp->rss_gone) {
			m->rss_total -= pp->rss_last.anon + pp->rss_last.file + pp->rss_last.shmem;
			m->live_total[MPF_EV_RSS] = m->rss_total;
		}
		pp->rss_gone = true;
		m->images[prev].proc.replaced = true;
		m->images[img].proc.prev = prev;
		m->images[img].proc.start_time = m->images[prev].proc.start_time;
	}
	if (e->args_len) {
		char *a = malloc(e->args_len + 1);

		if (!a)
			return -ENOMEM;
		memcpy(a, e->args, e->args_len);
		a[e->args_len] = '\0';
		/* argv's NULs become spaces; a last one ends it. */
		for (uint32_t i = 0; i + 1 < e->args_len; i++)
			if (!a[i])
				a[i] = ' ';
		m->images[img].proc.args = a;
	}
	if (slash)
		name = slash + 1;
	/* As the kernel does: the comm becomes the basename of what was exec'd. */
	image__set_comm(&m->images[img], name, strlen(name));
	m->images[img].comm_from_leader = true;
	return 0;
}

static int model__on_exit(struct model *m, const struct mpf_record *rec)
{
	uint32_t img;
	int err = image_of(m, rec->exit.pid, &img);

	if (err)
		return err;
	if (!m->images[img].exited) {
		struct model_proc *pr = &m->images[img].proc;

		m->images[img].exited = true;
		m->images[img].exit_time = rec->time;
		pr->exited = true;
		pr->exit_time = rec->time;
		pr->exit_status = rec->exit.status;
		/* Its memory is gone with it: the sum of the live processes' RSS loses it. */
		m->rss_total -= pr->rss_last.anon + pr->rss_last.file + pr->rss_last.shmem;
		m->live_total[MPF_EV_RSS] = m->rss_total;
		pr->rss_gone = true;
	}
	return 0;
}

static int model__on_map(struct model *m, const struct mpf_map *map)
{
	struct image *im;
	uint32_t img;
	int err;

	if (map->start >= map->end)
		return 0;
	err = image_of(m, map->pid, &img);
	if (err)
		return err;
	im = &m->images[img];
	err = ARRAY_RESERVE(im->maps, im->maps_cap, im->nmaps + 1);
	if (err)
		return err;
	im->maps[im->nmaps++] = (struct model_map){
		.start = map->start,
		.end = map->end,
		.pgoff = map->pgoff,
		.file_id = map->file_id,
		.prot = map->prot,
	};
	return 0;
}

/* ---- files and stacks ---- */

static int model__on_file(struct model *m, const struct mpf_file *f)
{
	uint64_t *v = hmap__find(&m->file_ids, f->id, 0);
	struct model_file *mf;
	char *path = strdup(f->path ? f->path : "");
	int err;

	if (!path)
		return -ENOMEM;
	if (v) {
		/* Redefined: the latest record wins. */
		mf = &m->files[*v];
		free((char *)mf->path);
	} else {
		err = ARRAY_RESERVE(m->files, m->files_cap, m->nfiles + 1);
		if (!err)
			err = hmap__set(&m->file_ids, f->id, 0, m->nfiles);
		if (err) {
			free(path);
			return err;
		}
		mf = &m->files[m->nfiles];
		mf->index = (uint32_t)m->nfiles++;
	}
	mf->id = f->id;
	mf->build_id_len = f->build_id_len > MPF_BUILD_ID_MAX ? MPF_BUILD_ID_MAX : f->build_id_len;
	memcpy(mf->build_id, f->build_id, mf->build_id_len);
	mf->path = path;
	return 0;
}

static int model__on_stack(struct model *m, const struct mpf_stack *s)
{
	uint32_t nr = s->nr > MPF_STACK_MAX ? MPF_STACK_MAX : s->nr;
	int err;

	if (!s->id)
		return 0;
	if (m->nstacks >= UINT32_MAX)
		return -ENOMEM;
	err = ARRAY_RESERVE(m->ips, m->ips_cap, m->nips + nr);
	if (!err)
		err = ARRAY_RESERVE(m->stacks, m->stacks_cap, m->nstacks + 1);
	if (err)
		return err;
	if (nr)
		memcpy(m->ips + m->nips, s->ips, nr * sizeof(*s->ips));
	m->stacks[m->nstacks] = (struct stack_ent){ .off = m->nips, .nr = nr, .flags = s->flags };
	m->nips += nr;
	/* Ids are looked up when used, so a redefined id does not change earlier sites. */
	err = hmap__set(&m->stack_ids, s->id, 0, m->nstacks);
	if (err)
		return err;
	m->nstacks++;
	return 0;
}

void model__set_unwinder(struct model *m, model_unwind_fn fn, void *ctx)
{
	m->unwind = fn;
	m->unwind_ctx = ctx;
}

static int model__on_ustack(struct model *m, const struct mpf_ustack *u)
{
	if (!u->id)
		return 0;
	if (!m->pending_data) {
		m->pending_data = malloc(MPF_USTACK_MAX);
		if (!m->pending_data)
			return -ENOMEM;
	}
	m->pending = *u;
	if (m->pending.size > MPF_USTACK_MAX)
		m->pending.size = MPF_USTACK_MAX;
	memcpy(m->pending_data, u->data, m->pending.size);
	m->pending.data = m->pending_data;
	return 0;
}

/*
 * Unwinds the pending USTACK in image img and gives its id the result, as
 * a STACK record would have.  Unwound stacks repeat (copies of the same
 * call path differ in their locals): equal ones share one entry.
 */
static void model__unwind_pending(struct model *m, uint32_t img)
{
	struct mpf_stack st = { .id = m->pending.id, .flags = m->pending.flags };
	uint64_t h = 0x9e3779b97f4a7c15ULL, *v;
	bool truncated = false;
	int n = 0;

	m->pending.id = 0;
	if (m->unwind)
		n = m->unwind(m->unwind_ctx, img, &m->pending, m->unwound, MPF_STACK_MAX,
			      &truncated);
	if (truncated)
		st.flags |= MPF_STACK_TRUNCATED;
	if (n <= 0) {
		hmap__set(&m->stack_ids, st.id, 0, MODEL_STACK_EMPTY);
		return;
	}
	for (int i = 0; i < n; i++)
		h = hash_pair(h, m->unwound[i]);
	h = hash_pair(h, st.flags);
	v = hmap__find(&m->stack_dedup, h, (uint64_t)n);
	if (v) {
		const struct stack_ent *e = &m->stacks[*v];

		if (e->nr == (uint32_t)n && e->flags == st.flags &&
		    !memcmp(m->ips + e->off, m->unwound, n * sizeof(uint64_t))) {
			hmap__set(&m->stack_ids, st.id, 0, *v);
			return;
		}
	}
	st.nr = n;
	st.ips = m->unwound;
	if (model__on_stack(m, &st))
		return;
	hmap__set(&m->stack_dedup, h, (uint64_t)n, m->nstacks - 1);
}

static uint32_t model__stack_of(struct model *m, uint32_t img, uint32_t id)
{
	uint64_t *v;

	if (id && id == m->pending.id)
		model__unwind_pending(m, img);
	if (!id)
		return MODEL_STACK_EMPTY;
	v = hmap__find(&m->stack_ids, id, 0);
	if (v)
		return (uint32_t)*v;
	/* Remembered so each id is counted once; failing to remember only recounts it. */
	m->stats.undefined_stacks++;
	hmap__set(&m->stack_ids, id, 0, MODEL_STACK_EMPTY);
	return MODEL_STACK_EMPTY;
}

/* ---- sites ---- */

static int site_of(struct model *m, unsigned int ev, uint32_t img, uint32_t stack, bool kernel,
		   uint32_t *idx)
{
	struct site_table *t = &m->sites[ev];
	uint64_t key = stack | (uint64_t)kernel << 32;
	uint64_t *v = hmap__find(&t->index, img, key);
	int err;

	if (v) {
		*idx = (uint32_t)*v;
		return 0;
	}
	if (t->nr >= UINT32_MAX)
		return -ENOMEM;
	err = ARRAY_RESERVE(t->v, t->cap, t->nr + 1);
	if (!err)
		err = hmap__set(&t->index, img, key, t->nr);
	if (err)
		return err;
	t->v[t->nr] = (struct model_site){ .image = img, .stack = stack, .kernel = kernel };
	*idx = (uint32_t)t->nr++;
	return 0;
}

/* ---- live heap blocks ---- */

static struct heap_slot *heap__find(struct model *m, uint32_t img, uint64_t ptr)
{
	const struct heap_slot key = { .ptr = ptr, .image = img };

	return hashmap__find(&m->heap, &key);
}

static void heap__remove(struct model *m, struct heap_slot *s)
{
	struct model_site *site = &m->sites[MPF_EV_HEAP].v[s->site];

	site->live_bytes -= s->size;
	site->live_nr--;
	m->live_total[MPF_EV_HEAP] -= s->size;
	hashmap__remove(&m->heap, s);
}

static int heap__insert(struct model *m, uint32_t img, uint64_t ptr, uint64_t size, uint32_t si)
{
	const struct heap_slot key = { .ptr = ptr, .image = img };
	struct model_site *site;
	struct heap_slot *s = heap__find(m, img, ptr);
	bool added;

	/* Already live: its free was lost; the new block replaces it. */
	if (s)
		heap__remove(m, s);
	s = hashmap__insert(&m->heap, &key, &added);
	if (!s)
		return -ENOMEM;
	s->size = size;
	s->site = si;
	site = &m->sites[MPF_EV_HEAP].v[si];
	site->live_bytes += size;
	site->live_nr++;
	m->live_total[MPF_EV_HEAP] += size;
	return 0;
}

/* An allocation of size bytes at ptr by pid from stack_id: counted, and live from now on. */
static int heap__alloc(struct model *m, uint32_t pid, uint32_t tid, uint32_t stack_id,
		       uint64_t ptr, uint64_t size)
{
	struct model_site *site;
	uint32_t img, si;
	int err;

	err = image_of(m, pid, &img);
	if (!err)
		err = site_of(m, MPF_EV_HEAP, img, model__stack_of(m, img, stack_id), false, &si);
	if (err)
		return err;
	site = &m->sites[MPF_EV_HEAP].v[si];
	site->alloc_bytes += size;
	site->alloc_nr++;
	m->images[img].proc.alloc[MPF_EV_HEAP] += size;
	err = hmap__set(&m->last_alloc, tid, 0, ptr);
	if (!err)
		err = heap__insert(m, img, ptr, size, si);
	return err;
}

static int heap__free(struct model *m, uint32_t pid, uint32_t tid, uint64_t ptr)
{
	uint64_t *last;
	struct heap_slot *s;
	uint32_t img;
	int err;

	if (!ptr)
		return 0;
	err = image_of(m, pid, &img);
	if (err)
		return err;
	s = heap__find(m, img, ptr);
	if (!s)
		return 0;
	/* Freed by the thread that allocated it last: nothing was allocated in between. */
	last = hmap__find(&m->last_alloc, tid, 0);
	if (last && *last == ptr) {
		struct model_site *site = &m->sites[MPF_EV_HEAP].v[s->site];

		site->tmp_bytes += s->size;
		site->tmp_nr++;
		*last = 0;
	}
	m->images[m->sites[MPF_EV_HEAP].v[s->site].image].proc.freed[MPF_EV_HEAP] += s->size;
	heap__remove(m, s);
	return 0;
}

static int model__on_realloc(struct model *m, const struct mpf_heap_realloc *r)
{
	int err = 0;

	/* ptr 0 with a size is a failed realloc: the old block is untouched. */
	if (r->old_ptr && (r->ptr || !r->size))
		err = heap__free(m, r->pid, r->tid, r->old_ptr);
	if (!err && r->ptr)
		err = heap__alloc(m, r->pid, r->tid, r->stack_id, r->ptr, r->size);
	return err;
}

/* ---- live pages: the targets' own, and the page cache pages they added ---- */

static struct page_slot *pages__find(struct page_table *t, uint64_t page)
{
	return hashmap__find(&t->map, &page);
}

static void pages__remove(struct page_table *t, struct page_slot *s)
{
	hashmap__remove(&t->map, s);
}

/*
 * One live page leaves the table.  Freed: its site loses a page, and a live
 * allocation when it was the allocation's last.  Freed by its owner's exit
 * teardown (keep_live): its bytes stay live, as the process held them, but the
 * page is no longer the owner's, so a later allocation of it takes nothing
 * from the owner.  The head's slot carries the allocation's page count, so
 * when the head page goes first its slot stays, marked PAGE_GONE, until the
 * last.
 */
static void pages__release(struct model *m, struct page_table *t, struct page_slot *s,
			   bool keep_live)
{
	struct model_site *site = &m->sites[t->ev].v[s->site & ~PAGE_GONE];
	uint64_t head_id = s->head;
	bool is_head = s->page == head_id, last = false;
	struct page_slot *head;

	if (!keep_live) {
		site->live_bytes -= m->page_size;
		m->live_total[t->ev] -= m->page_size;
		m->images[site->image].proc.freed[t->ev] += m->page_size;
	}
	head = is_head ? s : pages__find(t, head_id);
	if (head && head->pages && --head->pages == 0) {
		if (!keep_live)
			site->live_nr--;
		last = true;
	}
	if (is_head) {
		if (last)
			pages__remove(t, s);
		else
			s->site |= PAGE_GONE;
		return;
	}
	pages__remove(t, s);
	head = last ? pages__find(t, head_id) : NULL;
	if (head && (head->site & PAGE_GONE))
		pages__remove(t, head);
}

/* 2^order pages from page, allocated (or added to the cache) at site si: live from now on. */
static int pages__insert(struct model *m, struct page_table *t, uint64_t page,
			 unsigned int order, uint32_t si)
{
	struct model_site *site = &m->sites[t->ev].v[si];
	uint64_t pages = 1ULL << order;
	bool added;

	site->alloc_bytes += pages * m->page_size;
	site->alloc_nr++;
	m->images[site->image].proc.alloc[t->ev] += pages * m->page_size;
	for (uint64_t p = page; p < page + pages; p++) {
		struct page_slot *s = pages__find(t, p);

		/* Still live: its free was lost.  The new allocation takes the page. */
		if (s && !(s->site & PAGE_GONE))
			pages__release(m, t, s, false);
		s = pages__find(t, p);
		if (s)
			pages__remove(t, s);
		s = hashmap__insert(&t->map, &p, &added);
		if (!s)
			return -ENOMEM;
		s->head = page;
		s->site = si;
		s->pages = p == page ? (uint32_t)pages : 0;
	}
	site = &m->sites[t->ev].v[si];
	site->live_bytes += pages * m->page_size;
	site->live_nr++;
	m->live_total[t->ev] += pages * m->page_size;
	return 0;
}

static int model__on_page_alloc(struct model *m, const struct mpf_page_alloc *a)
{
	uint32_t img, si;
	int err;

	if (a->order > PAGE_ORDER_MAX || a->page + (1ULL << a->order) < a->page)
		return 0;
	err = image_of(m, a->pid, &img);
	if (!err)
		err = site_of(m, MPF_EV_PAGE, img, model__stack_of(m, img, a->stack_id),
			      !(a->gfp & GFP_MOVABLE), &si);
	if (err)
		return err;
	return pages__insert(m, &m->pages, a->page, a->order, si);
}

static void model__on_page_free(struct model *m, const struct mpf_record *rec)
{
	const struct mpf_page_free *f = &rec->page_free;

	if (f->order > PAGE_ORDER_MAX || f->page + (1ULL << f->order) < f->page)
		return;
	for (uint64_t p = f->page; p < f->page + (1ULL << f->order); p++) {
		struct page_slot *s = pages__find(&m->pages, p);
		const struct image *owner;

		if (!s || (s->site & PAGE_GONE))
			continue;
		/*
		 * Live means live when the owner began to exit: the frees of its
		 * teardown (flagged by the recorder: by the owner, unmapping its
		 * memory as it exits; or later than its EXIT, such as page tables
		 * freed after an RCU grace period) do not count.
		 */
		owner = &m->images[m->sites[MPF_EV_PAGE].v[s->site].image];
		pages__release(m, &m->pages, s,
			       ((f->flags & MPF_PAGE_FREE_EXITING) && f->pid == owner->pid) ||
				       (owner->exited && rec->time >= owner->exit_time));
	}
}

/*
 * Pages added to the page cache: cache of the adding site from now on, until
 * deleted, whatever becomes of the process (the cache outlives it).  A page
 * the target allocated itself leaves its page events' live bytes: it is
 * cache now, not the process's own memory (TezEdge's value and cacheValue).
 */
static int model__on_cache_add(struct model *m, const struct mpf_cache_add *a)
{
	uint32_t img, si;
	int err;

	if (a->order > PAGE_ORDER_MAX || a->page + (1ULL << a->order) < a->page)
		return 0;
	err = image_of(m, a->pid, &img);
	if (!err)
		err = site_of(m, MPF_EV_CACHE, img, model__stack_of(m, img, a->stack_id), false,
			      &si);
	if (err)
		return err;
	for (uint64_t p = a->page; p < a->page + (1ULL << a->order); p++) {
		struct page_slot *s = pages__find(&m->pages, p);

		if (s && !(s->site & PAGE_GONE)) {
			struct model_site *ps = &m->sites[MPF_EV_PAGE].v[s->site];

			pages__release(m, &m->pages, s, false);
			/* Not freed: moved. */
			m->images[ps->image].proc.freed[MPF_EV_PAGE] -= m->page_size;
			m->images[ps->image].proc.to_cache += m->page_size;
		}
	}
	return pages__insert(m, &m->cache, a->page, a->order, si);
}

static void model__on_cache_del(struct model *m, const struct mpf_cache_del *d)
{
	if (d->order > PAGE_ORDER_MAX || d->page + (1ULL << d->order) < d->page)
		return;
	for (uint64_t p = d->page; p < d->page + (1ULL << d->order); p++) {
		struct page_slot *s = pages__find(&m->cache, p);

		if (s && !(s->site & PAGE_GONE))
			pages__release(m, &m->cache, s, false);
	}
}

/* ---- address space calls (-e mmap) ---- */

/* Bytes of [start, end) leave the live ranges of img; ranges split where needed. */
/*
 * The first of the image's ranges that ends after addr: the ranges are sorted
 * and do not overlap, so their ends are sorted too.
 */
static size_t vm__first_after(const struct image *im, uint64_t addr)
{
	size_t lo = 0, hi = im->nvm;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->vm[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int vm__unmap(struct model *m, uint32_t img, uint64_t start, uint64_t end)
{
	struct image *im = &m->images[img];

	if (start >= end)
		return 0;
	for (size_t i = vm__first_after(im, start); i < im->nvm && im->vm[i].start < end; i++) {
		struct vm_range *r = &im->vm[i];
		struct model_site *site;
		uint64_t lo, hi;

		if (r->end <= start || r->start >= end)
			continue;
		lo = r->start > start ? r->start : start;
		hi = r->end < end ? r->end : end;
		site = &m->sites[MPF_EV_MMAP].v[r->site];
		site->live_bytes -= hi - lo;
		m->live_total[MPF_EV_MMAP] -= hi - lo;
		m->images[site->image].proc.freed[MPF_EV_MMAP] += hi - lo;
		if (lo > r->start && hi < r->end) {
			/* A hole in the middle: the range becomes two. */
			struct vm_range tail = { hi, r->end, r->site };
			int err = ARRAY_RESERVE(im->vm, im->vm_cap, im->nvm + 1);

			if (err)
				return err;
			r = &im->vm[i];
			memmove(r + 2, r + 1, (im->nvm - i - 1) * sizeof(*r));
			r->end = lo;
			r[1] = tail;
			im->nvm++;
			site->live_nr++;
			i++;
		} else if (lo > r->start) {
			r->end = lo;
		} else if (hi < r->end) {
			r->start = hi;
		} else {
			site->live_nr--;
			memmove(r, r + 1, (im->nvm - i - 1) * sizeof(*r));
			im->nvm--;
			i--;
		}
	}
	return 0;
}

/* [start, end) mapped at site si in img (counted as allocated when fresh). */
static int vm__map(struct model *m, uint32_t img, uint64_t start, uint64_t end, uint32_t si,
		   bool fresh)
{
	struct image *im;
	struct model_site *site;
	size_t i;
	int err;

	if (end <= start)
		return 0;
	err = vm__unmap(m, img, start, end);
	if (!err)
		err = ARRAY_RESERVE(m->images[img].vm, m->images[img].vm_cap,
				    m->images[img].nvm + 1);
	if (err)
		return err;
	im = &m->images[img];
	i = vm__first_after(im, start);
	memmove(&im->vm[i + 1], &im->vm[i], (im->nvm - i) * sizeof(im->vm[0]));
	im->vm[i] = (struct vm_range){ start, end, si };
	im->nvm++;
	site = &m->sites[MPF_EV_MMAP].v[si];
	site->live_bytes += end - start;
	site->live_nr++;
	m->live_total[MPF_EV_MMAP] += end - start;
	if (fresh) {
		site->alloc_bytes += end - start;
		site->alloc_nr++;
		m->images[site->image].proc.alloc[MPF_EV_MMAP] += end - start;
	}
	return 0;
}

/*
 * mremap: the pieces of the old range keep their sites at the new address
 * (and are not allocations again); what it grew by is the mremap's.
 */
static int vm__remap(struct model *m, uint32_t img, const struct mpf_vm *v, uint32_t si)
{
	struct vm_range moved[64];
	struct image *im = &m->images[img];
	uint64_t old_end = v->old_addr + v->old_len;
	size_t n = 0;
	int err;

	/* MREMAP_DONTUNMAP: the old range stays mapped; the new one is the mremap's. */
	if (v->flags & MREMAP_DONTUNMAP)
		return vm__map(m, img, v->addr, v->addr + v->len, si, true);

	/* Beyond 64 pieces (a range with many holes punched in it), the rest count as unmapped. */
	for (size_t i = vm__first_after(im, v->old_addr); i < im->nvm && n < 64; i++) {
		struct vm_range *r = &im->vm[i];

		if (r->start >= old_end)
			break;
		moved[n++] = (struct vm_range){
			(r->start > v->old_addr ? r->start : v->old_addr) - v->old_addr,
			(r->end < old_end ? r->end : old_end) - v->old_addr, r->site
		};
	}
	/* Unmapped, then mapped again: not freed, not allocated. */
	err = vm__unmap(m, img, v->old_addr, old_end);
	for (size_t i = 0; i < n && !err; i++) {
		struct model_site *site = &m->sites[MPF_EV_MMAP].v[moved[i].site];
		uint64_t lo = moved[i].start, hi = moved[i].end < v->len ? moved[i].end : v->len;

		m->images[site->image].proc.freed[MPF_EV_MMAP] -= moved[i].end - moved[i].start;
		if (lo < hi) {
			err = vm__map(m, img, v->addr + lo, v->addr + hi, moved[i].site, false);
			if (hi < moved[i].end)
				m->images[site->image].proc.freed[MPF_EV_MMAP] += moved[i].end - hi;
		} else {
			m->images[site->image].proc.freed[MPF_EV_MMAP] += moved[i].end - moved[i].start;
		}
	}
	if (!err && v->len > v->old_len)
		err = vm__map(m, img, v->addr + v->old_len, v->addr + v->len, si, true);
	return err;
}

static int model__on_vm(struct model *m, const struct mpf_vm *v)
{
	uint64_t ps = m->page_size, lo, hi;
	uint32_t img, si;
	int err;

	err = image_of(m, v->pid, &img);
	if (!err)
		err = site_of(m, MPF_EV_MMAP, img, model__stack_of(m, img, v->stack_id), false,
			      &si);
	if (err)
		return err;
	m->images[img].proc.calls[v->call]++;
	switch (v->call) {
	case MPF_VM_MMAP:
		if (v->addr + v->len < v->addr)
			return 0;
		return vm__map(m, img, v->addr, v->addr + v->len, si, true);
	case MPF_VM_MUNMAP:
		if (v->addr + v->len < v->addr)
			return 0;
		return vm__unmap(m, img, v->addr, v->addr + v->len);
	case MPF_VM_MREMAP:
		if (v->addr + v->len < v->addr || v->old_addr + v->old_len < v->old_addr)
			return 0;
		return vm__remap(m, img, v, si);
	case MPF_VM_BRK:
		/* The heap's pages run to the break rounded up to a page. */
		if (v->addr > UINT64_MAX - ps || v->old_addr > UINT64_MAX - ps)
			return 0;
		lo = (v->old_addr + ps - 1) / ps * ps;
		hi = (v->addr + ps - 1) / ps * ps;
		if (hi > lo)
			return vm__map(m, img, lo, hi, si, true);
		return vm__unmap(m, img, hi, lo);
	}
	return 0;
}

/* ---- resident set samples (-e rss) ---- */

static int model__on_rss(struct model *m, const struct mpf_rss *r)
{
	struct model_proc *pr;
	uint32_t img;
	int err = image_of(m, r->pid, &img);

	if (err)
		return err;
	pr = &m->images[img].proc;
	if (pr->rss_gone)
		return 0;
	if (!pr->has_rss)
		pr->rss_first = *r;
	else
		m->rss_total -= pr->rss_last.anon + pr->rss_last.file + pr->rss_last.shmem;
	pr->has_rss = true;
	pr->rss_last = *r;
	m->rss_total += r->anon + r->file + r->shmem;
	if (r->hwm > pr->rss_peak)
		pr->rss_peak = r->hwm;
	if (r->anon + r->file + r->shmem > pr->rss_peak)
		pr->rss_peak = r->anon + r->file + r->shmem;
	m->live_total[MPF_EV_RSS] = m->rss_total;
	return 0;
}

/* ---- the timeline ---- */

#define POINTS_MAX 4096

/*
 * A point of the live totals as they are now, at the time of the last record
 * applied.  Taken before a record a step or more later than the last point
 * is applied, so each point shows the state at the end of its step.
 */
static int timeline__note(struct model *m)
{
	struct model_point *pt;

	if (!m->points) {
		m->points = malloc(POINTS_MAX * sizeof(*m->points));
		if (!m->points)
			return -ENOMEM;
	}
	if (m->npoints == POINTS_MAX) {
		/* Full: every other point goes, and the step doubles. */
		for (size_t i = 0; i < POINTS_MAX / 2; i++)
			m->points[i] = m->points[2 * i + 1];
		m->npoints = POINTS_MAX / 2;
		m->point_step *= 2;
	}
	pt = &m->points[m->npoints++];
	pt->time = m->time;
	memcpy(pt->live, m->live_total, sizeof(pt->live));
	return 0;
}

static int timeline__before(struct model *m, uint64_t time)
{
	if (!m->applied)
		return 0;
	if (m->npoints && time < m->points[m->npoints - 1].time + m->point_step)
		return 0;
	return timeline__note(m);
}

/* ---- records ---- */

static int model__apply(struct model *m, const struct mpf_record *rec);

void model__set_event_hook(struct model *m, model_event_fn fn, void *ctx)
{
	m->on_event = fn;
	m->on_event_ctx = ctx;
}

/*
 * The process a record names (the one it happened in, the new one of a
 * FORK), and the stack id it carries (0: none); false for records that are
 * about no process.
 */
static bool record_pid(const struct mpf_record *rec, uint32_t *pid, uint32_t *stack_id)
{
	*stack_id = 0;
	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
		*pid = rec->page_alloc.pid;
		*stack_id = rec->page_alloc.stack_id;
		return true;
	case MPF_REC_PAGE_FREE:
		*pid = rec->page_free.pid;
		return true;
	case MPF_REC_HEAP_ALLOC:
		*pid = rec->heap_alloc.pid;
		*stack_id = rec->heap_alloc.stack_id;
		return true;
	case MPF_REC_HEAP_FREE:
		*pid = rec->heap_free.pid;
		return true;
	case MPF_REC_HEAP_REALLOC:
		*pid = rec->heap_realloc.pid;
		*stack_id = rec->heap_realloc.stack_id;
		return true;
	case MPF_REC_CACHE_ADD:
		*pid = rec->cache_add.pid;
		*stack_id = rec->cache_add.stack_id;
		return true;
	case MPF_REC_CACHE_DEL:
		*pid = rec->cache_del.pid;
		return true;
	case MPF_REC_VM:
		*pid = rec->vm.pid;
		*stack_id = rec->vm.stack_id;
		return true;
	case MPF_REC_RSS:
		*pid = rec->rss.pid;
		return true;
	case MPF_REC_FORK:
		*pid = rec->fork.pid;
		return true;
	case MPF_REC_EXEC:
		*pid = rec->exec.pid;
		return true;
	case MPF_REC_EXIT:
		*pid = rec->exit.pid;
		return true;
	default:
		return false;
	}
}

/* The event hook's arguments, after the model applied rec. */
static int model__event_hook(struct model *m, const struct mpf_record *rec)
{
	uint32_t pid, stack_id, img = MODEL_IMAGE_NONE;
	uint64_t *v;

	if (!record_pid(rec, &pid, &stack_id))
		return 0;
	v = hmap__find(&m->pids, pid, 0);
	if (v)
		img = (uint32_t)*v;
	/* Applied already, so a pending USTACK is unwound now only if the event was ignored. */
	return m->on_event(m->on_event_ctx, rec, img,
			   img == MODEL_IMAGE_NONE ? MODEL_STACK_EMPTY
						   : model__stack_of(m, img, stack_id));
}

/* The event type of an event record, -1 for other records. */
static int event_type(uint32_t type)
{
	switch (type) {
	case MPF_REC_PAGE_ALLOC:
	case MPF_REC_PAGE_FREE:
		return MPF_EV_PAGE;
	case MPF_REC_HEAP_ALLOC:
	case MPF_REC_HEAP_FREE:
	case MPF_REC_HEAP_REALLOC:
		return MPF_EV_HEAP;
	case MPF_REC_CACHE_ADD:
	case MPF_REC_CACHE_DEL:
		return MPF_EV_CACHE;
	case MPF_REC_VM:
		return MPF_EV_MMAP;
	case MPF_REC_RSS:
		return MPF_EV_RSS;
	default:
		return -1;
	}
}

void model__stop_after(struct model *m, unsigned int ev, uint64_t records)
{
	if (ev < MPF_EV__MAX) {
		m->stop[ev] = records;
		m->stops |= 1u << ev;
	}
}

void model__set_filter(struct model *m, const struct model_filter *f)
{
	m->filter = *f;
	m->filtered = f->npids || f->comm || f->has_time;
}

/* Whether the filter lets the event record rec be applied. */
static bool model__passes(struct model *m, const struct mpf_record *rec)
{
	const struct model_filter *f = &m->filter;
	uint32_t pid, stack_id, img;
	size_t i;

	if (f->has_time && (rec->time < f->time_start || rec->time > f->time_end))
		return false;
	/*
	 * Allocations (and samples) are the process's; a free, a deletion from
	 * the cache or an unmap can only take back what was applied: let through.
	 */
	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
	case MPF_REC_HEAP_ALLOC:
	case MPF_REC_HEAP_REALLOC:
	case MPF_REC_CACHE_ADD:
	case MPF_REC_RSS:
		break;
	case MPF_REC_VM:
		if (rec->vm.call == MPF_VM_MUNMAP)
			return true;
		break;
	default:
		return true;
	}
	record_pid(rec, &pid, &stack_id);
	for (i = 0; i < f->npids && f->pids[i] != pid; i++)
		;
	if (f->npids && i == f->npids)
		return false;
	/* A failure to make the image is model__apply's to report. */
	if (f->comm && !image_of(m, pid, &img) && strcmp(m->images[img].comm, f->comm))
		return false;
	return true;
}

const struct model_peak *model__peak(const struct model *m, unsigned int ev)
{
	return &m->peak[ev < MPF_EV__MAX ? ev : 0];
}

int model__add(struct model *m, const struct mpf_record *rec)
{
	int ev = event_type(rec->type), err;
	/* Exits move the timeline too: a process's RSS leaves with it. */
	bool timed = ev >= 0 || rec->type == MPF_REC_EXIT;

	m->nrec++;
	m->now = rec->time;
	if (ev >= 0 && (m->stops & (1u << ev)) && m->nrec > m->stop[ev])
		return 0;
	if (ev >= 0 && m->filtered && !model__passes(m, rec))
		return 0;
	if (timed) {
		err = timeline__before(m, rec->time);
		if (err)
			return err;
	}
	err = model__apply(m, rec);
	if (timed) {
		m->applied = true;
		if (rec->time > m->time)
			m->time = rec->time;
	}
	if (!err && ev >= 0 && m->live_total[ev] > m->peak[ev].bytes)
		m->peak[ev] = (struct model_peak){
			.bytes = m->live_total[ev], .record = m->nrec, .time = rec->time
		};
	if (err || !m->on_event)
		return err;
	return model__event_hook(m, rec);
}

static int model__apply(struct model *m, const struct mpf_record *rec)
{
	unsigned int ev;

	m->stats.records[rec->type < MPF_REC__MAX ? rec->type : 0]++;
	switch (rec->type) {
	case MPF_REC_COMM:
		return model__on_comm(m, &rec->comm);
	case MPF_REC_FORK:
	case MPF_REC_EXEC:
	case MPF_REC_MAP:
		/* The views are snapshots of the maps: rebuild them if asked again. */
		if (m->views_built)
			model__drop_views(m);
		if (rec->type == MPF_REC_FORK)
			return model__on_fork(m, &rec->fork);
		if (rec->type == MPF_REC_EXEC)
			return model__on_exec(m, &rec->exec);
		return model__on_map(m, &rec->map);
	case MPF_REC_EXIT:
		return model__on_exit(m, rec);
	case MPF_REC_FILE:
		return model__on_file(m, &rec->file);
	case MPF_REC_STACK:
		return model__on_stack(m, &rec->stack);
	case MPF_REC_USTACK:
		return model__on_ustack(m, &rec->ustack);
	case MPF_REC_PAGE_ALLOC:
		m->stats.events[MPF_EV_PAGE]++;
		if (rec->page_alloc.order > PAGE_ORDER_MAX) {
			m->stats.ignored++;
			return 0;
		}
		return model__on_page_alloc(m, &rec->page_alloc);
	case MPF_REC_PAGE_FREE:
		m->stats.events[MPF_EV_PAGE]++;
		if (rec->page_free.order > PAGE_ORDER_MAX) {
			m->stats.ignored++;
			return 0;
		}
		model__on_page_free(m, rec);
		return 0;
	case MPF_REC_HEAP_ALLOC:
		m->stats.events[MPF_EV_HEAP]++;
		/* ptr 0: the allocation failed, nothing was allocated. */
		if (!rec->heap_alloc.ptr)
			return 0;
		if (rec->heap_alloc.size > HEAP_SIZE_MAX) {
			m->stats.ignored++;
			return 0;
		}
		return heap__alloc(m, rec->heap_alloc.pid, rec->heap_alloc.tid,
				   rec->heap_alloc.stack_id, rec->heap_alloc.ptr,
				   rec->heap_alloc.size);
	case MPF_REC_HEAP_FREE:
		m->stats.events[MPF_EV_HEAP]++;
		/* A free by a pid never seen cannot free anything recorded. */
		if (!hmap__find(&m->pids, rec->heap_free.pid, 0))
			return 0;
		return heap__free(m, rec->heap_free.pid, rec->heap_free.tid, rec->heap_free.ptr);
	case MPF_REC_HEAP_REALLOC:
		m->stats.events[MPF_EV_HEAP]++;
		if (rec->heap_realloc.ptr && rec->heap_realloc.size > HEAP_SIZE_MAX) {
			m->stats.ignored++;
			return 0;
		}
		return model__on_realloc(m, &rec->heap_realloc);
	case MPF_REC_CACHE_ADD:
		m->stats.events[MPF_EV_CACHE]++;
		return model__on_cache_add(m, &rec->cache_add);
	case MPF_REC_CACHE_DEL:
		m->stats.events[MPF_EV_CACHE]++;
		model__on_cache_del(m, &rec->cache_del);
		return 0;
	case MPF_REC_VM:
		m->stats.events[MPF_EV_MMAP]++;
		if (rec->vm.call >= MPF_VM__MAX) {
			m->stats.ignored++;
			return 0;
		}
		return model__on_vm(m, &rec->vm);
	case MPF_REC_RSS:
		m->stats.events[MPF_EV_RSS]++;
		return model__on_rss(m, &rec->rss);
	case MPF_REC_LOST:
		ev = rec->lost.event;
		/* Saturated: counts from the file are added, and must not wrap to small. */
		if (ev < MPF_EV__MAX)
			m->stats.lost[ev] = rec->lost.count > UINT64_MAX - m->stats.lost[ev]
						    ? UINT64_MAX
						    : m->stats.lost[ev] + rec->lost.count;
		return 0;
	case MPF_REC_END:
		m->stats.has_end = true;
		m->stats.end = rec->end;
		return 0;
	default:
		/* INFO, and record types of newer minor versions: nothing to model. */
		return 0;
	}
}

/* ---- queries ---- */

const struct model_stats *model__stats(const struct model *m)
{
	return &m->stats;
}

size_t model__nr_sites(const struct model *m, unsigned int ev)
{
	return ev < MPF_EV__MAX ? m->sites[ev].nr : 0;
}

const struct model_site *model__site(const struct model *m, unsigned int ev, size_t i)
{
	return ev < MPF_EV__MAX && i < m->sites[ev].nr ? &m->sites[ev].v[i] : NULL;
}

uint32_t model__pid(const struct model *m, uint32_t image)
{
	return image < m->nimages ? m->images[image].pid : 0;
}

size_t model__nr_images(const struct model *m)
{
	return m->nimages;
}

const struct model_proc *model__proc(const struct model *m, uint32_t image)
{
	return image < m->nimages ? &m->images[image].proc : NULL;
}

const struct model_point *model__timeline(struct model *m, size_t *n)
{
	/* The state after the last event, unless a point already shows it. */
	if (m->applied && (!m->npoints || m->points[m->npoints - 1].time < m->time ||
			   memcmp(m->points[m->npoints - 1].live, m->live_total,
				  sizeof(m->live_total))))
		(void)timeline__note(m);	/* out of memory: the points so far */
	*n = m->npoints;
	return m->points;
}

const char *model__comm(const struct model *m, uint32_t image)
{
	if (image >= m->nimages || !m->images[image].comm[0])
		return NULL;
	return m->images[image].comm;
}

void model__stack(const struct model *m, uint32_t stack, struct model_stack *out)
{
	const struct stack_ent *s = &m->stacks[stack < m->nstacks ? stack : MODEL_STACK_EMPTY];

	out->flags = s->flags;
	out->nr = s->nr;
	out->ips = s->nr ? m->ips + s->off : NULL;
}

size_t model__nr_files(const struct model *m)
{
	return m->nfiles;
}

const struct model_file *model__file_at(const struct model *m, size_t index)
{
	return index < m->nfiles ? &m->files[index] : NULL;
}

const struct model_file *model__file(const struct model *m, uint32_t id)
{
	uint64_t *v = hmap__find(&m->file_ids, id, 0);

	return v ? &m->files[*v] : NULL;
}

/* ---- map lookup ---- */

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The index of the first of the n sorted v not below x. */
static size_t lower_bound(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Union-find over elementary intervals: the first one from j not yet painted. */
static uint32_t unpainted(uint32_t *next, uint32_t j)
{
	uint32_t r = j, t;

	while (next[r] != r)
		r = next[r];
	while (next[j] != r) {
		t = next[j];
		next[j] = r;
		j = t;
	}
	return r;
}

/* Takes n entries from the views' budget; -E2BIG when it is spent. */
static int view__charge(struct model *m, uint64_t n)
{
	uint64_t budget = VIEW_ENTRIES_BASE + VIEW_ENTRIES_PER_MAP * m->stats.records[MPF_REC_MAP];

	if (m->view_entries > budget || n > budget - m->view_entries)
		return -E2BIG;
	m->view_entries += n;
	return 0;
}

/*
 * The sorted, non-overlapping view of the nbase entries of base (sorted and
 * non-overlapping already) under the nmaps maps, a later map hiding what it
 * overlaps.  Painted from the top: the maps from the last, then base, each
 * over the elementary intervals between all their ends not painted yet, so
 * that each is painted once: O(n log n) in all, however the maps overlap.
 */
static int view__overlay(struct model *m, const struct model_map *base, size_t nbase,
			 const struct model_map *maps, size_t nmaps, struct model_map **out,
			 size_t *nout)
{
	size_t n = nbase + nmaps, nc = 0, nv = 0;
	uint32_t *owner = NULL, *next = NULL;
	uint64_t *coords = NULL;
	struct model_map *v = NULL;
	int err;

	err = view__charge(m, 3 * (uint64_t)n);
	if (err)
		return err;
	if (n > UINT32_MAX / 4)
		return -E2BIG;
	coords = malloc(2 * n * sizeof(*coords));
	if (!coords)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct model_map *mp = i < nbase ? &base[i] : &maps[i - nbase];

		coords[nc++] = mp->start;
		coords[nc++] = mp->end;
	}
	qsort(coords, nc, sizeof(*coords), u64_cmp);
	for (size_t i = 1, k = 1; i <= nc; i++) {
		if (i == nc) {
			nc = k;
			break;
		}
		if (coords[i] != coords[k - 1])
			coords[k++] = coords[i];
	}
	owner = malloc(nc * sizeof(*owner));
	next = malloc(nc * sizeof(*next));
	v = malloc(nc * sizeof(*v));
	if (!owner || !next || !v) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t j = 0; j < nc; j++) {
		owner[j] = UINT32_MAX;
		next[j] = (uint32_t)j;
	}
	/* nc - 1, the last end, starts no interval: never painted, it ends every search. */
	for (size_t i = n; i-- > 0;) {
		const struct model_map *mp = i < nbase ? &base[i] : &maps[i - nbase];
		uint32_t a = (uint32_t)lower_bound(coords, nc, mp->start);
		uint32_t b = (uint32_t)lower_bound(coords, nc, mp->end);

		for (uint32_t j = unpainted(next, a); j < b; j = unpainted(next, j)) {
			owner[j] = (uint32_t)i;
			next[j] = j + 1;
		}
	}
	for (size_t j = 0; j + 1 < nc; j++) {
		const struct model_map *mp;

		if (owner[j] == UINT32_MAX)
			continue;
		mp = owner[j] < nbase ? &base[owner[j]] : &maps[owner[j] - nbase];
		/* The rest of the piece before, cut by a map now gone: one piece again. */
		if (nv && owner[j - 1] == owner[j]) {
			v[nv - 1].end = coords[j + 1];
			continue;
		}
		v[nv] = *mp;
		v[nv].start = coords[j];
		v[nv].end = coords[j + 1];
		v[nv].pgoff = mp->pgoff + (coords[j] - mp->start);
		nv++;
	}
	*out = v;
	*nout = nv;
	v = NULL;
out:
	free(v);
	free(next);
	free(owner);
	free(coords);
	return err;
}

/*
 * The maps of image as of its first limit MAP records, over what it inherited.
 * *owned says whether the caller must free *out; the full view is cached.
 */
static int view__build(struct model *m, uint32_t img, size_t limit, int depth,
		       struct model_map **out, size_t *nout, bool *owned)
{
	struct image *im = &m->images[img];
	struct model_map *base = NULL, *v;
	size_t nbase = 0, n;
	bool base_owned = false;
	int err;

	if (limit > im->nmaps)
		limit = im->nmaps;
	if (im->view_refused)
		return -E2BIG;
	if (limit == im->nmaps && im->view_built) {
		*out = im->view;
		*nout = im->nview;
		*owned = false;
		return 0;
	}
	if (im->parent != IMAGE_NONE && depth < FORK_DEPTH_MAX) {
		err = view__build(m, im->parent, im->parent_maps, depth + 1, &base, &nbase,
				  &base_owned);
		if (err)
			goto refused;
	}
	if (!limit) {
		v = base;
		n = nbase;
	} else {
		err = view__overlay(m, base, nbase, im->maps, limit, &v, &n);
		if (base_owned)
			free(base);
		if (err)
			goto refused;
		base_owned = true;
	}
	if (limit == im->nmaps && im->view_built) {
		/* Built meanwhile, through a chain the depth limit cut: keep the first. */
		if (base_owned)
			free(v);
		*out = im->view;
		*nout = im->nview;
		*owned = false;
		return 0;
	}
	if (limit == im->nmaps) {
		im->view = v;
		im->nview = n;
		im->view_owned = base_owned;
		im->view_built = true;
		m->views_built = true;
		base_owned = false;
	}
	*out = v;
	*nout = n;
	*owned = base_owned;
	return 0;
refused:
	/* Once past the budget, the image stays without maps rather than be tried again. */
	if (err == -E2BIG && !im->view_refused) {
		im->view_refused = true;
		m->stats.unmapped_images++;
	}
	return err;
}

int model__maps(struct model *m, uint32_t image, const struct model_map **maps, size_t *n)
{
	struct model_map *v;
	bool owned;
	int err;

	if (image >= m->nimages)
		return -EINVAL;
	err = view__build(m, image, m->images[image].nmaps, 0, &v, n, &owned);
	if (err)
		return err;
	*maps = v;
	return 0;
}

const struct model_map *model__find_map(struct model *m, uint32_t image, uint64_t addr)
{
	struct model_map *v;
	size_t n, lo = 0, hi;
	bool owned;
	int err;

	errno = 0;
	if (image >= m->nimages)
		return NULL;
	err = view__build(m, image, m->images[image].nmaps, 0, &v, &n, &owned);
	if (err) {
		errno = -err;
		return NULL;
	}
	/* The last map starting at or below addr. */
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && addr < v[lo - 1].end)
		return &v[lo - 1];
	return NULL;
}
