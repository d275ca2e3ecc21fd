/*
 * The BPF side of record: opens the skeleton, sizes its maps, loads, attaches
 * tracepoints and heap uprobes, and consumes the ring buffer.  Every link is
 * kept so that detaching leaves nothing behind.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memprof.skel.h"
#include "record/record.h"

/* The heap probes on one file for one process (pid -1: every process). */
struct probe_set {
	dev_t dev;
	ino_t ino;
	pid_t pid;
	char *path;
	int nr_links;
	struct bpf_link *links[2 * PROBE_MAX_SITES];
	int nr_fds;		/* uprobe_multi links: allocations, frees, returns */
	int fds[3];
	int nr_sites;		/* the file's probe sites, found once per file */
	struct probe_site sites[PROBE_MAX_SITES];
};

/*
 * Links are destroyed by a pool of threads: closing a uprobe's perf event
 * waits for an RCU grace period, about 100 ms here, so closing a process's
 * nine probes one after the other would stall the event loop for a second
 * at each of its exits, and record's end likewise.  Closed concurrently,
 * they share their grace periods.
 */
#define REAPERS 16

/* A link to destroy: libbpf's, or the descriptor of one made without libbpf. */
struct reap {
	struct bpf_link *link;
	int fd;
};

struct reaper {
	pthread_mutex_t lock;
	pthread_cond_t more, done;
	struct reap *queue;
	size_t head, tail, cap;		/* queue[head..tail) */
	size_t busy;			/* links being destroyed */
	pthread_t threads[REAPERS];
	int nthreads;
	bool stop;
};

struct mp_bpf {
	struct memprof_bpf *skel;
	struct reaper reaper;
	struct ring_buffer *rb;
	struct bpf_link **links;
	size_t nr_links, alloc_links;
	struct probe_set *sets;
	size_t nr_sets, alloc_sets;
	struct mp_bpf_opts opts;
	bool multi;		/* heap probes as uprobe_multi links */
	bool session;		/* ... and the allocation functions' as a uprobe session */
	uint64_t twin_lost[MP_TWIN__MAX];	/* page events lost so far, by page_lost() */
	uint64_t twin_extra;	/* runs the twins made that the kernel had not skipped */
	bool detached;		/* mp_bpf__detach(): the counters are final */
};

static void reap(struct reap r)
{
	if (r.link)
		bpf_link__destroy(r.link);
	else if (r.fd >= 0)
		close(r.fd);
}

static void *reaper__run(void *arg)
{
	struct reaper *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct reap item;

		while (r->head == r->tail && !r->stop)
			pthread_cond_wait(&r->more, &r->lock);
		if (r->head == r->tail)
			break;
		item = r->queue[r->head++];
		r->busy++;
		pthread_mutex_unlock(&r->lock);
		reap(item);
		pthread_mutex_lock(&r->lock);
		r->busy--;
		if (r->head == r->tail && !r->busy)
			pthread_cond_broadcast(&r->done);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* The i-th of links, or (links NULL) of the descriptors fds, as an item to destroy. */
static struct reap reap_item(struct bpf_link **links, const int *fds, size_t i)
{
	return links ? (struct reap){ links[i], -1 } : (struct reap){ NULL, fds[i] };
}

/* Hands the links (or, links NULL, the descriptors) to the pool; destroys them here when it cannot. */
static void reaper__add_items(struct reaper *r, struct bpf_link **links, const int *fds, size_t n)
{
	size_t i = 0;

	if (!n)
		return;
	pthread_mutex_lock(&r->lock);
	if (r->head && r->head == r->tail)
		r->head = r->tail = 0;
	if (r->tail + n > r->cap) {
		size_t cap = (r->tail - r->head + n) * 2;
		struct reap *q = malloc(cap * sizeof(*q));

		if (!q)
			goto here;
		memcpy(q, r->queue + r->head, (r->tail - r->head) * sizeof(*q));
		free(r->queue);
		r->queue = q;
		r->tail -= r->head;
		r->head = 0;
		r->cap = cap;
	}
	for (; i < n; i++)
		r->queue[r->tail++] = reap_item(links, fds, i);
	/* A thread per link waiting, up to REAPERS. */
	while (r->nthreads < REAPERS && (size_t)r->nthreads < r->tail - r->head + r->busy &&
	       !pthread_create(&r->threads[r->nthreads], NULL, reaper__run, r))
		r->nthreads++;
	if (!r->nthreads) {
		/* No thread: the queue is ours to empty. */
		r->tail -= n;
		i = 0;
		goto here;
	}
	pthread_cond_broadcast(&r->more);
	pthread_mutex_unlock(&r->lock);
	return;
here:
	pthread_mutex_unlock(&r->lock);
	for (; i < n; i++)
		reap(reap_item(links, fds, i));
}

static void reaper__add(struct reaper *r, struct bpf_link **links, size_t n)
{
	reaper__add_items(r, links, NULL, n);
}

/* Waits until every link handed over is destroyed, and ends the threads. */
static void reaper__finish(struct reaper *r)
{
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->more);
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	r->nthreads = 0;
	r->stop = false;
	free(r->queue);
	r->queue = NULL;
	r->head = r->tail = r->cap = 0;
}

