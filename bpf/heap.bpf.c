// SPDX-License-Identifier: GPL-2.0
/*
 * The heap functions' probes, one program for every allocator function and
 * its kind in the attach cookie (enum mp_heap_func: which arguments hold the
 * size and the old block).  Each call's arguments are kept at its entry, per
 * thread, and its result and stack taken at its return; frees at their entry.
 *
 * On kernels with uprobe sessions (6.13) entry and return are one program
 * and one session, which carries the call from one to the other in its
 * cookie; before, a uprobe and a uretprobe per site, paired through the
 * thread's `inflight` storage.
 *
 * With --heap-sample the allocations are sampled by bytes (sampled()), and a
 * free is an event only for a block that was sampled (`sampled_blocks`).  In a
 * launched command memprof's preload library samples in the process itself and
 * calls its probe points, sample_alloc and sample_free, for the samples only.
 */
#include "bpf/memprof.bpf.h"

/* bench/heap.sh's floor: the probes on the same sites, programs that do nothing. */
const volatile bool bare_probes = false;
/* Entries and returns are uprobe sessions (heap_session), not heap_entry and heap_return. */
const volatile bool heap_sessions = false;

/* --heap-sample: the mean bytes between samples (0: every call), and the draws. */
const volatile __u64 sample_interval = 0;
/* -ln((i + 0.5) / MP_SAMPLE_DRAWS) * sample_interval: the exponential gaps, by quantile. */
const volatile __u64 sample_gaps[MP_SAMPLE_DRAWS] = {};

/*
 * Each thread's heap call between its entry and return: task-local storage,
 * which costs one helper call at each end where a hash map keyed by tid cost
 * two (a lookup and an update or delete), each under the bucket's lock.
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mp_inflight);
} inflight SEC(".maps");

/* --heap-sample: the blocks sampled and still live, whose frees are events. */
struct sampled_key {
	__u32 pid;
	__u32 pad;
	__u64 ptr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);			/* resized by record with --heap-sample */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sampled_key);
	__type(value, __u8);
} sampled_blocks SEC(".maps");

/* --heap-sample in the kernel: each CPU's bytes left until its next sample. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} sample_left SEC(".maps");

/*
 * Whether an allocation of size bytes is sampled: a Poisson process over the
 * bytes allocated (tcmalloc's, jemalloc's and heapprofd's), with exponential
 * gaps of mean sample_interval; an allocation is sampled when a sampling
 * point falls in it, with probability 1 - exp(-size / interval), which report
 * divides by.
 */
static __always_inline bool sampled(__u64 size)
{
	__u32 zero = 0, i;
	__s64 *left = bpf_map_lookup_elem(&sample_left, &zero);

	if (!left)
		return false;
	/* A CPU's first: a gap of its own, or every CPU's first allocation would be a sample. */
	if (!*left)
		*left = sample_gaps[bpf_get_prandom_u32() & (MP_SAMPLE_DRAWS - 1)];
	*left -= size;
	if (*left >= 0)
		return false;
	i = bpf_get_prandom_u32() & (MP_SAMPLE_DRAWS - 1);
	*left = sample_gaps[i];
	return true;
}

static __always_inline void sampled_key(struct sampled_key *k, __u64 id, __u64 ptr)
{
	k->pid = id >> 32;
	k->pad = 0;
	k->ptr = ptr;
}

/* Takes a sampled block out of the set: whether it was there. */
static __always_inline bool sampled_forget(__u64 id, __u64 ptr)
{
	struct sampled_key k;

	sampled_key(&k, id, ptr);
	return !bpf_map_delete_elem(&sampled_blocks, &k);
}

static __always_inline void sampled_add(__u64 id, __u64 ptr)
{
	struct sampled_key k;
	__u8 one = 1;

	sampled_key(&k, id, ptr);
	if (bpf_map_update_elem(&sampled_blocks, &k, &one, BPF_ANY))
		count_lost(MP_LOST_HEAP);
}

