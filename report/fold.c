/*
 * The folded tree (report/fold.h).  A site's path is its process, then the
 * names of its stack's frames from the outermost in (report/path.c's
 * stack_node()), so the paths of one image are the stack tree's, renamed:
 * the children of a path's node are the children of every stack node that
 * path stands for, grouped by their next name.  A node of the walk is such a
 * set of positions in the stack tree, made when its parent's children are
 * asked for and forgotten when the walk leaves the parent.  The stack tree
 * links only children to parents: its nodes come in runs, each the parent of
 * the next, so an image's children are found from the runs it uses (a bit a
 * node says which) and, per run, the runs that branch off it.
 *
 * Images sharing a process name share their paths, and the few sites whose
 * path is not the stack tree's (no image, too many names) are made the
 * report tree's way: those images' sites go to a report tree, whose top level
 * the walk's top level holds beside the other images'.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/hashmap.h"
#include "model/model.h"
#include "report/fold.h"
#include "report/path.h"
#include "report/view.h"

enum elem_kind {
	EL_BASE,	/* an image's process node */
	EL_FRAME,	/* a stack node, k of its names in */
	EL_INCOMPLETE,	/* the image's [incomplete]: the stacks cut short hang below */
	EL_UNKNOWN,	/* the image's [unknown]: empty stacks */
	EL_KERNEL,	/* [kernel] below a stack, the pages the kernel took for itself */
};

struct elem {
	uint64_t self;		/* what the paths ending here hold */
	uint32_t node, run;	/* EL_FRAME: the stack node, its run */
	uint32_t image;
	uint16_t k, names;	/* EL_FRAME: names passed, of names */
	uint8_t kind;
};

/* A node of the walk: elems[off, off + n). */
struct elem_set {
	size_t off, n;
};

/* A child of a node of the walk before grouping: its name and position. */
struct raw_child {
	uint32_t name;
	struct elem e;
};

/* A run of stack nodes of the image, each the parent of the next. */
struct run {
	uint32_t start;
	uint32_t branches;	/* the first of its branches in img_walk.branch */
	uint32_t sites;		/* the first of its sites in the image's */
};

/* A run that branches off another one's node. */
struct branch {
	uint32_t parent, run;
};

/* What one image's walk needs: made when its process node is first asked for. */
struct img_walk {
	uint32_t image;		/* MODEL_IMAGE_NONE: none yet */
	uint64_t *used;		/* a bit per stack node on one of its paths */
	size_t nwords;
	uint32_t lo, hi;	/* the nodes marked are in [lo, hi] */
	struct run *runs;	/* by start, and one past the last */
	size_t nruns, runs_cap;
	struct branch *branch;	/* by parent */
	size_t nbranch, branch_cap;
	uint32_t *cuts;		/* nodes outside the image's code, and the truncated root */
	size_t ncuts, cuts_cap;
	const struct model_site_value *sites;	/* the image's, by stack */
	size_t nsites;
	bool kernel;		/* some of them are of kernel pages */
};

struct fold {
	const struct tree *tree;	/* the report tree, NULL when none */
	struct tree *own;		/* the same, when it is the fold's */
	struct paths *p;
	struct model_site_value *sites;	/* by image, then stack */
	size_t nsites;
	uint32_t *fast;			/* images walked in the stack tree, by process name */
	size_t nfast, fast_cap;
	struct elem *elems;
	size_t nelems, elems_cap;
	struct elem_set *sets;
	size_t nsets, sets_cap;
	struct raw_child *raw;
	size_t nraw, raw_cap;
	struct img_walk w;
};

/* The image of a site value, MODEL_IMAGE_NONE included. */
static uint32_t site_image(const struct model_site_value *v)
{
	uint32_t image = v->image & ~MODEL_SITE_KERNEL;

	return image == (MODEL_IMAGE_NONE & ~MODEL_SITE_KERNEL) ? MODEL_IMAGE_NONE : image;
}

/* A handle of fold__children is a tree node, or a set with this bit. */
#define SET_BIT (1ull << 63)

