// SPDX-License-Identifier: GPL-2.0
/*
 * The searches and reads of the stack walks (bpf/unwind.bpf.h), as global
 * functions: each is verified once, on its own.  The binary searches are
 * branch-free with a fixed number of steps, so that the verifier follows one
 * path through them whatever the data; a compare-and-branch search forks its
 * state at every step.
 */
#include "bpf/memprof.bpf.h"

#define MAP_STEPS	9	/* 2^9 > MP_CFI_MAPS */
#define ROW_STEPS	16	/* rows of one KiB of text: far fewer in any file seen */

/*
 * The word at addr, through a new copy of the stack around it in s's window.
 * The copy starts a little below addr, where the saved registers lie of the
 * frame whose return address a walk reads first, but not below the walk's
 * first stack pointer, and runs across pages: the stack goes on up to its
 * top, past which lie a thread's descriptor, or the main thread's arguments
 * and environment.  A walk's first copy is UW_WIN bytes, enough for most
 * stacks; one that needs more is deep, and each next copy is twice as long.
 * Where a read fails, the rest of addr's page is read (the stack may end
 * there), and the page that failed is not tried again.
 */
__noinline int uw_fetch(struct scratch *s, __u64 addr, __u64 *out)
{
	__u64 n, base, end, size;

	if (!s || !out)
		return -1;
	size = s->win_len * 2;
	if (size < UW_WIN)
		size = UW_WIN;
	if (size > UW_WIN_MAX)
		size = UW_WIN_MAX;
	base = addr - UW_BACK;
	if (addr < s->win_floor + UW_BACK)
		base = addr < s->win_floor ? addr : s->win_floor;
	end = (base + size - 1) & ~4095ull;
	barrier_var(size);
	if (size > UW_WIN_MAX)
		return -1;
	if (end != s->win_nopage && !bpf_probe_read_user(s->win, size, (void *)base)) {
		s->win_base = base;
		s->win_len = size;
		return uw_win_word(s, addr - base, out);
	}
	if (end != (addr & ~4095ull))
		s->win_nopage = end;
	n = 4096 - (addr & 4095);
	barrier_var(n);
	if (n < 8 || n > UW_WIN_MAX || bpf_probe_read_user(s->win, n, (void *)addr)) {
		s->win_len = 0;
		return bpf_probe_read_user(out, 8, (void *)addr) ? -1 : 0;
	}
	s->win_base = addr;
	s->win_len = n;
	*out = *(__u64 *)s->win;
	return 0;
}

/* The sorted mapping holding pc, or -1. */
static __always_inline int uw_find_map(struct mp_cfi_proc *p, __u64 pc)
{
	__u32 n, base = 0, half, mid;

	if (!p)
		return -1;
	n = p->nr;
	if (n == 0 || n > MP_CFI_MAPS)
		return -1;
	for (int i = 0; i < MAP_STEPS; i++) {
		if (n <= 1)
			break;
		half = n >> 1;
		mid = base + half;
		barrier_var(mid);
		if (mid >= MP_CFI_MAPS)
			return -1;
		/* Up when start <= pc: (pc - start) >> 63 is 1 when pc < start. */
		base += half & ((__u32)((pc - p->maps[mid].start) >> 63) - 1);
		n -= half;
	}
	barrier_var(base);
	if (base >= MP_CFI_MAPS || pc < p->maps[base].start || pc >= p->maps[base].end)
		return -1;
	return base;
}

/* The newest of the mappings the kernel side saw that holds pc, or -1. */
__noinline int uw_find_pending(struct mp_cfi_pending *p, __u64 pc)
{
	__u32 n;

	if (!p)
		return -1;
	n = p->n < MP_CFI_RING ? p->n : MP_CFI_RING;
	for (__u32 j = 0; j < MP_CFI_RING; j++) {
		__u32 slot = MP_CFI_EXEC + (p->n - 1 - j) % MP_CFI_RING;

		if (j >= n)
			break;
		barrier_var(slot);
		if (slot >= MP_CFI_PENDING)
			break;
		if (pc >= p->maps[slot].start && pc < p->maps[slot].end)
			return slot;
	}
	for (__u32 i = 0; i < MP_CFI_EXEC; i++) {
		if (i >= p->nexec)
			break;
		if (pc >= p->maps[i].start && pc < p->maps[i].end)
			return i;
	}
	return -1;
}

