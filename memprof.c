/*
 * memprof: a perf-style memory profiler.  main() parses the global options,
 * then dispatches to the command named on the command line (builtin.h).
 */
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "builtin/parse-options.h"
#include "builtin/util.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "record", cmd_record, "Record memory events of a process into a trace file" },
	{ "report", cmd_report, "Show what allocated memory, from a trace file" },
	{ "archive", cmd_archive, "Pack a trace and the files it names into one portable file" },
	{ "buildid-list", cmd_buildid_list, "List a trace's build-ids, where report finds each" },
	{ "buildid-cache", cmd_buildid_cache, "Add files to the build-id cache" },
	{ "diff", cmd_diff, "Show what changed in memory between two traces" },
	{ "script", cmd_script, "Print every event of a trace, as text, CSV or JSON lines" },
	{ "top", cmd_top, "Show the recorded processes' memory live, as a table" },
	{ "serve", cmd_serve, "Serve what is recorded over HTTP: trees, pprof, metrics, a page" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char main_synopsis[] = "usage: memprof [-v] [--version] [--help] COMMAND [ARGS]";

/* The synopsis, the commands and a pointer to their help, as lines. */
static const char *const *main_usage(void)
{
	static char lines[NR_COMMANDS][128];
	static const char *usage[NR_COMMANDS + 6];
	size_t n = 0;

	usage[n++] = main_synopsis;
	usage[n++] = "";
	usage[n++] = "Commands:";
	for (size_t i = 0; i < NR_COMMANDS; i++) {
		snprintf(lines[i], sizeof(lines[i]), "   %-14s %s", commands[i].name,
			 commands[i].summary);
		usage[n++] = lines[i];
	}
	usage[n++] = "";
	usage[n++] = "See 'memprof help COMMAND' or 'memprof COMMAND --help' for a command's options.";
	usage[n] = NULL;
	return usage;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int opt_version(const struct option *opt, const char *arg)
{
	*(bool *)opt->value = true;
	return 0;
}

int main(int argc, char **argv)
{
	bool version = false;
	const struct option options[] = {
		OPT_COUNT('v', "verbose", &verbose, "say more (-v -v: libbpf's debug output too)"),
		OPT_CALLBACK_NOARG(0, "version", &version, "print memprof's version", opt_version),
		OPT_END(),
	};
	const struct command *cmd;

	argc = parse_options(argc, argv, NULL, options, main_usage(),
			     PARSE_OPT_STOP_AT_NON_OPTION);
	if (argc == PARSE_OPT_HELP)
		return 0;
	if (argc < 0)
		return EXIT_USAGE;
	if (version) {
		printf("memprof version %s\n", MEMPROF_VERSION);
		return 0;
	}
	if (argc < 1) {
		for (const char *const *u = main_usage(); *u; u++)
			fprintf(stderr, "%s\n", *u);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[0], "help")) {
		char *help_argv[] = { argv[1], "--help", NULL };

		if (argc < 2) {
			usage_with_options(main_usage(), options);
			return 0;
		}
		cmd = find_command(argv[1]);
		if (!cmd)
			return error("'%s' is not a memprof command; see 'memprof --help'", argv[1]),
			       EXIT_USAGE;
		return cmd->fn(2, help_argv);
	}
	cmd = find_command(argv[0]);
	if (!cmd)
		return error("'%s' is not a memprof command; see 'memprof --help'", argv[0]),
		       EXIT_USAGE;
	return cmd->fn(argc, argv);
}
