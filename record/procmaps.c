/*
 * Snapshots of the targets' memory maps from /proc/PID/maps, written as FILE
 * records (each file once, with the build-id read now, while the file that
 * was mapped can still be reached) and MAP records (each mapping once per
 * process, rescanned on exec and on executable mmaps).
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elf/buildid-cache.h"
#include "elf/buildid.h"
#include "elf/segments.h"
#include "record/record.h"

struct file_ent {
	uint64_t dev, ino;	/* ino 0: a pseudo file such as [vdso], keyed by name */
	char *name;
	uint32_t id;
};

struct map_ent {
	uint64_t start, end, pgoff, ino;
	uint32_t file;		/* index in procmaps.files + 1, 0: none */
	uint32_t prot;		/* MPF_PROT_* */
};

struct pid_maps {
	pid_t pid;
	pid_t tid;		/* the live thread read when the leader is a zombie, else 0 */
	size_t nr, alloc;
	struct map_ent *maps;
};

struct procmaps {
	struct mpf_writer *w;
	procmaps_file_cb cb;
	void *ctx;
	struct file_ent *files;
	size_t nr_files, alloc_files;
	struct pid_maps *pids;
	size_t nr_pids, alloc_pids;
	char *cache_dir;	/* the build-id cache, NULL: none */
};

struct procmaps *procmaps__new(struct mpf_writer *w, procmaps_file_cb cb, void *ctx,
			       bool use_cache)
{
	struct procmaps *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->w = w;
	pm->cb = cb;
	pm->ctx = ctx;
	{
		char dir[MPF_PATH_MAX];

		if (use_cache && !buildid_cache__dir(dir, sizeof(dir)))
			pm->cache_dir = strdup(dir);
	}
	return pm;
}

void procmaps__free(struct procmaps *pm)
{
	if (!pm)
		return;
	for (size_t i = 0; i < pm->nr_files; i++)
		free(pm->files[i].name);
	for (size_t i = 0; i < pm->nr_pids; i++)
		free(pm->pids[i].maps);
	free(pm->files);
	free(pm->pids);
	free(pm->cache_dir);
	free(pm);
}

