/*
 * forkexec: forks and execs children in a loop, each a short-lived process
 * with known figures.  `forkexec N` runs N children (default 40); child i
 * execs this same program as `forkexec --child i`, which
 *
 *   child_alloc   keeps (i + 1) x malloc(1000)         (i + 1) * 1000 bytes
 *   child_touch   touches and keeps (i + 1) pages       (i + 1) * 4 KiB
 *
 * and exits at once.  The parent waits for each before the next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *volatile keep[1024];

NOINLINE void child_alloc(int n)
{
	for (int i = 0; i < n; i++)
		keep[i] = malloc(1000);
}

NOINLINE void child_touch(int n)
{
	volatile char *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	for (int i = 0; i < n; i++)
		p[i * 4096] = 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 40;
	char arg[16], self[4096];
	ssize_t len;

	if (argc > 2 && !strcmp(argv[1], "--child")) {
		n = atoi(argv[2]) + 1;
		child_alloc(n);
		child_touch(n);
		return 0;
	}
	/* The program's own path: exec'ing /proc/self/exe would name the children "exe". */
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		int status;

		if (pid < 0)
			return 1;
		if (pid == 0) {
			snprintf(arg, sizeof(arg), "%d", i);
			execl(self, argv[0], "--child", arg, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
	}
	return 0;
}
