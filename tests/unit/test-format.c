/*
 * Unit tests of format/: round trips of every record type, chunking and its
 * per-chunk delta state, stack interning, and the reader's behaviour on cut,
 * damaged, crafted and random files (it must never crash and must return the
 * sound prefix).  Records are compared through a canonical text form that
 * prints every field, so a mismatch anywhere shows up as a string mismatch.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "format/codec.h"
#include "format/mpf.h"
#include "tests/unit/unit.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct mpf_header test_hdr = {
	.page_size = 4096,
	.start_time = 5000000000ull,
	.start_realtime = 1700000000000000000ull,
	.events = 1u << MPF_EV_PAGE | 1u << MPF_EV_HEAP,
};

/* ---- helpers ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so every run tests the same files. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

struct strbuf {
	char *buf;
	size_t size, len;
};

static void sb_add(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->len >= sb->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->len += (size_t)n;
}

/*
 * Every field of a record as text; two records are equal when their texts
 * are.  Thread-local: a reader's stage calls it in the reader's thread.
 */
static char *rec_fmt(const struct mpf_record *r)
{
	static _Thread_local char buf[32768];
	struct strbuf sb = { buf, sizeof(buf), 0 };
	const char *name = mpf_rec_name(r->type);
	uint32_t i;

	sb_add(&sb, "%s t=%" PRIu64, name ? name : "?", r->time);
	switch (r->type) {
	case MPF_REC_INFO:
		sb_add(&sb, " %s=%s", r->info.key, r->info.value);
		break;
	case MPF_REC_COMM:
		sb_add(&sb, " %u/%u %s", r->comm.pid, r->comm.tid, r->comm.comm);
		break;
	case MPF_REC_FORK:
		sb_add(&sb, " %u->%u", r->fork.ppid, r->fork.pid);
		break;
	case MPF_REC_EXEC:
		sb_add(&sb, " %u %s", r->exec.pid, r->exec.filename);
		break;
	case MPF_REC_EXIT:
		sb_add(&sb, " %u %d", r->exit.pid, r->exit.status);
		break;
	case MPF_REC_FILE:
		sb_add(&sb, " %u ", r->file.id);
		for (i = 0; i < r->file.build_id_len; i++)
			sb_add(&sb, "%02x", r->file.build_id[i]);
		sb_add(&sb, " %s", r->file.path);
		break;
	case MPF_REC_MAP:
		sb_add(&sb, " %u %u %x %" PRIx64 "-%" PRIx64 " %" PRIx64, r->map.pid,
		       r->map.file_id, r->map.prot, r->map.start, r->map.end, r->map.pgoff);
		break;
	case MPF_REC_STACK:
		sb_add(&sb, " %u %x %u", r->stack.id, r->stack.flags, r->stack.nr);
		for (i = 0; i < r->stack.nr; i++)
			sb_add(&sb, " %" PRIx64, r->stack.ips[i]);
		break;
	case MPF_REC_FRAME:
		sb_add(&sb, " %u %x %u", r->frame.id, r->frame.flags, r->frame.nr);
		for (i = 0; i < r->frame.nr; i++)
			sb_add(&sb, " %" PRIx64, r->frame.ips[i]);
		break;
	case MPF_REC_STACK_NODE:
		sb_add(&sb, " %u<%u %x %u", r->stack_node.id, r->stack_node.parent,
		       r->stack_node.flags, r->stack_node.nr);
		for (i = 0; i < r->stack_node.nr; i++)
			sb_add(&sb, " %u", r->stack_node.frames[i]);
		break;
	case MPF_REC_PAGE_ALLOC:
		sb_add(&sb, " %u/%u o%u g%x p%" PRIx64 " s%u", r->page_alloc.pid,
		       r->page_alloc.tid, r->page_alloc.order, r->page_alloc.gfp,
		       r->page_alloc.page, r->page_alloc.stack_id);
		break;
	case MPF_REC_PAGE_FREE:
		sb_add(&sb, " %u o%u f%x p%" PRIx64 " h%" PRIx64, r->page_free.pid,
		       r->page_free.order, r->page_free.flags, r->page_free.page,
		       r->page_free.head);
		break;
	case MPF_REC_HEAP_ALLOC:
		sb_add(&sb, " %u/%u %s s%u %" PRIx64 " %" PRIu64, r->heap_alloc.pid,
		       r->heap_alloc.tid, mpf_heap_func_name(r->heap_alloc.func),
		       r->heap_alloc.stack_id, r->heap_alloc.ptr, r->heap_alloc.size);
		break;
	case MPF_REC_HEAP_FREE:
		sb_add(&sb, " %u/%u %" PRIx64, r->heap_free.pid, r->heap_free.tid,
		       r->heap_free.ptr);
		break;
	case MPF_REC_HEAP_REALLOC:
		sb_add(&sb, " %u/%u s%u %" PRIx64 "->%" PRIx64 " %" PRIu64, r->heap_realloc.pid,
		       r->heap_realloc.tid, r->heap_realloc.stack_id, r->heap_realloc.old_ptr,
		       r->heap_realloc.ptr, r->heap_realloc.size);
		break;
	case MPF_REC_LOST:
		sb_add(&sb, " %s %" PRIu64, mpf_lost_name(r->lost.event), r->lost.count);
		break;
	case MPF_REC_END:
		for (i = 0; i < MPF_LOST__MAX; i++)
			sb_add(&sb, " %" PRIu64 "/%" PRIu64, r->end.events[i], r->end.lost[i]);
		break;
	}
	return strdup(buf);
}

struct recs {
	char **v;
	size_t n, cap;
};

static void recs_add(struct recs *rs, const struct mpf_record *r)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->v = realloc(rs->v, rs->cap * sizeof(*rs->v));
		if (!rs->v)
			abort();
	}
	rs->v[rs->n++] = rec_fmt(r);
}

static void recs_free(struct recs *rs)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		free(rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

/* True when a's records are b's records from index off on (a may be shorter). */
static bool recs_match(const struct recs *a, const struct recs *b, size_t off)
{
	size_t i;

	if (off + a->n > b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[off + i]))
			return false;
	return true;
}

/*
 * Reads a whole file into rs; returns the open error, or the last
 * mpf_reader__next() result (0 when reading ended normally).
 */
static int read_all(const char *path, struct recs *rs, struct mpf_reader_status *st,
		    struct mpf_header *hdr)
{
	struct mpf_reader *r;
	struct mpf_record rec;
	int err = 0, ret;

	memset(st, 0, sizeof(*st));
	r = mpf_reader__open(path, &err);
	if (!r)
		return err ? err : -1;
	if (hdr)
		*hdr = *mpf_reader__header(r);
	while ((ret = mpf_reader__next(r, &rec)) == 1)
		recs_add(rs, &rec);
	/* Once stopped, it stays stopped. */
	if (ret == 0 && mpf_reader__next(r, &rec) != 0)
		ret = -1;
	mpf_reader__status(r, st);
	mpf_reader__close(r);
	return ret;
}

/* A new file each time: truncating one with data in it costs ext4 a writeout. */
static void write_file(const char *path, const void *buf, size_t len)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat sb;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb))
		abort();
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf || read(fd, buf, (size_t)sb.st_size) != sb.st_size)
		abort();
	close(fd);
	*len = (size_t)sb.st_size;
	return buf;
}

/* Offsets of the chunks of a well-formed file, and the records in each. */
struct chunk_map {
	size_t n;
	size_t off[4096];
	size_t end[4096];
	size_t nrec[4096];
	size_t first[4096];	/* index of the chunk's first record in the file */
};

static void chunk_map(const uint8_t *buf, size_t len, struct chunk_map *m)
{
	size_t off = MPF_HEADER_SIZE, first = 0;

	m->n = 0;
	while (off + MPF_CHUNK_HDR_SIZE <= len && m->n < ARRAY_SIZE(m->off)) {
		m->off[m->n] = off;
		m->nrec[m->n] = mpf_get_le32(buf + off + 16);
		m->first[m->n] = first;
		first += m->nrec[m->n];
		off += MPF_CHUNK_HDR_SIZE + mpf_get_le32(buf + off + 8);
		m->end[m->n] = off;
		m->n++;
	}
}

/* Records of the chunks that end at or before len. */
static size_t records_before(const struct chunk_map *m, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < m->n && m->end[i] <= len; i++)
		n += m->nrec[i];
	return n;
}

static size_t chunk_at(const struct chunk_map *m, size_t off)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (off < m->end[i])
			return i;
	return m->n;
}

/* Storage that a generated record's strings and ips point to. */
struct gen {
	char s1[64];
	char s2[256];
	uint64_t ips[MPF_STACK_MAX];
	uint32_t fids[MPF_STACK_MAX];
};

/*
 * A varied record of every type but END, deterministic in i: times go
 * slightly backwards at times, pointers and pages jump around, values hit
 * the extremes of their types now and then.
 */