/* A call's size and second argument (realloc's block, posix_memalign's memptr), by its kind. */
static __always_inline void call_args(struct pt_regs *ctx, __u32 func, struct mp_inflight *in)
{
	in->func = func;
	in->depth = 0;
	in->arg = 0;
	switch (func) {
	case MP_CALLOC:
		in->size = PT_REGS_PARM1(ctx) * PT_REGS_PARM2(ctx);
		break;
	case MP_REALLOC:
		in->arg = PT_REGS_PARM1(ctx);
		in->size = PT_REGS_PARM2(ctx);
		break;
	case MP_POSIX_MEMALIGN:
		in->arg = PT_REGS_PARM1(ctx);
		in->size = PT_REGS_PARM3(ctx);
		break;
	case MP_ALIGNED_ALLOC:
	case MP_MEMALIGN:
		in->size = PT_REGS_PARM2(ctx);
		break;
	default:		/* malloc, valloc, operator new, mallocx: the size first */
		in->size = PT_REGS_PARM1(ctx);
		break;
	}
}

/*
 * With --heap-sample, the call's verdict, for its return: in->depth says
 * whether the new block is a sample; a realloc of a block not sampled is an
 * allocation (its old block, in->arg, set to 0), of a sampled one also its free.
 */
static __always_inline void sample_call(__u64 id, struct mp_inflight *in)
{
	struct sampled_key k;

	if (!sample_interval)
		return;
	if (in->func == MP_REALLOC && in->arg) {
		sampled_key(&k, id, in->arg);
		if (!bpf_map_lookup_elem(&sampled_blocks, &k))
			in->arg = 0;
	}
	in->depth = sampled(in->size);
}

static __always_inline void emit_free(void *ctx, __u64 id, __u64 ptr)
{
	struct mp_heap_free ev;

	fill_hdr_at(&ev.hdr, MP_HEAP_FREE, id, heap_time());
	ev.ptr = ptr;
	submit(&ev, sizeof(ev), MP_LOST_HEAP, wakeup_flag());
}

/*
 * The stack is taken at the return: the caller's frame is complete (at the
 * entry the return address is only on the stack, not in the frame chain,
 * and a frame-pointer walk would skip the immediate caller).
 */
static __always_inline void emit_alloc(struct pt_regs *ctx, struct task_struct *task, __u64 id,
				       const struct mp_inflight *in, __u64 ret)
{
	struct mp_heap_alloc *ev;
	struct scratch *s;
	__u64 ptr = ret;

	if (in->func == MP_POSIX_MEMALIGN) {
		ptr = 0;
		if (ret == 0)	/* returns 0 on success, the block in *memptr */
			bpf_probe_read_user(&ptr, sizeof(ptr), (void *)in->arg);
	}
	if (sample_interval) {
		/* A realloc of a sampled block: its free, and the new block if sampled too. */
		if (in->func == MP_REALLOC && in->arg && (ptr || !in->size))
			sampled_forget(id, in->arg);
		if (!in->depth || !ptr) {
			if (in->func == MP_REALLOC && in->arg && (ptr || !in->size))
				emit_free(ctx, id, in->arg);
			return;
		}
		sampled_add(id, ptr);
	}
	/* A failed allocation changes nothing, but a failed or freeing realloc does. */
	if (!ptr && in->func != MP_REALLOC)
		return;
	s = scratch_get();
	if (!s) {
		count_lost(MP_LOST_HEAP);
		return;
	}
	ev = (void *)s->buf;
	fill_hdr_at(&ev->hdr, MP_HEAP_ALLOC, id, heap_time());
	ev->func = in->func;
	ev->size = in->size;
	ev->old_ptr = in->func == MP_REALLOC ? in->arg : 0;
	ev->pad = 0;
	ev->ptr = ptr;
	submit_with_stack(task, ctx, s, sizeof(*ev), MP_LOST_HEAP, false);
	scratch_put(s);
}

static __always_inline void on_free(void *ctx, __u64 id, __u64 ptr)
{
	if (!ptr)
		return;
	if (sample_interval && !sampled_forget(id, ptr))
		return;
	emit_free(ctx, id, ptr);
}

/*
 * bpf_get_current_pid_tgid()'s value from the task the program has already:
 * two loads instead of a helper call.
 */
static __always_inline __u64 task_pid_tgid(struct task_struct *task)
{
	return (__u64)task->tgid << 32 | (__u32)task->pid;
}

/* Uprobe sessions (kernel 6.13): is this run of the program the function's return? */
extern bool bpf_session_is_return(void) __ksym __weak;
/* ... and the session's 8 bytes, kept from the entry for the return. */
extern __u64 *bpf_session_cookie(void) __ksym __weak;

/*
 * A heap call's entry, without sessions (kernels before 6.13): its arguments
 * kept in the thread's storage for its return.  Its return matters, unless
 * the call is another process's or nested in a heap call of the thread
 * (realloc(NULL, n) calling malloc, say: the outer call is the one).  The
 * nested calls' returns fire all the same: depth counts them.
 */
