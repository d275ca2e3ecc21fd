/*
 * What the parts of `memprof report` share: the view being printed and the
 * output formats' entry points.
 */
#ifndef MEMPROF_REPORT_REPORT_H
#define MEMPROF_REPORT_REPORT_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/array.h"
#include "lib/hashmap.h"

struct strtab;
struct tree;

enum report_show {
	REPORT_SHOW_LIVE,	/* bytes still allocated at the end of the trace */
	REPORT_SHOW_ALLOC,	/* bytes allocated during the trace */
	REPORT_SHOW_COUNT,	/* the number of allocations during the trace (tree, folded) */
	REPORT_SHOW_LEAKS,	/* heap blocks never freed, bytes and blocks (tree, folded) */
	REPORT_SHOW_PEAK,	/* bytes live when the live total was highest (tree, folded) */
	REPORT_SHOW_TEMPORARY,	/* heap blocks freed before the next allocation (tree, folded) */
};

/* One event type's section of the report, as output-tree prints its header. */
struct report_section {
	const char *event;		/* "page", "heap" */
	enum report_show show;
	bool reverse;			/* allocation sites first */
	uint64_t total;			/* bytes (--show=count: allocations), the top level's sum */
	uint64_t allocations;		/* allocation events behind total */
	uint64_t cache_total;		/* --format=json: page cache bytes, apart from total */
	uint64_t threshold_kib;		/* 0: no folding */
	/*
	 * Or NULL: a tree built from the same paths in the same order as the
	 * one printed, so with the same node numbers, holding a count per
	 * node (--show=leaks: blocks, temporary: allocations).  [other]
	 * nodes are not in it.
	 */
	const struct tree *counts;
	uint64_t peak_ns;		/* --show=peak: when, from the trace's start */
};

/* ---- what the formats print ---- */

/* What a tree name stands for, for the formats that say it (json). */
enum report_category {
	REPORT_CAT_UNKNOWN,	/* [unknown], [incomplete], or a frame no file names */
	REPORT_CAT_PROCESS,	/* the process node */
	REPORT_CAT_EXECUTABLE,	/* a function in a file that is not a shared object */
	REPORT_CAT_LIBRARY,	/* a function in a shared object (NAME.so, NAME.so.N) */
	REPORT_CAT_KERNEL,	/* [kernel] */
	REPORT_CAT_OTHER,	/* [other]: folded siblings */
};

/* Where a name of the tree came from: the first frame seen with it. */
struct report_frame {
	uint32_t executable;	/* strtab id of the file's basename, UINT32_MAX: none */
	uint64_t offset;	/* the frame's offset in that file, else its address */
	enum report_category category;
};

/* Frames by tree name id; built only for the formats that need it. */
struct report_frames {
	struct hmap by_name;	/* (name, 0) -> index in v */
	struct report_frame *v;
	size_t nr, cap;
};

/* "live memory at the end of the trace", ...: what a view shows, for titles. */
const char *report_show_title(enum report_show show);
/* "live", "alloc", "count", "leaks", "peak", "temporary": as --show takes them. */
const char *report_show_name(enum report_show show);
/*
 * --show=leaks and temporary: the count (blocks, allocations) of node child
 * of parent, whose count is parent_count; an [other] node has none of its
 * own in sec->counts and holds what its shown siblings do not.
 */
uint64_t report_child_count(const struct tree *t, const struct report_section *sec,
			    uint32_t parent, uint64_t parent_count, uint32_t child);

/* All return 0 or -errno (a write error on f). */
int output_tree__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec);
int output_folded__print(FILE *f, const struct tree *t, const struct strtab *names);
/* One JSON object per section; first/last: the first and last of an array. */
int output_json__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec, const struct report_frames *frames,
		       bool first, bool last);
int output_svg__print(FILE *f, const struct tree *t, const struct strtab *names,
		      const struct report_section *sec);
/*
 * A gzipped pprof profile.proto of one event type, from the model's sites
 * rather than the tree: one sample per site, live and allocated values both.
 */
struct model;
struct symbolizer;
int output_pprof__print(FILE *f, struct model *m, struct symbolizer *sym, struct strtab *names,
			unsigned int ev, enum report_show show);

/* --stat: what to show of which processes. */
struct report_stat_opts {
	uint64_t start_time, end_time;	/* the trace's, ns */
	unsigned int events;		/* 1 << event type, for the types recorded */
	const uint32_t *pids;		/* --pid */
	size_t npids;
	const char *comm;		/* --comm */
};
int output_stat__print(FILE *f, const struct model *m, const struct report_stat_opts *o);

/*
 * --timeline: the live totals of each event type in events over time, as
 * rows of a table (at most rows of them), and as an SVG line chart.
 */
struct model_point;
int output_timeline__print(FILE *f, const struct model_point *pts, size_t n, unsigned int events,
			   uint64_t start, const uint64_t *peak_time, const uint64_t *peak_bytes,
			   unsigned int rows);
int output_timeline__svg(FILE *f, const struct model_point *pts, size_t n, unsigned int events,
			 uint64_t start, const uint64_t *peak_time, const uint64_t *peak_bytes,
			 const char *title);

#endif
