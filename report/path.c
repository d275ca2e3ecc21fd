/*
 * Sites as paths of names (report/path.h).  A trace of millions of distinct
 * stacks has them as a tree of far fewer nodes (model/stacks.c), so both
 * steps of making a path are remembered: each frame's names, for the image
 * last asked (symbolized once per address, however many stacks hold it),
 * and each stack node's tree node, for the tree, image and levels above the
 * stack last asked (a site whose outer frames were seen costs a lookup).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/strtab.h"
#include "lib/text.h"
#include "model/model.h"
#include "report/path.h"
#include "report/tree.h"
#include "symbols/symbolize.h"

/* A frame's names (printable strtab ids), innermost first, for the memo's image. */
struct frame_memo {
	uint32_t gen;		/* valid when the memo's */
	uint32_t off;		/* in path_memo.names */
	uint16_t n;
	bool code;		/* in the image's code: else the stack is cut there */
	bool noted;		/* path_frames noted its names */
};

/*
 * The memo of stack nodes' tree nodes is a cache, not a table of every node:
 * a trace of millions of distinct stacks has over a hundred million stack
 * nodes (four bytes each would be half a gigabyte), and a stack's walk needs
 * only the tree node of its nearest remembered ancestor, which its own
 * nodes, made just before, mostly are.  Slots are found by the node's index,
 * so a run of nodes fills a run of slots; a node whose slot was taken is
 * walked past to an ancestor remembered (at worst a root), which gives the
 * same tree node.  A slot holds its node and the generation of the memo, so
 * that a new tree, image or base forgets every slot at once.
 */
#define NODE_MEMO_MAX (1u << 22)

struct node_slot {
	uint32_t stack;
	uint32_t node;
	uint32_t gen;
};

struct path_memo {
	uint32_t image;		/* of the frames' memo; MODEL_IMAGE_NONE: none yet */
	bool checks;		/* the image's maps say where its code is */
	uint32_t gen;
	struct frame_memo *fr;
	size_t fr_cap;
	uint32_t *names;
	size_t nnames, names_cap;

	/* Stack node -> tree node + 1 (0: not known), for one tree, image and base. */
	struct tree *tree;
	uint32_t t_image, t_base, t_truncated;	/* t_truncated: base's [incomplete], + 1 */
	struct node_slot *slots;
	size_t mask;		/* slots - 1; no slots yet when slots is NULL */
	uint32_t node_gen;	/* of the slots valid now, from 1 */
};

static const char *const key_names[PATH_KEY__MAX] = {
	[PATH_KEY_PROCESS] = "process", [PATH_KEY_COMM] = "comm", [PATH_KEY_THREAD] = "thread",
	[PATH_KEY_FILE] = "file",	[PATH_KEY_FUNCTION] = "function",
};

int path_key_parse(const char *s)
{
	static const struct {
		const char *name;
		enum path_key key;
	} perf[] = {
		{ "pid", PATH_KEY_PROCESS }, { "tid", PATH_KEY_THREAD },
		{ "dso", PATH_KEY_FILE },    { "sym", PATH_KEY_FUNCTION },
	};

	for (int k = 0; k < PATH_KEY__MAX; k++)
		if (!strcmp(s, key_names[k]))
			return k;
	for (size_t i = 0; i < sizeof(perf) / sizeof(perf[0]); i++)
		if (!strcmp(s, perf[i].name))
			return perf[i].key;
	return -1;
}

const char *path_key_name(enum path_key k)
{
	return k < PATH_KEY__MAX ? key_names[k] : "?";
}

/* Notes where name came from, the first time it is seen. */
static int frame_note(struct paths *p, uint32_t name, enum path_category cat,
		      uint32_t executable, uint64_t offset)
{
	struct path_frames *fr = p->frames;
	int err;

	if (!fr || hmap__find(&fr->by_name, name, 0))
		return 0;
	err = ARRAY_RESERVE(fr->v, fr->cap, fr->nr + 1);
	if (!err)
		err = hmap__set(&fr->by_name, name, 0, fr->nr);
	if (err)
		return err;
	fr->v[fr->nr++] = (struct path_frame){
		.executable = executable, .offset = offset, .category = cat
	};
	return 0;
}

