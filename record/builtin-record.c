/*
 * memprof record: loads the BPF programs, follows the target (a running
 * process, or a command it launches, with their children), and writes every
 * event, stack, mapping and build-id into one trace file as it goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "builtin.h"
#include "record/record.h"
#include "util.h"

static const char record_usage[] =
	"usage: memprof record [OPTIONS] -- COMMAND [ARGS...]\n"
	"   or: memprof record [OPTIONS] -p PID\n"
	"\n"
	"    -o, --output FILE       write the trace to FILE (default: memprof.data)\n"
	"    -p, --pid PID           record the running process PID and all its threads\n"
	"    -e, --event LIST        events to record, comma-separated: page, heap, cache,\n"
	"                            mmap, rss, or all (default: page,rss)\n"
	"    -d, --duration SECONDS  stop after SECONDS (default: when the target exits)\n"
	"    -g, --call-graph MODE   how user stacks are taken: fp (frame pointers, default),\n"
	"                            dwarf[,SIZE] (registers and SIZE bytes of stack, default\n"
	"                            8192, unwound by report), or none\n"
	"    -m, --buffer-size SIZE  kernel ring buffer size, e.g. 64M (default: 32M)\n"
	"        --rss-interval MS   with -e rss, read each target's RSS every MS\n"
	"                            milliseconds (default: 10)\n"
	"        --no-inherit        do not follow child processes the target creates\n"
	"    -N, --no-buildid-cache  do not copy the files report could not reach later\n"
	"                            (deleted, in another mount namespace) into the\n"
	"                            build-id cache\n"
	"        --heap-probes=WHERE with -e heap and -p: 'target' puts the probes on the\n"
	"                            target process and each child as its fork is seen\n"
	"                            (default); 'all' on the C library for every process,\n"
	"                            which catches short-lived children from their start\n"
	"    -h, --help              show this help\n";

struct record_opts {
	const char *output;
	pid_t pid;
	char **argv;
	unsigned int events;	/* 1 << enum mpf_event_type */
	uint64_t duration;	/* seconds, 0: until the target exits */
	unsigned int stack_mode;	/* enum mp_stack_mode */
	uint32_t dwarf_size;
	bool inherit;
	size_t buffer_size;
	unsigned int rss_interval;	/* ms */
	bool probe_all;			/* --heap-probes=all */
	bool no_buildid_cache;		/* -N */
};

/* A live target's last RSS sample, for -e rss. */
struct rss_target {
	pid_t pid;
	struct mpf_rss last;
};

struct record {
	struct record_opts opts;
	struct mp_bpf *bpf;
	struct mpf_writer *w;
	struct procmaps *maps;
	struct leaf *leaf;		/* -g fp: the callers the walk misses at an exact pc */
	struct workload wl;
	pid_t target;			/* the main target: its exit ends the recording */
	bool target_exited;
	bool stopped;			/* by a signal or -d, not by the target's exit */
	int write_err;
	int single_step;		/* heap probe sites the kernel single-steps */
	pid_t probe_pid;		/* heap probes for every process (-1) or per target (0) */
	uint64_t lost_written[MP_LOST__MAX];
	uint64_t page_frees_exiting;
	struct rss_target *rss;		/* -e rss: the live targets */
	size_t nrss, rss_cap;
	uint64_t rss_next;		/* when to sample next */
	size_t rss_turn;		/* the first target of the next round */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int parse_events(const char *list, unsigned int *events)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int ev, err = 0;

	if (!copy)
		return -ENOMEM;
	*events = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			*events |= (1u << MPF_EV__MAX) - 1;
			continue;
		}
		ev = mpf_event_parse(tok);
		if (ev < 0) {
			err = error("unknown event '%s'; choose from: page, heap, cache, mmap, rss, "
				    "all", tok);
			break;
		}
		*events |= 1u << ev;
	}
	free(copy);
	if (!err && !*events)
		err = error("no event given to -e; choose from: page, heap, cache, mmap, rss, all");
	return err;
}

/* -g fp | dwarf[,SIZE] | none */
static int parse_call_graph(const char *arg, struct record_opts *o)
{
	uint64_t size = 8192;

	if (!strcmp(arg, "fp")) {
		o->stack_mode = MP_STACK_FP;
	} else if (!strcmp(arg, "none")) {
		o->stack_mode = MP_STACK_NONE;
	} else if (!strncmp(arg, "dwarf", 5) && (!arg[5] || arg[5] == ',')) {
		if (arg[5] && (!parse_u64(arg + 6, &size) || size < 64 || size > MP_DWARF_MAX ||
			       size % 8))
			return error("invalid stack size in '%s'; give a multiple of 8 from 64 "
				     "to %d", arg, MP_DWARF_MAX);
		o->stack_mode = MP_STACK_DWARF;
		o->dwarf_size = size;
	} else {
		return error("unknown call-graph mode '%s'; use fp, dwarf[,SIZE] or none", arg);
	}
	return 0;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end || v < 4096 || v > (1ull << 32))
		return -EINVAL;
	/* The BPF ring buffer wants a power-of-two size. */
	*out = 4096;
	while (*out < v)
		*out <<= 1;
	return 0;
}

/* ---- events ---- */

static int write_rec(struct record *r, const struct mpf_record *rec)
{
	int err = mpf_writer__write(r->w, rec);

	if (err && !r->write_err)
		r->write_err = err;
	return err;
}

