/*
 * memprof report: reads a trace written by `memprof record` and shows what
 * allocated the memory still live at its end (or all memory allocated during
 * it), as a call tree per event type, as folded stacks for flame graphs, as
 * JSON, as a pprof profile or as an SVG flame graph; or, with --stat and
 * --timeline, per process and over time.  It needs no root and no BPF: only
 * the trace and, for names, the ELF files the trace recorded.
 *
 * The command layer: options, the passes over the trace, the warnings; the
 * trees come from report/view.c and are written by output/.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "builtin/input.h"
#include "builtin/parse-options.h"
#include "builtin/report.h"
#include "builtin/util.h"
#include "format/mpf.h"
#include "lib/strtab.h"
#include "lib/text.h"
#include "lib/units.h"
#include "model/model.h"
#include "output/output.h"
#include "report/fold.h"
#include "report/path.h"
#include "report/view.h"
#include "symbols/symbolize.h"
#include "symbols/unwind.h"

/* Identical to the SYNOPSIS of Documentation/memprof-report.txt. */
static const char *const report_usage[] = {
	"memprof report [-i FILE] [--show=live|alloc|count|leaks|peak|temporary|site-peak]",
	"               [--event=page|heap|cache|mmap] [--reverse] [--threshold=KIB]",
	"               [--percent-limit=PCT] [--sort=KEY[,KEY...]] [-T]",
	"               [--stat] [--timeline[=FILE.svg]] [--per-process] [--histogram]",
	"               [--header] [--header-only]",
	"               [--format=tree|folded|json|pprof|svg] [--folded] [--srcline]",
	"               [--pid=PID[,PID...]] [--tid=TID[,TID...]] [--comm=NAME[,NAME...]]",
	"               [--time=START,END] [--min-size=SIZE] [--max-size=SIZE]",
	"               [--symfs=DIR] [--buildid-dir=DIR]",
	NULL,
};

#define THRESHOLD_KIB_DEFAULT 256
#define TIMELINE_ROWS 20

static const char *const format_names[] = {
	[FORMAT_TREE] = "tree",	  [FORMAT_FOLDED] = "folded", [FORMAT_JSON] = "json",
	[FORMAT_PPROF] = "pprof", [FORMAT_SVG] = "svg",
};

/* ---- options ---- */

static int opt_show(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;
	int show = report_show_parse(arg);

	if (show < 0)
		return error("invalid --show '%s': expected live, alloc, count, leaks, peak, "
			     "temporary or site-peak", arg);
	o->show = show;
	o->show_given = true;
	return 0;
}

static int opt_event(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	o->event = mpf_event_parse(arg);
	if (o->event < 0)
		return error("unknown event type '%s': expected page, heap, cache or mmap", arg);
	if (o->event == MPF_EV_RSS)
		return error("rss samples make no call tree: see them with --stat or --timeline");
	return 0;
}

static int opt_threshold(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	if (!parse_u64(arg, &o->threshold_kib))
		return error("invalid --threshold '%s': expected a number of KiB", arg);
	o->threshold_given = true;
	return 0;
}

static int opt_percent_limit(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;
	char *end;

	errno = 0;
	o->percent_limit = strtod(arg, &end);
	if (errno || end == arg || (*end && strcmp(end, "%")) || !(o->percent_limit >= 0) ||
	    o->percent_limit > 100)
		return error("invalid --percent-limit '%s': expected a percent, 0 to 100", arg);
	return 0;
}

/* "KEY[,KEY...]" of process, comm, thread, file, function (perf's pid, tid, dso, sym). */
static int opt_sort(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	o->nkeys = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = path_key_parse(tok);

		if (k < 0 || o->nkeys == PATH_KEYS_MAX)
			return error("invalid --sort '%s': expected keys of process, comm, thread, "
				     "file and function, comma separated", arg);
		o->keys[o->nkeys++] = k;
	}
	if (!o->nkeys)
		return error("--sort needs a key: process, comm, thread, file or function");
	return 0;
}

/* A size in bytes, with an optional K, M or G (powers of 1024). */
static int opt_size(const struct option *opt, const char *arg)
{
	uint64_t *out = opt->value, v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *arg == '-' || *arg == '+')
		goto bad;
	switch (*end) {
	case 'k': case 'K': v = v > UINT64_MAX >> 10 ? UINT64_MAX : v << 10; end++; break;
	case 'm': case 'M': v = v > UINT64_MAX >> 20 ? UINT64_MAX : v << 20; end++; break;
	case 'g': case 'G': v = v > UINT64_MAX >> 30 ? UINT64_MAX : v << 30; end++; break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || !v)
		goto bad;
	*out = v;
	return 0;
