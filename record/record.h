/*
 * The parts of recording (record/): BPF loading and event consumption, /proc
 * maps and build-id capture, leaf callers, heap probe placement and the
 * launched workload; record/recorder.h puts them together.  Nothing here is
 * seen by report: the two meet only in format/.
 */
#ifndef MEMPROF_RECORD_H
#define MEMPROF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <libelf.h>
#include <linux/types.h>

#include "bpf/memprof.h"
#include "format/mpf.h"

/* ---- system.c: a target's /proc ---- */

/*
 * The thread of pid's thread group whose /proc entries show the process's
 * memory: pid itself, unless its leader is a zombie (its main thread exited,
 * others live on: its maps, root and status are then empty); -1 if none.
 */
pid_t system__live_thread(pid_t pid);
/* "/proc/PID", or "/proc/PID/task/TID" when tid is another live thread of it, into buf. */
void system__proc_dir(pid_t pid, pid_t tid, char *buf, size_t size);

/* ---- procmaps.c: what each target maps, written as FILE and MAP records ---- */

struct procmaps;

/* Called with the path (openable by record) of every ELF file newly seen mapped. */
typedef void (*procmaps_file_cb)(void *ctx, pid_t pid, const char *open_path, const char *path);

/* use_cache: copy the files report will not reach into the build-id cache. */
struct procmaps *procmaps__new(struct mpf_writer *w, procmaps_file_cb cb, void *ctx,
			       bool use_cache);
void procmaps__free(struct procmaps *pm);
/*
 * Reads /proc/PID/maps and writes a MAP record (and a FILE record for a file
 * seen the first time) for each mapping not written before for pid.
 */
int procmaps__scan(struct procmaps *pm, pid_t pid, uint64_t time);
/*
 * procmaps__scan() for a mapping the kernel side reported (an exec's text, an
 * executable mmap), v: where the scan does not show it (the process gone, or
 * exiting while its maps were read), v is written as the kernel saw it when
 * it was made.  Its file is one already seen (by device and inode), or else
 * path, checked to be that file.
 */
int procmaps__scan_for(struct procmaps *pm, pid_t pid, uint64_t time, const struct mp_vma *v,
		       const char *path);
/* The process exec'd or exited: its earlier mappings are gone. */
void procmaps__forget(struct procmaps *pm, pid_t pid, bool exited);
/* A new process has its parent's mappings (no records: report knows it from the FORK). */
void procmaps__inherit(struct procmaps *pm, pid_t parent, pid_t child);

/* Where an address of a process is: a file, and the offset in it. */
struct procmaps_loc {
	uint32_t file;		/* the file's index, stable for the recording */
	uint64_t offset;	/* in the file */
	uint64_t start, end;	/* the mapping */
};
/* 0, or -ENOENT when addr is in no file's mapping that record knows. */
int procmaps__locate(struct procmaps *pm, pid_t pid, uint64_t addr, struct procmaps_loc *loc);
/* Opens the file of loc as the process sees it: a file descriptor, or -errno. */
int procmaps__open(struct procmaps *pm, pid_t pid, const struct procmaps_loc *loc);

/* An executable mapping of a file, as procmaps__exec_maps hands it over. */
struct procmaps_exec {
	struct procmaps_loc loc;	/* loc.offset: the mapping's file offset */
	uint64_t dev, ino;		/* st_dev and st_ino; ino 0: a pseudo file ([vdso]) */
	const char *name;		/* as /proc/PID/maps names it */
};
/* Calls fn for each executable mapping of a file record knows in pid, oldest first. */
int procmaps__exec_maps(struct procmaps *pm, pid_t pid,
			int (*fn)(void *ctx, const struct procmaps_exec *e), void *ctx);

/* ---- leaf.c: the callers -g fp misses at an exact pc ---- */

struct leaf;

struct leaf *leaf__new(struct procmaps *pm);
void leaf__free(struct leaf *l);
/* The mappings changed (exec, exit, new files): what was learnt of addresses goes. */
void leaf__forget(struct leaf *l);
/*
 * The frame-pointer stack ips[0..nr) of pid, taken at an exact pc, with the
 * frames it misses inserted after ips[0]: the callers of the functions
 * without a frame of their own at the pc (memset, a system call wrapper),
 * found by the files' call frame information in the stack words lf.  Into
 * out (room for max); returns the number of frames, nr when none is found.
 */
