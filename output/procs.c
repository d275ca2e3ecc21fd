/*
 * The processes of a trace (report/procs.h) as the live views print them:
 * top's table (its screen and -b's text), serve's JSON list, and /metrics,
 * the Prometheus text exposition format: base units (bytes), counters ending
 * in _total, one family per figure, the process named by the
 * process-exporter's label, groupname, and its pid.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/units.h"
#include "model/model.h"
#include "output/escape.h"
#include "output/output.h"
#include "report/procs.h"

int output_procs__header(char *buf, size_t size)
{
	return snprintf(buf, size, "%7s %-15s %11s %11s %11s %11s %11s %11s %7s %7s %9s", "PID",
			"NAME", "RSS", "VIRT", "PEAK", "HEAP", "PAGES", "CACHE", "MMAP#", "MUNMAP#",
			"ALLOC/S");
}

int output_procs__row(char *buf, size_t size, const struct proc_row *r, double allocs_per_s)
{
	char rate[UNITS_BUF];

	snprintf(rate, sizeof(rate), "%.0f", allocs_per_s);
	return snprintf(buf, size, "%7" PRIu32 " %-15s %11s %11s %11s %11s %11s %11s %7" PRIu64
			" %7" PRIu64 " %9s",
			r->pid, r->comm[0] ? r->comm : "?", r->has_rss ? SIZE(r->rss) : "-",
			r->has_rss && r->vm ? SIZE(r->vm) : "-", r->has_rss ? SIZE(r->peak) : "-",
			SIZE(r->live[MPF_EV_HEAP]), SIZE(r->live[MPF_EV_PAGE]),
			SIZE(r->live[MPF_EV_CACHE]), r->mmaps, r->munmaps, rate);
}

int output_procs__json(FILE *f, const struct procs *p)
{
	fputc('[', f);
	for (size_t i = 0; i < p->n; i++) {
		const struct proc_row *r = &p->v[i];

		fprintf(f, "%s{\"pid\":%" PRIu32 ",\"name\":", i ? "," : "", r->pid);
		json_str(f, r->comm);
		fprintf(f, ",\"running\":%s,\"rss\":%" PRIu64 ",\"virtual\":%" PRIu64
			   ",\"peak\":%" PRIu64 ",\"heap\":%" PRIu64 ",\"pages\":%" PRIu64
			   ",\"cache\":%" PRIu64 ",\"mmaps\":%" PRIu64 ",\"munmaps\":%" PRIu64
			   ",\"allocations\":%" PRIu64 "}",
			r->exited ? "false" : "true", r->rss, r->vm, r->peak, r->live[MPF_EV_HEAP],
			r->live[MPF_EV_PAGE], r->live[MPF_EV_CACHE], r->mmaps, r->munmaps,
			proc_row__allocs(r));
	}
	fputs("]\n", f);
	return ferror(f) ? -EIO : 0;
}

/* A label value: backslash, double quote and line feed escaped, as the format asks. */
static void label_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* One metric family of the running processes, from a field of their rows. */
struct family {
	const char *name, *type, *help;
	int ev;			/* -1: one sample a process; else of that event type */
	uint64_t (*value)(const struct proc_row *r, unsigned int ev);
	bool rss;		/* known only with RSS samples */
};

static uint64_t f_rss(const struct proc_row *r, unsigned int ev)
{
	return r->rss;
}

static uint64_t f_vm(const struct proc_row *r, unsigned int ev)
{
	return r->vm;
}

static uint64_t f_peak(const struct proc_row *r, unsigned int ev)
{
	return r->peak;
}

static uint64_t f_live(const struct proc_row *r, unsigned int ev)
{
	return r->live[ev];
}

static uint64_t f_allocs(const struct proc_row *r, unsigned int ev)
{
	return r->allocs[ev];
}

static uint64_t f_frees(const struct proc_row *r, unsigned int ev)
{
	return r->frees[ev];
}

static uint64_t f_alloc_bytes(const struct proc_row *r, unsigned int ev)
{
	return r->alloc_bytes[ev];
}

static uint64_t f_mmaps(const struct proc_row *r, unsigned int ev)
{
	return r->mmaps;
}

static uint64_t f_munmaps(const struct proc_row *r, unsigned int ev)
{
	return r->munmaps;
}

