/*
 * Which files hold an allocator, and where to put its probes.
 *
 * An allocator is any ELF file a target maps (its executable too) that
 * defines malloc and free, bare or with the prefix of jemalloc, tcmalloc or
 * mimalloc (je_, tc_, mi_), or the prefix --heap-lib names: the C library, a
 * jemalloc or tcmalloc preloaded or linked in, a static program's own.  Its
 * probes go on the malloc family, the allocator's own entry points (mallocx,
 * sdallocx ...), and its C++ operators new and delete, except those that only
 * jump to another of them (jemalloc's delete is `jmp free`): the kernel side
 * counts the outer call of nested ones, but a forwarding operator would cost
 * a second trap for nothing.  libstdc++'s operators call malloc and free and
 * are in a file that defines no malloc: they are not probed.
 *
 * A uprobe on an instruction the kernel can
 * emulate (push, jmp, jcc, call, nop) costs about 0.55 us a hit; one it has to
 * single-step out of line costs about 18 us.  glibc's free starts with
 * `test %rdi,%rdi`, posix_memalign and memalign with a `cmpb`: probing their
 * entries would make every call 30 times dearer.  So for each function we
 * decode the first instructions (capstone) and probe the first emulated one,
 * provided nothing before it moves the stack pointer (the return probe needs
 * the return address still at (%rsp)), writes an argument register or
 * branches.
 */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/memprof.h"
#include "elf/segments.h"
#include "record/record.h"

#define SCAN_BYTES	64

/* The functions probed, by name after the allocator's prefix, and their kind. */
static const struct {
	const char *name;
	unsigned int kind;
} heap_funcs[] = {
	{ "malloc", MP_MALLOC },
	{ "calloc", MP_CALLOC },
	{ "realloc", MP_REALLOC },
	{ "free", MP_FREE },
	{ "posix_memalign", MP_POSIX_MEMALIGN },
	{ "aligned_alloc", MP_ALIGNED_ALLOC },
	{ "memalign", MP_MEMALIGN },
	{ "valloc", MP_VALLOC },
	{ "pvalloc", MP_VALLOC },
	{ "cfree", MP_FREE },
	/* jemalloc's own */
	{ "mallocx", MP_MALLOC },
	{ "rallocx", MP_REALLOC },
	{ "dallocx", MP_FREE },
	{ "sdallocx", MP_FREE },
	/* mimalloc's own: the size first */
	{ "zalloc", MP_MALLOC },
	{ "malloc_aligned", MP_MALLOC },
	{ "zalloc_aligned", MP_MALLOC },
	{ "new", MP_MALLOC },
	{ "new_aligned", MP_MALLOC },
	{ "new_nothrow", MP_MALLOC },
};
#define NR_FUNCS (sizeof(heap_funcs) / sizeof(heap_funcs[0]))

/* The prefixes of the allocators known by name, tried where --heap-lib gives none. */
static const char *const known_prefixes[] = { "", "je_", "tc_", "mi_" };
#define NR_PREFIXES (sizeof(known_prefixes) / sizeof(known_prefixes[0]))

/* The C++ operators, unprefixed, by their mangled names' start (size_t is m). */
static int operator_kind(const char *name)
{
	if (!strncmp(name, "_Znwm", 5) || !strncmp(name, "_Znam", 5))
		return MP_MALLOC;	/* new(size_t, ...): the size first */
	if (!strncmp(name, "_ZdlPv", 6) || !strncmp(name, "_ZdaPv", 6))
		return MP_FREE;
	return -1;
}

/* Instructions x86 uprobes emulate instead of single-stepping. */
static bool kernel_emulates(const uint8_t *b, size_t len)
{
	size_t i = 0;

	if (len > 1 && b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57)
		return true;			/* push %r8..%r15 */
	if (b[0] >= 0x50 && b[0] <= 0x57)
		return true;			/* push %rax..%rdi */
	if (b[0] == 0xe8 || b[0] == 0xe9 || b[0] == 0xeb || (b[0] >= 0x70 && b[0] <= 0x7f))
		return true;			/* call, jmp, jcc rel */
	if (len > 1 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f)
		return true;			/* jcc rel32 */
	while (i < len && b[i] == 0x66)
		i++;
	if (i < len && b[i] == 0x90)
		return true;			/* nop, xchg %ax,%ax */
	if (i + 1 < len && b[i] == 0x0f && b[i + 1] == 0x1f)
		return true;			/* nopl/nopw */
	return false;
}

