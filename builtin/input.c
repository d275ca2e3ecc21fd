/*
 * Opening a trace or an archive for the commands that read them
 * (builtin/input.h): the archive's trailer is looked for first, then the
 * trace at the start of the file is read, no further than the archive says
 * it goes, into the model.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin/input.h"
#include "builtin/util.h"
#include "elf/buildid-cache.h"
#include "lib/text.h"
#include "model/model.h"
#include "symbols/unwind.h"

static void open_error(const char *path, int err, const struct mpf_header *found)
{
	switch (err) {
	case -ENOMSG:
		error("'%s' is not a memprof trace; record one with 'memprof record'", path);
		break;
	case -EBADMSG:
		error("'%s' is a memprof trace with a damaged header; it cannot be read", path);
		break;
	case -EPROTONOSUPPORT:
		error("'%s' was written by a newer memprof (format %u.%u, this one reads %u.%u); "
		      "upgrade memprof to read it",
		      path, found->version_major, found->version_minor, MPF_VERSION_MAJOR,
		      MPF_VERSION_MINOR);
		break;
	case -EACCES:
		/* Under sudo record gives its trace to the user; as root alone it knows no user. */
		error("cannot open '%s': %s; a trace recorded as root is root's, mode 0600: "
		      "'sudo chown $USER %s' makes it yours", path, strerror(EACCES), path);
		break;
	default:
		error("cannot open '%s': %s", path, strerror(err < 0 ? -err : EINVAL));
		break;
	}
}

/* The stacks the model did not keep, past the budget a trace of its size gets. */
static void stacks_dropped(const struct model *m, const char *path)
{
	const struct model_stats *st = model__stats(m);

	if (st->stacks_dropped)
		warning("%" PRIu64 " stack%s of '%s' not kept: the stack table would need more "
			"than %" PRIu64 " MiB, the most a trace of its size may take (32 MiB and "
			"%d bytes per byte of the trace); the events using %s have no stack",
			st->stacks_dropped, st->stacks_dropped == 1 ? "" : "s", path,
			st->stack_budget >> 20, MODEL_STACK_BUDGET_PER_BYTE,
			st->stacks_dropped == 1 ? "it" : "them");
}

int input__feed(struct mpf_reader *r, struct model *m)
{
	const struct mpf_record *rec;
	int err;

	/* The stack table is built in the reader's staging thread, ahead of the events. */
	mpf_reader__set_stage(r, model__stage, m);
	while ((err = mpf_reader__read(r, &rec)) > 0) {
		err = model__add(m, rec);
		if (err || rec->type == MPF_REC_END)
			break;
	}
	/* What is live at each site, where it is summed once all is read. */
	if (err != -ENOMEM && model__count_live_sites(m))
		err = -ENOMEM;
	return err;
}

struct model *input__new_model(const struct input *in, const struct input_opts *opts)
{
	struct model *m = model__new(in->hdr.page_size);

	if (m) {
		model__set_trace_size(m, in->trace_size);
		model__set_site_counts(m, opts->site_counts);
	}
	return m;
}

/* input__feed(), with a warning when the trace ends early. */
static int read_trace(struct mpf_reader *r, struct model *m, const char *path)
{
	struct mpf_reader_status st;
	int err = input__feed(r, m);

	if (err == -ENOMEM)
		return error("out of memory reading '%s'", path);

	mpf_reader__status(r, &st);
	if (st.complete)
		return 0;
	if (st.corrupt)
		warning("trace ends early: %" PRIu64 " chunks read, corrupt chunk at offset %" PRIu64,
			st.chunks, st.bad_offset);
	else if (err < 0 && err != -EBADMSG)
		warning("trace ends early: %" PRIu64 " chunks read, %s", st.chunks, strerror(-err));
	else
		warning("trace ends early: %" PRIu64 " chunks read, recording was cut off",
			st.chunks);
	return 0;
}

/* The archive at path, NULL for a plain trace (or an archive whose files cannot be used). */
static struct mpf_archive *open_archive(const char *path)
{
	struct mpf_archive *a;
	int err = 0;

