/*
 * The model: what a trace says happened, rebuilt record by record.  It keeps
 * the processes, their mappings, the files and stacks the records refer to,
 * and per event type and allocation site (process image, stack) the bytes
 * allocated and the bytes still live, so the report never needs the events
 * again once they are read.
 *
 * A process image is a pid from its fork (or first sight) to its exec or the
 * reuse of its pid: an exec replaces the address space, so the stacks taken
 * before it must be looked up in the maps from before it.
 */
#ifndef MEMPROF_MODEL_MODEL_H
#define MEMPROF_MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/mpf.h"

/*
 * Call stacks are kept as a tree, as the trace holds them since format 1.4: a
 * stack is a node, its innermost frame called from the stack of the node's
 * parent.  The two roots are empty stacks: MODEL_STACK_EMPTY, above every
 * outermost frame (the stack of stack id 0 and of ids never defined), and
 * MODEL_STACK_TRUNCATED, above the frames of walks that stopped short.
 */
#define MODEL_STACK_EMPTY 0
#define MODEL_STACK_TRUNCATED 1
#define MODEL_IMAGE_NONE UINT32_MAX	/* no image: a pid the trace never showed */

struct model_file {
	uint32_t id;
	uint32_t index;		/* 0 .. model__nr_files() - 1 */
	uint32_t build_id_len;
	uint8_t build_id[MPF_BUILD_ID_MAX];
	const char *path;
};

struct model_map {
	uint64_t start, end;	/* [start, end) */
	uint64_t pgoff;		/* file offset of start */
	uint32_t file_id;	/* 0: not a file */
	uint32_t prot;
};

/* A stack's frames, whole. */
struct model_stack {
	uint32_t flags;		/* MPF_STACK_FIRST_IS_IP, MPF_STACK_TRUNCATED */
	uint32_t nr;
	uint64_t ips[MPF_STACK_MAX];	/* innermost first */
};

/* One allocation site of one event type. */
struct model_site {
	uint32_t image;
	uint32_t tid;		/* the thread that allocated (0: the trace did not say) */
	uint32_t stack;		/* model stack index */
	/*
	 * Pages the kernel allocated for itself in the target's context (page
	 * tables, kernel stacks, slab): gfp flags without __GFP_MOVABLE, where
	 * the target's own memory (anonymous and page cache pages) has it.
	 */
	bool kernel;
	uint64_t alloc_bytes, alloc_nr;	/* everything allocated */
	uint64_t live_bytes, live_nr;	/* what is still allocated */
	/*
	 * Heap blocks freed before their thread allocated anything else
	 * (heaptrack's "temporary"): allocated, used briefly, dropped.
	 */
	uint64_t tmp_bytes, tmp_nr;
	/*
	 * The site's own highest live bytes, and its live allocations then
	 * (heaptrack's peak memory consumers): not when the total peaked.
	 */
	uint64_t peak_bytes, peak_nr;
};

/* Allocation sizes of one event type: nr[b] and bytes[b] for sizes in [2^(b-1), 2^b). */
#define MODEL_HIST_BUCKETS 65
struct model_histogram {
	uint64_t nr[MODEL_HIST_BUCKETS], bytes[MODEL_HIST_BUCKETS];
};

/* An INFO record: key = value, as record wrote it (hostname, release, cmdline ...). */
struct model_info {
	char *key, *value;
	uint64_t time;
};