static void gen_record(uint64_t i, struct mpf_record *r, struct gen *g)
{
	static const uint32_t types[] = {
		MPF_REC_INFO, MPF_REC_COMM, MPF_REC_FORK, MPF_REC_EXEC, MPF_REC_EXIT,
		MPF_REC_FILE, MPF_REC_MAP, MPF_REC_STACK, MPF_REC_PAGE_ALLOC,
		MPF_REC_PAGE_FREE, MPF_REC_HEAP_ALLOC, MPF_REC_HEAP_FREE, MPF_REC_HEAP_REALLOC,
		MPF_REC_LOST, MPF_REC_FRAME, MPF_REC_STACK_NODE,
	};
	uint64_t x = rng();
	uint32_t k;

	memset(r, 0, sizeof(*r));
	r->type = types[i % ARRAY_SIZE(types)];
	r->time = test_hdr.start_time + i * 1000 - x % 3000;
	if (i % 97 == 5)
		r->time = UINT64_MAX - x % 7;	/* a wild clock must survive too */
	switch (r->type) {
	case MPF_REC_INFO:
		snprintf(g->s1, sizeof(g->s1), "key%" PRIu64, i);
		snprintf(g->s2, sizeof(g->s2), "value %" PRIx64, x);
		r->info.key = g->s1;
		r->info.value = i % 3 ? g->s2 : "";
		break;
	case MPF_REC_COMM:
		r->comm.pid = (uint32_t)x;
		r->comm.tid = (uint32_t)(x >> 32);
		snprintf(r->comm.comm, sizeof(r->comm.comm), "t%" PRIx64, x);
		break;
	case MPF_REC_FORK:
		r->fork.ppid = (uint32_t)x;
		r->fork.pid = UINT32_MAX - (uint32_t)i;
		break;
	case MPF_REC_EXEC:
		r->exec.pid = (uint32_t)i;
		snprintf(g->s2, sizeof(g->s2), "/usr/bin/prog-%" PRIu64, x);
		r->exec.filename = g->s2;
		break;
	case MPF_REC_EXIT:
		r->exit.pid = (uint32_t)i;
		r->exit.status = i % 2 ? INT32_MIN + (int32_t)(x % 5) : (int32_t)(x % 256) << 8;
		break;
	case MPF_REC_FILE:
		r->file.id = (uint32_t)i + 1;
		r->file.build_id_len = (uint32_t)(x % (MPF_BUILD_ID_MAX + 1));
		for (k = 0; k < r->file.build_id_len; k++)
			r->file.build_id[k] = (uint8_t)(x >> (k % 8 * 8)) ^ (uint8_t)k;
		snprintf(g->s2, sizeof(g->s2), "/usr/lib/x86_64-linux-gnu/libfoo%" PRIu64 ".so", i);
		r->file.path = g->s2;
		break;
	case MPF_REC_MAP:
		r->map.pid = (uint32_t)x;
		r->map.file_id = (uint32_t)i % 5;
		r->map.prot = (uint32_t)x & 7;
		r->map.start = x & ~0xfffull;
		r->map.end = i % 2 ? r->map.start + 0x21000 : UINT64_MAX;
		r->map.pgoff = x >> 20;
		break;
	case MPF_REC_STACK:
		r->stack.id = (uint32_t)i + 1;
		r->stack.flags = (uint32_t)x & 3;
		r->stack.nr = 1 + (uint32_t)(x % 40);
		if (i % 50 == 7)
			r->stack.nr = MPF_STACK_MAX;
		for (k = 0; k < r->stack.nr; k++)
			g->ips[k] = k % 3 ? 0x7f0000000000ull + rng() % 0x100000000ull
					  : 0x400000 + rng() % 0x10000;
		if (i % 11 == 3)
			g->ips[0] = UINT64_MAX;
		r->stack.ips = g->ips;
		break;
	case MPF_REC_FRAME:
		r->frame.id = i % 9 == 4 ? UINT32_MAX : (uint32_t)i + 1;
		r->frame.flags = (uint32_t)x & 1;
		r->frame.nr = i % 50 == 17 ? MPF_STACK_MAX : 1 + (uint32_t)(x % 7);
		for (k = 0; k < r->frame.nr; k++)
			g->ips[k] = k % 2 ? 0x7f0000000000ull + rng() % 0x100000000ull : rng();
		r->frame.ips = g->ips;
		break;
	case MPF_REC_STACK_NODE:
		r->stack_node.id = (uint32_t)i * 3 + 1;
		r->stack_node.parent = i % 4 ? (uint32_t)(x % (i + 1)) : i % 8 ? 0 : UINT32_MAX;
		r->stack_node.flags = (uint32_t)(x >> 8) & MPF_STACK_TRUNCATED;
		r->stack_node.nr = i % 50 == 18 ? MPF_STACK_MAX : 1 + (uint32_t)(x % 9);
		for (k = 0; k < r->stack_node.nr; k++)
			g->fids[k] = k % 3 ? (uint32_t)rng() % 5000 + 1 : (uint32_t)rng();
		r->stack_node.frames = g->fids;
		break;
	case MPF_REC_PAGE_ALLOC:
		r->page_alloc.pid = (uint32_t)x % 100000;
		r->page_alloc.tid = r->page_alloc.pid + (uint32_t)(x >> 40) % 3;
		r->page_alloc.order = (uint32_t)(x >> 8) % 11;
		r->page_alloc.gfp = 0xcc0;
		r->page_alloc.page = i % 5 ? 0x3ffff000000ull / 64 + i : x;
		r->page_alloc.stack_id = (uint32_t)(x >> 16) % 1000;
		break;
	case MPF_REC_PAGE_FREE:
		r->page_free.pid = (uint32_t)x % 100000;
		r->page_free.order = (uint32_t)(x >> 8) % 11;
		r->page_free.flags = (uint32_t)i & MPF_PAGE_FREE_EXITING;
		r->page_free.page = 0x3ffff000000ull / 64 + i;
		r->page_free.head = i % 3 ? r->page_free.page : r->page_free.page - x % 512;
		break;
	case MPF_REC_HEAP_ALLOC:
		r->heap_alloc.pid = (uint32_t)x % 100000;
		r->heap_alloc.tid = r->heap_alloc.pid;
		r->heap_alloc.func = (uint32_t)(x >> 20) % MPF_HEAP__MAX;
		r->heap_alloc.stack_id = (uint32_t)(x >> 30) % 1000;
		r->heap_alloc.ptr = i % 4 ? 0x55d0c0000000ull + (x >> 40) * 16 : x;
		r->heap_alloc.size = i % 13 ? x % 100000 : UINT64_MAX;
		break;
	case MPF_REC_HEAP_FREE:
		r->heap_free.pid = (uint32_t)x % 100000;
		r->heap_free.tid = 0;
		r->heap_free.ptr = i % 4 ? 0x55d0c0000000ull + (x >> 40) * 16 : 0;
		break;
	case MPF_REC_HEAP_REALLOC:
		r->heap_realloc.pid = (uint32_t)x % 100000;
		r->heap_realloc.tid = UINT32_MAX;
		r->heap_realloc.stack_id = (uint32_t)i;
		r->heap_realloc.old_ptr = i % 3 ? 0x55d0c0000000ull + (x >> 40) * 16 : 0;
		r->heap_realloc.ptr = i % 5 ? 0x55d0c0000000ull + (x >> 44) * 32 : 0;
		r->heap_realloc.size = x >> 50;
		break;
	case MPF_REC_LOST:
		r->lost.event = (uint32_t)i % MPF_LOST__MAX;
		r->lost.count = x;
		break;
	}
}

static void end_record(struct mpf_record *r, uint64_t time)
{
	memset(r, 0, sizeof(*r));
	r->type = MPF_REC_END;
	r->time = time;
	r->end.events[MPF_EV_PAGE] = 123456789;
	r->end.lost[MPF_EV_PAGE] = 3;
	r->end.events[MPF_EV_HEAP] = UINT64_MAX;
	r->end.lost[MPF_EV_HEAP] = 0;
	r->end.events[MPF_LOST_PROC] = 4000;
	r->end.lost[MPF_LOST_PROC] = 83;
}

/*
 * Writes n generated records and an END with the given chunk size; the
 * records written, as text, go to expect.
 */
static int write_trace(const char *path, size_t n, size_t chunk_size, struct recs *expect,
		       struct mpf_writer_stats *stats)
{
	struct mpf_writer_opts opts = { .chunk_size = chunk_size };
	struct mpf_writer *w;
	struct mpf_record rec;
	static struct gen g;
	size_t i;
	int err;

	rng_state = 0x1234567887654321ull;
	w = mpf_writer__open(path, &test_hdr, &opts);
	if (!w)
		return -errno;
	for (i = 0; i < n; i++) {
		gen_record(i, &rec, &g);
		err = mpf_writer__write(w, &rec);
		if (err)
			goto out;
		recs_add(expect, &rec);
	}
	end_record(&rec, test_hdr.start_time + n * 1000);
	err = mpf_writer__write(w, &rec);
	if (err)
		goto out;
	recs_add(expect, &rec);
	if (stats) {
		err = mpf_writer__flush(w);
		mpf_writer__stats(w, stats);
	}
out:
	if (err) {
		mpf_writer__close(w);
		return err;
	}
	return mpf_writer__close(w);
}

/* Appends a chunk of the given raw records, stored uncompressed, with a true CRC. */
static size_t put_chunk(uint8_t *out, const uint8_t *raw, size_t len, uint32_t nrec)
{
	struct mpf_chunk_hdr ch = {
		.flags = 0,
		.comp_size = (uint32_t)len,
		.raw_size = (uint32_t)len,
		.nr_records = nrec,
		.crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), raw, (uInt)len),
	};

	mpf_chunk_hdr__encode(&ch, out);
	memcpy(out + MPF_CHUNK_HDR_SIZE, raw, len);
	return MPF_CHUNK_HDR_SIZE + len;
}

/* Appends one framed record: type, time delta, payload length, payload. */
static size_t put_rec(uint8_t *out, uint64_t type, uint64_t dt, const uint8_t *payload,
		      size_t len)
{
	uint8_t *p = out;

	p = mpf_put_varint(p, type);
	p = mpf_put_varint(p, dt);
	p = mpf_put_varint(p, len);
	if (len)
		memcpy(p, payload, len);
	return (size_t)(p + len - out);
}

/* A file of the test header and the given chunk bytes. */
static void write_with_chunks(const char *path, const uint8_t *chunks, size_t len)
{
	static uint8_t buf[1 << 16];

	mpf_header__encode(&test_hdr, buf);
	memcpy(buf + MPF_HEADER_SIZE, chunks, len);
	write_file(path, buf, MPF_HEADER_SIZE + len);
}

/* ---- tests ---- */

static void test_names(void)
{
	CHECK(!strcmp(mpf_event_name(MPF_EV_PAGE), "page"));
	CHECK(!strcmp(mpf_event_name(MPF_EV_HEAP), "heap"));
	CHECK(mpf_event_name(MPF_EV__MAX) == NULL);
	CHECK(!strcmp(mpf_lost_name(MPF_EV_HEAP), "heap"));
	CHECK(!strcmp(mpf_lost_name(MPF_LOST_PROC), "process"));
	CHECK(mpf_lost_name(MPF_LOST__MAX) == NULL);
	/* Process events are always recorded: no -e names them. */
	CHECK(mpf_event_parse("process") == -EINVAL);
	CHECK(mpf_event_parse("page") == MPF_EV_PAGE);
	CHECK(mpf_event_parse("heap") == MPF_EV_HEAP);
	CHECK(mpf_event_parse("pages") == -EINVAL);
	CHECK(mpf_event_parse("") == -EINVAL);
	CHECK(mpf_event_parse(NULL) == -EINVAL);
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_MALLOC), "malloc"));
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_CALLOC), "calloc"));
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_REALLOC), "realloc"));
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_POSIX_MEMALIGN), "posix_memalign"));
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_ALIGNED_ALLOC), "aligned_alloc"));
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_MEMALIGN), "memalign"));
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_VALLOC), "valloc"));
	CHECK(!strcmp(mpf_heap_func_name(MPF_HEAP_FREE), "free"));
	CHECK(mpf_heap_func_name(MPF_HEAP__MAX) == NULL);
	CHECK(!strcmp(mpf_rec_name(MPF_REC_INFO), "info"));
	CHECK(!strcmp(mpf_rec_name(MPF_REC_PAGE_ALLOC), "page_alloc"));
	CHECK(!strcmp(mpf_rec_name(MPF_REC_END), "end"));
	CHECK(mpf_rec_name(0) == NULL);
	CHECK(mpf_rec_name(MPF_REC__MAX) == NULL);
}

