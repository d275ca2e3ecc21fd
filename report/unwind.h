/*
 * Offline DWARF unwinding of USTACK records (record -g dwarf) into frame
 * addresses, with libdwfl and the CFI of the process image's files.
 */
#ifndef MEMPROF_REPORT_UNWIND_H
#define MEMPROF_REPORT_UNWIND_H

#include <stdint.h>

#include "format/mpf.h"

struct model;
struct model_file;
struct unwinder;

/* Opens a file of the trace, checked to be the one recorded: a new fd, or -errno. */
typedef int (*unwind_open_fn)(void *ctx, const struct model_file *f);

struct unwinder *unwinder__new(struct model *m, unwind_open_fn open, void *ctx);
void unwinder__delete(struct unwinder *uw);

/*
 * Unwinds u, taken in process image `image`, into ips (innermost first, at
 * most max): the event's pc, then return addresses as far as the CFI and
 * the stack copy go.  Returns the number of frames; *truncated says whether
 * they stop short of the outermost frame (the stack copy or the CFI ran out,
 * or a file was missing).
 */
int unwinder__unwind(struct unwinder *uw, uint32_t image, const struct mpf_ustack *u,
		     uint64_t *ips, uint32_t max, bool *truncated);

#endif
