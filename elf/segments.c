/* PT_LOAD segments and the offset <-> address mapping (elf/segments.h). */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>

#include "elf/segments.h"
#include "lib/array.h"

int elf_segments__load(struct elf_segments *s, Elf *elf)
{
	size_t phnum, cap = 0;

	s->v = NULL;
	s->n = 0;
	if (!elf || elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (!ph || ph->p_type != PT_LOAD)
			continue;
		if (ARRAY_RESERVE(s->v, cap, s->n + 1)) {
			elf_segments__free(s);
			return -ENOMEM;
		}
		s->v[s->n++] = (struct elf_segment){
			.offset = ph->p_offset,
			.filesz = ph->p_filesz,
			.vaddr = ph->p_vaddr,
			.memsz = ph->p_memsz,
			.exec = ph->p_flags & PF_X,
		};
	}
	return 0;
}

void elf_segments__free(struct elf_segments *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int elf_segments__vaddr(const struct elf_segments *s, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct elf_segment *g = &s->v[i];

		if (off >= g->offset && off - g->offset < g->filesz) {
			*vaddr = off - g->offset + g->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_segments__offset(const struct elf_segments *s, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct elf_segment *g = &s->v[i];

		if (vaddr >= g->vaddr && vaddr - g->vaddr < g->filesz) {
			*off = vaddr - g->vaddr + g->offset;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_segments__bias(const struct elf_segments *s, uint64_t start, uint64_t pgoff, bool exec,
		       uint64_t *bias)
{
	/* First a segment with the mapping's execute right, then any. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->n; i++) {
			const struct elf_segment *g = &s->v[i];

			if (!pass && g->exec != exec)
				continue;
			if (pgoff >= (g->offset & ~4095ull) && pgoff < g->offset + g->filesz) {
				*bias = start - (g->vaddr - g->offset + pgoff);
				return 0;
			}
		}
	}
	return -ENOENT;
}

const struct elf_segment *elf_segments__text(const struct elf_segments *s)
{
	const struct elf_segment *text = NULL;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].exec && s->v[i].memsz && (!text || s->v[i].vaddr < text->vaddr))
			text = &s->v[i];
	return text;
}

bool elf_segments__has_code(const struct elf_segments *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].exec && s->v[i].filesz)
			return true;
	return false;
}
