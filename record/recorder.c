/*
 * One recording (record/recorder.h): the BPF programs loaded and attached to
 * the target, the event loop that turns their events into the trace, the
 * heap probes put on each C library the targets map, and the end: every
 * program detached, the buffer drained, the END record with the totals.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record/recorder.h"

/*
 * -g cfi: rows and page index entries the tables may take, 8 bytes each:
 * 16 MiB and 2 MiB, some 40 processes' worth of distinct libraries (libc is
 * 23,000 rows, libstdc++ 28,000).
 */
#define CFI_ROWS (1u << 21)
#define CFI_PAGES (1u << 18)

bool recorder__waits(const struct recorder *r)
{
	return r->opts.all || r->opts.comm || r->opts.exec;
}

void recorder__init(struct recorder *r, const struct recorder_opts *o)
{
	*r = (struct recorder){
		.opts = *o,
		.wl = { .pid = -1, .go_fd = -1, .err_fd = -1 },
		.children = HASHMAP_INIT(struct child_probed, 8),
		.parents = HASHMAP_INIT(struct parent_children, 8),
	};
}

/* The path the command will exec: argv[0] itself, or where PATH finds it. */
static bool command_path(const char *cmd, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(cmd, '/')) {
		snprintf(out, size, "%s", cmd);
		return true;
	}
	for (p = path; p && *p;) {
		const char *colon = strchr(p, ':');
		int len = colon ? (int)(colon - p) : (int)strlen(p);

		snprintf(out, size, "%.*s/%s", len, len ? p : ".", cmd);
		if (!access(out, X_OK))
			return true;
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

/*
 * memprof's preload library (preload/sample.c): beside the binary (make O=,
 * and the binary in build/), in build/ below it (make), or installed in
 * ../lib/memprof.  NULL when it is not there.
 */
static char *find_preload(void)
{
	static const char *const where[] = { "", "build/", "../lib/memprof/" };
	char exe[4096], path[4200], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	slash[1] = '\0';
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(path, sizeof(path), "%s%s" PRELOAD_LIB, exe, where[i]);
		if (!access(path, R_OK))
			return realpath(path, NULL);
	}
	return NULL;
}

/*
 * --heap-sample with a command: sampled in the command itself by the preload
 * library, when it is there and the command can preload it (not a static
 * program); else in the kernel, as with -p.
 */
static int sampler_setup(struct recorder *r)
{
	static char preload_env[4200 + 4096], sample_env[64];
	const char *old = getenv("LD_PRELOAD");
	char path[4096];

	if (!r->opts.heap_sample || !r->opts.argv || !(r->opts.events & (1u << MPF_EV_HEAP)))
		return 0;
	if (!command_path(r->opts.argv[0], path, sizeof(path)) ||
	    probe_program_is_static(path) == 1)
		return 0;
	r->preload = find_preload();
	r->no_preload = !r->preload;
	if (!r->preload)
		return 0;
	snprintf(preload_env, sizeof(preload_env), "LD_PRELOAD=%s%s%s", r->preload,
		 old && *old ? ":" : "", old ? old : "");
	snprintf(sample_env, sizeof(sample_env), "MEMPROF_HEAP_SAMPLE=%" PRIu64,
		 r->opts.heap_sample);
	r->env[0] = preload_env;
	r->env[1] = sample_env;
	return 0;
}

