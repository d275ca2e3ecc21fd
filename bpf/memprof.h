/*
 * The events memprof's BPF programs send to user space through the ring
 * buffer, shared by bpf/memprof.bpf.c and record/.  Fixed-width types and
 * explicit padding only: both compilers must lay these out identically.
 * These are transport structs; the trace file's records live in format/.
 */
#ifndef MEMPROF_BPF_MEMPROF_H
#define MEMPROF_BPF_MEMPROF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>	/* user space; BPF gets the types from vmlinux.h */
#endif

#define MP_STACK_DEPTH		127	/* the kernel's default perf_event_max_stack */
#define MP_DWARF_MAX		32768	/* -g dwarf,SIZE: the largest stack copy */
#define MP_NR_REGS		17	/* x86-64 DWARF registers 0..16: rax .. r15, rip */
#define MP_SAMPLE_DRAWS		4096	/* --heap-sample: the exponential gaps drawn from */

/* How user stacks are taken (the `stack_mode` tunable). */
enum mp_stack_mode {
	MP_STACK_NONE = 0,
	MP_STACK_FP = 1,	/* frame-pointer walk in the kernel: ips follow the body */
	MP_STACK_DWARF = 2,	/* registers and a stack copy follow: struct mp_ustack */
	MP_STACK_CFI = 3,	/* unwound in the kernel with record's CFI tables: ips follow */
};

/*
 * -g cfi: the call frame information of each ELF file, compiled by record
 * (record/cfi.c) into rows the kernel side looks up by address.  A row says,
 * from its pc until the next row's, how to find the canonical frame address
 * (CFA) and where the caller's rbp is; the return address is at CFA - 8.
 */
enum mp_cfi_kind {
	MP_CFI_RSP = 0,		/* CFA = rsp + 8 * cfa */
	MP_CFI_RBP,		/* CFA = rbp + 8 * cfa */
	MP_CFI_PLT11,		/* .plt: CFA = rsp + 8 + ((pc & 15) >= 11) * 8 */
	MP_CFI_PLT10,		/* the same with 10 (.plt.sec) */
	MP_CFI_SIGNAL,		/* a signal frame: the interrupted registers in its sigcontext */
	MP_CFI_STOP,		/* the return address is undefined: the outermost frame */
	MP_CFI_NONE,		/* no CFI here: the frame-pointer rule */
	MP_CFI_INVALID,		/* CFI this table cannot express: the walk stops */
	MP_CFI_DEREF_RSP,	/* CFA = *(rsp + 8 * (s16)cfa) + 8 * aux (stack realignment) */
	MP_CFI_DEREF_RBP,	/* CFA = *(rbp + 8 * (s16)cfa) + 8 * aux */
	MP_CFI_REG,		/* CFA = DWARF register aux + 8 * cfa: the first frame only */
};
#define MP_CFI_RBP_SAME		0	/* rbp: the caller's rbp is this frame's */
#define MP_CFI_RBP_LOST		(-128)	/* rbp: not recoverable */
#define MP_CFI_RBP_AT_RBP	127	/* rbp: saved at *(rbp) (gcc's realigned main) */
#define MP_CFI_PAGE_SHIFT	10	/* the page index: one entry per KiB of text */

struct mp_cfi_row {
	__u32 pc;		/* ELF address of the row's first byte */
	__u16 cfa;		/* CFA offset / 8 */
	__u8 kind;		/* enum mp_cfi_kind, low 4 bits; aux, high 4 bits */
	__s8 rbp;		/* caller's rbp at CFA + 8 * rbp, or MP_CFI_RBP_* */
};

/* An ELF file's table (record's `cfi_files`, by device and inode). */
struct mp_cfi_file {
	__u32 first, count;	/* rows [first, first + count) of `cfi_rows` */
	__u32 pfirst, plo;	/* page index: cfi_pages[pfirst + (vaddr >> shift) - plo] */
	__u32 npages;		/* entries of the page index, a sentinel after them */
	__u32 pad;
	__u64 text_vaddr;	/* the executable segment: ELF address, size, file offset */
	__u64 text_memsz;
	__u64 text_offset;
};

struct mp_cfi_key {
	__u64 ino;
	__u32 dev;		/* the kernel's dev_t; 0 with ino 0: the vDSO */
	__u32 pad;
};

/* An executable mapping of a process, as the walk finds it. */
struct mp_cfi_map {
	__u64 start, end;
	__u64 bias;		/* ELF address = address - bias */
	__u32 first, count;	/* as the file's table; count 0: the frame-pointer rule */
	__u32 pfirst, plo, npages;
	__u32 pad;
};

