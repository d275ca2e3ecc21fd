/*
 * gen-corpus: writes the reader's regression corpus, tests/data/corpus/: small
 * traces that are sound, cut, damaged or hostile, each named after what it
 * holds.  They seed `make fuzz` and are replayed under ASan and UBSan by
 * `make check` (tests/shell/t0220-corpus.sh) and through the real report by
 * tests/shell/t0210-hostile.sh.  Every file is the same on every run, so
 * regenerating (`make corpus`) shows in git only what changed on purpose.
 * Inputs the fuzzer found are added beside them by hand, named fuzz-*, and
 * the files as an older format version wrote them are kept as vX.Y-NAME when
 * a newer one changes them; this program never touches those.
 *
 * usage: gen-corpus DIR
 *        gen-corpus --files OUT PATH...
 *        gen-corpus --mutate IN OUT SEED
 *        gen-corpus --maps|--forks OUT N
 *        gen-corpus --stacks|--distinct-stacks|--stack-nodes OUT N
 *        gen-corpus --inflating-chunks OUT N
 *   --files writes one trace whose stacks fall in FILE records naming each
 *   PATH, so that report tries to symbolize with each of them: the hostile
 *   test uses it to check what report does with paths from a trace.
 *   --mutate writes a copy of the trace IN with a few bytes of one chunk's
 *   records changed (chosen by SEED) behind a CRC made right again.
 *   --maps and --forks write traces asking for much work from little data:
 *   one process with N maps in the order that is the worst to insert, and a
 *   process with N maps forking N children at N different points.
 *   --stacks and --distinct-stacks write N STACK records of 512 frames, the
 *   same stack again and again or each one different, in a few bytes each;
 *   --stack-nodes N STACK_NODE records of 512 nodes each, as few bytes.
 *   --inflating-chunks writes N chunks of a few KB that each inflate to 60
 *   MiB, of records of a type newer than any reader knows, then END.
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
#include "format/mpf.h"

#define T0 1000000000ull	/* the header's start_time */
#define BUF_MAX (1u << 20)

static const char *dir;

static const struct mpf_header hdr = {
	.page_size = 4096,
	.start_time = T0,
	.start_realtime = 1700000000000000000ull,
	.events = 1u << MPF_EV_PAGE | 1u << MPF_EV_HEAP,
};

static void die(const char *what, const char *name, int err)
{
	fprintf(stderr, "gen-corpus: %s '%s': %s\n", what, name, strerror(err < 0 ? -err : err));
	exit(1);
}

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void put_file(const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	path_of(path, sizeof(path), name);
	f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f))
		die("cannot write", path, errno);
}

