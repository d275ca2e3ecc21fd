/*
 * memprof script: every event of a trace, one a line, with its process,
 * size, address and symbolized call stack, as text (perf script style), CSV
 * or JSON lines, so that a trace can be loaded into DuckDB, SQLite or pandas
 * and queried.
 *
 * Two passes: the model is built over the whole trace first (stacks are
 * symbolized in the process image's mappings as report sees them, all of
 * them), noting for each event the image and the stack it had as it was
 * read (stack ids are redefined when the recorder's stack table restarts);
 * then the records are read again and each event printed with what was noted.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "format/mpf.h"
#include "report/input.h"
#include "model/model.h"
#include "report/report.h"
#include "symbols/symbolize.h"
#include "report/tree.h"
#include "util.h"

/* Identical to the SYNOPSIS of Documentation/memprof-script.txt. */
static const char script_help[] =
	"memprof script [-i FILE] [--format=text|csv|json] [--symfs=DIR]\n"
	"               [--buildid-dir=DIR]\n"
	"\n"
	"    -i, --input FILE    the trace or archive to read (default: memprof.data)\n"
	"    --format=FMT        text (default), csv (with a header line) or json (one\n"
	"                        object a line)\n"
	"    --symfs=DIR         look for the recorded files under DIR first\n"
	"    --buildid-dir=DIR   the build-id cache (default: $MEMPROF_BUILDID_DIR,\n"
	"                        else ~/.cache/memprof)\n"
	"    -h, --help          show this help\n";

enum script_format {
	SCRIPT_TEXT,
	SCRIPT_CSV,
	SCRIPT_JSON,
};

struct script_opts {
	struct input_opts in;	/* -i, --symfs, --buildid-dir */
	enum script_format format;
};

enum {
	OPT_FORMAT = 256,
};

/* GFP __GFP_MOVABLE: pages without it the kernel took for itself (as report says). */
#define GFP_MOVABLE 0x08u
#define FRAMES_MAX (2 * MPF_STACK_MAX + 2)

/* What pass 1 noted of one event. */
struct event_ctx {
	uint32_t image;
	uint32_t stack;
};

/* A symbolized stack: frames[off .. off + n) of the pool, innermost first. */
struct script {
	const struct script_opts *opts;
	struct input in;
	struct strtab *names;
	struct symbolizer *sym;
	struct event_ctx *evs;
	size_t nevs, evs_cap;
	struct hmap stacks;	/* (image, stack | kernel << 32) -> off << 16 | n */
	uint32_t *pool;
	size_t npool, pool_cap;
	uint32_t unknown, truncated, kernel;
};

static int parse_options(int argc, char **argv, struct script_opts *o, bool *done)
{
	static const struct option long_opts[] = {
		INPUT_LONG_OPTIONS,
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	*done = false;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:h", long_opts, NULL)) != -1) {
		if (input_opts__parse(&o->in, c, optarg))
			continue;
		switch (c) {
		case OPT_FORMAT:
			if (!strcmp(optarg, "text"))
				o->format = SCRIPT_TEXT;
			else if (!strcmp(optarg, "csv"))
				o->format = SCRIPT_CSV;
			else if (!strcmp(optarg, "json"))
				o->format = SCRIPT_JSON;
			else
				return error("invalid --format '%s': expected text, csv or json",
					     optarg),
				       EXIT_USAGE;
			break;
		case 'h':
			*done = true;
			return usage(script_help, 0);
		default:
			return option_error("script", c, argv);
		}
	}
	if (optind < argc)
		return error("unexpected argument '%s'; the trace is given with -i FILE",
			     argv[optind]),
		       EXIT_USAGE;
	return 0;
}

static int note_event(void *ctx, const struct mpf_record *rec, uint32_t image, uint32_t stack)
{
	struct script *sc = ctx;
	int err;

	(void)rec;
	err = ARRAY_RESERVE(sc->evs, sc->evs_cap, sc->nevs + 1);
	if (err)
		return err;
	sc->evs[sc->nevs++] = (struct event_ctx){ .image = image, .stack = stack };
	return 0;
}

/* The records script lists: events, and the processes' lifecycle. */
static bool is_event(uint32_t type)
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

