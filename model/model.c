/*
 * The model behind every command that reads a trace: applies each record to
 * a set of tables and keeps, per event type and allocation site, the bytes
 * allocated and still live.  Traces hold tens of millions of events, so the
 * per-event path does a few hash lookups and no allocation: the live blocks
 * and pages sit in hash maps sized by doubling.  This file holds the model's
 * life, the dispatch of records to the files that apply each kind, the
 * filters and the queries.
 *
 * "Live" follows the issue that defined it: for a process that exits during
 * the recording, live means live when it began to exit, so the frees of its
 * exit teardown (flagged by the recorder, or later than its EXIT record) do not
 * count.  A free of something allocated before the recording is ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

struct model *model__new(uint32_t page_size)
{
	struct model *m = aligned_alloc(MODEL_LINE, sizeof(*m));

	if (!m)
		return NULL;
	memset(m, 0, sizeof(*m));
	m->page_size = page_size ? page_size : 4096;
	m->last_image = IMAGE_NONE;
	m->stacks_until = m->stage_until = UINT64_MAX;
	if (stacks__init(m)) {
		stacks__free(m);
		free(m);
		errno = ENOMEM;
		return NULL;
	}
	m->heap = HASHMAP_INIT(struct heap_slot, 16);
	m->pages = (struct page_table){ HASHMAP_INIT(struct page_slot, 8), MPF_EV_PAGE };
	m->cache = (struct page_table){ HASHMAP_INIT(struct page_slot, 8), MPF_EV_CACHE };
	m->point_step = 1000;	/* 1 us, doubled each time the timeline fills */
	m->stats.stack_budget = MODEL_STACK_BUDGET_BASE;
	return m;
}

void model__set_trace_size(struct model *m, uint64_t bytes)
{
	const uint64_t room = UINT64_MAX - MODEL_STACK_BUDGET_BASE;
	uint64_t extra = bytes > room / MODEL_STACK_BUDGET_PER_BYTE
				 ? room
				 : bytes * MODEL_STACK_BUDGET_PER_BYTE;

	m->stats.stack_budget = MODEL_STACK_BUDGET_BASE + extra;
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
		free(m->images[i].series);
	}
	free(m->points);
	free(m->dirty);
	free(m->images);
	hmap__free(&m->pids);
	for (size_t i = 0; i < m->nfiles; i++)
		free((char *)m->files[i].path);
	free(m->files);
	hmap__free(&m->file_ids);
	stacks__free(m);
	free(m->pending_data);
	for (int ev = 0; ev < MPF_EV__MAX; ev++) {
		free(m->sites[ev].v);
		free(m->sites[ev].basic);
		free(m->sites[ev].more);
		free(m->sites[ev].live_bits);
		hashmap__free(&m->sites[ev].live);
		free(m->sites[ev].sorted);
		free(m->sites[ev].wide);
		idxtab__free(&m->sites[ev].index);
	}
	hashmap__free(&m->heap);
	hmap__free(&m->last_alloc);
	hashmap__free(&m->pages.map);
	hashmap__free(&m->cache.map);
	for (size_t i = 0; i < m->ninfos; i++) {
		free(m->infos[i].key);
		free(m->infos[i].value);
	}
	free(m->infos);
	hmap__free(&m->thread_names);
	free(m->thread_comms);
	free(m);
}

/* ---- records ---- */

static int model__apply(struct model *m, const struct mpf_record *rec);
static int model__on_info(struct model *m, const struct mpf_record *rec);

void model__set_event_hook(struct model *m, model_event_fn fn, void *ctx)
{
	m->on_event = fn;
	m->on_event_ctx = ctx;
}

void model__set_stacks_only(struct model *m)
{
	m->stacks_only = true;
}

void model__set_site_counts(struct model *m, enum model_site_counts counts)
{
	/* Only while no site was made: the counts of those are kept or not already. */
	for (int ev = 0; ev < MPF_EV__MAX; ev++)
		if (!m->sites[ev].nr)
			m->sites[ev].counts = counts == MODEL_COUNTS_LIVE && ev != MPF_EV_HEAP
						      ? MODEL_COUNTS_BASIC : counts;
}

/* STACK, USTACK, FRAME, STACK_NODE: a record that defines stacks for the events after it. */
static bool model__record_defines_stack(const struct mpf_record *rec)
{
	return rec->type == MPF_REC_STACK || rec->type == MPF_REC_USTACK ||
	       rec->type == MPF_REC_FRAME || rec->type == MPF_REC_STACK_NODE;
}

