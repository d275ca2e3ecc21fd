/*
 * The files and call stacks a trace defines, by id, and the stacks record -g
 * dwarf copied, unwound (through the unwinder report gives the model) when
 * the event that uses one says which process image it belongs to.
 *
 * Stacks are a tree of nodes, each a frame and its caller's node, so that
 * the model's memory grows with the distinct nodes of the call tree, not
 * with stacks times their depth: format 1.5 writes the tree as is (FRAME and
 * STACK_NODE records), and the whole stacks of older traces and of -g dwarf
 * are found or made in it frame by frame.  Frames (an address and whether it
 * is an exact pc) are each kept once, so that report symbolizes each once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

int model__on_file(struct model *m, const struct mpf_file *f)
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

/*
 * What the stack table's budget (model__set_trace_size) charges: a node (its
 * parent and frame, its depth, and its share of the node index when the
 * model made it), a frame (its address and kind, its index entry, its id's
 * entry), a run of node ids, and an id kept in a hash map.  Hash map entries
 * are 24 bytes in tables at most half full.
 */
#define NODE_COST (2 * sizeof(uint32_t) + sizeof(uint16_t) + 8)
#define FRAME_COST (sizeof(uint64_t) + 1 + 8 + sizeof(uint32_t))
#define RUN_COST sizeof(struct id_run)
#define ID_COST 48

/* Charges cost to the budget: false, with the stack counted dropped, past it. */
static bool stacks__charge(struct model *m, uint64_t cost)
{
	struct model_stats *st = &m->stats;

	if (st->stack_bytes + cost > st->stack_budget) {
		st->stacks_dropped++;
		return false;
	}
	st->stack_bytes += cost;
	return true;
}

static uint64_t frame_hash(uint64_t ip, uint8_t flags)
{
	return hash_pair(ip, flags);
}

struct frame_key {
	uint64_t ip;
	uint8_t flags;
};

static bool frame_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct model *m = ctx;
	const struct frame_key *k = key;

	return m->frame_ips[idx] == k->ip && m->frame_flags[idx] == k->flags;
}

static uint64_t frame_rehash(const void *ctx, uint32_t idx)
{
	const struct model *m = ctx;

	return frame_hash(m->frame_ips[idx], m->frame_flags[idx]);
}

static uint64_t node_hash(uint32_t parent, uint32_t frame)
{
	return hash_u64((uint64_t)parent << 32 | frame);
}

struct node_key {
	uint32_t parent, frame;
};

static bool node_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct model *m = ctx;
	const struct node_key *k = key;

	return node__frame(m, idx) == k->frame && node__parent(m, idx) == k->parent;
}

static uint64_t node_rehash(const void *ctx, uint32_t idx)
{
	const struct model *m = ctx;

	return node_hash(node__parent(m, idx), node__frame(m, idx));
}

/* The frame (ip, flags), or IDXTAB_NONE. */
static uint32_t frame__find(const struct model *m, uint64_t ip, uint8_t flags)
{
	const struct frame_key k = { ip, flags };

	return idxtab__find(&m->frame_index, frame_hash(ip, flags), frame_eq, m, &k);
}

/* The frame (ip, flags), made when new (not charged: the caller did). */
static int frame__intern(struct model *m, uint64_t ip, uint8_t flags, uint32_t *frame)
{
	uint32_t f = frame__find(m, ip, flags);
	int err;

	if (f != IDXTAB_NONE) {
		*frame = f;
		return 0;
	}
	if (m->nframes >= UINT32_MAX - 1)
		return -ENOMEM;
	err = ARRAY_RESERVE(m->frame_ips, m->frames_cap, m->nframes + 1);
	if (!err)
		err = ARRAY_RESERVE(m->frame_flags, m->frame_flags_cap, m->nframes + 1);
	if (err)
		return err;
	m->frame_ips[m->nframes] = ip;
	m->frame_flags[m->nframes] = flags;
	err = idxtab__insert(&m->frame_index, frame_hash(ip, flags), (uint32_t)m->nframes,
			     frame_rehash, m);
	if (err)
		return err;
	*frame = (uint32_t)m->nframes++;
	return 0;
}

/* Frame indices from UINT16_MAX on need four bytes a node: every node gets them. */
static int nodes__widen(struct node_store *ns, size_t n)
{
	uint32_t *w = malloc(ns->frames_cap * sizeof(*w));

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		w[i] = ns->frame16[i];
	free(ns->frame16);
	ns->frame16 = NULL;
	ns->frame32 = w;
	return 0;
}

