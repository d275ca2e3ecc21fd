/*
 * The build-id cache: copies of ELF files and of their separate debug info,
 * kept by build-id, so that a trace is still reported with names after the
 * files it names are rebuilt, upgraded or deleted, or were only reachable in
 * a container.  record adds the files it can reach only through the target
 * (another mount namespace, deleted files); `memprof buildid-cache` adds
 * files on request; report and archive look files up in it.
 *
 * The layout is the one of /usr/lib/debug and of gdb's and libdwfl's debug
 * file directories, so those tools can use the cache too:
 *
 *	DIR/.build-id/xx/yyyy...	the file that was mapped
 *	DIR/.build-id/xx/yyyy....debug	its separate debug info
 *
 * where xx is the first byte of the build-id in hex and yyyy... the rest.
 * DIR is $MEMPROF_BUILDID_DIR, else $XDG_CACHE_HOME/memprof, else
 * $HOME/.cache/memprof.
 */
#ifndef MEMPROF_ELF_BUILDID_CACHE_H
#define MEMPROF_ELF_BUILDID_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "format/archive.h"

/* The cache directory the environment gives, into buf.  -ENOENT when it gives none (no HOME). */
int buildid_cache__dir(char *buf, size_t size);
/* The path of an entry in the cache at dir.  -ENAMETOOLONG or -EINVAL (no build-id). */
int buildid_cache__path(const char *dir, enum mpf_archive_kind kind, const uint8_t *build_id,
			    uint32_t build_id_len, char *buf, size_t size);
/*
 * Adds the content of fd to the cache at dir (created as needed), atomically:
 * a reader sees the whole file or none.  1 when added, 0 when the entry was
 * already there, or a negative errno.  The caller has checked the build-id.
 */
int buildid_cache__add(const char *dir, enum mpf_archive_kind kind, const uint8_t *build_id,
			   uint32_t build_id_len, int fd);

#endif
