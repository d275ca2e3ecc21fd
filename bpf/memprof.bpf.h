/*
 * What memprof's BPF programs share (the bpf/ files, linked into one object):
 * the tunables record sets between open and load, the maps more than one
 * program uses, and the helpers that fill, stack and submit events.  The
 * maps and tunables are defined once, in memprof.bpf.c, which defines
 * MEMPROF_BPF_DEFINE before including this; every other file sees them
 * extern, and the static linker (bpftool gen object) joins them.
 */
#ifndef MEMPROF_BPF_MEMPROF_BPF_H
#define MEMPROF_BPF_MEMPROF_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bpf/memprof.h"

#ifdef MEMPROF_BPF_DEFINE
#define MP_SHARED
#define MP_INIT(v) = v
#else
#define MP_SHARED extern
#define MP_INIT(v)
#endif

#define PF_EXITING	0x00000004
#define PF_KTHREAD	0x00200000
#define MAX_ORDER_SCAN	11

/* Tunables, set by record between open and load. */
MP_SHARED const volatile __u32 stack_mode MP_INIT(MP_STACK_FP);	/* enum mp_stack_mode */
MP_SHARED const volatile __u32 dwarf_size MP_INIT(8192);	/* -g dwarf,SIZE; <= MP_DWARF_MAX */
MP_SHARED const volatile __u64 wakeup_bytes MP_INIT(1 << 20);	/* wake user space past this */

MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);		/* resized by record (-m) */
} events SEC(".maps");

/* Processes being recorded: tgid -> MP_TARGET_*. */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);		/* exited ones go once record read their exit */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/*
 * Pages the targets own, one bit each, indexed by page id modulo the map's
 * size in bits: the ids of all physical pages are consecutive, and record
 * sizes the map to a power of two at least the number of page frames, so the
 * index is exact.  A bitmap (not a hash) because the free program runs on
 * every page free in the system and must be cheap when the page is not ours.
 */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* resized by record: page frames / 64 */
	__type(key, __u32);
	__type(value, __u64);
} owned SEC(".maps");

/* Page cache pages the targets added, as `owned` is for their pages. */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* resized by record, as `owned` */
	__type(key, __u32);
	__type(value, __u64);
} cached SEC(".maps");

MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MP_LOST__MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * Scratch space for an event with its stack: too big for the BPF stack, and
 * with -g dwarf for a per-CPU map's value (32 KiB at most), so an array with
 * SCRATCH_NEST entries per CPU (record sizes it): a program that runs while
 * another is building its event on the same CPU (a page allocated in an
 * interrupt, say) takes a free entry, never the one in use.  Each entry is
 * taken and given back by its own flag, not a nesting depth: on a preemptible
 * kernel a uprobe's program can be preempted (it is only kept on its CPU),
 * and another task's program then starts and can end after it.
 */
#define SCRATCH_HDR	128	/* room for the largest event body a stack follows */
#define SCRATCH_SIZE	(SCRATCH_HDR + sizeof(struct mp_ustack) + MP_DWARF_MAX)
#define SCRATCH_NEST	MP_SCRATCH_NEST
#define UW_WIN		1024	/* a walk reads the stack this many bytes at a time at first ... */
#define UW_WIN_MAX	4096	/* ... and twice as many each time after, up to this */
#define UW_BACK		128	/* from this far below the first word a walk wants */
/* What every walk knows of the uprobe trampoline, which uretprobes put in place of return addresses. */
struct uw_tramp {
	__u64 tramp;		/* its address, 0 when the task has pending uretprobes none */
	__u64 ri;		/* the next struct return_instance to match, innermost first */
};

/* -g cfi: the state of a walk between its frames (bpf/unwind.bpf.h). */
struct uw {
	__u64 pc, sp, bp;
	struct uw_tramp t;
	__u32 ips;		/* where in buf the MP_STACK_DEPTH addresses go */
	__u32 n;		/* frames there */
	__u32 exact;		/* pc is an exact pc, not a return address */
	__u32 end;		/* enum mp_unwind_end, once it ended */
	int mi;			/* the sorted mapping of the last frame, -1 */
	__u32 pad;
	/* the walk as it is written into its memo (unwind_cfi()) */
	__u32 mslot;		/* its slot */
	__u32 mn;		/* the words read so far */
	__u64 mlo, mhi;		/* the lowest and highest of their addresses */
	bool mok;		/* every word read, every pc in a sorted mapping, no register rule */
};

