/*
 * memprof buildid-list: the files a trace names, one line each: build-id,
 * where report finds the file and where its debug info, and the recorded
 * path.  It looks them up exactly as report does (report/lookup.h), so it
 * says before a report what the report will be missing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "builtin/input.h"
#include "builtin/parse-options.h"
#include "builtin/util.h"
#include "elf/lookup.h"
#include "model/model.h"

/* Identical to the SYNOPSIS of Documentation/memprof-buildid-list.txt. */
static const char *const buildid_list_usage[] = {
	"memprof buildid-list [-i FILE] [--all] [--symfs=DIR] [--buildid-dir=DIR]",
	NULL,
};


struct buildid_list_opts {
	struct input_opts in;	/* -i, --symfs, --buildid-dir */
	bool all;
};


/* The ELF column: where the file is, else why it is not. */
static const char *elf_column(const struct lookup_result *r)
{
	if (r->fd >= 0)
		return lookup_source_name(r->source);
	return r->path_mismatch ? "mismatch" : "missing";
}

/* The DEBUG column: where the debug info is: self (the file holds it), a place, or none. */
static const char *debug_column(const struct lookup_pair *p)
{
	if (p->elf.fd < 0)
		return "-";
	if (p->self)
		return lookup_source_name(LOOKUP_SELF);
	return lookup_source_name(p->debug.fd >= 0 ? p->debug.source : LOOKUP_NONE);
}

int cmd_buildid_list(int argc, char **argv)
{
	struct buildid_list_opts opts = { .in = { .path = "memprof.data" } };
	char hex[2 * MPF_BUILD_ID_MAX + 1], shown[MPF_PATH_MAX + 1];
	struct input in = { 0 };
	bool *want = NULL;
	size_t nfiles;
	int ret, err = 0;
	bool done;

	const struct option options[] = {
		OPT_INPUT_FILE(&opts.in, "the trace or archive (default: memprof.data)"),
		OPT_BOOL(0, "all", &opts.all, "every file the trace maps, not only those of its stacks"),
		OPT_INPUT_FILES(&opts.in),
		OPT_END(),
	};

	ret = input__parse_options(argc, argv, "buildid-list", options, buildid_list_usage, &done);
	if (done)
		return ret;
	ret = 1;
	if (input__open(&in, &opts.in))
		goto out;
	nfiles = model__nr_files(in.model);
	want = calloc(nfiles ? nfiles : 1, sizeof(*want));
	if (!want || (!opts.all && input__files_with_events(&in, want))) {
		error("out of memory");
		goto out;
	}
	for (size_t i = 0; i < nfiles && !err; i++) {
		const struct model_file *f = model__file_at(in.model, i);
		struct lookup_pair p;

		if (!(want[i] || opts.all) || lookup_path_is_pseudo(f->path))
			continue;
		err = lookup__elf_and_debug(in.lookup, f->path, f->build_id, f->build_id_len, &p);
		if (!err)
			printf("%-40s %-10s %-10s %s\n",
			       input__hex(f->build_id, f->build_id_len, hex), elf_column(&p.elf),
			       debug_column(&p), input__shown_path(f->path, shown));
		lookup_pair__release(&p);
	}
	if (err) {
		error("out of memory");
		goto out;
	}
	if (fflush(stdout)) {
		error("cannot write the list: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(want);
	input__close(&in);
	return ret;
}
