/*
 * What recording needs of this machine (capabilities, the number of page
 * frames) and of a target (its thread group), and a way to make the kernel
 * free the pages its per-CPU LRU batches still hold.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <time.h>

#include "record/recorder.h"

uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The thread group of pid, which may name any of its threads. */
pid_t system__thread_group(pid_t pid, char *comm, size_t size)
{
	char path[64], line[256];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:\t", 6)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(comm, size, "%s", line + 6);
		}
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	}
	fclose(f);
	return tgid;
}

uint32_t system__kernel_dev(uint64_t dev)
{
	return major(dev) << 20 | minor(dev);
}

/* PF_KTHREAD in /proc/PID/stat's flags: a kernel thread, no user memory to record. */
#define PF_KTHREAD 0x00200000

int system__each_process(int (*fn)(void *ctx, pid_t pid, const char *comm, uint32_t dev,
				   uint64_t ino),
			 void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();
	int ret = 0;

	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		char path[64], line[512], comm[MPF_COMM_LEN] = "", *open, *close;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		unsigned long long flags = 0;
		struct stat st;
		FILE *f;

		if (pid <= 0 || pid == self)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
		open = strchr(line, '(');
		close = strrchr(line, ')');
		if (!open || !close || close < open ||
		    sscanf(close + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags) != 1 ||
		    (flags & PF_KTHREAD))
			continue;
		snprintf(comm, sizeof(comm), "%.*s", (int)(close - open - 1), open + 1);
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		if (stat(path, &st))
			memset(&st, 0, sizeof(st));
		ret = fn(ctx, pid, comm, system__kernel_dev(st.st_dev), st.st_ino);
	}
	closedir(d);
	return ret;
}

/* The state letter of /proc/PATH/stat (R, S, Z ...), 0 when it cannot be read. */
static char proc_state(const char *path)
{
	char line[512], *paren, state = 0;
	FILE *f = fopen(path, "re");

	if (f && fgets(line, sizeof(line), f) && (paren = strrchr(line, ')')) && paren[1] == ' ')
		state = paren[2];
	if (f)
		fclose(f);
	return state;
}

pid_t system__live_thread(pid_t pid)
{
	char path[96];
	struct dirent *de;
	pid_t found = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (proc_state(path) != 'Z')
		return pid;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && found < 0 && (de = readdir(d))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);
		char state;

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
		state = proc_state(path);
		if (state && state != 'Z' && state != 'X')
			found = tid;
	}
	if (d)
		closedir(d);
	return found;
}

void system__proc_dir(pid_t pid, pid_t tid, char *buf, size_t size)
{
	if (tid > 0 && tid != pid)
		snprintf(buf, size, "/proc/%d/task/%d", pid, tid);
	else
		snprintf(buf, size, "/proc/%d", pid);
}

/*
 * Bits for the page ownership map: a power of two above the highest page
 * frame, with room for memory hot-added while recording.
 */
uint64_t system__page_frames(void)
{
	uint64_t start, end, max = 0, bits = 1 << 20;
	char line[256];
	FILE *f = fopen("/proc/iomem", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (strstr(line, "System RAM") &&
		    sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && end > max)
			max = end;
	}
	if (f)
		fclose(f);
	if (!max)		/* addresses hidden: assume a large machine (256 GiB) */
		max = 1ull << 38;
	while (bits < 2 * (max + 1) / 4096)
		bits <<= 1;
	return bits;
}

const char *system__missing_caps(char *buf, size_t size)
{
	static const struct {
		int bit;
		const char *name;
	} needed[] = {
		{ 39, "CAP_BPF" },	/* load programs, create maps */
		{ 38, "CAP_PERFMON" },	/* tracepoints, uprobes, reading kernel memory */
	};
	unsigned long long eff = 0;
	char line[256];
	size_t len = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	buf[0] = '\0';
	/* CAP_SYS_ADMIN stands in for both on every kernel. */
	if (eff & (1ull << 21))
		return buf;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!(eff & (1ull << needed[i].bit)))
			len += snprintf(buf + len, size - len, "%s%s", len ? " and " : "",
					needed[i].name);
	return buf;
}

/*
 * Pages a target unmapped can sit in the kernel's per-CPU LRU batches, not
 * yet freed, until something drains them.  migrate_pages(2) of our own
 * memory from node 0 to node 0 moves nothing but drains every CPU's batches
 * first, all of them, forced (lru_cache_disable()).  mlock(2), which was
 * used, does not drain them reliably: on 6.18, 12 to 22 pages of a
 * recording stayed there for seconds, in one run of t0110's lingering
 * workload in four; none in 30 runs since.  A kernel without NUMA has no
 * migrate_pages: mlock() then.
 */
void system__drain_lru_batches(void)
{
	static char page[4096] __attribute__((aligned(4096)));
	unsigned long node0 = 1;

	if (!syscall(SYS_migrate_pages, 0, 2, &node0, &node0))
		return;
	if (!mlock(page, sizeof(page)))
		munlock(page, sizeof(page));
}
