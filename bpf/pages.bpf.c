// SPDX-License-Identifier: GPL-2.0
/*
 * Physical pages and page cache pages: an allocation in a target's context,
 * not in an interrupt, is the target's (with its stack), marked in a bitmap
 * so that the free programs, which run for every page in the system, are
 * cheap for pages that are not the targets'.
 */
#include "bpf/memprof.bpf.h"

/*
 * Pages are named by struct page address / sizeof(struct page): unique, and
 * neighbours differ by one, which the trace encodes in a byte.  The page
 * programs are raw tracepoints so that the address arrives as a number.
 */
static __always_inline __u64 page_id(__u64 page)
{
	return page / bpf_core_type_size(struct page);
}

/*
 * Sets (or clears) the bits of 2^order pages from id in bitmap (`owned`, or
 * `cached` for page cache folios); returns whether any was set before.  Pages
 * of an allocation are naturally aligned, so from order 6 on they fill whole
 * words.
 */
static __always_inline bool mark_pages(void *bitmap, __u64 id, unsigned int order, bool set)
{
	__u64 bit = id & (owned_bits - 1), mask, old = 0;
	__u32 word = bit / 64;
	__u64 *w;

	if (order < 6) {
		mask = ((1ull << (1u << order)) - 1) << (bit % 64);
		w = bpf_map_lookup_elem(bitmap, &word);
		if (!w)
			return false;
		if (set)
			return __sync_fetch_and_or(w, mask) & mask;
		if (!(*w & mask))
			return false;
		return __sync_fetch_and_and(w, ~mask) & mask;
	}
	for (int i = 0; i < (1 << (MAX_ORDER_SCAN - 6)); i++) {
		if (i >= (1 << (order - 6)))
			break;
		word = bit / 64 + i;
		w = bpf_map_lookup_elem(bitmap, &word);
		if (!w)
			break;
		if (set)
			old |= __sync_fetch_and_or(w, ~0ull);
		else if (*w)
			old |= __sync_fetch_and_and(w, 0);
	}
	return old;
}

/*
 * The twins.  page_alloc and page_free run for every page of the machine, so
 * an interrupt that allocates or frees a page often comes while one of them
 * runs on its CPU, and the kernel skips a raw tracepoint program's run nested
 * in a run of the same program (counting it in the program's
 * recursion_misses).  Each has a twin on the same tracepoint that makes the
 * run the kernel skipped, and only that one: it reads the first's recursion
 * counter on this CPU, which is non-zero exactly when the first is running
 * below it, since the kernel took and gave back its own count for this call
 * already (or will, before or after the twin's run: either order holds).  An
 * event is lost only when the twin is skipped too (an interrupt in the
 * middle of the twin, inside one in the middle of the first): record counts
 * the first's skipped runs less those its twin made (`caught`).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MP_TWIN__MAX);
	__type(key, __u32);
	__type(value, struct mp_page_twin);
} page_twins SEC(".maps");

/* The first programs, put here by record: a way to their struct bpf_prog. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, MP_TWIN__MAX);
	__type(key, __u32);
	__type(value, __u32);
} page_firsts SEC(".maps");

/* A kernel address to read through at the cost of a load (kernel 6.2). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * The address of this CPU's copy of the recursion counter of the first
 * program of twin, whose state on this CPU is t; 1 when there is none.  A
 * per-CPU pointer plus the CPU's offset is the CPU's copy, and t's address
 * less its map's per-CPU pointer is the offset.  Once per CPU.
 */
static __noinline __u64 twin_counter(__u32 twin, struct mp_page_twin *t)
{
	__u64 firsts = addr_of(&page_firsts);
	__u64 ptrs = bpf_core_field_offset(struct bpf_array, ptrs);
	__u64 prog = 0, pptr, active;

	if (!bpf_core_field_exists(((struct bpf_prog *)0)->active) || twin >= MP_TWIN__MAX)
		return 1;
	if (bpf_probe_read_kernel(&prog, sizeof(prog), (void *)(firsts + ptrs + twin * 8)) ||
	    !prog)
		return 1;
	active = (__u64)BPF_CORE_READ((struct bpf_prog *)prog, active);
	pptr = percpu_array_pptr(&page_twins, twin);
	if (!pptr || !active)
		return 1;
	return active + (addr_of(t) - pptr);
}