bad:
	return error("invalid size '%s' for %s: expected bytes, e.g. 4096, 64K or 1M", arg,
		     opt->long_name[1] == 'i' ? "--min-size" : "--max-size");
}

static int opt_folded(const struct option *opt, const char *arg)
{
	((struct report_opts *)opt->value)->format = FORMAT_FOLDED;
	((struct report_opts *)opt->value)->format_given = true;
	return 0;
}

static int opt_format(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	for (unsigned int f = 0; f < sizeof(format_names) / sizeof(format_names[0]); f++) {
		if (!strcmp(arg, format_names[f])) {
			o->format = f;
			o->format_given = true;
			return 0;
		}
	}
	return error("unknown --format '%s': expected tree, folded, json, pprof or svg", arg);
}

/* "ID[,ID...]" into ids, *n of them; false when it is not that. */
static bool parse_ids(const char *arg, uint32_t *ids, size_t *n)
{
	const char *p = arg;

	*n = 0;
	for (;;) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9' || *n == PIDS_MAX)
			return false;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v > UINT32_MAX)
			return false;
		ids[(*n)++] = (uint32_t)v;
		if (!*end)
			return true;
		if (*end != ',')
			return false;
		p = end + 1;
	}
}

static int opt_pid(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	if (!parse_ids(arg, o->pids, &o->filter.npids))
		return error("invalid --pid '%s': expected PID[,PID...] (at most %d)", arg,
			     PIDS_MAX);
	o->filter.pids = o->pids;
	o->pid_arg = arg;
	return 0;
}

static int opt_tid(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	if (!parse_ids(arg, o->tids, &o->filter.ntids))
		return error("invalid --tid '%s': expected TID[,TID...] (at most %d)", arg,
			     PIDS_MAX);
	o->filter.tids = o->tids;
	o->tid_arg = arg;
	return 0;
}

/* "NAME[,NAME...]", as perf's --comm: any of these process names. */
static int opt_comm(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;
	char *tok, *save = NULL;

	free(o->comm_list);
	o->comm_list = strdup(arg);
	if (!o->comm_list)
		return error("out of memory");
	o->filter.ncomms = 0;
	for (tok = strtok_r(o->comm_list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->filter.ncomms == PIDS_MAX)
			return error("invalid --comm '%s': at most %d names", arg, PIDS_MAX);
		o->comms[o->filter.ncomms++] = tok;
	}
	if (!o->filter.ncomms)
		return error("invalid --comm '%s': expected NAME[,NAME...]", arg);
	o->filter.comms = o->comms;
	o->comm_arg = arg;
	return 0;
}

/* One side of --time: seconds, or empty for an open end. */
static bool parse_seconds(const char *s, size_t len, double *out)
{
	char buf[64], *end;

	if (!len)
		return true;
	if (len >= sizeof(buf) || *s == '-' || *s == '+')
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	return !errno && end != buf && !*end && *out >= 0 && *out < 1e9;
}

/* "START,END" in seconds, either one empty. */
static int opt_time(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;
	const char *comma = strchr(arg, ',');

	o->time_start = 0;
	o->time_end = 1e9;
	if (!comma || !parse_seconds(arg, (size_t)(comma - arg), &o->time_start) ||
	    !parse_seconds(comma + 1, strlen(comma + 1), &o->time_end) ||
	    o->time_end < o->time_start)
		return error("invalid --time '%s': expected START,END in seconds from the start "
			     "of the trace", arg);
	o->filter.has_time = true;
	o->time_arg = arg;
	return 0;
}

static int opt_timeline(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	o->timeline = true;
	o->timeline_svg = arg;
	if (arg && !*arg)
		return error("--timeline= needs a file name: --timeline=FILE.svg");
	return 0;
}

static int opt_threads(const struct option *opt, const char *arg)
{
	((struct report_opts *)opt->value)->threads = true;
	return 0;
}

static int opt_reverse(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	o->reverse = o->reverse_given = true;
	return 0;
}

static int opt_srcline(const struct option *opt, const char *arg)
{
	struct report_opts *o = opt->value;

	o->srcline = o->srcline_given = true;
	return 0;
}

/* The first option of the tree's that --stat, --timeline, --histogram or --header-only leave. */
static const char *tree_option(const struct report_opts *o)
{
	if (o->format_given)
		return o->format == FORMAT_FOLDED ? "--folded" : "--format";
	if (o->reverse_given)
		return "--reverse";
	if (o->threshold_given)
		return "--threshold";
	if (o->percent_limit > 0)
		return "--percent-limit";
	if (o->nkeys || o->threads)
		return o->threads ? "-T" : "--sort";
	if (o->srcline_given)
		return "--srcline";
	if (o->show_given && o->show != REPORT_SHOW_PEAK)
		return "--show";
	return NULL;
}