/*
 * -g cfi: a walk remembered.  A walk is a function of the registers it
 * starts from, the words it reads from the stack and the process's mappings
 * (their tables never change): one that starts from the same pc, sp and rbp
 * in the same process, whose mappings record has not rewritten since, and
 * finds every word it read the same, finds the same stack.  Checking that
 * is one read of the stack and a compare per word, where the walk is a
 * table search per frame.  Only walks whose words all lie within UW_WIN_MAX
 * bytes and number UW_MEMO_READS at most are kept, and none that read a
 * register other than pc, sp and rbp, a signal frame, or a pc outside the
 * sorted mappings (the kernel side's pending ones change without a gen).
 * A memo holds while cfi_gen is what it was when the walk started: every
 * change to `cfi_procs`, record's or the kernel side's, bumps it after.
 */
#define UW_MEMO_BITS	3
#define UW_MEMO		(1u << UW_MEMO_BITS)	/* direct-mapped, by pc and sp */
#define UW_MEMO_READS	64
struct uw_memo {
	__u64 pc, sp, bp;
	__u32 tgid, gen;	/* the process, and cfi_gen at the walk */
	__u64 lo;		/* the lowest word read */
	__u32 span;		/* from lo past the highest word read; 0: the slot is empty */
	__u32 n;		/* words read */
	__u32 frames;		/* the walk's frames */
	__u32 end;		/* and how it ended */
	__u64 addr[UW_MEMO_READS];	/* the words read, where */
	__u64 val[UW_MEMO_READS];	/* and what */
	__u64 ips[UW_MEMO_READS];	/* the frames' pcs, from the second */
};

/* -g cfi: a row of a table found for an address, as a walk cached it. */
#define UW_CACHE_BITS	9
#define UW_CACHE	(1u << UW_CACHE_BITS)
struct uw_cache_ent {
	__u32 first;		/* the table's first row + 1 (0: empty) */
	__u32 vaddr;		/* the address in the file */
	__s32 row;		/* its row in cfi_rows, -1: none */
};

struct scratch {
	__u8 buf[SCRATCH_SIZE];
	__u32 busy;		/* taken (scratch_get) */
	__u32 pad_busy;
	struct uw uw;
	struct uw_cache_ent cache[UW_CACHE];
	struct uw_memo memo[UW_MEMO];
	/* -g cfi: the event's registers, and the stack window the walk reads through */
	struct pt_regs regs;
	__u64 dregs[16];	/* the same registers in DWARF order */
	__u64 win_base, win_len;
	__u64 win_floor;	/* the walk's first stack pointer: no word it reads lies below */
	__u64 win_nopage;	/* a page a window across pages could not read, last time */
	__u8 win[UW_WIN_MAX];
	/* a process's executable mappings, built at its exec */
	struct mp_cfi_pending pending;
};
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* resized by record: possible CPUs * SCRATCH_NEST */
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/*
 * -g cfi (bpf/memprof.h): the rows of every table (record appends them), the
 * page index, each file's table by device and inode, and each target's
 * executable mappings.  The rows and pages are mmapped by record.
 */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);			/* resized by record */
	__type(key, __u32);
	__type(value, struct mp_cfi_row);
} cfi_rows SEC(".maps");

/* For each KiB of a table's text, its first and last row: rows [lo, hi], low and high halves. */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);			/* resized by record */
	__type(key, __u32);
	__type(value, __u64);
} cfi_pages SEC(".maps");

MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct mp_cfi_key);
	__type(value, struct mp_cfi_file);
} cfi_files SEC(".maps");

/* Replaced whole by record (an update is atomic). */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mp_cfi_proc);
} cfi_procs SEC(".maps");

/*
 * One up after every change to `cfi_procs` (record's, and the kernel side's
 * at an exec or an exit; cfi_changed()): a walk's memo (struct uw_memo) holds
 * while it has not moved, checked without a lookup of the process's mappings.
 */
MP_SHARED __u32 cfi_gen;

static __always_inline void cfi_changed(void)
{
	__sync_fetch_and_add(&cfi_gen, 1);
}

/* Written by the kernel side only. */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct mp_cfi_pending);
} cfi_pending SEC(".maps");

/* The walks of each stack mode, by how they ended (enum mp_unwind_end), and MP_UNWIND_MEMO. */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MP_UNWIND__MAX + 1);
	__type(key, __u32);
	__type(value, __u64);
} unwind_ends SEC(".maps");