static void write_comm(struct record *r, uint64_t time, pid_t pid, pid_t tid, const char *comm)
{
	struct mpf_record rec = { .type = MPF_REC_COMM, .time = time };

	rec.comm.pid = pid;
	rec.comm.tid = tid;
	snprintf(rec.comm.comm, sizeof(rec.comm.comm), "%s", comm);
	write_rec(r, &rec);
}

/*
 * The stack of an event, following its body (at ips, size bytes in all):
 * frame addresses to intern, or with -g dwarf registers and a stack copy.
 */
static int stack_id(struct record *r, const struct mp_hdr *h, const __u64 *ips, size_t size,
		    uint32_t flags, uint32_t *id)
{
	const struct mp_ustack *u = (const void *)ips;
	int err;

	if (h->flags & MP_HDR_USTACK) {
		if (size < sizeof(*u) || size < sizeof(*u) + u->size) {
			*id = 0;
			return 0;
		}
		err = mpf_writer__ustack(r->w, h->time, flags, (const uint64_t *)u->regs, u->data,
					 u->size, id);
	} else {
		__u64 fixed[MP_STACK_DEPTH + 8];
		size_t n = h->nr_ips;

		if (h->flags & MP_HDR_TRUNCATED)
			flags |= MPF_STACK_TRUNCATED;
		if ((h->flags & MP_HDR_LEAF) && n <= MP_STACK_DEPTH &&
		    size >= n * sizeof(__u64) + sizeof(struct mp_leaf)) {
			n = leaf__fixup(r->leaf, h->pid, (const uint64_t *)ips, n,
					(const struct mp_leaf *)(ips + n), (uint64_t *)fixed,
					sizeof(fixed) / sizeof(fixed[0]));
			ips = fixed;
		}
		err = mpf_writer__stack(r->w, h->time, flags, (const uint64_t *)ips, (uint32_t)n, id);
	}

	if (err && !r->write_err)
		r->write_err = err;
	return err;
}

/* The path the kernel side gave as names from the file up ("ls\0bin\0\0"): "/bin/ls". */
static const char *event_path(const char *names, size_t size, char *out, size_t out_size)
{
	const char *comp[MP_PATH_DEPTH];
	size_t n = 0, off = 0, len = 0;

	while (off < size && names[off] && n < MP_PATH_DEPTH) {
		comp[n++] = names + off;
		off += strnlen(names + off, size - off) + 1;
	}
	if (!n || off >= size)
		return NULL;
	out[0] = '\0';
	while (n-- > 0 && len < out_size)
		len += snprintf(out + len, out_size - len, "/%s", comp[n]);
	return len < out_size ? out : NULL;
}

/*
 * Pages a target unmapped can sit in the kernel's per-CPU LRU batches, not
 * yet freed, until something drains them; mlock() drains every CPU's.
 */
static void drain_lru_batches(void)
{
	static char page[4096] __attribute__((aligned(4096)));

	if (!mlock(page, sizeof(page)))
		munlock(page, sizeof(page));
}

/* ---- -e rss: each live target's /proc/PID/status, sampled ---- */

#define PF_EXITING 0x4	/* in /proc/PID/stat's flags: the process is exiting */

/* Reads pid's RSS counters: 0, or -1 when it is gone (or has no memory any more). */
static int read_rss(pid_t pid, struct mpf_rss *out)
{
	char path[64], line[256];
	unsigned long long kb;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			out->hwm = kb << 10, found++;
		else if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			out->anon = kb << 10, found++;
		else if (sscanf(line, "RssFile: %llu kB", &kb) == 1)
			out->file = kb << 10, found++;
		else if (sscanf(line, "RssShmem: %llu kB", &kb) == 1)
			out->shmem = kb << 10, found++;
	}
	fclose(f);
	return found == 4 ? 0 : -1;
}

/*
 * Whether pid had begun to exit (PF_EXITING, set before its memory is torn
 * down): a sample read then gave the counts of a dismantled address space.
 * Asked after the sample was read.
 */
static bool exiting(pid_t pid)
{
	char path[64], line[512];
	unsigned long long flags;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (!fgets(line, sizeof(line), f) || !strrchr(line, ')') ||
	    sscanf(strrchr(line, ')') + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags) != 1)
		flags = PF_EXITING;
	fclose(f);
	return flags & PF_EXITING;
}

/* Writes a sample of t when its counters changed since the last one. */
static void rss__sample_one(struct record *r, struct rss_target *t, uint64_t now)
{
	struct mpf_record rec = { .type = MPF_REC_RSS, .time = now };

	/* Unchanged counters need no record, nor the second read. */
	if (read_rss(t->pid, &rec.rss) || !memcmp(&rec.rss, &t->last, sizeof(rec.rss)) ||
	    exiting(t->pid))
		return;
	t->last = rec.rss;
	write_rec(r, &rec);
}

