/*
 * cache_bench: the page cache workload of bench/bench.sh.  Reads FILE
 * ROUNDS times with read(2) in 64 KiB blocks, dropping it from the page cache
 * before each round (posix_fadvise DONTNEED), so every round adds each of
 * its pages to the cache again: one mm_filemap_add_to_page_cache per folio,
 * and a delete per folio at the next round's drop.  The reads happen in
 * read_file(), which has a frame pointer.
 *
 * Prints on stderr: cache_bench: bytes=N elapsed_s=S (the reading rounds, not
 * the drops).
 * usage: cache_bench FILE [ROUNDS]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static char buf[64 * 1024];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) long read_file(int fd)
{
	long total = 0, n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return total;
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 4, fd;
	double elapsed = 0, t0;
	long bytes = 0;

	if (argc < 2 || (fd = open(argv[1], O_RDONLY)) < 0) {
		fprintf(stderr, "usage: cache_bench FILE [ROUNDS]\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)) {
			perror("cache_bench: posix_fadvise");
			return 1;
		}
		t0 = now();
		bytes += read_file(fd);
		elapsed += now() - t0;
	}
	fprintf(stderr, "cache_bench: bytes=%ld elapsed_s=%.6f\n", bytes, elapsed);
	return 0;
}