int recorder__load(struct recorder *r)
{
	struct mp_bpf_opts bo = {
		.page = r->opts.events & (1u << MPF_EV_PAGE),
		.heap = r->opts.events & (1u << MPF_EV_HEAP),
		.cache = r->opts.events & (1u << MPF_EV_CACHE),
		.mmap = r->opts.events & (1u << MPF_EV_MMAP),
		.inherit = r->opts.inherit,
		.all = r->opts.all,
		.self = (uint32_t)getpid(),
		.comm = r->opts.comm,
		.match_exec = r->opts.exec != NULL,
		.stack_mode = r->opts.stack_mode,
		.dwarf_size = r->opts.dwarf_size,
		.buffer_size = r->opts.buffer_size,
		.page_frames = system__page_frames(),
		.cfi_rows = CFI_ROWS,
		.cfi_pages = CFI_PAGES,
		.heap_sample = r->opts.heap_sample,
		.heap_exact_time = r->opts.heap_exact_time,
		.bare_probes = r->opts.bare_probes,
	};

	/*
	 * A launched command is probed in every process: its children (and what
	 * they exec) are then recorded from their first instruction.  A running
	 * process is probed alone, so that the rest of the system does not pay
	 * for it; its new children get probes as their fork is seen.
	 */
	r->probe_pid = r->opts.argv || r->opts.probe_all || recorder__waits(r) ? -1 : 0;
	sampler_setup(r);
	if (r->opts.exec) {
		struct stat st;

		if (stat(r->opts.exec, &st))
			return -errno;
		bo.exec_dev = system__kernel_dev(st.st_dev);
		bo.exec_ino = st.st_ino;
	}
	return mp_bpf__load(&r->bpf, &bo, recorder__event, r);
}

/* The prefix --heap-lib gives the file at path, NULL if none; *named: --heap-lib names it. */
static const char *heap_lib_prefix(const struct recorder *r, const char *path, bool *named)
{
	struct stat a, b;

	*named = false;
	for (int i = 0; i < r->opts.nr_heap_libs; i++) {
		const char *lib = r->opts.heap_libs[i], *colon = strrchr(lib, ':');
		char p[4096];

		snprintf(p, sizeof(p), "%.*s", colon ? (int)(colon - lib) : (int)strlen(lib), lib);
		if (strcmp(p, path) && (stat(p, &a) || stat(path, &b) || a.st_dev != b.st_dev ||
					a.st_ino != b.st_ino))
			continue;
		*named = true;
		return colon && colon[1] ? colon + 1 : NULL;
	}
	return NULL;
}

/*
 * Heap probes on the allocator in the file at path (open_path as record reaches
 * it), if it has one, as r's targets need: the number of sites, 0 when none.
 */
static int probe_file(struct recorder *r, pid_t pid, const char *open_path, const char *path,
		      unsigned int *flags)
{
	const struct probe_site *sites;
	bool named;
	const char *prefix = heap_lib_prefix(r, path, &named);
	int n = mp_bpf__attach_heap(r->bpf, open_path, prefix, pid, &sites, flags);

	if (named && n >= 0 && !(*flags & PROBE_ALLOCATOR))
		n = -ENOENT;
	for (int i = 0; n > 0 && sites && i < n; i++) {
		const struct recorder_note note = {
			.kind = NOTE_PROBE_SITE, .path = path, .site = &sites[i]
		};

		if (!sites[i].emulated)
			r->single_step++;
		if (r->note)
			r->note(r->note_ctx, &note);
	}
	if (n > 0) {
		const struct recorder_note note = { .kind = NOTE_HEAP_PROBED, .path = path, .count = n };

		if (r->note)
			r->note(r->note_ctx, &note);
	}
	return n;
}

/* A static program without an allocator found is said once, not for each process running it. */
static void no_allocator(struct recorder *r, pid_t pid, const char *path)
{
	size_t i, n = sizeof(r->no_allocator) / sizeof(r->no_allocator[0]);

	for (i = 0; i < n && r->no_allocator[i]; i++)
		if (!strcmp(r->no_allocator[i], path))
			return;
	if (i < n)
		r->no_allocator[i] = strdup(path);
	recorder__note(r, NOTE_NO_ALLOCATOR, pid, path, 0);
}

/*
 * A new ELF file in a target: if it holds an allocator, the heap probes go on
 * it.  A static program with none (stripped, say) is said: its heap calls are
 * not seen.
 */
