/*
 * memprof record: loads the BPF programs, follows the target (a running
 * process, or a command it launches, with their children), and writes every
 * event, stack, mapping and build-id into one trace file as it goes.
 *
 * The command layer: options, the checks of this machine, the trace file,
 * the messages and the summary; record/recorder.c does the recording.
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

#include "builtin.h"
#include "builtin/parse-options.h"
#include "builtin/util.h"
#include "record/recorder.h"

/* Identical to the SYNOPSIS of Documentation/memprof-record.txt. */
static const char *const record_usage[] = {
	"memprof record [-o FILE] [-e EVENTS] [-g MODE] [-d SECONDS] [-m SIZE]",
	"               [--rss-interval=MS] [--no-inherit] [-N] [--heap-probes=WHERE]",
	"               -- COMMAND [ARGS...]",
	"memprof record [OPTIONS] -p PID",
	NULL,
};

static volatile sig_atomic_t stop_signal;

/*
 * How long record waits for its command after sending it SIGTERM (recording
 * stopped by -d or a signal) before it leaves it running and exits: a
 * command stopped by SIGSTOP keeps the signal pending, one may ignore it.
 */
#define STOP_GRACE_MS 3000

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- options ---- */

static int opt_pid(const struct option *opt, const char *arg)
{
	uint64_t v;

	if (!parse_u64(arg, &v) || v == 0 || v > INT32_MAX)
		return error("invalid PID '%s'; give a process id", arg);
	*(pid_t *)opt->value = (pid_t)v;
	return 0;
}

static int opt_events(const struct option *opt, const char *list)
{
	unsigned int *events = opt->value;
	char *copy = strdup(list), *tok, *save = NULL;
	int ev, err = 0;

	if (!copy)
		return error("out of memory");
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

static int opt_duration(const struct option *opt, const char *arg)
{
	uint64_t *d = opt->value;

	if (!parse_u64(arg, d) || !*d)
		return error("invalid duration '%s'; give whole seconds", arg);
	return 0;
}

/* -g fp | dwarf[,SIZE] | none */
static int opt_call_graph(const struct option *opt, const char *arg)
{
	struct recorder_opts *o = opt->value;
	uint64_t size = 8192;

	if (!strcmp(arg, "cfi")) {
		o->stack_mode = MP_STACK_CFI;
	} else if (!strcmp(arg, "fp")) {
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
		return error("unknown call-graph mode '%s'; use cfi, fp, dwarf[,SIZE] or none", arg);
	}
	return 0;
}

/*
 * The BPF ring buffer's size is a power of two of pages, and its map's size
 * a 32-bit number: 2 GiB is the largest the kernel takes (4 GiB wraps to 0).
 */
#define BUFFER_MIN 4096ull
#define BUFFER_MAX (2ull << 30)

/* 0, -EINVAL for no size, -ERANGE for one outside BUFFER_MIN..BUFFER_MAX rounded up. */
static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || *s == '+')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (*end)
		return -EINVAL;
	if (v > BUFFER_MAX >> shift)
		return -ERANGE;
	v <<= shift;
	if (v < BUFFER_MIN)
		return -ERANGE;
	/* The BPF ring buffer wants a power-of-two size. */
	*out = BUFFER_MIN;
	while (*out < v)
		*out <<= 1;
	return 0;
}

static int opt_buffer_size(const struct option *opt, const char *arg)
{
	int err = parse_size(arg, opt->value);

	if (err == -ERANGE)
		return error("buffer size '%s' is out of range: the kernel's BPF ring buffer takes "
			     "4K to 2G (rounded up to a power of two)", arg);
	if (err)
		return error("invalid buffer size '%s'; give bytes with an optional K, M or G, "
			     "e.g. 64M", arg);
	return 0;
}

/* The options' values, and which were given: some apply only with others. */
struct record_cmd {
	struct recorder_opts *o;
	bool rss_interval_given, heap_probes_given;
};

static int opt_rss_interval(const struct option *opt, const char *arg)
{
	struct record_cmd *c = opt->value;
	uint64_t v;

	if (!parse_u64(arg, &v) || !v || v > 60000)
		return error("invalid --rss-interval '%s'; give milliseconds, 1 to 60000", arg);
	c->o->rss_interval = (unsigned int)v;
	c->rss_interval_given = true;
	return 0;
}

