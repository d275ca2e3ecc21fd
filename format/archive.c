/*
 * Writing and reading memprof archives (format/archive.h): the trace, the
 * embedded files as zstd frames with content checksums, the table of
 * contents, the trailer.  The reader treats the archive as untrusted input:
 * the trailer and every entry are checked against the file's size before
 * anything is allocated or read, and extraction stops at the size the table
 * gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "format/archive.h"
#include "format/codec.h"
#include "lib/io.h"

/* Fuzzing builds ignore the CRCs, so that mutations reach what they guard. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MPF_FUZZING 1
#else
#define MPF_FUZZING 0
#endif

#define ARCHIVE_ENTRY_FIXED	36	/* bytes of an entry before its build-id and path */
#define ARCHIVE_TOC_MAX		(64u << 20)
#define ARCHIVE_LEVEL		9	/* files are compressed once and read often */
#define ARCHIVE_FLAG_ZSTD	0x1	/* the stored bytes are one zstd frame */
#define COPY_BUF		(128u << 10)
#define ELF_MAGIC		"\177ELF"

/* The most a file of stored bytes may expand to, saturated. */
static uint64_t expansion_max(uint64_t stored)
{
	if (stored > (UINT64_MAX - MPF_ARCHIVE_SLACK) / MPF_ARCHIVE_RATIO_MAX)
		return UINT64_MAX;
	return stored * MPF_ARCHIVE_RATIO_MAX + MPF_ARCHIVE_SLACK;
}

struct mpf_archive_writer {
	int fd;
	uint64_t off;			/* where the next byte goes */
	uint64_t trace_size;
	struct mpf_archive_entry *entries;
	size_t nr, cap;
	ZSTD_CCtx *cctx;
	uint8_t *in, *out;
	size_t out_size;
};

struct mpf_archive {
	int fd;
	uint64_t trace_size;
	struct mpf_archive_entry *entries;
	size_t nr;
	char *paths;			/* every entry's path, NUL-terminated */
};

static int writer__write(struct mpf_archive_writer *w, const void *buf, size_t len)
{
	int err = write_full(w->fd, buf, len);

	if (!err)
		w->off += len;
	return err;
}

struct mpf_archive_writer *mpf_archive_writer__open(const char *path, int trace_fd,
						    uint64_t trace_size)
{
	struct mpf_archive_writer *w = calloc(1, sizeof(*w));
	uint64_t done = 0;
	ssize_t n;
	int err;

	if (!w)
		return NULL;
	w->fd = -1;
	w->out_size = ZSTD_CStreamOutSize();
	w->in = malloc(COPY_BUF);
	w->out = malloc(w->out_size);
	w->cctx = ZSTD_createCCtx();
	if (!w->in || !w->out || !w->cctx) {
		err = -ENOMEM;
		goto fail;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, ARCHIVE_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1))) {
		err = -EINVAL;
		goto fail;
	}
	/* 0600 as the trace: its page ids are kernel addresses (see the format spec). */
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		err = -errno;
		goto fail;
	}
	while (done < trace_size) {
		size_t len = trace_size - done < COPY_BUF ? (size_t)(trace_size - done) : COPY_BUF;

		n = pread_full(trace_fd, w->in, len, done);
		if (n < 0) {
			err = (int)n;
			goto fail;
		}
		if ((size_t)n < len) {
			err = -EIO;	/* the trace shrank under us */
			goto fail;
		}
		err = writer__write(w, w->in, len);
		if (err)
			goto fail;
		done += len;
	}
	w->trace_size = trace_size;
	return w;
fail:
	mpf_archive_writer__abort(w);
	errno = -err;
	return NULL;
}

