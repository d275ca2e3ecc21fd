/*
 * memprof report: reads a trace written by `memprof record` and shows what
 * allocated the memory still live at its end (or all memory allocated during
 * it), as a call tree per event type, as folded stacks for flame graphs, as
 * JSON, as a pprof profile or as an SVG flame graph.
 * It needs no root and no BPF: only the trace and, for names, the ELF files
 * the trace recorded.
 *
 * This is the command layer: it parses options, runs the trace through the
 * model, turns each allocation site into a path of names for the tree, and
 * is the only part of report that prints.
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "format/mpf.h"
#include "report/input.h"
#include "model/model.h"
#include "report/report.h"
#include "symbols/symbolize.h"
#include "report/tree.h"
#include "symbols/unwind.h"
#include "util.h"

/* Identical to the SYNOPSIS of Documentation/memprof-report.txt. */
#define REPORT_SYNOPSIS                                                                       \
	"memprof report [-i FILE] [--show=live|alloc|count|leaks|peak|temporary]\n"           \
	"               [--event=page|heap|cache|mmap] [--reverse] [--threshold=KIB]\n"       \
	"               [--stat] [--timeline[=FILE.svg]]\n"                                   \
	"               [--format=tree|folded|json|pprof|svg] [--folded] [--srcline]\n"       \
	"               [--pid=PID[,PID...]] [--comm=NAME] [--time=START,END]\n"              \
	"               [--symfs=DIR] [--buildid-dir=DIR]\n"

static const char report_help[] =
	REPORT_SYNOPSIS
	"\n"
	"    -i, --input FILE    the trace or archive to read (default: memprof.data)\n"
	"    --show=MODE         live: bytes still allocated at the end of the trace\n"
	"                        (default); alloc: every byte allocated during it;\n"
	"                        count: the number of allocations during it;\n"
	"                        leaks: heap blocks never freed, and how many;\n"
	"                        peak: what was live when the most was;\n"
	"                        temporary: heap blocks freed before their thread\n"
	"                        allocated again\n"
	"    --event=TYPE        only this event type: page, heap, cache or mmap\n"
	"                        (default: each one recorded)\n"
	"    --stat              per process: lifetime, exit status, RSS at start, end\n"
	"                        and peak, bytes allocated and freed per event type,\n"
	"                        mmap/munmap/mremap/brk calls (instead of the trees)\n"
	"    --timeline[=FILE.svg]  live memory by type over time, as a table, or as\n"
	"                        an SVG chart written to FILE.svg (instead of the trees)\n"
	"    --reverse           allocation sites first, their callers below them\n"
	"    --threshold=KIB     fold nodes under KIB KiB into [other] (default: 256; 0: none)\n"
	"    --format=FORMAT     tree (default), folded (stacks for flamegraph.pl),\n"
	"                        json, pprof (gzipped profile.proto), svg (flame graph)\n"
	"    --folded            the same as --format=folded\n"
	"    --srcline           the source file and line after each function name\n"
	"    --pid=PID[,PID...]  only the allocations of these processes\n"
	"    --comm=NAME         only the allocations of processes named NAME\n"
	"    --time=START,END    only the events between these seconds from the start\n"
	"                        of the trace (either may be left out)\n"
	"    --symfs=DIR         look for the recorded files under DIR first\n"
	"    --buildid-dir=DIR   the build-id cache (default: $MEMPROF_BUILDID_DIR,\n"
	"                        else ~/.cache/memprof)\n"
	"    -h, --help          show this help\n";

#define THRESHOLD_KIB_DEFAULT 256
#define PIDS_MAX 64	/* in one --pid */

enum report_format {
	FORMAT_TREE,
	FORMAT_FOLDED,
	FORMAT_JSON,
	FORMAT_PPROF,
	FORMAT_SVG,
};

static const char *const format_names[] = {
	[FORMAT_TREE] = "tree",	  [FORMAT_FOLDED] = "folded", [FORMAT_JSON] = "json",
	[FORMAT_PPROF] = "pprof",
	[FORMAT_SVG] = "svg",
};