static bool used(const struct img_walk *w, uint32_t n)
{
	return n / 64 < w->nwords && (w->used[n / 64] >> (n % 64) & 1);
}

static void img_walk__clear(struct img_walk *w)
{
	if (w->used && w->lo <= w->hi)
		memset(w->used + w->lo / 64, 0, (w->hi / 64 - w->lo / 64 + 1) * sizeof(*w->used));
	w->lo = UINT32_MAX;
	w->hi = 0;
	w->nruns = w->nbranch = w->ncuts = 0;
	w->image = MODEL_IMAGE_NONE;
}

static void mark(struct img_walk *w, uint32_t n)
{
	w->used[n / 64] |= 1ull << (n % 64);
	if (n < w->lo)
		w->lo = n;
	if (n > w->hi)
		w->hi = n;
}

static int branch_cmp(const void *a, const void *b)
{
	const struct branch *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return x->run < y->run ? -1 : x->run > y->run;
}

/* The run holding used node n. */
static uint32_t run_of(const struct img_walk *w, uint32_t n)
{
	size_t lo = 0, hi = w->nruns;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->runs[mid].start <= n)
			lo = mid;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/*
 * The image's paths in the stack tree: each site's stack marked up to a root
 * or a node outside the image's code (a cut: what it calls hangs below
 * [incomplete]), then the runs of marked nodes and their branches.
 */
static int img_walk__make(struct fold *f, uint32_t image, const struct model_site_value *sites,
			  size_t nsites)
{
	struct img_walk *w = &f->w;
	struct model *m = f->p->m;
	size_t i, s;
	int err;

	img_walk__clear(w);
	w->image = image;
	w->sites = sites;
	w->nsites = nsites;
	w->kernel = false;
	for (i = 0; i < nsites; i++)
		w->kernel |= sites[i].image & MODEL_SITE_KERNEL;
	if (!w->used) {
		w->nwords = (model__nr_stacks(m) + 63) / 64;
		w->used = calloc(w->nwords ? w->nwords : 1, sizeof(*w->used));
		if (!w->used)
			return -ENOMEM;
	}
	mark(w, MODEL_STACK_EMPTY);
	mark(w, MODEL_STACK_TRUNCATED);
	err = ARRAY_RESERVE(w->cuts, w->cuts_cap, 1);
	if (err)
		return err;
	w->cuts[w->ncuts++] = MODEL_STACK_TRUNCATED;
	for (i = 0; i < nsites; i++) {
		for (uint32_t n = sites[i].stack; n > MODEL_STACK_TRUNCATED && !used(w, n);
		     n = model__stack_parent(m, n)) {
			const uint32_t *names;
			int got;
			bool code;

			mark(w, n);
			err = paths__frame_names(f->p, image, model__stack_frame(m, n), &names, &got,
						 &code);
			if (!err && !code)
				err = ARRAY_RESERVE(w->cuts, w->cuts_cap, w->ncuts + 1);
			if (err)
				return err;
			if (!code) {
				w->cuts[w->ncuts++] = n;
				break;
			}
		}
	}
	/* Runs: marked nodes each the child of the marked node before. */
	for (size_t wi = w->lo / 64; wi <= w->hi / 64; wi++) {
		for (uint64_t bits = w->used[wi]; bits; bits &= bits - 1) {
			uint32_t n = (uint32_t)(wi * 64 + (unsigned int)__builtin_ctzll(bits));
			uint32_t parent = model__stack_parent(m, n);

			if (n > MODEL_STACK_TRUNCATED && parent == n - 1 && used(w, n - 1))
				continue;
			err = ARRAY_RESERVE(w->runs, w->runs_cap, w->nruns + 2);
			if (!err && n > MODEL_STACK_TRUNCATED)
				err = ARRAY_RESERVE(w->branch, w->branch_cap, w->nbranch + 1);
			if (err)
				return err;
			if (n > MODEL_STACK_TRUNCATED)
				w->branch[w->nbranch++] =
					(struct branch){ .parent = parent, .run = (uint32_t)w->nruns };
			w->runs[w->nruns++] = (struct run){ .start = n };
		}
	}
	/* No branches, no array yet: qsort() is not to be given NULL, even for nothing. */
	if (w->nbranch > 1)
		qsort(w->branch, w->nbranch, sizeof(*w->branch), branch_cmp);
	/* Each run's first branch and first site: both are in the order of the runs. */
	for (i = 0, s = 0; i < w->nruns; i++) {
		uint32_t start = w->runs[i].start;

		while (s < w->nbranch && w->branch[s].parent < start)
			s++;
		w->runs[i].branches = (uint32_t)s;
	}
	w->runs[w->nruns] = (struct run){ .start = UINT32_MAX,
					  .branches = (uint32_t)w->nbranch,
					  .sites = (uint32_t)nsites };
	for (i = 0, s = 0; i < w->nruns; i++) {
		while (s < nsites && sites[s].stack < w->runs[i].start)
			s++;
		w->runs[i].sites = (uint32_t)s;
	}
	return 0;
}

