/*
 * The trace reader.  It treats the file as untrusted input: every size is
 * bounded before anything is allocated, every chunk is checked (CRC, exact
 * inflated size, record framing and count) before any of its records is
 * returned, and every field is bounds-checked as it is decoded.  At the first
 * unsound chunk or record it stops and says why in the status, so a cut or
 * damaged trace still yields everything before the damage.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "format/codec.h"
#include "format/decode.h"
#include "format/mpf.h"
#include "lib/io.h"

/*
 * Fuzzing builds (tests/fuzz/, the libFuzzer convention) ignore wrong CRCs,
 * so that mutated inputs reach the decoding the CRC would otherwise guard.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define MPF_FUZZING 1
#else
#define MPF_FUZZING 0
#endif

enum chunk_end {
	CHUNK_LOADED,		/* ret 1 */
	CHUNK_EOF,		/* a clean end between chunks */
	CHUNK_TRUNCATED,	/* the file ends inside the chunk */
	CHUNK_CORRUPT,
};

/*
 * A chunk as loaded: read at off, its CRC, inflated size and record framing
 * checked.  Loading touches nothing of the reader but the file and these
 * buffers, so that a thread may load the chunks after the current one of a
 * regular file, and decode their records (chunk__decode()), while the
 * records of the current one are used.
 */
struct chunk_load {
	uint64_t off;		/* in: where the chunk starts */
	int ret;		/* out: 1 loaded, 0 stopped (end says why), -errno */
	enum chunk_end end;
	uint64_t next_off;	/* out, loaded: where the next chunk starts */
	size_t raw_size;
	uint8_t *comp;		/* the payload as stored */
	size_t comp_cap;
	uint8_t *raw;		/* inflated */
	size_t raw_cap;
	/*
	 * Decoded by the loading thread (chunk__decode()): its first records, as
	 * struct ahead entries, up to the first unsound one (bad) or as many as
	 * AHEAD_MAX bytes hold; the rest of raw from resume on, with the delta
	 * state ds, is decoded as it is read.  ahead: whether these are set.
	 */
	bool ahead, bad;
	uint8_t *dec;
	size_t dec_len, dec_cap, dec_pos;
	size_t resume;
	struct dec_state ds;
};

/*
 * Chunks in the ring: the caller's, the one being staged, the one being
 * loaded, and more, so that the threads run ahead where some chunks take the
 * caller longer and others the threads (eight: a model of 10.5 M distinct
 * stacks was built in 0.92 of the time four took, for 24 MiB more).
 */
#define SLOTS	8
/*
 * But a chunk may inflate to MPF_CHUNK_RAW_MAX: the ring's buffers, which
 * grow and are kept, are bounded too.  A slot done with whose buffers are
 * past SLOT_KEEP bytes (a chunk of a usual trace needs at most about 18 MiB)
 * frees them, and the loading thread runs ahead of the chunk the caller
 * needs next only while the chunks from the caller's on are each within
 * SLOT_KEEP and together within RING_AHEAD: with large chunks the ring holds
 * two, as a reader of one chunk ahead would.
 */
#define SLOT_KEEP	(32u << 20)
#define RING_AHEAD	(96u << 20)

struct mpf_reader {
	int fd;
	bool regular;		/* st_size tells how much of a chunk exists */
	int err;		/* sticky: an I/O or allocation error, as -errno */
	bool done;		/* stopped: end of file or unsound data */
	struct mpf_header hdr;
	uint64_t off;		/* file offset of the next chunk */
	uint64_t limit;		/* where the trace ends in the file (an archive's is longer) */

	/*
	 * The chunks: the current one, the caller's (cur), and those the
	 * threads work on meanwhile, in a ring (cur is slot[0] without them).
	 * Chunk k of the file is slot[k % SLOTS]; the counters, under pf_lock,
	 * say how far each has got: the caller took chunks up to fetched - 1 (the
	 * slots of those before are free), the loading thread loaded and decoded
	 * chunks up to loaded - 1, the staging thread staged chunks up to
	 * staged - 1.
	 */
	struct chunk_load slot[SLOTS];
	struct chunk_load *cur;
	bool pf_tried, pf_running, st_running, pf_quit;
	uint64_t fetched, loaded, staged;
	pthread_t pf_thread, st_thread;
	pthread_mutex_t pf_lock;
	pthread_cond_t pf_cond;
	struct mpf_dec chunk;	/* records of the current chunk not yet returned */
	uint64_t chunk_off;
	ZSTD_DCtx *dctx;

