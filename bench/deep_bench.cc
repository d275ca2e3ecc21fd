/*
 * deep_bench: the deep-stack workload of bench/bench.sh.  Built at -O2 without
 * frame pointers and linked against libstdc++ and a dozen more libraries (the
 * bench measures what building their unwind tables costs), it recurses DEPTH
 * frames deep (default 60) through three functions that each keep a 128-byte
 * buffer on the stack, so that a stack is some 10 KiB, more than -g dwarf's
 * default copy, and at the bottom makes N allocations (default 200000)
 * through operator new and frees most of them.
 *
 * Prints on stderr: deep_bench: calls=C depth=D elapsed_s=S ns_per_call=X
 * (calls counts the new and delete calls).
 * usage: deep_bench [N [DEPTH]]
 */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#define NOINLINE __attribute__((noinline))

static volatile unsigned long sink;
static unsigned long calls;

static double now()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

NOINLINE static void churn(unsigned long n)
{
	std::vector<char *> kept;

	for (unsigned long i = 0; i < n; i++) {
		char *p = new char[64 + (i & 255)];

		p[0] = (char)i;
		sink += (unsigned long)p[0];
		calls++;
		if (i % 100 == 0) {
			kept.push_back(p);
		} else {
			delete[] p;
			calls++;
		}
	}
	for (char *p : kept)
		delete[] p;
	calls += kept.size();
}

/*
 * Three functions calling each other in turn, so that no call is a tail call
 * or a recursion a compiler could turn into a loop, and each frame is its own.
 */
#define LEVEL(name, next)                                                                  \
	NOINLINE void name(int depth, unsigned long n)                                     \
	{                                                                                  \
		volatile char buf[128];                                                    \
                                                                                           \
		buf[0] = (char)depth;                                                      \
		if (depth <= 0)                                                            \
			churn(n);                                                          \
		else                                                                       \
			next(depth - 1, n);                                                \
		sink += buf[0];                                                            \
	}

NOINLINE void level_a(int depth, unsigned long n);
LEVEL(level_c, level_a)
LEVEL(level_b, level_c)
LEVEL(level_a, level_b)

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	int depth = argc > 2 ? atoi(argv[2]) : 60;
	double t0 = now(), t;

	level_a(depth, n);
	t = now() - t0;
	fprintf(stderr, "deep_bench: calls=%lu depth=%d elapsed_s=%.6f ns_per_call=%.2f\n", calls,
		depth, t, t * 1e9 / (double)calls);
	return 0;
}
