/*
 * The default output: one section per event type, a header in '#' comment
 * lines (so tools can skip it, as with perf report), then the call tree one
 * node a line: the percent of the section's total, the node's Total (every
 * path through it: perf report's Children) and Self (the stacks that end at
 * it), in the adaptive units of lib/units.h, and the name indented two spaces
 * per level (with --show=count, counts of allocations in place of sizes;
 * with --show=leaks and temporary, "(N blocks)" or "(N allocations)" after
 * each name).  The header says what [other], [incomplete] and [unknown]
 * lines stand for when the tree has one.  Tests match these lines; change
 * them on purpose only.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/units.h"
#include "output/output.h"
#include "report/tree.h"

/* The names the header explains, when the tree shows them. */
struct seen {
	bool other, incomplete, unknown, kernel;
};

static void find_names(const struct tree *t, const struct strtab *names, uint32_t idx,
		       struct seen *s)
{
	for (uint32_t c = tree__node(t, idx)->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		const char *name = strtab__str(names, tree__node(t, c)->name);

		s->other |= !strcmp(name, "[other]");
		s->incomplete |= !strcmp(name, "[incomplete]");
		s->unknown |= !strncmp(name, "[unknown]", 9);
		s->kernel |= !strcmp(name, "[kernel]");
		find_names(t, names, c, s);
	}
}

/* A value as the columns show it: a count, or a size. */
static const char *cell(char *buf, const struct report_section *sec, uint64_t v)
{
	return sec->show == REPORT_SHOW_COUNT ? fmt_count(buf, UNITS_BUF, v)
					      : fmt_size(buf, UNITS_BUF, v);
}

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       uint32_t idx, unsigned int depth, const struct report_section *sec)
{
	const struct tree_node *n = tree__node(t, idx);
	uint64_t value = n->v[VIEW_VALUE], count = n->v[VIEW_COUNT];
	double pct = 100.0 * (double)value / (double)sec->total;
	char b1[UNITS_BUF], b2[UNITS_BUF];

	fprintf(f, "  %7.2f%%  %12s  %12s  %*s%s", pct, cell(b1, sec, value),
		cell(b2, sec, tree__self(t, n, VIEW_VALUE)), (int)(2 * depth), "",
		strtab__str(names, n->name));
	if (sec->show != REPORT_SHOW_COUNT && sec->has_count)
		fprintf(f, " (%s %s%s)\n", COUNT(count),
			sec->show == REPORT_SHOW_LEAKS ? "block" : "allocation",
			count == 1 ? "" : "s");
	else
		fputc('\n', f);
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next)
		print_node(f, t, names, c, depth + 1, sec);
}

/* "threshold 256 KiB", "threshold 5% (80.00 KiB)", "no threshold". */
static void print_threshold(FILE *f, const struct report_section *sec)
{
	if (sec->percent_limit > 0 && sec->threshold_kib)
		fprintf(f, "threshold %s KiB and %g%%", COUNT(sec->threshold_kib), sec->percent_limit);
	else if (sec->percent_limit > 0)
		fprintf(f, "threshold %g%% (%s)", sec->percent_limit,
			sec->show == REPORT_SHOW_COUNT ? COUNT(sec->threshold) : SIZE(sec->threshold));
	else if (sec->threshold_kib)
		fprintf(f, "threshold %s KiB", COUNT(sec->threshold_kib));
	else
		fputs("no threshold", f);
}

int output_tree__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec)
{
	bool live = sec->show == REPORT_SHOW_LIVE;
	bool count = sec->show == REPORT_SHOW_COUNT;
	bool leaks = sec->show == REPORT_SHOW_LEAKS;
	struct seen seen = { 0 };

	find_names(t, names, TREE_ROOT, &seen);
	fprintf(f, "# memprof report: %s\n", report_show_title(sec->show));
	if (count)
		fprintf(f, "# event: %s, total %s allocations, ", sec->event, COUNT(sec->total));
	else if (sec->show == REPORT_SHOW_PEAK)
		fprintf(f, "# event: %s, peak %s bytes (%s) at %.6f s in %s allocations, ",
			sec->event, COUNT(sec->total), SIZE(sec->total),
			(double)sec->peak_ns / 1e9, COUNT(sec->allocations));
	else if (leaks || sec->show == REPORT_SHOW_TEMPORARY)
		fprintf(f, "# event: %s, total %s bytes (%s) in %s %s, ", sec->event,
			COUNT(sec->total), SIZE(sec->total), COUNT(sec->allocations),
			leaks ? "blocks" : "temporary allocations");
	else
		fprintf(f, "# event: %s, total %s bytes (%s) in %s allocations, ", sec->event,
			COUNT(sec->total), SIZE(sec->total), COUNT(sec->allocations));
	print_threshold(f, sec);
	fputc('\n', f);
	if (sec->lost) {
		char note[256];

		fprintf(f, "# %s\n", view__lost_note(sec, note, sizeof(note)));
	}
	if (sec->sample_interval)
		fprintf(f, "# estimates: the heap was sampled, one allocation every %s bytes on "
			   "average (record --heap-sample); see memprof-report(1) for their error\n",
			COUNT(sec->sample_interval));
	if (sec->show == REPORT_SHOW_SITE_PEAK)
		fprintf(f, "# each site's own peak, summed up the tree: more than was live at once\n");
	if (leaks && sec->runtime_blocks)
		fprintf(f, "# left out: %s block%s of %s that libstdc++ allocated for itself as it "
			   "started (its emergency exception pool), which heaptrack and valgrind "
			   "free at exit; --show=live shows %s\n",
			COUNT(sec->runtime_blocks), sec->runtime_blocks == 1 ? "" : "s",
			SIZE(sec->runtime_bytes), sec->runtime_blocks == 1 ? "it" : "them");
	if (seen.other)
		fprintf(f, "# [other]: %s path%s of %s%s under the threshold, folded; the %u largest "
			   "paths show whatever their size; %s shows all\n",
			COUNT(sec->folded_paths), sec->folded_paths == 1 ? "" : "s",
			count ? COUNT(sec->folded) : SIZE(sec->folded), count ? " allocations" : "",
			sec->keep_paths,
			sec->percent_limit > 0 && sec->threshold_kib ? "--threshold=0 --percent-limit=0"
			: sec->percent_limit > 0		      ? "--percent-limit=0"
								      : "--threshold=0");
	if (seen.incomplete)
		fprintf(f, "# [incomplete]: the unwinding of the stacks below it stopped before "
			   "their outermost frame (report's warning says why)\n");
	if (seen.unknown)
		fprintf(f, "# [unknown]: a frame no file of the trace names (FILE+0xOFFSET: the "
			   "file has no symbol there), or no stack\n");
	fprintf(f, "#\n");
	fprintf(f, "# %8s  %12s  %12s  %s\n", "Percent", "Total", "Self",
		sec->reverse ? "Call tree (allocation sites first)" : "Call tree (caller first)");
	if (!sec->total) {
		fprintf(f, "# no %s\n",
			count	? "allocations during the trace"
			: leaks ? "heap blocks never freed"
			: sec->show == REPORT_SHOW_PEAK ? "memory live at any time"
			: sec->show == REPORT_SHOW_SITE_PEAK ? "memory live at any time"
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
