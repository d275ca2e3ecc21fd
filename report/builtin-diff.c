/*
 * memprof diff: what changed between two traces, as report's call tree with
 * the bytes of both and their difference.  Allocation sites are matched by
 * their symbolized path (process name, then function names), not by address:
 * two runs of one program map it at different addresses, and a rebuilt
 * program has its functions elsewhere.
 *
 * Both traces are read into models of their own and symbolized with
 * symbolizers of their own that intern into one string table, so that equal
 * names have equal ids and the paths of both land in one tree.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "format/mpf.h"
#include "report/input.h"
#include "model/model.h"
#include "report/report.h"
#include "symbols/symbolize.h"
#include "report/tree.h"
#include "util.h"

/* Identical to the SYNOPSIS of Documentation/memprof-diff.txt. */
static const char diff_help[] =
	"memprof diff [--show=live|alloc] [--event=page|heap|cache|mmap] [--threshold=KIB]\n"
	"             [--symfs=DIR] [--buildid-dir=DIR] OLD NEW\n"
	"\n"
	"    --show=live|alloc   bytes still allocated at the end of each trace (default),\n"
	"                        or every byte allocated during it\n"
	"    --event=TYPE        only this event type: page, heap, cache or mmap\n"
	"                        (default: each one recorded)\n"
	"    --threshold=KIB     fold nodes whose difference is under KIB KiB into [other]\n"
	"                        (default: 256; 0: none)\n"
	"    --symfs=DIR         look for the recorded files under DIR first\n"
	"    --buildid-dir=DIR   the build-id cache (default: $MEMPROF_BUILDID_DIR,\n"
	"                        else ~/.cache/memprof)\n"
	"    -h, --help          show this help\n";

#define THRESHOLD_KIB_DEFAULT 256
#define PATH_FRAMES_MAX (2 * MPF_STACK_MAX)

struct diff_opts {
	struct input_opts in[2];	/* OLD, NEW; --symfs and --buildid-dir apply to both */
	enum report_show show;
	int event;		/* enum mpf_event_type, or -1 for each one present */
	uint64_t threshold_kib;
};

/* A node of the difference tree: the bytes of every path through it, in each trace. */
struct dnode {
	uint32_t name;
	uint32_t parent, child, next;	/* TREE_NONE: none */
	uint64_t v[2];		/* OLD, NEW */
};

struct dtree {
	struct dnode *n;
	size_t nr, cap;
	struct hmap index;	/* (parent, name) -> node */
};

struct side {
	struct input in;
	struct symbolizer *sym;
};

struct diff {
	const struct diff_opts *opts;
	struct side s[2];
	struct strtab *names;
	uint32_t unknown, truncated, other, kernel;
	struct dtree trees[MPF_EV__MAX];
};

enum {
	OPT_SHOW = 256,
	OPT_EVENT,
	OPT_THRESHOLD,
};

static int parse_options(int argc, char **argv, struct diff_opts *o, bool *done)
{
	static const struct option long_opts[] = {
		{ "symfs", required_argument, NULL, INPUT_OPT_SYMFS },
		{ "buildid-dir", required_argument, NULL, INPUT_OPT_BUILDID_DIR },
		{ "show", required_argument, NULL, OPT_SHOW },
		{ "event", required_argument, NULL, OPT_EVENT },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	*done = false;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		if (input_opts__parse(&o->in[0], c, optarg)) {
			input_opts__parse(&o->in[1], c, optarg);
			continue;
		}
		switch (c) {
		case OPT_SHOW:
			if (!strcmp(optarg, "live"))
				o->show = REPORT_SHOW_LIVE;
			else if (!strcmp(optarg, "alloc"))
				o->show = REPORT_SHOW_ALLOC;
			else
				return error("invalid --show '%s': expected live or alloc", optarg),
				       EXIT_USAGE;
			break;
		case OPT_EVENT:
			o->event = mpf_event_parse(optarg);
			if (o->event < 0 || o->event == MPF_EV_RSS)
				return error("unknown event type '%s': expected page, heap, cache "
					     "or mmap",
					     optarg),
				       EXIT_USAGE;
			break;
		case OPT_THRESHOLD:
			if (!parse_u64(optarg, &o->threshold_kib))
				return error("invalid --threshold '%s': expected a number of KiB",
					     optarg),
				       EXIT_USAGE;
			break;
		case 'h':
			*done = true;
			return usage(diff_help, 0);
		default:
			return option_error("diff", c, argv);
		}
	}
	if (argc - optind != 2) {
		if (argc - optind > 2)
			error("unexpected argument '%s'; diff compares two traces, OLD and NEW",
			      argv[optind + 2]);
		else
			error("diff compares two traces: give OLD and NEW; see 'memprof diff --help'");
		return EXIT_USAGE;
	}
	o->in[0].path = argv[optind];
	o->in[1].path = argv[optind + 1];
	return 0;
}