/*
 * The index in cfi_rows of the last row of m's table at or below vaddr, or -1:
 * the page index narrows the search to the rows of vaddr's KiB.
 */
static __always_inline int uw_find_row(struct mp_cfi_map *m, __u32 vaddr)
{
	__u32 k, lo, hi, n, base, half, mid;
	struct mp_cfi_row *r;
	__u64 *pg;

	if (!m || !m->count)
		return -1;
	k = (vaddr >> MP_CFI_PAGE_SHIFT) - m->plo;
	if ((vaddr >> MP_CFI_PAGE_SHIFT) < m->plo || k >= m->npages)
		return -1;
	k += m->pfirst;
	pg = bpf_map_lookup_elem(&cfi_pages, &k);
	if (!pg)
		return -1;
	lo = (__u32)*pg;
	hi = *pg >> 32;
	if (hi < lo || hi >= m->count)
		return -1;
	base = m->first + lo;
	n = hi - lo + 1;
	for (int i = 0; i < ROW_STEPS; i++) {
		if (n <= 1)
			break;
		half = n >> 1;
		mid = base + half;
		r = bpf_map_lookup_elem(&cfi_rows, &mid);
		if (!r)
			return -1;
		base += half & ((__u32)(((__u64)vaddr - r->pc) >> 63) - 1);
		n -= half;
	}
	r = bpf_map_lookup_elem(&cfi_rows, &base);
	if (!r || r->pc > vaddr)
		return -1;
	return base;
}

/*
 * The real return address of a slot where the trampoline was found: that of
 * the pending return_instance whose stack is the slot.  The list runs from
 * the innermost frame out, so *ri moves past what is used; instances
 * chained on one slot (tail calls) share it.  0 when none matches.
 */
__noinline __u64 uw_fix_tramp(__u64 *rip, __u64 slot)
{
	struct return_instance *ri;
	__u64 orig = 0;

	if (!rip)
		return 0;
	ri = (void *)*rip;
	for (int j = 0; j < 16 && ri; j++) {
		__u64 stack = BPF_CORE_READ(ri, stack);

		if (stack < slot) {	/* a frame the walk did not see */
			ri = BPF_CORE_READ(ri, next);
			continue;
		}
		if (stack == slot) {
			orig = BPF_CORE_READ(ri, orig_ret_vaddr);
			for (int k = 0; k < 4 && ri && BPF_CORE_READ(ri, stack) == slot; k++)
				ri = BPF_CORE_READ(ri, next);
		}
		break;
	}
	*rip = (__u64)ri;
	return orig;
}

/* The mapping of pc: the last one, a sorted one, or one record has not read yet. */
static __always_inline struct mp_cfi_map *uw_map(struct uw *u, struct mp_cfi_proc *p, __u64 pc)
{
	struct mp_cfi_pending *q;
	int mi = u->mi;
	__u32 pid;

	if (p) {
		barrier_var(mi);
		if (mi >= 0 && mi < MP_CFI_MAPS && pc >= p->maps[mi].start && pc < p->maps[mi].end)
			return &p->maps[mi];
		mi = uw_find_map(p, pc);
		barrier_var(mi);	/* clang knows the range and drops the check the verifier needs */
		u->mi = mi;
		if (mi >= 0 && mi < MP_CFI_MAPS)
			return &p->maps[mi];
	}
	/* Rare: the kernel side's own list, of mappings made since record's last look. */
	u->mok = false;
	pid = bpf_get_current_pid_tgid() >> 32;
	q = bpf_map_lookup_elem(&cfi_pending, &pid);
	mi = uw_find_pending(q, pc);
	barrier_var(mi);
	if (q && mi >= 0 && mi < MP_CFI_PENDING)
		return &q->maps[mi];
	return NULL;
}

/*
 * The row of m's table at vaddr, or NULL: from this CPU's cache of the rows
 * the last walks used, or searched and cached.  A table's rows never change
 * once record published them, so an entry stays true for every process that
 * maps the file; a row the search did not find is cached as NULL.
 */