/* What the image's sites at node n (in run r) hold: their own, and with [kernel] below. */
static void sites_at(const struct img_walk *w, uint32_t r, uint32_t n, uint64_t *own,
		     uint64_t *kernel)
{
	size_t lo = w->runs[r].sites, end = w->runs[r + 1].sites, hi = end;

	*own = *kernel = 0;
	lo = array__lower_bound_u32(w->sites, lo, hi, sizeof(*w->sites),
				    offsetof(struct model_site_value, stack), n);
	for (; lo < end && w->sites[lo].stack == n; lo++) {
		if (w->sites[lo].image & MODEL_SITE_KERNEL)
			*kernel += w->sites[lo].value;
		else
			*own += w->sites[lo].value;
	}
}

static int raw_push(struct fold *f, uint32_t name, const struct elem *e)
{
	int err = ARRAY_RESERVE(f->raw, f->raw_cap, f->nraw + 1);

	if (!err)
		f->raw[f->nraw++] = (struct raw_child){ .name = name, .e = *e };
	return err;
}

/* Stack node c of run r, in the image's code, as the child named by its function. */
static int push_frame(struct fold *f, uint32_t c, uint32_t r)
{
	struct img_walk *w = &f->w;
	struct elem e = { .kind = EL_FRAME, .node = c, .run = r, .image = w->image, .k = 1 };
	const uint32_t *names;
	uint64_t own, kernel;
	int got, err;
	bool code;

	err = paths__frame_names(f->p, w->image, model__stack_frame(f->p->m, c), &names, &got,
				 &code);
	if (err || !code || got < 1)
		return err;
	e.names = (uint16_t)got;
	if (got == 1) {
		sites_at(w, r, c, &own, &kernel);
		e.self = own;
	}
	/* The function first, then what was inlined in it, as the path goes. */
	return raw_push(f, names[got - 1], &e);
}

/*
 * The children of stack node n of run r: the rest of its run, its branches,
 * and unless it is the empty stack (whose [kernel] is below [unknown]) its
 * [kernel].
 */
static int node_children(struct fold *f, uint32_t n, uint32_t r)
{
	struct img_walk *w = &f->w;
	size_t lo = w->runs[r].branches, hi = w->runs[r + 1].branches;
	uint64_t own, kernel;
	int err = 0;

	/* The next node is the rest of the run when it is not the next run's start. */
	if (n + 1 < w->runs[r + 1].start && used(w, n + 1))
		err = push_frame(f, n + 1, r);
	lo = array__lower_bound_u32(w->branch, lo, hi, sizeof(*w->branch),
				    offsetof(struct branch, parent), n);
	for (; !err && lo < w->nbranch && w->branch[lo].parent == n; lo++)
		err = push_frame(f, w->runs[w->branch[lo].run].start, w->branch[lo].run);
	if (!w->kernel || n == MODEL_STACK_EMPTY)
		return err;
	sites_at(w, r, n, &own, &kernel);
	if (!err && kernel)
		err = raw_push(f, f->p->kernel,
			       &(struct elem){ .kind = EL_KERNEL, .self = kernel, .image = w->image });
	return err;
}

