/*
 * attach: a workload for `memprof record -p`.  It starts, then waits for one
 * byte on stdin, so that the test can attach first; then it allocates known
 * amounts and exits:
 *
 *   attached_malloc   64 x malloc(8192), kept      524288 bytes live
 *   attached_touch    16 MiB of anonymous pages     16384 KiB live (+ page tables)
 *
 * before_attach mallocs 100 x 4096 before waiting: memprof must not see it.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile keep[256];

NOINLINE void before_attach(void)
{
	for (int i = 0; i < 100; i++)
		keep[128 + i % 100] = malloc(4096);
}

NOINLINE void attached_malloc(void)
{
	for (int i = 0; i < 64; i++) {
		keep[i] = malloc(8192);
		((volatile char *)keep[i])[0] = 1;
	}
}

NOINLINE void attached_touch(void)
{
	size_t len = 16 << 20;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);

	if (p == MAP_FAILED)
		abort();
	madvise((void *)p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	keep[255] = (void *)p;
}

int main(void)
{
	char c;

	before_attach();
	if (read(0, &c, 1) != 1)
		return 1;
	attached_malloc();
	attached_touch();
	return 0;
}