static uint8_t *get_file(const char *name, size_t *len)
{
	static uint8_t buf[BUF_MAX];
	char path[4096];
	FILE *f;

	path_of(path, sizeof(path), name);
	f = fopen(path, "rb");
	if (!f)
		die("cannot read", path, errno);
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

/* ---- sound traces, through the writer ---- */

struct gen {
	struct mpf_writer *w;
	const char *name;
	uint64_t now;
};

static void gen_open(struct gen *g, const char *path, const char *name, size_t chunk_size)
{
	struct mpf_writer_opts opts = { .chunk_size = chunk_size };

	g->w = mpf_writer__open(path, &hdr, &opts);
	if (!g->w)
		die("cannot create", path, errno);
	g->name = name;
	g->now = T0;
}

static void gen_write(struct gen *g, struct mpf_record *rec)
{
	int err;

	g->now += 1000;
	rec->time = g->now;
	err = mpf_writer__write(g->w, rec);
	if (err)
		die("cannot write a record to", g->name, err);
}

static uint32_t gen_stack(struct gen *g, const uint64_t *ips, uint32_t nr, uint32_t flags)
{
	uint32_t id;
	int err;

	g->now += 1000;
	err = mpf_writer__stack(g->w, g->now, flags, ips, nr, &id);
	if (err)
		die("cannot write a stack to", g->name, err);
	return id;
}

/* A USTACK (record -g dwarf): registers and a copy of the stack, with a return address. */
static uint32_t gen_ustack(struct gen *g)
{
	uint64_t regs[MPF_USTACK_REGS] = { 0 }, data[16] = { 0 };
	uint32_t id;
	int err;

	regs[6] = 0x7ffffffde100ull;	/* rbp */
	regs[7] = 0x7ffffffde0c0ull;	/* rsp */
	regs[16] = 0x555555555139ull;	/* rip */
	data[8] = 0x7ffffffde200ull;
	data[9] = 0x555555555180ull;
	g->now += 1000;
	err = mpf_writer__ustack(g->w, g->now, 0, regs, (const uint8_t *)data, sizeof(data), &id);
	if (err)
		die("cannot write a user stack to", g->name, err);
	return id;
}

static void gen_close(struct gen *g, bool end)
{
	struct mpf_record rec = { .type = MPF_REC_END };
	int err;

	if (end)
		gen_write(g, &rec);
	err = mpf_writer__close(g->w);
	if (err)
		die("cannot close", g->name, err);
}

static void w_info(struct gen *g, const char *key, const char *value)
{
	struct mpf_record rec = { .type = MPF_REC_INFO, .info = { key, value } };

	gen_write(g, &rec);
}

static void w_comm(struct gen *g, uint32_t pid, uint32_t tid, const char *comm)
{
	struct mpf_record rec = { .type = MPF_REC_COMM, .comm = { .pid = pid, .tid = tid } };

	snprintf(rec.comm.comm, sizeof(rec.comm.comm), "%s", comm);
	gen_write(g, &rec);
}

static void w_fork(struct gen *g, uint32_t ppid, uint32_t pid)
{
	struct mpf_record rec = { .type = MPF_REC_FORK, .fork = { ppid, pid } };

	gen_write(g, &rec);
}

static void w_exec(struct gen *g, uint32_t pid, const char *filename)
{
	static const char args[] = "/bin/true\0--version\0";
	struct mpf_record rec = {
		.type = MPF_REC_EXEC, .exec = { pid, filename, args, sizeof(args) - 1 }
	};

	gen_write(g, &rec);
}

static void w_exit(struct gen *g, uint32_t pid, int32_t status)
{
	struct mpf_record rec = { .type = MPF_REC_EXIT, .exit = { pid, status } };

	gen_write(g, &rec);
}

static void w_file(struct gen *g, uint32_t id, const char *path, uint32_t build_id_len)
{
	struct mpf_record rec = { .type = MPF_REC_FILE };

	rec.file.id = id;
	rec.file.build_id_len = build_id_len;
	for (uint32_t i = 0; i < build_id_len; i++)
		rec.file.build_id[i] = (uint8_t)(id * 31 + i);
	rec.file.path = path;
	gen_write(g, &rec);
}

static void w_map(struct gen *g, uint32_t pid, uint32_t file_id, uint64_t start, uint64_t end,
		  uint64_t pgoff)
{
	struct mpf_record rec = { .type = MPF_REC_MAP };

	rec.map = (struct mpf_map){ .pid = pid, .file_id = file_id,
				    .prot = MPF_PROT_READ | MPF_PROT_EXEC,
				    .start = start, .end = end, .pgoff = pgoff };
	gen_write(g, &rec);
}

static void w_page_alloc(struct gen *g, uint32_t pid, uint32_t order, uint64_t page,
			 uint32_t stack_id, uint32_t gfp)
{
	struct mpf_record rec = { .type = MPF_REC_PAGE_ALLOC };

	rec.page_alloc = (struct mpf_page_alloc){ .pid = pid, .tid = pid, .order = order,
						  .gfp = gfp, .page = page,
						  .stack_id = stack_id };
	gen_write(g, &rec);
}

static void w_page_free(struct gen *g, uint32_t pid, uint32_t order, uint64_t page,
			uint32_t flags)
{
	struct mpf_record rec = { .type = MPF_REC_PAGE_FREE };

	rec.page_free = (struct mpf_page_free){ .pid = pid, .order = order, .flags = flags,
						.page = page, .head = page };
	gen_write(g, &rec);
}

static void w_heap_alloc(struct gen *g, uint32_t pid, uint32_t func, uint64_t ptr,
			 uint64_t size, uint32_t stack_id)
{
	struct mpf_record rec = { .type = MPF_REC_HEAP_ALLOC };

	rec.heap_alloc = (struct mpf_heap_alloc){ .pid = pid, .tid = pid, .func = func,
						  .stack_id = stack_id, .ptr = ptr,
						  .size = size };
	gen_write(g, &rec);
}

static void w_heap_free(struct gen *g, uint32_t pid, uint64_t ptr)
{
	struct mpf_record rec = { .type = MPF_REC_HEAP_FREE };

	rec.heap_free = (struct mpf_heap_free){ .pid = pid, .tid = pid, .ptr = ptr };
	gen_write(g, &rec);
}

static void w_realloc(struct gen *g, uint32_t pid, uint64_t old_ptr, uint64_t ptr,
		      uint64_t size, uint32_t stack_id)
{
	struct mpf_record rec = { .type = MPF_REC_HEAP_REALLOC };

	rec.heap_realloc = (struct mpf_heap_realloc){ .pid = pid, .tid = pid,
						      .stack_id = stack_id,
						      .old_ptr = old_ptr, .ptr = ptr,
						      .size = size };
	gen_write(g, &rec);
}

static void w_lost(struct gen *g, uint32_t event, uint64_t count)
{
	struct mpf_record rec = { .type = MPF_REC_LOST, .lost = { event, count } };

	gen_write(g, &rec);
}

#define EXE_START 0x555555554000ull
#define LIBC_START 0x7ffff7dd0000ull

/*
 * A small recording of every record type: a process that execs, maps an
 * executable and libc, forks a child, allocates pages and heap blocks from
 * a few stacks, frees some, loses one event and exits.
 */
static void sample(const char *name, size_t chunk_size, bool end)
{
	static const uint64_t s1[] = { EXE_START + 0x1139, EXE_START + 0x1180, LIBC_START + 0x2724a };
	static const uint64_t s2[] = { LIBC_START + 0x9a0f0, EXE_START + 0x11c0, EXE_START + 0x1180 };
	static const uint64_t s3[] = { EXE_START + 0x1200 };
	struct gen g;
	char path[4096];
	uint32_t a, b, c;

	path_of(path, sizeof(path), name);
	gen_open(&g, path, name, chunk_size);
	w_info(&g, "hostname", "corpus");
	w_info(&g, "cmdline", "memprof record -e page,heap -- ./prog");
	w_comm(&g, 100, 100, "sh");
	w_exec(&g, 100, "/usr/bin/prog");
	w_comm(&g, 100, 101, "worker");
	w_file(&g, 1, "/usr/bin/prog", 20);
	w_file(&g, 2, "/lib/x86_64-linux-gnu/libc.so.6", 20);
	w_map(&g, 100, 1, EXE_START, EXE_START + 0x3000, 0);
	w_map(&g, 100, 2, LIBC_START, LIBC_START + 0x180000, 0x26000);
	w_map(&g, 100, 0, 0x7ffffffde000ull, 0x7ffffffff000ull, 0);
	a = gen_stack(&g, s1, 3, 0);
	b = gen_stack(&g, s2, 3, MPF_STACK_FIRST_IS_IP);
	c = gen_stack(&g, s3, 1, MPF_STACK_TRUNCATED);
	w_page_alloc(&g, 100, 0, 0x100000, a, 0x140cca);
	w_page_alloc(&g, 100, 2, 0x100010, a, 0x140cca);
	w_page_alloc(&g, 100, 0, 0x200000, 0, 0xcc0);
	w_page_free(&g, 100, 1, 0x100010, 0);
	w_heap_alloc(&g, 100, MPF_HEAP_MALLOC, 0x5555555a0000ull, 4096, b);
	w_heap_alloc(&g, 100, MPF_HEAP_CALLOC, 0x5555555a2000ull, 100, c);
	w_heap_alloc(&g, 100, MPF_HEAP_MALLOC, 0x5555555a6000ull, 24, gen_ustack(&g));
	w_realloc(&g, 100, 0x5555555a2000ull, 0x5555555a4000ull, 300, c);
	w_heap_free(&g, 100, 0x5555555a0000ull);
	w_fork(&g, 100, 102);
	w_comm(&g, 102, 102, "prog");
	w_heap_alloc(&g, 102, MPF_HEAP_MALLOC, 0x5555555a8000ull, 64, a);
	w_page_alloc(&g, 102, 0, 0x300000, b, 0x140cca);
	w_page_free(&g, 102, 0, 0x300000, MPF_PAGE_FREE_EXITING);
	w_lost(&g, MPF_EV_HEAP, 1);
	w_exit(&g, 102, 0);
	w_page_free(&g, 100, 0, 0x100000, 0);
	gen_close(&g, end);
}

/* A trace of a single record of one type (and what it needs), END last. */
static void one_type(const char *name, uint32_t type)
{
	static const uint64_t ips[] = { EXE_START + 0x1139, EXE_START + 0x1180 };
	char path[4096];
	struct gen g;
	uint32_t id;

	path_of(path, sizeof(path), name);
	gen_open(&g, path, name, 0);
	switch (type) {
	case MPF_REC_INFO: w_info(&g, "release", "6.1.0"); break;
	case MPF_REC_COMM: w_comm(&g, 7, 8, "thread"); break;
	case MPF_REC_FORK: w_fork(&g, 7, 9); break;
	case MPF_REC_EXEC: w_exec(&g, 7, "/bin/true"); break;
	case MPF_REC_EXIT: w_exit(&g, 7, 256); break;
	case MPF_REC_FILE: w_file(&g, 3, "/bin/true", 20); break;
	case MPF_REC_MAP: w_map(&g, 7, 3, EXE_START, EXE_START + 0x1000, 0x1000); break;
	case MPF_REC_STACK: {
		/* The whole stacks of 1.3 and before: the writer writes trees now. */
		struct mpf_record rec = { .type = MPF_REC_STACK };

		rec.stack = (struct mpf_stack){ .id = 1, .nr = 2, .ips = ips };
		gen_write(&g, &rec);
		w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x10000, 512, 1);
		break;
	}
	case MPF_REC_FRAME: {
		struct mpf_record rec = { .type = MPF_REC_FRAME };

		rec.frame = (struct mpf_frame){ .id = 1, .nr = 2, .ips = ips };
		gen_write(&g, &rec);
		break;
	}
	case MPF_REC_STACK_NODE:
		id = gen_stack(&g, ips, 2, MPF_STACK_FIRST_IS_IP | MPF_STACK_TRUNCATED);
		w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x10000, 512, id);
		break;
	case MPF_REC_PAGE_ALLOC: w_page_alloc(&g, 7, 3, 0x4000, 0, 0x140cca); break;
	case MPF_REC_PAGE_FREE: w_page_free(&g, 7, 3, 0x4000, 0); break;
	case MPF_REC_HEAP_ALLOC:
		id = gen_stack(&g, ips, 2, 0);
		w_heap_alloc(&g, 7, MPF_HEAP_POSIX_MEMALIGN, 0x10000, 512, id);
		break;
	case MPF_REC_HEAP_FREE: w_heap_free(&g, 7, 0x10000); break;
	case MPF_REC_HEAP_REALLOC: w_realloc(&g, 7, 0, 0x20000, 1000, 0); break;
	case MPF_REC_LOST: w_lost(&g, MPF_EV_PAGE, 5); break;
	case MPF_REC_USTACK:
		id = gen_ustack(&g);
		w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x10000, 512, id);
		break;
	case MPF_REC_CACHE_ADD:
	case MPF_REC_CACHE_DEL: {
		struct mpf_record rec = { .type = MPF_REC_CACHE_ADD };

		id = gen_stack(&g, ips, 2, MPF_STACK_FIRST_IS_IP);
		rec.cache_add = (struct mpf_cache_add){ .pid = 7, .tid = 7, .order = 2,
							.stack_id = id, .page = 0x4000,
							.ino = 12, .dev = 8 << 20 | 1,
							.index = 3 };
		gen_write(&g, &rec);
		if (type == MPF_REC_CACHE_DEL) {
			rec = (struct mpf_record){ .type = MPF_REC_CACHE_DEL };
			rec.cache_del = (struct mpf_cache_del){ .pid = 0, .order = 1,
								.page = 0x4002 };
			gen_write(&g, &rec);
		}
		break;
	}
	case MPF_REC_VM: {
		static const struct mpf_vm calls[] = {
			{ 7, 7, MPF_VM_MMAP, 0, 3, 0x22, 0x7f0000000000, 0x200000, 0, 0 },
			{ 7, 7, MPF_VM_MUNMAP, 0, 0, 0, 0x7f0000100000, 0x1000, 0, 0 },
			{ 7, 7, MPF_VM_MREMAP, 0, 0, 1, 0x7f1000000000, 0x400000,
			  0x7f0000000000, 0x100000 },
			{ 7, 7, MPF_VM_BRK, 0, 0, 0, 0x555555580000, 0, 0x555555559000, 0 },
		};

		id = gen_stack(&g, ips, 2, MPF_STACK_FIRST_IS_IP);
		for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
			struct mpf_record rec = { .type = MPF_REC_VM, .vm = calls[i] };

			rec.vm.stack_id = id;
			gen_write(&g, &rec);
		}
		break;
	}
	case MPF_REC_RSS: {
		struct mpf_record rec = { .type = MPF_REC_RSS };

		rec.rss = (struct mpf_rss){ 7, 1 << 20, 2 << 20, 0, 4 << 20 };
		gen_write(&g, &rec);
		break;
	}
	}
	gen_close(&g, true);
}

