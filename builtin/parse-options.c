/* The option parser and --help (builtin/parse-options.h). */
#include <stdio.h>
#include <string.h>

#include "builtin/parse-options.h"
#include "builtin/util.h"

/* What an error tells the user to read: "memprof report --help", or "memprof --help". */
static const char *see(const char *cmd, char *buf, size_t size)
{
	snprintf(buf, size, "memprof%s%s --help", cmd ? " " : "", cmd ? cmd : "");
	return buf;
}

/* The help column: option names at 4, their help after, aligned. */
#define HELP_INDENT 4
#define HELP_COLUMN_MAX 28

const char *option_name(const struct option *opt, char *buf, int size)
{
	if (opt->long_name)
		snprintf(buf, size, "--%s", opt->long_name);
	else
		snprintf(buf, size, "-%c", opt->short_name);
	return buf;
}

static bool takes_arg(const struct option *o)
{
	return o->type == OPTION_STRING ||
	       (o->type == OPTION_CALLBACK && !(o->flags & OPTION_NOARG));
}

/* What -h shows for an option: "-i, --input FILE", "--show=MODE", "--timeline[=FILE]". */
static int label(const struct option *o, char *buf, int size)
{
	int n = 0;

	if (o->short_name && o->long_name)
		n = snprintf(buf, size, "-%c, --%s", o->short_name, o->long_name);
	else if (o->short_name)
		n = snprintf(buf, size, "-%c", o->short_name);
	else
		n = snprintf(buf, size, "--%s", o->long_name);
	if (takes_arg(o) && o->argh && n < size) {
		if (o->flags & OPTION_OPTARG)
			n += snprintf(buf + n, size - n, "[=%s]", o->argh);
		else if (o->short_name)
			n += snprintf(buf + n, size - n, " %s", o->argh);
		else
			n += snprintf(buf + n, size - n, "=%s", o->argh);
	}
	return n;
}

void usage_with_options(const char *const *usage, const struct option *opts)
{
	const struct option helpopt = OPT_BOOL('h', "help", NULL, "show this help");
	char buf[128];
	int column = 0;

	for (const char *const *u = usage; *u; u++)
		printf("%s\n", *u);
	putchar('\n');
	for (const struct option *o = opts;; o++) {
		const struct option *p = o->type == OPTION_END ? &helpopt : o;
		int n = HELP_INDENT + label(p, buf, sizeof(buf)) + 2;

		if (n > column && n <= HELP_COLUMN_MAX)
			column = n;
		if (o->type == OPTION_END)
			break;
	}
	for (const struct option *o = opts;; o++) {
		const struct option *p = o->type == OPTION_END ? &helpopt : o;
		const char *h = p->help;
		int n = printf("%*s", HELP_INDENT, "") + label(p, buf, sizeof(buf));

		fputs(buf, stdout);
		/* A label too long for the column has its help on the next line. */
		if (n + 2 > column) {
			putchar('\n');
			n = 0;
		}
		for (;;) {
			const char *nl = strchr(h, '\n');

			printf("%*s%.*s\n", column - n, "", nl ? (int)(nl - h) : (int)strlen(h), h);
			if (!nl)
				break;
			h = nl + 1;
			n = 0;
		}
		if (o->type == OPTION_END)
			break;
	}
}

/* Gives opt its value; 0 or -1 after printing an error. */
static int apply(const struct option *o, const char *arg)
{
	switch (o->type) {
	case OPTION_BOOL:
		*(bool *)o->value = !(o->flags & OPTION_NEGATE);
		return 0;
	case OPTION_COUNT:
		(*(int *)o->value)++;
		return 0;
	case OPTION_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPTION_CALLBACK:
		return o->callback(o, arg);
	default:
		return -1;
	}
}

/* The long option named by name (len bytes), or by a unique prefix of its name. */
static const struct option *find_long(const struct option *opts, const char *name, size_t len,
				      bool *ambiguous)
{
	const struct option *found = NULL;

	*ambiguous = false;
	for (const struct option *o = opts; o->type != OPTION_END; o++) {
		if (!o->long_name || strncmp(o->long_name, name, len))
			continue;
		if (strlen(o->long_name) == len)
			return o;
		if (found)
			*ambiguous = true;
		found = o;
	}
	return *ambiguous ? NULL : found;
}

