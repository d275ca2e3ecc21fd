/*
 * jit: an allocation from code made at run time, as a JIT compiler makes
 * it: a page (of a memfd) mapped writable and written before record attaches (so that
 * record's first look at the maps sees it so), then made executable, then an
 * executable mmap of a file, at which record reads the maps again.  The code
 * keeps a frame pointer and calls malloc(4242) through a register:
 * main -> run_jit -> [the page] -> malloc, the block kept.  It waits for one
 * byte on stdin before mprotect, and lingers a second at the end for record
 * to read the maps.  The program prints nothing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* push %rbp; mov %rsp,%rbp; mov %rsi,%rax; call *%rax; pop %rbp; ret */
static const unsigned char code[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x89, 0xf0,
				      0xff, 0xd0, 0x5d, 0xc3 };

typedef void *(*alloc_fn)(size_t);
typedef void *(*jit_fn)(size_t, alloc_fn);

void *volatile sink;

NOINLINE void run_jit(jit_fn fn)
{
	sink = fn(4242, malloc);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

int main(void)
{
	/* A page of a memfd, not anonymous: no neighbour merges with it, its bounds stay. */
	int fd = memfd_create("jit", 0);
	unsigned char *page;
	char go;

	if (fd < 0 || ftruncate(fd, 4096))
		return 1;
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (page == MAP_FAILED)
		return 1;
	close(fd);
	memcpy(page, code, sizeof(code));
	if (read(0, &go, 1) != 1)
		return 1;
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC))
		return 1;
	fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0 || mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED)
		return 1;
	close(fd);
	run_jit((jit_fn)(void *)page);
	sleep(1);
	return 0;
}