/* Options that would do nothing together are refused: EXIT_USAGE, or 0. */
static int check_combinations(struct report_opts *o)
{
	const char *mode = o->header_only ? "--header-only"
			   : o->stat	  ? "--stat"
			   : o->timeline  ? "--timeline"
			   : o->histogram ? "--histogram"
					  : NULL;
	const char *opt = tree_option(o);

	if ((o->stat || o->timeline) && o->histogram)
		return error("--histogram is a table of its own; give it without %s",
			     o->stat ? "--stat" : "--timeline"),
		       EXIT_USAGE;
	if (mode && opt)
		return error("%s prints %s, not the call trees: %s does not apply to it", mode,
			     o->header_only ? "the trace's header" : "a table", opt),
		       EXIT_USAGE;
	if (o->per_process && !o->timeline)
		return error("--per-process splits --timeline by process; give it with --timeline"),
		       EXIT_USAGE;
	if (o->header_only && (o->stat || o->timeline || o->histogram))
		return error("--header-only prints the header alone; give --header to print it "
			     "before %s", o->stat ? "--stat" : o->timeline ? "--timeline"
								  : "--histogram"),
		       EXIT_USAGE;
	if (o->filter.min_size && o->filter.max_size && o->filter.min_size > o->filter.max_size)
		return error("--min-size is above --max-size: no allocation is both"), EXIT_USAGE;
	/* Flame graphs fold by width, pprof by itself: a threshold would do nothing there. */
	if ((o->threshold_given || o->percent_limit > 0) &&
	    (o->format == FORMAT_FOLDED || o->format == FORMAT_PPROF))
		warning("%s does not apply to %s output; every stack is written",
			o->threshold_given ? "--threshold" : "--percent-limit",
			o->format == FORMAT_FOLDED ? "folded" : "pprof");
	if (o->format == FORMAT_PPROF && (o->reverse_given || o->nkeys || o->threads))
		warning("%s does not apply to pprof output, which pprof arranges itself",
			o->reverse_given ? "--reverse" : o->threads ? "-T" : "--sort");
	return 0;
}

