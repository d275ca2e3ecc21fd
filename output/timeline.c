/*
 * --timeline: memory by type over time, as a table.  The model keeps the
 * live totals of each event type (and the sum of the processes' sampled RSS)
 * at points in time; a row shows them as of its time, the rows evenly spaced
 * from the first point to the last, and the last line says each type's peak
 * and when it was reached, which may fall between rows.
 */
#include <errno.h>
#include <inttypes.h>

#include "model/model.h"
#include "output/output.h"

void output__lost_lines(FILE *f, const struct model *m, unsigned int events)
{
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		uint64_t lost = model__lost(m, ev);

		if (lost && (events & (1u << ev)))
			fprintf(f, "# %" PRIu64 " %s event%s lost: %s figures below may be off "
				   "by up to %" PRIu64 " allocations (a lost free leaves one "
				   "live)\n",
				lost, mpf_event_name(ev), lost == 1 ? " was" : "s were",
				mpf_event_name(ev), lost);
	}
}

static void print_cell(FILE *f, uint64_t bytes)
{
	fprintf(f, " %12.2f", (double)bytes / 1024);
}

int output_timeline__print(FILE *f, const struct model *m, const struct model_point *pts,
			   size_t n, unsigned int events, uint64_t start, const uint64_t *peak_time,
			   const uint64_t *peak_bytes, unsigned int rows)
{
	uint64_t first, last;
	size_t j = 0;

	fputs("# memprof report --timeline: live KiB of each event type over time", f);
	if (events & (1u << MPF_EV_RSS))
		fputs(" (rss: the\n# processes' resident sets summed, sampled)", f);
	fputc('\n', f);
	output__lost_lines(f, m, events);
	fputs("#\n#     time (s)", f);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		if (events & (1u << ev))
			fprintf(f, " %12s", mpf_event_name(ev));
	fputc('\n', f);
	if (!n) {
		fputs("# no events\n", f);
		return ferror(f) ? -EIO : 0;
	}
	first = pts[0].time;
	last = pts[n - 1].time;
	if (!rows)
		rows = 1;
	for (unsigned int r = 1; r <= rows; r++) {
		/* The state as of t: the last point at or before it. */
		uint64_t t = first + (uint64_t)((double)(last - first) * r / rows);

		if (r == rows)
			t = last;
		while (j + 1 < n && pts[j + 1].time <= t)
			j++;
		fprintf(f, "  %12.6f", t >= start ? (double)(t - start) / 1e9 : 0.0);
		for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
			if (events & (1u << ev))
				print_cell(f, pts[j].live[ev]);
		fputc('\n', f);
		if (first == last)
			break;
	}
	fputs("#\n#         peak", f);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		if (events & (1u << ev))
			print_cell(f, peak_bytes[ev]);
	fputs("\n#       at (s)", f);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		if (events & (1u << ev))
			fprintf(f, " %12.6f",
				peak_time[ev] >= start ? (double)(peak_time[ev] - start) / 1e9 : 0.0);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
