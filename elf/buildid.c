/*
 * Reading build-ids (elf/buildid.h) with libdw's dwelf_elf_gnu_build_id, which
 * looks in the loaded notes first (what identifies the file at run time), then
 * in the note sections.
 */
#include <elfutils/libdwelf.h>
#include <string.h>

#include "elf/buildid.h"

int elf_build_id(Elf *elf, uint8_t buf[MPF_BUILD_ID_MAX])
{
	const void *id = NULL;
	ssize_t len;

	if (!elf || elf_kind(elf) != ELF_K_ELF)
		return -1;
	len = dwelf_elf_gnu_build_id(elf, &id);
	if (len <= 0 || len > MPF_BUILD_ID_MAX)
		return 0;
	memcpy(buf, id, (size_t)len);
	return (int)len;
}

int elf_fd_build_id(int fd, uint8_t buf[MPF_BUILD_ID_MAX])
{
	Elf *elf;
	int len;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	len = elf_build_id(elf, buf);
	elf_end(elf);
	return len;
}
