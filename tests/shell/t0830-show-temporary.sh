#!/bin/bash
# report --show=temporary: heap blocks freed before their thread allocated
# anything else (heaptrack's temporary allocations).  fn_tmp allocates and
# frees a block 100 times in a loop: 100 temporary.  fn_hold allocates 10
# blocks, fn_keep one it never frees, then fn_release frees fn_hold's: none
# is temporary, as each free comes after a later allocation.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc

cat >"$T/tmp.c" <<'EOF2'
#include <stdlib.h>
#include <string.h>

void *volatile sink;	/* so that the compiler keeps each malloc and free */
static void *kept;

__attribute__((noinline)) void fn_tmp(void)
{
	for (int i = 0; i < 100; i++) {
		sink = malloc(1000);
		memset(sink, 1, 1000);
		free(sink);
	}
}

static void *held[10];

__attribute__((noinline)) void fn_hold(void)
{
	for (int i = 0; i < 10; i++)
		sink = held[i] = malloc(2000);
}

__attribute__((noinline)) void fn_release(void)
{
	for (int i = 0; i < 10; i++)
		free(held[i]);
}

__attribute__((noinline)) void fn_keep(void)
{
	sink = kept = malloc(3000);
}

int main(void)
{
	fn_tmp();
	fn_hold();
	fn_keep();
	fn_release();
	return kept ? 0 : 1;
}
EOF2
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$T/tmp" "$T/tmp.c" ||
	fail "cannot build the temporary workload"
record_ok -e heap -o "$T/t.data" -- "$T/tmp"

report_ok -i "$T/t.data" --show=temporary --folded
assert_eq "fn_tmp temporary bytes" 100000 "$(leaf_bytes "$T/out" fn_tmp)"
assert_eq "fn_hold temporary bytes" 0 "$(leaf_bytes "$T/out" fn_hold)"
assert_eq "fn_keep temporary bytes" 0 "$(leaf_bytes "$T/out" fn_keep)"

report_ok -i "$T/t.data" --show=temporary --threshold=0
grep -q '^# memprof report: temporary heap allocations' "$T/out" ||
	fail "temporary title: $(head -n 2 "$T/out")"
grep -q '^# event: heap, total [0-9,]* bytes ([0-9.,]* [KMG]*i*B) in [0-9,]* temporary allocations,' \
	"$T/out" || fail "temporary header: $(head -n 2 "$T/out")"
grep -q '^ *[0-9.]*% *97\.66 KiB  *97\.66 KiB  *fn_tmp (100 allocations)$' "$T/out" ||
	fail "tree line for fn_tmp: $(cat "$T/out")"
grep -q 'fn_hold\|fn_keep' "$T/out" && fail "fn_hold or fn_keep temporary: $(cat "$T/out")"

# all of them allocated all the same
report_ok -i "$T/t.data" --show=count --folded
assert_eq "fn_hold count" 10 "$(leaf_bytes "$T/out" fn_hold)"
exit 0
