/*
 * Where to put the heap probes.  A uprobe on an instruction the kernel can
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
#include <string.h>
#include <unistd.h>

#include "bpf/memprof.h"
#include "elf/segments.h"
#include "record/record.h"

#define SCAN_BYTES	48

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
};

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
 * a register that holds neither an argument nor the stack pointer.
 */
static bool harmless(const cs_insn *insn)
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
		/* Intel operand order: the destination first. */
		if (x->op_count < 1 || x->operands[0].type != X86_OP_REG)
			return false;
		for (size_t j = 0; j < sizeof(clobbers) / sizeof(clobbers[0]); j++)
			if (x->operands[0].reg == clobbers[j])
				return false;
		return true;
	}
	return false;
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
		if (!harmless(insn))
			break;
	}
out:
	if (insn)
		cs_free(insn, 1);
}

static int find_symbols(Elf *elf, uint64_t *vaddr)
{
	int found = 0;

	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB))
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
			if (!name)
				continue;
			for (size_t f = 0; f < sizeof(heap_funcs) / sizeof(heap_funcs[0]); f++) {
				if (!vaddr[f] && !strcmp(name, heap_funcs[f].name)) {
					vaddr[f] = sym.st_value;
					found++;
				}
			}
		}
	}
	return found;
}

int find_heap_probe_sites(const char *path, struct probe_site *sites, int max)
{
	uint64_t vaddr[sizeof(heap_funcs) / sizeof(heap_funcs[0])] = {};
	struct elf_segments segs = { 0 };
	Elf *elf = NULL;
	csh cs = 0;
	int fd, nr = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
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
	if (elf_segments__load(&segs, elf) || find_symbols(elf, vaddr) <= 0) {
		nr = -ENOENT;
		goto out;
	}
	for (size_t f = 0; f < sizeof(heap_funcs) / sizeof(heap_funcs[0]) && nr < max; f++) {
		struct probe_site *s = &sites[nr];
		Elf_Data *code;
		bool alias = false;

		if (!vaddr[f] || elf_segments__offset(&segs, vaddr[f], &s->entry))
			continue;
		/* memalign and aligned_alloc are one function in glibc: probe it once. */
		for (int i = 0; i < nr; i++)
			alias |= sites[i].entry == s->entry;
		if (alias)
			continue;
		s->func = heap_funcs[f].name;
		s->kind = heap_funcs[f].kind;
		code = elf_getdata_rawchunk(elf, s->entry, SCAN_BYTES, ELF_T_BYTE);
		if (!code) {
			s->offset = s->entry;
			s->emulated = false;
		} else {
			choose_site(cs, code->d_buf, code->d_size, s);
		}
		nr++;
	}
out:
	elf_segments__free(&segs);
	if (cs)
		cs_close(&cs);
	if (elf)
		elf_end(elf);
	close(fd);
	return nr;
}
