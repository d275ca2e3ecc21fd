/*
 * One recording (record/recorder.h): the BPF programs loaded and attached to
 * the target, the event loop that turns their events into the trace, the
 * heap probes put on each C library the targets map, and the end: every
 * program detached, the buffer drained, the END record with the totals.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record/recorder.h"

void recorder__init(struct recorder *r, const struct recorder_opts *o)
{
	*r = (struct recorder){
		.opts = *o,
		.wl = { .pid = -1, .go_fd = -1, .err_fd = -1 },
	};
}

int recorder__load(struct recorder *r)
{
	const struct mp_bpf_opts bo = {
		.page = r->opts.events & (1u << MPF_EV_PAGE),
		.heap = r->opts.events & (1u << MPF_EV_HEAP),
		.cache = r->opts.events & (1u << MPF_EV_CACHE),
		.mmap = r->opts.events & (1u << MPF_EV_MMAP),
		.inherit = r->opts.inherit,
		.stack_mode = r->opts.stack_mode,
		.dwarf_size = r->opts.dwarf_size,
		.buffer_size = r->opts.buffer_size,
		.page_frames = system__page_frames(),
	};

	/*
	 * A launched command is probed in every process: its children (and what
	 * they exec) are then recorded from their first instruction.  A running
	 * process is probed alone, so that the rest of the system does not pay
	 * for it; its new children get probes as their fork is seen.
	 */
	r->probe_pid = r->opts.argv || r->opts.probe_all ? -1 : 0;
	return mp_bpf__load(&r->bpf, &bo, recorder__event, r);
}

/* Heap probes on the C library at path (open_path as record reaches it), as r's targets need. */
static int probe_libc(struct recorder *r, pid_t pid, const char *open_path, const char *path)
{
	const struct probe_site *sites;
	int n = mp_bpf__attach_heap(r->bpf, open_path, pid, &sites);

	for (int i = 0; i > 0 && sites && i < n; i++) {
		const struct recorder_note note = {
			.kind = NOTE_PROBE_SITE, .path = path, .site = &sites[i]
		};

		if (!sites[i].emulated)
			r->single_step++;
		if (r->note)
			r->note(r->note_ctx, &note);
	}
	return n;
}

/* A new ELF file in a target: if it is a libc, the heap probes go on it. */
static void on_new_file(void *ctx, pid_t pid, const char *open_path, const char *path)
{
	struct recorder *r = ctx;
	const char *base = strrchr(path, '/');
	int n;

	base = base ? base + 1 : path;
	if (!(r->opts.events & (1u << MPF_EV_HEAP)) || strncmp(base, "libc.so", 7))
		return;
	n = probe_libc(r, r->probe_pid ? r->probe_pid : pid, open_path, path);
	if (n < 0) {
		recorder__note(r, NOTE_HEAP_FAILED, pid, path, n);
	} else if (n > 0) {
		const struct recorder_note note = { .kind = NOTE_HEAP_PROBED, .path = path, .count = n };

		if (r->note)
			r->note(r->note_ctx, &note);
	}
}

/* The heap probes go on our own libc before the command runs: it is almost always its libc. */
static int probe_own_libc(struct recorder *r)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int err = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/'), *base;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		base = strrchr(path, '/') + 1;
		if (!strncmp(base, "libc.so", 7)) {
			err = probe_libc(r, -1, path, path);
			break;
		}
	}
	fclose(f);
	return err < 0 ? err : 0;
}

static void write_lost(struct recorder *r, uint64_t time)
{
	uint64_t lost[MP_LOST__MAX];
	static const unsigned int ev_of[MP_LOST__MAX] = {
		[MP_LOST_PAGE] = MPF_EV_PAGE,
		[MP_LOST_HEAP] = MPF_EV_HEAP,
		[MP_LOST_OTHER] = MPF_EV__MAX,
		[MP_LOST_CACHE] = MPF_EV_CACHE,
		[MP_LOST_MMAP] = MPF_EV_MMAP,
	};

	if (mp_bpf__lost(r->bpf, lost))
		return;
	for (int i = 0; i < MP_LOST__MAX; i++) {
		struct mpf_record rec = { .type = MPF_REC_LOST, .time = time };

		if (lost[i] == r->lost_written[i] || ev_of[i] == MPF_EV__MAX)
			continue;
		rec.lost.event = ev_of[i];
		rec.lost.count = lost[i] - r->lost_written[i];
		r->lost_written[i] = lost[i];
		recorder__write(r, &rec);
	}
}

static void write_info(struct recorder *r, int argc, char **argv)
{
	struct mpf_record rec = { .type = MPF_REC_INFO, .time = now_ns(CLOCK_MONOTONIC) };
	char host[256] = "", cmdline[4096] = "";
	struct utsname u;
	size_t len = 0;

	gethostname(host, sizeof(host) - 1);
	uname(&u);
	for (int i = 0; i < argc && len < sizeof(cmdline); i++)
		len += snprintf(cmdline + len, sizeof(cmdline) - len, "%s%s", i ? " " : "",
				argv[i]);
	static const char *const modes[] = {
		[MP_STACK_FP] = "fp", [MP_STACK_DWARF] = "dwarf", [MP_STACK_NONE] = "none",
	};
	const char *mode = r->opts.stack_mode < sizeof(modes) / sizeof(modes[0]) &&
				   modes[r->opts.stack_mode]
			   ? modes[r->opts.stack_mode]
			   : "?";
	/* What report --header shows of the recording. */
	const char *kv[][2] = {
		{ "memprof", MEMPROF_VERSION }, { "hostname", host }, { "release", u.release },
		{ "machine", u.machine }, { "cmdline", cmdline }, { "call-graph", mode },
	};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		rec.info.key = kv[i][0];
		rec.info.value = kv[i][1];
		recorder__write(r, &rec);
	}
}

