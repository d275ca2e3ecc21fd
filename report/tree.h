/*
 * The aggregation tree the views print: one node per distinct path prefix of
 * names (strtab ids), each holding, per value the view defines, the sum of
 * every path through it (report: bytes, page cache bytes, blocks; diff: the
 * bytes of each trace).
 */
#ifndef MEMPROF_REPORT_TREE_H
#define MEMPROF_REPORT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/strtab.h"

#define TREE_ROOT 0		/* the unnamed root; its children are the top level */
#define TREE_NONE UINT32_MAX
#define TREE_VALUES 3		/* values per node */

struct tree_node {
	uint32_t name;		/* strtab id */
	uint32_t parent;
	uint32_t child;		/* first child, TREE_NONE for a leaf */
	uint32_t next;		/* next sibling, TREE_NONE for the last */
	uint64_t v[TREE_VALUES];	/* of every path through this node */
};

/* How tree__finish orders children and which it folds. */
struct tree_order {
	/* Larger first; a child whose weight is under the threshold is folded. */
	uint64_t (*weight)(const struct tree_node *n);
	/* NULL, or larger first among children of equal weight; then by name. */
	uint64_t (*second)(const struct tree_node *n);
};

struct tree;

struct tree *tree__new(void);
void tree__delete(struct tree *t);
/*
 * Adds v[0..TREE_VALUES) to each node of path (names, top level first),
 * creating them; nothing when every value is 0.  0 or -ENOMEM.
 */
int tree__add(struct tree *t, const uint32_t *path, size_t n, const uint64_t *v);
/*
 * The same in steps, for callers that know a path's node already: the child
 * of parent named name, created when new (0 or -ENOMEM); and v added to the
 * path ending at node.
 */
int tree__child(struct tree *t, uint32_t parent, uint32_t name, uint32_t *node);
void tree__add_at(struct tree *t, uint32_t node, const uint64_t *v);
/* What tree__finish folds, and what it folded. */
struct tree_fold {
	uint64_t threshold;	/* children whose weight is under it are folded; 0: none */
	uint32_t other;		/* the name of the node that holds them */
	/*
	 * The nodes of the keep_paths paths that weigh most by themselves (their
	 * self weight, what stacks ending there hold) are never folded, so that a
	 * threshold never leaves a report of [other] alone.
	 */
	unsigned int keep_paths;
	/* Out: the paths (nodes with a self weight) folded, and their values. */
	uint64_t folded_paths;
	uint64_t folded[TREE_VALUES];
};

/*
 * Orders every node's children by o, and replaces the children that fold
 * says to fold by one last child named fold->other holding their sums.  Call
 * once, after the adds, and before tree__node: until then a node holds what
 * the paths ending at it added, not what its subtree holds.  0 or -ENOMEM.
 */
int tree__finish(struct tree *t, const struct strtab *names, const struct tree_order *o,
		 struct tree_fold *fold);
const struct tree_node *tree__node(const struct tree *t, uint32_t i);
/* Value k of node n less what its children hold: what paths ending at n hold. */
uint64_t tree__self(const struct tree *t, const struct tree_node *n, unsigned int k);

#endif
