/*
 * --format=svg: a flame graph of the tree, as flamegraph.pl draws one, with
 * no tool between the trace and the picture.  One self-contained SVG file:
 * the frames, their names and tooltips (bytes and percent of the total), and
 * inline JavaScript for what a browser does with it (click a frame to zoom
 * into it, Ctrl-F or the Search button to highlight frames by regular
 * expression with the matched percent, details of the frame under the
 * pointer below the graph).  Every frame is one <g class="f"> holding a
 * <title>, a <rect> whose width is its bytes' share and a <text>; the root
 * frame "all" is the whole width, at the bottom, each child above its
 * parent.  --threshold folds frames as in the tree.  A person reads it, so
 * its sizes are in the adaptive units of lib/units.h: the tooltip and the
 * details line give a frame's total, its share and its self.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/units.h"
#include "output/escape.h"
#include "output/output.h"
#include "report/tree.h"

/* The script's W (SVG_WIDTH - 2 * SVG_XPAD), X and CW repeat these: change them together. */
#define SVG_WIDTH	1200.0
#define SVG_XPAD	10.0
#define SVG_FRAME_H	16
#define SVG_TOP		60	/* title, buttons */
#define SVG_BOTTOM	34	/* details line */
#define SVG_FONT	12.0
#define SVG_CHAR_W	(SVG_FONT * 0.59)	/* flamegraph.pl's estimate of a character's width */

/* Whether a frame of the tree below idx is named name. */
static bool has_name(const struct tree *t, const struct strtab *names, uint32_t idx,
		     const char *name)
{
	for (uint32_t c = tree__node(t, idx)->child; c != TREE_NONE; c = tree__node(t, c)->next)
		if (!strcmp(strtab__str(names, tree__node(t, c)->name), name) ||
		    has_name(t, names, c, name))
			return true;
	return false;
}

static unsigned int depth_of(const struct tree *t, uint32_t idx)
{
	unsigned int d = 0;

	for (uint32_t c = tree__node(t, idx)->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		unsigned int cd = depth_of(t, c);

		if (cd > d)
			d = cd;
	}
	return d + 1;
}

/* A warm colour from the name, so a function has the same colour everywhere. */
static void color(const char *name, unsigned int *r, unsigned int *g, unsigned int *b)
{
	uint32_t h = 2166136261u;

	if (!strncmp(name, "[unknown]", 9) || !strcmp(name, "[incomplete]") ||
	    !strcmp(name, "[other]")) {
		*r = *g = *b = 190;
		return;
	}
	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	*r = 205 + h % 50;
	*g = (h >> 8) % 230;
	*b = (h >> 16) % 55;
}

/* What values count: bytes, or with --show=count allocations. */
static bool counts;

static const char *amount(char *buf, uint64_t v)
{
	char n[UNITS_BUF];

	if (!counts)
		return fmt_size(buf, UNITS_BUF + 16, v);
	snprintf(buf, UNITS_BUF + 16, "%s allocation%s", fmt_count(n, sizeof(n), v),
		 v == 1 ? "" : "s");
	return buf;
}

static void frame(FILE *f, const char *name, uint64_t value, uint64_t self, uint64_t total,
		  double x, double w, unsigned int y)
{
	size_t fit = (size_t)((w - 6) / SVG_CHAR_W);
	char b1[UNITS_BUF + 16], b2[UNITS_BUF + 16];
	unsigned int r, g, b;

	color(name, &r, &g, &b);
	fputs("<g class=\"f\"><title>", f);
	xml_text(f, name, SIZE_MAX);
	fprintf(f, " (%s, %.2f%%; self %s)</title>", amount(b1, value),
		100.0 * (double)value / (double)total, amount(b2, self));
	fprintf(f,
		"<rect x=\"%.2f\" y=\"%u\" width=\"%.2f\" height=\"%d\" fill=\"rgb(%u,%u,%u)\" "
		"rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
		x, y, w, SVG_FRAME_H - 1, r, g, b, x + 3, y + SVG_FRAME_H - 4.5);
	/* Names that do not fit are cut with "..", as the script does when zooming. */
	if (fit >= 3) {
		if (strlen(name) <= fit) {
			xml_text(f, name, SIZE_MAX);
		} else {
			xml_text(f, name, fit - 2);
			fputs("..", f);
		}
	}
	fputs("</text></g>\n", f);
}

static void frames(FILE *f, const struct tree *t, const struct strtab *names, uint32_t idx,
		   uint64_t total, double x, unsigned int y, double scale)
{
	for (uint32_t c = tree__node(t, idx)->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		const struct tree_node *n = tree__node(t, c);
		double w = (double)n->v[VIEW_VALUE] * scale;

		frame(f, strtab__str(names, n->name), n->v[VIEW_VALUE],
		      tree__self(t, n, VIEW_VALUE), total, x, w, y - SVG_FRAME_H);
		frames(f, t, names, c, total, x, y - SVG_FRAME_H, scale);
		x += w;
	}
}

