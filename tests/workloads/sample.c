/*
 * sample: a workload for record --heap-sample, with enough allocations at
 * each site for the sampled estimates to be tested against their stated
 * error.  Stacks main -> fn; sizes as passed to malloc:
 *
 *   function      calls                        allocated     live at exit
 *   small_live    200000 x malloc(32), kept     6400000       6400000
 *   medium_live   20000 x malloc(1000), kept   20000000      20000000
 *   freed         100000 x malloc(64), freed    6400000             0
 *
 * With an argument it first waits for a byte on stdin (record -p attaches).
 * It prints nothing and exits 0.
 */
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile small[200000], *volatile medium[20000];

NOINLINE void small_live(void)
{
	for (int i = 0; i < 200000; i++)
		if (!(small[i] = malloc(32)))
			abort();
}

NOINLINE void medium_live(void)
{
	for (int i = 0; i < 20000; i++)
		if (!(medium[i] = malloc(1000)))
			abort();
}

NOINLINE void freed(void)
{
	for (int i = 0; i < 100000; i++) {
		void *volatile p = malloc(64);

		if (!p)
			abort();
		free(p);
	}
}

int main(int argc, char **argv)
{
	char c;

	if (argc > 1 && read(0, &c, 1) != 1)
		return 1;
	small_live();
	medium_live();
	freed();
	return 0;
}