static int add_link(struct mp_bpf *b, struct bpf_link *link)
{
	if (!link)
		return -errno;
	if (b->nr_links == b->alloc_links) {
		size_t n = b->alloc_links ? b->alloc_links * 2 : 32;
		void *p = realloc(b->links, n * sizeof(*b->links));

		if (!p) {
			bpf_link__destroy(link);
			return -ENOMEM;
		}
		b->links = p;
		b->alloc_links = n;
	}
	b->links[b->nr_links++] = link;
	return 0;
}

/*
 * uprobe_multi links (kernel 6.6): one link for all of a file's sites of a
 * program, each site's cookie in an array.  Debian 12's libbpf (1.1) and
 * uapi headers predate them, so the link is made with the bpf(2) command
 * itself, its attributes laid out here as the kernel's union bpf_attr has
 * them for BPF_LINK_CREATE.
 */
#define MP_TRACE_UPROBE_MULTI	48	/* enum bpf_attach_type: BPF_TRACE_UPROBE_MULTI */
#define MP_TRACE_UPROBE_SESSION	57	/* BPF_TRACE_UPROBE_SESSION (kernel 6.13) */
#define MP_F_UPROBE_MULTI_RETURN 1	/* uprobe_multi.flags: return probes */

struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__aligned_u64 path;
	__aligned_u64 offsets;
	__aligned_u64 ref_ctr_offsets;
	__aligned_u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
};

/*
 * A uprobe_multi link (type MP_TRACE_UPROBE_MULTI or _SESSION) of prog on cnt
 * offsets of path (pid 0: every process): its descriptor, or -errno.
 */
static int uprobe_multi_link(int prog_fd, __u32 type, const char *path,
			     const unsigned long *offsets, const __u64 *cookies, __u32 cnt,
			     pid_t pid, bool ret)
{
	struct uprobe_multi_attr a = {
		.prog_fd = prog_fd,
		.attach_type = type,
		.path = (uintptr_t)path,
		.offsets = (uintptr_t)offsets,
		.cookies = (uintptr_t)cookies,
		.cnt = cnt,
		.multi_flags = ret ? MP_F_UPROBE_MULTI_RETURN : 0,
		.pid = pid > 0 ? (__u32)pid : 0,
	};
	int fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : fd;
}

/*
 * Whether the kernel makes uprobe_multi links of this type: a program that
 * does nothing, linked to the directory "/", is refused with EBADF (not a
 * regular file) by a kernel that knows them, with EINVAL by one that does
 * not.  MEMPROF_NO_UPROBE_MULTI=1 says no, for tests of the fallback, and
 * MEMPROF_NO_UPROBE_MULTI=session says no to sessions only, as kernels 6.6
 * to 6.12 do.
 */
static bool uprobe_multi_works(__u32 type)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = type);
	const char *no = getenv("MEMPROF_NO_UPROBE_MULTI");
	unsigned long off = 0;
	int prog, link;

	if (no && (!strcmp(no, "1") || (!strcmp(no, "session") && type == MP_TRACE_UPROBE_SESSION)))
		return false;
	prog = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &o);
	if (prog < 0)
		return false;
	link = uprobe_multi_link(prog, type, "/", &off, NULL, 1, 0, false);
	close(prog);
	if (link >= 0) {
		close(link);
		return false;
	}
	return link == -EBADF;
}

