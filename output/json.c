/*
 * --format=json: the call tree as nested objects, with the field names of the
 * TezEdge memory profiler's tree (name.executable, name.offset,
 * name.functionName, name.functionCategory, value, cacheValue, frames), so
 * that its front end and scripts written for it read memprof's output, and
 * "self", what the stacks ending at a node hold (perf's Self).  An array of
 * one object per event type.  Values are bytes (with --show=count,
 * allocations), integers, as every format programs read gives them
 * (lib/units.h's rule).  Documentation/memprof-report.txt describes the shape.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "output/escape.h"
#include "output/output.h"
#include "report/tree.h"

static const char *const category_names[] = {
	[PATH_CAT_UNKNOWN] = "unknown",	      [PATH_CAT_PROCESS] = "process",
	[PATH_CAT_EXECUTABLE] = "executable", [PATH_CAT_LIBRARY] = "library",
	[PATH_CAT_KERNEL] = "kernel",	      [PATH_CAT_OTHER] = "other",
};

/* A node's value: bytes, or with --show=count a number of allocations. */
static void value(FILE *f, const struct report_section *sec, uint64_t v)
{
	fprintf(f, "%" PRIu64, v);
}

/* The page cache bytes of a node: all of a cache section's, else those kept apart. */
static uint64_t cache_of(const struct report_section *sec, const struct tree_node *n)
{
	return !strcmp(sec->event, "cache") ? n->v[VIEW_VALUE] : n->v[VIEW_CACHE];
}

/* A node's children as a "frames" array. */
static void print_frames(FILE *f, const struct tree *t, const struct strtab *names,
			 const struct report_section *sec, const struct path_frames *frames,
			 const struct tree_node *n);

static void print_node(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec, const struct path_frames *frames,
		       const struct tree_node *n)
{
	const struct path_frame *fr = path_frames__find(frames, n->name);

	fputs("{\"name\":{\"executable\":", f);
	json_str(f, fr && fr->executable != UINT32_MAX ? strtab__str(names, fr->executable) : "");
	fprintf(f, ",\"offset\":\"0x%" PRIx64 "\",\"functionName\":", fr ? fr->offset : 0);
	json_str(f, strtab__str(names, n->name));
	fprintf(f, ",\"functionCategory\":\"%s\"},\"value\":",
		category_names[fr ? fr->category : PATH_CAT_UNKNOWN]);
	value(f, sec, n->v[VIEW_VALUE]);
	fputs(",\"self\":", f);
	value(f, sec, tree__self(t, n, VIEW_VALUE));
	fputs(",\"cacheValue\":", f);
	value(f, sec, cache_of(sec, n));
	/* --show=leaks and temporary: the blocks or allocations behind the bytes. */
	if (sec->has_count)
		fprintf(f, ",\"count\":%" PRIu64, n->v[VIEW_COUNT]);
	print_frames(f, t, names, sec, frames, n);
	fputs("}", f);
}

static void print_frames(FILE *f, const struct tree *t, const struct strtab *names,
			 const struct report_section *sec, const struct path_frames *frames,
			 const struct tree_node *n)
{
	fputs(",\"frames\":[", f);
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		if (c != n->child)
			fputc(',', f);
		print_node(f, t, names, sec, frames, tree__node(t, c));
	}
	fputs("]", f);
}

