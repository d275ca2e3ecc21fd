/*
 * fuzz-trace: a libFuzzer target for everything `memprof report` does with a
 * trace before it opens the files the trace names.  The input is a trace
 * file; it goes through the reader, every record into the model, then every
 * view of the model (sites, stacks, maps, files, processes), the
 * aggregation tree with both outputs, --stat and the timeline (table and
 * SVG), report --folded's walk of the stack tree (report/fold.c); then the
 * same bytes as an archive (memprof archive): its table of contents and
 * every entry extracted.  The symbolizer's files are left out on purpose: it
 * opens the paths in the trace, and a fuzzer must not open what it makes up,
 * so its lookup finds none and every frame is named by file and offset.
 *
 * Built two ways by the Makefile: with -fsanitize=fuzzer for `make fuzz`, and
 * linked with replay.c for `make check`, which runs tests/data/corpus/ through it.
 * Both define FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so the reader and the
 * archive's table ignore CRCs and mutated bytes reach the decoding behind them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/lookup.h"
#include "format/archive.h"
#include "format/mpf.h"
#include "lib/strtab.h"
#include "model/model.h"
#include "output/output.h"
#include "report/fold.h"
#include "report/path.h"
#include "report/tree.h"
#include "report/view.h"
#include "symbols/symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where output goes: read nowhere, but written in full so the printers run. */
static FILE *sink;

