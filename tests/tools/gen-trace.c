/*
 * gen-trace: writes a synthetic memprof trace with known figures, for
 * checking `memprof report` before (and besides) traces recorded for real.
 *
 * The profiled program is gen-trace itself: its stacks are real return
 * addresses taken with backtrace(3) inside the functions below, its MAP and
 * FILE records come from /proc/self/maps with the file's real build-id, so
 * report symbolizes them offline exactly as it would a recorded trace.  So
 * that no output depends on the machine, only gen-trace's own file is
 * recorded (not libc, ld.so or the libraries it links, which differ from one
 * system to the next) and each stack ends at main, the last frame inside
 * gen-trace before libc's start code; pids, names, times (one microsecond
 * per event, from a fixed start) and every made-up address are fixed, and
 * FILE and MAP records take no time, as their number depends on the linker.
 * The events are made up; the expected report is listed at the end of this
 * comment.  `make build/gen-trace` builds it (it is not part of `make`).
 *
 * usage: gen-trace [-o FILE] [--mismatch] [--missing] [--undefined] [--lost]
 *                  [--no-end] [--exe PATH] [--chunk N] [--heap-only]
 *                  [--scale N]
 *   --mismatch   record a wrong build-id for gen-trace itself
 *   --missing    add a frame in /nonexistent/libgone.so.1 (64 KiB live, heap)
 *   --undefined  add a heap event using a stack id never defined (20000 bytes)
 *   --lost       add LOST records (12 heap events, 3 page events)
 *   --no-end     leave out the END record
 *   --exe PATH   record PATH as gen-trace's file (e.g. a copy without .symtab)
 *   --chunk N    chunks of N bytes (uncompressed), to cut a trace between chunks
 *   --heap-only  record heap events only (no page records, header says heap)
 *   --scale N    add N heap allocations by leak_fn in leaky [1000] (8 bytes each,
 *                every other one freed) and N order-0 pages by page_fn (likewise),
 *                for timing the report on big traces
 *
 * Every stack is main and the function named, with its process above it:
 * `leaky [1000]`, `main`, `leak_fn`.
 *
 * Expected, heap, live (bytes):
 *   leaky [1000]   leak_fn 409600, realloc_fn 300000, small_fn 1000 (10 x 100),
 *                  freed_fn 0 (alloc 409600), deep_fn 4096 under [incomplete]
 *                  (the unwinder "gave up"), probe_fn 8192 (an address mapped
 *                  after the fork)
 *   exiter [1001]  forked from 1000, no maps of its own: child_fn 614400, and
 *                  4096 at the post-fork address, which it must not resolve
 *                  ([unknown] 0x1000XXXX)
 *   first [1003]   leak_fn 65536; then pid 1003 is reused by second [1003]:
 *                  leak_fn 131072
 *   sh [1004]      leak_fn 32768 before exec; leaky2 [1004] leak_fn 49152 after,
 *                  with gen-trace mapped elsewhere and the old range anonymous
 * Expected, page, live (bytes):
 *   leaky [1000]   page_fn 73728 (alloc 98304: 8 x order 0, 4 x order 2; one
 *                  order-2 freed whole, one freed by half)
 *   exiter [1001]  touch_fn 32768 (10 pages, 2 freed before exit; 3 freed with
 *                  the exiting flag and 2 after the EXIT record do not count;
 *                  alloc 40960); the stack's first ip is touch_fn's first
 *                  instruction, exact
 *   kthreadd [2]   [unknown] 12288 (no stack)
 */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <getopt.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/mpf.h"

#define NOINLINE __attribute__((noinline))
#define MAX_FILES 64
#define FRAMES 64
#define SHIFT (1ULL << 32)	/* where leaky2 maps gen-trace, from where sh had it */

static struct mpf_writer *w;
static uint64_t now = 1000000000ULL;

struct stack {
	uint64_t ips[FRAMES];
	uint32_t nr;
};

/* The stacks each function takes of itself, innermost first. */
static struct stack st_leak, st_freed, st_realloc, st_small, st_deep, st_child, st_page,
	st_touch, st_probe;