static void rss__add(struct record *r, pid_t pid)
{
	if (!(r->opts.events & (1u << MPF_EV_RSS)))
		return;
	for (size_t i = 0; i < r->nrss; i++)
		if (r->rss[i].pid == pid) {
			/*
			 * An exec: a new image, which report starts counting from
			 * its first sample, even one that reads as the last did.
			 */
			memset(&r->rss[i].last, 0, sizeof(r->rss[i].last));
			rss__sample_one(r, &r->rss[i], now_ns(CLOCK_MONOTONIC));
			return;
		}
	if (r->nrss == r->rss_cap) {
		size_t cap = r->rss_cap ? r->rss_cap * 2 : 16;
		struct rss_target *v = realloc(r->rss, cap * sizeof(*v));

		if (!v) {
			warning("out of memory: the RSS of PID %d is not sampled", pid);
			return;
		}
		r->rss = v;
		r->rss_cap = cap;
	}
	r->rss[r->nrss++] = (struct rss_target){ .pid = pid };
	/* A first sample now: a short-lived process may be gone by the next round. */
	rss__sample_one(r, &r->rss[r->nrss - 1], now_ns(CLOCK_MONOTONIC));
}

static void rss__remove(struct record *r, pid_t pid)
{
	for (size_t i = 0; i < r->nrss; i++)
		if (r->rss[i].pid == pid) {
			r->rss[i] = r->rss[--r->nrss];
			return;
		}
}

/*
 * A round of samples: of every live target, up to RSS_ROUND of them, taking
 * turns beyond that, so that record's reading of /proc stays bounded when a
 * build or a server runs hundreds of processes at once (each is then read
 * every few intervals; the exit sample and VmHWM keep its end and peak).
 */
#define RSS_ROUND 64

