#!/bin/bash
# -g dwarf on a program whose text does not start on a page of its own: lld
# (and rustc, which links with it) packs the read-only segment and the text
# into one file page, mapped twice, at two addresses.  report must load the
# program at the address its executable mapping gives the text segment, not
# the read-only one's, or the CFI it unwinds with is another function's.
# The workload has no frame pointers, so nothing but the CFI can unwind it:
# the stacks must reach _start, through every caller.  The same with no -g,
# where record maps the tables it compiled from that CFI the same way, and
# the stack is the one gdb prints.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/stacks.sh"
need_bpf
need_cmd clang ld.lld readelf gdb

cat >"$T/seg.c" <<'EOF2'
#include <stdlib.h>

void *volatile keep;

__attribute__((noinline)) void leak_fn(void)
{
	for (int i = 0; i < 10; i++)
		keep = malloc(1000);
}

__attribute__((noinline)) void middle(void)
{
	leak_fn();
}

int main(void)
{
	middle();
	return 0;
}
EOF2
clang -O1 -g -fomit-frame-pointer -fuse-ld=lld -o "$T/seg" "$T/seg.c" ||
	fail "cannot build the workload with clang and lld"
# The layout this is about: the text's file offset and address differ by more than a page.
shifted=0
while read -r type off vaddr _ _ _ flags; do
	[ "$type" = LOAD ] && [[ $flags == *E* ]] && [ $((off)) -ne $((vaddr)) ] && shifted=1
done < <(readelf -lW "$T/seg" | sed 's/R E/RE/')
[ $shifted = 1 ] || skip "this lld puts the text at the same offset and address: nothing to test"

for mode in dwarf default; do
	args=(-e heap)
	[ $mode = default ] || args+=(-g $mode)
	record_ok "${args[@]}" -o "$T/s.$mode.data" -- "$T/seg"
	report_ok -i "$T/s.$mode.data" --folded
	grep -qx "seg;_start;__libc_start_main;__libc_start_call_main;main;middle;leak_fn 10000" \
		"$T/out" || fail "-g $mode: the stacks of leak_fn: $(grep leak_fn "$T/out")"
	grep -q "\[incomplete\]\|\[unknown\]" "$T/out" &&
		fail "-g $mode: stacks cut short: $(cat "$T/out")"
done
gdb_frames "$T/seg" 1000 >"$T/gdb.leak"
memprof_frames "$T/s.default.data" 1000 >"$T/memprof.leak"
same "no -g, leak_fn" "$T/gdb.leak" "$T/memprof.leak"
exit 0