/*
 * Stack trees that decode but make no sense: parents and frames never
 * defined, ids defined again and out of order, ids at the top of their
 * space, a chain of runs deeper than a stack may be, frame ids far apart,
 * events naming every kind of them.
 */
static void nonsense_nodes(void)
{
	static const uint64_t ips[3] = { EXE_START + 0x1139, EXE_START + 0x1180, 0 };
	static uint32_t deep[MPF_STACK_MAX];
	struct mpf_record rec;
	char path[4096];
	struct gen g;

	path_of(path, sizeof(path), "stack-nodes-nonsense");
	gen_open(&g, path, "stack-nodes-nonsense", 0);
	w_comm(&g, 7, 7, "nodes");
	w_file(&g, 3, "/bin/true", 20);
	w_map(&g, 7, 3, EXE_START, EXE_START + 0x2000, 0);
	rec = (struct mpf_record){ .type = MPF_REC_FRAME };
	rec.frame = (struct mpf_frame){ .id = 1, .nr = 3, .ips = ips };
	gen_write(&g, &rec);
	rec.frame = (struct mpf_frame){ .id = UINT32_MAX - 1, .flags = 0xff, .nr = 2, .ips = ips };
	gen_write(&g, &rec);	/* far ids, the last id of the space wrapping to 0 */
	rec.frame = (struct mpf_frame){ .id = 2, .flags = MPF_FRAME_EXACT, .nr = 1, .ips = ips };
	gen_write(&g, &rec);	/* frame 2 again, another kind */
	for (int k = 0; k < MPF_STACK_MAX; k++)
		deep[k] = 1 + k % 3;
	rec = (struct mpf_record){ .type = MPF_REC_STACK_NODE };
	rec.stack_node = (struct mpf_stack_node){ .id = 10, .nr = 2, .frames = deep };
	gen_write(&g, &rec);
	rec.stack_node = (struct mpf_stack_node){ .id = 20, .parent = 11, .nr = MPF_STACK_MAX - 2,
						  .frames = deep };
	gen_write(&g, &rec);	/* 512 frames deep: the most */
	rec.stack_node = (struct mpf_stack_node){ .id = 600, .parent = 20 + MPF_STACK_MAX - 3,
						  .nr = 1, .frames = deep };
	gen_write(&g, &rec);	/* 513 */
	rec.stack_node = (struct mpf_stack_node){ .id = 601, .parent = 99999, .nr = 1,
						  .frames = deep };
	gen_write(&g, &rec);	/* parent never defined */
	rec.stack_node = (struct mpf_stack_node){ .id = 602, .parent = 10, .nr = 1,
						  .frames = (const uint32_t[]){ 12345 } };
	gen_write(&g, &rec);	/* frame never defined */
	rec.stack_node = (struct mpf_stack_node){ .id = 11, .parent = 602, .nr = 3,
						  .flags = 0xfffffff, .frames = deep };
	gen_write(&g, &rec);	/* ids again, out of order, from an undefined parent */
	rec.stack_node = (struct mpf_stack_node){ .id = 10, .parent = 0, .nr = 1,
						  .flags = MPF_STACK_TRUNCATED,
						  .frames = (const uint32_t[]){ UINT32_MAX - 1 } };
	gen_write(&g, &rec);	/* 10 again, a far frame */
	rec.stack_node = (struct mpf_stack_node){ .id = UINT32_MAX - 1, .parent = 10, .nr = 2,
						  .frames = deep };
	gen_write(&g, &rec);	/* ids past the top */
	rec.stack_node = (struct mpf_stack_node){ .id = 700, .parent = 700, .nr = 1,
						  .frames = deep };
	gen_write(&g, &rec);	/* its own parent */
	for (uint32_t id = 1; id < 12; id++)
		w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x10000 + id * 64, id, id);
	w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x20000, 1, 20 + MPF_STACK_MAX - 3);
	w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x20040, 2, 600);
	w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x20080, 3, 602);
	w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x200c0, 4, UINT32_MAX - 1);
	w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x20100, 5, UINT32_MAX);
	w_heap_alloc(&g, 7, MPF_HEAP_MALLOC, 0x20140, 6, 700);
	gen_close(&g, true);
}