int output_json__print(FILE *f, const struct tree *t, const struct strtab *names,
		       const struct report_section *sec, const struct path_frames *frames,
		       bool first, bool last)
{
	const struct tree_node *root = tree__node(t, TREE_ROOT);

	fputs(first ? "[" : ",", f);
	fprintf(f,
		"{\"event\":\"%s\",\"show\":\"%s\",\"unit\":\"%s\",\"reverse\":%s,"
		"\"threshold\":%" PRIu64 ",\"percentLimit\":%g,\"foldedPaths\":%" PRIu64
		",\"total\":%" PRIu64 ",\"allocations\":%" PRIu64,
		sec->event, report_show_name(sec->show),
		sec->show == REPORT_SHOW_COUNT ? "allocations" : "bytes",
		sec->reverse ? "true" : "false", sec->threshold_kib, sec->percent_limit,
		sec->folded_paths, sec->total, sec->allocations);
	if (sec->runtime_blocks)
		fprintf(f, ",\"leftOut\":{\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			sec->runtime_blocks, sec->runtime_bytes);
	if (sec->show == REPORT_SHOW_PEAK)
		fprintf(f, ",\"peakTime\":%.9f", (double)sec->peak_ns / 1e9);
	/* Events lost while recording: up to as many allocations here may be wrong. */
	if (sec->lost)
		fprintf(f, ",\"lost\":%" PRIu64, sec->lost);
	fputs(",\"value\":", f);
	value(f, sec, sec->total);
	fputs(",\"self\":", f);
	value(f, sec, tree__self(t, root, VIEW_VALUE));
	fputs(",\"cacheValue\":", f);
	value(f, sec, !strcmp(sec->event, "cache") ? sec->total : sec->cache_total);
	if (sec->has_count)
		fprintf(f, ",\"count\":%" PRIu64, root->v[VIEW_COUNT]);
	print_frames(f, t, names, sec, frames, root);
	fputs("}", f);
	if (last)
		fputs("]\n", f);
	return ferror(f) ? -EIO : 0;
}

/*
 * TezEdge's categories: its node's own code (nodeRust, nodeCpp: Rust by its
 * demangled names, "a::b" without C++'s parameter list) and shared
 * libraries (systemLib); memprof's others under their own names.
 */
static const char *tezedge_category(const struct path_frame *fr, const char *name)
{
	switch (fr ? fr->category : PATH_CAT_UNKNOWN) {
	case PATH_CAT_EXECUTABLE:
		return strstr(name, "::") && !strchr(name, '(') ? "nodeRust" : "nodeCpp";
	case PATH_CAT_LIBRARY:
		return "systemLib";
	default:
		return category_names[fr ? fr->category : PATH_CAT_UNKNOWN];
	}
}

/* Bytes to TezEdge's unit, whole KiB, rounded to the nearest. */
static uint64_t kib(uint64_t bytes)
{
	return bytes / 1024 + (bytes % 1024 >= 512);
}

static void tezedge_node(FILE *f, const struct tree *t, const struct strtab *names,
			 const struct report_section *sec, const struct path_frames *frames,
			 const struct tree_node *n, bool root)
{
	const struct path_frame *fr = root ? NULL : path_frames__find(frames, n->name);
	const char *name = root ? "root" : strtab__str(names, n->name);

	fputs("{\"name\":{\"executable\":", f);
	json_str(f, fr && fr->executable != UINT32_MAX ? strtab__str(names, fr->executable) : "");
	fprintf(f, ",\"offset\":\"0x%" PRIx64 "\",\"functionName\":", fr ? fr->offset : 0);
	json_str(f, name);
	fprintf(f, ",\"functionCategory\":\"%s\"},\"value\":%" PRIu64 ",\"cacheValue\":%" PRIu64
		   ",\"frames\":[",
		root ? "root" : tezedge_category(fr, name),
		kib(root ? sec->total : n->v[VIEW_VALUE]),
		kib(root ? (!strcmp(sec->event, "cache") ? sec->total : sec->cache_total)
			 : cache_of(sec, n)));
	for (uint32_t c = n->child; c != TREE_NONE; c = tree__node(t, c)->next) {
		if (c != n->child)
			fputc(',', f);
		tezedge_node(f, t, names, sec, frames, tree__node(t, c), false);
	}
	fputs("]}", f);
}

int output_json__tezedge(FILE *f, const struct tree *t, const struct strtab *names,
			 const struct report_section *sec, const struct path_frames *frames)
{
	tezedge_node(f, t, names, sec, frames, tree__node(t, TREE_ROOT), true);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
