/*
 * Process images (model/internal.h): a pid from its fork (or first sight) to
 * its exec or the reuse of its pid, with its name, its parent, its maps as
 * the MAP records give them, its lifetime for --stat, and its RSS samples.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/internal.h"

static void rss__set(struct model *m, uint32_t img, uint64_t bytes);

int image__new(struct model *m, uint32_t pid, uint32_t *idx)
{
	int err;

	if (m->nimages >= IMAGE_NONE)
		return -ENOMEM;
	err = ARRAY_RESERVE(m->images, m->images_cap, m->nimages + 1);
	if (err)
		return err;
	err = hmap__set(&m->pids, pid, 0, m->nimages);
	if (err)
		return err;
	m->images[m->nimages] = (struct image){
		.pid = pid, .parent = IMAGE_NONE,
		.proc = { .start_time = m->now, .prev = MODEL_IMAGE_NONE },
	};
	*idx = (uint32_t)m->nimages++;
	m->last_pid = pid;
	m->last_image = *idx;
	return 0;
}

/* The current image of pid, created when the trace had not shown pid before. */
int image_of(struct model *m, uint32_t pid, uint32_t *idx)
{
	uint64_t *v;

	if (m->last_image != IMAGE_NONE && m->last_pid == pid) {
		*idx = m->last_image;
		return 0;
	}
	v = hmap__find(&m->pids, pid, 0);
	if (!v)
		return image__new(m, pid, idx);
	*idx = (uint32_t)*v;
	m->last_pid = pid;
	m->last_image = *idx;
	return 0;
}

static void image__set_comm(struct image *im, const char *comm, size_t len)
{
	if (len >= MPF_COMM_LEN)
		len = MPF_COMM_LEN - 1;
	memcpy(im->comm, comm, len);
	im->comm[len] = '\0';
}

/* Each thread's latest name, for report --sort=thread. */
static int thread__set_comm(struct model *m, uint32_t tid, const char *comm)
{
	uint64_t *v = hmap__find(&m->thread_names, tid, 0);
	size_t i;
	int err;

	if (v) {
		i = *v;
	} else {
		err = ARRAY_RESERVE(m->thread_comms, m->thread_comms_cap, m->nthread_comms + 1);
		if (!err)
			err = hmap__set(&m->thread_names, tid, 0, m->nthread_comms);
		if (err)
			return err;
		i = m->nthread_comms++;
	}
	snprintf(m->thread_comms[i], MPF_COMM_LEN, "%.*s", MPF_COMM_LEN - 1, comm);
	return 0;
}

int model__on_comm(struct model *m, const struct mpf_comm *c)
{
	uint32_t img;
	struct image *im;
	int err = image_of(m, c->pid, &img);

	if (err)
		return err;
	im = &m->images[img];
	/* The process is named after its main thread; other threads name themselves. */
	if (c->tid == c->pid || !im->comm_from_leader) {
		if (c->tid == c->pid) {
			memcpy(im->comm_before, im->comm, MPF_COMM_LEN);
			im->renamed = true;
		}
		image__set_comm(im, c->comm, strnlen(c->comm, MPF_COMM_LEN));
		im->comm_from_leader = c->tid == c->pid;
	}
	return thread__set_comm(m, c->tid, c->comm);
}

/* Whether anc is img or one of the images it was forked from (as far as views look). */
static bool image__descends(const struct model *m, uint32_t img, uint32_t anc)
{
	for (int depth = 0; img != IMAGE_NONE && depth <= FORK_DEPTH_MAX; depth++) {
		if (img == anc)
			return true;
		img = m->images[img].parent;
	}
	return false;
}

int model__on_fork(struct model *m, const struct mpf_fork *f)
{
	uint32_t parent, child;
	uint64_t *v;
	int err;

	err = image_of(m, f->ppid, &parent);
	if (err)
		return err;
	/*
	 * A pid already seen and not exited is this child seen early (records
	 * from different CPUs can arrive slightly out of order); an exited one
	 * is being reused by a new process.
	 */
	v = hmap__find(&m->pids, f->pid, 0);
	if (v && !m->images[*v].exited && f->pid != f->ppid) {
		child = (uint32_t)*v;
		/* A process cannot be its own ancestor: such a FORK is nonsense, ignored. */
		if (m->images[child].parent != IMAGE_NONE || image__descends(m, parent, child))
			return 0;
	} else {
		err = image__new(m, f->pid, &child);
		if (err)
			return err;
	}
	m->images[child].parent = parent;
	m->images[child].parent_maps = m->images[parent].nmaps;
	if (!m->images[child].comm[0])
		memcpy(m->images[child].comm, m->images[parent].comm, MPF_COMM_LEN);
	return 0;
}

/* What an exec names the task: the basename of the file. */
static const char *name_base(const char *filename)
{
	const char *slash = strrchr(filename, '/');

	return slash ? slash + 1 : filename;
}

