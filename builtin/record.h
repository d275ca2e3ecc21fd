/*
 * Recording, for the commands that record (record, and top and serve through
 * builtin/live.c): the options that say what is recorded and how, with their
 * checks, and a recording's steps, each saying what went wrong as record
 * always said it.  The commands differ in where the trace goes: a file,
 * standard output, or the pipe a live view reads.
 */
#ifndef MEMPROF_BUILTIN_RECORD_H
#define MEMPROF_BUILTIN_RECORD_H

#include <signal.h>
#include <stdbool.h>

#include "builtin/parse-options.h"
#include "record/recorder.h"

/* The recording options' values, and which were given: some apply only with others. */
struct record_args {
	struct recorder_opts o;
	bool rss_interval_given, heap_probes_given, heap_lib_given, heap_sample_given;
	bool heap_time_given;
};

/* The defaults (-e page,rss, -g cfi, -m 32M ...), the trace going to output. */
void record_args__init(struct record_args *a, const char *output);
/*
 * The command line as given (NULL-terminated; the caller frees the array),
 * for the trace's INFO record: parsing reorders argv.  NULL without memory.
 */
char **record__argv_copy(int argc, char **argv);
/*
 * After parse_options(): the command in argv[0..argc), what goes together.
 * need_target: one of a command, -p, -a, --comm, --exec is required.  0, or
 * EXIT_USAGE after printing an error.
 */
int record_args__check(struct record_args *a, int argc, char **argv, bool need_target);

int record__opt_pids(const struct option *opt, const char *arg);
int record__opt_events(const struct option *opt, const char *list);
int record__opt_duration(const struct option *opt, const char *arg);
int record__opt_call_graph(const struct option *opt, const char *arg);
int record__opt_buffer_size(const struct option *opt, const char *arg);
int record__opt_rss_interval(const struct option *opt, const char *arg);
int record__opt_heap_probes(const struct option *opt, const char *arg);
int record__opt_heap_lib(const struct option *opt, const char *arg);
int record__opt_heap_sample(const struct option *opt, const char *arg);
int record__opt_heap_time(const struct option *opt, const char *arg);

/* Which processes are recorded: -p, -a, --comm, --exec (a command follows "--"). */
#define OPT_RECORD_TARGETS(a)                                                              \
	OPT_CALLBACK('p', "pid", &(a)->o, "PID[,PID...]",                                  \
		     "record the running processes PID, all their threads\n"                \
		     "and children", record__opt_pids),                                     \
	OPT_BOOL('a', "all-cpus", &(a)->o.all,                                             \
		 "record every process of the machine, those that start\n"                  \
		 "meanwhile too (perf's -a)"),                                              \
	OPT_STRING(0, "comm", &(a)->o.comm, "NAME",                                        \
		   "record the processes named NAME (as ps shows it),\n"                    \
		   "running or started meanwhile, with their children"),                    \
	OPT_STRING(0, "exec", &(a)->o.exec, "PATH",                                        \
		   "record the processes that run the file PATH, running\n"                 \
		   "or started meanwhile, with their children")

/*
 * What is recorded and how: -e (its default named in dflt), -g, -m,
 * --rss-interval, --no-inherit, -N, --heap-probes, --heap-lib, --heap-sample, --heap-time.
 */