struct model_stats {
	uint64_t records[MPF_REC__MAX];	/* by type; [0] counts unknown types */
	/* Event records read per type, filtered or not; then FORK, EXEC and EXIT records. */
	uint64_t events[MPF_LOST__MAX];
	uint64_t lost[MPF_LOST__MAX];	/* the sum of the LOST records, per type, then process */
	bool has_end;
	struct mpf_end end;
	uint64_t undefined_stacks;	/* distinct stack ids used while not defined */
	uint64_t ignored;	/* events that cannot be real: page orders above 13, ... */
	uint64_t unmapped_images;	/* images left without maps: past the views' budget */
	bool has_unwind;	/* the trace says how its stack walks ended: */
	uint64_t unwind[MPF_UNWIND__MAX];	/* by enum mpf_unwind */
	uint64_t ustacks, ustacks_truncated;	/* copies unwound here (-g dwarf), short of the end */
	uint64_t stack_bytes;		/* what the stack table holds, as its budget counts it */
	uint64_t stack_budget;		/* see model__set_trace_size() */
	uint64_t stacks_dropped;	/* stack records not kept: past the budget */
	/* STACK_NODE records not kept: of a parent or frame never defined, or too deep */
	uint64_t stacks_bad;
	bool has_heap_children;		/* children whose heap was not recorded, or late: */
	struct mpf_heap_children heap_children;
};

/*
 * The highest total of live bytes of one event type, the sum over its sites
 * as "live" counts them, and the record that reached it first: the number
 * of records model__add had been given, that one included, and its time.
 */
struct model_peak {
	uint64_t bytes;
	uint64_t record;	/* 0: the total never rose above 0 */
	uint64_t time;
};

/*
 * A process image as --stat shows it.  Bytes per event type: allocated (page,
 * heap), added (cache), mapped (mmap) by the image, and freed, deleted or
 * unmapped of what it allocated.  An image an exec replaced is prev of the
 * new one, and marked replaced.
 */
struct model_proc {
	uint64_t start_time;	/* its fork, or its first record; an exec keeps its prev's */
	bool exited, replaced;
	uint64_t exit_time;
	int32_t exit_status;	/* wait(2) status */
	char *args;		/* the exec's argv joined by spaces, NULL when not known */
	uint32_t prev;		/* the image this one exec'd from, MODEL_IMAGE_NONE */
	uint64_t alloc[MPF_EV__MAX], freed[MPF_EV__MAX];
	uint64_t to_cache;	/* bytes of its pages added to the page cache: cache now */
	uint64_t calls[MPF_VM__MAX];	/* -e mmap: successful calls */
	bool has_rss;
	bool rss_gone;		/* exited: no longer in the live total */
	struct mpf_rss rss_first, rss_last;
	uint64_t rss_peak;	/* the highest VmHWM sampled */
};

/* The live totals of each event type (the RSS sum for MPF_EV_RSS) at a time. */
struct model_point {
	uint64_t time;
	uint64_t live[MPF_EV__MAX];
};

struct model;

/* page_size: from the trace header, the unit of page orders. */
struct model *model__new(uint32_t page_size);
void model__delete(struct model *m);
/* Applies one record.  0 or -ENOMEM; records that make no sense are ignored. */
int model__add(struct model *m, const struct mpf_record *rec);

const struct model_stats *model__stats(const struct model *m);

/*
 * The stack table's budget, in bytes: MODEL_STACK_BUDGET_BASE plus
 * MODEL_STACK_BUDGET_PER_BYTE times the size of the trace in the file.  A
 * node of the stack tree is charged 18 bytes (it takes 2 to 4, and a head
 * 8 more: model/internal.h), a frame 21, an id the model keeps in a hash
 * map 48.  An honest trace needs less, though its nodes compress well: one
 * of 10.5 million distinct stacks of depth 24 (bench/report-scale.sh) is
 * charged 29 bytes per byte of its 78 MB, and takes 11.  A hostile one, a
 * stack repeated with small changes, compresses to nothing: past the budget
 * its stacks are not kept (stacks_dropped) and the events that use them have
 * none.
 */
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MODEL_STACK_BUDGET_BASE (32ull << 20)
#else
/* Fuzzing builds (tests/fuzz/): small inputs reach the bound too. */
#define MODEL_STACK_BUDGET_BASE (1ull << 20)
#endif
#define MODEL_STACK_BUDGET_PER_BYTE 64
/* Sets the budget for a trace of bytes in the file; before the first record. */
void model__set_trace_size(struct model *m, uint64_t bytes);
/*
 * Events of counter c (an event type, or MPF_LOST_PROC) lost while recording:
 * END's total, or the sum of the LOST records read when larger (a trace cut
 * before its END has only those).
 */
