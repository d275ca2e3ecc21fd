/*
 * mpf: the memprof trace file format library (writer, reader, records).
 *
 * A trace is a fixed header followed by independently compressed chunks of
 * records (Documentation/memprof-trace-format.txt is the specification).
 * Records are handed to and returned by this library in the decoded form
 * below; the on-disk encoding (varints, deltas, zstd) is private to format/.
 *
 * This library depends on libc, zlib and zstd only, so that report builds and
 * runs where BPF does not exist.  It never prints: functions return 0 or a
 * negative errno (pointers: NULL with errno set).
 */
#ifndef MEMPROF_FORMAT_MPF_H
#define MEMPROF_FORMAT_MPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPF_MAGIC		"MEMPROF\0"	/* 8 bytes, at offset 0 */
#define MPF_VERSION_MAJOR	1	/* a reader refuses a newer major */
/*
 * Call stacks as a tree of frames, FRAME and STACK_NODE records in place of
 * STACK, whose ids are never redefined: the first minor written so.
 */
#define MPF_MINOR_STACK_TREE	5
#define MPF_VERSION_MINOR	MPF_MINOR_STACK_TREE	/* newer minors only add record types
					   and fields (1: USTACK; 2: cache, mmap, rss events,
					   exec args; 3: lost process events; 4: RSS's vm;
					   then MPF_MINOR_STACK_TREE) */

#define MPF_COMM_LEN		16
#define MPF_BUILD_ID_MAX	64
#define MPF_STACK_MAX		512	/* frames in one stack, and in one FRAME or STACK_NODE record */
#define MPF_PATH_MAX		4096

/* Event types: what record -e selects and what lost counters are kept for. */
enum mpf_event_type {
	MPF_EV_PAGE = 0,	/* physical pages (mm_page_alloc / mm_page_free) */
	MPF_EV_HEAP = 1,	/* malloc and friends, free */
	MPF_EV_CACHE = 2,	/* page cache pages added and deleted (1.2) */
	MPF_EV_MMAP = 3,	/* mmap, munmap, mremap, brk calls (1.2) */
	MPF_EV_RSS = 4,		/* resident set size samples (1.2) */
	MPF_EV__MAX,
};

/*
 * What LOST records and END's counters count: the event types, and (since
 * 1.3) the process events, which are always recorded and no event type of
 * -e: forks, execs, exits, renames and the mappings of executable files.  A
 * process whose EXIT was lost looks alive to the end of the trace.
 */
#define MPF_LOST_PROC		MPF_EV__MAX
#define MPF_LOST__MAX		(MPF_EV__MAX + 1)

enum mpf_rec_type {
	MPF_REC_INFO = 1,	/* key = value strings about the recording */
	MPF_REC_COMM,		/* a task's name */
	MPF_REC_FORK,		/* a new process */
	MPF_REC_EXEC,		/* a process exec'd */
	MPF_REC_EXIT,		/* a process exited (whole thread group) */
	MPF_REC_FILE,		/* an ELF file: id, build-id, path */
	MPF_REC_MAP,		/* a mapping of a file in a process */
	MPF_REC_STACK,		/* a user call stack, referenced by id (written until 1.3) */
	MPF_REC_PAGE_ALLOC,
	MPF_REC_PAGE_FREE,
	MPF_REC_HEAP_ALLOC,
	MPF_REC_HEAP_FREE,
	MPF_REC_HEAP_REALLOC,
	MPF_REC_LOST,		/* events dropped by the kernel side */
	MPF_REC_END,		/* last record of a complete trace */
	MPF_REC_USTACK,		/* 1.1: registers and a stack copy, unwound by report */
	MPF_REC_CACHE_ADD,	/* 1.2: pages added to the page cache */
	MPF_REC_CACHE_DEL,	/* 1.2: pages deleted from the page cache */
	MPF_REC_VM,		/* 1.2: an mmap, munmap, mremap or brk call */
	MPF_REC_RSS,		/* 1.2: a process's resident set, sampled */
	MPF_REC_FRAME,		/* 1.4: code addresses stack nodes refer to, by id */
	MPF_REC_STACK_NODE,	/* 1.4: call stacks as a tree: nodes of a parent and a frame */
	MPF_REC__MAX,
};