MP_SHARED const volatile __u64 owned_bits MP_INIT(64);	/* bits in `owned`, a power of two */

/* Counter idx of per-CPU array map, of __u64 counters, one up. */
static __always_inline void count_in(void *map, __u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(map, &idx);

	/* Atomic: a program in an interrupt, or preempting this one, counts on this CPU too. */
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void count_lost(__u32 what)
{
	count_in(&lost, what);
}

/*
 * The processes whose state in `targets` is MP_TARGET_ON, a bit each by tgid:
 * is_target() is one load, where the hash lookup cost each heap probe about
 * 35 ns.  Kept with `targets` by target_bit() here and by record's
 * mp_bpf__add_target() and mp_bpf__forget_target().
 */
MP_SHARED __u64 target_bits[MP_PID_LIMIT / 64];

/* tgid's word in target_bits, bounded where the verifier sees it (clang drops a plain mask). */
static __always_inline __u64 *target_word(__u32 tgid)
{
	__u32 w = tgid / 64;

	barrier_var(w);
	return &target_bits[w & (MP_PID_LIMIT / 64 - 1)];
}

static __always_inline bool is_target(__u32 tgid)
{
	return tgid < MP_PID_LIMIT && *target_word(tgid) & (1ull << (tgid % 64));
}

static __always_inline void target_bit(__u32 tgid, bool on)
{
	if (tgid >= MP_PID_LIMIT)
		return;
	if (on)
		__sync_fetch_and_or(target_word(tgid), 1ull << (tgid % 64));
	else
		__sync_fetch_and_and(target_word(tgid), ~(1ull << (tgid % 64)));
}

static __always_inline void fill_hdr_at(struct mp_hdr *h, __u8 kind, __u64 pid_tgid, __u64 time)
{
	h->kind = kind;
	h->flags = 0;
	h->nr_ips = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->pad = 0;
	h->time = time;
}

static __always_inline void fill_hdr(struct mp_hdr *h, __u8 kind, __u64 pid_tgid)
{
	fill_hdr_at(h, kind, pid_tgid, bpf_ktime_get_ns());
}

/* --heap-time=exact: the heap events' time read at each (heap_time()). */
MP_SHARED const volatile bool heap_exact_time MP_INIT(false);

/* Each CPU's clock at the first event of its latest tick (heap_time()). */
struct tick_clock {
	__u64 jiffies;
	__u64 ns;
};

MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tick_clock);
} tick_clock SEC(".maps");

/*
 * The heap events' time: bpf_ktime_get_ns() reads the clocksource, about
 * 45 ns an event here, a fifth of a free's program.  It is read once per tick
 * and CPU instead (the jiffies load is inlined), and a CPU's events within a
 * tick take the time of its first: a resolution of 1/CONFIG_HZ, 4 ms at
 * 250 Hz (heaptrack's is 10 ms).  record keeps each event's time at or after
 * the time of the events before it in the ring.  --heap-time=exact reads it
 * at each event.
 */
static __always_inline __u64 heap_time(void)
{
	__u32 zero = 0;
	struct tick_clock *c;
	__u64 j;

	if (heap_exact_time)
		return bpf_ktime_get_ns();
	c = bpf_map_lookup_elem(&tick_clock, &zero);
	j = bpf_jiffies64();
	if (!c)
		return bpf_ktime_get_ns();
	if (c->jiffies != j) {
		c->jiffies = j;
		c->ns = bpf_ktime_get_ns();
	}
	return c->ns;
}

/* Each CPU's events since it last asked the ring how full it is. */
MP_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wakeup_count SEC(".maps");

#define WAKEUP_EVERY	16	/* events between two looks at the ring's fill */

/*
 * Wake user space only when enough has piled up: a wakeup per event would
 * cost the target a context switch each.  User space also polls on a timer.
 * The ring is asked at every WAKEUP_EVERY-th event of a CPU only (a helper
 * call; the counter is an inlined per-CPU load): the wakeup point is a
 * quarter of the ring, far more than WAKEUP_EVERY of the largest events.
 */
