/*
 * Offline symbolization: turns a frame address of a process image into a
 * function name, using the mappings the trace recorded and the ELF files at
 * their recorded paths, which are used only when their build-id is the one
 * the trace recorded.  Names are interned in the caller's string table.
 */
#ifndef MEMPROF_REPORT_SYMBOLIZE_H
#define MEMPROF_REPORT_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "format/mpf.h"

struct model;
struct model_file;
struct strtab;
struct symbolizer;

enum sym_file_state {
	SYM_FILE_UNUSED,	/* no frame needed it */
	SYM_FILE_OK,
	SYM_FILE_PSEUDO,	/* not a file on disk: [vdso], anon_inode:..., memfd: */
	SYM_FILE_MISSING,	/* cannot be opened: err says why */
	SYM_FILE_MISMATCH,	/* its build-id differs from the recorded one */
	SYM_FILE_BAD,		/* opened but unusable: reason says why */
};

struct sym_file_status {
	const struct model_file *file;
	enum sym_file_state state;
	int err;			/* SYM_FILE_MISSING: a positive errno */
	const char *reason;		/* SYM_FILE_BAD: "not an ELF file", ... */
	uint32_t build_id_len;		/* SYM_FILE_MISMATCH: the file's build-id */
	uint8_t build_id[MPF_BUILD_ID_MAX];
};

/* The model is only read, but looking up maps builds its indexes. */
struct symbolizer *symbolizer__new(struct model *m, struct strtab *names);
void symbolizer__delete(struct symbolizer *s);

/*
 * The name of the frame at ip in image, as a strtab id in *name.  exact: ip
 * is the address of an instruction (the first frame of a stack taken with
 * MPF_STACK_FIRST_IS_IP); otherwise it is a return address and the call
 * before it is looked up.  Unresolvable frames get "[unknown] FILE+0xOFFSET"
 * or "[unknown] 0xADDR".  0 or -ENOMEM.
 */
int symbolizer__frame(struct symbolizer *s, uint32_t image, uint64_t ip, bool exact,
		      uint32_t *name);

/* What became of each of the model's files (index as in model__file_at). */
void symbolizer__file_status(const struct symbolizer *s, size_t index,
			     struct sym_file_status *st);

#endif
