/*
 * The trace writer: encodes records into a chunk buffer, compresses full
 * chunks with zstd and appends them to the file, and interns call stacks so
 * that each distinct stack is written once and then referred to by id.
 *
 * It runs inside the recorder at up to about a million records a second, so
 * the record path allocates nothing and never checks for buffer space: the
 * buffer keeps MPF_REC_SIZE_MAX bytes of room past chunk_size.  Memory stays
 * bounded by one chunk buffer, one compression buffer and the stack table.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "format/codec.h"
#include "format/mpf.h"
#include "lib/array.h"
#include "lib/hashmap.h"
#include "lib/io.h"

#define DEFAULT_CHUNK_SIZE	(1u << 20)
#define DEFAULT_LEVEL		3
#define DEFAULT_MAX_STACKS	(1u << 20)

/*
 * Frames the table may hold per interned stack on average before it
 * restarts anyway: max_stacks alone would not bound memory, since a stack can
 * have MPF_STACK_MAX frames.  Typical user stacks are well under this.
 */
#define STACK_FRAMES_AVG	32

/* An interned stack; those whose frames hash alike are chained. */
struct stack_ent {
	uint32_t id;
	uint32_t flags;
	uint32_t nr;
	uint32_t next;		/* the next entry with the same hash, NO_ENT */
	size_t off;		/* of its frames in stack_table.frames */
};

#define NO_ENT UINT32_MAX

/* The map's slot: a stack's hash, and the first entry with it. */
struct stack_slot {
	uint64_t hash;
	uint32_t ent;
	uint32_t pad;
};

struct stack_table {
	struct hashmap index;	/* hash -> first entry */
	struct stack_ent *ents;
	size_t count, ents_cap;
	size_t max;		/* count at which the table restarts */
	uint64_t *frames;	/* the frames of every interned stack, back to back */
	size_t nframes;
	size_t frames_cap;
	size_t frames_max;
	uint32_t next_id;
};

/* Delta state of a chunk; zero except time at the start of each chunk. */
struct delta_state {
	uint64_t time;
	uint64_t page;
	uint64_t cache_page;	/* 1.2: the cache records' own, so 1.1 readers skipping them agree on page */
	uint64_t ptr;
	uint32_t stack_id;
	uint64_t stack_ip;
	uint64_t uregs[MPF_USTACK_REGS];
};

struct mpf_writer {
	int fd;
	int tee_fd;		/* > 0: every byte goes there too */
	int err;		/* sticky: the first write error, as -errno */
	int level;
	uint64_t start_time;
	size_t chunk_size;

	uint8_t *buf;		/* chunk_size + MPF_REC_SIZE_MAX */
	size_t len;
	uint32_t nrec;
	struct delta_state st;

	ZSTD_CCtx *cctx;
	uint8_t *out;		/* chunk header and compressed payload */
	size_t out_cap;

	struct stack_table stacks;
	struct mpf_writer_stats stats;
	uint32_t chunk_records[MPF_REC__MAX];	/* of each type in the chunk being filled */
};

static int write_all(struct mpf_writer *w, const uint8_t *buf, size_t len)
{
	int err = write_full(w->fd, buf, len);

	if (!err && w->tee_fd > 0)
		err = write_full(w->tee_fd, buf, len);

	if (!err)
		w->stats.file_bytes += len;
	return err;
}

static void writer__reset_chunk(struct mpf_writer *w)
{
	w->len = 0;
	w->nrec = 0;
	memset(w->chunk_records, 0, sizeof(w->chunk_records));
	memset(&w->st, 0, sizeof(w->st));
	w->st.time = w->start_time;
}

static bool opts_ok(const struct mpf_writer_opts *opts)
{
	return !opts || (opts->chunk_size <= MPF_CHUNK_RAW_MAX - MPF_REC_SIZE_MAX &&
			 opts->level >= ZSTD_minCLevel() && opts->level <= ZSTD_maxCLevel());
}