/* The page programs' twins find the programs they stand in for in page_firsts. */
static int set_page_firsts(struct memprof_bpf *skel)
{
	const struct bpf_program *first[MP_TWIN__MAX] = {
		[MP_TWIN_ALLOC] = skel->progs.page_alloc,
		[MP_TWIN_FREE] = skel->progs.page_free,
	};

	for (__u32 i = 0; i < MP_TWIN__MAX; i++) {
		int fd = bpf_program__fd(first[i]);

		if (bpf_map__update_elem(skel->maps.page_firsts, &i, sizeof(i), &fd, sizeof(fd), 0))
			return -errno;
	}
	return 0;
}

/* Opens the skeleton, sets its tunables and map sizes, and loads it. */
static int load_skel(struct mp_bpf *b)
{
	const struct mp_bpf_opts *opts = &b->opts;
	struct memprof_bpf *skel;
	int err;

	skel = memprof_bpf__open();
	if (!skel)
		return -errno;
	b->skel = skel;
	skel->rodata->inherit = opts->inherit;
	skel->rodata->follow_all = opts->all;
	skel->rodata->self_tgid = opts->self;
	if (opts->comm) {
		skel->rodata->match_by_comm = true;
		strncpy((char *)skel->rodata->match_comm, opts->comm, MP_COMM_LEN - 1);
	}
	skel->rodata->match_by_exec = opts->match_exec;
	skel->rodata->match_dev = opts->exec_dev;
	skel->rodata->match_ino = opts->exec_ino;
	skel->rodata->stack_mode = opts->stack_mode;
	skel->rodata->dwarf_size = opts->dwarf_size;
	/* Wake the consumer at a quarter full: room for bursts while it drains. */
	skel->rodata->wakeup_bytes = opts->buffer_size / 4;
	skel->rodata->vm_events = opts->mmap;
	skel->rodata->nr_cpus = libbpf_num_possible_cpus();
	skel->rodata->sample_interval = opts->heap_sample;
	skel->rodata->bare_probes = opts->bare_probes;
	skel->rodata->heap_sessions = b->session;
	skel->rodata->heap_exact_time = opts->heap_exact_time;
	/* The exponential distribution's quantiles at the midpoints of MP_SAMPLE_DRAWS equal slices. */
	for (int i = 0; opts->heap_sample && i < MP_SAMPLE_DRAWS; i++)
		skel->rodata->sample_gaps[i] =
			(__u64)(-log((i + 0.5) / MP_SAMPLE_DRAWS) * opts->heap_sample + 0.5);
	err = bpf_map__set_max_entries(skel->maps.events, opts->buffer_size);
	/* -g cfi: the tables' rows and page index; the other modes need none. */
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.cfi_rows,
					       opts->stack_mode == MP_STACK_CFI ? opts->cfi_rows : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.cfi_pages,
					       opts->stack_mode == MP_STACK_CFI ? opts->cfi_pages : 1);
	skel->rodata->owned_bits = opts->page_frames;
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.owned, opts->page_frames / 64);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.cached,
					       opts->cache ? opts->page_frames / 64 : 1);
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.scratch,
					       libbpf_num_possible_cpus() * MP_SCRATCH_NEST);
	/* --heap-sample: room for a million sampled blocks live at once. */
	if (!err)
		err = bpf_map__set_max_entries(skel->maps.sampled_blocks,
					       opts->heap_sample ? 1u << 20 : 1);
	if (err)
		return err;
	if (!opts->page) {
		bpf_program__set_autoload(skel->progs.rss_stat, false);
		bpf_program__set_autoload(skel->progs.page_alloc, false);
		bpf_program__set_autoload(skel->progs.page_alloc_nested, false);
		bpf_program__set_autoload(skel->progs.page_free, false);
		bpf_program__set_autoload(skel->progs.page_free_nested, false);
	}
	/* With -e cache, cache_add moves the target's pages to the cache. */
	if (!opts->page || opts->cache)
		bpf_program__set_autoload(skel->progs.page_to_cache, false);
	if (!opts->cache) {
		bpf_program__set_autoload(skel->progs.cache_add, false);
		bpf_program__set_autoload(skel->progs.cache_del, false);
	}
	if (!opts->mmap)
		bpf_program__set_autoload(skel->progs.sys_enter, false);
	else
		bpf_program__set_autoload(skel->progs.sys_exit_mmap, false);
	bpf_program__set_autoload(skel->progs.heap_entry, opts->heap);
	bpf_program__set_autoload(skel->progs.heap_free, opts->heap);
	bpf_program__set_autoload(skel->progs.heap_return, opts->heap);
	bpf_program__set_autoload(skel->progs.heap_session, opts->heap && b->session);
	if (opts->heap && b->multi) {
		bpf_program__set_expected_attach_type(skel->progs.heap_entry, MP_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.heap_free, MP_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(skel->progs.heap_return, MP_TRACE_UPROBE_MULTI);
	}
	if (opts->heap && b->session) {
		bpf_program__set_autoload(skel->progs.heap_entry, false);
		bpf_program__set_autoload(skel->progs.heap_return, false);
		bpf_program__set_expected_attach_type(skel->progs.heap_session,
						      MP_TRACE_UPROBE_SESSION);
	}
	bpf_program__set_autoload(skel->progs.sample_alloc, opts->heap && opts->heap_sample);
	bpf_program__set_autoload(skel->progs.sample_free, opts->heap && opts->heap_sample);
	err = memprof_bpf__load(skel);
	if (err || !opts->page)
		return err;
	return set_page_firsts(skel);
}