static void die(const char *what, int err)
{
	fprintf(stderr, "gen-trace: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void put(struct mpf_record *rec)
{
	int err;

	rec->time = now;
	/*
	 * Events and the process records are a microsecond apart.  FILE and MAP
	 * take no time: how many there are depends on how gen-trace was linked,
	 * and the times of the events after them must not.
	 */
	if (rec->type != MPF_REC_FILE && rec->type != MPF_REC_MAP)
		now += 1000;
	err = mpf_writer__write(w, rec);
	if (err)
		die("write", err);
}

static uint32_t stack_id(const struct stack *s, uint32_t flags)
{
	uint32_t id;
	int err = mpf_writer__stack(w, now, flags, s->ips, s->nr, &id);

	if (err)
		die("stack", err);
	return id;
}

/* The stack of the caller of capture(): backtrace's first frame is capture itself. */
static NOINLINE void capture(struct stack *s)
{
	void *bt[FRAMES + 1];
	int n = backtrace(bt, FRAMES + 1);

	s->nr = 0;
	for (int i = 1; i < n; i++)
		s->ips[s->nr++] = (uint64_t)(uintptr_t)bt[i];
}

NOINLINE void leak_fn(void) { capture(&st_leak); }
NOINLINE void freed_fn(void) { capture(&st_freed); }
NOINLINE void realloc_fn(void) { capture(&st_realloc); }
NOINLINE void small_fn(void) { capture(&st_small); }
NOINLINE void child_fn(void) { capture(&st_child); }
NOINLINE void page_fn(void) { capture(&st_page); }
NOINLINE void probe_fn(void) { capture(&st_probe); }
NOINLINE void touch_fn(void) { capture(&st_touch); }
NOINLINE void deep_fn(void) { capture(&st_deep); }

/* ---- records ---- */

static void comm(uint32_t pid, const char *name)
{
	struct mpf_record r = { .type = MPF_REC_COMM };

	r.comm.pid = r.comm.tid = pid;
	snprintf(r.comm.comm, sizeof(r.comm.comm), "%s", name);
	put(&r);
}

static void fork_rec(uint32_t ppid, uint32_t pid)
{
	struct mpf_record r = { .type = MPF_REC_FORK, .fork = { .ppid = ppid, .pid = pid } };

	put(&r);
}

static void exec_rec(uint32_t pid, const char *filename)
{
	struct mpf_record r = { .type = MPF_REC_EXEC };

	r.exec.pid = pid;
	r.exec.filename = filename;
	put(&r);
}

static void exit_rec(uint32_t pid)
{
	struct mpf_record r = { .type = MPF_REC_EXIT, .exit = { .pid = pid } };

	put(&r);
}

static void file_rec(uint32_t id, const char *path, const uint8_t *bid, uint32_t len)
{
	struct mpf_record r = { .type = MPF_REC_FILE };

	r.file.id = id;
	r.file.path = path;
	r.file.build_id_len = len;
	memcpy(r.file.build_id, bid, len);
	put(&r);
}

static void map_rec(uint32_t pid, uint32_t file_id, uint64_t start, uint64_t end, uint64_t pgoff)
{
	struct mpf_record r = { .type = MPF_REC_MAP };

	r.map = (struct mpf_map){
		.pid = pid,
		.file_id = file_id,
		.prot = MPF_PROT_READ | MPF_PROT_EXEC,
		.start = start,
		.end = end,
		.pgoff = pgoff,
	};
	put(&r);
}

static uint64_t next_ptr = 0x5500000000ULL;

static uint64_t heap_alloc(uint32_t pid, uint32_t stack, uint64_t size)
{
	struct mpf_record r = { .type = MPF_REC_HEAP_ALLOC };

	r.heap_alloc = (struct mpf_heap_alloc){ .pid = pid, .tid = pid, .stack_id = stack,
						.ptr = next_ptr, .size = size };
	next_ptr += 0x10000;
	put(&r);
	return r.heap_alloc.ptr;
}

static void heap_free(uint32_t pid, uint64_t ptr)
{
	struct mpf_record r = { .type = MPF_REC_HEAP_FREE };

	r.heap_free = (struct mpf_heap_free){ .pid = pid, .tid = pid, .ptr = ptr };
	put(&r);
}

static uint64_t heap_realloc(uint32_t pid, uint32_t stack, uint64_t old, uint64_t ptr,
			     uint64_t size)
{
	struct mpf_record r = { .type = MPF_REC_HEAP_REALLOC };

	r.heap_realloc = (struct mpf_heap_realloc){ .pid = pid, .tid = pid, .stack_id = stack,
						    .old_ptr = old, .ptr = ptr, .size = size };
	put(&r);
	return ptr;
}

static uint64_t next_page = 0x40000000ULL;
static bool heap_only;

static uint64_t page_alloc(uint32_t pid, uint32_t stack, uint32_t order)
{
	struct mpf_record r = { .type = MPF_REC_PAGE_ALLOC };

	if (heap_only)
		return 0;
	r.page_alloc = (struct mpf_page_alloc){ .pid = pid, .tid = pid, .order = order,
						.page = next_page, .stack_id = stack };
	next_page += 1024;
	put(&r);
	return r.page_alloc.page;
}

static void page_free(uint32_t pid, uint64_t head, uint32_t order, uint32_t flags)
{
	struct mpf_record r = { .type = MPF_REC_PAGE_FREE };

	if (heap_only)
		return;
	r.page_free = (struct mpf_page_free){ .pid = pid, .order = order, .flags = flags,
					      .page = head, .head = head };
	put(&r);
}

static void lost(uint32_t ev, uint64_t count)
{
	struct mpf_record r = { .type = MPF_REC_LOST, .lost = { .event = ev, .count = count } };

	put(&r);
}

/* ---- this process's maps ---- */

struct file {
	char path[MPF_PATH_MAX];
	uint8_t bid[MPF_BUILD_ID_MAX];
	uint32_t bid_len;
};

static struct file files[MAX_FILES];
static uint32_t nfiles;
static char self_path[MPF_PATH_MAX];

static void build_id(const char *path, struct file *f)
{
	int fd = open(path, O_RDONLY);
	const void *id;
	Elf *elf;
	ssize_t n;

	f->bid_len = 0;
	if (fd < 0)
		return;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	if (n > 0 && n <= MPF_BUILD_ID_MAX) {
		memcpy(f->bid, id, (size_t)n);
		f->bid_len = (uint32_t)n;
	}
	elf_end(elf);
	close(fd);
}

static uint32_t file_id(const char *path)
{
	for (uint32_t i = 0; i < nfiles; i++)
		if (!strcmp(files[i].path, path))
			return i + 1;
	if (nfiles == MAX_FILES)
		die("too many files", E2BIG);
	snprintf(files[nfiles].path, sizeof(files[nfiles].path), "%s", path);
	if (path[0] == '/')
		build_id(path, &files[nfiles]);
	return ++nfiles;
}

struct map {
	uint64_t start, end, pgoff;
	uint32_t file;
};

static struct map maps[256];
static unsigned int nmaps;

/* gen-trace's own mappings: the libraries' differ between machines, and no stack needs them. */
static void read_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[MPF_PATH_MAX + 128];

	if (!f)
		die("/proc/self/maps", errno);
	while (fgets(line, sizeof(line), f) && nmaps < 256) {
		unsigned long long start, end, off;
		char perms[8], path[MPF_PATH_MAX] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %4095[^\n]", &start, &end, perms, &off,
			   path) < 5 ||
		    strcmp(path, self_path))
			continue;
		maps[nmaps++] = (struct map){
			.start = start,
			.end = end,
			.pgoff = off,
			.file = file_id(path),
		};
	}
	fclose(f);
}

