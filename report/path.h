/*
 * Allocation sites as paths of names: the one place a site's process image
 * and stack become what the trees, the event lists and the diffs show.  A
 * stack's frames are symbolized (each address may stand for several frames:
 * the functions inlined there), made printable, and framed by the names every
 * path may use: [kernel] under pages the kernel took for itself, [unknown]
 * for a stack with no frame, [incomplete] above a stack the unwinding did not
 * finish.
 */
#ifndef MEMPROF_REPORT_PATH_H
#define MEMPROF_REPORT_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "format/mpf.h"
#include "lib/hashmap.h"

struct model;
struct model_site;
struct path_memo;
struct strtab;
struct symbolizer;
struct tree;

/* Levels --sort may put above the stack. */
#define PATH_KEYS_MAX 8
/* Frames in one path: a stack's, the functions inlined in them, the process, the keys. */
#define PATH_MAX_NAMES (2 * MPF_STACK_MAX + 4 + PATH_KEYS_MAX)

enum path_flags {
	PATH_REVERSE = 1,	/* frames innermost first, the process last */
	PATH_PID = 2,		/* the process as "comm [pid]", else "comm" */
	PATH_FRAMES_ONLY = 4,	/* no process; frames innermost first; an empty stack is empty */
};

/*
 * report --sort: the levels above the stack, in order, each naming what its
 * sites share.  With keys, the process is a level only where a key says so.
 */
enum path_key {
	PATH_KEY_PROCESS,	/* "comm [pid]" (perf's pid) */
	PATH_KEY_COMM,		/* the process's name alone (perf's comm) */
	PATH_KEY_THREAD,	/* "thread-name [tid]" (perf's tid) */
	PATH_KEY_FILE,		/* the file of the innermost frame (perf's dso) */
	PATH_KEY_FUNCTION,	/* the innermost function (perf's sym) */
	PATH_KEY__MAX,
};

/* "process", "comm", "thread", "file", "function"; perf's pid, tid, dso, sym too. */
int path_key_parse(const char *s);
const char *path_key_name(enum path_key k);

/* What a name of a path stands for, for the formats that say it (json). */
enum path_category {
	PATH_CAT_UNKNOWN,	/* [unknown], [incomplete], or a frame no file names */
	PATH_CAT_PROCESS,	/* the process node */
	PATH_CAT_EXECUTABLE,	/* a function in a file that is not a shared object */
	PATH_CAT_LIBRARY,	/* a function in a shared object (NAME.so, NAME.so.N) */
	PATH_CAT_KERNEL,	/* [kernel] */
	PATH_CAT_OTHER,		/* [other]: folded siblings */
};

/* Where a name came from: the first frame seen with it. */
struct path_frame {
	uint32_t executable;	/* strtab id of the file's basename, UINT32_MAX: none */
	uint64_t offset;	/* the frame's offset in that file, else its address */
	enum path_category category;
};

/* Frames by name id, for the formats that say where a name came from. */
struct path_frames {
	struct hmap by_name;	/* (name, 0) -> index in v */
	struct path_frame *v;
	size_t nr, cap;
};

struct paths {
	struct model *m;
	struct symbolizer *sym;
	struct strtab *names;
	unsigned int flags;		/* enum path_flags */
	struct path_frames *frames;	/* NULL, or where each name's first frame is noted */
	/* The names every path may use, interned by paths__init. */
	uint32_t unknown, truncated, other, kernel;
	/* --sort: the levels above the stack; none: the process, as flags say. */
	enum path_key keys[PATH_KEYS_MAX];
	unsigned int nkeys;
	/* What paths__init's paths remember: each frame's names, each stack's node. */
	struct path_memo *memo;
};

/* Interns the names every path may use; 0 or -ENOMEM.  paths__release() frees what it keeps. */
int paths__init(struct paths *p, struct model *m, struct symbolizer *sym, struct strtab *names,
		unsigned int flags, struct path_frames *frames);
void paths__release(struct paths *p);
/*
 * The path of a site (process image, thread, model stack, and whether the
 * kernel took the pages for itself) into path (room for PATH_MAX_NAMES): the
 * keys' levels, or else the process, then the frames outermost first, unless
 * flags say otherwise.  0 or -ENOMEM.
 */
int paths__site(struct paths *p, const struct model_site *site, uint32_t *path, size_t *n);
/*
 * The node of t that the site's path ends at, made with the nodes before it
 * where new, into *node: what tree__add() of paths__site()'s path would
 * reach, but each stack's node remembered (by the stack tree's node), so that
 * a site costs a lookup where its outer frames were seen before.  1 when
 * done, 0 when these paths are not made this way (reversed, keyed by file or
 * function, noting frames, or too long: use paths__site()), or -ENOMEM.
 */
int paths__site_node(struct paths *p, struct tree *t, const struct model_site *site,
		     uint32_t *node);
/* The same for an event not yet a site (script): its image, thread, stack. */
int paths__stack(struct paths *p, uint32_t image, uint32_t tid, uint32_t stack, bool kernel,
		 uint32_t *path, size_t *n);
/*
 * The pieces of a path for those who make paths from the stack tree
 * themselves (report/fold.c): the names of model frame `frame` in image,
 * innermost first, and whether it is in the image's code (else a stack is
 * cut there, and it has none), valid until the next call for another image;
 * the process's name as p->flags make it; and whether a site's names are too
 * many for a path, which then leaves its outer ones out (paths__site()).
 */
int paths__frame_names(struct paths *p, uint32_t image, uint32_t frame, const uint32_t **names,
		       int *n, bool *code);
int paths__process(struct paths *p, uint32_t image, uint32_t *name);
int paths__too_long(struct paths *p, const struct model_site *site, bool *too_long);
/* The frame noted for name, NULL when none. */
const struct path_frame *path_frames__find(const struct path_frames *f, uint32_t name);
void path_frames__free(struct path_frames *f);

#endif
