// SPDX-License-Identifier: GPL-2.0
/*
 * The heap functions' uprobes: each call's arguments kept at its entry, per
 * thread, and its result and stack taken at its return; frees at their entry.
 */
#include "bpf/memprof.bpf.h"

/* Heap calls between entry and return: tid -> call. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct mp_inflight);
} inflight SEC(".maps");

static __always_inline int heap_enter(__u32 func, __u64 size, __u64 arg)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct mp_inflight *in, call = {};

	if (!is_target(id >> 32))
		return 0;
	in = bpf_map_lookup_elem(&inflight, &tid);
	if (in) {
		/* realloc(NULL, n) calling malloc, say: the outer call is the one. */
		in->depth++;
		return 0;
	}
	call.func = func;
	call.size = size;
	call.arg = arg;
	if (bpf_map_update_elem(&inflight, &tid, &call, BPF_ANY))
		count_lost(MP_LOST_HEAP);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(malloc_enter, size_t size)
{
	return heap_enter(MP_MALLOC, size, 0);
}

SEC("uprobe")
int BPF_KPROBE(calloc_enter, size_t n, size_t size)
{
	return heap_enter(MP_CALLOC, n * size, 0);
}

SEC("uprobe")
int BPF_KPROBE(realloc_enter, void *old, size_t size)
{
	return heap_enter(MP_REALLOC, size, (__u64)old);
}

SEC("uprobe")
int BPF_KPROBE(posix_memalign_enter, void **memptr, size_t align, size_t size)
{
	return heap_enter(MP_POSIX_MEMALIGN, size, (__u64)memptr);
}

SEC("uprobe")
int BPF_KPROBE(aligned_alloc_enter, size_t align, size_t size)
{
	return heap_enter(MP_ALIGNED_ALLOC, size, 0);
}

SEC("uprobe")
int BPF_KPROBE(memalign_enter, size_t align, size_t size)
{
	return heap_enter(MP_MEMALIGN, size, 0);
}

SEC("uprobe")
int BPF_KPROBE(valloc_enter, size_t size)
{
	return heap_enter(MP_VALLOC, size, 0);
}

/*
 * The stack is taken here, at the return: the caller's frame is complete
 * (at the entry the return address is only on the stack, not in the frame
 * chain, and a frame-pointer walk would skip the immediate caller).
 */
SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, void *ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct mp_inflight *in;
	struct mp_heap_alloc *ev;
	struct scratch *s;
	__u64 ptr = (__u64)ret;

	in = bpf_map_lookup_elem(&inflight, &tid);
	if (!in)
		return 0;
	if (in->depth) {
		in->depth--;
		return 0;
	}
	s = scratch_get();
	if (!s) {
		bpf_map_delete_elem(&inflight, &tid);
		count_lost(MP_LOST_HEAP);
		return 0;
	}
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_HEAP_ALLOC, id);
	ev->func = in->func;
	ev->size = in->size;
	ev->old_ptr = 0;
	ev->pad = 0;
	if (in->func == MP_POSIX_MEMALIGN) {
		ptr = 0;
		if (ret == 0)	/* returns 0 on success, the block in *memptr */
			bpf_probe_read_user(&ptr, sizeof(ptr), (void *)in->arg);
	} else if (in->func == MP_REALLOC) {
		ev->old_ptr = in->arg;
	}
	ev->ptr = ptr;
	bpf_map_delete_elem(&inflight, &tid);
	/* A failed allocation changes nothing, but a failed or freeing realloc does. */
	if (ptr || ev->func == MP_REALLOC)
		submit_with_stack(ctx, s, sizeof(*ev), MP_LOST_HEAP, false);
	scratch_put();
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(free_enter, void *ptr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct mp_heap_free ev;

	if (!ptr || !is_target(id >> 32))
		return 0;
	fill_hdr(&ev.hdr, MP_HEAP_FREE, id);
	ev.ptr = (__u64)ptr;
	submit(&ev, sizeof(ev), MP_LOST_HEAP, wakeup_flag());
	return 0;
}
