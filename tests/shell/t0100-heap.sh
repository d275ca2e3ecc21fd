#!/bin/bash
# memprof record -e heap on the heap workload: the exact bytes live and
# allocated per allocating function (tests/workloads/heap.c documents them),
# every allocation function, a second thread and a forked child on their own
# stacks, and the views of report on the real trace.
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -e heap -o "$T/h.data" -- "$WL/heap"
grep -q "memprof: heap: .* events written .*, 0 lost" "$T/record.log" ||
	fail "record summary: $(cat "$T/record.log")"

report_ok -i "$T/h.data" --folded
cp "$T/out" "$T/live.folded"
report_ok -i "$T/h.data" --folded --show=alloc
cp "$T/out" "$T/alloc.folded"

# live at the end, per allocating function (the innermost frame: the stack is
# taken where malloc returns, so its caller is always there)
assert_eq "leak_malloc live" 409600 "$(stack_bytes "$T/live.folded" "main;leak_malloc")"
assert_eq "leak_calloc live" 1000000 "$(stack_bytes "$T/live.folded" "main;leak_calloc")"
assert_eq "freed_malloc live" 0 "$(leaf_bytes "$T/live.folded" freed_malloc)"
assert_eq "leak_realloc live" 300000 "$(leaf_bytes "$T/live.folded" leak_realloc)"
assert_eq "posix_memalign live" 100000 "$(leaf_bytes "$T/live.folded" leak_posix_memalign)"
assert_eq "aligned_alloc live" 40960 "$(leaf_bytes "$T/live.folded" leak_aligned_alloc)"
assert_eq "memalign live" 21000 "$(leaf_bytes "$T/live.folded" leak_memalign)"
assert_eq "valloc live" 36864 "$(leaf_bytes "$T/live.folded" leak_valloc)"
# the second thread's allocations on its own stack, not main's
assert_eq "thread_leak live" 204800 "$(stack_bytes "$T/live.folded" "thread_main;thread_leak")"
assert_eq "thread_leak under main" 0 "$(stack_bytes "$T/live.folded" "main;thread_leak")"
assert_eq "child_leak live" 614400 "$(stack_bytes "$T/live.folded" "main;child_leak")"

# allocated during the trace
assert_eq "freed_malloc alloc" 409600 "$(leaf_bytes "$T/alloc.folded" freed_malloc)"
assert_eq "leak_realloc alloc" 306000 "$(leaf_bytes "$T/alloc.folded" leak_realloc)"
assert_eq "leak_malloc alloc" 409600 "$(leaf_bytes "$T/alloc.folded" leak_malloc)"

# the forked child is a process of its own in the tree
report_ok -i "$T/h.data" --threshold 0
pids=$(tree_table "$T/out" | grep -c '^0 [0-9]* [0-9]* heap \[[0-9]*\]$')
assert_eq "processes in the tree" 2 "$pids"
child=$(awk '/  heap \[[0-9]+\]$/ { p = $NF } /  child_leak$/ { print p }' "$T/out")
parent=$(awk '/  heap \[[0-9]+\]$/ { p = $NF } /  leak_malloc$/ { print p }' "$T/out")
[ -n "$child" ] && [ "$child" != "$parent" ] ||
	fail "child_leak is not under a process of its own: $(cat "$T/out")"

# the tree: percent of the total, Total and Self in adaptive units, caller first
grep -q '^ *[0-9.]*% *400\.00 KiB  *400\.00 KiB  *leak_malloc$' "$T/out" ||
	fail "tree line for leak_malloc: $(grep leak_malloc "$T/out")"
grep -q '^ *[0-9.]*% *976\.56 KiB  *976\.56 KiB  *leak_calloc$' "$T/out" ||
	fail "tree line for leak_calloc: $(grep leak_calloc "$T/out")"
total=$(sed -n 's/^# event: heap, total \([0-9,]*\) bytes.*/\1/p' "$T/out" | tr -d ,)
[ "$total" -ge 2727624 ] || fail "heap total $total is less than the workload's leaks"

# --reverse: the allocation site first, its caller beneath
report_ok -i "$T/h.data" --reverse --threshold 0
grep -A1 '^ *[0-9.]*% *400\.00 KiB  *0 B  leak_malloc$' "$T/out" | grep -q '  main$' ||
	fail "reverse tree: $(grep -A2 leak_malloc "$T/out")"

# --threshold folds what is under it into [other], and every level adds up; the 5
# largest paths (thread_leak, 200 KiB, is the fifth) show whatever their size
report_ok -i "$T/h.data" --threshold 256
grep -q "  thread_leak$" "$T/out" || fail "thread_leak, one of the 5 largest paths, folded"
grep -q "  leak_valloc$" "$T/out" && fail "leak_valloc (36 KiB) shown above a 256 KiB threshold"
grep -q "\[other\]$" "$T/out" || fail "no [other] line with --threshold 256"
grep -q '^# \[other\]: [0-9]* paths of .* under the threshold' "$T/out" ||
	fail "the header does not say what [other] holds: $(head -n 5 "$T/out")"
tree_adds_up "$T/out" >"$T/sum" || fail "tree levels do not add up: $(cat "$T/sum") $(cat "$T/out")"

exit 0
