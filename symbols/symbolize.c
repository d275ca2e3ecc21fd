/*
 * Offline symbolization with libdwfl.  A frame address in a process image
 * goes: mapping (from the trace) -> file and file offset -> ELF virtual
 * address through the PT_LOAD segment holding that offset -> symbol.  Each
 * file is found once, by build-id, through elf/lookup.h (the archive,
 * --symfs, the build-id cache, the recorded path, /usr/lib/debug,
 * debuginfod), and used read-only: a rebuilt or upgraded file would give
 * wrong names, which is worse than none.
 *
 * Each file gets its own Dwfl holding one module at its link-time addresses
 * (base 0), so ELF virtual addresses are looked up as they are, and two
 * non-PIE executables never collide.  libdwfl falls back from .symtab to
 * .dynsym and asks find_debuginfo() below for separate debug info (its
 * .symtab and DWARF) when the file has none of its own; DWARF is asked for a
 * function name when no ELF symbol covers the address, and for source lines.
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <inttypes.h>
#include <string.h>

#include "elf/segments.h"
#include "lib/array.h"
#include "lib/hashmap.h"
#include "lib/strtab.h"
#include "model/model.h"
#include "symbols/demangle.h"
#include "symbols/dwarf.h"
#include "symbols/symbolize.h"

/* A symbol cache value saying "no symbol here". */
#define NO_NAME UINT64_MAX

struct sym_file {
	struct symbolizer *s;
	const struct model_file *mf;
	enum sym_file_state state;
	int err;
	const char *reason;
	uint32_t build_id_len;
	uint8_t build_id[MPF_BUILD_ID_MAX];
	bool archive_damaged;
	enum lookup_source elf_source, debug_source;
	char *elf_path;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;		/* module address - ELF address */
	struct elf_segments segs;	/* file offsets to ELF addresses */
};

struct symbolizer {
	struct model *m;
	struct strtab *names;
	struct lookup *lookup;
	bool srcline;
	struct sym_file *files;		/* by model file index */
	size_t nfiles;
	struct hmap cache;		/* (file index, ELF address) -> NO_NAME, a name id, or a chain */
	uint32_t *chains;		/* names of frames with inlined functions, innermost first */
	size_t nchains, chains_cap;
};

/* A cache value naming a run of chains[]: the frame's inlined functions and its own. */
#define CHAIN_BIT	(1ull << 62)
#define CHAIN(off, n)	(CHAIN_BIT | (uint64_t)(off) << 8 | (n))
#define INLINE_MAX	16

/*
 * libdwfl asks for a module's separate debug info here, with the name its
 * .gnu_debuglink gives; the module's userdata is its sym_file.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct sym_file *sf = *userdata;
	struct lookup_result res;

	if (!sf || lookup__debug(sf->s->lookup, sf->mf->path, debuglink_file, sf->mf->build_id,
				 sf->mf->build_id_len, &res))
		return -1;
	if (res.archive_damaged)
		sf->archive_damaged = true;
	sf->debug_source = res.source;
	if (res.fd < 0) {
		lookup_result__release(&res);
		return -1;
	}
	/* libdwfl owns both from here. */
	*debuginfo_file_name = res.path;
	return res.fd;
}

/* Never called: every module is reported with its file already open. */
static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		       char **file_name, Elf **elfp)
{
	return -1;
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = find_no_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

struct symbolizer *symbolizer__new(struct model *m, struct strtab *names,
				   const struct symbolizer_opts *opts)
{
	struct symbolizer *s;

	elf_version(EV_CURRENT);
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->m = m;
	s->names = names;
	s->lookup = opts->lookup;
	s->srcline = opts->srcline;
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
		elf_segments__free(&s->files[i].segs);
		free(s->files[i].elf_path);
	}
	free(s->files);
	hmap__free(&s->cache);
	free(s->chains);
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
	st->archive_damaged = sf->archive_damaged;
	st->elf_source = sf->elf_source;
	st->elf_path = sf->elf_path;
	st->debug_source = sf->debug_source;
}

static const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static void sym_file__bad(struct sym_file *sf, const char *reason)
{
	sf->state = SYM_FILE_BAD;
	sf->reason = reason;
}

/*
 * Finds the file behind mf, checks it and reports it to a Dwfl of its own.
 * Leaves sf->state saying what happened; only running out of memory is an error.
 */