static __always_inline void heap_call_enter(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = task_pid_tgid(task);
	struct mp_inflight *in;
	__u64 sp = ctx->sp;
	__u32 func;

	if (!is_target(id >> 32))
		return;
	func = bpf_get_attach_cookie(ctx);
	in = bpf_task_storage_get(&inflight, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!in) {
		count_lost(MP_LOST_HEAP);
		return;
	}
	/*
	 * Nested in the call in flight, whose frame is above this one.  A call in
	 * flight whose frame is below it never returned (an exception or a
	 * longjmp out of it): this call replaces it.
	 */
	if (in->sp && sp < in->sp) {
		in->depth++;
		return;
	}
	call_args(ctx, func, in);
	/*
	 * Kept whether or not it is a sample, so that the calls nested in it are
	 * known as such; the return of one not sampled emits nothing.
	 */
	sample_call(id, in);
	/* depth counts nested calls from here on: the sample's verdict goes in func's high bits. */
	in->func |= in->depth << 16;
	in->depth = 0;
	in->sp = sp;
}

/* A heap call's return: its event, from what its entry kept. */
static __always_inline void heap_call_return(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mp_inflight *in, call;

	in = bpf_task_storage_get(&inflight, task, NULL, 0);
	if (!in || !in->sp)
		return;
	if (in->depth) {
		in->depth--;
		return;
	}
	call = *in;
	in->sp = 0;
	call.depth = call.func >> 16;
	call.func &= 0xffff;
	emit_alloc(ctx, task, task_pid_tgid(task), &call, PT_REGS_RC(ctx));
}

SEC("uprobe")
int heap_entry(struct pt_regs *ctx)
{
	if (!bare_probes)
		heap_call_enter(ctx);
	return 0;
}

SEC("uretprobe")
int heap_return(struct pt_regs *ctx)
{
	if (!bare_probes)
		heap_call_return(ctx);
	return 0;
}

/*
 * In a session, a call's kind, size and sample verdict travel from its entry
 * to its return in the session's cookie, not in the thread's storage:
 * COOKIE_TAG in the top byte (a session of ours), the kind, whether it is a
 * sample, whether the thread's storage holds its second argument (realloc's
 * block, posix_memalign's memptr), and the size, which saturates at 2^48 - 1
 * (no allocation that large succeeds).
 */
#define COOKIE_TAG		0xa5ull
#define COOKIE_SIZE_MAX		((1ull << 48) - 1)
#define COOKIE_ARG		(1ull << 48)
#define COOKIE_SAMPLE		(1ull << 49)
#define COOKIE_FUNC_SHIFT	50

/*
 * Whether a call is nested in a heap call of the thread in flight (realloc(NULL,
 * n) calling malloc, say: the outer call is the one): the task's pending
 * returns, newest first, hold that call's session, with a frame above this
 * one.  One whose frame is below never returned (an exception or a longjmp
 * out of it).
 */
static __always_inline bool session_nested(struct task_struct *task, __u64 sp)
{
	struct uprobe_task *ut = task->utask;
	struct return_instance *ri;

	if (!ut)
		return false;
	ri = ut->return_instances;
	for (int i = 0; i < 4 && ri; i++) {
		if (ri->stack > sp && ri->consumer.cookie >> 56 == COOKIE_TAG)
			return true;
		ri = ri->next;
	}
	return false;
}

/* A session's entry: 0 for its return to be probed, 1 for it not to be. */
static __always_inline int session_enter(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = task_pid_tgid(task), v, *cookie;
	struct mp_inflight call, *in;

	if (!is_target(id >> 32) || session_nested(task, ctx->sp))
		return 1;
	call_args(ctx, bpf_get_attach_cookie(ctx), &call);
	sample_call(id, &call);
	/* A malloc --heap-sample does not sample: nothing nests in a malloc, no return is needed. */
	if (sample_interval && !call.depth && call.func == MP_MALLOC)
		return 1;
	cookie = bpf_session_cookie();
	if (!cookie)
		return 1;
	v = COOKIE_TAG << 56 | (__u64)call.func << COOKIE_FUNC_SHIFT |
	    (call.size < COOKIE_SIZE_MAX ? call.size : COOKIE_SIZE_MAX);
	if (call.depth)
		v |= COOKIE_SAMPLE;
	if (call.arg) {
		in = bpf_task_storage_get(&inflight, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!in) {
			count_lost(MP_LOST_HEAP);
			return 1;
		}
		in->arg = call.arg;
		v |= COOKIE_ARG;
	}
	*cookie = v;
	return 0;
}