/*
 * May an instruction run before the probe without spoiling what the probe
 * reads?  A short list, on purpose: comparisons, and moves or arithmetic into
 * a register that holds neither the stack pointer nor one of the nargs
 * arguments the probe reads (free's one: jemalloc's free computes into
 * %rdx before its first jump).
 */
static bool harmless(const cs_insn *insn, int nargs)
{
	static const x86_reg clobbers[] = {
		X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL,
		X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL,
		X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL,
		X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL,
	};
	const cs_x86 *x = &insn->detail->x86;

	switch (insn->id) {
	case X86_INS_TEST:
	case X86_INS_CMP:
	case X86_INS_ENDBR64:
		return true;
	case X86_INS_MOV:
	case X86_INS_MOVZX:
	case X86_INS_MOVSX:
	case X86_INS_MOVSXD:
	case X86_INS_LEA:
	case X86_INS_XOR:
	case X86_INS_AND:
	case X86_INS_OR:
	case X86_INS_ADD:
	case X86_INS_SUB:
	case X86_INS_SHR:
	case X86_INS_SHL:
	case X86_INS_SAR:
		/* Intel operand order: the destination first. */
		if (x->op_count < 1 || x->operands[0].type != X86_OP_REG)
			return false;
		for (size_t j = 0; j < 4 * (size_t)(nargs + 1); j++)
			if (x->operands[0].reg == clobbers[j])
				return false;
		return true;
	}
	return false;
}

/* The arguments the probe of a function of this kind reads (bpf/heap.bpf.c's call_args). */
static int kind_args(unsigned int kind)
{
	switch (kind) {
	case MP_MALLOC:
	case MP_VALLOC:
	case MP_FREE:
		return 1;
	case MP_POSIX_MEMALIGN:
		return 3;
	default:
		return 2;
	}
}

static void choose_site(csh cs, const uint8_t *code, size_t len, struct probe_site *site)
{
	cs_insn *insn = cs_malloc(cs);
	const uint8_t *p = code;
	uint64_t addr = 0;
	size_t left = len;

	site->offset = site->entry;
	site->emulated = kernel_emulates(code, len);
	if (!insn || site->emulated)
		goto out;
	while (cs_disasm_iter(cs, &p, &left, &addr, insn)) {
		if (kernel_emulates(insn->bytes, insn->size)) {
			site->offset = site->entry + insn->address;
			site->emulated = true;
			break;
		}
		if (!harmless(insn, kind_args(site->kind)))
			break;
	}
out:
	if (insn)
		cs_free(insn, 1);
}

/* What the symbol tables say of a file: the functions found, per prefix. */
struct found {
	uint64_t vaddr[NR_PREFIXES + 1][NR_FUNCS];	/* the last row: --heap-lib's prefix */
	struct {
		const char *name;
		uint64_t vaddr;
		unsigned int kind;
	} ops[32];
	int nops;
	uint64_t plt_lo[2], plt_hi[2];	/* .plt and .plt.sec */
	bool interp;			/* PT_INTERP: a dynamic program's executable */
	bool exec;			/* ET_EXEC, or a PIE: a program, not a library */
};

static void match_symbol(struct found *f, const char *name, uint64_t vaddr, const char *prefix)
{
	int op = operator_kind(name);

	if (op >= 0) {
		for (int i = 0; i < f->nops; i++)
			if (f->ops[i].vaddr == vaddr)
				return;
		if (f->nops < (int)(sizeof(f->ops) / sizeof(f->ops[0]))) {
			f->ops[f->nops].name = name;
			f->ops[f->nops].vaddr = vaddr;
			f->ops[f->nops++].kind = op;
		}
		return;
	}
	for (size_t p = 0; p <= NR_PREFIXES; p++) {
		const char *pre = p < NR_PREFIXES ? known_prefixes[p] : prefix;
		size_t len;

		if (!pre)
			continue;
		len = strlen(pre);
		if (strncmp(name, pre, len))
			continue;
		for (size_t i = 0; i < NR_FUNCS; i++)
			if (!f->vaddr[p][i] && !strcmp(name + len, heap_funcs[i].name))
				f->vaddr[p][i] = vaddr;
	}
}

