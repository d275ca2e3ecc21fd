/*
 * heap: a workload with known heap figures, one allocation site per function,
 * so that a profiler's per-function totals can be checked exactly.
 *
 * Every allocating function is called from main (stacks main -> fn), except
 * thread_leak (thread_main -> thread_leak, in a second thread) and child_leak
 * (main -> child_leak, in a fork()ed child that then _exit()s).  Requested
 * sizes in bytes, as passed to the allocator (not malloc_usable_size):
 *
 *   function             calls                         allocated     live at exit
 *   leak_malloc          100 x malloc(4096)              409600        409600
 *   leak_calloc          1000 x calloc(10, 100)         1000000       1000000
 *   freed_malloc         50 x malloc(8192), all freed    409600             0
 *   leak_realloc         realloc(NULL, 1000),            306000        300000
 *                        realloc(p, 5000),
 *                        realloc(p, 300000)
 *   leak_posix_memalign  10 x posix_memalign(64, 10000)  100000        100000
 *   leak_aligned_alloc   5 x aligned_alloc(4096, 8192)    40960         40960
 *   leak_memalign        7 x memalign(256, 3000)          21000         21000
 *   leak_valloc          3 x valloc(12288)                36864         36864
 *   thread_leak          200 x malloc(1024)              204800        204800
 *   child_leak           300 x malloc(2048)              614400        614400
 *
 * leak_realloc's live figure is 300000 whether or not realloc moves the block
 * (each realloc frees the old block, the last one is kept); 300000 is above
 * glibc's mmap threshold, so the last realloc always moves it.  Allocations made
 * by libc itself (thread stacks, TLS) come from other call paths.
 *
 * The program prints nothing (stdio would allocate its buffer) and exits 0.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* Every pointer escapes here, so the compiler cannot elide an allocation. */
static void *volatile keep[4096];
static unsigned int nkeep;

static void hold(void *p)
{
	if (!p)
		abort();
	((volatile char *)p)[0] = 1;
	keep[nkeep++ % (sizeof(keep) / sizeof(keep[0]))] = p;
}

NOINLINE void leak_malloc(void)
{
	for (int i = 0; i < 100; i++)
		hold(malloc(4096));
}

NOINLINE void leak_calloc(void)
{
	for (int i = 0; i < 1000; i++)
		hold(calloc(10, 100));
}

NOINLINE void freed_malloc(void)
{
	void *p[50];

	for (int i = 0; i < 50; i++) {
		p[i] = malloc(8192);
		hold(p[i]);
	}
	for (int i = 0; i < 50; i++)
		free(p[i]);
}

NOINLINE void leak_realloc(void)
{
	void *p = realloc(NULL, 1000);

	hold(p);
	p = realloc(p, 5000);
	hold(p);
	p = realloc(p, 300000);
	hold(p);
}

NOINLINE void leak_posix_memalign(void)
{
	for (int i = 0; i < 10; i++) {
		void *p = NULL;

		if (posix_memalign(&p, 64, 10000))
			abort();
		hold(p);
	}
}

NOINLINE void leak_aligned_alloc(void)
{
	for (int i = 0; i < 5; i++)
		hold(aligned_alloc(4096, 8192));
}

NOINLINE void leak_memalign(void)
{
	for (int i = 0; i < 7; i++)
		hold(memalign(256, 3000));
}

NOINLINE void leak_valloc(void)
{
	for (int i = 0; i < 3; i++)
		hold(valloc(12288));
}

NOINLINE void thread_leak(void)
{
	for (int i = 0; i < 200; i++)
		hold(malloc(1024));
}

NOINLINE void child_leak(void)
{
	for (int i = 0; i < 300; i++)
		hold(malloc(2048));
}

NOINLINE void *thread_main(void *arg)
{
	thread_leak();
	return arg;
}

int main(void)
{
	pthread_t thread;
	int status;
	pid_t pid;

	leak_malloc();
	leak_calloc();
	freed_malloc();
	leak_realloc();
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_memalign();
	leak_valloc();

	if (pthread_create(&thread, NULL, thread_main, NULL) || pthread_join(thread, NULL))
		return 1;

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		child_leak();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}