/*
 * Where an event record keeps its stack id, NULL for a record without one.
 * Like strchr(), const in, not out: the reader's stage rewrites the id.
 */
uint32_t *model__record_stack_id(const struct mpf_record *rec)
{
	struct mpf_record *r = (struct mpf_record *)rec;

	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
		return &r->page_alloc.stack_id;
	case MPF_REC_HEAP_ALLOC:
		return &r->heap_alloc.stack_id;
	case MPF_REC_HEAP_REALLOC:
		return &r->heap_realloc.stack_id;
	case MPF_REC_CACHE_ADD:
		return &r->cache_add.stack_id;
	case MPF_REC_VM:
		return &r->vm.stack_id;
	default:
		return NULL;
	}
}

bool model__record_pid(const struct mpf_record *rec, uint32_t *pid, uint32_t *stack_id)
{
	const uint32_t *id = model__record_stack_id(rec);

	*stack_id = id ? *id : 0;
	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
		*pid = rec->page_alloc.pid;
		return true;
	case MPF_REC_PAGE_FREE:
		*pid = rec->page_free.pid;
		return true;
	case MPF_REC_HEAP_ALLOC:
		*pid = rec->heap_alloc.pid;
		return true;
	case MPF_REC_HEAP_FREE:
		*pid = rec->heap_free.pid;
		return true;
	case MPF_REC_HEAP_REALLOC:
		*pid = rec->heap_realloc.pid;
		return true;
	case MPF_REC_CACHE_ADD:
		*pid = rec->cache_add.pid;
		return true;
	case MPF_REC_CACHE_DEL:
		*pid = rec->cache_del.pid;
		return true;
	case MPF_REC_VM:
		*pid = rec->vm.pid;
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

	if (!model__record_pid(rec, &pid, &stack_id))
		return 0;
	v = hmap__find(&m->pids, pid, 0);
	if (v)
		img = (uint32_t)*v;
	/* Applied already, so a pending USTACK is unwound now only if the event was ignored. */
	return m->on_event(m->on_event_ctx, rec, img,
			   img == MODEL_IMAGE_NONE ? MODEL_STACK_EMPTY
						   : model__stack_node(m, img, stack_id));
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
	uint64_t last = 0;

	if (ev >= MPF_EV__MAX)
		return;
	m->stop[ev] = records;
	m->stops |= 1u << ev;
	if (m->stops != (1u << MPF_EV__MAX) - 1)
		return;
	for (unsigned int e = 0; e < MPF_EV__MAX; e++)
		last = m->stop[e] > last ? m->stop[e] : last;
	m->stacks_until = m->stage_until = last;
}

void model__set_filter(struct model *m, const struct model_filter *f)
{
	m->filter = *f;
	m->filtered = f->npids || f->ntids || f->ncomms || f->has_time || f->min_size ||
		      f->max_size;
}

const struct model_filtered *model__filtered(const struct model *m)
{
	return &m->filtered_in;
}

/* The thread of an allocation record, 0 for records that do not say. */
static uint32_t record_tid(const struct mpf_record *rec)
{
	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
		return rec->page_alloc.tid;
	case MPF_REC_HEAP_ALLOC:
		return rec->heap_alloc.tid;
	case MPF_REC_HEAP_REALLOC:
		return rec->heap_realloc.tid;
	case MPF_REC_CACHE_ADD:
		return rec->cache_add.tid;
	case MPF_REC_VM:
		return rec->vm.tid;
	default:
		return 0;
	}
}

/* The bytes an allocation record allocates; false for records that allocate nothing sized. */
static bool record_size(const struct model *m, const struct mpf_record *rec, uint64_t *size)
{
	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
		*size = rec->page_alloc.order < 64 ? (uint64_t)m->page_size << rec->page_alloc.order
						   : UINT64_MAX;
		return true;
	/* A failed one (ptr 0) allocated nothing. */
	case MPF_REC_HEAP_ALLOC:
		*size = rec->heap_alloc.size;
		return rec->heap_alloc.ptr;
	case MPF_REC_HEAP_REALLOC:
		*size = rec->heap_realloc.size;
		return rec->heap_realloc.ptr;
	case MPF_REC_CACHE_ADD:
		*size = rec->cache_add.order < 64 ? (uint64_t)m->page_size << rec->cache_add.order
						  : UINT64_MAX;
		return true;
	case MPF_REC_VM:
		*size = rec->vm.call == MPF_VM_MREMAP && rec->vm.len > rec->vm.old_len
				? rec->vm.len - rec->vm.old_len
				: rec->vm.len;
		if (rec->vm.call == MPF_VM_BRK)
			*size = rec->vm.addr > rec->vm.old_addr ? rec->vm.addr - rec->vm.old_addr
								: rec->vm.old_addr - rec->vm.addr;
		return rec->vm.call != MPF_VM_MUNMAP;
	default:
		return false;
	}
}

