/* Small helpers shared by the command layer: messages and number parsing. */
#ifndef MEMPROF_UTIL_H
#define MEMPROF_UTIL_H

#include <stdbool.h>
#include <stdint.h>

extern int verbose;

/* "memprof: error: ..." on stderr; returns -1 so callers can `return error(...)`. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a whole non-negative decimal number; false when s is not one. */
bool parse_u64(const char *s, uint64_t *out);

/* The exit status of a command given wrong options or arguments, as git's. */
#define EXIT_USAGE 129

/*
 * For a command parsing with getopt_long(":...") and opterr = 0: says in one
 * line what was wrong with the option getopt just refused (c is what it
 * returned, ':' for a missing value), and returns EXIT_USAGE.
 */
int option_error(const char *cmd, int c, char **argv);

/* Prints the man page synopsis of a command (from the usage text) and returns status. */
int usage(const char *text, int status);

#endif
