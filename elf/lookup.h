/*
 * Finding the files a trace names, by build-id: the ELF file that was mapped
 * (for its load segments and symbols) and its separate debug info (symbols
 * and DWARF of a stripped file).  Every candidate is opened read-only and
 * used only when its build-id is the one the trace recorded.  The places are
 * tried in this order, the first match wins:
 *
 *   ELF file                            separate debug info
 *   1. the archive being reported       the archive
 *   2. --symfs DIR: DIR/PATH            DIR/usr/lib/debug/.build-id/xx/yyyy.debug,
 *                                       .gnu_debuglink next to DIR/PATH
 *   3. the build-id cache               the build-id cache
 *   4. the recorded PATH                .gnu_debuglink next to PATH (same directory, .debug/)
 *   5. /usr/lib/debug/.build-id/xx/yyyy /usr/lib/debug/.build-id/xx/yyyy.debug,
 *                                       /usr/lib/debug/DIR-OF-PATH/DEBUGLINK
 *   6. debuginfod servers (DEBUGINFOD_URLS), executable or debuginfo
 *
 * The files found in an archive are extracted into memory (memfd) when first
 * asked for; all others are used in place.
 */
#ifndef MEMPROF_ELF_LOOKUP_H
#define MEMPROF_ELF_LOOKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "format/archive.h"
#include "format/mpf.h"

enum lookup_source {
	LOOKUP_NONE = 0,	/* not found */
	LOOKUP_ARCHIVE,
	LOOKUP_SYMFS,
	LOOKUP_CACHE,
	LOOKUP_PATH,		/* at the recorded path, or next to it by .gnu_debuglink */
	LOOKUP_DEBUG_DIR,	/* /usr/lib/debug */
	LOOKUP_DEBUGINFOD,
	LOOKUP_SELF,		/* debug info: the ELF file holds its own */
};

/*
 * What asking debuginfod servers takes, for the command to show: a query
 * still waiting after LOOKUP_SLOW_MS (once a query), and the servers given
 * up on.  They are asked once per build-id and kind, and not at all
 * once a query failed other than by "not found" (no answer within
 * DEBUGINFOD_TIMEOUT, refused, unreachable): a server that never answers
 * costs one timeout for the whole report, not one per file.
 */
enum lookup_note_kind {
	LOOKUP_NOTE_WAITING,	/* path, kind, ms: still waiting for an answer */
	LOOKUP_NOTE_GAVE_UP,	/* path, kind, err, ms: the servers failed; not asked again */
};

struct lookup_note {
	enum lookup_note_kind kind;
	const char *path;		/* as the trace recorded it */
	enum mpf_archive_kind file;	/* ELF file or debug info */
	int err;			/* -errno */
	uint64_t ms;			/* since the query began */
};

#define LOOKUP_SLOW_MS 1000

struct lookup_opts {
	struct mpf_archive *archive;	/* NULL: none; still the caller's */
	const char *symfs;		/* NULL: none */
	const char *cache_dir;		/* NULL: no build-id cache */
	const char *debug_dir;		/* NULL: /usr/lib/debug */
	bool no_debuginfod;		/* never ask servers, whatever DEBUGINFOD_URLS says */
	bool find_none;			/* open nothing, find nothing (the fuzz target's) */
	void (*note)(void *ctx, const struct lookup_note *n);	/* may be NULL */
	void *note_ctx;
};

/* What a search found, and what the recorded path held when it was no match. */
struct lookup_result {
	int fd;				/* -1: not found; else the caller's to close */
	enum lookup_source source;
	char *path;			/* malloc'd: where it was found, for messages */
	int path_err;			/* the recorded path could not be opened: errno */
	bool path_mismatch;		/* the recorded path is a file with another build-id */
	uint32_t path_build_id_len;	/* ... this one (0: it has none) */
	uint8_t path_build_id[MPF_BUILD_ID_MAX];
	const char *path_reason;	/* the recorded path is unusable: "not an ELF file" ... */
	bool archive_damaged;		/* the archive's copy failed its checks */
};

struct lookup;

struct lookup *lookup__new(const struct lookup_opts *opts);
void lookup__delete(struct lookup *l);

/*
 * Finds the ELF file with this build-id that the trace recorded at path.
 * 0 (found or not: res->fd says) or -ENOMEM; res is released with
 * lookup_result__release().  A file without a build-id in the trace can
 * only be the file at path (or under --symfs) without one either.
 */
int lookup__elf(struct lookup *l, const char *path, const uint8_t *build_id,
		uint32_t build_id_len, struct lookup_result *res);
/*
 * Finds the separate debug info of the ELF with this build-id recorded at
 * path, whose .gnu_debuglink names debuglink (NULL: none).
 */
int lookup__debug(struct lookup *l, const char *path, const char *debuglink,
		  const uint8_t *build_id, uint32_t build_id_len, struct lookup_result *res);
void lookup_result__release(struct lookup_result *res);

/* A file of the trace and its debug info, found one after the other. */
struct lookup_pair {
	struct lookup_result elf;	/* elf.fd -1: not found; debug was not looked for */
	struct lookup_result debug;	/* debug.fd -1: none found, or not needed */
	bool self;			/* the ELF file holds its own DWARF: no debug looked for */
};
/*
 * Finds the ELF file as lookup__elf, then, when it has no DWARF of its own,
 * its separate debug info as lookup__debug (with the file's .gnu_debuglink).
 * 0 or -ENOMEM; p is released with lookup_pair__release() either way.
 */
int lookup__elf_and_debug(struct lookup *l, const char *path, const uint8_t *build_id,
			  uint32_t build_id_len, struct lookup_pair *p);
void lookup_pair__release(struct lookup_pair *p);

/*
 * After the servers were given up on (LOOKUP_NOTE_GAVE_UP): their error, and
 * the queries not made since; 0 while they answer.
 */
int lookup__debuginfod_failed(const struct lookup *l, unsigned int *skipped);

/* "archive", "symfs", "cache", "path", "debug-dir", "debuginfod", "self", "none". */
const char *lookup_source_name(enum lookup_source src);
/* The places searched, for a message: "the archive, the build-id cache, ... and debuginfod". */
const char *lookup__places(const struct lookup *l);

/* Names the kernel gives mappings that are no file to look for: [vdso], /memfd:..., /dev/... */
bool lookup_path_is_pseudo(const char *path);
/*
 * What an open ELF file says of its debug info: whether it holds DWARF, and
 * the file name its .gnu_debuglink gives (NULL when none; malloc'd).  Also
 * whether it holds code, as a file that was mapped does and a separate debug
 * info file does not.  false when fd is not an ELF file.
 */
bool lookup_debug_info(int fd, bool *has_code, bool *has_dwarf, char **debuglink);

#endif