/* The INFO "heap-children": written and read back; what is not one, refused. */
static void test_heap_children(void)
{
	struct mpf_heap_children c = { .missed = 1996, .late = 4, .delay_ms = 31, .nparents = 2 },
				 back;
	static const char *const bad[] = {
		"", "missed=1", "missed=x late=0 delay-ms=0 parents=",
		"missed=1 late=0 delay-ms=0 parents=12", "missed=1 late=0 delay-ms=0 parents=12:1",
		"missed=1 late=0 delay-ms=0 parents=12:1:0;", "missed=1 late=0 delay-ms=0 parents=4294967296:1:0",
		"missed=99999999999999999999 late=0 delay-ms=0 parents=",
	};
	char buf[512];

	c.parents[0].pid = 1234;
	c.parents[0].missed = 1990;
	c.parents[1].pid = 77;
	c.parents[1].missed = 6;
	c.parents[1].late = 4;
	mpf_heap_children_format(&c, buf, sizeof(buf));
	CHECK(!strcmp(buf, "missed=1996 late=4 delay-ms=31 parents=1234:1990:0,77:6:4"));
	CHECK(mpf_heap_children_parse(buf, &back));
	CHECK(back.missed == 1996 && back.late == 4 && back.delay_ms == 31 && back.nparents == 2);
	CHECK(back.parents[1].pid == 77 && back.parents[1].missed == 6 && back.parents[1].late == 4);
	mpf_heap_children_describe(&back, buf, sizeof(buf));
	CHECK(!strcmp(buf, "the heap of 1996 children was not recorded (gone before their probes "
			   "were placed), of 4 only from up to 31 ms after their fork (children of "
			   "PID 1234: 1990 and 0, 77: 6 and 4); record with --heap-probes=all to "
			   "have them from their first instruction"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!mpf_heap_children_parse(bad[i], &back));
	/* More parents than the trace keeps: the first ones. */
	CHECK(mpf_heap_children_parse("missed=0 late=9 delay-ms=1 parents=1:0:1,2:0:1,3:0:1,4:0:1,"
				      "5:0:1,6:0:1,7:0:1,8:0:1,9:0:1", &back));
	CHECK(back.nparents == MPF_HEAP_PARENTS && back.parents[7].pid == 8);
}

static void test_codec(void)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 16383, 16384, UINT32_MAX,
					 (uint64_t)UINT32_MAX + 1, INT64_MAX, UINT64_MAX - 1,
					 UINT64_MAX };
	uint8_t buf[16], *end;
	struct mpf_dec d;
	uint64_t v;
	uint32_t v32;
	size_t i, k;

	for (i = 0; i < ARRAY_SIZE(vals); i++) {
		end = mpf_put_varint(buf, vals[i]);
		CHECK((size_t)(end - buf) == mpf_varint_len(vals[i]));
		CHECK(end - buf <= MPF_VARINT_MAX);
		mpf_dec__init(&d, buf, (size_t)(end - buf));
		CHECK(mpf_dec__get_u64(&d, &v) == 0 && v == vals[i] && !mpf_dec__left(&d));
		/* Every cut of it is an overrun, never a read past the end. */
		for (k = 0; k < (size_t)(end - buf); k++) {
			mpf_dec__init(&d, buf, k);
			CHECK(mpf_dec__get_u64(&d, &v) == -EBADMSG);
		}
		mpf_dec__init(&d, buf, (size_t)(end - buf));
		CHECK(mpf_dec__get_u32(&d, &v32) == (vals[i] > UINT32_MAX ? -EBADMSG : 0));
		CHECK(mpf_unzigzag64(mpf_zigzag64(vals[i])) == vals[i]);
		CHECK(mpf_unzigzag32(mpf_zigzag32((uint32_t)vals[i])) == (uint32_t)vals[i]);
	}
	CHECK(mpf_zigzag64(0) == 0 && mpf_zigzag64((uint64_t)-1) == 1 && mpf_zigzag64(1) == 2);
	CHECK(mpf_zigzag64((uint64_t)INT64_MIN) == UINT64_MAX);
	CHECK(mpf_zigzag32((uint32_t)-2) == 3);

	/* Eleven bytes, or a tenth byte above 1, is not a u64. */
	memset(buf, 0xff, 10);
	buf[10] = 0;
	mpf_dec__init(&d, buf, 11);
	CHECK(mpf_dec__get_u64(&d, &v) == -EBADMSG);
	buf[9] = 2;
	mpf_dec__init(&d, buf, 10);
	CHECK(mpf_dec__get_u64(&d, &v) == -EBADMSG);
	buf[9] = 1;
	mpf_dec__init(&d, buf, 10);
	CHECK(mpf_dec__get_u64(&d, &v) == 0 && v == UINT64_MAX);

	/* Strings: length, bytes, NUL. */
	const char *s;
	size_t len;

	memcpy(buf, "\x03" "abc\0", 5);
	mpf_dec__init(&d, buf, 5);
	CHECK(mpf_dec__get_str(&d, 3, &s, &len) == 0 && len == 3 && !strcmp(s, "abc"));
	mpf_dec__init(&d, buf, 5);
	CHECK(mpf_dec__get_str(&d, 2, &s, &len) == -EBADMSG);
	mpf_dec__init(&d, buf, 4);
	CHECK(mpf_dec__get_str(&d, 3, &s, &len) == -EBADMSG);
	buf[4] = 'x';
	mpf_dec__init(&d, buf, 5);
	CHECK(mpf_dec__get_str(&d, 3, &s, &len) == -EBADMSG);
	memcpy(buf, "\x03" "a\0c\0", 5);
	mpf_dec__init(&d, buf, 5);
	CHECK(mpf_dec__get_str(&d, 3, &s, &len) == -EBADMSG);
}

static void test_roundtrip(void)
{
	static char long_path[MPF_PATH_MAX + 1];
	static uint64_t ips[MPF_STACK_MAX];
	static uint32_t fids[MPF_STACK_MAX];
	struct mpf_record recs[40], rec;
	struct recs expect = {}, got = {};
	struct mpf_reader_status st;
	struct mpf_writer_stats stats;
	struct mpf_header hdr;
	struct mpf_writer *w;
	char path[4096];
	size_t n = 0, i;
	uint32_t k;

	memset(long_path, 'p', MPF_PATH_MAX);
	long_path[0] = '/';
	for (k = 0; k < MPF_STACK_MAX; k++) {
		ips[k] = 0x7fff00000000ull - k * 0x1234567ull;
		fids[k] = k * 40503u + 1;
	}
	memset(recs, 0, sizeof(recs));

	recs[n].type = MPF_REC_INFO;
	recs[n].time = test_hdr.start_time;
	recs[n].info.key = "cmdline";
	recs[n++].info.value = long_path;
	recs[n].type = MPF_REC_COMM;
	recs[n].time = test_hdr.start_time - 5;	/* before the start */
	recs[n].comm.pid = 4242;
	recs[n].comm.tid = 4241;
	memcpy(recs[n++].comm.comm, "fifteen-chars!!", 16);
	recs[n].type = MPF_REC_FORK;
	recs[n].time = 0;
	recs[n].fork.ppid = 1;
	recs[n++].fork.pid = UINT32_MAX;
	recs[n].type = MPF_REC_EXEC;
	recs[n].time = UINT64_MAX;
	recs[n].exec.pid = 7;
	recs[n++].exec.filename = "/bin/true";
	recs[n].type = MPF_REC_EXIT;
	recs[n].time = test_hdr.start_time + 1;
	recs[n].exit.pid = 7;
	recs[n++].exit.status = INT32_MIN;
	recs[n].type = MPF_REC_EXIT;
	recs[n].exit.pid = 8;
	recs[n++].exit.status = 0x100;
	recs[n].type = MPF_REC_FILE;
	recs[n].file.id = 1;
	recs[n].file.build_id_len = MPF_BUILD_ID_MAX;
	for (k = 0; k < MPF_BUILD_ID_MAX; k++)
		recs[n].file.build_id[k] = (uint8_t)(k * 37);
	recs[n++].file.path = long_path;
	recs[n].type = MPF_REC_FILE;
	recs[n].file.id = UINT32_MAX;
	recs[n++].file.path = "";
	recs[n].type = MPF_REC_MAP;
	recs[n].map.pid = 4242;
	recs[n].map.file_id = 1;
	recs[n].map.prot = MPF_PROT_READ | MPF_PROT_EXEC;
	recs[n].map.start = 0x7f1234560000ull;
	recs[n].map.end = 0x7f1234590000ull;
	recs[n++].map.pgoff = 0x30000;
	recs[n].type = MPF_REC_MAP;
	recs[n].map.start = 0;
	recs[n].map.end = UINT64_MAX;
	recs[n++].map.pgoff = UINT64_MAX;
	recs[n].type = MPF_REC_STACK;
	recs[n].stack.id = 1;
	recs[n].stack.flags = MPF_STACK_FIRST_IS_IP | MPF_STACK_TRUNCATED;
	recs[n].stack.nr = MPF_STACK_MAX;
	recs[n++].stack.ips = ips;
	recs[n].type = MPF_REC_STACK;
	recs[n].stack.id = UINT32_MAX;
	recs[n].stack.nr = 1;
	recs[n++].stack.ips = ips + 10;
	recs[n].type = MPF_REC_FRAME;	/* 1.5 */
	recs[n].frame.id = 1;
	recs[n].frame.flags = MPF_FRAME_EXACT;
	recs[n].frame.nr = MPF_STACK_MAX;
	recs[n++].frame.ips = ips;
	recs[n].type = MPF_REC_FRAME;
	recs[n].frame.id = UINT32_MAX;
	recs[n].frame.nr = 1;
	recs[n++].frame.ips = (const uint64_t[]){ UINT64_MAX };
	recs[n].type = MPF_REC_STACK_NODE;
	recs[n].stack_node.id = 7;
	recs[n].stack_node.parent = 0;
	recs[n].stack_node.flags = MPF_STACK_TRUNCATED;
	recs[n].stack_node.nr = MPF_STACK_MAX;
	recs[n++].stack_node.frames = fids;
	recs[n].type = MPF_REC_STACK_NODE;
	recs[n].stack_node.id = UINT32_MAX;
	recs[n].stack_node.parent = 7 + MPF_STACK_MAX - 1;
	recs[n].stack_node.nr = 1;
	recs[n++].stack_node.frames = (const uint32_t[]){ UINT32_MAX };
	recs[n].type = MPF_REC_PAGE_ALLOC;
	recs[n].page_alloc.pid = 4242;
	recs[n].page_alloc.tid = 4243;
	recs[n].page_alloc.order = 3;
	recs[n].page_alloc.gfp = 0x140dca;
	recs[n].page_alloc.page = 0x3ffff0001234ull;
	recs[n++].page_alloc.stack_id = UINT32_MAX;
	recs[n].type = MPF_REC_PAGE_ALLOC;
	recs[n].page_alloc.tid = UINT32_MAX;
	recs[n].page_alloc.order = MPF_PAGE_ORDER_MAX;
	recs[n++].page_alloc.page = 0;
	recs[n].type = MPF_REC_PAGE_FREE;
	recs[n].page_free.pid = 4242;
	recs[n].page_free.order = 1;
	recs[n].page_free.flags = MPF_PAGE_FREE_EXITING;
	recs[n].page_free.page = 0x3ffff0001236ull;
	recs[n++].page_free.head = 0x3ffff0001234ull;
	recs[n].type = MPF_REC_PAGE_FREE;
	recs[n].page_free.page = UINT64_MAX;
	recs[n++].page_free.head = 0;
	recs[n].type = MPF_REC_HEAP_ALLOC;
	recs[n].heap_alloc.pid = 4242;
	recs[n].heap_alloc.tid = 4250;
	recs[n].heap_alloc.func = MPF_HEAP_POSIX_MEMALIGN;
	recs[n].heap_alloc.stack_id = 1;
	recs[n].heap_alloc.ptr = 0x55d0c0a01230ull;
	recs[n++].heap_alloc.size = UINT64_MAX;
	recs[n].type = MPF_REC_HEAP_FREE;
	recs[n].heap_free.pid = 4242;
	recs[n].heap_free.tid = 0;
	recs[n++].heap_free.ptr = 0x55d0c0a01230ull;
	recs[n].type = MPF_REC_HEAP_REALLOC;
	recs[n].heap_realloc.pid = 4242;
	recs[n].heap_realloc.tid = 4242;
	recs[n].heap_realloc.stack_id = 2;
	recs[n].heap_realloc.old_ptr = 0;
	recs[n].heap_realloc.ptr = 0x55d0c0a01230ull;
	recs[n++].heap_realloc.size = 100;
	recs[n].type = MPF_REC_HEAP_REALLOC;
	recs[n].heap_realloc.old_ptr = 0x55d0c0a01230ull;
	recs[n].heap_realloc.ptr = 0;
	recs[n++].heap_realloc.size = 0;
	recs[n].type = MPF_REC_LOST;
	recs[n].lost.event = MPF_EV_HEAP;
	recs[n++].lost.count = UINT64_MAX;
	recs[n].type = MPF_REC_LOST;
	recs[n].lost.event = MPF_LOST_PROC;	/* 1.3 */
	recs[n++].lost.count = 44;
	end_record(&recs[n++], test_hdr.start_time + 1000);

	unit__path(path, sizeof(path), "roundtrip.mpf");
	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	for (i = 0; i < n; i++) {
		CHECK(mpf_writer__write(w, &recs[i]) == 0);
		recs_add(&expect, &recs[i]);
	}
	mpf_writer__stats(w, &stats);
	CHECK(stats.records[MPF_REC_STACK] == 2 && stats.records[MPF_REC_EXIT] == 2 &&
	      stats.records[MPF_REC_FRAME] == 2 && stats.records[MPF_REC_STACK_NODE] == 2 &&
	      stats.records[MPF_REC_END] == 1);
	CHECK(stats.chunks == 0 && stats.file_bytes == MPF_HEADER_SIZE && stats.raw_bytes > 0);
	CHECK(mpf_writer__close(w) == 0);

	CHECK(read_all(path, &got, &st, &hdr) == 0);
	CHECK(got.n == expect.n);
	for (i = 0; i < got.n && i < expect.n; i++)
		if (strcmp(got.v[i], expect.v[i])) {
			printf("  got    %.200s\n  expect %.200s\n", got.v[i], expect.v[i]);
			CHECK(!"record differs");
		}
	CHECK(st.complete && !st.truncated && !st.corrupt && st.chunks == 1 && st.bad_offset == 0);
	CHECK(hdr.version_major == MPF_VERSION_MAJOR && hdr.version_minor == MPF_VERSION_MINOR);
	CHECK(hdr.page_size == test_hdr.page_size && hdr.start_time == test_hdr.start_time &&
	      hdr.start_realtime == test_hdr.start_realtime && hdr.events == test_hdr.events);

	/* A comm without a NUL within 16 bytes is cut to 15 characters. */
	recs_free(&got);
	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	memset(&rec, 0, sizeof(rec));
	rec.type = MPF_REC_COMM;
	memset(rec.comm.comm, 'x', sizeof(rec.comm.comm));
	CHECK(mpf_writer__write(w, &rec) == 0);
	CHECK(mpf_writer__close(w) == 0);
	CHECK(read_all(path, &got, &st, NULL) == 0);
	CHECK(got.n == 1 && got.n && strstr(got.v[0], " xxxxxxxxxxxxxxx") &&
	      !strstr(got.v[0], "xxxxxxxxxxxxxxxx"));
	CHECK(!st.complete && st.truncated);

	recs_free(&got);
	recs_free(&expect);
}