int mp_bpf__load(struct mp_bpf **out, const struct mp_bpf_opts *opts, mp_event_cb cb, void *ctx)
{
	struct mp_bpf *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->reaper.lock, NULL);
	pthread_cond_init(&b->reaper.more, NULL);
	pthread_cond_init(&b->reaper.done, NULL);
	b->opts = *opts;
	b->multi = opts->heap && uprobe_multi_works(MP_TRACE_UPROBE_MULTI);
	b->session = b->multi && uprobe_multi_works(MP_TRACE_UPROBE_SESSION);
	err = load_skel(b);
	if (err)
		goto fail;
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), (ring_buffer_sample_fn)cb, ctx,
				 NULL);
	if (!b->rb) {
		err = -errno;
		goto fail;
	}
	*out = b;
	return 0;
fail:
	mp_bpf__destroy(b);
	return err < 0 ? err : -err;
}

/*
 * mmap's exit, for the executable mappings: its own tracepoint, whose id is in
 * tracefs (mounted where it is not, as perf does); where that fails, every
 * system call's exit.
 */
static int attach_mmap_exit(struct mp_bpf *b)
{
	struct bpf_link *l = bpf_program__attach(b->skel->progs.sys_exit_mmap);

	if (!l && access("/sys/kernel/tracing/events", F_OK) &&
	    !mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		l = bpf_program__attach(b->skel->progs.sys_exit_mmap);
	if (l)
		return add_link(b, l);
	return add_link(b, bpf_program__attach(b->skel->progs.sys_exit));
}

int mp_bpf__attach_tracepoints(struct mp_bpf *b)
{
	struct memprof_bpf *s = b->skel;
	struct bpf_program *progs[] = {
		s->progs.process_fork, s->progs.process_exec, s->progs.process_exit,
		s->progs.task_rename,
		b->opts.mmap ? s->progs.sys_exit : NULL,
		b->opts.page ? s->progs.rss_stat : NULL,
		b->opts.cache ? s->progs.cache_add : NULL,
		b->opts.cache ? s->progs.cache_del : NULL,
		b->opts.mmap ? s->progs.sys_enter : NULL,
		b->opts.page ? s->progs.page_alloc : NULL,
		b->opts.page ? s->progs.page_alloc_nested : NULL,
		b->opts.page ? s->progs.page_free : NULL,
		b->opts.page ? s->progs.page_free_nested : NULL,
		b->opts.page && !b->opts.cache ? s->progs.page_to_cache : NULL,
	};
	int err;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (!progs[i])
			continue;
		err = add_link(b, bpf_program__attach(progs[i]));
		if (err)
			return err;
	}
	return b->opts.mmap ? 0 : attach_mmap_exit(b);
}

static int probe_set__link(struct probe_set *ps, struct bpf_link *l)
{
	if (!l)
		return -errno;
	ps->links[ps->nr_links++] = l;
	return 0;
}

