/*
 * Unit tests of format/archive.c and elf/buildid-cache.c: an archive's
 * round trip (the trace byte for byte, each embedded file back as it was),
 * its trace read through a limited reader (complete, and cut inside the
 * archive, which must read as cut, not as damaged), the refusal of damaged
 * and foreign trailers and tables, damage in an embedded file caught at
 * extraction, and the build-id cache's paths and atomic adds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "format/archive.h"
#include "format/codec.h"
#include "elf/buildid-cache.h"
#include "format/mpf.h"
#include "tests/unit/unit.h"

static const struct mpf_header hdr = { .page_size = 4096, .start_time = 1000, .events = 2 };
static const uint8_t bid1[20] = { 0xce, 0x25, 0xcd, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
				  12, 13, 14, 15, 16 };
static const uint8_t bid2[8] = { 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89 };

/* Writes a small trace of n heap allocations; with end, an END record last. */
static void write_trace(const char *path, int n, bool end)
{
	struct mpf_writer_opts wo = { .chunk_size = 256 };
	struct mpf_writer *w = mpf_writer__open(path, &hdr, &wo);
	struct mpf_record rec = { .type = MPF_REC_HEAP_ALLOC, .time = 2000 };

	REQUIRE(w);
	for (int i = 0; i < n; i++) {
		rec.heap_alloc = (struct mpf_heap_alloc){ .pid = 1, .tid = 1, .ptr = 0x1000 + i * 64,
							  .size = 64 };
		CHECK(!mpf_writer__write(w, &rec));
	}
	if (end) {
		rec = (struct mpf_record){ .type = MPF_REC_END, .time = 3000 };
		CHECK(!mpf_writer__write(w, &rec));
	}
	CHECK(!mpf_writer__close(w));
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	REQUIRE(fd >= 0);
	CHECK(write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf && read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

/* Builds trace + two files into archive; returns the trace's size. */
static uint64_t make_archive(const char *archive, const char *trace, bool end, uint8_t *big,
			     size_t big_len)
{
	char elf[256];
	struct mpf_archive_writer *w;
	struct stat st;
	int tfd, fd;

	write_trace(trace, 500, end);
	unit__path(elf, sizeof(elf), "elf.bin");
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 7 + i / 1000);
	memcpy(big, "\177ELF", 4);	/* what every entry is */
	write_file(elf, big, big_len);
	tfd = open(trace, O_RDONLY | O_CLOEXEC);
	if (tfd < 0 || fstat(tfd, &st))
		return 0;
	w = mpf_archive_writer__open(archive, tfd, (uint64_t)st.st_size);
	close(tfd);
	if (!w)
		return 0;
	fd = open(elf, O_RDONLY | O_CLOEXEC);
	CHECK(!mpf_archive_writer__add(w, MPF_ARCHIVE_ELF, bid1, sizeof(bid1), "/usr/bin/app", fd));
	CHECK(mpf_archive_writer__add(w, 7, bid1, sizeof(bid1), "/x", fd) == -EINVAL);
	close(fd);
	/* An empty file is a file too. */
	write_file(elf, "", 0);
	fd = open(elf, O_RDONLY | O_CLOEXEC);
	CHECK(!mpf_archive_writer__add(w, MPF_ARCHIVE_DEBUG, bid2, sizeof(bid2), "/lib/x.so", fd));
	close(fd);
	CHECK(!mpf_archive_writer__close(w));
	return (uint64_t)st.st_size;
}

/* Reads the trace in path (limited to limit bytes when not 0): records, and the status. */
static int count_records(const char *path, uint64_t limit, struct mpf_reader_status *st)
{
	struct mpf_record rec;
	struct mpf_reader *r;
	int err, n = 0;

	r = mpf_reader__open(path, &err);
	if (!r)
		return -1;
	if (limit)
		mpf_reader__set_limit(r, limit);
	while (mpf_reader__next(r, &rec) > 0)
		n++;
	mpf_reader__status(r, st);
	mpf_reader__close(r);
	return n;
}

static void test_roundtrip(void)
{
	char trace[256], archive[256], out[256];
	const struct mpf_archive_entry *e;
	struct mpf_reader_status st;
	struct mpf_archive *a;
	size_t big_len = 300000, tlen, alen, olen;
	uint8_t *big = malloc(big_len), *tbuf, *abuf, *obuf;
	uint64_t tsize;
	int err, fd;

	REQUIRE(big);
	unit__path(trace, sizeof(trace), "t.data");
	unit__path(archive, sizeof(archive), "t.archive");
	unit__path(out, sizeof(out), "extracted");
	tsize = make_archive(archive, trace, true, big, big_len);
	REQUIRE(tsize > 0);

	/* The trace, byte for byte, at the start. */
	tbuf = read_file(trace, &tlen);
	abuf = read_file(archive, &alen);
	REQUIRE(tbuf && abuf);
	CHECK(alen > tlen && !memcmp(tbuf, abuf, tlen));
	/* Compressed: the pattern is very regular. */
	CHECK(alen < tlen + big_len / 4);

	a = mpf_archive__open(archive, &err);
	REQUIRE(a);
	CHECK(mpf_archive__trace_size(a) == tsize);
	CHECK(mpf_archive__nr_entries(a) == 2);
	CHECK(mpf_archive__entry(a, 2) == NULL);
	e = mpf_archive__find(a, MPF_ARCHIVE_ELF, bid1, sizeof(bid1));
	REQUIRE(e);
	CHECK(!strcmp(e->path, "/usr/bin/app") && e->size == big_len);
	CHECK(!mpf_archive__find(a, MPF_ARCHIVE_DEBUG, bid1, sizeof(bid1)));
	CHECK(!mpf_archive__find(a, MPF_ARCHIVE_ELF, bid1, sizeof(bid1) - 1));
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	REQUIRE(fd >= 0);
	CHECK(!mpf_archive__extract(a, e, fd));
	close(fd);
	obuf = read_file(out, &olen);
	CHECK(obuf && olen == big_len && !memcmp(obuf, big, big_len));
	free(obuf);

	e = mpf_archive__find(a, MPF_ARCHIVE_DEBUG, bid2, sizeof(bid2));
	REQUIRE(e);
	CHECK(!strcmp(e->path, "/lib/x.so") && e->size == 0);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(!mpf_archive__extract(a, e, fd));
	close(fd);
	mpf_archive__close(a);

	/* Read as a trace: every record, complete, through the limit or without it. */
	CHECK(count_records(archive, tsize, &st) == 501);
	CHECK(st.complete && !st.truncated && !st.corrupt);
	CHECK(count_records(trace, 0, &st) == 501);

	/* A plain trace is no archive. */
	CHECK(!mpf_archive__open(trace, &err) && err == -ENOMSG);
	CHECK(!mpf_archive__open("/nonexistent/x", &err) && err == -ENOENT);
	free(tbuf);
	free(abuf);
	free(big);
}

/* A trace cut by the recorder, archived: read as cut at the same place, not as damaged. */
static void test_cut_trace(void)
{
	char trace[256], cut[256], archive[256];
	struct mpf_archive_writer *w;
	struct mpf_reader_status st, want;
	size_t len;
	uint8_t *buf;
	int n, want_n, tfd;

	unit__path(trace, sizeof(trace), "c.data");
	unit__path(cut, sizeof(cut), "c-cut.data");
	unit__path(archive, sizeof(archive), "c.archive");
	write_trace(trace, 500, false);
	buf = read_file(trace, &len);
	REQUIRE(buf && len > 300);
	/* Cut inside a chunk, as a killed recorder leaves it. */
	write_file(cut, buf, len - 100);
	want_n = count_records(cut, 0, &want);
	CHECK(want.truncated && !want.complete && !want.corrupt);

	tfd = open(cut, O_RDONLY | O_CLOEXEC);
	w = mpf_archive_writer__open(archive, tfd, len - 100);
	close(tfd);
	REQUIRE(w);
	/* Embedded data right after the cut chunk that could pass for its payload. */
	tfd = open(trace, O_RDONLY | O_CLOEXEC);
	CHECK(!mpf_archive_writer__add(w, MPF_ARCHIVE_ELF, bid1, sizeof(bid1), "/a", tfd));
	close(tfd);
	CHECK(!mpf_archive_writer__close(w));

	n = count_records(archive, len - 100, &st);
	CHECK(n == want_n);
	CHECK(st.truncated && !st.corrupt && !st.complete && st.bad_offset == want.bad_offset);
	free(buf);
}

static void test_damaged(void)
{
	char trace[256], archive[256], bad[256], out[256];
	const struct mpf_archive_entry *e;
	struct mpf_archive *a;
	size_t big_len = 100000, alen;
	uint8_t *big = malloc(big_len), *abuf;
	int err, fd;

	REQUIRE(big);
	unit__path(trace, sizeof(trace), "d.data");
	unit__path(archive, sizeof(archive), "d.archive");
	unit__path(bad, sizeof(bad), "d-bad.archive");
	unit__path(out, sizeof(out), "d-out");
	REQUIRE(make_archive(archive, trace, true, big, big_len) > 0);
	abuf = read_file(archive, &alen);
	REQUIRE(abuf && alen > MPF_ARCHIVE_TRAILER);

	/* Every byte of the trailer is checked: magic, version, sizes, CRCs. */
	for (size_t i = alen - MPF_ARCHIVE_TRAILER; i < alen; i++) {
		abuf[i] ^= 0x20;
		write_file(bad, abuf, alen);
		a = mpf_archive__open(bad, &err);
		CHECK(!a && (err == -EBADMSG || err == -ENOMSG));
		mpf_archive__close(a);
		abuf[i] ^= 0x20;
	}
	/* The table of contents is covered by its CRC. */
	abuf[alen - MPF_ARCHIVE_TRAILER - 3] ^= 1;
	write_file(bad, abuf, alen);
	CHECK(!mpf_archive__open(bad, &err) && err == -EBADMSG);
	abuf[alen - MPF_ARCHIVE_TRAILER - 3] ^= 1;
	/* Cut: the trailer is gone, so it is no archive (a cut trace, if anything). */
	write_file(bad, abuf, alen - 1);
	CHECK(!mpf_archive__open(bad, &err) && err == -ENOMSG);

	/* Damage inside an embedded file: open works, extraction says so. */
	a = mpf_archive__open(archive, &err);
	REQUIRE(a);
	e = mpf_archive__find(a, MPF_ARCHIVE_ELF, bid1, sizeof(bid1));
	REQUIRE(e);
	abuf[e->offset + e->stored_size / 2] ^= 0x55;
	mpf_archive__close(a);
	write_file(bad, abuf, alen);
	a = mpf_archive__open(bad, &err);
	REQUIRE(a);
	e = mpf_archive__find(a, MPF_ARCHIVE_ELF, bid1, sizeof(bid1));
	REQUIRE(e);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(mpf_archive__extract(a, e, fd) == -EBADMSG);
	close(fd);
	mpf_archive__close(a);
	free(abuf);
	free(big);
}

static void test_buildid_cache(void)
{
	char dir[256], path[512], src[256], *old_env, *old_home;
	size_t len;
	uint8_t *got;
	int fd;

	unit__path(dir, sizeof(dir), "cache");
	CHECK(!buildid_cache__path("/c", MPF_ARCHIVE_ELF, bid1, sizeof(bid1), path,
				       sizeof(path)));
	CHECK(!strcmp(path, "/c/.build-id/ce/25cd08010203040506070809" "0a0b0c0d0e0f10"));
	CHECK(!buildid_cache__path("/c", MPF_ARCHIVE_DEBUG, bid2, sizeof(bid2), path,
				       sizeof(path)));
	CHECK(!strcmp(path, "/c/.build-id/ab/cdef0123456789.debug"));
	CHECK(buildid_cache__path("/c", MPF_ARCHIVE_ELF, bid2, 0, path, sizeof(path)) ==
	      -EINVAL);
	CHECK(buildid_cache__path("/c", MPF_ARCHIVE_ELF, bid2, 8, path, 10) == -ENAMETOOLONG);

	/* The directory: $MEMPROF_BUILDID_DIR, else $XDG_CACHE_HOME/memprof, else ~/.cache. */
	old_env = getenv("MEMPROF_BUILDID_DIR") ? strdup(getenv("MEMPROF_BUILDID_DIR")) : NULL;
	old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	setenv("MEMPROF_BUILDID_DIR", "/x/y", 1);
	CHECK(!buildid_cache__dir(path, sizeof(path)) && !strcmp(path, "/x/y"));
	unsetenv("MEMPROF_BUILDID_DIR");
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	CHECK(!buildid_cache__dir(path, sizeof(path)) && !strcmp(path, "/xdg/memprof"));
	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", "/home/u", 1);
	CHECK(!buildid_cache__dir(path, sizeof(path)) &&
	      !strcmp(path, "/home/u/.cache/memprof"));
	unsetenv("XDG_CACHE_HOME");
	if (old_env)
		setenv("MEMPROF_BUILDID_DIR", old_env, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	else
		unsetenv("HOME");
	free(old_env);
	free(old_home);

	/* Added once, whole, with its directories made. */
	unit__path(src, sizeof(src), "cache-src");
	write_file(src, "0123456789abcdef", 16);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CHECK(buildid_cache__add(dir, MPF_ARCHIVE_DEBUG, bid2, sizeof(bid2), fd) == 1);
	CHECK(buildid_cache__add(dir, MPF_ARCHIVE_DEBUG, bid2, sizeof(bid2), fd) == 0);
	close(fd);
	buildid_cache__path(dir, MPF_ARCHIVE_DEBUG, bid2, sizeof(bid2), path, sizeof(path));
	got = read_file(path, &len);
	CHECK(got && len == 16 && !memcmp(got, "0123456789abcdef", 16));
	free(got);
}

/*
 * A zstd bomb: 64 MiB of zeros after an ELF magic, a few KiB stored.  The
 * writer takes it back out; an archive holding it anyway (written by hand)
 * has it refused before anything is decompressed when its table says its
 * size, and stopped within a MiB of output when the table understates it.
 * A file that does not start as an ELF file stops at its first bytes.
 */
static void test_bomb(void)
{
	size_t size = 64u << 20, zcap = ZSTD_compressBound(size), zlen;
	uint8_t *zeros = calloc(1, size), *z = malloc(zcap), *abuf, *toc;
	char trace[256], archive[256], file[256];
	struct mpf_archive_writer *w;
	struct mpf_archive_entry e;
	struct mpf_archive *a;
	struct stat st;
	size_t tlen, alen;
	int fd, out, err;

	REQUIRE(zeros && z);
	memcpy(zeros, "\177ELF", 4);
	unit__path(trace, sizeof(trace), "bomb.data");
	unit__path(archive, sizeof(archive), "bomb.archive");
	unit__path(file, sizeof(file), "bomb.elf");
	write_trace(trace, 10, true);
	write_file(file, zeros, size);
	fd = open(trace, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0 && !fstat(fd, &st));
	w = mpf_archive_writer__open(archive, fd, (uint64_t)st.st_size);
	close(fd);
	REQUIRE(w);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	CHECK(mpf_archive_writer__add(w, MPF_ARCHIVE_ELF, bid1, sizeof(bid1), "/bomb", fd) ==
	      -EFBIG);
	close(fd);
	CHECK(!mpf_archive_writer__close(w));
	abuf = read_file(archive, &alen);
	CHECK(abuf && alen == (size_t)st.st_size + MPF_ARCHIVE_TRAILER);
	free(abuf);

	/* By hand: the trace, the frame, a table of one entry, the trailer. */
	zlen = ZSTD_compress(z, zcap, zeros, size, 19);
	REQUIRE(!ZSTD_isError(zlen) && zlen < size / MPF_ARCHIVE_RATIO_MAX);
	abuf = read_file(trace, &tlen);
	REQUIRE(abuf);
	e = (struct mpf_archive_entry){ .kind = MPF_ARCHIVE_ELF, .build_id_len = sizeof(bid1),
					.offset = tlen, .stored_size = zlen, .size = size };
	memcpy(e.build_id, bid1, sizeof(bid1));
	for (int understated = 0; understated < 2; understated++) {
		uint8_t t[64], tr[MPF_ARCHIVE_TRAILER];
		size_t toc_len = 36 + sizeof(bid1);

		toc = t;
		mpf_put_le32(toc, e.kind);
		mpf_put_le32(toc + 4, 1);
		mpf_put_le64(toc + 8, e.offset);
		mpf_put_le64(toc + 16, e.stored_size);
		/* Understated: the table claims what the ratio allows, the frame holds more. */
		mpf_put_le64(toc + 24, understated ? (uint64_t)zlen * MPF_ARCHIVE_RATIO_MAX : size);
		mpf_put_le16(toc + 32, (uint16_t)sizeof(bid1));
		mpf_put_le16(toc + 34, 0);
		memcpy(toc + 36, bid1, sizeof(bid1));
		memcpy(tr, MPF_ARCHIVE_MAGIC, 8);
		mpf_put_le16(tr + 8, MPF_ARCHIVE_VERSION);
		mpf_put_le16(tr + 10, 0);
		mpf_put_le32(tr + 12, 1);
		mpf_put_le64(tr + 16, tlen);
		mpf_put_le64(tr + 24, tlen + zlen);
		mpf_put_le64(tr + 32, toc_len);
		mpf_put_le32(tr + 40, (uint32_t)crc32(crc32(0L, Z_NULL, 0), toc, (uInt)toc_len));
		mpf_put_le32(tr + 44, (uint32_t)crc32(crc32(0L, Z_NULL, 0), tr, 44));
		fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		REQUIRE(fd >= 0);
		CHECK(write(fd, abuf, tlen) == (ssize_t)tlen);
		CHECK(write(fd, z, zlen) == (ssize_t)zlen);
		CHECK(write(fd, toc, toc_len) == (ssize_t)toc_len);
		CHECK(write(fd, tr, sizeof(tr)) == (ssize_t)sizeof(tr));
		close(fd);
		a = mpf_archive__open(archive, &err);
		REQUIRE(a);
		out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		REQUIRE(out >= 0);
		err = mpf_archive__extract(a, mpf_archive__entry(a, 0), out);
		CHECK(understated ? err == -EFBIG || err == -EBADMSG : err == -EFBIG);
		CHECK(!fstat(out, &st));
		CHECK(understated ? (uint64_t)st.st_size <= zlen * MPF_ARCHIVE_RATIO_MAX
				  : st.st_size == 0);
		close(out);
		mpf_archive__close(a);
	}
	free(abuf);

	/* No ELF magic: stopped at the first output. */
	memset(zeros, 0, 4);
	write_trace(trace, 10, true);
	fd = open(trace, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0 && !fstat(fd, &st));
	w = mpf_archive_writer__open(archive, fd, (uint64_t)st.st_size);
	close(fd);
	REQUIRE(w);
	write_file(file, zeros, 1000);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	CHECK(!mpf_archive_writer__add(w, MPF_ARCHIVE_ELF, bid1, sizeof(bid1), "/not-elf", fd));
	close(fd);
	CHECK(!mpf_archive_writer__close(w));
	a = mpf_archive__open(archive, &err);
	REQUIRE(a);
	out = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(mpf_archive__extract(a, mpf_archive__entry(a, 0), out) == -EBADMSG);
	CHECK(!fstat(out, &st) && st.st_size == 0);
	close(out);
	mpf_archive__close(a);
	free(zeros);
	free(z);
}

const struct unit_test archive_tests[] = {
	{ "archive_roundtrip", test_roundtrip },
	{ "archive_cut_trace", test_cut_trace },
	{ "archive_damaged", test_damaged },
	{ "archive_bomb", test_bomb },
	{ "archive_buildid_cache", test_buildid_cache },
	{},
};
