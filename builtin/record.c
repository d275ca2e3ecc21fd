/*
 * memprof record: loads the BPF programs, follows the target (a running
 * process, or a command it launches, with their children), and writes every
 * event, stack, mapping and build-id into one trace file as it goes.
 *
 * The command layer: options, the checks of this machine, the trace file,
 * the messages and the summary; record/recorder.c does the recording.
 */
#include <errno.h>
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
			     "how user stacks are taken: fp (frame pointers, default),\n"
			     "dwarf[,SIZE] (registers and SIZE bytes of stack, default\n"
			     "8192, unwound by report), or none",
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

/* The trace file: an existing one is kept as FILE.old, as perf does. */
static struct mpf_writer *open_output(const char *path, const struct mpf_header *hdr)
{
	/*
	 * record's memory stays bounded: a quarter million distinct stacks (of
	 * 32 frames on average) before the table restarts, about 70 MiB at most.
	 */
	const struct mpf_writer_opts wo = { .max_stacks = 1 << 18 };
	char old[MPF_PATH_MAX];
	struct mpf_writer *w;
	struct stat st;

	if (!stat(path, &st) && S_ISREG(st.st_mode)) {
		snprintf(old, sizeof(old), "%s.old", path);
		if (rename(path, old))
			return error("cannot rename '%s' to '%s': %s", path, old, strerror(errno)),
			       NULL;
	}
	w = mpf_writer__open(path, hdr, &wo);
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

static void print_summary(struct recorder *r, const struct mpf_writer_stats *st)
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
		.stack_mode = MP_STACK_FP,
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
				opts.argv[0], r.wl.pid);
		if (waitpid(r.wl.pid, &r.wl.status, 0) == r.wl.pid)
			r.wl.pid = 0;
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