static void on_new_file(void *ctx, pid_t pid, const char *open_path, const char *path)
{
	struct recorder *r = ctx;
	unsigned int flags = 0;
	int n;

	if (!(r->opts.events & (1u << MPF_EV_HEAP)) || r->preload)
		return;
	n = probe_file(r, r->probe_pid ? r->probe_pid : pid, open_path, path, &flags);
	if (n < 0 && (flags & PROBE_ALLOCATOR))
		recorder__note(r, NOTE_HEAP_FAILED, pid, path, n);
	if ((flags & PROBE_STATIC_PROGRAM) && !(flags & PROBE_ALLOCATOR))
		no_allocator(r, pid, path);
}

/*
 * Before the command runs, the probes go on the allocators record itself maps
 * (its C library is almost always the command's), on the command's own file
 * and on the --heap-lib files,
 * for every process; with -p, a --heap-lib file is checked to hold its allocator.
 * With the preload library, on its probe points only.
 */
static int probe_at_start(struct recorder *r)
{
	char line[4096];
	uint64_t alloc_off, free_off;
	unsigned int flags;
	FILE *f;
	int err = 0;

	if (r->preload) {
		const struct recorder_note note = { .kind = NOTE_SAMPLER, .path = r->preload };

		if (r->note)
			r->note(r->note_ctx, &note);
		err = find_sample_points(r->preload, &alloc_off, &free_off);
		return err ? err : mp_bpf__attach_sample_points(r->bpf, r->preload, alloc_off,
								free_off);
	}
	if (r->opts.heap_sample) {
		const struct recorder_note note = { .kind = NOTE_SAMPLER };

		if (r->note)
			r->note(r->note_ctx, &note);
	}
	for (int i = 0; i < r->opts.nr_heap_libs; i++) {
		const char *lib = r->opts.heap_libs[i], *colon = strrchr(lib, ':');
		char p[4096];
		int n;

		snprintf(p, sizeof(p), "%.*s", colon ? (int)(colon - lib) : (int)strlen(lib), lib);
		if (r->opts.argv) {
			n = probe_file(r, -1, p, p, &flags);
		} else {
			/* -p: checked only; the target's probes go on as its maps are read. */
			struct probe_site sites[PROBE_MAX_SITES];

			n = find_heap_probe_sites(p, colon && colon[1] ? colon + 1 : NULL, sites,
						  PROBE_MAX_SITES, &flags);
			if (n >= 0 && !(flags & PROBE_ALLOCATOR))
				n = -ENOENT;
		}
		if (n < 0) {
			recorder__note(r, NOTE_HEAP_LIB, 0, lib, n);
			return n;
		}
	}
	if (!r->opts.argv && !recorder__waits(r))
		return 0;
	/* The command's own file: a static program's allocator is there, and runs at once. */
	if (r->opts.argv && command_path(r->opts.argv[0], line, sizeof(line))) {
		err = probe_file(r, -1, line, line, &flags);
		if (err < 0 && (flags & PROBE_ALLOCATOR))
			return err;
		err = 0;
	}
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/'), perms[8];

		if (!path || sscanf(line, "%*s %7s", perms) != 1 || perms[2] != 'x')
			continue;
		path[strcspn(path, "\n")] = '\0';
		err = probe_file(r, -1, path, path, &flags);
		if (err < 0 && (flags & PROBE_ALLOCATOR))
			break;
		err = 0;
	}
	fclose(f);
	return err < 0 ? err : 0;
}

static void write_lost(struct recorder *r, uint64_t time)
{
	uint64_t lost[MP_LOST__MAX];
	static const unsigned int ev_of[MP_LOST__MAX] = {
		[MP_LOST_PAGE] = MPF_EV_PAGE,
		[MP_LOST_HEAP] = MPF_EV_HEAP,
		[MP_LOST_OTHER] = MPF_LOST_PROC,
		[MP_LOST_CACHE] = MPF_EV_CACHE,
		[MP_LOST_MMAP] = MPF_EV_MMAP,
	};

	if (mp_bpf__lost(r->bpf, lost))
		return;
	memcpy(r->lost_total, lost, sizeof(lost));
	/* After a write error nothing more reaches the file: the totals are for the summary. */
	if (r->write_err)
		return;
	for (int i = 0; i < MP_LOST__MAX; i++) {
		struct mpf_record rec = { .type = MPF_REC_LOST, .time = time };

		if (lost[i] == r->lost_written[i])
			continue;
		rec.lost.event = ev_of[i];
		rec.lost.count = lost[i] - r->lost_written[i];
		r->lost_written[i] = lost[i];
		recorder__write(r, &rec);
	}
}