static void test_chunking(void)
{
	struct recs expect = {}, got = {}, part = {};
	struct mpf_reader_status st;
	struct mpf_writer_stats stats;
	static struct chunk_map m;
	char path[4096], one[4096];
	size_t len, i, k, picks[4];
	uint8_t *buf;

	unit__path(path, sizeof(path), "chunks.mpf");
	CHECK(write_trace(path, 5000, 512, &expect, &stats) == 0);
	CHECK(stats.chunks > 20);
	CHECK(stats.raw_bytes > stats.chunks * 512);
	CHECK(stats.records[MPF_REC_END] == 1 && stats.records[MPF_REC_PAGE_ALLOC] > 300);

	CHECK(read_all(path, &got, &st, NULL) == 0);
	CHECK(got.n == expect.n && recs_match(&got, &expect, 0));
	CHECK(st.complete && !st.truncated && !st.corrupt && st.chunks == stats.chunks);

	buf = slurp(path, &len);
	CHECK(len == stats.file_bytes);
	chunk_map(buf, len, &m);
	CHECK(m.n == stats.chunks && m.end[m.n - 1] == len);

	/*
	 * Each chunk alone after the header decodes to the same records: the
	 * delta state (time, pages, pointers, stacks) restarts in every chunk.
	 */
	picks[0] = 1;
	picks[1] = m.n / 2;
	picks[2] = m.n - 2;
	picks[3] = m.n - 1;
	unit__path(one, sizeof(one), "one-chunk.mpf");
	for (k = 0; k < ARRAY_SIZE(picks); k++) {
		i = picks[k];
		write_with_chunks(one, buf + m.off[i], m.end[i] - m.off[i]);
		CHECK(read_all(one, &part, &st, NULL) == 0);
		CHECK(part.n == m.nrec[i] && recs_match(&part, &expect, m.first[i]));
		CHECK(st.chunks == 1 && !st.corrupt && st.complete == (i == m.n - 1));
		recs_free(&part);
	}

	free(buf);
	recs_free(&got);
	recs_free(&expect);

	/*
	 * One chunk of 400,000 records: more than the reader's thread decodes
	 * ahead (16 MiB of decoded records), so the reader decodes the rest itself
	 * from where the thread stopped, in the delta state it had reached.
	 */
	CHECK(write_trace(path, 400000, 32u << 20, &expect, &stats) == 0);
	CHECK(stats.chunks == 1);
	CHECK(read_all(path, &got, &st, NULL) == 0);
	CHECK(got.n == expect.n && recs_match(&got, &expect, 0));
	CHECK(st.complete && !st.corrupt && st.chunks == 1);
	recs_free(&got);
	recs_free(&expect);
}

/* What the stage of test_stage() saw and made of each record, in order. */
struct stage_seen {
	struct recs seen, made;		/* each record as given to it, and as it left it */
	uint32_t *type;
	uint64_t *time;
	size_t n, cap;
};

/* The record's type and time, and rec as text in made. */
static void test_stage__note(struct stage_seen *s, const struct mpf_record *rec)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->type = realloc(s->type, s->cap * sizeof(*s->type));
		s->time = realloc(s->time, s->cap * sizeof(*s->time));
		if (!s->type || !s->time)
			abort();
	}
	s->type[s->n] = rec->type;
	s->time[s->n++] = rec->time;
	recs_add(&s->made, rec);
}

static void test_stage__free(struct stage_seen *s)
{
	recs_free(&s->seen);
	recs_free(&s->made);
	free(s->type);
	free(s->time);
}

/*
 * A stage in the manner of a model's: it takes stack definitions whole
 * (MPF_STAGE_CONSUMED) and rewrites each heap allocation's stack id.
 */
static void test_stage__fn(void *ctx, struct mpf_record *rec)
{
	struct stage_seen *s = ctx;

	recs_add(&s->seen, rec);
	if (rec->type == MPF_REC_FRAME || rec->type == MPF_REC_STACK_NODE ||
	    rec->type == MPF_REC_STACK) {
		rec->staged = MPF_STAGE_CONSUMED | 1;
	} else if (rec->type == MPF_REC_HEAP_ALLOC) {
		rec->heap_alloc.stack_id ^= 0x5555;
		rec->staged = 1;
	}
	test_stage__note(s, rec);
}

/*
 * Reads path with the stage: it must see every record the thread decodes
 * ahead, in order and as written, and the reader must return what it made
 * of each (of a record it consumed: the type, time and mark); the records
 * after the first it did not see are returned as written, unmarked.  The
 * stage runs in the reader's thread: what it saw is compared once the
 * reader is closed.  in_place: the records as mpf_reader__read() hands them,
 * else as mpf_reader__next() copies them.  Returns how many records it saw.
 */
static size_t read_staged(const char *path, const struct recs *expect, bool in_place)
{
	struct stage_seen s = {}, got = {};
	struct mpf_record rec;
	struct mpf_reader *r;
	uint32_t *staged = calloc(expect->n, sizeof(*staged));
	size_t i;
	int err = 0;

	r = mpf_reader__open(path, &err);
	CHECK(r && staged);
	if (!r || !staged)
		return 0;
	mpf_reader__set_stage(r, test_stage__fn, &s);
	while (got.n < expect->n) {
		const struct mpf_record *in = &rec;

		if ((in_place ? mpf_reader__read(r, &in) : mpf_reader__next(r, &rec)) != 1)
			break;
		staged[got.n] = in->staged;
		/* Only the type and time: the rest of a consumed record is undefined. */
		if (!in_place && (rec.staged & MPF_STAGE_CONSUMED))
			memset(&rec.info, 0, sizeof(rec) - offsetof(struct mpf_record, info));
		test_stage__note(&got, in);
	}
	mpf_reader__close(r);
	CHECK(got.n == expect->n && s.n <= got.n && recs_match(&s.seen, expect, 0));
	for (i = 0; i < got.n; i++) {
		if (i < s.n && (staged[i] & MPF_STAGE_CONSUMED)) {
			CHECK(got.type[i] == s.type[i] && got.time[i] == s.time[i]);
			CHECK(staged[i] == (MPF_STAGE_CONSUMED | 1));
			continue;
		}
		CHECK(!strcmp(got.made.v[i], i < s.n ? s.made.v[i] : expect->v[i]));
		CHECK(staged[i] == (i < s.n && got.type[i] == MPF_REC_HEAP_ALLOC));
	}
	free(staged);
	test_stage__free(&s);
	test_stage__free(&got);
	return s.n;
}

