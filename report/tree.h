/*
 * The aggregation tree the report prints: one node per distinct path prefix
 * of names (strtab ids), each holding the bytes of every path through it.
 */
#ifndef MEMPROF_REPORT_TREE_H
#define MEMPROF_REPORT_TREE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/strtab.h"
#include "lib/text.h"

/*
 * s as XML text or attribute value, at most max bytes of it (never half a
 * character): markup characters escaped, and what XML 1.0 cannot hold
 * (invalid UTF-8, control characters but tab and newlines) as '?'.
 */
void xml_text(FILE *f, const char *s, size_t max);

/* ---- the tree ---- */

#define TREE_ROOT 0		/* the unnamed root; its children are the top level */
#define TREE_NONE UINT32_MAX

struct tree_node {
	uint32_t name;		/* strtab id */
	uint32_t parent;
	uint32_t child;		/* first child, TREE_NONE for a leaf */
	uint32_t next;		/* next sibling, TREE_NONE for the last */
	uint64_t value;		/* bytes of every path through this node */
	uint64_t cache;		/* page cache bytes of those paths, apart (--format=json) */
};

struct tree;

struct tree *tree__new(void);
void tree__delete(struct tree *t);
/* Adds value to each node of path (names, top level first), creating them.  0 or -ENOMEM. */
int tree__add(struct tree *t, const uint32_t *path, size_t n, uint64_t value);
/* The same for page cache bytes, kept apart from the value; ordering counts both. */
int tree__add_cache(struct tree *t, const uint32_t *path, size_t n, uint64_t bytes);
/*
 * Orders every node's children by value, largest first, then by name, and
 * when threshold (bytes) is not 0 replaces the children worth less than it by
 * one last child named other holding their sum.  Call once, after the adds.
 * 0 or -ENOMEM.
 */
int tree__finish(struct tree *t, const struct strtab *names, uint64_t threshold, uint32_t other);
const struct tree_node *tree__node(const struct tree *t, uint32_t i);

#endif
