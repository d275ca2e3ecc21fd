/*
 * memprof record, top and serve in a build without BPF (make NO_BPF=1): the
 * reading commands work, recording does not, and says why.
 */
#include "builtin.h"
#include "util.h"

static int no_bpf(void)
{
	error("this memprof was built without BPF (make NO_BPF=1): it reads traces but cannot "
	      "record them; build it with 'make' on a machine with clang, bpftool, libbpf and "
	      "kernel BTF");
	return 1;
}

int cmd_record(int argc, char **argv)
{
	return no_bpf();
}

int cmd_top(int argc, char **argv)
{
	return no_bpf();
}

int cmd_serve(int argc, char **argv)
{
	return no_bpf();
}