int mpf_archive_writer__add(struct mpf_archive_writer *w, enum mpf_archive_kind kind,
			    const uint8_t *build_id, uint32_t build_id_len, const char *path,
			    int fd)
{
	struct mpf_archive_entry *e;
	uint64_t in_off = 0, start = w->off;
	size_t path_len = strlen(path);
	bool last = false;
	int err;

	if ((kind != MPF_ARCHIVE_ELF && kind != MPF_ARCHIVE_DEBUG) || !build_id_len ||
	    build_id_len > MPF_BUILD_ID_MAX || path_len > MPF_PATH_MAX)
		return -EINVAL;
	if (w->nr == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		void *p = realloc(w->entries, cap * sizeof(*w->entries));

		if (!p)
			return -ENOMEM;
		w->entries = p;
		w->cap = cap;
	}
	ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_only);
	while (!last) {
		ssize_t n = pread_full(fd, w->in, COPY_BUF, in_off);
		ZSTD_inBuffer in;
		size_t left;

		if (n < 0)
			return (int)n;
		in_off += (uint64_t)n;
		last = (size_t)n < COPY_BUF;
		in = (ZSTD_inBuffer){ w->in, (size_t)n, 0 };
		do {
			ZSTD_outBuffer out = { w->out, w->out_size, 0 };

			left = ZSTD_compressStream2(w->cctx, &out, &in,
						    last ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left))
				return -EIO;
			err = writer__write(w, w->out, out.pos);
			if (err)
				return err;
		} while (last ? left != 0 : in.pos < in.size);
	}
	if (in_off > expansion_max(w->off - start)) {
		/* Readers would refuse it: take it back out. */
		if (lseek(w->fd, (off_t)start, SEEK_SET) < 0 || ftruncate(w->fd, (off_t)start))
			return -errno;
		w->off = start;
		return -EFBIG;
	}
	e = &w->entries[w->nr];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	if (!e->path)
		return -ENOMEM;
	e->kind = kind;
	e->build_id_len = build_id_len;
	memcpy(e->build_id, build_id, build_id_len);
	e->offset = start;
	e->stored_size = w->off - start;
	e->size = in_off;
	w->nr++;
	return 0;
}

static void writer__free(struct mpf_archive_writer *w)
{
	for (size_t i = 0; i < w->nr; i++)
		free((char *)w->entries[i].path);
	free(w->entries);
	ZSTD_freeCCtx(w->cctx);
	free(w->in);
	free(w->out);
	free(w);
}

void mpf_archive_writer__abort(struct mpf_archive_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	writer__free(w);
}

int mpf_archive_writer__close(struct mpf_archive_writer *w)
{
	uint8_t trailer[MPF_ARCHIVE_TRAILER], *toc = NULL, *p;
	uint64_t toc_off = w->off;
	size_t toc_size = 0;
	int err;

	for (size_t i = 0; i < w->nr; i++)
		toc_size += ARCHIVE_ENTRY_FIXED + w->entries[i].build_id_len +
			    strlen(w->entries[i].path);
	if (toc_size > ARCHIVE_TOC_MAX) {
		err = -EFBIG;
		goto out;
	}
	p = toc = malloc(toc_size ? toc_size : 1);
	if (!toc) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < w->nr; i++) {
		const struct mpf_archive_entry *e = &w->entries[i];
		size_t plen = strlen(e->path);

		mpf_put_le32(p, e->kind);
		mpf_put_le32(p + 4, ARCHIVE_FLAG_ZSTD);
		mpf_put_le64(p + 8, e->offset);
		mpf_put_le64(p + 16, e->stored_size);
		mpf_put_le64(p + 24, e->size);
		mpf_put_le16(p + 32, (uint16_t)e->build_id_len);
		mpf_put_le16(p + 34, (uint16_t)plen);
		memcpy(p + ARCHIVE_ENTRY_FIXED, e->build_id, e->build_id_len);
		memcpy(p + ARCHIVE_ENTRY_FIXED + e->build_id_len, e->path, plen);
		p += ARCHIVE_ENTRY_FIXED + e->build_id_len + plen;
	}
	err = writer__write(w, toc, toc_size);
	if (err)
		goto out;

	memcpy(trailer, MPF_ARCHIVE_MAGIC, 8);
	mpf_put_le16(trailer + 8, MPF_ARCHIVE_VERSION);
	mpf_put_le16(trailer + 10, 0);
	mpf_put_le32(trailer + 12, (uint32_t)w->nr);
	mpf_put_le64(trailer + 16, w->trace_size);
	mpf_put_le64(trailer + 24, toc_off);
	mpf_put_le64(trailer + 32, toc_size);
	mpf_put_le32(trailer + 40, (uint32_t)crc32(crc32(0L, Z_NULL, 0), toc, (uInt)toc_size));
	mpf_put_le32(trailer + 44, (uint32_t)crc32(crc32(0L, Z_NULL, 0), trailer, 44));
	err = writer__write(w, trailer, sizeof(trailer));
	if (!err && fsync(w->fd))
		err = -errno;
out:
	free(toc);
	if (close(w->fd) && !err)
		err = -errno;
	w->fd = -1;
	writer__free(w);
	return err;
}

/* ---- reading ---- */

