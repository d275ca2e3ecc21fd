/*
 * The aggregation tree (report/tree.h).  Paths are added one site at a time;
 * a node's children are found on its list while it has a few, and by
 * (parent, name id) in an index table past that, so adding is independent
 * of how many children a node has (the top level of a system-wide trace has
 * one per process), at five bytes a slot of the index.  While paths
 * are added a node holds only what the paths ending at it add; tree__finish
 * sums each node's children into it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/hashmap.h"
#include "lib/idxtab.h"
#include "report/tree.h"

struct tree {
	struct tree_node *nodes;
	size_t nr, cap;
	struct idxtab children;	/* (parent, name) -> node */
	bool summed;		/* by tree__finish: values are of the whole subtrees */
};

static uint64_t child_hash(uint32_t parent, uint32_t name)
{
	return hash_u64((uint64_t)parent << 32 | name);
}

struct child_key {
	uint32_t parent, name;
};

static bool child_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct tree_node *n = &((const struct tree *)ctx)->nodes[idx];
	const struct child_key *k = key;

	return n->parent == k->parent && n->name == k->name;
}

static uint64_t child_rehash(const void *ctx, uint32_t idx)
{
	const struct tree_node *n = &((const struct tree *)ctx)->nodes[idx];

	return child_hash(n->parent, n->name);
}

static int tree__new_node(struct tree *t, uint32_t parent, uint32_t name, uint32_t *idx)
{
	int err;

	if (t->nr >= TREE_NONE)
		return -ENOMEM;
	err = ARRAY_RESERVE(t->nodes, t->cap, t->nr + 1);
	if (err)
		return err;
	t->nodes[t->nr] = (struct tree_node){
		.name = name,
		.parent = parent,
		.child = TREE_NONE,
		.next = TREE_NONE,
	};
	*idx = (uint32_t)t->nr++;
	return 0;
}

struct tree *tree__new(void)
{
	struct tree *t = calloc(1, sizeof(*t));
	uint32_t root;

