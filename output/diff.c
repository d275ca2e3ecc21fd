/*
 * diff's output: report's call tree with the bytes of both traces and their
 * difference, largest difference first, after a header in '#' lines.  Each
 * line gives the difference of every path through the node (perf's
 * Children) and of the stacks that end at it (Self), then OLD and NEW, in
 * the adaptive units of lib/units.h; the header the exact bytes.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/units.h"
#include "output/output.h"
#include "report/tree.h"

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct tree_node *n, unsigned int depth, bool *seen_other)
{
	uint64_t self0 = tree__self(t, n, 0), self1 = tree__self(t, n, 1);
	bool negative, self_negative = self1 < self0;
	uint64_t delta = view__diff_delta(n, &negative);
	const char *name = strtab__str(names, n->name);

	if (!strcmp(name, "[other]"))
		*seen_other = true;
	fprintf(f, "  %13s  %13s  %12s  %12s  %*s%s\n", DELTA(delta, negative),
		DELTA(self_negative ? self0 - self1 : self1 - self0, self_negative), SIZE(n->v[0]),
		SIZE(n->v[1]), (int)(2 * depth), "", name);
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, tree__node(t, c), depth + 1, seen_other);
}

int output_diff__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct output_diff *d)
{
	const struct tree_node *root = tree__node(t, TREE_ROOT);
	bool negative, seen_other = false;
	uint64_t delta = view__diff_delta(root, &negative);

	fprintf(f, "# memprof diff: %s, OLD '%s', NEW '%s'\n",
		d->live ? "live memory at the end of each trace" : "memory allocated during each trace",
		d->old_path, d->new_path);
	fprintf(f, "# event: %s, OLD %s bytes, NEW %s bytes, delta %c%s bytes (%s), threshold %s KiB\n",
		d->event, COUNT(root->v[0]), COUNT(root->v[1]), negative && delta ? '-' : '+',
		COUNT(delta), DELTA(delta, negative), COUNT(d->threshold_kib));
	fprintf(f, "#\n");
	fprintf(f, "# %13s  %13s  %12s  %12s  %s\n", "Delta", "Self delta", "OLD", "NEW",
		"Call tree (caller first)");
	if (!root->v[0] && !root->v[1])
		fprintf(f, "# no memory %s in either trace\n",
			d->live ? "live at the end" : "allocated");
	for (uint32_t c = root->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, tree__node(t, c), 0, &seen_other);
	if (seen_other)
		fprintf(f, "#\n# [other]: %s path%s whose difference is under the threshold "
			   "(%s KiB), summed; --threshold=0 shows them\n",
			COUNT(d->folded_paths), d->folded_paths == 1 ? "" : "s",
			COUNT(d->threshold_kib));
	return ferror(f) ? -EIO : 0;
}
