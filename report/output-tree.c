/*
 * The default output: one section per event type, a header in '#' comment
 * lines (so tools can skip it, as with perf report), then the call tree one
 * node a line: percent of the section's total, KiB, and the name indented
 * two spaces per level.  Tests match these lines; change them on purpose only.
 */
#include <inttypes.h>

#include "report/report.h"
#include "report/tree.h"

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       uint32_t idx, unsigned int depth, uint64_t total)
{
	const struct tree_node *n = tree__node(t, idx);

	fprintf(f, "  %7.2f%%  %10.2f  %*s%s\n", 100.0 * (double)n->value / (double)total,
		(double)n->value / 1024.0, (int)(2 * depth), "", strtab__str(names, n->name));
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, c, depth + 1, total);
}

int output_tree__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec)
{
	bool live = sec->show == REPORT_SHOW_LIVE;

	fprintf(f, "# memprof report: %s\n",
		live ? "live memory at the end of the trace" : "memory allocated during the trace");
	fprintf(f, "# event: %s, total %" PRIu64 " bytes (%.2f KiB) in %" PRIu64
		   " allocations, threshold %" PRIu64 " KiB\n",
		sec->event, sec->total, (double)sec->total / 1024.0, sec->allocations,
		sec->threshold_kib);
	fprintf(f, "#\n");
	fprintf(f, "# %8s  %10s  %s\n", "Percent", "KiB",
		sec->reverse ? "Call tree (allocation sites first)" : "Call tree (caller first)");
	if (!sec->total) {
		fprintf(f, "# no memory %s\n",
			live ? "live at the end of the trace" : "allocated during the trace");
	} else {
		for (uint32_t c = tree__node(t, TREE_ROOT)->child; c != TREE_NONE;
		     c = tree__node(t, c)->next)
			print_node(f, t, names, c, 0, sec->total);
	}
	return ferror(f) ? -EIO : 0;
}