	if (!t)
		return NULL;
	if (tree__new_node(t, TREE_NONE, TREE_NONE, &root)) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void tree__delete(struct tree *t)
{
	if (!t)
		return;
	free(t->nodes);
	idxtab__free(&t->children);
	free(t);
}

static void node_add(struct tree_node *n, const uint64_t *v)
{
	for (int k = 0; k < TREE_VALUES; k++)
		n->v[k] += v[k];
}

/*
 * Children of a node with fewer than this many are found on its list of
 * children: most nodes of a call tree have one or two, and the index would
 * cost a lookup of a few cache misses and five bytes a slot for each.  The
 * children of a wider node are all in the index, from the one that made it
 * this wide.
 */
#define NARROW 8

static int index_child(struct tree *t, uint32_t node)
{
	const struct tree_node *n = &t->nodes[node];

	return idxtab__insert(&t->children, child_hash(n->parent, n->name), node, child_rehash,
			      t);
}

int tree__child(struct tree *t, uint32_t parent, uint32_t name, uint32_t *node)
{
	unsigned int seen = 0;
	int err;

	for (uint32_t c = t->nodes[parent].child; c != TREE_NONE && seen < NARROW;
	     c = t->nodes[c].next, seen++) {
		if (t->nodes[c].name == name) {
			*node = c;
			return 0;
		}
	}
	if (seen == NARROW) {
		const struct child_key key = { parent, name };
		uint32_t found = idxtab__find(&t->children, child_hash(parent, name), child_eq, t,
					      &key);

		if (found != IDXTAB_NONE) {
			*node = found;
			return 0;
		}
	}
	err = tree__new_node(t, parent, name, node);
	if (err)
		return err;
	/* Linked in any order: tree__finish sorts. */
	t->nodes[*node].next = t->nodes[parent].child;
	t->nodes[parent].child = *node;
	if (seen == NARROW)
		return index_child(t, *node);
	if (seen == NARROW - 1)
		/* Now NARROW children: the list is too long to walk, index them all. */
		for (uint32_t c = *node; c != TREE_NONE && !err; c = t->nodes[c].next)
			err = index_child(t, c);
	return err;
}

void tree__add_at(struct tree *t, uint32_t node, const uint64_t *v)
{
	node_add(&t->nodes[node], v);
}

int tree__add(struct tree *t, const uint32_t *path, size_t n, const uint64_t *v)
{
	uint32_t cur = TREE_ROOT;
	bool any = false;
	int err;

	for (int k = 0; k < TREE_VALUES; k++)
		any |= v[k] != 0;
	if (!any)
		return 0;
	for (size_t i = 0; i < n; i++) {
		err = tree__child(t, cur, path[i], &cur);
		if (err)
			return err;
	}
	node_add(&t->nodes[cur], v);
	return 0;
}

/* Each node's values become those of its subtree: children come after their parents. */
static void tree__sum(struct tree *t)
{
	if (t->summed)
		return;
	for (size_t i = t->nr; i-- > 1;)
		node_add(&t->nodes[t->nodes[i].parent], t->nodes[i].v);
	t->summed = true;
}

struct sort_ctx {
	const struct tree_node *nodes;
	const struct strtab *names;
	const struct tree_order *o;
};

static int node_cmp(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct tree_node *a = &c->nodes[*(const uint32_t *)pa];
	const struct tree_node *b = &c->nodes[*(const uint32_t *)pb];
	uint64_t wa = c->o->weight(a), wb = c->o->weight(b);

	if (wa != wb)
		return wa > wb ? -1 : 1;
	if (c->o->second) {
		wa = c->o->second(a);
		wb = c->o->second(b);
		if (wa != wb)
			return wa > wb ? -1 : 1;
	}
	return strcmp(strtab__str(c->names, a->name), strtab__str(c->names, b->name));
}

/* Of two nodes' self weights, the larger first; the earlier node among equals. */
struct keep_ctx {
	const uint64_t *self;
};

static int keep_cmp(const void *pa, const void *pb, void *arg)
{
	const struct keep_ctx *c = arg;
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	if (c->self[a] != c->self[b])
		return c->self[a] > c->self[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/*
 * Per node, the weight of what it holds by itself (*self), how many paths end
 * in its subtree (*paths), and whether it is on one of the keep heaviest
 * paths (*kept).  A child's index is above its parent's, so one backward pass
 * reaches every child before its parent.
 */
static int tree__weigh(const struct tree *t, const struct tree_order *o, unsigned int keep,
		       uint64_t **self, uint64_t **paths, bool **kept)
{
	uint32_t *order = NULL;
	size_t nr = 0;

	*self = calloc(t->nr, sizeof(**self));
	*paths = calloc(t->nr, sizeof(**paths));
	*kept = calloc(t->nr, sizeof(**kept));
	order = calloc(t->nr, sizeof(*order));
	if (!*self || !*paths || !*kept || !order) {
		free(order);
		return -ENOMEM;
	}
	for (size_t i = t->nr; i-- > 1;) {
		/* What the node holds beyond its children, one node at a time (no copy of the tree). */
		struct tree_node sv = t->nodes[i];
		bool ends = false;

		for (uint32_t c = sv.child; c != TREE_NONE; c = t->nodes[c].next)
			for (int k = 0; k < TREE_VALUES; k++)
				sv.v[k] -= t->nodes[c].v[k];
		for (int k = 0; k < TREE_VALUES; k++)
			ends |= sv.v[k] != 0;
		(*self)[i] = o->weight(&sv);
		/* A path ends here when stacks do, whatever their weight (a diff of 0). */
		if (ends)
			(*paths)[i]++;
		(*paths)[t->nodes[i].parent] += (*paths)[i];
		if ((*self)[i])
			order[nr++] = (uint32_t)i;
	}
	if (keep && nr) {
		struct keep_ctx c = { .self = *self };

		qsort_r(order, nr, sizeof(*order), keep_cmp, &c);
		for (size_t i = 0; i < nr && i < keep; i++)
			for (uint32_t n = order[i]; n != TREE_ROOT && !(*kept)[n];
			     n = t->nodes[n].parent)
				(*kept)[n] = true;
	}
	free(order);
	return 0;
}

int tree__finish(struct tree *t, const struct strtab *names, const struct tree_order *o,
		 struct tree_fold *fold)
{
	uint32_t *kids = NULL;
	size_t cap = 0, nr_nodes = t->nr;
	uint64_t *self = NULL, *paths = NULL;
	bool *kept = NULL, *gone = NULL;
	int err = 0;

	fold->folded_paths = 0;
	memset(fold->folded, 0, sizeof(fold->folded));
	tree__sum(t);
	/* No more paths: the index of children is not needed again. */
	idxtab__free(&t->children);
	if (fold->threshold) {
		err = tree__weigh(t, o, fold->keep_paths, &self, &paths, &kept);
		gone = calloc(t->nr, sizeof(*gone));
		if (!err && !gone)
			err = -ENOMEM;
		if (err)
			goto out;
	}
	/* Only the nodes added by tree__add have children; [other] nodes never do. */
	for (size_t p = 0; p < nr_nodes; p++) {
		uint64_t folded[TREE_VALUES] = { 0 };
		size_t n = 0, kept_nr = 0, nfolded = 0;
		struct sort_ctx ctx;
		uint32_t c, prev;

		/* Inside a subtree folded already: nothing of it is counted again. */
		if (gone && (gone[p] || (p != TREE_ROOT && gone[t->nodes[p].parent]))) {
			gone[p] = true;
			continue;
		}
		for (c = t->nodes[p].child; c != TREE_NONE; c = t->nodes[c].next) {
			err = ARRAY_RESERVE(kids, cap, n + 1);
			if (err)
				goto out;
			kids[n++] = c;
		}
		if (!n)
			continue;
		ctx = (struct sort_ctx){ .nodes = t->nodes, .names = names, .o = o };
		qsort_r(kids, n, sizeof(*kids), node_cmp, &ctx);

		for (size_t i = 0; i < n; i++) {
			const struct tree_node *k = &t->nodes[kids[i]];

			if (fold->threshold && o->weight(k) < fold->threshold && !kept[kids[i]]) {
				for (int j = 0; j < TREE_VALUES; j++)
					folded[j] += k->v[j];
				fold->folded_paths += paths[kids[i]];
				gone[kids[i]] = true;
				nfolded++;
			} else {
				kids[kept_nr++] = kids[i];
			}
		}
		if (nfolded) {
			uint32_t idx;

			err = tree__new_node(t, (uint32_t)p, fold->other, &idx);
			if (err)
				goto out;
			memcpy(t->nodes[idx].v, folded, sizeof(folded));
			for (int j = 0; j < TREE_VALUES; j++)
				fold->folded[j] += folded[j];
			err = ARRAY_RESERVE(kids, cap, kept_nr + 1);
			if (err)
				goto out;
			kids[kept_nr++] = idx;
		}

		prev = TREE_NONE;
		for (size_t i = kept_nr; i-- > 0;) {
			t->nodes[kids[i]].next = prev;
			prev = kids[i];
		}
		t->nodes[p].child = prev;
	}
out:
	free(kids);
	free(self);
	free(paths);
	free(kept);
	free(gone);
	return err;
}

const struct tree_node *tree__node(const struct tree *t, uint32_t i)
{
	return i < t->nr ? &t->nodes[i] : NULL;
}

uint64_t tree__self(const struct tree *t, const struct tree_node *n, unsigned int k)
{
	uint64_t self = n->v[k];

	for (uint32_t c = n->child; c != TREE_NONE; c = t->nodes[c].next)
		self -= t->nodes[c].v[k];
	return self;
}