static __always_inline void session_return(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *cookie = bpf_session_cookie(), v;
	struct mp_inflight call, *in;

	if (!cookie)
		return;
	v = *cookie;
	if (v >> 56 != COOKIE_TAG)
		return;
	call.func = (v >> COOKIE_FUNC_SHIFT) & 63;
	call.depth = !!(v & COOKIE_SAMPLE);
	call.size = v & COOKIE_SIZE_MAX;
	call.arg = 0;
	call.sp = 0;
	if (v & COOKIE_ARG) {
		in = bpf_task_storage_get(&inflight, task, NULL, 0);
		if (!in) {
			count_lost(MP_LOST_HEAP);
			return;
		}
		call.arg = in->arg;
	}
	emit_alloc(ctx, task, task_pid_tgid(task), &call, PT_REGS_RC(ctx));
}

/*
 * Entry and return as one uprobe session: the entry returns 0 for the return
 * to be probed, 1 for it not to be: a call of a process that is not a
 * target, a nested call and (--heap-sample) a malloc not sampled cost one
 * trap instead of two.  The bare probes keep both, as heap_entry and
 * heap_return have them.
 */
SEC("uprobe")
int heap_session(struct pt_regs *ctx)
{
	if (bpf_session_is_return()) {
		if (!bare_probes)
			session_return(ctx);
		return 0;
	}
	return bare_probes ? 0 : session_enter(ctx);
}

/*
 * A free nested in a heap call in flight (realloc calling free, in some
 * allocators) is that call's: its event frees the old block.
 */
static __always_inline bool free_nested(struct task_struct *task, __u64 sp)
{
	struct mp_inflight *in;

	if (heap_sessions)
		return session_nested(task, sp);
	in = bpf_task_storage_get(&inflight, task, NULL, 0);
	return in && in->sp && sp < in->sp;
}

/* The frees: a program of their own, which needs no cookie to know the kind. */
SEC("uprobe")
int heap_free(struct pt_regs *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = task_pid_tgid(task);

	if (!bare_probes && is_target(id >> 32) && !free_nested(task, ctx->sp))
		on_free(ctx, id, PT_REGS_PARM1(ctx));
	return 0;
}

/* ---- the preload library's probe points (preload/sample.c) ---- */

/*
 * memprof_sample_alloc(ptr, size, func) and memprof_sample_free(ptr) are
 * called by the library's malloc ... from its own frame: the probe is at their
 * first instruction, so the return address into that frame is at the stack
 * pointer and the library's frame is the frame-pointer one.  The stack starts
 * at its caller, the program, as it would at an allocator's return.
 */
static __always_inline struct pt_regs *caller_regs(struct pt_regs *ctx, struct scratch *s)
{
	struct pt_regs *r = &s->regs;
	__u64 frame[2];

	if (bpf_probe_read_kernel(r, sizeof(*r), ctx))
		return NULL;
	if (bpf_probe_read_user(frame, sizeof(frame), (void *)r->bp))
		return NULL;
	r->ip = frame[1];
	r->sp = r->bp + 16;
	r->bp = frame[0];
	return r;
}

SEC("uprobe")
int sample_alloc(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mp_heap_alloc *ev;
	struct scratch *s;

	if (!is_target(id >> 32))
		return 0;
	s = scratch_get();
	if (!s) {
		count_lost(MP_LOST_HEAP);
		return 0;
	}
	ev = (void *)s->buf;
	fill_hdr_at(&ev->hdr, MP_HEAP_ALLOC, id, heap_time());
	ev->ptr = PT_REGS_PARM1(ctx);
	ev->size = PT_REGS_PARM2(ctx);
	ev->func = PT_REGS_PARM3(ctx) & 0xff;
	ev->old_ptr = 0;
	ev->pad = 0;
	submit_with_stack(bpf_get_current_task_btf(), caller_regs(ctx, s), s, sizeof(*ev),
			  MP_LOST_HEAP, false);
	scratch_put(s);
	return 0;
}

SEC("uprobe")
int sample_free(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (is_target(id >> 32))
		emit_free(ctx, id, PT_REGS_PARM1(ctx));
	return 0;
}