/* In a twin: whether the kernel skipped the first program's run of this event. */
static __always_inline bool twin_stands_in(__u32 twin)
{
	struct mp_page_twin *t = bpf_map_lookup_elem(&page_twins, &twin);
	int active = 0;

	if (!t)
		return false;
	if (!t->active)
		t->active = twin_counter(twin, t);
	if (t->active == 1)
		return false;
	if (bpf_rdonly_cast)
		active = ((struct refcount_struct *)bpf_rdonly_cast(
				  (void *)t->active, bpf_core_type_id_kernel(struct refcount_struct)))
				 ->refs.counter;
	else
		bpf_probe_read_kernel(&active, sizeof(active), (void *)t->active);
	if (active <= 0)
		return false;
	t->caught++;
	return true;
}

/*
 * Whether the program runs on the task's own kernel stack, not in an
 * interrupt, hard or soft, or an NMI, which x86-64 serves on stacks of their
 * own: a page allocated in one is the kernel's (a network buffer, an RCU
 * callback's, a BPF map refilling its cache from irq_work), not the task's it
 * interrupted.  A raw tracepoint's arguments are on the stack the tracepoint
 * runs on; the task's stack runs from task->stack up to its user registers
 * at the top, whatever its size.  (The preempt count would say so too, but
 * BPF cannot read it without the per-CPU symbols in kallsyms.)
 */
static __always_inline bool on_task_stack(__u64 *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 at = addr_of(ctx), base = (__u64)task->stack;

	return at >= base && at < addr_of((void *)bpf_task_pt_regs(task));
}

/* The pages allocated in interrupts in a target's context, left out (record says how many). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} page_irq SEC(".maps");

static __always_inline int page_alloc_event(__u64 *ctx)
{
	__u64 page = ctx[0];
	unsigned int order = ctx[1];
	gfp_t gfp = ctx[2];
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct mp_page_alloc *ev;
	struct scratch *s;
	__u64 pid;

	if (!page || order >= MAX_ORDER_SCAN || !is_target(id >> 32))
		return 0;
	if (!on_task_stack(ctx)) {
		count_in(&page_irq, 0);
		return 0;
	}
	pid = page_id(page);
	mark_pages(&owned, pid, order, true);

	s = scratch_get();
	if (!s) {
		count_lost(MP_LOST_PAGE);
		return 0;
	}
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_PAGE_ALLOC, id);
	ev->page = pid;
	ev->order = order;
	ev->gfp = gfp;
	task = bpf_get_current_task_btf();
	submit_with_stack(task, user_regs(task), s, sizeof(*ev), MP_LOST_PAGE, true);
	scratch_put(s);
	return 0;
}

SEC("raw_tp/mm_page_alloc")
int page_alloc(__u64 *ctx)
{
	return page_alloc_event(ctx);
}

SEC("raw_tp/mm_page_alloc")
int page_alloc_nested(__u64 *ctx)
{
	return twin_stands_in(MP_TWIN_ALLOC) ? page_alloc_event(ctx) : 0;
}

static __always_inline void fill_page_free(struct mp_page_free *ev, __u64 id, __u64 pid,
					   unsigned int order)
{
	fill_hdr(&ev->hdr, MP_PAGE_FREE, id);
	ev->page = pid;
	ev->head = pid;
	ev->order = order;
	ev->pad = 0;
}

static __always_inline int page_free_event(__u64 *ctx)
{
	__u64 page = ctx[0];
	unsigned int order = ctx[1];
	struct task_struct *task;
	struct mp_page_free ev;
	__u64 pid, id;

	if (!page || order >= MAX_ORDER_SCAN)
		return 0;
	pid = page_id(page);
	if (!mark_pages(&owned, pid, order, false))
		return 0;
	/*
	 * One of ours.  The owner is in the allocation's record: report matches
	 * them, and takes a free flagged here, by a target unmapping its memory
	 * as it exits, as the owner's teardown when it is the owner.
	 */
	id = bpf_get_current_pid_tgid();
	fill_page_free(&ev, id, pid, order);
	task = bpf_get_current_task_btf();
	if (task->flags & PF_EXITING) {
		__u32 tgid = id >> 32;
		__u8 *v = bpf_map_lookup_elem(&targets, &tgid);

		if (v && *v == MP_TARGET_UNMAPPING)
			ev.hdr.flags |= MP_PAGE_FREE_EXITING;
	}
	submit(&ev, sizeof(ev), MP_LOST_PAGE, wakeup_flag());
	return 0;
}

