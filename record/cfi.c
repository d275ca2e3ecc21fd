/*
 * -g cfi, record's half: the unwind tables of the files the targets map, in
 * the kernel side's maps (bpf/memprof.h).  Each ELF file's table is compiled
 * once (record/cfi-build.c), appended to the rows and page index that record
 * mmaps, and named by device and inode in `cfi_files`, where the kernel side
 * finds it for the mappings it adds itself at exec and mmap.  Each target's
 * executable mappings are rewritten in `cfi_procs`, whole and sorted, when
 * record learns of a change from /proc/PID/maps.
 *
 * The rows and pages are bounded by the maps' sizes: a file that does not fit
 * gets no table, and its frames fall back to the frame-pointer rule.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "elf/segments.h"
#include "lib/array.h"
#include "lib/hashmap.h"
#include "record/record.h"

/* A file's table, or why it has none. */
struct cfi_table {
	uint64_t ino, dev;	/* the key: st_ino, st_dev (ino 0, dev 0: the vDSO) */
	bool ok;
	struct mp_cfi_file f;
	struct elf_segments segs;	/* for the bias of each mapping */
};

struct cfi {
	int rows_fd, pages_fd, files_fd, procs_fd;
	struct mp_cfi_row *rows;	/* mmapped cfi_rows */
	uint64_t *pages;		/* mmapped cfi_pages */
	uint32_t rows_cap, pages_cap;
	struct hashmap tables;		/* of struct cfi_table, by (ino, dev) */
	struct mp_cfi_proc *proc;	/* a value being built */
	__u32 *gen;			/* the kernel side's cfi_gen */
	struct cfi_stats st;
};

static size_t mapped_size(uint32_t entries, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return ((size_t)entries * size + page - 1) / page * page;
}

int cfi__new(struct cfi **out, int rows_fd, int pages_fd, int files_fd, int procs_fd,
	     __u32 *gen, uint32_t rows_cap, uint32_t pages_cap)
{
	struct cfi *c = calloc(1, sizeof(*c));
	int err = -ENOMEM;

	if (!c)
		return -ENOMEM;
	c->rows_fd = rows_fd;
	c->pages_fd = pages_fd;
	c->files_fd = files_fd;
	c->procs_fd = procs_fd;
	c->gen = gen;
	c->rows_cap = rows_cap;
	c->pages_cap = pages_cap;
	c->tables = HASHMAP_INIT(struct cfi_table, 16);
	c->proc = calloc(1, sizeof(*c->proc));
	c->rows = mmap(NULL, mapped_size(rows_cap, sizeof(*c->rows)), PROT_READ | PROT_WRITE,
		       MAP_SHARED, rows_fd, 0);
	c->pages = mmap(NULL, mapped_size(pages_cap, sizeof(*c->pages)), PROT_READ | PROT_WRITE,
			MAP_SHARED, pages_fd, 0);
	if (c->rows == MAP_FAILED || c->pages == MAP_FAILED) {
		err = -errno;
		c->rows = c->rows == MAP_FAILED ? NULL : c->rows;
		c->pages = c->pages == MAP_FAILED ? NULL : c->pages;
	} else if (c->proc) {
		*out = c;
		return 0;
	}
	cfi__free(c);
	return err;
}

void cfi__free(struct cfi *c)
{
	struct cfi_table *t;
	size_t pos = 0;

	if (!c)
		return;
	while ((t = hashmap__next(&c->tables, &pos)))
		elf_segments__free(&t->segs);
	hashmap__free(&c->tables);
	if (c->rows)
		munmap(c->rows, mapped_size(c->rows_cap, sizeof(*c->rows)));
	if (c->pages)
		munmap(c->pages, mapped_size(c->pages_cap, sizeof(*c->pages)));
	free(c->proc);
	free(c);
}