static void rss__sample(struct record *r, uint64_t now)
{
	size_t n = r->nrss < RSS_ROUND ? r->nrss : RSS_ROUND;

	for (size_t k = 0; k < n; k++)
		rss__sample_one(r, &r->rss[(r->rss_turn + k) % r->nrss], now);
	r->rss_turn = r->nrss ? (r->rss_turn + n) % r->nrss : 0;
	r->rss_next = now + r->opts.rss_interval * 1000000ull;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct record *r = ctx;
	const struct mp_hdr *h = data;
	struct mpf_record rec = {};

	if (size < sizeof(*h))
		return 0;
	rec.time = h->time;
	switch (h->kind) {
	case MP_PAGE_ALLOC: {
		const struct mp_page_alloc *e = data;

		if (size < sizeof(*e) + h->nr_ips * sizeof(__u64))
			return 0;
		rec.type = MPF_REC_PAGE_ALLOC;
		rec.page_alloc.pid = h->pid;
		rec.page_alloc.tid = h->tid;
		rec.page_alloc.order = e->order;
		rec.page_alloc.gfp = e->gfp;
		rec.page_alloc.page = e->page;
		if (stack_id(r, h, e->ips, size - sizeof(*e), MPF_STACK_FIRST_IS_IP,
			     &rec.page_alloc.stack_id))
			return r->write_err;
		break;
	}
	case MP_PAGE_FREE: {
		const struct mp_page_free *e = data;

		if (size < sizeof(*e))
			return 0;
		rec.type = MPF_REC_PAGE_FREE;
		rec.page_free.pid = h->pid;
		rec.page_free.order = e->order;
		rec.page_free.page = e->page;
		rec.page_free.head = e->head;
		if (h->flags & MP_PAGE_FREE_EXITING) {
			rec.page_free.flags |= MPF_PAGE_FREE_EXITING;
			r->page_frees_exiting++;
		}
		break;
	}
	case MP_HEAP_ALLOC: {
		const struct mp_heap_alloc *e = data;
		uint32_t id;

		if (size < sizeof(*e) + h->nr_ips * sizeof(__u64))
			return 0;
		if (stack_id(r, h, e->ips, size - sizeof(*e), 0, &id))
			return r->write_err;
		if (e->func == MP_REALLOC) {
			rec.type = MPF_REC_HEAP_REALLOC;
			rec.heap_realloc.pid = h->pid;
			rec.heap_realloc.tid = h->tid;
			rec.heap_realloc.stack_id = id;
			rec.heap_realloc.old_ptr = e->old_ptr;
			rec.heap_realloc.ptr = e->ptr;
			rec.heap_realloc.size = e->size;
		} else {
			rec.type = MPF_REC_HEAP_ALLOC;
			rec.heap_alloc.pid = h->pid;
			rec.heap_alloc.tid = h->tid;
			rec.heap_alloc.func = e->func;
			rec.heap_alloc.stack_id = id;
			rec.heap_alloc.ptr = e->ptr;
			rec.heap_alloc.size = e->size;
		}
		break;
	}
	case MP_HEAP_FREE: {
		const struct mp_heap_free *e = data;

		if (size < sizeof(*e))
			return 0;
		rec.type = MPF_REC_HEAP_FREE;
		rec.heap_free.pid = h->pid;
		rec.heap_free.tid = h->tid;
		rec.heap_free.ptr = e->ptr;
		break;
	}
	case MP_CACHE_ADD:
	case MP_CACHE_DEL: {
		const struct mp_cache *e = data;

		if (size < sizeof(*e) + h->nr_ips * sizeof(__u64))
			return 0;
		if (h->kind == MP_CACHE_DEL) {
			rec.type = MPF_REC_CACHE_DEL;
			rec.cache_del.pid = h->pid;
			rec.cache_del.order = e->order;
			rec.cache_del.page = e->page;
			break;
		}
		rec.type = MPF_REC_CACHE_ADD;
		rec.cache_add.pid = h->pid;
		rec.cache_add.tid = h->tid;
		rec.cache_add.order = e->order;
		rec.cache_add.page = e->page;
		rec.cache_add.ino = e->ino;
		rec.cache_add.dev = e->dev;
		rec.cache_add.index = e->index;
		if (stack_id(r, h, e->ips, size - sizeof(*e), MPF_STACK_FIRST_IS_IP,
			     &rec.cache_add.stack_id))
			return r->write_err;
		break;
	}
	case MP_VMCALL: {
		const struct mp_vmcall *e = data;

		if (size < sizeof(*e) + h->nr_ips * sizeof(__u64))
			return 0;
		rec.type = MPF_REC_VM;
		rec.vm.pid = h->pid;
		rec.vm.tid = h->tid;
		rec.vm.call = e->call;
		rec.vm.prot = e->prot;
		rec.vm.flags = e->flags;
		rec.vm.addr = e->addr;
		rec.vm.len = e->len;
		rec.vm.old_addr = e->old_addr;
		rec.vm.old_len = e->old_len;
		/* The user registers at a system call: the first frame is the exact pc. */
		if (stack_id(r, h, e->ips, size - sizeof(*e), MPF_STACK_FIRST_IS_IP,
			     &rec.vm.stack_id))
			return r->write_err;
		break;
	}
	case MP_COMM: {
		const struct mp_comm *e = data;
		char comm[MP_COMM_LEN + 1] = {};

		if (size < sizeof(*e))
			return 0;
		memcpy(comm, e->comm, MP_COMM_LEN);
		write_comm(r, h->time, h->pid, h->tid, comm);
		return r->write_err;
	}
	case MP_FORK: {
		const struct mp_fork *e = data;
		char comm[MP_COMM_LEN + 1] = {};

		if (size < sizeof(*e))
			return 0;
		rss__add(r, h->pid);
		procmaps__inherit(r->maps, e->ppid, h->pid);
		rec.type = MPF_REC_FORK;
		rec.fork.ppid = e->ppid;
		rec.fork.pid = h->pid;
		if (!r->probe_pid) {
			int err = mp_bpf__inherit_heap(r->bpf, e->ppid, h->pid);

			if (err)
				warning("cannot probe the heap functions of PID %u: %s", h->pid,
					strerror(-err));
		}
		if (write_rec(r, &rec))
			return r->write_err;
		memcpy(comm, e->comm, MP_COMM_LEN);
		write_comm(r, h->time, h->pid, h->tid, comm);
		return r->write_err;
	}
	case MP_EXEC: {
		const struct mp_exec *e = data;
		char comm[MP_COMM_LEN + 1] = {}, file[MP_FILENAME_LEN + 1] = {}, path[MPF_PATH_MAX];

		if (size < sizeof(*e))
			return 0;
		memcpy(comm, e->comm, MP_COMM_LEN);
		memcpy(file, e->filename, MP_FILENAME_LEN);
		rec.type = MPF_REC_EXEC;
		rec.exec.pid = h->pid;
		rec.exec.filename = file;
		rec.exec.args = e->args;
		rec.exec.args_len = e->args_len < MP_ARGS_LEN ? e->args_len : MP_ARGS_LEN;
		if (write_rec(r, &rec))
			return r->write_err;
		rss__add(r, h->pid);
		write_comm(r, h->time, h->pid, h->tid, comm);
		procmaps__forget(r->maps, h->pid, false);
		leaf__forget(r->leaf);
		/* Gone already?  Its text, as the kernel side saw it, is enough for its frames. */
		if (procmaps__scan(r->maps, h->pid, h->time))
			procmaps__add_vma(r->maps, h->pid, h->time, &e->text,
					  event_path(e->path, sizeof(e->path), path, sizeof(path)));
		return r->write_err;
	}
	case MP_EXIT: {
		const struct mp_exit *e = data;

		if (size < sizeof(*e))
			return 0;
		/* Its resident set as it leaves, exact: the last sample may be long before. */
		if (e->valid && (r->opts.events & (1u << MPF_EV_RSS))) {
			struct mpf_record rss = { .type = MPF_REC_RSS, .time = h->time };
			uint64_t ps = sysconf(_SC_PAGESIZE);

			rss.rss = (struct mpf_rss){ .pid = h->pid, .anon = e->anon * ps,
						    .file = e->file * ps, .shmem = e->shmem * ps,
						    .hwm = e->hwm * ps };
			if (write_rec(r, &rss))
				return r->write_err;
		}
		rec.type = MPF_REC_EXIT;
		rec.exit.pid = h->pid;
		rec.exit.status = e->status;
		rss__remove(r, h->pid);
		procmaps__forget(r->maps, h->pid, true);
		leaf__forget(r->leaf);
		mp_bpf__forget_target(r->bpf, h->pid);
		if (!r->probe_pid)
			mp_bpf__detach_heap(r->bpf, h->pid);
		if ((pid_t)h->pid == r->target)
			r->target_exited = true;
		break;
	}
	case MP_MMAP_EXEC: {
		const struct mp_mmap *e = data;
		char path[MPF_PATH_MAX];

		if (size < sizeof(*e))
			return 0;
		leaf__forget(r->leaf);
		if (procmaps__scan(r->maps, h->pid, h->time))
			procmaps__add_vma(r->maps, h->pid, h->time, &e->vma,
					  event_path(e->path, sizeof(e->path), path, sizeof(path)));
		return r->write_err;
	}
	default:
		return 0;
	}
	write_rec(r, &rec);
	return r->write_err;
}