int recorder__start(struct recorder *r, struct mpf_writer *w, int argc, char **argv,
		    enum recorder_stage *stage)
{
	bool heap = r->opts.events & (1u << MPF_EV_HEAP);
	int err;

	r->w = w;
	*stage = STAGE_MEMORY;
	r->maps = procmaps__new(r->w, on_new_file, r, !r->opts.no_buildid_cache);
	if (!r->maps)
		return -ENOMEM;
	if (r->opts.stack_mode == MP_STACK_FP) {
		r->leaf = leaf__new(r->maps);
		if (!r->leaf)
			return -ENOMEM;
	}
	write_info(r, argc, argv);

	*stage = STAGE_ATTACH;
	err = mp_bpf__add_target(r->bpf, r->target, r->opts.pid ? MP_TARGET_ON : MP_TARGET_AT_EXEC);
	if (!err)
		err = mp_bpf__attach_tracepoints(r->bpf);
	if (err)
		return err;
	*stage = STAGE_HEAP_PROBES;
	if (heap && r->opts.argv && (err = probe_own_libc(r)) < 0)
		return err;
	if (r->opts.pid) {
		struct mpf_record rec = { .type = MPF_REC_COMM, .time = r->start_time };

		rss__add(r, r->target);
		rec.comm.pid = rec.comm.tid = r->target;
		memcpy(rec.comm.comm, r->target_comm, sizeof(rec.comm.comm));
		recorder__write(r, &rec);
		*stage = STAGE_MAPS;
		err = procmaps__scan(r->maps, r->target, r->start_time);
		if (err)
			return err;
	}
	return 0;
}

int recorder__run(struct recorder *r, volatile sig_atomic_t *stop)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC), last_flush = start;
	int err, status;

	while (!r->write_err) {
		uint64_t now;

		if (*stop) {
			r->stopped = true;
			break;
		}
		err = mp_bpf__poll(r->bpf, r->nrss ? (int)r->opts.rss_interval : 100);
		if (err && !r->write_err)
			return err;
		if (r->target_exited)
			break;
		if (r->wl.pid > 0 && waitpid(r->wl.pid, &status, WNOHANG) == r->wl.pid) {
			r->wl.pid = 0;
			r->wl.status = status;
			break;
		}
		if (r->opts.pid && kill(r->target, 0) && errno == ESRCH)
			break;
		now = now_ns(CLOCK_MONOTONIC);
		if (r->nrss && now >= r->rss_next)
			rss__sample(r, now);
		if (r->opts.duration && now - start >= r->opts.duration * 1000000000ull) {
			r->stopped = true;
			break;
		}
		if (now - last_flush >= 1000000000ull) {
			/* A recorder killed with -9 loses at most the last second. */
			write_lost(r, now);
			err = mpf_writer__flush(r->w);
			if (err && !r->write_err)
				r->write_err = err;
			last_flush = now;
		}
	}
	return 0;
}

void recorder__finish(struct recorder *r)
{
	struct mpf_writer_stats st;
	struct mpf_record end = { .type = MPF_REC_END };

	/* Pages a running target unmapped last are freed now, not never. */
	system__drain_lru_batches();
	/* Stop the programs, then take everything still in the buffer. */
	mp_bpf__detach(r->bpf);
	mp_bpf__poll(r->bpf, 0);
	if (r->write_err)
		return;
	end.time = now_ns(CLOCK_MONOTONIC);
	write_lost(r, end.time);
	mpf_writer__stats(r->w, &st);
	end.end.events[MPF_EV_PAGE] = st.records[MPF_REC_PAGE_ALLOC] + st.records[MPF_REC_PAGE_FREE];
	end.end.events[MPF_EV_HEAP] = st.records[MPF_REC_HEAP_ALLOC] +
				      st.records[MPF_REC_HEAP_FREE] +
				      st.records[MPF_REC_HEAP_REALLOC];
	end.end.events[MPF_EV_CACHE] = st.records[MPF_REC_CACHE_ADD] + st.records[MPF_REC_CACHE_DEL];
	end.end.events[MPF_EV_MMAP] = st.records[MPF_REC_VM];
	end.end.events[MPF_EV_RSS] = st.records[MPF_REC_RSS];
	end.end.lost[MPF_EV_PAGE] = r->lost_written[MP_LOST_PAGE];
	end.end.lost[MPF_EV_HEAP] = r->lost_written[MP_LOST_HEAP];
	end.end.lost[MPF_EV_CACHE] = r->lost_written[MP_LOST_CACHE];
	end.end.lost[MPF_EV_MMAP] = r->lost_written[MP_LOST_MMAP];
	recorder__write(r, &end);
}

void recorder__destroy(struct recorder *r)
{
	free(r->rss);
	r->rss = NULL;
	mp_bpf__destroy(r->bpf);
	r->bpf = NULL;
	leaf__free(r->leaf);
	r->leaf = NULL;
	procmaps__free(r->maps);
	r->maps = NULL;
}
