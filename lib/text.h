/*
 * Text from traces and the files they name is not trusted: these make it safe
 * to show (no control character reaches a terminal or splits a line) and tell
 * valid UTF-8 from bytes that only look like it.
 */
#ifndef MEMPROF_LIB_TEXT_H
#define MEMPROF_LIB_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Each control character of s becomes '?', in place.  Returns s. */
char *make_printable(char *s);
/* Whether s has a character make_printable() would replace. */
int has_unprintable(const char *s);
/* The bytes of the valid UTF-8 sequence at s, 0 when it is not one. */
size_t utf8_len(const unsigned char *s);
/* len bytes in lower-case hex into buf (2 * len + 1 bytes); buf. */
char *hex_str(const uint8_t *bytes, size_t len, char *buf);

#endif