/* Heap allocation functions (mpf_heap_alloc.func). */
enum mpf_heap_func {
	MPF_HEAP_MALLOC = 0,
	MPF_HEAP_CALLOC,
	MPF_HEAP_REALLOC,
	MPF_HEAP_POSIX_MEMALIGN,
	MPF_HEAP_ALIGNED_ALLOC,
	MPF_HEAP_MEMALIGN,
	MPF_HEAP_VALLOC,
	MPF_HEAP_FREE,
	MPF_HEAP__MAX,
};

/* mpf_stack.flags */
#define MPF_STACK_FIRST_IS_IP	0x1	/* ips[0] is an exact pc, not a return address */
#define MPF_STACK_TRUNCATED	0x2	/* the unwinder stopped before the outermost frame */

/* mpf_frame.flags */
#define MPF_FRAME_EXACT		0x1	/* an exact pc, not a return address */

/* mpf_page_free.flags */
#define MPF_PAGE_FREE_EXITING	0x1	/* by the freeing process unmapping its memory as it exits */
#define MPF_PAGE_FREE_TO_CACHE	0x2	/* not freed: added to the page cache (recorded without -e cache) */

/* mpf_map.prot */
#define MPF_PROT_READ		0x1
#define MPF_PROT_WRITE		0x2
#define MPF_PROT_EXEC		0x4

/*
 * Every record has a time: nanoseconds of CLOCK_MONOTONIC (bpf_ktime_get_ns),
 * absolute.  pid is the process (thread group) id, tid the thread id.
 * Strings and arrays in a record returned by the reader point into the
 * reader's buffers and stay valid until the next mpf_reader__next() or
 * mpf_reader__read() call.
 */
struct mpf_info {
	const char *key;	/* "hostname", "release", "cmdline", ... */
	const char *value;
};

/*
 * How the recorder's stack walks ended: the INFO "stacks" holds
 * "complete=N no-table=N depth=N unreadable=N bad-cfi=N", by these names.
 */
#define MPF_INFO_STACKS	"stacks"
/*
 * The INFO "heap-children" (record -p, heap probes placed per process): the
 * targets' children whose heap calls were not recorded, because they were
 * gone before their probes were placed ("missed"), or recorded only from
 * some time after their fork ("late", at most "delay-ms" after it), and per
 * parent (the MPF_HEAP_PARENTS with the most):
 * "missed=N late=N delay-ms=N parents=PID:MISSED:LATE,PID:MISSED:LATE".
 */
#define MPF_INFO_HEAP_CHILDREN	"heap-children"
#define MPF_HEAP_PARENTS	8
struct mpf_heap_children {
	uint64_t missed, late, delay_ms;
	unsigned int nparents;
	struct {
		uint32_t pid;
		uint64_t missed, late;
	} parents[MPF_HEAP_PARENTS];
};
/* Its value, in buf; and back (false: not one). */
void mpf_heap_children_format(const struct mpf_heap_children *c, char *buf, size_t size);
bool mpf_heap_children_parse(const char *v, struct mpf_heap_children *c);
/* What they mean, in a sentence with the remedy, for record's summary and report's warning. */
void mpf_heap_children_describe(const struct mpf_heap_children *c, char *buf, size_t size);
/*
 * The INFO "heap-sample" holds, when the heap was sampled (record
 * --heap-sample), the mean bytes between samples: each heap allocation in the
 * trace stands for size / (1 - exp(-size / interval)) bytes.
 */
#define MPF_INFO_HEAP_SAMPLE	"heap-sample"
enum mpf_unwind {
	MPF_UNWIND_COMPLETE,	/* at the outermost frame */
	MPF_UNWIND_NO_TABLE,	/* in code without call frame information, past what frame pointers gave */
	MPF_UNWIND_DEPTH,	/* at the depth limit */
	MPF_UNWIND_UNREADABLE,	/* at stack memory it could not read */
	MPF_UNWIND_BAD,		/* at call frame information that led nowhere */
	MPF_UNWIND__MAX
};

struct mpf_comm {
	uint32_t pid, tid;
	char comm[MPF_COMM_LEN];	/* NUL-terminated */
};

