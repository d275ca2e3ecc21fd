/*
 * exitmaps: an executable mapping made just before the process exits, listed
 * after many others in its maps file, so that record's read of the maps at
 * that mmap is still going on when the process exits (and the file then ends
 * early).  The process maps 20,000 small anonymous regions (alternately
 * readable and not, so that none merge), below a gap kept for the new mapping
 * so that it is listed after them.  The new mapping is a second copy of the
 * page of this executable's text that holds alias(); main calls alias()
 * through it, which calls malloc(5151) through a pointer: main -> [alias, in
 * the copy] -> malloc, the block kept.  It exits 2 ms later.  It prints nothing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define FILLER 20000

typedef void *(*alloc_fn)(size_t);
typedef void (*alias_fn)(alloc_fn, size_t, void **);

/* No address relative to the code: the copy runs it as well as the original. */
NOINLINE void alias(alloc_fn fn, size_t n, void **out)
{
	*out = fn(n);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

/* The file offset of addr in this executable's text, from /proc/self/maps. */
static int text_offset(uintptr_t addr, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int found = -1;

	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		uint64_t start, end, pgoff;
		char perms[8];

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64, &start, &end, perms,
			   &pgoff) == 4 &&
		    addr >= start && addr < end && perms[2] == 'x') {
			*off = pgoff + (addr - start);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

int main(void)
{
	const size_t page = 4096;
	struct timespec linger = { 0, 2000000 };
	void *gap, *block = NULL;
	unsigned char *copy;
	uint64_t off;
	int fd;

	if (text_offset((uintptr_t)alias, &off))
		return 1;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	/* The gap, then the regions below it (mmap places each below the last). */
	gap = mmap(NULL, 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (gap == MAP_FAILED)
		return 1;
	for (int i = 0; i < FILLER; i++)
		if (mmap(NULL, page, i & 1 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0) == MAP_FAILED)
			return 1;
	munmap(gap, 16 * page);
	copy = mmap(NULL, 2 * page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, off & ~(page - 1));
	if (copy == MAP_FAILED)
		return 1;
	close(fd);
	((alias_fn)(void *)(copy + (off & (page - 1))))(malloc, 5151, &block);
	nanosleep(&linger, NULL);
	return block ? 0 : 1;
}