/* -g's names, by enum mp_stack_mode. */
static const char *const call_graph_names[] = {
	[MP_STACK_NONE] = "none", [MP_STACK_FP] = "fp", [MP_STACK_DWARF] = "dwarf",
	[MP_STACK_CFI] = "cfi",
};

static void write_info(struct recorder *r, int argc, char **argv)
{
	struct mpf_record rec = { .type = MPF_REC_INFO, .time = now_ns(CLOCK_MONOTONIC) };
	char host[256] = "", cmdline[4096] = "", sample[32];
	struct utsname u;
	size_t len = 0, nkv;

	gethostname(host, sizeof(host) - 1);
	uname(&u);
	for (int i = 0; i < argc && len < sizeof(cmdline); i++)
		len += snprintf(cmdline + len, sizeof(cmdline) - len, "%s%s", i ? " " : "",
				argv[i]);
	/* What report --header shows of the recording. */
	const char *kv[][2] = {
		{ "memprof", MEMPROF_VERSION }, { "hostname", host }, { "release", u.release },
		{ "machine", u.machine }, { "cmdline", cmdline },
		{ "call-graph", r->opts.stack_mode < sizeof(call_graph_names) / sizeof(call_graph_names[0])
				? call_graph_names[r->opts.stack_mode] : "?" },
		{ MPF_INFO_HEAP_SAMPLE, sample },
		{ "heap-sampler", r->preload ? "process" : "kernel" },
	};
	snprintf(sample, sizeof(sample), "%" PRIu64, r->opts.heap_sample);
	/* The sampling's, only when sampled: report scales the heap figures by it. */
	nkv = sizeof(kv) / sizeof(kv[0]) - (r->opts.heap_sample ? 0 : 2);
	for (size_t i = 0; i < nkv; i++) {
		rec.info.key = kv[i][0];
		rec.info.value = kv[i][1];
		recorder__write(r, &rec);
	}
}

/*
 * -g cfi: the tables, and before the target runs those of the files it is
 * about to map: record's own (the C library, the dynamic loader), the vDSO,
 * and a launched command with what it needs; the kernel side then has its
 * first instructions' mappings at its exec.
 */
static int cfi_start(struct recorder *r)
{
	int rows, pages, files, procs, err;
	char line[4096], path[4096];
	__u32 *gen;
	FILE *f;

	mp_bpf__cfi_maps(r->bpf, &rows, &pages, &files, &procs, &gen);
	err = cfi__new(&r->cfi, rows, pages, files, procs, gen, CFI_ROWS, CFI_PAGES);
	if (err)
		return err;
	cfi__add_vdso(r->cfi);
	f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/'), perms[8];

		if (p && sscanf(line, "%*s %7s", perms) == 1 && perms[2] == 'x') {
			p[strcspn(p, "\n")] = '\0';
			cfi__add_file(r->cfi, p);
		}
	}
	if (f)
		fclose(f);
	if (r->opts.argv && command_path(r->opts.argv[0], path, sizeof(path)))
		cfi__add_program(r->cfi, path);
	if (r->opts.exec)
		cfi__add_program(r->cfi, r->opts.exec);
	/*
	 * --comm: the program PATH finds by that name, the usual source of a
	 * process's name; else a process found at its exec has its first
	 * stacks cut short until its tables are compiled, 140 ms for sqlite3.
	 */
	if (r->opts.comm && !strchr(r->opts.comm, '/') &&
	    command_path(r->opts.comm, path, sizeof(path)))
		cfi__add_program(r->cfi, path);
	return 0;
}

