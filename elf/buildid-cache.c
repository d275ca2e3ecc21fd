/* The build-id cache (elf/buildid-cache.h): where it is, its paths, adding a file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
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

/* mkdir -p of dir, following what links the path has (the fs user's permissions apply). */
static int make_dirs(char *dir)
{
	char *slash;

	for (slash = strchr(dir + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			int err = -errno;

			if (slash)
				*slash = '/';
			return err;
		}
		if (!slash)
			return 0;
		*slash = '/';
	}
}

/* The directory name in dirfd, created as needed, never through a link: a descriptor or -errno. */
static int open_subdir(int dirfd, const char *name)
{
	int fd;

	if (mkdirat(dirfd, name, 0755) && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
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

/*
 * Who the cache belongs to: the owner of the deepest part of dir that
 * exists (the home, or the cache itself).  Root writing into a user's home
 * (sudo -E keeps HOME) writes as that user, so that the directories it makes
 * are theirs and any link they planted leads only where they could write.
 */
static void cache_owner(const char *dir, uid_t *uid, gid_t *gid)
{
	char path[MPF_PATH_MAX];
	struct stat st;
	char *slash;

	*uid = 0;
	*gid = 0;
	snprintf(path, sizeof(path), "%s", dir);
	for (;;) {
		if (!lstat(path, &st)) {
			*uid = st.st_uid;
			*gid = st.st_gid;
			return;
		}
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			return;
		*slash = '\0';
	}
}

/* Whether the user uid (group gid) may read the file st describes, by its mode. */
static bool readable_by(const struct stat *st, uid_t uid, gid_t gid)
{
	if (st->st_uid == uid)
		return st->st_mode & S_IRUSR;
	if (st->st_gid == gid)
		return st->st_mode & S_IRGRP;
	return st->st_mode & S_IROTH;
}

static int add_in(const char *dir, const char *sub, const char *name, int fd, mode_t mode)
{
	char root[MPF_PATH_MAX], tmp[64];
	int dfd = -1, bfd = -1, xfd = -1, out = -1, err;
	struct stat st;

	snprintf(root, sizeof(root), "%s", dir);
	err = make_dirs(root);
	if (err)
		return err;
	/* Inside the cache, no link is followed: .build-id, xx and the file are made here. */
	dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	bfd = open_subdir(dfd, ".build-id");
	if (bfd < 0) {
		err = bfd;
		goto out;
	}
	xfd = open_subdir(bfd, sub);
	if (xfd < 0) {
		err = xfd;
		goto out;
	}
	if (!fstatat(xfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		err = 0;
		goto out;
	}
	/* A temporary name in the same directory, renamed over: never a partial file. */
	for (int i = 0; i < 100 && out < 0; i++) {
		snprintf(tmp, sizeof(tmp), ".tmp.%d.%d.%d", (int)getpid(), rand(), i);
		out = openat(xfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0 && errno != EEXIST) {
			err = -errno;
			goto out;
		}
	}
	if (out < 0) {
		err = -EEXIST;
		goto out;
	}
	err = copy_fd(fd, out);
	if (!err && fchmod(out, mode))
		err = -errno;
	if (close(out) && !err)
		err = -errno;
	if (!err && renameat(xfd, tmp, xfd, name))
		err = -errno;
	if (err)
		unlinkat(xfd, tmp, 0);
	else
		err = 1;
out:
	if (xfd >= 0)
		close(xfd);
	if (bfd >= 0)
		close(bfd);
	close(dfd);
	return err;
}

int buildid_cache__add(const char *dir, enum mpf_archive_kind kind, const uint8_t *build_id,
			   uint32_t build_id_len, int fd)
{
	char path[MPF_PATH_MAX], sub[3], *name;
	uid_t uid = 0, old_uid = 0;
	gid_t gid = 0, old_gid = 0;
	bool as_owner = false;
	struct stat src;
	mode_t mode;
	int err;

	err = buildid_cache__path(dir, kind, build_id, build_id_len, path, sizeof(path));
	if (err)
		return err;
	name = strrchr(path, '/') + 1;
	memcpy(sub, name - 3, 2);
	sub[2] = '\0';
	if (fstat(fd, &src))
		return -errno;
	/* No wider than the original: a program of mode 0700 stays 0700. */
	mode = src.st_mode & (kind == MPF_ARCHIVE_ELF ? 0755 : 0644);
	if (!geteuid()) {
		cache_owner(dir, &uid, &gid);
		if (uid) {
			/* Their cache gets only what they could read themselves. */
			if (!readable_by(&src, uid, gid))
				return -EACCES;
			old_gid = (gid_t)setfsgid(gid);
			old_uid = (uid_t)setfsuid(uid);
			as_owner = true;
			if ((uid_t)setfsuid(uid) != uid) {
				err = -EPERM;
				goto out;
			}
		}
	}
	err = add_in(dir, sub, name, fd, mode);
out:
	if (as_owner) {
		setfsuid(old_uid);
		setfsgid(old_gid);
	}
	return err;
}
