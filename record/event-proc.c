/*
 * Process events into trace records: renames, forks, execs, exits and
 * executable mappings, with what record keeps of each target following them:
 * its maps (rescanned on exec and on executable mmaps), its RSS samples, its
 * heap probes, and its entry in the kernel side's table of targets.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "record/events.h"

/* The kernel side's mapping rights are the file's (MPF_PROT_*). */
_Static_assert(MP_PROT_READ == MPF_PROT_READ && MP_PROT_WRITE == MPF_PROT_WRITE &&
		       MP_PROT_EXEC == MPF_PROT_EXEC,
	       "MP_PROT_* are MPF_PROT_*");

static void write_comm(struct recorder *r, uint64_t time, pid_t pid, pid_t tid, const char *comm)
{
	struct mpf_record rec = { .type = MPF_REC_COMM, .time = time };

	size_t n = strnlen(comm, sizeof(rec.comm.comm) - 1);

	rec.comm.pid = pid;
	rec.comm.tid = tid;
	memcpy(rec.comm.comm, comm, n);
	rec.comm.comm[n] = '\0';
	recorder__write(r, &rec);
}

int event__comm(struct recorder *r, const void *data, size_t size)
{
	const struct mp_comm *e = data;
	char comm[MP_COMM_LEN + 1] = {};

	if (size < sizeof(*e))
		return 0;
	r->proc_events++;
	memcpy(comm, e->comm, MP_COMM_LEN);
	write_comm(r, r->ev_time, e->hdr.pid, e->hdr.tid, comm);
	return r->write_err;
}

int event__fork(struct recorder *r, const void *data, size_t size)
{
	const struct mp_fork *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .type = MPF_REC_FORK, .time = r->ev_time };
	char comm[MP_COMM_LEN + 1] = {};

	if (size < sizeof(*e))
		return 0;
	r->proc_events++;
	r->forks++;
	rss__add(r, h->pid);
	procmaps__inherit(r->maps, e->ppid, h->pid);
	rec.fork.ppid = e->ppid;
	rec.fork.pid = h->pid;
	if (!r->probe_pid) {
		int err = mp_bpf__inherit_heap(r->bpf, e->ppid, h->pid);

		/* A child gone already is counted, not warned of one by one. */
		if (err < 0 && err != -ESRCH && err != -ENOENT)
			recorder__note(r, NOTE_CHILD_FAILED, h->pid, NULL, err);
		recorder__child_probed(r, e->ppid, h->pid, r->ev_time, err);
	}
	if (recorder__write(r, &rec))
		return r->write_err;
	memcpy(comm, e->comm, MP_COMM_LEN);
	write_comm(r, r->ev_time, h->pid, h->tid, comm);
	return r->write_err;
}

int event__exec(struct recorder *r, const void *data, size_t size)
{
	const struct mp_exec *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .type = MPF_REC_EXEC, .time = r->ev_time };
	char comm[MP_COMM_LEN + 1] = {}, file[MP_FILENAME_LEN + 1] = {}, path[MPF_PATH_MAX];

	if (size < sizeof(*e))
		return 0;
	r->proc_events++;
	r->execs++;
	memcpy(comm, e->comm, MP_COMM_LEN);
	memcpy(file, e->filename, MP_FILENAME_LEN);
	rec.exec.pid = h->pid;
	rec.exec.filename = file;
	rec.exec.args = e->args;
	rec.exec.args_len = e->args_len < MP_ARGS_LEN ? e->args_len : MP_ARGS_LEN;
	if (recorder__write(r, &rec))
		return r->write_err;
	rss__add(r, h->pid);
	write_comm(r, r->ev_time, h->pid, h->tid, comm);
	procmaps__forget(r->maps, h->pid, false);
	leaf__forget(r->leaf);
	/* Gone already?  Its text, as the kernel side saw it, is enough for its frames. */
	procmaps__scan_for(r->maps, h->pid, r->ev_time, &e->text,
			   event__path(e->path, sizeof(e->path), path, sizeof(path)));
	recorder__sync_cfi(r, h->pid);
	/* --comm, --exec: a process found as it starts, recorded until it (and its children) exit. */
	if ((h->flags & MP_HDR_MATCHED) && !r->opts.all) {
		recorder__add_root(r, h->pid);
		r->found++;
		recorder__note(r, NOTE_FOUND, h->pid, comm, 0);
	}
	return r->write_err;
}

int event__exit(struct recorder *r, const void *data, size_t size)
{
	const struct mp_exit *e = data;
	const struct mp_hdr *h = &e->hdr;
	struct mpf_record rec = { .type = MPF_REC_EXIT, .time = r->ev_time };

	if (size < sizeof(*e))
		return 0;
	r->proc_events++;
	r->exits++;
	/* Its resident set as it leaves, exact: the last sample may be long before. */
	if (e->valid && (r->opts.events & (1u << MPF_EV_RSS))) {
		struct mpf_record rss = { .type = MPF_REC_RSS, .time = r->ev_time };
		uint64_t ps = sysconf(_SC_PAGESIZE);

		rss.rss = (struct mpf_rss){ .pid = h->pid, .anon = e->anon * ps, .file = e->file * ps,
					    .shmem = e->shmem * ps, .hwm = e->hwm * ps };
		if (recorder__write(r, &rss))
			return r->write_err;
	}
	rec.exit.pid = h->pid;
	rec.exit.status = e->status;
	rss__remove(r, h->pid);
	procmaps__forget(r->maps, h->pid, true);
	leaf__forget(r->leaf);
	mp_bpf__forget_target(r->bpf, h->pid);
	if (!r->probe_pid) {
		mp_bpf__detach_heap(r->bpf, h->pid);
		recorder__child_exited(r, h->pid, r->ev_time);
	}
	recorder__exited(r, h->pid);
	recorder__write(r, &rec);
	return r->write_err;
}

int event__mmap_exec(struct recorder *r, const void *data, size_t size)
{
	const struct mp_mmap *e = data;
	const struct mp_hdr *h = &e->hdr;
	char path[MPF_PATH_MAX];

	if (size < sizeof(*e))
		return 0;
	r->proc_events++;
	leaf__forget(r->leaf);
	procmaps__scan_for(r->maps, h->pid, r->ev_time, &e->vma,
			   event__path(e->path, sizeof(e->path), path, sizeof(path)));
	recorder__sync_cfi(r, h->pid);
	return r->write_err;
}