void recorder__sync_cfi(struct recorder *r, pid_t pid)
{
	if (r->cfi)
		cfi__sync(r->cfi, r->maps, pid);
}

/* The kernel side counts the walks' ends as the trace names them. */
_Static_assert((int)MP_UNWIND_COMPLETE == MPF_UNWIND_COMPLETE &&
	       (int)MP_UNWIND_NO_TABLE == MPF_UNWIND_NO_TABLE && (int)MP_UNWIND_DEPTH == MPF_UNWIND_DEPTH &&
	       (int)MP_UNWIND_UNREADABLE == MPF_UNWIND_UNREADABLE && (int)MP_UNWIND_BAD == MPF_UNWIND_BAD &&
	       (int)MP_UNWIND__MAX == MPF_UNWIND__MAX,
	       "enum mp_unwind_end and enum mpf_unwind differ");

/* The stack walks by how they ended: "complete=N no-table=N ...", for report. */
static void write_stacks(struct recorder *r, uint64_t time)
{
	struct mpf_record rec = { .type = MPF_REC_INFO, .time = time };
	char buf[256];
	size_t len = 0;

	for (int i = 0; i < MP_UNWIND__MAX; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s=%" PRIu64, i ? " " : "",
				mpf_unwind_name(i), r->unwind_ends[i]);
	rec.info.key = MPF_INFO_STACKS;
	rec.info.value = buf;
	recorder__write(r, &rec);
}

/* A child's heap, missed or late, counted for its parent. */
static void parent__count(struct recorder *r, uint32_t ppid, bool missed, int delta)
{
	uint64_t key = ppid;
	struct parent_children *p = hashmap__insert(&r->parents, &key, &(bool){ false });

	if (missed) {
		r->children_missed += delta;
		if (p)
			p->missed += delta;
	} else {
		r->children_late += delta;
		if (p)
			p->late += delta;
	}
}

void recorder__child_probed(struct recorder *r, pid_t ppid, pid_t pid, uint64_t fork_time,
			    int err)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC), key = (uint32_t)pid;
	struct child_probed *c;

	if (err < 0) {
		parent__count(r, ppid, true, 1);
		return;
	}
	if (!err)
		return;		/* its parent had no heap probes: nothing was missed */
	parent__count(r, ppid, false, 1);
	if (now > fork_time && now - fork_time > r->children_delay_max)
		r->children_delay_max = now - fork_time;
	c = hashmap__insert(&r->children, &key, &(bool){ false });
	if (c) {
		c->ppid = ppid;
		c->probed = now;
	}
}

void recorder__child_exited(struct recorder *r, pid_t pid, uint64_t time)
{
	uint64_t key = (uint32_t)pid;
	struct child_probed *c = hashmap__find(&r->children, &key);

	if (!c)
		return;
	/* Gone before its probes were in place: nothing of its heap was recorded. */
	if (time < c->probed) {
		parent__count(r, c->ppid, false, -1);
		parent__count(r, c->ppid, true, 1);
	}
	hashmap__remove(&r->children, c);
}

static int parent_cmp(const void *a, const void *b)
{
	const struct parent_children *x = a, *y = b;
	uint64_t nx = x->missed + x->late, ny = y->missed + y->late;

	return nx != ny ? (nx < ny ? 1 : -1) : (x->pid > y->pid) - (x->pid < y->pid);
}