	struct dec_state ds;	/* the current chunk's, from where its decoded records end */
	struct mpf_record rec;	/* the record mpf_reader__read() decoded here */

	/* The stage (mpf_reader__set_stage()), called while stage_on: the staging thread's. */
	mpf_stage_fn stage;
	void *stage_ctx;
	bool stage_on;

	struct mpf_reader_status status;
};

/*
 * Reads and checks the header at the start of fd into *hdr, returning its
 * size in *size.  The errors are those of mpf_reader__open_detailed(); with
 * -EPROTONOSUPPORT, *hdr holds the version found and nothing else.
 */
static int header__read(int fd, struct mpf_header *hdr, uint32_t *size)
{
	uint8_t hbuf[MPF_HEADER_SIZE_MAX];
	ssize_t n;
	int ret;

	n = read_full(fd, hbuf, MPF_HEADER_SIZE);
	if (n < 0)
		return (int)n;
	/* Too short for a header, or another magic: not a trace at all. */
	if ((size_t)n < MPF_HEADER_SIZE || memcmp(hbuf, MPF_MAGIC, sizeof(MPF_MAGIC) - 1))
		return -ENOMSG;
	ret = mpf_header__check_prefix(hbuf, (size_t)n, size);
	if (ret == -EPROTONOSUPPORT) {
		/*
		 * Every major keeps the magic and the version at offsets 0, 8
		 * and 10 so that an older reader can say what it refused.
		 */
		memset(hdr, 0, sizeof(*hdr));
		hdr->version_major = mpf_get_le16(hbuf + 8);
		hdr->version_minor = mpf_get_le16(hbuf + 10);
	}
	if (ret)
		return ret;
	if (*size > MPF_HEADER_SIZE) {
		n = read_full(fd, hbuf + MPF_HEADER_SIZE, *size - MPF_HEADER_SIZE);
		if (n < 0)
			return (int)n;
		if ((size_t)n < *size - MPF_HEADER_SIZE)
			return -EBADMSG;
	}
	return mpf_header__decode(hbuf, *size, hdr);
}

struct mpf_reader *mpf_reader__fdopen(int fd, int *err, struct mpf_header *found)
{
	struct mpf_reader *r;
	struct stat sb;
	uint32_t size;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		ret = -ENOMEM;
		goto out;
	}
	r->fd = fd;
	r->cur = &r->slot[0];
	if (fstat(r->fd, &sb)) {
		ret = -errno;
		goto out;
	}
	r->regular = S_ISREG(sb.st_mode);

	ret = header__read(r->fd, &r->hdr, &size);
	if (ret)
		goto out;
	r->off = size;
	r->limit = UINT64_MAX;

	r->dctx = ZSTD_createDCtx();
	if (!r->dctx) {
		ret = -ENOMEM;
		goto out;
	}
	return r;
out:
	if (r && found)
		*found = r->hdr;
	mpf_reader__close(r);
	if (err)
		*err = ret;
	return NULL;
}

struct mpf_reader *mpf_reader__open_detailed(const char *path, int *err, struct mpf_header *found)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (err)
			*err = -errno;
		return NULL;
	}
	return mpf_reader__fdopen(fd, err, found);
}

struct mpf_reader *mpf_reader__open(const char *path, int *err)
{
	struct mpf_reader *r = mpf_reader__open_detailed(path, err, NULL);

	/* Not a trace and a damaged one are one error here, as this function always said. */
	if (!r && err && *err == -ENOMSG)
		*err = -EBADMSG;
	return r;
}

void mpf_reader__set_limit(struct mpf_reader *r, uint64_t size)
{
	r->limit = size;
}

void mpf_reader__set_stage(struct mpf_reader *r, mpf_stage_fn fn, void *ctx)
{
	r->stage = fn;
	r->stage_ctx = ctx;
	r->stage_on = fn != NULL;
}

