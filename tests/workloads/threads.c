/*
 * threads: 16 threads allocating at the same moment, each through its own
 * function, so that every thread's figures can be checked on its own:
 *
 *   thread_K -> work -> keep_blocks   keeps 2000 x malloc(64 + K)   2000 * (64 + K) bytes
 *                     -> temp_blocks   mallocs and frees 3000 x 256  (0 live)
 *                     -> touch_pages   touches and keeps 4 MiB       4096 KiB of pages
 *
 * (K = 0..15; the page faults of the other functions, in malloc's arenas or
 * the `kept` array, are theirs, not touch_pages'.)
 *
 * All threads wait on a barrier, then allocate at once: about 80000 heap and
 * 16384 page events in a burst.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))
#define NTHREADS 16
#define KEEP 2000
#define TEMP 3000
#define TOUCH (4 << 20)

static pthread_barrier_t start;
static void *volatile kept[NTHREADS][KEEP];

NOINLINE void keep_blocks(int k)
{
	for (int i = 0; i < KEEP; i++)
		kept[k][i] = malloc(64 + k);
}

NOINLINE void temp_blocks(void)
{
	for (int i = 0; i < TEMP; i++) {
		void *volatile t = malloc(256);

		free(t);
	}
}

NOINLINE void touch_pages(void)
{
	volatile char *p = mmap(NULL, TOUCH, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	madvise((void *)p, TOUCH, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < TOUCH; off += 4096)
		p[off] = 1;
}

NOINLINE void work(int k)
{
	keep_blocks(k);
	temp_blocks();
	touch_pages();
}

/* One function per thread, so that each has a stack of its own. */
#define THREAD_FN(k) \
	NOINLINE void *thread_##k(void *arg) \
	{ \
		pthread_barrier_wait(&start); \
		work(k); \
		return arg; \
	}
THREAD_FN(0) THREAD_FN(1) THREAD_FN(2) THREAD_FN(3) THREAD_FN(4) THREAD_FN(5) THREAD_FN(6)
THREAD_FN(7) THREAD_FN(8) THREAD_FN(9) THREAD_FN(10) THREAD_FN(11) THREAD_FN(12)
THREAD_FN(13) THREAD_FN(14) THREAD_FN(15)

static void *(*const fns[NTHREADS])(void *) = {
	thread_0, thread_1, thread_2, thread_3, thread_4, thread_5, thread_6, thread_7,
	thread_8, thread_9, thread_10, thread_11, thread_12, thread_13, thread_14, thread_15,
};

int main(void)
{
	pthread_t t[NTHREADS];

	pthread_barrier_init(&start, NULL, NTHREADS);
	for (int k = 0; k < NTHREADS; k++)
		if (pthread_create(&t[k], NULL, fns[k], NULL))
			return 1;
	for (int k = 0; k < NTHREADS; k++)
		pthread_join(t[k], NULL);
	return 0;
}