static int expand(struct fold *f, const struct elem *e)
{
	struct img_walk *w = &f->w;
	const uint32_t *names;
	uint64_t own, kernel, sum = 0;
	int got, err = 0;
	bool code;

	if (e->kind != EL_KERNEL && e->image != w->image) {
		/* The image's sites, a run of f->sites. */
		size_t lo = 0, hi = f->nsites, end;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (site_image(&f->sites[mid]) < e->image)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (end = lo; end < f->nsites &&
			       site_image(&f->sites[end]) == e->image;
		     end++)
			;
		err = img_walk__make(f, e->image, f->sites + lo, end - lo);
		if (err)
			return err;
	}
	switch (e->kind) {
	case EL_BASE:
		err = node_children(f, MODEL_STACK_EMPTY, run_of(w, MODEL_STACK_EMPTY));
		sites_at(w, run_of(w, MODEL_STACK_EMPTY), MODEL_STACK_EMPTY, &own, &kernel);
		if (!err && (own || kernel))
			err = raw_push(f, f->p->unknown,
				       &(struct elem){ .kind = EL_UNKNOWN, .self = own,
						       .image = w->image });
		for (size_t i = 0; i < w->ncuts; i++) {
			sites_at(w, run_of(w, w->cuts[i]), w->cuts[i], &own, &kernel);
			sum += own;
		}
		if (!err)
			err = raw_push(f, f->p->truncated,
				       &(struct elem){ .kind = EL_INCOMPLETE, .self = sum,
						       .image = w->image });
		break;
	case EL_UNKNOWN:
		sites_at(w, run_of(w, MODEL_STACK_EMPTY), MODEL_STACK_EMPTY, &own, &kernel);
		if (kernel)
			err = raw_push(f, f->p->kernel,
				       &(struct elem){ .kind = EL_KERNEL, .self = kernel,
						       .image = w->image });
		break;
	case EL_INCOMPLETE:
		for (size_t i = 0; i < w->ncuts && !err; i++)
			err = node_children(f, w->cuts[i], run_of(w, w->cuts[i]));
		break;
	case EL_FRAME:
		if (e->k == e->names)
			return node_children(f, e->node, e->run);
		err = paths__frame_names(f->p, w->image, model__stack_frame(f->p->m, e->node),
					 &names, &got, &code);
		if (!err) {
			struct elem c = *e;

			c.k++;
			c.self = 0;
			if (c.k == c.names)
				sites_at(w, e->run, e->node, &c.self, &kernel);
			err = raw_push(f, names[e->names - 1 - e->k], &c);
		}
		break;
	case EL_KERNEL:
		break;
	}
	return err;
}

static int raw_cmp(const void *a, const void *b)
{
	const struct raw_child *x = a, *y = b;

	return x->name < y->name ? -1 : x->name > y->name;
}

/* Room for k more elements, a set of them, and a child in *v after n. */
static int child_room(struct fold *f, size_t k, struct fold_child **v, size_t *cap, size_t n)
{
	int err = ARRAY_RESERVE(f->elems, f->elems_cap, f->nelems + k);

	if (!err)
		err = ARRAY_RESERVE(f->sets, f->sets_cap, f->nsets + 1);
	if (!err)
		err = ARRAY_RESERVE(*v, *cap, n + 1);
	return err;
}