int paths__init(struct paths *p, struct model *m, struct symbolizer *sym, struct strtab *names,
		unsigned int flags, struct path_frames *frames)
{
	*p = (struct paths){ .m = m, .sym = sym, .names = names, .flags = flags, .frames = frames };
	p->memo = calloc(1, sizeof(*p->memo));
	if (!p->memo)
		return -ENOMEM;
	p->memo->image = MODEL_IMAGE_NONE;
	if (strtab__intern_id(names, "[unknown]", &p->unknown) ||
	    strtab__intern_id(names, "[incomplete]", &p->truncated) ||
	    strtab__intern_id(names, "[other]", &p->other) ||
	    strtab__intern_id(names, "[kernel]", &p->kernel) ||
	    frame_note(p, p->unknown, PATH_CAT_UNKNOWN, UINT32_MAX, 0) ||
	    frame_note(p, p->truncated, PATH_CAT_UNKNOWN, UINT32_MAX, 0) ||
	    frame_note(p, p->other, PATH_CAT_OTHER, UINT32_MAX, 0) ||
	    frame_note(p, p->kernel, PATH_CAT_KERNEL, UINT32_MAX, 0))
		return -ENOMEM;
	return 0;
}

void paths__release(struct paths *p)
{
	if (p->memo) {
		free(p->memo->fr);
		free(p->memo->names);
		free(p->memo->slots);
		free(p->memo);
	}
	p->memo = NULL;
}

/* The file and offset of the frame at ip, then frame_note for each of its names. */
static int frame_note_ip(struct paths *p, uint32_t image, uint64_t ip, const uint32_t *names,
			 int n)
{
	const struct model_map *map;
	const struct model_file *mf = NULL;
	enum path_category cat = PATH_CAT_UNKNOWN;
	uint32_t exe = UINT32_MAX;
	uint64_t off = ip;
	int err;

	if (!p->frames)
		return 0;
	map = model__find_map(p->m, image, ip);
	if (map && map->file_id)
		mf = model__file(p->m, map->file_id);
	if (mf) {
		const char *base = strrchr(mf->path, '/'), *so;
		char buf[MPF_PATH_MAX + 1];

		base = base && base[1] ? base + 1 : mf->path;
		snprintf(buf, sizeof(buf), "%s", base);
		make_printable(buf);
		err = strtab__intern_id(p->names, buf, &exe);
		if (err)
			return err;
		off = map->pgoff + (ip - map->start);
		so = strstr(buf, ".so");
		cat = so && (!strcmp(so, ".so") || !strncmp(so, ".so.", 4)) ? PATH_CAT_LIBRARY
									     : PATH_CAT_EXECUTABLE;
	}
	for (int i = 0; i < n; i++) {
		bool unknown = !strncmp(strtab__str(p->names, names[i]), "[unknown]", 9);

		err = frame_note(p, names[i], unknown ? PATH_CAT_UNKNOWN : cat, exe, off);
		if (err)
			return err;
	}
	return 0;
}

/* name, made printable, as a path name noted as cat. */
static int intern_name(struct paths *p, char *buf, enum path_category cat, uint32_t *name)
{
	int err;

	make_printable(buf);
	err = strtab__intern_id(p->names, buf, name);
	return err ? err : frame_note(p, *name, cat, UINT32_MAX, 0);
}

/*
 * The names of model frame `frame` in image, innermost first, into *names and
 * *n, and whether it is in the image's code (when not, the stack is cut
 * there, as model__image_stack() cuts it, and it has no names).
 */