SEC("raw_tp/mm_page_free")
int page_free(__u64 *ctx)
{
	return page_free_event(ctx);
}

SEC("raw_tp/mm_page_free")
int page_free_nested(__u64 *ctx)
{
	return twin_stands_in(MP_TWIN_FREE) ? page_free_event(ctx) : 0;
}

/* ---- page cache ---- */

/* A folio's order: 0, or for a large folio (PG_head) the low byte of _flags_1. */
static __always_inline unsigned int folio_order(struct folio *folio)
{
	__u64 flags = 0, flags1 = 0;

	bpf_core_read(&flags, sizeof(flags), &folio->flags);
	if (!(flags & (1ull << bpf_core_enum_value(enum pageflags, PG_head))))
		return 0;
	bpf_core_read(&flags1, sizeof(flags1), &folio->_flags_1);
	return flags1 & 0xff;
}

static __always_inline void fill_cache(struct mp_cache *ev, struct folio *folio, __u64 pid,
				       unsigned int order)
{
	struct inode *host = BPF_CORE_READ(folio, mapping, host);

	ev->page = pid;
	ev->order = order;
	ev->index = BPF_CORE_READ(folio, index);
	ev->ino = BPF_CORE_READ(host, i_ino);
	ev->dev = BPF_CORE_READ(host, i_sb, s_dev);
}

/*
 * A folio of a filemap tracepoint (its address in ctx[0]) as a page id and
 * order: true when its bits in bitmap were set, cleared now.
 */
static __always_inline bool folio_unmark(void *bitmap, __u64 *ctx, __u64 *pid,
					 unsigned int *order)
{
	*order = folio_order((void *)ctx[0]);
	if (*order >= MAX_ORDER_SCAN)
		return false;
	*pid = page_id(ctx[0]);
	return mark_pages(bitmap, *pid, *order, false);
}

/* Raw tracepoints, as for pages: the folio's address arrives as a number. */
SEC("raw_tp/mm_filemap_add_to_page_cache")
int cache_add(__u64 *ctx)
{
	struct folio *folio = (void *)ctx[0];
	__u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task;
	unsigned int order;
	struct mp_cache *ev;
	struct scratch *s;
	__u64 pid;

	if (!is_target(id >> 32))
		return 0;
	order = folio_order(folio);
	if (order >= MAX_ORDER_SCAN)
		return 0;
	pid = page_id(ctx[0]);
	mark_pages(&cached, pid, order, true);
	s = scratch_get();
	if (!s) {
		count_lost(MP_LOST_CACHE);
		return 0;
	}
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_CACHE_ADD, id);
	fill_cache(ev, folio, pid, order);
	task = bpf_get_current_task_btf();
	submit_with_stack(task, user_regs(task), s, sizeof(*ev), MP_LOST_CACHE, true);
	scratch_put(s);
	return 0;
}

/*
 * Without -e cache: a page of a target's that the kernel added to the page
 * cache (a file it wrote, say) is cache from now on, not the process's own
 * memory.  It leaves the target's pages as a free flagged so, and its bit is
 * cleared so that its later free is not the target's.  Runs for every page
 * cache addition in the system: a bitmap test when the folio is not ours.
 */
SEC("raw_tp/mm_filemap_add_to_page_cache")
int page_to_cache(__u64 *ctx)
{
	struct mp_page_free ev;
	unsigned int order;
	__u64 pid;

	if (!folio_unmark(&owned, ctx, &pid, &order))
		return 0;
	fill_page_free(&ev, bpf_get_current_pid_tgid(), pid, order);
	ev.hdr.flags |= MP_PAGE_FREE_TO_CACHE;
	submit(&ev, sizeof(ev), MP_LOST_PAGE, wakeup_flag());
	return 0;
}

/* Runs for every page cache deletion in the system: cheap when the folio is not ours. */
SEC("raw_tp/mm_filemap_delete_from_page_cache")
int cache_del(__u64 *ctx)
{
	struct folio *folio = (void *)ctx[0];
	struct mp_cache ev;
	unsigned int order;
	__u64 pid;

	if (!folio_unmark(&cached, ctx, &pid, &order))
		return 0;
	fill_hdr(&ev.hdr, MP_CACHE_DEL, bpf_get_current_pid_tgid());
	fill_cache(&ev, folio, pid, order);
	submit(&ev, sizeof(ev), MP_LOST_CACHE, wakeup_flag());
	return 0;
}

