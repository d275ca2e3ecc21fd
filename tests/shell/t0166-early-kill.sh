#!/bin/bash
# A recorder killed early loses little: record flushes its first chunk soon
# after the target starts and then at least every 200 ms (or whenever 1 MiB
# of records is buffered), so record killed with -9 half a second into a
# target leaves a trace with its events in it, not a bare 64-byte header.  The
# target, a shell starting `sleep` after `sleep`, makes too few events to fill
# a chunk in that time.
. "$(dirname "$0")/lib.sh"
need_bpf

"$MEMPROF" record -o "$T/k.data" -- \
	sh -c "touch '$T/started'; while :; do sleep 0.01; done" >"$T/record.log" 2>&1 &
rec=$!
for i in $(seq 200); do
	[ -e "$T/started" ] && break
	sleep 0.05
done
[ -e "$T/started" ] || fail "the target did not start: $(cat "$T/record.log")"
sleep 0.5
kill -9 "$rec"
wait "$rec" 2>/dev/null
pkill -f "touch '$T/started'" 2>/dev/null
size=$(stat -c %s "$T/k.data")
[ "$size" -gt 64 ] || fail "killed 0.5 s after the target started: $size bytes in the trace"
report_ok -i "$T/k.data" --event page --threshold 0
grep -q "^ .*  sleep \[[0-9]*\]$" "$T/out" || fail "no page event of a sleep: $(cat "$T/out")"
exit 0