static int frame_names(struct paths *p, uint32_t image, uint32_t frame, const uint32_t **names,
		       int *n, bool *code)
{
	struct path_memo *pm = p->memo;
	uint32_t buf[PATH_MAX_NAMES];
	struct frame_memo *f;
	uint64_t ip;
	bool exact;
	int got, err;

	if (image != pm->image) {
		/* Another image: every frame's names again (its maps are not the last one's). */
		pm->image = image;
		pm->checks = model__image_checks_code(p->m, image);
		pm->nnames = 0;
		if (++pm->gen == 0) {
			memset(pm->fr, 0, pm->fr_cap * sizeof(*pm->fr));
			pm->gen = 1;
		}
	}
	if (frame >= pm->fr_cap) {
		size_t old = pm->fr_cap;

		err = ARRAY_RESERVE(pm->fr, pm->fr_cap, model__nr_frames(p->m) > frame
							   ? model__nr_frames(p->m)
							   : (size_t)frame + 1);
		if (err)
			return err;
		memset(pm->fr + old, 0, (pm->fr_cap - old) * sizeof(*pm->fr));
	}
	f = &pm->fr[frame];
	if (f->gen != pm->gen) {
		ip = model__frame_ip(p->m, frame, &exact);
		*f = (struct frame_memo){ .gen = pm->gen, .off = (uint32_t)pm->nnames };
		f->code = !pm->checks || model__frame_in_code(p->m, image, ip, exact);
		if (f->code) {
			got = symbolizer__frames(p->sym, image, ip, exact, buf, PATH_MAX_NAMES);
			if (got < 0)
				return got;
			err = ARRAY_RESERVE(pm->names, pm->names_cap, pm->nnames + got);
			for (int j = 0; !err && j < got; j++)
				err = strtab__printable(p->names, &buf[j]);
			if (err)
				return err;
			memcpy(pm->names + pm->nnames, buf, got * sizeof(*buf));
			pm->nnames += got;
			f->n = (uint16_t)got;
		}
	}
	/* No names at all yet (the frames so far outside code): no array to point into. */
	*names = pm->names ? pm->names + f->off : NULL;
	*n = f->n;
	*code = f->code;
	return 0;
}

/* "comm [pid]", or "comm" alone (folded stacks and diffs merge runs of a program). */
static int process_name(struct paths *p, uint32_t image, bool pid, uint32_t *name)
{
	const char *comm = model__comm(p->m, image);
	char buf[MPF_COMM_LEN + 32];

	if (!comm)
		comm = "[unknown]";
	if (pid)
		snprintf(buf, sizeof(buf), "%s [%" PRIu32 "]", comm, model__pid(p->m, image));
	else
		snprintf(buf, sizeof(buf), "%s", comm);
	return intern_name(p, buf, PATH_CAT_PROCESS, name);
}

/* "name [tid]": the thread's own name, else its process's. */
static int thread_name(struct paths *p, uint32_t image, uint32_t tid, uint32_t *name)
{
	const char *comm = model__thread_comm(p->m, tid);
	char buf[MPF_COMM_LEN + 32];

	if (!comm)
		comm = model__comm(p->m, image);
	snprintf(buf, sizeof(buf), "%s [%" PRIu32 "]", comm ? comm : "[unknown]",
		 tid ? tid : model__pid(p->m, image));
	return intern_name(p, buf, PATH_CAT_PROCESS, name);
}

/* The file of the stack's innermost frame, "[unknown]" when none names it. */
static int file_key(struct paths *p, uint32_t image, uint32_t stack, uint32_t kept, bool kernel,
		    uint32_t *name)
{
	const struct model_map *map = NULL;
	const struct model_file *f = NULL;
	char buf[MPF_PATH_MAX + 1];
	const char *base;
	bool exact;

	if (kernel && !kept) {
		*name = p->kernel;
		return 0;
	}
	if (kept && image != MODEL_IMAGE_NONE)
		map = model__find_map(p->m, image,
				      model__frame_ip(p->m, model__stack_frame(p->m, stack), &exact));
	if (map && map->file_id)
		f = model__file(p->m, map->file_id);
	if (!f) {
		*name = p->unknown;
		return 0;
	}
	base = strrchr(f->path, '/');
	snprintf(buf, sizeof(buf), "%s", base && base[1] ? base + 1 : f->path);
	return intern_name(p, buf, PATH_CAT_EXECUTABLE, name);
}

/*
 * The frames of stack in image, innermost first, into frames from index *nf
 * (at most max in all): each frame's names, up to the first frame outside the
 * image's code, where the stack is cut.  Into *kept the frames kept, into
 * *truncated whether the stack ends short of its outermost frame.
 */
