/*
 * zombie-leader: a process whose main thread has exited, its leader a
 * zombie, while a second thread lives on, for `memprof record -p`.  The main
 * thread starts the worker and calls pthread_exit(); the worker waits for
 * one byte on stdin, so that the test attaches first, then allocates and
 * exits the process:
 *
 *   worker_malloc   64 x malloc(8192), kept      524288 bytes live
 *   worker_touch    8 MiB of anonymous pages      8192 KiB live
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile keep[64];

NOINLINE void worker_malloc(void)
{
	for (int i = 0; i < 64; i++) {
		keep[i] = malloc(8192);
		((volatile char *)keep[i])[0] = 1;
	}
}

NOINLINE void worker_touch(void)
{
	size_t len = 8 << 20;
	volatile char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);

	if (p == MAP_FAILED)
		abort();
	madvise((void *)p, len, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
}

static void *worker(void *arg)
{
	char c;

	if (read(0, &c, 1) != 1)
		exit(1);
	worker_malloc();
	worker_touch();
	exit(0);
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	pthread_exit(NULL);
}