struct mpf_writer *mpf_writer__fdopen(int fd, const struct mpf_header *hdr,
				      const struct mpf_writer_opts *opts)
{
	static const struct mpf_writer_opts defaults;
	uint8_t hbuf[MPF_HEADER_SIZE];
	struct mpf_writer *w;
	int err = -EINVAL;

	if (fd < 0 || !hdr || !opts_ok(opts))
		goto err_fd;
	if (!opts)
		opts = &defaults;

	err = -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w)
		goto err_fd;
	w->fd = fd;
	w->tee_fd = opts->tee_fd;
	w->start_time = hdr->start_time;
	w->chunk_size = opts->chunk_size ? opts->chunk_size : DEFAULT_CHUNK_SIZE;
	w->level = opts->level ? opts->level : DEFAULT_LEVEL;
	w->stacks.max = opts->max_stacks ? opts->max_stacks : DEFAULT_MAX_STACKS;
	if (w->stacks.max > SIZE_MAX / 2 / STACK_FRAMES_AVG)
		w->stacks.max = SIZE_MAX / 2 / STACK_FRAMES_AVG;
	w->stacks.frames_max = w->stacks.max * STACK_FRAMES_AVG + MPF_STACK_MAX;
	w->stacks.next_id = 1;
	w->stacks.index = HASHMAP_INIT(struct stack_slot, 8);

	w->buf = malloc(w->chunk_size + MPF_REC_SIZE_MAX);
	w->out_cap = MPF_CHUNK_HDR_SIZE + ZSTD_compressBound(w->chunk_size + MPF_REC_SIZE_MAX);
	w->out = malloc(w->out_cap);
	w->cctx = ZSTD_createCCtx();
	if (!w->buf || !w->out || !w->cctx)
		goto err;
	mpf_header__encode(hdr, hbuf);
	err = write_all(w, hbuf, sizeof(hbuf));
	if (err)
		goto err;
	writer__reset_chunk(w);
	return w;
err:
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w->buf);
	free(w);
err_fd:
	if (fd >= 0)
		close(fd);
	if (opts && opts->tee_fd > 0)
		close(opts->tee_fd);
	errno = -err;
	return NULL;
}

struct mpf_writer *mpf_writer__open(const char *path, const struct mpf_header *hdr,
				    const struct mpf_writer_opts *opts)
{
	int fd;

	if (!path || !hdr || !opts_ok(opts)) {
		errno = EINVAL;
		return NULL;
	}
	/*
	 * Owner-only, as perf does: page ids are kernel addresses divided by
	 * sizeof(struct page) and would tell anyone where the kernel lives.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	return mpf_writer__fdopen(fd, hdr, opts);
}

int mpf_writer__flush(struct mpf_writer *w)
{
	struct mpf_chunk_hdr ch = {};
	uint8_t *payload = w->out + MPF_CHUNK_HDR_SIZE;
	size_t n;
	int err;

	if (w->err)
		return w->err;
	if (!w->len)
		return 0;

	n = ZSTD_compressCCtx(w->cctx, payload, w->out_cap - MPF_CHUNK_HDR_SIZE, w->buf, w->len,
			      w->level);
	if (ZSTD_isError(n)) {
		err = -ENOMEM;
		goto fail;
	}
	if (n < w->len) {
		ch.flags = MPF_CHUNK_ZSTD;
	} else {
		/* Incompressible: storing it raw is smaller and cheaper to read. */
		memcpy(payload, w->buf, w->len);
		n = w->len;
	}
	ch.comp_size = (uint32_t)n;
	ch.raw_size = (uint32_t)w->len;
	ch.nr_records = w->nrec;
	ch.crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), payload, (uInt)n);
	mpf_chunk_hdr__encode(&ch, w->out);

	/* One write per chunk, so a reader of a cut file sees whole chunks and at most one part. */
	err = write_all(w, w->out, MPF_CHUNK_HDR_SIZE + n);
	if (err)
		goto fail;
	for (int t = 0; t < MPF_REC__MAX; t++)
		w->stats.written[t] += w->chunk_records[t];
	w->stats.raw_written += w->len;
	w->stats.chunks++;
	writer__reset_chunk(w);
	return 0;