uint64_t model__lost(const struct model *m, unsigned int c);
/*
 * The mean bytes between the heap's samples (record --heap-sample), 0 when
 * every call was recorded: then the heap figures are estimates, each sampled
 * allocation of s bytes counted as s / (1 - exp(-s / interval)) bytes.
 */
uint64_t model__heap_sample(const struct model *m);
const struct model_peak *model__peak(const struct model *m, unsigned int ev);
/*
 * From the record after the first record records given to model__add on,
 * the events of type ev are not applied (nor counted): a second model fed
 * the same records with the first one's peak record stops at its peak.
 */
void model__stop_after(struct model *m, unsigned int ev, uint64_t records);

/*
 * Which events the model applies (report --pid, --comm, --time).  An
 * allocation is applied when its process is one of pids (all when npids is
 * 0) and is named comm as of the event (any when NULL); a free whatever its
 * process, as it can only free what was applied.  With has_time, an event
 * timed outside [time_start, time_end] (the records' clock) is not applied
 * at all.  The arrays are the caller's and must outlive the model.
 */
struct model_filter {
	const uint32_t *pids;
	size_t npids;
	const uint32_t *tids;		/* the same for threads (report --tid) */
	size_t ntids;
	const char *const *comms;	/* any of these names */
	size_t ncomms;
	bool has_time;
	uint64_t time_start, time_end;
	/* Allocations of fewer than min_size or more than max_size bytes (0: no bound) are not. */
	uint64_t min_size, max_size;
};
/*
 * What the filter let through: the allocations (and RSS samples) it judged
 * and applied; a filter that let none through matched nothing in the trace.
 */
struct model_filtered {
	uint64_t events;
};
const struct model_filtered *model__filtered(const struct model *m);
void model__set_filter(struct model *m, const struct model_filter *f);
/*
 * A site reduced to what one view of it needs: its image, stack, kernel bit
 * and one value.
 */
struct model_site_value {
	uint32_t image;		/* with MODEL_SITE_KERNEL set for a site of kernel pages */
	uint32_t stack;
	uint64_t value;
};
#define MODEL_SITE_KERNEL 0x80000000u
/* What keep says of a site: false to drop it, else true and its value in *value. */
typedef bool (*model_site_keep_fn)(void *ctx, const struct model_site *site, uint64_t *value);
/*
 * Hands over the sites of type ev as keep reduces them, in their order, into
 * *out (the caller's to free) and *n, and frees what the model kept of them,
 * in place, so that a command reading them once has their memory back (a
 * trace of millions of sites holds hundreds of megabytes of counts).  The
 * model has no sites of ev after it and must take no more records.  0 or
 * -ENOMEM (the sites are then gone too).
 */
int model__take_sites(struct model *m, unsigned int ev, model_site_keep_fn keep, void *ctx,
		      struct model_site_value **out, size_t *n);
size_t model__nr_sites(const struct model *m, unsigned int ev);
/* Whether site i of type ev has live blocks or bytes, without making its struct model_site. */
bool model__site_has_live(const struct model *m, unsigned int ev, size_t i);
/* The first site of type ev from i on that has live blocks or bytes; model__nr_sites() if none. */
size_t model__next_live_site(const struct model *m, unsigned int ev, size_t i);
/* Site i of type ev, into *buf (the model keeps sites smaller); NULL past the last. */
const struct model_site *model__site(const struct model *m, unsigned int ev, size_t i,
				     struct model_site *buf);

uint32_t model__pid(const struct model *m, uint32_t image);
size_t model__nr_images(const struct model *m);
const struct model_proc *model__proc(const struct model *m, uint32_t image);
/*
 * The live totals over time: a point each time the records' clock passed a
 * step, the step doubled whenever the points reach a few thousand, and one
 * at the last record.  Sorted by time.
 */