static int sym_file__open(struct symbolizer *s, struct sym_file *sf, const struct model_file *mf)
{
	struct lookup_result res;
	void **userdata;
	Elf *elf = NULL;
	size_t i;
	int err;

	sf->s = s;
	sf->mf = mf;
	if (lookup_path_is_pseudo(mf->path)) {
		sf->state = SYM_FILE_PSEUDO;
		return 0;
	}
	err = lookup__elf(s->lookup, mf->path, mf->build_id, mf->build_id_len, &res);
	if (err)
		return err;
	sf->archive_damaged = res.archive_damaged;
	if (res.fd < 0) {
		if (res.path_mismatch) {
			sf->state = SYM_FILE_MISMATCH;
			sf->build_id_len = res.path_build_id_len;
			memcpy(sf->build_id, res.path_build_id, res.path_build_id_len);
		} else if (res.path_reason) {
			sym_file__bad(sf, res.path_reason);
		} else {
			sf->state = SYM_FILE_MISSING;
			sf->err = res.path_err ? res.path_err : ENOENT;
		}
		goto out;
	}
	sf->elf_source = res.source;
	sf->elf_path = res.path;
	res.path = NULL;

	elf = elf_begin(res.fd, ELF_C_READ_MMAP, NULL);
	err = elf_segments__load(&sf->segs, elf);
	if (elf)
		elf_end(elf);
	if (err == -ENOMEM)
		goto out;
	err = 0;
	for (i = 0; i < sf->segs.n && !sf->segs.v[i].filesz; i++)
		;
	if (i == sf->segs.n) {
		sym_file__bad(sf, "has no loadable segments");
		goto out;
	}

	sf->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!sf->dwfl) {
		err = -ENOMEM;
		goto out;
	}
	dwfl_report_begin(sf->dwfl);
	/* Base 0 added to p_vaddr: module addresses are the ELF's own. */
	sf->mod = dwfl_report_elf(sf->dwfl, path_basename(mf->path), sf->elf_path, res.fd, 0,
				  true);
	dwfl_report_end(sf->dwfl, NULL, NULL);
	if (!sf->mod) {
		sym_file__bad(sf, dwfl_errmsg(-1));
		goto out;
	}
	res.fd = -1;	/* the module owns it now */
	dwfl_module_info(sf->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	*userdata = sf;
	if (!dwfl_module_getelf(sf->mod, &sf->bias)) {
		sym_file__bad(sf, dwfl_errmsg(-1));
		goto out;
	}
	sf->state = SYM_FILE_OK;
out:
	lookup_result__release(&res);
	if (err)
		sf->state = SYM_FILE_BAD;
	return err;
}

/*
 * The one place symbol names are made into what the report shows: without
 * symbol versions, demangled, marked when inlined, with file:line when
 * --srcline asks (file NULL: none).
 */
