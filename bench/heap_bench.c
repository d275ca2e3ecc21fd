/*
 * heap_bench: the malloc workload of bench/bench.sh.
 *
 *   heap_bench [N]        N malloc/free pairs (default 2000000) of mixed small
 *                         sizes, one in 1000 blocks kept; the calls are made
 *                         from churn(), which has a frame pointer.
 *   heap_bench wait [N]   the same, after one byte read from stdin (record -p
 *                         attaches first), and reading a second one when done
 *                         (bench/heap.sh reads bpf_stats meanwhile)
 *   heap_bench empty [N]  N calls (default 2000000) of empty_fn(), an empty
 *                         noinline function whose first instruction is
 *                         `push %rbp`: bench.sh puts a bare uprobe on it to
 *                         measure what a probe costs, apart from what it does.
 *
 * Prints on stderr: heap_bench: calls=C mallocs=M frees=F elapsed_s=S ns_per_call=X
 * (calls counts malloc and free calls, or empty_fn calls).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *volatile kept[8192];
static volatile unsigned long sink;
static unsigned long nmalloc, nfree;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * noipa: the call must stay even though the function does nothing.  The
 * volatile local gives it a stack frame, so it starts with push %rbp even where
 * the compiler leaves frame pointers out of leaf functions.
 */
__attribute__((noinline, noipa)) void empty_fn(void)
{
	volatile int x = 0;

	(void)x;
}

__attribute__((noinline)) unsigned long call_empty(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		empty_fn();
	return n;
}

/* Returns the number of malloc and free calls made. */
__attribute__((noinline)) unsigned long churn(unsigned long n)
{
	static const size_t sizes[16] = { 16, 24, 32, 48, 64, 80, 96, 128,
					  160, 200, 256, 320, 400, 512, 768, 1024 };
	unsigned long nkept = 0;

	for (unsigned long i = 0; i < n; i++) {
		char *p = malloc(sizes[(i * 7) & 15]);

		if (!p)
			abort();
		p[0] = (char)i;
		sink += (unsigned long)p[0];
		nmalloc++;
		if (i % 1000 == 0) {
			kept[nkept++ % (sizeof(kept) / sizeof(kept[0]))] = p;
		} else {
			free(p);
			nfree++;
		}
	}
	return nmalloc + nfree;
}

int main(int argc, char **argv)
{
	int empty = argc > 1 && !strcmp(argv[1], "empty");
	int wait = argc > 1 && !strcmp(argv[1], "wait");
	const char *arg = argc > 1 + empty + wait ? argv[1 + empty + wait] : NULL;
	unsigned long n = arg ? strtoul(arg, NULL, 10) : 2000000, calls;
	double t0, t;
	char c;

	if (wait && read(0, &c, 1) != 1)
		return 1;
	t0 = now();
	calls = empty ? call_empty(n) : churn(n);
	t = now() - t0;
	fprintf(stderr, "heap_bench: calls=%lu mallocs=%lu frees=%lu elapsed_s=%.6f "
		"ns_per_call=%.2f\n", calls, nmalloc, nfree, t, t * 1e9 / calls);
	if (wait && read(0, &c, 1) < 0)
		return 1;
	return 0;
}
