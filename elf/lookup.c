/*
 * Finding the files a trace names by build-id (elf/lookup.h has the
 * order).  A candidate is a regular file, an ELF file, with the recorded
 * build-id; an ELF candidate must hold code (a debug info file keeps the
 * program headers but not the bytes), a debug info candidate symbols or
 * DWARF (the stripped file itself does not qualify).
 */
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elf/buildid-cache.h"
#include "elf/buildid.h"
#include "elf/lookup.h"
#include "elf/segments.h"
#include "lib/array.h"
#include "lib/text.h"

#define DEFAULT_DEBUG_DIR "/usr/lib/debug"

/* A (kind, build-id) debuginfod did not have: not asked again. */
struct asked {
	uint32_t kind, build_id_len;
	uint8_t build_id[MPF_BUILD_ID_MAX];
};

struct lookup {
	struct lookup_opts o;
	int *memfds;			/* per archive entry: its extracted copy, or -1 */
	debuginfod_client *dbgd;
	bool dbgd_tried;		/* debuginfod_begin was called (it may have failed) */
	int dbgd_err;			/* the servers failed (-errno): not asked again */
	unsigned int dbgd_skipped;	/* queries not made since */
	struct asked *asked;		/* the queries answered "not found" */
	size_t nasked, asked_cap;
	/* The query in progress, for the progress function. */
	const char *q_path;
	enum mpf_archive_kind q_kind;
	uint64_t q_start;		/* ms, CLOCK_MONOTONIC */
	bool q_noted;			/* its LOOKUP_NOTE_WAITING was sent */
	bool q_timed_out;		/* cancelled: no answer within the timeout */
	uint64_t timeout_ms;		/* DEBUGINFOD_TIMEOUT's, for a whole query */
	char places[1024];
};

/* Why a candidate was not used. */
struct cand {
	int err;			/* could not open: errno */
	bool mismatch;
	uint32_t build_id_len;		/* mismatch: the candidate's build-id */
	uint8_t build_id[MPF_BUILD_ID_MAX];
	const char *reason;
};

static bool want_debuginfod(const struct lookup *l)
{
	const char *urls = getenv("DEBUGINFOD_URLS");

	return !l->o.no_debuginfod && urls && *urls;
}

static void place(struct lookup *l, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (*n >= sizeof(l->places))
		return;
	va_start(ap, fmt);
	len = vsnprintf(l->places + *n, sizeof(l->places) - *n, fmt, ap);
	va_end(ap);
	if (len > 0)
		*n += (size_t)len;
}

struct lookup *lookup__new(const struct lookup_opts *opts)
{
	struct lookup *l = calloc(1, sizeof(*l));
	size_t n = 0, nr;

	if (!l)
		return NULL;
	l->o = *opts;
	if (!l->o.debug_dir)
		l->o.debug_dir = DEFAULT_DEBUG_DIR;
	nr = l->o.archive ? mpf_archive__nr_entries(l->o.archive) : 0;
	l->memfds = malloc((nr ? nr : 1) * sizeof(*l->memfds));
	if (!l->memfds) {
		free(l);
		return NULL;
	}
	for (size_t i = 0; i < nr; i++)
		l->memfds[i] = -1;

	/* "a, b, c and d" */
	{
		char symfs[MPF_PATH_MAX + 16], cache[MPF_PATH_MAX + 32];
		const char *items[6];
		size_t k = 0;

		if (l->o.archive)
			items[k++] = "the archive";
		if (l->o.symfs) {
			snprintf(symfs, sizeof(symfs), "--symfs '%s'", l->o.symfs);
			items[k++] = symfs;
		}
		if (l->o.cache_dir) {
			snprintf(cache, sizeof(cache), "the build-id cache '%s'", l->o.cache_dir);
			items[k++] = cache;
		}
		items[k++] = "the recorded path";
		items[k++] = l->o.debug_dir;
		if (want_debuginfod(l))
			items[k++] = "debuginfod";
		for (size_t i = 0; i < k; i++)
			place(l, &n, "%s%s", i == 0 ? "" : i + 1 == k ? " and " : ", ", items[i]);
	}
	return l;
}

void lookup__delete(struct lookup *l)
{
	size_t nr;

	if (!l)
		return;
	nr = l->o.archive ? mpf_archive__nr_entries(l->o.archive) : 0;
	for (size_t i = 0; i < nr; i++)
		if (l->memfds[i] >= 0)
			close(l->memfds[i]);
	free(l->memfds);
	if (l->dbgd)
		debuginfod_end(l->dbgd);
	free(l->asked);
	free(l);
}