/* The frames of stack in image, innermost first, symbolized once per (image, stack). */
static int stack_frames(struct script *sc, uint32_t image, uint32_t stack, bool kernel,
			const uint32_t **frames, size_t *n)
{
	uint32_t buf[FRAMES_MAX];
	uint64_t *v = hmap__find(&sc->stacks, image, stack | (uint64_t)kernel << 32);
	struct model_stack st;
	size_t nf = 0;
	int err, got;

	if (v) {
		*frames = sc->pool + (*v >> 16);
		*n = *v & 0xffff;
		return 0;
	}
	model__stack(sc->in.model, stack, &st);
	if (kernel)
		buf[nf++] = sc->kernel;
	for (uint32_t i = 0; image != MODEL_IMAGE_NONE && i < st.nr && nf < FRAMES_MAX - 1; i++) {
		bool exact = i == 0 && (st.flags & MPF_STACK_FIRST_IS_IP);

		got = symbolizer__frames(sc->sym, image, st.ips[i], exact, &buf[nf],
					 (int)(FRAMES_MAX - 1 - nf));
		if (got < 0)
			return got;
		for (int j = 0; j < got; j++) {
			err = strtab__printable(sc->names, &buf[nf++]);
			if (err)
				return err;
		}
	}
	if (nf == kernel && st.nr)
		buf[nf++] = sc->unknown;
	else if (st.nr && (st.flags & MPF_STACK_TRUNCATED))
		buf[nf++] = sc->truncated;
	err = ARRAY_RESERVE(sc->pool, sc->pool_cap, sc->npool + nf);
	if (!err)
		err = hmap__set(&sc->stacks, image, stack | (uint64_t)kernel << 32,
				(uint64_t)sc->npool << 16 | nf);
	if (err)
		return err;
	memcpy(sc->pool + sc->npool, buf, nf * sizeof(*buf));
	*frames = sc->pool + sc->npool;
	*n = nf;
	sc->npool += nf;
	return 0;
}

/* What the lines say of one event; has_* false: the record does not tell. */
struct event_line {
	const char *type;
	uint32_t pid, tid;
	bool has_tid, has_size, has_old, has_addr;
	uint64_t size, addr, old_addr;
	bool kernel;
	char detail[MPF_PATH_MAX + 64];	/* what the columns do not say: exec's argv, ... */
};

