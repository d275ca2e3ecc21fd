#!/bin/bash
# report --show=count on the heap workload: the number of allocations per
# site (tests/workloads/heap.c documents them), in the tree and folded.
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -e heap -o "$T/h.data" -- "$WL/heap"

report_ok -i "$T/h.data" --show=count --folded
assert_eq "leak_malloc count" 100 "$(stack_bytes "$T/out" "main;leak_malloc")"
assert_eq "leak_calloc count" 1000 "$(stack_bytes "$T/out" "main;leak_calloc")"
# freed, but allocated all the same
assert_eq "freed_malloc count" 50 "$(leaf_bytes "$T/out" freed_malloc)"

report_ok -i "$T/h.data" --show=count
grep -q '^# memprof report: allocations during the trace$' "$T/out" ||
	fail "count title: $(head -n 2 "$T/out")"
grep -q '^# event: heap, total [0-9]* allocations$' "$T/out" ||
	fail "count header: $(head -n 2 "$T/out")"
grep -q '^#  *Percent  *Count  Call tree' "$T/out" || fail "no Count column: $(head -n 4 "$T/out")"
grep -q '^ *[0-9.]*% *100  *leak_malloc$' "$T/out" ||
	fail "tree line for leak_malloc: $(grep leak_malloc "$T/out")"
grep -q '^ *[0-9.]*% *1000  *leak_calloc$' "$T/out" ||
	fail "tree line for leak_calloc: $(grep leak_calloc "$T/out")"
grep -q '^ *[0-9.]*% *50  *freed_malloc$' "$T/out" ||
	fail "tree line for freed_malloc: $(grep freed_malloc "$T/out")"

# bytes-only formats refuse it
"$MEMPROF" report -i "$T/h.data" --show=count --format=pprof >/dev/null 2>"$T/err" &&
	fail "--show=count --format=pprof succeeded"
grep -q "error: --show=count works with" "$T/err" || fail "pprof error: $(cat "$T/err")"
exit 0