/* The map of this process holding addr, NULL if none of gen-trace's does. */
static const struct map *find_map(uint64_t addr)
{
	for (unsigned int i = 0; i < nmaps; i++)
		if (addr >= maps[i].start && addr < maps[i].end)
			return &maps[i];
	return NULL;
}

static const struct map *map_of(uint64_t addr)
{
	const struct map *m = find_map(addr);

	if (!m)
		die("address not mapped", EFAULT);
	return m;
}

/*
 * Ends s at its last frame in gen-trace, main: the frames outside (libc's
 * start code) and what follows them change with the system's libc.
 */
static void own_frames(struct stack *s)
{
	uint32_t i;

	for (i = 0; i < s->nr && find_map(s->ips[i]); i++)
		;
	s->nr = i;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mismatch", no_argument, NULL, 'M' },
		{ "missing", no_argument, NULL, 'm' },
		{ "undefined", no_argument, NULL, 'u' },
		{ "lost", no_argument, NULL, 'l' },
		{ "no-end", no_argument, NULL, 'n' },
		{ "exe", required_argument, NULL, 'e' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "scale", required_argument, NULL, 's' },
		{ "heap-only", no_argument, NULL, 'H' },
		{}
	};
	bool mismatch = false, missing = false, undefined = false, lose = false, end = true;
	const char *out = "memprof.data", *exe = NULL;
	struct mpf_writer_opts wopts = { 0 };
	unsigned long long scale = 0;
	struct mpf_header hdr = {
		.version_major = MPF_VERSION_MAJOR,
		.version_minor = MPF_VERSION_MINOR,
		.page_size = 4096,
		.start_time = now,
		.start_realtime = 1700000000000000000ULL,
		.events = 1u << MPF_EV_PAGE | 1u << MPF_EV_HEAP,
	};
	uint32_t self, s_leak, s_freed, s_realloc, s_small, s_deep, s_child, s_page, s_touch,
		s_probe, s_probe_child;
	uint64_t p, q, pages[10], big[4], ptrs[50];
	struct stack probe, shifted, *all[] = { &st_leak, &st_freed, &st_realloc, &st_small,
						&st_deep, &st_child, &st_page, &st_touch,
						&st_probe };
	const struct map *text;
	int c, err;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'M': mismatch = true; break;
		case 'm': missing = true; break;
		case 'u': undefined = true; break;
		case 'l': lose = true; break;
		case 'n': end = false; break;
		case 'e': exe = optarg; break;
		case 'c': wopts.chunk_size = strtoul(optarg, NULL, 0); break;
		case 'H': heap_only = true; break;
		case 's': scale = strtoull(optarg, NULL, 0); break;
		default: return 2;
		}
	}

	leak_fn();
	freed_fn();
	realloc_fn();
	small_fn();
	child_fn();
	page_fn();
	probe_fn();
	touch_fn();
	deep_fn();

	elf_version(EV_CURRENT);
	if (readlink("/proc/self/exe", self_path, sizeof(self_path) - 1) < 0)
		die("/proc/self/exe", errno);
	read_maps();
	self = file_id(self_path);
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		own_frames(all[i]);
	/* The exact pc of a fault at touch_fn's first instruction: only exact lookup names it. */
	st_touch.ips[0] = (uint64_t)(uintptr_t)&touch_fn;
	/* Keep two frames: the unwinder "gave up" there. */
	st_deep.nr = 2;

	if (heap_only)
		hdr.events = 1u << MPF_EV_HEAP;
	w = mpf_writer__open(out, &hdr, &wopts);
	if (!w)
		die(out, errno);

	{
		struct mpf_record r = { .type = MPF_REC_INFO, .info = { "cmdline", "gen-trace" } };

		put(&r);
	}
	for (uint32_t i = 0; i < nfiles; i++) {
		struct file f = files[i];
		const char *path = f.path;

		if (i + 1 == self && exe)
			path = exe;
		if (i + 1 == self && mismatch)
			f.bid[0] ^= 0xff;
		file_rec(i + 1, path, f.bid, f.bid_len);
	}

	/* leaky [1000] */
	comm(1000, "leaky");
	for (unsigned int i = 0; i < nmaps; i++)
		map_rec(1000, maps[i].file, maps[i].start, maps[i].end, maps[i].pgoff);
	s_leak = stack_id(&st_leak, 0);
	s_freed = stack_id(&st_freed, 0);
	s_realloc = stack_id(&st_realloc, 0);
	s_small = stack_id(&st_small, 0);
	s_deep = stack_id(&st_deep, MPF_STACK_TRUNCATED);
	s_page = stack_id(&st_page, 0);
	for (int i = 0; i < 100; i++)
		heap_alloc(1000, s_leak, 4096);
	for (int i = 0; i < 50; i++)
		ptrs[i] = heap_alloc(1000, s_freed, 8192);
	for (int i = 0; i < 50; i++)
		heap_free(1000, ptrs[i]);
	p = heap_realloc(1000, s_realloc, 0, 0x6600000000ULL, 1000);
	p = heap_realloc(1000, s_realloc, p, 0x6600001000ULL, 5000);
	p = heap_realloc(1000, s_realloc, p, 0x6600100000ULL, 300000);
	heap_realloc(1000, s_realloc, p, 0, 1ULL << 40);	/* fails: p stays */
	for (int i = 0; i < 10; i++)
		heap_alloc(1000, s_small, 100);
	heap_alloc(1000, s_deep, 4096);
	heap_free(1000, 0x7777777000ULL);	/* never allocated: ignored */
	for (int i = 0; i < 8; i++)
		page_alloc(1000, s_page, 0);
	for (int i = 0; i < 4; i++)
		big[i] = page_alloc(1000, s_page, 2);
	page_free(1000, big[0], 2, 0);
	page_free(1000, big[1], 1, 0);
	page_free(1000, 0x123456, 0, 0);	/* never allocated: ignored */

	/* exiter [1001]: forked, no maps of its own */
	fork_rec(1000, 1001);
	comm(1001, "exiter");
	/*
	 * After the fork the parent maps gen-trace's text again at 0x10000000;
	 * probe_fn's address there is named in the parent, unmapped in the child.
	 */
	text = map_of(st_probe.ips[0]);
	map_rec(1000, self, 0x10000000ULL, 0x10000000ULL + (text->end - text->start), text->pgoff);
	probe = st_probe;
	probe.ips[0] = 0x10000000ULL + (st_probe.ips[0] - text->start);
	s_probe = stack_id(&probe, 0);
	heap_alloc(1000, s_probe, 8192);
	s_probe_child = stack_id(&probe, 0);	/* the same stack, in the child */
	heap_alloc(1001, s_probe_child, 4096);
	s_child = stack_id(&st_child, 0);
	s_touch = stack_id(&st_touch, MPF_STACK_FIRST_IS_IP);
	for (int i = 0; i < 300; i++)
		heap_alloc(1001, s_child, 2048);
	for (int i = 0; i < 10; i++)
		pages[i] = page_alloc(1001, s_touch, 0);
	page_free(1001, pages[0], 0, 0);
	page_free(1001, pages[1], 0, 0);
	for (int i = 2; i < 5; i++)
		page_free(1001, pages[i], 0, MPF_PAGE_FREE_EXITING);
	exit_rec(1001);
	page_free(1001, pages[5], 0, 0);
	page_free(1001, pages[6], 0, 0);

	/* kthreadd [2]: pages without a user stack */
	comm(2, "kthreadd");
	for (int i = 0; i < 3; i++)
		page_alloc(2, 0, 0);

	/* pid 1003 used twice */
	fork_rec(1000, 1003);
	comm(1003, "first");
	heap_alloc(1003, s_leak, 65536);
	exit_rec(1003);
	fork_rec(1000, 1003);
	comm(1003, "second");
	q = heap_alloc(1003, s_leak, 131072);
	heap_free(1003, q - 0x10000 * 1);	/* first's block: not second's to free */

	/* sh [1004] execs leaky2 */
	comm(1004, "sh");
	for (unsigned int i = 0; i < nmaps; i++)
		map_rec(1004, maps[i].file, maps[i].start, maps[i].end, maps[i].pgoff);
	heap_alloc(1004, s_leak, 32768);
	exec_rec(1004, "/usr/bin/leaky2");
	map_rec(1004, 0, text->start, text->end, 0);
	for (unsigned int i = 0; i < nmaps; i++)
		map_rec(1004, maps[i].file, maps[i].start + SHIFT, maps[i].end + SHIFT, maps[i].pgoff);
	shifted = st_leak;
	for (uint32_t i = 0; i < shifted.nr; i++)
		shifted.ips[i] += SHIFT;
	heap_alloc(1004, stack_id(&shifted, 0), 49152);

	if (missing) {
		static const uint8_t gone[20] = { 0xde, 0xad, 0xbe, 0xef };
		struct stack s = st_leak;

		file_rec(nfiles + 1, "/nonexistent/libgone.so.1", gone, sizeof(gone));
		map_rec(1000, nfiles + 1, 0x20000000ULL, 0x20010000ULL, 0);
		s.ips[0] = 0x20000123ULL;
		heap_alloc(1000, stack_id(&s, 0), 65536);
	}
	if (undefined)
		heap_alloc(1000, 99999, 20000);
	for (unsigned long long i = 0; i < scale; i++) {
		p = heap_alloc(1000, s_leak, 8);
		q = page_alloc(1000, s_page, 0);
		if (i & 1) {
			heap_free(1000, p);
			page_free(1000, q, 0, 0);
		}
	}
	if (lose) {
		lost(MPF_EV_HEAP, 12);
		lost(MPF_EV_PAGE, 3);
	}
	if (end) {
		struct mpf_record r = { .type = MPF_REC_END };
		struct mpf_writer_stats st;

		mpf_writer__stats(w, &st);
		r.end.events[MPF_EV_HEAP] = st.records[MPF_REC_HEAP_ALLOC] +
					    st.records[MPF_REC_HEAP_FREE] +
					    st.records[MPF_REC_HEAP_REALLOC];
		r.end.events[MPF_EV_PAGE] = st.records[MPF_REC_PAGE_ALLOC] +
					    st.records[MPF_REC_PAGE_FREE];
		if (lose) {
			r.end.lost[MPF_EV_HEAP] = 12;
			r.end.lost[MPF_EV_PAGE] = 3;
		}
		put(&r);
	}
	err = mpf_writer__close(w);
	if (err)
		die("close", err);
	return 0;
}
