/*
 * Decoding a chunk's records: the mirror of record__encode() in writer.c.
 * Every field is bounds-checked as it is read; an unsound record is
 * -EBADMSG, and the reader stops there.
 */
#include <errno.h>
#include <string.h>

#include "format/codec.h"
#include "format/decode.h"
#include "format/mpf.h"

static inline int get_zz64(struct mpf_dec *d, uint64_t prev, uint64_t *v)
{
	uint64_t x;

	if (mpf_dec__get_u64(d, &x))
		return -EBADMSG;
	*v = prev + mpf_unzigzag64(x);
	return 0;
}

static inline int get_zz32(struct mpf_dec *d, uint32_t prev, uint32_t *v)
{
	uint32_t x;

	if (mpf_dec__get_u32(d, &x))
		return -EBADMSG;
	*v = prev + mpf_unzigzag32(x);
	return 0;
}

static inline int get_pid_tid(struct mpf_dec *d, uint32_t *pid, uint32_t *tid)
{
	if (mpf_dec__get_u32(d, pid))
		return -EBADMSG;
	return get_zz32(d, *pid, tid);
}

static int get_order(struct mpf_dec *d, uint32_t *order)
{
	if (mpf_dec__get_u32(d, order) || *order > MPF_PAGE_ORDER_MAX)
		return -EBADMSG;
	return 0;
}

/*
 * Decodes one payload, the mirror of record__encode() in writer.c.  Bytes
 * after the known fields are ignored: a newer minor version may append fields.
 */
