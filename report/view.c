/* The views of a trace (report/view.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/strtab.h"

#include "format/mpf.h"
#include "model/model.h"
#include "report/view.h"

static const char *const show_names[] = {
	[REPORT_SHOW_LIVE] = "live",	     [REPORT_SHOW_ALLOC] = "alloc",
	[REPORT_SHOW_COUNT] = "count",	     [REPORT_SHOW_LEAKS] = "leaks",
	[REPORT_SHOW_PEAK] = "peak",	     [REPORT_SHOW_TEMPORARY] = "temporary",
	[REPORT_SHOW_SITE_PEAK] = "site-peak",
};

const char *report_show_title(enum report_show show)
{
	switch (show) {
	case REPORT_SHOW_LIVE:
		return "live memory at the end of the trace";
	case REPORT_SHOW_COUNT:
		return "allocations during the trace";
	case REPORT_SHOW_LEAKS:
		return "heap blocks never freed during the trace";
	case REPORT_SHOW_PEAK:
		return "live memory at its peak";
	case REPORT_SHOW_TEMPORARY:
		return "temporary heap allocations, freed before their thread allocated again";
	case REPORT_SHOW_SITE_PEAK:
		return "each allocation site's own peak of live memory";
	default:
		return "memory allocated during the trace";
	}
}

const char *report_show_name(enum report_show show)
{
	return (unsigned int)show < REPORT_SHOW__MAX ? show_names[show] : "live";
}

int report_show_parse(const char *s)
{
	for (int i = 0; i < REPORT_SHOW__MAX; i++)
		if (!strcmp(s, show_names[i]))
			return i;
	return -1;
}

const char *view__lost_note(const struct report_section *sec, char *buf, size_t size)
{
	const char *what;

	buf[0] = '\0';
	if (!sec->lost)
		return buf;
	switch (sec->show) {
	case REPORT_SHOW_LEAKS:
		what = "of these blocks may have been freed by a free that was lost, not leaked";
		break;
	case REPORT_SHOW_LIVE:
	case REPORT_SHOW_PEAK:
		what = "of these allocations may have been freed by a free that was lost, and "
		       "allocations that were lost are missing";
		break;
	case REPORT_SHOW_TEMPORARY:
		what = "of these may not be temporary, and allocations that were lost are missing";
		break;
	default:
		what = "allocations may be missing from these figures";
		break;
	}
	snprintf(buf, size, "%" PRIu64 " %s event%s lost: up to %" PRIu64 " %s", sec->lost,
		 sec->event, sec->lost == 1 ? " was" : "s were", sec->lost, what);
	return buf;
}

/* A report node's weight: its bytes, the page cache kept apart included. */
static uint64_t report_weight(const struct tree_node *n)
{
	return n->v[VIEW_VALUE] + n->v[VIEW_CACHE];
}

static const struct tree_order report_order = { .weight = report_weight };

/* The basename of the file mapped at addr in image, NULL when none is. */
static const char *file_at(struct model *m, uint32_t image, uint64_t addr)
{
	const struct model_map *map = model__find_map(m, image, addr);
	const struct model_file *f = map && map->file_id ? model__file(m, map->file_id) : NULL;
	const char *base;

	if (!f)
		return NULL;
	base = strrchr(f->path, '/');
	return base ? base + 1 : f->path;
}

/* Adds v to the path of site in t: from the site's remembered node when it can. */
int view__add_site(struct tree *t, struct paths *p, const struct model_site *site,
		   const uint64_t *v)
{
	uint32_t path[PATH_MAX_NAMES], node;
	size_t n;
	int err = paths__site_node(p, t, site, &node);

	if (err > 0) {
		tree__add_at(t, node, v);
		return 0;
	}
	if (!err)
		err = paths__site(p, site, path, &n);
	if (!err)
		err = tree__add(t, path, n, v);
	return err;
}

bool view__runtime_buffer(struct paths *p, const struct model_site *site)
{
	struct model_stack st;
	const char *file;

	model__stack(p->m, site->stack, &st);
	if (!st.nr)
		return false;
	file = file_at(p->m, site->image, st.ips[0]);
	if (!file || strncmp(file, "libstdc++.so", 12))
		return false;
	/* Called by libstdc++ itself or the dynamic loader running its constructor only. */
	for (uint32_t i = 1; i < st.nr; i++) {
		file = file_at(p->m, site->image, st.ips[i] ? st.ips[i] - 1 : 0);
		if (file && strncmp(file, "libstdc++.so", 12) && strncmp(file, "ld-linux", 8) &&
		    strncmp(file, "ld.so", 5) && strncmp(file, "ld-", 3))
			return false;
	}
	return true;
}

