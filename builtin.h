/*
 * The commands of memprof.  To add one:
 *  1. write int cmd_NAME(int argc, char **argv) in DIR/builtin-NAME.c;
 *  2. declare it here and add { "NAME", cmd_NAME, "summary" } to commands[] in memprof.c;
 *  3. add its object to the Makefile;
 *  4. add a test under tests/shell/ and a man page Documentation/memprof-NAME.txt.
 * Each command parses its own options with getopt_long after resetting optind,
 * prints its errors with error() and returns the process exit status.
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

#endif
