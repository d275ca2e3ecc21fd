// SPDX-License-Identifier: GPL-2.0
/*
 * memprof's kernel side: follows the target processes (fork, exec, exit),
 * attributes physical page allocations to them and tracks their frees, and
 * pairs heap calls' entries and returns.  Events go to user space through one
 * ring buffer; user call stacks are copied into the events and deduplicated
 * in user space.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "bpf/memprof.h"

char LICENSE[] SEC("license") = "GPL";

#define PF_EXITING	0x00000004
#define PF_KTHREAD	0x00200000
#define NR_MMAP		9	/* x86_64 */
#define NR_MUNMAP	11
#define NR_BRK		12
#define NR_MREMAP	25
#define MAX_ORDER_SCAN	11

/* Tunables, set by record between open and load. */
const volatile bool inherit = true;		/* follow new child processes */
const volatile __u32 stack_mode = MP_STACK_FP;	/* enum mp_stack_mode */
const volatile __u32 dwarf_size = 8192;		/* -g dwarf,SIZE; at most MP_DWARF_MAX */
const volatile __u64 wakeup_bytes = 1 << 20;	/* wake user space past this much data */
const volatile bool vm_events = false;		/* -e mmap: mmap, munmap, mremap, brk */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);		/* resized by record (-m) */
} events SEC(".maps");

/* Processes being recorded: tgid -> MP_TARGET_*. */
struct {
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
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* resized by record: page frames / 64 */
	__type(key, __u32);
	__type(value, __u64);
} owned SEC(".maps");

/* Page cache pages the targets added, as `owned` is for their pages. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* resized by record, as `owned` */
	__type(key, __u32);
	__type(value, __u64);
} cached SEC(".maps");

/* brk calls between entry and return: tid -> the break before. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} brk_before SEC(".maps");

/* Heap calls between entry and return: tid -> call. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct mp_inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MP_LOST__MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/*
 * Scratch space for an event with its stack: too big for the BPF stack, and
 * with -g dwarf for a per-CPU map's value (32 KiB at most), so an array with
 * an entry per CPU (record sizes it), indexed by the CPU the program runs on.
 */
#define SCRATCH_HDR	128	/* room for the largest event body a stack follows */
#define SCRATCH_SIZE	(SCRATCH_HDR + sizeof(struct mp_ustack) + MP_DWARF_MAX)
struct scratch {
	__u8 buf[SCRATCH_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);			/* resized by record: possible CPUs */
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

const volatile __u64 owned_bits = 64;		/* bits in `owned`, a power of two */

static __always_inline void count_lost(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &what);

	if (n)
		*n += 1;
}

static __always_inline bool is_target(__u32 tgid)
{
	__u8 *v = bpf_map_lookup_elem(&targets, &tgid);

	return v && *v == MP_TARGET_ON;
}

static __always_inline void fill_hdr(struct mp_hdr *h, __u8 kind, __u64 pid_tgid)
{
	h->kind = kind;
	h->flags = 0;
	h->nr_ips = 0;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->pad = 0;
	h->time = bpf_ktime_get_ns();
}

/*
 * Wake user space only when enough has piled up: a wakeup per event would
 * cost the target a context switch each.  User space also polls on a timer.
 */
