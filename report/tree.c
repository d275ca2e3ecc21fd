/*
 * The aggregation tree.  Paths are added one site at a time; nodes are found by (parent, name id) in a hash map, so adding is
 * independent of how many children a node has (the top level of a
 * system-wide trace has one per process).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "report/tree.h"

/* ---- tree ---- */

struct tree {
	struct tree_node *nodes;
	size_t nr, cap;
	struct hmap children;	/* (parent, name) -> node */
};

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
	hmap__free(&t->children);
	free(t);
}

static int tree__add2(struct tree *t, const uint32_t *path, size_t n, uint64_t value,
		      uint64_t cache)
{
	uint32_t cur = TREE_ROOT;
	int err;

	if (!value && !cache)
		return 0;
	t->nodes[TREE_ROOT].value += value;
	t->nodes[TREE_ROOT].cache += cache;
	for (size_t i = 0; i < n; i++) {
		uint64_t *v = hmap__find(&t->children, cur, path[i]);
		uint32_t node;

		if (v) {
			node = (uint32_t)*v;
		} else {
			err = tree__new_node(t, cur, path[i], &node);
			if (!err)
				err = hmap__set(&t->children, cur, path[i], node);
			if (err)
				return err;
			/* Linked in any order: tree__finish sorts. */
			t->nodes[node].next = t->nodes[cur].child;
			t->nodes[cur].child = node;
		}
		t->nodes[node].value += value;
		t->nodes[node].cache += cache;
		cur = node;
	}
	return 0;
}

int tree__add(struct tree *t, const uint32_t *path, size_t n, uint64_t value)
{
	return tree__add2(t, path, n, value, 0);
}

int tree__add_cache(struct tree *t, const uint32_t *path, size_t n, uint64_t bytes)
{
	return tree__add2(t, path, n, 0, bytes);
}

/* qsort has no context argument; tree__finish is not reentrant anyway. */
static const struct tree_node *sort_nodes;
static const struct strtab *sort_names;

static int node_cmp(const void *pa, const void *pb)
{
	const struct tree_node *a = &sort_nodes[*(const uint32_t *)pa];
	const struct tree_node *b = &sort_nodes[*(const uint32_t *)pb];

	if (a->value + a->cache != b->value + b->cache)
		return a->value + a->cache > b->value + b->cache ? -1 : 1;
	return strcmp(strtab__str(sort_names, a->name), strtab__str(sort_names, b->name));
}

int tree__finish(struct tree *t, const struct strtab *names, uint64_t threshold, uint32_t other)
{
	uint32_t *kids = NULL;
	size_t cap = 0, nr_nodes = t->nr;
	int err = 0;

	/* Only the nodes added by tree__add have children; [other] nodes never do. */
	for (size_t p = 0; p < nr_nodes; p++) {
		uint64_t folded = 0, folded_cache = 0;
		size_t n = 0, kept = 0;
		uint32_t c, prev;

		for (c = t->nodes[p].child; c != TREE_NONE; c = t->nodes[c].next) {
			err = ARRAY_RESERVE(kids, cap, n + 1);
			if (err)
				goto out;
			kids[n++] = c;
		}
		if (!n)
			continue;
		sort_nodes = t->nodes;
		sort_names = names;
		qsort(kids, n, sizeof(*kids), node_cmp);

		for (size_t i = 0; i < n; i++) {
			const struct tree_node *k = &t->nodes[kids[i]];

			if (threshold && k->value + k->cache < threshold) {
				folded += k->value;
				folded_cache += k->cache;
			} else {
				kids[kept++] = kids[i];
			}
		}
		if (folded || folded_cache) {
			uint32_t o;

			err = tree__new_node(t, (uint32_t)p, other, &o);
			if (err)
				goto out;
			t->nodes[o].value = folded;
			t->nodes[o].cache = folded_cache;
			err = ARRAY_RESERVE(kids, cap, kept + 1);
			if (err)
				goto out;
			kids[kept++] = o;
		}

		prev = TREE_NONE;
		for (size_t i = kept; i-- > 0;) {
			t->nodes[kids[i]].next = prev;
			prev = kids[i];
		}
		t->nodes[p].child = prev;
	}
out:
	free(kids);
	return err;
}

const struct tree_node *tree__node(const struct tree *t, uint32_t i)
{
	return i < t->nr ? &t->nodes[i] : NULL;
}

void xml_text(FILE *f, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t done = 0;

	while (*s) {
		size_t n = utf8_len(s);

		if (!n || (*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r'))
			n = 0;
		if (done + (n ? n : 1) > max)
			break;
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if (n)
				fwrite(s, 1, n, f);
			else
				fputc('?', f);
		}
		n = n ? n : 1;
		s += n;
		done += n;
	}
}
