/*
 * script's output: every event of a trace, one a line, with its process,
 * size, address and symbolized call stack, as text (perf script's), CSV (one
 * header line) or JSON lines, so that a trace can be loaded into DuckDB,
 * SQLite or pandas and queried.  Documentation/memprof-script.txt names the
 * columns.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format/mpf.h"
#include "lib/strtab.h"
#include "lib/text.h"
#include "output/escape.h"
#include "output/output.h"

/* GFP __GFP_MOVABLE: pages without it the kernel took for itself (as report says). */
#define GFP_MOVABLE 0x08u

bool output_events__listed(uint32_t type)
{
	switch (type) {
	case MPF_REC_PAGE_ALLOC:
	case MPF_REC_PAGE_FREE:
	case MPF_REC_HEAP_ALLOC:
	case MPF_REC_HEAP_FREE:
	case MPF_REC_HEAP_REALLOC:
	case MPF_REC_CACHE_ADD:
	case MPF_REC_CACHE_DEL:
	case MPF_REC_VM:
	case MPF_REC_RSS:
	case MPF_REC_FORK:
	case MPF_REC_EXEC:
	case MPF_REC_EXIT:
		return true;
	default:
		return false;
	}
}

bool output_events__kernel(const struct mpf_record *rec)
{
	return rec->type == MPF_REC_PAGE_ALLOC && !(rec->page_alloc.gfp & GFP_MOVABLE);
}

/* What the lines say of one event; has_* false: the record does not tell. */
struct event_line {
	const char *type;
	uint32_t pid, tid;
	bool has_tid, has_size, has_old, has_addr;
	uint64_t size, addr, old_addr;
	char detail[MPF_PATH_MAX + 64];	/* what the columns do not say: exec's argv, ... */
};

static void describe(const struct mpf_record *rec, uint32_t page_size, struct event_line *e)
{
	char vm[32] = "";

	/* Not the whole of detail: 4 KiB cleared per event was most of a CSV's time. */
	memset(e, 0, offsetof(struct event_line, detail));
	e->detail[0] = '\0';
	e->has_tid = e->has_size = e->has_addr = true;
	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
		e->type = "page_alloc";
		e->pid = rec->page_alloc.pid;
		e->tid = rec->page_alloc.tid;
		e->size = rec->page_alloc.order < 64 ? (uint64_t)page_size << rec->page_alloc.order
						     : 0;
		e->addr = rec->page_alloc.page;
		break;
	case MPF_REC_PAGE_FREE:
		e->type = "page_free";
		e->pid = rec->page_free.pid;
		e->has_tid = false;
		e->size = rec->page_free.order < 64 ? (uint64_t)page_size << rec->page_free.order
						    : 0;
		e->addr = rec->page_free.page;
		if (rec->page_free.flags & MPF_PAGE_FREE_TO_CACHE)
			snprintf(e->detail, sizeof(e->detail), "to page cache");
		else if (rec->page_free.flags & MPF_PAGE_FREE_EXITING)
			snprintf(e->detail, sizeof(e->detail), "exit teardown");
		break;
	case MPF_REC_HEAP_ALLOC:
		e->type = mpf_heap_func_name(rec->heap_alloc.func);
		e->pid = rec->heap_alloc.pid;
		e->tid = rec->heap_alloc.tid;
		e->size = rec->heap_alloc.size;
		e->addr = rec->heap_alloc.ptr;
		break;
	case MPF_REC_HEAP_FREE:
		e->type = "free";
		e->pid = rec->heap_free.pid;
		e->tid = rec->heap_free.tid;
		e->has_size = false;
		e->addr = rec->heap_free.ptr;
		break;
	case MPF_REC_HEAP_REALLOC:
		e->type = "realloc";
		e->pid = rec->heap_realloc.pid;
		e->tid = rec->heap_realloc.tid;
		e->size = rec->heap_realloc.size;
		e->addr = rec->heap_realloc.ptr;
		e->has_old = true;
		e->old_addr = rec->heap_realloc.old_ptr;
		break;
	case MPF_REC_CACHE_ADD:
		e->type = "cache_add";
		e->pid = rec->cache_add.pid;
		e->tid = rec->cache_add.tid;
		e->size = rec->cache_add.order < 64 ? (uint64_t)page_size << rec->cache_add.order
						     : 0;
		e->addr = rec->cache_add.page;
		snprintf(e->detail, sizeof(e->detail),
			 "dev %u:%u inode %" PRIu64 " offset %" PRIu64, rec->cache_add.dev >> 20,
			 rec->cache_add.dev & 0xfffff, rec->cache_add.ino,
			 rec->cache_add.index * page_size);
		break;
	case MPF_REC_CACHE_DEL:
		e->type = "cache_del";
		e->pid = rec->cache_del.pid;
		e->has_tid = false;
		e->size = rec->cache_del.order < 64 ? (uint64_t)page_size << rec->cache_del.order
						     : 0;
		e->addr = rec->cache_del.page;
		break;
	case MPF_REC_VM:
		e->type = mpf_vm_call_name(rec->vm.call);
		e->pid = rec->vm.pid;
		e->tid = rec->vm.tid;
		e->size = rec->vm.len;
		e->addr = rec->vm.addr;
		if (rec->vm.call == MPF_VM_MREMAP || rec->vm.call == MPF_VM_BRK) {
			e->has_old = true;
			e->old_addr = rec->vm.old_addr;
		}
		if (rec->vm.call == MPF_VM_BRK)
			e->size = rec->vm.addr > rec->vm.old_addr ? rec->vm.addr - rec->vm.old_addr
								  : rec->vm.old_addr - rec->vm.addr;
		if (rec->vm.call == MPF_VM_MMAP)
			snprintf(e->detail, sizeof(e->detail), "prot 0x%x flags 0x%x",
				 rec->vm.prot, rec->vm.flags);
		else if (rec->vm.call == MPF_VM_MREMAP)
			snprintf(e->detail, sizeof(e->detail), "old size %" PRIu64 " flags 0x%x",
				 rec->vm.old_len, rec->vm.flags);
		break;
	case MPF_REC_RSS:
		/* The virtual size, since 1.4: absent (0) from older traces' samples. */
		if (rec->rss.vm)
			snprintf(vm, sizeof(vm), " vm %" PRIu64, rec->rss.vm);
		e->type = "rss";
		e->pid = rec->rss.pid;
		e->has_tid = e->has_addr = false;
		e->size = rec->rss.anon + rec->rss.file + rec->rss.shmem;
		snprintf(e->detail, sizeof(e->detail),
			 "anon %" PRIu64 " file %" PRIu64 " shmem %" PRIu64 " hwm %" PRIu64 "%s",
			 rec->rss.anon, rec->rss.file, rec->rss.shmem, rec->rss.hwm, vm);
		break;
	case MPF_REC_FORK:
		e->type = "fork";
		e->pid = rec->fork.pid;
		e->has_tid = e->has_size = e->has_addr = false;
		snprintf(e->detail, sizeof(e->detail), "parent %" PRIu32, rec->fork.ppid);
		break;
	case MPF_REC_EXEC: {
		size_t len = 0;

		e->type = "exec";
		e->pid = rec->exec.pid;
		e->has_tid = e->has_size = e->has_addr = false;
		/* argv joined by spaces, or the file exec'd when the trace has no argv. */
		if (rec->exec.args_len) {
			for (uint32_t i = 0; i < rec->exec.args_len && len + 1 < sizeof(e->detail);
			     i++)
				e->detail[len++] = rec->exec.args[i] ? rec->exec.args[i] : ' ';
			while (len && e->detail[len - 1] == ' ')
				len--;
			e->detail[len] = '\0';
		} else {
			snprintf(e->detail, sizeof(e->detail), "%s",
				 rec->exec.filename ? rec->exec.filename : "");
		}
		break;
	}
	case MPF_REC_EXIT:
		e->type = "exit";
		e->pid = rec->exit.pid;
		e->has_tid = e->has_size = e->has_addr = false;
		snprintf(e->detail, sizeof(e->detail), "status %" PRId32, rec->exit.status);
		break;
	}
	/* Names from the trace: no control character reaches the output. */
	make_printable(e->detail);
	if (!e->type)
		e->type = "unknown";
}