/* The script: flamegraph.pl's behaviour, written small. */
static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"'use strict';\n"
	"var svg, details, matched, frames, searching = null, CW = " "7.08" ";\n"
	"function init() {\n"
	"  svg = document.documentElement;\n"
	"  details = document.getElementById('details').firstChild;\n"
	"  matched = document.getElementById('matched');\n"
	"  frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));\n"
	"  frames.forEach(function (g) {\n"
	"    var r = g.querySelector('rect');\n"
	"    g.ox = parseFloat(r.getAttribute('x'));\n"
	"    g.ow = parseFloat(r.getAttribute('width'));\n"
	"    g.oy = parseFloat(r.getAttribute('y'));\n"
	"    g.name = g.querySelector('title').textContent;\n"
	"    g.fn = g.name.replace(/ \\([^()]*; self [^()]*\\)$/, '');\n"
	"    g.onclick = function () { zoom(g); };\n"
	"    g.onmouseover = function () { details.nodeValue = g.name; };\n"
	"    g.onmouseout = function () { details.nodeValue = ' '; };\n"
	"  });\n"
	"  window.addEventListener('keydown', function (e) {\n"
	"    if (e.keyCode === 114 || (e.ctrlKey && e.keyCode === 70)) {\n"
	"      e.preventDefault(); search_prompt();\n"
	"    } else if (e.keyCode === 27) { unzoom(); reset_search(); }\n"
	"  });\n"
	"}\n"
	"function label(g, w) {\n"
	"  var t = g.querySelector('text'), fit = Math.floor((w - 6) / CW);\n"
	"  t.textContent = fit < 3 ? '' : g.fn.length <= fit ? g.fn : g.fn.slice(0, fit - 2) + '..';\n"
	"}\n"
	"function place(g, x, w, hidden, parent) {\n"
	"  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
	"  r.setAttribute('x', x); r.setAttribute('width', w); t.setAttribute('x', x + 3);\n"
	"  g.style.display = hidden ? 'none' : '';\n"
	"  g.style.opacity = parent ? 0.5 : 1;\n"
	"  label(g, w);\n"
	"}\n"
	"function zoom(z) {\n"
	"  var W = " "1180" ", X = " "10" ", s = W / z.ow;\n"
	"  frames.forEach(function (g) {\n"
	"    var inside = g.ox >= z.ox - 1e-6 && g.ox + g.ow <= z.ox + z.ow + 1e-6;\n"
	"    var below = g.oy > z.oy && g.ox <= z.ox + 1e-6 && g.ox + g.ow >= z.ox + z.ow - 1e-6;\n"
	"    if (below) place(g, X, W, false, true);\n"
	"    else if (inside && g.oy <= z.oy) place(g, X + (g.ox - z.ox) * s, g.ow * s, false, false);\n"
	"    else place(g, g.ox, g.ow, true, false);\n"
	"  });\n"
	"  document.getElementById('unzoom').style.opacity = 1;\n"
	"}\n"
	"function unzoom() {\n"
	"  frames.forEach(function (g) { place(g, g.ox, g.ow, false, false); });\n"
	"  document.getElementById('unzoom').style.opacity = 0;\n"
	"}\n"
	"function reset_search() {\n"
	"  frames.forEach(function (g) { g.querySelector('rect').style.fill = ''; });\n"
	"  matched.firstChild.nodeValue = ' '; searching = null;\n"
	"  document.getElementById('search').firstChild.nodeValue = 'Search';\n"
	"}\n"
	"function search_prompt() {\n"
	"  if (searching) { reset_search(); return; }\n"
	"  var term = prompt('Search for a function name (regular expression):', '');\n"
	"  if (term) search(term);\n"
	"}\n"
	"function search(term) {\n"
	"  var re = new RegExp(term), spans = [], total = 0, sum = 0, end = -1;\n"
	"  reset_search();\n"
	"  frames.forEach(function (g) {\n"
	"    if (g.ow > total) total = g.ow;\n"
	"    if (re.test(g.fn)) {\n"
	"      g.querySelector('rect').style.fill = 'rgb(230,0,230)';\n"
	"      spans.push([g.ox, g.ox + g.ow]);\n"
	"    }\n"
	"  });\n"
	"  /* a match inside another one is not counted twice */\n"
	"  spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
	"  spans.forEach(function (s) {\n"
	"    if (s[0] >= end - 1e-6) { sum += s[1] - s[0]; end = s[1]; }\n"
	"    else if (s[1] > end) { sum += s[1] - end; end = s[1]; }\n"
	"  });\n"
	"  searching = term;\n"
	"  document.getElementById('search').firstChild.nodeValue = 'Reset Search';\n"
	"  matched.firstChild.nodeValue = 'Matched: ' + (total ? (100 * sum / total).toFixed(2) : 0) + '%';\n"
	"}\n"
	"]]></script>\n";

