#!/bin/bash
# memprof record -p PID: attach to a running process (tests/workloads/attach.c),
# record what it allocates from then on, and stop when it exits.
. "$(dirname "$0")/lib.sh"
need_bpf

mkfifo "$T/go"
"$WL/attach" <"$T/go" &
wl=$!
exec 3>"$T/go"		# the workload now waits for a byte

"$MEMPROF" record -e page,heap -p "$wl" -o "$T/a.data" >"$T/record.log" 2>&1 &
rec=$!
# Recording has begun once the first chunk (flushed as it starts) is on disk.
wait_recording "$T/a.data" "$rec"
echo go >&3
exec 3>&-
wait "$wl" || fail "the workload failed"
wait "$rec" || fail "memprof record -p failed: $(cat "$T/record.log")"
# attaching takes a while: record says when it is done and recording starts
grep -q "^memprof: recording PID $wl (attach) until it exits; Ctrl-C stops it sooner$" \
	"$T/record.log" || fail "no 'recording PID' line: $(cat "$T/record.log")"

report_ok -i "$T/a.data" --event heap --folded
assert_eq "attached_malloc live" 524288 "$(stack_bytes "$T/out" "main;attached_malloc")"
assert_eq "before_attach (before recording)" 0 "$(leaf_bytes "$T/out" before_attach)"
report_ok -i "$T/a.data" --event page --folded
assert_within_pct "attached_touch live" $((16 << 20)) "$(stack_bytes "$T/out" "main;attached_touch")" 1

# -d counts from the moment record says it records, not from before attaching
sleep 30 &
sl=$!
"$MEMPROF" record -e page,heap -p "$sl" -d 1 -o "$T/d.data" >"$T/record.log" 2>&1 &
rec=$!
wait_line "$T/record.log" "^memprof: recording PID $sl \(sleep\) for 1 s" "$rec"
started=$(date +%s%N)
wait "$rec" || fail "memprof record -p -d 1 failed: $(cat "$T/record.log")"
ended=$(date +%s%N)
kill "$sl"
ms=$(((ended - started) / 1000000))
[ "$ms" -ge 900 ] && [ "$ms" -lt 2500 ] ||
	fail "-d 1 recorded for $ms ms after saying it started: $(cat "$T/record.log")"
# what the trace says of itself: the call-graph mode record used
report_ok -i "$T/d.data" --header-only
grep -q '^# call-graph   : cfi$' "$T/out" || fail "--header-only: $(cat "$T/out")"
grep -q "^# cmdline      : record -e page,heap -p $sl -d 1 " "$T/out" || fail "--header-only: $(cat "$T/out")"

# options that would do nothing are warned of
record_ok -e page --rss-interval 5 -o "$T/w.data" -- true
grep -q '^memprof: warning: --rss-interval has no effect without -e rss$' "$T/record.log" ||
	fail "no --rss-interval warning: $(cat "$T/record.log")"
record_ok -e page --heap-probes=all -o "$T/w.data" -- true
grep -q '^memprof: warning: --heap-probes has no effect without -e heap$' "$T/record.log" ||
	fail "no --heap-probes warning: $(cat "$T/record.log")"

# a thread id selects its whole process; a PID that does not exist is refused
"$MEMPROF" record -p 999999999 -o "$T/x.data" 2>"$T/err" && fail "record -p of no process succeeded"
grep -q "^memprof: error: no process with PID" "$T/err" || fail "message: $(cat "$T/err")"
[ -e "$T/x.data" ] && fail "a trace was written for a process that does not exist"
exit 0