/* What the filter makes of an event record. */
enum pass {
	PASS_NO,
	PASS_YES,
	PASS_FREE_ONLY,		/* a realloc to a size filtered out: its old block is freed */
};

static enum pass model__passes(struct model *m, const struct mpf_record *rec)
{
	const struct model_filter *f = &m->filter;
	uint32_t pid, stack_id, img, tid;
	uint64_t size;
	size_t i;

	if (f->has_time && (rec->time < f->time_start || rec->time > f->time_end))
		return PASS_NO;
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
			return PASS_YES;
		break;
	default:
		return PASS_YES;
	}
	model__record_pid(rec, &pid, &stack_id);
	for (i = 0; i < f->npids && f->pids[i] != pid; i++)
		;
	if (f->npids && i == f->npids)
		return PASS_NO;
	tid = record_tid(rec);
	for (i = 0; i < f->ntids && f->tids[i] != tid; i++)
		;
	if (f->ntids && i == f->ntids && rec->type != MPF_REC_RSS)
		return PASS_NO;
	/* A failure to make the image is model__apply's to report. */
	if (f->ncomms && !image_of(m, pid, &img)) {
		for (i = 0; i < f->ncomms && strcmp(m->images[img].comm, f->comms[i]); i++)
			;
		if (i == f->ncomms)
			return PASS_NO;
	}
	if ((f->min_size || f->max_size) && record_size(m, rec, &size) &&
	    ((f->min_size && size < f->min_size) || (f->max_size && size > f->max_size)))
		return rec->type == MPF_REC_HEAP_REALLOC ? PASS_FREE_ONLY : PASS_NO;
	return PASS_YES;
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

	/* What the stage could not do stops the reading as model__apply() would have. */
	if (MODEL_STAGED_ERR(rec->staged))
		return -(int)MODEL_STAGED_ERR(rec->staged);
	m->id_is_node = rec->staged != 0;
	m->nrec++;
	m->now = rec->time;
	if (rec->time > m->last_time)
		m->last_time = rec->time;
	/* What the trace holds, whatever the filters and stops let through. */
	if (ev >= 0)
		m->stats.events[ev]++;
	else if (rec->type == MPF_REC_FORK || rec->type == MPF_REC_EXEC ||
		 rec->type == MPF_REC_EXIT)
		m->stats.events[MPF_LOST_PROC]++;
	if (ev >= 0 && (m->stops & (1u << ev)) && m->nrec > m->stop[ev])
		return 0;
	if (m->nrec > m->stacks_until && model__record_defines_stack(rec))
		return 0;
	if (ev >= 0 && m->filtered) {
		enum pass pass = model__passes(m, rec);

		if (pass == PASS_NO)
			return 0;
		if (pass == PASS_FREE_ONLY) {
			const struct mpf_heap_realloc *r = &rec->heap_realloc;

			return r->old_ptr && (r->ptr || !r->size) && hmap__find(&m->pids, r->pid, 0)
				       ? heap__free(m, r->pid, r->tid, r->old_ptr)
				       : 0;
		}
		/* Frees pass whatever the filter: only what it judged says it matched. */
		if (record_size(m, rec, &(uint64_t){ 0 }) ||
		    (rec->type == MPF_REC_RSS && !m->filter.min_size && !m->filter.max_size))
			m->filtered_in.events++;
	}
	if (timed) {
		err = timeline__before(m, rec->time);
		if (err)
			return err;
	}
	err = model__apply(m, rec);
	if (!err && m->nomem)
		err = -ENOMEM;
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

/*
 * "complete=N no-table=N ...": how the recorder's walks ended, added up over
 * the trace's INFOs; a cause this version has no name for counts as bad-cfi,
 * so that every incomplete walk is counted.
 */