static int reader__decode(struct dec_state *r, struct mpf_dec *d, struct mpf_record *rec)
{
	const uint8_t *p;
	uint32_t i, n, v;
	uint64_t x, y;

	switch (rec->type) {
	case MPF_REC_INFO:
		if (mpf_dec__get_str(d, MPF_PATH_MAX, &rec->info.key, NULL) ||
		    mpf_dec__get_str(d, MPF_PATH_MAX, &rec->info.value, NULL))
			return -EBADMSG;
		return 0;
	case MPF_REC_COMM: {
		const char *s;
		size_t len;

		if (get_pid_tid(d, &rec->comm.pid, &rec->comm.tid) ||
		    mpf_dec__get_str(d, MPF_COMM_LEN - 1, &s, &len))
			return -EBADMSG;
		memcpy(rec->comm.comm, s, len + 1);
		return 0;
	}
	case MPF_REC_FORK:
		if (mpf_dec__get_u32(d, &rec->fork.ppid) || mpf_dec__get_u32(d, &rec->fork.pid))
			return -EBADMSG;
		return 0;
	case MPF_REC_EXEC:
		if (mpf_dec__get_u32(d, &rec->exec.pid) ||
		    mpf_dec__get_str(d, MPF_PATH_MAX, &rec->exec.filename, NULL))
			return -EBADMSG;
		/* 1.2 appended the arguments; a 1.0 or 1.1 record ends here. */
		if (!mpf_dec__left(d))
			return 0;
		if (mpf_dec__get_u32(d, &rec->exec.args_len) ||
		    rec->exec.args_len > MPF_PATH_MAX ||
		    mpf_dec__get_bytes(d, rec->exec.args_len, &p))
			return -EBADMSG;
		rec->exec.args = (const char *)p;
		return 0;
	case MPF_REC_EXIT:
		if (mpf_dec__get_u32(d, &rec->exit.pid) || mpf_dec__get_u32(d, &v))
			return -EBADMSG;
		rec->exit.status = (int32_t)mpf_unzigzag32(v);
		return 0;
	case MPF_REC_FILE:
		if (mpf_dec__get_u32(d, &rec->file.id) || rec->file.id == 0 ||
		    mpf_dec__get_u32(d, &rec->file.build_id_len) ||
		    rec->file.build_id_len > MPF_BUILD_ID_MAX ||
		    mpf_dec__get_bytes(d, rec->file.build_id_len, &p))
			return -EBADMSG;
		memcpy(rec->file.build_id, p, rec->file.build_id_len);
		return mpf_dec__get_str(d, MPF_PATH_MAX, &rec->file.path, NULL);
	case MPF_REC_MAP:
		if (mpf_dec__get_u32(d, &rec->map.pid) || mpf_dec__get_u32(d, &rec->map.file_id) ||
		    mpf_dec__get_u32(d, &rec->map.prot) || mpf_dec__get_u64(d, &x) ||
		    mpf_dec__get_u64(d, &y) || mpf_dec__get_u64(d, &rec->map.pgoff))
			return -EBADMSG;
		/* end = start + length must not wrap: consumers compute end - start. */
		if (y > UINT64_MAX - x)
			return -EBADMSG;
		rec->map.start = x;
		rec->map.end = x + y;
		return 0;
	case MPF_REC_STACK:
		if (get_zz32(d, r->stack_id, &rec->stack.id) || rec->stack.id == 0 ||
		    mpf_dec__get_u32(d, &rec->stack.flags) || mpf_dec__get_u32(d, &n) ||
		    n == 0 || n > MPF_STACK_MAX || get_zz64(d, r->stack_ip, &r->ips[0]))
			return -EBADMSG;
		for (i = 1; i < n; i++)
			if (get_zz64(d, r->ips[i - 1], &r->ips[i]))
				return -EBADMSG;
		r->stack_id = rec->stack.id;
		r->stack_ip = r->ips[0];
		rec->stack.nr = n;
		rec->stack.ips = r->ips;
		return 0;
	case MPF_REC_FRAME:
		if (get_zz32(d, r->frame_id, &rec->frame.id) || rec->frame.id == 0 ||
		    mpf_dec__get_u32(d, &rec->frame.flags) || mpf_dec__get_u32(d, &n) || n == 0 ||
		    n > MPF_STACK_MAX)
			return -EBADMSG;
		for (i = 0; i < n; i++) {
			if (get_zz64(d, r->frame_ip, &r->ips[i]))
				return -EBADMSG;
			r->frame_ip = r->ips[i];
		}
		r->frame_id = rec->frame.id + n - 1;
		rec->frame.nr = n;
		rec->frame.ips = r->ips;
		return 0;
	case MPF_REC_STACK_NODE:
		if (get_zz32(d, r->node_id, &rec->stack_node.id) || rec->stack_node.id == 0 ||
		    get_zz32(d, rec->stack_node.id, &rec->stack_node.parent) ||
		    mpf_dec__get_u32(d, &rec->stack_node.flags) || mpf_dec__get_u32(d, &n) ||
		    n == 0 || n > MPF_STACK_MAX)
			return -EBADMSG;
		for (i = 0; i < n; i++) {
			if (get_zz32(d, r->node_frame, &r->fids[i]))
				return -EBADMSG;
			r->node_frame = r->fids[i];
		}
		r->node_id = rec->stack_node.id + n - 1;
		rec->stack_node.nr = n;
		rec->stack_node.frames = r->fids;
		return 0;
	case MPF_REC_USTACK:
		if (get_zz32(d, r->stack_id, &rec->ustack.id) || rec->ustack.id == 0 ||
		    mpf_dec__get_u32(d, &rec->ustack.flags))
			return -EBADMSG;
		for (i = 0; i < MPF_USTACK_REGS; i++) {
			if (get_zz64(d, r->uregs[i], &rec->ustack.regs[i]))
				return -EBADMSG;
			r->uregs[i] = rec->ustack.regs[i];
		}
		if (mpf_dec__get_u32(d, &rec->ustack.size) || rec->ustack.size > MPF_USTACK_MAX ||
		    rec->ustack.size > (size_t)(d->end - d->p))
			return -EBADMSG;
		rec->ustack.data = d->p;
		d->p += rec->ustack.size;
		r->stack_id = rec->ustack.id;
		return 0;
	case MPF_REC_PAGE_ALLOC:
		if (get_pid_tid(d, &rec->page_alloc.pid, &rec->page_alloc.tid) ||
		    get_order(d, &rec->page_alloc.order) ||
		    mpf_dec__get_u32(d, &rec->page_alloc.gfp) ||
		    get_zz64(d, r->page, &rec->page_alloc.page) ||
		    mpf_dec__get_u32(d, &rec->page_alloc.stack_id))
			return -EBADMSG;
		r->page = rec->page_alloc.page;
		return 0;
	case MPF_REC_PAGE_FREE:
		if (mpf_dec__get_u32(d, &rec->page_free.pid) ||
		    get_order(d, &rec->page_free.order) ||
		    mpf_dec__get_u32(d, &rec->page_free.flags) ||
		    get_zz64(d, r->page, &rec->page_free.page) ||
		    get_zz64(d, rec->page_free.page, &rec->page_free.head))
			return -EBADMSG;
		r->page = rec->page_free.page;
		return 0;
	case MPF_REC_HEAP_ALLOC:
		if (get_pid_tid(d, &rec->heap_alloc.pid, &rec->heap_alloc.tid) ||
		    mpf_dec__get_u32(d, &rec->heap_alloc.func) ||
		    rec->heap_alloc.func >= MPF_HEAP__MAX ||
		    mpf_dec__get_u32(d, &rec->heap_alloc.stack_id) ||
		    get_zz64(d, r->ptr, &rec->heap_alloc.ptr) ||
		    mpf_dec__get_u64(d, &rec->heap_alloc.size))
			return -EBADMSG;
		r->ptr = rec->heap_alloc.ptr;
		return 0;
	case MPF_REC_HEAP_FREE:
		if (get_pid_tid(d, &rec->heap_free.pid, &rec->heap_free.tid) ||
		    get_zz64(d, r->ptr, &rec->heap_free.ptr))
			return -EBADMSG;
		r->ptr = rec->heap_free.ptr;
		return 0;
	case MPF_REC_HEAP_REALLOC:
		if (get_pid_tid(d, &rec->heap_realloc.pid, &rec->heap_realloc.tid) ||
		    mpf_dec__get_u32(d, &rec->heap_realloc.stack_id) ||
		    get_zz64(d, r->ptr, &rec->heap_realloc.old_ptr) ||
		    get_zz64(d, rec->heap_realloc.old_ptr, &rec->heap_realloc.ptr) ||
		    mpf_dec__get_u64(d, &rec->heap_realloc.size))
			return -EBADMSG;
		r->ptr = rec->heap_realloc.ptr;
		return 0;
	case MPF_REC_CACHE_ADD:
		if (get_pid_tid(d, &rec->cache_add.pid, &rec->cache_add.tid) ||
		    get_order(d, &rec->cache_add.order) ||
		    mpf_dec__get_u32(d, &rec->cache_add.stack_id) ||
		    get_zz64(d, r->cache_page, &rec->cache_add.page) ||
		    mpf_dec__get_u64(d, &rec->cache_add.ino) ||
		    mpf_dec__get_u32(d, &rec->cache_add.dev) ||
		    mpf_dec__get_u64(d, &rec->cache_add.index))
			return -EBADMSG;
		r->cache_page = rec->cache_add.page;
		return 0;
	case MPF_REC_CACHE_DEL:
		if (mpf_dec__get_u32(d, &rec->cache_del.pid) ||
		    get_order(d, &rec->cache_del.order) ||
		    get_zz64(d, r->cache_page, &rec->cache_del.page))
			return -EBADMSG;
		r->cache_page = rec->cache_del.page;
		return 0;
	case MPF_REC_VM:
		if (get_pid_tid(d, &rec->vm.pid, &rec->vm.tid) ||
		    mpf_dec__get_u32(d, &rec->vm.call) || rec->vm.call >= MPF_VM__MAX ||
		    mpf_dec__get_u32(d, &rec->vm.stack_id) || mpf_dec__get_u32(d, &rec->vm.prot) ||
		    mpf_dec__get_u32(d, &rec->vm.flags) || mpf_dec__get_u64(d, &rec->vm.addr) ||
		    mpf_dec__get_u64(d, &rec->vm.len) ||
		    get_zz64(d, rec->vm.addr, &rec->vm.old_addr) ||
		    mpf_dec__get_u64(d, &rec->vm.old_len))
			return -EBADMSG;
		return 0;
	case MPF_REC_RSS:
		if (mpf_dec__get_u32(d, &rec->rss.pid) || mpf_dec__get_u64(d, &rec->rss.anon) ||
		    mpf_dec__get_u64(d, &rec->rss.file) || mpf_dec__get_u64(d, &rec->rss.shmem) ||
		    mpf_dec__get_u64(d, &rec->rss.hwm))
			return -EBADMSG;
		/* 1.4: the virtual size; a 1.3 sample ends before it. */
		if (mpf_dec__left(d) && mpf_dec__get_u64(d, &rec->rss.vm))
			return -EBADMSG;
		return 0;
	case MPF_REC_LOST:
		if (mpf_dec__get_u32(d, &rec->lost.event) ||
		    mpf_dec__get_u64(d, &rec->lost.count))
			return -EBADMSG;
		return 0;
	case MPF_REC_END:
		/* Counters of event types this reader does not know are dropped. */
		if (mpf_dec__get_u32(d, &n))
			return -EBADMSG;
		for (i = 0; i < n; i++) {
			if (mpf_dec__get_u64(d, &x) || mpf_dec__get_u64(d, &y))
				return -EBADMSG;
			if (i < MPF_LOST__MAX) {
				rec->end.events[i] = x;
				rec->end.lost[i] = y;
			}
		}
		return 0;
	}
	return -EBADMSG;
}