/* The counts, as the trace's INFO holds them (parents with most first). */
static int heap_children(const struct recorder *r, struct mpf_heap_children *out)
{
	struct parent_children *all = NULL, *p;
	size_t n = 0, pos = 0;

	memset(out, 0, sizeof(*out));
	out->missed = r->children_missed;
	out->late = r->children_late;
	out->delay_ms = (r->children_delay_max + 999999) / 1000000;
	if (!r->parents.count)
		return 0;
	all = malloc(r->parents.count * sizeof(*all));
	if (!all)
		return -ENOMEM;
	while ((p = hashmap__next(&r->parents, &pos)))
		if (p->missed || p->late)
			all[n++] = *p;
	qsort(all, n, sizeof(*all), parent_cmp);
	for (size_t i = 0; i < n && i < MPF_HEAP_PARENTS; i++) {
		out->parents[i].pid = (uint32_t)all[i].pid;
		out->parents[i].missed = all[i].missed;
		out->parents[i].late = all[i].late;
		out->nparents++;
	}
	free(all);
	return 0;
}

static void write_heap_children(struct recorder *r, uint64_t time)
{
	struct mpf_record rec = { .type = MPF_REC_INFO, .time = time };
	struct mpf_heap_children *c = &r->heap_children;
	char buf[512];

	if (heap_children(r, c) || (!c->missed && !c->late))
		return;
	mpf_heap_children_format(c, buf, sizeof(buf));
	rec.info.key = MPF_INFO_HEAP_CHILDREN;
	rec.info.value = buf;
	recorder__write(r, &rec);
}

/*
 * A running process to record from now on (-p, and -a, --comm, --exec for
 * those running already): its name, its maps and its RSS, as a fork or an
 * exec gives them for a new one.
 */
static int attach_running(struct recorder *r, pid_t pid, const char *comm)
{
	struct mpf_record rec = { .type = MPF_REC_COMM, .time = r->start_time };
	int err;

	rss__add(r, pid);
	rec.comm.pid = rec.comm.tid = pid;
	snprintf(rec.comm.comm, sizeof(rec.comm.comm), "%s", comm);
	recorder__write(r, &rec);
	err = procmaps__scan(r->maps, pid, r->start_time);
	if (err)
		return err;
	recorder__sync_cfi(r, pid);
	return 0;
}

/* system__each_process()'s callback: a process -a, --comm or --exec takes, from now on. */
static int attach_found(void *ctx, pid_t pid, const char *comm, uint32_t dev, uint64_t ino)
{
	struct recorder *r = ctx;
	struct stat st;
	int err;

	if (r->opts.comm && strncmp(comm, r->opts.comm, MPF_COMM_LEN - 1))
		return 0;
	if (r->opts.exec && (stat(r->opts.exec, &st) || system__kernel_dev(st.st_dev) != dev ||
			     st.st_ino != ino))
		return 0;
	err = mp_bpf__add_target(r->bpf, pid, MP_TARGET_ON);
	if (!err)
		err = attach_running(r, pid, comm);
	/* Gone meanwhile, or not readable: the others are still recorded. */
	if (err) {
		mp_bpf__forget_target(r->bpf, pid);
		recorder__note(r, NOTE_ATTACH_FAILED, pid, comm, err);
		return 0;
	}
	if (!r->opts.all) {
		recorder__add_root(r, pid);
		r->found++;
		recorder__note(r, NOTE_FOUND, pid, comm, 0);
	}
	return 0;
}

void recorder__add_root(struct recorder *r, pid_t pid)
{
	for (size_t i = 0; i < r->nroots; i++)
		if (r->roots[i] == pid)
			return;
	if (r->nroots == r->roots_cap) {
		size_t cap = r->roots_cap ? 2 * r->roots_cap : 8;
		pid_t *v = realloc(r->roots, cap * sizeof(*v));

		if (!v)
			return;
		r->roots = v;
		r->roots_cap = cap;
	}
	r->roots[r->nroots++] = pid;
}

void recorder__exited(struct recorder *r, pid_t pid)
{
	if (pid == r->target && r->opts.argv)
		r->target_exited = true;
	for (size_t i = 0; i < r->nroots; i++)
		if (r->roots[i] == pid) {
			r->roots[i] = r->roots[--r->nroots];
			/* The last process -p named, or --comm found, is gone: so is the recording. */
			if (!r->nroots && !r->opts.all)
				r->target_exited = true;
			return;
		}
}

