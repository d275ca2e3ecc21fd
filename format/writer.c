/*
 * The trace writer: encodes records into a chunk buffer, compresses full
 * chunks with zstd and appends them to the file, and interns call stacks as
 * a tree, so that each distinct call path is written once and then referred
 * to by id.
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
#include "lib/gentable.h"
#include "lib/hashmap.h"
#include "lib/io.h"

#define DEFAULT_CHUNK_SIZE	(1u << 20)
#define DEFAULT_LEVEL		3
#define DEFAULT_MAX_STACKS	(1u << 20)
#define DEFAULT_MAX_FRAMES	(1u << 18)

/*
 * Stacks are written as a tree (STACK_NODE records): each node is a frame and
 * the id of the stack it was called from.  The writer remembers nodes by
 * (parent id, frame id) and frames by (address, kind), in two generations
 * each: when the newer one is full, the older is forgotten and the newer
 * becomes the older.  What is found in the older moves to the newer under
 * its id, which the file keeps defined: so the nodes and frames in use stay
 * remembered however long the recording, and memory stays bounded.
 */
#define NODE_ROOT		0		/* the parent of a stack's outermost frame */
#define NODE_TRUNCATED_ROOT	UINT32_MAX	/* the same, of a walk that stopped short */

struct node_ent {
	uint32_t parent;	/* the key: a stack id, NODE_ROOT, NODE_TRUNCATED_ROOT ... */
	uint32_t frame;		/* ... and a frame id */
	uint32_t id;
};

struct frame_ent {
	uint64_t ip;		/* the key: the address ... */
	uint32_t exact;		/* ... and MPF_FRAME_EXACT or 0 */
	uint32_t id;
};

_Static_assert(sizeof(struct node_ent) <= GEN_TABLE_ENT_MAX &&
		       sizeof(struct frame_ent) <= GEN_TABLE_ENT_MAX,
	       "entries the two-generation tables cannot copy");


/*
 * The stacks seen last, whole, by their hash: a stack that recurs (a page
 * fault loop) is found with one hash and one compare, not a lookup per frame.
 * Stacks of more frames than a slot holds are looked up frame by frame.
 */
#define RECENT_SLOTS		2048
#define RECENT_FRAMES		128

struct recent {
	uint64_t hash;
	uint32_t id;		/* 0: empty */
	uint32_t flags;
	uint32_t nr;
	uint32_t pad;
	uint64_t ips[RECENT_FRAMES];
};

struct stack_table {
	struct gen_table nodes, frames;
	struct recent *recent;		/* RECENT_SLOTS */
	uint32_t next_id;		/* of the stack id space (STACK_NODE and USTACK) */
	uint32_t next_frame;
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
	uint32_t frame_id;	/* 1.5: the last FRAME record's last id ... */
	uint64_t frame_ip;	/* ... and address */
	uint32_t node_id;	/* 1.5: the last STACK_NODE record's last id ... */
	uint32_t node_frame;	/* ... and frame id */
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

static uint64_t node_hash(const void *ent)
{
	const struct node_ent *e = ent;

	return hash_pair(e->parent, e->frame);
}

static uint64_t frame_hash(const void *ent)
{
	const struct frame_ent *e = ent;

	return hash_pair(e->ip, e->exact);
}

static bool node_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct node_ent *e = (const struct node_ent *)((const struct gen *)ctx)->ents + idx;
	const struct node_ent *k = key;

	return e->parent == k->parent && e->frame == k->frame;
}

static bool frame_eq(const void *ctx, uint32_t idx, const void *key)
{
	const struct frame_ent *e = (const struct frame_ent *)((const struct gen *)ctx)->ents + idx;
	const struct frame_ent *k = key;

	return e->ip == k->ip && e->exact == k->exact;
}

static uint64_t node_rehash(const void *ctx, uint32_t idx)
{
	return node_hash((const struct node_ent *)((const struct gen *)ctx)->ents + idx);
}

static uint64_t frame_rehash(const void *ctx, uint32_t idx)
{
	return frame_hash((const struct frame_ent *)((const struct gen *)ctx)->ents + idx);
}