size_t leaf__fixup(struct leaf *l, pid_t pid, const uint64_t *ips, size_t nr,
		   const struct mp_leaf *lf, uint64_t *out, size_t max);

/* ---- probes.c: the allocators in a file, and their probe sites ---- */

struct probe_site {
	const char *func;	/* "malloc", ... */
	unsigned int kind;	/* enum mp_heap_func */
	uint64_t offset;	/* file offset of the probed instruction */
	uint64_t entry;		/* file offset of the function's entry */
	bool emulated;		/* an instruction the kernel emulates, no single-step */
};

#define PROBE_MAX_SITES 48

/* What find_heap_probe_sites() found the file to be. */
#define PROBE_ALLOCATOR		0x1	/* it defines malloc and free */
#define PROBE_STATIC_PROGRAM	0x2	/* a program without an interpreter: all it runs is here */

/*
 * Finds the allocator functions the ELF file at path defines (with prefix,
 * --heap-lib's, or else bare, je_, tc_ or mi_) and picks, for each, the first
 * instruction the kernel can emulate before the function touches its stack
 * or argument registers.  Returns the number of sites (0: no allocator) and
 * PROBE_* in *flags, or -errno.
 */
int find_heap_probe_sites(const char *path, const char *prefix, struct probe_site *sites, int max,
			  unsigned int *flags);
/* Whether the program at path has no interpreter (no LD_PRELOAD for it): 1, 0, -errno. */
int probe_program_is_static(const char *path);
/* The file offsets of the probe points of memprof's preload library at path: 0, -errno. */
int find_sample_points(const char *path, uint64_t *alloc_off, uint64_t *free_off);

/* ---- cfi-build.c, cfi.c: -g cfi, the unwind tables of the files the targets map ---- */

struct cfi_rows {
	struct mp_cfi_row *rows;	/* sorted by pc */
	size_t n;
};

/*
 * Compiles the call frame information of elf (.eh_frame, else .debug_frame)
 * into rows: 0, -ENOENT (none), -EFBIG (addresses beyond 32 bits), -ENOMEM.
 */
int cfi_build(Elf *elf, struct cfi_rows *rows);

struct cfi_stats {
	uint64_t files;		/* files with a table */
	uint64_t files_without;	/* files without: no CFI, unreadable, or no room */
	uint64_t files_full;	/* of those, for want of room in the tables */
	uint64_t rows, pages;	/* rows and page index entries used */
	uint64_t build_us;	/* spent compiling tables */
	uint64_t syncs;		/* rewrites of a process's mappings */
};

struct cfi;

/*
 * Over the kernel side's maps (fds), the rows and pages of which have these
 * many entries, and its count of changes to the mappings (gen).
 */
int cfi__new(struct cfi **c, int rows_fd, int pages_fd, int files_fd, int procs_fd, __u32 *gen,
	     uint32_t rows_cap, uint32_t pages_cap);
void cfi__free(struct cfi *c);
/* The table of a file, compiled now if it has none yet: 0 or -ENOENT (no file). */
int cfi__add_file(struct cfi *c, const char *path);
/* The same for a program and what it will map: its interpreter and DT_NEEDED libraries. */
int cfi__add_program(struct cfi *c, const char *path);
/* The same for the vDSO, record's own image of it. */
int cfi__add_vdso(struct cfi *c);
/* Rewrites pid's executable mappings from what procmaps knows, compiling new files' tables. */
int cfi__sync(struct cfi *c, struct procmaps *pm, pid_t pid);
void cfi__stats(const struct cfi *c, struct cfi_stats *st);

/* ---- workload.c: the command record launches ---- */

struct workload {
	pid_t pid;		/* 0 once reaped */
	int go_fd;		/* write end: the child execs once written to */
	int err_fd;		/* read end: exec's errno, or EOF when exec succeeded */
	int status;		/* its wait(2) status, once reaped: record's exit status */
};

/* Forks a child that waits for workload__start() and then execs argv, env ("NAME=VALUE") added. */
int workload__prepare(struct workload *wl, char **argv, char *const *env);
/* Lets the child exec; returns 0, or -errno when it could not run the command. */
int workload__start(struct workload *wl);

/* ---- bpf.c: the BPF programs, their maps and links ---- */