/* The reader reads files: a memfd holds the input, reached by its /proc path. */
static int input_file(const uint8_t *data, size_t size, char *path, size_t path_size)
{
	int fd = memfd_create("fuzz-trace", MFD_CLOEXEC);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		abort();
	while (done < size) {
		n = write(fd, data + done, size - done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	snprintf(path, path_size, "/proc/self/fd/%d", fd);
	return fd;
}

/* Touches what a view returns, so that ASan checks every byte of it is readable. */
static volatile uint64_t sink_sum;

static void touch(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += c[i];
	sink_sum += sum;
}

static int intern(struct strtab *names, const char *s, uint32_t *id)
{
	return strtab__intern_id(names, s, id);
}

/* The fuzzer's trees are ordered by bytes, as report's. */
static uint64_t weight(const struct tree_node *n)
{
	return n->v[VIEW_VALUE];
}

static const struct tree_order order = { .weight = weight };

/*
 * What report does per site, with each frame named by the mapping and file
 * it falls in instead of a symbol: the process, then the frames outermost first.
 */
static int site_path(struct model *m, struct strtab *names, const struct model_site *site,
		     uint32_t *path, size_t *n)
{
	struct model_stack st;
	const struct model_map *map;
	const struct model_file *f;
	const char *comm;
	char buf[128];
	int err;

	model__stack(m, site->stack, &st);
	comm = model__comm(m, site->image);
	snprintf(buf, sizeof(buf), "%s [%" PRIu32 "]", comm ? comm : "[unknown]",
		 model__pid(m, site->image));
	err = intern(names, buf, &path[0]);
	*n = 1;
	for (uint32_t i = st.nr; i-- > 0 && !err;) {
		map = model__find_map(m, site->image, st.ips[i]);
		f = map && map->file_id ? model__file(m, map->file_id) : NULL;
		if (map) {
			touch(map, sizeof(*map));
			if (st.ips[i] < map->start || st.ips[i] >= map->end)
				abort();
		}
		if (f) {
			touch(f->build_id, f->build_id_len);
			snprintf(buf, sizeof(buf), "%.40s+0x%" PRIx64, f->path,
				 map->pgoff + (st.ips[i] - map->start));
		} else {
			snprintf(buf, sizeof(buf), "0x%" PRIx64, st.ips[i]);
		}
		err = intern(names, buf, &path[(*n)++]);
	}
	if (!err && *n == 1)
		err = intern(names, "[unknown]", &path[(*n)++]);
	return err;
}

/*
 * The stack tree, whatever the trace said: each node's parent made before it,
 * its depth its parent's and one, at most MPF_STACK_MAX, its frame one the
 * model has; the two roots their own parents.
 */
static void stack_tree(const struct model *m)
{
	uint64_t sum = 0;
	bool exact;

	for (uint32_t i = 0; i < model__nr_stacks(m); i++) {
		uint32_t p = model__stack_parent(m, i), f = model__stack_frame(m, i);
		unsigned int d = model__stack_depth(m, i);

		if (i <= MODEL_STACK_TRUNCATED) {
			if (p != i || f != MODEL_FRAME_NONE || d)
				abort();
			continue;
		}
		if (p >= i || f >= model__nr_frames(m) || d != model__stack_depth(m, p) + 1 ||
		    d > MPF_STACK_MAX || model__stack_root(m, i) > MODEL_STACK_TRUNCATED)
			abort();
		sum += model__frame_ip(m, f, &exact) + exact;
	}
	sink_sum += sum;
}

/* Every site of summed as m has it: the live counts summed, the others not kept. */
static void same_live(const struct model *m, struct model *summed)
{
	struct model_site a, b;

	if (model__count_live_sites(summed))
		abort();
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		if (model__nr_sites(m, ev) != model__nr_sites(summed, ev))
			abort();
		for (size_t i = 0; i < model__nr_sites(m, ev); i++) {
			model__site(m, ev, i, &a);
			model__site(summed, ev, i, &b);
			if (a.image != b.image || a.tid != b.tid || a.stack != b.stack ||
			    a.kernel != b.kernel || a.live_bytes != b.live_bytes ||
			    a.live_nr != b.live_nr ||
			    model__site_has_live(m, ev, i) != model__site_has_live(summed, ev, i) ||
			    (ev == MPF_EV_HEAP
				     ? b.alloc_bytes || b.alloc_nr
				     : a.alloc_bytes != b.alloc_bytes || a.alloc_nr != b.alloc_nr) ||
			    b.tmp_bytes || b.tmp_nr || b.peak_bytes || b.peak_nr)
				abort();
		}
		/* The sites with live blocks, as each model finds them in a row. */
		for (size_t i = 0, j;; i = j + 1) {
			j = model__next_live_site(m, ev, i);
			if (j != model__next_live_site(summed, ev, i) || j > model__nr_sites(m, ev))
				abort();
			for (size_t k = i; k < j; k++)
				if (model__site_has_live(m, ev, k))
					abort();
			if (j == model__nr_sites(m, ev))
				break;
			if (!model__site_has_live(m, ev, j))
				abort();
		}
	}
}

static void views(struct model *m, bool reverse, bool live)
{
	struct model_site sbuf;
	uint32_t path[MPF_STACK_MAX + 2], other;
	struct strtab *names = strtab__new();
	struct report_section sec = { .reverse = reverse, .threshold_kib = 4 };
	struct tree *t = NULL;
	size_t n;

	if (!names || intern(names, "[other]", &other))
		goto out;
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		tree__delete(t);
		t = tree__new();
		if (!t)
			goto out;
		sec.event = mpf_event_name(ev);
		sec.show = live ? REPORT_SHOW_LIVE : REPORT_SHOW_ALLOC;
		sec.total = sec.allocations = 0;
		for (size_t i = 0; i < model__nr_sites(m, ev); i++) {
			const struct model_site *site = model__site(m, ev, i, &sbuf);
			uint64_t value;

			if (!site)
				abort();
			value = live ? site->live_bytes : site->alloc_bytes;
			sec.allocations += live ? site->live_nr : site->alloc_nr;
			if (!value)
				continue;
			sec.total += value;
			if (site_path(m, names, site, path, &n))
				goto out;
			/* --reverse: the frames innermost first, the process last. */
			for (size_t a = 0, b = n - 1; reverse && a < b; a++, b--) {
				uint32_t x = path[a];

				path[a] = path[b];
				path[b] = x;
			}
			if (tree__add(t, path, n, (uint64_t[TREE_VALUES]){ [VIEW_VALUE] = value }))
				goto out;
		}
		if (model__site(m, ev, model__nr_sites(m, ev), &sbuf))
			abort();
		if (tree__finish(t, names, &order,
				 &(struct tree_fold){ .threshold = 4096, .other = other,
						      .keep_paths = 5 }))
			goto out;
		output_tree__print(sink, t, names, &sec);
		output_folded__print(sink, t, names);
	}
out:
	tree__delete(t);
	strtab__delete(names);
}

