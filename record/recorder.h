/*
 * One recording (record/recorder.c): the BPF programs, the trace being
 * written, the targets and what record keeps of them, driven step by step by
 * the command (builtin/record.c), which prints what each step says.  Nothing
 * here prints: what the command may want to tell the user (a probe that could
 * not be put on a child, the probe sites chosen) arrives through `note`.
 */
#ifndef MEMPROF_RECORD_RECORDER_H
#define MEMPROF_RECORD_RECORDER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpf/memprof.h"
#include "format/mpf.h"
#include "lib/hashmap.h"
#include "record/record.h"

/* -p PID,PID...: the most processes one -p names. */
#define RECORDER_PIDS_MAX 64

struct recorder_opts {
	const char *output;
	pid_t pid;		/* -p: the first target, any of its threads; 0: none */
	pid_t pids[RECORDER_PIDS_MAX];	/* -p: every target named, pids[0] == pid */
	size_t npids;
	bool all;		/* -a: every process, new ones included */
	const char *comm;	/* --comm: processes of this name, from their exec */
	const char *exec;	/* --exec: processes running this file, from their exec */
	char **argv;
	unsigned int events;	/* 1 << enum mpf_event_type */
	uint64_t duration;	/* seconds, 0: until the target exits */
	unsigned int stack_mode;	/* enum mp_stack_mode */
	uint32_t dwarf_size;
	bool inherit;
	size_t buffer_size;
	unsigned int rss_interval;	/* ms */
	bool probe_all;			/* --heap-probes=all */
	bool no_buildid_cache;		/* -N */
	const char **heap_libs;		/* --heap-lib: "PATH[:PREFIX]" each */
	int nr_heap_libs;
	uint64_t heap_sample;		/* --heap-sample: mean bytes between samples, 0: exact */
	bool heap_exact_time;		/* --heap-time=exact */
	bool bare_probes;		/* MEMPROF_BARE_PROBES: heap probes that do nothing */
};

enum recorder_note_kind {
	NOTE_PROBE_SITE,	/* debug: site, path: a heap probe site chosen */
	NOTE_HEAP_PROBED,	/* debug: path, count: heap probes put on a C library */
	NOTE_HEAP_FAILED,	/* path, err: a C library's heap functions could not be probed */
	NOTE_CHILD_FAILED,	/* pid, err: a new child's heap functions could not be probed */
	NOTE_RSS_FAILED,	/* pid: no memory to sample its RSS */
	NOTE_NO_ALLOCATOR,	/* pid, path: a static program without an allocator found */
	NOTE_HEAP_LIB,		/* path, err: a --heap-lib file without that allocator */
	NOTE_SAMPLER,		/* debug: path (the preload library) or NULL (in the kernel) */
	NOTE_FOUND,		/* pid, path (its name): --comm or --exec found a process */
	NOTE_ATTACH_FAILED,	/* pid, err: a running process (-a, --comm) could not be read */
};

struct recorder_note {
	enum recorder_note_kind kind;
	pid_t pid;
	const char *path;
	int err;			/* -errno */
	int count;
	const struct probe_site *site;
};

/* A live target's last RSS sample, for -e rss. */
struct rss_target {
	pid_t pid;
	struct mpf_rss last;
};

/* memprof's preload library for --heap-sample in a launched command (preload/sample.c). */
#define PRELOAD_LIB "libmemprof-sample.so"

struct recorder {
	struct recorder_opts opts;
	void (*note)(void *ctx, const struct recorder_note *n);
	void *note_ctx;

	struct mp_bpf *bpf;
	struct mpf_writer *w;
	struct procmaps *maps;
	struct leaf *leaf;		/* -g fp: the callers the walk misses at an exact pc */
	struct cfi *cfi;		/* -g cfi: the unwind tables */
	struct workload wl;
	uint64_t start_time;		/* the trace header's, CLOCK_MONOTONIC */
	/*
	 * The time of the event being written: its own, or the one of the event
	 * before it in the ring when that is later (the heap events' clock is
	 * read once per tick, heap_time() in bpf/memprof.bpf.h).
	 */
	uint64_t ev_time;
	pid_t target;			/* the main target: its exit ends the recording */
	/*
	 * -p, --comm, --exec: the processes named or found, while they live;
	 * the recording ends when the last one exits (-a: never).
	 */
	pid_t *roots;
	size_t nroots, roots_cap;
	uint64_t found;			/* --comm, --exec: processes found so far */
	char target_comm[MPF_COMM_LEN];	/* -p: its name when recording began */
	bool target_exited;
	bool stopped;			/* by a signal or -d, not by the target's exit */
	int write_err;			/* the first error writing the trace, -errno */
	int single_step;		/* heap probe sites the kernel single-steps */
	pid_t probe_pid;		/* heap probes for every process (-1) or per target (0) */
	char *preload;			/* --heap-sample: memprof's library, sampling in the command */
	bool no_preload;		/* ... which a dynamic command would have had, but is not there */
	char *env[3];			/* what the launched command gets in its environment */
	char *no_allocator[8];		/* static programs said to have no allocator found */
	/* the stack walks by how they ended, and [MP_UNWIND_MEMO] those a memo answered */
	uint64_t unwind_ends[MP_UNWIND__MAX + 1];
	struct cfi_stats cfi_stats;	/* -g cfi: the tables, at the end */
	uint64_t lost_written[MP_LOST__MAX];	/* in LOST records given to the writer */
	uint64_t lost_total[MP_LOST__MAX];	/* as the kernel side last counted them */
	uint64_t twin_extra;	/* page events recorded twice (mp_bpf__twin_extra()) */
	uint64_t irq_pages;	/* pages taken in interrupts, left out (mp_bpf__irq_pages()) */
	/* Process events received: all (END's count), and of them forks, execs, exits. */
	uint64_t proc_events, forks, execs, exits;
	uint64_t page_frees_exiting;
	/*
	 * Heap probes per process: the targets' children whose heap calls were
	 * not recorded (gone before their probes were placed) or only from
	 * some time after their fork on, per parent.
	 */
	struct hashmap children;	/* struct child_probed by pid, until its exit */
	struct hashmap parents;		/* struct parent_children by pid */
	uint64_t children_missed, children_late, children_delay_max;
	struct mpf_heap_children heap_children;	/* all that, at the end */
	struct rss_target *rss;		/* -e rss: the live targets */
	size_t nrss, rss_cap;
	uint64_t rss_next;		/* when to sample next */
	size_t rss_turn;		/* the first target of the next round */
};

