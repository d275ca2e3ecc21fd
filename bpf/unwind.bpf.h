/*
 * The user stack walks of the kernel side (included by memprof.bpf.h): -g cfi,
 * which unwinds each frame with the call frame information record compiled
 * into tables (bpf/memprof.h, record/cfi.c), falling back to the frame-pointer
 * rule where a file has none; and what every mode needs: the real return
 * addresses behind the uretprobe trampoline.
 *
 * The walk takes one frame per iteration of a bounded loop, and each frame
 * is a global function (unwind.bpf.c) with its state in the scratch entry:
 * the verifier checks it once, on its own, instead of once per path of
 * every program that walks, and the loop has no state of its own to
 * converge.  (A bpf_loop() callback around it cost one more call a frame.)
 */
#ifndef MEMPROF_BPF_UNWIND_BPF_H
#define MEMPROF_BPF_UNWIND_BPF_H

#define UTASK_SSTEP_STATE	1	/* enum uprobe_task_state: UTASK_SSTEP */

/* unwind.bpf.c */
int uw_find_pending(struct mp_cfi_pending *p, __u64 pc);
__u64 uw_fix_tramp(__u64 *ri, __u64 slot);
int uw_frame(struct scratch *s, struct mp_cfi_proc *p, __u32 i);
int uw_fetch(struct scratch *s, __u64 addr, __u64 *out);
int uw_memo_hit(struct scratch *s, __u32 h);

/*
 * The trampoline and the task's pending returns, and the first pc as the
 * program found it, mended: a fault on the trampoline page itself is the
 * caller's state at the real return address, and a fault while the kernel
 * single-steps a probed instruction out of line is at that instruction.
 */
static __always_inline __u64 uw_tramp_init(struct task_struct *task, struct uw_tramp *t, __u64 pc)
{
	struct uprobe_task *ut = task->utask;
	struct xol_area *area;
	__u64 xol;

	/*
	 * Plain loads through the task's BTF pointers, not BPF_CORE_READ(): the
	 * verifier makes them fault-safe without a helper call each, and this runs
	 * at every event.
	 */
	t->tramp = 0;
	t->ri = 0;
	if (!ut)
		return pc;
	t->ri = (__u64)ut->return_instances;
	if (t->ri) {
		area = task->mm->uprobes_state.xol_area;
		if (area)
			t->tramp = area->vaddr;
	}
	if (t->tramp && pc == t->tramp) {
		struct return_instance *ri = (void *)t->ri;

		pc = ri->orig_ret_vaddr;
		t->ri = (__u64)ri->next;
	}
	xol = ut->xol_vaddr;
	if (ut->state == UTASK_SSTEP_STATE && xol && pc >= xol && pc < xol + 16)
		pc = ut->vaddr + (pc - xol);
	return pc;
}

/* The word off bytes into s's window, which holds it; the bounds are the verifier's. */
static __always_inline int uw_win_word(struct scratch *s, __u64 off, __u64 *out)
{
	off &= UW_WIN_MAX - 1;
	if (off > UW_WIN_MAX - 8)
		return -1;
	*out = *(__u64 *)(s->win + off);
	return 0;
}

/*
 * A word of the user stack.  A read costs about the same whatever its size
 * up to a page: read a window of it once (uw_fetch()), and serve the next
 * frames' words from the copy.
 */
static __always_inline int uw_read(struct scratch *s, __u64 addr, __u64 *out)
{
	__u64 off;

	if (!out || !s)
		return -1;
	off = addr - s->win_base;
	if (addr >= s->win_base && off + 8 <= s->win_len)
		return uw_win_word(s, off, out);
	return uw_fetch(s, addr, out);
}

/* A return address read at slot: the real one when it is the trampoline. */
static __always_inline __u64 uw_tramp_fix(struct uw_tramp *t, __u64 ra, __u64 slot)
{
	if (!t->tramp || ra != t->tramp)
		return ra;
	return uw_fix_tramp(&t->ri, slot);
}

static __always_inline void uw_count(__u32 end)
{
	__u64 *n = bpf_map_lookup_elem(&unwind_ends, &end);

	if (n)
		*n += 1;
}

/*
 * -g cfi: the stack of the current task from regs, into ips (MP_STACK_DEPTH
 * entries of s's buffer); the number of frames, and in *end how the walk
 * ended.  From the walk this CPU remembers for the same start where the
 * stack still holds what it read (struct uw_memo); else walked, and
 * remembered in its turn where it can be.
 */
static __always_inline __u32 unwind_cfi(struct task_struct *task, struct pt_regs *regs,
					struct scratch *s, __u32 off, __u32 *end)
{
	__u32 pid = task->tgid, gen = cfi_gen;
	struct uw *u = &s->uw;
	struct mp_cfi_proc *proc;
	struct uw_memo *e;
	__u32 h, n;

	/* Plain loads: regs is the program's context, the task's pt_regs or scratch. */
	if (off > SCRATCH_HDR) {
		*end = MP_UNWIND_UNREADABLE;
		return 0;
	}
	s->win_len = 0;
	s->win_floor = regs->sp;
	u->pc = uw_tramp_init(task, &u->t, regs->ip);
	u->ips = off;
	*(__u64 *)(s->buf + off) = u->pc;
	/* The same walk as one remembered (struct uw_memo)?  No lookup of the mappings for it. */
	h = (u->pc ^ regs->sp >> 4) * 0x9e3779b97f4a7c15ull >> (64 - UW_MEMO_BITS);
	e = &s->memo[h & (UW_MEMO - 1)];
	if (e->span && e->tgid == pid && e->gen == gen && e->pc == u->pc && e->sp == regs->sp &&
	    e->bp == regs->bp) {
		n = uw_memo_hit(s, h);
		if (n) {
			uw_count(MP_UNWIND_MEMO);
			*end = e->end;
			return n;
		}
	}
	proc = bpf_map_lookup_elem(&cfi_procs, &pid);
	e->span = 0;
	u->mslot = h;
	u->mn = 0;
	u->mlo = ~0ull;
	u->mhi = 0;
	u->mok = proc != NULL;
	s->dregs[0] = regs->ax;
	s->dregs[1] = regs->dx;
	s->dregs[2] = regs->cx;
	s->dregs[3] = regs->bx;
	s->dregs[4] = regs->si;
	s->dregs[5] = regs->di;
	s->dregs[6] = regs->bp;
	s->dregs[7] = regs->sp;
	s->dregs[8] = regs->r8;
	s->dregs[9] = regs->r9;
	s->dregs[10] = regs->r10;
	s->dregs[11] = regs->r11;
	s->dregs[12] = regs->r12;
	s->dregs[13] = regs->r13;
	s->dregs[14] = regs->r14;
	s->dregs[15] = regs->r15;
	u->sp = regs->sp;
	u->bp = regs->bp;
	u->exact = 1;
	u->mi = -1;
	u->end = MP_UNWIND_DEPTH;
	u->n = 1;
	for (__u32 i = 0; i < MP_STACK_DEPTH - 1; i++)
		if (uw_frame(s, proc, i))
			break;
	*end = u->end;
	if (proc && u->mok && u->mn && u->mhi - u->mlo <= UW_WIN_MAX - 8) {
		e->tgid = pid;
		e->gen = gen;
		e->pc = *(__u64 *)(s->buf + off);
		e->sp = regs->sp;
		e->bp = regs->bp;
		e->lo = u->mlo;
		e->n = u->mn;
		e->frames = u->n;
		e->end = u->end;
		e->span = u->mhi - u->mlo + 8;
	}
	return u->n;
}

#endif
