/*
 * The commands of memprof.  To add one:
 *  1. write int cmd_NAME(int argc, char **argv) in builtin/NAME.c, its options
 *     in one table given to parse_options() (builtin/parse-options.h), with a
 *     usage array identical to its man page's SYNOPSIS;
 *  2. declare it here and add { "NAME", cmd_NAME, "summary" } to commands[] in
 *     memprof.c (the Makefile finds builtin/NAME.c by itself; a command that
 *     records goes in its BPF_CMD_SRCS, with a stub in builtin/no-bpf.c);
 *  3. add a man page Documentation/memprof-NAME.txt and NAME to t0540-help's
 *     list, and a test under tests/shell/ (or tests/golden/ for what reads a trace).
 * A command prints its errors with error() (builtin/util.h), and is the only
 * code that prints; it returns the process exit status (EXIT_USAGE for wrong
 * options, as parse_options() reports them).
 */
#ifndef MEMPROF_BUILTIN_H
#define MEMPROF_BUILTIN_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_archive(int argc, char **argv);
int cmd_buildid_list(int argc, char **argv);
int cmd_buildid_cache(int argc, char **argv);
int cmd_script(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