int lookup__debuginfod_failed(const struct lookup *l, unsigned int *skipped)
{
	*skipped = l->dbgd_skipped;
	return l->dbgd_err;
}

const char *lookup__places(const struct lookup *l)
{
	return l->places;
}

const char *lookup_source_name(enum lookup_source src)
{
	static const char *const names[] = {
		[LOOKUP_NONE] = "none",		[LOOKUP_ARCHIVE] = "archive",
		[LOOKUP_SYMFS] = "symfs",	[LOOKUP_CACHE] = "cache",
		[LOOKUP_PATH] = "path",		[LOOKUP_DEBUG_DIR] = "debug-dir",
		[LOOKUP_DEBUGINFOD] = "debuginfod", [LOOKUP_SELF] = "self",
	};

	return (unsigned int)src < sizeof(names) / sizeof(names[0]) ? names[src] : "none";
}

bool lookup_path_is_pseudo(const char *path)
{
	return path[0] != '/' || !strncmp(path, "/memfd:", 7) || !strncmp(path, "/dev/", 5) ||
	       !strncmp(path, "/SYSV", 5);
}

/* Code to symbolize: an executable load segment with bytes in the file. */
static bool has_code(Elf *elf)
{
	struct elf_segments segs;
	bool code;

	if (elf_segments__load(&segs, elf))
		return false;
	code = elf_segments__has_code(&segs);
	elf_segments__free(&segs);
	return code;
}

static bool has_dwarf(Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr mem, *sh = gelf_getshdr(scn, &mem);
		const char *name = sh ? elf_strptr(elf, shstrndx, sh->sh_name) : NULL;

		if (name && sh->sh_type != SHT_NOBITS &&
		    (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			return true;
	}
	return false;
}

/* Symbols or DWARF that a stripped file lacks. */
static bool has_debug(Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr mem, *sh = gelf_getshdr(scn, &mem);

		if (sh && sh->sh_type == SHT_SYMTAB)
			return true;
	}
	return has_dwarf(elf);
}

bool lookup_debug_info(int fd, bool *code, bool *dwarf, char **debuglink)
{
	const char *link;
	GElf_Word crc;
	Elf *elf;

	*code = *dwarf = false;
	*debuglink = NULL;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return false;
	}
	*code = has_code(elf);
	*dwarf = has_dwarf(elf);
	link = dwelf_elf_gnu_debuglink(elf, &crc);
	if (link && *link)
		*debuglink = strdup(link);
	elf_end(elf);
	return true;
}

/* Checks an open candidate; fd is kept on success, closed otherwise. */
static int check_fd(int fd, enum mpf_archive_kind kind, const uint8_t *build_id,
		    uint32_t build_id_len, struct cand *c)
{
	uint8_t have[MPF_BUILD_ID_MAX];
	struct stat st;
	Elf *elf = NULL;
	int len;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		c->reason = "is not a regular file";
		goto bad;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		c->reason = "is not an ELF file";
		goto bad;
	}
	len = elf_build_id(elf, have);
	if ((uint32_t)len != build_id_len || memcmp(have, build_id, (size_t)len)) {
		c->mismatch = true;
		c->build_id_len = (uint32_t)len;
		memcpy(c->build_id, have, (size_t)len);
		goto bad;
	}
	if (kind == MPF_ARCHIVE_ELF && !has_code(elf)) {
		c->reason = "holds no code (a debug info file?)";
		goto bad;
	}
	if (kind == MPF_ARCHIVE_DEBUG && !has_debug(elf)) {
		c->reason = "holds no debug info";
		goto bad;
	}
	elf_end(elf);
	return fd;
bad:
	if (elf)
		elf_end(elf);
	close(fd);
	return -1;
}

static int try_path(const char *path, enum mpf_archive_kind kind, const uint8_t *build_id,
		    uint32_t build_id_len, struct cand *c)
{
	struct stat st;
	int fd;

	memset(c, 0, sizeof(*c));
	/*
	 * Regular files only: a path from a trace may name a device, whose mere
	 * opening can act (a watchdog starts).  O_NONBLOCK: a FIFO swapped in
	 * meanwhile must not hang the report; fstat checks what was opened.
	 */
	if (stat(path, &st)) {
		c->err = errno;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		c->err = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		c->err = errno;
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		c->err = EINVAL;
		return -1;
	}
	return check_fd(fd, kind, build_id, build_id_len, c);
}

static int found(struct lookup_result *res, int fd, enum lookup_source src, const char *path)
{
	res->fd = fd;
	res->source = src;
	res->path = strdup(path);
	if (!res->path) {
		close(fd);
		res->fd = -1;
		return -ENOMEM;
	}
	return 1;
}