static void test_stage(void)
{
	struct recs expect = {};
	char path[4096];

	unit__path(path, sizeof(path), "stage.mpf");
	/*
	 * Chunks the threads decode and stage whole, many more than the ring's:
	 * the stage sees every record, copied out or read in place.
	 */
	CHECK(write_trace(path, 5000, 512, &expect, NULL) == 0);
	CHECK(read_staged(path, &expect, false) == expect.n);
	CHECK(read_staged(path, &expect, true) == expect.n);
	recs_free(&expect);
	/* A chunk larger than it decodes ahead: the stage ends where the thread stops. */
	CHECK(write_trace(path, 400000, 32u << 20, &expect, NULL) == 0);
	for (int in_place = 0; in_place <= 1; in_place++) {
		size_t seen = read_staged(path, &expect, in_place);

		CHECK(seen > 1000 && seen < expect.n);
	}
	recs_free(&expect);
}

/*
 * The stacks of a trace as a reader rebuilds them from its FRAME and
 * STACK_NODE records: frames and nodes by id, as the specification defines
 * them, for tests whose ids stay small.
 */
#define TREE_IDS 70000
struct tree_rebuild {
	uint64_t ip[TREE_IDS];
	uint8_t exact[TREE_IDS];
	uint32_t parent[TREE_IDS], frame[TREE_IDS];
	uint8_t truncated[TREE_IDS];
	bool defined[TREE_IDS];
	uint32_t nodes, frames;		/* records read */
};

static bool tree_rebuild__add(struct tree_rebuild *t, const struct mpf_record *r)
{
	if (r->type == MPF_REC_FRAME) {
		for (uint32_t k = 0; k < r->frame.nr; k++) {
			if (r->frame.id + k >= TREE_IDS)
				return false;
			t->ip[r->frame.id + k] = r->frame.ips[k];
			t->exact[r->frame.id + k] = r->frame.flags & MPF_FRAME_EXACT;
		}
		t->frames++;
	} else if (r->type == MPF_REC_STACK_NODE) {
		uint32_t parent = r->stack_node.parent;

		for (uint32_t k = 0; k < r->stack_node.nr; k++) {
			uint32_t id = r->stack_node.id + k;

			if (id >= TREE_IDS || (parent && !t->defined[parent]))
				return false;
			t->parent[id] = parent;
			t->frame[id] = r->stack_node.frames[k];
			t->truncated[id] = parent ? t->truncated[parent]
						  : !!(r->stack_node.flags & MPF_STACK_TRUNCATED);
			t->defined[id] = true;
			parent = id;
		}
		t->nodes++;
	}
	return true;
}

/* Whether stack id is (flags, ips, nr) as written. */
static bool tree_rebuild__is(const struct tree_rebuild *t, uint32_t id, uint32_t flags,
			     const uint64_t *ips, uint32_t nr)
{
	uint32_t k = 0;

	for (; id && k < nr; id = t->parent[id], k++) {
		uint32_t f = t->frame[id];

		if (id >= TREE_IDS || !t->defined[id] || f >= TREE_IDS || t->ip[f] != ips[k] ||
		    t->exact[f] != (k == 0 && (flags & MPF_STACK_FIRST_IS_IP)))
			return false;
		if (t->parent[id] == 0 && t->truncated[id] != !!(flags & MPF_STACK_TRUNCATED))
			return false;
	}
	return !id && k == nr;
}

static struct tree_rebuild *read_tree(const char *path, struct recs *got)
{
	struct tree_rebuild *t = calloc(1, sizeof(*t));
	struct mpf_reader *r;
	struct mpf_record rec;
	int err;

	r = t ? mpf_reader__open(path, &err) : NULL;
	if (!r) {
		free(t);
		return NULL;
	}
	while (mpf_reader__next(r, &rec) == 1) {
		if (got)
			recs_add(got, &rec);
		if (!tree_rebuild__add(t, &rec)) {
			free(t);
			t = NULL;
			break;
		}
	}
	mpf_reader__close(r);
	return t;
}

/* Stacks written as a tree: shared outer frames written once, a stack seen before costs nothing. */
static void test_stack_intern(void)
{
	uint64_t a[8] = { 0x401000, 0x401234, 0x7f0000001000, 0x7f0000002000, 0x400100 };
	uint64_t b[8] = { 0x401000, 0x401234, 0x7f0000001000, 0x7f0000002000, 0x400101 };
	static uint64_t big[MPF_STACK_MAX + 1];
	struct mpf_writer_stats stats;
	struct tree_rebuild *t;
	struct recs got = {};
	struct mpf_writer *w;
	uint32_t id, ids[20000], i;
	char path[4096];

	unit__path(path, sizeof(path), "stacks.mpf");
	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	CHECK(mpf_writer__stack(w, 1, 0, a, 5, &id) == 0 && id == 5);
	CHECK(mpf_writer__stack(w, 2, 0, a, 5, &id) == 0 && id == 5);
	/* The same frames with an exact first pc: one node more, under the same caller. */
	CHECK(mpf_writer__stack(w, 3, MPF_STACK_FIRST_IS_IP, a, 5, &id) == 0 && id == 6);
	/* Another outermost frame: every node is new, the frames are not. */
	CHECK(mpf_writer__stack(w, 4, 0, b, 5, &id) == 0 && id == 11);
	/* The outer four frames of a: a node written already, nothing written. */
	CHECK(mpf_writer__stack(w, 5, 0, a + 1, 4, &id) == 0 && id == 4);
	/* The inner four: from another root. */
	CHECK(mpf_writer__stack(w, 6, 0, a, 4, &id) == 0 && id == 15);
	CHECK(mpf_writer__stack(w, 7, MPF_STACK_TRUNCATED, a + 1, 4, &id) == 0 && id == 19);
	CHECK(mpf_writer__stack(w, 7, 0, a, 0, &id) == 0 && id == 0);
	CHECK(mpf_writer__stack(w, 7, 0, NULL, 0, &id) == 0 && id == 0);
	id = 99;
	CHECK(mpf_writer__stack(w, 8, 0, big, MPF_STACK_MAX + 1, &id) == -E2BIG && id == 0);
	CHECK(mpf_writer__stack(w, 8, 0, big, MPF_STACK_MAX, &id) == 0 && id == 19 + 512);
	CHECK(mpf_writer__stack(w, 8, 0, NULL, 3, &id) == -EINVAL);
	mpf_writer__stats(w, &stats);
	CHECK(stats.records[MPF_REC_STACK_NODE] == 6 && stats.records[MPF_REC_STACK] == 0);
	/* a's five, its exact first, b's outermost, big's 0. */
	CHECK(stats.records[MPF_REC_FRAME] == 4);

	/* Many distinct stacks under one caller: a frame and a node each. */
	for (i = 0; i < 20000; i++) {
		b[0] = 0x500000 + i;
		CHECK(mpf_writer__stack(w, 9, 0, b, 5, &ids[i]) == 0 && ids[i] == 532 + i);
	}
	for (i = 0; i < 20000; i++) {
		b[0] = 0x500000 + i;
		CHECK(mpf_writer__stack(w, 9, 0, b, 5, &id) == 0 && id == ids[i]);
	}
	CHECK(mpf_writer__stack(w, 10, 0, a, 5, &id) == 0 && id == 5);
	mpf_writer__stats(w, &stats);
	CHECK(stats.records[MPF_REC_STACK_NODE] == 6 + 20000);
	CHECK(mpf_writer__close(w) == 0);

	t = read_tree(path, &got);
	REQUIRE(t);
	CHECK(t->nodes == 6 + 20000 && t->frames == 4 + 20000);
	if (got.n >= 8) {
		CHECK(!strcmp(got.v[0], "frame t=1 1 0 5 400100 7f0000002000 7f0000001000 401234 "
					"401000"));
		CHECK(!strcmp(got.v[1], "stack_node t=1 1<0 0 5 1 2 3 4 5"));
		CHECK(!strcmp(got.v[2], "frame t=3 6 1 1 401000"));
		CHECK(!strcmp(got.v[3], "stack_node t=3 6<4 0 1 6"));
		CHECK(!strcmp(got.v[4], "frame t=4 7 0 1 400101"));
		CHECK(!strcmp(got.v[5], "stack_node t=4 7<0 0 5 7 2 3 4 5"));
		CHECK(!strcmp(got.v[6], "stack_node t=6 12<0 0 4 2 3 4 5"));
		CHECK(!strcmp(got.v[7], "stack_node t=7 16<0 2 4 1 2 3 4"));
	}
	CHECK(tree_rebuild__is(t, 5, 0, a, 5));
	CHECK(tree_rebuild__is(t, 6, MPF_STACK_FIRST_IS_IP, a, 5));
	CHECK(tree_rebuild__is(t, 4, 0, a + 1, 4));
	CHECK(tree_rebuild__is(t, 15, 0, a, 4));
	CHECK(tree_rebuild__is(t, 19, MPF_STACK_TRUNCATED, a + 1, 4));
	CHECK(!tree_rebuild__is(t, 19, 0, a + 1, 4));
	CHECK(tree_rebuild__is(t, 531, 0, big, MPF_STACK_MAX));
	for (i = 0; i < 20000; i++) {
		b[0] = 0x500000 + i;
		CHECK(tree_rebuild__is(t, ids[i], 0, b, 5));
	}
	free(t);
	recs_free(&got);
}

/*
 * Bounded tables: past half of max_stacks nodes the older half is forgotten,
 * what is found there moves to the newer half under its id, and a stack whose
 * nodes were forgotten is written again under new ids.  Stacks of 130 frames,
 * more than the writer's table of recent whole stacks holds, so that every
 * lookup goes through the tree.  Every stack the events name reads back as
 * written.
 */