static int grow(void **arr, size_t *alloc, size_t nr, size_t size)
{
	void *p;
	size_t n;

	if (nr < *alloc)
		return 0;
	n = *alloc ? *alloc * 2 : 16;
	p = realloc(*arr, n * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*alloc = n;
	return 0;
}

static struct pid_maps *pid_maps(struct procmaps *pm, pid_t pid, bool create)
{
	struct pid_maps *p;

	for (size_t i = 0; i < pm->nr_pids; i++)
		if (pm->pids[i].pid == pid)
			return &pm->pids[i];
	if (!create || grow((void **)&pm->pids, &pm->alloc_pids, pm->nr_pids, sizeof(*p)))
		return NULL;
	p = &pm->pids[pm->nr_pids++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

void procmaps__forget(struct procmaps *pm, pid_t pid, bool exited)
{
	struct pid_maps *p = pid_maps(pm, pid, false);

	if (!p)
		return;
	p->nr = 0;
	p->tid = 0;	/* an exec by another thread makes it the leader */
	/* An exited process goes for good: a fork loop must not grow this table. */
	if (exited) {
		free(p->maps);
		*p = pm->pids[--pm->nr_pids];
	}
}

/*
 * Whether m is written already, with these rights: the newest entry for its
 * range says.  A range whose rights change (a JIT compiler's pages made
 * executable) is written again, and the newest record wins in the model.
 */
static bool known_map(const struct pid_maps *p, const struct map_ent *m, uint32_t prot)
{
	for (size_t i = p->nr; i-- > 0;)
		if (p->maps[i].start == m->start && p->maps[i].end == m->end &&
		    p->maps[i].pgoff == m->pgoff && p->maps[i].ino == m->ino)
			return p->maps[i].prot == prot;
	return false;
}

/* The /proc directory of p's process that shows its memory (system__proc_dir()). */
static const char *proc_of(const struct pid_maps *p, char *buf, size_t size)
{
	system__proc_dir(p->pid, p->tid, buf, size);
	return buf;
}

/*
 * Opens the file behind a mapping as the target sees it: through the
 * target's root (its mount namespace, a container's files), checked to be
 * the mapped file; then through map_files (a file deleted or replaced since
 * it was mapped); then by path (for a process already gone).  proc is the
 * target's /proc directory: a live thread's when its leader is a zombie.
 */
static int open_mapped(const char *proc, uint64_t start, uint64_t end, const char *path,
		       char *used, size_t size, uint64_t dev, uint64_t ino)
{
	char buf[MPF_PATH_MAX + 96];
	struct stat st;
	int fd;

	snprintf(buf, sizeof(buf), "%s/root%s", proc, path);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st) && st.st_ino == ino && st.st_dev == dev) {
		snprintf(used, size, "%s", buf);
		return fd;
	}
	if (fd >= 0)
		close(fd);
	snprintf(buf, sizeof(buf), "%s/map_files/%" PRIx64 "-%" PRIx64, proc, start, end);
	fd = open(buf, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		snprintf(used, size, "%s", buf);
		return fd;
	}
	/* The process is gone: the path as we see it, if it is the same file. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !fstat(fd, &st) && st.st_ino == ino && st.st_dev == dev) {
		snprintf(used, size, "%s", path);
		return fd;
	}
	if (fd >= 0)
		close(fd);
	return -ENOENT;
}

/* Whether path, as record sees it, is the file dev:ino. */
static bool same_file(const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;

	return !stat(path, &st) && st.st_ino == ino && st.st_dev == dev;
}

static int file_id(struct procmaps *pm, const struct pid_maps *p, const struct map_ent *m,
		   uint64_t dev, const char *name, uint64_t time, uint32_t *id)
{
	struct mpf_record rec = { .type = MPF_REC_FILE, .time = time };
	char used[MPF_PATH_MAX + 96], proc[64];
	struct file_ent *f;
	int fd, n, err;

	for (size_t i = 0; i < pm->nr_files; i++) {
		f = &pm->files[i];
		if (f->ino == m->ino && f->dev == dev && (m->ino || !strcmp(f->name, name))) {
			*id = f->id;
			return 0;
		}
	}
	if (grow((void **)&pm->files, &pm->alloc_files, pm->nr_files, sizeof(*f)))
		return -ENOMEM;
	f = &pm->files[pm->nr_files];
	f->dev = dev;
	f->ino = m->ino;
	f->name = strdup(name);
	if (!f->name)
		return -ENOMEM;
	f->id = ++pm->nr_files;

	rec.file.id = f->id;
	rec.file.path = name;
	if (m->ino && name[0] == '/') {
		fd = open_mapped(proc_of(p, proc, sizeof(proc)), m->start, m->end, name, used,
				 sizeof(used), dev, m->ino);
		if (fd >= 0) {
			n = elf_fd_build_id(fd, rec.file.build_id);
			/*
			 * A file report will not find at its path (deleted, or in
			 * another mount namespace) is copied into the build-id cache
			 * while it can be read.  Best effort: report says what it
			 * misses.
			 */
			if (n > 0 && pm->cache_dir && !same_file(name, dev, m->ino))
				buildid_cache__add(pm->cache_dir, MPF_ARCHIVE_ELF,
						       rec.file.build_id, (uint32_t)n, fd);
			close(fd);
			if (n > 0) {
				rec.file.build_id_len = n;
				/* Probes by pid must name a live thread: a zombie has no mm. */
				if (pm->cb)
					pm->cb(pm->ctx, p->tid ? p->tid : p->pid, used, name);
			}
		}
	}
	err = mpf_writer__write(pm->w, &rec);
	if (err)
		return err;
	*id = f->id;
	return 0;
}

/* Writes a MAP record for m in pid (and its FILE record the first time), once. */
static int write_map(struct procmaps *pm, struct pid_maps *p, const struct map_ent *m,
		     uint64_t dev, const char *name, uint32_t prot, uint64_t time)
{
	struct mpf_record rec = { .type = MPF_REC_MAP, .time = time };
	uint32_t id = 0;
	int err;

	if (known_map(p, m, prot))
		return 0;
	if (*name) {
		err = file_id(pm, p, m, dev, name, time, &id);
		if (err)
			return err;
	}
	if (grow((void **)&p->maps, &p->alloc, p->nr, sizeof(*m)))
		return -ENOMEM;
	p->maps[p->nr] = *m;
	/* File ids are given in order from 1: the id is the index + 1. */
	p->maps[p->nr].prot = prot;
	p->maps[p->nr++].file = m->ino || id ? id : 0;
	rec.map.pid = p->pid;
	rec.map.file_id = id;
	rec.map.start = m->start;
	rec.map.end = m->end;
	rec.map.pgoff = m->pgoff;
	rec.map.prot = prot;
	return mpf_writer__write(pm->w, &rec);
}

/* Writes the mappings of the maps file f for p not written before; *lines: how many it had. */
static int scan_file(struct procmaps *pm, struct pid_maps *p, FILE *f, uint64_t time,
		     size_t *lines)
{
	char line[MPF_PATH_MAX + 256];
	int err = 0;

	*lines = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		char perms[8], *name;
		struct map_ent m;
		int pos = 0;
		size_t len;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &m.start, &m.end, perms, &m.pgoff, &maj, &min, &m.ino, &pos) < 7 || !pos)
			continue;
		(*lines)++;
		name = line + pos;
		len = strlen(name);
		while (len && (name[len - 1] == '\n' || name[len - 1] == ' '))
			name[--len] = '\0';
		if (len > 10 && !strcmp(name + len - 10, " (deleted)"))
			name[len - 10] = '\0';
		err = write_map(pm, p, &m, makedev(maj, min), name,
				(perms[0] == 'r' ? MPF_PROT_READ : 0) |
					(perms[1] == 'w' ? MPF_PROT_WRITE : 0) |
					(perms[2] == 'x' ? MPF_PROT_EXEC : 0),
				time);
		if (err)
			break;
	}
	return err;
}

