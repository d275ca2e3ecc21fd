/*
 * The load segments of an ELF file (PT_LOAD): how a file offset, which is
 * what a memory map names, becomes the address the file's symbols and call
 * frame information use, and back.  One mapper for every part of memprof
 * that goes between the two: probe placement, leaf callers, text mappings,
 * symbolization and unwinding.
 */
#ifndef MEMPROF_ELF_SEGMENTS_H
#define MEMPROF_ELF_SEGMENTS_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elf_segment {
	uint64_t offset, filesz;	/* [offset, offset + filesz) of the file */
	uint64_t vaddr, memsz;
	bool exec;			/* PF_X */
};

struct elf_segments {
	struct elf_segment *v;
	size_t n;
};

/* Reads the PT_LOAD segments of elf: 0, -ENOEXEC (no program headers) or -ENOMEM. */
int elf_segments__load(struct elf_segments *s, Elf *elf);
void elf_segments__free(struct elf_segments *s);
/* The ELF address of file offset off, through the segment whose file bytes hold it. */
int elf_segments__vaddr(const struct elf_segments *s, uint64_t off, uint64_t *vaddr);
/* The file offset of ELF address vaddr, through the segment whose file bytes hold it. */
int elf_segments__offset(const struct elf_segments *s, uint64_t vaddr, uint64_t *off);
/*
 * The load bias of a mapping at start of the file from pgoff (the address it
 * is at less the ELF address of its file offset).  A file page can be in two
 * segments: the end of one and the start of the next share it when the
 * linker packs them (Rust's and lld's binaries, whose text does not start on
 * a page), and each maps it at its own address; the mapping's execute right
 * tells which.  -ENOENT when no segment holds pgoff.
 */
int elf_segments__bias(const struct elf_segments *s, uint64_t start, uint64_t pgoff, bool exec,
		       uint64_t *bias);
/* The executable segment of lowest address (the text), NULL when none. */
const struct elf_segment *elf_segments__text(const struct elf_segments *s);
/* Whether an executable segment has bytes in the file: code, not a debug info file's. */
bool elf_segments__has_code(const struct elf_segments *s);

#endif
