/* The processes of a trace as rows (report/procs.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/array.h"
#include "lib/hashmap.h"
#include "model/model.h"
#include "report/procs.h"

/* The row of an image's pid, made when first seen; NULL on no memory. */
static struct proc_row *row_of(struct procs *p, struct hmap *rows, struct model *m, uint32_t img)
{
	uint32_t pid = model__pid(m, img);
	const uint64_t *v = hmap__find(rows, pid, 0);

	if (v)
		return &p->v[*v];
	if (ARRAY_RESERVE(p->v, p->cap, p->n + 1) || hmap__set(rows, pid, 0, p->n))
		return NULL;
	p->v[p->n] = (struct proc_row){ .pid = pid, .image = img };
	return &p->v[p->n++];
}

int procs__build(struct model *m, struct procs *out)
{
	struct model_site sbuf;
	struct hmap rows = {};
	int err = -ENOMEM;

	out->n = 0;
	/* Images in the order they began: a pid's last one is its latest. */
	for (uint32_t img = 0; img < model__nr_images(m); img++) {
		const struct model_proc *pr = model__proc(m, img);
		struct proc_row *r = row_of(out, &rows, m, img);
		const char *comm = model__comm(m, img);

		if (!r)
			goto out;
		*r = (struct proc_row){ .pid = r->pid, .image = img, .exited = pr->exited };
		snprintf(r->comm, sizeof(r->comm), "%s", comm ? comm : "");
		if (pr->has_rss) {
			r->has_rss = true;
			r->rss = pr->rss_gone ? 0 : pr->rss_last.anon + pr->rss_last.file +
							     pr->rss_last.shmem;
			r->vm = pr->rss_gone ? 0 : pr->rss_last.vm;
			r->peak = pr->rss_peak;
		}
		r->mmaps = pr->calls[MPF_VM_MMAP];
		r->munmaps = pr->calls[MPF_VM_MUNMAP];
	}
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		for (size_t i = 0; i < model__nr_sites(m, ev); i++) {
			const struct model_site *s = model__site(m, ev, i, &sbuf);
			struct proc_row *r = row_of(out, &rows, m, s->image);

			if (!r)
				goto out;
			/* The sites of an image an exec replaced are not the process's now. */
			if (r->image != s->image)
				continue;
			r->live[ev] += s->live_bytes;
			r->allocs[ev] += s->alloc_nr;
			r->frees[ev] += s->alloc_nr - s->live_nr;
			r->alloc_bytes[ev] += s->alloc_bytes;
		}
	}
	err = 0;
out:
	hmap__free(&rows);
	return err;
}

uint64_t proc_row__allocs(const struct proc_row *r)
{
	uint64_t n = 0;

	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++)
		n += r->allocs[ev];
	return n;
}

static uint64_t sort_value(const struct proc_row *r, enum procs_sort key)
{
	switch (key) {
	case PROCS_SORT_RSS:
		return r->rss;
	case PROCS_SORT_VIRT:
		return r->vm;
	case PROCS_SORT_PEAK:
		return r->peak;
	case PROCS_SORT_HEAP:
		return r->live[MPF_EV_HEAP];
	case PROCS_SORT_PAGES:
		return r->live[MPF_EV_PAGE];
	case PROCS_SORT_CACHE:
		return r->live[MPF_EV_CACHE];
	case PROCS_SORT_MMAP:
		return r->mmaps;
	case PROCS_SORT_MUNMAP:
		return r->munmaps;
	case PROCS_SORT_ALLOCS:
		return proc_row__allocs(r);
	default:
		return 0;
	}
}

static enum procs_sort sort_key;

static int compare_rows(const void *a, const void *b)
{
	const struct proc_row *x = a, *y = b;
	uint64_t vx = sort_value(x, sort_key), vy = sort_value(y, sort_key);
	int c;

	if (sort_key == PROCS_SORT_NAME && (c = strcmp(x->comm, y->comm)))
		return c;
	if (vx != vy)
		return vx > vy ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void procs__sort(struct procs *p, enum procs_sort key)
{
	sort_key = key;
	qsort(p->v, p->n, sizeof(*p->v), compare_rows);
}

const struct proc_row *procs__find(const struct procs *p, uint32_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].pid == pid)
			return &p->v[i];
	return NULL;
}

void procs__free(struct procs *p)
{
	free(p->v);
	*p = (struct procs){};
}
