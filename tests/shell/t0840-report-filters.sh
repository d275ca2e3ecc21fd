#!/bin/bash
# report --pid, --comm and --time on the heap workload (tests/workloads/heap.c):
# the forked child's pid gives child_leak alone; --time applies only the
# events between its bounds, so a block freed after the window is still live.
# Recorded with --heap-time=exact, for windows that end between two events;
# the default times (the kernel tick's) are checked at the end.
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -e heap --heap-time=exact -o "$T/h.data" -- "$WL/heap"
"$MEMPROF" script -i "$T/h.data" --format=csv >"$T/events.csv" 2>"$T/script.err" ||
	fail "memprof script failed: $(cat "$T/script.err")"

# --pid: the child (the process that ran child_leak), then both
child=$(awk -F, '$9 ~ /^child_leak;/ { print $2; exit }' "$T/events.csv")
parent=$(awk -F, '$9 ~ /^leak_malloc;/ { print $2; exit }' "$T/events.csv")
[ -n "$child" ] && [ -n "$parent" ] && [ "$child" != "$parent" ] ||
	fail "no child and parent pids in the events: $(head -n 3 "$T/events.csv")"
report_ok -i "$T/h.data" --pid "$child" --folded
assert_eq "child's folded stacks" 1 "$(wc -l <"$T/out")"
assert_eq "child_leak with --pid" 614400 "$(leaf_bytes "$T/out" child_leak)"
report_ok -i "$T/h.data" --pid "$child,$parent" --folded
assert_eq "child_leak with both pids" 614400 "$(leaf_bytes "$T/out" child_leak)"
assert_eq "leak_malloc with both pids" 409600 "$(leaf_bytes "$T/out" leak_malloc)"
report_ok -i "$T/h.data" --pid "$parent" --show=alloc --threshold=0
grep -q child_leak "$T/out" && fail "child_leak under --pid $parent: $(cat "$T/out")"
grep -q "heap \[$parent\]" "$T/out" || fail "no parent under --pid $parent: $(cat "$T/out")"

# --comm: the workload is named heap; nothing else is
report_ok -i "$T/h.data" --comm heap --folded
assert_eq "leak_calloc with --comm heap" 1000000 "$(leaf_bytes "$T/out" leak_calloc)"
assert_eq "child_leak with --comm heap" 614400 "$(leaf_bytes "$T/out" child_leak)"
# a filter that matches nothing says so, with what the trace holds, and fails
"$MEMPROF" report -i "$T/h.data" --comm nosuchname,other >"$T/out" 2>"$T/err" &&
	fail "--comm nosuchname,other succeeded: $(cat "$T/out")"
[ ! -s "$T/out" ] || fail "--comm nosuchname printed a report: $(cat "$T/out")"
grep -q "^memprof: error: no allocation in '.*' matches --comm=nosuchname,other; its processes are named heap$" \
	"$T/err" || fail "--comm nosuchname: $(cat "$T/err")"
# a list, as perf's --comm takes it
report_ok -i "$T/h.data" --comm nosuchname,heap --folded
assert_eq "--comm nosuchname,heap" 409600 "$(leaf_bytes "$T/out" leak_malloc)"

# --time: from the child's first event on, only the child allocates
tchild=$(awk -F, -v p="$child" '$2 == p { print $1; exit }' "$T/events.csv")
report_ok -i "$T/h.data" --time "$tchild," --folded
assert_eq "child_leak after $tchild s" 614400 "$(leaf_bytes "$T/out" child_leak)"
assert_eq "leak_malloc after $tchild s" 0 "$(leaf_bytes "$T/out" leak_malloc)"
# up to just before freed_malloc's first free: its blocks are not freed yet
tfree=$(awk -F, -v p="$parent" '$2 == p && $5 == "free" { print $1; exit }' "$T/events.csv")
tbefore=$(awk -v t="$tfree" 'BEGIN { printf "%.9f", t - 0.000000002 }')
report_ok -i "$T/h.data" --time "0,$tbefore" --folded
assert_eq "freed_malloc live before its frees" 409600 "$(leaf_bytes "$T/out" freed_malloc)"
assert_eq "child_leak before its fork" 0 "$(leaf_bytes "$T/out" child_leak)"
report_ok -i "$T/h.data" --folded
assert_eq "freed_malloc live at the end" 0 "$(leaf_bytes "$T/out" freed_malloc)"

for bad in "--pid=x" "--pid=1,,2" "--time=2,1" "--time=1" "--time=-1,2"; do
	"$MEMPROF" report -i "$T/h.data" "$bad" >/dev/null 2>"$T/err" && fail "$bad succeeded"
	grep -q "^memprof: error: invalid" "$T/err" || fail "$bad: $(cat "$T/err")"
done

# The default heap times: a CPU's heap events within a kernel tick share its
# first one's time, so there are at most a few per CPU and millisecond of the
# events' span (CONFIG_HZ is at most 1000), where the exact ones are nearly
# one per event; and no time is earlier than the one of the event before it.
distinct_times() # CSV: "EVENTS DISTINCT SPAN_MS" of the heap events
{
	awk -F, '$5 ~ /alloc|free|valloc|realloc/ { n++; d[$1] = 1; if (!f) f = $1; l = $1 }
		END { printf "%d %d %d\n", n, length(d), (l - f) * 1000 + 1 }' "$1"
}
read -r n_exact d_exact _ <<<"$(distinct_times "$T/events.csv")"
[ "$d_exact" -gt $((n_exact / 2)) ] ||
	fail "--heap-time=exact: $d_exact distinct times for $n_exact heap events"
record_ok -e heap -o "$T/tick.data" -- "$WL/heap"
"$MEMPROF" script -i "$T/tick.data" --format=csv >"$T/tick.csv" 2>"$T/script.err" ||
	fail "memprof script failed: $(cat "$T/script.err")"
read -r n d span <<<"$(distinct_times "$T/tick.csv")"
assert_eq "heap events with the default times" "$n_exact" "$n"
[ "$d" -le $(($(nproc) * (span + 2))) ] ||
	fail "default --heap-time: $d distinct times for $n heap events in $span ms"
awk -F, 'NR > 2 && $1 < prev { print "line " NR ": " prev " then " $1; exit 1 } NR > 1 { prev = $1 }' \
	"$T/tick.csv" || fail "times go back in the trace: $(head -n 5 "$T/tick.csv")"
"$MEMPROF" record -e heap --heap-time=now -o "$T/x.data" -- true >/dev/null 2>"$T/err" &&
	fail "--heap-time=now succeeded"
grep -q "^memprof: error: invalid --heap-time 'now'; give tick or exact$" "$T/err" ||
	fail "--heap-time=now: $(cat "$T/err")"
exit 0
