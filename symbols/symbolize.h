/*
 * Offline symbolization: turns a frame address of a process image into a
 * function name (and with srcline its source file and line), using the
 * mappings the trace recorded and the ELF and debug info files that
 * elf/lookup.h finds by build-id.  Names are interned in the caller's
 * string table.
 */
#ifndef MEMPROF_SYMBOLS_SYMBOLIZE_H
#define MEMPROF_SYMBOLS_SYMBOLIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "elf/lookup.h"
#include "format/mpf.h"

struct model;
struct model_file;
struct strtab;
struct symbolizer;

/*
 * What became of a file.  MISSING, MISMATCH and BAD all mean that no file
 * with the recorded build-id was found anywhere; they say what the recorded
 * path held.
 */
enum sym_file_state {
	SYM_FILE_UNUSED,	/* no frame needed it */
	SYM_FILE_OK,
	SYM_FILE_PSEUDO,	/* not a file on disk: [vdso], anon_inode:..., memfd: */
	SYM_FILE_MISSING,	/* the recorded path cannot be opened: err says why */
	SYM_FILE_MISMATCH,	/* the recorded path has another build-id */
	SYM_FILE_BAD,		/* the recorded path is unusable: reason says why */
};

struct sym_file_status {
	const struct model_file *file;
	enum sym_file_state state;
	int err;			/* SYM_FILE_MISSING: a positive errno */
	const char *reason;		/* SYM_FILE_BAD: "not an ELF file", ... */
	uint32_t build_id_len;		/* SYM_FILE_MISMATCH: the file's build-id */
	uint8_t build_id[MPF_BUILD_ID_MAX];
	bool archive_damaged;		/* the archive's copy failed its checks */
	enum lookup_source elf_source;	/* SYM_FILE_OK: where the file was found */
	const char *elf_path;		/*   ... its path there */
	enum lookup_source debug_source;	/* where its debug info was found, if looked for */
};

struct symbolizer_opts {
	struct lookup *lookup;	/* finds the files; the caller's */
	bool srcline;		/* append " FILE:LINE" to each named frame */
};

/* The model is only read, but looking up maps builds its indexes. */
struct symbolizer *symbolizer__new(struct model *m, struct strtab *names,
				   const struct symbolizer_opts *opts);
void symbolizer__delete(struct symbolizer *s);

/*
 * The name of the frame at ip in image, as a strtab id in *name.  exact: ip
 * is the address of an instruction (the first frame of a stack taken with
 * MPF_STACK_FIRST_IS_IP); otherwise it is a return address and the call
 * before it is looked up.  Unresolvable frames get "[unknown] FILE+0xOFFSET"
 * or "[unknown] 0xADDR".  With srcline, a named frame whose line is known
 * is "NAME FILE:LINE" (the source file's basename).  0 or -ENOMEM.
 */
int symbolizer__frame(struct symbolizer *s, uint32_t image, uint64_t ip, bool exact,
		      uint32_t *name);

/*
 * The frames at ip, innermost first, into names (at most max): the
 * functions inlined there, marked " (inlined)", then the function itself.
 * Returns how many, at least 1, or -ENOMEM.
 */
int symbolizer__frames(struct symbolizer *s, uint32_t image, uint64_t ip, bool exact,
		       uint32_t *names, int max);

/* What became of each of the model's files (index as in model__file_at). */
void symbolizer__file_status(const struct symbolizer *s, size_t index,
			     struct sym_file_status *st);

#endif
