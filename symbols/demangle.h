/* Demangled names of C++ and Rust (legacy and v0) symbols, with libiberty. */
#ifndef MEMPROF_SYMBOLS_DEMANGLE_H
#define MEMPROF_SYMBOLS_DEMANGLE_H

/*
 * The demangled form of sym, as perf shows it (parameters, no return type):
 * a malloc'd string, or NULL when sym is not mangled (C) or on no memory.
 */
char *demangle(const char *sym);

#endif