/* Whether a process of roots still runs (its exit may have been lost). */
static bool roots_alive(struct recorder *r)
{
	for (size_t i = 0; i < r->nroots; i++)
		if (!kill(r->roots[i], 0) || errno != ESRCH)
			return true;
	return false;
}

int recorder__start(struct recorder *r, struct mpf_writer *w, int argc, char **argv,
		    enum recorder_stage *stage)
{
	bool heap = r->opts.events & (1u << MPF_EV_HEAP);
	int err;

	r->w = w;
	*stage = STAGE_MEMORY;
	r->maps = procmaps__new(r->w, on_new_file, r, !r->opts.no_buildid_cache);
	if (!r->maps)
		return -ENOMEM;
	if (r->opts.stack_mode == MP_STACK_FP) {
		r->leaf = leaf__new(r->maps);
		if (!r->leaf)
			return -ENOMEM;
	}
	write_info(r, argc, argv);
	if (r->opts.stack_mode == MP_STACK_CFI) {
		err = cfi_start(r);
		if (err)
			return err;
	}

	*stage = STAGE_ATTACH;
	if (r->opts.argv)
		err = mp_bpf__add_target(r->bpf, r->target, MP_TARGET_AT_EXEC);
	for (size_t i = 0; i < r->opts.npids && !err; i++)
		err = mp_bpf__add_target(r->bpf, r->opts.pids[i], MP_TARGET_ON);
	if (!err)
		err = mp_bpf__attach_tracepoints(r->bpf);
	if (err)
		return err;
	*stage = STAGE_HEAP_PROBES;
	if (heap && (err = probe_at_start(r)) < 0) {
		if (err == -ENOENT && r->opts.nr_heap_libs)
			*stage = STAGE_HEAP_LIB;
		return err;
	}
	*stage = STAGE_MAPS;
	for (size_t i = 0; i < r->opts.npids; i++) {
		char comm[MPF_COMM_LEN] = "";

		if (r->opts.pids[i] == r->target)
			memcpy(comm, r->target_comm, sizeof(comm));
		else
			system__thread_group(r->opts.pids[i], comm, sizeof(comm));
		err = attach_running(r, r->opts.pids[i], comm);
		if (err)
			return err;
		recorder__add_root(r, r->opts.pids[i]);
	}
	/* -a, --comm, --exec: what runs already, then (the kernel side) what starts. */
	if (recorder__waits(r))
		system__each_process(attach_found, r);
	return 0;
}

/*
 * How long records wait in record's buffer before they are written: a
 * recorder killed with -9 loses at most the last 200 ms of events (or the
 * chunk being filled, 1 MiB of records, when they come faster), besides what
 * the kernel's ring buffer still holds.  Flushing costs a small chunk's
 * compression and a write, five times a second at most.
 */
#define FLUSH_INTERVAL_NS (200 * 1000000ull)
#define DRAIN_INTERVAL_NS (1000 * 1000000ull)	/* a drain queues work on every CPU */

int recorder__run(struct recorder *r, volatile sig_atomic_t *stop)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC), last_flush = start, last_drain = start;
	int err, status;

	/* What recorder__start wrote (the target's maps, INFO) goes to the file at once. */
	err = mpf_writer__flush(r->w);
	if (err && !r->write_err)
		r->write_err = err;

	while (!r->write_err) {
		uint64_t now;

		if (*stop) {
			r->stopped = true;
			break;
		}
		err = mp_bpf__poll(r->bpf, r->nrss ? (int)r->opts.rss_interval : 100);
		if (err && !r->write_err)
			return err;
		if (r->target_exited)
			break;
		if (r->wl.pid > 0 && waitpid(r->wl.pid, &status, WNOHANG) == r->wl.pid) {
			r->wl.pid = 0;
			r->wl.status = status;
			break;
		}
		if (r->nroots && !roots_alive(r))
			break;
		now = now_ns(CLOCK_MONOTONIC);
		if (r->nrss && now >= r->rss_next)
			rss__sample(r, now);
		if (r->opts.duration && now - start >= r->opts.duration * 1000000000ull) {
			r->stopped = true;
			break;
		}
		/*
		 * A page a target unmapped can wait in another CPU's LRU batch to
		 * be freed: drained now, it is freed while its owner lives, as it
		 * should be, not at some later time or after the owner's exit.
		 */
		if ((r->opts.events & (1u << MPF_EV_PAGE)) && now - last_drain >= DRAIN_INTERVAL_NS) {
			system__drain_lru_batches();
			last_drain = now;
		}
		if (now - last_flush >= FLUSH_INTERVAL_NS) {
			write_lost(r, now);
			err = mpf_writer__flush(r->w);
			if (err && !r->write_err)
				r->write_err = err;
			last_flush = now;
		}
	}
	return 0;
}

