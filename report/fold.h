/*
 * The tree --folded prints, as children found on demand: what a report
 * tree holds (report/tree.h), or, for the paths made from the stack tree
 * (folded stacks, not reversed, no --sort), the model's stack tree itself,
 * its nodes' names merged where they coincide as the walk reaches them.  A
 * trace of millions of distinct stacks makes a report tree of tens of
 * millions of nodes, a gigabyte and more beside the model: this one costs a
 * bit a stack node and a few words a branch of the stack tree.
 */
#ifndef MEMPROF_REPORT_FOLD_H
#define MEMPROF_REPORT_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/tree.h"

struct fold;
struct paths;
struct report_section;
struct view_opts;

/* The node whose children are the top level. */
#define FOLD_ROOT 0

struct fold_child {
	uint32_t name;		/* strtab id */
	bool sub;		/* may have children */
	uint64_t self;		/* VIEW_VALUE of the paths ending at it */
	uint64_t node;		/* for fold__children */
};

/* What fold__children made since: fold__release forgets it. */
struct fold_mark {
	size_t elems, sets;
};

/*
 * The folded tree of event type ev's sites as o shows them, into *out, and
 * sec as view__build() fills it.  The model gives its sites of ev to it
 * (model__take_sites()) where it makes paths itself.  0 or -ENOMEM.
 */
int fold__build(struct paths *p, const struct view_opts *o, unsigned int ev, struct fold **out,
		struct report_section *sec);
/* A fold of report tree t (finished), which stays the caller's. */
struct fold *fold__of_tree(const struct tree *t);
void fold__delete(struct fold *f);
/*
 * The children of node into *v (from index 0, grown as ARRAY_RESERVE does),
 * their number into *n, in no order; each child's node lasts until the
 * fold__release() of a mark taken before.  0 or -ENOMEM.
 */
int fold__children(struct fold *f, uint64_t node, struct fold_child **v, size_t *n,
		   size_t *cap);
struct fold_mark fold__mark(const struct fold *f);
void fold__release(struct fold *f, struct fold_mark mark);

#endif