/* A new ELF file in a target: if it is a libc, the heap probes go on it. */
static void on_new_file(void *ctx, pid_t pid, const char *open_path, const char *path)
{
	struct record *r = ctx;
	const char *base = strrchr(path, '/');
	int err;

	base = base ? base + 1 : path;
	if (!(r->opts.events & (1u << MPF_EV_HEAP)) || strncmp(base, "libc.so", 7))
		return;
	err = mp_bpf__attach_heap(r->bpf, open_path, r->probe_pid ? r->probe_pid : pid,
				  &r->single_step);
	if (err < 0)
		warning("cannot probe the heap functions of '%s': %s", path, strerror(-err));
	else if (err > 0)
		debug("heap probes on '%s' (%d sites)", path, err);
}

/* The heap probes go on our own libc before the command runs: it is almost always its libc. */
static int probe_own_libc(struct record *r)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int err = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/'), *base;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		base = strrchr(path, '/') + 1;
		if (!strncmp(base, "libc.so", 7)) {
			err = mp_bpf__attach_heap(r->bpf, path, -1, &r->single_step);
			break;
		}
	}
	fclose(f);
	return err < 0 ? err : 0;
}

static void write_lost(struct record *r, uint64_t time)
{
	uint64_t lost[MP_LOST__MAX];
	static const unsigned int ev_of[MP_LOST__MAX] = {
		[MP_LOST_PAGE] = MPF_EV_PAGE,
		[MP_LOST_HEAP] = MPF_EV_HEAP,
		[MP_LOST_OTHER] = MPF_EV__MAX,
		[MP_LOST_CACHE] = MPF_EV_CACHE,
		[MP_LOST_MMAP] = MPF_EV_MMAP,
	};

	if (mp_bpf__lost(r->bpf, lost))
		return;
	for (int i = 0; i < MP_LOST__MAX; i++) {
		struct mpf_record rec = { .type = MPF_REC_LOST, .time = time };

		if (lost[i] == r->lost_written[i] || ev_of[i] == MPF_EV__MAX)
			continue;
		rec.lost.event = ev_of[i];
		rec.lost.count = lost[i] - r->lost_written[i];
		r->lost_written[i] = lost[i];
		write_rec(r, &rec);
	}
}

static void write_info(struct record *r, int argc, char **argv)
{
	struct mpf_record rec = { .type = MPF_REC_INFO, .time = now_ns(CLOCK_MONOTONIC) };
	char host[256] = "", cmdline[4096] = "";
	struct utsname u;
	size_t len = 0;

	gethostname(host, sizeof(host) - 1);
	uname(&u);
	for (int i = 0; i < argc && len < sizeof(cmdline); i++)
		len += snprintf(cmdline + len, sizeof(cmdline) - len, "%s%s", i ? " " : "",
				argv[i]);
	const char *kv[][2] = {
		{ "memprof", MEMPROF_VERSION }, { "hostname", host }, { "release", u.release },
		{ "machine", u.machine }, { "cmdline", cmdline },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		rec.info.key = kv[i][0];
		rec.info.value = kv[i][1];
		write_rec(r, &rec);
	}
}

/* The thread group of pid, which may name any of its threads. */
static pid_t thread_group(pid_t pid, char *comm, size_t size)
{
	char path[64], line[256];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:\t", 6)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(comm, size, "%s", line + 6);
		}
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	}
	fclose(f);
	return tgid;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static const char *human(double bytes, char *buf, size_t size)
{
	static const char *units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
	return buf;
}

static void print_summary(struct record *r, const struct mpf_writer_stats *st)
{
	const uint64_t *n = st->records;
	uint64_t page = n[MPF_REC_PAGE_ALLOC] + n[MPF_REC_PAGE_FREE];
	uint64_t heap = n[MPF_REC_HEAP_ALLOC] + n[MPF_REC_HEAP_FREE] + n[MPF_REC_HEAP_REALLOC];
	uint64_t cache = n[MPF_REC_CACHE_ADD] + n[MPF_REC_CACHE_DEL];
	uint64_t events = page + heap + cache + n[MPF_REC_VM] + n[MPF_REC_RSS];
	char b1[32], b2[32];

	if (r->opts.events & (1u << MPF_EV_PAGE))
		fprintf(stderr,
			"memprof: page: %" PRIu64 " events written (%" PRIu64 " allocations, %" PRIu64
			" frees), %" PRIu64 " lost\n",
			page, n[MPF_REC_PAGE_ALLOC], n[MPF_REC_PAGE_FREE],
			r->lost_written[MP_LOST_PAGE]);
	if (r->opts.events & (1u << MPF_EV_HEAP))
		fprintf(stderr,
			"memprof: heap: %" PRIu64 " events written (%" PRIu64 " allocations, %" PRIu64
			" reallocs, %" PRIu64 " frees), %" PRIu64 " lost\n",
			heap, n[MPF_REC_HEAP_ALLOC], n[MPF_REC_HEAP_REALLOC], n[MPF_REC_HEAP_FREE],
			r->lost_written[MP_LOST_HEAP]);
	if (r->opts.events & (1u << MPF_EV_CACHE))
		fprintf(stderr,
			"memprof: cache: %" PRIu64 " events written (%" PRIu64 " added, %" PRIu64
			" deleted), %" PRIu64 " lost\n",
			cache, n[MPF_REC_CACHE_ADD], n[MPF_REC_CACHE_DEL],
			r->lost_written[MP_LOST_CACHE]);
	if (r->opts.events & (1u << MPF_EV_MMAP))
		fprintf(stderr, "memprof: mmap: %" PRIu64 " events written, %" PRIu64 " lost\n",
			n[MPF_REC_VM], r->lost_written[MP_LOST_MMAP]);
	if (r->opts.events & (1u << MPF_EV_RSS))
		fprintf(stderr, "memprof: rss: %" PRIu64 " samples written\n", n[MPF_REC_RSS]);
	fprintf(stderr,
		"memprof: wrote '%s': %s, %" PRIu64 " stacks, %.2f bytes per event, "
		"compression %.1fx (%s raw)\n",
		r->opts.output, human(st->file_bytes, b1, sizeof(b1)),
		n[MPF_REC_STACK] + n[MPF_REC_USTACK],
		events ? (double)st->file_bytes / events : 0.0,
		st->file_bytes ? (double)st->raw_bytes / st->file_bytes : 0.0,
		human(st->raw_bytes, b2, sizeof(b2)));
}

