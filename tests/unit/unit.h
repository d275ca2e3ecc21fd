/*
 * A tiny unit test harness.  CHECK() records a failure with its file and line
 * and lets the test go on, so one run shows every broken expectation;
 * REQUIRE() also returns from the test, for when going on would crash.
 *
 * To add tests: write `static void test_NAME(void)` functions in
 * tests/unit/test-AREA.c, list them in `const struct unit_test AREA_tests[]`
 * ended by {}, declare that table below and add it to suites[] in main.c.
 */
#ifndef MEMPROF_TESTS_UNIT_H
#define MEMPROF_TESTS_UNIT_H

#include <stddef.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

extern const struct unit_test lib_tests[];
extern const struct unit_test format_tests[];
extern const struct unit_test archive_tests[];
extern const struct unit_test elf_tests[];
extern const struct unit_test model_tests[];

void unit__fail(const char *file, int line, const char *expr);

/* A path for a scratch file named name, in a directory removed when the run ends. */
void unit__path(char *buf, size_t size, const char *name);

#define CHECK(cond)                                              \
	do {                                                     \
		if (!(cond))                                     \
			unit__fail(__FILE__, __LINE__, #cond);   \
	} while (0)

#define REQUIRE(cond)                                            \
	do {                                                     \
		if (!(cond)) {                                   \
			unit__fail(__FILE__, __LINE__, #cond);   \
			return;                                  \
		}                                                \
	} while (0)

#endif