int model__on_exec(struct model *m, const struct mpf_exec *e)
{
	const char *name = e->filename ? e->filename : "";
	const char *slash = strrchr(name, '/');
	uint32_t img;
	int err;

	uint64_t *v = hmap__find(&m->pids, e->pid, 0);
	uint32_t prev = v ? (uint32_t)*v : MODEL_IMAGE_NONE;

	/* The old address space is gone: earlier stacks keep the old image and its maps. */
	err = image__new(m, e->pid, &img);
	if (err)
		return err;
	/* --stat shows a process from its fork to its exit, across its execs. */
	if (prev != MODEL_IMAGE_NONE && !m->images[prev].exited) {
		struct model_proc *pp = &m->images[prev].proc;
		struct image *pi = &m->images[prev];

		/*
		 * The kernel renames the task to the new program's basename during
		 * the exec, before the EXEC record: that rename names the new
		 * image, not what the old one was (`sh` before `sh -c 'exec app'`
		 * runs app).
		 */
		if (pi->renamed && pi->comm_before[0] &&
		    !strncmp(pi->comm, name_base(name), MPF_COMM_LEN - 1))
			memcpy(pi->comm, pi->comm_before, MPF_COMM_LEN);

		/* Its address space is gone: its RSS goes from the total, the new image's comes. */
		if (pp->has_rss && !pp->rss_gone)
			rss__set(m, prev, 0);
		pp->rss_gone = true;
		m->images[prev].proc.replaced = true;
		m->images[img].proc.prev = prev;
		m->images[img].proc.start_time = m->images[prev].proc.start_time;
	}
	if (e->args_len) {
		char *a = malloc(e->args_len + 1);

		if (!a)
			return -ENOMEM;
		memcpy(a, e->args, e->args_len);
		a[e->args_len] = '\0';
		/* argv's NULs become spaces; a last one ends it. */
		for (uint32_t i = 0; i + 1 < e->args_len; i++)
			if (!a[i])
				a[i] = ' ';
		m->images[img].proc.args = a;
	}
	if (slash)
		name = slash + 1;
	/* As the kernel does: the comm becomes the basename of what was exec'd. */
	image__set_comm(&m->images[img], name, strlen(name));
	m->images[img].comm_from_leader = true;
	return 0;
}

int model__on_exit(struct model *m, const struct mpf_record *rec)
{
	uint32_t img;
	int err = image_of(m, rec->exit.pid, &img);

	if (err)
		return err;
	if (!m->images[img].exited) {
		struct model_proc *pr = &m->images[img].proc;

		m->images[img].exited = true;
		m->images[img].exit_time = rec->time;
		pr->exited = true;
		pr->exit_time = rec->time;
		pr->exit_status = rec->exit.status;
		/* Its memory is gone with it: the sum of the live processes' RSS loses it. */
		if (pr->has_rss && !pr->rss_gone)
			rss__set(m, img, 0);
		pr->rss_gone = true;
	}
	return 0;
}

int model__on_map(struct model *m, const struct mpf_map *map)
{
	struct image *im;
	uint32_t img;
	int err;

	if (map->start >= map->end)
		return 0;
	err = image_of(m, map->pid, &img);
	if (err)
		return err;
	im = &m->images[img];
	err = ARRAY_RESERVE(im->maps, im->maps_cap, im->nmaps + 1);
	if (err)
		return err;
	im->maps[im->nmaps++] = (struct model_map){
		.start = map->start,
		.end = map->end,
		.pgoff = map->pgoff,
		.file_id = map->file_id,
		.prot = map->prot,
	};
	return 0;
}

/* ---- resident set samples (-e rss) ---- */

/*
 * The image's resident set is now bytes.  The total sums what is really
 * separate: a forked child that has not exec'd shares its parent's pages
 * (copy on write), and summing both would count a program twice, so such a
 * child has its own series but stays out of the total.
 */
static void rss__set(struct model *m, uint32_t img, uint64_t bytes)
{
	struct image *im = &m->images[img];
	uint64_t old = im->live[MPF_EV_RSS];
	bool shared = im->parent != IMAGE_NONE;

	im->live[MPF_EV_RSS] = bytes;
	/* What it added before, taken back: a FORK record may have come after its samples. */
	if (im->rss_in_total)
		m->rss_total -= old;
	im->rss_in_total = !shared;
	if (im->rss_in_total)
		m->rss_total += bytes;
	m->live_total[MPF_EV_RSS] = m->rss_total;
	if (!im->dirty)
		live__mark(m, img);
}

int model__on_rss(struct model *m, const struct mpf_rss *r)
{
	struct model_proc *pr;
	uint32_t img;
	int err = image_of(m, r->pid, &img);

	if (err)
		return err;
	pr = &m->images[img].proc;
	if (pr->rss_gone)
		return 0;
	if (!pr->has_rss)
		pr->rss_first = *r;
	pr->has_rss = true;
	pr->rss_last = *r;
	rss__set(m, img, r->anon + r->file + r->shmem);
	if (r->hwm > pr->rss_peak)
		pr->rss_peak = r->hwm;
	if (r->anon + r->file + r->shmem > pr->rss_peak)
		pr->rss_peak = r->anon + r->file + r->shmem;
	return 0;
}