const struct model_point *model__timeline(struct model *m, size_t *n);
/*
 * One image's own live totals over time (its sites' bytes; for MPF_EV_RSS its
 * own resident set, also while a forked copy that the total leaves out): a
 * point at each step it changed, 0 before its first.  Sorted by time.
 */
const struct model_point *model__image_timeline(struct model *m, uint32_t image, size_t *n);
/* The image's name: its main thread's latest COMM, or what it exec'd; NULL when unknown. */
const char *model__comm(const struct model *m, uint32_t image);
/* A thread's own latest name (COMM records by tid); NULL when the trace gave none. */
const char *model__thread_comm(const struct model *m, uint32_t tid);
/* The sizes of the allocations of type ev applied (after the filters). */
const struct model_histogram *model__histogram(const struct model *m, unsigned int ev);
/* The INFO records of the trace, in order. */
const struct model_info *model__info(const struct model *m, size_t *n);
/* The value of the first INFO record named key, NULL when none. */
const char *model__info_get(const struct model *m, const char *key);
/* The time of the last record of the trace (the END record's, when it has one). */
uint64_t model__last_time(const struct model *m);

void model__stack(const struct model *m, uint32_t stack, struct model_stack *out);
/* The tree: its nodes, the roots included (indices 0 .. n - 1, parents first). */
size_t model__nr_stacks(const struct model *m);
/* A node's parent, and its frame (a root: itself, and MODEL_FRAME_NONE). */
uint32_t model__stack_parent(const struct model *m, uint32_t stack);
#define MODEL_FRAME_NONE UINT32_MAX
uint32_t model__stack_frame(const struct model *m, uint32_t stack);
/* The frames of the node's stack, 0 for a root; at most MPF_STACK_MAX. */
unsigned int model__stack_depth(const struct model *m, uint32_t stack);
/* The root above the node: MODEL_STACK_EMPTY or MODEL_STACK_TRUNCATED. */
uint32_t model__stack_root(const struct model *m, uint32_t stack);
/*
 * The frames of the node's stack, innermost first, into frames (at most max,
 * MPF_STACK_MAX for all), and its root into *root: one walk, where
 * model__stack_frame() and model__stack_parent() take a call a node.  An
 * index past the nodes is one unknown frame (MODEL_FRAME_NONE) below
 * MODEL_STACK_EMPTY, as those two say.
 */
size_t model__stack_frames(const struct model *m, uint32_t stack, uint32_t *frames, size_t max,
			   uint32_t *root);
/*
 * Frames: each distinct address of code the stacks hold, with whether it is
 * an exact pc or a return address, once (indices 0 .. n - 1).
 */
size_t model__nr_frames(const struct model *m);
uint64_t model__frame_ip(const struct model *m, uint32_t frame, bool *exact);
/*
 * The stack as image ran it: cut, and marked truncated, at the first address
 * outside every executable mapping of image (a stack word or argv bytes a
 * walk took for a return address, the uprobe trampoline).
 */
void model__image_stack(struct model *m, uint32_t image, uint32_t stack, struct model_stack *out);
/*
 * The same one frame at a time: whether image's mappings say where its code
 * is (not in a trace of format 1.0, say), and whether a frame (an exact pc
 * or a return address) is in its code.
 */
bool model__image_checks_code(struct model *m, uint32_t image);
bool model__frame_in_code(struct model *m, uint32_t image, uint64_t ip, bool exact);

size_t model__nr_files(const struct model *m);
const struct model_file *model__file_at(const struct model *m, size_t index);
/* By FILE record id; NULL when the trace never defined it. */
const struct model_file *model__file(const struct model *m, uint32_t id);

/*
 * The mapping holding addr in image, or NULL (errno ENOMEM when building the
 * image's map index failed, E2BIG when the trace asked for more map entries
 * than the model builds, 0 when addr is unmapped).  A forked image sees its
 * parent's mappings as they were at the fork, under its own.
 */