static int parse_options(struct record_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "pid", required_argument, NULL, 'p' },
		{ "event", required_argument, NULL, 'e' },
		{ "duration", required_argument, NULL, 'd' },
		{ "call-graph", required_argument, NULL, 'g' },
		{ "buffer-size", required_argument, NULL, 'm' },
		{ "no-inherit", no_argument, NULL, 'I' },
		{ "rss-interval", required_argument, NULL, 'R' },
		{ "heap-probes", required_argument, NULL, 'H' },
		{ "no-buildid-cache", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	uint64_t v;
	int c;

	opterr = 0;	/* one line of ours, not getopt's */
	while ((c = getopt_long(argc, argv, "+:o:p:e:d:g:m:Nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case 'p':
			if (!parse_u64(optarg, &v) || v == 0 || v > INT32_MAX)
				return error("invalid PID '%s'; give a process id", optarg), 129;
			o->pid = v;
			break;
		case 'e':
			if (parse_events(optarg, &o->events))
				return 129;
			break;
		case 'd':
			if (!parse_u64(optarg, &o->duration) || !o->duration)
				return error("invalid duration '%s'; give whole seconds", optarg), 129;
			break;
		case 'g':
			if (parse_call_graph(optarg, o))
				return 129;
			break;
		case 'm':
			if (parse_size(optarg, &o->buffer_size))
				return error("invalid buffer size '%s'; give bytes, e.g. 64M", optarg),
				       129;
			break;
		case 'I':
			o->inherit = false;
			break;
		case 'N':
			o->no_buildid_cache = true;
			break;
		case 'H':
			if (!strcmp(optarg, "all") || !strcmp(optarg, "target"))
				o->probe_all = !strcmp(optarg, "all");
			else
				return error("invalid --heap-probes '%s'; give target or all", optarg),
				       129;
			break;
		case 'R':
			if (!parse_u64(optarg, &v) || !v || v > 60000)
				return error("invalid --rss-interval '%s'; give milliseconds, 1 to "
					     "60000", optarg), 129;
			o->rss_interval = (unsigned int)v;
			break;
		case 'h':
			return usage(record_usage, 0), -1;
		default:
			return option_error("record", c, argv);
		}
	}
	if (optind < argc)
		o->argv = argv + optind;
	if (!o->argv && !o->pid)
		return error("nothing to record; give a command after '--' or -p PID"), 129;
	if (o->argv && o->pid)
		return error("give either a command or -p PID, not both"), 129;
	return 0;
}

/* The trace file: an existing one is kept as FILE.old, as perf does. */
static int open_output(struct record *r, const struct mpf_header *hdr)
{
	char old[MPF_PATH_MAX];
	struct stat st;

	if (!stat(r->opts.output, &st) && S_ISREG(st.st_mode)) {
		snprintf(old, sizeof(old), "%s.old", r->opts.output);
		if (rename(r->opts.output, old))
			return error("cannot rename '%s' to '%s': %s", r->opts.output, old,
				     strerror(errno));
	}
	/*
	 * record's memory stays bounded: a quarter million distinct stacks (of
	 * 32 frames on average) before the table restarts, about 70 MiB at most.
	 */
	struct mpf_writer_opts wo = { .max_stacks = 1 << 18 };

	r->w = mpf_writer__open(r->opts.output, hdr, &wo);
	if (!r->w)
		return error("cannot create '%s': %s", r->opts.output, strerror(errno));
	return 0;
}

/*
 * Bits for the page ownership map: a power of two above the highest page
 * frame, with room for memory hot-added while recording.
 */
static uint64_t page_frames(void)
{
	uint64_t start, end, max = 0, bits = 1 << 20;
	char line[256];
	FILE *f = fopen("/proc/iomem", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "System RAM") &&
		    sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && end > max)
			max = end;
	}
	if (f)
		fclose(f);
	if (!max)		/* addresses hidden: assume a large machine (256 GiB) */
		max = 1ull << 38;
	while (bits < 2 * (max + 1) / 4096)
		bits <<= 1;
	return bits;
}

