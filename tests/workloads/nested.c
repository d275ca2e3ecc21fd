/*
 * nested: an allocator of the program's own whose functions call each other,
 * as some allocators' do: calloc calls malloc, realloc calls malloc and free,
 * aligned_alloc calls memalign.  Each call must count once, as the outermost
 * function's, with the nested calls inside it not counted at all.  Requested
 * sizes in bytes (stacks main -> fn):
 *
 *   function          calls                              allocated  live at exit
 *   leak_calloc       100 x calloc(10, 100)                 100000        100000
 *   leak_realloc      50 x realloc(NULL, 1000)               50000         50000
 *   grow_realloc      20 x malloc(100), realloc(p, 5000)    102000        100000
 *   leak_aligned      10 x aligned_alloc(64, 640)             6400          6400
 *   freed_calloc      30 x calloc(1, 2000), all freed        60000             0
 *
 * 180 blocks live at exit.  Heap events: 210 allocations (calloc, malloc,
 * realloc(NULL), aligned_alloc), 20 reallocs (grow_realloc's, which free its
 * mallocs' blocks) and 30 frees (freed_calloc's).
 *
 * The allocator hands out blocks from a region of its own and never reuses
 * them; it defines every function of the malloc family, so that the C
 * library's allocator is never called.  The program prints nothing.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline, used))
#define ARENA (64u << 20)

static char *arena, *next;

struct hdr {
	size_t size;
	size_t pad;
};

/* A block of size bytes at an address aligned to align (a power of two, 16 or more). */
static void *carve(size_t size, size_t align)
{
	uintptr_t p;

	if (!arena) {
		arena = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (arena == MAP_FAILED)
			return NULL;
		next = arena;
	}
	p = ((uintptr_t)next + sizeof(struct hdr) + align - 1) & ~(uintptr_t)(align - 1);
	if (size > ARENA || p + size > (uintptr_t)arena + ARENA) {
		errno = ENOMEM;
		return NULL;
	}
	((struct hdr *)p)[-1].size = size;
	next = (char *)(p + size);
	return (void *)p;
}

NOINLINE void *malloc(size_t size)
{
	return carve(size, 16);
}

static volatile size_t freed;

NOINLINE void free(void *p)
{
	if (p)
		freed += ((struct hdr *)p)[-1].size;
}

NOINLINE void *calloc(size_t n, size_t m)
{
	void *p;

	if (m && n > SIZE_MAX / m)
		return NULL;
	p = malloc(n * m);
	if (p)
		memset(p, 0, n * m);
	return p;
}

NOINLINE void *realloc(void *old, size_t size)
{
	void *p;

	if (!old)
		return malloc(size);
	p = malloc(size);
	if (!p)
		return NULL;
	memcpy(p, old, ((struct hdr *)old)[-1].size < size ? ((struct hdr *)old)[-1].size : size);
	free(old);
	return p;
}

NOINLINE void *memalign(size_t align, size_t size)
{
	return carve(size, align < 16 ? 16 : align);
}

NOINLINE void *aligned_alloc(size_t align, size_t size)
{
	return memalign(align, size);
}

NOINLINE int posix_memalign(void **out, size_t align, size_t size)
{
	void *p = memalign(align, size);

	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

NOINLINE void *valloc(size_t size)
{
	return memalign(4096, size);
}

NOINLINE void *pvalloc(size_t size)
{
	return memalign(4096, (size + 4095) & ~(size_t)4095);
}

NOINLINE size_t malloc_usable_size(void *p)
{
	return p ? ((struct hdr *)p)[-1].size : 0;
}

/* Every pointer escapes here, so the compiler cannot elide an allocation. */
void *volatile sink[256];

NOINLINE void leak_calloc(void)
{
	for (int i = 0; i < 100; i++)
		sink[i % 256] = calloc(10, 100);
}

NOINLINE void leak_realloc(void)
{
	for (int i = 0; i < 50; i++)
		sink[i % 256] = realloc(NULL, 1000);
}

NOINLINE void grow_realloc(void)
{
	for (int i = 0; i < 20; i++) {
		void *p = malloc(100);

		sink[i % 256] = realloc(p, 5000);
	}
}

NOINLINE void leak_aligned(void)
{
	for (int i = 0; i < 10; i++)
		sink[i % 256] = aligned_alloc(64, 640);
}

NOINLINE void freed_calloc(void)
{
	for (int i = 0; i < 30; i++) {
		void *p = calloc(1, 2000);

		sink[i % 256] = p;
		free(p);
	}
}

int main(void)
{
	leak_calloc();
	leak_realloc();
	grow_realloc();
	leak_aligned();
	freed_calloc();
	return 0;
}