/*
 * The pid filter of a uprobe_multi link for probes on process (or thread)
 * pid.  The kernel's filter matches the memory of pid's thread-group leader:
 * of a process whose leader has exited (a zombie) while other threads live
 * on, which record reaches through one of them, it is gone, and no probe
 * would ever be placed.  Then 0: the probes go in every process that maps
 * the file, the programs keep the target's events.
 */
static pid_t multi_link_pid(pid_t pid)
{
	char path[64], line[256];
	bool zombie = false;
	long tgid = -1;
	FILE *f;

	if (pid <= 0)
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:", 6))
			zombie = strchr(line, 'Z') != NULL;
		else if (!strncmp(line, "Tgid:", 5))
			tgid = strtol(line + 5, NULL, 10);
	}
	fclose(f);
	return zombie || (tgid > 0 && tgid != pid) ? 0 : pid;
}

/* A uprobe_multi link of prog on ps's file, kept in ps: none for no offsets. */
static int probe_set__multi(struct probe_set *ps, const struct bpf_program *prog, __u32 type,
			    const unsigned long *offsets, const __u64 *cookies, __u32 n, pid_t pid,
			    bool ret)
{
	int fd;

	if (!n)
		return 0;
	fd = uprobe_multi_link(bpf_program__fd(prog), type, ps->path, offsets, cookies, n, pid,
			       ret);
	if (fd < 0)
		return fd;
	ps->fds[ps->nr_fds++] = fd;
	return 0;
}

/*
 * The sites of ps as uprobe_multi links: the allocation functions' entries
 * (their kinds in the cookies) and their returns, as one session or two
 * links, and the frees.  Closing them costs a process's exit or record's
 * end one wait for the probes' removal where a link per site cost one each.
 */
static int attach_multi(struct mp_bpf *b, struct probe_set *ps)
{
	const struct memprof_bpf *skel = b->skel;
	unsigned long alloc[PROBE_MAX_SITES], frees[PROBE_MAX_SITES];
	__u64 cookies[PROBE_MAX_SITES];
	__u32 na = 0, nf = 0;
	pid_t pid = multi_link_pid(ps->pid);
	int err;

	for (int i = 0; i < ps->nr_sites; i++) {
		if (ps->sites[i].kind == MP_FREE) {
			frees[nf++] = ps->sites[i].offset;
		} else {
			cookies[na] = ps->sites[i].kind;
			alloc[na++] = ps->sites[i].offset;
		}
	}
	if (b->session) {
		err = probe_set__multi(ps, skel->progs.heap_session, MP_TRACE_UPROBE_SESSION, alloc,
				       cookies, na, pid, false);
	} else {
		err = probe_set__multi(ps, skel->progs.heap_entry, MP_TRACE_UPROBE_MULTI, alloc,
				       cookies, na, pid, false);
		if (!err)
			err = probe_set__multi(ps, skel->progs.heap_return, MP_TRACE_UPROBE_MULTI,
					       alloc, NULL, na, pid, true);
	}
	if (!err)
		err = probe_set__multi(ps, skel->progs.heap_free, MP_TRACE_UPROBE_MULTI, frees, NULL,
				       nf, pid, false);
	return err;
}

/* The sites of ps as uprobes and uretprobes, one link each, the kind in the cookie; frees their own program. */
static int attach_sites(struct mp_bpf *b, struct probe_set *ps)
{
	int err = 0;

	if (b->multi)
		return attach_multi(b, ps);

	for (int i = 0; i < ps->nr_sites && !err; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, entry, .bpf_cookie = ps->sites[i].kind);
		LIBBPF_OPTS(bpf_uprobe_opts, ret, .retprobe = true);

		if (ps->sites[i].kind == MP_FREE) {
			err = probe_set__link(ps, bpf_program__attach_uprobe_opts(
				b->skel->progs.heap_free, ps->pid, ps->path, ps->sites[i].offset,
				&entry));
			continue;
		}
		err = probe_set__link(ps, bpf_program__attach_uprobe_opts(
			b->skel->progs.heap_entry, ps->pid, ps->path, ps->sites[i].offset, &entry));
		if (err)
			continue;
		err = probe_set__link(ps, bpf_program__attach_uprobe_opts(
			b->skel->progs.heap_return, ps->pid, ps->path, ps->sites[i].offset, &ret));
	}
	return err;
}

