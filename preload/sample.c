/*
 * libmemprof-sample.so: `memprof record --heap-sample` in the launched
 * command itself.  record preloads it (LD_PRELOAD) with the mean interval in
 * MEMPROF_HEAP_SAMPLE; its malloc, free ... count the bytes each thread
 * allocates and call the real allocator (the next one: the C library's, or a
 * jemalloc or tcmalloc preloaded after it), at a few nanoseconds a call, no
 * trap.  An allocation is sampled when a point of a Poisson process over the
 * bytes falls in it (exponential gaps of the interval's mean, as tcmalloc,
 * jemalloc and heapprofd sample); only then, and at the free of a sampled
 * block, it calls a probe point, memprof_sample_alloc or memprof_sample_free:
 * a function whose first instruction is a 5-byte nop, where record puts a
 * uprobe (bpf/heap.bpf.c takes the stack there).  Kernels from 6.18 turn a
 * uprobe on such a nop into a call, cheaper than a trap.
 *
 * Built with frame pointers and without sibling calls: the probe's program
 * finds the caller of malloc through this library's frame.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bpf/memprof.h"

#define EXPORT __attribute__((visibility("default")))

/* The probe points, and C++'s operators by their mangled names. */
void memprof_sample_alloc(void *ptr, size_t size, unsigned int func);
void memprof_sample_free(void *ptr);
void *_Znwm(size_t n);
void *_Znam(size_t n);
void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt);
void *_ZnamRKSt9nothrow_t(size_t n, const void *nt);
void _ZdlPv(void *p);
void _ZdaPv(void *p);
void _ZdlPvm(void *p, size_t n);
void _ZdaPvm(void *p, size_t n);

/* The probe points: a 5-byte nop, then return.  Arguments as for any call. */
EXPORT __attribute__((naked, noinline, used)) void memprof_sample_alloc(void *ptr, size_t size,
									unsigned int func)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\tret\n");
}

EXPORT __attribute__((naked, noinline, used)) void memprof_sample_free(void *ptr)
{
	__asm__ volatile(".byte 0x0f, 0x1f, 0x44, 0x00, 0x00\n\tret\n");
}

/* The allocator this library stands in front of. */
static struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	void (*throw_bad_alloc)(void);
} next;

static uint64_t interval;	/* mean bytes between samples; 0: not sampling (yet) */
static int state;		/* 0: not initialised, 1: resolving the allocator, 2: ready */

/*
 * While dlsym() finds the allocator it may allocate itself: from here.  Its
 * blocks are never freed.
 */
static char boot[1 << 16] __attribute__((aligned(64)));
static size_t boot_used;

static bool in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(boot) - boot_used)
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

static void init(void)
{
	const char *v;

	if (state)
		return;
	state = 1;
	next.malloc = dlsym(RTLD_NEXT, "malloc");
	next.free = dlsym(RTLD_NEXT, "free");
	next.calloc = dlsym(RTLD_NEXT, "calloc");
	next.realloc = dlsym(RTLD_NEXT, "realloc");
	next.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	next.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	next.memalign = dlsym(RTLD_NEXT, "memalign");
	next.valloc = dlsym(RTLD_NEXT, "valloc");
	next.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
	v = getenv("MEMPROF_HEAP_SAMPLE");
	interval = v ? strtoull(v, NULL, 10) : 0;
	state = 2;
}

__attribute__((constructor)) static void sample_init(void)
{
	init();
}

/* ---- the sampler: per thread, no lock ---- */

static __thread int64_t left __attribute__((tls_model("initial-exec")));
static __thread uint64_t rng __attribute__((tls_model("initial-exec")));

/* A uniform draw in (0, 1], xorshift64* seeded per thread. */
static double uniform(void)
{
	if (!rng) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&left ^ ts.tv_sec;
		rng |= 1;
	}
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return ((rng * 0x2545f4914f6cdd1dull >> 11) + 1) * 0x1.0p-53;
}

static int64_t gap(void)
{
	return (int64_t)(-log(uniform()) * (double)interval) + 1;
}

/* Whether an allocation of n bytes is a sample: one memoryless draw per sample. */
static bool sampled(size_t n)
{
	if (!interval)
		return false;
	if (!rng)
		left = gap();
	left -= (int64_t)n;
	if (left >= 0)
		return false;
	left = gap();
	return true;
}

/*
 * ---- the sampled blocks still live ----
 *
 * An open-addressing table, read without a lock: a block's slot is within
 * PROBES of its hash, an insert takes an empty or freed slot there (by
 * compare-and-swap), and only the block's free writes its slot again.  A
 * sample with no slot near is dropped, counted.
 */
#define SLOTS_LOG	20
#define SLOTS		(1u << SLOTS_LOG)
#define PROBES		32
#define EMPTY		0
#define GONE		1

static uintptr_t *slots;
static size_t nlive;		/* sampled blocks in the table */
static size_t ndropped;