struct mp_bpf_opts {
	bool page, heap, cache, mmap;	/* event types (rss is read from /proc) */
	bool inherit;		/* follow new child processes */
	bool all;		/* -a: every new process is a target */
	uint32_t self;		/* record's own process, never a target */
	const char *comm;	/* --comm: an exec giving this name makes a target */
	bool match_exec;	/* --exec: an exec of this file (exec_dev, exec_ino) does */
	uint32_t exec_dev;	/* the kernel's dev_t */
	uint64_t exec_ino;
	unsigned int stack_mode;	/* enum mp_stack_mode */
	uint32_t dwarf_size;	/* -g dwarf: bytes of stack copied */
	size_t buffer_size;	/* ring buffer bytes, a power of two */
	uint64_t page_frames;	/* bits of the page ownership map, a power of two */
	uint32_t cfi_rows;	/* -g cfi: entries of the tables' rows and page index */
	uint32_t cfi_pages;
	uint64_t heap_sample;	/* --heap-sample: mean bytes between samples, 0: every call */
	bool heap_exact_time;	/* --heap-time=exact: the clock read at each heap event */
	bool bare_probes;	/* the heap probes' programs do nothing (bench/heap.sh's floor) */
};

struct mp_bpf;
typedef int (*mp_event_cb)(void *ctx, void *data, size_t size);

/* Opens, sizes and loads the programs: -errno (-EPERM: no privilege). */
int mp_bpf__load(struct mp_bpf **out, const struct mp_bpf_opts *opts, mp_event_cb cb, void *ctx);
/* Attaches the tracepoint programs (processes, and pages if wanted). */
int mp_bpf__attach_tracepoints(struct mp_bpf *b);
/*
 * Attaches the heap probes to the allocator in the ELF file at path (its
 * functions named with prefix, or else with any prefix memprof knows), for
 * process pid or, with -1, for every process mapping it (the programs filter
 * by target).  Once per file and pid.  Returns the number of probe sites
 * attached (0 if already there, or if the file has no allocator: *flags
 * says, PROBE_*), or -errno.  When the file's sites were decoded by this
 * call, *decoded (if not NULL) points to them, valid until the probes are
 * detached.
 */
int mp_bpf__attach_heap(struct mp_bpf *b, const char *path, const char *prefix, pid_t pid,
			const struct probe_site **decoded, unsigned int *flags);
/* --heap-sample: the probe points of memprof's preload library at path, at these offsets. */
int mp_bpf__attach_sample_points(struct mp_bpf *b, const char *path, uint64_t alloc_off,
				 uint64_t free_off);
/* A new child process gets the probes its parent has: how many sets (0: it had none), or -errno. */
int mp_bpf__inherit_heap(struct mp_bpf *b, pid_t parent, pid_t child);
/* Removes the probes of a process that exited. */
void mp_bpf__detach_heap(struct mp_bpf *b, pid_t pid);
int mp_bpf__add_target(struct mp_bpf *b, pid_t pid, enum mp_target state);
/*
 * A target exited and its EXIT event was read: its entry can go (report
 * takes every free after the EXIT for teardown), so fork loops do not fill
 * the kernel's table.
 */
void mp_bpf__forget_target(struct mp_bpf *b, pid_t pid);
/* Waits up to timeout_ms for data, then consumes all that is there. */
int mp_bpf__poll(struct mp_bpf *b, int timeout_ms);
/* Lost-event counters summed over CPUs. */
int mp_bpf__lost(struct mp_bpf *b, uint64_t lost[MP_LOST__MAX]);
/*
 * Page events the page programs' twins made that the kernel had not skipped,
 * so recorded twice (0 on the kernels the twins know; see bpf/pages.bpf.c):
 * after mp_bpf__detach(), mp_bpf__lost() counts them in MP_LOST_PAGE.
 */
uint64_t mp_bpf__twin_extra(struct mp_bpf *b);
/* The stack walks by how they ended, and [MP_UNWIND_MEMO] those a memo answered, summed over CPUs. */
int mp_bpf__unwind_ends(struct mp_bpf *b, uint64_t ends[MP_UNWIND__MAX + 1]);
/* Page allocations in interrupts in a target's context, left out as not its own. */
uint64_t mp_bpf__irq_pages(struct mp_bpf *b);
/* -g cfi: the maps record/cfi.c fills. */
void mp_bpf__cfi_maps(struct mp_bpf *b, int *rows, int *pages, int *files, int *procs,
		      __u32 **gen);
/* Detaches every program; events already in the buffer can still be consumed. */
void mp_bpf__detach(struct mp_bpf *b);
void mp_bpf__destroy(struct mp_bpf *b);

#endif