static int stack_names(struct paths *p, uint32_t image, uint32_t stack, uint32_t *frames,
		       size_t *nf, size_t max, uint32_t *kept, bool *truncated)
{
	struct path_memo *pm = p->memo;
	uint32_t ids[MPF_STACK_MAX], root;
	const uint32_t *names;
	size_t nids;
	bool code;
	int got, err;

	*kept = 0;
	if (image == MODEL_IMAGE_NONE) {
		/* No maps to name the frames in: the stack stays whole, unnamed. */
		*truncated = model__stack_root(p->m, stack) == MODEL_STACK_TRUNCATED;
		*kept = model__stack_depth(p->m, stack);
		return 0;
	}
	/* Depths are at most MPF_STACK_MAX: the walk reaches the root. */
	nids = model__stack_frames(p->m, stack, ids, MPF_STACK_MAX, &root);
	*truncated = root == MODEL_STACK_TRUNCATED;
	for (size_t i = 0; i < nids; i++) {
		uint32_t frame = ids[i];

		err = frame_names(p, image, frame, &names, &got, &code);
		if (err)
			return err;
		if (!code) {
			*truncated = true;
			return 0;
		}
		++*kept;
		if (*nf >= max)
			continue;
		if ((size_t)got > max - *nf)
			got = (int)(max - *nf);
		memcpy(&frames[*nf], names, got * sizeof(*names));
		/* Names are noted when first seen: a frame whose names all were needs nothing. */
		if (p->frames && !pm->fr[frame].noted) {
			uint64_t ip;
			bool exact;

			ip = model__frame_ip(p->m, frame, &exact);
			err = frame_note_ip(p, image, ip, &frames[*nf], got);
			if (err)
				return err;
			pm->fr[frame].noted = got == pm->fr[frame].n;
		}
		*nf += got;
	}
	return 0;
}

static int build_path(struct paths *p, uint32_t image, uint32_t tid, uint32_t stack, bool kernel,
		      uint32_t *path, size_t *n)
{
	/* Innermost first here; room for the process after the frames. */
	const size_t max = 2 * MPF_STACK_MAX;
	uint32_t frames[PATH_MAX_NAMES];
	bool frames_only = p->flags & PATH_FRAMES_ONLY, truncated;
	uint32_t proc, kept;
	size_t nf = 0;
	int err;

	if (kernel)
		frames[nf++] = p->kernel;
	err = stack_names(p, image, stack, frames, &nf, max, &kept, &truncated);
	if (err)
		return err;
	/* A site needs a name; an event without a stack (a free) has none. */
	if (truncated)
		frames[nf++] = p->truncated;
	else if (nf == kernel && (kept || !frames_only))
		frames[nf++] = p->unknown;

	*n = 0;
	if (frames_only) {
		for (size_t i = 0; i < nf; i++)
			path[(*n)++] = frames[i];
		return 0;
	}
	for (unsigned int k = 0; k < p->nkeys; k++) {
		uint32_t name = p->unknown;

		switch (p->keys[k]) {
		case PATH_KEY_PROCESS:
		case PATH_KEY_COMM:
			err = process_name(p, image, p->keys[k] == PATH_KEY_PROCESS, &name);
			break;
		case PATH_KEY_THREAD:
			err = thread_name(p, image, tid, &name);
			break;
		case PATH_KEY_FILE:
			err = file_key(p, image, stack, kept, kernel, &name);
			break;
		default:
			/* The innermost function: below [kernel], the one that caused it. */
			err = 0;
			name = nf > (size_t)kernel ? frames[kernel] : frames[0];
			break;
		}
		if (err)
			return err;
		path[(*n)++] = name;
	}
	if (p->flags & PATH_REVERSE) {
		for (size_t i = 0; i < nf; i++)
			path[(*n)++] = frames[i];
	} else if (!p->nkeys) {
		err = process_name(p, image, p->flags & PATH_PID, &proc);
		if (err)
			return err;
		path[(*n)++] = proc;
	}
	if (p->flags & PATH_REVERSE) {
		if (!p->nkeys) {
			err = process_name(p, image, p->flags & PATH_PID, &proc);
			if (err)
				return err;
			path[(*n)++] = proc;
		}
	} else {
		for (size_t i = nf; i-- > 0;)
			path[(*n)++] = frames[i];
	}
	return 0;
}

