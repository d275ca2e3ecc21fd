/*
 * The input of the commands that read traces (report, script, diff, archive,
 * buildid-list, buildid-cache): their shared options, and a trace or an
 * archive read into a model, with the lookup of the files it names set up
 * (elf/lookup.h) and the stacks of record -g dwarf unwound on the way.  This
 * is command-layer code: it prints its errors and warnings.
 */
#ifndef MEMPROF_BUILTIN_INPUT_H
#define MEMPROF_BUILTIN_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "builtin/parse-options.h"
#include "elf/lookup.h"
#include "format/archive.h"
#include "format/mpf.h"
#include "model/model.h"

struct input;
struct unwinder;

struct input_opts {
	const char *path;		/* the trace or archive; "-": standard input */
	const char *symfs;		/* --symfs DIR, or NULL */
	const char *buildid_dir;	/* --buildid-dir DIR, or NULL for the default */
	bool no_archive;		/* read an archive's trace only, not its files */
	/* The counts the sites keep: as the views to be built read them (MODEL_COUNTS_ALL: 0). */
	enum model_site_counts site_counts;
	/*
	 * Called once the header is read and the model made, before the first
	 * record (to set the model's filters, which may need the header); may be
	 * NULL.  0, or 1 after printing an error.
	 */
	int (*prepare)(void *ctx, struct input *in);
	/* Called for each event as the model applies it (model__set_event_hook); may be NULL. */
	int (*on_event)(void *ctx, const struct mpf_record *rec, uint32_t image, uint32_t stack);
	void *ctx;			/* of prepare and on_event */
};

/* The options of every command that reads a trace: -i FILE, --symfs, --buildid-dir. */
#define OPT_INPUT_FILE(in, help) OPT_STRING('i', "input", &(in)->path, "FILE", (help))
#define OPT_INPUT_FILES(in)                                                                  \
	OPT_STRING(0, "symfs", &(in)->symfs, "DIR", "look for the recorded files under DIR first"), \
	OPT_STRING(0, "buildid-dir", &(in)->buildid_dir, "DIR",                             \
		   "the build-id cache (default: $MEMPROF_BUILDID_DIR,\n"                   \
		   "else ~/.cache/memprof)")

/*
 * parse_options() for a command that reads the trace given with -i and takes
 * no other argument.  0: go on; else *done is set and the command returns
 * the status returned (0 after --help).
 */
int input__parse_options(int argc, char **argv, const char *cmd, const struct option *opts,
			 const char *const *usage, bool *done);

struct input {
	struct mpf_header hdr;
	struct mpf_archive *archive;	/* NULL: a plain trace */
	struct lookup *lookup;
	struct model *model;
	struct unwinder *uw;
	const char *cache_dir;		/* NULL: no build-id cache (no HOME) */
	uint64_t trace_size;		/* bytes of the trace in the file, 0: not known (a pipe) */
	char cache_buf[MPF_PATH_MAX];
};

/* 0, or 1 after printing an error; in is closed with input__close() either way. */
int input__open(struct input *in, const struct input_opts *opts);
/*
 * The first half of input__open, for a live view that feeds the model as the
 * records come: the header read, the model and the lookup made, the reader
 * returned in *r (the caller's to close) before its first record.  fd >= 0:
 * the trace is read from it (a pipe, which the reader then owns), not from
 * opts->path, which names it in messages.  0, or 1 after printing an error.
 */
int input__begin(struct input *in, const struct input_opts *opts, int fd, struct mpf_reader **r);
/*
 * The trace of in read again from its start, no further than an archive
 * says it goes: NULL after printing an error.
 */
struct mpf_reader *input__reopen(const struct input *in, const char *path);
/*
 * A model for in's trace, as input__open() makes one: its stack table
 * bounded by the trace's size, its sites keeping the counts opts says.  NULL
 * when out of memory.
 */
struct model *input__new_model(const struct input *in, const struct input_opts *opts);
/*
 * Feeds r's sound records to m, up to the END record (what follows it in an
 * archive is not records), and sums what is live at m's sites once all is
 * read.  0, or the error that stopped it: -ENOMEM, the model's, or the
 * reader's (a damaged or cut-off trace).
 */
int input__feed(struct mpf_reader *r, struct model *m);
void input__close(struct input *in);

/*
 * Marks in used[] (model file index) the files that the frames of the
 * events' stacks fall in.  0 or -ENOMEM.
 */
int input__files_with_events(struct input *in, bool *used);

/*
 * One warning for a file of the trace that no place had, saying where the
 * search went and what the recorded path held (res from lookup__elf), and
 * ending with consequence ("its frames are shown as [unknown]").
 */
void input__warn_missing(const struct input *in, const char *path, const uint8_t *build_id,
			 uint32_t build_id_len, const struct lookup_result *res,
			 const char *consequence);

/* Whether path is "-": the trace streamed on standard input (record -o -). */
bool input__is_stdin(const char *path);
/* A build-id in hex into buf (2 * MPF_BUILD_ID_MAX + 1 bytes), "none" when empty. */
const char *input__hex(const uint8_t *b, uint32_t len, char *buf);
/* A path from the trace, made printable, for a message. */
const char *input__shown_path(const char *path, char buf[MPF_PATH_MAX + 1]);

#endif