/* Whether o shows the sites of image img. */
static bool view__shows(const struct paths *p, const struct view_opts *o, uint32_t img)
{
	uint32_t pid = model__pid(p->m, img);

	for (size_t i = 0; i < o->npids; i++)
		if (o->pids[i] == pid)
			return true;
	return !o->npids;
}

void view__section(struct paths *p, const struct view_opts *o, unsigned int ev,
		   struct report_section *sec)
{
	bool count = o->show == REPORT_SHOW_COUNT;

	*sec = (struct report_section){
		.event = mpf_event_name(ev),
		.show = o->show,
		.reverse = p->flags & PATH_REVERSE,
		.has_count = o->show == REPORT_SHOW_LEAKS || o->show == REPORT_SHOW_TEMPORARY,
		.threshold_kib = count ? 0 : o->threshold_kib,
		.lost = model__lost(p->m, ev),
		.sample_interval = ev == MPF_EV_HEAP ? model__heap_sample(p->m) : 0,
		.percent_limit = o->percent_limit,
		.keep_paths = VIEW_KEEP_PATHS,
	};
}

enum model_site_counts view__site_counts(enum report_show show)
{
	switch (show) {
	case REPORT_SHOW_LIVE:
	case REPORT_SHOW_PEAK:
	case REPORT_SHOW_LEAKS:
		return MODEL_COUNTS_LIVE;
	case REPORT_SHOW_TEMPORARY:
	case REPORT_SHOW_SITE_PEAK:
		return MODEL_COUNTS_ALL;
	default:
		return MODEL_COUNTS_BASIC;
	}
}

/* Site i of type ev, or with only_live the first from i on with live blocks. */
static size_t next_site(const struct paths *p, unsigned int ev, bool only_live, size_t i)
{
	return only_live ? model__next_live_site(p->m, ev, i) : i;
}

bool view__site_value(struct paths *p, const struct view_opts *o, const struct model_site *site,
		      struct report_section *sec, uint64_t *value, uint64_t *nr)
{
	bool live = o->show == REPORT_SHOW_LIVE || o->show == REPORT_SHOW_PEAK;
	bool count = o->show == REPORT_SHOW_COUNT;
	bool leaks = o->show == REPORT_SHOW_LEAKS;
	bool tmp = o->show == REPORT_SHOW_TEMPORARY;
	bool speak = o->show == REPORT_SHOW_SITE_PEAK;

	*value = count		 ? site->alloc_nr
		 : live || leaks ? site->live_bytes
		 : tmp		 ? site->tmp_bytes
		 : speak	 ? site->peak_bytes
				 : site->alloc_bytes;
	*nr = live || leaks ? site->live_nr
	      : tmp	    ? site->tmp_nr
	      : speak	    ? site->peak_nr
			    : site->alloc_nr;
	/* Blocks of 0 bytes (malloc(0)) are in no path: not counted either. */
	if (((leaks || tmp) && !*value) || !view__shows(p, o, site->image))
		return false;
	if (leaks && *value && view__runtime_buffer(p, site)) {
		sec->runtime_blocks += *nr;
		sec->runtime_bytes += *value;
		return false;
	}
	sec->allocations += *nr;
	sec->total += *value;
	return *value != 0;
}

int view__build(struct paths *p, const struct view_opts *o, unsigned int ev, struct tree **out,
		struct report_section *sec)
{
	struct model_site sbuf;
	bool live = o->show == REPORT_SHOW_LIVE || o->show == REPORT_SHOW_PEAK;
	bool count = o->show == REPORT_SHOW_COUNT;
	bool speak = o->show == REPORT_SHOW_SITE_PEAK;
	bool leaks = o->show == REPORT_SHOW_LEAKS;
	struct tree_fold fold = { .other = p->other, .keep_paths = VIEW_KEEP_PATHS };
	uint64_t threshold = 0;
	struct tree *t;
	int err;