static int opt_heap_probes(const struct option *opt, const char *arg)
{
	struct record_cmd *c = opt->value;

	if (strcmp(arg, "all") && strcmp(arg, "target"))
		return error("invalid --heap-probes '%s'; give target or all", arg);
	c->o->probe_all = !strcmp(arg, "all");
	c->heap_probes_given = true;
	return 0;
}

/* 0: go on; else the exit status, *done set. */
static int parse_record_options(struct recorder_opts *o, int argc, char **argv, bool *done)
{
	struct record_cmd cmd = { .o = o };
	const struct option opts[] = {
		OPT_STRING('o', "output", &o->output, "FILE",
			   "write the trace to FILE (default: memprof.data)"),
		OPT_CALLBACK('p', "pid", &o->pid, "PID",
			     "record the running process PID and all its threads", opt_pid),
		OPT_CALLBACK('e', "event", &o->events, "EVENTS",
			     "events to record, comma-separated: page, heap, cache,\n"
			     "mmap, rss, or all (default: page,rss)",
			     opt_events),
		OPT_CALLBACK('d', "duration", &o->duration, "SECONDS",
			     "stop after SECONDS (default: when the target exits)", opt_duration),
		OPT_CALLBACK('g', "call-graph", o, "MODE",
			     "how user stacks are taken: cfi (unwound in the kernel\n"
			     "with the files' call frame information, default), fp\n"
			     "(frame pointers), dwarf[,SIZE] (registers and SIZE bytes\n"
			     "of stack, default 8192, unwound by report), or none",
			     opt_call_graph),
		OPT_CALLBACK('m', "buffer-size", &o->buffer_size, "SIZE",
			     "kernel ring buffer size, 4K to 2G, e.g. 64M (default: 32M)",
			     opt_buffer_size),
		OPT_CALLBACK(0, "rss-interval", &cmd, "MS",
			     "with -e rss, read each target's RSS every MS\n"
			     "milliseconds (default: 10)",
			     opt_rss_interval),
		OPT_NEGBOOL(0, "no-inherit", &o->inherit,
			    "do not follow child processes the target creates"),
		OPT_BOOL('N', "no-buildid-cache", &o->no_buildid_cache,
			 "do not copy the files report could not reach later\n"
			 "(deleted, in another mount namespace) into the\n"
			 "build-id cache"),
		OPT_CALLBACK(0, "heap-probes", &cmd, "WHERE",
			     "with -e heap and -p: 'target' puts the probes on the\n"
			     "target process and each child as its fork is seen\n"
			     "(default); 'all' on the C library for every process,\n"
			     "which catches short-lived children from their start",
			     opt_heap_probes),
		OPT_END(),
	};
	int n = parse_options(argc, argv, "record", opts, record_usage,
			      PARSE_OPT_STOP_AT_NON_OPTION);

	*done = true;
	if (n < 0)
		return n == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
	if (n > 0)
		o->argv = argv;
	if (!o->argv && !o->pid)
		return error("nothing to record; give a command after '--' or -p PID"), EXIT_USAGE;
	if (o->argv && o->pid)
		return error("give either a command or -p PID, not both"), EXIT_USAGE;
	/* Accepted but doing nothing would look like it did something. */
	if (cmd.rss_interval_given && !(o->events & (1u << MPF_EV_RSS)))
		warning("--rss-interval has no effect without -e rss");
	if (cmd.heap_probes_given && !(o->events & (1u << MPF_EV_HEAP)))
		warning("--heap-probes has no effect without -e heap");
	else if (cmd.heap_probes_given && !o->pid)
		warning("--heap-probes has no effect with a command: its probes are on the C "
			"library for every process already");
	*done = false;
	return 0;
}

/* ---- the machine, the file, the messages ---- */

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
	return error("cannot load the BPF programs: %s; rerun with -v for the kernel's log",
		     strerror(-err));
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
static struct mpf_writer *open_output(const char *path, const struct mpf_header *hdr)
{
	/*
	 * record's memory stays bounded: a quarter million distinct stacks (of
	 * 32 frames on average) before the table restarts, about 70 MiB at most.
	 */
	const struct mpf_writer_opts wo = { .max_stacks = 1 << 18 };
	bool under_sudo;
	char old[MPF_PATH_MAX];
	struct mpf_writer *w;
	struct stat st;
	uid_t uid = 0;
	gid_t gid = 0;
	int fd;

