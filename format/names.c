/*
 * Names of the format's enumerations, as the command line takes them (-e page)
 * and as reports and dumps print them.  Unknown values give NULL rather than
 * a placeholder so that callers notice them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/mpf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const event_names[] = {
	[MPF_EV_PAGE] = "page",
	[MPF_EV_HEAP] = "heap",
	[MPF_EV_CACHE] = "cache",
	[MPF_EV_MMAP] = "mmap",
	[MPF_EV_RSS] = "rss",
};

static const char *const vm_call_names[] = {
	[MPF_VM_MMAP] = "mmap",
	[MPF_VM_MUNMAP] = "munmap",
	[MPF_VM_MREMAP] = "mremap",
	[MPF_VM_BRK] = "brk",
};

static const char *const heap_func_names[] = {
	[MPF_HEAP_MALLOC] = "malloc",
	[MPF_HEAP_CALLOC] = "calloc",
	[MPF_HEAP_REALLOC] = "realloc",
	[MPF_HEAP_POSIX_MEMALIGN] = "posix_memalign",
	[MPF_HEAP_ALIGNED_ALLOC] = "aligned_alloc",
	[MPF_HEAP_MEMALIGN] = "memalign",
	[MPF_HEAP_VALLOC] = "valloc",
	[MPF_HEAP_FREE] = "free",
};

static const char *const rec_names[] = {
	[MPF_REC_INFO] = "info",
	[MPF_REC_COMM] = "comm",
	[MPF_REC_FORK] = "fork",
	[MPF_REC_EXEC] = "exec",
	[MPF_REC_EXIT] = "exit",
	[MPF_REC_FILE] = "file",
	[MPF_REC_MAP] = "map",
	[MPF_REC_STACK] = "stack",
	[MPF_REC_PAGE_ALLOC] = "page_alloc",
	[MPF_REC_PAGE_FREE] = "page_free",
	[MPF_REC_HEAP_ALLOC] = "heap_alloc",
	[MPF_REC_HEAP_FREE] = "heap_free",
	[MPF_REC_HEAP_REALLOC] = "heap_realloc",
	[MPF_REC_LOST] = "lost",
	[MPF_REC_END] = "end",
	[MPF_REC_USTACK] = "ustack",
	[MPF_REC_CACHE_ADD] = "cache_add",
	[MPF_REC_CACHE_DEL] = "cache_del",
	[MPF_REC_VM] = "vm",
	[MPF_REC_RSS] = "rss",
	[MPF_REC_FRAME] = "frame",
	[MPF_REC_STACK_NODE] = "stack_node",
};

static const char *const unwind_names[] = {
	[MPF_UNWIND_COMPLETE] = "complete",
	[MPF_UNWIND_NO_TABLE] = "no-table",
	[MPF_UNWIND_DEPTH] = "depth",
	[MPF_UNWIND_UNREADABLE] = "unreadable",
	[MPF_UNWIND_BAD] = "bad-cfi",
};

/* An enum value appended without a name here would silently be NULL: fail the build. */
_Static_assert(ARRAY_SIZE(event_names) == MPF_EV__MAX, "event_names");
_Static_assert(ARRAY_SIZE(heap_func_names) == MPF_HEAP__MAX, "heap_func_names");
_Static_assert(ARRAY_SIZE(rec_names) == MPF_REC__MAX, "rec_names");
_Static_assert(ARRAY_SIZE(vm_call_names) == MPF_VM__MAX, "vm_call_names");
_Static_assert(ARRAY_SIZE(unwind_names) == MPF_UNWIND__MAX, "unwind_names");

const char *mpf_event_name(unsigned int ev)
{
	return ev < ARRAY_SIZE(event_names) ? event_names[ev] : NULL;
}

const char *mpf_lost_name(unsigned int lost)
{
	return lost == MPF_LOST_PROC ? "process" : mpf_event_name(lost);
}

int mpf_event_parse(const char *name)
{
	unsigned int i;

	for (i = 0; name && i < ARRAY_SIZE(event_names); i++)
		if (!strcmp(event_names[i], name))
			return (int)i;
	return -EINVAL;
}