fail:
	/* The chunk never reaches the file (a part of it may: readers stop there). */
	for (int t = 0; t < MPF_REC__MAX; t++)
		w->stats.unwritten[t] += w->chunk_records[t];
	writer__reset_chunk(w);
	return w->err = err;
}

static size_t str_len(const char *s)
{
	return s ? strlen(s) : 0;
}

/* Checks what the reader would refuse, so that a record is written whole or not at all. */
static int record__check(const struct mpf_record *rec)
{
	switch (rec->type) {
	case MPF_REC_INFO:
		if (str_len(rec->info.key) > MPF_PATH_MAX ||
		    str_len(rec->info.value) > MPF_PATH_MAX)
			return -ENAMETOOLONG;
		return 0;
	case MPF_REC_EXEC:
		if (rec->exec.args_len && !rec->exec.args)
			return -EINVAL;
		if (rec->exec.args_len > MPF_PATH_MAX)
			return -E2BIG;
		return str_len(rec->exec.filename) > MPF_PATH_MAX ? -ENAMETOOLONG : 0;
	case MPF_REC_FILE:
		if (rec->file.id == 0 || rec->file.build_id_len > MPF_BUILD_ID_MAX)
			return -EINVAL;
		return str_len(rec->file.path) > MPF_PATH_MAX ? -ENAMETOOLONG : 0;
	case MPF_REC_MAP:
		return rec->map.end < rec->map.start ? -EINVAL : 0;
	case MPF_REC_STACK:
		if (rec->stack.id == 0 || rec->stack.nr == 0 || !rec->stack.ips)
			return -EINVAL;
		return rec->stack.nr > MPF_STACK_MAX ? -E2BIG : 0;
	case MPF_REC_PAGE_ALLOC:
		return rec->page_alloc.order > MPF_PAGE_ORDER_MAX ? -EINVAL : 0;
	case MPF_REC_PAGE_FREE:
		return rec->page_free.order > MPF_PAGE_ORDER_MAX ? -EINVAL : 0;
	case MPF_REC_HEAP_ALLOC:
		return rec->heap_alloc.func >= MPF_HEAP__MAX ? -EINVAL : 0;
	case MPF_REC_LOST:
		return rec->lost.event >= MPF_LOST__MAX ? -EINVAL : 0;
	case MPF_REC_USTACK:
		if (rec->ustack.id == 0 || (rec->ustack.size && !rec->ustack.data))
			return -EINVAL;
		return rec->ustack.size > MPF_USTACK_MAX ? -E2BIG : 0;
	case MPF_REC_CACHE_ADD:
		return rec->cache_add.order > MPF_PAGE_ORDER_MAX ? -EINVAL : 0;
	case MPF_REC_CACHE_DEL:
		return rec->cache_del.order > MPF_PAGE_ORDER_MAX ? -EINVAL : 0;
	case MPF_REC_VM:
		return rec->vm.call >= MPF_VM__MAX ? -EINVAL : 0;
	case MPF_REC_RSS:
	case MPF_REC_COMM:
	case MPF_REC_FORK:
	case MPF_REC_EXIT:
	case MPF_REC_HEAP_FREE:
	case MPF_REC_HEAP_REALLOC:
	case MPF_REC_END:
		return 0;
	default:
		return -EINVAL;
	}
}

static uint8_t *put_str(uint8_t *p, const char *s, size_t len)
{
	p = mpf_put_varint(p, len);
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	return p + len + 1;
}

static inline uint8_t *put_zz64(uint8_t *p, uint64_t v, uint64_t prev)
{
	return mpf_put_varint(p, mpf_zigzag64(v - prev));
}

/* tid is usually pid or close to it, so it is written as a difference. */
static inline uint8_t *put_pid_tid(uint8_t *p, uint32_t pid, uint32_t tid)
{
	p = mpf_put_varint(p, pid);
	return mpf_put_varint(p, mpf_zigzag32(tid - pid));
}