/* 0: go on; otherwise the exit status (0 after --help), *done set. */
static int parse_report_options(int argc, char **argv, struct report_opts *o, bool *done)
{
	const struct option opts[] = {
		OPT_INPUT_FILE(&o->in, "the trace or archive to read (default: memprof.data)"),
		OPT_CALLBACK(0, "show", o, "MODE",
			     "live: bytes still allocated at the end of the trace\n"
			     "(default); alloc: every byte allocated during it;\n"
			     "count: the number of allocations during it;\n"
			     "leaks: heap blocks never freed, and how many;\n"
			     "peak: what was live when the most was;\n"
			     "temporary: heap blocks freed before their thread\n"
			     "allocated again; site-peak: each site's own\n"
			     "highest live bytes (heaptrack's peak consumers)",
			     opt_show),
		OPT_CALLBACK(0, "event", o, "TYPE",
			     "only this event type: page, heap, cache or mmap\n"
			     "(default: each one recorded)",
			     opt_event),
		OPT_BOOL(0, "stat", &o->stat,
			 "per process: lifetime, exit status, RSS at start, end\n"
			 "and peak, bytes allocated and freed per event type,\n"
			 "mmap/munmap/mremap/brk calls (instead of the trees)"),
		OPT_CALLBACK_OPTARG(0, "timeline", o, "FILE.svg",
				    "live memory by type over time, as a table, or as\n"
				    "an SVG chart written to FILE.svg (instead of the trees)",
				    opt_timeline),
		OPT_BOOL(0, "per-process", &o->per_process,
			 "with --timeline: each process's own memory over time"),
		OPT_BOOL(0, "histogram", &o->histogram,
			 "the sizes of the allocations, in power-of-two buckets\n"
			 "(heaptrack -H; instead of the trees)"),
		OPT_BOOL(0, "header", &o->header,
			 "the trace's header first: host, kernel, command line,\n"
			 "date, events, stack mode, losses, files"),
		OPT_BOOL(0, "header-only", &o->header_only, "the trace's header, and nothing else"),
		OPT_CALLBACK_NOARG(0, "reverse", o, "allocation sites first, their callers below them",
				   opt_reverse),
		OPT_CALLBACK(0, "threshold", o, "KIB",
			     "fold nodes under KIB KiB into [other] (default: 256,\n"
			     "0 with --show=leaks; 0: none)",
			     opt_threshold),
		OPT_CALLBACK(0, "percent-limit", o, "PCT",
			     "fold nodes under PCT percent of the total into [other]", opt_percent_limit),
		OPT_CALLBACK(0, "sort", o, "KEY[,KEY...]",
			     "levels above the stack: process, comm, thread, file,\n"
			     "function (perf's pid, comm, tid, dso, sym)",
			     opt_sort),
		OPT_CALLBACK_NOARG('T', "threads", o, "a level per thread under each process (perf's -T)",
				   opt_threads),
		OPT_CALLBACK(0, "format", o, "FORMAT",
			     "tree (default), folded (stacks for flamegraph.pl),\n"
			     "json, pprof (gzipped profile.proto), svg (flame graph)",
			     opt_format),
		OPT_CALLBACK_NOARG(0, "folded", o, "the same as --format=folded", opt_folded),
		OPT_CALLBACK_NOARG(0, "srcline", o, "the source file and line after each function name",
				   opt_srcline),
		OPT_CALLBACK(0, "pid", o, "PID[,PID...]", "only the allocations of these processes",
			     opt_pid),
		OPT_CALLBACK(0, "tid", o, "TID[,TID...]", "only the allocations of these threads",
			     opt_tid),
		OPT_CALLBACK(0, "comm", o, "NAME[,NAME...]",
			     "only the allocations of processes of these names", opt_comm),
		OPT_CALLBACK(0, "time", o, "START,END",
			     "only the events between these seconds from the start\n"
			     "of the trace (either may be left out)",
			     opt_time),
		OPT_CALLBACK(0, "min-size", &o->filter.min_size, "SIZE",
			     "only allocations of SIZE bytes or more (64K, 1M ...)", opt_size),
		OPT_CALLBACK(0, "max-size", &o->filter.max_size, "SIZE",
			     "only allocations of SIZE bytes or fewer", opt_size),
		OPT_INPUT_FILES(&o->in),
		OPT_END(),
	};
	int ret = input__parse_options(argc, argv, "report", opts, report_usage, done);

	if (*done)
		return ret;
	ret = check_combinations(o);
	if (ret)
		return *done = true, ret;
	if (o->threads && !o->nkeys) {
		o->keys[o->nkeys++] = PATH_KEY_PROCESS;
		o->keys[o->nkeys++] = PATH_KEY_THREAD;
	} else if (o->threads && o->nkeys < PATH_KEYS_MAX) {
		o->keys[o->nkeys++] = PATH_KEY_THREAD;
	}
	/* The kernel takes every page back when a process ends: only heap blocks leak. */
	if (o->show == REPORT_SHOW_LEAKS) {
		if (o->event >= 0 && o->event != MPF_EV_HEAP)
			return error("--show=leaks is about heap blocks, not %s events: the kernel "
				     "takes back a process's pages and mappings when it ends",
				     mpf_event_name(o->event)),
			       *done = true, EXIT_USAGE;
		o->event = MPF_EV_HEAP;
		/* A leak is shown whatever its size, unless a threshold is asked for. */
		if (!o->threshold_given)
			o->threshold_kib = 0;
	}
	if (o->show == REPORT_SHOW_TEMPORARY) {
		if (o->event >= 0 && o->event != MPF_EV_HEAP)
			return error("--show=temporary is about heap blocks, not %s events",
				     mpf_event_name(o->event)),
			       *done = true, EXIT_USAGE;
		o->event = MPF_EV_HEAP;
	}
	/* --percent-limit alone replaces the default threshold; given both, both apply. */
	if (o->percent_limit > 0 && !o->threshold_given)
		o->threshold_kib = 0;
	return 0;
}

/* ---- warnings ---- */