/* Room for node n, its frame and its bit. */
/* Room for the frames of nodes up to end, the n made so far widened if high needs 32 bits. */
static int nodes__reserve_frames(struct node_store *ns, size_t n, size_t end, uint32_t high)
{
	int err;

	if (ns->frame32)
		err = ARRAY_RESERVE(ns->frame32, ns->frames_cap, end);
	else
		err = ARRAY_RESERVE(ns->frame16, ns->frames_cap, end);
	if (!err && !ns->frame32 && high >= UINT16_MAX)
		err = nodes__widen(ns, n);
	return err;
}

/* Word w of the head bits begun: its bits clear, the heads before it counted. */
static int nodes__begin_word(struct node_store *ns, size_t w)
{
	int err = ARRAY_RESERVE(ns->head_words, ns->words_cap, w + 1);

	if (!err)
		ns->head_words[w] = (struct head_word){ .rank = (uint32_t)ns->nheads };
	return err;
}

static int nodes__reserve(struct node_store *ns, size_t n, uint32_t frame)
{
	int err = nodes__reserve_frames(ns, n, n + 1, frame == MODEL_FRAME_NONE ? 0 : frame);

	if (!err && !(n & 63))
		err = nodes__begin_word(ns, n >> 6);
	return err;
}

/*
 * A new node (frame called from parent, depth frames deep), not indexed; the
 * caller bounded its depth, which it knows from the parent's.
 */
static int node__new(struct model *m, uint32_t parent, uint32_t depth, uint32_t frame,
		     uint32_t *node)
{
	struct node_store *ns = &m->nodes;
	uint32_t n = (uint32_t)m->nnodes;
	bool head = n <= MODEL_STACK_TRUNCATED || parent != n - 1;
	int err;

	if (m->nnodes >= UINT32_MAX - 1)
		return -ENOMEM;
	err = nodes__reserve(ns, n, frame);
	if (!err && head)
		err = ARRAY_RESERVE(ns->heads, ns->heads_cap, ns->nheads + 1);
	if (err)
		return err;
	if (ns->frame32)
		ns->frame32[n] = frame;
	else
		ns->frame16[n] = frame == MODEL_FRAME_NONE ? 0 : (uint16_t)frame;
	if (head) {
		ns->heads[ns->nheads++] = (struct node_head){
			.parent = parent,
			.depth = depth,
		};
		ns->head_words[n >> 6].bits |= 1ull << (n & 63);
	}
	*node = n;
	m->nnodes++;
	return 0;
}

/*
 * nr new nodes after the last one, each called from the one before: none is
 * a head, so the run costs a reservation and a store a node.
 */
static int nodes__chain(struct model *m, const uint32_t *frames, uint32_t nr)
{
	struct node_store *ns = &m->nodes;
	size_t n = m->nnodes, end = n + nr;
	uint32_t high = 0;
	int err;

	if (!nr)
		return 0;
	if (end > UINT32_MAX - 1)
		return -ENOMEM;
	for (uint32_t k = 0; k < nr; k++)
		high = frames[k] > high ? frames[k] : high;
	err = nodes__reserve_frames(ns, n, end, high);
	/* The words of bits that start in the run, each with the heads before it. */
	for (size_t w = (n + 63) >> 6; !err && w << 6 < end; w++)
		err = nodes__begin_word(ns, w);
	if (err)
		return err;
	if (ns->frame32)
		memcpy(ns->frame32 + n, frames, nr * sizeof(*frames));
	else
		for (uint32_t k = 0; k < nr; k++)
			ns->frame16[n + k] = (uint16_t)frames[k];
	m->nnodes = end;
	return 0;
}

int stacks__init(struct model *m)
{
	uint32_t node;
	int err = node__new(m, MODEL_STACK_EMPTY, 0, MODEL_FRAME_NONE, &node);

	if (!err)
		err = node__new(m, MODEL_STACK_TRUNCATED, 0, MODEL_FRAME_NONE, &node);
	return err;
}

void stacks__free(struct model *m)
{
	free(m->nodes.frame16);
	free(m->nodes.frame32);
	free(m->nodes.head_words);
	free(m->nodes.heads);
	idxtab__free(&m->node_index);
	free(m->frame_ips);
	free(m->frame_flags);
	idxtab__free(&m->frame_index);
	free(m->frame_ids);
	hmap__free(&m->frame_ids_far);
	free(m->runs);
	hmap__free(&m->stack_ids);
}