static void test_stack_forget(void)
{
	struct mpf_writer_opts opts = { .max_stacks = 2048, .max_frames = 2048 };
	static uint64_t ips[130];
	struct mpf_writer_stats stats;
	struct tree_rebuild *t;
	struct mpf_writer *w;
	uint32_t ids[3000], id, before;
	char path[4096];

	for (int k = 1; k < 130; k++)
		ips[k] = 0x400000 + k * 16;
	unit__path(path, sizeof(path), "forget.mpf");
	w = mpf_writer__open(path, &test_hdr, &opts);
	REQUIRE(w);
	for (uint32_t i = 0; i < 3000; i++) {
		ips[0] = 0x900000 + i;
		CHECK(mpf_writer__stack(w, i, 0, ips, 130, &ids[i]) == 0);
		/* Stack 5 is used all along: it stays remembered. */
		ips[0] = 0x900005;
		CHECK(i < 5 || (mpf_writer__stack(w, i, 0, ips, 130, &id) == 0 && id == ids[5]));
	}
	/* The first stacks were forgotten two generations ago: written again, new ids. */
	mpf_writer__stats(w, &stats);
	before = (uint32_t)stats.records[MPF_REC_STACK_NODE];
	CHECK(before == 3000);
	ips[0] = 0x900000;
	CHECK(mpf_writer__stack(w, 3001, 0, ips, 130, &id) == 0 && id > ids[2999]);
	/* The newest is remembered. */
	ips[0] = 0x900000 + 2999;
	CHECK(mpf_writer__stack(w, 3002, 0, ips, 130, &id) == 0 && id == ids[2999]);
	mpf_writer__stats(w, &stats);
	CHECK(stats.records[MPF_REC_STACK_NODE] == before + 1);
	CHECK(mpf_writer__close(w) == 0);

	t = read_tree(path, NULL);
	REQUIRE(t);
	for (uint32_t i = 0; i < 3000; i++) {
		ips[0] = 0x900000 + i;
		CHECK(tree_rebuild__is(t, ids[i], 0, ips, 130));
	}
	free(t);
}

/* The small multi-chunk trace the damage tests cut and flip. */
static uint8_t *small_trace(struct recs *expect, size_t *len, struct chunk_map *m)
{
	char path[4096];
	uint8_t *buf;

	unit__path(path, sizeof(path), "small.mpf");
	if (write_trace(path, 60, 160, expect, NULL))
		return NULL;
	buf = slurp(path, len);
	chunk_map(buf, *len, m);
	return buf;
}

static void test_truncated(void)
{
	struct recs expect = {}, got = {};
	struct mpf_reader_status st;
	static struct chunk_map m;
	size_t len, cut, c;
	char path[4096];
	uint8_t *buf;
	int ret;

	buf = small_trace(&expect, &len, &m);
	REQUIRE(buf);
	CHECK(m.n > 5);
	unit__path(path, sizeof(path), "cut.mpf");
	for (cut = 0; cut <= len; cut++) {
		write_file(path, buf, cut);
		ret = read_all(path, &got, &st, NULL);
		if (cut < MPF_HEADER_SIZE) {
			CHECK(ret == -EBADMSG);
			continue;
		}
		CHECK(ret == 0);
		CHECK(got.n == records_before(&m, cut) && recs_match(&got, &expect, 0));
		CHECK(!st.corrupt);
		if (cut == len) {
			CHECK(st.complete && !st.truncated && got.n == expect.n);
		} else {
			CHECK(!st.complete && st.truncated);
			c = chunk_at(&m, cut);
			/* Cut inside a chunk: that chunk is where the sound data ends. */
			CHECK(st.bad_offset == (cut == (c ? m.end[c - 1] : MPF_HEADER_SIZE) ?
						0 : m.off[c]));
		}
		recs_free(&got);
	}
	free(buf);
	recs_free(&expect);
}

static void test_flipped(void)
{
	struct recs expect = {}, got = {};
	struct mpf_reader_status st;
	static struct chunk_map m;
	size_t len, pos, c;
	char path[4096];
	uint8_t *buf;
	int ret;

	buf = small_trace(&expect, &len, &m);
	REQUIRE(buf);
	unit__path(path, sizeof(path), "flip.mpf");
	for (pos = 0; pos < len; pos++) {
		buf[pos] ^= (uint8_t)(1u << (pos % 8));
		write_file(path, buf, len);
		buf[pos] ^= (uint8_t)(1u << (pos % 8));
		ret = read_all(path, &got, &st, NULL);
		if (pos < MPF_HEADER_SIZE) {
			CHECK(ret == -EBADMSG || ret == -EPROTONOSUPPORT);
			continue;
		}
		/* Every chunk is checked whole: the damaged one and all after it are dropped. */
		c = chunk_at(&m, pos);
		CHECK(ret == 0);
		CHECK(got.n == m.first[c] && recs_match(&got, &expect, 0));
		CHECK(!st.complete && (st.corrupt || st.truncated));
		CHECK(st.bad_offset == m.off[c]);
		recs_free(&got);
	}
	free(buf);
	recs_free(&expect);
}

static void test_bad_header(void)
{
	struct recs expect = {}, got = {};
	struct mpf_reader_status st;
	static struct chunk_map m;
	static uint8_t big[1 << 16];
	struct mpf_header hdr;
	char path[4096];
	size_t len;
	uint8_t *buf;
	int err = 0;

	unit__path(path, sizeof(path), "no-such-file.mpf");
	CHECK(!mpf_reader__open(path, &err) && err == -ENOENT);
	CHECK(!mpf_reader__open(path, NULL));

	buf = small_trace(&expect, &len, &m);
	REQUIRE(buf);
	unit__path(path, sizeof(path), "hdr.mpf");

	write_file(path, buf, 0);
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);	/* empty */
	write_file(path, buf, MPF_HEADER_SIZE - 1);
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);	/* short */

	buf[0] = 'X';
	write_file(path, buf, len);
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);	/* magic */
	buf[0] = 'M';

	buf[50] ^= 1;
	write_file(path, buf, len);
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);	/* crc */
	buf[50] ^= 1;

	mpf_put_le32(buf + 16, 0x04030201);	/* big-endian writer, sound crc */
	mpf_put_le32(buf + 60, (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, 60));
	write_file(path, buf, len);
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);
	mpf_put_le32(buf + 16, MPF_BYTE_ORDER);

	/* A newer major is refused whatever follows, even before the crc is looked at. */
	mpf_put_le16(buf + 8, MPF_VERSION_MAJOR + 1);
	write_file(path, buf, len);
	CHECK(read_all(path, &got, &st, NULL) == -EPROTONOSUPPORT);
	mpf_put_le16(buf + 8, 0);
	write_file(path, buf, len);
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);
	mpf_put_le16(buf + 8, MPF_VERSION_MAJOR);

	mpf_put_le32(buf + 12, MPF_HEADER_SIZE_MAX + 4);
	write_file(path, buf, len);
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);
	mpf_put_le32(buf + 12, MPF_HEADER_SIZE);

	/* Sound again after the repairs. */
	mpf_put_le32(buf + 60, (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, 60));
	write_file(path, buf, len);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == expect.n && st.complete);
	recs_free(&got);

	/*
	 * A newer minor with a longer header: read, the extra header bytes
	 * ignored, the chunks found after header_size.
	 */
	memcpy(big, buf, 60);
	memset(big + 60, 0xa5, 128 - 60);
	mpf_put_le16(big + 10, MPF_VERSION_MINOR + 1);
	mpf_put_le32(big + 12, 128);
	mpf_put_le32(big + 124, (uint32_t)crc32(crc32(0L, Z_NULL, 0), big, 124));
	memcpy(big + 128, buf + MPF_HEADER_SIZE, len - MPF_HEADER_SIZE);
	write_file(path, big, len + 64);
	CHECK(read_all(path, &got, &st, &hdr) == 0 && got.n == expect.n && st.complete);
	CHECK(recs_match(&got, &expect, 0));
	CHECK(hdr.version_minor == MPF_VERSION_MINOR + 1 && hdr.start_time == test_hdr.start_time);
	recs_free(&got);
	write_file(path, big, 100);	/* that header, cut */
	CHECK(read_all(path, &got, &st, NULL) == -EBADMSG);

	free(buf);
	recs_free(&expect);
}

static void test_no_end(void)
{
	struct mpf_record rec = { .type = MPF_REC_FORK, .time = 1 };
	struct mpf_reader_status st;
	struct recs got = {};
	struct mpf_writer *w;
	char path[4096];

	unit__path(path, sizeof(path), "no-end.mpf");
	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	CHECK(mpf_writer__close(w) == 0);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 0);
	CHECK(!st.complete && st.truncated && !st.corrupt && st.chunks == 0 && !st.bad_offset);

	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	CHECK(mpf_writer__write(w, &rec) == 0);
	CHECK(mpf_writer__flush(w) == 0);
	CHECK(mpf_writer__flush(w) == 0);	/* nothing buffered: no empty chunk */
	CHECK(mpf_writer__write(w, &rec) == 0);
	CHECK(mpf_writer__close(w) == 0);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 2);
	CHECK(!st.complete && st.truncated && !st.corrupt && st.chunks == 2 && !st.bad_offset);
	recs_free(&got);
}