	under_sudo = sudo_user(&uid, &gid);
	if (!lstat(path, &st)) {
		if (check_existing(path, &st, under_sudo, uid))
			return NULL;
		snprintf(old, sizeof(old), "%s.old", path);
		if (!lstat(old, &st) && check_existing(old, &st, under_sudo, uid))
			return NULL;
		if (rename(path, old))
			return error("cannot rename '%s' to '%s': %s", path, old, strerror(errno)),
			       NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error("cannot create '%s': %s", path, strerror(errno)), NULL;
	if (under_sudo && fchown(fd, uid, gid))
		warning("cannot give '%s' to the user who ran sudo (uid %u): %s; 'sudo chown' it "
			"to report it", path, (unsigned int)uid, strerror(errno));
	w = mpf_writer__fdopen(fd, hdr, &wo);
	if (!w)
		error("cannot create '%s': %s", path, strerror(errno));
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
		      "compiled in %.1f ms",
		      c->files, c->files_without, c->files_full, c->rows, c->pages,
		      human((c->rows + c->pages) * 8.0, b, sizeof(b)), c->build_us / 1000.0);
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
	char b1[32], b2[32], d[64];

	if (r->opts.events & (1u << MPF_EV_PAGE))
		fprintf(stderr,
			"memprof: page: %" PRIu64 " events written (%" PRIu64 " allocations, %" PRIu64
			" frees), %" PRIu64 " lost%s\n",
			page, n[MPF_REC_PAGE_ALLOC], n[MPF_REC_PAGE_FREE],
			r->lost_total[MP_LOST_PAGE],
			disk_lost(st->unwritten, page_t, d, sizeof(d)));
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
	print_stacks(r);
	fprintf(stderr,
		"memprof: wrote '%s': %s, %" PRIu64 " stacks, %.2f bytes per event, "
		"compression %.1fx (%s raw)\n",
		r->opts.output, human(st->file_bytes, b1, sizeof(b1)),
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
	}
}