static const struct option *find_short(const struct option *opts, int c)
{
	for (const struct option *o = opts; o->type != OPTION_END; o++)
		if (o->short_name == c)
			return o;
	return NULL;
}

/* --name[=value] at argv[*i]; 0, PARSE_OPT_HELP or PARSE_OPT_ERROR. */
static int parse_long(int argc, char **argv, int *i, const char *cmd, const struct option *opts)
{
	const char *arg = argv[*i], *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct option *o;
	char buf[64];
	bool ambiguous;

	o = find_long(opts, name, len, &ambiguous);
	if (!o && !ambiguous && len && !strncmp("help", name, len))
		return eq ? (error("option '--help' takes no value"), PARSE_OPT_ERROR)
			  : PARSE_OPT_HELP;
	if (!o) {
		if (ambiguous)
			error("option '%.*s' is ambiguous; see '%s'", (int)(len + 2), arg,
			      see(cmd, buf, sizeof(buf)));
		else
			error("unknown option '%.*s'; see '%s'", (int)(len + 2), arg,
			      see(cmd, buf, sizeof(buf)));
		return PARSE_OPT_ERROR;
	}
	if (!takes_arg(o)) {
		if (eq)
			return error("option '%.*s' takes no value", (int)(len + 2), arg),
			       PARSE_OPT_ERROR;
		return apply(o, NULL) ? PARSE_OPT_ERROR : 0;
	}
	if (eq)
		return apply(o, eq + 1) ? PARSE_OPT_ERROR : 0;
	if (o->flags & OPTION_OPTARG)
		return apply(o, NULL) ? PARSE_OPT_ERROR : 0;
	if (*i + 1 >= argc)
		return error("option '--%s' needs a value; see '%s'", o->long_name,
			     see(cmd, buf, sizeof(buf))),
		       PARSE_OPT_ERROR;
	return apply(o, argv[++*i]) ? PARSE_OPT_ERROR : 0;
}

/* -abc or -ovalue at argv[*i]. */
static int parse_short(int argc, char **argv, int *i, const char *cmd, const struct option *opts)
{
	char buf[64];

	for (const char *p = argv[*i] + 1; *p; p++) {
		const struct option *o = find_short(opts, *p);

		if (!o && *p == 'h')
			return PARSE_OPT_HELP;
		if (!o)
			return error("unknown option '-%c'; see '%s'", *p,
				     see(cmd, buf, sizeof(buf))),
			       PARSE_OPT_ERROR;
		if (!takes_arg(o) || (o->flags & OPTION_OPTARG)) {
			if (apply(o, NULL))
				return PARSE_OPT_ERROR;
			continue;
		}
		/* The rest of the word is the value, or else the next word. */
		if (p[1])
			return apply(o, p + 1) ? PARSE_OPT_ERROR : 0;
		if (*i + 1 >= argc)
			return error("option '-%c' needs a value; see '%s'", *p,
				     see(cmd, buf, sizeof(buf))),
			       PARSE_OPT_ERROR;
		return apply(o, argv[++*i]) ? PARSE_OPT_ERROR : 0;
	}
	return 0;
}

int parse_options(int argc, char **argv, const char *cmd, const struct option *opts,
		  const char *const *usage, int flags)
{
	int n = 0, i, ret;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (!strcmp(arg, "--")) {
			i++;
			break;
		}
		if (arg[0] != '-' || !arg[1]) {
			if (flags & PARSE_OPT_STOP_AT_NON_OPTION)
				break;
			argv[n++] = argv[i];
			continue;
		}
		ret = arg[1] == '-' ? parse_long(argc, argv, &i, cmd, opts)
				    : parse_short(argc, argv, &i, cmd, opts);
		if (ret == PARSE_OPT_HELP) {
			usage_with_options(usage, opts);
			return PARSE_OPT_HELP;
		}
		if (ret)
			return ret;
	}
	while (i < argc)
		argv[n++] = argv[i++];
	argv[n] = NULL;
	return n;
}