static void probe_set__detach(struct mp_bpf *b, struct probe_set *ps)
{
	reaper__add(&b->reaper, ps->links, ps->nr_links);
	ps->nr_links = 0;
	reaper__add_items(&b->reaper, NULL, ps->fds, ps->nr_fds);
	ps->nr_fds = 0;
	free(ps->path);
	ps->path = NULL;
}

/* A set of probes for path and pid, its sites copied from sites: NULL when out of memory. */
static struct probe_set *probe_set__new(struct mp_bpf *b, const struct stat *st, const char *path,
					pid_t pid, const struct probe_site *sites, int nr)
{
	struct probe_set *ps;

	if (b->nr_sets == b->alloc_sets) {
		size_t n = b->alloc_sets ? b->alloc_sets * 2 : 4;
		void *p = realloc(b->sets, n * sizeof(*b->sets));

		if (!p)
			return NULL;
		b->sets = p;
		b->alloc_sets = n;
	}
	ps = &b->sets[b->nr_sets];
	memset(ps, 0, sizeof(*ps));
	ps->path = strdup(path);
	if (!ps->path)
		return NULL;
	ps->dev = st->st_dev;
	ps->ino = st->st_ino;
	ps->pid = pid;
	ps->nr_sites = nr;
	memcpy(ps->sites, sites, nr * sizeof(sites[0]));
	b->nr_sets++;
	return ps;
}

int mp_bpf__attach_heap(struct mp_bpf *b, const char *path, const char *prefix, pid_t pid,
			const struct probe_site **decoded, unsigned int *flags)
{
	struct probe_site sites[PROBE_MAX_SITES];
	struct probe_set *ps;
	bool seen = false;
	struct stat st;
	int nr = -1, err = 0;

	if (decoded)
		*decoded = NULL;
	*flags = 0;
	if (stat(path, &st))
		return -errno;
	for (size_t i = 0; i < b->nr_sets; i++) {
		ps = &b->sets[i];
		if (ps->dev != st.st_dev || ps->ino != st.st_ino)
			continue;
		*flags = PROBE_ALLOCATOR;
		if (ps->pid == pid || ps->pid == -1)
			return 0;
		/* Another process's probes on this file: its sites, without decoding it again. */
		if (!seen) {
			nr = ps->nr_sites;
			memcpy(sites, ps->sites, nr * sizeof(sites[0]));
		}
		seen = true;
	}
	if (nr < 0)
		nr = find_heap_probe_sites(path, prefix, sites, PROBE_MAX_SITES, flags);
	if (nr <= 0)
		return nr;
	ps = probe_set__new(b, &st, path, pid, sites, nr);
	if (!ps)
		return -ENOMEM;
	err = attach_sites(b, ps);
	if (err) {
		probe_set__detach(b, ps);
		b->nr_sets--;
		return err;
	}
	/* Decoded for this file now: the caller may want to say where the probes went. */
	if (decoded && !seen)
		*decoded = ps->sites;
	return nr;
}

int mp_bpf__attach_sample_points(struct mp_bpf *b, const char *path, uint64_t alloc_off,
				 uint64_t free_off)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o);
	int err;

	err = add_link(b, bpf_program__attach_uprobe_opts(b->skel->progs.sample_alloc, -1, path,
							  alloc_off, &o));
	if (!err)
		err = add_link(b, bpf_program__attach_uprobe_opts(b->skel->progs.sample_free, -1,
								  path, free_off, &o));
	return err;
}

int mp_bpf__inherit_heap(struct mp_bpf *b, pid_t parent, pid_t child)
{
	unsigned int flags;
	int err, n = 0;

	for (size_t i = 0; i < b->nr_sets; i++) {
		if (b->sets[i].pid != parent)
			continue;
		err = mp_bpf__attach_heap(b, b->sets[i].path, NULL, child, NULL, &flags);
		if (err < 0)
			return err;
		n++;
	}
	return n;
}