#define MP_CFI_MAPS		256	/* executable mappings per process, sorted */
#define MP_CFI_PENDING		32	/* the exec's and the newest the kernel side saw, record or not */
#define MP_CFI_EXEC		4	/* of them, the first: the exec's own, never replaced */
#define MP_CFI_RING		(MP_CFI_PENDING - MP_CFI_EXEC)

/* A process's executable mappings as record read them (`cfi_procs`, by thread group id). */
struct mp_cfi_proc {
	__u32 nr;		/* of maps, sorted by start */
	__u32 pad;
	struct mp_cfi_map maps[MP_CFI_MAPS];
};

/*
 * The executable mappings the kernel side saw a process make (`cfi_pending`):
 * the walks look there for what record has not read yet.  The exec's (the
 * program, the dynamic loader, the vDSO) stay in the first MP_CFI_EXEC
 * slots; the later mmaps' go round the others, newest last.  Record can be
 * slow to read a new process's maps (when the machine is busy), and a
 * program maps a library each for its first instructions: the ring must not
 * replace the program's own text, which every stack goes through.  Only the
 * kernel side writes it.
 */
struct mp_cfi_pending {
	__u32 n;		/* mmaps since the exec: the next at MP_CFI_EXEC + n % MP_CFI_RING */
	__u32 nexec;		/* the exec's, in the first slots */
	struct mp_cfi_map maps[MP_CFI_PENDING];
};

/* Why a walk ended: the stacks that could not be completed are counted by cause. */
enum mp_unwind_end {
	MP_UNWIND_COMPLETE = 0,	/* the outermost frame: a return address undefined or 0 */
	MP_UNWIND_NO_TABLE,	/* a frame in code without CFI, where frame pointers failed too */
	MP_UNWIND_DEPTH,	/* MP_STACK_DEPTH frames */
	MP_UNWIND_UNREADABLE,	/* stack memory could not be read */
	MP_UNWIND_BAD,		/* CFI the table cannot follow, or a frame that went nowhere */
	MP_UNWIND__MAX,
};
/* unwind_ends' counter past the ends: the -g cfi walks a memo answered (bpf/memprof.bpf.h). */
enum {
	MP_UNWIND_MEMO = MP_UNWIND__MAX,
};
#define MP_SCRATCH_NEST		3	/* scratch entries per CPU: task, softirq, hardirq */

/*
 * The page programs' twins (bpf/pages.bpf.c): one per tracepoint, each CPU's
 * state in the map `page_twins`, indexed so; `page_firsts` holds the programs
 * they stand in for at the same index.
 */
enum mp_twin {
	MP_TWIN_ALLOC = 0,	/* page_alloc_nested, for page_alloc */
	MP_TWIN_FREE = 1,	/* page_free_nested, for page_free */
	MP_TWIN__MAX,
};

struct mp_page_twin {
	__u64 active;		/* this CPU's copy of the first's recursion counter; 1: none */
	__u64 caught;		/* runs the kernel skipped that the twin made instead */
};
#define MP_COMM_LEN		16
#define MP_FILENAME_LEN		256
#define MP_ARGS_LEN		1024	/* an exec's argv, as much as fits */

#define MP_PID_LIMIT		(1u << 22)	/* the kernel's PID_MAX_LIMIT on 64-bit */

/* Values of the `targets` map. */
enum mp_target {
	MP_TARGET_ON = 1,
	MP_TARGET_AT_EXEC = 2,	/* launched by record: recorded from its exec on */
	MP_TARGET_EXITING = 3,	/* its thread group is dead, its memory not unmapped yet */
	MP_TARGET_UNMAPPING = 4,	/* its exit is unmapping its memory */
};

enum mp_kind {
	MP_PAGE_ALLOC = 1,
	MP_PAGE_FREE,
	MP_HEAP_ALLOC,		/* also realloc, with old_ptr */
	MP_HEAP_FREE,
	MP_FORK,
	MP_EXEC,
	MP_EXIT,
	MP_MMAP_EXEC,		/* a file was mapped executable: rescan the maps */
	MP_CACHE_ADD,
	MP_CACHE_DEL,
	MP_VMCALL,		/* mmap, munmap, mremap, brk */
	MP_COMM,		/* a thread renamed itself */
};

/*
 * Lost-event counters, one per kind of event the kernel side can fail to
 * send.  Not the file's event types: record maps each to one (MP_LOST_OTHER
 * to the file's process counter, MPF_LOST_PROC).
 */