void cfi__stats(const struct cfi *c, struct cfi_stats *st)
{
	*st = c->st;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

/* The kernel's dev_t (major << 20 | minor) of a user-space one, as the kernel side keys files. */
static uint32_t kernel_dev(uint64_t dev)
{
	return major(dev) << 20 | minor(dev);
}

/*
 * Appends t's rows and page index to the shared arrays: for each KiB of text,
 * the first and last rows that can hold an address in it.
 */
static int cfi__append(struct cfi *c, struct cfi_table *t, const struct cfi_rows *r)
{
	uint32_t plo = r->rows[0].pc >> MP_CFI_PAGE_SHIFT;
	uint32_t npages = (r->rows[r->n - 1].pc >> MP_CFI_PAGE_SHIFT) - plo + 1;
	size_t row = 0;

	if (r->n > c->rows_cap - c->st.rows || npages > c->pages_cap - c->st.pages)
		return -ENOSPC;
	memcpy(c->rows + c->st.rows, r->rows, r->n * sizeof(*r->rows));
	for (uint32_t k = 0; k < npages; k++) {
		uint64_t start = (uint64_t)(plo + k) << MP_CFI_PAGE_SHIFT;
		uint64_t next = start + (1u << MP_CFI_PAGE_SHIFT);
		size_t lo, hi;

		while (row + 1 < r->n && r->rows[row + 1].pc <= start)
			row++;
		lo = row;
		for (hi = lo; hi + 1 < r->n && r->rows[hi + 1].pc < next; hi++)
			;
		c->pages[c->st.pages + k] = (uint64_t)hi << 32 | lo;
	}
	t->f = (struct mp_cfi_file){
		.first = (uint32_t)c->st.rows,
		.count = (uint32_t)r->n,
		.pfirst = (uint32_t)c->st.pages,
		.plo = plo,
		.npages = npages,
	};
	c->st.rows += r->n;
	c->st.pages += npages;
	return 0;
}

/* Compiles the table of elf into t, its segments too; a file without CFI has none. */
static int cfi__build(struct cfi *c, struct cfi_table *t, Elf *elf)
{
	const struct elf_segment *text;
	struct cfi_rows r;
	uint64_t t0 = now_us();
	int err;

	err = elf_segments__load(&t->segs, elf);
	text = err ? NULL : elf_segments__text(&t->segs);
	if (!text)
		return err ? err : -ENOEXEC;
	err = cfi_build(elf, &r);
	if (err)
		return err;
	if (!r.n) {
		free(r.rows);
		return -ENOENT;
	}
	err = cfi__append(c, t, &r);
	free(r.rows);
	if (err)
		return err;
	t->f.text_vaddr = text->vaddr;
	t->f.text_memsz = text->memsz;
	t->f.text_offset = text->offset;
	c->st.build_us += now_us() - t0;
	return 0;
}

/* Hands t's table to the kernel side, by device and inode. */
static void cfi__publish(struct cfi *c, const struct cfi_table *t)
{
	struct mp_cfi_key key = { .ino = t->ino, .dev = t->ino ? kernel_dev(t->dev) : 0 };

	bpf_map_update_elem(c->files_fd, &key, &t->f, BPF_ANY);
}

/*
 * The table of file (ino, dev), compiled the first time from what open gives
 * (an Elf of the file, released by the caller); NULL when it has none.
 */
static const struct cfi_table *cfi__table(struct cfi *c, uint64_t ino, uint64_t dev,
					  Elf *(*open)(void *ctx), void *ctx)
{
	const uint64_t key[2] = { ino, dev };
	struct cfi_table *t;
	bool added;
	Elf *elf;
	int err;

	t = hashmap__insert(&c->tables, key, &added);
	if (!t)
		return NULL;
	if (!added)
		return t->ok ? t : NULL;
	elf = open(ctx);
	err = elf ? cfi__build(c, t, elf) : -ENOENT;
	if (elf)
		elf_end(elf);
	if (err) {
		elf_segments__free(&t->segs);
		c->st.files_without++;
		if (err == -ENOSPC)
			c->st.files_full++;
		return NULL;
	}
	t->ok = true;
	c->st.files++;
	cfi__publish(c, t);
	return t;
}

struct open_path {
	const char *path;
	int fd;
};

static Elf *open_by_path(void *ctx)
{
	struct open_path *o = ctx;

	o->fd = open(o->path, O_RDONLY | O_CLOEXEC);
	return o->fd < 0 ? NULL : elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
}

int cfi__add_file(struct cfi *c, const char *path)
{
	struct open_path o = { .path = path, .fd = -1 };
	struct stat st;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return -ENOENT;
	cfi__table(c, st.st_ino, st.st_dev, open_by_path, &o);
	if (o.fd >= 0)
		close(o.fd);
	return 0;
}

/* The vDSO is one image for every process on a boot: record's own, from memory. */
static Elf *open_vdso(void *ctx)
{
	uint64_t base = getauxval(AT_SYSINFO_EHDR), start, end;
	char line[256];
	Elf *elf = NULL;
	FILE *f;

	if (!base)
		return NULL;
	f = fopen("/proc/self/maps", "re");
	while (f && !elf && fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		    start == base)
			elf = elf_memory((char *)(uintptr_t)base, end - start);
	if (f)
		fclose(f);
	return elf;
}

int cfi__add_vdso(struct cfi *c)
{
	return cfi__table(c, 0, 0, open_vdso, NULL) ? 0 : -ENOENT;
}

/* ---- the files a program will map: its interpreter and its DT_NEEDED, as ld.so finds them ---- */

#define NEEDED_MAX 64

struct needed {
	char *paths[NEEDED_MAX];
	size_t n;
};

static bool needed_has(const struct needed *nd, const char *path)
{
	for (size_t i = 0; i < nd->n; i++)
		if (!strcmp(nd->paths[i], path))
			return true;
	return false;
}

static void needed_add(struct needed *nd, const char *path)
{
	if (nd->n < NEEDED_MAX && !needed_has(nd, path))
		nd->paths[nd->n] = strdup(path), nd->n += nd->paths[nd->n] != NULL;
}

/* The library name in the directories of search (':'-separated, $ORIGIN as origin). */
static bool find_library(const char *name, const char *search, const char *origin, char *out,
			 size_t size)
{
	const char *p = search;

	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char dir[1024];

		if (len && len < sizeof(dir)) {
			memcpy(dir, p, len);
			dir[len] = '\0';
			if (!strncmp(dir, "$ORIGIN", 7))
				snprintf(out, size, "%s%s/%s", origin, dir + 7, name);
			else
				snprintf(out, size, "%s/%s", dir, name);
			if (!access(out, R_OK))
				return true;
		}
		p = colon ? colon + 1 : NULL;
	}
	return false;
}