static int archive__read_toc(struct mpf_archive *a, const uint8_t *toc, size_t toc_size,
			     uint32_t nr, uint64_t toc_off)
{
	const uint8_t *p = toc, *end = toc + toc_size;
	char *path;

	/* Each entry takes at least its fixed part, so nr is bounded by the table's size. */
	if (nr > toc_size / ARCHIVE_ENTRY_FIXED)
		return -EBADMSG;
	a->entries = calloc(nr ? nr : 1, sizeof(*a->entries));
	/* Paths take at most what the table holds, plus a NUL each. */
	a->paths = malloc(toc_size + nr + 1);
	if (!a->entries || !a->paths)
		return -ENOMEM;
	path = a->paths;
	for (uint32_t i = 0; i < nr; i++) {
		struct mpf_archive_entry *e = &a->entries[i];
		uint32_t flags;
		uint16_t idlen, plen;

		if ((size_t)(end - p) < ARCHIVE_ENTRY_FIXED)
			return -EBADMSG;
		e->kind = mpf_get_le32(p);
		flags = mpf_get_le32(p + 4);
		e->offset = mpf_get_le64(p + 8);
		e->stored_size = mpf_get_le64(p + 16);
		e->size = mpf_get_le64(p + 24);
		idlen = mpf_get_le16(p + 32);
		plen = mpf_get_le16(p + 34);
		p += ARCHIVE_ENTRY_FIXED;
		if ((e->kind != MPF_ARCHIVE_ELF && e->kind != MPF_ARCHIVE_DEBUG) ||
		    flags != ARCHIVE_FLAG_ZSTD || !idlen || idlen > MPF_BUILD_ID_MAX ||
		    plen > MPF_PATH_MAX || (size_t)(end - p) < (size_t)idlen + plen)
			return -EBADMSG;
		/* The stored bytes lie between the trace and the table. */
		if (e->offset < a->trace_size || e->offset > toc_off ||
		    e->stored_size > toc_off - e->offset)
			return -EBADMSG;
		e->build_id_len = idlen;
		memcpy(e->build_id, p, idlen);
		memcpy(path, p + idlen, plen);
		if (memchr(path, '\0', plen))
			return -EBADMSG;
		path[plen] = '\0';
		e->path = path;
		path += plen + 1;
		p += idlen + plen;
	}
	if (p != end)
		return -EBADMSG;
	a->nr = nr;
	return 0;
}

struct mpf_archive *mpf_archive__open(const char *path, int *err)
{
	uint8_t trailer[MPF_ARCHIVE_TRAILER], *toc = NULL;
	uint64_t toc_off, toc_size, size;
	struct mpf_archive *a;
	struct stat st;
	ssize_t n;
	int ret;