/* Records whose values a model must not trust: they decode, but make no sense. */
static void nonsense(void)
{
	static const uint64_t ips[MPF_STACK_MAX] = { 1 };
	char path[4096];
	struct gen g;
	uint32_t id;

	/* Stack ids used but never defined, 0 and the largest. */
	path_of(path, sizeof(path), "stack-undefined");
	gen_open(&g, path, "stack-undefined", 0);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x1000, 100, 999);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x2000, 100, UINT32_MAX);
	w_page_alloc(&g, 1, 0, 0x10, 12345, 0x140cca);
	w_realloc(&g, 1, 0x1000, 0x3000, 200, 777);
	gen_close(&g, true);

	/* Page orders a kernel never allocates, page ids at the top of the range. */
	path_of(path, sizeof(path), "page-orders");
	gen_open(&g, path, "page-orders", 0);
	w_page_alloc(&g, 1, 13, 0x100000, 0, 0x140cca);
	w_page_alloc(&g, 1, 14, 0x200000, 0, 0x140cca);
	w_page_alloc(&g, 1, 30, 0x40000000, 0, 0x140cca);
	w_page_alloc(&g, 1, 63, 0, 0, 0x140cca);
	w_page_alloc(&g, 1, 4, UINT64_MAX - 3, 0, 0x140cca);
	w_page_alloc(&g, 1, 0, UINT64_MAX, 0, 0x140cca);
	w_page_free(&g, 1, 63, 0, 0);
	w_page_free(&g, 1, 30, 0, 0);
	w_page_free(&g, 1, 12, 0x100000, 0);
	w_page_free(&g, 1, 0, UINT64_MAX, 0);
	gen_close(&g, true);

	/* Sizes and counts that overflow sums. */
	path_of(path, sizeof(path), "huge-counts");
	gen_open(&g, path, "huge-counts", 0);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x1000, UINT64_MAX, 0);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x2000, INT64_MAX, 0);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x3000, INT64_MAX, 0);
	w_realloc(&g, 1, 0x3000, 0x4000, UINT64_MAX, 0);
	w_lost(&g, MPF_EV_HEAP, UINT64_MAX);
	w_lost(&g, MPF_EV_HEAP, UINT64_MAX);
	w_lost(&g, MPF_EV_PAGE, UINT64_MAX);
	gen_close(&g, true);

	/* Processes: forks of itself, in a cycle, pid reuse, exits twice, a deep chain. */
	path_of(path, sizeof(path), "fork-cycles");
	gen_open(&g, path, "fork-cycles", 0);
	id = gen_stack(&g, ips, 1, 0);
	w_map(&g, 1, 1, 0, 0x1000, 0);
	w_fork(&g, 1, 1);
	w_fork(&g, 1, 2);
	w_fork(&g, 2, 1);
	w_exit(&g, 2, 0);
	w_exit(&g, 2, 9);
	w_fork(&g, 1, 2);
	for (uint32_t pid = 10; pid < 200; pid++) {
		w_fork(&g, pid - 1, pid);
		w_map(&g, pid, 0, pid * 0x1000, pid * 0x1000 + 0x1000, 0);
		w_heap_alloc(&g, pid, MPF_HEAP_MALLOC, 0x1000 + pid, 8, id);
	}
	w_exec(&g, 150, "");
	w_exec(&g, 151, "/");
	w_exec(&g, 152, "no-slash");
	w_heap_alloc(&g, 199, MPF_HEAP_MALLOC, 0x9000, 8, id);
	gen_close(&g, true);

	/* Maps that overlap, nest, repeat, end at the top, and name files never defined. */
	path_of(path, sizeof(path), "maps-overlap");
	gen_open(&g, path, "maps-overlap", 0);
	w_file(&g, 1, "/usr/bin/prog", 0);
	w_file(&g, 1, "/usr/bin/prog-again", 64);
	for (uint64_t i = 40; i-- > 0;)
		w_map(&g, 1, (uint32_t)(i % 3), i * 0x800, i * 0x800 + 0x1800, i);
	w_map(&g, 1, 1, 0, UINT64_MAX, 0);
	w_map(&g, 1, 1, 0x3000, 0x3001, UINT64_MAX);
	w_map(&g, 1, 77, 0x5000, 0x6000, 0);
	w_map(&g, 1, 1, UINT64_MAX - 0x1000, UINT64_MAX, 0);
	id = gen_stack(&g, (const uint64_t[]){ 0, 0x800, 0x3000, 0x5800, UINT64_MAX - 1 }, 5, 1);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x1000, 10, id);
	w_fork(&g, 1, 2);
	w_map(&g, 2, 1, 0x2000, 0x2400, 0);
	w_heap_alloc(&g, 2, MPF_HEAP_MALLOC, 0x1000, 10, id);
	gen_close(&g, true);

	/* A stack of MPF_STACK_MAX frames, redefined ids, blocks freed twice and reused. */
	path_of(path, sizeof(path), "stacks-max");
	gen_open(&g, path, "stacks-max", 0);
	id = gen_stack(&g, ips, MPF_STACK_MAX, MPF_STACK_TRUNCATED | 0xfff0);
	w_heap_alloc(&g, 1, MPF_HEAP_VALLOC, 0x1000, 4096, id);
	w_heap_alloc(&g, 1, MPF_HEAP_VALLOC, 0x1000, 8192, id);
	w_heap_free(&g, 1, 0x1000);
	w_heap_free(&g, 1, 0x1000);
	w_heap_free(&g, 5, 0x1000);
	w_heap_free(&g, 1, 0);
	w_realloc(&g, 1, 0x2000, 0, 0, id);
	w_realloc(&g, 1, 0x2000, 0, 10, id);
	w_page_alloc(&g, 1, 2, 0x100, id, 0x140cca);
	w_page_alloc(&g, 1, 0, 0x101, id, 0x140cca);
	w_page_free(&g, 1, 3, 0x100, 0);
	w_page_free(&g, 1, 3, 0x100, 0);
	gen_close(&g, true);

	/* Control characters and terminal escapes in names, as a hostile recorder would put. */
	path_of(path, sizeof(path), "names-escapes");
	gen_open(&g, path, "names-escapes", 0);
	w_comm(&g, 1, 1, "a\033[2Jb\n;c");
	w_file(&g, 1, "/tmp/\033]0;owned\007/lib\n.so", 4);
	w_map(&g, 1, 1, 0x1000, 0x2000, 0);
	id = gen_stack(&g, (const uint64_t[]){ 0x1100 }, 1, 0);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x1000, 300000, id);
	w_exec(&g, 2, "/x/\r\t\177");
	w_heap_alloc(&g, 2, MPF_HEAP_MALLOC, 0x1000, 300000, 0);
	gen_close(&g, true);
}

/* ---- crafted files, byte by byte ---- */

struct craft {
	uint8_t buf[BUF_MAX];
	size_t len;
	uint8_t raw[1 << 16];
	size_t rlen;
	uint32_t nrec;
};

static struct craft cr;

static void c_header(uint16_t major, uint16_t minor, uint32_t size)
{
	uint8_t *p = cr.buf;

	mpf_header__encode(&hdr, p);
	if (size > MPF_HEADER_SIZE)
		memset(p + MPF_HEADER_SIZE - 4, 0xa5, size - MPF_HEADER_SIZE + 4);
	mpf_put_le16(p + 8, major);
	mpf_put_le16(p + 10, minor);
	mpf_put_le32(p + 12, size);
	mpf_put_le32(p + size - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, size - 4));
	cr.len = size;
	cr.rlen = 0;
	cr.nrec = 0;
}