/* The capabilities recording needs that this process lacks, named, or "" if none. */
static const char *missing_caps(char *buf, size_t size)
{
	static const struct {
		int bit;
		const char *name;
	} needed[] = {
		{ 39, "CAP_BPF" },	/* load programs, create maps */
		{ 38, "CAP_PERFMON" },	/* tracepoints, uprobes, reading kernel memory */
	};
	unsigned long long eff = 0;
	char line[256];
	size_t len = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	buf[0] = '\0';
	/* CAP_SYS_ADMIN stands in for both on every kernel. */
	if (eff & (1ull << 21))
		return buf;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!(eff & (1ull << needed[i].bit)))
			len += snprintf(buf + len, size - len, "%s%s", len ? " and " : "",
					needed[i].name);
	return buf;
}

static int check_system(void)
{
	char caps[64];

	if (*missing_caps(caps, sizeof(caps)))
		return error("recording needs %s, which this process lacks; run as root (sudo)",
			     caps);
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return error("this kernel has no BTF (/sys/kernel/btf/vmlinux); memprof record "
			     "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	return 0;
}

static int load_error(int err)
{
	if (err == -EPERM)
		return error("loading BPF programs was refused (%s); run as root (sudo), or check "
			     "that no security module forbids BPF", strerror(-err));
	return error("cannot load the BPF programs: %s; rerun with -v for the kernel's log",
		     strerror(-err));
}

static int record_loop(struct record *r)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC), last_flush = start;
	int err, status;

	while (!r->write_err) {
		uint64_t now;

		if (stop_signal) {
			r->stopped = true;
			break;
		}
		err = mp_bpf__poll(r->bpf, r->nrss ? (int)r->opts.rss_interval : 100);
		if (err && !r->write_err)
			return error("reading events failed: %s", strerror(-err));
		if (r->target_exited)
			break;
		if (r->wl.pid > 0 && waitpid(r->wl.pid, &status, WNOHANG) == r->wl.pid) {
			r->wl.pid = 0;
			break;
		}
		if (r->opts.pid && kill(r->target, 0) && errno == ESRCH)
			break;
		now = now_ns(CLOCK_MONOTONIC);
		if (r->nrss && now >= r->rss_next)
			rss__sample(r, now);
		if (r->opts.duration && now - start >= r->opts.duration * 1000000000ull) {
			r->stopped = true;
			break;
		}
		if (now - last_flush >= 1000000000ull) {
			/* A recorder killed with -9 loses at most the last second. */
			write_lost(r, now);
			err = mpf_writer__flush(r->w);
			if (err && !r->write_err)
				r->write_err = err;
			last_flush = now;
		}
	}
	return 0;
}

