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
#include "report/fold.h"
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
	uint32_t name;		/* strtab id: the walk below adds names, which may move the strings */
	uint64_t node;		/* for fold__children */
	bool sub;		/* the lines below the node, else its own */
	uint64_t self;		/* its own line's value (what the node holds beyond its children) */
};

struct folded_walk {
	FILE *f;
	struct fold *fold;
	const struct strtab *names;
	char *buf;		/* the path to the current node */
	size_t len, cap;
	/*
	 * The pieces of the nodes on the walk's path, each node's above its
	 * parent's: one array for the whole walk, not an allocation a node.
	 */
	struct piece *pieces;
	size_t npieces, pieces_cap;
	struct fold_child *kids;	/* one node's, while its pieces are made */
	size_t kids_cap;
};

static int piece_cmp(const void *a, const void *b, void *names)
{
	const struct piece *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)strtab__str(names, x->name);
	const unsigned char *q = (const unsigned char *)strtab__str(names, y->name);

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
static int walk(struct folded_walk *w, uint64_t node)
{
	struct fold_mark mark = fold__mark(w->fold);
	size_t base = w->npieces, np, saved = w->len, nkids;
	int err = fold__children(w->fold, node, &w->kids, &nkids, &w->kids_cap);

	for (size_t i = 0; i < nkids && !err; i++) {
		const struct fold_child *c = &w->kids[i];

		err = ARRAY_RESERVE(w->pieces, w->pieces_cap, w->npieces + 2);
		if (err)
			break;
		if (c->self)
			w->pieces[w->npieces++] =
				(struct piece){ .name = c->name, .node = c->node, .self = c->self };
		if (c->sub)
			w->pieces[w->npieces++] =
				(struct piece){ .name = c->name, .node = c->node, .sub = true };
	}
	np = w->npieces - base;
	if (np > 1)
		qsort_r(w->pieces + base, np, sizeof(*w->pieces), piece_cmp, (void *)w->names);
	/*
	 * The walk below may move w->pieces, and the strings of w->names as it
	 * names frames: each piece is read through it, by index, its name by id.
	 */
	for (size_t i = base; i < base + np && !err; i++) {
		struct piece pc = w->pieces[i];
		const char *name = strtab__str(w->names, pc.name);
		size_t nlen = strlen(name);

		err = ARRAY_RESERVE(w->buf, w->cap, saved + nlen + 2);
		if (err)
			break;
		w->len = saved;
		if (w->len)
			w->buf[w->len++] = ';';
		memcpy(w->buf + w->len, name, nlen);
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
	fold__release(w->fold, mark);
	return err;
}

int output_folded__print_fold(FILE *f, struct fold *fold, const struct strtab *names)
{
	struct folded_walk w = { .f = f, .fold = fold, .names = names };
	int err = walk(&w, FOLD_ROOT);

	if (!err && ferror(f))
		err = -EIO;
	free(w.buf);
	free(w.pieces);
	free(w.kids);
	return err;
}

int output_folded__print(FILE *f, const struct tree *t, const struct strtab *names)
{
	struct fold *fold = fold__of_tree(t);
	int err = fold ? output_folded__print_fold(f, fold, names) : -ENOMEM;

	fold__delete(fold);
	return err;
}
