/*
 * The unit test runner: runs every test, or those named on the command line,
 * each in a shared scratch directory, prints one line per test and ends with
 * `N passed, N failed` as every memprof test runner does.  UNIT_KEEP=1 in
 * the environment keeps the scratch directory for a look at the files.
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"

static const struct unit_test *const suites[] = {
	lib_tests,
	format_tests,
	archive_tests,
	elf_tests,
	model_tests,
	NULL,
};

static const char *current;
static int current_failed;
static char tmpdir[PATH_MAX];

void unit__fail(const char *file, int line, const char *expr)
{
	/* Only the first few of a test that fails in a loop are worth reading. */
	if (current_failed++ < 10)
		printf("unit: %s: %s:%d: CHECK(%s) failed\n", current, file, line, expr);
	fflush(stdout);
}

void unit__path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int run(const struct unit_test *t)
{
	current = t->name;
	current_failed = 0;
	t->fn();
	printf("unit: %s %s\n", t->name, current_failed ? "FAIL" : "ok");
	fflush(stdout);
	return !current_failed;
}

static const struct unit_test *find(const char *name)
{
	const struct unit_test *t;
	size_t i;

	for (i = 0; suites[i]; i++)
		for (t = suites[i]; t->name; t++)
			if (!strcmp(t->name, name))
				return t;
	return NULL;
}

int main(int argc, char **argv)
{
	const struct unit_test *t;
	const char *base = getenv("TMPDIR");
	int passed = 0, failed = 0, i;
	size_t s;

	snprintf(tmpdir, sizeof(tmpdir), "%s/memprof-unit.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("unit: error: cannot create a scratch directory");
		return 1;
	}

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			t = find(argv[i]);
			if (!t) {
				printf("unit: %s FAIL (no such test)\n", argv[i]);
				failed++;
				continue;
			}
			run(t) ? passed++ : failed++;
		}
	} else {
		for (s = 0; suites[s]; s++)
			for (t = suites[s]; t->name; t++)
				run(t) ? passed++ : failed++;
	}

	if (!getenv("UNIT_KEEP"))
		nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