static __always_inline __u64 wakeup_flag(void)
{
	__u32 zero = 0, *n = bpf_map_lookup_elem(&wakeup_count, &zero);

	if (n && ++*n % WAKEUP_EVERY)
		return BPF_RB_NO_WAKEUP;
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void submit(void *data, __u64 size, __u32 lost_idx, __u64 flags)
{
	if (bpf_ringbuf_output(&events, data, size, flags))
		count_lost(lost_idx);
}

#define MAX_FRAME_SPAN	(64ull << 20)	/* a frame pointer this far above sp is garbage */

/* A pointer as a number, which the verifier lets us compute with. */
static __always_inline __u64 addr_of(const void *p)
{
	__u64 a = 0;

	bpf_probe_read_kernel(&a, sizeof(a), &p);
	return a;
}

/*
 * The per-CPU pointer of element idx of per-CPU array map: a CPU's copy is
 * at it plus that CPU's offset.  0 when it cannot be read.
 */
static __always_inline __u64 percpu_array_pptr(const void *map, __u32 idx)
{
	__u64 pptrs = bpf_core_field_offset(struct bpf_array, pptrs), pptr = 0;

	bpf_probe_read_kernel(&pptr, sizeof(pptr), (void *)(addr_of(map) + pptrs + idx * 8ull));
	return pptr;
}

/*
 * A free scratch entry of this CPU, NULL when none is left (the event is
 * counted lost).  Every successful scratch_get() is paired with a
 * scratch_put() of it before the program returns.
 */
static __always_inline struct scratch *scratch_get(void)
{
	__u32 cpu = bpf_get_smp_processor_id(), idx;
	struct scratch *s;

	for (__u32 lvl = 0; lvl < SCRATCH_NEST; lvl++) {
		idx = cpu * SCRATCH_NEST + lvl;
		s = bpf_map_lookup_elem(&scratch, &idx);
		if (!s)
			return NULL;
		/* Taken by one exchange: a program that interrupts this one sees it. */
		if (!s->busy && !__sync_lock_test_and_set(&s->busy, 1))
			return s;
	}
	return NULL;
}

/* Only the program that took it gives it back, on the same CPU: a plain store. */
static __always_inline void scratch_put(struct scratch *s)
{
	*(volatile __u32 *)&s->busy = 0;
}

#include "bpf/unwind.bpf.h"

/*
 * Walks the user frame-pointer chain from regs into ips.  Our own walk, not
 * bpf_get_stack(): that one follows %rbp wherever it points, and a code
 * without frame pointers (glibc's __libc_start_call_main, say) leaves a value
 * there whose read faults, at the cost of an exception on every event.  A
 * frame must lie above the stack pointer and above the frame it came from.
 * The frames are read through s's stack window (uw_read()), a copy of up to
 * UW_WIN bytes: one read for several frames instead of one each.
 */
static __always_inline int walk_user_stack(struct task_struct *task, struct pt_regs *regs,
					   struct scratch *s, __u64 *ips, bool *complete)
{
	__u64 fp = regs->bp, sp = regs->sp;
	struct uw_tramp t;
	__u64 frame[2];
	int n = 1;

	ips[0] = uw_tramp_init(task, &t, regs->ip);
	*complete = false;
	s->win_len = 0;
	s->win_floor = sp;
	for (int i = 1; i < MP_STACK_DEPTH; i++) {
		/* A zero frame pointer ends the chain: _start clears it. */
		if (!fp) {
			*complete = true;
			break;
		}
		if (fp < sp || fp - sp > MAX_FRAME_SPAN || (fp & 7))
			break;
		if (uw_read(s, fp, &frame[0]) || uw_read(s, fp + 8, &frame[1]))
			break;
		frame[1] = uw_tramp_fix(&t, frame[1], fp + 8);
		if (!frame[1]) {
			*complete = true;
			break;
		}
		ips[i] = frame[1];
		n = i + 1;
		if (frame[0] <= fp) {
			*complete = !frame[0];
			break;
		}
		fp = frame[0];
	}
	return n;
}

/* -g dwarf: the real return addresses in the copy, where uretprobes put the trampoline. */
static __always_inline void mend_user_stack(struct uw_tramp *t, struct mp_ustack *u, __u64 sp)
{
	struct return_instance *ri = (void *)t->ri;

	for (int j = 0; j < 16 && ri && t->tramp; j++) {
		__u64 slot = BPF_CORE_READ(ri, stack), off = slot - sp;

		if (slot >= sp && off + 8 <= u->size && off <= MP_DWARF_MAX - 8 &&
		    *(__u64 *)(u->data + off) == t->tramp)
			*(__u64 *)(u->data + off) = BPF_CORE_READ(ri, orig_ret_vaddr);
		ri = BPF_CORE_READ(ri, next);
	}
}

/*
 * Copies the user registers and the stack from sp up, as much of dwarf_size
 * as is mapped: page by page, since one read that crosses the stack's end
 * would fail whole.  Returns the bytes of struct mp_ustack and data written.
 */
static __always_inline __u32 copy_user_stack(struct task_struct *task, struct pt_regs *regs,
					     struct mp_ustack *u)
{
	__u64 sp = regs->sp;
	__u32 size = dwarf_size, done = 0, n;
	struct uw_tramp t;

	u->regs[0] = regs->ax;
	u->regs[1] = regs->dx;
	u->regs[2] = regs->cx;
	u->regs[3] = regs->bx;
	u->regs[4] = regs->si;
	u->regs[5] = regs->di;
	u->regs[6] = regs->bp;
	u->regs[7] = sp;
	u->regs[8] = regs->r8;
	u->regs[9] = regs->r9;
	u->regs[10] = regs->r10;
	u->regs[11] = regs->r11;
	u->regs[12] = regs->r12;
	u->regs[13] = regs->r13;
	u->regs[14] = regs->r14;
	u->regs[15] = regs->r15;
	u->regs[16] = uw_tramp_init(task, &t, regs->ip);
	u->pad = 0;
	if (size > MP_DWARF_MAX)
		size = MP_DWARF_MAX;
	for (int i = 0; i < MP_DWARF_MAX / 4096 + 1; i++) {
		if (done >= size || done > MP_DWARF_MAX - 4096)
			break;
		n = 4096 - ((sp + done) & 4095);
		if (n > size - done)
			n = size - done;
		if (n > 4096)
			break;
		if (bpf_probe_read_user(u->data + done, n, (void *)(sp + done)))
			break;
		done += n;
	}
	u->size = done;
	mend_user_stack(&t, u, sp);
	return sizeof(*u) + done;
}

/*
 * Appends the user stack at off in the scratch event and submits it.  leaf:
 * regs are at an exact pc, where -g fp adds the words at the stack pointer.
 */
static __always_inline void submit_with_stack(struct task_struct *task, struct pt_regs *regs,
					      struct scratch *s, __u32 off, __u32 lost_idx, bool leaf)
{
	struct mp_hdr *h = (void *)s->buf;
	__u64 n = 0;

	if (stack_mode == MP_STACK_DWARF && regs && off <= SCRATCH_HDR) {
		n = copy_user_stack(task, regs, (struct mp_ustack *)(s->buf + off));
		if (n > sizeof(struct mp_ustack) + MP_DWARF_MAX)
			n = sizeof(struct mp_ustack) + MP_DWARF_MAX;
		h->flags |= MP_HDR_USTACK;
		submit(s->buf, off + n, lost_idx, wakeup_flag());
		return;
	}
	if (stack_mode == MP_STACK_CFI && regs && off <= SCRATCH_HDR) {
		__u32 end;

		n = unwind_cfi(task, regs, s, off, &end);
		uw_count(end);
		if (end != MP_UNWIND_COMPLETE)
			h->flags |= MP_HDR_TRUNCATED;
	}
	if (stack_mode == MP_STACK_FP && regs &&
	    off + MP_STACK_DEPTH * sizeof(__u64) <= sizeof(s->buf)) {
		bool complete;

		n = walk_user_stack(task, regs, s, (__u64 *)(s->buf + off), &complete);
		/* Stopped at a frame pointer that led nowhere: the stack goes on, unseen. */
		if (!complete)
			h->flags |= MP_HDR_TRUNCATED;
		uw_count(complete ? MP_UNWIND_COMPLETE : MP_UNWIND_NO_TABLE);
	}
	if (n > MP_STACK_DEPTH)
		n = MP_STACK_DEPTH;
	h->nr_ips = n;
	if (leaf && stack_mode == MP_STACK_FP && regs && n &&
	    off + (MP_STACK_DEPTH + 1) * sizeof(__u64) + sizeof(struct mp_leaf) <= sizeof(s->buf)) {
		struct mp_leaf *l = (void *)(s->buf + off + n * sizeof(__u64));

		l->sp = regs->sp;
		if (!bpf_probe_read_user(l->words, sizeof(l->words), (void *)l->sp)) {
			h->flags |= MP_HDR_LEAF;
			submit(s->buf, off + n * sizeof(__u64) + sizeof(*l), lost_idx, wakeup_flag());
			return;
		}
	}
	submit(s->buf, off + n * sizeof(__u64), lost_idx, wakeup_flag());
}

/* A process's mapping at start of file f's text, loaded at bias (ELF address = address - bias). */
static __always_inline void cfi_map_fill(struct mp_cfi_map *m, const struct mp_cfi_file *f,
					 __u64 start, __u64 bias)
{
	m->start = start & ~4095ull;
	m->end = (start + f->text_memsz + 4095) & ~4095ull;
	m->bias = bias;
	m->first = f->first;
	m->count = f->count;
	m->pfirst = f->pfirst;
	m->plo = f->plo;
	m->npages = f->npages;
	m->pad = 0;
}

/*
 * -g cfi: an executable mapping a target just made (ld.so loading a library,
 * a dlopen), appended to its mappings where record has the file's table, so
 * that the walks find it before record sorts it in.  The text segment is the
 * one mapped executable, from its page-aligned offset.
 */
static __always_inline void cfi_append(__u32 tgid, const struct mp_vma *v)
{
	struct mp_cfi_key key = { .ino = v->ino, .dev = v->dev };
	struct mp_cfi_pending *p;
	struct mp_cfi_file *f;
	__u32 slot;

	if (stack_mode != MP_STACK_CFI || !v->ino)
		return;
	f = bpf_map_lookup_elem(&cfi_files, &key);
	p = bpf_map_lookup_elem(&cfi_pending, &tgid);
	if (!f || !p)
		return;
	slot = MP_CFI_EXEC + __sync_fetch_and_add(&p->n, 1) % MP_CFI_RING;
	barrier_var(slot);
	if (slot >= MP_CFI_PENDING)
		return;
	cfi_map_fill(&p->maps[slot], f, v->start + (f->text_offset & 4095),
		     v->start - v->pgoff - (f->text_vaddr - f->text_offset));
	p->maps[slot].end = v->end;
}

/* The user registers of task, the current one, for a tracepoint in kernel context. */
static __always_inline struct pt_regs *user_regs(struct task_struct *task)
{
	if (task->flags & PF_KTHREAD)
		return NULL;
	return (struct pt_regs *)bpf_task_pt_regs(task);
}

struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	char *buf;
	__u32 off;
	bool done;
};

