/*
 * memprof serve: an HTTP server (libmicrohttpd) of what is being recorded
 * now, or of a finished trace (-i): TezEdge's /v1/tree and /v1/pid, pprof
 * profiles as Go's net/http/pprof serves them, Prometheus's /metrics, and a
 * web page of the processes, the tree, the flame graph and the timeline.
 * With --push, the profiles are also sent to a Pyroscope server's /ingest.
 *
 * Read-only: every path is one of the table below, answered from memory;
 * none reaches the file system.  A bad parameter gets 400 and one line.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "builtin.h"
#include "builtin/live.h"
#include "builtin/serve.h"
#include "builtin/util.h"
#include "report/procs.h"

/* Identical to the SYNOPSIS of Documentation/memprof-serve.txt. */
static const char *const serve_usage[] = {
	"memprof serve [--listen ADDR:PORT] [-o FILE] [--push URL] [RECORD OPTIONS]",
	"              -- COMMAND [ARGS...]",
	"memprof serve [OPTIONS] -p PID[,PID...] | -a | --comm NAME | --exec PATH",
	"memprof serve [--listen ADDR:PORT] -i FILE",
	NULL,
};

#define DEFAULT_PORT 17832	/* TezEdge's memory profiler's */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

struct serve_opts {
	struct record_args rec;
	struct input_opts in;		/* -i FILE */
	const char *output;		/* -o FILE, while recording */
	struct sockaddr_in addr;
	const char *listen;		/* as given, for messages */
	struct push_opts push;
};

static int opt_listen(const struct option *opt, const char *arg)
{
	struct serve_opts *o = opt->value;
	char host[64];
	const char *colon = strrchr(arg, ':');
	uint64_t port;

	if (!colon || (size_t)(colon - arg) >= sizeof(host) || !parse_u64(colon + 1, &port) ||
	    !port || port > 65535)
		return error("invalid --listen '%s'; give ADDR:PORT, e.g. 127.0.0.1:17832", arg);
	snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &o->addr.sin_addr) != 1)
		return error("invalid address '%s' in --listen; give an IPv4 address, e.g. "
			     "127.0.0.1", host);
	o->addr.sin_port = htons((uint16_t)port);
	o->listen = arg;
	return 0;
}

static int opt_push_interval(const struct option *opt, const char *arg)
{
	uint64_t v;

	if (!parse_u64(arg, &v) || !v || v > 86400)
		return error("invalid --push-interval '%s'; give whole seconds, 1 to 86400", arg);
	*(unsigned int *)opt->value = (unsigned int)v;
	return 0;
}

/* ---- requests ---- */

struct request {
	struct MHD_Connection *c;
	struct live *l;
	char *body;
	size_t len;
	FILE *f;
};

