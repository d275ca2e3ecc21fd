/*
 * memprof record: loads the BPF programs, follows the target (a running
 * process, or a command it launches, with their children), and writes every
 * event, stack, mapping and build-id into one trace file as it goes.
 *
 * The command layer: options, the checks of this machine, the trace file,
 * the messages and the summary; record/recorder.c does the recording.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
#include "builtin/record.h"
#include "builtin/util.h"

/* Identical to the SYNOPSIS of Documentation/memprof-record.txt. */
static const char *const record_usage[] = {
	"memprof record [-o FILE] [-e EVENTS] [-g MODE] [-d SECONDS] [-m SIZE]",
	"               [--rss-interval=MS] [--no-inherit] [-N] [--heap-probes=WHERE]",
	"               [--heap-lib=PATH[:PREFIX]...] [--heap-sample=BYTES]",
	"               [--heap-time=CLOCK]",
	"               -- COMMAND [ARGS...]",
	"memprof record [OPTIONS] -p PID[,PID...]",
	"memprof record [OPTIONS] -a",
	"memprof record [OPTIONS] --comm NAME | --exec PATH",
	NULL,
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- options ---- */

int record__opt_pids(const struct option *opt, const char *arg)
{
	struct recorder_opts *o = opt->value;
	char *copy = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return error("out of memory");
	o->npids = 0;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (!parse_u64(tok, &v) || v == 0 || v > INT32_MAX)
			err = error("invalid PID '%s'; give process ids, separated by commas", tok);
		else if (o->npids == RECORDER_PIDS_MAX)
			err = error("more than %d PIDs given to -p", RECORDER_PIDS_MAX);
		else
			o->pids[o->npids++] = (pid_t)v;
	}
	free(copy);
	if (!err && !o->npids)
		err = error("no PID given to -p; give process ids, separated by commas");
	o->pid = o->npids ? o->pids[0] : 0;
	return err;
}

int record__opt_events(const struct option *opt, const char *list)
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

int record__opt_duration(const struct option *opt, const char *arg)
{
	uint64_t *d = opt->value;

	if (!parse_u64(arg, d) || !*d)
		return error("invalid duration '%s'; give whole seconds", arg);
	return 0;
}

/* -g fp | dwarf[,SIZE] | none */
int record__opt_call_graph(const struct option *opt, const char *arg)
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

int record__opt_buffer_size(const struct option *opt, const char *arg)
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

int record__opt_rss_interval(const struct option *opt, const char *arg)
{
	struct record_args *c = opt->value;
	uint64_t v;

	if (!parse_u64(arg, &v) || !v || v > 60000)
		return error("invalid --rss-interval '%s'; give milliseconds, 1 to 60000", arg);
	c->o.rss_interval = (unsigned int)v;
	c->rss_interval_given = true;
	return 0;
}

int record__opt_heap_probes(const struct option *opt, const char *arg)
{
	struct record_args *c = opt->value;

	if (strcmp(arg, "all") && strcmp(arg, "target"))
		return error("invalid --heap-probes '%s'; give target or all", arg);
	c->o.probe_all = !strcmp(arg, "all");
	c->heap_probes_given = true;
	return 0;
}

/* --heap-lib PATH[:PREFIX], as often as there are files to name. */
int record__opt_heap_lib(const struct option *opt, const char *arg)
{
	struct record_args *c = opt->value;
	struct recorder_opts *o = &c->o;
	const char **libs;

	if (!*arg || *arg == ':')
		return error("invalid --heap-lib '%s'; give PATH or PATH:PREFIX", arg);
	libs = realloc(o->heap_libs, (o->nr_heap_libs + 1) * sizeof(*libs));
	if (!libs)
		return error("out of memory");
	libs[o->nr_heap_libs++] = arg;
	o->heap_libs = libs;
	c->heap_lib_given = true;
	return 0;
}

int record__opt_heap_sample(const struct option *opt, const char *arg)
{
	struct record_args *c = opt->value;
	uint64_t v;

	if (!parse_u64(arg, &v) || v < 1 || v > (1ull << 30))
		return error("invalid --heap-sample '%s'; give the mean bytes between samples, 1 "
			     "to 1073741824 (jemalloc's is 524288)", arg);
	c->o.heap_sample = v;
	c->heap_sample_given = true;
	return 0;
}

int record__opt_heap_time(const struct option *opt, const char *arg)
{
	struct record_args *c = opt->value;

	if (strcmp(arg, "tick") && strcmp(arg, "exact"))
		return error("invalid --heap-time '%s'; give tick or exact", arg);
	c->o.heap_exact_time = !strcmp(arg, "exact");
	c->heap_time_given = true;
	return 0;
}

static bool env_is_1(const char *name)
{
	const char *v = getenv(name);

	return v && !strcmp(v, "1");
}