/* Adds what path needs to nd: PT_INTERP, and the DT_NEEDED libraries found. */
static void needed_of(struct needed *nd, const char *path)
{
	static const char system_dirs[] =
		"/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib:"
		"/usr/local/lib";
	char origin[1024], found[2048], runpath[1024] = "";
	const char *slash = strrchr(path, '/'), *ld_path = getenv("LD_LIBRARY_PATH");
	char *names[NEEDED_MAX];
	size_t nnames = 0, phnum;
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd;

	snprintf(origin, sizeof(origin), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	elf = fd < 0 ? NULL : elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && !elf_getphdrnum(elf, &phnum)) {
		for (size_t i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			Elf_Data *d;

			if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_INTERP)
				continue;
			d = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_BYTE);
			if (d && d->d_size && memchr(d->d_buf, 0, d->d_size))
				needed_add(nd, d->d_buf);
		}
	}
	while (elf && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / (sh.sh_entsize ? sh.sh_entsize : 1); i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(d, (int)i, &dyn))
				break;
			s = dyn.d_tag == DT_NEEDED || dyn.d_tag == DT_RUNPATH || dyn.d_tag == DT_RPATH
				    ? elf_strptr(elf, sh.sh_link, dyn.d_un.d_val)
				    : NULL;
			if (!s)
				continue;
			if (dyn.d_tag == DT_NEEDED && nnames < NEEDED_MAX)
				names[nnames++] = strdup(s);
			else if (dyn.d_tag != DT_NEEDED)
				snprintf(runpath, sizeof(runpath), "%s", s);
		}
	}
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < nnames; i++) {
		if (names[i] && (find_library(names[i], runpath, origin, found, sizeof(found)) ||
				 find_library(names[i], ld_path, origin, found, sizeof(found)) ||
				 find_library(names[i], system_dirs, origin, found, sizeof(found))) &&
		    !needed_has(nd, found)) {
			needed_add(nd, found);
			needed_of(nd, found);
		}
		free(names[i]);
	}
}