/* The decoded size of each type's fields, which record__next() zeroes. */
const size_t mpf_rec_size[MPF_REC__MAX] = {
	[MPF_REC_INFO] = sizeof(struct mpf_info),
	[MPF_REC_COMM] = sizeof(struct mpf_comm),
	[MPF_REC_FORK] = sizeof(struct mpf_fork),
	[MPF_REC_EXEC] = sizeof(struct mpf_exec),
	[MPF_REC_EXIT] = sizeof(struct mpf_exit),
	[MPF_REC_FILE] = sizeof(struct mpf_file),
	[MPF_REC_MAP] = sizeof(struct mpf_map),
	[MPF_REC_STACK] = sizeof(struct mpf_stack),
	[MPF_REC_PAGE_ALLOC] = sizeof(struct mpf_page_alloc),
	[MPF_REC_PAGE_FREE] = sizeof(struct mpf_page_free),
	[MPF_REC_HEAP_ALLOC] = sizeof(struct mpf_heap_alloc),
	[MPF_REC_HEAP_FREE] = sizeof(struct mpf_heap_free),
	[MPF_REC_HEAP_REALLOC] = sizeof(struct mpf_heap_realloc),
	[MPF_REC_LOST] = sizeof(struct mpf_lost),
	[MPF_REC_END] = sizeof(struct mpf_end),
	[MPF_REC_USTACK] = sizeof(struct mpf_ustack),
	[MPF_REC_CACHE_ADD] = sizeof(struct mpf_cache_add),
	[MPF_REC_CACHE_DEL] = sizeof(struct mpf_cache_del),
	[MPF_REC_VM] = sizeof(struct mpf_vm),
	[MPF_REC_RSS] = sizeof(struct mpf_rss),
	[MPF_REC_FRAME] = sizeof(struct mpf_frame),
	[MPF_REC_STACK_NODE] = sizeof(struct mpf_stack_node),
};
_Static_assert(MPF_REC__MAX == MPF_REC_STACK_NODE + 1, "mpf_rec_size has every record type");