void mp_bpf__detach_heap(struct mp_bpf *b, pid_t pid)
{
	for (size_t i = 0; i < b->nr_sets;) {
		if (b->sets[i].pid != pid) {
			i++;
			continue;
		}
		probe_set__detach(b, &b->sets[i]);
		b->sets[i] = b->sets[--b->nr_sets];
	}
}

/* The target's bit in the BPF side's target_bits: set for MP_TARGET_ON only. */
static void target_bit(struct mp_bpf *b, pid_t pid, bool on)
{
	__u64 *w, bit;

	if (pid < 0 || (uint32_t)pid >= MP_PID_LIMIT)
		return;
	w = &b->skel->bss->target_bits[pid / 64];
	bit = 1ull << (pid % 64);
	if (on)
		__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_and(w, ~bit, __ATOMIC_SEQ_CST);
}

int mp_bpf__add_target(struct mp_bpf *b, pid_t pid, enum mp_target state)
{
	__u32 key = pid;
	__u8 v = state;
	int err;

	err = bpf_map__update_elem(b->skel->maps.targets, &key, sizeof(key), &v, sizeof(v),
				   BPF_ANY);
	if (!err)
		target_bit(b, pid, state == MP_TARGET_ON);
	return err;
}

void mp_bpf__forget_target(struct mp_bpf *b, pid_t pid)
{
	__u32 key = pid;
	__u8 v;

	/* Not if the pid was reused meanwhile by a new child of a target. */
	if (!bpf_map__lookup_elem(b->skel->maps.targets, &key, sizeof(key), &v, sizeof(v), 0) &&
	    (v == MP_TARGET_EXITING || v == MP_TARGET_UNMAPPING)) {
		bpf_map__delete_elem(b->skel->maps.targets, &key, sizeof(key), 0);
		target_bit(b, pid, false);
	}
}

int mp_bpf__poll(struct mp_bpf *b, int timeout_ms)
{
	int n = ring_buffer__poll(b->rb, timeout_ms);

	if (n < 0 && n != -EINTR)
		return n;
	/* Programs mostly submit without a wakeup: look whatever poll said. */
	n = ring_buffer__consume(b->rb);
	return n < 0 && n != -EINTR ? n : 0;
}

/*
 * A per-CPU array's first n values, each summed over the CPUs: a value of
 * size bytes, its counter (a __u64) off bytes into it.
 */
static int sum_percpu_at(const struct bpf_map *map, uint64_t *out, uint32_t n, size_t size,
			 size_t off)
{
	int ncpu = libbpf_num_possible_cpus();
	char *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, size);
	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map__lookup_elem(map, &i, sizeof(i), vals, ncpu * size, 0))
			continue;
		for (int c = 0; c < ncpu; c++) {
			uint64_t v;

			memcpy(&v, vals + c * size + off, sizeof(v));
			out[i] += v;
		}
	}
	free(vals);
	return 0;
}

/* A per-CPU array of n counters, each summed over the CPUs. */
static int sum_percpu(const struct bpf_map *map, uint64_t *out, uint32_t n)
{
	return sum_percpu_at(map, out, n, sizeof(uint64_t), 0);
}

/*
 * The loss a program's skipped runs stand for: the kernel does not run a
 * tracing program on a CPU where it is running already (an interrupt in the
 * middle of it) and counts the run in its recursion_misses.  The page
 * programs' twins make most of those runs instead (page_lost()).
 */
static int prog_lost_type(const char *name)
{
	static const struct {
		const char *prefix;
		int lost;
	} types[] = {
		{ "page_", MP_LOST_PAGE }, { "cache_", MP_LOST_CACHE }, { "sys_", MP_LOST_MMAP },
		{ "process_", MP_LOST_OTHER }, { "task_", MP_LOST_OTHER },
		{ "heap_", MP_LOST_HEAP }, { "sample_", MP_LOST_HEAP },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strncmp(name, types[i].prefix, strlen(types[i].prefix)))
			return types[i].lost;
	return -1;	/* rss_stat: a sample is taken at the next interval anyway */
}

/* The runs the page programs' twins made in place of their firsts', on all CPUs. */
static int twins_caught(struct mp_bpf *b, uint64_t caught[MP_TWIN__MAX])
{
	return sum_percpu_at(b->skel->maps.page_twins, caught, MP_TWIN__MAX,
			     sizeof(struct mp_page_twin), offsetof(struct mp_page_twin, caught));
}

