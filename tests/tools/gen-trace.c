/*
 * gen-trace: writes a synthetic memprof trace with known figures, for
 * checking `memprof report` before (and besides) traces recorded for real,
 * and for the golden suite (tests/golden/), whose expected outputs must be
 * the same on any machine and in any run.
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
 * usage: gen-trace [-o FILE] [-e LIST] [--mismatch] [--missing] [--undefined]
 *                  [--lost] [--no-end] [--exe PATH] [--chunk N] [--heap-only]
 *                  [--scale N] [--threads] [--runtime] [--to-cache] [--shared]
 *                  [--print-self]
 *   -e, --events LIST  the event types to write, comma separated, of page, heap,
 *                cache, mmap and rss (default: all); the header says the same
 *   --mismatch   record a wrong build-id for gen-trace itself
 *   --missing    add a frame in /nonexistent/libgone.so.1 (64 KiB live, heap)
 *   --undefined  add a heap event using a stack id never defined (20000 bytes)
 *   --lost       add LOST records (12 heap events, 3 page events, 2 process events)
 *                and the recorder's count of stack walks: 10 of 100 incomplete
 *   --no-end     leave out the END record
 *   --exe PATH   record PATH as gen-trace's file (e.g. a copy without .symtab)
 *   --chunk N    chunks of N bytes (uncompressed), to cut a trace between chunks
 *   --heap-only  the same as -e heap
 *   --scale N    add N heap allocations by leak_fn in leaky [1000] (8 bytes each,
 *                every other one freed) and N order-0 pages by page_fn (likewise),
 *                for timing the report on big traces
 *   --threads    add a thread of leaky [1000], worker (tid 1010, named by its COMM):
 *                5 x 16384 bytes of heap by leak_fn, live
 *   --runtime    add /nonexistent/libstdc++.so.6 to leaky [1000], and 72704 bytes
 *                allocated from it alone, as libstdc++'s emergency exception pool
 *                is (the stack incomplete after its frame), never freed
 *   --to-cache   add 2 order-0 pages of leaky [1000] by page_fn that then become
 *                page cache (added by cache_fn): they leave its pages for the cache
 *   --shared     add RSS samples of exiter [1001] (forked, never exec'd: it shares
 *                its parent's pages) of 4 MiB: left out of the summed RSS
 *   --print-self print the build-id and the path gen-trace records for itself
 *                (BUILD-ID PATH, as buildid-list prints them), write no trace: the
 *                machine-dependent strings the golden suite's filters replace
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
 *                  4096 at the post-fork address, outside every mapping it
 *                  has, where its stack ends ([incomplete]); exits with 3
 *   first [1003]   leak_fn 65536, killed by signal 9; then pid 1003 is reused by
 *                  second [1003]: leak_fn 131072
 *   sh [1004]      leak_fn 32768 before exec; leaky2 [1004] leak_fn 49152 after,
 *                  with gen-trace mapped elsewhere and the old range anonymous;
 *                  exec'd as `leaky2 --golden`, killed by signal 6, core dumped;
 *                  the exec renames the task leaky2 (a COMM record) before its
 *                  EXEC record, as the kernel does: sh keeps its name
 *   héllo [1005]   (UTF-8, its COMM) forked from 1000, exec'd as
 *                  `héllo --greet two<newline>lines`: hello_fn 3000 (3 calloc of
 *                  1000), temp_fn 0 (alloc 1536: 3 x 512, each freed at once, so
 *                  temporary); exits with 0
 *   temporary:     temp_fn 1536 (3), freed_fn 8192 (1: the last block only, freed
 *                  before its thread allocated again), realloc_fn 6000 (2: the
 *                  blocks realloc moved)
 * Expected, page, live (bytes):
 *   leaky [1000]   page_fn 73728 (alloc 98304: 8 x order 0, 4 x order 2; one
 *                  order-2 freed whole, one freed by half), and 4096 under
 *                  page_fn's [kernel] (a page table: no __GFP_MOVABLE)
 *   exiter [1001]  touch_fn 32768 (10 pages, 2 freed before exit; 3 freed with
 *                  the exiting flag and 2 after the EXIT record do not count;
 *                  alloc 40960); the stack's first ip is touch_fn's first
 *                  instruction, exact
 *   kthreadd [2]   [unknown] [kernel] 12288 (no stack, kernel pages)
 * Expected, cache, live (bytes):
 *   héllo [1005]   cache_fn 28672 (alloc 32768: 4 pages and one order-2 folio of
 *                  inode 1234 on 8:1; kswapd0 [3] deletes one page)
 * Expected, mmap, live (bytes):
 *   héllo [1005]   map_fn 983040 (an mmap of 1 MiB, moved by an mremap, 64 KiB
 *                  of it unmapped), grow_fn 1048576 (what the mremap grew by),
 *                  brk_fn 131072 (the break up 132 KiB, then down 4 KiB); alloc
 *                  map_fn 1048576, grow_fn 1048576, brk_fn 135168; 3 calls map
 * Expected, rss (samples): leaky [1000] 3 MiB then 4160 KiB (peak 4608 KiB);
 *   héllo [1005] 768 KiB then 2560 KiB (peak 3072 KiB), gone at its exit.
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

/* gfp flags of a user page (GFP_HIGHUSER_MOVABLE) and of one the kernel keeps (GFP_KERNEL). */
#define GFP_USER_PAGE 0x100ccau
#define GFP_KERNEL_PAGE 0xcc0u