/* ---- the difference tree ---- */

static int dtree__init(struct dtree *t)
{
	int err = ARRAY_RESERVE(t->n, t->cap, 1);

	if (err)
		return err;
	t->n[0] = (struct dnode){ .parent = TREE_NONE, .child = TREE_NONE, .next = TREE_NONE };
	t->nr = 1;
	return 0;
}

static void dtree__free(struct dtree *t)
{
	free(t->n);
	hmap__free(&t->index);
}

static int dtree__new_node(struct dtree *t, uint32_t parent, uint32_t name, uint32_t *idx)
{
	int err;

	if (t->nr >= TREE_NONE)
		return -ENOMEM;
	err = ARRAY_RESERVE(t->n, t->cap, t->nr + 1);
	if (err)
		return err;
	t->n[t->nr] = (struct dnode){
		.name = name,
		.parent = parent,
		.child = TREE_NONE,
		.next = t->n[parent].child,
	};
	t->n[parent].child = (uint32_t)t->nr;
	*idx = (uint32_t)t->nr++;
	return 0;
}

/* Adds value to side which of each node of path (top level first). */
static int dtree__add(struct dtree *t, const uint32_t *path, size_t n, int which, uint64_t value)
{
	uint32_t cur = TREE_ROOT;
	int err;

	t->n[TREE_ROOT].v[which] += value;
	for (size_t i = 0; i < n; i++) {
		uint64_t *v = hmap__find(&t->index, cur, path[i]);
		uint32_t next;

		if (v) {
			next = (uint32_t)*v;
		} else {
			err = dtree__new_node(t, cur, path[i], &next);
			if (!err)
				err = hmap__set(&t->index, cur, path[i], next);
			if (err)
				return err;
		}
		t->n[next].v[which] += value;
		cur = next;
	}
	return 0;
}

static uint64_t absdelta(const struct dnode *n)
{
	return n->v[1] >= n->v[0] ? n->v[1] - n->v[0] : n->v[0] - n->v[1];
}

static const struct dtree *sort_tree;
static const struct strtab *sort_names;

/* Largest difference first, then largest NEW, then by name, so the order is stable. */
static int node_cmp(const void *a, const void *b)
{
	const struct dnode *x = &sort_tree->n[*(const uint32_t *)a];
	const struct dnode *y = &sort_tree->n[*(const uint32_t *)b];
	uint64_t dx = absdelta(x), dy = absdelta(y);

	if (dx != dy)
		return dx > dy ? -1 : 1;
	if (x->v[1] != y->v[1])
		return x->v[1] > y->v[1] ? -1 : 1;
	return strcmp(strtab__str(sort_names, x->name), strtab__str(sort_names, y->name));
}

/*
 * Orders the children of node i and, with a threshold, replaces those whose
 * difference is under it by one [other] child holding their sums.
 */