	t = *out = tree__new();
	if (!t)
		return -ENOMEM;
	view__section(p, o, ev, sec);
	/* Live or leaks: the sites with live blocks only, all view__site_value() would count. */
	for (size_t i = next_site(p, ev, live || leaks, 0); i < model__nr_sites(p->m, ev);
	     i = next_site(p, ev, live || leaks, i + 1)) {
		const struct model_site *site = model__site(p->m, ev, i, &sbuf);
		uint64_t value, nr;

		if (!view__site_value(p, o, site, sec, &value, &nr))
			continue;
		err = view__add_site(t, p, site,
				     (uint64_t[TREE_VALUES]){ [VIEW_VALUE] = value, [VIEW_COUNT] = nr });
		if (err)
			return err;
	}
	/* TezEdge's tree: a node's value, its page cache apart as cacheValue. */
	for (size_t i = 0; ev == MPF_EV_PAGE && o->merge_cache &&
			   i < model__nr_sites(p->m, MPF_EV_CACHE);
	     i++) {
		const struct model_site *site = model__site(p->m, MPF_EV_CACHE, i, &sbuf);
		uint64_t value = live ? site->live_bytes : speak ? site->peak_bytes
								 : site->alloc_bytes;

		if (!value || !view__shows(p, o, site->image))
			continue;
		sec->cache_total += value;
		err = view__add_site(t, p, site, (uint64_t[TREE_VALUES]){ [VIEW_CACHE] = value });
		if (err)
			return err;
	}
	/* --threshold is in KiB of bytes; counts are folded by --percent-limit alone. */
	if (sec->threshold_kib && !count)
		threshold = sec->threshold_kib > UINT64_MAX / 1024 ? UINT64_MAX
								     : sec->threshold_kib * 1024;
	if (o->percent_limit > 0) {
		double total = (double)(sec->total + sec->cache_total);
		uint64_t pct = (uint64_t)(total * o->percent_limit / 100.0);

		/* A node exactly at the limit stays: "under" is strictly less. */
		if (pct > threshold)
			threshold = pct;
	}
	sec->threshold = threshold;
	fold.threshold = threshold;
	err = tree__finish(t, p->names, &report_order, &fold);
	sec->folded_paths = fold.folded_paths;
	sec->folded = fold.folded[VIEW_VALUE] + fold.folded[VIEW_CACHE];
	return err;
}

int view__finish_unfolded(struct paths *p, struct tree *t)
{
	struct tree_fold fold = { .other = p->other };

	return tree__finish(t, p->names, &report_order, &fold);
}

int view__diff_add(struct tree *t, struct paths *p, unsigned int ev, int which, bool live)
{
	struct model_site sbuf;
	int err;

	/* Only a site with live blocks may have live bytes. */
	for (size_t i = next_site(p, ev, live, 0); i < model__nr_sites(p->m, ev);
	     i = next_site(p, ev, live, i + 1)) {
		const struct model_site *site = model__site(p->m, ev, i, &sbuf);
		uint64_t v[TREE_VALUES] = { 0 };

		v[which] = live ? site->live_bytes : site->alloc_bytes;
		if (!v[which])
			continue;
		err = view__add_site(t, p, site, v);
		if (err)
			return err;
	}
	return 0;
}

uint64_t view__diff_delta(const struct tree_node *n, bool *negative)
{
	*negative = n->v[1] < n->v[0];
	return *negative ? n->v[0] - n->v[1] : n->v[1] - n->v[0];
}

static uint64_t diff_weight(const struct tree_node *n)
{
	bool negative;

	return view__diff_delta(n, &negative);
}

/* Among equal differences, the larger NEW first. */
static uint64_t diff_second(const struct tree_node *n)
{
	return n->v[1];
}

static const struct tree_order diff_order = { .weight = diff_weight, .second = diff_second };

int view__diff_finish(struct tree *t, uint32_t other, const struct strtab *names,
		      uint64_t threshold_kib, uint64_t *folded_paths)
{
	struct tree_fold fold = {
		.threshold = threshold_kib > UINT64_MAX / 1024 ? UINT64_MAX : threshold_kib * 1024,
		.other = other,
		.keep_paths = VIEW_KEEP_PATHS,
	};
	int err = tree__finish(t, names, &diff_order, &fold);

	*folded_paths = fold.folded_paths;
	return err;
}

unsigned int view__events(const struct model *m, unsigned int header_events)
{
	const struct model_stats *st = model__stats(m);
	unsigned int mask = header_events & ((1u << MPF_EV__MAX) - 1);

	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		if (st->events[ev])
			mask |= 1u << ev;
	return mask;
}