/* One step up: a name, or a mount crossed.  bpf_loop() keeps verification small. */
static long path_step(__u32 i, void *ctx)
{
	struct path_walk *w = ctx;
	/* Locals: CO-RE relocates kernel types, not path_walk's fields. */
	struct dentry *dentry = w->dentry, *parent = BPF_CORE_READ(dentry, d_parent);
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt, *mparent;
	long n;

	if (dentry == parent || dentry == BPF_CORE_READ(vfsmnt, mnt_root)) {
		mparent = BPF_CORE_READ(mnt, mnt_parent);
		if (mparent == mnt) {
			w->done = true;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mparent;
		w->vfsmnt = &mparent->mnt;
		return 0;
	}
	if (w->off > MP_PATH_BUF - 256)
		return 1;
	n = bpf_probe_read_kernel_str(w->buf + w->off, 256, BPF_CORE_READ(dentry, d_name.name));
	if (n <= 0)
		return 1;
	w->off += n;
	w->dentry = parent;
	return 0;
}

/*
 * The path of a file, as its names from the file up to the root of the
 * mount namespace, each NUL-terminated, then an empty one, into buf; crosses
 * mount points.  bpf_d_path() is not allowed in tracepoints.  buf starts with
 * a NUL when the path did not fit.
 */
static __always_inline void file_path(struct file *file, char *buf)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(file, f_path.mnt);
	struct path_walk w = {
		.dentry = BPF_CORE_READ(file, f_path.dentry),
		.vfsmnt = vfsmnt,
		.mnt = container_of(vfsmnt, struct mount, mnt),
		.buf = buf,
	};

	buf[0] = 0;
	bpf_loop(MP_PATH_DEPTH * 2, path_step, &w, 0);
	if (w.done && w.off < MP_PATH_BUF)
		buf[w.off & (MP_PATH_BUF - 1)] = 0;
	else
		buf[0] = 0;
}

/* The inode and device of a file, into v. */
static __always_inline void file_id(struct file *file, struct mp_vma *v)
{
	if (!file)
		return;
	v->ino = BPF_CORE_READ(file, f_inode, i_ino);
	v->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
}

#endif