/* The node of stack id, or IDXTAB_NONE when the trace never defined it. */
static uint32_t stack_id__find(struct model *m, uint32_t id)
{
	const uint64_t *v;
	size_t lo = 0, hi = m->nruns;
	const struct id_run *r;

	if (hmap__count(&m->stack_ids)) {
		v = hmap__find(&m->stack_ids, id, 0);
		if (v)
			return (uint32_t)*v;
	}
	/* Events use the stacks defined last, mostly: try the run before searching. */
	r = m->nruns ? &m->runs[m->run_hint] : NULL;
	if (r && id >= r->id && id - r->id < r->n)
		return r->node + (id - r->id);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->runs[mid].id <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || id - m->runs[lo - 1].id >= m->runs[lo - 1].n)
		return IDXTAB_NONE;
	m->run_hint = lo - 1;
	return m->runs[lo - 1].node + (id - m->runs[lo - 1].id);
}

/* Ids id .. id + n - 1 are nodes node .. node + n - 1 from now on. */
static int stack_ids__set(struct model *m, uint32_t id, uint32_t node, uint32_t n)
{
	struct id_run *last = m->nruns ? &m->runs[m->nruns - 1] : NULL;
	int err;

	/* Above every id of the runs: a run, else (redefined, out of order) one entry each. */
	if (last && id < last->id + last->n) {
		for (uint32_t k = 0; k < n; k++) {
			if (!stacks__charge(m, ID_COST))
				return 0;
			err = hmap__set(&m->stack_ids, id + k, 0, node + k);
			if (err)
				return err;
		}
		return 0;
	}
	/* A later definition of an id the map holds replaces it there. */
	for (uint32_t k = 0; hmap__count(&m->stack_ids) && k < n; k++)
		if (hmap__find(&m->stack_ids, id + k, 0))
			hmap__set(&m->stack_ids, id + k, 0, node + k);
	if (last && id == last->id + last->n && node == last->node + last->n) {
		last->n += n;
		return 0;
	}
	if (!stacks__charge(m, RUN_COST))
		return 0;
	err = ARRAY_RESERVE(m->runs, m->runs_cap, m->nruns + 1);
	if (err)
		return err;
	m->runs[m->nruns++] = (struct id_run){ .id = id, .node = node, .n = n };
	return 0;
}

/* The frame of FRAME record id, or IDXTAB_NONE. */
static uint32_t frame_id__find(const struct model *m, uint32_t id)
{
	const uint64_t *v;

	if (id < m->nframe_ids && m->frame_ids[id])
		return m->frame_ids[id] - 1;
	v = hmap__find(&m->frame_ids_far, id, 0);
	return v ? (uint32_t)*v : IDXTAB_NONE;
}

/*
 * Frame id is frame from now on.  Ids are written in a row: a table indexed
 * by id, unless an id is far past the frames defined (a hostile trace), which
 * goes to a hash map.  An id the table covers is always set in the table, so
 * that its later definitions win over an earlier one in the map.
 */
static int frame_id__set(struct model *m, uint32_t id, uint32_t frame)
{
	size_t n;
	int err;

	if (id >= m->nframe_ids) {
		if (id > 2 * m->nframes + 65536)
			return hmap__set(&m->frame_ids_far, id, 0, frame);
		n = (size_t)id + 1;
		err = ARRAY_RESERVE(m->frame_ids, m->frame_ids_cap, n);
		if (err)
			return err;
		memset(m->frame_ids + m->nframe_ids, 0, (n - m->nframe_ids) * sizeof(*m->frame_ids));
		m->nframe_ids = n;
	}
	m->frame_ids[id] = frame + 1;
	return 0;
}

/* FRAME: each address once, whatever its ids; ids defined again take their latest. */
int model__on_frame(struct model *m, const struct mpf_frame *f)
{
	uint8_t flags = f->flags & MPF_FRAME_EXACT;
	uint32_t frame;
	int err;

	for (uint32_t k = 0; k < f->nr && k < MPF_STACK_MAX; k++) {
		uint32_t id = f->id + k;

		if (!id)
			continue;
		if (frame__find(m, f->ips[k], flags) == IDXTAB_NONE &&
		    !stacks__charge(m, FRAME_COST))
			return 0;
		err = frame__intern(m, f->ips[k], flags, &frame);
		if (!err && id >= m->nframe_ids && id > 2 * m->nframes + 65536 &&
		    !stacks__charge(m, ID_COST))
			return 0;
		if (!err)
			err = frame_id__set(m, id, frame);
		if (err)
			return err;
	}
	return 0;
}

