/*
 * Offline DWARF unwinding of USTACK records (record -g dwarf) into frame
 * addresses, with libdwfl and the CFI of the process image's files.
 */
#ifndef MEMPROF_SYMBOLS_UNWIND_H
#define MEMPROF_SYMBOLS_UNWIND_H

#include <stdint.h>

#include "format/mpf.h"

struct lookup;
struct model;
struct unwinder;

/*
 * An unwinder for the USTACK records of model m, set as its unwinder
 * (model__set_unwinder): it finds the files as symbolization does, with lookup.
 */
struct unwinder *unwinder__new(struct model *m, struct lookup *lookup);
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
