/*
 * --timeline: memory by type over time, as a table.  The model keeps the
 * live totals of each event type (and the sum of the processes' sampled RSS)
 * at points in time; a row shows them as of its time, the rows evenly spaced
 * from the first point to the last, and the last line says each type's peak
 * and when it was reached, which may fall between rows.  With --per-process,
 * a table per event type with a column per process (the largest ones), from
 * each process's own series.  Sizes in the adaptive units of lib/units.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/text.h"
#include "lib/units.h"
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
	fprintf(f, " %12s", SIZE(bytes));
}

int output_timeline__print(FILE *f, const struct model *m, const struct model_point *pts,
			   size_t n, unsigned int events, uint64_t start, const uint64_t *peak_time,
			   const uint64_t *peak_bytes, unsigned int rows)
{
	uint64_t first, last;
	size_t j = 0;

	fputs("# memprof report --timeline: live memory of each event type over time", f);
	if (events & (1u << MPF_EV_RSS))
		fputs(" (rss: the\n# resident sets of the processes summed, a forked child that has "
		      "not exec'd left out:\n# it shares its parent's pages; --per-process shows "
		      "each)", f);
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

/* ---- per process ---- */

void timeline_procs__free(struct timeline_procs *tp)
{
	for (size_t i = 0; i < tp->n; i++)
		free(tp->v[i].images);
	free(tp->v);
	*tp = (struct timeline_procs){ 0 };
}

uint64_t timeline_proc__at(struct model *m, const struct timeline_proc *p, unsigned int ev,
			   uint64_t t)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < p->nimages; i++) {
		size_t n, lo = 0, hi;
		const struct model_point *s = model__image_timeline(m, p->images[i], &n);

		/* The last point at or before t; none: 0. */
		hi = n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (s[mid].time <= t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo)
			sum += s[lo - 1].live[ev];
	}
	return sum;
}

static int peak_cmp(const void *a, const void *b, void *arg)
{
	unsigned int ev = *(unsigned int *)arg;
	const struct timeline_proc *x = a, *y = b;

	if (x->peak[ev] != y->peak[ev])
		return x->peak[ev] > y->peak[ev] ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int timeline_procs__build(struct model *m, struct timeline_procs *tp)
{
	size_t nimg = model__nr_images(m);

	*tp = (struct timeline_procs){ 0 };
	tp->v = calloc(nimg ? nimg : 1, sizeof(*tp->v));
	if (!tp->v)
		return -ENOMEM;
	/* A process: the images of one pid from its fork to its exit, across its execs. */
	for (uint32_t img = 0; img < nimg; img++) {
		const struct model_proc *p = model__proc(m, img), *q;
		struct timeline_proc *tpp;
		const char *comm = model__comm(m, img);
		size_t k = 0;

		if (p->replaced)
			continue;
		tpp = &tp->v[tp->n++];
		tpp->pid = model__pid(m, img);
		snprintf(tpp->label, sizeof(tpp->label), "%s [%" PRIu32 "]", comm ? comm : "[unknown]",
			 tpp->pid);
		make_printable(tpp->label);
		for (q = p; q; q = q->prev != MODEL_IMAGE_NONE ? model__proc(m, q->prev) : NULL)
			k++;
		tpp->images = calloc(k, sizeof(*tpp->images));
		if (!tpp->images)
			return -ENOMEM;
		for (uint32_t i = img;; i = model__proc(m, i)->prev) {
			tpp->images[tpp->nimages++] = i;
			if (model__proc(m, i)->prev == MODEL_IMAGE_NONE || tpp->nimages == k)
				break;
		}
		/* Its peaks: the sum is highest at one of its images' points. */
		for (size_t i = 0; i < tpp->nimages; i++) {
			size_t n;
			const struct model_point *s = model__image_timeline(m, tpp->images[i], &n);

			for (size_t j = 0; j < n; j++) {
				for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
					uint64_t v = timeline_proc__at(m, tpp, ev, s[j].time);

					if (v > tpp->peak[ev]) {
						tpp->peak[ev] = v;
						tpp->peak_time[ev] = s[j].time;
					}
				}
			}
		}
	}
	return 0;
}

void timeline_procs__sort(struct timeline_procs *tp, unsigned int ev)
{
	if (tp->n)
		qsort_r(tp->v, tp->n, sizeof(*tp->v), peak_cmp, &ev);
}

int output_timeline__print_processes(FILE *f, struct model *m, unsigned int events,
				     uint64_t start, unsigned int rows)
{
	struct timeline_procs tp;
	const struct model_point *pts;
	size_t n;
	bool first_table = true;
	int err = timeline_procs__build(m, &tp);

	if (err)
		return err;
	pts = model__timeline(m, &n);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		size_t shown;

		if (!(events & (1u << ev)))
			continue;
		timeline_procs__sort(&tp, ev);
		for (shown = 0; shown < tp.n && shown < TIMELINE_PROCS_SHOWN && tp.v[shown].peak[ev];
		     shown++)
			;
		if (!first_table)
			fputc('\n', f);
		first_table = false;
		fprintf(f, "# memprof report --timeline --per-process: live %s memory of each "
			   "process over time\n", mpf_event_name(ev));
		for (size_t i = 0; i < shown; i++)
			fprintf(f, "#   %c: %s\n", (int)('a' + i), tp.v[i].label);
		if (tp.n > shown && shown)
			fprintf(f, "#   the others: %zu process%s, smaller\n", tp.n - shown,
				tp.n - shown == 1 ? "" : "es");
		fputs("#\n#     time (s)", f);
		for (size_t i = 0; i < shown; i++)
			fprintf(f, " %12c", (int)('a' + i));
		fputc('\n', f);
		if (!n || !shown) {
			fprintf(f, "# no %s memory in any process\n", mpf_event_name(ev));
			continue;
		}
		for (unsigned int r = 1; r <= rows; r++) {
			uint64_t t = pts[0].time +
				     (uint64_t)((double)(pts[n - 1].time - pts[0].time) * r / rows);

			if (r == rows)
				t = pts[n - 1].time;
			fprintf(f, "  %12.6f", t >= start ? (double)(t - start) / 1e9 : 0.0);
			for (size_t i = 0; i < shown; i++)
				print_cell(f, timeline_proc__at(m, &tp.v[i], ev, t));
			fputc('\n', f);
			if (pts[0].time == pts[n - 1].time)
				break;
		}
		fputs("#\n#         peak", f);
		for (size_t i = 0; i < shown; i++)
			print_cell(f, tp.v[i].peak[ev]);
		fputs("\n#       at (s)", f);
		for (size_t i = 0; i < shown; i++)
			fprintf(f, " %12.6f", tp.v[i].peak_time[ev] >= start
						      ? (double)(tp.v[i].peak_time[ev] - start) / 1e9
						      : 0.0);
		fputc('\n', f);
	}
	timeline_procs__free(&tp);
	return ferror(f) ? -EIO : 0;
}