static enum MHD_Result respond(struct request *rq, unsigned int status, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (rq->f) {
		fclose(rq->f);
		rq->f = NULL;
	}
	r = MHD_create_response_from_buffer(rq->len, rq->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(rq->body);
		return MHD_NO;
	}
	rq->body = NULL;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(rq->c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* An error: its status and one line saying why. */
static enum MHD_Result fail(struct request *rq, unsigned int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum MHD_Result fail(struct request *rq, unsigned int status, const char *fmt, ...)
{
	va_list ap;

	if (rq->f)
		fclose(rq->f);
	free(rq->body);
	rq->body = NULL;
	rq->f = open_memstream(&rq->body, &rq->len);
	if (!rq->f)
		return MHD_NO;
	va_start(ap, fmt);
	vfprintf(rq->f, fmt, ap);
	va_end(ap);
	fputc('\n', rq->f);
	return respond(rq, status, "text/plain; charset=utf-8");
}

/* What a view's error means for the one who asked. */
static enum MHD_Result view_failed(struct request *rq, int err, const char *what)
{
	if (err == -ENOENT && !rq->l->have_input)
		return fail(rq, 503, "no trace yet: the recording is starting; try again");
	if (err == -ENOENT)
		return fail(rq, 404, "no %s events in this recording%s", what,
			    rq->l->ended ? "" : " yet");
	return fail(rq, 500, "cannot build the view: %s", strerror(err < 0 ? -err : EIO));
}

/* The query parameters a path takes; any other is refused. */
struct params {
	const char *const *allowed;
	const char *unknown;
};

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct params *p = cls;

	for (const char *const *a = p->allowed; *a; a++)
		if (!strcmp(*a, key))
			return MHD_YES;
	p->unknown = key;
	return MHD_NO;
}

static const char *param(struct request *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->c, MHD_GET_ARGUMENT_KIND, key);
}

static int param_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

/* /v1/tree and /v1/flamegraph.svg: reverse, threshold (KiB), pid, event, show. */
static enum MHD_Result tree_request(struct request *rq, enum live_tree_format format)
{
	struct live_tree_opts o = { .format = format, .event = -1, .show = REPORT_SHOW_LIVE };
	const char *v;
	uint64_t n;
	int err;

	if ((v = param(rq, "reverse")) && param_bool(v, &o.reverse))
		return fail(rq, 400, "invalid reverse '%s'; give true or false", v);
	if ((v = param(rq, "threshold")) && !parse_u64(v, &o.threshold_kib))
		return fail(rq, 400, "invalid threshold '%s'; give whole KiB, e.g. 256", v);
	if ((v = param(rq, "pid"))) {
		if (!parse_u64(v, &n) || !n || n > INT32_MAX)
			return fail(rq, 400, "invalid pid '%s'; give a process id", v);
		o.pid = (uint32_t)n;
	}
	if ((v = param(rq, "event")) && ((o.event = mpf_event_parse(v)) < 0 ||
					 o.event == MPF_EV_RSS || o.event == MPF_EV_MMAP))
		return fail(rq, 400, "invalid event '%s'; give page, heap or cache", v);
	if ((v = param(rq, "show"))) {
		int s = report_show_parse(v);

		if (s != REPORT_SHOW_LIVE && s != REPORT_SHOW_ALLOC && s != REPORT_SHOW_COUNT)
			return fail(rq, 400, "invalid show '%s'; give live, alloc or count", v);
		o.show = s;
	}
	err = live__tree(rq->l, rq->f, &o);
	if (err)
		return view_failed(rq, err, o.event >= 0 ? mpf_event_name(o.event) : "page or heap");
	return respond(rq, 200, format == LIVE_TREE_SVG ? "image/svg+xml"
							: "application/json");
}

/* /debug/pprof/NAME: Go's heap profile (inuse first) and allocs, and memprof's own. */
static enum MHD_Result pprof_request(struct request *rq, const char *name)
{
	static const struct {
		const char *name;
		int ev;
		enum report_show show;
	} profiles[] = {
		{ "heap", MPF_EV_HEAP, REPORT_SHOW_LIVE },
		{ "allocs", MPF_EV_HEAP, REPORT_SHOW_ALLOC },
		{ "alloc", MPF_EV_HEAP, REPORT_SHOW_ALLOC },
		{ "page", MPF_EV_PAGE, REPORT_SHOW_LIVE },
		{ "cache", MPF_EV_CACHE, REPORT_SHOW_LIVE },
	};
	int err;

	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(name, profiles[i].name))
			continue;
		err = live__pprof(rq->l, rq->f, profiles[i].ev, profiles[i].show);
		if (err)
			return view_failed(rq, err, mpf_event_name(profiles[i].ev));
		return respond(rq, 200, "application/octet-stream");
	}
	return fail(rq, 404, "no profile '%s'; there are heap, allocs, page and cache", name);
}

static const char *const no_params[] = { NULL };
static const char *const tree_params[] = { "reverse", "threshold", "pid", "event", "show", NULL };

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **state)
{
	struct request rq = { .c = c, .l = cls };
	struct params ps = { .allowed = no_params };
	int err = 0;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return fail(&rq, 405, "memprof serve is read-only: %s is not served, only GET",
			    method);
	if (!strcmp(url, "/v1/tree") || !strcmp(url, "/v1/flamegraph.svg"))
		ps.allowed = tree_params;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_param, &ps);
	if (ps.unknown)
		return fail(&rq, 400, "unknown parameter '%s' for %s", ps.unknown, url);
	rq.f = open_memstream(&rq.body, &rq.len);
	if (!rq.f)
		return MHD_NO;
	if (!strcmp(url, "/"))
		return fputs(serve_page, rq.f) < 0 ? MHD_NO
						   : respond(&rq, 200, "text/html; charset=utf-8");
	if (!strcmp(url, "/v1/tree"))
		return tree_request(&rq, LIVE_TREE_TEZEDGE);
	if (!strcmp(url, "/v1/flamegraph.svg"))
		return tree_request(&rq, LIVE_TREE_SVG);
	if (!strcmp(url, "/v1/pid") || !strcmp(url, "/v1/processes")) {
		err = live__procs_json(rq.l, rq.f);
		return err ? view_failed(&rq, err, "") : respond(&rq, 200, "application/json");
	}
	if (!strcmp(url, "/v1/status")) {
		live__lock(rq.l);
		fprintf(rq.f, "{\"source\":\"%s\",\"recording\":%s,\"records\":%" PRIu64 "}\n",
			rq.l->source && strcmp(rq.l->source, "live") ? "file" : "live",
			live__recording(rq.l) ? "true" : "false", rq.l->records);
		live__unlock(rq.l);
		return respond(&rq, 200, "application/json");
	}
	if (!strcmp(url, "/v1/timeline.svg")) {
		err = live__timeline(rq.l, rq.f);
		return err ? view_failed(&rq, err, "") : respond(&rq, 200, "image/svg+xml");
	}
	if (!strcmp(url, "/metrics")) {
		err = live__metrics(rq.l, rq.f);
		return err ? view_failed(&rq, err, "")
			   : respond(&rq, 200, "text/plain; version=0.0.4; charset=utf-8");
	}
	if (!strncmp(url, "/debug/pprof/", 13))
		return pprof_request(&rq, url + 13);
	return fail(&rq, 404, "no page '%s'; see / for what memprof serve serves", url);
}