/*
 * STACK_NODE: nodes made as the trace says, not looked up: the writer wrote
 * each once (again only after it forgot them).  A run whose parent or frames
 * the trace never defined, or that would make a stack of more than
 * MPF_STACK_MAX frames, is not kept: the events using its ids have no stack.
 */
int model__on_stack_node(struct model *m, const struct mpf_stack_node *n)
{
	uint32_t parent, depth, frames[MPF_STACK_MAX], first;
	uint32_t nr = n->nr > MPF_STACK_MAX ? MPF_STACK_MAX : n->nr;
	int err;

	if (!n->id || !nr || n->id > UINT32_MAX - nr)
		return 0;
	if (n->parent)
		parent = stack_id__find(m, n->parent);
	else
		parent = n->flags & MPF_STACK_TRUNCATED ? MODEL_STACK_TRUNCATED : MODEL_STACK_EMPTY;
	depth = parent == IDXTAB_NONE ? MPF_STACK_MAX : node__depth(m, parent);
	if (depth + nr > MPF_STACK_MAX) {
		m->stats.stacks_bad++;
		return 0;
	}
	for (uint32_t k = 0; k < nr; k++) {
		frames[k] = frame_id__find(m, n->frames[k]);
		if (frames[k] == IDXTAB_NONE) {
			m->stats.stacks_bad++;
			return 0;
		}
	}
	if (!stacks__charge(m, (uint64_t)nr * NODE_COST))
		return 0;
	err = node__new(m, parent, depth + 1, frames[0], &first);
	if (!err)
		err = nodes__chain(m, frames + 1, nr - 1);
	return err ? err : stack_ids__set(m, n->id, first, nr);
}

/*
 * The node of a whole stack (a STACK record of format 1.3 and before, or a
 * stack record -g dwarf copied, unwound): found or made in the tree, from its
 * outermost frame in, so that equal stacks are one node.  IDXTAB_NONE past
 * the budget.
 */
static int stacks__intern(struct model *m, const uint64_t *ips, uint32_t nr, uint32_t flags,
			  uint32_t *out)
{
	uint32_t node = flags & MPF_STACK_TRUNCATED ? MODEL_STACK_TRUNCATED : MODEL_STACK_EMPTY;
	uint64_t cost = 0;
	int i, err;

	/* The part of it the tree has. */
	for (i = (int)nr - 1; i >= 0; i--) {
		uint8_t ff = i == 0 && (flags & MPF_STACK_FIRST_IS_IP) ? MPF_FRAME_EXACT : 0;
		struct node_key k = { node, frame__find(m, ips[i], ff) };
		uint32_t next;

		if (k.frame == IDXTAB_NONE)
			break;
		next = idxtab__find(&m->node_index, node_hash(k.parent, k.frame), node_eq, m, &k);
		if (next == IDXTAB_NONE)
			break;
		node = next;
	}
	for (int j = i; j >= 0; j--) {
		uint8_t ff = j == 0 && (flags & MPF_STACK_FIRST_IS_IP) ? MPF_FRAME_EXACT : 0;

		cost += NODE_COST + (frame__find(m, ips[j], ff) == IDXTAB_NONE ? FRAME_COST : 0);
	}
	if (cost && !stacks__charge(m, cost)) {
		*out = IDXTAB_NONE;
		return 0;
	}
	for (; i >= 0; i--) {
		uint8_t ff = i == 0 && (flags & MPF_STACK_FIRST_IS_IP) ? MPF_FRAME_EXACT : 0;
		uint32_t frame, parent = node;

		err = frame__intern(m, ips[i], ff, &frame);
		if (!err)
			err = node__new(m, parent, nr - (uint32_t)i, frame, &node);
		if (!err)
			err = idxtab__insert(&m->node_index, node_hash(parent, frame), node,
					     node_rehash, m);
		if (err)
			return err;
	}
	*out = node;
	return 0;
}

/*
 * A stack under an id (STACK records, stacks unwound).  Equal stacks share one
 * node: record wrote each distinct stack once but again under a new id after
 * its table restarted, and unwound copies of one call path are equal.  Past
 * the budget a new stack is not kept, nor its id: the events that use it have
 * no stack.
 */
