/* The build-id cache (elf/buildid-cache.h): where it is, its paths, adding a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/buildid-cache.h"
#include "lib/io.h"

#define COPY_BUF (128u << 10)

static int dir_from(char *buf, size_t size, const char *base, const char *sub)
{
	int n = snprintf(buf, size, "%s%s", base, sub);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int buildid_cache__dir(char *buf, size_t size)
{
	const char *env = getenv("MEMPROF_BUILDID_DIR");

	if (env && *env)
		return dir_from(buf, size, env, "");
	/* The XDG base directory spec: a relative XDG_CACHE_HOME is invalid and ignored. */
	env = getenv("XDG_CACHE_HOME");
	if (env && env[0] == '/')
		return dir_from(buf, size, env, "/memprof");
	env = getenv("HOME");
	if (env && *env)
		return dir_from(buf, size, env, "/.cache/memprof");
	return -ENOENT;
}

int buildid_cache__path(const char *dir, enum mpf_archive_kind kind, const uint8_t *build_id,
			    uint32_t build_id_len, char *buf, size_t size)
{
	char hex[2 * MPF_BUILD_ID_MAX + 1];
	int n;

	if (!build_id_len || build_id_len > MPF_BUILD_ID_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < build_id_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", build_id[i]);
	n = snprintf(buf, size, "%s/.build-id/%.2s/%s%s", dir, hex, hex + 2,
		     kind == MPF_ARCHIVE_DEBUG ? ".debug" : "");
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* mkdir -p of the directory part of path. */
static int make_dirs(char *path)
{
	char *slash;

	for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			int err = -errno;

			*slash = '/';
			return err;
		}
		*slash = '/';
	}
	return 0;
}

static int copy_fd(int in, int out)
{
	char *buf = malloc(COPY_BUF);
	uint64_t off = 0;
	ssize_t n;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err && (n = pread_full(in, buf, COPY_BUF, off)) > 0) {
		err = write_full(out, buf, (size_t)n);
		off += (uint64_t)n;
	}
	if (!err && n < 0)
		err = (int)n;
	free(buf);
	return err;
}

int buildid_cache__add(const char *dir, enum mpf_archive_kind kind, const uint8_t *build_id,
			   uint32_t build_id_len, int fd)
{
	char path[MPF_PATH_MAX], tmp[MPF_PATH_MAX + 16];
	struct stat st;
	int out, err;

	err = buildid_cache__path(dir, kind, build_id, build_id_len, path, sizeof(path));
	if (err)
		return err;
	if (!stat(path, &st))
		return 0;
	err = make_dirs(path);
	if (err)
		return err;
	/* A temporary name in the same directory, renamed over: never a partial file. */
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0)
		return -errno;
	err = copy_fd(fd, out);
	if (!err && fchmod(out, kind == MPF_ARCHIVE_ELF ? 0755 : 0644))
		err = -errno;
	if (close(out) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return 1;
}