static int dtree__finish(struct dtree *t, const struct strtab *names, uint32_t i,
			 uint64_t threshold, uint32_t other)
{
	uint32_t *kids = NULL, nk = 0, folded = 0, last = TREE_NONE;
	uint64_t fold[2] = { 0, 0 };
	int err = 0;

	for (uint32_t c = t->n[i].child; c != TREE_NONE; c = t->n[c].next)
		nk++;
	if (!nk)
		return 0;
	kids = malloc(nk * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	nk = 0;
	for (uint32_t c = t->n[i].child; c != TREE_NONE; c = t->n[c].next)
		kids[nk++] = c;
	sort_tree = t;
	sort_names = names;
	qsort(kids, nk, sizeof(*kids), node_cmp);
	t->n[i].child = TREE_NONE;
	for (uint32_t k = 0; k < nk; k++) {
		struct dnode *c = &t->n[kids[k]];

		if (threshold && absdelta(c) < threshold) {
			fold[0] += c->v[0];
			fold[1] += c->v[1];
			folded++;
			continue;
		}
		c->next = TREE_NONE;
		if (last == TREE_NONE)
			t->n[i].child = kids[k];
		else
			t->n[last].next = kids[k];
		last = kids[k];
		err = dtree__finish(t, names, kids[k], threshold, other);
		if (err)
			goto out;
	}
	if (folded) {
		uint32_t o;

		/* Not indexed: nothing is added after finishing. */
		err = dtree__new_node(t, i, other, &o);
		if (err)
			goto out;
		/* dtree__new_node put it first: move it last. */
		t->n[i].child = t->n[o].next;
		t->n[o].next = TREE_NONE;
		if (last == TREE_NONE)
			t->n[i].child = o;
		else
			t->n[last].next = o;
		t->n[o].v[0] = fold[0];
		t->n[o].v[1] = fold[1];
	}
out:
	free(kids);
	return err;
}

/* ---- paths ---- */

/*
 * The path of a site: the process name (without its pid, which differs from
 * run to run), then the frames outermost first.
 */
static int site_path(struct diff *d, struct side *s, const struct model_site *site,
		     uint32_t *path, size_t *n)
{
	uint32_t frames[PATH_FRAMES_MAX + 3];
	const char *comm = model__comm(s->in.model, site->image);
	struct model_stack st;
	size_t nf = 0;
	int err, got;

	model__stack(s->in.model, site->stack, &st);
	if (site->kernel)
		frames[nf++] = d->kernel;
	for (uint32_t i = 0; i < st.nr && nf < PATH_FRAMES_MAX; i++) {
		bool exact = i == 0 && (st.flags & MPF_STACK_FIRST_IS_IP);

		got = symbolizer__frames(s->sym, site->image, st.ips[i], exact, &frames[nf],
					 (int)(PATH_FRAMES_MAX - nf));
		if (got < 0)
			return got;
		for (int j = 0; j < got; j++) {
			err = strtab__printable(d->names, &frames[nf++]);
			if (err)
				return err;
		}
	}
	if (nf == site->kernel)
		frames[nf++] = d->unknown;
	else if (st.flags & MPF_STACK_TRUNCATED)
		frames[nf++] = d->truncated;
	got = strtab__intern(d->names, comm ? comm : "[unknown]");
	if (got < 0)
		return got;
	path[0] = (uint32_t)got;
	err = strtab__printable(d->names, &path[0]);
	if (err)
		return err;
	*n = 1;
	for (size_t i = nf; i-- > 0;)
		path[(*n)++] = frames[i];
	return 0;
}

static int build_tree(struct diff *d, unsigned int ev)
{
	uint32_t path[PATH_FRAMES_MAX + 4];
	bool live = d->opts->show == REPORT_SHOW_LIVE;
	struct dtree *t = &d->trees[ev];
	uint64_t threshold;
	size_t n;
	int err;

	err = dtree__init(t);
	if (err)
		return err;
	for (int which = 0; which < 2; which++) {
		struct side *s = &d->s[which];

		for (size_t i = 0; i < model__nr_sites(s->in.model, ev); i++) {
			const struct model_site *site = model__site(s->in.model, ev, i);
			uint64_t value = live ? site->live_bytes : site->alloc_bytes;

			if (!value)
				continue;
			err = site_path(d, s, site, path, &n);
			if (!err)
				err = dtree__add(t, path, n, which, value);
			if (err)
				return err;
		}
	}
	threshold = d->opts->threshold_kib > UINT64_MAX / 1024 ? UINT64_MAX
								: d->opts->threshold_kib * 1024;
	return dtree__finish(t, d->names, TREE_ROOT, threshold, d->other);
}

/* ---- output ---- */

static void print_delta(FILE *f, const struct dnode *n)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%c%.2f", n->v[1] < n->v[0] ? '-' : '+',
		 (double)absdelta(n) / 1024.0);
	fprintf(f, "  %11s", buf);
}

static void print_node(FILE *f, const struct diff *d, const struct dtree *t, uint32_t i,
		       unsigned int depth)
{
	const struct dnode *n = &t->n[i];

	print_delta(f, n);
	fprintf(f, "  %10.2f  %10.2f  %*s%s\n", (double)n->v[0] / 1024.0,
		(double)n->v[1] / 1024.0, (int)(2 * depth), "", strtab__str(d->names, n->name));
	for (uint32_t c = n->child; c != TREE_NONE; c = t->n[c].next)
		print_node(f, d, t, c, depth + 1);
}