const struct mpf_header *mpf_reader__header(const struct mpf_reader *r)
{
	return &r->hdr;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *p;

	if (need <= *cap)
		return 0;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = need;
	return 0;
}

/* Stops reading at the chunk at off; what was returned before stays valid. */
static int reader__stop(struct mpf_reader *r, uint64_t off, bool corrupt)
{
	r->done = true;
	if (corrupt)
		r->status.corrupt = true;
	else
		r->status.truncated = true;
	r->status.bad_offset = off;
	r->chunk.p = r->chunk.end = NULL;
	return 0;
}

/*
 * Walks the record framing of a whole chunk (type, time, payload length)
 * without decoding payloads: it must end exactly at the end of the chunk
 * after the number of records the chunk header gives.  Only then is any
 * record of the chunk handed out.
 */
static bool chunk__framing_ok(const uint8_t *raw, size_t len, uint32_t nr_records)
{
	struct mpf_dec d;
	uint64_t type, time, plen;
	const uint8_t *p;
	uint32_t n = 0;

	mpf_dec__init(&d, raw, len);
	while (mpf_dec__left(&d)) {
		if (mpf_dec__get_u64(&d, &type) || type == 0 || mpf_dec__get_u64(&d, &time) ||
		    mpf_dec__get_u64(&d, &plen) || plen > mpf_dec__left(&d) ||
		    mpf_dec__get_bytes(&d, (size_t)plen, &p))
			return false;
		if (++n > nr_records)
			return false;
	}
	return n == nr_records;
}

static int chunk__stop(struct chunk_load *c, enum chunk_end end)
{
	c->end = end;
	return c->ret = 0;
}

/* Loads the chunk at c->off into c; c->ret, as returned: 1, 0 (c->end says why) or -errno. */
static int chunk__load(int fd, bool regular, uint64_t limit, ZSTD_DCtx *dctx,
		       struct chunk_load *c)
{
	uint8_t hbuf[MPF_CHUNK_HDR_SIZE];
	struct mpf_chunk_hdr ch;
	uint64_t off = c->off;
	struct stat sb;
	uint8_t *payload;
	unsigned long long size;
	size_t n;
	ssize_t got;
	int ret;

	c->ahead = false;
	/* The end of the trace inside a longer file (an archive) is its end of file. */
	got = off >= limit ? 0
			   : read_full(fd, hbuf, limit - off < sizeof(hbuf) ? (size_t)(limit - off)
									    : sizeof(hbuf));
	if (got < 0)
		return c->ret = (int)got;
	if (got == 0)
		return chunk__stop(c, CHUNK_EOF);
	if ((size_t)got < sizeof(hbuf))
		return chunk__stop(c, CHUNK_TRUNCATED);
	if (mpf_chunk_hdr__decode(hbuf, &ch))
		return chunk__stop(c, CHUNK_CORRUPT);

	/* Do not allocate for a payload the file does not have. */
	if (regular) {
		if (fstat(fd, &sb))
			return c->ret = -errno;
		if ((uint64_t)sb.st_size < off + sizeof(hbuf) + ch.comp_size)
			return chunk__stop(c, CHUNK_TRUNCATED);
	}
	if (limit - off - sizeof(hbuf) < ch.comp_size)
		return chunk__stop(c, CHUNK_TRUNCATED);

	if (ch.flags & MPF_CHUNK_ZSTD)
		ret = grow(&c->comp, &c->comp_cap, ch.comp_size);
	else
		ret = grow(&c->raw, &c->raw_cap, ch.raw_size);
	if (ret)
		return c->ret = ret;
	payload = (ch.flags & MPF_CHUNK_ZSTD) ? c->comp : c->raw;

	got = read_full(fd, payload, ch.comp_size);
	if (got < 0)
		return c->ret = (int)got;
	if ((size_t)got < ch.comp_size)
		return chunk__stop(c, CHUNK_TRUNCATED);
	c->next_off = off + sizeof(hbuf) + ch.comp_size;