const struct model_map *model__find_map(struct model *m, uint32_t image, uint64_t addr);
/* All of an image's mappings, sorted, its parent's included: 0 or -errno. */
int model__maps(struct model *m, uint32_t image, const struct model_map **maps, size_t *n);

/*
 * Turns a USTACK record (record -g dwarf) into frames, in the image of the
 * event that uses it; without one, such stacks are empty.  Returns the
 * number of frames written to ips, and in *truncated whether the unwinding
 * stopped before the outermost frame (the copy or the CFI ran out).
 */
typedef int (*model_unwind_fn)(void *ctx, uint32_t image, const struct mpf_ustack *u,
			       uint64_t *ips, uint32_t max, bool *truncated);
void model__set_unwinder(struct model *m, model_unwind_fn fn, void *ctx);

/*
 * For the commands that list events one by one (script): fn is called for
 * every event record model__add applies, ignored ones included, with the
 * process image it happened in as of that record (MODEL_IMAGE_NONE for a
 * pid the trace never showed) and the model stack of its stack id as of
 * that record (MODEL_STACK_EMPTY when it has none).  A stack id means the
 * stack last defined under it, so only this hook can tell it after the
 * trace is read.  Its error (-ENOMEM) is model__add's.
 */
typedef int (*model_event_fn)(void *ctx, const struct mpf_record *rec, uint32_t image,
			      uint32_t stack);
void model__set_event_hook(struct model *m, model_event_fn fn, void *ctx);
/*
 * For the commands that name events rather than sum them (script): heap
 * events make their process image and find their stack, as in any model,
 * but no site, live block or count, which such a command never reads; the
 * model's memory is then its stacks, not its stacks and its sites.  Call
 * before the first record.
 */
void model__set_stacks_only(struct model *m);
/*
 * Which of struct model_site's counts the sites keep, for the commands that
 * know which views they will build; set before the first record.  Those not
 * kept read 0.
 */
enum model_site_counts {
	MODEL_COUNTS_ALL,	/* all of them (the default): 48 bytes a site */
	/* No temporary allocations, no site's own peak (tmp_, peak_): 32 bytes */
	MODEL_COUNTS_BASIC,
	/*
	 * Heap sites count nothing as the records come (16 bytes a site; the
	 * others' as MODEL_COUNTS_BASIC): what is live at each, its live_bytes
	 * and live_nr, is summed from the blocks still live by
	 * model__count_live_sites(), after the last record.
	 */
	MODEL_COUNTS_LIVE,
};
void model__set_site_counts(struct model *m, enum model_site_counts counts);
/* MODEL_COUNTS_LIVE: the heap sites' live counts, as the blocks live now say.  0 or -ENOMEM. */
int model__count_live_sites(struct model *m);
/* Where an event record keeps its stack id; NULL for a record without one. */
uint32_t *model__record_stack_id(const struct mpf_record *rec);
/*
 * The process a record names (the one it happened in, the new one of a
 * FORK), and the stack id it carries (0: none); false for records that are
 * about no process, for which the event hook is not called.
 */
bool model__record_pid(const struct mpf_record *rec, uint32_t *pid, uint32_t *stack_id);
/*
 * The model stack of stack id `id` in image img as the model has it now
 * (MODEL_STACK_EMPTY for id 0 or one never defined), unwinding a pending
 * USTACK of that id there.  After the whole trace
 * was read, that is the stack the id named at each of its events in a trace
 * whose writer never redefines ids (MPF_MINOR_STACK_TREE and later).
 */
uint32_t model__stack_of(struct model *m, uint32_t img, uint32_t id);
/*
 * The stage for mpf_reader__set_stage(r, model__stage, m): the stack table
 * built in the reader's staging thread, ahead of model__add().  Nothing may
 * read the model from another thread until the reader is closed.
 */
void model__stage(void *m, struct mpf_record *rec);

#endif