static void find_symbols(Elf *elf, struct found *f, const char *prefix)
{
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		shstrndx = 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *data;
		const char *sname;

		if (!gelf_getshdr(scn, &sh))
			continue;
		sname = shstrndx ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (sname && (!strcmp(sname, ".plt") || !strcmp(sname, ".plt.sec"))) {
			int k = !strcmp(sname, ".plt.sec");

			f->plt_lo[k] = sh.sh_addr;
			f->plt_hi[k] = sh.sh_addr + sh.sh_size;
		}
		if (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			if (GELF_ST_BIND(sym.st_info) != STB_GLOBAL &&
			    GELF_ST_BIND(sym.st_info) != STB_WEAK)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name)
				match_symbol(f, name, sym.st_value, prefix);
		}
	}
}

/* Whether the program headers name an interpreter, and the file is a program. */
static void program_kind(Elf *elf, struct found *f)
{
	GElf_Ehdr eh;
	size_t n;

	if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n))
		return;
	f->exec = eh.e_type == ET_EXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph))
			continue;
		if (ph.p_type == PT_INTERP)
			f->interp = true;
		if (ph.p_type == PT_DYNAMIC && eh.e_type == ET_DYN) {
			Elf_Data *d = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz, ELF_T_DYN);

			for (size_t j = 0; d && j < ph.p_filesz / sizeof(Elf64_Dyn); j++) {
				GElf_Dyn dyn;

				/* DF_1_PIE (0x08000000): a position-independent program */
				if (gelf_getdyn(d, j, &dyn) && dyn.d_tag == DT_FLAGS_1 &&
				    (dyn.d_un.d_val & 0x08000000))
					f->exec = true;
			}
		}
	}
}

/*
 * Whether the function at vaddr (its first bytes in code) only hands the call
 * to another: its first instruction past endbr64 a jump or call into the PLT,
 * or to one of the entries found.
 */
static bool forwards(csh cs, const struct found *f, const uint64_t *entries, int nentries,
		     const uint8_t *code, size_t len, uint64_t vaddr)
{
	cs_insn *insn = cs_malloc(cs);
	const uint8_t *p = code;
	uint64_t addr = vaddr, target;
	size_t left = len;
	bool fw = false;

	while (insn && cs_disasm_iter(cs, &p, &left, &addr, insn)) {
		const cs_x86 *x = &insn->detail->x86;

		if (insn->id == X86_INS_ENDBR64)
			continue;
		if ((insn->id != X86_INS_JMP && insn->id != X86_INS_CALL) || x->op_count != 1 ||
		    x->operands[0].type != X86_OP_IMM)
			break;
		target = x->operands[0].imm;
		for (int k = 0; k < 2; k++)
			fw |= target >= f->plt_lo[k] && target < f->plt_hi[k];
		for (int i = 0; i < nentries; i++)
			fw |= target == entries[i];
		break;
	}
	if (insn)
		cs_free(insn, 1);
	return fw;
}

/* A site for the function at vaddr, unless one is there already (an alias): 1 if added. */
static int add_site(Elf *elf, csh cs, const struct elf_segments *segs, struct probe_site *sites,
		    int nr, const char *name, unsigned int kind, uint64_t vaddr)
{
	struct probe_site *s = &sites[nr];
	Elf_Data *code;

	if (elf_segments__offset(segs, vaddr, &s->entry))
		return 0;
	/* memalign and aligned_alloc are one function in glibc: probe it once. */
	for (int i = 0; i < nr; i++)
		if (sites[i].entry == s->entry)
			return 0;
	s->func = name;
	s->kind = kind;
	code = elf_getdata_rawchunk(elf, s->entry, SCAN_BYTES, ELF_T_BYTE);
	if (!code) {
		s->offset = s->entry;
		s->emulated = false;
	} else {
		choose_site(cs, code->d_buf, code->d_size, s);
	}
	return 1;
}

