/*
 * Offline symbolization with libdwfl.  A frame address in a process image
 * goes: mapping (from the trace) -> file and file offset -> ELF virtual
 * address through the PT_LOAD segment holding that offset -> symbol.  Each
 * file is opened once, read-only, at the path the trace recorded, and used
 * only if its build-id is the recorded one: a rebuilt or upgraded file would
 * give wrong names, which is worse than none.
 *
 * Each file gets its own Dwfl holding one module at its link-time addresses
 * (base 0), so ELF virtual addresses are looked up as they are, and two
 * non-PIE executables never collide.  libdwfl falls back from .symtab to
 * .dynsym and finds separate debuginfo by build-id or debuglink; DWARF is
 * asked for a function name when no ELF symbol covers the address.
 */
#include <dwarf.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/model.h"
#include "report/report.h"
#include "report/symbolize.h"
#include "report/tree.h"

/* A symbol cache value saying "no symbol here". */
#define NO_NAME UINT64_MAX

struct segment {
	uint64_t offset, filesz;	/* [offset, offset + filesz) of the file */
	uint64_t vaddr;
};

struct sym_file {
	enum sym_file_state state;
	int err;
	const char *reason;
	uint32_t build_id_len;
	uint8_t build_id[MPF_BUILD_ID_MAX];
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;		/* module address - ELF address */
	struct segment *segs;
	size_t nsegs;
};

struct symbolizer {
	struct model *m;
	struct strtab *names;
	struct sym_file *files;		/* by model file index */
	size_t nfiles;
	struct hmap cache;		/* (file index, ELF address) -> name id or NO_NAME */
};

static char *debuginfo_path;

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &debuginfo_path,
};

struct symbolizer *symbolizer__new(struct model *m, struct strtab *names)
{
	struct symbolizer *s;

	elf_version(EV_CURRENT);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	s->names = names;
	s->nfiles = model__nr_files(m);
	s->files = calloc(s->nfiles ? s->nfiles : 1, sizeof(*s->files));
	if (!s->files) {
		free(s);
		return NULL;
	}
	return s;
}

void symbolizer__delete(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++) {
		if (s->files[i].dwfl)
			dwfl_end(s->files[i].dwfl);
		free(s->files[i].segs);
	}
	free(s->files);
	hmap__free(&s->cache);
	free(s);
}

void symbolizer__file_status(const struct symbolizer *s, size_t index,
			     struct sym_file_status *st)
{
	const struct sym_file *sf;

	memset(st, 0, sizeof(*st));
	st->file = model__file_at(s->m, index);
	if (index >= s->nfiles)
		return;
	sf = &s->files[index];
	st->state = sf->state;
	st->err = sf->err;
	st->reason = sf->reason;
	st->build_id_len = sf->build_id_len;
	memcpy(st->build_id, sf->build_id, sf->build_id_len);
}

static const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Names the kernel gives mappings of things that are not files one could open. */
static bool path_is_pseudo(const char *path)
{
	return path[0] != '/' || !strncmp(path, "/memfd:", 7) || !strncmp(path, "/dev/", 5) ||
	       !strncmp(path, "/SYSV", 5);
}

static void sym_file__bad(struct sym_file *sf, const char *reason)
{
	sf->state = SYM_FILE_BAD;
	sf->reason = reason;
}

/* Reads the PT_LOAD segments: they turn file offsets into ELF addresses. */
static int sym_file__segments(struct sym_file *sf, Elf *elf)
{
	size_t phnum, cap = 0;
	int err;

	if (elf_getphdrnum(elf, &phnum))
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (!ph || ph->p_type != PT_LOAD || !ph->p_filesz)
			continue;
		err = ARRAY_RESERVE(sf->segs, cap, sf->nsegs + 1);
		if (err)
			return err;
		sf->segs[sf->nsegs++] = (struct segment){
			.offset = ph->p_offset,
			.filesz = ph->p_filesz,
			.vaddr = ph->p_vaddr,
		};
	}
	return 0;
}

/*
 * Opens the file behind mf, checks it and reports it to a Dwfl of its own.
 * Leaves sf->state saying what happened; only running out of memory is an error.
 */