static __always_inline struct mp_cfi_row *uw_row(struct scratch *s, struct mp_cfi_map *m,
						 __u32 vaddr)
{
	__u32 h = (vaddr * 0x9e3779b1u ^ m->first) >> (32 - UW_CACHE_BITS);
	struct uw_cache_ent *e;
	int ri;

	barrier_var(h);
	if (h >= UW_CACHE)
		return NULL;
	e = &s->cache[h];
	if (e->first != m->first + 1 || e->vaddr != vaddr) {
		ri = uw_find_row(m, vaddr);
		barrier_var(ri);
		e->first = m->first + 1;
		e->vaddr = vaddr;
		e->row = ri < 0 ? -1 : ri;
	}
	ri = e->row;
	return ri < 0 ? NULL : bpf_map_lookup_elem(&cfi_rows, &ri);
}

/*
 * A word of the stack for the walk, as uw_read(), written into the walk's
 * memo: 0, or -1 when it could not be read.
 */
static __always_inline int uw_rd(struct scratch *s, __u64 addr, __u64 *out)
{
	struct uw *u = &s->uw;
	struct uw_memo *e;
	__u32 k = u->mn;

	if (uw_read(s, addr, out)) {
		u->mok = false;
		return -1;
	}
	if (!u->mok)
		return 0;
	if (k >= UW_MEMO_READS) {
		u->mok = false;
		return 0;
	}
	e = &s->memo[u->mslot & (UW_MEMO - 1)];
	e->addr[k] = addr;
	e->val[k] = *out;
	u->mn = k + 1;
	if (addr < u->mlo)
		u->mlo = addr;
	if (addr > u->mhi)
		u->mhi = addr;
	return 0;
}

/* The walk ends here, how. */
static __always_inline int uw_end(struct uw *u, __u32 end)
{
	u->end = end;
	return 1;
}

/*
 * One frame of a -g cfi walk (s->uw): from frame i's pc, sp and rbp to its
 * caller's, by the row of the table that covers pc, or by the frame-pointer
 * rule where none does.  0 when the caller's frame was added, 1 when the
 * walk ended (s->uw.end says how).
 */
