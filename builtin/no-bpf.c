/*
 * memprof record in a build without BPF (make NO_BPF=1): the reading
 * commands work, recording does not, and says why.
 */
#include "builtin.h"
#include "util.h"

int cmd_record(int argc, char **argv)
{
	error("this memprof was built without BPF (make NO_BPF=1): it reads traces but cannot "
	      "record them; build it with 'make' on a machine with clang, bpftool, libbpf and "
	      "kernel BTF");
	return 1;
}
