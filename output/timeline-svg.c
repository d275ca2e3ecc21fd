/*
 * --timeline=FILE.svg: the live bytes of each event type over the trace, as
 * line charts in one self-contained SVG file with no script: one panel per
 * type, one above the other on the same time axis, each with its own scale,
 * so that a large series flattens no other and no two overlap.  Time runs
 * along x in seconds from the trace's start, bytes up y in KiB, MiB or GiB,
 * both with round ticks (1, 2 or 5 times a power of ten) and grid lines.
 * Each panel's total is one <polyline class="series" data-event="NAME"> in
 * the type's colour, a step line since a total holds until the next point,
 * with a <title> tooltip giving its peak; the peak itself is a
 * <circle class="peak"> with a label beside it, one per panel.  With
 * --per-process, each of the largest processes is a <polyline
 * class="process" data-process="COMM [PID]"> of its own over the total,
 * named in the panel's legend with its peak.
 *
 * Numbers are written through integers, never %f, so that a locale with a
 * decimal comma cannot break the file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "output/escape.h"
#include "output/output.h"

#define TL_WIDTH	1200.0
#define TL_LEFT		90.0	/* y tick labels */
#define TL_RIGHT	30.0
#define TL_TOP		50.0	/* title */
#define TL_BOTTOM	50.0	/* x axis name */
#define TL_PANEL_H	230.0	/* a panel: its legend, its plot, its x tick labels */
#define TL_PANEL_TOP	36.0	/* the legend above the plot */
#define TL_PANEL_BOTTOM	34.0	/* x tick labels below it */
#define TL_XTICKS	10	/* about how many ticks each axis gets */
#define TL_YTICKS	4
#define TL_PLOT_W	(TL_WIDTH - TL_LEFT - TL_RIGHT)
#define TL_PLOT_H	(TL_PANEL_H - TL_PANEL_TOP - TL_PANEL_BOTTOM)
#define TL_X1		(TL_LEFT + TL_PLOT_W)

/* The processes' lines: colours apart from the types' (Tol's muted palette). */
static const char *const proc_colors[TIMELINE_PROCS_SHOWN] = {
	"#332288", "#117733", "#44aa99", "#88ccee", "#ddcc77", "#aa4499",
};

/* Okabe and Ito's palette: told apart with the common colour blindnesses too. */
static const char *const colors[MPF_EV__MAX] = {
	[MPF_EV_PAGE] = "#0072b2",
	[MPF_EV_HEAP] = "#d55e00",
	[MPF_EV_CACHE] = "#009e73",
	[MPF_EV_MMAP] = "#cc79a7",
	[MPF_EV_RSS] = "#e69f00",
};

static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };

/*
 * v with decimals digits after the point, into buf.  printf's %f follows
 * LC_NUMERIC; integers print the same everywhere.
 */
static const char *fixed(char *buf, size_t len, double v, unsigned int decimals)
{
	uint64_t scale = 1, u;
	bool neg = v < 0;

	for (unsigned int i = 0; i < decimals; i++)
		scale *= 10;
	if (neg)
		v = -v;
	u = (uint64_t)(v * (double)scale + 0.5);
	neg = neg && u;
	if (decimals)
		snprintf(buf, len, "%s%" PRIu64 ".%0*" PRIu64, neg ? "-" : "", u / scale,
			 (int)decimals, u % scale);
	else
		snprintf(buf, len, "%s%" PRIu64, neg ? "-" : "", u);
	return buf;
}

/* A coordinate: one decimal is a tenth of a pixel. */
#define C(v) fixed((char[32]){ 0 }, 32, (v), 1)


