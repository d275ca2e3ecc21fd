/*
 * A live view's data (top, serve): a recording whose trace stream is read
 * back as it is written, record by record, into the model the views read;
 * or a finished trace read once.  One data path, the one of `record -o - |
 * report -i -`: the recorder writes the trace format to a pipe (and to the
 * file of -o, when given), a thread reads the pipe into the model, and the
 * views are built from the model by report's code, so that a live figure
 * and a report of the same events agree.
 *
 * The model and what reads it (the lookup of files, the symbolizer) are
 * guarded by one lock: the views take it while they build.
 */
#ifndef MEMPROF_BUILTIN_LIVE_H
#define MEMPROF_BUILTIN_LIVE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "builtin/input.h"
#include "builtin/record.h"
#include "report/view.h"

struct procs;
struct strtab;
struct symbolizer;

struct live {
	/* A recording: its session, the pipe's read end, the two threads. */
	struct record_session rs;
	bool recording;
	const char *output;		/* -o FILE: the trace kept as well, or NULL */
	int pipe_rd, pipe_wr;		/* -1 once closed or given away */
	pthread_t rec_thread, model_thread;
	bool rs_begun, rec_started, model_started;
	int rec_ret;			/* record_session__run's */
	volatile sig_atomic_t *stop;

	pthread_mutex_t lock;		/* everything below */
	struct input in;
	bool have_input;		/* the header was read, in is set up */
	bool ended;			/* the stream ended (END, or cut) */
	bool complete;			/* it ended with END */
	int model_err;			/* -ENOMEM while applying a record */
	uint64_t records;		/* applied */
	struct strtab *names;		/* of the views, kept from one to the next */
	struct symbolizer *sym;
	size_t sym_files;		/* the model's files when sym was made */
	const char *source;		/* what is shown: the file, or "live" */
};

/*
 * Starts recording what a says (argc, argv: the command line, for the
 * trace's INFO), the trace also written to output when not NULL; *stop ends
 * the recording.  0, or the exit status after printing an error; then
 * live__finish() is still to be called.
 */
int live__record(struct live *l, struct record_args *a, int argc, char **argv,
		 const char *output, volatile sig_atomic_t *stop);
/* A finished trace, read whole: 0, or 1 after printing an error. */
int live__open(struct live *l, const struct input_opts *io);
/* Ends the recording (if it still runs) and frees everything: the exit status. */
int live__finish(struct live *l, int ret);

/* A thread of a live command, which takes no signal: the main thread does.  0 or -errno. */
int live__thread(pthread_t *t, void *(*fn)(void *), void *arg);

void live__lock(struct live *l);
void live__unlock(struct live *l);
/* Whether the recording still runs (under the lock). */
bool live__recording(struct live *l);

/* ---- the views (builtin/live-views.c), each taking the lock ---- */

enum live_tree_format {
	LIVE_TREE_TEZEDGE,	/* /v1/tree: TezEdge's object, KiB */
	LIVE_TREE_SVG,		/* a flame graph */
	LIVE_TREE_TEXT,		/* report's tree, for top */
};

struct live_tree_opts {
	enum live_tree_format format;
	int event;		/* enum mpf_event_type; -1: page (with cache) if recorded, else heap */
	enum report_show show;
	bool reverse;
	uint64_t threshold_kib;
	uint32_t pid;		/* 0: every process */
};

/* 0, -ENOENT when the trace has no events of o->event (none yet), -ENOMEM, -EIO. */
int live__tree(struct live *l, FILE *f, const struct live_tree_opts *o);
/* A gzipped pprof profile of ev, show live (inuse) or alloc; errors as live__tree's. */
int live__pprof(struct live *l, FILE *f, int ev, enum report_show show);
/* /metrics. */
int live__metrics(struct live *l, FILE *f);
/* The processes as a JSON array. */
int live__procs_json(struct live *l, FILE *f);
/* The processes' rows, into out (the caller's to free), sorted by key. */
int live__procs(struct live *l, struct procs *out, int key);
/* The memory timeline as an SVG chart. */
int live__timeline(struct live *l, FILE *f);
/* The event types recorded: the header's, and those with events. */
unsigned int live__events(struct live *l);

#endif
