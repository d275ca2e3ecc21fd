// SPDX-License-Identifier: GPL-2.0
/*
 * Physical pages and page cache pages: an allocation in a target's context
 * is the target's (with its stack), marked in a bitmap so that the free
 * programs, which run for every page in the system, are cheap for pages that
 * are not the targets'.
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

static __always_inline int page_alloc_event(__u64 *ctx)
{
	__u64 page = ctx[0];
	unsigned int order = ctx[1];
	gfp_t gfp = ctx[2];
	__u64 id = bpf_get_current_pid_tgid();
	struct mp_page_alloc *ev;
	struct scratch *s;
	__u64 pid;

	if (!page || order >= MAX_ORDER_SCAN || !is_target(id >> 32))
		return 0;
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
	submit_with_stack(user_regs(), s, sizeof(*ev), MP_LOST_PAGE, true);
	scratch_put();
	return 0;
}

SEC("raw_tp/mm_page_alloc")
int page_alloc(__u64 *ctx)
{
	return page_alloc_event(ctx);
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
	submit_with_stack(user_regs(), s, sizeof(*ev), MP_LOST_CACHE, true);
	scratch_put();
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

