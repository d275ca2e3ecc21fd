/*
 * memprof script: every event of a trace, one a line, with its process,
 * size, address and symbolized call stack, as text (perf script style), CSV
 * or JSON lines (output/events.c), so that a trace can be loaded into DuckDB,
 * SQLite or pandas and queried.
 *
 * Two passes: the model is built over the whole trace first (stacks are
 * symbolized in the process image's mappings as report sees them, all of
 * them), noting for each event the image and the stack it had as it was
 * read (stack ids are redefined when the recorder's stack table restarts);
 * then the records are read again and each event printed with what was noted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "builtin/input.h"
#include "builtin/parse-options.h"
#include "builtin/util.h"
#include "format/mpf.h"
#include "lib/array.h"
#include "lib/hashmap.h"
#include "lib/strtab.h"
#include "lib/text.h"
#include "model/model.h"
#include "output/output.h"
#include "report/path.h"
#include "symbols/symbolize.h"

/* Identical to the SYNOPSIS of Documentation/memprof-script.txt. */
static const char *const script_usage[] = {
	"memprof script [-i FILE] [--format=text|csv|json] [--symfs=DIR]",
	"               [--buildid-dir=DIR]",
	NULL,
};

struct script_opts {
	struct input_opts in;	/* -i, --symfs, --buildid-dir */
	enum output_events_format format;
};

/* What pass 1 noted of one event. */
struct event_ctx {
	uint32_t image;
	uint32_t stack;
};

/* A symbolized stack: frames[off .. off + n) of the pool, innermost first. */
struct script {
	const struct script_opts *opts;
	struct input in;
	struct strtab *names;
	struct symbolizer *sym;
	struct paths paths;
	struct event_ctx *evs;
	size_t nevs, evs_cap;
	struct hmap stacks;	/* (image, stack | kernel << 32) -> off << 16 | n */
	uint32_t *pool;
	size_t npool, pool_cap;
};

static int opt_format(const struct option *opt, const char *arg)
{
	enum output_events_format *f = opt->value;

	if (!strcmp(arg, "text"))
		*f = OUTPUT_EVENTS_TEXT;
	else if (!strcmp(arg, "csv"))
		*f = OUTPUT_EVENTS_CSV;
	else if (!strcmp(arg, "json"))
		*f = OUTPUT_EVENTS_JSON;
	else
		return error("invalid --format '%s': expected text, csv or json", arg);
	return 0;
}

static int note_event(void *ctx, const struct mpf_record *rec, uint32_t image, uint32_t stack)
{
	struct script *sc = ctx;
	int err;

	err = ARRAY_RESERVE(sc->evs, sc->evs_cap, sc->nevs + 1);
	if (err)
		return err;
	sc->evs[sc->nevs++] = (struct event_ctx){ .image = image, .stack = stack };
	return 0;
}

/* The frames of stack in image, innermost first, symbolized once per (image, stack). */
static int stack_frames(struct script *sc, uint32_t image, uint32_t stack, bool kernel,
			const uint32_t **frames, size_t *n)
{
	uint64_t *v = hmap__find(&sc->stacks, image, stack | (uint64_t)kernel << 32);
	uint32_t buf[PATH_MAX_NAMES];
	size_t nf;
	int err;

	if (v) {
		*frames = sc->pool + (*v >> 16);
		*n = *v & 0xffff;
		return 0;
	}
	err = paths__stack(&sc->paths, image, 0, stack, kernel, buf, &nf);
	if (!err)
		err = ARRAY_RESERVE(sc->pool, sc->pool_cap, sc->npool + nf);
	if (!err)
		err = hmap__set(&sc->stacks, image, stack | (uint64_t)kernel << 32,
				(uint64_t)sc->npool << 16 | nf);
	if (err)
		return err;
	memcpy(sc->pool + sc->npool, buf, nf * sizeof(*buf));
	*frames = sc->pool + sc->npool;
	*n = nf;
	sc->npool += nf;
	return 0;
}

/* The image's name, printable; "[unknown]" when the trace never named it. */
static const char *comm_of(const struct script *sc, uint32_t image, char *buf, size_t len)
{
	const char *comm = image == MODEL_IMAGE_NONE ? NULL : model__comm(sc->in.model, image);

	snprintf(buf, len, "%s", comm ? comm : "[unknown]");
	return make_printable(buf);
}

/* Pass 2: the records again, each event printed with what pass 1 noted of it. */
static int print_events(struct script *sc)
{
	struct mpf_reader *r = input__reopen(&sc->in, sc->opts->in.path);
	const struct output_events oe = {
		.format = sc->opts->format,
		.start_time = sc->in.hdr.start_time,
		.page_size = sc->in.hdr.page_size,
		.names = sc->names,
	};
	char comm[MPF_COMM_LEN + 16];
	struct mpf_record rec;
	size_t k = 0;
	int err;

	if (!r)
		return 1;
	output_events__header(stdout, &oe);
	while ((err = mpf_reader__next(r, &rec)) > 0 && rec.type != MPF_REC_END) {
		const struct event_ctx *ec;
		const uint32_t *frames;
		size_t nf;

		if (!output_events__listed(rec.type))
			continue;
		/* The same bytes read twice give the same events: a guard, not a case. */
		if (k >= sc->nevs)
			break;
		ec = &sc->evs[k++];
		err = stack_frames(sc, ec->image, ec->stack, output_events__kernel(&rec), &frames,
				   &nf);
		if (err) {
			mpf_reader__close(r);
			return error("out of memory"), 1;
		}
		output_events__print(stdout, &oe, &rec, comm_of(sc, ec->image, comm, sizeof(comm)),
				     frames, nf);
	}
	mpf_reader__close(r);
	if (err < 0 && err != -EBADMSG && k < sc->nevs)
		return error("cannot read '%s' again: %s", sc->opts->in.path, strerror(-err)), 1;
	if (fflush(stdout))
		return error("cannot write the events: %s", strerror(errno)), 1;
	return 0;
}

int cmd_script(int argc, char **argv)
{
	struct script_opts opts = { .in = { .path = "memprof.data" }, .format = OUTPUT_EVENTS_TEXT };
	const struct option options[] = {
		OPT_INPUT_FILE(&opts.in, "the trace or archive to read (default: memprof.data)"),
		OPT_CALLBACK(0, "format", &opts.format, "FMT",
			     "text (default), csv (with a header line) or json (one\n"
			     "object a line)",
			     opt_format),
		OPT_INPUT_FILES(&opts.in),
		OPT_END(),
	};
	struct script sc = { .opts = &opts };
	bool done;
	int ret;

	ret = input__parse_options(argc, argv, "script", options, script_usage, &done);
	if (done)
		return ret;
	opts.in.on_event = note_event;
	opts.in.ctx = &sc;
	ret = 1;
	if (input__open(&sc.in, &opts.in))
		goto out;
	sc.names = strtab__new();
	sc.sym = sc.names ? symbolizer__new(sc.in.model, sc.names,
					    &(struct symbolizer_opts){ .lookup = sc.in.lookup })
			  : NULL;
	if (!sc.sym ||
	    paths__init(&sc.paths, sc.in.model, sc.sym, sc.names, PATH_FRAMES_ONLY, NULL)) {
		error("out of memory");
		goto out;
	}
	ret = print_events(&sc);
out:
	paths__release(&sc.paths);
	symbolizer__delete(sc.sym);
	strtab__delete(sc.names);
	input__close(&sc.in);
	hmap__free(&sc.stacks);
	free(sc.pool);
	free(sc.evs);
	return ret;
}