struct mpf_fork {
	uint32_t ppid;		/* parent process */
	uint32_t pid;		/* the new process */
};

struct mpf_exec {
	uint32_t pid;
	const char *filename;
	const char *args;	/* 1.2: argv, each NUL-terminated, args_len bytes in all */
	uint32_t args_len;	/* 0: not known */
};

struct mpf_exit {
	uint32_t pid;
	int32_t status;		/* as wait(2) reports it */
};

struct mpf_file {
	uint32_t id;		/* > 0; 0 means "no file" in mpf_map */
	uint32_t build_id_len;	/* 0 when the file has none */
	uint8_t build_id[MPF_BUILD_ID_MAX];
	const char *path;	/* as the target saw it */
};

struct mpf_map {
	uint32_t pid;
	uint32_t file_id;	/* mpf_file.id, 0 for none */
	uint32_t prot;		/* MPF_PROT_* */
	uint64_t start, end;	/* [start, end) in the process */
	uint64_t pgoff;		/* file offset of start, in bytes */
};

/* A whole stack (format 1.0 to 1.3; 1.4 writes STACK_NODE records). */
struct mpf_stack {
	uint32_t id;		/* > 0, assigned by the writer */
	uint32_t flags;		/* MPF_STACK_* */
	uint32_t nr;		/* frames, innermost first */
	const uint64_t *ips;
};

/*
 * Frames id, id + 1, ... id + nr - 1 (1.4): code addresses, all of the same
 * kind, which stack nodes name by id.  Frame ids are a space of their own.
 */
struct mpf_frame {
	uint32_t id;		/* > 0, assigned by the writer */
	uint32_t flags;		/* MPF_FRAME_* of every frame of the record */
	uint32_t nr;		/* 1 .. MPF_STACK_MAX */
	const uint64_t *ips;
};

/*
 * Stack nodes id, id + 1, ... id + nr - 1 (1.4), a call stack each: node k
 * is frame frames[k] called from the stack of its parent, which for k > 0 is
 * node id + k - 1 and for the first is `parent` (0: none, frames[0] is the
 * outermost frame).  Their ids are those of the stack id space, which events
 * name: a stack is its innermost node.
 */
struct mpf_stack_node {
	uint32_t id;		/* > 0, assigned by the writer */
	uint32_t parent;	/* a stack id, or 0 */
	uint32_t flags;		/* with parent 0, MPF_STACK_TRUNCATED: the walk stopped short */
	uint32_t nr;		/* 1 .. MPF_STACK_MAX */
	const uint32_t *frames;	/* frame ids, outermost first */
};

struct mpf_page_alloc {
	uint32_t pid, tid;
	uint32_t order;		/* 2^order pages */
	uint32_t gfp;		/* gfp flags */
	uint64_t page;		/* page id: struct page address / sizeof(struct page) */
	uint32_t stack_id;	/* 0 when no stack was taken */
};

/*
 * A free of 2^order pages from `page`, some of which the targets own.  The
 * allocation each page belongs to is found by page id (a free may cover part
 * of an allocation, or pages of several).
 */
struct mpf_page_free {
	uint32_t pid;		/* the freeing process (not necessarily the owner) */
	uint32_t order;		/* order freed (may be less than allocated) */
	uint32_t flags;		/* MPF_PAGE_FREE_* */
	uint64_t page;		/* first page id freed */
	uint64_t head;		/* = page in this version; kept for the format */
};

struct mpf_heap_alloc {
	uint32_t pid, tid;
	uint32_t func;		/* enum mpf_heap_func */
	uint32_t stack_id;
	uint64_t ptr;
	uint64_t size;		/* bytes requested */
};

struct mpf_heap_free {
	uint32_t pid, tid;
	uint64_t ptr;
};

struct mpf_heap_realloc {
	uint32_t pid, tid;
	uint32_t stack_id;
	uint64_t old_ptr;	/* 0: acted as malloc */
	uint64_t ptr;		/* 0: failed, or size 0 freed old_ptr */
	uint64_t size;
};

#define MPF_USTACK_REGS		17	/* x86-64 DWARF registers 0..16: rax .. r15, rip */
#define MPF_USTACK_MAX		65536	/* bytes of stack copy in one record */

