/*
 * memprof archives: one file holding a trace and the ELF and separate debug
 * info files its build-ids name, so that a trace recorded on one machine is
 * reported on another (`memprof archive`, read by `memprof report -i`).
 *
 * An archive is the trace, byte for byte, followed by the embedded files
 * (each one zstd frame), a table of contents and a fixed-size trailer at the
 * very end that locates it.  A trace reader that stops at the trace's END
 * record (or at mpf_archive__trace_size()) reads an archive as the trace it
 * holds.  Documentation/memprof-trace-format.txt specifies the layout.
 *
 * Like the rest of format/, this depends on libc, zlib and zstd only and
 * never prints: 0 or a negative errno, NULL with errno set.
 */
#ifndef MEMPROF_FORMAT_ARCHIVE_H
#define MEMPROF_FORMAT_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/mpf.h"

#define MPF_ARCHIVE_MAGIC	"MPARCHIV"	/* 8 bytes, first of the trailer */
#define MPF_ARCHIVE_VERSION	1	/* a reader refuses a newer one */
#define MPF_ARCHIVE_TRAILER	48	/* bytes of the trailer */
/*
 * How far an entry may expand: its file is at most MPF_ARCHIVE_RATIO_MAX
 * times its stored bytes, plus MPF_ARCHIVE_SLACK.  ELF and DWARF files
 * compress 3 to 13 times at zstd level 9; one much further past that is
 * mostly a repeated byte, a zstd bomb's shape, and is neither written nor
 * extracted.
 */
#define MPF_ARCHIVE_RATIO_MAX	128
#define MPF_ARCHIVE_SLACK	(1u << 20)

enum mpf_archive_kind {
	MPF_ARCHIVE_ELF = 1,	/* the file that was mapped */
	MPF_ARCHIVE_DEBUG = 2,	/* its separate debug info (.debug file) */
};

struct mpf_archive_entry {
	uint32_t kind;		/* enum mpf_archive_kind */
	uint32_t build_id_len;	/* 1 .. MPF_BUILD_ID_MAX */
	uint8_t build_id[MPF_BUILD_ID_MAX];
	const char *path;	/* the path the trace recorded, for messages */
	uint64_t offset;	/* of the stored (compressed) bytes in the archive */
	uint64_t stored_size;
	uint64_t size;		/* of the file once extracted */
};

/* ---- writing ---- */

struct mpf_archive_writer;

/*
 * Creates (truncates) path and copies into it the first trace_size bytes of
 * trace_fd, the trace the archive holds.  NULL with errno set on failure.
 */
struct mpf_archive_writer *mpf_archive_writer__open(const char *path, int trace_fd,
						    uint64_t trace_size);
/*
 * Appends the whole content of fd, compressed, as an entry (kind, build-id,
 * path).  -EFBIG, and nothing added, when it compresses more than
 * MPF_ARCHIVE_RATIO_MAX times: readers would refuse to extract it.
 */
int mpf_archive_writer__add(struct mpf_archive_writer *w, enum mpf_archive_kind kind,
			    const uint8_t *build_id, uint32_t build_id_len, const char *path,
			    int fd);
/* Writes the table of contents and the trailer, fsyncs and closes; frees w in every case. */
int mpf_archive_writer__close(struct mpf_archive_writer *w);
/* Closes and frees w without finishing the archive (the caller removes the file). */
void mpf_archive_writer__abort(struct mpf_archive_writer *w);

/* ---- reading ---- */

struct mpf_archive;

/*
 * Opens path and reads its table of contents.  On failure NULL and *err:
 * -ENOMSG when the file has no archive trailer (a plain trace, say),
 * -EBADMSG when the trailer or the table is damaged, -EPROTONOSUPPORT for a
 * newer archive version, or an errno of open or read.
 */
struct mpf_archive *mpf_archive__open(const char *path, int *err);
void mpf_archive__close(struct mpf_archive *a);
/* The bytes of the trace at the start of the archive. */
uint64_t mpf_archive__trace_size(const struct mpf_archive *a);
size_t mpf_archive__nr_entries(const struct mpf_archive *a);
const struct mpf_archive_entry *mpf_archive__entry(const struct mpf_archive *a, size_t i);
/* The entry of this kind and build-id, or NULL. */
const struct mpf_archive_entry *mpf_archive__find(const struct mpf_archive *a,
						  enum mpf_archive_kind kind,
						  const uint8_t *build_id, uint32_t build_id_len);
/*
 * Writes the entry's file, decompressed, to out_fd at its current offset.
 * -EBADMSG when the stored data is damaged (a zstd or checksum error, a
 * size other than the table's, no ELF magic at its start); -EFBIG when it
 * would expand past MPF_ARCHIVE_RATIO_MAX times its stored size, told from
 * the table before anything is decompressed and checked against the bytes
 * read so far as it streams.  Extraction stops at the first such mismatch;
 * out_fd may then hold part of the file, at most MPF_ARCHIVE_SLACK past the
 * ratio of what was read.
 */
int mpf_archive__extract(struct mpf_archive *a, const struct mpf_archive_entry *e, int out_fd);

#endif