	if ((uint32_t)crc32(crc32(0L, Z_NULL, 0), payload, ch.comp_size) != ch.crc && !MPF_FUZZING)
		return chunk__stop(c, CHUNK_CORRUPT);
	if (ch.flags & MPF_CHUNK_ZSTD) {
		/*
		 * The first frame's own content size must fit before raw_size
		 * bytes are allocated on the word of the chunk header.
		 */
		size = ZSTD_getFrameContentSize(c->comp, ch.comp_size);
		if (size == ZSTD_CONTENTSIZE_ERROR ||
		    (size != ZSTD_CONTENTSIZE_UNKNOWN && size > ch.raw_size))
			return chunk__stop(c, CHUNK_CORRUPT);
		ret = grow(&c->raw, &c->raw_cap, ch.raw_size);
		if (ret)
			return c->ret = ret;
		n = ZSTD_decompressDCtx(dctx, c->raw, ch.raw_size, c->comp, ch.comp_size);
		if (ZSTD_isError(n) || n != ch.raw_size)
			return chunk__stop(c, CHUNK_CORRUPT);
	}
	if (!chunk__framing_ok(c->raw, ch.raw_size, ch.nr_records))
		return chunk__stop(c, CHUNK_CORRUPT);
	c->raw_size = ch.raw_size;
	c->end = CHUNK_LOADED;
	return c->ret = 1;
}

/*
 * Two threads read a regular file ahead of the caller.  The loading thread
 * loads each chunk in turn and decodes its records (chunk__decode()); the
 * staging thread, when there is a stage, calls it on each decoded chunk in
 * turn (chunk__stage()); the caller takes each chunk once it is staged.  So
 * inflating and decoding, the stage's work and the caller's work on records
 * go on at once, on different chunks: building a model of a trace of many
 * stacks, each is about a third of the work.  The loads are the same, in
 * the same order, as without the threads.  Only the loading thread touches
 * the file and the inflating context from its start on.
 */
static void chunk__decode(struct mpf_reader *r, struct chunk_load *c);
static void chunk__stage(struct mpf_reader *r, struct chunk_load *c);

/*
 * Under pf_lock: a thread's work on chunk k (c) done, said in its counter.
 * A chunk that stopped the reading is the last: then it waits to be told to
 * quit.
 */
static void pf__done(struct mpf_reader *r, uint64_t *done, uint64_t k, const struct chunk_load *c)
{
	*done = k + 1;
	pthread_cond_broadcast(&r->pf_cond);
	while (c->ret != 1 && !r->pf_quit)
		pthread_cond_wait(&r->pf_cond, &r->pf_lock);
}

/* The bytes of c's buffers. */
static size_t chunk__bytes(const struct chunk_load *c)
{
	return c->comp_cap + c->raw_cap + c->dec_cap;
}

static void chunk__release(struct chunk_load *c)
{
	free(c->comp);
	free(c->raw);
	free(c->dec);
	c->comp = c->raw = c->dec = NULL;
	c->comp_cap = c->raw_cap = c->dec_cap = 0;
}

/*
 * Under pf_lock: whether the loading thread may load chunk k now (see
 * SLOTS); first, the large buffers of the slots done with are freed.
 */
static bool load__may(struct mpf_reader *r, uint64_t k)
{
	uint64_t first = r->fetched ? r->fetched - 1 : 0;	/* the caller's */
	size_t ahead = 0;
	bool small = true;

	for (uint64_t j = k >= SLOTS ? k - SLOTS : 0; j < k; j++) {
		struct chunk_load *c = &r->slot[j % SLOTS];

		if (j < first) {
			if (chunk__bytes(c) > SLOT_KEEP)
				chunk__release(c);
			continue;
		}
		ahead += chunk__bytes(c);
		small &= chunk__bytes(c) <= SLOT_KEEP;
	}
	/* The chunk the caller needs next, always; the others within the bounds. */
	if (k <= r->fetched)
		return true;
	return k < r->fetched + SLOTS - 1 && small && ahead <= RING_AHEAD;
}