/* The children of a set: its elements' children, those of one name one child. */
static int set_children(struct fold *f, struct elem_set set, struct fold_child **v, size_t *n,
			size_t *cap)
{
	size_t i, j;
	int err = 0;

	f->nraw = 0;
	for (i = 0; i < set.n && !err; i++) {
		struct elem e = f->elems[set.off + i];

		err = expand(f, &e);
	}
	if (err)
		return err;
	if (f->nraw > 8) {
		qsort(f->raw, f->nraw, sizeof(*f->raw), raw_cmp);
	} else {
		/* Most nodes have a child or two: no call a comparison. */
		for (i = 1; i < f->nraw; i++) {
			struct raw_child x = f->raw[i];

			for (j = i; j > 0 && f->raw[j - 1].name > x.name; j--)
				f->raw[j] = f->raw[j - 1];
			f->raw[j] = x;
		}
	}
	for (i = 0; i < f->nraw; i = j) {
		struct fold_child c = { .name = f->raw[i].name };

		err = child_room(f, f->nraw, v, cap, *n);
		if (err)
			return err;
		f->sets[f->nsets] = (struct elem_set){ .off = f->nelems };
		for (j = i; j < f->nraw && f->raw[j].name == c.name; j++) {
			c.self += f->raw[j].e.self;
			c.sub |= f->raw[j].e.kind != EL_KERNEL;
			f->elems[f->nelems++] = f->raw[j].e;
		}
		f->sets[f->nsets].n = j - i;
		c.node = SET_BIT | f->nsets++;
		(*v)[(*n)++] = c;
	}
	return 0;
}

int fold__children(struct fold *f, uint64_t node, struct fold_child **v, size_t *n,
		   size_t *cap)
{
	int err;

	*n = 0;
	if (node & SET_BIT)
		return set_children(f, f->sets[node & ~SET_BIT], v, n, cap);
	if (f->tree) {
		const struct tree_node *t = tree__node(f->tree, (uint32_t)node);

		for (uint32_t c = t->child; c != TREE_NONE; c = tree__node(f->tree, c)->next) {
			const struct tree_node *cn = tree__node(f->tree, c);

			err = ARRAY_RESERVE(*v, *cap, *n + 1);
			if (err)
				return err;
			(*v)[(*n)++] = (struct fold_child){
				/* Found once: a node's children are far apart in a tree of millions. */
				.name = cn->name,
				.self = tree__self(f->tree, cn, VIEW_VALUE),
				.sub = cn->child != TREE_NONE,
				.node = c,
			};
		}
	}
	if (node != FOLD_ROOT)
		return 0;
	/* The top level: the images walked in the stack tree, each its own process name. */
	for (size_t i = 0; i < f->nfast; i++) {
		uint32_t name;

		err = paths__process(f->p, f->fast[i], &name);
		if (!err)
			err = child_room(f, 1, v, cap, *n);
		if (err)
			return err;
		f->sets[f->nsets] = (struct elem_set){ .off = f->nelems, .n = 1 };
		f->elems[f->nelems++] = (struct elem){ .kind = EL_BASE, .image = f->fast[i] };
		(*v)[(*n)++] = (struct fold_child){ .name = name, .sub = true,
						    .node = SET_BIT | f->nsets++ };
	}
	return 0;
}

struct fold_mark fold__mark(const struct fold *f)
{
	return (struct fold_mark){ .elems = f->nelems, .sets = f->nsets };
}

void fold__release(struct fold *f, struct fold_mark mark)
{
	f->nelems = mark.elems;
	f->nsets = mark.sets;
}

struct fold *fold__of_tree(const struct tree *t)
{
	struct fold *f = calloc(1, sizeof(*f));

	if (f) {
		f->tree = t;
		f->w.image = MODEL_IMAGE_NONE;
	}
	return f;
}

void fold__delete(struct fold *f)
{
	if (!f)
		return;
	tree__delete(f->own);
	free(f->sites);
	free(f->fast);
	free(f->elems);
	free(f->sets);
	free(f->raw);
	free(f->w.used);
	free(f->w.runs);
	free(f->w.branch);
	free(f->w.cuts);
	free(f);
}

struct keep_ctx {
	struct paths *p;
	const struct view_opts *o;
	struct report_section *sec;
};

static bool keep_site(void *ctx, const struct model_site *site, uint64_t *value)
{
	struct keep_ctx *k = ctx;
	uint64_t nr;

	return view__site_value(k->p, k->o, site, k->sec, value, &nr);
}

