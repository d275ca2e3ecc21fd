/*
 * vm_bench: the address space workload of bench/bench.sh.  N rounds of
 * mmap 64 KiB anonymous + munmap in map_unmap(), each one mmap and one munmap
 * event for -e mmap; then N getppid() calls, system calls -e mmap does not
 * record but whose entry and exit its programs still see.
 *
 * Prints on stderr: vm_bench: calls=N elapsed_s=S other_s=S
 * (elapsed_s: the mmap/munmap rounds; other_s: the getppid calls).
 * usage: vm_bench [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void map_unmap(void)
{
	void *p = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, 64 * 1024)) {
		perror("vm_bench");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	double t0, t1, t2;

	t0 = now();
	for (long i = 0; i < n; i++)
		map_unmap();
	t1 = now();
	for (long i = 0; i < n; i++)
		getppid();
	t2 = now();
	fprintf(stderr, "vm_bench: calls=%ld elapsed_s=%.6f other_s=%.6f\n", 2 * n, t1 - t0, t2 - t1);
	return 0;
}
