/* Whole reads and writes (lib/io.h). */
#include <errno.h>
#include <unistd.h>

#include "lib/io.h"

/* Reads up to len bytes, at off with pread(2), or at the file's offset when off is -1. */
static ssize_t read_loop(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = off == UINT64_MAX ? read(fd, p + done, len - done)
					      : pread(fd, p + done, len - done, (off_t)(off + done));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	return read_loop(fd, buf, len, UINT64_MAX);
}

ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return read_loop(fd, buf, len, off);
}

int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