/* The fields of a record, in the order and encoding the specification gives. */
static uint8_t *record__encode(struct delta_state *st, const struct mpf_record *rec, uint8_t *p)
{
	const char *s;
	uint32_t i;

	switch (rec->type) {
	case MPF_REC_INFO:
		s = rec->info.key ? rec->info.key : "";
		p = put_str(p, s, strlen(s));
		s = rec->info.value ? rec->info.value : "";
		p = put_str(p, s, strlen(s));
		break;
	case MPF_REC_COMM:
		p = put_pid_tid(p, rec->comm.pid, rec->comm.tid);
		p = put_str(p, rec->comm.comm, strnlen(rec->comm.comm, MPF_COMM_LEN - 1));
		break;
	case MPF_REC_FORK:
		p = mpf_put_varint(p, rec->fork.ppid);
		p = mpf_put_varint(p, rec->fork.pid);
		break;
	case MPF_REC_EXEC:
		p = mpf_put_varint(p, rec->exec.pid);
		s = rec->exec.filename ? rec->exec.filename : "";
		p = put_str(p, s, strlen(s));
		/* 1.2: the arguments, as bytes (they hold NULs). */
		p = mpf_put_varint(p, rec->exec.args_len);
		if (rec->exec.args_len)
			memcpy(p, rec->exec.args, rec->exec.args_len);
		p += rec->exec.args_len;
		break;
	case MPF_REC_EXIT:
		p = mpf_put_varint(p, rec->exit.pid);
		p = mpf_put_varint(p, mpf_zigzag32((uint32_t)rec->exit.status));
		break;
	case MPF_REC_FILE:
		p = mpf_put_varint(p, rec->file.id);
		p = mpf_put_varint(p, rec->file.build_id_len);
		memcpy(p, rec->file.build_id, rec->file.build_id_len);
		p += rec->file.build_id_len;
		s = rec->file.path ? rec->file.path : "";
		p = put_str(p, s, strlen(s));
		break;
	case MPF_REC_MAP:
		p = mpf_put_varint(p, rec->map.pid);
		p = mpf_put_varint(p, rec->map.file_id);
		p = mpf_put_varint(p, rec->map.prot);
		p = mpf_put_varint(p, rec->map.start);
		p = mpf_put_varint(p, rec->map.end - rec->map.start);
		p = mpf_put_varint(p, rec->map.pgoff);
		break;
	case MPF_REC_STACK:
		/* Ids grow by one; innermost frames of successive stacks are near each other. */
		p = mpf_put_varint(p, mpf_zigzag32(rec->stack.id - st->stack_id));
		st->stack_id = rec->stack.id;
		p = mpf_put_varint(p, rec->stack.flags);
		p = mpf_put_varint(p, rec->stack.nr);
		p = put_zz64(p, rec->stack.ips[0], st->stack_ip);
		st->stack_ip = rec->stack.ips[0];
		for (i = 1; i < rec->stack.nr; i++)
			p = put_zz64(p, rec->stack.ips[i], rec->stack.ips[i - 1]);
		break;
	case MPF_REC_USTACK:
		/*
		 * Registers against the previous copy's (sp and the callee-saved ones
		 * change little); the copy as is: zstd finds what it shares with the
		 * copies before it in the chunk, mostly the outer frames.
		 */
		p = mpf_put_varint(p, mpf_zigzag32(rec->ustack.id - st->stack_id));
		st->stack_id = rec->ustack.id;
		p = mpf_put_varint(p, rec->ustack.flags);
		for (i = 0; i < MPF_USTACK_REGS; i++) {
			p = put_zz64(p, rec->ustack.regs[i], st->uregs[i]);
			st->uregs[i] = rec->ustack.regs[i];
		}
		p = mpf_put_varint(p, rec->ustack.size);
		memcpy(p, rec->ustack.data, rec->ustack.size);
		p += rec->ustack.size;
		break;
	case MPF_REC_PAGE_ALLOC:
		p = put_pid_tid(p, rec->page_alloc.pid, rec->page_alloc.tid);
		p = mpf_put_varint(p, rec->page_alloc.order);
		p = mpf_put_varint(p, rec->page_alloc.gfp);
		p = put_zz64(p, rec->page_alloc.page, st->page);
		st->page = rec->page_alloc.page;
		p = mpf_put_varint(p, rec->page_alloc.stack_id);
		break;
	case MPF_REC_PAGE_FREE:
		p = mpf_put_varint(p, rec->page_free.pid);
		p = mpf_put_varint(p, rec->page_free.order);
		p = mpf_put_varint(p, rec->page_free.flags);
		p = put_zz64(p, rec->page_free.page, st->page);
		st->page = rec->page_free.page;
		/* Writers of this version set head to page (mpf.h): a single 0 byte. */
		p = put_zz64(p, rec->page_free.head, rec->page_free.page);
		break;
	case MPF_REC_HEAP_ALLOC:
		p = put_pid_tid(p, rec->heap_alloc.pid, rec->heap_alloc.tid);
		p = mpf_put_varint(p, rec->heap_alloc.func);
		p = mpf_put_varint(p, rec->heap_alloc.stack_id);
		p = put_zz64(p, rec->heap_alloc.ptr, st->ptr);
		st->ptr = rec->heap_alloc.ptr;
		p = mpf_put_varint(p, rec->heap_alloc.size);
		break;
	case MPF_REC_HEAP_FREE:
		p = put_pid_tid(p, rec->heap_free.pid, rec->heap_free.tid);
		p = put_zz64(p, rec->heap_free.ptr, st->ptr);
		st->ptr = rec->heap_free.ptr;
		break;
	case MPF_REC_HEAP_REALLOC:
		p = put_pid_tid(p, rec->heap_realloc.pid, rec->heap_realloc.tid);
		p = mpf_put_varint(p, rec->heap_realloc.stack_id);
		p = put_zz64(p, rec->heap_realloc.old_ptr, st->ptr);
		p = put_zz64(p, rec->heap_realloc.ptr, rec->heap_realloc.old_ptr);
		st->ptr = rec->heap_realloc.ptr;
		p = mpf_put_varint(p, rec->heap_realloc.size);
		break;
	case MPF_REC_CACHE_ADD:
		p = put_pid_tid(p, rec->cache_add.pid, rec->cache_add.tid);
		p = mpf_put_varint(p, rec->cache_add.order);
		p = mpf_put_varint(p, rec->cache_add.stack_id);
		p = put_zz64(p, rec->cache_add.page, st->cache_page);
		st->cache_page = rec->cache_add.page;
		p = mpf_put_varint(p, rec->cache_add.ino);
		p = mpf_put_varint(p, rec->cache_add.dev);
		p = mpf_put_varint(p, rec->cache_add.index);
		break;
	case MPF_REC_CACHE_DEL:
		p = mpf_put_varint(p, rec->cache_del.pid);
		p = mpf_put_varint(p, rec->cache_del.order);
		p = put_zz64(p, rec->cache_del.page, st->cache_page);
		st->cache_page = rec->cache_del.page;
		break;
	case MPF_REC_VM:
		p = put_pid_tid(p, rec->vm.pid, rec->vm.tid);
		p = mpf_put_varint(p, rec->vm.call);
		p = mpf_put_varint(p, rec->vm.stack_id);
		p = mpf_put_varint(p, rec->vm.prot);
		p = mpf_put_varint(p, rec->vm.flags);
		p = mpf_put_varint(p, rec->vm.addr);
		p = mpf_put_varint(p, rec->vm.len);
		p = put_zz64(p, rec->vm.old_addr, rec->vm.addr);
		p = mpf_put_varint(p, rec->vm.old_len);
		break;
	case MPF_REC_RSS:
		p = mpf_put_varint(p, rec->rss.pid);
		p = mpf_put_varint(p, rec->rss.anon);
		p = mpf_put_varint(p, rec->rss.file);
		p = mpf_put_varint(p, rec->rss.shmem);
		p = mpf_put_varint(p, rec->rss.hwm);
		p = mpf_put_varint(p, rec->rss.vm);
		break;
	case MPF_REC_LOST:
		p = mpf_put_varint(p, rec->lost.event);
		p = mpf_put_varint(p, rec->lost.count);
		break;
	case MPF_REC_END:
		p = mpf_put_varint(p, MPF_LOST__MAX);
		for (i = 0; i < MPF_LOST__MAX; i++) {
			p = mpf_put_varint(p, rec->end.events[i]);
			p = mpf_put_varint(p, rec->end.lost[i]);
		}
		break;
	}
	return p;
}

