/*
 * memprof serve's parts: the web page it serves at / (builtin/serve-page.c)
 * and the pushing of profiles to a Pyroscope server (builtin/serve-push.c).
 */
#ifndef MEMPROF_BUILTIN_SERVE_H
#define MEMPROF_BUILTIN_SERVE_H

struct live;

/* The page at /: HTML with its script, which reads the other paths. */
extern const char serve_page[];

struct push_opts {
	const char *url;		/* the server: its /ingest gets the profiles */
	const char *name;		/* the application's name in Pyroscope */
	unsigned int interval;		/* seconds between pushes */
};

struct push;

/*
 * Starts a thread that, every interval, posts the live (inuse) and the
 * allocated profile of the recording, as pprof, to the server's /ingest
 * (format=pprof, name with labels, from and until): Pyroscope's ingest API.
 * NULL after printing an error.
 */
struct push *push__start(struct live *l, const struct push_opts *o);
/* Stops it, after one last push; NULL does nothing. */
void push__stop(struct push *p);

#endif