#define OPT_RECORD_EVENTS(a, dflt)                                                         \
	OPT_CALLBACK('e', "event", &(a)->o.events, "EVENTS",                               \
		     "events to record, comma-separated: page, heap, cache,\n"              \
		     "mmap, rss, or all (default: " dflt ")", record__opt_events),          \
	OPT_CALLBACK('g', "call-graph", &(a)->o, "MODE",                                   \
		     "how user stacks are taken: cfi (unwound in the kernel\n"              \
		     "with the files' call frame information, default), fp\n"              \
		     "(frame pointers), dwarf[,SIZE] (registers and SIZE bytes\n"           \
		     "of stack, default 8192, unwound by report), or none",                 \
		     record__opt_call_graph),                                               \
	OPT_CALLBACK('m', "buffer-size", &(a)->o.buffer_size, "SIZE",                      \
		     "kernel ring buffer size, 4K to 2G, e.g. 64M (default: 32M)",          \
		     record__opt_buffer_size),                                              \
	OPT_CALLBACK(0, "rss-interval", (a), "MS",                                         \
		     "with -e rss, read each target's RSS every MS\n"                       \
		     "milliseconds (default: 10)", record__opt_rss_interval),               \
	OPT_NEGBOOL(0, "no-inherit", &(a)->o.inherit,                                      \
		    "do not follow child processes the target creates"),                   \
	OPT_BOOL('N', "no-buildid-cache", &(a)->o.no_buildid_cache,                        \
		 "do not copy the files report could not reach later\n"                     \
		 "(deleted, in another mount namespace) into the\n"                         \
		 "build-id cache"),                                                         \
	OPT_CALLBACK(0, "heap-probes", (a), "WHERE",                                       \
		     "with -e heap and -p: 'target' puts the probes on the\n"               \
		     "target process and each child as its fork is seen\n"                  \
		     "(default); 'all' on the C library for every process,\n"               \
		     "which catches short-lived children from their start",                 \
		     record__opt_heap_probes),                                              \
	OPT_CALLBACK(0, "heap-lib", (a), "PATH[:PREFIX]",                                  \
		     "with -e heap, probe the allocator in the ELF file PATH,\n"            \
		     "its functions named PREFIX+malloc ... (repeatable);\n"                \
		     "files defining malloc and free, bare or as je_, tc_\n"                \
		     "or mi_, are found without it", record__opt_heap_lib),                 \
	OPT_CALLBACK(0, "heap-sample", (a), "BYTES",                                       \
		     "with -e heap, sample allocations, one every BYTES\n"                  \
		     "allocated on average (Poisson): report estimates\n"                   \
		     "the figures from the samples (default: every call)",                  \
		     record__opt_heap_sample),                                              \
	OPT_CALLBACK(0, "heap-time", (a), "CLOCK",                                         \
		     "with -e heap, the events' times: 'tick' the kernel\n"                  \
		     "tick's, 4 ms at 250 Hz (default), 'exact' read at\n"                  \
		     "each event, about 45 ns more per event",                             \
		     record__opt_heap_time)

/* One recording, from the checks of this machine to the recorded command's exit. */
struct record_session {
	struct record_args *a;
	struct recorder r;
	struct mpf_writer *w;
	char **cmdline;			/* as given, for the trace's INFO */
	int cmdline_argc;
	bool live;			/* for a live view: its messages say so */
	bool keep_file;			/* the trace is complete enough to keep */
};

/*
 * Opens where the trace goes once its header is known; NULL after printing
 * an error.
 */
typedef struct mpf_writer *(*record_open_fn)(void *ctx, const struct mpf_header *hdr);

/*
 * Checks the machine, loads and attaches the programs, starts the command
 * (or attaches to the processes), the trace written through open(ctx).
 * argv as the command line gave it (parse_options moves it).  0, or the exit
 * status after printing an error: record_session__end() is called either way.
 */
int record_session__begin(struct record_session *s, struct record_args *a, int argc,
			  char **argv, record_open_fn open, void *ctx);
/* Records until the targets exit, -d runs out or *stop is set.  0, or 1 after an error. */
int record_session__run(struct record_session *s, volatile sig_atomic_t *stop);
/*
 * Ends the recording: the END record, the writer closed, the summary, the
 * command stopped or waited for.  ret: what begin or run returned.  Returns
 * the exit status: the command's, as perf and heaptrack do, or ret.
 */
int record_session__end(struct record_session *s, int ret);

/*
 * The trace file at path, created as record creates it (FILE.old kept, no
 * link followed, given to the sudo user); "-" is standard output.  The file
 * descriptor, or -1 after printing an error.
 */
int record__create_output(const char *path);
/* record_open_fn for record itself: ctx is the path of -o ("-": standard output). */
struct mpf_writer *record__open_output(void *ctx, const struct mpf_header *hdr);
/* A writer on fd for a recording, with record's bounds (the writer owns fd). */
struct mpf_writer *record__writer(int fd, int tee_fd, const struct mpf_header *hdr);

#endif
