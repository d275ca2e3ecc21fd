/*
 * memprof report's state, shared by builtin/report.c (the options, the
 * passes, the outputs) and builtin/report-filter.c (what the filters matched).
 */
#ifndef MEMPROF_BUILTIN_REPORT_H
#define MEMPROF_BUILTIN_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "builtin/input.h"
#include "format/mpf.h"
#include "model/model.h"
#include "report/path.h"
#include "report/view.h"

#define PIDS_MAX 64	/* in one --pid, --tid or --comm */

enum report_format {
	FORMAT_TREE,
	FORMAT_FOLDED,
	FORMAT_JSON,
	FORMAT_PPROF,
	FORMAT_SVG,
};

struct report_opts {
	struct input_opts in;	/* -i, --symfs, --buildid-dir */
	enum report_show show;
	int event;		/* enum mpf_event_type, or -1 for each one present */
	bool reverse;
	enum report_format format;
	bool srcline;
	uint64_t threshold_kib;
	bool threshold_given;
	double percent_limit;		/* 0: none */
	enum path_key keys[PATH_KEYS_MAX];	/* --sort, -T */
	unsigned int nkeys;
	bool threads;			/* -T */
	/* --pid, --tid, --comm, --time: the times in seconds from the trace's start until read. */
	uint32_t pids[PIDS_MAX], tids[PIDS_MAX];
	char *comm_list;		/* --comm's argument, split in place */
	const char *comms[PIDS_MAX];
	const char *time_arg, *pid_arg, *tid_arg, *comm_arg;	/* as given, for messages */
	struct model_filter filter;
	double time_start, time_end;
	bool stat;
	bool timeline;
	const char *timeline_svg;	/* --timeline=FILE.svg */
	bool per_process;
	bool histogram;
	bool header, header_only;
	bool format_given, reverse_given, srcline_given, show_given;
};

struct report {
	struct report_opts *opts;
	struct input in;
	struct model *model;	/* in.model */
	struct strtab *names;
	struct symbolizer *sym;
	struct paths paths;
	struct path_frames frames;	/* --format=json only */
	struct tree *trees[MPF_EV__MAX];
	struct fold *folds[MPF_EV__MAX];	/* --folded's, in place of trees */
	uint64_t peak_ns[MPF_EV__MAX];		/* --show=peak: when, from the start */
	struct report_section secs[MPF_EV__MAX];
	bool merge_cache;	/* --format=json: cache sites go in the page tree, as cacheValue */
};

/*
 * A filter that let no allocation through matched nothing: an empty report
 * would look like a program that allocated nothing.  1 after saying what the
 * trace holds instead, 0 when something matched.
 */
int report__check_matched(const struct report *rp);

#endif
