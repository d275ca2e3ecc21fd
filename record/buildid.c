/* Reads the GNU build-id of an ELF file with libelf, the key by which report finds the file. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "record/record.h"

static int note_build_id(Elf_Data *data, uint8_t *buf, size_t size)
{
	GElf_Nhdr nhdr;
	size_t off = 0, name_off, desc_off;

	while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
		if (nhdr.n_type != NT_GNU_BUILD_ID || nhdr.n_namesz != 4 ||
		    memcmp((char *)data->d_buf + name_off, "GNU", 4))
			continue;
		if (nhdr.n_descsz > size || nhdr.n_descsz == 0)
			return 0;
		memcpy(buf, (char *)data->d_buf + desc_off, nhdr.n_descsz);
		return nhdr.n_descsz;
	}
	return 0;
}

int read_build_id(int fd, uint8_t *buf, size_t size)
{
	Elf *elf;
	size_t nphdr;
	int ret = 0;

	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nphdr)) {
		ret = -ENOEXEC;
		goto out;
	}
	/* Program headers first: the notes loaded at run time are what identify the file. */
	for (size_t i = 0; i < nphdr && ret == 0; i++) {
		GElf_Phdr phdr;
		Elf_Data *data;

		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, phdr.p_offset, phdr.p_filesz,
					    phdr.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (data)
			ret = note_build_id(data, buf, size);
	}
	for (Elf_Scn *scn = NULL; ret == 0 && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr shdr;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (data)
			ret = note_build_id(data, buf, size);
	}
out:
	elf_end(elf);
	return ret;
}