/* ---- the command ---- */

static int parse_serve_options(struct serve_opts *o, int argc, char **argv, bool *done)
{
	struct record_args *a = &o->rec;
	const struct option opts[] = {
		OPT_CALLBACK(0, "listen", o, "ADDR:PORT",
			     "where to listen (default: 127.0.0.1:17832)", opt_listen),
		OPT_INPUT_FILE(&o->in, "serve this finished trace, recording nothing"),
		OPT_STRING('o', "output", &o->output, "FILE",
			   "also write what is recorded to FILE, a trace for report"),
		OPT_STRING(0, "push", &o->push.url, "URL",
			   "push the live and alloc profiles to the Pyroscope\n"
			   "server at URL (its /ingest) every --push-interval"),
		OPT_CALLBACK(0, "push-interval", &o->push.interval, "SECONDS",
			     "with --push, how often (default: 10)", opt_push_interval),
		OPT_STRING(0, "push-name", &o->push.name, "NAME",
			   "with --push, the application's name (default: memprof)"),
		OPT_RECORD_TARGETS(a),
		OPT_CALLBACK('d', "duration", &a->o.duration, "SECONDS",
			     "stop recording after SECONDS; serving goes on",
			     record__opt_duration),
		OPT_RECORD_EVENTS(a, "all"),
		OPT_INPUT_FILES(&o->in),
		OPT_END(),
	};
	int n = parse_options(argc, argv, "serve", opts, serve_usage,
			      PARSE_OPT_STOP_AT_NON_OPTION);

	*done = true;
	if (n < 0)
		return n == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
	if (o->in.path) {
		if (n > 0 || a->o.npids || a->o.all || a->o.comm || a->o.exec)
			return error("-i serves a finished trace: give no command, -p, -a, --comm "
				     "or --exec with it"), EXIT_USAGE;
		if (o->output)
			return error("-o writes what is recorded, and -i records nothing; give one "
				     "of them"), EXIT_USAGE;
	} else {
		n = record_args__check(a, n, argv, true);
		if (n)
			return n;
	}
	if (o->push.url && strncmp(o->push.url, "http://", 7) && strncmp(o->push.url, "https://", 8))
		return error("invalid --push '%s'; give the Pyroscope server's URL, "
			     "http://HOST:PORT", o->push.url), EXIT_USAGE;
	*done = false;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_opts o = {
		.addr = { .sin_family = AF_INET, .sin_port = htons(DEFAULT_PORT),
			  .sin_addr = { htonl(INADDR_LOOPBACK) } },
		.listen = "127.0.0.1:17832",
		.push = { .interval = 10, .name = "memprof" },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct MHD_Daemon *d = NULL;
	struct push *push = NULL;
	struct live l;
	int ret, argc0 = argc;
	char **argv0 = record__argv_copy(argc, argv);
	bool done, said_end = false;

	if (!argv0)
		return error("out of memory"), 1;
	record_args__init(&o.rec, NULL);
	o.rec.o.events = (1u << MPF_EV__MAX) - 1;
	ret = parse_serve_options(&o, argc, argv, &done);
	if (done) {
		free(argv0);
		return ret;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (o.in.path)
		ret = live__open(&l, &o.in);
	else
		ret = live__record(&l, &o.rec, argc0, argv0, o.output, &stop_signal);
	if (ret)
		goto out;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
			     on_request, &l, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&o.addr,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!d) {
		error("cannot listen on %s: %s; give another --listen", o.listen,
		      strerror(errno ? errno : EADDRINUSE));
		ret = 1;
		stop_signal = SIGTERM;
		goto out;
	}
	if (o.push.url) {
		push = push__start(&l, &o.push);
		if (!push) {
			ret = 1;
			stop_signal = SIGTERM;
			goto out;
		}
	}
	fprintf(stderr, "memprof: serving %s on http://%s/ (/v1/tree, /metrics, /debug/pprof/heap); "
			"Ctrl-C stops it\n",
		o.in.path ? o.in.path : "the recording", o.listen);
	while (!stop_signal) {
		usleep(100 * 1000);
		if (!o.in.path && !said_end && !live__recording(&l) && l.rec_started) {
			fprintf(stderr, "memprof: the recording ended; serving what it recorded until "
					"Ctrl-C\n");
			said_end = true;
		}
	}
	ret = 0;
out:
	push__stop(push);
	if (d)
		MHD_stop_daemon(d);
	stop_signal = stop_signal ? stop_signal : SIGTERM;
	ret = live__finish(&l, ret);
	free(argv0);
	return ret;
}
