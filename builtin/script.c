/*
 * memprof script: every event of a trace, one a line, with its process,
 * size, address and symbolized call stack, as text (perf script style), CSV
 * or JSON lines (output/events.c), so that a trace can be loaded into DuckDB,
 * SQLite or pandas and queried.
 *
 * Two passes: the model is built over the whole trace first (stacks are
 * symbolized in the process image's mappings as report sees them, all of
 * them); then the records are read again and each event printed with the
 * process image and the stack it had as it was read.  Pass 1 notes what pass
 * 2 cannot tell from the whole model: in traces of MPF_MINOR_STACK_TREE and
 * later, whose stack ids are never redefined, only where a process's image
 * changes (a few entries a process), so that memory does not grow with the
 * events; in older ones, whose recorders restarted their stack tables and
 * redefined ids, each event's image and stack.
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

/* What pass 1 noted of one event (traces before MPF_MINOR_STACK_TREE). */
struct event_ctx {
	uint32_t image;
	uint32_t stack;
};

/* From the event of index k on, pid's events are in image (later traces). */
struct image_change {
	uint64_t k;
	uint32_t pid, image;
};

/* Past this many names, the memo of symbolized stacks starts again (16 MiB). */
#define POOL_MAX (1u << 22)

/* A symbolized stack: frames[off .. off + n) of the pool, innermost first. */
struct script {
	const struct script_opts *opts;
	struct input in;
	struct strtab *names;
	struct symbolizer *sym;
	struct paths paths;
	bool per_event;		/* evs, else changes */
	struct event_ctx *evs;
	size_t nevs, evs_cap;
	struct image_change *changes;
	size_t nchanges, changes_cap, next_change;
	struct hmap images;	/* pid -> its image, as of the event being read */
	uint64_t k;		/* events seen */
	struct hmap stacks;	/* (image, stack | kernel << 32) -> off << 16 | n */
	uint32_t *pool;
	size_t npool, pool_cap;
	/* comm_of()'s: the printable name of comm_image, from comm_src holding comm_raw */
	bool comm_valid;
	uint32_t comm_image;
	const char *comm_src;
	char comm[MPF_COMM_LEN + 16], comm_raw[MPF_COMM_LEN + 16];
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
	uint32_t pid, stack_id;
	uint64_t *v;
	int err;

	if (sc->per_event) {
		err = ARRAY_RESERVE(sc->evs, sc->evs_cap, sc->nevs + 1);
		if (err)
			return err;
		sc->evs[sc->nevs++] = (struct event_ctx){ .image = image, .stack = stack };
		return 0;
	}
	model__record_pid(rec, &pid, &stack_id);
	v = hmap__find(&sc->images, pid, 0);
	if (!v || *v != image) {
		err = ARRAY_RESERVE(sc->changes, sc->changes_cap, sc->nchanges + 1);
		if (!err)
			err = hmap__set(&sc->images, pid, 0, image);
		if (err)
			return err;
		sc->changes[sc->nchanges++] =
			(struct image_change){ .k = sc->k, .pid = pid, .image = image };
	}
	sc->k++;
	return 0;
}

/*
 * The image and stack of the k-th event, rec, as pass 1 had them: noted, or
 * the image from the changes noted, and the stack its id names.  false past
 * the events pass 1 saw.
 */
static bool event_of(struct script *sc, size_t k, const struct mpf_record *rec,
		     struct event_ctx *ec)
{
	uint32_t pid, stack_id;
	uint64_t *v;

	if (sc->per_event) {
		if (k >= sc->nevs)
			return false;
		*ec = sc->evs[k];
		return true;
	}
	if (k >= sc->k)
		return false;
	model__record_pid(rec, &pid, &stack_id);
	/* Pass 1 set every pid it saw: these only overwrite, they never fail. */
	for (; sc->next_change < sc->nchanges && sc->changes[sc->next_change].k == k;
	     sc->next_change++)
		hmap__set(&sc->images, sc->changes[sc->next_change].pid, 0,
			  sc->changes[sc->next_change].image);
	v = hmap__find(&sc->images, pid, 0);
	ec->image = v ? (uint32_t)*v : MODEL_IMAGE_NONE;
	ec->stack = ec->image == MODEL_IMAGE_NONE ? MODEL_STACK_EMPTY
						  : model__stack_of(sc->in.model, ec->image, stack_id);
	return true;
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
	if (!err && sc->npool + nf > POOL_MAX) {
		/* Millions of distinct stacks: their frames stay named (paths), not their paths. */
		hmap__free(&sc->stacks);
		memset(&sc->stacks, 0, sizeof(sc->stacks));
		sc->npool = 0;
	}
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

/*
 * The image's name, printable; "[unknown]" when the trace never named it.
 * Kept for the last image asked about: events come in runs of one process.
 */
static const char *comm_of(struct script *sc, uint32_t image)
{
	const char *comm = image == MODEL_IMAGE_NONE ? NULL : model__comm(sc->in.model, image);

	if (sc->comm_valid && sc->comm_image == image && comm == sc->comm_src &&
	    (!comm || !strncmp(comm, sc->comm_raw, sizeof(sc->comm_raw))))
		return sc->comm;
	snprintf(sc->comm, sizeof(sc->comm), "%s", comm ? comm : "[unknown]");
	snprintf(sc->comm_raw, sizeof(sc->comm_raw), "%s", comm ? comm : "");
	sc->comm_valid = true;
	sc->comm_image = image;
	sc->comm_src = comm;
	return make_printable(sc->comm);
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
	struct mpf_record rec;
	size_t k = 0;
	int err;

	if (!r)
		return 1;
	output_events__header(stdout, &oe);
	/* Pass 2 rebuilds the images from the changes, from the first. */
	hmap__free(&sc->images);
	memset(&sc->images, 0, sizeof(sc->images));
	while ((err = mpf_reader__next(r, &rec)) > 0 && rec.type != MPF_REC_END) {
		struct event_ctx ec;
		const uint32_t *frames;
		size_t nf;

		if (!output_events__listed(rec.type))
			continue;
		/* The same bytes read twice give the same events: a guard, not a case. */
		if (!event_of(sc, k++, &rec, &ec))
			break;
		err = stack_frames(sc, ec.image, ec.stack, output_events__kernel(&rec), &frames,
				   &nf);
		if (err) {
			mpf_reader__close(r);
			return error("out of memory"), 1;
		}
		output_events__print(stdout, &oe, &rec, comm_of(sc, ec.image), frames, nf);
	}
	mpf_reader__close(r);
	if (err < 0 && err != -EBADMSG && k < (sc->per_event ? sc->nevs : sc->k))
		return error("cannot read '%s' again: %s", sc->opts->in.path, strerror(-err)), 1;
	if (fflush(stdout))
		return error("cannot write the events: %s", strerror(errno)), 1;
	return 0;
}

/* input's prepare hook: what pass 1 notes depends on the trace's version; a model of stacks. */
static int choose_notes(void *ctx, struct input *in)
{
	struct script *sc = ctx;

	sc->per_event = in->hdr.version_minor < MPF_MINOR_STACK_TREE;
	/* Events are printed one by one, never summed: the model needs no sites. */
	model__set_stacks_only(in->model);
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
	opts.in.prepare = choose_notes;
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
	free(sc.changes);
	hmap__free(&sc.images);
	return ret;
}