int cmd_record(int argc, char **argv)
{
	struct recorder_opts opts = {
		.output = "memprof.data",
		.events = 1u << MPF_EV_PAGE | 1u << MPF_EV_RSS,
		.stack_mode = MP_STACK_CFI,
		.dwarf_size = 8192,
		.inherit = true,
		.buffer_size = 32u << 20,
		.rss_interval = 10,
	};
	/* argv as given, for the trace's INFO: parse_options moves its arguments. */
	char **cmdline = calloc((size_t)argc + 1, sizeof(*cmdline));
	struct sigaction sa = { .sa_handler = on_signal };
	struct mpf_header hdr = {};
	struct mpf_writer_stats st;
	enum recorder_stage stage;
	struct mpf_writer *w = NULL;
	struct recorder r;
	int ret = 1, err, cmdline_argc = argc;
	bool keep_file = false, done;

	if (!cmdline)
		return error("out of memory"), 1;
	memcpy(cmdline, argv, (size_t)argc * sizeof(*argv));
	ret = parse_record_options(&opts, argc, argv, &done);
	if (done)
		goto out_free;
	ret = 1;
	if (check_system())
		goto out_free;
	recorder__init(&r, &opts);
	r.note = on_note;
	if (opts.pid) {
		r.target = system__thread_group(opts.pid, r.target_comm, sizeof(r.target_comm));
		if (r.target <= 0) {
			error("no process with PID %d; check the PID with 'ps'", opts.pid);
			goto out_free;
		}
	}
	libbpf_set_print(print_libbpf);
	err = recorder__load(&r);
	if (err) {
		load_error(err);
		goto out;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (opts.argv) {
		err = workload__prepare(&r.wl, opts.argv);
		if (err) {
			error("cannot start '%s': %s", opts.argv[0], strerror(-err));
			goto out;
		}
		r.target = r.wl.pid;
	}

	hdr.page_size = sysconf(_SC_PAGESIZE);
	hdr.start_time = now_ns(CLOCK_MONOTONIC);
	hdr.start_realtime = now_ns(CLOCK_REALTIME);
	hdr.events = opts.events;
	r.start_time = hdr.start_time;
	w = open_output(opts.output, &hdr);
	if (!w)
		goto out;
	err = recorder__start(&r, w, cmdline_argc, cmdline, &stage);
	if (err) {
		start_error(&r, stage, err);
		goto out;
	}
	if ((opts.events & (1u << MPF_EV_HEAP)) && !r.single_step)
		debug("every heap probe is on an instruction the kernel emulates");
	else if (opts.events & (1u << MPF_EV_HEAP))
		warning("%d heap probe site(s) must be single-stepped by the kernel: recording "
			"heap calls will be slow", r.single_step);

	if (opts.argv) {
		err = workload__start(&r.wl);
		if (err) {
			error("cannot run '%s': %s", opts.argv[0], strerror(-err));
			waitpid(r.wl.pid, NULL, 0);
			r.wl.pid = 0;
			/* As a shell says it: 127 for a command not found, 126 for one not run. */
			ret = err == -ENOENT ? 127 : 126;
			goto out;
		}
	}
	/* Attaching takes a while (uprobes wait for grace periods): say when it is done. */
	if (opts.pid) {
		char comm[MPF_COMM_LEN + 1];

		snprintf(comm, sizeof(comm), "%s", r.target_comm);
		if (opts.duration)
			fprintf(stderr, "memprof: recording PID %d (%s) for %" PRIu64
					" s; Ctrl-C stops it sooner\n",
				r.target, comm, opts.duration);
		else
			fprintf(stderr, "memprof: recording PID %d (%s) until it exits; Ctrl-C stops "
					"it sooner\n",
				r.target, comm);
	}
	err = recorder__run(&r, &stop_signal);
	if (err) {
		error("reading events failed: %s", strerror(-err));
		goto out;
	}
	recorder__finish(&r);
	keep_file = true;
	if (r.write_err) {
		error("writing '%s' failed: %s; the trace holds what was written before",
		      opts.output, strerror(-r.write_err));
		goto out;
	}
	ret = 0;
out:
	recorder__destroy(&r);
	if (w) {
		err = mpf_writer__flush(w);
		mpf_writer__stats(w, &st);
		if (!err)
			err = mpf_writer__close(w);
		else
			mpf_writer__close(w);
		if (err && ret == 0) {
			error("writing '%s' failed: %s", opts.output, strerror(-err));
			ret = 1;
		}
		if (!keep_file)
			unlink(opts.output);
		else
			print_summary(&r, &st);
	}
	if (r.wl.pid > 0) {
		/*
		 * Recording ended before the command.  Stopped by the user (a
		 * signal, -d): the command stops too, or after STOP_GRACE_MS runs
		 * on, said.  Not yet started: it exits on the closed pipe.
		 * Stopped by an error (a full disk): the command is not to be
		 * harmed, it runs on, unrecorded, and record waits for it (its
		 * exit would send the command SIGTERM: see workload.c).
		 */
		if (r.wl.go_fd >= 0) {
			close(r.wl.go_fd);
			if (waitpid(r.wl.pid, &r.wl.status, 0) == r.wl.pid)
				r.wl.pid = 0;
		} else if (r.stopped) {
			kill(r.wl.pid, SIGTERM);
			if (wait_grace(r.wl.pid, STOP_GRACE_MS, &r.wl.status))
				r.wl.pid = 0;
			else
				stop_warning(opts.argv[0], r.wl.pid);
		} else {
			if (ret)
				warning("recording stopped; '%s' (PID %d) runs on, waiting for it "
					"to exit", opts.argv[0], r.wl.pid);
			if (waitpid(r.wl.pid, &r.wl.status, 0) == r.wl.pid)
				r.wl.pid = 0;
		}
	}
	/*
	 * Recorded to the end, record exits as the command did, as perf and
	 * heaptrack do: its exit status, or 128 + the signal that killed it.
	 */
	if (!ret && opts.argv && !r.wl.pid) {
		if (WIFEXITED(r.wl.status))
			ret = WEXITSTATUS(r.wl.status);
		else if (WIFSIGNALED(r.wl.status))
			ret = 128 + WTERMSIG(r.wl.status);
	}
out_free:
	free(cmdline);
	return ret;
}
