/*
 * The views of a trace: which value of each allocation site a report shows
 * (--show), and the trees built from the model's sites for report and for
 * diff, one per event type.  What servers and other front ends call to get
 * the same trees report prints.
 */
#ifndef MEMPROF_REPORT_VIEW_H
#define MEMPROF_REPORT_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report/path.h"
#include "report/tree.h"

struct model;
struct model_site;
struct strtab;

enum report_show {
	REPORT_SHOW_LIVE,	/* bytes still allocated at the end of the trace */
	REPORT_SHOW_ALLOC,	/* bytes allocated during the trace */
	REPORT_SHOW_COUNT,	/* the number of allocations during the trace */
	REPORT_SHOW_LEAKS,	/* heap blocks never freed, bytes and blocks */
	REPORT_SHOW_PEAK,	/* bytes live when the live total was highest */
	REPORT_SHOW_TEMPORARY,	/* heap blocks freed before the next allocation */
	REPORT_SHOW_SITE_PEAK,	/* each site's own highest live bytes (heaptrack's peak consumers) */
	REPORT_SHOW__MAX,
};

/* "live memory at the end of the trace", ...: what a view shows, for titles. */
const char *report_show_title(enum report_show show);
/* "live", "alloc", "count", "leaks", "peak", "temporary", "site-peak": as --show takes them. */
const char *report_show_name(enum report_show show);
/* The show named s, -1 when none is. */
int report_show_parse(const char *s);

/* The values of a report tree's nodes. */
enum {
	VIEW_VALUE = 0,		/* bytes, or with --show=count allocations */
	VIEW_CACHE = 1,		/* page cache bytes kept apart from the value (json) */
	VIEW_COUNT = 2,		/* --show=leaks: blocks; temporary: allocations */
};

/* One event type's section of the report, as the formats print its header. */
struct report_section {
	const char *event;		/* "page", "heap" */
	enum report_show show;
	bool reverse;			/* allocation sites first */
	bool has_count;			/* the nodes' VIEW_COUNT is shown (leaks, temporary) */
	uint64_t total;			/* bytes (--show=count: allocations), the top level's sum */
	uint64_t allocations;		/* allocation events behind total */
	uint64_t cache_total;		/* page cache bytes, apart from total (merge_cache) */
	uint64_t threshold_kib;		/* 0: no folding */
	double percent_limit;		/* --percent-limit, 0: none */
	uint64_t threshold;		/* the bytes (count) folding used: the larger of the two */
	uint64_t folded_paths;		/* paths folded into [other] nodes */
	uint64_t folded;		/* their bytes (count), page cache kept apart included */
	unsigned int keep_paths;	/* the paths shown whatever their size */
	uint64_t runtime_blocks;	/* --show=leaks: known runtime buffers left out */
	uint64_t runtime_bytes;
	uint64_t peak_ns;		/* --show=peak: when, from the trace's start */
	/*
	 * Events of this type the recording lost: a lost free leaves its
	 * allocation live (a leak that is none), a lost allocation is missing,
	 * so up to this many allocations of the figures may be wrong.
	 */
	uint64_t lost;
	/* record --heap-sample's interval: the figures are estimates from samples; 0: exact. */
	uint64_t sample_interval;
};

/*
 * What sec's losses do to its figures, in a sentence without a full stop
 * ("12 heap events were lost: up to 12 of these blocks may have been freed
 * ..."), into buf; "" when none were lost.
 */
const char *view__lost_note(const struct report_section *sec, char *buf, size_t size);

/* Paths a threshold never folds: a report is never [other] alone. */
#define VIEW_KEEP_PATHS 5

struct view_opts {
	enum report_show show;
	uint64_t threshold_kib;		/* folds nodes under it into [other]; 0: none */
	double percent_limit;		/* folds nodes under this percent of the total; 0: none */
	bool merge_cache;		/* the page tree holds the cache sites as VIEW_CACHE */
	/*
	 * Only the sites of these processes (all when npids is 0): serve's
	 * ?pid=, where the model holds every process (report filters as it reads).
	 */
	const uint32_t *pids;
	size_t npids;
};

/*
 * The tree of event type ev's sites as o shows them, with paths from p (whose
 * flags say reverse or not), into *out (the caller's to delete) and sec.
 * 0 or -ENOMEM.
 */
int view__build(struct paths *p, const struct view_opts *o, unsigned int ev, struct tree **out,
		struct report_section *sec);
/* The counts the sites need to keep (model__set_site_counts()) for a view of show. */
enum model_site_counts view__site_counts(enum report_show show);

/*
 * The pieces of view__build for views that make their own paths (report/fold.c):
 * sec as it begins, and whether o shows site, with its value and allocations
 * (counted into sec's totals) into *value and *nr.
 */
void view__section(struct paths *p, const struct view_opts *o, unsigned int ev,
		   struct report_section *sec);
bool view__site_value(struct paths *p, const struct view_opts *o, const struct model_site *site,
		      struct report_section *sec, uint64_t *value, uint64_t *nr);
/* Adds v to the path of site in t; and orders t's children as report does, folding none. */
int view__add_site(struct tree *t, struct paths *p, const struct model_site *site,
		   const uint64_t *v);
int view__finish_unfolded(struct paths *p, struct tree *t);

/*
 * diff: adds the sites of ev in the model of p to side which (0: OLD, 1: NEW)
 * of t, their live or allocated bytes.  0 or -ENOMEM.
 */
int view__diff_add(struct tree *t, struct paths *p, unsigned int ev, int which, bool live);
/*
 * Orders and folds a diff tree by the difference of its sides, into a last
 * child named other; *folded_paths and *folded (bytes of difference) say
 * what [other] nodes hold.
 */
int view__diff_finish(struct tree *t, uint32_t other, const struct strtab *names,
		      uint64_t threshold_kib, uint64_t *folded_paths);
/*
 * Whether a heap site is a known runtime buffer that --show=leaks leaves out:
 * allocated by libstdc++ while it initialized itself (its emergency exception
 * pool), which heaptrack and valgrind free at exit.
 */
bool view__runtime_buffer(struct paths *p, const struct model_site *site);
/* A diff node's difference, NEW - OLD, as magnitude and sign. */
uint64_t view__diff_delta(const struct tree_node *n, bool *negative);

/* The event types the model has events of or the trace header says were recorded. */
unsigned int view__events(const struct model *m, unsigned int header_events);

#endif
