/*
 * The one unit rule of what people read (Documentation/memprof-report.txt,
 * UNITS): sizes in adaptive binary units, the largest that keeps the number
 * at 1 or more, with two decimals ("705.95 KiB", "1.55 MiB", "512 B"), and
 * counts and exact byte totals with thousands separators ("1,622,912").
 * The formats programs read (folded, JSON, pprof, CSV) write plain bytes and
 * do not use these.  Written through integers, so no locale changes them.
 */
#ifndef MEMPROF_LIB_UNITS_H
#define MEMPROF_LIB_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Room for any of the strings below. */
#define UNITS_BUF 40

/* n with thousands separators: "1,622,912".  Returns buf. */
char *fmt_count(char *buf, size_t size, uint64_t n);
/* bytes in an adaptive unit: "0 B", "512 B", "1.50 KiB", "1,023.99 MiB" (TiB at most). */
char *fmt_size(char *buf, size_t size, uint64_t bytes);
/* The same with a sign: "+1.50 KiB", "-512 B", "+0 B". */
char *fmt_delta(char *buf, size_t size, uint64_t bytes, int negative);

/* Compound literals for one call's arguments: printf("%s", SIZE(b)). */
#define COUNT(n) fmt_count((char[UNITS_BUF]){ 0 }, UNITS_BUF, (n))
#define SIZE(b) fmt_size((char[UNITS_BUF]){ 0 }, UNITS_BUF, (b))
#define DELTA(b, neg) fmt_delta((char[UNITS_BUF]){ 0 }, UNITS_BUF, (b), (neg))

#endif