	a = calloc(1, sizeof(*a));
	if (!a) {
		ret = -ENOMEM;
		goto fail;
	}
	a->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (a->fd < 0) {
		ret = -errno;
		goto fail;
	}
	if (fstat(a->fd, &st)) {
		ret = -errno;
		goto fail;
	}
	/* A pipe or a device has no end to find a trailer at: not an archive. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < MPF_ARCHIVE_TRAILER) {
		ret = -ENOMSG;
		goto fail;
	}
	size = (uint64_t)st.st_size;
	n = pread_full(a->fd, trailer, sizeof(trailer), size - sizeof(trailer));
	if (n < 0) {
		ret = (int)n;
		goto fail;
	}
	if ((size_t)n < sizeof(trailer) || memcmp(trailer, MPF_ARCHIVE_MAGIC, 8)) {
		ret = -ENOMSG;
		goto fail;
	}
	if (mpf_get_le32(trailer + 44) != (uint32_t)crc32(crc32(0L, Z_NULL, 0), trailer, 44) &&
	    !MPF_FUZZING) {
		ret = -EBADMSG;
		goto fail;
	}
	if (mpf_get_le16(trailer + 8) > MPF_ARCHIVE_VERSION) {
		ret = -EPROTONOSUPPORT;
		goto fail;
	}
	a->trace_size = mpf_get_le64(trailer + 16);
	toc_off = mpf_get_le64(trailer + 24);
	toc_size = mpf_get_le64(trailer + 32);
	if (mpf_get_le16(trailer + 8) == 0 || toc_size > ARCHIVE_TOC_MAX ||
	    toc_off > size - sizeof(trailer) || toc_size != size - sizeof(trailer) - toc_off ||
	    a->trace_size > toc_off) {
		ret = -EBADMSG;
		goto fail;
	}
	toc = malloc(toc_size ? toc_size : 1);
	if (!toc) {
		ret = -ENOMEM;
		goto fail;
	}
	n = pread_full(a->fd, toc, toc_size, toc_off);
	if (n < 0) {
		ret = (int)n;
		goto fail;
	}
	if ((uint64_t)n != toc_size ||
	    (mpf_get_le32(trailer + 40) != (uint32_t)crc32(crc32(0L, Z_NULL, 0), toc, (uInt)n) &&
	     !MPF_FUZZING)) {
		ret = -EBADMSG;
		goto fail;
	}
	ret = archive__read_toc(a, toc, toc_size, mpf_get_le32(trailer + 12), toc_off);
	if (ret)
		goto fail;
	free(toc);
	return a;
fail:
	free(toc);
	mpf_archive__close(a);
	if (err)
		*err = ret;
	errno = -ret;
	return NULL;
}

void mpf_archive__close(struct mpf_archive *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a->entries);
	free(a->paths);
	free(a);
}

uint64_t mpf_archive__trace_size(const struct mpf_archive *a)
{
	return a->trace_size;
}

size_t mpf_archive__nr_entries(const struct mpf_archive *a)
{
	return a->nr;
}

const struct mpf_archive_entry *mpf_archive__entry(const struct mpf_archive *a, size_t i)
{
	return i < a->nr ? &a->entries[i] : NULL;
}

const struct mpf_archive_entry *mpf_archive__find(const struct mpf_archive *a,
						  enum mpf_archive_kind kind,
						  const uint8_t *build_id, uint32_t build_id_len)
{
	for (size_t i = 0; i < a->nr; i++) {
		const struct mpf_archive_entry *e = &a->entries[i];

		if (e->kind == (uint32_t)kind && e->build_id_len == build_id_len &&
		    !memcmp(e->build_id, build_id, build_id_len))
			return e;
	}
	return NULL;
}

/*
 * Whether the output so far is still what an entry may be: no more than the
 * input read so far may expand to (a zstd bomb is caught at its first
 * blocks, not at the size its table claims), and an ELF file's magic first.
 */
static int extract__check(uint64_t in_used, uint64_t produced, const uint8_t *out, size_t n,
			  uint8_t *magic)
{
	if (produced + n > expansion_max(in_used))
		return -EFBIG;
	for (size_t i = 0; produced + i < 4 && i < n; i++)
		magic[produced + i] = out[i];
	if (produced < 4 && produced + n >= 4 && memcmp(magic, ELF_MAGIC, 4))
		return -EBADMSG;
	return 0;
}

int mpf_archive__extract(struct mpf_archive *a, const struct mpf_archive_entry *e, int out_fd)
{
	size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize(), left = 1;
	uint64_t in_off = 0, produced = 0;
	uint8_t *inb = NULL, *outb = NULL, magic[4];
	ZSTD_DCtx *dctx = NULL;
	int err = 0;

	/* Refused before anything is read or allocated: its size is out of bounds. */
	if (e->size > expansion_max(e->stored_size))
		return -EFBIG;
	inb = malloc(in_cap);
	outb = malloc(out_cap);
	dctx = ZSTD_createDCtx();
	if (!inb || !outb || !dctx) {
		err = -ENOMEM;
		goto out;
	}
	while (in_off < e->stored_size) {
		size_t len = e->stored_size - in_off < in_cap ? (size_t)(e->stored_size - in_off)
							       : in_cap;
		ssize_t n = pread_full(a->fd, inb, len, e->offset + in_off);
		ZSTD_inBuffer in;

		if (n < 0) {
			err = (int)n;
			goto out;
		}
		if ((size_t)n < len) {
			err = -EBADMSG;		/* the archive was cut */
			goto out;
		}
		in_off += len;
		in = (ZSTD_inBuffer){ inb, len, 0 };
		while (in.pos < in.size) {
			ZSTD_outBuffer o = { outb, out_cap, 0 };

			/* One frame only: bytes after its end are damage. */
			if (left == 0) {
				err = -EBADMSG;
				goto out;
			}
			left = ZSTD_decompressStream(dctx, &o, &in);
			if (ZSTD_isError(left) || o.pos > e->size - produced) {
				err = -EBADMSG;
				goto out;
			}
			err = extract__check(in_off - len + in.pos, produced, outb, o.pos, magic);
			if (err)
				goto out;
			produced += o.pos;
			err = write_full(out_fd, outb, o.pos);
			if (err)
				goto out;
		}
	}
	/* All input read: what the decoder still holds is flushed. */
	while (left != 0) {
		ZSTD_inBuffer in = { inb, 0, 0 };
		ZSTD_outBuffer o = { outb, out_cap, 0 };

		left = ZSTD_decompressStream(dctx, &o, &in);
		if (ZSTD_isError(left) || o.pos > e->size - produced) {
			err = -EBADMSG;
			goto out;
		}
		if (!o.pos)
			break;
		err = extract__check(in_off, produced, outb, o.pos, magic);
		if (err)
			goto out;
		produced += o.pos;
		err = write_full(out_fd, outb, o.pos);
		if (err)
			goto out;
	}
	/* The frame must be whole (its checksum verified at its end) and the size right. */
	if (left != 0 || produced != e->size || (produced < 4 && produced))
		err = -EBADMSG;
out:
	ZSTD_freeDCtx(dctx);
	free(inb);
	free(outb);
	return err;
}
