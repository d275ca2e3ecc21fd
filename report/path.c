/* Sites as paths of names (report/path.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/array.h"
#include "lib/strtab.h"
#include "lib/text.h"
#include "model/model.h"
#include "report/path.h"
#include "symbols/symbolize.h"

static const char *const key_names[PATH_KEY__MAX] = {
	[PATH_KEY_PROCESS] = "process", [PATH_KEY_COMM] = "comm", [PATH_KEY_THREAD] = "thread",
	[PATH_KEY_FILE] = "file",	[PATH_KEY_FUNCTION] = "function",
};

int path_key_parse(const char *s)
{
	static const struct {
		const char *name;
		enum path_key key;
	} perf[] = {
		{ "pid", PATH_KEY_PROCESS }, { "tid", PATH_KEY_THREAD },
		{ "dso", PATH_KEY_FILE },    { "sym", PATH_KEY_FUNCTION },
	};

	for (int k = 0; k < PATH_KEY__MAX; k++)
		if (!strcmp(s, key_names[k]))
			return k;
	for (size_t i = 0; i < sizeof(perf) / sizeof(perf[0]); i++)
		if (!strcmp(s, perf[i].name))
			return perf[i].key;
	return -1;
}

const char *path_key_name(enum path_key k)
{
	return k < PATH_KEY__MAX ? key_names[k] : "?";
}

/* Notes where name came from, the first time it is seen. */
static int frame_note(struct paths *p, uint32_t name, enum path_category cat,
		      uint32_t executable, uint64_t offset)
{
	struct path_frames *fr = p->frames;
	int err;

	if (!fr || hmap__find(&fr->by_name, name, 0))
		return 0;
	err = ARRAY_RESERVE(fr->v, fr->cap, fr->nr + 1);
	if (!err)
		err = hmap__set(&fr->by_name, name, 0, fr->nr);
	if (err)
		return err;
	fr->v[fr->nr++] = (struct path_frame){
		.executable = executable, .offset = offset, .category = cat
	};
	return 0;
}

int paths__init(struct paths *p, struct model *m, struct symbolizer *sym, struct strtab *names,
		unsigned int flags, struct path_frames *frames)
{
	*p = (struct paths){ .m = m, .sym = sym, .names = names, .flags = flags, .frames = frames };
	if (strtab__intern_id(names, "[unknown]", &p->unknown) ||
	    strtab__intern_id(names, "[incomplete]", &p->truncated) ||
	    strtab__intern_id(names, "[other]", &p->other) ||
	    strtab__intern_id(names, "[kernel]", &p->kernel) ||
	    frame_note(p, p->unknown, PATH_CAT_UNKNOWN, UINT32_MAX, 0) ||
	    frame_note(p, p->truncated, PATH_CAT_UNKNOWN, UINT32_MAX, 0) ||
	    frame_note(p, p->other, PATH_CAT_OTHER, UINT32_MAX, 0) ||
	    frame_note(p, p->kernel, PATH_CAT_KERNEL, UINT32_MAX, 0))
		return -ENOMEM;
	return 0;
}

/* The file and offset of the frame at ip, then frame_note for each of its names. */
static int frame_note_ip(struct paths *p, uint32_t image, uint64_t ip, const uint32_t *names,
			 int n)
{
	const struct model_map *map;
	const struct model_file *mf = NULL;
	enum path_category cat = PATH_CAT_UNKNOWN;
	uint32_t exe = UINT32_MAX;
	uint64_t off = ip;
	int err;

	if (!p->frames)
		return 0;
	map = model__find_map(p->m, image, ip);
	if (map && map->file_id)
		mf = model__file(p->m, map->file_id);
	if (mf) {
		const char *base = strrchr(mf->path, '/'), *so;
		char buf[MPF_PATH_MAX + 1];

		base = base && base[1] ? base + 1 : mf->path;
		snprintf(buf, sizeof(buf), "%s", base);
		make_printable(buf);
		err = strtab__intern_id(p->names, buf, &exe);
		if (err)
			return err;
		off = map->pgoff + (ip - map->start);
		so = strstr(buf, ".so");
		cat = so && (!strcmp(so, ".so") || !strncmp(so, ".so.", 4)) ? PATH_CAT_LIBRARY
									     : PATH_CAT_EXECUTABLE;
	}
	for (int i = 0; i < n; i++) {
		bool unknown = !strncmp(strtab__str(p->names, names[i]), "[unknown]", 9);

		err = frame_note(p, names[i], unknown ? PATH_CAT_UNKNOWN : cat, exe, off);
		if (err)
			return err;
	}
	return 0;
}

/* name, made printable, as a path name noted as cat. */
static int intern_name(struct paths *p, char *buf, enum path_category cat, uint32_t *name)
{
	int err;

	make_printable(buf);
	err = strtab__intern_id(p->names, buf, name);
	return err ? err : frame_note(p, *name, cat, UINT32_MAX, 0);
}

/* "comm [pid]", or "comm" alone (folded stacks and diffs merge runs of a program). */
static int process_name(struct paths *p, uint32_t image, bool pid, uint32_t *name)
{
	const char *comm = model__comm(p->m, image);
	char buf[MPF_COMM_LEN + 32];

	if (!comm)
		comm = "[unknown]";
	if (pid)
		snprintf(buf, sizeof(buf), "%s [%" PRIu32 "]", comm, model__pid(p->m, image));
	else
		snprintf(buf, sizeof(buf), "%s", comm);
	return intern_name(p, buf, PATH_CAT_PROCESS, name);
}

