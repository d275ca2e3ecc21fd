/*
 * Inside record/: the translation of the kernel side's events (bpf/memprof.h)
 * into trace records (format/mpf.h), one file per family: memory events
 * (event-mem.c) and process events (event-proc.c), with what both need here.
 * The BPF enums are not the file's: each value is mapped, and one the file
 * does not know is dropped rather than copied.
 */
#ifndef MEMPROF_RECORD_EVENTS_H
#define MEMPROF_RECORD_EVENTS_H

#include "record/recorder.h"

/*
 * The stack of an event, following its body (at ips, size bytes in all):
 * frame addresses to intern, or with -g dwarf registers and a stack copy,
 * into *id.  0 or the write error.
 */
int event__stack(struct recorder *r, const struct mp_hdr *h, const __u64 *ips, size_t size,
		 uint32_t flags, uint32_t *id);
/* The path the kernel side gave as names from the file up ("ls\0bin\0\0"): "/bin/ls". */
const char *event__path(const char *names, size_t size, char *out, size_t out_size);

/* Each returns 0 or the write error; an event too short or of no known kind is dropped. */
int event__page_alloc(struct recorder *r, const void *data, size_t size);
int event__page_free(struct recorder *r, const void *data, size_t size);
int event__heap_alloc(struct recorder *r, const void *data, size_t size);
int event__heap_free(struct recorder *r, const void *data, size_t size);
int event__cache(struct recorder *r, const void *data, size_t size);
int event__vmcall(struct recorder *r, const void *data, size_t size);

int event__comm(struct recorder *r, const void *data, size_t size);
int event__fork(struct recorder *r, const void *data, size_t size);
int event__exec(struct recorder *r, const void *data, size_t size);
int event__exit(struct recorder *r, const void *data, size_t size);
int event__mmap_exec(struct recorder *r, const void *data, size_t size);

#endif
