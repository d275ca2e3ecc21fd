/*
 * The default output: one section per event type, a header in '#' comment
 * lines (so tools can skip it, as with perf report), then the call tree one
 * node a line: percent of the section's total, KiB, and the name indented
 * two spaces per level (with --show=count, a count of allocations in place
 * of KiB; with --show=leaks and temporary, "(N blocks)" or "(N allocations)"
 * after each name).  Tests match these lines; change them on purpose only.
 */
#include <errno.h>
#include <inttypes.h>

#include "output/output.h"
#include "report/tree.h"

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       uint32_t idx, unsigned int depth, const struct report_section *sec)
{
	const struct tree_node *n = tree__node(t, idx);
	uint64_t value = n->v[VIEW_VALUE], count = n->v[VIEW_COUNT];
	double pct = 100.0 * (double)value / (double)sec->total;

	if (sec->show == REPORT_SHOW_COUNT)
		fprintf(f, "  %7.2f%%  %10" PRIu64 "  %*s%s\n", pct, value, (int)(2 * depth), "",
			strtab__str(names, n->name));
	else
		fprintf(f, "  %7.2f%%  %10.2f  %*s%s", pct, (double)value / 1024.0,
			(int)(2 * depth), "", strtab__str(names, n->name));
	if (sec->show != REPORT_SHOW_COUNT && sec->has_count)
		fprintf(f, " (%" PRIu64 " %s%s)\n", count,
			sec->show == REPORT_SHOW_LEAKS ? "block" : "allocation",
			count == 1 ? "" : "s");
	else if (sec->show != REPORT_SHOW_COUNT)
		fputc('\n', f);
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, c, depth + 1, sec);
}

int output_tree__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec)
{
	bool live = sec->show == REPORT_SHOW_LIVE;
	bool count = sec->show == REPORT_SHOW_COUNT;
	bool leaks = sec->show == REPORT_SHOW_LEAKS;

	fprintf(f, "# memprof report: %s\n", report_show_title(sec->show));
	if (count)
		fprintf(f, "# event: %s, total %" PRIu64 " allocations\n", sec->event, sec->total);
	else if (sec->show == REPORT_SHOW_PEAK)
		fprintf(f, "# event: %s, peak %" PRIu64 " bytes (%.2f KiB) at %.6f s in %" PRIu64
			   " allocations, threshold %" PRIu64 " KiB\n",
			sec->event, sec->total, (double)sec->total / 1024.0,
			(double)sec->peak_ns / 1e9, sec->allocations, sec->threshold_kib);
	else if (leaks || sec->show == REPORT_SHOW_TEMPORARY)
		fprintf(f, "# event: %s, total %" PRIu64 " bytes (%.2f KiB) in %" PRIu64
			   " %s, threshold %" PRIu64 " KiB\n",
			sec->event, sec->total, (double)sec->total / 1024.0, sec->allocations,
			leaks ? "blocks" : "temporary allocations", sec->threshold_kib);
	else
		fprintf(f, "# event: %s, total %" PRIu64 " bytes (%.2f KiB) in %" PRIu64
			   " allocations, threshold %" PRIu64 " KiB\n",
			sec->event, sec->total, (double)sec->total / 1024.0, sec->allocations,
			sec->threshold_kib);
	if (sec->lost) {
		char note[256];

		fprintf(f, "# %s\n", view__lost_note(sec, note, sizeof(note)));
	}
	fprintf(f, "#\n");
	fprintf(f, "# %8s  %10s  %s\n", "Percent", count ? "Count" : "KiB",
		sec->reverse ? "Call tree (allocation sites first)" : "Call tree (caller first)");
	if (!sec->total) {
		fprintf(f, "# no %s\n",
			count	? "allocations during the trace"
			: leaks ? "heap blocks never freed"
			: sec->show == REPORT_SHOW_PEAK ? "memory live at any time"
			: sec->show == REPORT_SHOW_TEMPORARY ? "temporary heap allocations"
			: live	? "memory live at the end of the trace"
				: "memory allocated during the trace");
	} else {
		for (uint32_t c = tree__node(t, TREE_ROOT)->child; c != TREE_NONE;
		     c = tree__node(t, c)->next)
			print_node(f, t, names, c, 0, sec);
	}
	return ferror(f) ? -EIO : 0;
}