static int sym_file__open(struct sym_file *sf, const struct model_file *mf)
{
	const size_t deleted_len = strlen(" (deleted)");
	const void *build_id = NULL;
	struct stat stbuf;
	Elf *elf = NULL;
	ssize_t len;
	char *path;
	size_t plen;
	int fd = -1, err = 0;

	if (path_is_pseudo(mf->path)) {
		sf->state = SYM_FILE_PSEUDO;
		return 0;
	}
	path = strdup(mf->path);
	if (!path)
		return -ENOMEM;
	/* Replaced while mapped: whatever is there now is used if the build-id still matches. */
	plen = strlen(path);
	if (plen > deleted_len && !strcmp(path + plen - deleted_len, " (deleted)"))
		path[plen - deleted_len] = '\0';

	/* O_NONBLOCK: a FIFO put at the path must not hang the report. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		sf->state = SYM_FILE_MISSING;
		sf->err = errno;
		goto out;
	}
	if (fstat(fd, &stbuf) || !S_ISREG(stbuf.st_mode)) {
		sym_file__bad(sf, "is not a regular file");
		goto out;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		sym_file__bad(sf, "is not an ELF file");
		goto out;
	}
	len = dwelf_elf_gnu_build_id(elf, &build_id);
	if (len < 0 || len > MPF_BUILD_ID_MAX)
		len = 0;
	if ((uint32_t)len != mf->build_id_len || memcmp(build_id, mf->build_id, (size_t)len)) {
		sf->state = SYM_FILE_MISMATCH;
		sf->build_id_len = (uint32_t)len;
		memcpy(sf->build_id, build_id, (size_t)len);
		goto out;
	}
	err = sym_file__segments(sf, elf);
	if (err)
		goto out;
	if (!sf->nsegs) {
		sym_file__bad(sf, "has no loadable segments");
		goto out;
	}
	elf_end(elf);
	elf = NULL;

	sf->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!sf->dwfl) {
		err = -ENOMEM;
		goto out;
	}
	dwfl_report_begin(sf->dwfl);
	/* Base 0 added to p_vaddr: module addresses are the ELF's own. */
	sf->mod = dwfl_report_elf(sf->dwfl, path_basename(path), path, fd, 0, true);
	dwfl_report_end(sf->dwfl, NULL, NULL);
	if (!sf->mod) {
		sym_file__bad(sf, dwfl_errmsg(-1));
		goto out;
	}
	fd = -1;	/* the module owns it now */
	if (!dwfl_module_getelf(sf->mod, &sf->bias)) {
		sym_file__bad(sf, dwfl_errmsg(-1));
		goto out;
	}
	sf->state = SYM_FILE_OK;
out:
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	free(path);
	if (err)
		sf->state = SYM_FILE_BAD;
	return err;
}

/* The function the DWARF puts at addr: the outermost subprogram, as an ELF symbol would be. */
static const char *dwarf_function(Dwfl_Module *mod, Dwarf_Addr addr)
{
	static const unsigned int attrs[] = {
		DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name,
	};
	Dwarf_Die *cu, *scopes = NULL;
	const char *name = NULL;
	Dwarf_Addr bias;
	int n;

	cu = dwfl_module_addrdie(mod, addr, &bias);
	if (!cu)
		return NULL;
	n = dwarf_getscopes(cu, addr - bias, &scopes);
	for (int i = 0; i < n && !name; i++) {
		if (dwarf_tag(&scopes[i]) != DW_TAG_subprogram)
			continue;
		for (size_t a = 0; a < sizeof(attrs) / sizeof(attrs[0]) && !name; a++) {
			Dwarf_Attribute attr;

			if (dwarf_attr_integrate(&scopes[i], attrs[a], &attr))
				name = dwarf_formstring(&attr);
		}
		break;
	}
	free(scopes);
	return name && *name ? name : NULL;
}

/*
 * The one place symbol names are made into what the report shows, so that
 * demangling (a later issue) goes here.
 */
