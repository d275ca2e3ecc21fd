/*
 * The output formats: one file each, writing to a stream what the views
 * built (report/view.h) or the model holds.  All return 0 or -errno (-EIO: a
 * write error on f).
 */
#ifndef MEMPROF_OUTPUT_OUTPUT_H
#define MEMPROF_OUTPUT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "format/mpf.h"
#include "report/view.h"

struct fold;
struct model;
struct model_point;
struct mpf_record;
struct strtab;
struct symbolizer;
struct tree;

/* The default: a header in '#' lines, then the tree one node a line. */
int output_tree__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec);
/* flamegraph.pl's input: "frame;frame;frame VALUE", root first, sorted. */
int output_folded__print(FILE *f, const struct tree *t, const struct strtab *names);
/* The same of a fold (report/fold.h): its nodes are made as the walk reaches them. */
int output_folded__print_fold(FILE *f, struct fold *fold, const struct strtab *names);
/* One JSON object per section, TezEdge's tree shape; first/last: the first and last of an array. */
int output_json__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec, const struct path_frames *frames,
		       bool first, bool last);
/* A self-contained SVG flame graph. */
int output_svg__print(FILE *f, const struct tree *t, const struct strtab *names,
		      const struct report_section *sec);
/*
 * A gzipped pprof profile.proto of one event type, from the model's sites
 * rather than the tree: one sample per site, live and allocated values both.
 */
int output_pprof__print(FILE *f, struct model *m, struct symbolizer *sym, struct strtab *names,
			unsigned int ev, enum report_show show);

/*
 * /v1/tree of serve: TezEdge's tree as its memory profiler serves it, one
 * object, values in KiB (rounded to the nearest), categories as TezEdge
 * names them (output/json.c).
 */
int output_json__tezedge(FILE *f, const struct tree *t, const struct strtab *names,
			 const struct report_section *sec, const struct path_frames *frames);

/* The processes (report/procs.h): top's table, its header and rows, into buf. */
struct proc_row;
struct procs;
int output_procs__header(char *buf, size_t size);
int output_procs__row(char *buf, size_t size, const struct proc_row *r, double allocs_per_s);
/* serve's list of processes, a JSON array. */
int output_procs__json(FILE *f, const struct procs *p);
/* /metrics: the Prometheus text exposition of the running processes and of the recording. */
int output_metrics__print(FILE *f, const struct model *m, const struct procs *p,
			  unsigned int events);

/* diff: a tree whose nodes hold OLD (v[0]) and NEW (v[1]) bytes. */
struct output_diff {
	const char *old_path, *new_path;
	const char *event;
	bool live;
	uint64_t threshold_kib;
	uint64_t folded_paths;		/* paths [other] nodes hold */
};
int output_diff__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct output_diff *d);

/* --header: what the trace says of itself (INFO records, header, files, losses). */
struct mpf_header;
int output_header__print(FILE *f, const struct model *m, const struct mpf_header *hdr,
			 const char *path);
/* --histogram: allocation sizes per event type in events, power-of-two buckets. */
int output_histogram__print(FILE *f, const struct model *m, unsigned int events);

/* --stat: what to show of which processes. */
struct report_stat_opts {
	uint64_t start_time, end_time;	/* the trace's, ns */
	unsigned int events;		/* 1 << event type, for the types recorded */
	const uint32_t *pids;		/* --pid */
	size_t npids;
	const char *const *comms;	/* --comm */
	size_t ncomms;
};
int output_stat__print(FILE *f, const struct model *m, const struct report_stat_opts *o);
/*
 * A '#' line for each event type of events that the recording lost events
 * of: the figures printed after it may be off by that many allocations.
 */
void output__lost_lines(FILE *f, const struct model *m, unsigned int events);

/*
 * --timeline: the live totals of each event type in events over time, as
 * rows of a table (at most rows of them), and as an SVG line chart.
 */
int output_timeline__print(FILE *f, const struct model *m, const struct model_point *pts,
			   size_t n, unsigned int events, uint64_t start, const uint64_t *peak_time,
			   const uint64_t *peak_bytes, unsigned int rows);
/*
 * The SVG: a panel per event type, each with its own scale, so that no
 * series flattens another; per_process: a line per process (the largest).
 */
int output_timeline__svg(FILE *f, struct model *m, const struct model_point *pts, size_t n,
			 unsigned int events, uint64_t start, const uint64_t *peak_time,
			 const uint64_t *peak_bytes, const char *title, bool per_process);
/* --timeline --per-process: a table per event type, a column per process. */
int output_timeline__print_processes(FILE *f, struct model *m, unsigned int events,
				     uint64_t start, unsigned int rows);

/* The processes of a timeline (output/timeline.c, for both forms). */
#define TIMELINE_PROCS_SHOWN 6
struct timeline_proc {
	uint32_t pid;
	char label[MPF_COMM_LEN + 16];
	uint32_t *images;	/* its images, the last one first */
	size_t nimages;
	uint64_t peak[MPF_EV__MAX], peak_time[MPF_EV__MAX];
};
struct timeline_procs {
	struct timeline_proc *v;
	size_t n;
};
int timeline_procs__build(struct model *m, struct timeline_procs *tp);
/* Largest peak of event type ev first. */
void timeline_procs__sort(struct timeline_procs *tp, unsigned int ev);
/* The process's live bytes of type ev as of time t. */
uint64_t timeline_proc__at(struct model *m, const struct timeline_proc *p, unsigned int ev,
			   uint64_t t);
void timeline_procs__free(struct timeline_procs *tp);

/* script: one event a line, as text (perf script's), CSV or JSON lines. */
enum output_events_format {
	OUTPUT_EVENTS_TEXT,
	OUTPUT_EVENTS_CSV,
	OUTPUT_EVENTS_JSON,
};
struct output_events {
	enum output_events_format format;
	uint64_t start_time;		/* the trace's: times are printed from it */
	uint32_t page_size;
	const struct strtab *names;	/* of the frames */
};
/* The header line (CSV's), if the format has one. */
void output_events__header(FILE *f, const struct output_events *o);
/* rec, of process comm, with its frames (innermost first). */
void output_events__print(FILE *f, const struct output_events *o, const struct mpf_record *rec,
			  const char *comm, const uint32_t *frames, size_t nf);
/* Whether rec is a record script lists: an event, or a process's fork, exec or exit. */
bool output_events__listed(uint32_t type);
/* Whether rec, an event record, is of pages the kernel took for itself. */
bool output_events__kernel(const struct mpf_record *rec);

#endif