	a = mpf_archive__open(path, &err);
	if (a || err == -ENOMSG || err == -ENOENT)
		return a;
	/* The trace at its start is still sound: it is reported without the files. */
	if (err == -EBADMSG)
		warning("'%s' is a memprof archive with a damaged table of contents; "
			"its embedded files are not used", path);
	else if (err == -EPROTONOSUPPORT)
		warning("'%s' is an archive of a newer memprof; its embedded files are not used; "
			"upgrade memprof to use them", path);
	else if (err == -ENOMEM)
		warning("out of memory reading the archive '%s'; its embedded files are not used",
			path);
	/* Other errors (EACCES, EISDIR...) are the trace reader's to report. */
	return NULL;
}

int input__parse_options(int argc, char **argv, const char *cmd, const struct option *opts,
			 const char *const *usage, bool *done)
{
	int n = parse_options(argc, argv, cmd, opts, usage, 0);

	*done = true;
	if (n < 0)
		return n == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
	if (n > 0)
		return error("unexpected argument '%s'; the trace is given with -i FILE", argv[0]),
		       EXIT_USAGE;
	*done = false;
	return 0;
}

/* What asking debuginfod takes: said as it happens, so a long wait is never silent. */
static void on_lookup_note(void *ctx, const struct lookup_note *n)
{
	char shown[MPF_PATH_MAX + 1];
	const char *what = n->file == MPF_ARCHIVE_DEBUG ? "the debug info of " : "";

	input__shown_path(n->path ? n->path : "", shown);
	switch (n->kind) {
	case LOOKUP_NOTE_WAITING:
		fprintf(stderr, "memprof: asking debuginfod for %s'%s'... (DEBUGINFOD_TIMEOUT "
			"bounds the wait)\n", what, shown);
		break;
	case LOOKUP_NOTE_GAVE_UP:
		warning("debuginfod failed for %s'%s' after %.1f s: %s; not asking it for any "
			"other file", what, shown, (double)n->ms / 1000, strerror(-n->err));
		break;
	}
}

int input__begin(struct input *in, const struct input_opts *opts, int fd, struct mpf_reader **out)
{
	struct lookup_opts lo = { .symfs = opts->symfs, .note = on_lookup_note };
	struct mpf_header found;
	struct stat sb;
	struct mpf_reader *r;
	int err;

	memset(in, 0, sizeof(*in));
	*out = NULL;
	if (fd >= 0) {
		r = mpf_reader__fdopen(fd, &err, &found);
	} else if (input__is_stdin(opts->path)) {
		/* A stream: no archive trailer to look for, read as it comes. */
		int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);

		if (isatty(STDIN_FILENO))
			return error("-i - reads a trace from standard input, which is a terminal; "
				     "pipe 'memprof record -o -' into it"), 1;
		r = fd < 0 ? (err = -errno, NULL) : mpf_reader__fdopen(fd, &err, &found);
	} else {
		in->archive = opts->no_archive ? NULL : open_archive(opts->path);
		r = mpf_reader__open_detailed(opts->path, &err, &found);
	}
	if (!r) {
		open_error(input__is_stdin(opts->path) ? "standard input" : opts->path, err,
			   &found);
		return 1;
	}
	if (in->archive)
		mpf_reader__set_limit(r, mpf_archive__trace_size(in->archive));
	in->hdr = *mpf_reader__header(r);

	if (opts->buildid_dir)
		in->cache_dir = opts->buildid_dir;
	else if (!buildid_cache__dir(in->cache_buf, sizeof(in->cache_buf)))
		in->cache_dir = in->cache_buf;
	lo.archive = in->archive;
	lo.cache_dir = in->cache_dir;
	in->lookup = lookup__new(&lo);
	/* The stack table's bound: from what the trace takes in the file. */
	in->trace_size = in->archive ? mpf_archive__trace_size(in->archive) : 0;
	if (!in->archive && !stat(opts->path, &sb) && S_ISREG(sb.st_mode))
		in->trace_size = (uint64_t)sb.st_size;
	in->model = in->lookup ? input__new_model(in, opts) : NULL;
	/* DWARF stacks are unwound with the files found as symbolization finds them. */
	in->uw = in->model ? unwinder__new(in->model, in->lookup) : NULL;
	if (!in->uw) {
		mpf_reader__close(r);
		return error("out of memory"), 1;
	}
	if (opts->on_event)
		model__set_event_hook(in->model, opts->on_event, opts->ctx);
	if (opts->prepare && opts->prepare(opts->ctx, in)) {
		mpf_reader__close(r);
		return 1;
	}
	*out = r;
	return 0;
}