/*
 * A page program's skipped runs are lost less those its twin made: each
 * counter read apart from the other, the first's before its twin's, so that
 * a run skipped between the two reads can only make the figure short for
 * now, never over; and kept from going back meanwhile.  Final once the
 * programs are detached, and then the runs a twin made beyond those skipped
 * (events recorded twice) count too, so that report flags the page figures.
 */
static uint64_t page_lost(struct mp_bpf *b, const uint64_t misses[MP_TWIN__MAX])
{
	uint64_t caught[MP_TWIN__MAX], sum = 0;

	if (twins_caught(b, caught))
		memset(caught, 0, sizeof(caught));
	b->twin_extra = 0;
	for (int i = 0; i < MP_TWIN__MAX; i++) {
		uint64_t n = misses[i] > caught[i] ? misses[i] - caught[i] : 0;

		/*
		 * More runs made than skipped: a kernel that ran the first
		 * program nested all the same, whose events came twice.
		 */
		if (caught[i] > misses[i])
			b->twin_extra += caught[i] - misses[i];

		if (n > b->twin_lost[i])
			b->twin_lost[i] = n;
		sum += b->twin_lost[i];
	}
	return sum + (b->detached ? b->twin_extra : 0);
}

uint64_t mp_bpf__twin_extra(struct mp_bpf *b)
{
	return b->twin_extra;
}

int mp_bpf__lost(struct mp_bpf *b, uint64_t lost[MP_LOST__MAX])
{
	struct memprof_bpf *s = b->skel;
	uint64_t misses[MP_TWIN__MAX] = { 0 };
	struct bpf_program *prog;
	int err = sum_percpu(s->maps.lost, lost, MP_LOST__MAX);

	if (err)
		return err;
	bpf_object__for_each_program(prog, s->obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog), type = prog_lost_type(bpf_program__name(prog));

		/* A twin skipped a run its first made, or that the first's count holds. */
		if (prog == s->progs.page_alloc_nested || prog == s->progs.page_free_nested)
			continue;
		if (fd < 0 || type < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		if (prog == s->progs.page_alloc)
			misses[MP_TWIN_ALLOC] = info.recursion_misses;
		else if (prog == s->progs.page_free)
			misses[MP_TWIN_FREE] = info.recursion_misses;
		else
			lost[type] += info.recursion_misses;
	}
	lost[MP_LOST_PAGE] += page_lost(b, misses);
	return 0;
}

int mp_bpf__unwind_ends(struct mp_bpf *b, uint64_t ends[MP_UNWIND__MAX + 1])
{
	return sum_percpu(b->skel->maps.unwind_ends, ends, MP_UNWIND__MAX + 1);
}

uint64_t mp_bpf__irq_pages(struct mp_bpf *b)
{
	uint64_t n;

	return sum_percpu(b->skel->maps.page_irq, &n, 1) ? 0 : n;
}

void mp_bpf__cfi_maps(struct mp_bpf *b, int *rows, int *pages, int *files, int *procs,
		      __u32 **gen)
{
	*rows = bpf_map__fd(b->skel->maps.cfi_rows);
	*pages = bpf_map__fd(b->skel->maps.cfi_pages);
	*files = bpf_map__fd(b->skel->maps.cfi_files);
	*procs = bpf_map__fd(b->skel->maps.cfi_procs);
	*gen = &b->skel->bss->cfi_gen;
}

void mp_bpf__detach(struct mp_bpf *b)
{
	if (!b)
		return;
	reaper__add(&b->reaper, b->links, b->nr_links);
	b->nr_links = 0;
	for (size_t i = 0; i < b->nr_sets; i++)
		probe_set__detach(b, &b->sets[i]);
	b->nr_sets = 0;
	reaper__finish(&b->reaper);
	b->detached = true;
}

void mp_bpf__destroy(struct mp_bpf *b)
{
	if (!b)
		return;
	mp_bpf__detach(b);
	ring_buffer__free(b->rb);
	memprof_bpf__destroy(b->skel);
	pthread_mutex_destroy(&b->reaper.lock);
	pthread_cond_destroy(&b->reaper.more);
	pthread_cond_destroy(&b->reaper.done);
	free(b->links);
	free(b->sets);
	free(b);
}