/*
 * report --folded as report makes it, from the stack tree with each frame's
 * names merged, of every event type (live for heap and pages, the sites'
 * values for the others, as view_opts' default says).  Last: each fold__build
 * takes its type's sites from the model.
 */
static void folds(struct model *m)
{
	struct lookup *l = lookup__new(&(struct lookup_opts){ .no_debuginfod = true,
							       .find_none = true });
	struct strtab *names = strtab__new();
	struct symbolizer *sym = NULL;
	struct paths p = { 0 };

	if (!l || !names)
		goto out;
	sym = symbolizer__new(m, names, &(struct symbolizer_opts){ .lookup = l });
	if (!sym || paths__init(&p, m, sym, names, 0, NULL))
		goto out;
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		struct report_section sec = { 0 };
		struct fold *f = NULL;

		if (fold__build(&p, &(struct view_opts){ .show = REPORT_SHOW_LIVE }, ev, &f, &sec))
			break;
		if (output_folded__print_fold(sink, f, names) == -ENOMEM) {
			fold__delete(f);
			break;
		}
		fold__delete(f);
	}
out:
	/* Whatever paths__init() got to: a zeroed struct paths releases nothing. */
	paths__release(&p);
	symbolizer__delete(sym);
	strtab__delete(names);
	lookup__delete(l);
}

/* --stat and --timeline, table and chart, of everything in the model. */
static void timeline_stat(struct model *m, const struct mpf_header *hdr)
{
	uint64_t peak_time[MPF_EV__MAX], peak_bytes[MPF_EV__MAX];
	struct report_stat_opts so = {
		.start_time = hdr->start_time,
		.end_time = hdr->start_time,
		.events = (1u << MPF_EV__MAX) - 1,
	};
	const struct model_point *pts;
	size_t n;

	for (uint32_t i = 0; i < model__nr_images(m); i++)
		touch(model__proc(m, i), sizeof(struct model_proc));
	pts = model__timeline(m, &n);
	touch(pts, n * sizeof(*pts));
	for (size_t i = 1; i < n; i++)
		if (pts[i].time < pts[i - 1].time)
			abort();
	for (unsigned int ev = 0; ev < MPF_EV__MAX; ev++) {
		peak_time[ev] = model__peak(m, ev)->time;
		peak_bytes[ev] = model__peak(m, ev)->bytes;
	}
	output_stat__print(sink, m, &so);
	output_timeline__print(sink, m, pts, n, so.events, hdr->start_time, peak_time, peak_bytes, 20);
	output_timeline__svg(sink, m, pts, n, so.events, hdr->start_time, peak_time, peak_bytes, "t",
			     false);
	output_timeline__svg(sink, m, pts, n, so.events, hdr->start_time, peak_time, peak_bytes, "t",
			     true);
	output_timeline__print_processes(sink, m, so.events, hdr->start_time, 20);
	output_histogram__print(sink, m, so.events);
	output_header__print(sink, m, hdr, "t");
}

/*
 * The same bytes as an archive: its table of contents, and every entry
 * found and extracted into memory, as report extracts them, which must
 * stay within what the entry's stored bytes may expand to.
 */
