/*
 * memprof report's filters that match nothing (builtin/report.h): said on
 * stderr with what the trace holds (its processes' pids and names, its
 * length), not printed as an empty report.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "builtin/report.h"
#include "builtin/util.h"
#include "lib/text.h"
#include "lib/units.h"

/* "1000-1005, 2, 3": the pids of the trace, runs of consecutive ones joined. */
static void list_pids(const struct model *m, char *buf, size_t size)
{
	uint32_t pids[256];
	size_t n = 0, len = 0;

	for (uint32_t img = 0; img < model__nr_images(m) && n < 256; img++) {
		uint32_t pid = model__pid(m, img);
		size_t k;

		for (k = 0; k < n && pids[k] != pid; k++)
			;
		if (k == n)
			pids[n++] = pid;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		size_t j = i;

		while (j + 1 < n && pids[j + 1] == pids[j] + 1)
			j++;
		/* Two in a row are two numbers; three or more a range. */
		if (j < i + 2)
			j = i;
		if (j > i)
			len += snprintf(buf + len, size - len, "%s%" PRIu32 "-%" PRIu32, i ? ", " : "",
					pids[i], pids[j]);
		else
			len += snprintf(buf + len, size - len, "%s%" PRIu32, i ? ", " : "", pids[i]);
		i = j;
	}
}

/* "leaky, exiter, ...": the names of the trace's processes, each once. */
static void list_comms(const struct model *m, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (uint32_t img = 0; img < model__nr_images(m) && len < size; img++) {
		const char *c = model__comm(m, img), *p;
		bool seen = false;

		if (!c)
			continue;
		for (uint32_t k = 0; k < img && !seen; k++)
			seen = (p = model__comm(m, k)) && !strcmp(p, c);
		if (!seen)
			len += snprintf(buf + len, size - len, "%s%s", len ? ", " : "", c);
	}
	make_printable(buf);
}

int report__check_matched(const struct report *rp)
{
	const struct report_opts *o = rp->opts;
	const struct model *m = rp->model;
	char held[2048];
	uint64_t start = rp->in.hdr.start_time, end = model__last_time(m);

	if (!(o->filter.npids || o->filter.ntids || o->filter.ncomms || o->filter.has_time ||
	      o->filter.min_size || o->filter.max_size) ||
	    model__filtered(m)->events)
		return 0;
	if (o->pid_arg) {
		list_pids(m, held, sizeof(held));
		error("no allocation in '%s' matches --pid=%s; its processes are %s", o->in.path,
		      o->pid_arg, *held ? held : "none");
	}
	if (o->comm_arg) {
		list_comms(m, held, sizeof(held));
		error("no allocation in '%s' matches --comm=%s; its processes are named %s",
		      o->in.path, o->comm_arg, *held ? held : "nothing");
	}
	if (o->tid_arg)
		error("no allocation in '%s' matches --tid=%s; 'memprof script' gives each "
		      "event's pid/tid", o->in.path, o->tid_arg);
	if (o->time_arg)
		error("no allocation in '%s' is within --time=%s; the trace runs from 0 to %.6f s",
		      o->in.path, o->time_arg, end > start ? (double)(end - start) / 1e9 : 0.0);
	if (o->filter.min_size || o->filter.max_size) {
		char range[2 * UNITS_BUF + 16];

		if (!o->filter.max_size)
			snprintf(range, sizeof(range), "%s or more", SIZE(o->filter.min_size));
		else if (!o->filter.min_size)
			snprintf(range, sizeof(range), "%s or less", SIZE(o->filter.max_size));
		else
			snprintf(range, sizeof(range), "%s to %s", SIZE(o->filter.min_size),
				 SIZE(o->filter.max_size));
		error("no allocation in '%s' is of %s; --histogram without the size filters shows "
		      "the sizes it holds", o->in.path, range);
	}
	if (!o->pid_arg && !o->comm_arg && !o->tid_arg && !o->time_arg && !o->filter.min_size &&
	    !o->filter.max_size)
		error("no allocation in '%s' matches the filters", o->in.path);
	return 1;
}
