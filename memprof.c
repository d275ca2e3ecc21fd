/*
 * memprof: a perf-style memory profiler.  main() parses the global options,
 * then dispatches to the command named on the command line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "util.h"

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
};

static const char main_usage[] =
	"usage: memprof [-v] [--version] [--help] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n";

static void print_usage(FILE *f)
{
	fputs(main_usage, f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "   %-14s %s\n", commands[i].name, commands[i].summary);
	fputs("\nSee 'memprof help COMMAND' or 'memprof COMMAND --help' for a command's options.\n", f);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const struct command *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("memprof version %s\n", MEMPROF_VERSION);
			return 0;
		case 'h':
			print_usage(stdout);
			return 0;
		default:
			print_usage(stderr);
			return 129;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		print_usage(stderr);
		return 129;
	}
	if (!strcmp(argv[0], "help")) {
		if (argc < 2) {
			print_usage(stdout);
			return 0;
		}
		cmd = find_command(argv[1]);
		if (!cmd)
			return error("'%s' is not a memprof command; see 'memprof --help'", argv[1]),
			       129;
		char *help_argv[] = { argv[1], "--help", NULL };
		optind = 0;
		return cmd->fn(2, help_argv);
	}
	cmd = find_command(argv[0]);
	if (!cmd) {
		error("'%s' is not a memprof command; see 'memprof --help'", argv[0]);
		return 129;
	}
	optind = 0;
	return cmd->fn(argc, argv);
}