int paths__site(struct paths *p, const struct model_site *site, uint32_t *path, size_t *n)
{
	return build_path(p, site->image, site->tid, site->stack, site->kernel, path, n);
}

/* The memo of nodes is for tree t, image and base from now on. */
static int node_memo__use(struct paths *p, struct tree *t, uint32_t image, uint32_t base)
{
	struct path_memo *pm = p->memo;
	size_t need = model__nr_stacks(p->m), n = 1024;

	while (n < need && n < NODE_MEMO_MAX)
		n *= 2;
	if (!pm->slots || n > pm->mask + 1) {
		struct node_slot *s = calloc(n, sizeof(*s));

		if (!s)
			return -ENOMEM;
		free(pm->slots);
		pm->slots = s;
		pm->mask = n - 1;
		pm->node_gen = 0;
		pm->tree = NULL;
	}
	if (pm->tree == t && pm->t_image == image && pm->t_base == base)
		return 0;
	if (++pm->node_gen == 0) {
		/* Generations wrapped: slots of the first ones must not match again. */
		memset(pm->slots, 0, (pm->mask + 1) * sizeof(*pm->slots));
		pm->node_gen = 1;
	}
	pm->tree = t;
	pm->t_image = image;
	pm->t_base = base;
	pm->t_truncated = 0;
	return 0;
}

/* The tree node remembered for stack, in *node: false when it is not. */
static bool node_memo__get(const struct path_memo *pm, uint32_t stack, uint32_t *node)
{
	const struct node_slot *s = &pm->slots[stack & pm->mask];

	if (s->gen != pm->node_gen || s->stack != stack)
		return false;
	*node = s->node;
	return true;
}

static void node_memo__set(struct path_memo *pm, uint32_t stack, uint32_t node)
{
	pm->slots[stack & pm->mask] = (struct node_slot){ stack, node, pm->node_gen };
}

/* The node of base's [incomplete], under which the stacks cut short hang. */
static int truncated_node(struct paths *p, struct tree *t, uint32_t *node)
{
	struct path_memo *pm = p->memo;
	int err;

	if (!pm->t_truncated) {
		err = tree__child(t, pm->t_base, p->truncated, node);
		if (err)
			return err;
		pm->t_truncated = *node + 1;
	}
	*node = pm->t_truncated - 1;
	return 0;
}

/*
 * The tree node of stack: its frames from the innermost out to the first stack
 * node the memo knows (or a root), or to the first frame outside the image's
 * code, which cuts the stack (its node is [incomplete]'s, and what lies above
 * it is not looked at); then the nodes of those frames, made from there in.
 */
static int stack_node(struct paths *p, struct tree *t, uint32_t image, uint32_t stack,
		      uint32_t *out)
{
	struct path_memo *pm = p->memo;
	uint32_t chain[MPF_STACK_MAX], node = stack, cur = pm->t_base;
	const uint32_t *names;
	bool code = true, known = false;
	size_t k = 0;
	int got, err = 0;

	/* Depths are at most MPF_STACK_MAX (model/stacks.c): a root is reached before the end. */
	while (node > MODEL_STACK_TRUNCATED && k < MPF_STACK_MAX &&
	       !(known = node_memo__get(pm, node, &cur))) {
		err = frame_names(p, image, model__stack_frame(p->m, node), &names, &got, &code);
		if (err)
			return err;
		if (!code)
			break;
		chain[k++] = node;
		node = model__stack_parent(p->m, node);
	}
	if (!code || node == MODEL_STACK_TRUNCATED) {
		err = truncated_node(p, t, &cur);
		if (!err && !code)
			node_memo__set(pm, node, cur);
	} else if (!known) {
		cur = pm->t_base;
	}
	while (!err && k-- > 0) {
		node = chain[k];
		err = frame_names(p, image, model__stack_frame(p->m, node), &names, &got, &code);
		/* The function first, then what was inlined in it, as the path goes. */
		for (int j = got; !err && j-- > 0;)
			err = tree__child(t, cur, names[j], &cur);
		if (!err)
			node_memo__set(pm, node, cur);
	}
	*out = cur;
	return err;
}