static void describe(const struct mpf_record *rec, uint32_t page_size, struct event_line *e)
{
	memset(e, 0, sizeof(*e));
	e->has_tid = e->has_size = e->has_addr = true;
	switch (rec->type) {
	case MPF_REC_PAGE_ALLOC:
		e->type = "page_alloc";
		e->pid = rec->page_alloc.pid;
		e->tid = rec->page_alloc.tid;
		e->size = rec->page_alloc.order < 64 ? (uint64_t)page_size << rec->page_alloc.order
						     : 0;
		e->addr = rec->page_alloc.page;
		e->kernel = !(rec->page_alloc.gfp & GFP_MOVABLE);
		break;
	case MPF_REC_PAGE_FREE:
		e->type = "page_free";
		e->pid = rec->page_free.pid;
		e->has_tid = false;
		e->size = rec->page_free.order < 64 ? (uint64_t)page_size << rec->page_free.order
						    : 0;
		e->addr = rec->page_free.page;
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
		e->type = "rss";
		e->pid = rec->rss.pid;
		e->has_tid = e->has_addr = false;
		e->size = rec->rss.anon + rec->rss.file + rec->rss.shmem;
		snprintf(e->detail, sizeof(e->detail),
			 "anon %" PRIu64 " file %" PRIu64 " shmem %" PRIu64 " hwm %" PRIu64,
			 rec->rss.anon, rec->rss.file, rec->rss.shmem, rec->rss.hwm);
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

/* Seconds since the trace began, 9 decimals. */
static void print_time(FILE *f, uint64_t t, uint64_t start)
{
	uint64_t d = t >= start ? t - start : start - t;

	fprintf(f, "%s%" PRIu64 ".%09" PRIu64, t >= start ? "" : "-", d / 1000000000,
		d % 1000000000);
}

static void csv_str(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

/* Bytes from the trace are not known to be UTF-8: those above ASCII are escaped as code points. */
static void json_str(FILE *f, const char *s)
{
	putc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

static void print_event(struct script *sc, const struct mpf_record *rec, const char *comm,
			const uint32_t *frames, size_t nf)
{
	enum script_format fmt = sc->opts->format;
	struct event_line e;
	FILE *f = stdout;

	describe(rec, sc->in.hdr.page_size ? sc->in.hdr.page_size : 4096, &e);
	if (fmt == SCRIPT_TEXT) {
		fprintf(f, "%16s %7" PRIu32, comm, e.pid);
		if (e.has_tid)
			fprintf(f, "/%-7" PRIu32, e.tid);
		else
			fprintf(f, "/%-7s", "-");
		putc(' ', f);
		print_time(f, rec->time, sc->in.hdr.start_time);
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
			fprintf(f, "\t%s\n", strtab__str(sc->names, frames[i]));
		if (nf)
			putc('\n', f);
		return;
	}
	if (fmt == SCRIPT_CSV) {
		print_time(f, rec->time, sc->in.hdr.start_time);
		fprintf(f, ",%" PRIu32 ",", e.pid);
		if (e.has_tid)
			fprintf(f, "%" PRIu32, e.tid);
		putc(',', f);
		csv_str(f, comm);
		fprintf(f, ",%s,", e.type);
		if (e.has_size)
			fprintf(f, "%" PRIu64, e.size);
		putc(',', f);
		if (e.has_addr)
			fprintf(f, "0x%" PRIx64, e.addr);
		putc(',', f);
		if (e.has_old)
			fprintf(f, "0x%" PRIx64, e.old_addr);
		putc(',', f);
		/* One field: the frames joined by ';', quoted as a whole when needed. */
		{
			bool quote = false;

			for (size_t i = 0; i < nf; i++)
				if (strpbrk(strtab__str(sc->names, frames[i]), ",\"\r\n"))
					quote = true;
			if (quote)
				putc('"', f);
			for (size_t i = 0; i < nf; i++) {
				const char *s = strtab__str(sc->names, frames[i]);

				if (i)
					putc(';', f);
				for (; *s; s++) {
					if (*s == '"' && quote)
						putc('"', f);
					putc(*s, f);
				}
			}
			if (quote)
				putc('"', f);
		}
		putc(',', f);
		csv_str(f, e.detail);
		putc('\n', f);
		return;
	}
	fputs("{\"time\":", f);
	print_time(f, rec->time, sc->in.hdr.start_time);
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
		json_str(f, strtab__str(sc->names, frames[i]));
	}
	fputs("],\"detail\":", f);
	json_str(f, e.detail);
	fputs("}\n", f);
}

/* The image's name, printable; "[unknown]" when the trace never named it. */
static const char *comm_of(const struct script *sc, uint32_t image, char *buf, size_t len)
{
	const char *comm = image == MODEL_IMAGE_NONE ? NULL : model__comm(sc->in.model, image);

	snprintf(buf, len, "%s", comm ? comm : "[unknown]");
	return make_printable(buf);
}

/* Pass 2: the records again, each event printed with what pass 1 noted of it. */
static int print_events(struct script *sc)
{
	struct mpf_reader *r = input__reopen(&sc->in, sc->opts->in.path);
	char comm[MPF_COMM_LEN + 16];
	struct mpf_record rec;
	size_t k = 0;
	int err;

	if (!r)
		return 1;
	if (sc->opts->format == SCRIPT_CSV)
		puts("time,pid,tid,comm,type,size,address,old_address,stack,detail");
	while ((err = mpf_reader__next(r, &rec)) > 0 && rec.type != MPF_REC_END) {
		const struct event_ctx *ec;
		const uint32_t *frames;
		struct event_line e;
		size_t nf;

		if (!is_event(rec.type))
			continue;
		/* The same bytes read twice give the same events: a guard, not a case. */
		if (k >= sc->nevs)
			break;
		ec = &sc->evs[k++];
		describe(&rec, 1, &e);
		err = stack_frames(sc, ec->image, ec->stack, e.kernel, &frames, &nf);
		if (err) {
			mpf_reader__close(r);
			return error("out of memory"), 1;
		}
		print_event(sc, &rec, comm_of(sc, ec->image, comm, sizeof(comm)), frames, nf);
	}
	mpf_reader__close(r);
	if (err < 0 && err != -EBADMSG && k < sc->nevs)
		return error("cannot read '%s' again: %s", sc->opts->in.path, strerror(-err)), 1;
	if (fflush(stdout))
		return error("cannot write the events: %s", strerror(errno)), 1;
	return 0;
}

static int intern(struct strtab *t, const char *s, uint32_t *id)
{
	int v = strtab__intern(t, s);

	if (v < 0)
		return v;
	*id = (uint32_t)v;
	return 0;
}

int cmd_script(int argc, char **argv)
{
	struct script_opts opts = { .in = { .path = "memprof.data" }, .format = SCRIPT_TEXT };
	struct script sc = { .opts = &opts };
	bool done;
	int ret;

	ret = parse_options(argc, argv, &opts, &done);
	if (ret || done)
		return ret;
	opts.in.on_event = note_event;
	opts.in.on_event_ctx = &sc;
	ret = 1;
	if (input__open(&sc.in, &opts.in))
		goto out;
	sc.names = strtab__new();
	sc.sym = sc.names ? symbolizer__new(sc.in.model, sc.names,
					    &(struct symbolizer_opts){ .lookup = sc.in.lookup })
			  : NULL;
	if (!sc.sym || intern(sc.names, "[unknown]", &sc.unknown) ||
	    intern(sc.names, "[incomplete]", &sc.truncated) ||
	    intern(sc.names, "[kernel]", &sc.kernel)) {
		error("out of memory");
		goto out;
	}
	ret = print_events(&sc);
out:
	symbolizer__delete(sc.sym);
	strtab__delete(sc.names);
	input__close(&sc.in);
	hmap__free(&sc.stacks);
	free(sc.pool);
	free(sc.evs);
	return ret;
}
