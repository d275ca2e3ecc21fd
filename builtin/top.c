/*
 * memprof top: the processes being recorded as a full-screen table
 * (ncurses), refreshed every --delay: resident, virtual and peak memory,
 * live heap, live pages, page cache, mmap and munmap calls and allocations
 * per second, sorted by any column; Enter shows a process's allocation
 * sites, live.  Without a terminal (-b) the table is printed as text every
 * interval, as top -b does.  The figures are the live model's, as report
 * would show them of the same events (builtin/live.h).
 */
#include <errno.h>
#include <math.h>
#include <ncurses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"
#include "builtin/live.h"
#include "builtin/util.h"
#include "lib/array.h"
#include "lib/hashmap.h"
#include "output/output.h"
#include "report/procs.h"

/* Identical to the SYNOPSIS of Documentation/memprof-top.txt. */
static const char *const top_usage[] = {
	"memprof top [-d SECONDS] [-b [-n COUNT]] [-s COLUMN] [-o FILE] [RECORD OPTIONS]",
	"            [-a | -p PID[,PID...] | --comm NAME | --exec PATH | -- COMMAND [ARGS...]]",
	NULL,
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* The columns, by the key that sorts by each (top's own keys where it has one). */
static const struct column {
	const char *name;
	int key;
	enum procs_sort sort;
} columns[] = {
	{ "pid", 'p', PROCS_SORT_PID },	    { "name", 'n', PROCS_SORT_NAME },
	{ "rss", 'r', PROCS_SORT_RSS },	    { "virt", 'v', PROCS_SORT_VIRT },
	{ "peak", 'k', PROCS_SORT_PEAK },   { "heap", 'h', PROCS_SORT_HEAP },
	{ "pages", 'g', PROCS_SORT_PAGES }, { "cache", 'c', PROCS_SORT_CACHE },
	{ "mmap", 'm', PROCS_SORT_MMAP },   { "munmap", 'u', PROCS_SORT_MUNMAP },
	{ "alloc", 'a', PROCS_SORT_ALLOCS },
};
#define NR_COLUMNS (sizeof(columns) / sizeof(columns[0]))

struct top_opts {
	struct record_args rec;
	const char *output;
	double delay;			/* seconds */
	bool batch;
	uint64_t count;			/* -n: refreshes before quitting, 0: until q */
	unsigned int sort;		/* index in columns */
	uint64_t threshold_kib;		/* the sites view's */
	bool show_exited;
};

struct top {
	struct top_opts *o;
	struct live *l;
	struct procs procs;
	struct hmap prev;		/* pid -> allocations at the last refresh */
	double *rates;			/* allocations per second, by row */
	size_t rates_cap;
	uint64_t last_ns;
	size_t first, cur;		/* the first row shown, the selected one */
	uint32_t detail;		/* the pid whose sites are shown, 0: the table */
	size_t detail_first;
};

static int opt_delay(const struct option *opt, const char *arg)
{
	char *end;
	double d = strtod(arg, &end);

	if (end == arg || *end || !isfinite(d) || d < 0.1 || d > 3600)
		return error("invalid delay '%s'; give seconds from 0.1 to 3600", arg);
	*(double *)opt->value = d;
	return 0;
}

static int opt_count(const struct option *opt, const char *arg)
{
	if (!parse_u64(arg, opt->value) || !*(uint64_t *)opt->value)
		return error("invalid count '%s'; give how many refreshes, 1 or more", arg);
	return 0;
}

static int opt_sort(const struct option *opt, const char *arg)
{
	for (unsigned int i = 0; i < NR_COLUMNS; i++)
		if (!strcmp(arg, columns[i].name)) {
			*(unsigned int *)opt->value = i;
			return 0;
		}
	return error("unknown column '%s'; sort by pid, name, rss, virt, peak, heap, pages, "
		     "cache, mmap, munmap or alloc", arg);
}

static int opt_threshold(const struct option *opt, const char *arg)
{
	if (!parse_u64(arg, opt->value))
		return error("invalid threshold '%s'; give whole KiB, e.g. 64", arg);
	return 0;
}

static uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The rows now, the allocations per second since the last refresh with them. */
static int refresh_rows(struct top *t)
{
	uint64_t now = now_mono();
	double dt = t->last_ns ? (now - t->last_ns) / 1e9 : 0;
	struct hmap next = {};
	size_t k = 0;
	int err;

	err = live__procs(t->l, &t->procs, columns[t->o->sort].sort);
	if (err)
		return err;
	/* Exited processes leave the table (top's way), unless asked. */
	for (size_t i = 0; i < t->procs.n; i++)
		if (!t->procs.v[i].exited || t->o->show_exited)
			t->procs.v[k++] = t->procs.v[i];
	t->procs.n = k;
	if (ARRAY_RESERVE(t->rates, t->rates_cap, t->procs.n + 1))
		return -ENOMEM;
	for (size_t i = 0; i < t->procs.n; i++) {
		const struct proc_row *r = &t->procs.v[i];
		uint64_t n = proc_row__allocs(r), *was = hmap__find(&t->prev, r->pid, 0);

		t->rates[i] = was && dt > 0 && n >= *was ? (n - *was) / dt : 0;
		if (hmap__set(&next, r->pid, 0, n)) {
			hmap__free(&next);
			return -ENOMEM;
		}
	}
	hmap__free(&t->prev);
	t->prev = next;
	t->last_ns = now;
	return 0;
}

/* "3 processes, 12,345 records, recording": the line above the table. */
static void summary(struct top *t, char *buf, size_t size)
{
	uint64_t records;
	bool recording, have;

	live__lock(t->l);
	records = t->l->records;
	recording = live__recording(t->l);
	have = t->l->have_input;
	live__unlock(t->l);
	snprintf(buf, size, "memprof top - %zu processes, %llu records, %s; sorted by %s",
		 t->procs.n, (unsigned long long)records,
		 !have ? "starting" : recording ? "recording" : "recording ended",
		 columns[t->o->sort].name);
}

static void print_batch(struct top *t)
{
	char line[512];

	summary(t, line, sizeof(line));
	printf("%s\n\n", line);
	output_procs__header(line, sizeof(line));
	printf("%s\n", line);
	for (size_t i = 0; i < t->procs.n; i++) {
		output_procs__row(line, sizeof(line), &t->procs.v[i], t->rates[i]);
		printf("%s\n", line);
	}
	putchar('\n');
	fflush(stdout);
}

/* ---- the screen ---- */

static void draw_table(struct top *t)
{
	char line[512];
	int rows = LINES - 3;

	if (t->cur >= t->procs.n)
		t->cur = t->procs.n ? t->procs.n - 1 : 0;
	if (t->cur < t->first)
		t->first = t->cur;
	if (rows > 0 && t->cur >= t->first + (size_t)rows)
		t->first = t->cur - rows + 1;
	erase();
	summary(t, line, sizeof(line));
	mvaddnstr(0, 0, line, COLS);
	mvaddnstr(1, 0, "keys: q quit, arrows scroll, Enter sites, p n r v k h g c m u a sort, "
			"< > column", COLS);
	output_procs__header(line, sizeof(line));
	attron(A_REVERSE);
	mvaddnstr(2, 0, line, COLS);
	attroff(A_REVERSE);
	for (int y = 0; y < rows && t->first + y < t->procs.n; y++) {
		size_t i = t->first + y;

		output_procs__row(line, sizeof(line), &t->procs.v[i], t->rates[i]);
		if (i == t->cur)
			attron(A_BOLD | A_UNDERLINE);
		mvaddnstr(3 + y, 0, line, COLS);
		if (i == t->cur)
			attroff(A_BOLD | A_UNDERLINE);
	}
	refresh();
}

/* A process's allocation sites, the reverse tree over the threshold, as report prints it. */
static void draw_detail(struct top *t)
{
	const struct live_tree_opts o = {
		.format = LIVE_TREE_TEXT, .event = -1, .show = REPORT_SHOW_LIVE, .reverse = true,
		.threshold_kib = t->o->threshold_kib, .pid = t->detail,
	};
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&buf, &len);
	int err = f ? live__tree(t->l, f, &o) : -ENOMEM;

	if (f)
		fclose(f);
	erase();
	mvprintw(0, 0, "memprof top - sites of PID %u (reverse, threshold %llu KiB); "
		       "q or Enter: back, arrows scroll", t->detail,
		 (unsigned long long)t->o->threshold_kib);
	if (err)
		mvprintw(2, 0, "%s", err == -ENOENT ? "no events of this process yet"
						    : strerror(-err));
	for (line = buf && !err ? strtok_r(buf, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		if (n < t->detail_first)
			continue;
		if ((int)(n - t->detail_first) + 2 >= LINES)
			break;
		mvaddnstr(2 + (int)(n - t->detail_first), 0, line, COLS);
	}
	free(buf);
	refresh();
}

/* A key: false when it quits. */
static bool on_key(struct top *t, int ch)
{
	if (t->detail) {
		if (ch == 'q' || ch == '\n' || ch == KEY_ENTER || ch == 27 || ch == KEY_BACKSPACE)
			t->detail = 0;
		else if (ch == KEY_DOWN)
			t->detail_first++;
		else if (ch == KEY_UP && t->detail_first)
			t->detail_first--;
		else if (ch == KEY_NPAGE)
			t->detail_first += LINES - 3;
		else if (ch == KEY_PPAGE)
			t->detail_first = t->detail_first > (size_t)LINES ? t->detail_first - LINES : 0;
		return true;
	}
	switch (ch) {
	case 'q':
		return false;
	case KEY_DOWN:
		t->cur++;
		return true;
	case KEY_UP:
		if (t->cur)
			t->cur--;
		return true;
	case KEY_NPAGE:
		t->cur += LINES - 3;
		return true;
	case KEY_PPAGE:
		t->cur = t->cur > (size_t)LINES - 3 ? t->cur - (LINES - 3) : 0;
		return true;
	case KEY_HOME:
		t->cur = 0;
		return true;
	case '\n':
	case KEY_ENTER:
		if (t->cur < t->procs.n) {
			t->detail = t->procs.v[t->cur].pid;
			t->detail_first = 0;
		}
		return true;
	case '<':
		t->o->sort = (t->o->sort + NR_COLUMNS - 1) % NR_COLUMNS;
		return true;
	case '>':
		t->o->sort = (t->o->sort + 1) % NR_COLUMNS;
		return true;
	}
	for (unsigned int i = 0; i < NR_COLUMNS; i++)
		if (ch == columns[i].key)
			t->o->sort = i;
	return true;
}

static int run_screen(struct top *t)
{
	uint64_t next = 0, shown = 0;
	int ch;

	if (!initscr())
		return error("cannot start the screen; run top in a terminal, or use -b");
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(100);
	while (!stop_signal) {
		uint64_t now = now_mono();

		if (now >= next) {
			if (refresh_rows(t))
				break;
			next = now + (uint64_t)(t->o->delay * 1e9);
			shown++;
			if (t->detail)
				draw_detail(t);
			else
				draw_table(t);
			if (t->o->count && shown >= t->o->count)
				break;
		}
		ch = getch();
		if (ch == ERR)
			continue;
		if (ch == KEY_RESIZE) {
			next = 0;
			continue;
		}
		if (!on_key(t, ch))
			break;
		next = 0;
		/* A key redraws at once, with the rates of the last interval kept. */
		t->last_ns = t->last_ns ? t->last_ns : now;
	}
	endwin();
	return 0;
}

static int run_batch(struct top *t)
{
	for (uint64_t n = 0; !stop_signal && (!t->o->count || n < t->o->count); n++) {
		if (n) {
			uint64_t until = now_mono() + (uint64_t)(t->o->delay * 1e9);

			while (!stop_signal && now_mono() < until)
				usleep(20 * 1000);
			if (stop_signal)
				break;
		}
		if (refresh_rows(t))
			return error("out of memory");
		print_batch(t);
	}
	return 0;
}

static int parse_top_options(struct top_opts *o, int argc, char **argv, bool *done)
{
	struct record_args *a = &o->rec;
	const struct option opts[] = {
		OPT_CALLBACK('d', "delay", &o->delay, "SECONDS",
			     "refresh every SECONDS, 0.1 to 3600 (default: 1)", opt_delay),
		OPT_BOOL('b', "batch", &o->batch,
			 "print the table as text every interval, no screen\n"
			 "(top's batch mode)"),
		OPT_CALLBACK('n', "iterations", &o->count, "COUNT",
			     "quit after COUNT refreshes (default: on q or Ctrl-C)", opt_count),
		OPT_CALLBACK('s', "sort", &o->sort, "COLUMN",
			     "sort by pid, name, rss, virt, peak, heap, pages, cache,\n"
			     "mmap, munmap or alloc (default: rss)",
			     opt_sort),
		OPT_CALLBACK(0, "threshold", &o->threshold_kib, "KIB",
			     "in a process's sites, fold those under KIB (default: 64)",
			     opt_threshold),
		OPT_BOOL(0, "exited", &o->show_exited, "keep the processes that exited in the table"),
		OPT_STRING('o', "output", &o->output, "FILE",
			   "also write what is recorded to FILE, a trace for report"),
		OPT_RECORD_TARGETS(a),
		OPT_RECORD_EVENTS(a, "all"),
		OPT_END(),
	};
	int n = parse_options(argc, argv, "top", opts, top_usage, PARSE_OPT_STOP_AT_NON_OPTION);

	*done = true;
	if (n < 0)
		return n == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
	n = record_args__check(a, n, argv, false);
	if (n)
		return n;
	/* Every process by default, as top shows them. */
	if (!a->o.argv && !a->o.npids && !a->o.comm && !a->o.exec)
		a->o.all = true;
	if (!o->batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		return error("top's screen needs a terminal; use -b for text"), EXIT_USAGE;
	*done = false;
	return 0;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o = { .delay = 1, .sort = 2, .threshold_kib = 64 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct live l;
	struct top t = { .o = &o, .l = &l };
	int ret, argc0 = argc;
	char **argv0 = record__argv_copy(argc, argv);
	bool done;

	if (!argv0)
		return error("out of memory"), 1;
	record_args__init(&o.rec, NULL);
	o.rec.o.events = (1u << MPF_EV__MAX) - 1;
	ret = parse_top_options(&o, argc, argv, &done);
	if (done) {
		free(argv0);
		return ret;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = live__record(&l, &o.rec, argc0, argv0, o.output, &stop_signal);
	if (!ret)
		ret = o.batch ? run_batch(&t) ? 1 : 0 : run_screen(&t) ? 1 : 0;
	stop_signal = stop_signal ? stop_signal : SIGTERM;
	ret = live__finish(&l, ret);
	procs__free(&t.procs);
	hmap__free(&t.prev);
	free(t.rates);
	free(argv0);
	return ret;
}