struct child_probed {
	uint64_t pid;		/* the key */
	uint64_t probed;	/* when its probes were in place, CLOCK_MONOTONIC */
	uint32_t ppid, pad;
};

struct parent_children {
	uint64_t pid;		/* the key */
	uint64_t missed, late;
};

/*
 * A target's new child's heap probes: placed (err > 0), not needed (0: its
 * parent had none), or failed (err < 0; -ESRCH, -ENOENT: it was gone), at fork_time;
 * and its exit.  Counted as missed or late.
 */
void recorder__child_probed(struct recorder *r, pid_t ppid, pid_t pid, uint64_t fork_time,
			    int err);
void recorder__child_exited(struct recorder *r, pid_t pid, uint64_t time);

/* Whether the recording follows processes it finds by itself (-a, --comm, --exec). */
bool recorder__waits(const struct recorder *r);
/* The steps, in order; each returns 0 or -errno. */
void recorder__init(struct recorder *r, const struct recorder_opts *o);
/*
 * Opens, sizes and loads the BPF programs (-EPERM: no privilege), and says
 * in r->env what the launched command needs in its environment.
 */
int recorder__load(struct recorder *r);
/* What recorder__start was doing when it failed. */
enum recorder_stage {
	STAGE_MEMORY,		/* allocating its tables */
	STAGE_ATTACH,		/* attaching the tracepoint programs */
	STAGE_HEAP_PROBES,	/* putting the heap probes on record's own C library */
	STAGE_MAPS,		/* reading the maps of the target (-p) */
	STAGE_HEAP_LIB,		/* putting the heap probes on a --heap-lib file */
};
/*
 * Starts recording into w (the caller's): the target is recorded from now on
 * (a launched command from its exec, once workload__start() lets it run).
 * argv is record's own command line, for the trace's INFO.  On failure
 * *stage says what failed.
 */
int recorder__start(struct recorder *r, struct mpf_writer *w, int argc, char **argv,
		    enum recorder_stage *stage);
/*
 * Consumes events until the target exits, -d runs out or *stop is set;
 * -errno when reading the events failed.
 */
int recorder__run(struct recorder *r, volatile sig_atomic_t *stop);
/* Detaches every program, takes what is left in the buffer and writes the END record. */
void recorder__finish(struct recorder *r);
/* Frees what recorder__load and recorder__start made (not the writer). */
void recorder__destroy(struct recorder *r);

/* ---- inside record/ ---- */

/* events.c: the ring buffer's callback, turning each event into trace records. */
int recorder__event(void *ctx, void *data, size_t size);
/* Writes a record; the first error sticks in r->write_err. */
int recorder__write(struct recorder *r, const struct mpf_record *rec);
void recorder__note(struct recorder *r, enum recorder_note_kind kind, pid_t pid,
		    const char *path, int err);
/* -g cfi: pid's executable mappings, as record knows them now, to the kernel side. */
void recorder__sync_cfi(struct recorder *r, pid_t pid);
/* A process the recording follows by itself (-p, --comm, --exec), or no longer (its exit). */
void recorder__add_root(struct recorder *r, pid_t pid);
void recorder__exited(struct recorder *r, pid_t pid);

/* rss.c: -e rss, each live target's /proc/PID/status, sampled */
void rss__add(struct recorder *r, pid_t pid);
void rss__remove(struct recorder *r, pid_t pid);
void rss__sample(struct recorder *r, uint64_t now);

/* system.c: what recording needs of this machine and of the target */
/* The capabilities recording needs that this process lacks, named, or "" if none. */
const char *system__missing_caps(char *buf, size_t size);
/* Bits for the page ownership map: a power of two above the highest page frame. */
uint64_t system__page_frames(void);
/* The thread group of pid (which may name any of its threads) and its name; -1 if none. */
pid_t system__thread_group(pid_t pid, char *comm, size_t size);
/*
 * Calls fn for every process running now but this one and kernel threads,
 * with its name (comm) and its executable's device (the kernel's dev_t) and
 * inode (0 when unreadable); stops at fn's first non-zero return.
 */
int system__each_process(int (*fn)(void *ctx, pid_t pid, const char *comm, uint32_t dev,
				   uint64_t ino),
			 void *ctx);
/* The kernel's dev_t (major << 20 | minor) of a user-space one. */
uint32_t system__kernel_dev(uint64_t dev);
/* Pages a target unmapped that the kernel's per-CPU LRU batches still hold are freed now. */
void system__drain_lru_batches(void);
uint64_t now_ns(clockid_t clk);

#endif
