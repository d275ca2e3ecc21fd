/* The command layer's messages, in git's style, and its small parsing helpers. */
#ifndef MEMPROF_BUILTIN_UTIL_H
#define MEMPROF_BUILTIN_UTIL_H

#include <stdbool.h>
#include <stdint.h>

extern int verbose;

/* "memprof: error: ..." on stderr; returns -1 so callers can `return error(...)`. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a whole non-negative decimal number; false when s is not one. */
bool parse_u64(const char *s, uint64_t *out);

/* The exit status of a command given wrong options or arguments, as git's. */
#define EXIT_USAGE 129

#endif
