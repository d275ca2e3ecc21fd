// SPDX-License-Identifier: GPL-2.0
/*
 * The heap functions' probes, one program for every allocator function and
 * its kind in the attach cookie (enum mp_heap_func: which arguments hold the
 * size and the old block).  Each call's arguments are kept at its entry, per
 * thread, and its result and stack taken at its return; frees at their entry.
 *
 * A uprobe and a uretprobe per site, paired through the thread's `inflight`
 * storage.
 *
 * With --heap-sample the allocations are sampled by bytes (sampled()), and a
 * free is an event only for a block that was sampled (`sampled_blocks`).  In a
 * launched command memprof's preload library samples in the process itself and
 * calls its probe points, sample_alloc and sample_free, for the samples only.
 */
#include "bpf/memprof.bpf.h"

/* bench/heap.sh's floor: the probes on the same sites, programs that do nothing. */
const volatile bool bare_probes = false;

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
static __always_inline void emit_alloc(struct pt_regs *ctx, __u64 id, const struct mp_inflight *in,
				       __u64 ret)
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
	submit_with_stack(ctx, s, sizeof(*ev), MP_LOST_HEAP, false);
	scratch_put();
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

/*
 * A heap call's entry: its arguments kept in the thread's storage for its
 * return.  Whether its return matters: not for another process's call, nor
 * one nested in a heap call of the thread (realloc(NULL, n) calling malloc,
 * say: the outer call is the one), nor, in a session, a malloc --heap-sample
 * does not sample (a malloc calls no other heap function: nothing nests in
 * it).  Without a session the nested calls' returns fire all the same:
 * depth counts them.
 */
static __always_inline bool heap_call_enter(struct pt_regs *ctx, bool session)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = task_pid_tgid(task);
	struct mp_inflight *in;
	__u64 sp = ctx->sp;
	__u32 func;

	if (!is_target(id >> 32))
		return false;
	func = bpf_get_attach_cookie(ctx);
	in = bpf_task_storage_get(&inflight, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!in) {
		count_lost(MP_LOST_HEAP);
		return false;
	}
	/*
	 * Nested in the call in flight, whose frame is above this one.  A call in
	 * flight whose frame is below it never returned (an exception or a
	 * longjmp out of it): this call replaces it.
	 */
	if (in->sp && sp < in->sp) {
		if (!session)
			in->depth++;
		return false;
	}
	call_args(ctx, func, in);
	/*
	 * Kept whether or not it is a sample, so that the calls nested in it are
	 * known as such; the return of one not sampled emits nothing.
	 */
	sample_call(id, in);
	if (session && sample_interval && !in->depth && func == MP_MALLOC) {
		in->sp = 0;	/* it replaced a call that never returned, if any */
		return false;
	}
	/* depth counts nested calls from here on: the sample's verdict goes in func's high bits. */
	in->func |= in->depth << 16;
	in->depth = 0;
	in->sp = sp;
	return true;
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
	emit_alloc(ctx, task_pid_tgid(task), &call, PT_REGS_RC(ctx));
}

SEC("uprobe")
int heap_entry(struct pt_regs *ctx)
{
	if (!bare_probes)
		heap_call_enter(ctx, false);
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
			heap_call_return(ctx);
		return 0;
	}
	return bare_probes || heap_call_enter(ctx, true) ? 0 : 1;
}

/* The frees: a program of their own, which needs no cookie to know the kind. */
SEC("uprobe")
int heap_free(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	if (!bare_probes && is_target(id >> 32))
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
	submit_with_stack(caller_regs(ctx, s), s, sizeof(*ev), MP_LOST_HEAP, false);
	scratch_put();
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