/* A record's framing at p (its payload, len bytes, to follow): the end. */
static uint8_t *rec_frame(uint8_t *p, uint64_t type, uint64_t dt, size_t len)
{
	p = mpf_put_varint(p, type);
	p = mpf_put_varint(p, dt);
	return mpf_put_varint(p, len);
}

/*
 * Records raw[0, len), nrec of them, as a chunk at out, which has room for
 * cap bytes: stored, or zstd-compressed; with a true CRC.  Its bytes.
 */
static size_t chunk_encode(uint8_t *out, size_t cap, const uint8_t *raw, size_t len,
			   uint32_t nrec, bool zstd)
{
	struct mpf_chunk_hdr ch = { .raw_size = (uint32_t)len, .nr_records = nrec };
	uint8_t *payload = out + MPF_CHUNK_HDR_SIZE;
	size_t n = len;

	if (zstd) {
		n = ZSTD_compress(payload, cap - MPF_CHUNK_HDR_SIZE, raw, len, 3);
		if (ZSTD_isError(n))
			die("cannot compress", "chunk", EINVAL);
		ch.flags = MPF_CHUNK_ZSTD;
	} else {
		memcpy(payload, raw, n);
	}
	ch.comp_size = (uint32_t)n;
	ch.crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), payload, (uInt)n);
	mpf_chunk_hdr__encode(&ch, out);
	return MPF_CHUNK_HDR_SIZE + n;
}

static void c_rec(uint64_t type, uint64_t dt, const uint8_t *payload, size_t len)
{
	uint8_t *p = rec_frame(cr.raw + cr.rlen, type, dt, len);

	memcpy(p, payload, len);
	cr.rlen = (size_t)(p + len - cr.raw);
	cr.nrec++;
}

#define REC(type, ...)                                                           \
	do {                                                                     \
		static const uint8_t pl_[] = { __VA_ARGS__ };                    \
		c_rec(type, 10, pl_, sizeof(pl_));                               \
	} while (0)

/* Ends the records as a chunk: stored, or zstd-compressed; with a true CRC. */
static void c_chunk(bool zstd)
{
	cr.len += chunk_encode(cr.buf + cr.len, sizeof(cr.buf) - cr.len, cr.raw, cr.rlen, cr.nrec,
			       zstd);
	cr.rlen = 0;
	cr.nrec = 0;
}

static void c_put(const char *name)
{
	put_file(name, cr.buf, cr.len);
}

/* A sound chunk of a FORK and a heap allocation, the start of most crafted files. */
static void c_sound(void)
{
	REC(MPF_REC_FORK, 1, 2);
	REC(MPF_REC_HEAP_ALLOC, 2, 0, MPF_HEAP_MALLOC, 0, 0x80, 0x20, 0x80, 0x01);
}

/* One chunk of a sound record, then one record with payload, then END; stored. */
static void c_bad_record(const char *name, uint32_t type, const uint8_t *payload, size_t len)
{
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_rec(type, 10, payload, len);
	REC(MPF_REC_END, 0);
	c_chunk(false);
	c_put(name);
}

#define BAD(name, type, ...)                                                     \
	do {                                                                     \
		static const uint8_t pl_[] = { __VA_ARGS__ };                    \
		c_bad_record(name, type, pl_, sizeof(pl_));                      \
	} while (0)