/*
 * Whether the names of stack's frames in image (up to a cut) reach max: a
 * stack of that many names is cut short by build_path(), the outer ones left
 * out.  A frame has at most 17 names (a function and 16 inlined in it), so
 * only deep stacks are walked.
 */
static int names_reach(struct paths *p, uint32_t image, uint32_t stack, size_t max, bool *reach)
{
	const uint32_t *names;
	size_t n = 0;
	bool code;
	int got, err;

	*reach = false;
	if (model__stack_depth(p->m, stack) * 17 < max)
		return 0;
	for (; stack > MODEL_STACK_TRUNCATED; stack = model__stack_parent(p->m, stack)) {
		err = frame_names(p, image, model__stack_frame(p->m, stack), &names, &got, &code);
		if (err || !code)
			return err;
		n += got;
		if (n >= max) {
			*reach = true;
			return 0;
		}
	}
	return 0;
}

int paths__site_node(struct paths *p, struct tree *t, const struct model_site *site,
		     uint32_t *node)
{
	uint32_t base = TREE_ROOT, name, cur;
	bool reach;
	int err;

	if ((p->flags & (PATH_REVERSE | PATH_FRAMES_ONLY)) || p->frames ||
	    site->image == MODEL_IMAGE_NONE)
		return 0;
	err = names_reach(p, site->image, site->stack, 2 * MPF_STACK_MAX - site->kernel, &reach);
	if (err || reach)
		return err;
	for (unsigned int k = 0; k < p->nkeys; k++) {
		switch (p->keys[k]) {
		case PATH_KEY_PROCESS:
		case PATH_KEY_COMM:
			err = process_name(p, site->image, p->keys[k] == PATH_KEY_PROCESS, &name);
			break;
		case PATH_KEY_THREAD:
			err = thread_name(p, site->image, site->tid, &name);
			break;
		default:
			/* Keys of the innermost frame: every stack has its own levels above. */
			return 0;
		}
		if (!err)
			err = tree__child(t, base, name, &base);
		if (err)
			return err;
	}
	if (!p->nkeys) {
		err = process_name(p, site->image, p->flags & PATH_PID, &name);
		if (!err)
			err = tree__child(t, base, name, &base);
		if (err)
			return err;
	}
	err = node_memo__use(p, t, site->image, base);
	if (err)
		return err;
	if (site->stack == MODEL_STACK_EMPTY)
		err = tree__child(t, base, p->unknown, &cur);
	else
		err = stack_node(p, t, site->image, site->stack, &cur);
	if (err)
		return err;
	if (site->kernel) {
		err = tree__child(t, cur, p->kernel, &cur);
		if (err)
			return err;
	}
	*node = cur;
	return 1;
}

int paths__stack(struct paths *p, uint32_t image, uint32_t tid, uint32_t stack, bool kernel,
		 uint32_t *path, size_t *n)
{
	return build_path(p, image, tid, stack, kernel, path, n);
}

int paths__frame_names(struct paths *p, uint32_t image, uint32_t frame, const uint32_t **names,
		       int *n, bool *code)
{
	return frame_names(p, image, frame, names, n, code);
}

int paths__process(struct paths *p, uint32_t image, uint32_t *name)
{
	return process_name(p, image, p->flags & PATH_PID, name);
}

int paths__too_long(struct paths *p, const struct model_site *site, bool *too_long)
{
	return names_reach(p, site->image, site->stack, 2 * MPF_STACK_MAX - site->kernel, too_long);
}

const struct path_frame *path_frames__find(const struct path_frames *f, uint32_t name)
{
	const uint64_t *i = f ? hmap__find(&f->by_name, name, 0) : NULL;

	return i ? &f->v[*i] : NULL;
}

void path_frames__free(struct path_frames *f)
{
	hmap__free(&f->by_name);
	free(f->v);
	*f = (struct path_frames){ 0 };
}