__noinline int uw_frame(struct scratch *s, struct mp_cfi_proc *p, __u32 i)
{
	__u64 pc, look, cfa, ra, nbp, bp, slot;
	struct mp_cfi_row *r = NULL;
	struct mp_cfi_map *m;
	__u8 kind, aux, how;
	struct uw *u;
	__u16 off = 0;
	bool table;
	__s8 rbp;

	if (!s)
		return 1;
	u = &s->uw;
	pc = u->pc;
	bp = u->bp;
	look = u->exact ? pc : pc - 1;
	m = uw_map(u, p, look);
	if (m && m->count)
		r = uw_row(s, m, (__u32)(look - m->bias));
	kind = r ? r->kind : MP_CFI_NONE;
	aux = kind >> 4;
	kind &= 15;
	table = kind != MP_CFI_NONE;
	off = r ? r->cfa : 0;
	rbp = r ? r->rbp : MP_CFI_RBP_AT_RBP;

	switch (kind) {
	case MP_CFI_RSP:
		cfa = u->sp + (__u64)off * 8;
		break;
	case MP_CFI_RBP:
		cfa = bp + (__u64)off * 8;
		break;
	case MP_CFI_PLT11:
		cfa = u->sp + 8 + ((pc & 15) >= 11 ? 8 : 0);
		break;
	case MP_CFI_PLT10:
		cfa = u->sp + 8 + ((pc & 15) >= 10 ? 8 : 0);
		break;
	case MP_CFI_DEREF_RSP:
	case MP_CFI_DEREF_RBP:
		cfa = (kind == MP_CFI_DEREF_RSP ? u->sp : bp) + (__s64)(__s16)off * 8;
		if (uw_rd(s, cfa, &cfa) < 0)
			return uw_end(u, MP_UNWIND_UNREADABLE);
		cfa += aux * 8;
		break;
	case MP_CFI_REG:
		/* Only the first frame has every register. */
		if (i != 0)
			return uw_end(u, MP_UNWIND_BAD);
		u->mok = false;
		cfa = s->dregs[aux & 15] + (__u64)off * 8;
		break;
	case MP_CFI_SIGNAL: {
		/* The rt_sigframe's sigcontext at sp + 40: r8..r15 rdi rsi rbp rbx rdx rax rcx rsp rip */
		__u64 sc[17];

		u->mok = false;
		if (bpf_probe_read_user(sc, sizeof(sc), (void *)(u->sp + 40)))
			return uw_end(u, MP_UNWIND_UNREADABLE);
		u->bp = sc[10];
		u->sp = sc[15];
		u->pc = sc[16];
		u->exact = 1;
		goto push;
	}
	case MP_CFI_STOP:
		return uw_end(u, MP_UNWIND_COMPLETE);
	case MP_CFI_INVALID:
		return uw_end(u, MP_UNWIND_BAD);
	default:
		/* No CFI here: the frame-pointer rule, where a zero frame pointer ends the chain. */
		if (!bp)
			return uw_end(u, MP_UNWIND_COMPLETE);
		if (bp < u->sp || bp - u->sp > MAX_FRAME_SPAN || (bp & 7))
			return uw_end(u, MP_UNWIND_NO_TABLE);
		cfa = bp + 16;
		break;
	}

	how = table ? MP_UNWIND_UNREADABLE : MP_UNWIND_NO_TABLE;
	if (uw_rd(s, cfa - 8, &ra) < 0)
		return uw_end(u, how);
	if (rbp == MP_CFI_RBP_SAME)
		nbp = bp;
	else if (rbp == MP_CFI_RBP_LOST)
		nbp = 0;
	else {
		slot = rbp == MP_CFI_RBP_AT_RBP ? bp : cfa + (__s64)rbp * 8;
		if (uw_rd(s, slot, &nbp) < 0)
			nbp = 0;
	}
	if (u->t.tramp && ra == u->t.tramp) {
		u->mok = false;
		ra = uw_fix_tramp(&u->t.ri, cfa - 8);
	}
	if (!ra)
		return uw_end(u, MP_UNWIND_COMPLETE);
	if (cfa <= u->sp)
		return uw_end(u, table ? MP_UNWIND_BAD : MP_UNWIND_NO_TABLE);
	u->sp = cfa;
	u->bp = nbp;
	u->pc = ra;
	u->exact = 0;
push:
	if (i + 1 >= MP_STACK_DEPTH || u->ips > SCRATCH_HDR)
		return uw_end(u, MP_UNWIND_DEPTH);
	if (u->mok && i + 1 < UW_MEMO_READS)
		s->memo[u->mslot & (UW_MEMO - 1)].ips[i + 1] = u->pc;
	else
		u->mok = false;
	*(__u64 *)(s->buf + u->ips + (i + 1) * 8) = u->pc;
	u->n = i + 2;
	return 0;
}

/*
 * The walk of memo slot h again, if the stack still holds every word it read
 * (bpf/memprof.bpf.h, struct uw_memo): its frames written after the first,
 * at s->uw.ips, and their number; 0 when a word differs or the stack cannot
 * be read.  Either way the copy read stays in s's window for the walk.
 */
__noinline int uw_memo_hit(struct scratch *s, __u32 h)
{
	struct uw_memo *e;
	__u32 span, frames, ips;
	__u64 v, tramp;

	if (!s)
		return 0;
	e = &s->memo[h & (UW_MEMO - 1)];
	span = e->span;
	frames = e->frames;
	ips = s->uw.ips;
	tramp = s->uw.t.tramp;
	barrier_var(span);
	if (span < 8 || span > UW_WIN_MAX || frames < 1 || frames > UW_MEMO_READS ||
	    ips > SCRATCH_HDR)
		return 0;
	if (bpf_probe_read_user(s->win, span, (void *)e->lo))
		return 0;
	s->win_base = e->lo;
	s->win_len = span;
	for (__u32 i = 0; i < UW_MEMO_READS; i++) {
		if (i >= e->n)
			break;
		if (uw_win_word(s, e->addr[i] - e->lo, &v) || v != e->val[i])
			return 0;
	}
	for (__u32 k = 1; k < UW_MEMO_READS; k++) {
		if (k >= frames)
			break;
		v = e->ips[k];
		if (tramp && v == tramp)
			return 0;
		*(__u64 *)(s->buf + ips + k * 8) = v;
	}
	return frames;
}
