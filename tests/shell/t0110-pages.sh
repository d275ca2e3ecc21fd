#!/bin/bash
# memprof record (page events, the default) on the pages workload: the pages
# each function touched and kept, freed, in a second thread and in a forked
# child (tests/workloads/pages.c).  Page tables come on top of the touched
# pages, hence "within 1%".
. "$(dirname "$0")/lib.sh"
need_bpf

MiB=1048576
# On one CPU: a page faulted on one CPU sits in that CPU's LRU batch, and when the
# thread moved to another CPU before its munmap, the batch (and the page with it)
# can outlive the process, so touch_free's last pages would be freed after its
# exit (memprof-record(1) says how much).  Record drains the batches every second:
# the run after this one, on any CPU, lingers after its munmap and gets every one.
need_cmd taskset
record_ok -o "$T/p.data" -- taskset -c 0 "$WL/pages"
grep -q "memprof: page: .* events written .*, 0 lost" "$T/record.log" ||
	fail "record summary: $(cat "$T/record.log")"

report_ok -i "$T/p.data" --folded
cp "$T/out" "$T/live.folded"
report_ok -i "$T/p.data" --folded --show=alloc
cp "$T/out" "$T/alloc.folded"

assert_within_pct "touch_keep live" $((64 * MiB)) "$(stack_bytes "$T/live.folded" "main;touch_keep")" 1
assert_within_pct "thread_touch live" $((16 * MiB)) \
	"$(stack_bytes "$T/live.folded" "thread_main;thread_touch")" 1
assert_within_pct "child_touch live" $((8 * MiB)) "$(stack_bytes "$T/live.folded" "main;child_touch")" 1
assert_eq "touch_free live" 0 "$(leaf_bytes "$T/live.folded" touch_free)"
assert_within_pct "touch_free allocated" $((32 * MiB)) "$(leaf_bytes "$T/alloc.folded" touch_free)" 1
assert_within_pct "touch_keep allocated" $((64 * MiB)) "$(leaf_bytes "$T/alloc.folded" touch_keep)" 1

# on any CPU, 1.5 s between touch_free's munmap and the exit: all of it freed
record_ok -o "$T/l.data" -- "$WL/pages" linger
report_ok -i "$T/l.data" --folded
assert_eq "touch_free live, lingering" 0 "$(leaf_bytes "$T/out" touch_free)"

# the tree, in adaptive units: touch_keep's line within 1% of 64 MiB
report_ok -i "$T/p.data"
grep -q '^ *[0-9.]*% *6[0-9]\.[0-9][0-9] MiB .* touch_keep$' "$T/out" ||
	fail "touch_keep's tree line: $(grep touch_keep "$T/out")"
assert_within_pct "touch_keep in the tree" $((64 * MiB)) "$(tree_bytes "$T/out" touch_keep)" 1
child=$(awk '/  pages \[[0-9]+\]$/ { p = $NF } /  child_touch$/ { print p }' "$T/out")
parent=$(awk '/  pages \[[0-9]+\]$/ { p = $NF } /  touch_keep$/ { print p }' "$T/out")
[ -n "$child" ] && [ "$child" != "$parent" ] ||
	fail "child_touch is not under a process of its own: $(cat "$T/out")"

# -e page,heap in one trace: report shows both, --event picks one
record_ok -e page,heap -o "$T/ph.data" -- "$WL/pages"
report_ok -i "$T/ph.data"
grep -q "^# event: page," "$T/out" || fail "no page section: $(head "$T/out")"
grep -q "^# event: heap," "$T/out" || fail "no heap section: $(head "$T/out")"
report_ok -i "$T/ph.data" --event heap
grep -q "^# event: page," "$T/out" && fail "--event heap shows pages"
exit 0
