/*
 * stacks_bench: the workload of bench/report-scale.sh, a program whose heap
 * allocations come from millions of distinct call stacks.
 *
 *   stacks_bench [-k K] [-d DEPTH] [-n STACKS] [-r REPEAT]
 *
 * Each allocation is made at the end of a call path DEPTH calls deep (24 by
 * default) through K functions (2 by default, at most 8), each calling the
 * next through a table from one call site, so that the path is the stack:
 * path p goes through f[digit] at each level, the digits of p in base K.
 * The STACKS paths (10.5 million by default, at most K^DEPTH) are distinct
 * and spread over the K^DEPTH possible (p = i * an odd constant, modulo
 * K^DEPTH when K is 2, 4 or 8), taken REPEAT times (1), each making one
 * malloc of 16 to 79 bytes; the 1024 blocks made last are live, each older
 * one is freed.  So a run makes STACKS * REPEAT allocations and as many frees
 * (the last 1024 at the end), from STACKS distinct stacks.
 *
 * Build with frame pointers and no tail calls (bench/report-scale.sh does):
 *   gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls
 *
 * Prints on stderr: stacks_bench: stacks=S allocations=A elapsed_s=T
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KMAX 8
#define LIVE 1024

static unsigned int k = 2, depth = 24;
static uint64_t path;		/* the current path's digits, the outermost first */
static uint64_t kpow;		/* K^(DEPTH - 1): the outermost digit's weight */
static void *live[LIVE];
static uint64_t nalloc;
static volatile uint64_t sink;

typedef void (*fn_t)(unsigned int level, uint64_t weight);
static fn_t fns[KMAX];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void leaf(void)
{
	void **slot = &live[nalloc % LIVE];

	free(*slot);
	*slot = malloc(16 + nalloc % 64);
	if (!*slot)
		abort();
	nalloc++;
}

/* Level level of the path: calls the function of the next digit, from one call site. */
#define FN(i)                                                                           \
	__attribute__((noinline)) static void f##i(unsigned int level, uint64_t weight) \
	{                                                                               \
		if (level == 0) {                                                       \
			leaf();                                                         \
		} else {                                                                \
			fns[(path / weight) % k](level - 1, weight / k);                \
		}                                                                       \
		sink += level; /* after the call: no tail call */                       \
	}
FN(0)
FN(1)
FN(2)
FN(3)
FN(4)
FN(5)
FN(6)
FN(7)

static unsigned long parse(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end || !*s) {
		fprintf(stderr, "stacks_bench: invalid %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	uint64_t stacks = 10500000, repeat = 1, paths = 1, mult = 0x9e3779b97f4a7c15ull;
	double t0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-k"))
			k = (unsigned int)parse(argv[i + 1], "K");
		else if (!strcmp(argv[i], "-d"))
			depth = (unsigned int)parse(argv[i + 1], "depth");
		else if (!strcmp(argv[i], "-n"))
			stacks = parse(argv[i + 1], "stacks");
		else if (!strcmp(argv[i], "-r"))
			repeat = parse(argv[i + 1], "repeat");
		else
			argc = 0;
	}
	/* K a power of two, K^DEPTH within 62 bits. */
	if (argc % 2 == 0 || k < 2 || k > KMAX || (k & (k - 1)) || depth < 1 ||
	    depth * (unsigned int)__builtin_ctz(k) > 62) {
		fprintf(stderr, "usage: stacks_bench [-k 2|4|8] [-d DEPTH] [-n STACKS] [-r REPEAT]\n");
		return 2;
	}
	fns[0] = f0, fns[1] = f1, fns[2] = f2, fns[3] = f3;
	fns[4] = f4, fns[5] = f5, fns[6] = f6, fns[7] = f7;
	for (unsigned int d = 0; d < depth; d++)
		paths *= k;
	if (stacks > paths)
		stacks = paths;
	kpow = paths / k;
	t0 = now();
	for (uint64_t r = 0; r < repeat; r++) {
		for (uint64_t i = 0; i < stacks; i++) {
			/* An odd multiplier is a bijection modulo a power of two. */
			path = (i * mult) & (paths - 1);
			fns[path / kpow](depth - 1, kpow / k);
		}
	}
	for (int i = 0; i < LIVE; i++)
		free(live[i]);
	fprintf(stderr, "stacks_bench: stacks=%llu allocations=%llu elapsed_s=%.3f\n",
		(unsigned long long)stacks, (unsigned long long)nalloc, now() - t0);
	return 0;
}
