/*
 * memprof archive: packs a trace and the ELF and separate debug info files
 * its build-ids name into one file (format/archive.h) that `memprof report
 * -i` reads on any machine, with nothing to unpack.  The files are found as
 * report finds them (report/lookup.h), so an archive can be made wherever
 * report would show full names: on the recording machine, or from another
 * archive plus the local files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
#include "builtin/input.h"
#include "builtin/parse-options.h"
#include "builtin/util.h"
#include "elf/lookup.h"
#include "format/archive.h"
#include "model/model.h"

/* Identical to the SYNOPSIS of Documentation/memprof-archive.txt. */
static const char *const archive_usage[] = {
	"memprof archive [-i FILE] [-o OUT] [--all] [--symfs=DIR] [--buildid-dir=DIR]",
	NULL,
};


struct archive_opts {
	struct input_opts in;	/* -i, --symfs, --buildid-dir */
	const char *output;
	bool all;
};


struct archive_stats {
	unsigned int elf, debug, missing;
};

/* Adds f's ELF file and, when it has no DWARF of its own, its separate debug info. */
static int archive_file(struct input *in, struct mpf_archive_writer *w,
			const struct model_file *f, struct archive_stats *st)
{
	char shown[MPF_PATH_MAX + 1];
	struct lookup_pair p;
	int err;

	err = lookup__elf_and_debug(in->lookup, f->path, f->build_id, f->build_id_len, &p);
	if (err)
		goto out;
	if (p.elf.fd < 0) {
		input__warn_missing(in, f->path, f->build_id, f->build_id_len, &p.elf,
				    "not archived");
		st->missing++;
		goto out;
	}
	err = mpf_archive_writer__add(w, MPF_ARCHIVE_ELF, f->build_id, f->build_id_len, f->path,
				      p.elf.fd);
	if (err == -EFBIG) {
		/* A file this compressible is what readers take for a zstd bomb. */
		warning("'%s' compresses more than %d times; not archived, readers would refuse it",
			input__shown_path(f->path, shown), MPF_ARCHIVE_RATIO_MAX);
		st->missing++;
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	st->elf++;
	debug("archived '%s' from '%s'", input__shown_path(f->path, shown), p.elf.path);
	if (p.self)
		goto out;
	if (p.debug.fd < 0) {
		debug("no separate debug info for '%s'", shown);
		goto out;
	}
	err = mpf_archive_writer__add(w, MPF_ARCHIVE_DEBUG, f->build_id, f->build_id_len, f->path,
				      p.debug.fd);
	if (err == -EFBIG) {
		warning("the debug info of '%s' compresses more than %d times; not archived, "
			"readers would refuse it", shown, MPF_ARCHIVE_RATIO_MAX);
		err = 0;
	} else if (!err) {
		st->debug++;
		debug("archived the debug info of '%s' from '%s'", shown, p.debug.path);
	}
out:
	lookup_pair__release(&p);
	return err;
}

/* The same build-id seen before (one file mapped under two paths): archived once. */
static bool seen_before(const struct model *m, size_t i, const bool *want)
{
	const struct model_file *f = model__file_at(m, i);

	for (size_t j = 0; j < i; j++) {
		const struct model_file *g = model__file_at(m, j);

		if (want[j] && g->build_id_len == f->build_id_len &&
		    !memcmp(g->build_id, f->build_id, f->build_id_len))
			return true;
	}
	return false;
}

static uint64_t trace_size(const struct input *in, int fd)
{
	struct stat st;

	if (in->archive)
		return mpf_archive__trace_size(in->archive);
	return fstat(fd, &st) ? 0 : (uint64_t)st.st_size;
}

int cmd_archive(int argc, char **argv)
{
	struct archive_opts opts = { .in = { .path = "memprof.data" } };
	struct mpf_archive_writer *w = NULL;
	struct archive_stats st = { 0 };
	struct stat in_st, out_st;
	char *out = NULL, *tmp = NULL;
	struct input in = { 0 };
	bool *want = NULL;
	size_t nfiles, nobid = 0;
	int ret, err, fd = -1;
	bool done;

	const struct option options[] = {
		OPT_INPUT_FILE(&opts.in, "the trace (or archive) to pack (default: memprof.data)"),
		OPT_STRING('o', "output", &opts.output, "OUT",
			   "the archive to write (default: FILE.archive)"),
		OPT_BOOL(0, "all", &opts.all, "every file the trace maps, not only those of its stacks"),
		OPT_INPUT_FILES(&opts.in),
		OPT_END(),
	};

	ret = input__parse_options(argc, argv, "archive", options, archive_usage, &done);
	if (done)
		return ret;
	ret = 1;
	if (opts.output)
		out = strdup(opts.output);
	else if (asprintf(&out, "%s.archive", opts.in.path) < 0)
		out = NULL;
	if (!out || asprintf(&tmp, "%s.tmp%d", out, (int)getpid()) < 0) {
		error("out of memory");
		goto out;
	}
	if (input__open(&in, &opts.in))
		goto out;
	fd = open(opts.in.path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &in_st)) {
		error("cannot open '%s': %s", opts.in.path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(in_st.st_mode)) {
		error("'%s' is not a regular file; archive copies a trace file", opts.in.path);
		goto out;
	}
	if (!stat(out, &out_st) && out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
		error("'%s' is the trace itself; give the archive another name with -o", out);
		goto out;
	}

	nfiles = model__nr_files(in.model);
	want = calloc(nfiles ? nfiles : 1, sizeof(*want));
	if (!want) {
		error("out of memory");
		goto out;
	}
	if (opts.all) {
		for (size_t i = 0; i < nfiles; i++)
			want[i] = true;
	} else if (input__files_with_events(&in, want)) {
		error("out of memory");
		goto out;
	}

	w = mpf_archive_writer__open(tmp, fd, trace_size(&in, fd));
	if (!w) {
		error("cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < nfiles; i++) {
		const struct model_file *f = model__file_at(in.model, i);

		if (!want[i] || lookup_path_is_pseudo(f->path))
			continue;
		if (!f->build_id_len) {
			/* Nothing would tell report that a file is the one that was mapped. */
			nobid++;
			continue;
		}
		if (seen_before(in.model, i, want))
			continue;
		err = archive_file(&in, w, f, &st);
		if (err) {
			error("cannot archive '%s': %s", f->path, strerror(-err));
			goto out;
		}
	}
	if (nobid)
		warning("%zu file%s without a build-id not archived; report can use %s only at "
			"the recorded path", nobid, nobid == 1 ? "" : "s",
			nobid == 1 ? "it" : "them");
	err = mpf_archive_writer__close(w);
	w = NULL;
	if (err) {
		error("cannot write '%s': %s", tmp, strerror(-err));
		goto out;
	}
	if (rename(tmp, out)) {
		error("cannot rename '%s' to '%s': %s", tmp, out, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	stat(out, &out_st);
	printf("'%s': the trace and %u file%s (%u with separate debug info), %.1f MiB%s\n", out,
	       st.elf, st.elf == 1 ? "" : "s", st.debug, (double)out_st.st_size / (1 << 20),
	       st.missing ? "; some files were not found, see the warnings" : "");
	ret = fflush(stdout) ? 1 : 0;
out:
	mpf_archive_writer__abort(w);
	if (tmp)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	free(want);
	free(tmp);
	free(out);
	input__close(&in);
	return ret;
}