static void crafted(void)
{
	uint8_t *p;

	/* Headers. */
	put_file("empty", "", 0);
	c_header(1, 0, MPF_HEADER_SIZE);
	cr.len = 32;
	c_put("header-short");
	c_header(1, 0, MPF_HEADER_SIZE);
	c_put("header-only");
	c_header(1, 0, MPF_HEADER_SIZE);
	cr.buf[0] = 'm';
	c_put("header-magic");
	put_file("not-a-trace", "#!/bin/sh\necho this is not a trace\n", 36);
	c_header(1, 0, MPF_HEADER_SIZE);
	cr.buf[40] ^= 0x10;
	c_put("header-crc");
	c_header(0, 0, MPF_HEADER_SIZE);
	c_put("header-major-0");
	c_header(1, 0, MPF_HEADER_SIZE);
	mpf_put_le32(cr.buf + 16, 0x04030201);
	mpf_put_le32(cr.buf + 60, (uint32_t)crc32(crc32(0L, Z_NULL, 0), cr.buf, 60));
	c_put("header-big-endian");
	c_header(1, 0, MPF_HEADER_SIZE);
	mpf_put_le32(cr.buf + 12, 0xffffffff);
	c_put("header-size-huge");
	c_header(1, 0, MPF_HEADER_SIZE_MAX);
	cr.len = 1000;
	c_put("header-size-cut");

	/* Versions: a newer major is refused; a newer minor is read, its additions skipped. */
	c_header(2, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(false);
	c_put("newer-major-2.0");
	c_header(UINT16_MAX, UINT16_MAX, 200);
	c_put("newer-major-65535");
	c_header(1, 9, 128);
	c_sound();
	/* A type far past this version's, so that the next minors' types stay clear of it. */
	c_rec(200, 10, (const uint8_t *)"future", 6);
	c_rec(UINT32_MAX, 10, (const uint8_t *)"", 0);
	REC(MPF_REC_FORK, 1, 3, 0x55, 0x81, 0x01);	/* fields appended by a newer minor */
	/* The counters of an event type after the six this version knows. */
	REC(MPF_REC_END, 7, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4);
	c_chunk(true);
	c_put("newer-minor-1.9");

	/* Chunk headers that claim what the file does not hold. */
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(false);
	p = cr.buf + MPF_HEADER_SIZE;
	mpf_put_le32(p + 8, MPF_CHUNK_RAW_MAX);
	mpf_put_le32(p + 12, MPF_CHUNK_RAW_MAX);
	c_put("chunk-size-beyond-file");
	mpf_put_le32(p + 8, UINT32_MAX);
	mpf_put_le32(p + 12, UINT32_MAX);
	c_put("chunk-size-huge");
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(true);
	p = cr.buf + MPF_HEADER_SIZE;
	mpf_put_le32(p + 12, MPF_CHUNK_RAW_MAX);	/* more than the frame holds */
	mpf_put_le32(p + 20, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p + 24, mpf_get_le32(p + 8)));
	c_put("chunk-zstd-raw-size-lies");
	mpf_put_le32(p + 12, 3);			/* less */
	c_put("chunk-zstd-raw-size-short");
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(false);
	mpf_put_le32(cr.buf + MPF_HEADER_SIZE + 16, UINT32_MAX);
	c_put("chunk-nr-records-huge");
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(false);
	memcpy(cr.buf + cr.len, "MPCK", 4);
	cr.len += 4;
	c_put("chunk-header-cut");
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(false);
	memset(cr.buf + cr.len, 0, 4096);
	cr.len += 4096;
	c_put("chunk-zeros-after");
	c_header(1, 0, MPF_HEADER_SIZE);
	memcpy(cr.buf + MPF_HEADER_SIZE, cr.buf, MPF_HEADER_SIZE);	/* two headers */
	cr.len = 2 * MPF_HEADER_SIZE;
	c_put("header-twice");

	/* Records whose lengths and counts are absurd. */
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(false);
	p = cr.raw;
	p = mpf_put_varint(p, MPF_REC_INFO);
	p = mpf_put_varint(p, 0);
	p = mpf_put_varint(p, UINT64_MAX);
	cr.rlen = (size_t)(p - cr.raw);
	cr.nrec = 1;
	c_chunk(false);
	c_put("record-length-huge");
	BAD("record-string-huge", MPF_REC_INFO, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a', 0);
	BAD("record-string-nul", MPF_REC_EXEC, 1, 3, 'a', 0, 'b', 0);
	BAD("record-comm-long", MPF_REC_COMM, 1, 0, 16, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a',
	    'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 0);
	BAD("record-build-id-huge", MPF_REC_FILE, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0);
	BAD("record-stack-nr-huge", MPF_REC_STACK, 2, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0);
	BAD("record-stack-nr-513", MPF_REC_STACK, 2, 0, 0x81, 0x04, 0);
	BAD("record-stack-id-0", MPF_REC_STACK, 0, 0, 1, 0);
	BAD("record-frame-nr-513", MPF_REC_FRAME, 2, 0, 0x81, 0x04, 0);
	BAD("record-frame-nr-0", MPF_REC_FRAME, 2, 0, 0, 0);
	BAD("record-frame-id-0", MPF_REC_FRAME, 0, 0, 1, 0);
	BAD("record-frame-short", MPF_REC_FRAME, 2, 0, 2, 0);
	BAD("record-node-nr-513", MPF_REC_STACK_NODE, 2, 1, 0, 0x81, 0x04, 2);
	BAD("record-node-id-0", MPF_REC_STACK_NODE, 0, 0, 0, 1, 2);
	BAD("record-node-short", MPF_REC_STACK_NODE, 2, 1, 0, 3, 2, 2);
	BAD("record-end-count-huge", MPF_REC_END, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2);
	BAD("record-varint-11", MPF_REC_FORK, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x01, 1);
	BAD("record-u32-overflow", MPF_REC_FORK, 0x80, 0x80, 0x80, 0x80, 0x10, 1);
	BAD("record-page-order-64", MPF_REC_PAGE_ALLOC, 1, 0, 64, 0, 0, 0);
	BAD("record-heap-func", MPF_REC_HEAP_ALLOC, 1, 0, MPF_HEAP__MAX, 0, 0, 0);
	BAD("record-lost-event", MPF_REC_LOST, MPF_LOST__MAX, 1);
	BAD("record-map-wraps", MPF_REC_MAP, 1, 1, 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1, 0);
	BAD("record-short", MPF_REC_HEAP_REALLOC, 1, 0, 0);
	BAD("record-type-0", 0, 1, 2);

	/* Framing: the count and the records disagree. */
	c_header(1, 0, MPF_HEADER_SIZE);
	c_sound();
	c_chunk(false);
	c_sound();
	cr.nrec = 5;
	c_chunk(false);
	c_put("chunk-count-mismatch");
}

/* ---- mutations of a sound trace ---- */

static void mutations(void)
{
	static uint8_t copy[BUF_MAX];
	static const size_t cuts[] = { 63, 64, 65, 80, 88, 100, 150 };
	static const size_t flips[] = { 70, 75, 79, 90, 120, 200 };
	char name[64];
	size_t len, i;
	uint8_t *buf = get_file("sample-chunks", &len);

	memcpy(copy, buf, len);
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (cuts[i] >= len)
			continue;
		snprintf(name, sizeof(name), "cut-at-%zu", cuts[i]);
		put_file(name, copy, cuts[i]);
	}
	put_file("cut-last-byte", copy, len - 1);
	for (i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		if (flips[i] >= len)
			continue;
		copy[flips[i]] ^= 0x41;
		snprintf(name, sizeof(name), "flip-at-%zu", flips[i]);
		put_file(name, copy, len);
		copy[flips[i]] ^= 0x41;
	}
}

/*
 * Archives: the sample trace with two small files embedded, then the
 * archive cut and flipped where its parts are (the trailer, the table of
 * contents, the stored frames).
 */
static void archives(void)
{
	static const char elf[] = "\177ELF fake file for the corpus, twice: \177ELF fake file";
	static const uint8_t id1[] = { 1, 2, 3, 4 }, id2[] = { 5, 6, 7, 8, 9 };
	static uint8_t copy[BUF_MAX];
	char path[4096], src[4096], name[64];
	struct mpf_archive_writer *w;
	struct stat st;
	size_t len;
	uint8_t *buf;
	int fd, in;

	path_of(src, sizeof(src), "sample");
	path_of(path, sizeof(path), "archive");
	in = open(src, O_RDONLY);
	if (in < 0 || fstat(in, &st))
		die("cannot read", src, errno);
	w = mpf_archive_writer__open(path, in, (uint64_t)st.st_size);
	close(in);
	if (!w)
		die("cannot create", path, errno);
	path_of(src, sizeof(src), "archive.tmp");
	fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, elf, sizeof(elf)) != (ssize_t)sizeof(elf))
		die("cannot write", src, errno);
	lseek(fd, 0, SEEK_SET);
	if (mpf_archive_writer__add(w, MPF_ARCHIVE_ELF, id1, sizeof(id1), "/bin/fake", fd))
		die("cannot add to", path, EIO);
	lseek(fd, 0, SEEK_SET);
	if (mpf_archive_writer__add(w, MPF_ARCHIVE_DEBUG, id2, sizeof(id2), "/usr/lib/debug/f", fd))
		die("cannot add to", path, EIO);
	close(fd);
	unlink(src);
	if (mpf_archive_writer__close(w))
		die("cannot close", path, EIO);

	buf = get_file("archive", &len);
	if (len > BUF_MAX)
		die("too large", path, EFBIG);
	memcpy(copy, buf, len);
	/* The trailer's fields, the table, the last stored frame, the trace's end. */
	for (size_t back = 1; back <= MPF_ARCHIVE_TRAILER + 64 && back < len; back += 7) {
		copy[len - back] ^= 0x5a;
		snprintf(name, sizeof(name), "archive-flip-end-%zu", back);
		put_file(name, copy, len);
		copy[len - back] ^= 0x5a;
	}
	for (size_t cut = 1; cut < 200 && cut < len; cut += 37) {
		snprintf(name, sizeof(name), "archive-cut-end-%zu", cut);
		put_file(name, copy, len - cut);
	}
	/* Offsets and sizes in the trailer pointing anywhere. */
	for (int i = 8; i + 8 <= MPF_ARCHIVE_TRAILER; i += 8) {
		uint8_t save[8];

		memcpy(save, copy + len - MPF_ARCHIVE_TRAILER + i, 8);
		memset(copy + len - MPF_ARCHIVE_TRAILER + i, 0xff, 8);
		snprintf(name, sizeof(name), "archive-trailer-%d-huge", i);
		put_file(name, copy, len);
		memcpy(copy + len - MPF_ARCHIVE_TRAILER + i, save, 8);
	}
}

/*
 * Archives of one zstd bomb after the sample trace: 16 MiB of zeros behind an
 * ELF magic, in a few hundred bytes, as the file of a build-id the trace
 * names, written by hand (the writer refuses it).  The table gives its true
 * size, or understates it as the most its stored bytes may expand to, which
 * the frame then exceeds.
 */
