/*
 * stacks: known call paths to an allocation, for comparing memprof's stacks
 * with gdb's.  Built in several variants (with and without frame pointers,
 * -O0 and -O2; see the Makefile) against libstacks.so:
 *
 *   main -> outer -> middle -> lib_alloc (libstacks.so) -> malloc(STACKS_SIZE)
 *   main -> pthread: thread_main -> middle -> lib_alloc -> malloc(STACKS_SIZE + 1)
 *   main -> fork: child_main -> middle -> lib_alloc -> malloc(STACKS_SIZE + 2)
 *   main -> touch_memset -> memset over 4 MiB of fresh pages (page faults in libc)
 *
 * The sizes single the allocations out for a gdb breakpoint condition.
 * Functions are noinline so that each is a frame at -O2 as well.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libstacks.h"

#define NOINLINE __attribute__((noinline))

void *volatile sink;

NOINLINE void middle(size_t size)
{
	sink = lib_alloc(size);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

NOINLINE void outer(void)
{
	middle(STACKS_SIZE);
	__asm__ volatile("" ::: "memory");
}

NOINLINE void *thread_main(void *arg)
{
	middle(STACKS_SIZE + 1);
	return arg;
}

NOINLINE void child_main(void)
{
	middle(STACKS_SIZE + 2);
	__asm__ volatile("" ::: "memory");
}

NOINLINE void touch_memset(void)
{
	size_t len = 4 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, 1, len);
	sink = p;
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	pthread_t t;
	pid_t child;
	int status;

	outer();
	if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL))
		return 1;
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		child_main();
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child || status)
		return 1;
	touch_memset();
	return 0;
}
