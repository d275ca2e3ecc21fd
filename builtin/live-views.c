/*
 * The views of a live model (builtin/live.h): report's trees, profiles and
 * the processes' rows, built under the model's lock by the same code as
 * report's, written by the formats of output/.
 */
#include <errno.h>
#include <string.h>

#include "builtin/live.h"
#include "lib/strtab.h"
#include "model/model.h"
#include "output/output.h"
#include "report/path.h"
#include "report/procs.h"
#include "report/tree.h"
#include "symbols/symbolize.h"

/*
 * The names and the symbolizer for the model as it is now, under the lock.
 * The symbolizer knows the files the model had when it was made: new files
 * (a library loaded since) make a new one.  0, -ENOENT before the header.
 */
static int views__prepare(struct live *l)
{
	struct model *m = l->in.model;

	if (!l->have_input)
		return -ENOENT;
	if (!l->names && !(l->names = strtab__new()))
		return -ENOMEM;
	if (!l->sym || l->sym_files != model__nr_files(m)) {
		symbolizer__delete(l->sym);
		l->sym = symbolizer__new(m, l->names,
					 &(struct symbolizer_opts){ .lookup = l->in.lookup });
		l->sym_files = model__nr_files(m);
		if (!l->sym)
			return -ENOMEM;
	}
	return 0;
}

static unsigned int events_of(struct live *l)
{
	return view__events(l->in.model, l->in.hdr.events);
}

unsigned int live__events(struct live *l)
{
	unsigned int events = 0;

	live__lock(l);
	if (l->have_input)
		events = events_of(l);
	live__unlock(l);
	return events;
}

/* The event type o asks for, or the default: pages (with the page cache) if recorded, else heap. */
static int tree_event(struct live *l, int ev)
{
	unsigned int events = events_of(l) & ~(1u << MPF_EV_RSS);

	if (ev < 0)
		ev = events & (1u << MPF_EV_PAGE)   ? MPF_EV_PAGE
		     : events & (1u << MPF_EV_HEAP) ? MPF_EV_HEAP
		     : events ? __builtin_ctz(events) : -1;
	return ev >= 0 && (events & (1u << ev)) ? ev : -ENOENT;
}

static int build_tree(struct live *l, FILE *f, const struct live_tree_opts *o)
{
	struct path_frames frames = {};
	struct report_section sec;
	struct tree *t = NULL;
	struct paths p;
	int ev = tree_event(l, o->event), err;
	const struct view_opts vo = {
		.show = o->show,
		.threshold_kib = o->threshold_kib,
		/* TezEdge's tree, as report's JSON: the page cache as each node's cacheValue. */
		.merge_cache = o->format == LIVE_TREE_TEZEDGE && ev == MPF_EV_PAGE &&
			       (events_of(l) & (1u << MPF_EV_CACHE)),
		.pids = &o->pid,
		.npids = o->pid ? 1 : 0,
	};

	if (ev < 0)
		return ev;
	err = paths__init(&p, l->in.model, l->sym, l->names,
			  (o->reverse ? PATH_REVERSE : 0) | PATH_PID,
			  o->format == LIVE_TREE_TEZEDGE ? &frames : NULL);
	if (!err)
		err = view__build(&p, &vo, ev, &t, &sec);
	if (!err) {
		switch (o->format) {
		case LIVE_TREE_TEZEDGE:
			err = output_json__tezedge(f, t, l->names, &sec, &frames);
			break;
		case LIVE_TREE_SVG:
			err = output_svg__print(f, t, l->names, &sec);
			break;
		case LIVE_TREE_TEXT:
			err = output_tree__print(f, t, l->names, &sec);
			break;
		}
	}
	tree__delete(t);
	path_frames__free(&frames);
	return err;
}

int live__tree(struct live *l, FILE *f, const struct live_tree_opts *o)
{
	int err;

	live__lock(l);
	err = views__prepare(l);
	if (!err)
		err = build_tree(l, f, o);
	live__unlock(l);
	return err;
}

int live__pprof(struct live *l, FILE *f, int ev, enum report_show show)
{
	int err;

	live__lock(l);
	err = views__prepare(l);
	if (!err && !(events_of(l) & (1u << ev)))
		err = -ENOENT;
	if (!err)
		err = output_pprof__print(f, l->in.model, l->sym, l->names, ev, show);
	live__unlock(l);
	return err;
}

int live__procs(struct live *l, struct procs *out, int key)
{
	int err = 0;

	live__lock(l);
	if (l->have_input)
		err = procs__build(l->in.model, out);
	else
		out->n = 0;
	live__unlock(l);
	if (!err)
		procs__sort(out, key);
	return err;
}

int live__metrics(struct live *l, FILE *f)
{
	struct procs p = {};
	int err = 0;

	live__lock(l);
	if (l->have_input) {
		err = procs__build(l->in.model, &p);
		if (!err) {
			procs__sort(&p, PROCS_SORT_PID);
			err = output_metrics__print(f, l->in.model, &p, events_of(l));
		}
	}
	live__unlock(l);
	procs__free(&p);
	return err;
}

int live__procs_json(struct live *l, FILE *f)
{
	struct procs p = {};
	int err = live__procs(l, &p, PROCS_SORT_PID);

	if (!err)
		err = output_procs__json(f, &p);
	procs__free(&p);
	return err;
}

int live__timeline(struct live *l, FILE *f)
{
	const struct model_point *pts;
	uint64_t peak_time[MPF_EV__MAX], peak_bytes[MPF_EV__MAX];
	size_t n;
	int err;

	live__lock(l);
	err = views__prepare(l);
	if (!err) {
		pts = model__timeline(l->in.model, &n);
		for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
			peak_time[ev] = model__peak(l->in.model, ev)->time;
			peak_bytes[ev] = model__peak(l->in.model, ev)->bytes;
		}
		err = output_timeline__svg(f, l->in.model, pts, n, events_of(l),
					   l->in.hdr.start_time, peak_time, peak_bytes,
					   "memprof timeline", false);
	}
	live__unlock(l);
	return err;
}