static void model__on_stacks_info(struct model *m, const char *v)
{
	while (v && *v) {
		const char *eq = strchr(v, '='), *end;
		unsigned int i = MPF_UNWIND_BAD;
		uint64_t n;

		if (!eq)
			break;
		for (unsigned int k = 0; k < MPF_UNWIND__MAX; k++)
			if (strlen(mpf_unwind_name(k)) == (size_t)(eq - v) &&
			    !strncmp(v, mpf_unwind_name(k), (size_t)(eq - v)))
				i = k;
		if (eq[1] < '0' || eq[1] > '9')
			break;
		n = strtoull(eq + 1, (char **)&end, 10);
		m->stats.unwind[i] = m->stats.unwind[i] > UINT64_MAX - n ? UINT64_MAX
									 : m->stats.unwind[i] + n;
		m->stats.has_unwind = true;
		v = end + strspn(end, " ");
	}
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
		return rec->staged ? 0 : model__on_stack(m, &rec->stack);
	case MPF_REC_USTACK:
		return model__on_ustack(m, &rec->ustack);
	case MPF_REC_FRAME:
		return rec->staged ? 0 : model__on_frame(m, &rec->frame);
	case MPF_REC_STACK_NODE:
		return rec->staged ? 0 : model__on_stack_node(m, &rec->stack_node);
	case MPF_REC_PAGE_ALLOC:
		if (rec->page_alloc.order > PAGE_ORDER_MAX) {
			m->stats.ignored++;
			return 0;
		}
		return model__on_page_alloc(m, &rec->page_alloc);
	case MPF_REC_PAGE_FREE:
		if (rec->page_free.order > PAGE_ORDER_MAX) {
			m->stats.ignored++;
			return 0;
		}
		model__on_page_free(m, rec);
		return 0;
	case MPF_REC_HEAP_ALLOC:
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
		/* A free by a pid never seen cannot free anything recorded. */
		if ((m->last_image == IMAGE_NONE || m->last_pid != rec->heap_free.pid) &&
		    !hmap__find(&m->pids, rec->heap_free.pid, 0))
			return 0;
		return heap__free(m, rec->heap_free.pid, rec->heap_free.tid, rec->heap_free.ptr);
	case MPF_REC_HEAP_REALLOC:
		if (rec->heap_realloc.ptr && rec->heap_realloc.size > HEAP_SIZE_MAX) {
			m->stats.ignored++;
			return 0;
		}
		return model__on_realloc(m, &rec->heap_realloc);
	case MPF_REC_CACHE_ADD:
		return model__on_cache_add(m, &rec->cache_add);
	case MPF_REC_CACHE_DEL:
		model__on_cache_del(m, &rec->cache_del);
		return 0;
	case MPF_REC_VM:
		if (rec->vm.call >= MPF_VM__MAX) {
			m->stats.ignored++;
			return 0;
		}
		return model__on_vm(m, &rec->vm);
	case MPF_REC_RSS:
		return model__on_rss(m, &rec->rss);
	case MPF_REC_LOST:
		ev = rec->lost.event;
		/* Saturated: counts from the file are added, and must not wrap to small. */
		if (ev < MPF_LOST__MAX)
			m->stats.lost[ev] = rec->lost.count > UINT64_MAX - m->stats.lost[ev]
						    ? UINT64_MAX
						    : m->stats.lost[ev] + rec->lost.count;
		return 0;
	case MPF_REC_END:
		m->stats.has_end = true;
		m->stats.end = rec->end;
		return 0;
	case MPF_REC_INFO:
		if (rec->info.key && !strcmp(rec->info.key, MPF_INFO_STACKS))
			model__on_stacks_info(m, rec->info.value);
		if (rec->info.key && rec->info.value &&
		    !strcmp(rec->info.key, MPF_INFO_HEAP_CHILDREN))
			m->stats.has_heap_children =
				mpf_heap_children_parse(rec->info.value, &m->stats.heap_children);
		if (rec->info.key && rec->info.value &&
		    !strcmp(rec->info.key, MPF_INFO_HEAP_SAMPLE))
			m->heap_sample = strtoull(rec->info.value, NULL, 10);
		return model__on_info(m, rec);
	default:
		/* Record types of newer minor versions: nothing to model. */
		return 0;
	}
}

/* INFO: kept for --header, a few short strings per trace. */
static int model__on_info(struct model *m, const struct mpf_record *rec)
{
	struct model_info *in;
	int err;

	if (!rec->info.key || !rec->info.value || m->ninfos >= 256)
		return 0;
	err = ARRAY_RESERVE(m->infos, m->infos_cap, m->ninfos + 1);
	if (err)
		return err;
	in = &m->infos[m->ninfos];
	in->key = strdup(rec->info.key);
	in->value = strdup(rec->info.value);
	in->time = rec->time;
	if (!in->key || !in->value) {
		free(in->key);
		free(in->value);
		return -ENOMEM;
	}
	m->ninfos++;
	return 0;
}

