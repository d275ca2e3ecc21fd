/*
 * Build-ids: the key by which a trace names the ELF files it maps and by which
 * report finds them again, read in one place for record and report alike.
 */
#ifndef MEMPROF_ELF_BUILDID_H
#define MEMPROF_ELF_BUILDID_H

#include <libelf.h>
#include <stdint.h>

#include "format/mpf.h"

/*
 * The GNU build-id note of an ELF file into buf: its length, 0 when it has
 * none (or one longer than MPF_BUILD_ID_MAX), -1 when elf is not an ELF file.
 */
int elf_build_id(Elf *elf, uint8_t buf[MPF_BUILD_ID_MAX]);
/* The same for an open file. */
int elf_fd_build_id(int fd, uint8_t buf[MPF_BUILD_ID_MAX]);

#endif