static size_t home(const void *p)
{
	return ((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull >> (64 - SLOTS_LOG);
}

static bool table(void)
{
	void *m;

	if (__atomic_load_n(&slots, __ATOMIC_ACQUIRE))
		return true;
	m = mmap(NULL, SLOTS * sizeof(*slots), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return false;
	if (!__atomic_compare_exchange_n(&slots, &(uintptr_t *){ NULL }, m, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		munmap(m, SLOTS * sizeof(*slots));
	return true;
}

static bool remember(void *p)
{
	size_t h = home(p);

	if (!table())
		return false;
	for (size_t i = 0; i < PROBES; i++) {
		uintptr_t *s = &slots[(h + i) & (SLOTS - 1)];
		uintptr_t v = __atomic_load_n(s, __ATOMIC_RELAXED);

		if ((v == EMPTY || v == GONE) &&
		    __atomic_compare_exchange_n(s, &v, (uintptr_t)p, false, __ATOMIC_RELEASE,
						__ATOMIC_RELAXED)) {
			__atomic_add_fetch(&nlive, 1, __ATOMIC_RELAXED);
			return true;
		}
	}
	__atomic_add_fetch(&ndropped, 1, __ATOMIC_RELAXED);
	return false;
}

/* Takes p out of the table: whether it was a sampled block. */
static bool forget(void *p)
{
	size_t h = home(p);

	if (!__atomic_load_n(&nlive, __ATOMIC_RELAXED))
		return false;
	for (size_t i = 0; i < PROBES; i++) {
		uintptr_t *s = &slots[(h + i) & (SLOTS - 1)];
		uintptr_t v = __atomic_load_n(s, __ATOMIC_ACQUIRE);

		if (v == EMPTY)
			return false;
		if (v == (uintptr_t)p) {
			__atomic_store_n(s, GONE, __ATOMIC_RELEASE);
			__atomic_sub_fetch(&nlive, 1, __ATOMIC_RELAXED);
			return true;
		}
	}
	return false;
}

/*
 * A block just allocated: a sample, or not.  Inlined, as the rest of the path
 * to the probe points: the frame they are called from is the function the
 * program called.
 */
#define INLINE inline __attribute__((always_inline))

static INLINE void *allocated(void *p, size_t n, unsigned int func)
{
	if (p && sampled(n) && remember(p))
		memprof_sample_alloc(p, n, func);
	return p;
}

static INLINE void freeing(void *p)
{
	if (p && forget(p))
		memprof_sample_free(p);
}

/* ---- the allocator's functions ---- */

static INLINE void *do_malloc(size_t n)
{
	if (state != 2) {
		init();
		if (state != 2)
			return boot_alloc(n);
	}
	return allocated(next.malloc(n), n, MP_MALLOC);
}

static INLINE void do_free(void *p)
{
	if (!p || in_boot(p))
		return;
	freeing(p);
	next.free(p);
}

EXPORT void *malloc(size_t n)
{
	return do_malloc(n);
}

EXPORT void free(void *p)
{
	do_free(p);
}

EXPORT void *calloc(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes))
		bytes = SIZE_MAX;
	if (state != 2) {
		init();
		if (state != 2)
			return boot_alloc(bytes);	/* zero: static storage, never reused */
	}
	return allocated(next.calloc(n, size), bytes, MP_CALLOC);
}

EXPORT void *realloc(void *old, size_t n)
{
	void *p;

	if (state != 2 || in_boot(old)) {
		init();
		p = state == 2 ? do_malloc(n) : boot_alloc(n);
		if (p && old)
			memcpy(p, old, n < (size_t)(boot + sizeof(boot) - (char *)old) ?
				       n : (size_t)(boot + sizeof(boot) - (char *)old));
		return p;
	}
	/* The old block's free first: once realloc returns, another thread may get it. */
	freeing(old);
	p = next.realloc(old, n);
	return allocated(p, n, MP_REALLOC);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	int err;

	init();
	err = next.posix_memalign(out, align, n);
	if (!err)
		allocated(*out, n, MP_POSIX_MEMALIGN);
	return err;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	init();
	return allocated(next.aligned_alloc(align, n), n, MP_ALIGNED_ALLOC);
}

EXPORT void *memalign(size_t align, size_t n)
{
	init();
	return allocated(next.memalign(align, n), n, MP_MEMALIGN);
}

EXPORT void *valloc(size_t n)
{
	init();
	return allocated(next.valloc(n), n, MP_VALLOC);
}

EXPORT void *pvalloc(size_t n)
{
	init();
	return allocated(next.pvalloc(n), n, MP_VALLOC);
}

/*
 * C++'s operators new and delete, which a C++ allocator (tcmalloc) may give
 * apart from its malloc: through the allocator's malloc and free here.  A
 * failed new throws std::bad_alloc, as the library's own would.
 */
static INLINE void *new_block(size_t n, bool nothrow)
{
	void *p = do_malloc(n ? n : 1);

	if (p || nothrow)
		return p;
	if (!next.throw_bad_alloc)
		next.throw_bad_alloc = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
	if (next.throw_bad_alloc)
		next.throw_bad_alloc();
	abort();
}

EXPORT void *_Znwm(size_t n)
{
	return new_block(n, false);
}

EXPORT void *_Znam(size_t n)
{
	return new_block(n, false);
}

EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
	return new_block(n, true);
}

EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
	return new_block(n, true);
}

EXPORT void _ZdlPv(void *p)
{
	do_free(p);
}

EXPORT void _ZdaPv(void *p)
{
	do_free(p);
}

EXPORT void _ZdlPvm(void *p, size_t n)
{
	do_free(p);
}

EXPORT void _ZdaPvm(void *p, size_t n)
{
	do_free(p);
}
