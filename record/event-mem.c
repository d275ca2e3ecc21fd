/*
 * Memory events into trace records: pages allocated and freed, heap calls,
 * page cache pages added and deleted, address space calls.  The BPF side's
 * heap functions and address space calls are its own enums: mapped here,
 * and a value the file does not know is dropped.
 */
#include "record/events.h"

/* The kernel side's heap functions (enum mp_heap_func), as the file names them. */
static const uint32_t heap_funcs[] = {
	[MP_MALLOC] = MPF_HEAP_MALLOC,
	[MP_CALLOC] = MPF_HEAP_CALLOC,
	[MP_REALLOC] = MPF_HEAP_REALLOC,
	[MP_POSIX_MEMALIGN] = MPF_HEAP_POSIX_MEMALIGN,
	[MP_ALIGNED_ALLOC] = MPF_HEAP_ALIGNED_ALLOC,
	[MP_MEMALIGN] = MPF_HEAP_MEMALIGN,
	[MP_VALLOC] = MPF_HEAP_VALLOC,
};

/* The kernel side's address space calls (enum mp_vm_call), as the file names them. */
static const uint32_t vm_calls[] = {
	[MP_VM_MMAP] = MPF_VM_MMAP,
	[MP_VM_MUNMAP] = MPF_VM_MUNMAP,
	[MP_VM_MREMAP] = MPF_VM_MREMAP,
	[MP_VM_BRK] = MPF_VM_BRK,
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Whether an event with a stack holds its body and the ips it says follow. */
static bool has_ips(const struct mp_hdr *h, size_t body, size_t size)
{
	return size >= body + h->nr_ips * sizeof(__u64);
}

int event__page_alloc(struct recorder *r, const void *data, size_t size)
{
	const struct mp_page_alloc *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .type = MPF_REC_PAGE_ALLOC, .time = r->ev_time };

	if (size < sizeof(*e) || !has_ips(h, sizeof(*e), size))
		return 0;
	rec.page_alloc.pid = h->pid;
	rec.page_alloc.tid = h->tid;
	rec.page_alloc.order = e->order;
	rec.page_alloc.gfp = e->gfp;
	rec.page_alloc.page = e->page;
	if (event__stack(r, h, e->ips, size - sizeof(*e), MPF_STACK_FIRST_IS_IP,
			 &rec.page_alloc.stack_id))
		return r->write_err;
	recorder__write(r, &rec);
	return r->write_err;
}

int event__page_free(struct recorder *r, const void *data, size_t size)
{
	const struct mp_page_free *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .type = MPF_REC_PAGE_FREE, .time = r->ev_time };

	if (size < sizeof(*e))
		return 0;
	rec.page_free.pid = h->pid;
	rec.page_free.order = e->order;
	rec.page_free.page = e->page;
	rec.page_free.head = e->head;
	if (h->flags & MP_PAGE_FREE_EXITING) {
		rec.page_free.flags |= MPF_PAGE_FREE_EXITING;
		r->page_frees_exiting++;
	}
	if (h->flags & MP_PAGE_FREE_TO_CACHE)
		rec.page_free.flags |= MPF_PAGE_FREE_TO_CACHE;
	recorder__write(r, &rec);
	return r->write_err;
}

int event__heap_alloc(struct recorder *r, const void *data, size_t size)
{
	const struct mp_heap_alloc *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .time = r->ev_time };
	uint32_t id;

	if (size < sizeof(*e) || !has_ips(h, sizeof(*e), size) || e->func >= COUNT(heap_funcs))
		return 0;
	if (event__stack(r, h, e->ips, size - sizeof(*e), 0, &id))
		return r->write_err;
	if (e->func == MP_REALLOC) {
		rec.type = MPF_REC_HEAP_REALLOC;
		rec.heap_realloc.pid = h->pid;
		rec.heap_realloc.tid = h->tid;
		rec.heap_realloc.stack_id = id;
		rec.heap_realloc.old_ptr = e->old_ptr;
		rec.heap_realloc.ptr = e->ptr;
		rec.heap_realloc.size = e->size;
	} else {
		rec.type = MPF_REC_HEAP_ALLOC;
		rec.heap_alloc.pid = h->pid;
		rec.heap_alloc.tid = h->tid;
		rec.heap_alloc.func = heap_funcs[e->func];
		rec.heap_alloc.stack_id = id;
		rec.heap_alloc.ptr = e->ptr;
		rec.heap_alloc.size = e->size;
	}
	recorder__write(r, &rec);
	return r->write_err;
}

int event__heap_free(struct recorder *r, const void *data, size_t size)
{
	const struct mp_heap_free *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .type = MPF_REC_HEAP_FREE, .time = r->ev_time };

	if (size < sizeof(*e))
		return 0;
	rec.heap_free.pid = h->pid;
	rec.heap_free.tid = h->tid;
	rec.heap_free.ptr = e->ptr;
	recorder__write(r, &rec);
	return r->write_err;
}

/* MP_CACHE_ADD, with a stack, and MP_CACHE_DEL. */
int event__cache(struct recorder *r, const void *data, size_t size)
{
	const struct mp_cache *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .time = r->ev_time };

	if (size < sizeof(*e) || !has_ips(h, sizeof(*e), size))
		return 0;
	if (h->kind == MP_CACHE_DEL) {
		rec.type = MPF_REC_CACHE_DEL;
		rec.cache_del.pid = h->pid;
		rec.cache_del.order = e->order;
		rec.cache_del.page = e->page;
	} else {
		rec.type = MPF_REC_CACHE_ADD;
		rec.cache_add.pid = h->pid;
		rec.cache_add.tid = h->tid;
		rec.cache_add.order = e->order;
		rec.cache_add.page = e->page;
		rec.cache_add.ino = e->ino;
		rec.cache_add.dev = e->dev;
		rec.cache_add.index = e->index;
		if (event__stack(r, h, e->ips, size - sizeof(*e), MPF_STACK_FIRST_IS_IP,
				 &rec.cache_add.stack_id))
			return r->write_err;
	}
	recorder__write(r, &rec);
	return r->write_err;
}

int event__vmcall(struct recorder *r, const void *data, size_t size)
{
	const struct mp_vmcall *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .type = MPF_REC_VM, .time = r->ev_time };

	if (size < sizeof(*e) || !has_ips(h, sizeof(*e), size) || e->call >= COUNT(vm_calls))
		return 0;
	rec.vm.pid = h->pid;
	rec.vm.tid = h->tid;
	rec.vm.call = vm_calls[e->call];
	rec.vm.prot = e->prot;
	rec.vm.flags = e->flags;
	rec.vm.addr = e->addr;
	rec.vm.len = e->len;
	rec.vm.old_addr = e->old_addr;
	rec.vm.old_len = e->old_len;
	/* The user registers at a system call: the first frame is the exact pc. */
	if (event__stack(r, h, e->ips, size - sizeof(*e), MPF_STACK_FIRST_IS_IP, &rec.vm.stack_id))
		return r->write_err;
	recorder__write(r, &rec);
	return r->write_err;
}