int cmd_record(int argc, char **argv)
{
	struct record r = {
		.opts = {
			.output = "memprof.data",
			.events = 1u << MPF_EV_PAGE | 1u << MPF_EV_RSS,
			.stack_mode = MP_STACK_FP,
			.dwarf_size = 8192,
			.inherit = true,
			.buffer_size = 32u << 20,
			.rss_interval = 10,
		},
		.wl = { .pid = -1, .go_fd = -1, .err_fd = -1 },
	};
	struct mp_bpf_opts bo;
	struct mpf_header hdr = {};
	struct mpf_writer_stats st;
	struct sigaction sa = { .sa_handler = on_signal };
	char comm[256] = "";
	int ret = 1, err;
	bool keep_file = false;

	err = parse_options(&r.opts, argc, argv);
	if (err)
		return err < 0 ? 0 : err;
	if (check_system())
		return 1;
	if (r.opts.pid) {
		r.target = thread_group(r.opts.pid, comm, sizeof(comm));
		if (r.target <= 0)
			return error("no process with PID %d; check the PID with 'ps'", r.opts.pid),
			       1;
	}
	libbpf_set_print(print_libbpf);

	bo = (struct mp_bpf_opts){
		.page = r.opts.events & (1u << MPF_EV_PAGE),
		.heap = r.opts.events & (1u << MPF_EV_HEAP),
		.cache = r.opts.events & (1u << MPF_EV_CACHE),
		.mmap = r.opts.events & (1u << MPF_EV_MMAP),
		.inherit = r.opts.inherit,
		.stack_mode = r.opts.stack_mode,
		.dwarf_size = r.opts.dwarf_size,
		.buffer_size = r.opts.buffer_size,
		.page_frames = page_frames(),
	};
	err = mp_bpf__load(&r.bpf, &bo, handle_event, &r);
	if (err) {
		load_error(err);
		return 1;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/*
	 * A launched command is probed in every process: its children (and what
	 * they exec) are then recorded from their first instruction.  A running
	 * process is probed alone, so that the rest of the system does not pay
	 * for it; its new children get probes as their fork is seen.
	 */
	r.probe_pid = r.opts.argv || r.opts.probe_all ? -1 : 0;
	if (r.opts.argv) {
		err = workload__prepare(&r.wl, r.opts.argv);
		if (err) {
			error("cannot start '%s': %s", r.opts.argv[0], strerror(-err));
			goto out;
		}
		r.target = r.wl.pid;
	}

	hdr.page_size = sysconf(_SC_PAGESIZE);
	hdr.start_time = now_ns(CLOCK_MONOTONIC);
	hdr.start_realtime = now_ns(CLOCK_REALTIME);
	hdr.events = r.opts.events;
	if (open_output(&r, &hdr))
		goto out;
	r.maps = procmaps__new(r.w, on_new_file, &r, !r.opts.no_buildid_cache);
	if (r.maps && r.opts.stack_mode == MP_STACK_FP)
		r.leaf = leaf__new(r.maps);
	if (!r.maps) {
		error("out of memory");
		goto out;
	}
	write_info(&r, argc, argv);

	err = mp_bpf__add_target(r.bpf, r.target, r.opts.pid ? MP_TARGET_ON : MP_TARGET_AT_EXEC);
	if (!err)
		err = mp_bpf__attach_tracepoints(r.bpf);
	if (err) {
		error("cannot attach the BPF programs: %s", strerror(-err));
		goto out;
	}
	if (bo.heap && r.opts.argv && (err = probe_own_libc(&r)) < 0) {
		error("cannot attach the heap probes: %s", strerror(-err));
		goto out;
	}
	if (r.opts.pid) {
		rss__add(&r, r.target);
		write_comm(&r, hdr.start_time, r.target, r.target, comm);
		err = procmaps__scan(r.maps, r.target, hdr.start_time);
		if (err) {
			error("cannot read the maps of PID %d: %s", r.target, strerror(-err));
			goto out;
		}
	}
	if (bo.heap && !r.single_step)
		debug("every heap probe is on an instruction the kernel emulates");
	else if (bo.heap)
		warning("%d heap probe site(s) must be single-stepped by the kernel: recording "
			"heap calls will be slow", r.single_step);

	if (r.opts.argv) {
		err = workload__start(&r.wl);
		if (err) {
			error("cannot run '%s': %s", r.opts.argv[0], strerror(-err));
			waitpid(r.wl.pid, NULL, 0);
			r.wl.pid = 0;
			goto out;
		}
	}
	if (record_loop(&r))
		goto out;

	/* Pages a running target unmapped last are freed now, not never. */
	drain_lru_batches();
	/* Stop the programs, then take everything still in the buffer. */
	mp_bpf__detach(r.bpf);
	mp_bpf__poll(r.bpf, 0);
	if (!r.write_err) {
		struct mpf_record end = { .type = MPF_REC_END, .time = now_ns(CLOCK_MONOTONIC) };

		write_lost(&r, end.time);
		mpf_writer__stats(r.w, &st);
		end.end.events[MPF_EV_PAGE] =
			st.records[MPF_REC_PAGE_ALLOC] + st.records[MPF_REC_PAGE_FREE];
		end.end.events[MPF_EV_HEAP] = st.records[MPF_REC_HEAP_ALLOC] +
					      st.records[MPF_REC_HEAP_FREE] +
					      st.records[MPF_REC_HEAP_REALLOC];
		end.end.events[MPF_EV_CACHE] =
			st.records[MPF_REC_CACHE_ADD] + st.records[MPF_REC_CACHE_DEL];
		end.end.events[MPF_EV_MMAP] = st.records[MPF_REC_VM];
		end.end.events[MPF_EV_RSS] = st.records[MPF_REC_RSS];
		end.end.lost[MPF_EV_PAGE] = r.lost_written[MP_LOST_PAGE];
		end.end.lost[MPF_EV_HEAP] = r.lost_written[MP_LOST_HEAP];
		end.end.lost[MPF_EV_CACHE] = r.lost_written[MP_LOST_CACHE];
		end.end.lost[MPF_EV_MMAP] = r.lost_written[MP_LOST_MMAP];
		write_rec(&r, &end);
	}
	keep_file = true;
	if (r.write_err) {
		error("writing '%s' failed: %s; the trace holds what was written before",
		      r.opts.output, strerror(-r.write_err));
		goto out;
	}
	ret = 0;
out:
	free(r.rss);
	mp_bpf__destroy(r.bpf);
	leaf__free(r.leaf);
	procmaps__free(r.maps);
	if (r.w) {
		err = mpf_writer__flush(r.w);
		mpf_writer__stats(r.w, &st);
		if (!err)
			err = mpf_writer__close(r.w);
		else
			mpf_writer__close(r.w);
		if (err && ret == 0) {
			error("writing '%s' failed: %s", r.opts.output, strerror(-err));
			ret = 1;
		}
		if (!keep_file)
			unlink(r.opts.output);
		else
			print_summary(&r, &st);
	}
	if (r.wl.pid > 0) {
		/*
		 * Recording ended before the command.  Stopped by the user (a
		 * signal, -d): the command stops too.  Not yet started: it exits
		 * on the closed pipe.  Stopped by an error (a full disk): the
		 * command is not to be harmed, it runs on, unrecorded.
		 */
		if (r.wl.go_fd >= 0)
			close(r.wl.go_fd);
		else if (r.stopped)
			kill(r.wl.pid, SIGTERM);
		else if (ret)
			warning("recording stopped; '%s' (PID %d) runs on, waiting for it to exit",
				r.opts.argv[0], r.wl.pid);
		waitpid(r.wl.pid, NULL, 0);
	}
	return ret;
}