static const struct family families[] = {
	{ "memprof_process_resident_memory_bytes", "gauge",
	  "Resident memory (RssAnon + RssFile + RssShmem) of the process's last RSS sample", -1,
	  f_rss, true },
	{ "memprof_process_virtual_memory_bytes", "gauge",
	  "Virtual memory size (VmSize) of the process's last RSS sample", -1, f_vm, true },
	{ "memprof_process_resident_memory_peak_bytes", "gauge",
	  "Highest resident memory (VmHWM) the process's RSS samples gave", -1, f_peak, true },
	{ "memprof_process_heap_live_bytes", "gauge",
	  "Bytes of heap blocks the process allocated while recorded and has not freed",
	  MPF_EV_HEAP, f_live, false },
	{ "memprof_process_pages_live_bytes", "gauge",
	  "Bytes of physical pages the process was given while recorded and still holds",
	  MPF_EV_PAGE, f_live, false },
	{ "memprof_process_page_cache_bytes", "gauge",
	  "Bytes of page cache the process added while recorded that are still cached",
	  MPF_EV_CACHE, f_live, false },
	{ "memprof_process_allocations_total", "counter",
	  "Allocations the process made while recorded, by event type", -2, f_allocs, false },
	{ "memprof_process_frees_total", "counter",
	  "Of those allocations, the ones freed, by event type", -2, f_frees, false },
	{ "memprof_process_allocated_bytes_total", "counter",
	  "Bytes the process allocated while recorded, by event type", -2, f_alloc_bytes, false },
	{ "memprof_process_mmap_calls_total", "counter",
	  "Successful mmap calls of the process (record -e mmap)", -1, f_mmaps, false },
	{ "memprof_process_munmap_calls_total", "counter",
	  "Successful munmap calls of the process (record -e mmap)", -1, f_munmaps, false },
};

/* The event types allocations are counted of: those with stacks. */
static const unsigned int alloc_events[] = { MPF_EV_PAGE, MPF_EV_HEAP, MPF_EV_CACHE };

static void sample(FILE *f, const char *name, const struct proc_row *r, const char *event,
		   uint64_t v)
{
	fprintf(f, "%s{groupname=\"", name);
	label_str(f, r->comm[0] ? r->comm : "?");
	fprintf(f, "\",pid=\"%" PRIu32 "\"", r->pid);
	if (event)
		fprintf(f, ",event=\"%s\"", event);
	fprintf(f, "} %" PRIu64 "\n", v);
}

int output_metrics__print(FILE *f, const struct model *m, const struct procs *p,
			  unsigned int events)
{
	for (size_t k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
		const struct family *fa = &families[k];

		if (fa->ev >= 0 && !(events & (1u << fa->ev)))
			continue;
		if (fa->rss && !(events & (1u << MPF_EV_RSS)))
			continue;
		if (fa->value == f_mmaps || fa->value == f_munmaps)
			if (!(events & (1u << MPF_EV_MMAP)))
				continue;
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fa->name, fa->help, fa->name, fa->type);
		/* Running processes only: an exited one's series ends, as process-exporter's do. */
		for (size_t i = 0; i < p->n; i++) {
			const struct proc_row *r = &p->v[i];

			if (r->exited || (fa->rss && !r->has_rss))
				continue;
			/* Samples of traces before 1.4 have no virtual size: not known, not 0. */
			if (fa->value == f_vm && !r->vm)
				continue;
			if (fa->ev == -2) {
				for (size_t e = 0; e < sizeof(alloc_events) / sizeof(alloc_events[0]);
				     e++)
					if (events & (1u << alloc_events[e]))
						sample(f, fa->name, r, mpf_event_name(alloc_events[e]),
						       fa->value(r, alloc_events[e]));
			} else {
				sample(f, fa->name, r, NULL, fa->value(r, fa->ev < 0 ? 0 : fa->ev));
			}
		}
	}
	/* The recording's own counters: losses cannot be told to a process. */
	fputs("# HELP memprof_events_total Events recorded, by event type\n"
	      "# TYPE memprof_events_total counter\n", f);
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		if (events & (1u << ev))
			fprintf(f, "memprof_events_total{event=\"%s\"} %" PRIu64 "\n",
				mpf_event_name(ev), model__stats(m)->events[ev]);
	fputs("# HELP memprof_lost_events_total Events the kernel side could not send, by event "
	      "type (process: forks, execs, exits)\n"
	      "# TYPE memprof_lost_events_total counter\n", f);
	for (unsigned int ev = 0; ev < MPF_LOST__MAX; ev++)
		if (ev == MPF_LOST_PROC || (events & (1u << ev)))
			fprintf(f, "memprof_lost_events_total{event=\"%s\"} %" PRIu64 "\n",
				mpf_lost_name(ev), model__lost(m, ev));
	return ferror(f) ? -EIO : 0;
}