static void archive(const char *path)
{
	struct mpf_archive *a;
	struct stat sb;
	int err, fd;

	a = mpf_archive__open(path, &err);
	if (!a) {
		if (err != -ENOMSG && err != -EBADMSG && err != -EPROTONOSUPPORT && err != -ENOMEM)
			abort();
		return;
	}
	if (mpf_archive__trace_size(a) > UINT64_MAX / 2)
		abort();
	for (size_t i = 0; i < mpf_archive__nr_entries(a); i++) {
		const struct mpf_archive_entry *e = mpf_archive__entry(a, i);

		if (!e || !e->build_id_len || e->build_id_len > MPF_BUILD_ID_MAX)
			abort();
		touch(e->path, strlen(e->path) + 1);
		if (mpf_archive__find(a, e->kind, e->build_id, e->build_id_len) == NULL)
			abort();
		fd = memfd_create("fuzz-extract", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		err = mpf_archive__extract(a, e, fd);
		if (fstat(fd, &sb) || (err && err != -EBADMSG && err != -EFBIG) ||
		    (uint64_t)sb.st_size >
			    e->stored_size * MPF_ARCHIVE_RATIO_MAX + MPF_ARCHIVE_SLACK ||
		    (!err && (uint64_t)sb.st_size != e->size))
			abort();
		close(fd);
	}
	if (mpf_archive__entry(a, mpf_archive__nr_entries(a)))
		abort();
	mpf_archive__close(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct model_stats *st;
	struct mpf_reader_status rs;
	struct mpf_header hdr;
	struct mpf_record rec;
	struct mpf_reader *r;
	struct model *m, *summed;
	char path[64];
	int fd, err;

	if (!sink) {
		sink = fopen("/dev/null", "w");
		if (!sink)
			abort();
	}
	fd = input_file(data, size, path, sizeof(path));
	r = mpf_reader__open_detailed(path, &err, &hdr);
	if (!r) {
		if (err != -ENOMSG && err != -EBADMSG && err != -EPROTONOSUPPORT)
			abort();
		goto out;
	}
	m = model__new(mpf_reader__header(r)->page_size);
	/* The same records into a model that sums what is live at heap sites at the end. */
	summed = model__new(mpf_reader__header(r)->page_size);
	if (!m || !summed)
		abort();
	model__set_trace_size(m, size);
	model__set_trace_size(summed, size);
	model__set_site_counts(summed, MODEL_COUNTS_LIVE);
	while ((err = mpf_reader__next(r, &rec)) > 0) {
		/* What the reader returns must be whole: strings end, arrays are there. */
		switch (rec.type) {
		case MPF_REC_INFO:
			touch(rec.info.key, strlen(rec.info.key) + 1);
			touch(rec.info.value, strlen(rec.info.value) + 1);
			break;
		case MPF_REC_EXEC:
			touch(rec.exec.filename, strlen(rec.exec.filename) + 1);
			touch(rec.exec.args, rec.exec.args_len);
			break;
		case MPF_REC_FILE:
			touch(rec.file.path, strlen(rec.file.path) + 1);
			break;
		case MPF_REC_STACK:
			touch(rec.stack.ips, rec.stack.nr * sizeof(*rec.stack.ips));
			break;
		case MPF_REC_USTACK:
			touch(rec.ustack.data, rec.ustack.size);
			break;
		case MPF_REC_FRAME:
			touch(rec.frame.ips, rec.frame.nr * sizeof(*rec.frame.ips));
			break;
		case MPF_REC_STACK_NODE:
			touch(rec.stack_node.frames,
			      rec.stack_node.nr * sizeof(*rec.stack_node.frames));
			break;
		}
		err = model__add(m, &rec);
		if (model__add(summed, &rec) != err)
			abort();
		if (err)
			break;
	}
	mpf_reader__status(r, &rs);
	mpf_reader__close(r);
	if (err == -ENOMEM)
		abort();

	st = model__stats(m);
	touch(st, sizeof(*st));
	/* The stack table stays within what a trace of this size may take. */
	if (st->stack_bytes > st->stack_budget ||
	    st->stack_budget !=
		    MODEL_STACK_BUDGET_BASE + (uint64_t)size * MODEL_STACK_BUDGET_PER_BYTE)
		abort();
	for (size_t i = 0; i < model__nr_files(m); i++) {
		const struct model_file *f = model__file_at(m, i);

		if (!f || f->index != i || model__file(m, f->id) != f)
			abort();
		touch(f->path, strlen(f->path) + 1);
	}
	stack_tree(m);
	views(m, false, true);
	views(m, true, false);
	same_live(m, summed);
	model__delete(summed);
	timeline_stat(m, &hdr);
	folds(m);
	model__delete(m);
out:
	archive(path);
	close(fd);
	return 0;
}
