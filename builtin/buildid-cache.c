/*
 * memprof buildid-cache: adds files to the build-id cache
 * (format/buildid-cache.h), where report and archive find them by build-id
 * after the originals changed: named ELF or debug info files (--add), or
 * every file a trace or archive names that can be found now (-i), which
 * is how an archive's files are unpacked into the cache.
 */
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "builtin/input.h"
#include "builtin/parse-options.h"
#include "builtin/util.h"
#include "elf/buildid-cache.h"
#include "elf/buildid.h"
#include "elf/lookup.h"
#include "model/model.h"

/* Identical to the SYNOPSIS of Documentation/memprof-buildid-cache.txt. */
static const char *const buildid_cache_usage[] = {
	"memprof buildid-cache [--buildid-dir=DIR] -a FILE...",
	"memprof buildid-cache [--buildid-dir=DIR] -i FILE [--all] [--symfs=DIR]",
	NULL,
};


struct buildid_cache_opts {
	const char **add;
	size_t nr_add;
	struct input_opts in;	/* -i, --symfs, --buildid-dir */
	bool all;
};


/* -a FILE: argc bounds the number of files, so opts.add has room for all. */
static int opt_add(const struct option *opt, const char *arg)
{
	struct buildid_cache_opts *o = opt->value;

	o->add[o->nr_add++] = arg;
	return 0;
}

static const char *added_word(int ret)
{
	return ret > 0 ? "added" : "already cached";
}

/* --add FILE: an ELF file is cached as one, a file of debug info only as debug info. */
static int add_file(const char *dir, const char *path)
{
	char hex[2 * MPF_BUILD_ID_MAX + 1], *debuglink = NULL;
	uint8_t bid[MPF_BUILD_ID_MAX];
	bool code, dwarf;
	int fd, len, ret = 1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return error("cannot open '%s': %s", path, strerror(errno)), 1;
	len = elf_fd_build_id(fd, bid);
	if (len < 0 || !lookup_debug_info(fd, &code, &dwarf, &debuglink)) {
		error("'%s' is not an ELF file", path);
		goto out;
	}
	if (len == 0) {
		error("'%s' has no build-id; the cache keeps files by build-id", path);
		goto out;
	}
	if (!code && !dwarf) {
		error("'%s' holds neither code nor debug info", path);
		goto out;
	}
	ret = buildid_cache__add(dir, code ? MPF_ARCHIVE_ELF : MPF_ARCHIVE_DEBUG, bid,
				     (uint32_t)len, fd);
	if (ret < 0) {
		error("cannot add '%s' to the build-id cache '%s': %s", path, dir, strerror(-ret));
		ret = 1;
		goto out;
	}
	printf("%s %s %s%s\n", input__hex(bid, (uint32_t)len, hex), added_word(ret), path,
	       code ? "" : " (debug info)");
	ret = 0;
out:
	free(debuglink);
	close(fd);
	return ret;
}

/* Caches what lookup found (unless it found it in the cache already); 0 or 1 after an error. */
static int cache_found(const char *dir, enum mpf_archive_kind kind, const struct model_file *f,
		       const struct lookup_result *r)
{
	char hex[2 * MPF_BUILD_ID_MAX + 1], shown[MPF_PATH_MAX + 1];
	int ret;

	if (r->fd < 0 || r->source == LOOKUP_CACHE)
		return 0;
	ret = buildid_cache__add(dir, kind, f->build_id, f->build_id_len, r->fd);
	if (ret < 0)
		return error("cannot add '%s' to the build-id cache '%s': %s", r->path, dir,
			     strerror(-ret)),
		       1;
	printf("%s %s %s%s (from the %s)\n", input__hex(f->build_id, f->build_id_len, hex),
	       added_word(ret), input__shown_path(f->path, shown),
	       kind == MPF_ARCHIVE_DEBUG ? " debug info" : "", lookup_source_name(r->source));
	return 0;
}