static __always_inline __u64 wakeup_flag(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void submit(void *data, __u64 size, __u32 lost_idx, __u64 flags)
{
	if (bpf_ringbuf_output(&events, data, size, flags))
		count_lost(lost_idx);
}

#define MAX_FRAME_SPAN	(64ull << 20)	/* a frame pointer this far above sp is garbage */

/*
 * Walks the user frame-pointer chain from regs into ips.  Our own walk, not
 * bpf_get_stack(): that one follows %rbp wherever it points, and a code
 * without frame pointers (glibc's __libc_start_call_main, say) leaves a value
 * there whose read faults, at the cost of an exception on every event.  A
 * frame must lie above the stack pointer and above the frame it came from.
 */
static __always_inline int walk_user_stack(struct pt_regs *regs, __u64 *ips, bool *complete)
{
	__u64 fp = BPF_CORE_READ(regs, bp), sp = BPF_CORE_READ(regs, sp);
	__u64 frame[2];
	int n = 1;

	ips[0] = BPF_CORE_READ(regs, ip);
	*complete = false;
	for (int i = 1; i < MP_STACK_DEPTH; i++) {
		/* A zero frame pointer ends the chain: _start clears it. */
		if (!fp) {
			*complete = true;
			break;
		}
		if (fp < sp || fp - sp > MAX_FRAME_SPAN || (fp & 7))
			break;
		if (bpf_probe_read_user(frame, sizeof(frame), (void *)fp))
			break;
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

/*
 * Copies the user registers and the stack from sp up, as much of dwarf_size
 * as is mapped: page by page, since one read that crosses the stack's end
 * would fail whole.  Returns the bytes of struct mp_ustack and data written.
 */
static __always_inline __u32 copy_user_stack(struct pt_regs *regs, struct mp_ustack *u)
{
	__u64 sp = BPF_CORE_READ(regs, sp);
	__u32 size = dwarf_size, done = 0, n;

	u->regs[0] = BPF_CORE_READ(regs, ax);
	u->regs[1] = BPF_CORE_READ(regs, dx);
	u->regs[2] = BPF_CORE_READ(regs, cx);
	u->regs[3] = BPF_CORE_READ(regs, bx);
	u->regs[4] = BPF_CORE_READ(regs, si);
	u->regs[5] = BPF_CORE_READ(regs, di);
	u->regs[6] = BPF_CORE_READ(regs, bp);
	u->regs[7] = sp;
	u->regs[8] = BPF_CORE_READ(regs, r8);
	u->regs[9] = BPF_CORE_READ(regs, r9);
	u->regs[10] = BPF_CORE_READ(regs, r10);
	u->regs[11] = BPF_CORE_READ(regs, r11);
	u->regs[12] = BPF_CORE_READ(regs, r12);
	u->regs[13] = BPF_CORE_READ(regs, r13);
	u->regs[14] = BPF_CORE_READ(regs, r14);
	u->regs[15] = BPF_CORE_READ(regs, r15);
	u->regs[16] = BPF_CORE_READ(regs, ip);
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
	return sizeof(*u) + done;
}

/*
 * Appends the user stack at off in the scratch event and submits it.  leaf:
 * regs are at an exact pc, where -g fp adds the words at the stack pointer.
 */
static __always_inline void submit_with_stack(struct pt_regs *regs, struct scratch *s, __u32 off,
					      __u32 lost_idx, bool leaf)
{
	struct mp_hdr *h = (void *)s->buf;
	__u64 n = 0;

	if (stack_mode == MP_STACK_DWARF && regs && off <= SCRATCH_HDR) {
		n = copy_user_stack(regs, (struct mp_ustack *)(s->buf + off));
		if (n > sizeof(struct mp_ustack) + MP_DWARF_MAX)
			n = sizeof(struct mp_ustack) + MP_DWARF_MAX;
		h->flags |= MP_HDR_USTACK;
		submit(s->buf, off + n, lost_idx, wakeup_flag());
		return;
	}
	if (stack_mode == MP_STACK_FP && regs &&
	    off + MP_STACK_DEPTH * sizeof(__u64) <= sizeof(s->buf)) {
		bool complete;

		n = walk_user_stack(regs, (__u64 *)(s->buf + off), &complete);
		/* Stopped at a frame pointer that led nowhere: the stack goes on, unseen. */
		if (!complete)
			h->flags |= MP_HDR_TRUNCATED;
	}
	if (n > MP_STACK_DEPTH)
		n = MP_STACK_DEPTH;
	h->nr_ips = n;
	if (leaf && stack_mode == MP_STACK_FP && regs && n &&
	    off + (MP_STACK_DEPTH + 1) * sizeof(__u64) + sizeof(struct mp_leaf) <= sizeof(s->buf)) {
		struct mp_leaf *l = (void *)(s->buf + off + n * sizeof(__u64));

		l->sp = BPF_CORE_READ(regs, sp);
		if (!bpf_probe_read_user(l->words, sizeof(l->words), (void *)l->sp)) {
			h->flags |= MP_HDR_LEAF;
			submit(s->buf, off + n * sizeof(__u64) + sizeof(*l), lost_idx, wakeup_flag());
			return;
		}
	}
	submit(s->buf, off + n * sizeof(__u64), lost_idx, wakeup_flag());
}

static __always_inline struct scratch *get_scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

/* ---- processes ---- */

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

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 tgid = BPF_CORE_READ(child, tgid);
	__u8 on = MP_TARGET_ON;
	struct mp_fork ev = {};

	if (!inherit || tgid == ptgid || !is_target(ptgid))
		return 0;
	bpf_map_update_elem(&targets, &tgid, &on, BPF_ANY);
	fill_hdr(&ev.hdr, MP_FORK, ((__u64)tgid << 32) | BPF_CORE_READ(child, pid));
	ev.ppid = ptgid;
	BPF_CORE_READ_STR_INTO(&ev.comm, child, comm);
	submit(&ev, sizeof(ev), MP_LOST_OTHER, BPF_RB_FORCE_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct scratch *s;
	__u32 tgid = id >> 32;
	struct mp_exec *ev;
	__u8 *v;

	v = bpf_map_lookup_elem(&targets, &tgid);
	if (!v)
		return 0;
	*v = MP_TARGET_ON;
	s = get_scratch();
	if (!s)
		return 0;
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_EXEC, id);
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
	/* The address as a number, which the verifier lets us compute with. */
	if (bpf_probe_read_kernel(&addr, sizeof(addr), &v))
		return 0;
	bpf_probe_read_kernel(&part, sizeof(part), (void *)(c->counters + (addr - c->base)));
	c->sum += part;
	return 0;
}

/* cpu_area's per-CPU pointer, read once: 0 until then. */
__u64 cpu_area_base;

/*
 * The verifier allows no arithmetic on a map's pointer, so the map's struct
 * is copied whole, as far as its first per-CPU pointer, into the scratch
 * buffer, and the pointer taken from there.
 */
static __always_inline __u64 cpu_area_pptr(void)
{
	__u32 off = bpf_core_field_offset(struct bpf_array, pptrs);
	__u32 cpu = bpf_get_smp_processor_id();
	struct scratch *s;

	if (cpu_area_base)
		return cpu_area_base;
	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s || off > 1024)
		return 0;
	if (bpf_probe_read_kernel(s->buf, 1024 + 8, &cpu_area))
		return 0;
	cpu_area_base = *(__u64 *)(s->buf + (off & 1023));
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

static __always_inline struct scratch *get_scratch(void);
static __always_inline struct pt_regs *user_regs(void);
static __always_inline void submit_with_stack(struct pt_regs *regs, struct scratch *s, __u32 off,
					      __u32 lost_idx, bool leaf);

/* -e mmap: a successful mmap, munmap, mremap or brk of a target, with its stack. */
static __always_inline void vm_call(struct pt_regs *regs, long nr, long ret, __u64 id)
{
	struct mp_vmcall *ev;
	struct scratch *s;
	__u64 page = 4095;
	__u32 tid = (__u32)id;

	s = get_scratch();
	if (!s)
		return;
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
	submit_with_stack(user_regs(), s, sizeof(*ev), MP_LOST_MMAP, true);
}

/*
 * A file mapped executable (ld.so, dlopen): user space rescans the maps.
 * With -e mmap, every successful mmap, munmap, mremap and brk is an event.
 */
SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct fdtable *fds;
	struct mp_mmap *ev;
	struct scratch *s;
	long nr;
	__u32 fd;

	if (vm_events) {
		nr = BPF_CORE_READ(regs, orig_ax);
		if ((nr == NR_MMAP || nr == NR_MUNMAP || nr == NR_MREMAP || nr == NR_BRK) &&
		    (ret >= 0 || ret < -4095) && is_target(id >> 32))
			vm_call(regs, nr, ret, id);
	}
	if (ret < 0 || BPF_CORE_READ(regs, orig_ax) != NR_MMAP)
		return 0;
	if (!(BPF_CORE_READ(regs, dx) & MP_PROT_EXEC) || (long)BPF_CORE_READ(regs, r8) < 0)
		return 0;
	if (!is_target(id >> 32))
		return 0;
	s = get_scratch();
	if (!s)
		return 0;
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
	submit(ev, sizeof(*ev), MP_LOST_OTHER, BPF_RB_FORCE_WAKEUP);
	return 0;
}

/* ---- physical pages ---- */

/* The user registers of the current task, for a tracepoint in kernel context. */
static __always_inline struct pt_regs *user_regs(void)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (task->flags & PF_KTHREAD)
		return NULL;
	return (struct pt_regs *)bpf_task_pt_regs(task);
}

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