/* "name [tid]": the thread's own name, else its process's. */
static int thread_name(struct paths *p, uint32_t image, uint32_t tid, uint32_t *name)
{
	const char *comm = model__thread_comm(p->m, tid);
	char buf[MPF_COMM_LEN + 32];

	if (!comm)
		comm = model__comm(p->m, image);
	snprintf(buf, sizeof(buf), "%s [%" PRIu32 "]", comm ? comm : "[unknown]",
		 tid ? tid : model__pid(p->m, image));
	return intern_name(p, buf, PATH_CAT_PROCESS, name);
}

/* The file of the stack's innermost frame, "[unknown]" when none names it. */
static int file_key(struct paths *p, uint32_t image, const struct model_stack *st, bool kernel,
		    uint32_t *name)
{
	const struct model_map *map = NULL;
	const struct model_file *f = NULL;
	char buf[MPF_PATH_MAX + 1];
	const char *base;

	if (kernel && !st->nr) {
		*name = p->kernel;
		return 0;
	}
	if (st->nr && image != MODEL_IMAGE_NONE)
		map = model__find_map(p->m, image, st->ips[0]);
	if (map && map->file_id)
		f = model__file(p->m, map->file_id);
	if (!f) {
		*name = p->unknown;
		return 0;
	}
	base = strrchr(f->path, '/');
	snprintf(buf, sizeof(buf), "%s", base && base[1] ? base + 1 : f->path);
	return intern_name(p, buf, PATH_CAT_EXECUTABLE, name);
}

static int build_path(struct paths *p, uint32_t image, uint32_t tid, uint32_t stack, bool kernel,
		      uint32_t *path, size_t *n)
{
	/* Innermost first here; room for the process after the frames. */
	const size_t max = 2 * MPF_STACK_MAX;
	uint32_t frames[PATH_MAX_NAMES];
	bool frames_only = p->flags & PATH_FRAMES_ONLY;
	struct model_stack st;
	size_t nf = 0;
	uint32_t proc;
	int err, got;

	model__image_stack(p->m, image, stack, &st);
	if (kernel)
		frames[nf++] = p->kernel;
	for (uint32_t i = 0; image != MODEL_IMAGE_NONE && i < st.nr && nf < max; i++) {
		bool exact = i == 0 && (st.flags & MPF_STACK_FIRST_IS_IP);

		got = symbolizer__frames(p->sym, image, st.ips[i], exact, &frames[nf],
					 (int)(max - nf));
		if (got < 0)
			return got;
		for (int j = 0; j < got; j++) {
			err = strtab__printable(p->names, &frames[nf + j]);
			if (err)
				return err;
		}
		err = frame_note_ip(p, image, st.ips[i], &frames[nf], got);
		if (err)
			return err;
		nf += got;
	}
	/* A site needs a name; an event without a stack (a free) has none. */
	if (st.flags & MPF_STACK_TRUNCATED)
		frames[nf++] = p->truncated;
	else if (nf == kernel && (st.nr || !frames_only))
		frames[nf++] = p->unknown;

	*n = 0;
	if (frames_only) {
		for (size_t i = 0; i < nf; i++)
			path[(*n)++] = frames[i];
		return 0;
	}
	for (unsigned int k = 0; k < p->nkeys; k++) {
		uint32_t name = p->unknown;

		switch (p->keys[k]) {
		case PATH_KEY_PROCESS:
		case PATH_KEY_COMM:
			err = process_name(p, image, p->keys[k] == PATH_KEY_PROCESS, &name);
			break;
		case PATH_KEY_THREAD:
			err = thread_name(p, image, tid, &name);
			break;
		case PATH_KEY_FILE:
			err = file_key(p, image, &st, kernel, &name);
			break;
		default:
			/* The innermost function: below [kernel], the one that caused it. */
			err = 0;
			name = nf > (size_t)kernel ? frames[kernel] : frames[0];
			break;
		}
		if (err)
			return err;
		path[(*n)++] = name;
	}
	if (p->flags & PATH_REVERSE) {
		for (size_t i = 0; i < nf; i++)
			path[(*n)++] = frames[i];
	} else if (!p->nkeys) {
		err = process_name(p, image, p->flags & PATH_PID, &proc);
		if (err)
			return err;
		path[(*n)++] = proc;
	}
	if (p->flags & PATH_REVERSE) {
		if (!p->nkeys) {
			err = process_name(p, image, p->flags & PATH_PID, &proc);
			if (err)
				return err;
			path[(*n)++] = proc;
		}
	} else {
		for (size_t i = nf; i-- > 0;)
			path[(*n)++] = frames[i];
	}
	return 0;
}

int paths__site(struct paths *p, const struct model_site *site, uint32_t *path, size_t *n)
{
	return build_path(p, site->image, site->tid, site->stack, site->kernel, path, n);
}

int paths__stack(struct paths *p, uint32_t image, uint32_t tid, uint32_t stack, bool kernel,
		 uint32_t *path, size_t *n)
{
	return build_path(p, image, tid, stack, kernel, path, n);
}

const struct path_frame *path_frames__find(const struct path_frames *f, uint32_t name)
{
	const uint64_t *i = f ? hmap__find(&f->by_name, name, 0) : NULL;

	return i ? &f->v[*i] : NULL;
}

void path_frames__free(struct path_frames *f)
{
	hmap__free(&f->by_name);
	free(f->v);
	*f = (struct path_frames){ 0 };
}