/* Hand-made chunks with sound CRCs: what a buggy or hostile writer could produce. */
static void test_crafted(void)
{
	static uint8_t chunks[1 << 15], raw[1 << 14];
	uint8_t pl[64], *p;
	struct mpf_reader_status st;
	struct recs got = {};
	char path[4096];
	size_t n, r, good;

	unit__path(path, sizeof(path), "crafted.mpf");

	/* Unknown types are skipped by their length, their time still counts. */
	r = 0;
	pl[0] = 1, pl[1] = 2;
	r += put_rec(raw + r, MPF_REC_FORK, 20, pl, 2);
	r += put_rec(raw + r, 100, 10, (const uint8_t *)"abcdef", 6);
	r += put_rec(raw + r, 1000000, 10, NULL, 0);
	pl[2] = 0x55, pl[3] = 0x81, pl[4] = 0x01;	/* fields of a newer minor */
	r += put_rec(raw + r, MPF_REC_FORK, 20, pl, 5);
	pl[0] = 0;
	r += put_rec(raw + r, MPF_REC_END, 1, pl, 1);
	n = put_chunk(chunks, raw, r, 5);
	write_with_chunks(path, chunks, n);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 3);
	if (got.n == 3) {
		CHECK(!strcmp(got.v[0], "fork t=5000000010 1->2"));
		CHECK(!strcmp(got.v[1], "fork t=5000000030 1->2"));
		CHECK(!strcmp(got.v[2], "end t=5000000029 0/0 0/0 0/0 0/0 0/0 0/0"));
	}
	CHECK(st.complete && !st.truncated && !st.corrupt);
	recs_free(&got);

	/* A sound chunk, then one whose record count disagrees with its records. */
	r = put_rec(raw, MPF_REC_FORK, 0, pl, 2);
	good = put_chunk(chunks, raw, r, 1);
	r += put_rec(raw + r, MPF_REC_FORK, 0, pl, 2);
	n = good + put_chunk(chunks + good, raw, r, 3);
	write_with_chunks(path, chunks, n);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 1);
	CHECK(st.corrupt && !st.complete && st.bad_offset == MPF_HEADER_SIZE + good);
	recs_free(&got);
	n = good + put_chunk(chunks + good, raw, r, 1);
	write_with_chunks(path, chunks, n);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 1 && st.corrupt);
	recs_free(&got);

	/* Framing that overruns the chunk, and type 0. */
	r = put_rec(raw, MPF_REC_FORK, 0, pl, 2);
	raw[2] = 3;
	n = good + put_chunk(chunks + good, raw, r, 1);
	write_with_chunks(path, chunks, n);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 1 && st.corrupt);
	recs_free(&got);
	r = put_rec(raw, 0, 0, pl, 2);
	n = good + put_chunk(chunks + good, raw, r, 1);
	write_with_chunks(path, chunks, n);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 1 && st.corrupt);
	recs_free(&got);

	/*
	 * Payloads that do not decode.  Each follows a sound FORK in the same
	 * chunk, which is returned before the reader stops.
	 */
	static const struct {
		uint32_t type;
		size_t len;
		uint8_t payload[24];
	} bad[] = {
		{ MPF_REC_FORK, 1, { 1 } },				/* short */
		{ MPF_REC_FORK, 6, { 0x80, 0x80, 0x80, 0x80, 0x10, 1 } },	/* > u32 */
		{ MPF_REC_INFO, 4, { 2, 'a', 'b', 'c' } },		/* no NUL */
		{ MPF_REC_INFO, 5, { 2, 'a', 0, 0, 0 } },		/* NUL inside */
		{ MPF_REC_INFO, 5, { 0x81, 0x20, 'a', 0, 0 } },		/* > MPF_PATH_MAX */
		{ MPF_REC_COMM, 19, { 1, 0, 16, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
				      'a', 'a', 'a', 'a', 'a', 'a', 'a' } },	/* comm > 15 */
		{ MPF_REC_FILE, 3, { 0, 0, 0 } },			/* id 0 */
		{ MPF_REC_FILE, 4, { 1, 65, 0, 0 } },			/* build id > 64 */
		{ MPF_REC_MAP, 24, { 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				     0x80, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				     0x80, 1, 0 } },			/* end wraps */
		{ MPF_REC_STACK, 4, { 2, 0, 0, 0 } },			/* nr 0 */
		{ MPF_REC_STACK, 5, { 2, 0, 0x81, 0x04, 0 } },		/* nr 513 */
		{ MPF_REC_STACK, 4, { 0, 0, 1, 0 } },			/* id 0 */
		{ MPF_REC_STACK, 4, { 2, 0, 2, 0 } },			/* ips short */
		{ MPF_REC_PAGE_ALLOC, 6, { 1, 0, 64, 0, 0, 0 } },	/* order 64 */
		{ MPF_REC_PAGE_FREE, 5, { 1, 64, 0, 0, 0 } },		/* order 64 */
		{ MPF_REC_HEAP_ALLOC, 6, { 1, 0, MPF_HEAP__MAX, 0, 0, 0 } },
		{ MPF_REC_END, 3, { 2, 0, 0 } },			/* short */
		{ MPF_REC_EXIT, 2, { 1, 0x80 } },			/* cut varint */
		{ MPF_REC_EXEC, 2, { 1, 0 } },				/* no NUL */
		{ MPF_REC_HEAP_REALLOC, 4, { 1, 0, 0, 0 } },		/* short */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		pl[0] = 1, pl[1] = 2;
		r = put_rec(raw, MPF_REC_FORK, 0, pl, 2);
		r += put_rec(raw + r, bad[i].type, 0, bad[i].payload, bad[i].len);
		r += put_rec(raw + r, MPF_REC_FORK, 0, pl, 2);
		n = put_chunk(chunks, raw, r, 3);
		write_with_chunks(path, chunks, n);
		CHECK(read_all(path, &got, &st, NULL) == 0);
		CHECK(got.n == 1 && st.corrupt && !st.complete && st.bad_offset == MPF_HEADER_SIZE);
		if (got.n != 1 || !st.corrupt)
			printf("  bad[%zu] was read\n", i);
		recs_free(&got);
	}

	/* Chunk headers a reader must not trust. */
	r = put_rec(raw, MPF_REC_FORK, 0, pl, 2);
	for (i = 0; i < 7; i++) {
		n = put_chunk(chunks, raw, r, 1);
		p = chunks;
		switch (i) {
		case 0: p[0] = 'm'; break;				/* magic */
		case 1: mpf_put_le32(p + 4, 0x2); break;		/* unknown flag */
		case 2: mpf_put_le32(p + 12, MPF_CHUNK_RAW_MAX + 1); break;
		case 3: mpf_put_le32(p + 12, 0); mpf_put_le32(p + 8, 0); break;
		case 4: mpf_put_le32(p + 4, MPF_CHUNK_ZSTD); mpf_put_le32(p + 8, 1000); break;
		case 5: mpf_put_le32(p + 16, 0); break;			/* no records */
		case 6: mpf_put_le32(p + 16, UINT32_MAX); break;
		}
		write_with_chunks(path, chunks, n + (i == 4 ? 1000 : 0));
		CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 0);
		CHECK(st.corrupt && st.bad_offset == MPF_HEADER_SIZE);
		recs_free(&got);
	}

	/* A zstd chunk whose stated raw size is not what it inflates to. */
	size_t z = ZSTD_compress(chunks + 1000, 2000, raw, r, 3);
	struct mpf_chunk_hdr ch = { MPF_CHUNK_ZSTD, (uint32_t)z, (uint32_t)r + 1, 1, 0 };

	REQUIRE(!ZSTD_isError(z));
	ch.crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), chunks + 1000, (uInt)z);
	mpf_chunk_hdr__encode(&ch, chunks);
	memmove(chunks + MPF_CHUNK_HDR_SIZE, chunks + 1000, z);
	write_with_chunks(path, chunks, MPF_CHUNK_HDR_SIZE + z);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 0 && st.corrupt);
	recs_free(&got);
	ch.raw_size = (uint32_t)r - 1;	/* less than the frame says it holds */
	mpf_chunk_hdr__encode(&ch, chunks);
	write_with_chunks(path, chunks, MPF_CHUNK_HDR_SIZE + z);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 0 && st.corrupt);
	recs_free(&got);
	ch.raw_size = (uint32_t)r;
	mpf_chunk_hdr__encode(&ch, chunks);
	write_with_chunks(path, chunks, MPF_CHUNK_HDR_SIZE + z);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 1 && !st.corrupt);
	recs_free(&got);
}

/*
 * Lost process events (1.3): a LOST record and END's sixth pair.  An END of
 * 1.2 (five pairs) reads with no process losses, one of a later minor (more
 * pairs) with the pairs this reader knows; the writer refuses counters it has
 * no name for.
 */
static void test_lost_process(void)
{
	static uint8_t chunks[1 << 12], raw[1 << 11];
	struct mpf_reader_status st;
	struct mpf_record rec;
	struct recs got = {};
	struct mpf_writer *w;
	char path[4096];
	uint8_t pl[64];
	size_t r = 0, n, k;

	unit__path(path, sizeof(path), "lost-process.mpf");
	pl[0] = MPF_LOST_PROC, pl[1] = 83;
	r += put_rec(raw + r, MPF_REC_LOST, 2, pl, 2);
	/* 1.2's END: five pairs, no process counters */
	k = 0;
	pl[k++] = 5;
	for (int i = 0; i < 5; i++)
		pl[k++] = (uint8_t)(10 + i), pl[k++] = (uint8_t)i;
	r += put_rec(raw + r, MPF_REC_END, 2, pl, k);
	n = put_chunk(chunks, raw, r, 2);
	write_with_chunks(path, chunks, n);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 2 && st.complete);
	if (got.n == 2) {
		CHECK(!strcmp(got.v[0], "lost t=5000000001 process 83"));
		CHECK(!strcmp(got.v[1], "end t=5000000002 10/0 11/1 12/2 13/3 14/4 0/0"));
	}
	recs_free(&got);

	/* A later minor's END: eight pairs, the last two unknown here */
	r = 0;
	k = 0;
	pl[k++] = 8;
	for (int i = 0; i < 8; i++)
		pl[k++] = (uint8_t)(20 + i), pl[k++] = (uint8_t)(i + 1);
	r += put_rec(raw + r, MPF_REC_END, 2, pl, k);
	n = put_chunk(chunks, raw, r, 1);
	write_with_chunks(path, chunks, n);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 1 && st.complete);
	if (got.n == 1)
		CHECK(!strcmp(got.v[0], "end t=5000000001 20/1 21/2 22/3 23/4 24/5 25/6"));
	recs_free(&got);

	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	memset(&rec, 0, sizeof(rec));
	rec.type = MPF_REC_LOST;
	rec.lost.event = MPF_LOST__MAX;
	rec.lost.count = 1;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	rec.lost.event = MPF_LOST_PROC;
	CHECK(mpf_writer__write(w, &rec) == 0);
	CHECK(mpf_writer__close(w) == 0);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 1);
	if (got.n == 1)
		CHECK(!strcmp(got.v[0], "lost t=0 process 1"));
	recs_free(&got);
}

/*
 * Random bytes after a sound header, and random payloads inside sound
 * framing and CRCs: the reader must stop cleanly on all of them.  Run under
 * ASan/UBSan this is a small deterministic fuzzer.
 */
static void test_garbage(void)
{
	static uint8_t chunks[1 << 14], raw[1 << 12];
	struct mpf_reader_status st;
	struct recs got = {};
	char path[4096];
	size_t n, r, k, len;
	uint32_t nrec;
	int iter;

	unit__path(path, sizeof(path), "garbage.mpf");
	rng_state = 42;
	for (iter = 0; iter < 3000; iter++) {
		if (iter % 2) {
			n = rng() % 600;
			for (k = 0; k < n; k++)
				chunks[k] = (uint8_t)rng();
			if (n >= 4 && iter % 4 == 1)
				memcpy(chunks, MPF_CHUNK_MAGIC, 4);
		} else {
			r = 0;
			nrec = 0;
			while (r < 2000 && rng() % 30) {
				len = rng() % 24;
				uint8_t pl[24];

				for (k = 0; k < len; k++)
					pl[k] = (uint8_t)(rng() % 4 ? rng() % 8 : rng());
				r += put_rec(raw + r, 1 + rng() % (MPF_REC__MAX + 1), rng() % 300,
					     pl, len);
				nrec++;
			}
			n = nrec ? put_chunk(chunks, raw, r, nrec) : 0;
		}
		write_with_chunks(path, chunks, n);
		CHECK(read_all(path, &got, &st, NULL) == 0);
		CHECK(st.complete || st.truncated || st.corrupt);
		recs_free(&got);
	}
}