int input__open(struct input *in, const struct input_opts *opts)
{
	struct mpf_reader *r;
	int err = input__begin(in, opts, -1, &r);

	if (err)
		return err;
	err = read_trace(r, in->model, opts->path);
	/* The model holds all that is needed: free the reader's buffers now. */
	mpf_reader__close(r);
	/* Its staging thread, gone now, may have built the stack table. */
	if (!err)
		stacks_dropped(in->model, opts->path);
	return err ? 1 : 0;
}

struct mpf_reader *input__reopen(const struct input *in, const char *path)
{
	struct mpf_header found;
	struct mpf_reader *r;
	int err;

	if (input__is_stdin(path))
		return error("this report reads the trace twice, and standard input can be read "
			     "once: save the stream to a file and give it with -i FILE"), NULL;
	r = mpf_reader__open_detailed(path, &err, &found);
	if (!r) {
		open_error(path, err, &found);
		return NULL;
	}
	if (in->archive)
		mpf_reader__set_limit(r, mpf_archive__trace_size(in->archive));
	return r;
}

void input__close(struct input *in)
{
	unwinder__delete(in->uw);
	model__delete(in->model);
	lookup__delete(in->lookup);
	mpf_archive__close(in->archive);
	memset(in, 0, sizeof(*in));
}

int input__files_with_events(struct input *in, bool *used)
{
	struct model_site sbuf;
	struct model *m = in->model;

	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		for (size_t i = 0; i < model__nr_sites(m, ev); i++) {
			const struct model_site *site = model__site(m, ev, i, &sbuf);
			struct model_stack st;

			model__image_stack(m, site->image, site->stack, &st);
			for (uint32_t k = 0; k < st.nr; k++) {
				bool exact = k == 0 && (st.flags & MPF_STACK_FIRST_IS_IP);
				uint64_t ip = st.ips[k], addr = exact || !ip ? ip : ip - 1;
				const struct model_map *map = model__find_map(m, site->image, addr);
				const struct model_file *f;

				if (!map) {
					if (errno == ENOMEM)
						return -ENOMEM;
					continue;
				}
				f = map->file_id ? model__file(m, map->file_id) : NULL;
				if (f)
					used[f->index] = true;
			}
		}
	}
	return 0;
}

bool input__is_stdin(const char *path)
{
	return path && !strcmp(path, "-");
}

const char *input__hex(const uint8_t *b, uint32_t len, char *buf)
{
	return len ? hex_str(b, len < MPF_BUILD_ID_MAX ? len : MPF_BUILD_ID_MAX, buf) : "none";
}

const char *input__shown_path(const char *path, char buf[MPF_PATH_MAX + 1])
{
	snprintf(buf, MPF_PATH_MAX + 1, "%s", path);
	return make_printable(buf);
}

void input__warn_missing(const struct input *in, const char *path, const uint8_t *build_id,
			 uint32_t build_id_len, const struct lookup_result *res,
			 const char *consequence)
{
	char want[2 * MPF_BUILD_ID_MAX + 1], have[2 * MPF_BUILD_ID_MAX + 1];
	char shown[MPF_PATH_MAX + 1], why[2 * MPF_BUILD_ID_MAX + 128];

	if (res->path_mismatch)
		snprintf(why, sizeof(why), "the file at the recorded path has build-id %s: rebuilt "
			 "or upgraded since, not used",
			 input__hex(res->path_build_id, res->path_build_id_len, have));
	else if (res->path_reason)
		snprintf(why, sizeof(why), "the file at the recorded path %s", res->path_reason);
	else
		snprintf(why, sizeof(why), "the recorded path: %s",
			 strerror(res->path_err ? res->path_err : ENOENT));
	unsigned int skipped;

	warning("'%s' with build-id %s not found in %s (%s%s%s); %s",
		input__shown_path(path, shown), input__hex(build_id, build_id_len, want),
		lookup__places(in->lookup), why,
		res->archive_damaged ? "; the archive's copy is damaged" : "",
		lookup__debuginfod_failed(in->lookup, &skipped) ? "; debuginfod gave up" : "",
		consequence);
}