void recorder__finish(struct recorder *r)
{
	struct mpf_writer_stats st;
	struct mpf_record end = { .type = MPF_REC_END };

	/* Pages a running target unmapped last are freed now, not never. */
	system__drain_lru_batches();
	/* Stop the programs, then take everything still in the buffer. */
	mp_bpf__detach(r->bpf);
	mp_bpf__poll(r->bpf, 0);
	mp_bpf__unwind_ends(r->bpf, r->unwind_ends);
	if (r->cfi)
		cfi__stats(r->cfi, &r->cfi_stats);
	end.time = now_ns(CLOCK_MONOTONIC);
	write_lost(r, end.time);
	/* In the page loss written above; the summary says what it stands for. */
	r->twin_extra = mp_bpf__twin_extra(r->bpf);
	r->irq_pages = mp_bpf__irq_pages(r->bpf);
	if (r->write_err)
		return;
	write_stacks(r, end.time);
	write_heap_children(r, end.time);
	mpf_writer__stats(r->w, &st);
	end.end.events[MPF_EV_PAGE] = st.records[MPF_REC_PAGE_ALLOC] + st.records[MPF_REC_PAGE_FREE];
	end.end.events[MPF_EV_HEAP] = st.records[MPF_REC_HEAP_ALLOC] +
				      st.records[MPF_REC_HEAP_FREE] +
				      st.records[MPF_REC_HEAP_REALLOC];
	end.end.events[MPF_EV_CACHE] = st.records[MPF_REC_CACHE_ADD] + st.records[MPF_REC_CACHE_DEL];
	end.end.events[MPF_EV_MMAP] = st.records[MPF_REC_VM];
	end.end.events[MPF_EV_RSS] = st.records[MPF_REC_RSS];
	end.end.lost[MPF_EV_PAGE] = r->lost_written[MP_LOST_PAGE];
	end.end.lost[MPF_EV_HEAP] = r->lost_written[MP_LOST_HEAP];
	end.end.lost[MPF_EV_CACHE] = r->lost_written[MP_LOST_CACHE];
	end.end.lost[MPF_EV_MMAP] = r->lost_written[MP_LOST_MMAP];
	end.end.events[MPF_LOST_PROC] = r->proc_events;
	end.end.lost[MPF_LOST_PROC] = r->lost_written[MP_LOST_OTHER];
	recorder__write(r, &end);
}

void recorder__destroy(struct recorder *r)
{
	free(r->preload);
	r->preload = NULL;
	for (size_t i = 0; i < sizeof(r->no_allocator) / sizeof(r->no_allocator[0]); i++) {
		free(r->no_allocator[i]);
		r->no_allocator[i] = NULL;
	}
	cfi__free(r->cfi);
	r->cfi = NULL;
	free(r->rss);
	r->rss = NULL;
	free(r->roots);
	r->roots = NULL;
	mp_bpf__destroy(r->bpf);
	r->bpf = NULL;
	leaf__free(r->leaf);
	r->leaf = NULL;
	procmaps__free(r->maps);
	r->maps = NULL;
	hashmap__free(&r->children);
	hashmap__free(&r->parents);
}