static void test_writer_errors(void)
{
	struct mpf_writer_stats stats;
	struct mpf_writer_opts opts = {};
	struct mpf_reader_status st;
	struct mpf_record rec;
	struct recs got = {};
	struct mpf_writer *w;
	struct rlimit old, lim;
	static struct gen g;
	char path[4096], big[MPF_PATH_MAX + 2];
	uint32_t id;
	int err = 0, i;

	unit__path(path, sizeof(path), "errors.mpf");
	CHECK(!mpf_writer__open(NULL, &test_hdr, NULL) && errno == EINVAL);
	CHECK(!mpf_writer__open(path, NULL, NULL) && errno == EINVAL);
	opts.chunk_size = MPF_CHUNK_RAW_MAX;
	CHECK(!mpf_writer__open(path, &test_hdr, &opts) && errno == EINVAL);
	opts.chunk_size = 0;
	opts.level = 1000;
	CHECK(!mpf_writer__open(path, &test_hdr, &opts) && errno == EINVAL);
	opts.level = 0;
	CHECK(!mpf_writer__open("/nonexistent-dir/x.mpf", &test_hdr, NULL) && errno == ENOENT);
	if (!access("/dev/full", W_OK))
		CHECK(!mpf_writer__open("/dev/full", &test_hdr, NULL) && errno == ENOSPC);

	/* Records the reader would refuse are refused, and the writer goes on. */
	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	CHECK(mpf_writer__write(w, NULL) == -EINVAL);
	memset(&rec, 0, sizeof(rec));
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	rec.type = MPF_REC__MAX;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rec.type = MPF_REC_INFO;
	rec.info.key = "k";
	rec.info.value = big;
	CHECK(mpf_writer__write(w, &rec) == -ENAMETOOLONG);
	big[MPF_PATH_MAX] = '\0';
	CHECK(mpf_writer__write(w, &rec) == 0);
	rec.info.key = NULL;	/* NULL strings are written as empty ones */
	rec.info.value = NULL;
	CHECK(mpf_writer__write(w, &rec) == 0);
	memset(&rec, 0, sizeof(rec));
	rec.type = MPF_REC_FILE;
	rec.file.id = 1;
	rec.file.build_id_len = MPF_BUILD_ID_MAX + 1;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	rec.file.build_id_len = 0;
	rec.file.id = 0;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	memset(&rec, 0, sizeof(rec));
	rec.type = MPF_REC_MAP;
	rec.map.start = 2;
	rec.map.end = 1;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	memset(&rec, 0, sizeof(rec));
	rec.type = MPF_REC_PAGE_ALLOC;
	rec.page_alloc.order = MPF_PAGE_ORDER_MAX + 1;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	memset(&rec, 0, sizeof(rec));
	rec.type = MPF_REC_HEAP_ALLOC;
	rec.heap_alloc.func = MPF_HEAP__MAX;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	memset(&rec, 0, sizeof(rec));
	rec.type = MPF_REC_STACK;
	rec.stack.id = 1;
	rec.stack.nr = MPF_STACK_MAX + 1;
	rec.stack.ips = g.ips;
	CHECK(mpf_writer__write(w, &rec) == -E2BIG);
	rec.stack.nr = 0;
	CHECK(mpf_writer__write(w, &rec) == -EINVAL);
	CHECK(mpf_writer__close(w) == 0);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n == 2 && !st.corrupt);
	recs_free(&got);
	CHECK(mpf_writer__close(NULL) == -EINVAL);

	/*
	 * A write error (here EFBIG from a file size limit) is returned, then
	 * returned again by everything after it; the file holds a sound prefix.
	 */
	REQUIRE(!getrlimit(RLIMIT_FSIZE, &old));
	signal(SIGXFSZ, SIG_IGN);
	opts.chunk_size = 256;
	w = mpf_writer__open(path, &test_hdr, &opts);
	REQUIRE(w);
	lim = old;
	lim.rlim_cur = 20000;
	REQUIRE(!setrlimit(RLIMIT_FSIZE, &lim));
	rng_state = 7;
	for (i = 0; i < 100000 && !err; i++) {
		gen_record((uint64_t)i, &rec, &g);
		err = mpf_writer__write(w, &rec);
	}
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	CHECK(err == -EFBIG);
	CHECK(mpf_writer__write(w, &rec) == -EFBIG);
	CHECK(mpf_writer__stack(w, 0, 0, g.ips, 3, &id) == -EFBIG && id == 0);
	CHECK(mpf_writer__flush(w) == -EFBIG);
	mpf_writer__stats(w, &stats);
	CHECK(mpf_writer__close(w) == -EFBIG);
	CHECK(read_all(path, &got, &st, NULL) == 0 && got.n > 0 && !st.corrupt && st.truncated);
	/*
	 * The stats count what reached the file apart from what did not: the
	 * chunk that failed, and the records given after.
	 */
	{
		uint64_t written = 0, accepted = 0, unwritten = 0;

		for (int t = 0; t < MPF_REC__MAX; t++) {
			written += stats.written[t];
			accepted += stats.records[t];
			unwritten += stats.unwritten[t];
		}
		CHECK(written == got.n);
		CHECK(unwritten == (uint64_t)i - got.n + 1);
		CHECK(accepted == (uint64_t)i);
		CHECK(stats.file_bytes <= 20000 && stats.raw_written < stats.raw_bytes);
	}
	recs_free(&got);
}

/*
 * The encoding's size on the most frequent event: sequential order-0 page
 * allocations of one task with one stack, about a microsecond apart.
 */
static void test_size(void)
{
	uint64_t ips[12];
	struct mpf_writer *w;
	struct mpf_writer_stats stats;
	struct mpf_record rec = { .type = MPF_REC_PAGE_ALLOC };
	struct stat sb;
	char path[4096];
	const int n = 100000;
	double per_rec;
	uint32_t id;
	int i;

	for (i = 0; i < 12; i++)
		ips[i] = 0x55d0c0001000ull + (uint64_t)i * 0x2345;
	unit__path(path, sizeof(path), "size.mpf");
	w = mpf_writer__open(path, &test_hdr, NULL);
	REQUIRE(w);
	rng_state = 99;
	rec.time = test_hdr.start_time;
	rec.page_alloc.pid = 31337;
	rec.page_alloc.tid = 31338;
	rec.page_alloc.gfp = 0x140cca;
	for (i = 0; i < n; i++) {
		CHECK(mpf_writer__stack(w, rec.time, 0, ips, 12, &id) == 0 && id == 12);
		rec.time += 700 + rng() % 600;
		rec.page_alloc.page = 0x3ffff0004000ull / 64 + (uint64_t)i;
		rec.page_alloc.stack_id = id;
		CHECK(mpf_writer__write(w, &rec) == 0);
	}
	CHECK(mpf_writer__flush(w) == 0);
	mpf_writer__stats(w, &stats);
	CHECK(mpf_writer__close(w) == 0);
	REQUIRE(!stat(path, &sb));
	CHECK((uint64_t)sb.st_size == stats.file_bytes);
	per_rec = (double)sb.st_size / n;
	printf("unit: size: %d page allocs: %.3f bytes/record in the file, %.3f raw, %" PRIu64
	       " chunks\n", n, per_rec, (double)stats.raw_bytes / n, stats.chunks);
	CHECK(per_rec < 8.0);
}

/* USTACK records: ids shared with stacks, registers and copies round trip across chunks. */
static void test_ustack(void)
{
	struct mpf_writer_opts opts = { .chunk_size = 20000 };
	static uint8_t data[MPF_USTACK_MAX + 1];
	uint64_t regs[MPF_USTACK_REGS], a[2] = { 0x401000, 0x401234 };
	struct mpf_reader_status st;
	struct mpf_record rec;
	struct mpf_reader *r;
	struct mpf_writer *w;
	uint32_t id, seen = 0;
	char path[4096];
	int err, n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 4096);
	unit__path(path, sizeof(path), "ustack.mpf");
	w = mpf_writer__open(path, &test_hdr, &opts);
	REQUIRE(w);
	CHECK(mpf_writer__stack(w, 1, 0, a, 1, &id) == 0 && id == 1);
	for (uint32_t k = 0; k < 20; k++) {
		for (int i = 0; i < MPF_USTACK_REGS; i++)
			regs[i] = 0x7ffc00000000ull + k * 64 + i;
		CHECK(mpf_writer__ustack(w, 2 + k, MPF_STACK_FIRST_IS_IP, regs, data + k,
					 k * 1000, &id) == 0 && id == 2 + k);
	}
	CHECK(mpf_writer__ustack(w, 30, 0, regs, data, MPF_USTACK_MAX + 1, &id) == -E2BIG);
	CHECK(mpf_writer__ustack(w, 30, 0, regs, data, MPF_USTACK_MAX, &id) == 0 && id == 22);
	CHECK(mpf_writer__close(w) == 0);

	r = mpf_reader__open(path, &err);
	REQUIRE(r);
	while ((n = mpf_reader__next(r, &rec)) > 0) {
		uint32_t k;

		if (rec.type != MPF_REC_USTACK)
			continue;
		k = rec.ustack.id - 2;
		if (rec.ustack.id == 22) {
			CHECK(rec.ustack.size == MPF_USTACK_MAX);
			CHECK(!memcmp(rec.ustack.data, data, MPF_USTACK_MAX));
		} else {
			CHECK(rec.ustack.flags == MPF_STACK_FIRST_IS_IP);
			CHECK(rec.ustack.size == k * 1000);
			CHECK(!k || !memcmp(rec.ustack.data, data + k, k * 1000));
			CHECK(rec.ustack.regs[7] == 0x7ffc00000000ull + k * 64 + 7);
			CHECK(rec.ustack.regs[16] == 0x7ffc00000000ull + k * 64 + 16);
		}
		seen++;
	}
	CHECK(n == 0);
	CHECK(seen == 21);
	mpf_reader__status(r, &st);
	CHECK(st.complete == false && st.chunks > 1);
	mpf_reader__close(r);
}

const struct unit_test format_tests[] = {
	{ "format_names", test_names },
	{ "format_heap_children", test_heap_children },
	{ "format_codec", test_codec },
	{ "format_roundtrip", test_roundtrip },
	{ "format_chunking", test_chunking },
	{ "format_stage", test_stage },
	{ "format_stack_intern", test_stack_intern },
	{ "format_stack_forget", test_stack_forget },
	{ "format_ustack", test_ustack },
	{ "format_truncated", test_truncated },
	{ "format_flipped", test_flipped },
	{ "format_bad_header", test_bad_header },
	{ "format_no_end", test_no_end },
	{ "format_crafted", test_crafted },
	{ "format_lost_process", test_lost_process },
	{ "format_garbage", test_garbage },
	{ "format_writer_errors", test_writer_errors },
	{ "format_size", test_size },
	{},
};
