// SPDX-License-Identifier: GPL-2.0
/*
 * The targets' system calls: executable mappings (ld.so, dlopen), which make
 * user space rescan the maps, and with -e mmap every successful mmap, munmap,
 * mremap and brk, with its stack.
 */
#include "bpf/memprof.bpf.h"

#define NR_MMAP		9	/* x86_64 */
#define NR_MUNMAP	11
#define NR_BRK		12
#define NR_MREMAP	25

const volatile bool vm_events = false;		/* -e mmap: mmap, munmap, mremap, brk */

/* brk calls between entry and return: tid -> the break before. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} brk_before SEC(".maps");

/* brk's result is the new break only: the old one is read on the way in. */
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long nr)
{
	__u64 id, brk;
	__u32 tid;

	if (nr != NR_BRK)
		return 0;
	id = bpf_get_current_pid_tgid();
	if (!is_target(id >> 32))
		return 0;
	tid = (__u32)id;
	brk = BPF_CORE_READ((struct task_struct *)bpf_get_current_task_btf(), mm, brk);
	bpf_map_update_elem(&brk_before, &tid, &brk, BPF_ANY);
	return 0;
}

/* -e mmap: a successful mmap, munmap, mremap or brk of a target, with its stack. */
static __always_inline void vm_event(struct scratch *s, struct pt_regs *regs, long nr, long ret,
				     __u64 id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mp_vmcall *ev;
	__u64 page = 4095;
	__u32 tid = (__u32)id;

	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_VMCALL, id);
	ev->pad = 0;
	ev->prot = 0;
	ev->flags = 0;
	ev->old_addr = 0;
	ev->old_len = 0;
	ev->len = 0;
	switch (nr) {
	case NR_MMAP:
		ev->call = MP_VM_MMAP;
		ev->addr = ret;
		ev->len = (BPF_CORE_READ(regs, si) + page) & ~page;
		ev->prot = BPF_CORE_READ(regs, dx);
		ev->flags = BPF_CORE_READ(regs, r10);
		break;
	case NR_MUNMAP:
		ev->call = MP_VM_MUNMAP;
		ev->addr = BPF_CORE_READ(regs, di);
		ev->len = (BPF_CORE_READ(regs, si) + page) & ~page;
		break;
	case NR_MREMAP:
		ev->call = MP_VM_MREMAP;
		ev->old_addr = BPF_CORE_READ(regs, di);
		ev->old_len = (BPF_CORE_READ(regs, si) + page) & ~page;
		ev->len = (BPF_CORE_READ(regs, dx) + page) & ~page;
		ev->flags = BPF_CORE_READ(regs, r10);
		ev->addr = ret;
		break;
	default: {
		__u64 *before = bpf_map_lookup_elem(&brk_before, &tid);

		if (!before)
			return;
		ev->call = MP_VM_BRK;
		ev->old_addr = *before;
		ev->addr = ret;
		bpf_map_delete_elem(&brk_before, &tid);
		/* A query (brk(0)) or a refused move changes nothing. */
		if (ev->addr == ev->old_addr)
			return;
		break;
	}
	}
	submit_with_stack(task, user_regs(task), s, sizeof(*ev), MP_LOST_MMAP, true);
}

static __always_inline void vm_call(struct pt_regs *regs, long nr, long ret, __u64 id)
{
	struct scratch *s = scratch_get();

	if (!s) {
		count_lost(MP_LOST_MMAP);
		return;
	}
	vm_event(s, regs, nr, ret, id);
	scratch_put(s);
}

/* A file mapped executable (ld.so, dlopen): user space rescans the maps. */
static __always_inline void mmap_exec(struct pt_regs *regs, long ret, __u64 id)
{
	struct fdtable *fds;
	struct mp_mmap *ev;
	struct scratch *s;
	__u32 fd;

	if (ret < 0 || BPF_CORE_READ(regs, orig_ax) != NR_MMAP)
		return;
	if (!(BPF_CORE_READ(regs, dx) & MP_PROT_EXEC) || (long)BPF_CORE_READ(regs, r8) < 0)
		return;
	if (!is_target(id >> 32))
		return;
	s = scratch_get();
	if (!s) {
		count_lost(MP_LOST_OTHER);
		return;
	}
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_MMAP_EXEC, id);
	__builtin_memset(&ev->vma, 0, sizeof(ev->vma));
	ev->path[0] = 0;
	ev->vma.start = ret;
	ev->vma.end = ret + ((BPF_CORE_READ(regs, si) + 4095) & ~4095ull);
	ev->vma.pgoff = BPF_CORE_READ(regs, r9);
	ev->vma.prot = BPF_CORE_READ(regs, dx) & (MP_PROT_READ | MP_PROT_WRITE | MP_PROT_EXEC);
	/* The file is the mmap's fd, still open at its return. */
	fd = BPF_CORE_READ(regs, r8);
	fds = BPF_CORE_READ((struct task_struct *)bpf_get_current_task_btf(), files, fdt);
	if (fd < BPF_CORE_READ(fds, max_fds)) {
		struct file **arr = BPF_CORE_READ(fds, fd);
		struct file *file = NULL;

		bpf_probe_read_kernel(&file, sizeof(file), &arr[fd]);
		if (file) {
			file_id(file, &ev->vma);
			file_path(file, ev->path);
		}
	}
	cfi_append(id >> 32, &ev->vma);
	submit(ev, sizeof(ev[0]), MP_LOST_OTHER, BPF_RB_FORCE_WAKEUP);
	scratch_put(s);
}

/*
 * Every system call's exit, for -e mmap (and where the mmap tracepoint below
 * cannot be attached): each successful mmap, munmap, mremap and brk is an
 * event, and executable mappings make user space rescan the maps.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	long nr;

	if (vm_events) {
		nr = BPF_CORE_READ(regs, orig_ax);
		if ((nr == NR_MMAP || nr == NR_MUNMAP || nr == NR_MREMAP || nr == NR_BRK) &&
		    (ret >= 0 || ret < -4095) && is_target(id >> 32))
			vm_call(regs, nr, ret, id);
	}
	mmap_exec(regs, ret, id);
	return 0;
}

/*
 * mmap's exit alone, without -e mmap: a program on every system call's exit
 * would run at every uretprobe's return too (the kernel returns from them
 * through a system call), and at every system call of the machine.
 */
SEC("tracepoint/syscalls/sys_exit_mmap")
int sys_exit_mmap(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	mmap_exec((struct pt_regs *)bpf_task_pt_regs(task), ctx->ret, bpf_get_current_pid_tgid());
	return 0;
}