static void *load__main(void *arg)
{
	struct mpf_reader *r = arg;
	uint64_t off = r->off;

	pthread_mutex_lock(&r->pf_lock);
	for (uint64_t k = 0; !r->pf_quit; k++) {
		struct chunk_load *c = &r->slot[k % SLOTS];

		/* Its slot was chunk k - SLOTS's, done with once the caller took the one after. */
		while (!load__may(r, k) && !r->pf_quit)
			pthread_cond_wait(&r->pf_cond, &r->pf_lock);
		if (r->pf_quit)
			break;
		pthread_mutex_unlock(&r->pf_lock);
		c->off = off;
		if (chunk__load(r->fd, r->regular, r->limit, r->dctx, c) == 1)
			chunk__decode(r, c);
		off = c->next_off;
		pthread_mutex_lock(&r->pf_lock);
		pf__done(r, &r->loaded, k, c);
	}
	pthread_mutex_unlock(&r->pf_lock);
	return NULL;
}

static void *stage__main(void *arg)
{
	struct mpf_reader *r = arg;

	pthread_mutex_lock(&r->pf_lock);
	for (uint64_t k = 0; !r->pf_quit; k++) {
		struct chunk_load *c = &r->slot[k % SLOTS];

		while (r->loaded <= k && !r->pf_quit)
			pthread_cond_wait(&r->pf_cond, &r->pf_lock);
		if (r->pf_quit)
			break;
		pthread_mutex_unlock(&r->pf_lock);
		if (c->ret == 1 && r->stage_on)
			chunk__stage(r, c);
		else
			r->stage_on = false;
		pthread_mutex_lock(&r->pf_lock);
		pf__done(r, &r->staged, k, c);
	}
	pthread_mutex_unlock(&r->pf_lock);
	return NULL;
}

static void prefetch__stop(struct mpf_reader *r)
{
	if (!r->pf_running)
		return;
	pthread_mutex_lock(&r->pf_lock);
	r->pf_quit = true;
	pthread_cond_broadcast(&r->pf_cond);
	pthread_mutex_unlock(&r->pf_lock);
	pthread_join(r->pf_thread, NULL);
	if (r->st_running)
		pthread_join(r->st_thread, NULL);
	pthread_cond_destroy(&r->pf_cond);
	pthread_mutex_destroy(&r->pf_lock);
	r->pf_running = r->st_running = false;
}

/* The threads started, as many as could be; without the staging thread, no stage. */
static void prefetch__start(struct mpf_reader *r)
{
	r->pf_tried = true;
	if (pthread_mutex_init(&r->pf_lock, NULL))
		return;
	if (pthread_cond_init(&r->pf_cond, NULL)) {
		pthread_mutex_destroy(&r->pf_lock);
		return;
	}
	if (pthread_create(&r->pf_thread, NULL, load__main, r)) {
		pthread_cond_destroy(&r->pf_cond);
		pthread_mutex_destroy(&r->pf_lock);
		return;
	}
	r->pf_running = true;
	/* From here on stage_on is the staging thread's, if it runs. */
	if (r->stage_on)
		r->st_running = !pthread_create(&r->st_thread, NULL, stage__main, r);
	if (!r->st_running)
		r->stage_on = false;
}

/*
 * The chunk at r->off into r->cur: the next one the threads made ready, or
 * loaded here for streams, whose reads may block for as long as the writer
 * likes, and when no thread could be made.
 */
static void reader__fetch(struct mpf_reader *r)
{
	uint64_t k = r->fetched;

	if (r->regular && !r->pf_tried)
		prefetch__start(r);
	if (!r->pf_running) {
		r->stage_on = false;
		r->cur->off = r->off;
		chunk__load(r->fd, r->regular, r->limit, r->dctx, r->cur);
		return;
	}
	pthread_mutex_lock(&r->pf_lock);
	/* The chunk before is done with: its slot is the loading thread's again. */
	r->fetched = k + 1;
	pthread_cond_broadcast(&r->pf_cond);
	while ((r->st_running ? r->staged : r->loaded) <= k)
		pthread_cond_wait(&r->pf_cond, &r->pf_lock);
	pthread_mutex_unlock(&r->pf_lock);
	r->cur = &r->slot[k % SLOTS];
}