int procmaps__scan(struct procmaps *pm, pid_t pid, uint64_t time)
{
	char path[96], proc[64];
	struct pid_maps *p;
	size_t lines = 0;
	pid_t tid;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	p = pid_maps(pm, pid, true);
	if (!p) {
		fclose(f);
		return -ENOMEM;
	}
	err = scan_file(pm, p, f, time, &lines);
	fclose(f);
	/*
	 * An empty maps file: the process is exiting, its mm already gone; or
	 * its main thread exited and the leader's entries are empty while
	 * another thread runs on: then that thread's are read.
	 */
	if (!err && !lines && (tid = system__live_thread(pid)) > 0 && tid != pid) {
		p->tid = tid;
		snprintf(path, sizeof(path), "%s/maps", proc_of(p, proc, sizeof(proc)));
		f = fopen(path, "re");
		if (!f)
			return -errno;
		err = scan_file(pm, p, f, time, &lines);
		fclose(f);
	}
	if (!err && !lines)
		err = -ESRCH;
	return err;
}

/*
 * The mapping of an executable's text from the bounds the kernel keeps
 * (start_code is the lowest executable segment's address plus the load bias)
 * and the file's program headers.
 */
static int text_mapping(const char *path, uint64_t start_code, struct map_ent *m)
{
	const struct elf_segment *text;
	struct elf_segments segs;
	Elf *elf;
	int fd, err = -ENOEXEC;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf_segments__load(&segs, elf)) {
		text = elf_segments__text(&segs);
		if (text && start_code >= text->vaddr) {
			uint64_t bias = start_code - text->vaddr;

			m->start = bias + (text->vaddr & ~4095ull);
			m->end = bias + ((text->vaddr + text->memsz + 4095) & ~4095ull);
			m->pgoff = text->offset & ~4095ull;
			err = 0;
		}
		elf_segments__free(&segs);
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

/* v's device as /proc and stat(2) give it (glibc's dev_t): the kernel's is major << 20 | minor. */
static uint64_t vma_dev(const struct mp_vma *v)
{
	return makedev(v->dev >> 20, v->dev & 0xfffff);
}

/*
 * Writes one mapping as the kernel side saw it when it was made.  The file is
 * one already seen (by device and inode), or else path, checked to be that file.
 */
static int add_vma(struct procmaps *pm, pid_t pid, uint64_t time, const struct mp_vma *v,
		   const char *path)
{
	uint64_t dev = vma_dev(v);
	struct map_ent m = { .start = v->start, .end = v->end, .pgoff = v->pgoff, .ino = v->ino };
	const char *name = NULL;
	struct pid_maps *p;
	struct stat st;

	if (!v->ino || v->start >= v->end)
		return 0;
	for (size_t i = 0; i < pm->nr_files && !name; i++)
		if (pm->files[i].ino == v->ino && pm->files[i].dev == dev)
			name = pm->files[i].name;
	if (!name && path && path[0] == '/' && !stat(path, &st) && st.st_ino == v->ino &&
	    st.st_dev == dev)
		name = path;
	if (!name)
		return -ENOENT;
	if (v->pgoff == MP_PGOFF_UNKNOWN && text_mapping(name, v->start, &m))
		return -ENOEXEC;
	p = pid_maps(pm, pid, true);
	if (!p)
		return -ENOMEM;
	return write_map(pm, p, &m, dev, name, v->prot, time);
}

/*
 * The newest mapping written for pid that holds addr, or NULL.  The newest:
 * a mapping replaced since (dlclose, dlopen) is still listed.
 */
static const struct map_ent *newest_at(struct procmaps *pm, pid_t pid, uint64_t addr)
{
	const struct pid_maps *p = pid_maps(pm, pid, false);

	for (size_t i = p ? p->nr : 0; i-- > 0;)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			return &p->maps[i];
	return NULL;
}

/* Whether the newest mapping written for pid at v's start is v's file, executable. */
static bool shows_vma(struct procmaps *pm, pid_t pid, const struct mp_vma *v)
{
	const struct map_ent *m = newest_at(pm, pid, v->start);

	return m && m->ino == v->ino && (m->prot & MPF_PROT_EXEC) && m->file &&
	       m->file <= pm->nr_files && pm->files[m->file - 1].dev == vma_dev(v);
}

int procmaps__scan_for(struct procmaps *pm, pid_t pid, uint64_t time, const struct mp_vma *v,
		       const char *path)
{
	/*
	 * The maps file of a process that exits while it is read ends early,
	 * and reads as a whole one: the scan has to show v, or v is written.
	 */
	if (!procmaps__scan(pm, pid, time) && shows_vma(pm, pid, v))
		return 0;
	return add_vma(pm, pid, time, v, path);
}

void procmaps__inherit(struct procmaps *pm, pid_t parent, pid_t child)
{
	struct pid_maps *pp = pid_maps(pm, parent, false), *c;
	size_t i;

	if (!pp || !pp->nr)
		return;
	i = (size_t)(pp - pm->pids);
	c = pid_maps(pm, child, true);
	if (!c || c->nr)
		return;
	pp = &pm->pids[i];	/* pid_maps() may have moved the table */
	if (c->alloc < pp->nr) {
		struct map_ent *v = realloc(c->maps, pp->nr * sizeof(*v));

		if (!v)
			return;
		c->maps = v;
		c->alloc = pp->nr;
	}
	memcpy(c->maps, pp->maps, pp->nr * sizeof(*c->maps));
	c->nr = pp->nr;
}

int procmaps__locate(struct procmaps *pm, pid_t pid, uint64_t addr, struct procmaps_loc *loc)
{
	const struct map_ent *m = newest_at(pm, pid, addr);

	if (!m || !m->file || m->file > pm->nr_files)
		return -ENOENT;
	loc->file = m->file - 1;
	loc->offset = m->pgoff + (addr - m->start);
	loc->start = m->start;
	loc->end = m->end;
	return 0;
}

int procmaps__open(struct procmaps *pm, pid_t pid, const struct procmaps_loc *loc)
{
	const struct pid_maps *p = pid_maps(pm, pid, false);
	char used[MPF_PATH_MAX + 96], proc[64];
	const struct file_ent *f;

	if (loc->file >= pm->nr_files)
		return -ENOENT;
	f = &pm->files[loc->file];
	if (!f->ino || f->name[0] != '/')
		return -ENOENT;
	system__proc_dir(pid, p ? p->tid : 0, proc, sizeof(proc));
	return open_mapped(proc, loc->start, loc->end, f->name, used, sizeof(used), f->dev,
			   f->ino);
}

int procmaps__exec_maps(struct procmaps *pm, pid_t pid,
			int (*fn)(void *ctx, const struct procmaps_exec *e), void *ctx)
{
	const struct pid_maps *p = pid_maps(pm, pid, false);
	int err;

	for (size_t i = 0; p && i < p->nr; i++) {
		const struct map_ent *m = &p->maps[i];
		const struct file_ent *f;
		struct procmaps_exec e;

		if (!(m->prot & MPF_PROT_EXEC) || !m->file || m->file > pm->nr_files)
			continue;
		f = &pm->files[m->file - 1];
		e = (struct procmaps_exec){
			.loc = { .file = m->file - 1, .offset = m->pgoff, .start = m->start, .end = m->end },
			.dev = f->dev,
			.ino = f->ino,
			.name = f->name,
		};
		err = fn(ctx, &e);
		if (err)
			return err;
	}
	return 0;
}
