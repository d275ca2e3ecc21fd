/*
 * The default output: one section per event type, a header in '#' comment
 * lines (so tools can skip it, as with perf report), then the call tree one
 * node a line: percent of the section's total, KiB, and the name indented
 * two spaces per level (with --show=count, a count of allocations in place
 * of KiB; with --show=leaks and temporary, "(N blocks)" or "(N allocations)"
 * after each name).  Tests match these lines; change them on purpose only.
 */
#include <inttypes.h>

#include "report/report.h"
#include "report/tree.h"

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       uint32_t idx, unsigned int depth, const struct report_section *sec,
		       uint64_t count);

/* The children of node idx, whose count in sec->counts is count. */
static void print_children(FILE *f, const struct tree *t, const struct strtab *names,
			   uint32_t idx, unsigned int depth, const struct report_section *sec,
			   uint64_t count)
{
	for (uint32_t c = tree__node(t, idx)->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, c, depth, sec, report_child_count(t, sec, idx, count, c));
}

/* count: the node's own count in sec->counts, if any. */
static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       uint32_t idx, unsigned int depth, const struct report_section *sec,
		       uint64_t count)
{
	const struct tree_node *n = tree__node(t, idx);
	double pct = 100.0 * (double)n->value / (double)sec->total;

	if (sec->show == REPORT_SHOW_COUNT)
		fprintf(f, "  %7.2f%%  %10" PRIu64 "  %*s%s\n", pct, n->value, (int)(2 * depth), "",
			strtab__str(names, n->name));
	else
		fprintf(f, "  %7.2f%%  %10.2f  %*s%s", pct, (double)n->value / 1024.0,
			(int)(2 * depth), "", strtab__str(names, n->name));
	if (sec->show != REPORT_SHOW_COUNT && sec->counts)
		fprintf(f, " (%" PRIu64 " %s%s)\n", count,
			sec->show == REPORT_SHOW_LEAKS ? "block" : "allocation",
			count == 1 ? "" : "s");
	else if (sec->show != REPORT_SHOW_COUNT)
		fputc('\n', f);
	print_children(f, t, names, idx, depth + 1, sec, count);
}

const char *report_show_title(enum report_show show)
{
	switch (show) {
	case REPORT_SHOW_LIVE:
		return "live memory at the end of the trace";
	case REPORT_SHOW_COUNT:
		return "allocations during the trace";
	case REPORT_SHOW_LEAKS:
		return "heap blocks never freed during the trace";
	case REPORT_SHOW_PEAK:
		return "live memory at its peak";
	case REPORT_SHOW_TEMPORARY:
		return "temporary heap allocations, freed before their thread allocated again";
	default:
		return "memory allocated during the trace";
	}
}

const char *report_show_name(enum report_show show)
{
	static const char *const names[] = {
		[REPORT_SHOW_LIVE] = "live",	     [REPORT_SHOW_ALLOC] = "alloc",
		[REPORT_SHOW_COUNT] = "count",	     [REPORT_SHOW_LEAKS] = "leaks",
		[REPORT_SHOW_PEAK] = "peak",	     [REPORT_SHOW_TEMPORARY] = "temporary",
	};

	return (unsigned int)show < sizeof(names) / sizeof(names[0]) ? names[show] : "live";
}

uint64_t report_child_count(const struct tree *t, const struct report_section *sec,
			    uint32_t parent, uint64_t parent_count, uint32_t child)
{
	const struct tree_node *cn;
	uint64_t kept = 0;

	if (!sec->counts)
		return 0;
	cn = tree__node(sec->counts, child);
	if (cn)
		return cn->value;
	/* [other]: what its shown siblings do not hold. */
	for (uint32_t c = tree__node(t, parent)->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		cn = tree__node(sec->counts, c);
		if (cn)
			kept += cn->value;
	}
	return parent_count > kept ? parent_count - kept : 0;
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
		print_children(f, t, names, TREE_ROOT, 0, sec,
			       sec->counts ? tree__node(sec->counts, TREE_ROOT)->value : 0);
	}
	return ferror(f) ? -EIO : 0;
}