static int symbolizer__name(struct symbolizer *s, const char *sym, bool inlined, const char *file,
			    int line, uint32_t *name)
{
	/* libdwfl appends the symbol version ("@@GLIBC_2.34"); perf shows the bare name. */
	const char *at = strchr(sym, '@');
	size_t len = at && at != sym ? (size_t)(at - sym) : strlen(sym), size;
	char buf[512], *copy, *plain = NULL, *dem;
	int id;

	if (at && at != sym) {
		plain = strndup(sym, len);
		if (!plain)
			return -ENOMEM;
		sym = plain;
	}
	dem = demangle(sym);
	if (dem) {
		sym = dem;
		len = strlen(dem);
	}
	if (file)
		file = path_basename(file);
	size = len + 16 + (file ? strlen(file) + 16 : 0);
	copy = size <= sizeof(buf) ? buf : malloc(size);
	if (!copy) {
		free(plain);
		free(dem);
		return -ENOMEM;
	}
	memcpy(copy, sym, len);
	copy[len] = '\0';
	if (inlined)
		strcat(copy, " (inlined)");
	if (file)
		snprintf(copy + strlen(copy), size - strlen(copy), " %s:%d", file, line);
	id = strtab__intern(s->names, copy);
	if (copy != buf)
		free(copy);
	free(plain);
	free(dem);
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

/* The names of a run of chains[] into names, as many as fit in max. */
static int chain_names(const struct symbolizer *s, uint64_t v, uint32_t *names, int max)
{
	size_t off = (v & ~CHAIN_BIT) >> 8;
	int n = (int)(v & 0xff);

	if (n > max)
		n = max;
	memcpy(names, s->chains + off, n * sizeof(*names));
	return n;
}

/*
 * Names the function at vaddr of sf and the functions inlined there, and
 * caches them: a single name, or a run of chains[].
 */
static int symbolizer__resolve(struct symbolizer *s, struct sym_file *sf,
			       const struct model_file *mf, uint64_t vaddr, uint64_t *value)
{
	struct inline_frame in[INLINE_MAX];
	const char *sym, *file = NULL;
	uint32_t ids[INLINE_MAX + 1];
	int n = 0, line = 0, err;
	Dwarf_Addr addr = vaddr + sf->bias;

	{
		GElf_Off sym_off;
		GElf_Sym elfsym;
		GElf_Word shndx;
		Elf *elf;
		Dwarf_Addr bias;

		sym = dwfl_module_addrinfo(sf->mod, addr, &sym_off, &elfsym, &shndx, &elf, &bias);
	}
	if (!sym || !*sym)
		sym = dwarf_function(sf->mod, addr);
	if (!sym) {
		*value = NO_NAME;
		return hmap__set(&s->cache, mf->index, vaddr, NO_NAME);
	}
	n = inline_frames(sf->mod, addr, in, INLINE_MAX, &file, &line);
	for (int i = 0; i < n; i++) {
		err = symbolizer__name(s, in[i].name, true, s->srcline ? in[i].file : NULL,
				       in[i].line, &ids[i]);
		if (err)
			return err;
	}
	if (!n && s->srcline)
		file = source_line(sf->mod, addr, &line);
	err = symbolizer__name(s, sym, false, s->srcline ? file : NULL, line, &ids[n]);
	if (err)
		return err;
	if (!n) {
		*value = ids[0];
	} else {
		err = ARRAY_RESERVE(s->chains, s->chains_cap, s->nchains + n + 1);
		if (err)
			return err;
		memcpy(s->chains + s->nchains, ids, (n + 1) * sizeof(*ids));
		*value = CHAIN(s->nchains, n + 1);
		s->nchains += n + 1;
	}
	return hmap__set(&s->cache, mf->index, vaddr, *value);
}

int symbolizer__frames(struct symbolizer *s, uint32_t image, uint64_t ip, bool exact,
		       uint32_t *names, int max)
{
	/* A return address follows the call: the call is what ran in the caller's function. */
	uint64_t addr = exact || !ip ? ip : ip - 1;
	const struct model_map *map = model__find_map(s->m, image, addr);
	const struct model_file *mf;
	struct sym_file *sf;
	uint64_t off, shown, vaddr, value, *cached;
	int err;

	if (max < 1)
		return 0;
	if (!map) {
		if (errno == ENOMEM)
			return -ENOMEM;
		err = unknown_addr(s, ip, names);
		return err ? err : 1;
	}
	mf = map->file_id ? model__file(s->m, map->file_id) : NULL;
	if (!mf || mf->index >= s->nfiles) {
		err = unknown_addr(s, ip, names);
		return err ? err : 1;
	}
	off = map->pgoff + (addr - map->start);
	shown = map->pgoff + (ip - map->start);

	sf = &s->files[mf->index];
	if (sf->state == SYM_FILE_UNUSED) {
		err = sym_file__open(s, sf, mf);
		if (err)
			return err;
	}
	if (sf->state != SYM_FILE_OK || elf_segments__vaddr(&sf->segs, off, &vaddr)) {
		err = unknown_offset(s, mf, shown, names);
		return err ? err : 1;
	}

	cached = hmap__find(&s->cache, mf->index, vaddr);
	if (cached) {
		value = *cached;
	} else {
		err = symbolizer__resolve(s, sf, mf, vaddr, &value);
		if (err)
			return err;
	}
	if (value == NO_NAME) {
		err = unknown_offset(s, mf, shown, names);
		return err ? err : 1;
	}
	if (value & CHAIN_BIT)
		return chain_names(s, value, names, max);
	names[0] = (uint32_t)value;
	return 1;
}

int symbolizer__frame(struct symbolizer *s, uint32_t image, uint64_t ip, bool exact,
		      uint32_t *name)
{
	uint32_t names[INLINE_MAX + 1];
	int n = symbolizer__frames(s, image, ip, exact, names, INLINE_MAX + 1);

	if (n < 0)
		return n;
	/* The function itself: the outermost of the frames at ip. */
	*name = names[n - 1];
	return 0;
}
