/*
 * page_bench: the page-fault workload of bench/bench.sh.  Touches 1 GiB of
 * fresh anonymous memory one 4 KiB page at a time (4 rounds of mmap 256 MiB,
 * no huge pages, one byte written per page, munmap), so every page is one
 * mm_page_alloc and one free.  The touching happens in touch_pages(), which has
 * a frame pointer, so stack-walking tools see main -> run_round -> touch_pages.
 *
 * Prints on stderr: page_bench: pages=N touch_s=S total_s=S
 * (touch_s: the touching loops only; total_s: with mmap and munmap).
 * usage: page_bench [ROUNDS [MIB_PER_ROUND]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096UL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void touch_pages(volatile char *p, size_t len)
{
	for (size_t off = 0; off < len; off += PAGE)
		p[off] = 1;
}

/* Returns the seconds spent touching. */
__attribute__((noinline)) double run_round(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t1;

	if (p == MAP_FAILED) {
		perror("page_bench: mmap");
		exit(1);
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	t0 = now();
	touch_pages(p, len);
	t1 = now();
	munmap(p, len);
	return t1 - t0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 4;
	size_t len = (argc > 2 ? strtoul(argv[2], NULL, 10) : 256) << 20;
	double touch = 0, t0 = now();

	for (int i = 0; i < rounds; i++)
		touch += run_round(len);
	fprintf(stderr, "page_bench: pages=%zu touch_s=%.6f total_s=%.6f\n",
		rounds * (len / PAGE), touch, now() - t0);
	return 0;
}