/*
 * A user stack to unwind (record -g dwarf): the registers at the event, in
 * DWARF numbering, and a copy of the stack from the stack pointer up.  Its id
 * is from the same space as mpf_stack's: events refer to either.
 */
struct mpf_ustack {
	uint32_t id;
	uint32_t flags;		/* MPF_STACK_FIRST_IS_IP as for mpf_stack */
	uint64_t regs[MPF_USTACK_REGS];
	uint32_t size;
	const uint8_t *data;
};

/*
 * Pages added to the page cache by the target (a read, a write, a fault of a
 * mapped file, readahead), as one folio of 2^order pages from page id page:
 * page index `index` of the file (dev, ino).  A page the target allocated
 * and then added is cache from then on, not a page of its own.
 */
struct mpf_cache_add {
	uint32_t pid, tid;
	uint32_t order;
	uint32_t stack_id;
	uint64_t page;
	uint64_t ino;
	uint32_t dev;		/* the kernel's dev_t: major << 20 | minor */
	uint64_t index;		/* in pages */
};

/* Pages deleted from the page cache (eviction, truncation), some the targets added. */
struct mpf_cache_del {
	uint32_t pid;		/* the deleting task's process (kswapd's, for reclaim) */
	uint32_t order;
	uint64_t page;
};

enum mpf_vm_call {
	MPF_VM_MMAP = 0,
	MPF_VM_MUNMAP,
	MPF_VM_MREMAP,
	MPF_VM_BRK,
	MPF_VM__MAX,
};

/*
 * A successful address space call.  mmap: [addr, addr + len) mapped with
 * prot and flags (mmap(2)'s).  munmap: [addr, addr + len) unmapped.
 * mremap: [old_addr, old_addr + old_len) moved or resized to [addr, addr +
 * len), flags mremap(2)'s.  brk: the break moved from old_addr to addr (len
 * and old_len 0).  Lengths are in bytes, rounded up to pages.
 */
struct mpf_vm {
	uint32_t pid, tid;
	uint32_t call;		/* enum mpf_vm_call */
	uint32_t stack_id;
	uint32_t prot, flags;
	uint64_t addr, len;
	uint64_t old_addr, old_len;
};

/* A process's resident memory as /proc/PID/status gave it, in bytes. */
struct mpf_rss {
	uint32_t pid;
	uint64_t anon;		/* RssAnon */
	uint64_t file;		/* RssFile */
	uint64_t shmem;		/* RssShmem */
	uint64_t hwm;		/* VmHWM: the peak of anon + file + shmem so far */
	uint64_t vm;		/* 1.4: VmSize, the address space's size; 0: not known */
};

struct mpf_lost {
	uint32_t event;		/* enum mpf_event_type, or MPF_LOST_PROC */
	uint64_t count;
};

struct mpf_end {
	uint64_t events[MPF_LOST__MAX];	/* events written per type, then process events seen */
	uint64_t lost[MPF_LOST__MAX];	/* events lost per type, then process events lost */
};

struct mpf_record {
	uint32_t type;		/* enum mpf_rec_type */
	/*
	 * Set by a stage (mpf_reader__set_stage()) that took the record's part
	 * in the thread that read it ahead; 0 otherwise.  The stage's own but
	 * for MPF_STAGE_CONSUMED.
	 */
	uint32_t staged;
	uint64_t time;
	union {
		struct mpf_info info;
		struct mpf_comm comm;
		struct mpf_fork fork;
		struct mpf_exec exec;
		struct mpf_exit exit;
		struct mpf_file file;
		struct mpf_map map;
		struct mpf_stack stack;
		struct mpf_page_alloc page_alloc;
		struct mpf_page_free page_free;
		struct mpf_heap_alloc heap_alloc;
		struct mpf_heap_free heap_free;
		struct mpf_heap_realloc heap_realloc;
		struct mpf_lost lost;
		struct mpf_end end;
		struct mpf_ustack ustack;
		struct mpf_cache_add cache_add;
		struct mpf_cache_del cache_del;
		struct mpf_vm vm;
		struct mpf_rss rss;
		struct mpf_frame frame;
		struct mpf_stack_node stack_node;
	};
};