int cfi__add_program(struct cfi *c, const char *path)
{
	struct needed nd = { .n = 0 };
	int err = cfi__add_file(c, path);

	if (!err)
		needed_of(&nd, path);
	for (size_t i = 0; i < nd.n; i++) {
		cfi__add_file(c, nd.paths[i]);
		free(nd.paths[i]);
	}
	return err;
}

/* ---- each target's mappings ---- */

struct sync {
	struct cfi *c;
	struct procmaps *pm;
	pid_t pid;
	struct mp_cfi_proc *p;
	const struct procmaps_exec *e;	/* the mapping whose file open_mapped opens */
	int fd;
};

static Elf *open_mapped(void *ctx)
{
	struct sync *s = ctx;

	s->fd = procmaps__open(s->pm, s->pid, &s->e->loc);
	return s->fd < 0 ? NULL : elf_begin(s->fd, ELF_C_READ_MMAP, NULL);
}

static int sync_one(void *ctx, const struct procmaps_exec *e)
{
	struct sync *s = ctx;
	const struct cfi_table *t;
	uint64_t bias;

	if (s->p->nr >= MP_CFI_MAPS)
		return 0;
	s->e = e;
	s->fd = -1;
	if (e->ino)
		t = cfi__table(s->c, e->ino, e->dev, open_mapped, s);
	else
		t = !strcmp(e->name, "[vdso]") ? cfi__table(s->c, 0, 0, open_vdso, NULL) : NULL;
	if (s->fd >= 0)
		close(s->fd);
	if (!t)
		return 0;
	/* The vDSO's addresses start at 0: its bias is where it is. */
	if (!e->ino)
		bias = e->loc.start;
	else if (elf_segments__bias(&t->segs, e->loc.start, e->loc.offset, true, &bias))
		return 0;
	s->p->maps[s->p->nr++] = (struct mp_cfi_map){
		.start = e->loc.start,
		.end = e->loc.end,
		.bias = bias,
		.first = t->f.first,
		.count = t->f.count,
		.pfirst = t->f.pfirst,
		.plo = t->f.plo,
		.npages = t->f.npages,
	};
	return 0;
}

static int map_cmp(const void *a, const void *b)
{
	const struct mp_cfi_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int cfi__sync(struct cfi *c, struct procmaps *pm, pid_t pid)
{
	struct sync s = { .c = c, .pm = pm, .pid = pid, .p = c->proc };
	struct mp_cfi_map *m = c->proc->maps;
	__u32 key = (__u32)pid;
	size_t w = 0;
	int err;

	c->proc->nr = 0;
	err = procmaps__exec_maps(pm, pid, sync_one, &s);
	if (err)
		return err;
	/* A mapping a later one overlaps is gone (a library mapped again after dlclose). */
	for (size_t i = 0; i < c->proc->nr; i++) {
		bool hidden = false;

		for (size_t j = i + 1; j < c->proc->nr && !hidden; j++)
			hidden = m[j].start < m[i].end && m[i].start < m[j].end;
		if (!hidden)
			m[w++] = m[i];
	}
	c->proc->nr = (uint32_t)w;
	qsort(m, w, sizeof(*m), map_cmp);
	if (bpf_map_update_elem(c->procs_fd, &key, c->proc, BPF_ANY))
		return -errno;
	/* After: no walk remembered under the old mappings answers for these (struct uw_memo). */
	__atomic_fetch_add(c->gen, 1, __ATOMIC_SEQ_CST);
	c->st.syncs++;
	return 0;
}