int output_svg__print(FILE *f, const struct tree *t, const struct strtab *names,
		      const struct report_section *sec)
{
	unsigned int depth = sec->total ? depth_of(t, TREE_ROOT) : 1;
	unsigned int height = SVG_TOP + depth * SVG_FRAME_H + SVG_BOTTOM;
	unsigned int base = SVG_TOP + depth * SVG_FRAME_H;	/* below the root frame */
	double inner = SVG_WIDTH - 2 * SVG_XPAD;

	fprintf(f,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%.0f\" height=\"%u\" viewBox=\"0 0 %.0f %u\" "
		"onload=\"init()\" xmlns=\"http://www.w3.org/2000/svg\">\n",
		SVG_WIDTH, height, SVG_WIDTH, height);
	fprintf(f,
		"<style type=\"text/css\">\n"
		"text { font-family: Verdana, sans-serif; font-size: %.0fpx; fill: rgb(0,0,0); }\n"
		"g.f { cursor: pointer; }\n"
		"g.f text { pointer-events: none; }\n"
		"g.f:hover rect { stroke: black; stroke-width: 0.5; }\n"
		"#title { text-anchor: middle; font-size: 17px; }\n"
		"#search, #unzoom { cursor: pointer; }\n"
		"</style>\n",
		SVG_FONT);
	fputs(script, f);
	fprintf(f,
		"<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%u\" fill=\"rgb(248,248,248)\"/>\n",
		SVG_WIDTH, height);
	counts = sec->show == REPORT_SHOW_COUNT;
	fprintf(f, "<text id=\"title\" x=\"%.0f\" y=\"24\">memprof: %s events, %s%s</text>\n",
		SVG_WIDTH / 2, sec->event, report_show_title(sec->show),
		sec->reverse ? ", allocation sites first" : "");
	if (sec->show == REPORT_SHOW_COUNT)
		fprintf(f,
			"<text id=\"subtitle\" x=\"%.0f\" y=\"44\" text-anchor=\"middle\">total "
			"%s allocations",
			SVG_WIDTH / 2, COUNT(sec->total));
	else
		fprintf(f,
			"<text id=\"subtitle\" x=\"%.0f\" y=\"44\" text-anchor=\"middle\">total "
			"%s in %s %s%s, threshold %s KiB",
			SVG_WIDTH / 2, SIZE(sec->total), COUNT(sec->allocations),
			sec->show == REPORT_SHOW_LEAKS ? "blocks" : "allocations",
			sec->show == REPORT_SHOW_PEAK ? " at the peak" : "",
			COUNT(sec->threshold_kib));
	/* What a user sees drawn is explained where it is drawn. */
	if (sec->folded_paths)
		fprintf(f, "; [other]: %s paths under the threshold", COUNT(sec->folded_paths));
	if (sec->total && has_name(t, names, TREE_ROOT, "[incomplete]"))
		fputs("; [incomplete]: unwinding stopped before the outermost frame", f);
	fputs("</text>\n", f);
	if (sec->lost) {
		char note[256];

		fprintf(f,
			"<text id=\"lost\" x=\"%.0f\" y=\"58\" text-anchor=\"middle\">%s</text>\n",
			SVG_WIDTH / 2, view__lost_note(sec, note, sizeof(note)));
	}
	fprintf(f, "<text id=\"unzoom\" x=\"%.0f\" y=\"24\" style=\"opacity:0\" "
		   "onclick=\"unzoom()\">Reset Zoom</text>\n", SVG_XPAD);
	fprintf(f, "<text id=\"search\" x=\"%.0f\" y=\"24\" text-anchor=\"end\" "
		   "onclick=\"search_prompt()\">Search</text>\n", SVG_WIDTH - SVG_XPAD);
	fprintf(f, "<text id=\"matched\" x=\"%.0f\" y=\"%u\" text-anchor=\"end\"> </text>\n",
		SVG_WIDTH - SVG_XPAD, height - 12);
	fprintf(f, "<text id=\"details\" x=\"%.0f\" y=\"%u\"> </text>\n", SVG_XPAD, height - 12);
	fputs("<g id=\"frames\">\n", f);
	if (sec->total) {
		frame(f, "all", sec->total, tree__self(t, tree__node(t, TREE_ROOT), VIEW_VALUE),
		      sec->total, SVG_XPAD, inner, base - SVG_FRAME_H);
		frames(f, t, names, TREE_ROOT, sec->total, SVG_XPAD, base - SVG_FRAME_H,
		       inner / (double)sec->total);
	} else {
		fprintf(f, "<text x=\"%.0f\" y=\"%u\">nothing: no %s</text>\n", SVG_XPAD,
			SVG_TOP + 12, report_show_title(sec->show));
	}
	fputs("</g>\n</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}
