/*
 * --stat: one table per process, as a pipeline monitor logs them (sizes in
 * the adaptive units of lib/units.h): its
 * command, its lifetime and how it ended, its resident set at the start, at
 * the end and at its peak (-e rss), and per event type the bytes it
 * allocated and freed (pages, heap; pages that became page cache leave its
 * live bytes), added to and deleted from the page cache
 * (cache), mapped and unmapped (mmap), with its address space calls counted.
 * A process is shown from its fork to its exit: the images its execs replaced
 * are folded into the last one.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "lib/text.h"
#include "lib/units.h"
#include "model/model.h"
#include "output/output.h"

static void print_size(FILE *f, uint64_t bytes)
{
	fprintf(f, " %14s", SIZE(bytes));
}

/* "exited with 3", "killed by SIGKILL", as a shell would say it. */
static void print_status(FILE *f, int32_t status)
{
	if (WIFEXITED(status))
		fprintf(f, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(f, "killed by signal %d (%s)%s", WTERMSIG(status),
			sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
			WCOREDUMP(status) ? ", core dumped" : "");
	else
		fprintf(f, "status 0x%x", (unsigned int)status);
}

static void print_seconds(FILE *f, uint64_t t, uint64_t start)
{
	fprintf(f, "%.6f", t >= start ? (double)(t - start) / 1e9 : 0.0);
}

int output_stat__print(FILE *f, const struct model *m, const struct report_stat_opts *o)
{
	uint64_t proc_lost = model__lost(m, MPF_LOST_PROC);
	size_t shown = 0;

	fprintf(f, "# memprof report --stat: per process\n");
	if (proc_lost)
		fprintf(f, "# %" PRIu64 " process event%s lost: a process without an exit in "
			   "the trace may have exited (its end is unknown)\n",
			proc_lost, proc_lost == 1 ? " was" : "s were");
	output__lost_lines(f, m, o->events & ~(1u << MPF_EV_RSS));
	for (uint32_t img = 0; img < model__nr_images(m); img++) {
		const struct model_proc *p = model__proc(m, img), *q;
		uint64_t alloc[MPF_EV__MAX] = { 0 }, freed[MPF_EV__MAX] = { 0 };
		uint64_t calls[MPF_VM__MAX] = { 0 }, end = o->end_time, to_cache = 0;
		const char *comm = model__comm(m, img);
		const struct model_proc *rss_first = NULL;
		uint64_t rss_peak = 0;
		bool any = false;
		char name[MPF_COMM_LEN + 1], args[MPF_PATH_MAX + 1];

		size_t k;

		if (p->replaced)
			continue;
		for (k = 0; k < o->npids && o->pids[k] != model__pid(m, img); k++)
			;
		if (o->npids && k == o->npids)
			continue;
		/* The chain of images from the fork to this one: one process. */
		for (q = p; q; q = q->prev != MODEL_IMAGE_NONE ? model__proc(m, q->prev) : NULL) {
			for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
				alloc[ev] += q->alloc[ev];
				freed[ev] += q->freed[ev];
				any |= q->alloc[ev] || q->freed[ev];
			}
			for (unsigned int c = 0; c < MPF_VM__MAX; c++)
				calls[c] += q->calls[c];
			to_cache += q->to_cache;
			if (q->has_rss) {
				rss_first = q;
				if (q->rss_peak > rss_peak)
					rss_peak = q->rss_peak;
			}
			if (q->prev == MODEL_IMAGE_NONE)
				break;
		}
		for (k = 0; k < o->ncomms && (!comm || strcmp(comm, o->comms[k])); k++)
			;
		if (o->ncomms && k == o->ncomms)
			continue;
		snprintf(name, sizeof(name), "%s", comm ? comm : "[unknown]");
		if (shown++)
			fputc('\n', f);
		fprintf(f, "%s [%" PRIu32 "]", make_printable(name), model__pid(m, img));
		if (p->args) {
			snprintf(args, sizeof(args), "%s", p->args);
			fprintf(f, ": %s", make_printable(args));
		}
		fputs("\n  lifetime  ", f);
		print_seconds(f, p->start_time, o->start_time);
		fputs(" s to ", f);
		if (p->exited) {
			end = p->exit_time;
			print_seconds(f, end, o->start_time);
			fprintf(f, " s (%.6f s), ", end >= p->start_time
							    ? (double)(end - p->start_time) / 1e9
							    : 0.0);
			print_status(f, p->exit_status);
		} else {
			print_seconds(f, end, o->start_time);
			fprintf(f, " s (%.6f s), %s",
				end >= p->start_time ? (double)(end - p->start_time) / 1e9 : 0.0,
				proc_lost
					? "end unknown (no exit in the trace, process events lost)"
					: "running at the end of the trace");
		}
		fputc('\n', f);
		if (rss_first) {
			const struct mpf_rss *a = &rss_first->rss_first, *z = &p->rss_last;

			if (!p->has_rss)
				z = &rss_first->rss_last;
			fprintf(f, "  rss       start %s, end %s (anon %s, file %s, shmem %s), peak %s\n",
				SIZE(a->anon + a->file + a->shmem), SIZE(z->anon + z->file + z->shmem),
				SIZE(z->anon), SIZE(z->file), SIZE(z->shmem), SIZE(rss_peak));
		}
		if (any || (o->events & ~(1u << MPF_EV_RSS))) {
			fprintf(f, "  %-8s %14s %14s %14s\n", "event", "allocated", "freed",
				"live");
			for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
				/* Its pages that became page cache are no longer its own. */
				uint64_t gone = freed[ev] + (ev == MPF_EV_PAGE ? to_cache : 0);

				if (ev == MPF_EV_RSS || !(o->events & (1u << ev)))
					continue;
				fprintf(f, "  %-8s", mpf_event_name(ev));
				print_size(f, alloc[ev]);
				print_size(f, freed[ev]);
				print_size(f, alloc[ev] >= gone ? alloc[ev] - gone : 0);
				/* allocated - freed is not live there: say where the rest went. */
				if (ev == MPF_EV_PAGE && to_cache)
					fprintf(f, "   (%s became page cache)", SIZE(to_cache));
				fputc('\n', f);
			}
		}
		if (o->events & (1u << MPF_EV_MMAP)) {
			fputs("  calls    ", f);
			for (unsigned int c = 0; c < MPF_VM__MAX; c++)
				fprintf(f, "%s %s %" PRIu64, c ? "," : "", mpf_vm_call_name(c),
					calls[c]);
			fputc('\n', f);
		}
	}
	if (!shown)
		fprintf(f, "# no process in the trace%s\n",
			o->npids || o->ncomms ? " matches the filters" : "");
	return ferror(f) ? -EIO : 0;
}
