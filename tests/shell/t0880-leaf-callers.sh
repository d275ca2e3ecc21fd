#!/bin/bash
# -g fp at an exact pc: the C library's memset, memcpy and system call
# wrappers set up no frame of their own, so a frame-pointer walk from a page
# fault in them, or from their system call, skips the function that called
# them.  record finds those callers with the files' call frame information
# and the words at the stack pointer: fill() calls memset, copy() memcpy
# (8 MiB of page faults each) and map_it() mmap (1 MiB mapped), and each is
# on its stacks, with exactly its bytes, as -g dwarf shows them too.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc

cat >"$T/leaf.c" <<'EOF2'
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SIZE (8 << 20)

__attribute__((noinline)) void fill(char *p)
{
	memset(p, 1, SIZE);
}

__attribute__((noinline)) void copy(char *dst, const char *src)
{
	memcpy(dst, src, SIZE);
}

__attribute__((noinline)) void *map_it(void)
{
	return mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

int main(void)
{
	char *a = malloc(SIZE), *b = malloc(SIZE);

	fill(a);
	copy(b, a);
	return a[1] + b[SIZE - 1] == 2 && map_it() != MAP_FAILED ? 0 : 1;
}
EOF2
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$T/leaf" "$T/leaf.c" ||
	fail "cannot build the workload"

# through FILE FRAME: the bytes of the folded stacks through main;FRAME;, kernel pages aside.
through()
{
	awk -v f=";main;$2;" '$0 !~ /;\[kernel\] [0-9]+$/ {
		v = $NF; if (index(";" $0, f)) s += v } END { print s + 0 }' "$1"
}
# callers FILE: what is below main on the stacks through fill, copy and map_it, sorted.
callers()
{
	sed -n 's/^.*;main;\(fill\|copy\|map_it\);\(.*\) [0-9]*$/\1;\2/p' "$1" |
		grep -v '\[kernel\]' | sort -u
}

for mode in fp dwarf; do
	record_ok -e page,mmap -g $mode -o "$T/$mode.data" -- "$T/leaf"
	report_ok -i "$T/$mode.data" --event=page --folded
	assert_eq "-g $mode: fill's pages" 8388608 "$(through "$T/out" fill)"
	assert_eq "-g $mode: copy's pages" 8388608 "$(through "$T/out" copy)"
	callers "$T/out" >"$T/$mode.page"
	report_ok -i "$T/$mode.data" --event=mmap --folded
	assert_eq "-g $mode: map_it's mapping" 1048576 "$(through "$T/out" map_it)"
	callers "$T/out" >"$T/$mode.mmap"
done
# The same frames under each of them, whichever way the stacks were taken.
for ev in page mmap; do
	[ -s "$T/fp.$ev" ] && cmp -s "$T/fp.$ev" "$T/dwarf.$ev" ||
		fail "$ev: -g fp and -g dwarf differ below main:" \
			"$(diff "$T/fp.$ev" "$T/dwarf.$ev")"
done
exit 0
