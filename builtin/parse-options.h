/*
 * The one option parser of the command layer (git's parse-options is the
 * model): each command describes its options in one table, and the same
 * table gives the parsing, the one-line errors and the --help text, so the
 * two cannot disagree.
 *
 *	static const char *const usage[] = { "memprof cmd [--flag] [-o FILE]", NULL };
 *	struct option opts[] = {
 *		OPT_BOOL(0, "flag", &o.flag, "what it does"),
 *		OPT_STRING('o', "output", &o.out, "FILE", "where it goes"),
 *		OPT_CALLBACK(0, "show", &o, "MODE", "what to show", parse_show),
 *		OPT_END(),
 *	};
 *	argc = parse_options(argc, argv, "cmd", opts, usage, 0);
 *	if (argc < 0) return argc == PARSE_OPT_HELP ? 0 : EXIT_USAGE;
 *
 * Long options may be abbreviated to a unique prefix, as getopt_long allows;
 * "--" ends the options.  Help texts may hold '\n' for more lines.
 */
#ifndef MEMPROF_BUILTIN_PARSE_OPTIONS_H
#define MEMPROF_BUILTIN_PARSE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

enum option_type {
	OPTION_END,
	OPTION_BOOL,		/* sets a bool to true (false with OPTION_NEGATE) */
	OPTION_COUNT,		/* adds one to an int (-v -v) */
	OPTION_STRING,		/* stores the argument in a const char * */
	OPTION_CALLBACK,	/* hands the argument to a function */
};

enum option_flags {
	OPTION_OPTARG = 1,	/* the argument is optional: --opt or --opt=ARG only */
	OPTION_NOARG = 2,	/* a callback with no argument */
	OPTION_NEGATE = 4,	/* OPTION_BOOL sets false */
};

struct option;

/*
 * A callback: arg is the argument (NULL for OPTION_NOARG, or an optional one
 * not given).  Returns 0, or -1 after printing an error.
 */
typedef int (*option_cb)(const struct option *opt, const char *arg);

struct option {
	enum option_type type;
	int short_name;		/* 0: none */
	const char *long_name;	/* NULL: none */
	void *value;		/* bool *, int *, const char **, or the callback's */
	const char *argh;	/* the argument's name in --help, NULL: none */
	const char *help;
	int flags;		/* enum option_flags */
	option_cb callback;
};

#define OPT_END() { .type = OPTION_END }
#define OPT_BOOL(s, l, v, h) { OPTION_BOOL, (s), (l), (v), NULL, (h), 0, NULL }
#define OPT_NEGBOOL(s, l, v, h) { OPTION_BOOL, (s), (l), (v), NULL, (h), OPTION_NEGATE, NULL }
#define OPT_COUNT(s, l, v, h) { OPTION_COUNT, (s), (l), (v), NULL, (h), 0, NULL }
#define OPT_STRING(s, l, v, a, h) { OPTION_STRING, (s), (l), (v), (a), (h), 0, NULL }
#define OPT_CALLBACK(s, l, v, a, h, cb) { OPTION_CALLBACK, (s), (l), (v), (a), (h), 0, (cb) }
#define OPT_CALLBACK_OPTARG(s, l, v, a, h, cb)                                               \
	{ OPTION_CALLBACK, (s), (l), (v), (a), (h), OPTION_OPTARG, (cb) }
#define OPT_CALLBACK_NOARG(s, l, v, h, cb)                                                    \
	{ OPTION_CALLBACK, (s), (l), (v), NULL, (h), OPTION_NOARG, (cb) }

enum parse_options_flags {
	PARSE_OPT_STOP_AT_NON_OPTION = 1,	/* the first non-option ends the options */
};

#define PARSE_OPT_HELP (-1)	/* --help was printed: exit 0 */
#define PARSE_OPT_ERROR (-2)	/* an error was printed: exit EXIT_USAGE */

/*
 * Parses the options of command cmd ("report") in argv[1..argc), argv[0]
 * being the command's name.  The arguments that are not options are moved
 * to argv[0..n), n returned.  -h and --help print the help (the usage lines,
 * then the table) on stdout.  Returns n, PARSE_OPT_HELP or PARSE_OPT_ERROR.
 */
int parse_options(int argc, char **argv, const char *cmd, const struct option *opts,
		  const char *const *usage, int flags);
/* Prints the help of a command as -h does, to stdout. */
void usage_with_options(const char *const *usage, const struct option *opts);

/* The name an option is known by in messages: "--show", "-o". */
const char *option_name(const struct option *opt, char *buf, int size);

#endif
