/*
 * memprof diff: what changed between two traces, as report's call tree with
 * the bytes of both and their difference.  Allocation sites are matched by
 * their symbolized path (process name, then function names), not by address:
 * two runs of one program map it at different addresses, and a rebuilt
 * program has its functions elsewhere.
 *
 * Each trace is read into a model of its own and symbolized with a
 * symbolizer of its own that interns into one string table, so that equal
 * names have equal ids and the paths of both land in one tree, each node
 * holding the bytes of OLD and of NEW (report/view.c, output/diff.c).  OLD's
 * model is freed once its paths are in the trees, before NEW is read: a diff
 * holds one model at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "builtin/input.h"
#include "builtin/parse-options.h"
#include "builtin/util.h"
#include "format/mpf.h"
#include "lib/strtab.h"
#include "model/model.h"
#include "output/output.h"
#include "report/path.h"
#include "report/view.h"
#include "symbols/symbolize.h"

/* Identical to the SYNOPSIS of Documentation/memprof-diff.txt. */
static const char *const diff_usage[] = {
	"memprof diff [--show=live|alloc] [--event=page|heap|cache|mmap] [--threshold=KIB]",
	"             [--symfs=DIR] [--buildid-dir=DIR] OLD NEW",
	NULL,
};

#define THRESHOLD_KIB_DEFAULT 256

struct diff_opts {
	struct input_opts in[2];	/* OLD, NEW; --symfs and --buildid-dir apply to both */
	bool live;
	int event;		/* enum mpf_event_type, or -1 for each one present */
	uint64_t threshold_kib;
};

struct side {
	struct input in;
	struct symbolizer *sym;
	struct paths paths;
};

struct diff {
	const struct diff_opts *opts;
	struct side s;		/* the trace being read */
	unsigned int present;	/* the event types either trace holds */
	uint32_t other;		/* "[other]" in names */
	struct strtab *names;
	struct tree *trees[MPF_EV__MAX];
	uint64_t folded_paths[MPF_EV__MAX];	/* what [other] nodes hold */
};

static int opt_show(const struct option *opt, const char *arg)
{
	struct diff_opts *o = opt->value;

	if (strcmp(arg, "live") && strcmp(arg, "alloc"))
		return error("invalid --show '%s': expected live or alloc", arg);
	o->live = !strcmp(arg, "live");
	return 0;
}

static int opt_event(const struct option *opt, const char *arg)
{
	struct diff_opts *o = opt->value;

	o->event = mpf_event_parse(arg);
	if (o->event < 0 || o->event == MPF_EV_RSS)
		return error("unknown event type '%s': expected page, heap, cache or mmap", arg);
	return 0;
}

static int opt_threshold(const struct option *opt, const char *arg)
{
	if (!parse_u64(arg, opt->value))
		return error("invalid --threshold '%s': expected a number of KiB", arg);
	return 0;
}

/* The event types to compare, of both traces: a bit each; 0 with an error printed. */
static unsigned int select_events(const struct diff *d)
{
	/* RSS samples have no stacks to match: --stat of each trace compares them. */
	unsigned int present = d->present & ~(1u << MPF_EV_RSS);

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

/*
 * Trace `which` (0: OLD, 1: NEW) read and its paths added to the tree of
 * each event type that may be compared; its model freed after.  0, or 1
 * after printing an error.
 */
static int add_side(struct diff *d, int which)
{
	struct side *s = &d->s;
	int ret = 1, err = 0;

	if (input__open(&s->in, &d->opts->in[which]))
		goto out;
	s->sym = symbolizer__new(s->in.model, d->names,
				 &(struct symbolizer_opts){ .lookup = s->in.lookup });
	if (!s->sym || paths__init(&s->paths, s->in.model, s->sym, d->names, 0, NULL)) {
		error("out of memory");
		goto out;
	}
	d->other = s->paths.other;
	d->present |= view__events(s->in.model, s->in.hdr.events);
	for (unsigned int ev = 0; ev < MPF_EV__MAX && !err; ev++) {
		if (ev == MPF_EV_RSS || (d->opts->event >= 0 && (int)ev != d->opts->event))
			continue;
		if (!d->trees[ev])
			d->trees[ev] = tree__new();
		err = d->trees[ev] ? view__diff_add(d->trees[ev], &s->paths, ev, which,
						    d->opts->live)
				   : -ENOMEM;
		if (err)
			error("cannot build the %s diff: %s", mpf_event_name(ev), strerror(-err));
	}
	ret = err ? 1 : 0;
out:
	paths__release(&s->paths);
	symbolizer__delete(s->sym);
	s->sym = NULL;
	input__close(&s->in);
	return ret;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_opts opts = {
		.live = true,
		.event = -1,
		.threshold_kib = THRESHOLD_KIB_DEFAULT,
	};
	const struct option options[] = {
		OPT_CALLBACK(0, "show", &opts, "live|alloc",
			     "bytes still allocated at the end of each trace (default),\n"
			     "or every byte allocated during it",
			     opt_show),
		OPT_CALLBACK(0, "event", &opts, "TYPE",
			     "only this event type: page, heap, cache or mmap\n"
			     "(default: each one recorded)",
			     opt_event),
		OPT_CALLBACK(0, "threshold", &opts.threshold_kib, "KIB",
			     "fold nodes whose difference is under KIB KiB into [other]\n"
			     "(default: 256; 0: none)",
			     opt_threshold),
		OPT_INPUT_FILES(&opts.in[0]),
		OPT_END(),
	};
	struct diff d = { .opts = &opts };
	unsigned int events;
	bool first = true;
	int ret, err;

	argc = parse_options(argc, argv, "diff", options, diff_usage, 0);
	if (argc < 0)
		return argc == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
	if (argc != 2) {
		if (argc > 2)
			error("unexpected argument '%s'; diff compares two traces, OLD and NEW",
			      argv[2]);
		else
			error("diff compares two traces: give OLD and NEW; see 'memprof diff --help'");
		return EXIT_USAGE;
	}
	opts.in[0].site_counts =
		view__site_counts(opts.live ? REPORT_SHOW_LIVE : REPORT_SHOW_ALLOC);
	opts.in[1] = opts.in[0];
	opts.in[0].path = argv[0];
	opts.in[1].path = argv[1];

	ret = 1;
	d.names = strtab__new();
	if (!d.names) {
		error("out of memory");
		goto out;
	}
	for (int which = 0; which < 2; which++)
		if (add_side(&d, which))
			goto out;
	events = select_events(&d);
	if (!events)
		goto out;
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		if (!(events & (1u << ev)))
			continue;
		err = view__diff_finish(d.trees[ev], d.other, d.names, opts.threshold_kib,
					&d.folded_paths[ev]);
		if (err) {
			error("cannot build the %s diff: %s", mpf_event_name(ev), strerror(-err));
			goto out;
		}
	}
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		const struct output_diff od = {
			.old_path = opts.in[0].path,
			.new_path = opts.in[1].path,
			.event = mpf_event_name(ev),
			.live = opts.live,
			.threshold_kib = opts.threshold_kib,
			.folded_paths = d.folded_paths[ev],
		};

		if (!(events & (1u << ev)))
			continue;
		if (!first)
			putchar('\n');
		first = false;
		output_diff__print(stdout, d.trees[ev], d.names, &od);
	}
	if (fflush(stdout) || ferror(stdout)) {
		error("cannot write the diff: %s", strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		tree__delete(d.trees[ev]);
	strtab__delete(d.names);
	return ret;
}