/* Returns 1 with a chunk loaded, 0 when reading stopped, or -errno. */
static int reader__load_chunk(struct mpf_reader *r)
{
	uint64_t off = r->off;

	reader__fetch(r);
	if (r->cur->ret < 0)
		return r->cur->ret;
	switch (r->cur->end) {
	case CHUNK_EOF:
		/* A clean end between chunks: complete only if END was seen. */
		r->done = true;
		r->status.truncated = !r->status.complete;
		return 0;
	case CHUNK_TRUNCATED:
		return reader__stop(r, off, false);
	case CHUNK_CORRUPT:
		return reader__stop(r, off, true);
	case CHUNK_LOADED:
		break;
	}
	r->off = r->cur->next_off;
	/* What the thread did not decode, from where it stopped, in the state it got to. */
	if (r->cur->ahead) {
		mpf_dec__init(&r->chunk, r->cur->raw + r->cur->resume,
			      r->cur->raw_size - r->cur->resume);
		r->ds = r->cur->ds;
	} else {
		mpf_dec__init(&r->chunk, r->cur->raw, r->cur->raw_size);
		dec_state__reset(&r->ds, r->hdr.start_time);
	}
	r->chunk_off = off;
	r->status.chunks++;
	return 1;
}

/*
 * A decoded record as the loading thread keeps it: the record itself, but
 * only its header and its type's own fields, then the addresses or frames of
 * a stack; size, the entry's bytes, is a multiple of 8.  The record is
 * decoded, staged and handed to the caller in place (mpf_reader__next()
 * copies it out).  Its stack array's pointer is set where it is used: the
 * buffer may move as it grows.
 */
struct ahead {
	uint32_t size, pad;
	struct mpf_record rec;
};

#define AHEAD_ROUND(n)	(((n) + 7) & ~(size_t)7)
#define AHEAD_HDR	offsetof(struct ahead, rec.info)
#define AHEAD_ENTRY_MAX	(sizeof(struct ahead) + MPF_STACK_MAX * sizeof(uint64_t))
#define AHEAD_MAX	(16u << 20)	/* bytes of decoded records a chunk keeps at most */

/* The stack array a record points to, and its bytes. */
static const void *record__array(const struct mpf_record *rec, size_t *size)
{
	switch (rec->type) {
	case MPF_REC_STACK:
		*size = rec->stack.nr * sizeof(uint64_t);
		return rec->stack.ips;
	case MPF_REC_FRAME:
		*size = rec->frame.nr * sizeof(uint64_t);
		return rec->frame.ips;
	case MPF_REC_STACK_NODE:
		*size = rec->stack_node.nr * sizeof(uint32_t);
		return rec->stack_node.frames;
	}
	*size = 0;
	return NULL;
}

/* Points rec's stack array (record__array()) at arr. */
static void record__set_array(struct mpf_record *rec, const void *arr)
{
	switch (rec->type) {
	case MPF_REC_STACK:
		rec->stack.ips = arr;
		break;
	case MPF_REC_FRAME:
		rec->frame.ips = arr;
		break;
	case MPF_REC_STACK_NODE:
		rec->stack_node.frames = arr;
		break;
	}
}

/* Room for another entry in c->dec, grown as it fills up to AHEAD_MAX: false past it. */
static bool ahead__room(struct chunk_load *c)
{
	size_t need = c->dec_len + AHEAD_ENTRY_MAX, want;

	if (need > AHEAD_MAX)
		return false;
	if (need <= c->dec_cap)
		return true;
	/* Doubled, up to AHEAD_MAX: grow() gives exactly what is asked. */
	want = c->dec_cap ? 2 * c->dec_cap : 64u << 10;
	return !grow(&c->dec, &c->dec_cap, want > AHEAD_MAX ? AHEAD_MAX : want);
}

/* The entry e, its record just decoded in place: its stack array after its fields. */
static void ahead__close(struct chunk_load *c, struct ahead *e)
{
	uint8_t *body = (uint8_t *)&e->rec.info;
	size_t fields = AHEAD_ROUND(mpf_rec_size[e->rec.type]), n;
	const void *arr = record__array(&e->rec, &n);

	if (n)
		memcpy(body + fields, arr, n);
	e->size = (uint32_t)(AHEAD_HDR + fields + AHEAD_ROUND(n));
	e->pad = 0;
	c->dec_len += e->size;
}

