/* Messages in git's style and small parsing helpers for the command layer. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int verbose;

static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "memprof: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap);
	va_end(ap);
}

void debug(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vreport("", fmt, ap);
	va_end(ap);
}

bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int option_error(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1], *eq;

	if (c == ':')
		error("option '%s' needs a value; see 'memprof %s --help'", arg, cmd);
	else if (optopt && optopt < 256 && strncmp(arg, "--", 2))
		error("unknown option '-%c'; see 'memprof %s --help'", optopt, cmd);
	else if (optopt && (eq = strchr(arg, '=')))
		error("option '%.*s' takes no value", (int)(eq - arg), arg);
	else
		error("unknown option '%s'; see 'memprof %s --help'", arg, cmd);
	return EXIT_USAGE;
}

int usage(const char *text, int status)
{
	fputs(text, status ? stderr : stdout);
	return status;
}
