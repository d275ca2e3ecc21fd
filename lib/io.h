/*
 * Whole reads and writes: the loops around read(2), pread(2) and write(2)
 * that EINTR and short transfers need.
 */
#ifndef MEMPROF_LIB_IO_H
#define MEMPROF_LIB_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to len bytes; fewer only at the end of the file.  The bytes read, or -errno. */
ssize_t read_full(int fd, void *buf, size_t len);
/* The same at file offset off, leaving the file's own offset alone. */
ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off);
/* Writes all len bytes: 0, or -errno (-EIO when the file takes no more). */
int write_full(int fd, const void *buf, size_t len);

#endif
