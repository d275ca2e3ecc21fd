/*
 * --folded: the input of flamegraph.pl and of most flame graph tools, one
 * line per distinct path, "frame;frame;frame BYTES", root first.  A path's
 * value is what its last node holds beyond its children, i.e. the bytes of the
 * stacks that end there.  Lines are sorted, so outputs diff well.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/array.h"
#include "output/output.h"
#include "report/tree.h"

struct folded {
	char *path;		/* root first, ';'-joined */
	uint64_t value;
};

struct folded_walk {
	const struct tree *t;
	const struct strtab *names;
	char *buf;		/* the path to the current node */
	size_t len, cap;
	struct folded *lines;
	size_t nr, lines_cap;
};

static int walk(struct folded_walk *w, uint32_t idx)
{
	const struct tree_node *n = tree__node(w->t, idx);
	const char *name = strtab__str(w->names, n->name);
	size_t nlen = strlen(name), saved = w->len;
	uint64_t self = tree__self(w->t, n, VIEW_VALUE);
	int err;

	err = ARRAY_RESERVE(w->buf, w->cap, w->len + nlen + 2);
	if (err)
		return err;
	if (w->len)
		w->buf[w->len++] = ';';
	memcpy(w->buf + w->len, name, nlen + 1);
	w->len += nlen;

	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(w->t, c)->next) {
		err = walk(w, c);
		if (err)
			return err;
	}
	if (self) {
		char *path = strndup(w->buf, w->len);

		err = path ? ARRAY_RESERVE(w->lines, w->lines_cap, w->nr + 1) : -ENOMEM;
		if (err) {
			free(path);
			return err;
		}
		w->lines[w->nr++] = (struct folded){ .path = path, .value = self };
	}
	w->len = saved;
	return 0;
}

static int folded_cmp(const void *a, const void *b)
{
	return strcmp(((const struct folded *)a)->path, ((const struct folded *)b)->path);
}

int output_folded__print(FILE *f, const struct tree *t, const struct strtab *names)
{
	struct folded_walk w = { .t = t, .names = names };
	int err = 0;

	for (uint32_t c = tree__node(t, TREE_ROOT)->child; c != TREE_NONE && !err;
	     c = tree__node(t, c)->next)
		err = walk(&w, c);
	if (!err) {
		/* Not with no lines: qsort's array must not be NULL even then. */
		if (w.nr)
			qsort(w.lines, w.nr, sizeof(*w.lines), folded_cmp);
		for (size_t i = 0; i < w.nr; i++)
			fprintf(f, "%s %" PRIu64 "\n", w.lines[i].path, w.lines[i].value);
		if (ferror(f))
			err = -EIO;
	}
	for (size_t i = 0; i < w.nr; i++)
		free(w.lines[i].path);
	free(w.lines);
	free(w.buf);
	return err;
}