int find_heap_probe_sites(const char *path, const char *prefix, struct probe_site *sites, int max,
			  unsigned int *flags)
{
	struct elf_segments segs = { 0 };
	struct found *f = calloc(1, sizeof(*f));
	uint64_t entries[NR_FUNCS * (NR_PREFIXES + 1)];
	int nentries = 0;
	Elf *elf = NULL;
	csh cs = 0;
	int fd = -1, nr = 0;

	*flags = 0;
	if (!f)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		nr = -errno;
		goto out;
	}
	elf_version(EV_CURRENT);
	/*
	 * Read, not mmap: a mapping of a file with uprobes on it gets their
	 * breakpoints written in, and we would decode int3s left by another
	 * recorder (or one being torn down).  read(2) sees the file itself.
	 */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		nr = -ENOEXEC;
		goto out;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
		nr = -ENOMEM;
		goto out;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (elf_segments__load(&segs, elf)) {
		nr = -ENOEXEC;
		goto out;
	}
	program_kind(elf, f);
	if (f->exec && !f->interp)
		*flags |= PROBE_STATIC_PROGRAM;
	find_symbols(elf, f, prefix);
	/* The prefixes whose malloc and free the file defines (only --heap-lib's when given). */
	for (size_t p = prefix ? NR_PREFIXES : 0; p <= NR_PREFIXES && nr < max; p++) {
		const char *pre = p < NR_PREFIXES ? known_prefixes[p] : prefix;

		if (!pre || !f->vaddr[p][0] || !f->vaddr[p][3])
			continue;
		*flags |= PROBE_ALLOCATOR;
		for (size_t i = 0; i < NR_FUNCS && nr < max; i++) {
			if (!f->vaddr[p][i])
				continue;
			entries[nentries++] = f->vaddr[p][i];
			nr += add_site(elf, cs, &segs, sites, nr, heap_funcs[i].name,
				       heap_funcs[i].kind, f->vaddr[p][i]);
		}
	}
	/* An allocator's own C++ operators, where they are not a jump to its malloc or free. */
	for (int i = 0; (*flags & PROBE_ALLOCATOR) && i < f->nops && nr < max; i++) {
		uint64_t off;
		Elf_Data *code;

		if (elf_segments__offset(&segs, f->ops[i].vaddr, &off))
			continue;
		code = elf_getdata_rawchunk(elf, off, SCAN_BYTES, ELF_T_BYTE);
		if (code && forwards(cs, f, entries, nentries, code->d_buf, code->d_size,
				     f->ops[i].vaddr))
			continue;
		nr += add_site(elf, cs, &segs, sites, nr, f->ops[i].kind == MP_FREE ?
			       "operator delete" : "operator new", f->ops[i].kind, f->ops[i].vaddr);
	}
out:
	elf_segments__free(&segs);
	if (cs)
		cs_close(&cs);
	if (elf)
		elf_end(elf);
	if (fd >= 0)
		close(fd);
	free(f);
	return nr;
}

/* Opens path's ELF for reading: the descriptor, the ELF in *elf; -errno. */
static int elf_open(const char *path, Elf **elf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	*elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		if (*elf)
			elf_end(*elf);
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}

int probe_program_is_static(const char *path)
{
	struct found *f = calloc(1, sizeof(*f));
	Elf *elf;
	int fd, ret;

	if (!f)
		return -ENOMEM;
	fd = elf_open(path, &elf);
	if (fd < 0) {
		free(f);
		return fd;
	}
	program_kind(elf, f);
	ret = f->exec && !f->interp;
	elf_end(elf);
	close(fd);
	free(f);
	return ret;
}

int find_sample_points(const char *path, uint64_t *alloc_off, uint64_t *free_off)
{
	struct elf_segments segs = { 0 };
	uint64_t vaddr[2] = { 0, 0 };
	Elf *elf;
	int fd, err = 0;

	fd = elf_open(path, &elf);
	if (fd < 0)
		return fd;
	if (elf_segments__load(&segs, elf)) {
		err = -ENOEXEC;
		goto out;
	}
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && !strcmp(name, "memprof_sample_alloc"))
				vaddr[0] = sym.st_value;
			else if (name && !strcmp(name, "memprof_sample_free"))
				vaddr[1] = sym.st_value;
		}
	}
	if (!vaddr[0] || !vaddr[1] || elf_segments__offset(&segs, vaddr[0], alloc_off) ||
	    elf_segments__offset(&segs, vaddr[1], free_off))
		err = -ENOENT;
out:
	elf_segments__free(&segs);
	elf_end(elf);
	close(fd);
	return err;
}
