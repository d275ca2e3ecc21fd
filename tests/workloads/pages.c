/*
 * pages: a workload with known physical page figures.  Each function maps fresh
 * anonymous memory, turns transparent huge pages off for it and writes one byte
 * in every 4 KiB page, in its own loop (not memset: libc has no frame pointers,
 * so the faulting stack would not show the function).  One page fault = one
 * order-0 page allocated with this function on the user stack.
 *
 *   function      where                          allocated      live at exit
 *   touch_keep    main                           65536 KiB      65536 KiB
 *   touch_free    main, then munmap()            32768 KiB          0 KiB
 *   thread_touch  second thread (thread_main)    16384 KiB      16384 KiB
 *   child_touch   fork()ed child, then _exit(0)   8192 KiB       8192 KiB
 *
 * "Live at exit" is what the function still holds when its process exits
 * (the child's pages are then freed by the exit teardown, not by the program).
 * Page tables and the odd page of libc data add a little, so the figures hold
 * within 1%.  The program prints nothing and exits 0.
 *
 * pages linger: the same, and 1.5 s after touch_free's munmap before it goes
 * on (the pages it unmapped must be freed while it lives, wherever the kernel
 * kept them meanwhile).
 */
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define MiB (1024UL * 1024)
#define PAGE 4096UL

static void *volatile keep[8];

/* mmap without huge pages; the touching stays in the caller. */
static char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

NOINLINE void touch_keep(void)
{
	size_t len = 64 * MiB;
	volatile char *p = map_anon(len);

	for (size_t off = 0; off < len; off += PAGE)
		p[off] = 1;
	keep[0] = (void *)p;
}

NOINLINE void touch_free(void)
{
	size_t len = 32 * MiB;
	volatile char *p = map_anon(len);

	for (size_t off = 0; off < len; off += PAGE)
		p[off] = 1;
	keep[1] = (void *)p;
	munmap((void *)p, len);
}

NOINLINE void thread_touch(void)
{
	size_t len = 16 * MiB;
	volatile char *p = map_anon(len);

	for (size_t off = 0; off < len; off += PAGE)
		p[off] = 1;
	keep[2] = (void *)p;
}

NOINLINE void child_touch(void)
{
	size_t len = 8 * MiB;
	volatile char *p = map_anon(len);

	for (size_t off = 0; off < len; off += PAGE)
		p[off] = 1;
	keep[3] = (void *)p;
}

NOINLINE void *thread_main(void *arg)
{
	thread_touch();
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t thread;
	int status;
	pid_t pid;

	touch_keep();
	touch_free();
	if (argc > 1 && !strcmp(argv[1], "linger"))
		usleep(1500000);

	if (pthread_create(&thread, NULL, thread_main, NULL) || pthread_join(thread, NULL))
		return 1;

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		child_touch();
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}
