/*
 * diff's output: report's call tree with the bytes of both traces and their
 * difference, largest difference first, in KiB, after a header in '#' lines.
 */
#include <errno.h>
#include <inttypes.h>

#include "output/output.h"
#include "report/tree.h"

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct tree_node *n, unsigned int depth)
{
	char buf[40];
	bool negative;
	uint64_t delta = view__diff_delta(n, &negative);

	snprintf(buf, sizeof(buf), "%c%.2f", negative ? '-' : '+', (double)delta / 1024.0);
	fprintf(f, "  %11s  %10.2f  %10.2f  %*s%s\n", buf, (double)n->v[0] / 1024.0,
		(double)n->v[1] / 1024.0, (int)(2 * depth), "", strtab__str(names, n->name));
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, tree__node(t, c), depth + 1);
}

int output_diff__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct output_diff *d)
{
	const struct tree_node *root = tree__node(t, TREE_ROOT);
	bool negative;
	uint64_t delta = view__diff_delta(root, &negative);

	fprintf(f, "# memprof diff: %s, OLD '%s', NEW '%s'\n",
		d->live ? "live memory at the end of each trace" : "memory allocated during each trace",
		d->old_path, d->new_path);
	fprintf(f, "# event: %s, OLD %" PRIu64 " bytes, NEW %" PRIu64 " bytes, delta %c%" PRIu64
		   " bytes, threshold %" PRIu64 " KiB\n",
		d->event, root->v[0], root->v[1], negative ? '-' : '+', delta, d->threshold_kib);
	fprintf(f, "#\n");
	fprintf(f, "# %10s  %10s  %10s  %s\n", "Delta KiB", "OLD KiB", "NEW KiB",
		"Call tree (caller first)");
	if (!root->v[0] && !root->v[1])
		fprintf(f, "# no memory %s in either trace\n",
			d->live ? "live at the end" : "allocated");
	for (uint32_t c = root->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, tree__node(t, c), 0);
	return ferror(f) ? -EIO : 0;
}
