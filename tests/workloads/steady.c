/*
 * steady: a steady allocator for long live sessions (bench/live.sh):
 * forever, or for argv[1] seconds, it keeps a working set of 256 blocks of
 * 4 KiB to 64 KiB, replacing one of them with a new block (malloc, then free
 * of the old one) 1000 times a second, from a handful of call sites, so
 * that its live heap, and the sites and stacks a profiler keeps, stay the
 * same size however long it runs.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define SLOTS 256

static void *volatile slots[SLOTS];

NOINLINE void *site_a(size_t n) { return malloc(n); }
NOINLINE void *site_b(size_t n) { return malloc(n); }
NOINLINE void *site_c(size_t n) { return calloc(1, n); }
NOINLINE void *site_d(size_t n) { return malloc(n); }

int main(int argc, char **argv)
{
	void *(*const sites[])(size_t) = { site_a, site_b, site_c, site_d };
	long seconds = argc > 1 ? atol(argv[1]) : 0;
	time_t end = time(NULL) + seconds;
	unsigned int seed = 1;

	for (unsigned long i = 0; !seconds || time(NULL) < end; i++) {
		unsigned int r = rand_r(&seed), s = r % SLOTS;
		void *p = sites[r / SLOTS % 4](4096u << (r / 1024 % 5));

		free(slots[s]);
		slots[s] = p;
		if (i % 10 == 9)
			usleep(10000);
	}
	return 0;
}