static void bomb_archives(void)
{
	static uint8_t file[16u << 20], frame[1u << 16], out[BUF_MAX], id[20];
	size_t zlen, tlen, len, toc_len = 36 + sizeof(id);
	uint8_t *trace = get_file("sample", &tlen), *p;

	/* The build-id of the sample's file 1 (w_file's): report looks it up. */
	for (uint32_t i = 0; i < sizeof(id); i++)
		id[i] = (uint8_t)(31 + i);
	memcpy(file, "\177ELF", 4);
	zlen = ZSTD_compress(frame, sizeof(frame), file, sizeof(file), 19);
	if (ZSTD_isError(zlen) || tlen + zlen + toc_len + MPF_ARCHIVE_TRAILER > BUF_MAX)
		die("cannot compress", "archive-bomb", EIO);
	for (int understated = 0; understated < 2; understated++) {
		memmove(out, trace, tlen);
		trace = out;
		memcpy(out + tlen, frame, zlen);
		p = out + tlen + zlen;
		mpf_put_le32(p, MPF_ARCHIVE_ELF);
		mpf_put_le32(p + 4, 1);
		mpf_put_le64(p + 8, tlen);
		mpf_put_le64(p + 16, zlen);
		mpf_put_le64(p + 24, understated ? zlen * MPF_ARCHIVE_RATIO_MAX : sizeof(file));
		mpf_put_le16(p + 32, sizeof(id));
		mpf_put_le16(p + 34, 0);
		memcpy(p + 36, id, sizeof(id));
		p += toc_len;
		memcpy(p, MPF_ARCHIVE_MAGIC, 8);
		mpf_put_le16(p + 8, MPF_ARCHIVE_VERSION);
		mpf_put_le16(p + 10, 0);
		mpf_put_le32(p + 12, 1);
		mpf_put_le64(p + 16, tlen);
		mpf_put_le64(p + 24, tlen + zlen);
		mpf_put_le64(p + 32, toc_len);
		mpf_put_le32(p + 40, (uint32_t)crc32(crc32(0L, Z_NULL, 0), out + tlen + zlen,
						      (uInt)toc_len));
		mpf_put_le32(p + 44, (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, 44));
		len = (size_t)(p + MPF_ARCHIVE_TRAILER - out);
		put_file(understated ? "archive-bomb-understated" : "archive-bomb", out, len);
	}
}

/* ---- --mutate ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: the same mutations for the same seed everywhere. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/*
 * A copy of the trace IN with a few bytes of the records of one chunk
 * changed, the chunk stored inflated and its CRC made right again, so that
 * the damage gets past the CRC into the decoding, the model and the report.
 */
static int mutate(const char *in, const char *out, uint64_t seed)
{
	static uint8_t src[BUF_MAX], dst[4 * BUF_MAX], raw[MPF_CHUNK_RAW_MAX / 16];
	size_t len, off, n = 0, nchunks = 0, victim;
	struct mpf_chunk_hdr ch;
	FILE *f = fopen(in, "rb");

	if (!f)
		die("cannot read", in, errno);
	len = fread(src, 1, sizeof(src), f);
	fclose(f);
	if (len < MPF_HEADER_SIZE + MPF_CHUNK_HDR_SIZE)
		die("too short to mutate", in, EINVAL);
	/* Count the chunks, then pick one. */
	for (off = mpf_get_le32(src + 12); off + MPF_CHUNK_HDR_SIZE <= len; nchunks++) {
		if (mpf_chunk_hdr__decode(src + off, &ch))
			die("not a sound trace", in, EINVAL);
		off += MPF_CHUNK_HDR_SIZE + ch.comp_size;
	}
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	victim = rng() % nchunks;

	off = mpf_get_le32(src + 12);
	memcpy(dst, src, off);
	n = off;
	for (size_t i = 0; i < nchunks; i++) {
		size_t rlen;

		mpf_chunk_hdr__decode(src + off, &ch);
		if (i != victim) {
			memcpy(dst + n, src + off, MPF_CHUNK_HDR_SIZE + ch.comp_size);
			n += MPF_CHUNK_HDR_SIZE + ch.comp_size;
			off += MPF_CHUNK_HDR_SIZE + ch.comp_size;
			continue;
		}
		if (ch.flags & MPF_CHUNK_ZSTD) {
			rlen = ZSTD_decompress(raw, sizeof(raw), src + off + MPF_CHUNK_HDR_SIZE,
					       ch.comp_size);
			if (ZSTD_isError(rlen))
				die("cannot inflate a chunk of", in, EINVAL);
		} else {
			rlen = ch.comp_size;
			memcpy(raw, src + off + MPF_CHUNK_HDR_SIZE, rlen);
		}
		for (uint64_t k = 1 + rng() % 3; k-- > 0;) {
			size_t at = rng() % rlen;

			raw[at] ^= (uint8_t)(1 + rng() % 255);
		}
		ch.flags = 0;
		ch.comp_size = ch.raw_size = (uint32_t)rlen;
		ch.crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), raw, (uInt)rlen);
		mpf_chunk_hdr__encode(&ch, dst + n);
		memcpy(dst + n + MPF_CHUNK_HDR_SIZE, raw, rlen);
		n += MPF_CHUNK_HDR_SIZE + rlen;
		off += MPF_CHUNK_HDR_SIZE + mpf_get_le32(src + off + 8);
	}
	f = fopen(out, "wb");
	if (!f || fwrite(dst, 1, n, f) != n || fclose(f))
		die("cannot write", out, errno);
	return 0;
}

/* ---- --maps, --forks: traces asking for much work from little data ---- */

/* One process with n maps, each below the one before: in this order, easy to make quadratic. */
static int maps_trace(const char *out, uint32_t n)
{
	uint64_t ip = 0x1100;
	struct gen g;
	uint32_t id;

	gen_open(&g, out, out, 0);
	w_file(&g, 1, "/nonexistent/big.so", 0);
	for (uint32_t i = n; i-- > 0;)
		w_map(&g, 1, 1, (uint64_t)i * 0x1000, (uint64_t)i * 0x1000 + 0x1800, i);
	id = gen_stack(&g, &ip, 1, 0);
	w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x1000, 4096, id);
	gen_close(&g, true);
	return 0;
}

/*
 * A process with n maps forking n children, each after one more map of its
 * own and allocating from a stack in the inherited maps: each child's view
 * of its maps is a different n-map snapshot of its parent's.
 */
static int forks_trace(const char *out, uint32_t n)
{
	uint64_t ip = 0x1100;
	struct gen g;
	uint32_t id;

	gen_open(&g, out, out, 0);
	w_file(&g, 1, "/nonexistent/big.so", 0);
	for (uint32_t i = 0; i < n; i++)
		w_map(&g, 1, 1, (uint64_t)i * 0x1000, (uint64_t)i * 0x1000 + 0x1000, i);
	id = gen_stack(&g, &ip, 1, 0);
	for (uint32_t c = 0; c < n; c++) {
		w_map(&g, 1, 1, 0x100000000ull + (uint64_t)c * 0x1000,
		      0x100000000ull + (uint64_t)c * 0x1000 + 0x1000, c);
		w_fork(&g, 1, 2 + c);
		w_map(&g, 2 + c, 0, 0x200000000ull, 0x200001000ull, 0);
		w_heap_alloc(&g, 2 + c, MPF_HEAP_MALLOC, 0x1000, 4096, id);
	}
	gen_close(&g, true);
	return 0;
}

