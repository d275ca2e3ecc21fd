/*
 * --format=json: the call tree as nested objects, with the field names of the
 * TezEdge memory profiler's tree (name.executable, name.offset,
 * name.functionName, name.functionCategory, value, cacheValue, frames), so
 * that its front end and scripts written for it read memprof's output.  An
 * array of one object per event type.  Values are KiB, written exactly
 * (bytes / 1024 needs at most 10 decimals), so children add up to their
 * parent.  Documentation/memprof-report.txt describes the shape.
 */
#include <inttypes.h>
#include <string.h>

#include "report/report.h"
#include "report/tree.h"

static const char *const category_names[] = {
	[REPORT_CAT_UNKNOWN] = "unknown",	[REPORT_CAT_PROCESS] = "process",
	[REPORT_CAT_EXECUTABLE] = "executable", [REPORT_CAT_LIBRARY] = "library",
	[REPORT_CAT_KERNEL] = "kernel",		[REPORT_CAT_OTHER] = "other",
};

/* Names come from files and the trace: anything not UTF-8 becomes U+FFFD. */
static void json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n = utf8_len(s);

		if (!n) {
			fputs("\\ufffd", f);
			s++;
		} else if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else {
			fwrite(s, 1, n, f);
			s += n;
		}
	}
	fputc('"', f);
}

/* bytes / 1024, exactly: 1024 divides 10^10, so ten decimals always suffice. */
static void json_kib(FILE *f, uint64_t bytes)
{
	uint64_t frac = (bytes % 1024) * 9765625ULL;	/* * 10^10 / 1024 */
	char digits[11];
	int len = 10;

	fprintf(f, "%" PRIu64, bytes / 1024);
	if (!frac)
		return;
	snprintf(digits, sizeof(digits), "%010" PRIu64, frac);
	while (len > 0 && digits[len - 1] == '0')
		len--;
	fprintf(f, ".%.*s", len, digits);
}

/* A node's value: KiB, or with --show=count a number of allocations. */
static void value(FILE *f, const struct report_section *sec, uint64_t v)
{
	if (sec->show == REPORT_SHOW_COUNT)
		fprintf(f, "%" PRIu64, v);
	else
		json_kib(f, v);
}

/* The page cache bytes of a node: all of a cache section's, else those kept apart. */
static uint64_t cache_of(const struct report_section *sec, const struct tree_node *n)
{
	return !strcmp(sec->event, "cache") ? n->value : n->cache;
}

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec, const struct report_frames *frames,
		       uint32_t idx, uint64_t count)
{
	const struct tree_node *n = tree__node(t, idx);
	const uint64_t *fi = hmap__find(&frames->by_name, n->name, 0);
	const struct report_frame *fr = fi ? &frames->v[*fi] : NULL;
	bool first = true;

	fputs("{\"name\":{\"executable\":", f);
	json_string(f, fr && fr->executable != UINT32_MAX ? strtab__str(names, fr->executable)
							    : "");
	fprintf(f, ",\"offset\":\"0x%" PRIx64 "\",\"functionName\":", fr ? fr->offset : 0);
	json_string(f, strtab__str(names, n->name));
	fprintf(f, ",\"functionCategory\":\"%s\"},\"value\":",
		category_names[fr ? fr->category : REPORT_CAT_UNKNOWN]);
	value(f, sec, n->value);
	fputs(",\"cacheValue\":", f);
	value(f, sec, cache_of(sec, n));
	/* --show=leaks and temporary: the blocks or allocations behind the bytes. */
	if (sec->counts)
		fprintf(f, ",\"count\":%" PRIu64, count);
	fputs(",\"frames\":[", f);
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		if (!first)
			fputc(',', f);
		first = false;
		print_node(f, t, names, sec, frames, c, report_child_count(t, sec, idx, count, c));
	}
	fputs("]}", f);
}

int output_json__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec, const struct report_frames *frames,
		       bool first, bool last)
{
	const struct tree_node *root = tree__node(t, TREE_ROOT);
	uint64_t count = sec->counts ? tree__node(sec->counts, TREE_ROOT)->value : 0;
	bool first_child = true;

	fputs(first ? "[" : ",", f);
	fprintf(f,
		"{\"event\":\"%s\",\"show\":\"%s\",\"unit\":\"%s\",\"reverse\":%s,"
		"\"threshold\":%" PRIu64 ",\"total\":%" PRIu64 ",\"allocations\":%" PRIu64,
		sec->event, report_show_name(sec->show),
		sec->show == REPORT_SHOW_COUNT ? "allocations" : "KiB",
		sec->reverse ? "true" : "false", sec->threshold_kib, sec->total, sec->allocations);
	if (sec->show == REPORT_SHOW_PEAK)
		fprintf(f, ",\"peakTime\":%.9f", (double)sec->peak_ns / 1e9);
	fputs(",\"value\":", f);
	value(f, sec, sec->total);
	fputs(",\"cacheValue\":", f);
	value(f, sec, !strcmp(sec->event, "cache") ? sec->total : sec->cache_total);
	if (sec->counts)
		fprintf(f, ",\"count\":%" PRIu64, count);
	fputs(",\"frames\":[", f);
	for (uint32_t c = root->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		if (!first_child)
			fputc(',', f);
		first_child = false;
		print_node(f, t, names, sec, frames, c, report_child_count(t, sec, TREE_ROOT, count, c));
	}
	fputs("]}", f);
	if (last)
		fputs("]\n", f);
	return ferror(f) ? -EIO : 0;
}
