/* The chain of functions inlined at an address, from the DWARF scopes (libdw). */
#ifndef MEMPROF_REPORT_INLINE_H
#define MEMPROF_REPORT_INLINE_H

#include <elfutils/libdwfl.h>

struct inline_frame {
	const char *name;	/* linkage name if any (to demangle), else the name */
	const char *file;	/* source of the frame's line, NULL when unknown */
	int line;
};

/*
 * The functions inlined at addr (a module address, bias included),
 * innermost first, into frames: only the inlined ones, not the function
 * they were inlined into.  Each frame's file:line is the line of addr for
 * the innermost, and for the others the call site of the one inside them;
 * *outer_file / *outer_line get the call site in the containing function.
 * Returns the number of frames (0: nothing inlined there).
 */
int inline_frames(Dwfl_Module *mod, Dwarf_Addr addr, struct inline_frame *frames, int max,
		  const char **outer_file, int *outer_line);

#endif
