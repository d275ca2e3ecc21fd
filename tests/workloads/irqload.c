/*
 * irqload: a load that allocates and frees pages in interrupts, for argv[1]
 * seconds (default 10), to run beside a recording: loopback TCP streams
 * (socket buffer pages, freed in part from softirqs), threads faulting in
 * and unmapping 8 MiB again and again (the page programs run all the time,
 * so an interrupt often comes in the middle of one), and a thread forking
 * children that exit at once (their page tables and task memory freed from
 * RCU softirqs).  Traffic goes to 127.0.0.1 only; it stops by itself and
 * exits 0, or 1 when it cannot set up its sockets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define STREAMS 2
#define FAULTERS 2
#define MAP (8UL << 20)

static volatile int stop;

static void *sender(void *arg)
{
	static char buf[1 << 16];
	int fd = (int)(long)arg;

	while (!stop && write(fd, buf, sizeof(buf)) > 0)
		;
	shutdown(fd, SHUT_WR);
	return NULL;
}

static void *receiver(void *arg)
{
	static __thread char buf[1 << 16];
	int fd = (int)(long)arg;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static void *faulter(void *arg)
{
	while (!stop) {
		volatile char *p = mmap(NULL, MAP, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			break;
		madvise((void *)p, MAP, MADV_NOHUGEPAGE);
		for (size_t off = 0; off < MAP; off += 4096)
			p[off] = 1;
		munmap((void *)p, MAP);
	}
	return NULL;
}

static void *forker(void *arg)
{
	while (!stop) {
		pid_t pid = fork();

		if (!pid)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) < 0)
			break;
	}
	return NULL;
}

/* A connected pair of loopback sockets through the listening socket ls: *out sends, *in receives. */
static int stream(int ls, const struct sockaddr_in *sa, int *out, int *in)
{
	*out = socket(AF_INET, SOCK_STREAM, 0);
	if (*out < 0 || connect(*out, (const void *)sa, sizeof(*sa)))
		return -1;
	*in = accept(ls, NULL, NULL);
	return *in < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 1 ? atoi(argv[1]) : 10;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	pthread_t threads[2 * STREAMS + FAULTERS + 1];
	int ls = socket(AF_INET, SOCK_STREAM, 0), n = 0;

	if (ls < 0 || bind(ls, (void *)&sa, sizeof(sa)) || getsockname(ls, (void *)&sa, &len) ||
	    listen(ls, STREAMS))
		return 1;
	for (int i = 0; i < STREAMS; i++) {
		int out, in;

		if (stream(ls, &sa, &out, &in))
			return 1;
		pthread_create(&threads[n++], NULL, sender, (void *)(long)out);
		pthread_create(&threads[n++], NULL, receiver, (void *)(long)in);
	}
	for (int i = 0; i < FAULTERS; i++)
		pthread_create(&threads[n++], NULL, faulter, NULL);
	pthread_create(&threads[n++], NULL, forker, NULL);
	sleep(seconds);
	stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	return 0;
}
