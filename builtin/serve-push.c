/*
 * serve --push: the recording's profiles posted to a Pyroscope server, as
 * its HTTP ingest API takes them (POST /ingest?name=APP{labels}&from=&until=
 * &format=pprof, the profile as the body), every --push-interval, by
 * libcurl.  The profiles are serve's /debug/pprof ones: the live and the
 * allocated bytes of the heap (of the pages when the heap is not recorded).
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builtin/live.h"
#include "builtin/serve.h"
#include "builtin/util.h"

struct push {
	struct live *l;
	struct push_opts o;
	CURL *curl;
	struct curl_slist *headers;	/* the body's type: Pyroscope's for a raw profile */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	time_t from;			/* the end of the last push */
	char host[64];
	unsigned int failures;		/* in a row: said once */
};

/* Posts one profile of ev and show, covering [from, until]. */
static void push_one(struct push *p, int ev, enum report_show show, time_t until)
{
	char *body = NULL, *name, url[2048];
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	long status = 0;
	CURLcode res;
	int err;

	if (!f)
		return;
	err = live__pprof(p->l, f, ev, show);
	fclose(f);
	if (err) {
		free(body);
		return;
	}
	/* Pyroscope's name: the application, a dot-separated profile, labels in braces. */
	snprintf(url, sizeof(url), "%s.%s.%s{hostname=%s}", p->o.name, mpf_event_name(ev),
		 show == REPORT_SHOW_ALLOC ? "alloc" : "live", p->host);
	name = curl_easy_escape(p->curl, url, 0);
	snprintf(url, sizeof(url), "%s%singest?name=%s&from=%lld&until=%lld&format=pprof&"
		 "spyName=memprof&units=bytes&aggregationType=%s",
		 p->o.url, p->o.url[strlen(p->o.url) - 1] == '/' ? "" : "/", name ? name : "memprof",
		 (long long)p->from, (long long)until, show == REPORT_SHOW_ALLOC ? "sum" : "average");
	curl_free(name);
	curl_easy_setopt(p->curl, CURLOPT_URL, url);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	res = curl_easy_perform(p->curl);
	if (res == CURLE_OK)
		curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK || status < 200 || status > 299) {
		if (!p->failures++)
			warning("cannot push to '%s': %s; trying again every %u s", p->o.url,
				res != CURLE_OK ? curl_easy_strerror(res) : "the server refused it",
				p->o.interval);
	} else {
		p->failures = 0;
	}
	free(body);
}

static void push_all(struct push *p)
{
	unsigned int events = live__events(p->l);
	time_t until = time(NULL);
	int ev = events & (1u << MPF_EV_HEAP) ? MPF_EV_HEAP : MPF_EV_PAGE;

	if (!(events & (1u << ev)))
		return;
	push_one(p, ev, REPORT_SHOW_LIVE, until);
	push_one(p, ev, REPORT_SHOW_ALLOC, until);
	p->from = until;
}

static void *push_main(void *arg)
{
	struct push *p = arg;
	struct timespec next;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		clock_gettime(CLOCK_REALTIME, &next);
		next.tv_sec += p->o.interval;
		while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &next) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&p->lock);
		push_all(p);
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct push *push__start(struct live *l, const struct push_opts *o)
{
	struct push *p = calloc(1, sizeof(*p));

	if (!p || curl_global_init(CURL_GLOBAL_DEFAULT) || !(p->curl = curl_easy_init())) {
		free(p);
		return error("cannot start pushing: out of memory"), NULL;
	}
	p->l = l;
	p->o = *o;
	p->from = time(NULL);
	if (gethostname(p->host, sizeof(p->host) - 1) || !p->host[0])
		snprintf(p->host, sizeof(p->host), "unknown");
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_USERAGENT, "memprof/" MEMPROF_VERSION);
	/* Not curl's default for a POST, a form: Pyroscope reads a form's fields instead. */
	p->headers = curl_slist_append(NULL, "Content-Type: binary/octet-stream");
	if (!p->headers) {
		curl_easy_cleanup(p->curl);
		free(p);
		return error("cannot start pushing: out of memory"), NULL;
	}
	curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, p->headers);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	if (live__thread(&p->thread, push_main, p)) {
		curl_slist_free_all(p->headers);
		curl_easy_cleanup(p->curl);
		free(p);
		return error("cannot start a thread: %s", strerror(errno)), NULL;
	}
	return p;
}

void push__stop(struct push *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	curl_easy_cleanup(p->curl);
	curl_slist_free_all(p->headers);
	curl_global_cleanup();
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