/*
 * Numbers written by hand and stdio's unlocked calls: a CSV of millions of
 * events spent most of its time in fprintf's parsing and locking.
 */
static void put_u64(FILE *f, uint64_t v)
{
	char b[20], *p = b + sizeof(b);

	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	fwrite_unlocked(p, 1, (size_t)(b + sizeof(b) - p), f);
}

/* As "0x%" PRIx64. */
static void put_hex(FILE *f, uint64_t v)
{
	char b[18], *p = b + sizeof(b);

	do
		*--p = "0123456789abcdef"[v & 15];
	while (v >>= 4);
	*--p = 'x';
	*--p = '0';
	fwrite_unlocked(p, 1, (size_t)(b + sizeof(b) - p), f);
}

/* Seconds since the trace began, 9 decimals. */
static void print_time(FILE *f, uint64_t t, uint64_t start)
{
	uint64_t d = t >= start ? t - start : start - t, ns = d % 1000000000;
	char b[9];

	if (t < start)
		putc_unlocked('-', f);
	put_u64(f, d / 1000000000);
	putc_unlocked('.', f);
	for (int i = 8; i >= 0; i--, ns /= 10)
		b[i] = (char)('0' + ns % 10);
	fwrite_unlocked(b, 1, sizeof(b), f);
}

/* The frames joined by ';', as one CSV field, name by name: quoted when a name needs it. */
static void stack_field_slow(FILE *f, const struct output_events *o, const uint32_t *frames,
			     size_t nf)
{
	bool quote = false;

	for (size_t i = 0; i < nf && !quote; i++)
		quote = strpbrk(strtab__str(o->names, frames[i]), ",\"\r\n") != NULL;
	if (quote)
		putc_unlocked('"', f);
	for (size_t i = 0; i < nf; i++) {
		const char *name = strtab__str(o->names, frames[i]);

		if (i)
			putc_unlocked(';', f);
		if (!quote) {
			fputs_unlocked(name, f);
			continue;
		}
		for (; *name; name++) {
			if (*name == '"')
				putc_unlocked('"', f);
			putc_unlocked(*name, f);
		}
	}
	if (quote)
		putc_unlocked('"', f);
}

