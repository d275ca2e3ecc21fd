/*
 * -e rss: each live target's resident set, read from /proc/PID/status every
 * --rss-interval ms and written when it changed, at most RSS_ROUND targets a
 * round so that record's reading of /proc stays bounded when a build or a
 * server runs hundreds of processes at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record/recorder.h"

#define PF_EXITING 0x4	/* in /proc/PID/stat's flags: the process is exiting */

/*
 * Reads pid's RSS counters from proc, its /proc directory: 0, or -1 when it
 * is gone (or has no memory any more).
 */
static int read_rss(const char *proc, pid_t pid, struct mpf_rss *out)
{
	char path[96], line[256];
	unsigned long long kb;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/status", proc);
	f = fopen(path, "re");
	if (!f)
		return -1;
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			out->hwm = kb << 10, found++;
		else if (sscanf(line, "RssAnon: %llu kB", &kb) == 1)
			out->anon = kb << 10, found++;
		else if (sscanf(line, "RssFile: %llu kB", &kb) == 1)
			out->file = kb << 10, found++;
		else if (sscanf(line, "RssShmem: %llu kB", &kb) == 1)
			out->shmem = kb << 10, found++;
		else if (sscanf(line, "VmSize: %llu kB", &kb) == 1)
			out->vm = kb << 10;
	}
	fclose(f);
	return found == 4 ? 0 : -1;
}

/*
 * Whether pid had begun to exit (PF_EXITING, set before its memory is torn
 * down): a sample read then gave the counts of a dismantled address space.
 * Asked after the sample was read.
 */
static bool exiting(const char *proc)
{
	char path[96], line[512];
	unsigned long long flags;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stat", proc);
	f = fopen(path, "re");
	if (!f)
		return true;
	if (!fgets(line, sizeof(line), f) || !strrchr(line, ')') ||
	    sscanf(strrchr(line, ')') + 1, " %*c %*d %*d %*d %*d %*d %llu", &flags) != 1)
		flags = PF_EXITING;
	fclose(f);
	return flags & PF_EXITING;
}

/* Writes a sample of t when its counters changed since the last one. */
static void rss__sample_one(struct recorder *r, struct rss_target *t, uint64_t now)
{
	struct mpf_record rec = { .type = MPF_REC_RSS, .time = now };
	char proc[64];
	pid_t tid;
	int err;

	system__proc_dir(t->pid, 0, proc, sizeof(proc));
	err = read_rss(proc, t->pid, &rec.rss);
	/* Its main thread exited, another runs on: the leader shows no memory, that thread does. */
	if (err && (tid = system__live_thread(t->pid)) > 0 && tid != t->pid) {
		system__proc_dir(t->pid, tid, proc, sizeof(proc));
		err = read_rss(proc, t->pid, &rec.rss);
	}
	/* Unchanged counters need no record, nor the second read. */
	if (err || !memcmp(&rec.rss, &t->last, sizeof(rec.rss)) || exiting(proc))
		return;
	t->last = rec.rss;
	recorder__write(r, &rec);
}

void rss__add(struct recorder *r, pid_t pid)
{
	if (!(r->opts.events & (1u << MPF_EV_RSS)))
		return;
	for (size_t i = 0; i < r->nrss; i++)
		if (r->rss[i].pid == pid) {
			/*
			 * An exec: a new image, which report starts counting from
			 * its first sample, even one that reads as the last did.
			 */
			memset(&r->rss[i].last, 0, sizeof(r->rss[i].last));
			rss__sample_one(r, &r->rss[i], now_ns(CLOCK_MONOTONIC));
			return;
		}
	if (r->nrss == r->rss_cap) {
		size_t cap = r->rss_cap ? r->rss_cap * 2 : 16;
		struct rss_target *v = realloc(r->rss, cap * sizeof(*v));

		if (!v) {
			recorder__note(r, NOTE_RSS_FAILED, pid, NULL, -ENOMEM);
			return;
		}
		r->rss = v;
		r->rss_cap = cap;
	}
	r->rss[r->nrss++] = (struct rss_target){ .pid = pid };
	/* A first sample now: a short-lived process may be gone by the next round. */
	rss__sample_one(r, &r->rss[r->nrss - 1], now_ns(CLOCK_MONOTONIC));
}

void rss__remove(struct recorder *r, pid_t pid)
{
	for (size_t i = 0; i < r->nrss; i++)
		if (r->rss[i].pid == pid) {
			r->rss[i] = r->rss[--r->nrss];
			return;
		}
}

/*
 * A round of samples: of every live target, up to RSS_ROUND of them, taking
 * turns beyond that, so that record's reading of /proc stays bounded when a
 * build or a server runs hundreds of processes at once (each is then read
 * every few intervals; the exit sample and VmHWM keep its end and peak).
 */
#define RSS_ROUND 64

void rss__sample(struct recorder *r, uint64_t now)
{
	size_t n = r->nrss < RSS_ROUND ? r->nrss : RSS_ROUND;

	for (size_t k = 0; k < n; k++)
		rss__sample_one(r, &r->rss[(r->rss_turn + k) % r->nrss], now);
	r->rss_turn = r->nrss ? (r->rss_turn + n) % r->nrss : 0;
	r->rss_next = now + r->opts.rss_interval * 1000000ull;
}