/* ---- queries ---- */

const char *model__thread_comm(const struct model *m, uint32_t tid)
{
	const uint64_t *v = hmap__find(&m->thread_names, tid, 0);

	return v ? m->thread_comms[*v] : NULL;
}

const struct model_histogram *model__histogram(const struct model *m, unsigned int ev)
{
	return &m->hist[ev < MPF_EV__MAX ? ev : 0];
}

const struct model_info *model__info(const struct model *m, size_t *n)
{
	*n = m->ninfos;
	return m->infos;
}

const char *model__info_get(const struct model *m, const char *key)
{
	for (size_t i = 0; i < m->ninfos; i++)
		if (!strcmp(m->infos[i].key, key))
			return m->infos[i].value;
	return NULL;
}

uint64_t model__last_time(const struct model *m)
{
	return m->last_time;
}

const struct model_stats *model__stats(const struct model *m)
{
	return &m->stats;
}

uint64_t model__heap_sample(const struct model *m)
{
	return m->heap_sample;
}

uint64_t model__lost(const struct model *m, unsigned int c)
{
	uint64_t lost;

	if (c >= MPF_LOST__MAX)
		return 0;
	lost = m->stats.lost[c];
	if (m->stats.has_end && m->stats.end.lost[c] > lost)
		lost = m->stats.end.lost[c];
	return lost;
}

size_t model__nr_sites(const struct model *m, unsigned int ev)
{
	return ev < MPF_EV__MAX ? m->sites[ev].nr : 0;
}

bool model__site_has_live(const struct model *m, unsigned int ev, size_t i)
{
	const struct site_table *t;

	if (ev >= MPF_EV__MAX || i >= m->sites[ev].nr)
		return false;
	t = &m->sites[ev];
	/* Summed: its bit says, without a look-up. */
	if (!t->basic)
		return site__summed_live(t, (uint32_t)i);
	return site__get(t, (uint32_t)i, SITE_LIVE_BYTES) || site__get(t, (uint32_t)i, SITE_LIVE_NR);
}

size_t model__next_live_site(const struct model *m, unsigned int ev, size_t i)
{
	const struct site_table *t;
	uint64_t bits;
	size_t w;

	if (ev >= MPF_EV__MAX)
		return 0;
	t = &m->sites[ev];
	if (t->basic || !t->live_bits) {
		while (i < t->nr && !model__site_has_live(m, ev, i))
			i++;
		return i < t->nr ? i : t->nr;
	}
	/* Summed: a word of bits at a time, most of them clear at the end of a trace. */
	for (w = i / 64; w * 64 < t->nr; w++) {
		bits = t->live_bits[w] & (w == i / 64 ? ~0ull << (i % 64) : ~0ull);
		if (bits) {
			i = w * 64 + (size_t)__builtin_ctzll(bits);
			return i < t->nr ? i : t->nr;
		}
	}
	return t->nr;
}

const struct model_site *model__site(const struct model *m, unsigned int ev, size_t i,
				     struct model_site *buf)
{
	const struct site_table *t;
	const struct site_rec *s;
	uint32_t si = (uint32_t)i;

	if (ev >= MPF_EV__MAX || i >= m->sites[ev].nr)
		return NULL;
	t = &m->sites[ev];
	s = &t->v[si];
	*buf = (struct model_site){
		.image = s->image,
		.tid = s->tid,
		.stack = s->stack,
		.kernel = s->wide & SITE_KERNEL,
		.alloc_bytes = site__get(t, si, SITE_ALLOC_BYTES),
		.alloc_nr = site__get(t, si, SITE_ALLOC_NR),
		.live_bytes = site__get(t, si, SITE_LIVE_BYTES),
		.live_nr = site__get(t, si, SITE_LIVE_NR),
		.tmp_bytes = site__get(t, si, SITE_TMP_BYTES),
		.tmp_nr = site__get(t, si, SITE_TMP_NR),
		.peak_bytes = site__get(t, si, SITE_PEAK_BYTES),
		.peak_nr = site__get(t, si, SITE_PEAK_NR),
	};
	return buf;
}

int model__take_sites(struct model *m, unsigned int ev, model_site_keep_fn keep, void *ctx,
		      struct model_site_value **out, size_t *n)
{
	struct model_site_value *v, *shrunk;
	struct model_site buf;
	struct site_table *t;
	size_t kept = 0;