/*
 * The frames joined by ';', as one CSV field: quoted only when a name needs
 * it, as csv_str() would quote the joined string.  Joined in a buffer
 * first, with the names' known lengths, so that a field of dozens of names
 * is looked at once and written in one call.
 */
static void stack_field(FILE *f, const struct output_events *o, const uint32_t *frames,
			size_t nf)
{
	char buf[8192];
	size_t len = 0;

	for (size_t i = 0; i < nf; i++) {
		size_t n = strtab__len(o->names, frames[i]);

		/* Room for the ';' before it and the NUL after; else name by name. */
		if (len + n + 2 > sizeof(buf)) {
			len = SIZE_MAX;
			break;
		}
		if (i)
			buf[len++] = ';';
		memcpy(buf + len, strtab__str(o->names, frames[i]), n);
		len += n;
	}
	if (len != SIZE_MAX) {
		buf[len] = '\0';
		if (buf[strcspn(buf, ",\"\r\n")] == '\0') {
			fwrite_unlocked(buf, 1, len, f);
			return;
		}
	}
	stack_field_slow(f, o, frames, nf);
}

void output_events__header(FILE *f, const struct output_events *o)
{
	if (o->format == OUTPUT_EVENTS_CSV)
		fputs("time,pid,tid,comm,type,size,address,old_address,stack,detail\n", f);
}

void output_events__print(FILE *f, const struct output_events *o, const struct mpf_record *rec,
			  const char *comm, const uint32_t *frames, size_t nf)
{
	struct event_line e;

	describe(rec, o->page_size ? o->page_size : 4096, &e);
	if (o->format == OUTPUT_EVENTS_TEXT) {
		fprintf(f, "%16s %7" PRIu32, comm, e.pid);
		if (e.has_tid)
			fprintf(f, "/%-7" PRIu32, e.tid);
		else
			fprintf(f, "/%-7s", "-");
		putc(' ', f);
		print_time(f, rec->time, o->start_time);
		fprintf(f, ": %s:", e.type);
		if (e.has_size)
			fprintf(f, " %" PRIu64 " bytes", e.size);
		if (e.has_old)
			fprintf(f, " 0x%" PRIx64 " ->", e.old_addr);
		if (e.has_addr)
			fprintf(f, " 0x%" PRIx64, e.addr);
		if (e.detail[0])
			fprintf(f, " %s", e.detail);
		putc('\n', f);
		for (size_t i = 0; i < nf; i++)
			fprintf(f, "\t%s\n", strtab__str(o->names, frames[i]));
		if (nf)
			putc('\n', f);
		return;
	}
	if (o->format == OUTPUT_EVENTS_CSV) {
		print_time(f, rec->time, o->start_time);
		putc_unlocked(',', f);
		put_u64(f, e.pid);
		putc_unlocked(',', f);
		if (e.has_tid)
			put_u64(f, e.tid);
		putc_unlocked(',', f);
		csv_str(f, comm);
		putc_unlocked(',', f);
		fputs_unlocked(e.type, f);
		putc_unlocked(',', f);
		if (e.has_size)
			put_u64(f, e.size);
		putc_unlocked(',', f);
		if (e.has_addr)
			put_hex(f, e.addr);
		putc_unlocked(',', f);
		if (e.has_old)
			put_hex(f, e.old_addr);
		putc_unlocked(',', f);
		/* One field: the frames joined by ';'. */
		stack_field(f, o, frames, nf);
		putc_unlocked(',', f);
		csv_str(f, e.detail);
		putc_unlocked('\n', f);
		return;
	}
	fputs("{\"time\":", f);
	print_time(f, rec->time, o->start_time);
	fprintf(f, ",\"pid\":%" PRIu32 ",\"tid\":", e.pid);
	if (e.has_tid)
		fprintf(f, "%" PRIu32, e.tid);
	else
		fputs("null", f);
	fputs(",\"comm\":", f);
	json_str(f, comm);
	fprintf(f, ",\"type\":\"%s\",\"size\":", e.type);
	if (e.has_size)
		fprintf(f, "%" PRIu64, e.size);
	else
		fputs("null", f);
	fputs(",\"address\":", f);
	if (e.has_addr)
		fprintf(f, "\"0x%" PRIx64 "\"", e.addr);
	else
		fputs("null", f);
	fputs(",\"old_address\":", f);
	if (e.has_old)
		fprintf(f, "\"0x%" PRIx64 "\"", e.old_addr);
	else
		fputs("null", f);
	fputs(",\"stack\":[", f);
	for (size_t i = 0; i < nf; i++) {
		if (i)
			putc(',', f);
		json_str(f, strtab__str(o->names, frames[i]));
	}
	fputs("],\"detail\":", f);
	json_str(f, e.detail);
	fputs("}\n", f);
}