/*
 * A record is its type, its time as a difference from the previous record's,
 * the length of its payload and the payload; the length lets a reader skip
 * types newer than itself.  One byte is reserved for the length, which fits
 * every record but the rare large ones, whose payload then moves up.
 */
static int writer__append(struct mpf_writer *w, const struct mpf_record *rec)
{
	uint8_t *start = w->buf + w->len, *p, *payload, *end;
	size_t plen;
	unsigned int lenlen;

	p = mpf_put_varint(start, rec->type);
	p = put_zz64(p, rec->time, w->st.time);
	w->st.time = rec->time;
	payload = p + 1;
	end = record__encode(&w->st, rec, payload);
	plen = (size_t)(end - payload);
	lenlen = mpf_varint_len(plen);
	if (lenlen > 1) {
		memmove(payload + lenlen - 1, payload, plen);
		end += lenlen - 1;
	}
	mpf_put_varint(p, plen);

	w->len += (size_t)(end - start);
	w->nrec++;
	w->chunk_records[rec->type]++;
	w->stats.records[rec->type]++;
	w->stats.raw_bytes += (uint64_t)(end - start);
	if (w->len >= w->chunk_size)
		return mpf_writer__flush(w);
	return 0;
}

int mpf_writer__write(struct mpf_writer *w, const struct mpf_record *rec)
{
	int err;

	if (!w || !rec)
		return -EINVAL;
	if (w->err) {
		if (rec->type < MPF_REC__MAX)
			w->stats.unwritten[rec->type]++;
		return w->err;
	}
	err = record__check(rec);
	if (err)
		return err;
	return writer__append(w, rec);
}