static void warn_lost(const struct model *m)
{
	const struct model_stats *st = model__stats(m);

	for (unsigned int ev = 0; ev < MPF_LOST__MAX; ev++) {
		uint64_t lost = model__lost(m, ev), seen = st->events[ev], total;
		size_t running = 0;

		/* END carries the totals; the LOST records only what was noticed before it. */
		if (st->has_end && st->end.events[ev] > seen)
			seen = st->end.events[ev];
		if (!lost)
			continue;
		total = seen > UINT64_MAX - lost ? UINT64_MAX : seen + lost;
		if (ev != MPF_LOST_PROC) {
			warning("%" PRIu64 " of %" PRIu64 " %s events lost (%.1f%%); use a "
				"larger -m", lost, total, mpf_event_name(ev),
				100.0 * (double)lost / (double)total);
			continue;
		}
		/* A lost exit leaves its process running to the end of the trace. */
		for (uint32_t img = 0; img < model__nr_images(m); img++)
			running += !model__proc(m, img)->exited && !model__proc(m, img)->replaced;
		warning("%" PRIu64 " of %" PRIu64 " process events lost (%.1f%%); %zu process%s no "
			"exit in the trace and may have exited (--stat says 'end unknown'); use a "
			"larger -m",
			lost, total, 100.0 * (double)lost / (double)total, running,
			running == 1 ? " has" : "es have");
	}
	if (st->undefined_stacks)
		warning("%" PRIu64 " stack id%s used but not defined in the trace; "
			"%s shown as [unknown]",
			st->undefined_stacks, st->undefined_stacks == 1 ? "" : "s",
			st->undefined_stacks == 1 ? "its stack is" : "those stacks are");
	if (st->ignored)
		warning("%" PRIu64 " event%s ignored as impossible (page orders above 13, "
			"heap blocks above 2^63 bytes); the trace may be damaged",
			st->ignored, st->ignored == 1 ? "" : "s");
}

/* How many of the recorder's stack walks stopped short, and why. */
static void warn_stacks(const struct model_stats *st)
{
	uint64_t walks = 0, partial;
	char causes[256];

	if (st->ustacks_truncated)
		warning("%" PRIu64 " of %" PRIu64 " stack copies unwound short of the outermost frame "
			"(%.1f%%); their callers are shown as [incomplete]; record with a larger "
			"-g dwarf,SIZE or with -g cfi", st->ustacks_truncated, st->ustacks,
			100.0 * (double)st->ustacks_truncated / (double)st->ustacks);
	if (!st->has_unwind)
		return;
	for (unsigned int i = 0; i < MPF_UNWIND__MAX; i++)
		walks = walks > UINT64_MAX - st->unwind[i] ? UINT64_MAX : walks + st->unwind[i];
	partial = walks - st->unwind[MPF_UNWIND_COMPLETE];
	if (!partial)
		return;
	mpf_unwind_causes(st->unwind, causes, sizeof(causes));
	warning("%" PRIu64 " of %" PRIu64 " stacks incomplete (%.1f%%: %s); their callers are "
		"shown as [incomplete]; see -g in memprof-record(1)",
		partial, walks, 100.0 * (double)partial / (double)walks, causes);
}

/* Children of the targets whose heap record missed, or began late. */
static void warn_heap_children(const struct model_stats *st)
{
	char buf[1024];

	if (!st->has_heap_children || (!st->heap_children.missed && !st->heap_children.late))
		return;
	mpf_heap_children_describe(&st->heap_children, buf, sizeof(buf));
	warning("%s", buf);
}

/* One warning per file that frames needed and could not use. */
static void warn_files(const struct report *rp)
{
	char buf[MPF_PATH_MAX + 1], buf2[MPF_PATH_MAX + 1], consequence[MPF_PATH_MAX + 64];
	struct sym_file_status st;
	const char *base;

	for (size_t i = 0; i < model__nr_files(rp->model); i++) {
		struct lookup_result res = { .fd = -1 };

		symbolizer__file_status(rp->sym, i, &st);
		base = strrchr(st.file->path, '/');
		base = base && base[1] ? base + 1 : st.file->path;
		snprintf(consequence, sizeof(consequence),
			 "its frames are shown as [unknown] %s+0xOFFSET", base);
		make_printable(consequence);
		switch (st.state) {
		case SYM_FILE_BAD:
			if (st.elf_source != LOOKUP_NONE) {
				/* Found, but libdwfl or its segments failed it. */
				warning("cannot use '%s' (from the %s): %s; %s",
					input__shown_path(st.elf_path ? st.elf_path : st.file->path, buf),
					lookup_source_name(st.elf_source),
					st.reason ? st.reason : "unreadable", consequence);
				break;
			}
			res.path_reason = st.reason ? st.reason : "is unreadable";
			/* fall through */
		case SYM_FILE_MISMATCH:
		case SYM_FILE_MISSING:
			res.path_err = st.err;
			res.path_mismatch = st.state == SYM_FILE_MISMATCH;
			res.path_build_id_len = st.build_id_len;
			memcpy(res.path_build_id, st.build_id, st.build_id_len);
			res.archive_damaged = st.archive_damaged;
			input__warn_missing(&rp->in, st.file->path, st.file->build_id,
					    st.file->build_id_len, &res, consequence);
			break;
		case SYM_FILE_OK:
			/* -v: where each file came from, as buildid-list says it. */
			debug("'%s' from the %s ('%s')%s%s", input__shown_path(st.file->path, buf),
			      lookup_source_name(st.elf_source),
			      input__shown_path(st.elf_path ? st.elf_path : "", buf2),
			      st.debug_source != LOOKUP_NONE ? ", debug info from the " : "",
			      st.debug_source != LOOKUP_NONE ? lookup_source_name(st.debug_source)
							     : "");
			break;
		default:
			break;
		}
	}
}