struct report_opts {
	struct input_opts in;	/* -i, --symfs, --buildid-dir */
	enum report_show show;
	int event;		/* enum mpf_event_type, or -1 for each one present */
	bool reverse;
	enum report_format format;
	bool srcline;
	uint64_t threshold_kib;
	/* --pid, --comm, --time: the times in seconds from the trace's start until it is read. */
	uint32_t pids[PIDS_MAX];
	struct model_filter filter;
	double time_start, time_end;
	bool stat;
	bool timeline;
	const char *timeline_svg;	/* --timeline=FILE.svg */
};

/* Names every path may use, interned once. */
struct report_names {
	uint32_t unknown;	/* the frame of an empty or undefined stack */
	uint32_t truncated;	/* outermost frame of a stack the unwinder did not finish */
	uint32_t other;		/* folded siblings */
	uint32_t kernel;	/* innermost frame of pages the kernel took for itself */
};

struct report {
	const struct report_opts *opts;
	struct input in;
	struct model *model;	/* in.model */
	struct strtab *names;
	struct symbolizer *sym;
	struct report_names n;
	struct tree *trees[MPF_EV__MAX];
	struct tree *counts[MPF_EV__MAX];	/* --show=leaks: blocks, node for node */
	uint64_t peak_ns[MPF_EV__MAX];		/* --show=peak: when, from the start */
	struct report_section secs[MPF_EV__MAX];
	struct report_frames frames;	/* --format=json only */
	bool merge_cache;	/* --format=json: cache sites go in the page tree, as cacheValue */
};

enum {
	OPT_REVERSE = 256,
	OPT_THRESHOLD,
	OPT_FOLDED,
	OPT_FORMAT,
	OPT_SHOW,
	OPT_EVENT,
	OPT_SRCLINE,
	OPT_PID,
	OPT_COMM,
	OPT_TIME,
	OPT_STAT,
	OPT_TIMELINE,
};

#define TIMELINE_ROWS 20

/* "PID[,PID...]" into o->pids: false when it is not that. */
static bool parse_pids(const char *arg, struct report_opts *o)
{
	const char *p = arg;

	o->filter.npids = 0;
	for (;;) {
		char *end;
		unsigned long v;

		if (*p < '0' || *p > '9' || o->filter.npids == PIDS_MAX)
			return false;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || v > UINT32_MAX)
			return false;
		o->pids[o->filter.npids++] = (uint32_t)v;
		if (!*end)
			break;
		if (*end != ',')
			return false;
		p = end + 1;
	}
	o->filter.pids = o->pids;
	return true;
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
static bool parse_time(const char *arg, struct report_opts *o)
{
	const char *comma = strchr(arg, ',');

	o->time_start = 0;
	o->time_end = 1e9;
	if (!comma || !parse_seconds(arg, (size_t)(comma - arg), &o->time_start) ||
	    !parse_seconds(comma + 1, strlen(comma + 1), &o->time_end) ||
	    o->time_end < o->time_start)
		return false;
	o->filter.has_time = true;
	return true;
}