static int symbolizer__name(struct symbolizer *s, const char *sym, uint32_t *name)
{
	/* libdwfl appends the symbol version ("@@GLIBC_2.34"); perf shows the bare name. */
	const char *at = strchr(sym, '@');
	char buf[256], *copy = NULL;
	int id;

	if (at && at != sym) {
		size_t len = (size_t)(at - sym);

		copy = len < sizeof(buf) ? buf : malloc(len + 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, sym, len);
		copy[len] = '\0';
		sym = copy;
	}
	id = strtab__intern(s->names, sym);
	if (copy && copy != buf)
		free(copy);
	if (id < 0)
		return id;
	*name = (uint32_t)id;
	return 0;
}

static int symbolizer__intern(struct symbolizer *s, const char *label, uint32_t *name)
{
	int id = strtab__intern(s->names, label);

	if (id < 0)
		return id;
	*name = (uint32_t)id;
	return 0;
}

static int unknown_addr(struct symbolizer *s, uint64_t ip, uint32_t *name)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "[unknown] 0x%" PRIx64, ip);
	return symbolizer__intern(s, buf, name);
}

static int unknown_offset(struct symbolizer *s, const struct model_file *mf, uint64_t off,
			  uint32_t *name)
{
	const char *base = path_basename(mf->path);
	size_t len = strlen(base) + 64;
	char stackbuf[256], *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	int err;

	if (!buf)
		return -ENOMEM;
	snprintf(buf, len, "[unknown] %s+0x%" PRIx64, base, off);
	err = symbolizer__intern(s, buf, name);
	if (buf != stackbuf)
		free(buf);
	return err;
}

int symbolizer__frame(struct symbolizer *s, uint32_t image, uint64_t ip, bool exact,
		      uint32_t *name)
{
	/* A return address follows the call: the call is what ran in the caller's function. */
	uint64_t addr = exact || !ip ? ip : ip - 1;
	const struct model_map *map = model__find_map(s->m, image, addr);
	const struct model_file *mf;
	const struct segment *seg = NULL;
	struct sym_file *sf;
	uint64_t off, shown, vaddr, *cached;
	const char *sym;
	int err;

	if (!map) {
		if (errno == ENOMEM)
			return -ENOMEM;
		return unknown_addr(s, ip, name);
	}
	mf = map->file_id ? model__file(s->m, map->file_id) : NULL;
	if (!mf || mf->index >= s->nfiles)
		return unknown_addr(s, ip, name);
	off = map->pgoff + (addr - map->start);
	shown = map->pgoff + (ip - map->start);

	sf = &s->files[mf->index];
	if (sf->state == SYM_FILE_UNUSED) {
		err = sym_file__open(sf, mf);
		if (err)
			return err;
	}
	if (sf->state != SYM_FILE_OK)
		return unknown_offset(s, mf, shown, name);

	for (size_t i = 0; i < sf->nsegs; i++) {
		if (off >= sf->segs[i].offset && off - sf->segs[i].offset < sf->segs[i].filesz) {
			seg = &sf->segs[i];
			break;
		}
	}
	if (!seg)
		return unknown_offset(s, mf, shown, name);
	vaddr = off - seg->offset + seg->vaddr;

	cached = hmap__find(&s->cache, mf->index, vaddr);
	if (cached) {
		if (*cached == NO_NAME)
			return unknown_offset(s, mf, shown, name);
		*name = (uint32_t)*cached;
		return 0;
	}

	{
		GElf_Off sym_off;
		GElf_Sym elfsym;
		GElf_Word shndx;
		Elf *elf;
		Dwarf_Addr bias;

		sym = dwfl_module_addrinfo(sf->mod, vaddr + sf->bias, &sym_off, &elfsym, &shndx,
					   &elf, &bias);
	}
	if (!sym || !*sym)
		sym = dwarf_function(sf->mod, vaddr + sf->bias);
	if (!sym) {
		err = hmap__set(&s->cache, mf->index, vaddr, NO_NAME);
		return err ? err : unknown_offset(s, mf, shown, name);
	}
	err = symbolizer__name(s, sym, name);
	if (!err)
		err = hmap__set(&s->cache, mf->index, vaddr, *name);
	return err;
}