/* Processes the model left without maps: the trace asked for more than it builds. */
static void warn_unmapped(const struct model_stats *st)
{
	if (st->unmapped_images)
		warning("%" PRIu64 " process%s inherit%s more mappings than report resolves (the "
			"trace forks too often with too many mappings); their frames are shown as "
			"[unknown]",
			st->unmapped_images, st->unmapped_images == 1 ? "" : "es",
			st->unmapped_images == 1 ? "s" : "");
}

/* ---- the passes ---- */

/*
 * input's prepare hook: the filters (--pid, --tid, --comm, --time, sizes) apply from the
 * first record, and --time's seconds count from the trace's start, which
 * the header gives.
 */
static int set_filter(void *ctx, struct input *in)
{
	struct report_opts *o = ctx;

	if (o->filter.has_time) {
		o->filter.time_start = in->hdr.start_time + (uint64_t)(o->time_start * 1e9);
		o->filter.time_end = in->hdr.start_time + (uint64_t)(o->time_end * 1e9);
	}
	model__set_filter(in->model, &o->filter);
	return 0;
}

/*
 * --show=peak: the trace read again into a new model, which stops each event
 * type at the record where the first pass found its live total highest (a
 * snapshot per new maximum would cost a copy of the live tables each time).
 * The first model is freed before the second is built, so that peak costs a
 * second reading of the trace, not a second model's memory; what the first
 * pass warned of was warned of already.  0, or 1 after printing an error.
 */
static int reread_to_peak(struct report *rp)
{
	struct mpf_reader *r = input__reopen(&rp->in, rp->opts->in.path);
	uint64_t stop[MPF_EV__MAX];
	struct unwinder *uw = NULL;
	struct model *m = NULL;
	int err = 0;

	if (!r)
		return 1;
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		const struct model_peak *pk = model__peak(rp->model, ev);

		stop[ev] = pk->record;
		rp->peak_ns[ev] = pk->time > rp->in.hdr.start_time ? pk->time - rp->in.hdr.start_time
								   : 0;
	}
	unwinder__delete(rp->in.uw);
	model__delete(rp->in.model);
	rp->in.uw = NULL;
	rp->in.model = rp->model = NULL;
	m = input__new_model(&rp->in, &rp->opts->in);
	uw = m ? unwinder__new(m, rp->in.lookup) : NULL;
	if (!uw) {
		err = -ENOMEM;
		goto out;
	}
	model__set_filter(m, &rp->opts->filter);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		model__stop_after(m, ev, stop[ev]);
	/* The first pass warned of a damaged trace; this one reads what that one did. */
	err = input__feed(r, m);
	if (err != -ENOMEM) {
		err = 0;
		rp->in.model = rp->model = m;
		rp->in.uw = uw;
		m = NULL;
		uw = NULL;
	}
out:
	unwinder__delete(uw);
	model__delete(m);
	mpf_reader__close(r);
	if (err)
		return error("out of memory reading '%s' again", rp->opts->in.path), 1;
	return 0;
}

/* Which event types to show: a bit per type. 0 with an error printed. */
static unsigned int select_events(const struct report *rp)
{
	const struct model_stats *st = model__stats(rp->model);
	const struct report_opts *o = rp->opts;
	/* RSS samples have no stacks: --stat and --timeline show them. */
	unsigned int present = view__events(rp->model, rp->in.hdr.events) & ~(1u << MPF_EV_RSS);

	if (o->event >= 0) {
		if (!(present & (1u << o->event))) {
			error("'%s' has no %s events", o->in.path, mpf_event_name(o->event));
			return 0;
		}
		return 1u << o->event;
	}
	if (!present) {
		if (st->events[MPF_EV_RSS])
			error("'%s' holds only RSS samples; see them with --stat or --timeline",
			      o->in.path);
		else
			error("'%s' holds no events", o->in.path);
		return 0;
	}
	/* These make one graph or profile: one event type, one unit. */
	if (o->format == FORMAT_FOLDED || o->format == FORMAT_PPROF || o->format == FORMAT_SVG) {
		unsigned int ev = __builtin_ctz(present);

		/* Folded stacks of two kinds of memory in one file would make one meaningless graph. */
		if (present & ~(1u << ev))
			warning("the trace has several event types; %s %s (choose with --event)",
				o->format == FORMAT_FOLDED ? "folding" : "showing",
				mpf_event_name(ev));
		return 1u << ev;
	}
	return present;
}

