/*
 * Unit tests of elf/: the build-id and the load segments of this very test
 * binary, and the bias of its text mapping as /proc/self/maps has it, which
 * must place this function's address inside its text segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elf/buildid.h"
#include "elf/segments.h"
#include "tests/unit/unit.h"

/* The executable mapping of this binary: its start and file offset. */
static int text_map(uint64_t *start, uint64_t *pgoff)
{
	char exe[4096], line[4096 + 128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "re");
	int found = -1;

	if (n <= 0 || !f) {
		if (f)
			fclose(f);
		return -1;
	}
	exe[n] = '\0';
	while (found && fgets(line, sizeof(line), f)) {
		uint64_t end;
		char perms[8];
		int pos = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*u %n", start, &end,
			   perms, pgoff, &pos) == 4 && pos && perms[2] == 'x' &&
		    !strncmp(line + pos, exe, strlen(exe)))
			found = 0;
	}
	fclose(f);
	return found;
}

static void test_segments(void)
{
	uint8_t bid[MPF_BUILD_ID_MAX];
	const struct elf_segment *text;
	struct elf_segments segs;
	uint64_t start, pgoff, bias, vaddr, off, here = (uint64_t)(uintptr_t)test_segments;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	Elf *elf;

	REQUIRE(fd >= 0);
	CHECK(elf_fd_build_id(fd, bid) == 20);	/* gcc and ld on Debian give SHA-1 build-ids */
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	REQUIRE(elf && elf_segments__load(&segs, elf) == 0);
	CHECK(elf_build_id(elf, bid) == 20);
	CHECK(elf_segments__has_code(&segs));
	text = elf_segments__text(&segs);
	REQUIRE(text && text->exec);
	/* An address of the text and its file offset map to each other. */
	CHECK(elf_segments__offset(&segs, text->vaddr + 16, &off) == 0 &&
	      off == text->offset + 16);
	CHECK(elf_segments__vaddr(&segs, off, &vaddr) == 0 && vaddr == text->vaddr + 16);
	CHECK(elf_segments__offset(&segs, UINT64_MAX - 1, &off) == -ENOENT);
	REQUIRE(text_map(&start, &pgoff) == 0);
	REQUIRE(elf_segments__bias(&segs, start, pgoff, true, &bias) == 0);
	CHECK(here - bias >= text->vaddr && here - bias < text->vaddr + text->memsz);
	elf_segments__free(&segs);
	elf_end(elf);
	/* Not ELF: no build-id to read, and no segments. */
	CHECK(elf_build_id(NULL, bid) == -1);
	CHECK(elf_segments__load(&segs, NULL) == -ENOEXEC);
	close(fd);
}

const struct unit_test elf_tests[] = {
	{ "elf_segments", test_segments },
	{},
};