/* 0: go on; otherwise the exit status (0 after --help). */
static int parse_options(int argc, char **argv, struct report_opts *o, bool *done)
{
	static const struct option long_opts[] = {
		INPUT_LONG_OPTIONS,
		{ "show", required_argument, NULL, OPT_SHOW },
		{ "event", required_argument, NULL, OPT_EVENT },
		{ "reverse", no_argument, NULL, OPT_REVERSE },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "folded", no_argument, NULL, OPT_FOLDED },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "srcline", no_argument, NULL, OPT_SRCLINE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "stat", no_argument, NULL, OPT_STAT },
		{ "timeline", optional_argument, NULL, OPT_TIMELINE },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	*done = false;
	optind = 0;
	/* getopt's own messages do not follow ours: it stays quiet, we say it in one line. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:h", long_opts, NULL)) != -1) {
		if (input_opts__parse(&o->in, c, optarg))
			continue;
		switch (c) {
		case OPT_SHOW:
			if (!strcmp(optarg, "live"))
				o->show = REPORT_SHOW_LIVE;
			else if (!strcmp(optarg, "alloc"))
				o->show = REPORT_SHOW_ALLOC;
			else if (!strcmp(optarg, "count"))
				o->show = REPORT_SHOW_COUNT;
			else if (!strcmp(optarg, "leaks"))
				o->show = REPORT_SHOW_LEAKS;
			else if (!strcmp(optarg, "peak"))
				o->show = REPORT_SHOW_PEAK;
			else if (!strcmp(optarg, "temporary"))
				o->show = REPORT_SHOW_TEMPORARY;
			else
				return error("invalid --show '%s': expected live, alloc, count, "
					     "leaks, peak or temporary",
					     optarg),
				       EXIT_USAGE;
			break;
		case OPT_EVENT:
			o->event = mpf_event_parse(optarg);
			if (o->event < 0)
				return error("unknown event type '%s': expected page, heap, cache "
					     "or mmap",
					     optarg),
				       EXIT_USAGE;
			if (o->event == MPF_EV_RSS)
				return error("rss samples make no call tree: see them with --stat "
					     "or --timeline"),
				       EXIT_USAGE;
			break;
		case OPT_REVERSE:
			o->reverse = true;
			break;
		case OPT_THRESHOLD:
			if (!parse_u64(optarg, &o->threshold_kib))
				return error("invalid --threshold '%s': expected a number of KiB",
					     optarg),
				       EXIT_USAGE;
			break;
		case OPT_FOLDED:
			o->format = FORMAT_FOLDED;
			break;
		case OPT_FORMAT: {
			unsigned int f;

			for (f = 0; f < sizeof(format_names) / sizeof(format_names[0]); f++)
				if (!strcmp(optarg, format_names[f]))
					break;
			if (f == sizeof(format_names) / sizeof(format_names[0]))
				return error("unknown --format '%s': expected tree, folded, json, "
					     "pprof or svg",
					     optarg),
				       EXIT_USAGE;
			o->format = f;
			break;
		}
		case OPT_SRCLINE:
			o->srcline = true;
			break;
		case OPT_PID:
			if (!parse_pids(optarg, o))
				return error("invalid --pid '%s': expected PID[,PID...] (at most %d)",
					     optarg, PIDS_MAX),
				       EXIT_USAGE;
			break;
		case OPT_COMM:
			o->filter.comm = optarg;
			break;
		case OPT_TIME:
			if (!parse_time(optarg, o))
				return error("invalid --time '%s': expected START,END in seconds "
					     "from the start of the trace",
					     optarg),
				       EXIT_USAGE;
			break;
		case OPT_STAT:
			o->stat = true;
			break;
		case OPT_TIMELINE:
			o->timeline = true;
			o->timeline_svg = optarg;
			if (optarg && !*optarg)
				return error("--timeline= needs a file name: --timeline=FILE.svg"),
				       EXIT_USAGE;
			break;
		case 'h':
			*done = true;
			return usage(report_help, 0);
		default:
			return option_error("report", c, argv);
		}
	}
	/* The kernel takes every page back when a process ends: only heap blocks leak. */
	if (o->show == REPORT_SHOW_LEAKS) {
		if (o->event >= 0 && o->event != MPF_EV_HEAP)
			return error("--show=leaks is about heap blocks, not %s events: the kernel "
				     "takes back a process's pages and mappings when it ends",
				     mpf_event_name(o->event)),
			       EXIT_USAGE;
		o->event = MPF_EV_HEAP;
	}
	if (o->show == REPORT_SHOW_TEMPORARY) {
		if (o->event >= 0 && o->event != MPF_EV_HEAP)
			return error("--show=temporary is about heap blocks, not %s events",
				     mpf_event_name(o->event)),
			       EXIT_USAGE;
		o->event = MPF_EV_HEAP;
	}
	if (optind < argc)
		return error("unexpected argument '%s'; the trace is given with -i FILE",
			     argv[optind]),
		       EXIT_USAGE;
	return 0;
}