/* --stat and --timeline, instead of the trees.  0, or 1 after printing an error. */
static int print_stat_timeline(struct report *rp)
{
	const struct report_opts *o = rp->opts;
	unsigned int events = view__events(rp->model, rp->in.hdr.events);
	uint64_t peak_time[MPF_EV__MAX], peak_bytes[MPF_EV__MAX];
	const struct model_point *pts;
	size_t n;
	int err = 0;

	if (o->event >= 0)
		events &= 1u << o->event;
	pts = model__timeline(rp->model, &n);
	if (o->stat) {
		struct report_stat_opts so = {
			.start_time = rp->in.hdr.start_time,
			/* A process running at the end ran until the recording stopped. */
			.end_time = model__last_time(rp->model) > rp->in.hdr.start_time
					    ? model__last_time(rp->model)
					    : rp->in.hdr.start_time,
			.events = events,
			.pids = o->filter.pids,
			.npids = o->filter.npids,
			.comms = o->filter.comms,
			.ncomms = o->filter.ncomms,
		};

		err = output_stat__print(stdout, rp->model, &so);
	}
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		peak_time[ev] = model__peak(rp->model, ev)->time;
		peak_bytes[ev] = model__peak(rp->model, ev)->bytes;
	}
	if (!err && o->timeline && !o->timeline_svg) {
		if (o->stat)
			putchar('\n');
		if (o->per_process)
			err = output_timeline__print_processes(stdout, rp->model, events,
							       rp->in.hdr.start_time, TIMELINE_ROWS);
		else
			err = output_timeline__print(stdout, rp->model, pts, n, events,
						     rp->in.hdr.start_time, peak_time, peak_bytes,
						     TIMELINE_ROWS);
	}
	if (fflush(stdout) || err)
		return error("cannot write the report: %s", strerror(errno ? errno : EIO)), 1;
	if (o->timeline_svg) {
		char title[MPF_PATH_MAX + 64];
		FILE *f = fopen(o->timeline_svg, "we");

		if (!f)
			return error("cannot create '%s': %s", o->timeline_svg, strerror(errno)), 1;
		snprintf(title, sizeof(title), "memprof timeline: %s", o->in.path);
		err = output_timeline__svg(f, rp->model, pts, n, events, rp->in.hdr.start_time,
					   peak_time, peak_bytes, title, o->per_process);
		if (fclose(f) || err) {
			error("cannot write '%s': %s", o->timeline_svg, strerror(errno ? errno : EIO));
			unlink(o->timeline_svg);
			return 1;
		}
	}
	return 0;
}

static int print_report(struct report *rp, unsigned int events)
{
	bool first = true;
	int err = 0;

	for (unsigned int ev = 0; ev < MPF_EV__MAX && !err; ev++) {
		if (!(events & (1u << ev)))
			continue;
		switch (rp->opts->format) {
		case FORMAT_FOLDED:
			err = output_folded__print_fold(stdout, rp->folds[ev], rp->names);
			break;
		case FORMAT_JSON:
			err = output_json__print(stdout, rp->trees[ev], rp->names, &rp->secs[ev],
						 &rp->frames, first, !(events >> (ev + 1)));
			break;
		case FORMAT_PPROF:
			err = output_pprof__print(stdout, rp->model, rp->sym, rp->names, ev,
						  rp->opts->show);
			break;
		case FORMAT_SVG:
			err = output_svg__print(stdout, rp->trees[ev], rp->names, &rp->secs[ev]);
			break;
		case FORMAT_TREE:
			if (!first)
				putchar('\n');
			err = output_tree__print(stdout, rp->trees[ev], rp->names, &rp->secs[ev]);
			break;
		}
		first = false;
	}
	if (fflush(stdout) || err)
		return error("cannot write the report: %s", strerror(errno ? errno : EIO)), 1;
	return 0;
}