	*out = NULL;
	*n = 0;
	if (ev >= MPF_EV__MAX)
		return 0;
	t = &m->sites[ev];
	v = (struct model_site_value *)t->v;
	_Static_assert(sizeof(*v) <= sizeof(*t->v), "a site's value fits in its record");
	/* Value i is written where records before i were: none not yet read is overwritten. */
	for (size_t i = 0; i < t->nr; i++) {
		const struct model_site *s = model__site(m, ev, i, &buf);
		uint64_t value;

		if (keep(ctx, s, &value))
			v[kept++] = (struct model_site_value){
				.image = s->image | (s->kernel ? MODEL_SITE_KERNEL : 0),
				.stack = s->stack,
				.value = value,
			};
	}
	free(t->basic);
	free(t->more);
	free(t->live_bits);
	hashmap__free(&t->live);
	free(t->sorted);
	free(t->wide);
	idxtab__free(&t->index);
	*t = (struct site_table){ .counts = t->counts };
	if (!kept) {
		free(v);
		return 0;
	}
	shrunk = realloc(v, kept * sizeof(*v));
	*out = shrunk ? shrunk : v;
	*n = kept;
	return 0;
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
	else if (m->ndirty)
		timeline__note_images_now(m);
	*n = m->npoints;
	return m->points;
}

const struct model_point *model__image_timeline(struct model *m, uint32_t image, size_t *n)
{
	size_t total;

	model__timeline(m, &total);
	if (image >= m->nimages) {
		*n = 0;
		return NULL;
	}
	*n = m->images[image].nseries;
	return m->images[image].series;
}

const char *model__comm(const struct model *m, uint32_t image)
{
	if (image >= m->nimages || !m->images[image].comm[0])
		return NULL;
	return m->images[image].comm;
}

void model__stack(const struct model *m, uint32_t stack, struct model_stack *out)
{
	uint32_t n = stack < m->nnodes ? stack : MODEL_STACK_EMPTY;

	out->flags = 0;
	out->nr = 0;
	if (n > MODEL_STACK_TRUNCATED && (m->frame_flags[node__frame(m, n)] & MPF_FRAME_EXACT))
		out->flags |= MPF_STACK_FIRST_IS_IP;
	/* Depths are bounded when nodes are made: the walk fits. */
	for (; n > MODEL_STACK_TRUNCATED && out->nr < MPF_STACK_MAX; n = node__parent(m, n))
		out->ips[out->nr++] = m->frame_ips[node__frame(m, n)];
	if (n == MODEL_STACK_TRUNCATED)
		out->flags |= MPF_STACK_TRUNCATED;
}

size_t model__nr_stacks(const struct model *m)
{
	return m->nnodes;
}

uint32_t model__stack_parent(const struct model *m, uint32_t stack)
{
	return stack < m->nnodes ? node__parent(m, stack) : MODEL_STACK_EMPTY;
}

uint32_t model__stack_frame(const struct model *m, uint32_t stack)
{
	return stack < m->nnodes ? node__frame(m, stack) : MODEL_FRAME_NONE;
}

unsigned int model__stack_depth(const struct model *m, uint32_t stack)
{
	return stack < m->nnodes ? node__depth(m, stack) : 0;
}

uint32_t model__stack_root(const struct model *m, uint32_t stack)
{
	uint32_t n = stack < m->nnodes ? stack : MODEL_STACK_EMPTY;

	while (n > MODEL_STACK_TRUNCATED)
		n = node__parent(m, n);
	return n;
}

size_t model__stack_frames(const struct model *m, uint32_t stack, uint32_t *frames, size_t max,
			   uint32_t *root)
{
	uint32_t n = stack;
	size_t k = 0;

	if (n >= m->nnodes && n > MODEL_STACK_TRUNCATED) {
		if (max)
			frames[k++] = MODEL_FRAME_NONE;
		*root = MODEL_STACK_EMPTY;
		return k;
	}
	for (; n > MODEL_STACK_TRUNCATED && k < max; n = node__parent(m, n))
		frames[k++] = node__frame(m, n);
	*root = n > MODEL_STACK_TRUNCATED ? model__stack_root(m, n) : n;
	return k;
}

size_t model__nr_frames(const struct model *m)
{
	return m->nframes;
}

uint64_t model__frame_ip(const struct model *m, uint32_t frame, bool *exact)
{
	if (frame >= m->nframes) {
		*exact = false;
		return 0;
	}
	*exact = m->frame_flags[frame] & MPF_FRAME_EXACT;
	return m->frame_ips[frame];
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