static void warn_lost(const struct model_stats *st)
{
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		uint64_t lost = st->lost[ev], seen = st->events[ev], total;

		/* END carries the totals; the LOST records only what was noticed before it. */
		if (st->has_end) {
			if (st->end.lost[ev] > lost)
				lost = st->end.lost[ev];
			if (st->end.events[ev] > seen)
				seen = st->end.events[ev];
		}
		if (!lost)
			continue;
		total = seen > UINT64_MAX - lost ? UINT64_MAX : seen + lost;
		warning("%" PRIu64 " of %" PRIu64 " %s events lost (%.1f%%); use a larger -m", lost,
			total, mpf_event_name(ev), 100.0 * (double)lost / (double)total);
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

/* Notes where name came from, the first time it is seen, for --format=json. */
static int frame_note(struct report *rp, uint32_t name, enum report_category cat,
		      uint32_t executable, uint64_t offset)
{
	struct report_frames *fr = &rp->frames;
	int err;

	if (rp->opts->format != FORMAT_JSON || hmap__find(&fr->by_name, name, 0))
		return 0;
	err = ARRAY_RESERVE(fr->v, fr->cap, fr->nr + 1);
	if (!err)
		err = hmap__set(&fr->by_name, name, 0, fr->nr);
	if (err)
		return err;
	fr->v[fr->nr++] = (struct report_frame){
		.executable = executable, .offset = offset, .category = cat
	};
	return 0;
}

/* The file and offset of the frame at ip, then frame_note for each of its names. */
static int frame_note_ip(struct report *rp, uint32_t image, uint64_t ip, const uint32_t *names,
			 int n)
{
	const struct model_map *map;
	const struct model_file *mf = NULL;
	enum report_category cat = REPORT_CAT_UNKNOWN;
	uint32_t exe = UINT32_MAX;
	uint64_t off = ip;
	int err;

	if (rp->opts->format != FORMAT_JSON)
		return 0;
	map = model__find_map(rp->model, image, ip);
	if (map && map->file_id)
		mf = model__file(rp->model, map->file_id);
	if (mf) {
		const char *base = strrchr(mf->path, '/');
		char buf[MPF_PATH_MAX + 1];
		int id;

		base = base && base[1] ? base + 1 : mf->path;
		snprintf(buf, sizeof(buf), "%s", base);
		make_printable(buf);
		id = strtab__intern(rp->names, buf);
		if (id < 0)
			return id;
		exe = (uint32_t)id;
		off = map->pgoff + (ip - map->start);
		cat = strstr(buf, ".so") && (!strcmp(strstr(buf, ".so"), ".so") ||
					     !strncmp(strstr(buf, ".so"), ".so.", 4))
			      ? REPORT_CAT_LIBRARY
			      : REPORT_CAT_EXECUTABLE;
	}
	for (int i = 0; i < n; i++) {
		bool unknown = !strncmp(strtab__str(rp->names, names[i]), "[unknown]", 9);

		err = frame_note(rp, names[i], unknown ? REPORT_CAT_UNKNOWN : cat, exe, off);
		if (err)
			return err;
	}
	return 0;
}

/* "comm [pid]" in the tree; "comm" alone in folded stacks, as flame graphs merge processes. */
static int process_name(struct report *rp, uint32_t image, uint32_t *name)
{
	const char *comm = model__comm(rp->model, image);
	char buf[MPF_COMM_LEN + 32];
	int id;

	if (!comm)
		comm = "[unknown]";
	if (rp->opts->format == FORMAT_FOLDED)
		snprintf(buf, sizeof(buf), "%s", comm);
	else
		snprintf(buf, sizeof(buf), "%s [%" PRIu32 "]", comm, model__pid(rp->model, image));
	make_printable(buf);
	id = strtab__intern(rp->names, buf);
	if (id < 0)
		return id;
	*name = (uint32_t)id;
	return frame_note(rp, *name, REPORT_CAT_PROCESS, UINT32_MAX, 0);
}

/* Frames in one tree path: a stack's, and the functions inlined in them. */
#define PATH_FRAMES_MAX	(2 * MPF_STACK_MAX)

/*
 * The tree path of a site: the process, then the frames outermost first; or
 * with --reverse the frames innermost first and the process last.
 */
static int site_path(struct report *rp, const struct model_site *site, uint32_t *path, size_t *n)
{
	uint32_t frames[PATH_FRAMES_MAX + 3], proc;
	struct model_stack st;
	size_t nf = 0;
	int err, got;

	model__stack(rp->model, site->stack, &st);
	if (site->kernel)
		frames[nf++] = rp->n.kernel;
	for (uint32_t i = 0; i < st.nr && nf < PATH_FRAMES_MAX; i++) {
		bool exact = i == 0 && (st.flags & MPF_STACK_FIRST_IS_IP);

		/* A frame address may stand for several frames: the functions inlined there. */
		got = symbolizer__frames(rp->sym, site->image, st.ips[i], exact, &frames[nf],
					 PATH_FRAMES_MAX - nf);
		if (got < 0)
			return got;
		for (int j = 0; j < got; j++) {
			err = strtab__printable(rp->names, &frames[nf + j]);
			if (err)
				return err;
		}
		err = frame_note_ip(rp, site->image, st.ips[i], &frames[nf], got);
		if (err)
			return err;
		nf += got;
	}
	if (nf == site->kernel)
		frames[nf++] = rp->n.unknown;
	else if (st.flags & MPF_STACK_TRUNCATED)
		frames[nf++] = rp->n.truncated;
	err = process_name(rp, site->image, &proc);
	if (err)
		return err;

	*n = 0;
	if (rp->opts->reverse) {
		for (size_t i = 0; i < nf; i++)
			path[(*n)++] = frames[i];
		path[(*n)++] = proc;
	} else {
		path[(*n)++] = proc;
		for (size_t i = nf; i-- > 0;)
			path[(*n)++] = frames[i];
	}
	return 0;
}

static int build_tree(struct report *rp, unsigned int ev)
{
	uint32_t path[PATH_FRAMES_MAX + 4];
	struct report_section *sec = &rp->secs[ev];
	bool live = rp->opts->show == REPORT_SHOW_LIVE || rp->opts->show == REPORT_SHOW_PEAK;
	bool count = rp->opts->show == REPORT_SHOW_COUNT;
	bool leaks = rp->opts->show == REPORT_SHOW_LEAKS;
	bool tmp = rp->opts->show == REPORT_SHOW_TEMPORARY;
	uint64_t threshold = 0;
	size_t n;
	int err;

	rp->trees[ev] = tree__new();
	if (!rp->trees[ev])
		return -ENOMEM;
	if (leaks || tmp) {
		rp->counts[ev] = tree__new();
		if (!rp->counts[ev])
			return -ENOMEM;
	}
	*sec = (struct report_section){
		.event = mpf_event_name(ev),
		.show = rp->opts->show,
		.reverse = rp->opts->reverse,
		.counts = rp->counts[ev],
		.peak_ns = rp->peak_ns[ev],
		/* --threshold is in KiB: counts are not folded. */
		.threshold_kib = rp->opts->format == FORMAT_FOLDED || count
					 ? 0
					 : rp->opts->threshold_kib,
	};
	for (size_t i = 0; i < model__nr_sites(rp->model, ev); i++) {
		const struct model_site *site = model__site(rp->model, ev, i);
		uint64_t value = count	       ? site->alloc_nr
				 : live || leaks ? site->live_bytes
				 : tmp		 ? site->tmp_bytes
						 : site->alloc_bytes;
		uint64_t nr = live || leaks ? site->live_nr : tmp ? site->tmp_nr : site->alloc_nr;

		/* Blocks of 0 bytes (malloc(0)) are in no path: not counted either. */
		if ((leaks || tmp) && !value)
			continue;
		sec->allocations += nr;
		if (!value)
			continue;
		sec->total += value;
		err = site_path(rp, site, path, &n);
		if (!err)
			err = tree__add(rp->trees[ev], path, n, value);
		/* The same paths in the same order: the same node numbers. */
		if (!err && rp->counts[ev])
			err = tree__add(rp->counts[ev], path, n, nr);
		if (err)
			return err;
	}
	/* TezEdge's tree: a node's value, its page cache apart as cacheValue. */
	for (size_t i = 0; ev == MPF_EV_PAGE && rp->merge_cache &&
			   i < model__nr_sites(rp->model, MPF_EV_CACHE);
	     i++) {
		const struct model_site *site = model__site(rp->model, MPF_EV_CACHE, i);
		uint64_t value = live ? site->live_bytes : site->alloc_bytes;

		if (!value)
			continue;
		sec->cache_total += value;
		err = site_path(rp, site, path, &n);
		if (!err)
			err = tree__add_cache(rp->trees[ev], path, n, value);
		if (err)
			return err;
	}
	if (sec->threshold_kib)
		threshold = sec->threshold_kib > UINT64_MAX / 1024 ? UINT64_MAX
								     : sec->threshold_kib * 1024;
	return tree__finish(rp->trees[ev], rp->names, threshold, rp->n.other);
}

/*
 * The trace read again into a new model, with the filters (--pid, --comm,
 * --time), which must be set before reading, and with to_peak (--show=peak)
 * stopping each event type at the record where the model before found its
 * live total highest: a snapshot per new maximum would cost a copy of the
 * live tables each time.  The new model replaces the one before.
 * 0, or 1 after printing an error.
 */
static int reread(struct report *rp, bool to_peak)
{
	struct mpf_reader *r = input__reopen(&rp->in, rp->opts->in.path);
	struct unwinder *uw = NULL;
	struct model *m = NULL;
	struct mpf_record rec;
	int err = 0;

	if (!r)
		return 1;
	m = model__new(rp->in.hdr.page_size);
	uw = m ? unwinder__new(m, rp->in.lookup) : NULL;
	if (!uw) {
		err = -ENOMEM;
		goto out;
	}
	model__set_filter(m, &rp->opts->filter);
	for (unsigned int ev = 0; ev < MPF_EV__MAX && to_peak; ev++) {
		const struct model_peak *pk = model__peak(rp->model, ev);

		model__stop_after(m, ev, pk->record);
		rp->peak_ns[ev] = pk->time > rp->in.hdr.start_time ? pk->time - rp->in.hdr.start_time
								   : 0;
	}
	/* The first pass warned of a damaged trace; this one reads what that one did. */
	while ((err = mpf_reader__next(r, &rec)) > 0) {
		err = model__add(m, &rec);
		if (err || rec.type == MPF_REC_END)
			break;
	}
	if (err != -ENOMEM) {
		err = 0;
		unwinder__delete(rp->in.uw);
		model__delete(rp->in.model);
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

static int intern(struct strtab *t, const char *s, uint32_t *id)
{
	int v = strtab__intern(t, s);

	if (v < 0)
		return v;
	*id = (uint32_t)v;
	return 0;
}

/* Which event types to show: a bit per type. 0 with an error printed. */
static unsigned int select_events(const struct report *rp, const struct mpf_header *hdr)
{
	const struct model_stats *st = model__stats(rp->model);
	const struct report_opts *o = rp->opts;
	unsigned int present = hdr->events & ((1u << MPF_EV__MAX) - 1);

	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		if (st->events[ev])
			present |= 1u << ev;
	/* RSS samples have no stacks: --stat and --timeline show them. */
	present &= ~(1u << MPF_EV_RSS);
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

/* The event types the trace recorded, or has events of. */
static unsigned int recorded_events(const struct report *rp)
{
	const struct model_stats *st = model__stats(rp->model);
	unsigned int ev, mask = rp->in.hdr.events & ((1u << MPF_EV__MAX) - 1);

	for (ev = 0; ev < MPF_EV__MAX; ev++)
		if (st->events[ev])
			mask |= 1u << ev;
	return mask;
}

/* --stat and --timeline, instead of the trees.  0, or 1 after printing an error. */
static int print_stat_timeline(struct report *rp)
{
	const struct report_opts *o = rp->opts;
	unsigned int events = recorded_events(rp);
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
			.end_time = n ? pts[n - 1].time : rp->in.hdr.start_time,
			.events = events,
			.pids = o->filter.pids,
			.npids = o->filter.npids,
			.comm = o->filter.comm,
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
		err = output_timeline__print(stdout, pts, n, events, rp->in.hdr.start_time,
					     peak_time, peak_bytes, TIMELINE_ROWS);
	}
	if (fflush(stdout) || err)
		return error("cannot write the report: %s", strerror(errno ? errno : EIO));
	if (o->timeline_svg) {
		char title[MPF_PATH_MAX + 64];
		FILE *f = fopen(o->timeline_svg, "we");

		if (!f)
			return error("cannot create '%s': %s", o->timeline_svg, strerror(errno));
		snprintf(title, sizeof(title), "memprof timeline: %s", o->in.path);
		err = output_timeline__svg(f, pts, n, events, rp->in.hdr.start_time, peak_time,
					   peak_bytes, title);
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
			err = output_folded__print(stdout, rp->trees[ev], rp->names);
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
		return error("cannot write the report: %s", strerror(errno ? errno : EIO));
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
	struct mpf_header hdr;
	unsigned int events;
	bool done;
	int ret, err;

	ret = parse_options(argc, argv, &opts, &done);
	if (ret || done)
		return ret;

	ret = 1;
	if (input__open(&rp.in, &opts.in))
		goto out;
	rp.model = rp.in.model;
	hdr = rp.in.hdr;
	warn_lost(model__stats(rp.model));
	if (opts.filter.has_time) {
		opts.filter.time_start = hdr.start_time + (uint64_t)(opts.time_start * 1e9);
		opts.filter.time_end = hdr.start_time + (uint64_t)(opts.time_end * 1e9);
	}
	/* The filters apply from the first record: the trace is read again with them. */
	if ((opts.filter.npids || opts.filter.comm || opts.filter.has_time) && reread(&rp, false))
		goto out;
	if (opts.show == REPORT_SHOW_PEAK && reread(&rp, true))
		goto out;
	if (opts.stat || opts.timeline) {
		ret = print_stat_timeline(&rp);
		goto out;
	}

	events = select_events(&rp, &hdr);
	if (!events)
		goto out;
	if (opts.format == FORMAT_JSON && (events & (1u << MPF_EV_PAGE)) &&
	    (events & (1u << MPF_EV_CACHE))) {
		rp.merge_cache = true;
		events &= ~(1u << MPF_EV_CACHE);
	}

	rp.names = strtab__new();
	rp.sym = rp.names ? symbolizer__new(rp.model, rp.names,
					    &(struct symbolizer_opts){ .lookup = rp.in.lookup,
								       .srcline = opts.srcline })
			  : NULL;
	if (!rp.sym || intern(rp.names, "[unknown]", &rp.n.unknown) ||
	    intern(rp.names, "[incomplete]", &rp.n.truncated) ||
	    intern(rp.names, "[other]", &rp.n.other) ||
	    intern(rp.names, "[kernel]", &rp.n.kernel) ||
	    frame_note(&rp, rp.n.unknown, REPORT_CAT_UNKNOWN, UINT32_MAX, 0) ||
	    frame_note(&rp, rp.n.truncated, REPORT_CAT_UNKNOWN, UINT32_MAX, 0) ||
	    frame_note(&rp, rp.n.other, REPORT_CAT_OTHER, UINT32_MAX, 0) ||
	    frame_note(&rp, rp.n.kernel, REPORT_CAT_KERNEL, UINT32_MAX, 0)) {
		error("out of memory");
		goto out;
	}
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		if (!(events & (1u << ev)))
			continue;
		err = build_tree(&rp, ev);
		if (err) {
			error("cannot build the %s report: %s", mpf_event_name(ev), strerror(-err));
			goto out;
		}
	}
	/* Before the report, so they are not lost below a long one on a terminal. */
	warn_files(&rp);
	warn_unmapped(model__stats(rp.model));
	if (!print_report(&rp, events))
		ret = 0;
out:
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		tree__delete(rp.trees[ev]);
		tree__delete(rp.counts[ev]);
	}
	hmap__free(&rp.frames.by_name);
	free(rp.frames.v);
	symbolizer__delete(rp.sym);
	strtab__delete(rp.names);
	input__close(&rp.in);
	return ret;
}
