/*
 * The processes of a trace, one row each, as the live views show them (top's
 * table, serve's page and /metrics): the resident set of its RSS samples and
 * the live and allocated figures of its allocation sites, the same sites the
 * report's trees add up, so a row and a report of the same events agree.
 */
#ifndef MEMPROF_REPORT_PROCS_H
#define MEMPROF_REPORT_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format/mpf.h"

struct model;

struct proc_row {
	uint32_t pid;
	uint32_t image;			/* its latest process image */
	char comm[MPF_COMM_LEN];	/* "" when the trace never named it */
	bool exited;
	bool has_rss;			/* -e rss: the next three are known */
	uint64_t rss, vm, peak;		/* resident, virtual (0: not known), VmHWM; bytes */
	/* Per event type, of its sites: live bytes, allocations, those freed, bytes allocated. */
	uint64_t live[MPF_EV__MAX];
	uint64_t allocs[MPF_EV__MAX], frees[MPF_EV__MAX];
	uint64_t alloc_bytes[MPF_EV__MAX];
	uint64_t mmaps, munmaps;	/* -e mmap: successful calls */
};

enum procs_sort {
	PROCS_SORT_PID,
	PROCS_SORT_NAME,
	PROCS_SORT_RSS,
	PROCS_SORT_VIRT,
	PROCS_SORT_PEAK,
	PROCS_SORT_HEAP,
	PROCS_SORT_PAGES,
	PROCS_SORT_CACHE,
	PROCS_SORT_MMAP,
	PROCS_SORT_MUNMAP,
	PROCS_SORT_ALLOCS,	/* allocations of every type */
	PROCS_SORT__MAX,
};

struct procs {
	struct proc_row *v;
	size_t n, cap;
};

/*
 * One row per process id, of its latest image (an exec replaces the one
 * before): every process the trace shows, those that exited included.
 * 0 or -ENOMEM.
 */
int procs__build(struct model *m, struct procs *out);
/* Largest first (by pid and name: smallest first), then by pid. */
void procs__sort(struct procs *p, enum procs_sort key);
/* The row of pid, NULL when none. */
const struct proc_row *procs__find(const struct procs *p, uint32_t pid);
void procs__free(struct procs *p);
/* Allocations of every event type. */
uint64_t proc_row__allocs(const struct proc_row *r);

#endif