/* mmap(2) and mremap(2) flags, as the recorder passes them on. */
#define PROT_RW 0x3u
#define MAP_PRIVATE_ANON 0x22u
#define MREMAP_MAYMOVE 0x1u

static struct mpf_writer *w;
static uint64_t now = 1000000000ULL;
static uint32_t events = (1u << MPF_EV__MAX) - 1;	/* -e: the types written */

struct stack {
	uint64_t ips[FRAMES];
	uint32_t nr;
};

/* The stacks each function takes of itself, innermost first. */
static struct stack st_leak, st_freed, st_realloc, st_small, st_deep, st_child, st_page,
	st_touch, st_probe, st_hello, st_temp, st_cache, st_map, st_grow, st_brk;

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

static bool writes(unsigned int ev)
{
	return events & 1u << ev;
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
NOINLINE void hello_fn(void) { capture(&st_hello); }
NOINLINE void temp_fn(void) { capture(&st_temp); }
NOINLINE void cache_fn(void) { capture(&st_cache); }
NOINLINE void map_fn(void) { capture(&st_map); }
NOINLINE void grow_fn(void) { capture(&st_grow); }
NOINLINE void brk_fn(void) { capture(&st_brk); }

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

/* args: argv, each argument followed by its NUL, args_len bytes in all. */
static void exec_rec(uint32_t pid, const char *filename, const char *args, uint32_t args_len)
{
	struct mpf_record r = { .type = MPF_REC_EXEC };

	r.exec.pid = pid;
	r.exec.filename = filename;
	r.exec.args = args;
	r.exec.args_len = args_len;
	put(&r);
}

/* status: as wait(2) gives it (768 for exit(3), 9 for SIGKILL, 0x80 | sig for a core). */
static void exit_rec(uint32_t pid, int32_t status)
{
	struct mpf_record r = { .type = MPF_REC_EXIT, .exit = { .pid = pid, .status = status } };

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

static uint64_t heap_alloc_fn(uint32_t pid, uint32_t stack, uint64_t size, uint32_t func)
{
	struct mpf_record r = { .type = MPF_REC_HEAP_ALLOC };

	r.heap_alloc = (struct mpf_heap_alloc){ .pid = pid, .tid = pid, .func = func,
						.stack_id = stack, .ptr = next_ptr, .size = size };
	next_ptr += 0x10000;
	if (writes(MPF_EV_HEAP))
		put(&r);
	return r.heap_alloc.ptr;
}

static uint64_t heap_alloc(uint32_t pid, uint32_t stack, uint64_t size)
{
	return heap_alloc_fn(pid, stack, size, MPF_HEAP_MALLOC);
}

static void heap_free(uint32_t pid, uint64_t ptr)
{
	struct mpf_record r = { .type = MPF_REC_HEAP_FREE };

	r.heap_free = (struct mpf_heap_free){ .pid = pid, .tid = pid, .ptr = ptr };
	if (writes(MPF_EV_HEAP))
		put(&r);
}

static uint64_t heap_realloc(uint32_t pid, uint32_t stack, uint64_t old, uint64_t ptr,
			     uint64_t size)
{
	struct mpf_record r = { .type = MPF_REC_HEAP_REALLOC };

	r.heap_realloc = (struct mpf_heap_realloc){ .pid = pid, .tid = pid, .stack_id = stack,
						    .old_ptr = old, .ptr = ptr, .size = size };
	if (writes(MPF_EV_HEAP))
		put(&r);
	return ptr;
}

static uint64_t next_page = 0x40000000ULL;

static uint64_t page_alloc_gfp(uint32_t pid, uint32_t stack, uint32_t order, uint32_t gfp)
{
	struct mpf_record r = { .type = MPF_REC_PAGE_ALLOC };

	if (!writes(MPF_EV_PAGE))
		return 0;
	r.page_alloc = (struct mpf_page_alloc){ .pid = pid, .tid = pid, .order = order,
						.gfp = gfp, .page = next_page, .stack_id = stack };
	next_page += 1024;
	put(&r);
	return r.page_alloc.page;
}

static uint64_t page_alloc(uint32_t pid, uint32_t stack, uint32_t order)
{
	return page_alloc_gfp(pid, stack, order, GFP_USER_PAGE);
}

static void page_free(uint32_t pid, uint64_t head, uint32_t order, uint32_t flags)
{
	struct mpf_record r = { .type = MPF_REC_PAGE_FREE };

	if (!writes(MPF_EV_PAGE))
		return;
	r.page_free = (struct mpf_page_free){ .pid = pid, .order = order, .flags = flags,
					      .page = head, .head = head };
	put(&r);
}

/* The page cache's own page ids, apart from the pages': a page never both. */
static uint64_t next_cache_page = 0x48000000ULL;

static uint64_t cache_add(uint32_t pid, uint32_t stack, uint32_t order, uint64_t ino,
			  uint32_t dev, uint64_t index)
{
	struct mpf_record r = { .type = MPF_REC_CACHE_ADD };

	r.cache_add = (struct mpf_cache_add){ .pid = pid, .tid = pid, .order = order,
					      .stack_id = stack, .page = next_cache_page,
					      .ino = ino, .dev = dev, .index = index };
	next_cache_page += 1024;
	if (writes(MPF_EV_CACHE))
		put(&r);
	return r.cache_add.page;
}

static void cache_del(uint32_t pid, uint32_t order, uint64_t page)
{
	struct mpf_record r = { .type = MPF_REC_CACHE_DEL };

	r.cache_del = (struct mpf_cache_del){ .pid = pid, .order = order, .page = page };
	if (writes(MPF_EV_CACHE))
		put(&r);
}

static void vm_rec(const struct mpf_vm *vm)
{
	struct mpf_record r = { .type = MPF_REC_VM, .vm = *vm };

	if (writes(MPF_EV_MMAP))
		put(&r);
}

static void rss_rec(uint32_t pid, uint64_t anon, uint64_t file, uint64_t shmem, uint64_t hwm)
{
	struct mpf_record r = { .type = MPF_REC_RSS };

	r.rss = (struct mpf_rss){ .pid = pid, .anon = anon, .file = file, .shmem = shmem,
				  .hwm = hwm };
	if (writes(MPF_EV_RSS))
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

static uint32_t parse_events(const char *list)
{
	char buf[128], *tok, *save;
	uint32_t mask = 0;
	int ev;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		ev = mpf_event_parse(tok);
		if (ev < 0)
			die(tok, EINVAL);
		mask |= 1u << ev;
	}
	return mask;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'E' },
		{ "mismatch", no_argument, NULL, 'M' },
		{ "missing", no_argument, NULL, 'm' },
		{ "undefined", no_argument, NULL, 'u' },
		{ "lost", no_argument, NULL, 'l' },
		{ "no-end", no_argument, NULL, 'n' },
		{ "exe", required_argument, NULL, 'x' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "scale", required_argument, NULL, 's' },
		{ "heap-only", no_argument, NULL, 'H' },
		{ "print-self", no_argument, NULL, 'P' },
		{ "threads", no_argument, NULL, 'T' },
		{ "runtime", no_argument, NULL, 'R' },
		{ "to-cache", no_argument, NULL, 'C' },
		{ "shared", no_argument, NULL, 'S' },
		{}
	};
	/* héllo's argv: UTF-8, and a newline for the printers to make visible. */
	static const char hello_args[] = "h\xc3\xa9llo\0--greet\0two\nlines";
	static const char leaky2_args[] = "leaky2\0--golden";
	bool mismatch = false, missing = false, undefined = false, lose = false, end = true,
	     print_self = false, threads = false, runtime = false, to_cache = false,
	     shared = false;
	const char *out = "memprof.data", *exe = NULL;
	struct mpf_writer_opts wopts = { 0 };
	unsigned long long scale = 0;
	struct mpf_header hdr = {
		.version_major = MPF_VERSION_MAJOR,
		.version_minor = MPF_VERSION_MINOR,
		.page_size = 4096,
		.start_time = now,
		.start_realtime = 1700000000000000000ULL,
	};
	uint32_t self, s_leak, s_freed, s_realloc, s_small, s_deep, s_child, s_page, s_touch,
		s_probe, s_probe_child, s_hello, s_temp, s_cache, s_map, s_grow, s_brk;
	uint64_t p, q, pages[10], big[4], ptrs[50], cached[5];
	struct stack probe, shifted, *all[] = { &st_leak, &st_freed, &st_realloc, &st_small,
						&st_deep, &st_child, &st_page, &st_touch,
						&st_probe, &st_hello, &st_temp, &st_cache,
						&st_map, &st_grow, &st_brk };
	const struct map *text;
	int c, err;

	while ((c = getopt_long(argc, argv, "o:e:", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'e':
		case 'E': events = parse_events(optarg); break;
		case 'M': mismatch = true; break;
		case 'm': missing = true; break;
		case 'u': undefined = true; break;
		case 'l': lose = true; break;
		case 'n': end = false; break;
		case 'x': exe = optarg; break;
		case 'c': wopts.chunk_size = strtoul(optarg, NULL, 0); break;
		case 'H': events = 1u << MPF_EV_HEAP; break;
		case 's': scale = strtoull(optarg, NULL, 0); break;
		case 'P': print_self = true; break;
		case 'T': threads = true; break;
		case 'R': runtime = true; break;
		case 'C': to_cache = true; break;
		case 'S': shared = true; break;
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
	hello_fn();
	temp_fn();
	cache_fn();
	map_fn();
	grow_fn();
	brk_fn();

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
	if (print_self) {
		const struct file *f = &files[self - 1];

		for (uint32_t i = 0; i < f->bid_len; i++)
			printf("%02x", f->bid[i]);
		printf("%s %s\n", f->bid_len ? "" : "none", exe ? exe : self_path);
		return 0;
	}

	hdr.events = events;
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
	rss_rec(1000, 1 << 20, 2 << 20, 0, 3 << 20);
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
	page_alloc_gfp(1000, s_page, 0, GFP_KERNEL_PAGE);	/* a page table for page_fn */
	rss_rec(1000, 2 << 20, 2 << 20, 64 << 10, 4608 << 10);

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
	if (shared)
		rss_rec(1001, 2 << 20, 2 << 20, 0, 4 << 20);
	exit_rec(1001, 3 << 8);
	page_free(1001, pages[5], 0, 0);
	page_free(1001, pages[6], 0, 0);

	/* kthreadd [2]: pages without a user stack */
	comm(2, "kthreadd");
	for (int i = 0; i < 3; i++)
		page_alloc_gfp(2, 0, 0, GFP_KERNEL_PAGE);

	/* pid 1003 used twice */
	fork_rec(1000, 1003);
	comm(1003, "first");
	heap_alloc(1003, s_leak, 65536);
	exit_rec(1003, 9);
	fork_rec(1000, 1003);
	comm(1003, "second");
	q = heap_alloc(1003, s_leak, 131072);
	heap_free(1003, q - 0x10000 * 1);	/* first's block: not second's to free */

	/* sh [1004] execs leaky2 */
	comm(1004, "sh");
	for (unsigned int i = 0; i < nmaps; i++)
		map_rec(1004, maps[i].file, maps[i].start, maps[i].end, maps[i].pgoff);
	heap_alloc(1004, s_leak, 32768);
	comm(1004, "leaky2");	/* the kernel's rename during the exec, before its EXEC */
	exec_rec(1004, "/usr/bin/leaky2", leaky2_args, sizeof(leaky2_args));
	map_rec(1004, 0, text->start, text->end, 0);
	for (unsigned int i = 0; i < nmaps; i++)
		map_rec(1004, maps[i].file, maps[i].start + SHIFT, maps[i].end + SHIFT, maps[i].pgoff);
	shifted = st_leak;
	for (uint32_t i = 0; i < shifted.nr; i++)
		shifted.ips[i] += SHIFT;
	heap_alloc(1004, stack_id(&shifted, 0), 49152);
	exit_rec(1004, 0x80 | 6);

	/* héllo [1005]: a UTF-8 name, and the cache, mmap and rss events */
	fork_rec(1000, 1005);
	exec_rec(1005, "/usr/bin/h\xc3\xa9llo", hello_args, sizeof(hello_args));
	comm(1005, "h\xc3\xa9llo");
	for (unsigned int i = 0; i < nmaps; i++)
		map_rec(1005, maps[i].file, maps[i].start, maps[i].end, maps[i].pgoff);
	rss_rec(1005, 256 << 10, 512 << 10, 0, 768 << 10);
	s_hello = stack_id(&st_hello, 0);
	s_temp = stack_id(&st_temp, 0);
	s_cache = stack_id(&st_cache, 0);
	s_map = stack_id(&st_map, 0);
	s_grow = stack_id(&st_grow, 0);
	s_brk = stack_id(&st_brk, 0);
	for (int i = 0; i < 3; i++) {
		heap_alloc_fn(1005, s_hello, 1000, MPF_HEAP_CALLOC);
		heap_free(1005, heap_alloc(1005, s_temp, 512));
	}
	for (int i = 0; i < 4; i++)
		cached[i] = cache_add(1005, s_cache, 0, 1234, 8 << 20 | 1, i);
	cached[4] = cache_add(1005, s_cache, 2, 1234, 8 << 20 | 1, 4);
	comm(3, "kswapd0");
	cache_del(3, 0, cached[1]);
	vm_rec(&(struct mpf_vm){ .pid = 1005, .tid = 1005, .call = MPF_VM_MMAP, .stack_id = s_map,
				 .prot = PROT_RW, .flags = MAP_PRIVATE_ANON,
				 .addr = 0x7f0000000000ULL, .len = 1 << 20 });
	vm_rec(&(struct mpf_vm){ .pid = 1005, .tid = 1005, .call = MPF_VM_MREMAP,
				 .stack_id = s_grow, .flags = MREMAP_MAYMOVE,
				 .addr = 0x7f1000000000ULL, .len = 2 << 20,
				 .old_addr = 0x7f0000000000ULL, .old_len = 1 << 20 });
	vm_rec(&(struct mpf_vm){ .pid = 1005, .tid = 1005, .call = MPF_VM_MUNMAP, .stack_id = s_map,
				 .addr = 0x7f1000000000ULL, .len = 64 << 10 });
	vm_rec(&(struct mpf_vm){ .pid = 1005, .tid = 1005, .call = MPF_VM_BRK, .stack_id = s_brk,
				 .addr = 0x5600021000ULL, .old_addr = 0x5600000000ULL });
	vm_rec(&(struct mpf_vm){ .pid = 1005, .tid = 1005, .call = MPF_VM_BRK, .stack_id = s_brk,
				 .addr = 0x5600020000ULL, .old_addr = 0x5600021000ULL });
	rss_rec(1005, 2 << 20, 512 << 10, 0, 3 << 20);
	exit_rec(1005, 0);

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
	if (threads) {
		struct mpf_record r = { .type = MPF_REC_COMM };

		r.comm.pid = 1000;
		r.comm.tid = 1010;
		snprintf(r.comm.comm, sizeof(r.comm.comm), "worker");
		put(&r);
		for (int i = 0; i < 5; i++) {
			struct mpf_record h = { .type = MPF_REC_HEAP_ALLOC };

			h.heap_alloc = (struct mpf_heap_alloc){ .pid = 1000, .tid = 1010,
								.stack_id = s_leak, .ptr = next_ptr,
								.size = 16384 };
			next_ptr += 0x10000;
			if (writes(MPF_EV_HEAP))
				put(&h);
		}
	}
	if (to_cache) {
		for (int i = 0; i < 2; i++) {
			struct mpf_record r = { .type = MPF_REC_CACHE_ADD };

			r.cache_add = (struct mpf_cache_add){
				.pid = 1000, .tid = 1000, .order = 0, .stack_id = s_cache,
				.page = page_alloc(1000, s_page, 0), .ino = 99, .dev = 8 << 20 | 1,
			};
			if (writes(MPF_EV_CACHE) && writes(MPF_EV_PAGE))
				put(&r);
		}
	}
	if (runtime) {
		static const uint8_t cxx[20] = { 0xc0, 0xff, 0xee };
		struct stack s = { .ips = { 0x30000123ULL }, .nr = 1 };

		file_rec(nfiles + 2, "/nonexistent/libstdc++.so.6", cxx, sizeof(cxx));
		map_rec(1000, nfiles + 2, 0x30000000ULL, 0x30010000ULL, 0);
		heap_alloc(1000, stack_id(&s, MPF_STACK_TRUNCATED), 72704);
	}
	for (unsigned long long i = 0; i < scale; i++) {
		p = heap_alloc(1000, s_leak, 8);
		q = page_alloc(1000, s_page, 0);
		if (i & 1) {
			heap_free(1000, p);
			page_free(1000, q, 0, 0);
		}
	}
	if (lose) {
		struct mpf_record r = {
			.type = MPF_REC_INFO,
			.info = { MPF_INFO_STACKS,
				  "complete=90 no-table=6 depth=1 unreadable=2 bad-cfi=0 future=1" },
		};

		lost(MPF_EV_HEAP, 12);
		lost(MPF_EV_PAGE, 3);
		lost(MPF_LOST_PROC, 2);
		put(&r);
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
		r.end.events[MPF_EV_CACHE] = st.records[MPF_REC_CACHE_ADD] +
					     st.records[MPF_REC_CACHE_DEL];
		r.end.events[MPF_EV_MMAP] = st.records[MPF_REC_VM];
		r.end.events[MPF_EV_RSS] = st.records[MPF_REC_RSS];
		r.end.events[MPF_LOST_PROC] = st.records[MPF_REC_FORK] + st.records[MPF_REC_EXEC] +
					      st.records[MPF_REC_EXIT];
		if (lose) {
			r.end.lost[MPF_EV_HEAP] = 12;
			r.end.lost[MPF_EV_PAGE] = 3;
			r.end.lost[MPF_LOST_PROC] = 2;
		}
		put(&r);
	}
	err = mpf_writer__close(w);
	if (err)
		die("close", err);
	return 0;
}