/* Tries one path; 1 when found (res filled), 0 when not, -ENOMEM. */
static int try_one(struct lookup_result *res, enum lookup_source src, const char *path,
		   enum mpf_archive_kind kind, const uint8_t *build_id, uint32_t build_id_len)
{
	struct cand c;
	int fd = try_path(path, kind, build_id, build_id_len, &c);

	return fd < 0 ? 0 : found(res, fd, src, path);
}

static int try_archive(struct lookup *l, struct lookup_result *res, enum mpf_archive_kind kind,
		       const uint8_t *build_id, uint32_t build_id_len)
{
	const struct mpf_archive_entry *e;
	struct cand c;
	char name[64];
	size_t i;
	int fd, err;

	if (!l->o.archive || !build_id_len)
		return 0;
	e = mpf_archive__find(l->o.archive, kind, build_id, build_id_len);
	if (!e)
		return 0;
	i = (size_t)(e - mpf_archive__entry(l->o.archive, 0));
	if (l->memfds[i] < 0) {
		snprintf(name, sizeof(name), "memprof-archive-%zu", i);
		fd = memfd_create(name, MFD_CLOEXEC);
		if (fd < 0)
			return errno == ENOMEM ? -ENOMEM : 0;
		err = mpf_archive__extract(l->o.archive, e, fd);
		if (err) {
			close(fd);
			if (err == -ENOMEM)
				return err;
			res->archive_damaged = true;
			return 0;
		}
		l->memfds[i] = fd;
	}
	/* Each user gets its own descriptor (libdwfl closes what it is given). */
	fd = fcntl(l->memfds[i], F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	fd = check_fd(fd, kind, build_id, build_id_len, &c);
	if (fd < 0) {
		res->archive_damaged = true;
		return 0;
	}
	return found(res, fd, LOOKUP_ARCHIVE, e->path);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void lookup__note(struct lookup *l, enum lookup_note_kind kind, int err)
{
	const struct lookup_note n = {
		.kind = kind, .path = l->q_path, .file = l->q_kind, .err = err,
		.ms = now_ms() - l->q_start,
	};

	if (l->o.note)
		l->o.note(l->o.note_ctx, &n);
}

/*
 * libdebuginfod calls it about once a second while a query waits or
 * downloads.  DEBUGINFOD_TIMEOUT bounds each connection, and libdebuginfod
 * retries (DEBUGINFOD_RETRY_LIMIT, 2): a server that never answers would
 * cost three timeouts a query.  Here it bounds the whole query: no server
 * has answered with the file's length within it (b, 0 until then; a counts
 * calls until then, then bytes), the query is cancelled.
 */
static int dbgd_progress(debuginfod_client *c, long a, long b)
{
	struct lookup *l = debuginfod_get_user_data(c);
	uint64_t now = now_ms();

	if (!l)
		return 0;
	if (!l->q_noted && now - l->q_start >= LOOKUP_SLOW_MS) {
		l->q_noted = true;
		lookup__note(l, LOOKUP_NOTE_WAITING, 0);
	}
	if (b <= 0 && now - l->q_start >= l->timeout_ms) {
		l->q_timed_out = true;
		return 1;
	}
	return 0;
}

static debuginfod_client *lookup__debuginfod(struct lookup *l)
{
	if (!want_debuginfod(l))
		return NULL;
	if (!l->dbgd_tried) {
		const char *t = getenv("DEBUGINFOD_TIMEOUT");
		long secs = t && *t ? strtol(t, NULL, 10) : 0;

		/* libdebuginfod's own default, 90 s, when unset or not a number. */
		l->timeout_ms = (secs > 0 ? (uint64_t)secs : 90) * 1000;
		l->dbgd_tried = true;
		l->dbgd = debuginfod_begin();
		if (l->dbgd) {
			debuginfod_set_user_data(l->dbgd, l);
			debuginfod_set_progressfn(l->dbgd, dbgd_progress);
		}
	}
	return l->dbgd;
}

static struct asked *asked_before(const struct lookup *l, enum mpf_archive_kind kind,
				  const uint8_t *build_id, uint32_t build_id_len)
{
	for (size_t i = 0; i < l->nasked; i++)
		if (l->asked[i].kind == (uint32_t)kind &&
		    l->asked[i].build_id_len == build_id_len &&
		    !memcmp(l->asked[i].build_id, build_id, build_id_len))
			return &l->asked[i];
	return NULL;
}

static int try_debuginfod(struct lookup *l, struct lookup_result *res, enum mpf_archive_kind kind,
			  const uint8_t *build_id, uint32_t build_id_len, const char *path)
{
	debuginfod_client *c = build_id_len ? lookup__debuginfod(l) : NULL;
	char *where = NULL;
	struct cand cand;
	int fd, ret;

	if (!c || asked_before(l, kind, build_id, build_id_len))
		return 0;
	if (l->dbgd_err) {
		l->dbgd_skipped++;
		return 0;
	}
	l->q_path = path;
	l->q_kind = kind;
	l->q_start = now_ms();
	l->q_noted = l->q_timed_out = false;
	if (kind == MPF_ARCHIVE_ELF)
		fd = debuginfod_find_executable(c, build_id, (int)build_id_len, &where);
	else
		fd = debuginfod_find_debuginfo(c, build_id, (int)build_id_len, &where);
	if (fd == -ENOMEM) {
		free(where);
		return -ENOMEM;
	}
	if (fd < 0 && (fd != -ENOENT || l->q_timed_out)) {
		/* No answer, refused, unreachable: the others would wait as long. */
		l->dbgd_err = l->q_timed_out ? -ETIMEDOUT : fd;
		lookup__note(l, LOOKUP_NOTE_GAVE_UP, l->dbgd_err);
	}
	if (fd == -ENOENT && !l->q_timed_out &&
	    !ARRAY_RESERVE(l->asked, l->asked_cap, l->nasked + 1)) {
		struct asked *a = &l->asked[l->nasked++];

		a->kind = kind;
		a->build_id_len = build_id_len;
		memcpy(a->build_id, build_id, build_id_len);
	}
	if (fd < 0) {
		free(where);
		return 0;
	}
	fd = check_fd(fd, kind, build_id, build_id_len, &cand);
	ret = fd < 0 ? 0 : found(res, fd, LOOKUP_DEBUGINFOD, where ? where : "debuginfod");
	free(where);
	return ret;
}

/* A path from parts, or "" when too long (and then not tried). */
static const char *join(char *buf, size_t size, const char *a, const char *b, const char *c,
			const char *d)
{
	int n = snprintf(buf, size, "%s%s%s%s", a, b, c ? c : "", d ? d : "");

	return n < 0 || (size_t)n >= size ? "" : buf;
}

/* The recorded path without the kernel's " (deleted)", into buf. */
static const char *clean_path(const char *path, char *buf, size_t size)
{
	static const char deleted[] = " (deleted)";
	size_t len = strlen(path), dl = sizeof(deleted) - 1;

	if (len > dl && !strcmp(path + len - dl, deleted))
		len -= dl;
	if (len >= size)
		return NULL;
	memcpy(buf, path, len);
	buf[len] = '\0';
	return buf;
}

/* Tries the path p, returning from the function when it is the file (or on -ENOMEM). */
#define TRY(src, p, kind)                                                                     \
	do {                                                                                  \
		const char *p_ = (p);                                                         \
		int r_ = *p_ ? try_one(res, (src), p_, (kind), build_id, build_id_len) : 0;   \
                                                                                              \
		if (r_)                                                                       \
			return r_ < 0 ? r_ : 0;                                               \
	} while (0)

int lookup__elf(struct lookup *l, const char *path, const uint8_t *build_id,
		uint32_t build_id_len, struct lookup_result *res)
{
	char clean[MPF_PATH_MAX + 1], buf[2 * MPF_PATH_MAX + 64], id[2 * MPF_BUILD_ID_MAX + 1];
	const enum mpf_archive_kind kind = MPF_ARCHIVE_ELF;
	struct cand c;
	int fd, ret;

	memset(res, 0, sizeof(*res));
	res->fd = -1;
	if (l->o.find_none)
		return 0;
	if (!clean_path(path, clean, sizeof(clean)))
		clean[0] = '\0';
	hex_str(build_id, build_id_len, id);

	ret = try_archive(l, res, kind, build_id, build_id_len);
	if (ret)
		return ret < 0 ? ret : 0;
	if (l->o.symfs && clean[0] == '/')
		TRY(LOOKUP_SYMFS, join(buf, sizeof(buf), l->o.symfs, clean, NULL, NULL), kind);
	if (l->o.cache_dir && build_id_len &&
	    !buildid_cache__path(l->o.cache_dir, kind, build_id, build_id_len, buf,
				     sizeof(buf)))
		TRY(LOOKUP_CACHE, buf, kind);
	if (clean[0] == '/') {
		fd = try_path(clean, kind, build_id, build_id_len, &c);
		if (fd >= 0)
			return found(res, fd, LOOKUP_PATH, clean) < 0 ? -ENOMEM : 0;
		res->path_err = c.err;
		res->path_mismatch = c.mismatch;
		res->path_build_id_len = c.build_id_len;
		memcpy(res->path_build_id, c.build_id, c.build_id_len);
		res->path_reason = c.reason;
	}
	if (build_id_len) {
		char sub[4] = { id[0], id[1], '/', '\0' };

		TRY(LOOKUP_DEBUG_DIR,
		    join(buf, sizeof(buf), l->o.debug_dir, "/.build-id/", sub, id + 2), kind);
	}
	ret = try_debuginfod(l, res, kind, build_id, build_id_len, path);
	return ret < 0 ? ret : 0;
}

int lookup__debug(struct lookup *l, const char *path, const char *debuglink,
		  const uint8_t *build_id, uint32_t build_id_len, struct lookup_result *res)
{
	char clean[MPF_PATH_MAX + 1], dir[MPF_PATH_MAX + 2], buf[3 * MPF_PATH_MAX + 64];
	char id[2 * MPF_BUILD_ID_MAX + 1], bid[2 * MPF_BUILD_ID_MAX + 32];
	const enum mpf_archive_kind kind = MPF_ARCHIVE_DEBUG;
	const char *link = debuglink;
	char *slash;
	int ret;

	memset(res, 0, sizeof(*res));
	res->fd = -1;
	if (l->o.find_none)
		return 0;
	/* Only a build-id tells a debug file is this file's. */
	if (!build_id_len)
		return 0;
	if (!clean_path(path, clean, sizeof(clean)) || clean[0] != '/')
		clean[0] = '\0';
	/* The directory of the recorded path, with its slash; debuglink is a plain name. */
	snprintf(dir, sizeof(dir), "%s", clean);
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	if (!link || !*link || strchr(link, '/') || !slash)
		link = NULL;
	hex_str(build_id, build_id_len, id);
	snprintf(bid, sizeof(bid), "/.build-id/%.2s/%s.debug", id, id + 2);

	ret = try_archive(l, res, kind, build_id, build_id_len);
	if (ret)
		return ret < 0 ? ret : 0;
	if (l->o.symfs) {
		TRY(LOOKUP_SYMFS, join(buf, sizeof(buf), l->o.symfs, l->o.debug_dir, bid, NULL),
		    kind);
		if (link) {
			TRY(LOOKUP_SYMFS, join(buf, sizeof(buf), l->o.symfs, dir, link, NULL),
			    kind);
			TRY(LOOKUP_SYMFS, join(buf, sizeof(buf), l->o.symfs, dir, ".debug/", link),
			    kind);
			TRY(LOOKUP_SYMFS,
			    join(buf, sizeof(buf), l->o.symfs, l->o.debug_dir, dir, link), kind);
		}
	}
	if (l->o.cache_dir &&
	    !buildid_cache__path(l->o.cache_dir, kind, build_id, build_id_len, buf,
				     sizeof(buf)))
		TRY(LOOKUP_CACHE, buf, kind);
	if (link) {
		TRY(LOOKUP_PATH, join(buf, sizeof(buf), dir, link, NULL, NULL), kind);
		TRY(LOOKUP_PATH, join(buf, sizeof(buf), dir, ".debug/", link, NULL), kind);
	}
	TRY(LOOKUP_DEBUG_DIR, join(buf, sizeof(buf), l->o.debug_dir, bid, NULL, NULL), kind);
	if (link)
		TRY(LOOKUP_DEBUG_DIR, join(buf, sizeof(buf), l->o.debug_dir, dir, link, NULL),
		    kind);
	ret = try_debuginfod(l, res, kind, build_id, build_id_len, path);
	return ret < 0 ? ret : 0;
}

void lookup_result__release(struct lookup_result *res)
{
	if (res->fd >= 0)
		close(res->fd);
	res->fd = -1;
	free(res->path);
	res->path = NULL;
}

int lookup__elf_and_debug(struct lookup *l, const char *path, const uint8_t *build_id,
			  uint32_t build_id_len, struct lookup_pair *p)
{
	char *debuglink = NULL;
	bool code, dwarf;
	int err;

	memset(p, 0, sizeof(*p));
	p->debug.fd = -1;
	err = lookup__elf(l, path, build_id, build_id_len, &p->elf);
	if (err || p->elf.fd < 0)
		return err;
	lookup_debug_info(p->elf.fd, &code, &dwarf, &debuglink);
	if (dwarf) {
		p->self = true;
		free(debuglink);
		return 0;
	}
	err = lookup__debug(l, path, debuglink, build_id, build_id_len, &p->debug);
	free(debuglink);
	return err;
}

void lookup_pair__release(struct lookup_pair *p)
{
	lookup_result__release(&p->elf);
	lookup_result__release(&p->debug);
}
