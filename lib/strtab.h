/*
 * Interned strings: each distinct string once, named by a small id, so that
 * trees and tables compare names by id.
 */
#ifndef MEMPROF_LIB_STRTAB_H
#define MEMPROF_LIB_STRTAB_H

#include <stddef.h>
#include <stdint.h>

struct strtab;

struct strtab *strtab__new(void);
void strtab__delete(struct strtab *t);
/* The id of s (>= 0), adding it when new; -ENOMEM. */
int strtab__intern(struct strtab *t, const char *s);
/* The same, into *id: 0 or -ENOMEM. */
int strtab__intern_id(struct strtab *t, const char *s, uint32_t *id);
/* The string of id, "" for an id never given. */
const char *strtab__str(const struct strtab *t, uint32_t id);
/* The length of the string of id, without looking at it: 0 for an id never given. */
size_t strtab__len(const struct strtab *t, uint32_t id);
/* How many strings it holds: ids are 0 .. count - 1. */
size_t strtab__count(const struct strtab *t);
/*
 * Names come from traces and the files they name: a control character would
 * reach the terminal (escape sequences) or split a folded line.  Replaces
 * *id by the id of its form with those shown as '?' (itself when it has
 * none).  0 or -ENOMEM.
 */
int strtab__printable(struct strtab *t, uint32_t *id);

#endif
