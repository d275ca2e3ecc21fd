/*
 * A live view's data (builtin/live.h): the recording in one thread, writing
 * the trace stream into a pipe (and the file of -o), and the model in
 * another, reading the pipe as record's stream is read by `report -i -`.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "builtin/live.h"
#include "builtin/util.h"
#include "lib/strtab.h"
#include "model/model.h"
#include "symbols/symbolize.h"

/*
 * The pipe holds a whole chunk (1 MiB before compression), so that the
 * recorder seldom waits for the model; the model is far faster anyway.
 */
#define PIPE_SIZE (1 << 20)

/*
 * The stack table of a live model: its budget as for a trace of 16 MiB in a
 * file (1056 MiB: 32 MiB + 64 bytes per byte), since a stream has no size to
 * go by.  record's own table restarts before a session fills it.
 */
#define LIVE_TRACE_SIZE (16ull << 20)

/* The model thread's nice value while recording (Linux: each thread has its own). */
#define MODEL_NICE 10

void live__lock(struct live *l)
{
	pthread_mutex_lock(&l->lock);
}

void live__unlock(struct live *l)
{
	pthread_mutex_unlock(&l->lock);
}

bool live__recording(struct live *l)
{
	return l->recording;
}

/* record_open_fn: the writer on the pipe, teeing into -o's file. */
static struct mpf_writer *open_live(void *ctx, const struct mpf_header *hdr)
{
	struct live *l = ctx;
	int tee = -1, fd = l->pipe_wr;
	struct mpf_writer *w;

	if (l->output) {
		tee = record__create_output(l->output);
		if (tee < 0)
			return NULL;
	}
	l->pipe_wr = -1;	/* the writer's from here on, whatever happens */
	w = record__writer(fd, tee, hdr);
	if (!w)
		error("cannot start the trace stream: %s", strerror(errno));
	return w;
}

/* The stream, record by record, into the model. */
static void *model_main(void *arg)
{
	struct live *l = arg;
	struct pollfd p = { .fd = l->pipe_rd, .events = POLLIN };
	const struct input_opts io = { .path = l->output ? l->output : "the trace stream" };
	struct mpf_reader *r = NULL;
	struct mpf_record rec;
	int n, fd = l->pipe_rd;

	/*
	 * The target comes first: this thread yields the CPU to it and to the
	 * recorder, so that serve and top cost the target what record does.
	 * It is behind only while both keep every CPU busy, and then the full
	 * pipe stops the recorder, which lets it run.
	 */
	setpriority(PRIO_PROCESS, (id_t)gettid(), MODEL_NICE);
	/* A recording that failed before its first byte closes the pipe: nothing to say. */
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	live__lock(l);
	l->pipe_rd = -1;
	if (p.revents & POLLIN) {
		if (!input__begin(&l->in, &io, fd, &r)) {
			l->have_input = true;
			model__set_trace_size(l->in.model, LIVE_TRACE_SIZE);
		}
	} else {
		close(fd);
	}
	live__unlock(l);
	while (r && (n = mpf_reader__next(r, &rec)) > 0) {
		live__lock(l);
		l->model_err = model__add(l->in.model, &rec);
		l->records++;
		if (rec.type == MPF_REC_END)
			l->complete = true;
		live__unlock(l);
		if (l->model_err)
			break;
	}
	live__lock(l);
	l->ended = true;
	live__unlock(l);
	mpf_reader__close(r);
	return NULL;
}

static void *record_main(void *arg)
{
	struct live *l = arg;

	l->rec_ret = record_session__run(&l->rs, l->stop);
	/* The END record reaches the model now, not when the writer closes. */
	if (l->rs.w)
		mpf_writer__flush(l->rs.w);
	live__lock(l);
	l->recording = false;
	live__unlock(l);
	return NULL;
}

int live__thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

static void live__init(struct live *l)
{
	*l = (struct live){ .pipe_rd = -1, .pipe_wr = -1 };
	pthread_mutex_init(&l->lock, NULL);
}

int live__record(struct live *l, struct record_args *a, int argc, char **argv,
		 const char *output, volatile sig_atomic_t *stop)
{
	int fds[2], ret;

	live__init(l);
	l->output = output;
	l->stop = stop;
	l->source = "live";
	a->o.output = output;
	l->rs.live = true;
	if (pipe2(fds, O_CLOEXEC))
		return error("cannot make a pipe: %s", strerror(errno)), 1;
	fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
	l->pipe_rd = fds[0];
	l->pipe_wr = fds[1];
	/* First the reader: starting may write more than the pipe holds (-a's maps). */
	if (live__thread(&l->model_thread, model_main, l))
		return error("cannot start a thread: %s", strerror(errno)), 1;
	l->model_started = true;
	ret = record_session__begin(&l->rs, a, argc, argv, open_live, l);
	l->rs_begun = true;
	if (ret)
		return ret;
	l->recording = true;
	if (live__thread(&l->rec_thread, record_main, l)) {
		l->recording = false;
		return error("cannot start a thread: %s", strerror(errno)), 1;
	}
	l->rec_started = true;
	return 0;
}

int live__open(struct live *l, const struct input_opts *io)
{
	const struct model_stats *st;

	live__init(l);
	l->source = io->path;
	if (input__open(&l->in, io)) {
		input__close(&l->in);
		return 1;
	}
	l->have_input = true;
	l->ended = true;
	st = model__stats(l->in.model);
	l->complete = st->has_end;
	for (size_t i = 0; i < MPF_REC__MAX; i++)
		l->records += st->records[i];
	return 0;
}

int live__finish(struct live *l, int ret)
{
	if (l->rec_started) {
		pthread_join(l->rec_thread, NULL);
		if (!ret)
			ret = l->rec_ret;
	}
	/* Closing the writer closes the pipe: the model thread reads to its end. */
	if (l->rs_begun)
		ret = record_session__end(&l->rs, ret);
	if (l->pipe_wr >= 0)
		close(l->pipe_wr);
	if (l->model_started)
		pthread_join(l->model_thread, NULL);
	if (l->pipe_rd >= 0)
		close(l->pipe_rd);
	if (!ret && l->model_err) {
		error("out of memory reading the trace stream");
		ret = 1;
	}
	symbolizer__delete(l->sym);
	strtab__delete(l->names);
	input__close(&l->in);
	pthread_mutex_destroy(&l->lock);
	return ret;
}