enum mp_lost {
	MP_LOST_PAGE = 0,
	MP_LOST_HEAP = 1,
	MP_LOST_OTHER = 2,	/* process lifecycle and mapping notices */
	MP_LOST_CACHE = 3,
	MP_LOST_MMAP = 4,
	MP_LOST__MAX,
};

/*
 * The heap functions, and the attach cookie of their probes: which arguments
 * hold the size and the old block.  Other allocators' functions take the kind
 * of the one they match (operator new, mallocx: MP_MALLOC; operator delete,
 * sdallocx: MP_FREE).  record maps them to the file's (enum mpf_heap_func).
 */
enum mp_heap_func {
	MP_MALLOC = 0,
	MP_CALLOC,
	MP_REALLOC,
	MP_POSIX_MEMALIGN,
	MP_ALIGNED_ALLOC,
	MP_MEMALIGN,
	MP_VALLOC,
	MP_FREE,
};

#define MP_HDR_USTACK		0x80	/* in hdr.flags: a struct mp_ustack follows the body */
#define MP_HDR_TRUNCATED	0x40	/* in hdr.flags: the frame-pointer walk ended early */
#define MP_HDR_LEAF		0x20	/* in hdr.flags: a struct mp_leaf follows the ips */
#define MP_HDR_MATCHED		0x10	/* in an exec's hdr.flags: it made the process a target
					   (record -a, --comm, --exec) */

/*
 * -g fp, at an exact pc (a page fault, a system call): the stack pointer and
 * the words above it.  The function at the pc may have no frame of its own
 * (a C library's memset or system call wrapper): its caller's return
 * address is then on the stack, not in the frame-pointer chain, and record
 * finds it with the function's call frame information.
 */
#define MP_LEAF_WORDS		16
struct mp_leaf {
	__u64 sp;
	__u64 words[MP_LEAF_WORDS];
};

struct mp_hdr {
	__u8 kind;		/* enum mp_kind */
	__u8 flags;
	__u16 nr_ips;		/* user stack frames following the body */
	__u32 pid;		/* thread group id */
	__u32 tid;
	__u32 pad;
	__u64 time;		/* bpf_ktime_get_ns() */
};

struct mp_page_alloc {
	struct mp_hdr hdr;
	__u64 page;		/* struct page address / sizeof(struct page) */
	__u32 order;
	__u32 gfp;
	__u64 ips[];
};

#define MP_PAGE_FREE_EXITING	0x1	/* in hdr.flags: by a target's exit teardown */
#define MP_PAGE_FREE_TO_CACHE	0x2	/* in hdr.flags: not freed, added to the page cache */

struct mp_page_free {
	struct mp_hdr hdr;	/* pid, tid: the freeing task */
	__u64 page;
	__u64 head;		/* = page: the owner is matched in user space */
	__u32 order;
	__u32 pad;
};

struct mp_heap_alloc {
	struct mp_hdr hdr;
	__u64 ptr;
	__u64 size;
	__u64 old_ptr;		/* realloc's first argument */
	__u32 func;		/* enum mp_heap_func */
	__u32 pad;
	__u64 ips[];
};

struct mp_heap_free {
	struct mp_hdr hdr;
	__u64 ptr;
};

struct mp_fork {
	struct mp_hdr hdr;	/* pid, tid: the new process */
	__u32 ppid;
	__u32 pad;
	char comm[MP_COMM_LEN];
};

/*
 * A mapping as the kernel has it, read when it is made: user space reads the
 * maps from /proc, but a short-lived process may be gone by then, and this is
 * what its frames are found in.  ino 0: no file, or not found.
 */
#define MP_PGOFF_UNKNOWN	(~0ull)	/* exec: start, end are the text's, from mm */
#define MP_PATH_BUF		2048	/* a file's path, as its components, last first */
#define MP_PATH_DEPTH		32

/* A mapping's rights: the values of mmap(2)'s PROT_*, which the file's MPF_PROT_* share. */
#define MP_PROT_READ		0x1
#define MP_PROT_WRITE		0x2
#define MP_PROT_EXEC		0x4

struct mp_vma {
	__u64 start, end;
	__u64 pgoff;		/* bytes, or MP_PGOFF_UNKNOWN */
	__u64 ino;
	__u32 dev;		/* the kernel's dev_t: major << 20 | minor */
	__u32 prot;		/* MP_PROT_* */
};

