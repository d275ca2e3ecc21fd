#!/bin/bash
# memprof record -p of a process whose main thread has exited (its leader a
# zombie) while another thread allocates (tests/workloads/zombie-leader.c):
# its maps, files and RSS are read through the live thread
# (/proc/PID/task/TID), and its heap and pages are recorded.
. "$(dirname "$0")/lib.sh"
need_bpf

mkfifo "$T/go"
"$WL/zombie-leader" <"$T/go" &
wl=$!
exec 3>"$T/go"		# the worker now waits for a byte
for i in $(seq 100); do
	grep -q '^State:.*Z' "/proc/$wl/status" 2>/dev/null && break
	sleep 0.05
done
grep -q '^State:.*Z' "/proc/$wl/status" || fail "the leader of $wl is no zombie"

"$MEMPROF" record -e page,heap,rss -p "$wl" -o "$T/z.data" >"$T/record.log" 2>&1 &
rec=$!
wait_recording "$T/z.data" "$rec"
echo go >&3
exec 3>&-
wait "$wl" || fail "the workload failed"
wait "$rec" || fail "memprof record -p failed: $(cat "$T/record.log")"

report_ok -i "$T/z.data" --event heap --folded
assert_eq "worker_malloc live" 524288 "$(leaf_bytes "$T/out" worker_malloc)"
report_ok -i "$T/z.data" --event page --folded
assert_within_pct "worker_touch live" $((8 << 20)) "$(leaf_bytes "$T/out" worker_touch)" 1
report_ok -i "$T/z.data" --stat
grep -q "^  rss       start [1-9]" "$T/out" || fail "no RSS sample: $(cat "$T/out")"
exit 0