const char *mpf_heap_func_name(unsigned int func)
{
	return func < ARRAY_SIZE(heap_func_names) ? heap_func_names[func] : NULL;
}

const char *mpf_rec_name(unsigned int type)
{
	return type < ARRAY_SIZE(rec_names) ? rec_names[type] : NULL;
}

const char *mpf_vm_call_name(unsigned int call)
{
	return call < ARRAY_SIZE(vm_call_names) ? vm_call_names[call] : NULL;
}

const char *mpf_unwind_name(unsigned int end)
{
	return end < ARRAY_SIZE(unwind_names) ? unwind_names[end] : NULL;
}

/* "A in code without call frame information, B at the depth limit, ...": why walks stopped short. */
void mpf_unwind_causes(const uint64_t ends[MPF_UNWIND__MAX], char *buf, size_t size)
{
	static const char *const causes[] = {
		[MPF_UNWIND_NO_TABLE] = "in code without call frame information",
		[MPF_UNWIND_DEPTH] = "at the depth limit",
		[MPF_UNWIND_UNREADABLE] = "with unreadable stack memory",
		[MPF_UNWIND_BAD] = "other",
	};
	size_t len = 0;

	_Static_assert(ARRAY_SIZE(causes) == MPF_UNWIND__MAX, "causes");
	if (size)
		buf[0] = 0;
	for (unsigned int i = MPF_UNWIND_COMPLETE + 1; i < MPF_UNWIND__MAX && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu64 " %s",
					len ? ", " : "", ends[i], causes[i]);
}

void mpf_heap_children_format(const struct mpf_heap_children *c, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size,
				      "missed=%" PRIu64 " late=%" PRIu64 " delay-ms=%" PRIu64
				      " parents=", c->missed, c->late, c->delay_ms);

	for (unsigned int i = 0; i < c->nparents && i < MPF_HEAP_PARENTS && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu32 ":%" PRIu64 ":%" PRIu64,
					i ? "," : "", c->parents[i].pid, c->parents[i].missed,
					c->parents[i].late);
}

/* A decimal number at *v, and *v past it; false when there is none. */
static bool parse_num(const char **v, uint64_t *n)
{
	char *end;

	if (**v < '0' || **v > '9')
		return false;
	errno = 0;
	*n = strtoull(*v, &end, 10);
	*v = end;
	return !errno;
}

bool mpf_heap_children_parse(const char *v, struct mpf_heap_children *c)
{
	uint64_t pid;

	memset(c, 0, sizeof(*c));
	if (strncmp(v, "missed=", 7) || !((v += 7), parse_num(&v, &c->missed)) ||
	    strncmp(v, " late=", 6) || !((v += 6), parse_num(&v, &c->late)) ||
	    strncmp(v, " delay-ms=", 10) || !((v += 10), parse_num(&v, &c->delay_ms)) ||
	    strncmp(v, " parents=", 9))
		return false;
	for (v += 9; *v && c->nparents < MPF_HEAP_PARENTS; c->nparents++) {
		if (c->nparents && *v++ != ',')
			return false;
		if (!parse_num(&v, &pid) || pid > UINT32_MAX || *v++ != ':' ||
		    !parse_num(&v, &c->parents[c->nparents].missed) || *v++ != ':' ||
		    !parse_num(&v, &c->parents[c->nparents].late))
			return false;
		c->parents[c->nparents].pid = (uint32_t)pid;
	}
	return true;
}

void mpf_heap_children_describe(const struct mpf_heap_children *c, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size,
				      "the heap of %" PRIu64 " children was not recorded (gone "
				      "before their probes were placed), of %" PRIu64
				      " only from up to %" PRIu64 " ms after their fork",
				      c->missed, c->late, c->delay_ms);

	for (unsigned int i = 0; i < c->nparents && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu32 ": %" PRIu64 " and %" PRIu64,
					i ? ", " : " (children of PID ", c->parents[i].pid,
					c->parents[i].missed, c->parents[i].late);
	if (len < size)
		snprintf(buf + len, size - len, "%s; record with --heap-probes=all to have them "
			 "from their first instruction", c->nparents ? ")" : "");
}
