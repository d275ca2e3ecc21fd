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
for i in $(seq 100); do
	[ "$(stat -c %s "$T/a.data" 2>/dev/null || echo 0)" -gt 64 ] && break
	kill -0 "$rec" 2>/dev/null || fail "record exited early: $(cat "$T/record.log")"
	sleep 0.1
done
echo go >&3
exec 3>&-
wait "$wl" || fail "the workload failed"
wait "$rec" || fail "memprof record -p failed: $(cat "$T/record.log")"

report_ok -i "$T/a.data" --event heap --folded
assert_eq "attached_malloc live" 524288 "$(stack_bytes "$T/out" "main;attached_malloc")"
assert_eq "before_attach (before recording)" 0 "$(leaf_bytes "$T/out" before_attach)"
report_ok -i "$T/a.data" --event page --folded
assert_within_pct "attached_touch live" $((16 << 20)) "$(stack_bytes "$T/out" "main;attached_touch")" 1

# a thread id selects its whole process; a PID that does not exist is refused
"$MEMPROF" record -p 999999999 -o "$T/x.data" 2>"$T/err" && fail "record -p of no process succeeded"
grep -q "^memprof: error: no process with PID" "$T/err" || fail "message: $(cat "$T/err")"
[ -e "$T/x.data" ] && fail "a trace was written for a process that does not exist"
exit 0