SEC("raw_tp/mm_page_alloc")
int page_alloc(__u64 *ctx)
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

	s = get_scratch();
	if (!s)
		return 0;
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_PAGE_ALLOC, id);
	ev->page = pid;
	ev->order = order;
	ev->gfp = gfp;
	submit_with_stack(user_regs(), s, sizeof(*ev), MP_LOST_PAGE, true);
	return 0;
}

SEC("raw_tp/mm_page_free")
int page_free(__u64 *ctx)
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
	fill_hdr(&ev.hdr, MP_PAGE_FREE, id);
	task = bpf_get_current_task_btf();
	if (task->flags & PF_EXITING) {
		__u32 tgid = id >> 32;
		__u8 *v = bpf_map_lookup_elem(&targets, &tgid);

		if (v && *v == MP_TARGET_UNMAPPING)
			ev.hdr.flags |= MP_PAGE_FREE_EXITING;
	}
	ev.page = pid;
	ev.head = pid;
	ev.order = order;
	ev.pad = 0;
	submit(&ev, sizeof(ev), MP_LOST_PAGE, wakeup_flag());
	return 0;
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
	s = get_scratch();
	if (!s)
		return 0;
	ev = (void *)s->buf;
	fill_hdr(&ev->hdr, MP_CACHE_ADD, id);
	fill_cache(ev, folio, pid, order);
	submit_with_stack(user_regs(), s, sizeof(*ev), MP_LOST_CACHE, true);
	return 0;
}

/* Runs for every page cache deletion in the system: cheap when the folio is not ours. */
SEC("raw_tp/mm_filemap_delete_from_page_cache")
int cache_del(__u64 *ctx)
{
	struct folio *folio = (void *)ctx[0];
	unsigned int order = folio_order(folio);
	struct mp_cache ev;
	__u64 pid;

	if (order >= MAX_ORDER_SCAN)
		return 0;
	pid = page_id(ctx[0]);
	if (!mark_pages(&cached, pid, order, false))
		return 0;
	fill_hdr(&ev.hdr, MP_CACHE_DEL, bpf_get_current_pid_tgid());
	fill_cache(&ev, folio, pid, order);
	submit(&ev, sizeof(ev), MP_LOST_CACHE, wakeup_flag());
	return 0;
}

/* ---- heap ---- */

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
	s = get_scratch();
	if (!s) {
		bpf_map_delete_elem(&inflight, &tid);
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
	if (!ptr && ev->func != MP_REALLOC)
		return 0;
	submit_with_stack(ctx, s, sizeof(*ev), MP_LOST_HEAP, false);
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