/* The round step (1, 2 or 5 times a power of ten) giving about ticks ticks over span > 0. */
static double nice_step(double span, unsigned int ticks)
{
	double raw = span / ticks, p = 1;

	while (p * 10 <= raw)
		p *= 10;
	while (p > raw)
		p /= 10;
	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

/* v rounded up to a whole number of steps, at least one step (no libm for ceil). */
static double round_up(double v, double step)
{
	double k = (double)(uint64_t)(v / step);

	if (k * step < v * (1 - 1e-12))
		k += 1;
	return k < 1 ? step : k * step;
}

/* The decimals a multiple of step needs to be written exactly: 0.2 needs 1, 0.05 needs 2. */
static unsigned int decimals_of(double step)
{
	unsigned int d = 0;

	for (double s = step; d < 9 && s < 1 - 1e-9; s *= 10)
		d++;
	return d;
}

/* bytes in the largest binary unit it reaches, one decimal: "12.3 MiB". */
static const char *human(char *buf, size_t len, uint64_t bytes)
{
	double v = (double)bytes;
	unsigned int u = 0;
	size_t n;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	fixed(buf, len, v, u ? 1 : 0);
	n = strlen(buf);
	snprintf(buf + n, len - n, " %s", units[u]);
	return buf;
}

#define H(b) human((char[48]){ 0 }, 48, (b))

static double seconds(uint64_t t, uint64_t start)
{
	return t > start ? (double)(t - start) / 1e9 : 0;
}

/* Grid lines and tick labels of both axes, and the axes themselves. */
static void axes(FILE *f, double top, double xmax, double xstep, double ymax, double ystep,
		 uint64_t unit, const char *unit_name)
{
	const double TL_TOP_ = top, TL_Y1 = top + TL_PLOT_H;
	unsigned int xd = decimals_of(xstep), yd = decimals_of(ystep / (double)unit);
	char buf[64];

	fputs("<g id=\"grid\" stroke=\"rgb(220,220,220)\" stroke-width=\"1\">\n", f);
	for (unsigned int i = 0;; i++) {
		double v = i * xstep, x = TL_LEFT + v / xmax * TL_PLOT_W;

		if (v > xmax * (1 + 1e-9))
			break;
		fprintf(f, "<line class=\"grid x\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n",
			C(x), C(TL_TOP_), C(x), C(TL_Y1));
	}
	for (unsigned int i = 0;; i++) {
		double v = i * ystep, y = TL_Y1 - v / ymax * TL_PLOT_H;

		if (v > ymax * (1 + 1e-9))
			break;
		fprintf(f, "<line class=\"grid y\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n",
			C(TL_LEFT), C(y), C(TL_X1), C(y));
	}
	fputs("</g>\n", f);

	fputs("<g class=\"axis x\" text-anchor=\"middle\">\n", f);
	for (unsigned int i = 0;; i++) {
		double v = i * xstep, x = TL_LEFT + v / xmax * TL_PLOT_W;

		if (v > xmax * (1 + 1e-9))
			break;
		fprintf(f, "<text class=\"tick\" x=\"%s\" y=\"%s\">%s</text>\n", C(x),
			C(TL_Y1 + 18), i ? fixed(buf, sizeof(buf), v, xd) : "0");
	}
	fputs("</g>\n", f);

	fputs("<g class=\"axis y\" text-anchor=\"end\">\n", f);
	for (unsigned int i = 0;; i++) {
		double v = i * ystep, y = TL_Y1 - v / ymax * TL_PLOT_H;

		if (v > ymax * (1 + 1e-9))
			break;
		/* 0 needs no unit nor decimals. */
		if (i)
			fprintf(f, "<text class=\"tick\" x=\"%s\" y=\"%s\">%s %s</text>\n",
				C(TL_LEFT - 6), C(y + 4),
				fixed(buf, sizeof(buf), v / (double)unit, yd), unit_name);
		else
			fprintf(f, "<text class=\"tick\" x=\"%s\" y=\"%s\">0</text>\n",
				C(TL_LEFT - 6), C(y + 4));
	}
	fputs("</g>\n", f);

	fprintf(f,
		"<path class=\"axes\" d=\"M%s,%s V%s H%s\" fill=\"none\" stroke=\"black\" "
		"stroke-width=\"1\"/>\n",
		C(TL_LEFT), C(TL_TOP_), C(TL_Y1), C(TL_X1));
}

/* The y scale of a panel: its top, a round step, and the unit its ticks are in. */
struct yscale {
	double max, step;
	uint64_t unit;
	unsigned int u;
};

static struct yscale yscale_of(double ymax)
{
	struct yscale y = { .unit = 1 };
	double yunit = 1;

	/* Ticks are round in the unit shown, not in bytes. */
	if (ymax < 1)
		ymax = 1024;
	while (ymax / yunit >= 1024 && y.u + 1 < sizeof(units) / sizeof(units[0])) {
		yunit *= 1024;
		y.unit *= 1024;
		y.u++;
	}
	y.step = nice_step(ymax / yunit, TL_YTICKS);
	if (!y.u && y.step < 1)	/* no fractions of a byte */
		y.step = 1;
	y.max = round_up(ymax / yunit, y.step) * yunit;
	y.step *= yunit;
	return y;
}

/* A step line of n values at times, in the panel at top. */
static void step_line(FILE *f, const uint64_t *times, const uint64_t *vals, size_t n,
		      uint64_t start, double xmax, double top, double ymax)
{
	double x0 = 0, lx = 0, ly = 0, y1 = top + TL_PLOT_H;

	for (size_t i = 0; i < n; i++) {
		double x = TL_LEFT + seconds(times[i], start) / xmax * TL_PLOT_W;
		double y = y1 - (double)vals[i] / ymax * TL_PLOT_H;

		if (!i) {
			fprintf(f, "%s,%s", C(x), C(y));
			x0 = x;
		} else if (i + 1 == n || vals[i] != vals[i - 1]) {
			if (x != lx)
				fprintf(f, " %s,%s", C(x), C(ly));
			if (y != ly)
				fprintf(f, " %s,%s", C(x), C(y));
		} else {
			continue;
		}
		lx = x;
		ly = y;
	}
	/* All at one instant: the last total holds across the chart, as a flat line. */
	if (n && lx == x0)
		fprintf(f, " %s,%s", C(TL_X1), C(ly));
}

int output_timeline__svg(FILE *f, struct model *m, const struct model_point *pts, size_t n,
			 unsigned int events, uint64_t start, const uint64_t *peak_time,
			 const uint64_t *peak_bytes, const char *title, bool per_process)
{
	struct timeline_procs tp = { 0 };
	uint64_t *times = NULL, *vals = NULL;
	unsigned int nr = 0, panel = 0;
	double xmax = 0, xstep, height;
	char buf[64];
	int err = 0;

	if (!title)
		title = "memprof: memory over time";
	events &= (1u << MPF_EV__MAX) - 1;
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		nr += !!(events & (1u << ev));
	times = calloc(n ? n : 1, sizeof(*times));
	vals = calloc(n ? n : 1, sizeof(*vals));
	if (!times || !vals || (per_process && (err = timeline_procs__build(m, &tp)))) {
		err = err ? err : -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		times[i] = pts[i].time;

	/* The time range: every point and every peak drawn must fit. */
	if (n)
		xmax = seconds(pts[n - 1].time, start);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		if ((events & (1u << ev)) && peak_bytes && peak_bytes[ev] && peak_time &&
		    seconds(peak_time[ev], start) > xmax)
			xmax = seconds(peak_time[ev], start);
	/* One instant, or no time at all, still needs a width to divide by. */
	if (xmax <= 0)
		xmax = 1;
	xstep = nice_step(xmax, TL_XTICKS);
	xmax = round_up(xmax, xstep);
	height = TL_TOP + (nr ? nr : 1) * TL_PANEL_H + TL_BOTTOM;

	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n",
		TL_WIDTH, height, TL_WIDTH, height);
	fputs("<title>", f);
	xml_text(f, title, SIZE_MAX);
	fputs("</title>\n", f);
	fputs("<style type=\"text/css\">\n"
	      "text { font-family: Verdana, sans-serif; font-size: 12px; fill: rgb(0,0,0); }\n"
	      "#title { text-anchor: middle; font-size: 17px; }\n"
	      "polyline.series:hover, polyline.process:hover { stroke-width: 3; }\n"
	      "text.peak-label { font-size: 11px; }\n"
	      "</style>\n",
	      f);
	fprintf(f,
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
		"fill=\"rgb(248,248,248)\"/>\n",
		TL_WIDTH, height);
	fprintf(f, "<text id=\"title\" x=\"%s\" y=\"24\">", C(TL_WIDTH / 2));
	xml_text(f, title, SIZE_MAX);
	fputs("</text>\n", f);
	if (!nr)
		fprintf(f, "<text x=\"%s\" y=\"%s\">no event type to draw</text>\n", C(TL_LEFT + 10),
			C(TL_TOP + 20));

	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		double top, ymax = 0;
		struct yscale y;
		size_t shown = 0;

		if (!(events & (1u << ev)))
			continue;
		top = TL_TOP + panel++ * TL_PANEL_H + TL_PANEL_TOP;
		for (size_t i = 0; i < n; i++) {
			vals[i] = pts[i].live[ev];
			if ((double)vals[i] > ymax)
				ymax = (double)vals[i];
		}
		if (peak_bytes && (double)peak_bytes[ev] > ymax)
			ymax = (double)peak_bytes[ev];
		if (per_process) {
			timeline_procs__sort(&tp, ev);
			while (shown < tp.n && shown < TIMELINE_PROCS_SHOWN && tp.v[shown].peak[ev])
				shown++;
			/* A forked copy's RSS is left out of the total, not of its own line. */
			for (size_t i = 0; i < shown; i++)
				if ((double)tp.v[i].peak[ev] > ymax)
					ymax = (double)tp.v[i].peak[ev];
		}
		y = yscale_of(ymax);
		fprintf(f, "<g class=\"panel\" data-event=\"%s\">\n", mpf_event_name(ev));
		axes(f, top, xmax, xstep, y.max, y.step, y.unit, units[y.u]);

		/* The legend, above the plot: the type, and each process shown. */
		fprintf(f,
			"<g class=\"legend-item\" data-event=\"%s\"><line x1=\"%s\" y1=\"%s\" "
			"x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"3\"/><text x=\"%s\" "
			"y=\"%s\">%s%s</text></g>\n",
			mpf_event_name(ev), C(TL_LEFT), C(top - 14), C(TL_LEFT + 24), C(top - 14),
			colors[ev], C(TL_LEFT + 30), C(top - 10), mpf_event_name(ev),
			per_process ? " (all processes)" : "");
		for (size_t i = 0; i < shown; i++) {
			double x = TL_LEFT + 220 + (double)i * 150;

			fprintf(f,
				"<g class=\"legend-item\" data-process=\"%u\"><line x1=\"%s\" y1=\"%s\" "
				"x2=\"%s\" y2=\"%s\" stroke=\"%s\" stroke-width=\"2\"/><text x=\"%s\" "
				"y=\"%s\">",
				tp.v[i].pid, C(x), C(top - 14), C(x + 16), C(top - 14), proc_colors[i],
				C(x + 20), C(top - 10));
			xml_text(f, tp.v[i].label, 18);
			fputs("</text></g>\n", f);
		}

		fprintf(f,
			"<polyline class=\"series\" data-event=\"%s\" fill=\"none\" stroke=\"%s\" "
			"stroke-width=\"%s\" stroke-linejoin=\"round\"%s points=\"",
			mpf_event_name(ev), colors[ev], per_process ? "1" : "1.5",
			per_process ? " stroke-dasharray=\"4,2\"" : "");
		step_line(f, times, vals, n, start, xmax, top, y.max);
		fputs("\"><title>", f);
		fputs(mpf_event_name(ev), f);
		if (peak_bytes && peak_bytes[ev]) {
			fprintf(f, ": peak %s (%" PRIu64 " bytes)", H(peak_bytes[ev]),
				peak_bytes[ev]);
			if (peak_time)
				fprintf(f, " at %s s",
					fixed(buf, sizeof(buf), seconds(peak_time[ev], start), 3));
		} else if (peak_bytes) {
			fputs(": never above 0 bytes", f);
		}
		fputs("</title></polyline>\n", f);

		for (size_t i = 0; i < shown; i++) {
			for (size_t k = 0; k < n; k++)
				vals[k] = timeline_proc__at(m, &tp.v[i], ev, times[k]);
			fprintf(f,
				"<polyline class=\"process\" data-event=\"%s\" data-process=\"%u\" "
				"fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
				"stroke-linejoin=\"round\" points=\"",
				mpf_event_name(ev), tp.v[i].pid, proc_colors[i]);
			step_line(f, times, vals, n, start, xmax, top, y.max);
			fputs("\"><title>", f);
			xml_text(f, tp.v[i].label, SIZE_MAX);
			fprintf(f, ": %s peak %s</title></polyline>\n", mpf_event_name(ev),
				H(tp.v[i].peak[ev]));
		}

		/* The total's peak, over the lines; one per panel, so labels never collide. */
		if (peak_bytes && peak_time && peak_bytes[ev]) {
			double x = TL_LEFT + seconds(peak_time[ev], start) / xmax * TL_PLOT_W;
			double py = top + TL_PLOT_H - (double)peak_bytes[ev] / y.max * TL_PLOT_H;

			fprintf(f,
				"<circle class=\"peak\" data-event=\"%s\" data-bytes=\"%" PRIu64 "\" "
				"data-time=\"%" PRIu64 "\" cx=\"%s\" cy=\"%s\" r=\"4\" fill=\"%s\" "
				"stroke=\"white\" stroke-width=\"1\"><title>%s peak: %s (%" PRIu64
				" bytes) at %s s</title></circle>\n",
				mpf_event_name(ev), peak_bytes[ev], peak_time[ev], C(x), C(py),
				colors[ev], mpf_event_name(ev), H(peak_bytes[ev]), peak_bytes[ev],
				fixed(buf, sizeof(buf), seconds(peak_time[ev], start), 3));
			fprintf(f,
				"<text class=\"peak-label\" data-event=\"%s\" x=\"%s\" y=\"%s\" "
				"text-anchor=\"%s\">%s peak %s</text>\n",
				mpf_event_name(ev), C(x > TL_X1 - 120 ? x - 6 : x + 6),
				C(py - 8 < top + 10 ? py + 16 : py - 8),
				x > TL_X1 - 120 ? "end" : "start", mpf_event_name(ev),
				H(peak_bytes[ev]));
		}
		fputs("</g>\n", f);
	}
	fprintf(f, "<text class=\"label\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">seconds from "
		   "start</text>\n",
		C(TL_LEFT + TL_PLOT_W / 2), C(height - 16));
	fputs("</svg>\n", f);
	err = ferror(f) ? -EIO : 0;
out:
	timeline_procs__free(&tp);
	free(times);
	free(vals);
	return err;
}