int model__on_stack(struct model *m, const struct mpf_stack *s)
{
	uint32_t nr = s->nr > MPF_STACK_MAX ? MPF_STACK_MAX : s->nr, node;
	int err;

	if (!s->id)
		return 0;
	if (!nr)
		return hmap__set(&m->stack_ids, s->id, 0, MODEL_STACK_EMPTY);
	err = stacks__intern(m, s->ips, nr, s->flags, &node);
	if (err || node == IDXTAB_NONE || !stacks__charge(m, ID_COST))
		return err;
	/* Ids are looked up when used, so a redefined id does not change earlier sites. */
	return hmap__set(&m->stack_ids, s->id, 0, node);
}

void model__set_unwinder(struct model *m, model_unwind_fn fn, void *ctx)
{
	m->unwind = fn;
	m->unwind_ctx = ctx;
}

int model__on_ustack(struct model *m, const struct mpf_ustack *u)
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
 * call path differ in their locals): model__on_stack() keeps one of each.
 */
static void model__unwind_pending(struct model *m, uint32_t img)
{
	struct mpf_stack st = { .id = m->pending.id, .flags = m->pending.flags };
	bool truncated = false;
	int n = 0;

	m->pending.id = 0;
	if (m->unwind)
		n = m->unwind(m->unwind_ctx, img, &m->pending, m->unwound, MPF_STACK_MAX,
			      &truncated);
	if (m->unwind) {
		m->stats.ustacks++;
		m->stats.ustacks_truncated += truncated;
	}
	if (truncated)
		st.flags |= MPF_STACK_TRUNCATED;
	if (n <= 0) {
		hmap__set(&m->stack_ids, st.id, 0, MODEL_STACK_EMPTY);
		return;
	}
	st.nr = n;
	st.ips = m->unwound;
	/* Out of memory or past the budget: the id stays undefined, the event has no stack. */
	(void)model__on_stack(m, &st);
}

/* The node of stack id as the stack table has it now, no USTACK pending for it. */
static uint32_t stack_id__node(struct model *m, uint32_t id)
{
	uint32_t node;

	if (!id)
		return MODEL_STACK_EMPTY;
	node = stack_id__find(m, id);
	if (node != IDXTAB_NONE)
		return node;
	/*
	 * Remembered so each id is counted once; failing to remember only
	 * recounts it.  Once stacks were dropped, an id not found is most
	 * likely one of theirs, which stacks_dropped counts.
	 */
	if (!m->stats.stacks_dropped)
		m->stats.undefined_stacks++;
	hmap__set(&m->stack_ids, id, 0, MODEL_STACK_EMPTY);
	return MODEL_STACK_EMPTY;
}

uint32_t model__stack_of(struct model *m, uint32_t img, uint32_t id)
{
	if (id && id == m->pending.id)
		model__unwind_pending(m, img);
	return stack_id__node(m, id);
}

uint32_t model__stack_node(struct model *m, uint32_t img, uint32_t id)
{
	return m->id_is_node ? id : model__stack_of(m, img, id);
}

/*
 * The reader's stage (mpf_reader__set_stage()): the stack table is built in
 * the reader's staging thread while the caller's applies the events before,
 * and each event's stack id becomes its node there, in the order of the
 * trace as if model__add() had done it.  Until the first
 * USTACK: a copied stack is unwound in the process image its event names,
 * which only model__add() knows; from then on, and past END, model__add()
 * does it all.
 */
void model__stage(void *ctx, struct mpf_record *rec)
{
	struct model *m = ctx;
	uint32_t *id;
	int err = 0;

	if (m->unstaged)
		return;
	/* Past every stop nothing is built: model__add() skips what defines stacks. */
	if (++m->staged_nrec > m->stage_until) {
		m->unstaged = true;
		return;
	}
	/* A stack's definition is the stage's alone: model__add() needs none of it. */
	switch (rec->type) {
	case MPF_REC_FRAME:
		err = model__on_frame(m, &rec->frame);
		rec->staged = MPF_STAGE_CONSUMED;
		break;
	case MPF_REC_STACK_NODE:
		err = model__on_stack_node(m, &rec->stack_node);
		rec->staged = MPF_STAGE_CONSUMED;
		break;
	case MPF_REC_STACK:
		err = model__on_stack(m, &rec->stack);
		rec->staged = MPF_STAGE_CONSUMED;
		break;
	case MPF_REC_USTACK:
	case MPF_REC_END:
		m->unstaged = true;
		return;
	default:
		id = model__record_stack_id(rec);
		if (!id)
			return;
		*id = stack_id__node(m, *id);
		break;
	}
	rec->staged |= MODEL_STAGED | (uint32_t)-err << 8;
}