/* 64-bit multiply-xorshift mixing of every frame. */
static uint64_t stack__hash(uint32_t flags, const uint64_t *ips, uint32_t nr)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)flags << 32 | nr);
	uint32_t i;

	for (i = 0; i < nr; i++) {
		h = (h ^ ips[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h;
}

/* The entry of this stack, NULL when it is not interned. */
static const struct stack_ent *stack_table__find(const struct stack_table *t, uint64_t hash,
						 uint32_t flags, const uint64_t *ips, uint32_t nr)
{
	const struct stack_slot *slot = hashmap__find(&t->index, &hash);

	for (uint32_t i = slot ? slot->ent : NO_ENT; i != NO_ENT; i = t->ents[i].next) {
		const struct stack_ent *e = &t->ents[i];

		if (e->flags == flags && e->nr == nr &&
		    !memcmp(t->frames + e->off, ips, nr * sizeof(*ips)))
			return e;
	}
	return NULL;
}

static void stack_table__clear(struct stack_table *t)
{
	hashmap__clear(&t->index);
	t->count = 0;
	t->nframes = 0;
}

static int stack_table__reserve_frames(struct stack_table *t, size_t nr)
{
	size_t cap = t->frames_cap ? t->frames_cap : 4096;
	uint64_t *f;

	if (t->nframes + nr <= t->frames_cap)
		return 0;
	while (cap < t->nframes + nr)
		cap *= 2;
	if (cap > t->frames_max)
		cap = t->frames_max;
	f = realloc(t->frames, cap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	t->frames = f;
	t->frames_cap = cap;
	return 0;
}

int mpf_writer__stack(struct mpf_writer *w, uint64_t time, uint32_t flags, const uint64_t *ips,
		      uint32_t nr, uint32_t *id)
{
	const struct stack_ent *e;
	struct stack_table *t;
	struct mpf_record rec;
	struct stack_slot *slot;
	uint64_t hash;
	bool added;
	int err;

	if (!w || !id || (nr && !ips))
		return -EINVAL;
	*id = 0;
	if (w->err)
		return w->err;
	if (nr == 0)
		return 0;
	if (nr > MPF_STACK_MAX)
		return -E2BIG;

	t = &w->stacks;
	hash = stack__hash(flags, ips, nr);
	e = stack_table__find(t, hash, flags, ips, nr);
	if (e) {
		*id = e->id;
		return 0;
	}

	/* Restarting keeps memory bounded; ids keep growing, so old ones stay unambiguous. */
	if (t->count >= t->max || t->nframes + nr > t->frames_max)
		stack_table__clear(t);
	err = stack_table__reserve_frames(t, nr);
	if (!err)
		err = ARRAY_RESERVE(t->ents, t->ents_cap, t->count + 1);
	if (err)
		return err;

	rec.type = MPF_REC_STACK;
	rec.time = time;
	rec.stack.id = t->next_id;
	rec.stack.flags = flags;
	rec.stack.nr = nr;
	rec.stack.ips = ips;
	err = writer__append(w, &rec);
	if (err)
		return err;

	slot = hashmap__insert(&t->index, &hash, &added);
	if (!slot)
		return -ENOMEM;
	t->ents[t->count] = (struct stack_ent){
		.id = t->next_id,
		.flags = flags,
		.nr = nr,
		.next = added ? NO_ENT : slot->ent,
		.off = t->nframes,
	};
	slot->ent = (uint32_t)t->count++;
	memcpy(t->frames + t->nframes, ips, nr * sizeof(*ips));
	t->nframes += nr;
	*id = t->next_id;
	/* 0 means "no stack": skip it should the ids ever wrap. */
	if (++t->next_id == 0)
		t->next_id = 1;
	return 0;
}

int mpf_writer__ustack(struct mpf_writer *w, uint64_t time, uint32_t flags, const uint64_t *regs,
		       const uint8_t *data, uint32_t size, uint32_t *id)
{
	struct mpf_record rec = { .type = MPF_REC_USTACK, .time = time };
	struct stack_table *t;
	int err;

	if (!w || !regs || !id)
		return -EINVAL;
	if (w->err)
		return w->err;
	t = &w->stacks;
	rec.ustack.id = t->next_id;
	rec.ustack.flags = flags;
	memcpy(rec.ustack.regs, regs, sizeof(rec.ustack.regs));
	rec.ustack.size = size;
	rec.ustack.data = data;
	err = record__check(&rec);
	if (!err)
		err = writer__append(w, &rec);
	if (err)
		return err;
	*id = t->next_id;
	if (++t->next_id == 0)
		t->next_id = 1;
	return 0;
}

void mpf_writer__stats(const struct mpf_writer *w, struct mpf_writer_stats *st)
{
	*st = w->stats;
}

int mpf_writer__close(struct mpf_writer *w)
{
	int err;

	if (!w)
		return -EINVAL;
	err = mpf_writer__flush(w);
	/* EINVAL: the file is a pipe or the like, where there is nothing to sync. */
	if (!err && fsync(w->fd) && errno != EINVAL)
		err = -errno;
	if (close(w->fd) && !err)
		err = -errno;
	if (w->tee_fd > 0) {
		if (!err && fsync(w->tee_fd) && errno != EINVAL)
			err = -errno;
		if (close(w->tee_fd) && !err)
			err = -errno;
	}
	ZSTD_freeCCtx(w->cctx);
	hashmap__free(&w->stacks.index);
	free(w->stacks.ents);
	free(w->stacks.frames);
	free(w->out);
	free(w->buf);
	free(w);
	return err;
}
