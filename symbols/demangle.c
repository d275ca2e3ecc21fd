/*
 * Symbol demangling: libiberty's cplus_demangle knows the Itanium C++ ABI
 * and both Rust manglings (legacy, whose trailing hash it drops, and v0).
 * Names are shown with their parameters and without return types, as perf
 * and gdb show them: "shapes::build<shapes::Blob>()", "operator new(unsigned long)".
 */
#include <libiberty/demangle.h>
#include <string.h>

#include "symbols/demangle.h"

char *demangle(const char *sym)
{
	/* Only mangled names: a C name that happens to parse must stay as it is. */
	if (strncmp(sym, "_Z", 2) && strncmp(sym, "_R", 2) && strncmp(sym, "__Z", 3))
		return NULL;
	return cplus_demangle(sym, DMGL_PARAMS | DMGL_ANSI | DMGL_RET_DROP | DMGL_AUTO);
}
