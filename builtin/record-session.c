/*
 * A recording's steps (builtin/record.h), for record, top and serve: the
 * checks of this machine, the programs loaded and attached, the command
 * started or the processes found, the events read until the end, and the
 * end: the trace completed, the summary, the command's exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "builtin/record.h"
#include "builtin/util.h"

/*
 * How long record waits for its command after sending it SIGTERM (recording
 * stopped by -d or a signal) before it leaves it running and exits: a
 * command stopped by SIGSTOP keeps the signal pending, one may ignore it.
 */
#define STOP_GRACE_MS 3000


static int check_system(void)
{
	char caps[64];

	if (*system__missing_caps(caps, sizeof(caps)))
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
	return error("cannot load the BPF programs: %s; rerun as 'memprof -v record ...' for "
		     "the kernel's log", strerror(-err));
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* What the recorder has to say, said. */
static void on_note(void *ctx, const struct recorder_note *n)
{
	const struct record_session *s = ctx;

	switch (n->kind) {
	case NOTE_PROBE_SITE:
		debug("probe %s at %s+0x%" PRIx64 " (entry +%" PRIu64 ")%s", n->site->func, n->path,
		      n->site->offset, n->site->offset - n->site->entry,
		      n->site->emulated ? "" : ", single-stepped");
		break;
	case NOTE_HEAP_PROBED:
		debug("heap probes on '%s' (%d sites)", n->path, n->count);
		break;
	case NOTE_HEAP_FAILED:
		warning("cannot probe the heap functions of '%s': %s", n->path, strerror(-n->err));
		break;
	case NOTE_CHILD_FAILED:
		warning("cannot probe the heap functions of PID %d: %s", n->pid, strerror(-n->err));
		break;
	case NOTE_RSS_FAILED:
		warning("out of memory: the RSS of PID %d is not sampled", n->pid);
		break;
	case NOTE_FOUND:
		/* A live view shows it: its screen is not to be written over. */
		if (!s->live)
			fprintf(stderr, "memprof: recording PID %d (%s), found by its %s\n", n->pid,
				n->path, s->r.opts.comm ? "name" : "executable");
		break;
	case NOTE_ATTACH_FAILED:
		debug("cannot record PID %d (%s): %s", n->pid, n->path, strerror(-n->err));
		break;
	case NOTE_NO_ALLOCATOR:
		warning("'%s' (PID %d) is a static program in which no allocator was found (its "
			"symbols stripped?): its heap calls are not recorded; give --heap-lib=%s:PREFIX "
			"if its malloc has a prefix, or record an unstripped build",
			n->path, n->pid, n->path);
		break;
	case NOTE_HEAP_LIB:
		error("--heap-lib '%s': %s", n->path, n->err == -ENOENT ?
		      "no malloc and free with that prefix in this ELF file" : strerror(-n->err));
		break;
	case NOTE_SAMPLER:
		if (n->path)
			debug("heap sampled in the command by '%s'", n->path);
		else
			debug("heap sampled in the kernel");
		break;
	}
}

/*
 * Under sudo, the user who ran it (SUDO_UID, SUDO_GID): the trace is theirs
 * to report.  false when record does not run as root under sudo.
 */
static bool sudo_user(uid_t *uid, gid_t *gid)
{
	const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID");
	uint64_t vu, vg;

	if (geteuid() || !u || !g || !parse_u64(u, &vu) || !parse_u64(g, &vg) || !vu ||
	    vu >= UINT32_MAX || vg >= UINT32_MAX)
		return false;
	*uid = (uid_t)vu;
	*gid = (gid_t)vg;
	return true;
}

/*
 * Whether an existing file at path is one record may move aside: a regular
 * file (not a link: record runs as root, often in a user's directory, and
 * must not write where a planted link points) of its own user or of the
 * user who ran sudo.  0, or -1 after printing an error.
 */
static int check_existing(const char *path, const struct stat *st, bool under_sudo,
			  uid_t sudo_uid)
{
	if (S_ISLNK(st->st_mode))
		return error("'%s' is a symbolic link; record does not follow links: remove it "
			     "or give another -o", path);
	if (!S_ISREG(st->st_mode))
		return error("'%s' is not a regular file; record writes traces to regular files "
			     "only", path);
	if (st->st_uid != geteuid() && !(under_sudo && st->st_uid == sudo_uid))
		return error("'%s' belongs to another user (uid %u); record does not replace or "
			     "rename it: remove it or give another -o", path,
			     (unsigned int)st->st_uid);
	return 0;
}

/*
 * The trace file: an existing one is kept as FILE.old, as perf does, once
 * checked (check_existing()).  The new file is created, never opened: no
 * link is followed and nothing that appeared meanwhile is written into.
 * Under sudo it is given to the user who ran sudo, still 0600.
 */
int record__create_output(const char *path)
{
	bool under_sudo;
	char old[MPF_PATH_MAX];
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	int fd;

	if (!strcmp(path, "-")) {
		/*
		 * A stream (perf's record -o -): the writer takes standard output,
		 * and what else would be printed there (the command's own output)
		 * goes to standard error, so that nothing mixes into the trace.
		 */
		if (isatty(STDOUT_FILENO))
			return error("-o - writes the trace to standard output, which is a terminal; "
				     "pipe it into 'memprof report -i -' or redirect it to a file");
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			return error("cannot write to standard output: %s", strerror(errno));
		return fd;
	}
	under_sudo = sudo_user(&uid, &gid);
	if (!lstat(path, &st)) {
		if (check_existing(path, &st, under_sudo, uid))
			return -1;
		snprintf(old, sizeof(old), "%s.old", path);
		if (!lstat(old, &st) && check_existing(old, &st, under_sudo, uid))
			return -1;
		if (rename(path, old))
			return error("cannot rename '%s' to '%s': %s", path, old, strerror(errno));
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error("cannot create '%s': %s", path, strerror(errno));
	if (under_sudo && fchown(fd, uid, gid))
		warning("cannot give '%s' to the user who ran sudo (uid %u): %s; 'sudo chown' it "
			"to report it", path, (unsigned int)uid, strerror(errno));
	return fd;
}

struct mpf_writer *record__writer(int fd, int tee_fd, const struct mpf_header *hdr)
{
	/*
	 * record's memory stays bounded: a million stack nodes and a quarter
	 * million frames remembered, the older half forgotten past that.  A
	 * node written again costs the trace its bytes, and report a node to
	 * decode and stage: with a quarter million nodes, 10.5 million
	 * distinct stacks 24 deep wrote 36% more bytes and took report 1.12x
	 * as long, for 20 MiB less of record's memory.
	 */
	const struct mpf_writer_opts wo = { .max_stacks = 1 << 20, .max_frames = 1 << 18,
					    .tee_fd = tee_fd };

	return mpf_writer__fdopen(fd, hdr, &wo);
}

struct mpf_writer *record__open_output(void *ctx, const struct mpf_header *hdr)
{
	const char *path = ctx;
	int fd = record__create_output(path);
	struct mpf_writer *w;

	if (fd < 0)
		return NULL;
	w = record__writer(fd, -1, hdr);
	if (!w)
		error("cannot create '%s': %s", strcmp(path, "-") ? path : "standard output",
		      strerror(errno));
	return w;
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

/* The targets' children whose heap was missed, or recorded late: a loss too. */
static void print_heap_children(const struct recorder *r)
{
	const struct mpf_heap_children *c = &r->heap_children;
	char buf[1024];

	if (!c->missed && !c->late)
		return;
	mpf_heap_children_describe(c, buf, sizeof(buf));
	fprintf(stderr, "memprof: heap: %s\n", buf);
}

/* How the stack walks ended, and with -v what the unwind tables took. */
static void print_stacks(const struct recorder *r)
{
	const uint64_t *e = r->unwind_ends;
	const struct cfi_stats *c = &r->cfi_stats;
	uint64_t walks = 0;
	char b[32], causes[256];

	for (int i = 0; i < MP_UNWIND__MAX; i++)
		walks += e[i];
	mpf_unwind_causes(e, causes, sizeof(causes));
	if (walks && (r->opts.stack_mode == MP_STACK_CFI || r->opts.stack_mode == MP_STACK_FP))
		fprintf(stderr, "memprof: stacks: %" PRIu64 " taken, %" PRIu64 " incomplete (%s)\n",
			walks, walks - e[MP_UNWIND_COMPLETE], causes);
	if (r->opts.stack_mode == MP_STACK_CFI)
		debug("unwind tables: %" PRIu64 " files (%" PRIu64 " without, %" PRIu64
		      " for want of room), %" PRIu64 " rows and %" PRIu64 " index entries, %s, "
		      "compiled in %.1f ms; %" PRIu64 " walks answered by a remembered one",
		      c->files, c->files_without, c->files_full, c->rows, c->pages,
		      human((c->rows + c->pages) * 8.0, b, sizeof(b)), c->build_us / 1000.0,
		      e[MP_UNWIND_MEMO]);
}

/* ", N lost to the disk" when writing failed before records of these types reached the file. */
static const char *disk_lost(const uint64_t *unwritten, const unsigned int *types, char *buf,
			     size_t size)
{
	uint64_t n = 0;

	for (; *types; types++)
		n += unwritten[*types];
	buf[0] = '\0';
	if (n)
		snprintf(buf, size, ", %" PRIu64 " lost to the disk", n);
	return buf;
}

/* "; N allocated in interrupts (the kernel's) left out": not the target's, though in its context. */
static const char *irq_pages(uint64_t n, char *buf, size_t size)
{
	buf[0] = '\0';
	if (n)
		snprintf(buf, size, "; %" PRIu64 " allocated in interrupts (the kernel's) left out", n);
	return buf;
}

/*
 * What reached the file, per event type: after a write error (a full disk)
 * the records of the chunk that failed, and those after, are not in it and
 * are counted apart, as lost to the disk.
 */
static void print_summary(struct recorder *r, const struct mpf_writer_stats *st)
{
	static const unsigned int page_t[] = { MPF_REC_PAGE_ALLOC, MPF_REC_PAGE_FREE, 0 };
	static const unsigned int heap_t[] = { MPF_REC_HEAP_ALLOC, MPF_REC_HEAP_FREE,
					       MPF_REC_HEAP_REALLOC, 0 };
	static const unsigned int cache_t[] = { MPF_REC_CACHE_ADD, MPF_REC_CACHE_DEL, 0 };
	static const unsigned int vm_t[] = { MPF_REC_VM, 0 }, rss_t[] = { MPF_REC_RSS, 0 };
	static const unsigned int proc_t[] = { MPF_REC_FORK, MPF_REC_EXEC, MPF_REC_EXIT, 0 };
	const uint64_t *n = st->written;
	uint64_t page = n[MPF_REC_PAGE_ALLOC] + n[MPF_REC_PAGE_FREE];
	uint64_t heap = n[MPF_REC_HEAP_ALLOC] + n[MPF_REC_HEAP_FREE] + n[MPF_REC_HEAP_REALLOC];
	uint64_t cache = n[MPF_REC_CACHE_ADD] + n[MPF_REC_CACHE_DEL];
	uint64_t events = page + heap + cache + n[MPF_REC_VM] + n[MPF_REC_RSS];
	char b1[32], b2[32], d[64], i[80];

	if (r->opts.events & (1u << MPF_EV_PAGE))
		fprintf(stderr,
			"memprof: page: %" PRIu64 " events written (%" PRIu64 " allocations, %" PRIu64
			" frees), %" PRIu64 " lost%s%s\n",
			page, n[MPF_REC_PAGE_ALLOC], n[MPF_REC_PAGE_FREE],
			r->lost_total[MP_LOST_PAGE],
			disk_lost(st->unwritten, page_t, d, sizeof(d)),
			irq_pages(r->irq_pages, i, sizeof(i)));
	if (r->twin_extra)
		fprintf(stderr,
			"memprof: warning: page: %" PRIu64 " events may have been recorded twice (this "
			"kernel ran page programs nested where memprof expects it to skip them): the "
			"page figures are flagged; please report this with 'uname -r'\n",
			r->twin_extra);
	if (r->opts.events & (1u << MPF_EV_HEAP))
		fprintf(stderr,
			"memprof: heap: %" PRIu64 " events written (%" PRIu64 " allocations, %" PRIu64
			" reallocs, %" PRIu64 " frees), %" PRIu64 " lost%s\n",
			heap, n[MPF_REC_HEAP_ALLOC], n[MPF_REC_HEAP_REALLOC], n[MPF_REC_HEAP_FREE],
			r->lost_total[MP_LOST_HEAP],
			disk_lost(st->unwritten, heap_t, d, sizeof(d)));
	if (r->opts.events & (1u << MPF_EV_CACHE))
		fprintf(stderr,
			"memprof: cache: %" PRIu64 " events written (%" PRIu64 " added, %" PRIu64
			" deleted), %" PRIu64 " lost%s\n",
			cache, n[MPF_REC_CACHE_ADD], n[MPF_REC_CACHE_DEL],
			r->lost_total[MP_LOST_CACHE],
			disk_lost(st->unwritten, cache_t, d, sizeof(d)));
	if (r->opts.events & (1u << MPF_EV_MMAP))
		fprintf(stderr, "memprof: mmap: %" PRIu64 " events written, %" PRIu64 " lost%s\n",
			n[MPF_REC_VM], r->lost_total[MP_LOST_MMAP],
			disk_lost(st->unwritten, vm_t, d, sizeof(d)));
	if (r->opts.events & (1u << MPF_EV_RSS))
		fprintf(stderr, "memprof: rss: %" PRIu64 " samples written%s\n", n[MPF_REC_RSS],
			disk_lost(st->unwritten, rss_t, d, sizeof(d)));
	/* Recorded whatever -e says; a lost exit leaves a process running to the end. */
	fprintf(stderr,
		"memprof: process: %" PRIu64 " events (%" PRIu64 " forks, %" PRIu64
		" execs, %" PRIu64 " exits), %" PRIu64 " lost%s%s\n",
		r->proc_events, r->forks, r->execs, r->exits, r->lost_total[MP_LOST_OTHER],
		disk_lost(st->unwritten, proc_t, d, sizeof(d)),
		r->lost_total[MP_LOST_OTHER] ? ": some processes' ends are unknown" : "");
	print_heap_children(r);
	print_stacks(r);
	if (!r->opts.output)
		return;
	fprintf(stderr,
		"memprof: wrote '%s': %s, %" PRIu64 " stacks, %.2f bytes per event, "
		"compression %.1fx (%s raw)\n",
		strcmp(r->opts.output, "-") ? r->opts.output : "standard output",
		human(st->file_bytes, b1, sizeof(b1)),
		n[MPF_REC_STACK] + n[MPF_REC_STACK_NODE] + n[MPF_REC_USTACK],
		events ? (double)st->file_bytes / events : 0.0,
		st->chunks ? (double)st->raw_written / st->file_bytes : 0.0,
		human(st->raw_written, b2, sizeof(b2)));
}

/* Whether pid exited (and was reaped) within ms; its wait status in *status. */
static bool wait_grace(pid_t pid, unsigned int ms, int *status)
{
	for (unsigned int waited = 0;; waited += 20) {
		pid_t got = waitpid(pid, status, WNOHANG);

		if (got == pid || (got < 0 && errno != EINTR))
			return true;
		if (waited >= ms)
			return false;
		usleep(20000);
	}
}

/* Whether pid is stopped (SIGSTOP, a terminal's SIGTSTP): state T in /proc/PID/stat. */
static bool is_stopped(pid_t pid)
{
	char path[64], line[512], *paren;
	FILE *f;
	bool stopped = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (f && fgets(line, sizeof(line), f) && (paren = strrchr(line, ')')))
		stopped = paren[1] == ' ' && paren[2] == 'T';
	if (f)
		fclose(f);
	return stopped;
}

/* The command outlived STOP_GRACE_MS after SIGTERM: it runs on. */
static void stop_warning(const char *cmd, pid_t pid)
{
	warning("'%s' (PID %d) is still running %d s after SIGTERM%s; it runs on, unrecorded",
		cmd, pid, STOP_GRACE_MS / 1000,
		is_stopped(pid) ? " (it is stopped: the signal waits until it continues)" : "");
}

static void start_error(const struct recorder *r, enum recorder_stage stage, int err)
{
	switch (stage) {
	case STAGE_MEMORY:
		error("out of memory");
		break;
	case STAGE_ATTACH:
		error("cannot attach the BPF programs: %s", strerror(-err));
		break;
	case STAGE_HEAP_PROBES:
		error("cannot attach the heap probes: %s", strerror(-err));
		break;
	case STAGE_MAPS:
		error("cannot read the maps of PID %d: %s", r->target, strerror(-err));
		break;
	case STAGE_HEAP_LIB:
		break;	/* said by the note */
	}
}


/* -p: every process named must exist; they are recorded as thread groups. */
static int check_pids(struct record_session *s)
{
	struct recorder_opts *o = &s->r.opts;
	char comm[MPF_COMM_LEN];

	for (size_t i = 0; i < o->npids; i++) {
		pid_t tgid = system__thread_group(o->pids[i], i ? comm : s->r.target_comm,
						  i ? sizeof(comm) : sizeof(s->r.target_comm));

		if (tgid <= 0)
			return error("no process with PID %d; check the PID with 'ps'", o->pids[i]);
		o->pids[i] = tgid;
	}
	s->r.target = o->npids ? o->pids[0] : 0;
	return 0;
}

/* Attaching takes a while (uprobes wait for grace periods): say when it is done. */
static void say_recording(const struct record_session *s)
{
	const struct recorder_opts *o = &s->r.opts;
	char comm[MPF_COMM_LEN + 1], until[64];

	if (o->duration)
		snprintf(until, sizeof(until), "for %" PRIu64 " s", o->duration);
	snprintf(comm, sizeof(comm), "%s", s->r.target_comm);
	if (o->npids == 1)
		fprintf(stderr, "memprof: recording PID %d (%s) %s; Ctrl-C stops it sooner\n",
			s->r.target, comm, o->duration ? until : "until it exits");
	else if (o->npids)
		fprintf(stderr, "memprof: recording %zu processes %s; Ctrl-C stops it sooner\n",
			o->npids, o->duration ? until : "until they exit");
	else if (o->all)
		fprintf(stderr, "memprof: recording every process %s; Ctrl-C stops it%s\n",
			o->duration ? until : "", o->duration ? " sooner" : "");
	else if ((o->comm || o->exec) && !s->r.found)
		fprintf(stderr, "memprof: waiting for a process %s '%s' to start%s%s; Ctrl-C "
				"stops it\n",
			o->comm ? "named" : "running", o->comm ? o->comm : o->exec,
			o->duration ? ", " : "", o->duration ? until : "");
}

int record_session__begin(struct record_session *s, struct record_args *a, int argc,
			  char **argv, record_open_fn open, void *ctx)
{
	struct recorder *r = &s->r;
	struct recorder_opts *o = &a->o;
	struct mpf_header hdr = {};
	enum recorder_stage stage;
	int err;

	s->a = a;
	recorder__init(r, o);
	r->note = on_note;
	r->note_ctx = s;
	/* argv as given, for the trace's INFO: parse_options moves its arguments. */
	s->cmdline = calloc((size_t)argc + 1, sizeof(*s->cmdline));
	if (!s->cmdline)
		return error("out of memory"), 1;
	memcpy(s->cmdline, argv, (size_t)argc * sizeof(*argv));
	s->cmdline_argc = argc;
	if (check_system() || check_pids(s))
		return 1;
	libbpf_set_print(print_libbpf);
	err = recorder__load(r);
	if (err)
		return load_error(err), 1;
	signal(SIGPIPE, SIG_IGN);

	/*
	 * The trace first: with -o - it takes standard output and puts standard
	 * error in its place, which the command is to inherit.
	 */
	hdr.page_size = sysconf(_SC_PAGESIZE);
	hdr.start_time = now_ns(CLOCK_MONOTONIC);
	hdr.start_realtime = now_ns(CLOCK_REALTIME);
	hdr.events = o->events;
	r->start_time = hdr.start_time;
	s->w = open(ctx, &hdr);
	if (!s->w)
		return 1;
	if (o->argv) {
		err = workload__prepare(&r->wl, o->argv, r->env);
		if (err)
			return error("cannot start '%s': %s", o->argv[0], strerror(-err)), 1;
		r->target = r->wl.pid;
	}

	err = recorder__start(r, s->w, s->cmdline_argc, s->cmdline, &stage);
	if (err)
		return start_error(r, stage, err), 1;
	if ((o->events & (1u << MPF_EV_HEAP)) && !r->single_step)
		debug("every heap probe is on an instruction the kernel emulates");
	else if (o->events & (1u << MPF_EV_HEAP))
		warning("%d heap probe site(s) must be single-stepped by the kernel: recording "
			"heap calls will be slow", r->single_step);

	if (o->argv) {
		err = workload__start(&r->wl);
		if (err) {
			error("cannot run '%s': %s", o->argv[0], strerror(-err));
			waitpid(r->wl.pid, NULL, 0);
			r->wl.pid = 0;
			/* As a shell says it: 127 for a command not found, 126 for one not run. */
			return err == -ENOENT ? 127 : 126;
		}
	}
	if (r->no_preload)
		fprintf(stderr, "memprof: warning: --heap-sample: no " PRELOAD_LIB " beside memprof, "
				"in build/ or in ../lib/memprof/: sampled in the kernel instead, at a "
				"trap per call; install memprof with 'make install'\n");
	/* A cost others pay, said: see OVERHEAD in memprof-record(1). */
	if ((o->events & (1u << MPF_EV_HEAP)) && r->probe_pid == -1 && !r->preload && !s->live)
		fprintf(stderr, "memprof: heap: the probes trap in every process that maps the "
				"probed C library, not only in the targets, while recording runs; "
				"see OVERHEAD in memprof-record(1)\n");
	say_recording(s);
	return 0;
}

int record_session__run(struct record_session *s, volatile sig_atomic_t *stop)
{
	struct recorder *r = &s->r;
	int err = recorder__run(r, stop);

	if (err)
		return error("reading events failed: %s", strerror(-err)), 1;
	recorder__finish(r);
	s->keep_file = true;
	if (r->write_err)
		return error("writing '%s' failed: %s; the trace holds what was written before",
			     r->opts.output ? r->opts.output : "the trace",
			     strerror(-r->write_err)),
		       1;
	return 0;
}

/* The command after the recording: stopped, or waited for; its wait status kept. */
static void end_workload(struct record_session *s, int ret)
{
	struct recorder *r = &s->r;

	if (r->wl.pid <= 0)
		return;
	/*
	 * Recording ended before the command.  Stopped by the user (a
	 * signal, -d): the command stops too, or after STOP_GRACE_MS runs
	 * on, said.  Not yet started: it exits on the closed pipe.
	 * Stopped by an error (a full disk): the command is not to be
	 * harmed, it runs on, unrecorded, and record waits for it (its
	 * exit would send the command SIGTERM: see workload.c).
	 */
	if (r->wl.go_fd >= 0) {
		close(r->wl.go_fd);
		if (waitpid(r->wl.pid, &r->wl.status, 0) == r->wl.pid)
			r->wl.pid = 0;
	} else if (r->stopped) {
		kill(r->wl.pid, SIGTERM);
		if (wait_grace(r->wl.pid, STOP_GRACE_MS, &r->wl.status))
			r->wl.pid = 0;
		else
			stop_warning(r->opts.argv[0], r->wl.pid);
	} else {
		if (ret)
			warning("recording stopped; '%s' (PID %d) runs on, waiting for it to exit",
				r->opts.argv[0], r->wl.pid);
		if (waitpid(r->wl.pid, &r->wl.status, 0) == r->wl.pid)
			r->wl.pid = 0;
	}
}

int record_session__end(struct record_session *s, int ret)
{
	struct recorder *r = &s->r;
	const char *out = r->opts.output;
	struct mpf_writer_stats st;
	int err;

	recorder__destroy(r);
	if (s->w) {
		err = mpf_writer__flush(s->w);
		mpf_writer__stats(s->w, &st);
		if (!err)
			err = mpf_writer__close(s->w);
		else
			mpf_writer__close(s->w);
		s->w = NULL;
		if (err && ret == 0) {
			error("writing '%s' failed: %s", out ? out : "the trace", strerror(-err));
			ret = 1;
		}
		if (!s->keep_file && out && strcmp(out, "-"))
			unlink(out);
		else if (s->keep_file)
			print_summary(r, &st);
	}
	end_workload(s, ret);
	/*
	 * Recorded to the end, record exits as the command did, as perf and
	 * heaptrack do: its exit status, or 128 + the signal that killed it.
	 */
	if (!ret && r->opts.argv && !r->wl.pid) {
		if (WIFEXITED(r->wl.status))
			ret = WEXITSTATUS(r->wl.status);
		else if (WIFSIGNALED(r->wl.status))
			ret = 128 + WTERMSIG(r->wl.status);
	}
	free(s->cmdline);
	s->cmdline = NULL;
	free(s->a->o.heap_libs);
	s->a->o.heap_libs = NULL;
	return ret;
}