/* The process of the stack traces: "stacks", its code in deep.so at 0x400000. */
static void stacks_open(struct gen *g, const char *out)
{
	gen_open(g, out, out, 0);
	w_comm(g, 1, 1, "stacks");
	w_file(g, 1, "/nonexistent/deep.so", 0);
	w_map(g, 1, 1, 0x400000, 0x600000, 0);
}

/*
 * n STACK records of 512 frames, ids 1 to n, each frame the same address:
 * a few bytes of zstd per record, 4 KiB each in a stack table that keeps
 * them.  distinct: the outermost frame differs from one record to the next,
 * so no two stacks are equal.  A heap allocation uses each 1000th stack.
 */
static int stacks_trace(const char *out, uint32_t n, bool distinct)
{
	static uint64_t ips[MPF_STACK_MAX];
	struct mpf_record rec = { .type = MPF_REC_STACK };
	struct gen g;

	stacks_open(&g, out);
	for (uint32_t k = 0; k < MPF_STACK_MAX; k++)
		ips[k] = 0x401000;
	for (uint32_t i = 1; i <= n; i++) {
		if (distinct)
			ips[MPF_STACK_MAX - 1] = 0x500000 + (uint64_t)i * 16;
		rec.stack = (struct mpf_stack){ .id = i, .nr = MPF_STACK_MAX, .ips = ips };
		gen_write(&g, &rec);
		if (i % 1000 == 1)
			w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x10000000 + (uint64_t)i * 64, 64, i);
	}
	gen_close(&g, true);
	return 0;
}

/*
 * n STACK_NODE records of 512 nodes from the root, all of one frame: a few
 * bytes of zstd per record, 512 nodes each in the model, which keeps them as
 * the trace gives them, so its budget must bound them.  A heap allocation
 * uses each 1000th stack.
 */
static int stack_nodes_trace(const char *out, uint32_t n)
{
	static uint32_t fids[MPF_STACK_MAX];
	struct mpf_record rec = { .type = MPF_REC_FRAME };
	struct gen g;

	stacks_open(&g, out);
	rec.frame = (struct mpf_frame){ .id = 1, .nr = 1, .ips = (const uint64_t[]){ 0x401000 } };
	gen_write(&g, &rec);
	for (uint32_t k = 0; k < MPF_STACK_MAX; k++)
		fids[k] = 1;
	rec.type = MPF_REC_STACK_NODE;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = 1 + i * MPF_STACK_MAX;

		rec.stack_node = (struct mpf_stack_node){ .id = id, .nr = MPF_STACK_MAX,
							  .frames = fids };
		gen_write(&g, &rec);
		if (i % 1000 == 0)
			w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x10000000 + (uint64_t)i * 64, 64,
				     id + MPF_STACK_MAX - 1);
	}
	gen_close(&g, true);
	return 0;
}

/* ---- --inflating-chunks ---- */

static int inflating_trace(const char *out, uint32_t n)
{
	const size_t raw_max = 60u << 20, plen = 60000;
	const size_t cap = MPF_CHUNK_HDR_SIZE + ZSTD_compressBound(raw_max);
	uint8_t *raw = calloc(1, raw_max), *chunk = malloc(cap);
	uint8_t hbuf[MPF_HEADER_SIZE], *p;
	FILE *f = fopen(out, "wb");

	if (!raw || !chunk || !f)
		die("cannot write", out, errno ? errno : ENOMEM);
	mpf_header__encode(&hdr, hbuf);
	fwrite(hbuf, 1, sizeof(hbuf), f);
	for (uint32_t c = 0; c <= n; c++) {
		uint32_t nrec = 0;

		p = raw;
		if (c == n) {
			/* The last chunk: END, of no counters. */
			p = rec_frame(p, MPF_REC_END, 0, 1);
			*p++ = 0;
			nrec = 1;
		}
		while (c < n && (size_t)(p - raw) + plen + 3 * MPF_VARINT_MAX <= raw_max) {
			p = rec_frame(p, MPF_REC__MAX + 100, 0, plen);
			memset(p, 0, plen);
			p += plen;
			nrec++;
		}
		fwrite(chunk, 1, chunk_encode(chunk, cap, raw, (size_t)(p - raw), nrec, true), f);
	}
	if (fclose(f))
		die("cannot write", out, errno);
	free(raw);
	free(chunk);
	return 0;
}

/* ---- --files ---- */

static int files_trace(const char *out, int n, char **paths)
{
	struct gen g;
	uint64_t ip;
	uint32_t id;

	gen_open(&g, out, out, 0);
	w_comm(&g, 1, 1, "hostile");
	for (int i = 0; i < n; i++) {
		uint64_t start = 0x400000 + (uint64_t)i * 0x100000;

		w_file(&g, (uint32_t)i + 1, paths[i], 20);
		w_map(&g, 1, (uint32_t)i + 1, start, start + 0x10000, 0);
		ip = start + 0x1234;
		id = gen_stack(&g, &ip, 1, 0);
		w_heap_alloc(&g, 1, MPF_HEAP_MALLOC, 0x10000000 + (uint64_t)i * 0x1000, 4096, id);
	}
	gen_close(&g, true);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--files"))
		return files_trace(argv[2], argc - 3, argv + 3);
	if (argc == 4 && !strcmp(argv[1], "--stack-nodes"))
		return stack_nodes_trace(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "--inflating-chunks"))
		return inflating_trace(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "--maps"))
		return maps_trace(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "--forks"))
		return forks_trace(argv[2], (uint32_t)strtoul(argv[3], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "--stacks"))
		return stacks_trace(argv[2], (uint32_t)strtoul(argv[3], NULL, 0), false);
	if (argc == 4 && !strcmp(argv[1], "--distinct-stacks"))
		return stacks_trace(argv[2], (uint32_t)strtoul(argv[3], NULL, 0), true);
	if (argc == 5 && !strcmp(argv[1], "--mutate"))
		return mutate(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: gen-corpus DIR\n"
				"       gen-corpus --files OUT PATH...\n"
				"       gen-corpus --mutate IN OUT SEED\n"
				"       gen-corpus --maps|--forks OUT N\n"
				"       gen-corpus --stacks|--distinct-stacks|--stack-nodes OUT N\n"
				"       gen-corpus --inflating-chunks OUT N\n");
		return 1;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST)
		die("cannot create", dir, errno);

	sample("sample", 0, true);
	sample("sample-chunks", 200, true);
	sample("sample-no-end", 0, false);
	for (uint32_t t = MPF_REC_INFO; t < MPF_REC__MAX; t++) {
		char name[64];

		if (t == MPF_REC_END)	/* in all of them */
			continue;
		snprintf(name, sizeof(name), "type-%s", mpf_rec_name(t));
		one_type(name, t);
	}
	nonsense();
	nonsense_nodes();
	crafted();
	mutations();
	archives();
	bomb_archives();
	{
		char path[4096];

		/*
		 * The shapes of the inputs that took report's memory: a million
		 * frames in 314 bytes (8 MB of stack table before its bound), and
		 * 400 different stacks.  Small, to keep fuzzing fast: t0210 makes
		 * the large ones (537 MB, 400 MB), and fuzzing builds have a
		 * smaller bound, which the second goes past.
		 */
		path_of(path, sizeof(path), "stacks-repeated");
		stacks_trace(path, 2000, false);
		path_of(path, sizeof(path), "stacks-distinct");
		stacks_trace(path, 400, true);
		path_of(path, sizeof(path), "stack-nodes-many");
		stack_nodes_trace(path, 400);
	}
	return 0;
}