static void print_section(FILE *f, const struct diff *d, unsigned int ev)
{
	const struct dtree *t = &d->trees[ev];
	const struct dnode *root = &t->n[TREE_ROOT];
	bool live = d->opts->show == REPORT_SHOW_LIVE;

	fprintf(f, "# memprof diff: %s, OLD '%s', NEW '%s'\n",
		live ? "live memory at the end of each trace" : "memory allocated during each trace",
		d->opts->in[0].path, d->opts->in[1].path);
	fprintf(f, "# event: %s, OLD %" PRIu64 " bytes, NEW %" PRIu64 " bytes, delta %c%" PRIu64
		   " bytes, threshold %" PRIu64 " KiB\n",
		mpf_event_name(ev), root->v[0], root->v[1], root->v[1] < root->v[0] ? '-' : '+',
		absdelta(root), d->opts->threshold_kib);
	fprintf(f, "#\n");
	fprintf(f, "# %10s  %10s  %10s  %s\n", "Delta KiB", "OLD KiB", "NEW KiB",
		"Call tree (caller first)");
	if (!root->v[0] && !root->v[1])
		fprintf(f, "# no memory %s in either trace\n",
			live ? "live at the end" : "allocated");
	for (uint32_t c = root->child; c != TREE_NONE; c = t->n[c].next)
		print_node(f, d, t, c, 0);
}

/* The event types to compare: a bit each; 0 with an error printed. */
static unsigned int select_events(const struct diff *d)
{
	unsigned int present = 0;

	for (int which = 0; which < 2; which++) {
		const struct model_stats *st = model__stats(d->s[which].in.model);

		present |= d->s[which].in.hdr.events & ((1u << MPF_EV__MAX) - 1);
		for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
			if (st->events[ev])
				present |= 1u << ev;
	}
	/* RSS samples have no stacks to match: --stat of each trace compares them. */
	present &= ~(1u << MPF_EV_RSS);
	if (d->opts->event >= 0) {
		if (!(present & (1u << d->opts->event))) {
			error("neither trace has %s events", mpf_event_name(d->opts->event));
			return 0;
		}
		return 1u << d->opts->event;
	}
	if (!present)
		error("neither trace holds events");
	return present;
}

static int intern(struct strtab *t, const char *s, uint32_t *id)
{
	int v = strtab__intern(t, s);

	if (v < 0)
		return v;
	*id = (uint32_t)v;
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_opts opts = {
		.show = REPORT_SHOW_LIVE,
		.event = -1,
		.threshold_kib = THRESHOLD_KIB_DEFAULT,
	};
	struct diff d = { .opts = &opts };
	unsigned int events;
	bool done, first = true;
	int ret, err;

	ret = parse_options(argc, argv, &opts, &done);
	if (ret || done)
		return ret;
	ret = 1;
	d.names = strtab__new();
	if (!d.names || intern(d.names, "[unknown]", &d.unknown) ||
	    intern(d.names, "[incomplete]", &d.truncated) ||
	    intern(d.names, "[other]", &d.other) || intern(d.names, "[kernel]", &d.kernel)) {
		error("out of memory");
		goto out;
	}
	for (int which = 0; which < 2; which++) {
		struct side *s = &d.s[which];

		if (input__open(&s->in, &opts.in[which]))
			goto out;
		s->sym = symbolizer__new(s->in.model, d.names,
					 &(struct symbolizer_opts){ .lookup = s->in.lookup });
		if (!s->sym) {
			error("out of memory");
			goto out;
		}
	}
	events = select_events(&d);
	if (!events)
		goto out;
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		if (!(events & (1u << ev)))
			continue;
		err = build_tree(&d, ev);
		if (err) {
			error("cannot build the %s diff: %s", mpf_event_name(ev), strerror(-err));
			goto out;
		}
	}
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		if (!(events & (1u << ev)))
			continue;
		if (!first)
			putchar('\n');
		first = false;
		print_section(stdout, &d, ev);
	}
	if (fflush(stdout) || ferror(stdout)) {
		error("cannot write the diff: %s", strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		dtree__free(&d.trees[ev]);
	for (int which = 0; which < 2; which++) {
		symbolizer__delete(d.s[which].sym);
		input__close(&d.s[which].in);
	}
	strtab__delete(d.names);
	return ret;
}