/* The fixed file header, as decoded. */
struct mpf_header {
	uint16_t version_major, version_minor;
	uint32_t page_size;
	uint64_t start_time;	/* CLOCK_MONOTONIC ns when recording began */
	uint64_t start_realtime;	/* CLOCK_REALTIME ns at the same moment */
	uint32_t events;	/* bitmask of 1 << enum mpf_event_type recorded */
};

/* ---- writer ---- */

struct mpf_writer_opts {
	size_t chunk_size;	/* uncompressed bytes per chunk; 0: 1 MiB */
	int level;		/* zstd level; 0: 3 */
	/*
	 * Stack nodes and frames remembered (0: 1M and 256K): past half of
	 * that, the older half is forgotten, and a stack made of forgotten
	 * nodes is written again when it recurs.
	 */
	size_t max_stacks;
	size_t max_frames;
	/*
	 * > 0: a second file that gets every byte as well (a live view reads
	 * the stream while the trace goes to a file); the writer owns it.
	 * 0 or -1: none.
	 */
	int tee_fd;
};

struct mpf_writer_stats {
	uint64_t records[MPF_REC__MAX];	/* accepted: written, buffered, or lost with a chunk */
	/*
	 * In the file: records of chunks written whole.  After a write error
	 * (a full disk) the rest never reaches it: the records of the chunk
	 * that failed and those given after are counted as unwritten.
	 */
	uint64_t written[MPF_REC__MAX];
	uint64_t unwritten[MPF_REC__MAX];
	uint64_t raw_bytes;	/* encoded, before compression */
	uint64_t raw_written;	/* the same, of the chunks written whole */
	uint64_t file_bytes;	/* written to the file in whole chunks, header included */
	uint64_t chunks;
};

struct mpf_writer;

/* Creates (truncates) path and writes the header.  NULL with errno set on failure. */
struct mpf_writer *mpf_writer__open(const char *path, const struct mpf_header *hdr,
				    const struct mpf_writer_opts *opts);
/*
 * The same on a file the caller opened for writing (record opens its output
 * with its own checks).  The writer owns fd from then on, and closes it on
 * failure too.
 */
struct mpf_writer *mpf_writer__fdopen(int fd, const struct mpf_header *hdr,
				      const struct mpf_writer_opts *opts);
/* Appends a record; compresses and writes a chunk when the buffer is full. */
int mpf_writer__write(struct mpf_writer *w, const struct mpf_record *rec);
/*
 * Interns a stack: returns its id in *id.  Stacks are written as a tree
 * (FRAME and STACK_NODE records, at time): a stack whose outer frames were
 * seen before costs a node for each frame below them, and a stack seen
 * before costs nothing.  nr == 0 gives id 0.
 */
int mpf_writer__stack(struct mpf_writer *w, uint64_t time, uint32_t flags, const uint64_t *ips,
		      uint32_t nr, uint32_t *id);
/*
 * Writes a USTACK record (at time) and returns its id, from the stacks' id
 * space, in *id.  Stack copies are not interned: they rarely repeat exactly.
 */
int mpf_writer__ustack(struct mpf_writer *w, uint64_t time, uint32_t flags, const uint64_t *regs,
		       const uint8_t *data, uint32_t size, uint32_t *id);
/* Compresses and writes what is buffered as a chunk (no-op when empty). */
int mpf_writer__flush(struct mpf_writer *w);
void mpf_writer__stats(const struct mpf_writer *w, struct mpf_writer_stats *st);
/*
 * Flushes, fsyncs and closes; frees w in every case.  The caller writes the END
 * record before, when the recording completed.
 */
int mpf_writer__close(struct mpf_writer *w);

/* ---- reader ---- */

struct mpf_reader;

/*
 * Opens and checks the header.  On failure returns NULL and sets *err to a
 * negative errno: -ENOENT etc. from open, -EBADMSG not a memprof trace (bad
 * magic, short header), -EPROTONOSUPPORT newer major version.
 */
struct mpf_reader *mpf_reader__open(const char *path, int *err);
/*
 * The same, telling refusals apart for a precise message: -ENOMSG not a
 * memprof trace (shorter than a header, another magic), -EBADMSG a trace
 * whose header is damaged (CRC, byte order, sizes, major 0), and with
 * -EPROTONOSUPPORT the version the file claims in found's version_major and
 * version_minor (found may be NULL).
 */