/* Entry e's record, its stack array's pointer set: in the entry, to be used in place. */
static struct mpf_record *ahead__record(struct ahead *e)
{
	record__set_array(&e->rec, (const uint8_t *)&e->rec.info +
					   AHEAD_ROUND(mpf_rec_size[e->rec.type]));
	return &e->rec;
}

/*
 * The loading thread's share of reading: the records of the chunk it has
 * just loaded, decoded into c->dec while the reader's caller works on a
 * chunk before.  It stops at the first unsound record (c->bad: the reader
 * stops there, as it would decoding it itself) or when AHEAD_MAX bytes are
 * full; the pointers into raw (paths, copied stacks) stay good while the
 * chunk is the reader's.
 */
static void chunk__decode(struct mpf_reader *r, struct chunk_load *c)
{
	struct mpf_dec chunk;
	int ret;

	c->ahead = true;
	c->bad = false;
	c->dec_len = c->dec_pos = 0;
	dec_state__reset(&c->ds, r->hdr.start_time);
	mpf_dec__init(&chunk, c->raw, c->raw_size);
	while (ahead__room(c)) {
		struct ahead *e = (void *)(c->dec + c->dec_len);

		ret = record__next(&c->ds, &chunk, &e->rec);
		if (ret <= 0) {
			c->bad = ret < 0;
			break;
		}
		ahead__close(c, e);
	}
	c->resume = (size_t)(chunk.p - c->raw);
}

/*
 * The staging thread's share: the stage called on each record the loading
 * thread decoded, in order, what it made of each kept in the entry.  Where
 * the chunk's records were not all decoded ahead, the stage ends: the
 * reader's caller decodes the rest, unstaged.
 */
static void chunk__stage(struct mpf_reader *r, struct chunk_load *c)
{
	for (size_t pos = 0; pos < c->dec_len;) {
		struct ahead *e = (void *)(c->dec + pos);

		r->stage(r->stage_ctx, ahead__record(e));
		pos += e->size;
	}
	if (c->resume < c->raw_size)
		r->stage_on = false;
}

int mpf_reader__read(struct mpf_reader *r, const struct mpf_record **rec)
{
	int ret;

	for (;;) {
		if (r->err)
			return r->err;
		if (r->done)
			return 0;
		if (r->cur->ahead && r->cur->dec_pos < r->cur->dec_len) {
			struct ahead *e = (void *)(r->cur->dec + r->cur->dec_pos);

			r->cur->dec_pos += e->size;
			*rec = ahead__record(e);
		} else if (r->cur->ahead && r->cur->bad) {
			return reader__stop(r, r->chunk_off, true);
		} else if (!mpf_dec__left(&r->chunk)) {
			ret = reader__load_chunk(r);
			if (ret < 0)
				r->err = ret;
			continue;
		} else {
			ret = record__next(&r->ds, &r->chunk, &r->rec);
			if (ret < 0)
				return reader__stop(r, r->chunk_off, true);
			if (!ret)
				continue;
			*rec = &r->rec;
		}
		if ((*rec)->type == MPF_REC_END)
			r->status.complete = true;
		return 1;
	}
}

int mpf_reader__next(struct mpf_reader *r, struct mpf_record *rec)
{
	const struct mpf_record *in;
	int ret = mpf_reader__read(r, &in);

	if (ret <= 0)
		return ret;
	/* Its header and its type's fields: a record decoded ahead has no more. */
	rec->type = in->type;
	rec->time = in->time;
	rec->staged = in->staged;
	if (!(in->staged & MPF_STAGE_CONSUMED))
		memcpy(&rec->info, &in->info, mpf_rec_size[in->type]);
	return 1;
}

void mpf_reader__status(const struct mpf_reader *r, struct mpf_reader_status *st)
{
	*st = r->status;
}

void mpf_reader__close(struct mpf_reader *r)
{
	if (!r)
		return;
	prefetch__stop(r);
	if (r->fd >= 0)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	for (int i = 0; i < SLOTS; i++)
		chunk__release(&r->slot[i]);
	free(r);
}