/* -i FILE: every file of the trace that lookup finds outside the cache goes in. */
static int add_trace(const struct buildid_cache_opts *o, struct input *in)
{
	struct lookup_pair p;
	bool *want;
	size_t nfiles = model__nr_files(in->model);
	int ret = 0, err;

	want = calloc(nfiles ? nfiles : 1, sizeof(*want));
	if (!want || (!o->all && input__files_with_events(in, want))) {
		free(want);
		return error("out of memory"), 1;
	}
	for (size_t i = 0; i < nfiles && !ret; i++) {
		const struct model_file *f = model__file_at(in->model, i);

		if (!(want[i] || o->all) || lookup_path_is_pseudo(f->path) || !f->build_id_len)
			continue;
		err = lookup__elf_and_debug(in->lookup, f->path, f->build_id, f->build_id_len, &p);
		if (err) {
			lookup_pair__release(&p);
			ret = (error("out of memory"), 1);
			break;
		}
		if (p.elf.fd < 0)
			input__warn_missing(in, f->path, f->build_id, f->build_id_len, &p.elf,
					    "not cached");
		else
			ret = cache_found(in->cache_dir, MPF_ARCHIVE_ELF, f, &p.elf);
		if (!ret && p.elf.fd >= 0 && !p.self)
			ret = cache_found(in->cache_dir, MPF_ARCHIVE_DEBUG, f, &p.debug);
		lookup_pair__release(&p);
	}
	free(want);
	return ret;
}

int cmd_buildid_cache(int argc, char **argv)
{
	struct buildid_cache_opts opts = { 0 };
	char dir[MPF_PATH_MAX];
	struct input in = { 0 };
	int ret;

	const struct option options[] = {
		OPT_CALLBACK('a', "add", &opts, "FILE", "add this ELF or separate debug info file",
			     opt_add),
		OPT_STRING('i', "input", &opts.in.path, "FILE",
			   "add the files this trace or archive names"),
		OPT_BOOL(0, "all", &opts.all,
			 "with -i: every file the trace maps, not only those of its\nstacks"),
		OPT_STRING(0, "symfs", &opts.in.symfs, "DIR",
			   "with -i: look for the recorded files under DIR first"),
		OPT_STRING(0, "buildid-dir", &opts.in.buildid_dir, "DIR",
			   "the build-id cache (default: $MEMPROF_BUILDID_DIR,\n"
			   "else ~/.cache/memprof)"),
		OPT_END(),
	};

	opts.add = calloc((size_t)argc + 1, sizeof(*opts.add));
	if (!opts.add)
		return error("out of memory"), 1;
	argc = parse_options(argc, argv, "buildid-cache", options, buildid_cache_usage, 0);
	ret = argc == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
	if (argc < 0)
		goto out;
	if (argc > 0) {
		error("unexpected argument '%s'; files are added with -a FILE", argv[0]);
		goto out;
	}
	if (!opts.nr_add == !opts.in.path) {
		error("give either files to add (-a FILE) or a trace (-i FILE); "
		      "see 'memprof buildid-cache --help'");
		goto out;
	}
	ret = 1;
	if (opts.in.path) {
		if (input__open(&in, &opts.in))
			goto out;
		if (!in.cache_dir) {
			error("no build-id cache: HOME is not set; give --buildid-dir=DIR");
			goto out;
		}
		ret = add_trace(&opts, &in);
	} else {
		if (opts.in.buildid_dir)
			snprintf(dir, sizeof(dir), "%s", opts.in.buildid_dir);
		else if (buildid_cache__dir(dir, sizeof(dir))) {
			error("no build-id cache: HOME is not set; give --buildid-dir=DIR");
			goto out;
		}
		ret = 0;
		for (size_t i = 0; i < opts.nr_add; i++)
			ret |= add_file(dir, opts.add[i]);
	}
	if (fflush(stdout))
		ret = (error("cannot write: %s", strerror(errno)), 1);
out:
	input__close(&in);
	free(opts.add);
	return ret;
}