void record_args__init(struct record_args *a, const char *output)
{
	*a = (struct record_args){
		.o = {
			.output = output,
			.events = 1u << MPF_EV_PAGE | 1u << MPF_EV_RSS,
			.stack_mode = MP_STACK_CFI,
			.dwarf_size = 8192,
			.inherit = true,
			.buffer_size = 32u << 20,
			.rss_interval = 10,
			/* For bench/heap.sh: the probes' own cost, on the same sites, in the same setup. */
			.bare_probes = env_is_1("MEMPROF_BARE_PROBES"),
		},
	};
}

int record_args__check(struct record_args *a, int argc, char **argv, bool need_target)
{
	struct recorder_opts *o = &a->o;
	struct stat st;
	int sources;

	if (argc > 0)
		o->argv = argv;
	sources = !!o->argv + !!o->npids + o->all + !!(o->comm || o->exec);
	if (!sources && need_target)
		return error("nothing to record; give a command after '--', -p PID, -a, --comm NAME "
			     "or --exec PATH"), EXIT_USAGE;
	if (sources > 1)
		return error("give one of a command, -p PID, -a, or --comm/--exec, not several"),
		       EXIT_USAGE;
	if (o->comm && (!*o->comm || strlen(o->comm) >= MPF_COMM_LEN))
		return error("invalid --comm '%s'; give a process name of 1 to %d characters, as "
			     "ps shows it", o->comm, MPF_COMM_LEN - 1), EXIT_USAGE;
	if (o->comm && o->exec)
		return error("give --comm NAME or --exec PATH, not both"), EXIT_USAGE;
	if (o->exec && (stat(o->exec, &st) || access(o->exec, X_OK)))
		return error("cannot use --exec '%s': %s; give the path of an executable file",
			     o->exec, strerror(errno)), EXIT_USAGE;
	if (o->exec && !S_ISREG(st.st_mode))
		return error("cannot use --exec '%s': not a regular file; give the path of an "
			     "executable file", o->exec), EXIT_USAGE;
	/* Accepted but doing nothing would look like it did something. */
	if (a->rss_interval_given && !(o->events & (1u << MPF_EV_RSS)))
		warning("--rss-interval has no effect without -e rss");
	if (a->heap_lib_given && !(o->events & (1u << MPF_EV_HEAP)))
		warning("--heap-lib has no effect without -e heap");
	if (a->heap_sample_given && !(o->events & (1u << MPF_EV_HEAP)))
		warning("--heap-sample has no effect without -e heap");
	if (a->heap_time_given && !(o->events & (1u << MPF_EV_HEAP)))
		warning("--heap-time has no effect without -e heap");
	if (a->heap_probes_given && !(o->events & (1u << MPF_EV_HEAP)))
		warning("--heap-probes has no effect without -e heap");
	else if (a->heap_probes_given && !o->pid)
		warning("--heap-probes has no effect without -p: the probes are on the C library "
			"for every process already");
	if (!o->inherit && o->all)
		warning("--no-inherit has no effect with -a: every new process is recorded");
	return 0;
}

/* 0: go on; else the exit status, *done set. */
static int parse_record_options(struct record_args *a, int argc, char **argv, bool *done)
{
	struct recorder_opts *o = &a->o;
	const struct option opts[] = {
		OPT_STRING('o', "output", &o->output, "FILE",
			   "write the trace to FILE (default: memprof.data); -:\n"
			   "stream it to standard output"),
		OPT_RECORD_TARGETS(a),
		OPT_CALLBACK('d', "duration", &o->duration, "SECONDS",
			     "stop after SECONDS (default: when the target exits)",
			     record__opt_duration),
		OPT_RECORD_EVENTS(a, "page,rss"),
		OPT_END(),
	};
	int n = parse_options(argc, argv, "record", opts, record_usage,
			      PARSE_OPT_STOP_AT_NON_OPTION);

	*done = true;
	if (n < 0)
		return n == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
	n = record_args__check(a, n, argv, true);
	if (n)
		return n;
	*done = false;
	return 0;
}

char **record__argv_copy(int argc, char **argv)
{
	char **copy = calloc((size_t)argc + 1, sizeof(*copy));

	if (copy)
		memcpy(copy, argv, (size_t)argc * sizeof(*argv));
	return copy;
}

int cmd_record(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct record_session s = {};
	struct record_args a;
	int ret, argc0 = argc;
	char **argv0 = record__argv_copy(argc, argv);
	bool done;

	if (!argv0)
		return error("out of memory"), 1;
	record_args__init(&a, "memprof.data");
	ret = parse_record_options(&a, argc, argv, &done);
	if (done)
		goto out;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = record_session__begin(&s, &a, argc0, argv0, record__open_output, (void *)a.o.output);
	if (!ret)
		ret = record_session__run(&s, &stop_signal);
	ret = record_session__end(&s, ret);
out:
	free(argv0);
	return ret;
}