static int site_value_cmp(const void *a, const void *b)
{
	const struct model_site_value *x = a, *y = b;
	uint32_t xi = site_image(x), yi = site_image(y);

	if (xi != yi)
		return xi < yi ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/*
 * Which images are walked in the stack tree: those whose process name is
 * theirs alone and whose sites' paths are all the stack tree's.  The others'
 * sites go to the report tree.
 */
static int fold__split(struct fold *f)
{
	struct paths *p = f->p;
	struct hmap by_name = { 0 };	/* (name, 0) -> first image + 1, 0: shared or not walked */
	size_t i, j;
	int err = 0;

	for (i = 0; i < f->nsites && !err; i = j) {
		uint32_t image = site_image(&f->sites[i]), name;
		bool fits = image != MODEL_IMAGE_NONE;
		uint64_t *seen;

		for (j = i; j < f->nsites && site_image(&f->sites[j]) == image; j++) {
			struct model_site s = { .image = image, .stack = f->sites[j].stack,
						.kernel = f->sites[j].image & MODEL_SITE_KERNEL };
			bool too_long = false;

			if (fits)
				err = paths__too_long(p, &s, &too_long);
			if (err)
				break;
			fits &= !too_long;
		}
		if (!err)
			err = paths__process(p, image, &name);
		if (err)
			break;
		seen = hmap__find(&by_name, name, 0);
		if (seen)
			*seen = 0;
		else
			err = hmap__set(&by_name, name, 0, fits ? image + 1ull : 0);
	}
	for (i = 0; i < f->nsites && !err; i = j) {
		uint32_t image = site_image(&f->sites[i]), name;
		const uint64_t *first;
		bool fast;

		for (j = i; j < f->nsites && site_image(&f->sites[j]) == image; j++)
			;
		err = paths__process(p, image, &name);
		if (err)
			break;
		first = hmap__find(&by_name, name, 0);
		fast = first && *first == image + 1ull;
		if (fast) {
			err = ARRAY_RESERVE(f->fast, f->fast_cap, f->nfast + 1);
			if (!err)
				f->fast[f->nfast++] = image;
			continue;
		}
		if (!f->own) {
			f->own = tree__new();
			if (!f->own) {
				err = -ENOMEM;
				break;
			}
		}
		for (size_t k = i; k < j && !err; k++) {
			struct model_site s = { .image = image, .stack = f->sites[k].stack,
						.kernel = f->sites[k].image & MODEL_SITE_KERNEL };

			err = view__add_site(f->own, p, &s,
					     (uint64_t[TREE_VALUES]){ [VIEW_VALUE] = f->sites[k].value });
		}
	}
	hmap__free(&by_name);
	if (!err && f->own)
		err = view__finish_unfolded(p, f->own);
	f->tree = f->own;
	return err;
}

int fold__build(struct paths *p, const struct view_opts *o, unsigned int ev, struct fold **out,
		struct report_section *sec)
{
	struct keep_ctx k = { .p = p, .o = o, .sec = sec };
	struct fold *f;
	struct tree *t;
	bool sorted = true;
	int err;

	if ((p->flags & (PATH_REVERSE | PATH_FRAMES_ONLY)) || p->nkeys || p->frames ||
	    o->threshold_kib || o->percent_limit > 0 || o->merge_cache) {
		/* Paths paths__site_node() does not make from the stack tree: a report tree. */
		err = view__build(p, o, ev, &t, sec);
		*out = err ? NULL : fold__of_tree(t);
		if (!err && !*out)
			err = -ENOMEM;
		if (*out)
			(*out)->own = t;
		else
			tree__delete(t);
		return err;
	}
	f = *out = fold__of_tree(NULL);
	if (!f)
		return -ENOMEM;
	f->p = p;
	view__section(p, o, ev, sec);
	err = model__take_sites(p->m, ev, keep_site, &k, &f->sites, &f->nsites);
	if (err)
		return err;
	for (size_t i = 1; i < f->nsites && sorted; i++)
		sorted = site_value_cmp(&f->sites[i - 1], &f->sites[i]) <= 0;
	if (!sorted)
		qsort(f->sites, f->nsites, sizeof(*f->sites), site_value_cmp);
	return fold__split(f);
}
