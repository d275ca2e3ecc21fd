/*
 * What the DWARF of a module says at an address (libdw): the name of a
 * function from its DIE, the function an address is in when no ELF symbol
 * covers it, the chain of functions inlined there, and the source line.
 */
#ifndef MEMPROF_SYMBOLS_DWARF_H
#define MEMPROF_SYMBOLS_DWARF_H

#include <elfutils/libdwfl.h>

/*
 * The name of a function's DIE: its linkage name if any (to demangle), else
 * its name, following DW_AT_abstract_origin and DW_AT_specification to where
 * the names are; NULL when it has none.
 */
const char *dwarf_die_name(Dwarf_Die *die);

/* The function the DWARF puts at addr (a module address): the outermost subprogram. */
const char *dwarf_function(Dwfl_Module *mod, Dwarf_Addr addr);

struct inline_frame {
	const char *name;	/* as dwarf_die_name() gives it */
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

/* The source file and line of addr: the file, NULL when unknown. */
const char *source_line(Dwfl_Module *mod, Dwarf_Addr addr, int *line);

#endif
