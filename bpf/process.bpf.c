// SPDX-License-Identifier: GPL-2.0
/*
 * The targets' lifecycle: forks (a target's children become targets),
 * execs (with the text mapping and argv), exits (with the resident set as
 * the process leaves, its per-CPU counters summed), renames, and the moment
 * an exiting target starts unmapping its memory.
 */
#include "bpf/memprof.bpf.h"

const volatile bool inherit = true;		/* follow new child processes */
/*
 * Which processes become targets by themselves (record -a, --comm, --exec):
 * with follow_all every new process but record itself (self_tgid) and kernel
 * threads; with match_comm or match_exec a process whose exec gives it that
 * name (comm) or that executable (its inode), with its children.
 */
const volatile bool follow_all = false;
const volatile __u32 self_tgid = 0;
const volatile bool match_by_comm = false;
const volatile char match_comm[MP_COMM_LEN] = {};
const volatile bool match_by_exec = false;
const volatile __u64 match_ino = 0;
const volatile __u32 match_dev = 0;

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 tgid = BPF_CORE_READ(child, tgid);
	__u8 on = MP_TARGET_ON;
	struct mp_fork ev = {};

	if (tgid == ptgid)
		return 0;
	if (follow_all) {
		if (BPF_CORE_READ(child, flags) & PF_KTHREAD || tgid == self_tgid)
			return 0;
	} else if (!inherit || !is_target(ptgid)) {
		return 0;
	}
	if (!bpf_map_update_elem(&targets, &tgid, &on, BPF_ANY))
		target_bit(tgid, true);
	/* -g cfi: the child has its parent's mappings until it execs. */
	if (stack_mode == MP_STACK_CFI) {
		struct mp_cfi_proc *pp = bpf_map_lookup_elem(&cfi_procs, &ptgid);
		struct mp_cfi_pending *pq = bpf_map_lookup_elem(&cfi_pending, &ptgid);

		if (pp)
			bpf_map_update_elem(&cfi_procs, &tgid, pp, BPF_ANY);
		if (pq)
			bpf_map_update_elem(&cfi_pending, &tgid, pq, BPF_ANY);
	}
	fill_hdr(&ev.hdr, MP_FORK, ((__u64)tgid << 32) | BPF_CORE_READ(child, pid));
	ev.ppid = ptgid;
	BPF_CORE_READ_STR_INTO(&ev.comm, child, comm);
	submit(&ev, sizeof(ev), MP_LOST_OTHER, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* bpf_find_vma()'s callback: the file and address of the mapping found. */
struct vma_file {
	struct mp_cfi_key key;
	__u64 start, pgoff;
};

static long vma_file_cb(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct vma_file *vf = ctx;
	struct inode *inode = BPF_CORE_READ(vma, vm_file, f_inode);

	vf->key.ino = BPF_CORE_READ(inode, i_ino);
	vf->key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	vf->start = BPF_CORE_READ(vma, vm_start);
	vf->pgoff = BPF_CORE_READ(vma, vm_pgoff) << 12;
	return 0;
}

/* Adds the text of file key, loaded at bias, to the mappings being built in s->proc. */
static __always_inline void exec_mapping(struct scratch *s, struct mp_cfi_key *key, __u64 bias)
{
	struct mp_cfi_file *f = bpf_map_lookup_elem(&cfi_files, key);
	__u32 n = s->pending.nexec;

	if (!f || n >= MP_CFI_EXEC)
		return;
	cfi_map_fill(&s->pending.maps[n], f, bias + f->text_vaddr, bias);
	s->pending.nexec = n + 1;
}

/*
 * -g cfi: a target's executable mappings as its exec left them, for the
 * walks of its first instructions, before record reads its maps: the
 * program's text, the dynamic loader's (at AT_BASE) and the vDSO's, where
 * record has their tables already.
 */
static __always_inline void exec_mappings(struct scratch *s, struct task_struct *p, __u32 tgid)
{
	struct mm_struct *mm = BPF_CORE_READ(p, mm);
	struct inode *exe = BPF_CORE_READ(mm, exe_file, f_inode);
	struct mp_cfi_key key = {
		.ino = BPF_CORE_READ(exe, i_ino), .dev = BPF_CORE_READ(exe, i_sb, s_dev),
	};
	struct mp_cfi_file *f = bpf_map_lookup_elem(&cfi_files, &key);
	__u64 base = 0, vdso;

	s->pending.n = 0;
	s->pending.nexec = 0;
	/* The program's text starts at its lowest executable segment plus the load bias. */
	if (f)
		exec_mapping(s, &key, BPF_CORE_READ(mm, start_code) - f->text_vaddr);
	for (int i = 0; i < 56; i += 2) {
		__u64 type = BPF_CORE_READ(mm, saved_auxv[i]);

		if (type == 7)	/* AT_BASE */
			base = BPF_CORE_READ(mm, saved_auxv[i + 1]);
		if (type == 0 || base)
			break;
	}
	if (base) {
		struct vma_file vf = {};

		if (!bpf_find_vma(p, base, vma_file_cb, &vf, 0) && vf.key.ino)
			exec_mapping(s, &vf.key, base);
	}
	vdso = (__u64)BPF_CORE_READ(mm, context.vdso);
	if (vdso) {
		struct mp_cfi_key vkey = {};

		exec_mapping(s, &vkey, vdso);
	}
	/* Record's list of the old image is of no use to the new one. */
	bpf_map_delete_elem(&cfi_procs, &tgid);
	cfi_changed();
	bpf_map_update_elem(&cfi_pending, &tgid, &s->pending, BPF_ANY);
}

/* Whether the exec of p makes it a target of its own (record -a, --comm, --exec). */
static __always_inline bool exec_matches(struct task_struct *p, __u32 tgid)
{
	char comm[MP_COMM_LEN];
	struct inode *exe;

	if (tgid == self_tgid)
		return false;
	if (follow_all)
		return true;
	if (match_by_exec) {
		exe = BPF_CORE_READ(p, mm, exe_file, f_inode);
		if (BPF_CORE_READ(exe, i_ino) != match_ino ||
		    BPF_CORE_READ(exe, i_sb, s_dev) != match_dev)
			return false;
	}
	if (match_by_comm) {
		BPF_CORE_READ_STR_INTO(&comm, p, comm);
		for (int i = 0; i < MP_COMM_LEN; i++) {
			if (comm[i] != match_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	return match_by_exec || match_by_comm;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct scratch *s;
	__u32 tgid = id >> 32;
	struct mp_exec *ev;
	__u8 on = MP_TARGET_ON, matched = 0;
	__u8 *v;

	v = bpf_map_lookup_elem(&targets, &tgid);
	if (!v) {
		if (!exec_matches(p, tgid) || bpf_map_update_elem(&targets, &tgid, &on, BPF_ANY))
			return 0;
		matched = MP_HDR_MATCHED;
	} else {
		*v = MP_TARGET_ON;
	}
	s = scratch_get();
	if (!s) {
		count_lost(MP_LOST_OTHER);
		target_bit(tgid, true);
		return 0;
	}
	if (stack_mode == MP_STACK_CFI)
		exec_mappings(s, p, tgid);
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_EXEC, id);
	ev->hdr.flags = matched;
	/* The text's bounds; user space finds its file offset in the ELF file. */
	__builtin_memset(&ev->text, 0, sizeof(ev->text));
	ev->text.start = BPF_CORE_READ(p, mm, start_code);
	ev->text.end = BPF_CORE_READ(p, mm, end_code);
	ev->text.pgoff = MP_PGOFF_UNKNOWN;
	ev->text.prot = MP_PROT_READ | MP_PROT_EXEC;
	file_id(BPF_CORE_READ(p, mm, exe_file), &ev->text);
	file_path(BPF_CORE_READ(p, mm, exe_file), ev->path);
	BPF_CORE_READ_STR_INTO(&ev->comm, p, comm);
	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), BPF_CORE_READ(bprm, filename));
	/* The new image's argv, on its stack already: as much as fits. */
	{
		__u64 as = BPF_CORE_READ(p, mm, arg_start), ae = BPF_CORE_READ(p, mm, arg_end);
		__u32 n = ae > as ? ae - as : 0;

		if (n > MP_ARGS_LEN)
			n = MP_ARGS_LEN;
		ev->args_len = 0;
		ev->pad2 = 0;
		if (n && !bpf_probe_read_user(ev->args, n, (void *)as))
			ev->args_len = n;
	}
	submit(ev, sizeof(*ev), MP_LOST_OTHER, BPF_RB_FORCE_WAKEUP);
	scratch_put(s);
	/*
	 * A new target's events follow its EXEC record, which starts its image.
	 * Interrupts run as this task: one that came before the record, such
	 * as the irq_work that refills a BPF map's allocator after
	 * exec_mappings' update and takes a slab page, would have put a page
	 * of the process in an image of no program, before this one.
	 */
	target_bit(tgid, true);
	return 0;
}

/*
 * A per-CPU map of ours, for the per-CPU offsets: the address of a CPU's
 * copy of its value less the map's per-CPU pointer is that CPU's offset.
 * (The kernel's own table of offsets is not visible to BPF on kernels
 * without data symbols in kallsyms.)
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cpu_area SEC(".maps");

const volatile __u32 nr_cpus = 1;		/* possible CPUs: record sets it */

struct counter_sum_ctx {
	__u64 counters;		/* the counter's per-CPU pointer */
	__u64 base;		/* cpu_area's */
	__s64 sum;
};

static long counter_sum_cpu(__u32 cpu, void *data)
{
	struct counter_sum_ctx *c = data;
	__u32 key = 0;
	__s32 part = 0;
	__u64 addr;
	void *v;

	v = bpf_map_lookup_percpu_elem(&cpu_area, &key, cpu);
	if (!v)
		return 0;
	addr = addr_of(v);
	if (!addr)
		return 0;
	bpf_probe_read_kernel(&part, sizeof(part), (void *)(c->counters + (addr - c->base)));
	c->sum += part;
	return 0;
}

/* cpu_area's per-CPU pointer, read once: 0 until then. */
__u64 cpu_area_base;

static __always_inline __u64 cpu_area_pptr(void)
{
	if (!cpu_area_base)
		cpu_area_base = percpu_array_pptr(&cpu_area, 0);
	return cpu_area_base;
}

/* percpu_counter_sum_positive(): the count and every CPU's part not yet folded into it. */
static __always_inline __u64 counter_sum(struct percpu_counter *pc, __u64 base)
{
	struct counter_sum_ctx c = {
		.counters = (__u64)BPF_CORE_READ(pc, counters),
		.base = base,
		.sum = BPF_CORE_READ(pc, count),
	};

	if (c.counters && c.base)
		bpf_loop(nr_cpus < 8192 ? nr_cpus : 8192, counter_sum_cpu, &c, 0);
	return c.sum > 0 ? c.sum : 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *p, bool group_dead)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct mp_exit ev = {};
	struct mm_struct *mm;
	int code;

	__u8 *v = bpf_map_lookup_elem(&targets, &tgid);

	if (!group_dead || !v)
		return 0;
	/* Kept, not deleted: its teardown's frees must still be told apart. */
	*v = MP_TARGET_EXITING;
	target_bit(tgid, false);
	if (stack_mode == MP_STACK_CFI) {
		bpf_map_delete_elem(&cfi_procs, &tgid);
		cfi_changed();
		bpf_map_delete_elem(&cfi_pending, &tgid);
	}
	fill_hdr(&ev.hdr, MP_EXIT, id);
	mm = BPF_CORE_READ(p, mm);
	if (mm) {
		__u64 rss[4], base = cpu_area_pptr();

		for (int i = 0; i < 4; i++)
			rss[i] = counter_sum(&mm->rss_stat[i], base);
		ev.file = rss[MM_FILEPAGES];
		ev.anon = rss[MM_ANONPAGES];
		ev.shmem = rss[MM_SHMEMPAGES];
		ev.hwm = BPF_CORE_READ(mm, hiwater_rss);
		if (ev.hwm < ev.file + ev.anon + ev.shmem)
			ev.hwm = ev.file + ev.anon + ev.shmem;
		ev.valid = 1;
	}
	code = BPF_CORE_READ(p, signal, group_exit_code);
	if (!code)
		code = BPF_CORE_READ(p, exit_code);
	ev.status = code;
	submit(&ev, sizeof(ev), MP_LOST_OTHER, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* prctl(PR_SET_NAME) and writes to /proc/.../comm: the names reports show. */
SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct mp_comm ev = {};

	if (!is_target(tgid))
		return 0;
	fill_hdr(&ev.hdr, MP_COMM, ((__u64)tgid << 32) | BPF_CORE_READ(task, pid));
	bpf_probe_read_kernel_str(ev.comm, sizeof(ev.comm), comm);
	submit(&ev, sizeof(ev), MP_LOST_OTHER, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/*
 * An exiting target's RSS changes while its mm has no users left: exit_mmap
 * is unmapping its memory, and frees from then on are its exit teardown.  The
 * frees before, at the start of exit_mmap, are pages the process had already
 * unmapped but that the kernel's per-CPU LRU batches still held: the process
 * had freed them.  (An RSS change earlier in the exit, a copy-on-write fault
 * clearing the child tid, say, happens while the mm still has its user.)
 */
SEC("tp_btf/rss_stat")
int BPF_PROG(rss_stat, struct mm_struct *mm, int member)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u32 tgid;
	__u8 *v;

	if (!(task->flags & PF_EXITING) || mm->mm_users.counter != 0)
		return 0;
	tgid = task->tgid;
	v = bpf_map_lookup_elem(&targets, &tgid);
	if (v && *v == MP_TARGET_EXITING)
		*v = MP_TARGET_UNMAPPING;
	return 0;
}

/* brk's result is the new break only: the old one is read on the way in. */