static void stack_table__init(struct stack_table *t, const struct mpf_writer_opts *opts)
{
	size_t nodes = opts->max_stacks ? opts->max_stacks : DEFAULT_MAX_STACKS;
	size_t frames = opts->max_frames ? opts->max_frames : DEFAULT_MAX_FRAMES;

	/* A generation holds at least one stack of new frames; ids are 32-bit. */
	nodes = nodes < 2 * MPF_STACK_MAX ? MPF_STACK_MAX : nodes > UINT32_MAX ? UINT32_MAX / 2
									     : nodes / 2;
	frames = frames < 2 * MPF_STACK_MAX ? MPF_STACK_MAX : frames > UINT32_MAX ? UINT32_MAX / 2
										  : frames / 2;
	t->nodes = (struct gen_table){ .max = nodes, .ent_size = sizeof(struct node_ent),
				       .hash = node_hash, .rehash = node_rehash, .eq = node_eq };
	t->frames = (struct gen_table){ .max = frames, .ent_size = sizeof(struct frame_ent),
					.hash = frame_hash, .rehash = frame_rehash,
					.eq = frame_eq };
	t->next_id = 1;
	t->next_frame = 1;
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
	stack_table__init(&w->stacks, opts);

	w->buf = malloc(w->chunk_size + MPF_REC_SIZE_MAX);
	w->out_cap = MPF_CHUNK_HDR_SIZE + ZSTD_compressBound(w->chunk_size + MPF_REC_SIZE_MAX);
	w->out = malloc(w->out_cap);
	w->cctx = ZSTD_createCCtx();
	w->stacks.recent = calloc(RECENT_SLOTS, sizeof(*w->stacks.recent));
	if (!w->buf || !w->out || !w->cctx || !w->stacks.recent)
		goto err;
	mpf_header__encode(hdr, hbuf);
	err = write_all(w, hbuf, sizeof(hbuf));
	if (err)
		goto err;
	writer__reset_chunk(w);
	return w;
err:
	free(w->stacks.recent);
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
	case MPF_REC_FRAME:
		if (rec->frame.id == 0 || rec->frame.nr == 0 || !rec->frame.ips)
			return -EINVAL;
		return rec->frame.nr > MPF_STACK_MAX ? -E2BIG : 0;
	case MPF_REC_STACK_NODE:
		if (rec->stack_node.id == 0 || rec->stack_node.nr == 0 || !rec->stack_node.frames)
			return -EINVAL;
		return rec->stack_node.nr > MPF_STACK_MAX ? -E2BIG : 0;
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
	case MPF_REC_FRAME:
		/* Ids follow one another; so do the addresses of the code of one call path, mostly. */
		p = mpf_put_varint(p, mpf_zigzag32(rec->frame.id - st->frame_id));
		p = mpf_put_varint(p, rec->frame.flags);
		p = mpf_put_varint(p, rec->frame.nr);
		for (i = 0; i < rec->frame.nr; i++) {
			p = put_zz64(p, rec->frame.ips[i], st->frame_ip);
			st->frame_ip = rec->frame.ips[i];
		}
		st->frame_id = rec->frame.id + rec->frame.nr - 1;
		break;
	case MPF_REC_STACK_NODE:
		/* The parent is usually a node of a recent stack: near the new ids. */
		p = mpf_put_varint(p, mpf_zigzag32(rec->stack_node.id - st->node_id));
		p = mpf_put_varint(p, mpf_zigzag32(rec->stack_node.parent - rec->stack_node.id));
		p = mpf_put_varint(p, rec->stack_node.flags);
		p = mpf_put_varint(p, rec->stack_node.nr);
		for (i = 0; i < rec->stack_node.nr; i++) {
			p = mpf_put_varint(p, mpf_zigzag32(rec->stack_node.frames[i] - st->node_frame));
			st->node_frame = rec->stack_node.frames[i];
		}
		st->node_id = rec->stack_node.id + rec->stack_node.nr - 1;
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




/*
 * Room for n ids of the stack id space.  Should 32 bits run out, ids start
 * again at 1 and every node is forgotten, so that no new node names an old
 * one under an id used again.
 */
static void stack_table__room(struct stack_table *t, uint32_t n)
{
	if (t->next_id > UINT32_MAX - 1 - n) {
		t->next_id = 1;
		gen_table__clear(&t->nodes);
		memset(t->recent, 0, RECENT_SLOTS * sizeof(*t->recent));
	}
}

/* The FRAME record of frames [first, first + n) of ips (innermost first), of one kind. */
static int write_frames(struct mpf_writer *w, uint64_t time, uint32_t first, uint32_t exact,
			const uint64_t *ips, uint32_t n)
{
	struct mpf_record rec = { .type = MPF_REC_FRAME, .time = time };

	rec.frame = (struct mpf_frame){ .id = first, .flags = exact, .nr = n, .ips = ips };
	return writer__append(w, &rec);
}

/*
 * The frame id of (ip, exact), adding the frame when new: its address goes
 * into fips, to be written in the FRAME record of the frames new with it
 * (ids in a row, one kind).
 */
static int stack_table__frame(struct mpf_writer *w, uint64_t time, uint64_t ip, uint32_t exact,
			      uint64_t *fips, uint32_t *nf, uint32_t *first, uint32_t *kind,
			      uint32_t *fid)
{
	struct stack_table *t = &w->stacks;
	struct frame_ent key = { .ip = ip, .exact = exact }, *e;
	int err = 0;

	e = gen_table__find(&t->frames, &key, frame_eq, &err);
	if (err)
		return err;
	if (e) {
		*fid = e->id;
		return 0;
	}
	if (t->next_frame > UINT32_MAX - 1) {
		t->next_frame = 1;
		gen_table__clear(&t->frames);
	}
	/* A new frame extends the pending record when it follows its last of the same kind. */
	if (*nf && (*kind != exact || *first + *nf != t->next_frame || *nf == MPF_STACK_MAX)) {
		err = write_frames(w, time, *first, *kind, fips, *nf);
		*nf = 0;
		if (err)
			return err;
	}
	if (!*nf) {
		*first = t->next_frame;
		*kind = exact;
	}
	fips[(*nf)++] = ip;
	key.id = t->next_frame++;
	if (!gen_table__add(&t->frames, &key))
		return -ENOMEM;
	*fid = key.id;
	return 0;
}

/*
 * Finds the longest run of outer frames of the stack that the table has as
 * nodes, and writes the frames and nodes below it: one STACK_NODE record,
 * after a FRAME record for each run of new frames.
 */
static int stack_table__intern(struct mpf_writer *w, uint64_t time, uint32_t flags,
			       const uint64_t *ips, uint32_t nr, uint32_t *id)
{
	struct stack_table *t = &w->stacks;
	uint32_t parent = flags & MPF_STACK_TRUNCATED ? NODE_TRUNCATED_ROOT : NODE_ROOT;
	uint32_t fids[MPF_STACK_MAX], frames[MPF_STACK_MAX], nf = 0, first = 0, kind = 0;
	uint64_t fips[MPF_STACK_MAX];
	struct mpf_record rec = { .type = MPF_REC_STACK_NODE, .time = time };
	struct node_ent key, *e;
	int i = (int)nr - 1, err = 0;

	stack_table__room(t, nr);
	/* The nodes the table has, from the outermost frame in. */
	for (; i >= 0; i--) {
		uint32_t exact = i == 0 && (flags & MPF_STACK_FIRST_IS_IP) ? MPF_FRAME_EXACT : 0;
		struct frame_ent fk = { .ip = ips[i], .exact = exact }, *f;

		f = gen_table__find(&t->frames, &fk, frame_eq, &err);
		if (err)
			return err;
		if (!f)
			break;
		key = (struct node_ent){ .parent = parent, .frame = f->id };
		e = gen_table__find(&t->nodes, &key, node_eq, &err);
		if (err)
			return err;
		if (!e)
			break;
		parent = e->id;
	}
	if (i < 0) {
		*id = parent;
		return 0;
	}
	/* Frames i .. 0 are nodes to make, outermost first. */
	for (int j = i; j >= 0; j--) {
		uint32_t exact = j == 0 && (flags & MPF_STACK_FIRST_IS_IP) ? MPF_FRAME_EXACT : 0;

		err = stack_table__frame(w, time, ips[j], exact, fips, &nf, &first, &kind,
					 &fids[j]);
		if (err)
			return err;
	}
	if (nf) {
		err = write_frames(w, time, first, kind, fips, nf);
		if (err)
			return err;
	}
	for (int k = 0; k <= i; k++)
		frames[k] = fids[i - k];
	rec.stack_node = (struct mpf_stack_node){
		.parent = parent == NODE_TRUNCATED_ROOT ? 0 : parent,
		.flags = parent == NODE_TRUNCATED_ROOT ? MPF_STACK_TRUNCATED : 0,
		.nr = (uint32_t)i + 1,
		.frames = frames,
	};
	rec.stack_node.id = t->next_id;
	t->next_id += rec.stack_node.nr;
	err = writer__append(w, &rec);
	if (err)
		return err;
	for (uint32_t k = 0; k < rec.stack_node.nr; k++) {
		key = (struct node_ent){ .parent = parent, .frame = frames[k],
					 .id = rec.stack_node.id + k };
		if (!gen_table__add(&t->nodes, &key))
			return -ENOMEM;
		parent = key.id;
	}
	*id = parent;
	return 0;
}

int mpf_writer__stack(struct mpf_writer *w, uint64_t time, uint32_t flags, const uint64_t *ips,
		      uint32_t nr, uint32_t *id)
{
	struct recent *r;
	uint64_t hash;
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
	/* What the tree can tell: the other bits are not kept. */
	flags &= MPF_STACK_FIRST_IS_IP | MPF_STACK_TRUNCATED;
	hash = stack__hash(flags, ips, nr);
	r = &w->stacks.recent[hash & (RECENT_SLOTS - 1)];
	if (r->id && r->hash == hash && r->flags == flags && r->nr == nr &&
	    !memcmp(r->ips, ips, nr * sizeof(*ips))) {
		*id = r->id;
		return 0;
	}
	err = stack_table__intern(w, time, flags, ips, nr, id);
	if (err || nr > RECENT_FRAMES)
		return err;
	r->hash = hash;
	r->id = *id;
	r->flags = flags;
	r->nr = nr;
	memcpy(r->ips, ips, nr * sizeof(*ips));
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
	stack_table__room(t, 1);
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
	*id = t->next_id++;
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
	gen_table__free(&w->stacks.nodes);
	gen_table__free(&w->stacks.frames);
	free(w->stacks.recent);
	free(w->out);
	free(w->buf);
	free(w);
	return err;
}
