/*
 * --folded: the input of flamegraph.pl and of most flame graph tools, one
 * line per distinct path, "frame;frame;frame BYTES", root first.  A path's
 * value is what its last node holds beyond its children, i.e. the bytes of the
 * stacks that end there.  Lines are sorted, so outputs diff well.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "output/output.h"
#include "report/tree.h"

/*
 * Lines are printed as the tree is walked, in the order a sort of the whole
 * lines would give, so that nothing is kept per line (a trace of millions of
 * distinct stacks has millions of lines of hundreds of bytes).  Among the
 * lines below one node, those of a child X are X's own line ("...;X", when X
 * has a value of its own) and those of its subtree ("...;X;..."): the sort
 * of each node's children orders these pieces by X with the end of the
 * string, or ';', after it, as strcmp() orders the lines they stand for.
 */
struct piece {
	const char *name;
	uint32_t node;
	bool sub;		/* the lines below the node, else its own */
	uint64_t self;		/* its own line's value (what the node holds beyond its children) */
};

struct folded_walk {
	FILE *f;
	const struct tree *t;
	const struct strtab *names;
	char *buf;		/* the path to the current node */
	size_t len, cap;
	/*
	 * The pieces of the nodes on the walk's path, each node's above its
	 * parent's: one array for the whole walk, not an allocation a node.
	 */
	struct piece *pieces;
	size_t npieces, pieces_cap;
};

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)x->name;
	const unsigned char *q = (const unsigned char *)y->name;

	for (;; p++, q++) {
		int c = *p ? *p : x->sub ? ';' : 0;
		int d = *q ? *q : y->sub ? ';' : 0;

		if (c != d)
			return c - d;
		if (!*p || !*q)
			/* Equal up to the end of one: its own line before the lines below. */
			return !*p && !*q ? (int)x->sub - (int)y->sub : !*p ? -1 : 1;
	}
}

/* The lines below node, whose path is w->buf. */
static int walk(struct folded_walk *w, uint32_t node)
{
	const struct tree_node *n = tree__node(w->t, node);
	size_t base = w->npieces, np, saved = w->len;
	int err = 0;

	for (uint32_t c = n->child; c != TREE_NONE && !err; c = tree__node(w->t, c)->next) {
		const struct tree_node *cn = tree__node(w->t, c);
		const char *name = strtab__str(w->names, cn->name);
		/* Found once: a node's children are far apart in a tree of millions. */
		uint64_t self = tree__self(w->t, cn, VIEW_VALUE);

		err = ARRAY_RESERVE(w->pieces, w->pieces_cap, w->npieces + 2);
		if (err)
			break;
		if (self)
			w->pieces[w->npieces++] =
				(struct piece){ .name = name, .node = c, .self = self };
		if (cn->child != TREE_NONE)
			w->pieces[w->npieces++] =
				(struct piece){ .name = name, .node = c, .sub = true };
	}
	np = w->npieces - base;
	if (np > 1)
		qsort(w->pieces + base, np, sizeof(*w->pieces), piece_cmp);
	/* The walk below may move w->pieces: each piece is read through it, by index. */
	for (size_t i = base; i < base + np && !err; i++) {
		struct piece pc = w->pieces[i];
		size_t nlen = strlen(pc.name);

		err = ARRAY_RESERVE(w->buf, w->cap, saved + nlen + 2);
		if (err)
			break;
		w->len = saved;
		if (w->len)
			w->buf[w->len++] = ';';
		memcpy(w->buf + w->len, pc.name, nlen);
		w->len += nlen;
		if (pc.sub) {
			err = walk(w, pc.node);
		} else {
			fwrite(w->buf, 1, w->len, w->f);
			fprintf(w->f, " %" PRIu64 "\n", pc.self);
		}
	}
	w->len = saved;
	w->npieces = base;
	return err;
}

int output_folded__print(FILE *f, const struct tree *t, const struct strtab *names)
{
	struct folded_walk w = { .f = f, .t = t, .names = names };
	int err = walk(&w, TREE_ROOT);

	if (!err && ferror(f))
		err = -EIO;
	free(w.buf);
	free(w.pieces);
	return err;
}
