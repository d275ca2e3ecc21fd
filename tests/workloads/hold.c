/*
 * hold: a workload for the live views (top, serve), which are looked at while
 * it runs.  It allocates known amounts, says "ready" on stdout (with write(2):
 * stdio would allocate its buffer), then holds them until stdin gives a byte
 * or ends, and exits 0:
 *
 *   hold_malloc   32 x malloc(16384), kept          524288 bytes live
 *   hold_calloc   10 x calloc(1, 100000), kept     1000000 bytes live
 *   hold_touch    8 MiB of anonymous pages touched     8192 KiB live
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile keep[64];

NOINLINE void hold_malloc(void)
{
	for (int i = 0; i < 32; i++) {
		keep[i] = malloc(16384);
		((volatile char *)keep[i])[0] = 1;
	}
}

NOINLINE void hold_calloc(void)
{
	for (int i = 0; i < 10; i++)
		keep[32 + i] = calloc(1, 100000);
}

NOINLINE void hold_touch(void)
{
	size_t len = 8 << 20;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);

	if (p == MAP_FAILED)
		abort();
	madvise((void *)p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	keep[63] = (void *)p;
}

int main(void)
{
	char c;

	hold_malloc();
	hold_calloc();
	hold_touch();
	if (write(1, "ready\n", 6) != 6)
		return 1;
	(void)!read(0, &c, 1);
	return 0;
}