/* The trees of the events shown.  0, or 1 after printing an error. */
static int build_trees(struct report *rp, unsigned int events)
{
	const struct report_opts *o = rp->opts;
	const struct view_opts vo = {
		.show = o->show,
		/* Folded stacks are not folded into [other]: flame graphs do that by width. */
		.threshold_kib = o->format == FORMAT_FOLDED ? 0 : o->threshold_kib,
		.percent_limit = o->format == FORMAT_FOLDED ? 0 : o->percent_limit,
		.merge_cache = rp->merge_cache,
	};
	unsigned int flags = (o->reverse ? PATH_REVERSE : 0) |
			     (o->format == FORMAT_FOLDED ? 0 : PATH_PID);
	int err;

	rp->names = strtab__new();
	rp->sym = rp->names ? symbolizer__new(rp->model, rp->names,
					      &(struct symbolizer_opts){ .lookup = rp->in.lookup,
									 .srcline = o->srcline })
			    : NULL;
	if (!rp->sym || paths__init(&rp->paths, rp->model, rp->sym, rp->names, flags,
				    o->format == FORMAT_JSON ? &rp->frames : NULL))
		return error("out of memory"), 1;
	memcpy(rp->paths.keys, o->keys, sizeof(o->keys));
	rp->paths.nkeys = o->nkeys;
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		if (!(events & (1u << ev)))
			continue;
		if (o->format == FORMAT_FOLDED)
			err = fold__build(&rp->paths, &vo, ev, &rp->folds[ev], &rp->secs[ev]);
		else
			err = view__build(&rp->paths, &vo, ev, &rp->trees[ev], &rp->secs[ev]);
		if (err)
			return error("cannot build the %s report: %s", mpf_event_name(ev),
				     strerror(-err)),
			       1;
		rp->secs[ev].peak_ns = rp->peak_ns[ev];
	}
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_opts opts = {
		.in = { .path = "memprof.data" },
		.show = REPORT_SHOW_LIVE,
		.event = -1,
		.threshold_kib = THRESHOLD_KIB_DEFAULT,
	};
	struct report rp = { .opts = &opts };
	unsigned int events;
	bool done;
	int ret;

	ret = parse_report_options(argc, argv, &opts, &done);
	if (ret || done)
		goto out_opts;

	ret = 1;
	/* pprof writes all of every site's counts, whatever is shown. */
	opts.in.site_counts =
		opts.format == FORMAT_PPROF ? MODEL_COUNTS_ALL : view__site_counts(opts.show);
	if (opts.filter.npids || opts.filter.ntids || opts.filter.ncomms || opts.filter.has_time ||
	    opts.filter.min_size || opts.filter.max_size) {
		opts.in.prepare = set_filter;
		opts.in.ctx = &opts;
	}
	if (input__open(&rp.in, &opts.in))
		goto out;
	rp.model = rp.in.model;
	warn_lost(rp.model);
	warn_stacks(model__stats(rp.model));
	warn_heap_children(model__stats(rp.model));
	if (opts.header || opts.header_only) {
		if (output_header__print(stdout, rp.model, &rp.in.hdr, opts.in.path) ||
		    fflush(stdout)) {
			error("cannot write the report: %s", strerror(errno ? errno : EIO));
			goto out;
		}
		if (opts.header_only) {
			ret = 0;
			goto out;
		}
		putchar('\n');
	}
	if (report__check_matched(&rp))
		goto out;
	if (opts.show == REPORT_SHOW_PEAK && reread_to_peak(&rp))
		goto out;
	if (opts.stat || opts.timeline) {
		ret = print_stat_timeline(&rp);
		goto out;
	}
	if (opts.histogram) {
		events = view__events(rp.model, rp.in.hdr.events);
		if (opts.event >= 0)
			events &= 1u << opts.event;
		if (output_histogram__print(stdout, rp.model, events) || fflush(stdout))
			error("cannot write the report: %s", strerror(errno ? errno : EIO));
		else
			ret = 0;
		goto out;
	}

	events = select_events(&rp);
	if (!events)
		goto out;
	if (opts.format == FORMAT_JSON && (events & (1u << MPF_EV_PAGE)) &&
	    (events & (1u << MPF_EV_CACHE))) {
		rp.merge_cache = true;
		events &= ~(1u << MPF_EV_CACHE);
	}
	if (build_trees(&rp, events))
		goto out;
	/*
	 * Before the report, so they are not lost below a long one on a terminal;
	 * folded stacks name their frames as they are printed (report/fold.c), so
	 * only then are the files they need known.
	 */
	if (opts.format != FORMAT_FOLDED)
		warn_files(&rp);
	warn_unmapped(model__stats(rp.model));
	if (!print_report(&rp, events))
		ret = 0;
	if (opts.format == FORMAT_FOLDED)
		warn_files(&rp);
out:
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		tree__delete(rp.trees[ev]);
		fold__delete(rp.folds[ev]);
	}
	path_frames__free(&rp.frames);
	paths__release(&rp.paths);
	symbolizer__delete(rp.sym);
	strtab__delete(rp.names);
	input__close(&rp.in);
out_opts:
	free(opts.comm_list);
	return ret;
}