struct mpf_reader *mpf_reader__open_detailed(const char *path, int *err,
					     struct mpf_header *found);
/*
 * The same on a file the caller opened (standard input: a trace streamed by
 * `record -o -`), which the reader owns from then on and closes on failure
 * too.  A pipe is read as it is written: mpf_reader__next() waits for the
 * next chunk, and a stream that stops between chunks without END ends as a
 * cut trace does.
 */
struct mpf_reader *mpf_reader__fdopen(int fd, int *err, struct mpf_header *found);
/*
 * Reads no further than the first size bytes of the file, as if it ended
 * there: the trace at the start of an archive (format/archive.h).  Before
 * the first mpf_reader__next().
 */
void mpf_reader__set_limit(struct mpf_reader *r, uint64_t size);
/*
 * A stage of the reading: fn(ctx, rec) is called for records in their order,
 * in a thread of the reader's (reading a regular file, it decodes chunks
 * ahead in one thread and stages them in another), before they are
 * returned, and may change them (mark them in rec->staged).  It is called
 * from the first record on, for a prefix of the trace only: where the
 * reader stops decoding ahead (a chunk too large for its buffer, an unsound
 * record, a stream, no thread) it is never called again, so that what fn
 * keeps is fn's alone while it is called and the caller's once it is not.
 * Nothing the caller reads may change meanwhile: a model builds its stack
 * table there (model__stage()).  Before the first mpf_reader__next() or
 * mpf_reader__read().
 * A record the stage marks MPF_STAGE_CONSUMED in rec->staged is returned
 * with its type, time and staged only.
 */
#define MPF_STAGE_CONSUMED 0x80000000u
typedef void (*mpf_stage_fn)(void *ctx, struct mpf_record *rec);
void mpf_reader__set_stage(struct mpf_reader *r, mpf_stage_fn fn, void *ctx);
const struct mpf_header *mpf_reader__header(const struct mpf_reader *r);
/*
 * Decodes the next record into *rec.  Returns 1 for a record, 0 at the end of
 * the sound data (a cut or corrupt chunk or record ends it too: everything
 * before it has been returned), or a negative errno (-EIO, -ENOMEM).  After 0
 * or an error, mpf_reader__status() says why it stopped.
 */
int mpf_reader__next(struct mpf_reader *r, struct mpf_record *rec);
/*
 * The same, the record in place in the reader's buffers, not copied: only
 * its header and its type's own fields may be read (its header alone, when
 * the stage consumed it), until the next call.
 */
int mpf_reader__read(struct mpf_reader *r, const struct mpf_record **rec);

struct mpf_reader_status {
	uint64_t chunks;	/* chunks read and decoded */
	bool complete;		/* the END record was read */
	bool truncated;		/* the file ends inside a chunk or has no END */
	bool corrupt;		/* a chunk failed its checksum or did not decode */
	uint64_t bad_offset;	/* file offset of the first unsound chunk */
};
void mpf_reader__status(const struct mpf_reader *r, struct mpf_reader_status *st);
void mpf_reader__close(struct mpf_reader *r);

/* ---- names ---- */
const char *mpf_event_name(unsigned int ev);	/* "page", "heap", ...; NULL if unknown */
/* A LOST counter's name: an event type's, or "process" for MPF_LOST_PROC; NULL if unknown. */
const char *mpf_lost_name(unsigned int lost);
int mpf_event_parse(const char *name);		/* -EINVAL if unknown */
const char *mpf_heap_func_name(unsigned int func);	/* "malloc", ... */
const char *mpf_rec_name(unsigned int type);
const char *mpf_vm_call_name(unsigned int call);	/* "mmap", "munmap", "mremap", "brk" */
const char *mpf_unwind_name(unsigned int end);	/* "complete", "no-table", ... */
/* Why walks stopped short, by cause, for people: "3 in code without call frame information, ..." */
void mpf_unwind_causes(const uint64_t ends[MPF_UNWIND__MAX], char *buf, size_t size);

#endif