struct mp_exec {
	struct mp_hdr hdr;
	struct mp_vma text;	/* the executable's text */
	char comm[MP_COMM_LEN];
	char filename[MP_FILENAME_LEN];
	/*
	 * The executable's path in the target's mount namespace: the names from
	 * the file up to the root, each NUL-terminated ("ls\0bin\0usr\0"), as
	 * the dentries have them.  Empty when it did not fit.
	 */
	char path[MP_PATH_BUF];
	__u32 args_len;		/* bytes of args: argv, each NUL-terminated */
	__u32 pad2;
	char args[MP_ARGS_LEN];
};

/*
 * rss: at the exit, the process's resident set as it leaves, its per-CPU
 * counters summed, in pages; valid 0 when its memory was already gone.
 */
struct mp_exit {
	struct mp_hdr hdr;
	__s32 status;		/* wait(2) status */
	__u32 valid;
	__u64 anon, file, shmem, hwm;
};

struct mp_mmap {
	struct mp_hdr hdr;
	struct mp_vma vma;
	char path[MP_PATH_BUF];	/* the mapped file's, as in struct mp_exec */
};

/* MP_CACHE_ADD (with a stack), MP_CACHE_DEL: a page cache folio. */
struct mp_cache {
	struct mp_hdr hdr;
	__u64 page;		/* page id, as for mp_page_alloc */
	__u64 ino;
	__u64 index;		/* in pages */
	__u32 dev;
	__u32 order;
	__u64 ips[];
};

/* The calls of MP_VMCALL; record maps them to the file's (enum mpf_vm_call). */
enum mp_vm_call {
	MP_VM_MMAP = 0,
	MP_VM_MUNMAP,
	MP_VM_MREMAP,
	MP_VM_BRK,
};

struct mp_vmcall {
	struct mp_hdr hdr;
	__u32 call;		/* enum mp_vm_call */
	__u32 prot;
	__u32 flags;
	__u32 pad;
	__u64 addr, len;	/* the result: mapped, unmapped; brk: the new break */
	__u64 old_addr, old_len;	/* mremap's source; brk: the old break */
	__u64 ips[];
};

struct mp_comm {
	struct mp_hdr hdr;
	char comm[MP_COMM_LEN];
};

/*
 * -g dwarf: the user registers, in DWARF numbering, and a copy of the user
 * stack from the stack pointer up, as much of `size` as could be read; user
 * space unwinds it offline with the ELF files' CFI.
 */
struct mp_ustack {
	__u64 regs[MP_NR_REGS];
	__u32 size;		/* bytes of data that follow */
	__u32 pad;
	__u8 data[];
};

/* Value of the `inflight` map: a heap call between entry and return. */
struct mp_inflight {
	__u64 size;
	__u64 arg;		/* realloc: old pointer; posix_memalign: memptr */
	__u64 sp;		/* the stack pointer at the entry; 0: no call in flight */
	__u32 func;
	__u32 depth;		/* nested calls (realloc(NULL) -> malloc) to skip */
};

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct mp_hdr) == 24, "mp_hdr layout");
_Static_assert(sizeof(struct mp_cfi_row) == 8, "mp_cfi_row layout");
_Static_assert(sizeof(struct mp_cfi_map) == 48, "mp_cfi_map layout");
_Static_assert(sizeof(struct mp_cfi_file) == 48, "mp_cfi_file layout");
_Static_assert(sizeof(struct mp_cfi_key) == 16, "mp_cfi_key layout");
_Static_assert(sizeof(struct mp_page_twin) == 16, "mp_page_twin layout");
_Static_assert(sizeof(struct mp_page_alloc) == 40, "mp_page_alloc layout");
_Static_assert(sizeof(struct mp_heap_alloc) == 56, "mp_heap_alloc layout");
_Static_assert(sizeof(struct mp_page_free) == 48, "mp_page_free layout");
_Static_assert(sizeof(struct mp_inflight) == 32, "mp_inflight layout");
_Static_assert(sizeof(struct mp_ustack) == 144, "mp_ustack layout");
_Static_assert(sizeof(struct mp_cache) == 56, "mp_cache layout");
_Static_assert(sizeof(struct mp_vmcall) == 72, "mp_vmcall layout");
/* The BPF side's scratch buffer has 128 bytes for an event body a stack follows. */
_Static_assert(sizeof(struct mp_vmcall) <= 128 && sizeof(struct mp_heap_alloc) <= 128 &&
	       sizeof(struct mp_cache) <= 128 && sizeof(struct mp_page_alloc) <= 128,
	       "event bodies fit the scratch header");
#endif

#endif