/*
 * The next record of chunk into rec, with the delta state s: 1, 0 at the
 * chunk's end, -EBADMSG for an unsound record.
 */
int record__next(struct dec_state *s, struct mpf_dec *chunk, struct mpf_record *rec)
{
	struct mpf_dec payload;
	uint64_t type, dt, plen;
	const uint8_t *p;

	while (mpf_dec__left(chunk)) {
		/* The framing was checked when the chunk was loaded; check anyway, it is cheap. */
		if (mpf_dec__get_u64(chunk, &type) || mpf_dec__get_u64(chunk, &dt) ||
		    mpf_dec__get_u64(chunk, &plen) || plen > mpf_dec__left(chunk) ||
		    mpf_dec__get_bytes(chunk, (size_t)plen, &p))
			return -EBADMSG;
		s->time += mpf_unzigzag64(dt);
		/* Types from a newer minor version: skipped, their length says how far. */
		if (type >= MPF_REC__MAX)
			continue;

		/* Only the type's own fields: a whole record is ten times a heap event's. */
		memset(&rec->info, 0, mpf_rec_size[type]);
		rec->type = (uint32_t)type;
		rec->staged = 0;
		rec->time = s->time;
		mpf_dec__init(&payload, p, (size_t)plen);
		return reader__decode(s, &payload, rec) ? -EBADMSG : 1;
	}
	return 0;
}

void dec_state__reset(struct dec_state *s, uint64_t start_time)
{
	s->time = start_time;
	s->page = 0;
	s->cache_page = 0;
	s->ptr = 0;
	s->stack_id = 0;
	s->stack_ip = 0;
	memset(s->uregs, 0, sizeof(s->uregs));
	s->frame_id = 0;
	s->frame_ip = 0;
	s->node_id = 0;
	s->node_frame = 0;
}
