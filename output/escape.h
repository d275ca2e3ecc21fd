/*
 * Strings in the machine formats: names come from traces and the files they
 * name, so they are escaped in one place, for every format that writes them.
 */
#ifndef MEMPROF_OUTPUT_ESCAPE_H
#define MEMPROF_OUTPUT_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* s as a JSON string, quotes included: valid UTF-8 as it is, other bytes as U+FFFD. */
void json_str(FILE *f, const char *s);
/*
 * s as XML text or attribute value, at most max bytes of it (never half a
 * character): markup characters escaped, and what XML 1.0 cannot hold
 * (invalid UTF-8, control characters but tab and newlines) as '?'.
 */
void xml_text(FILE *f, const char *s, size_t max);
/* s as one CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
void csv_str(FILE *f, const char *s);

#endif
