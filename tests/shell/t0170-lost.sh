#!/bin/bash
# Lost events are never silent: with a ring buffer too small for a burst,
# record counts what the kernel side dropped per event type and stores it in
# the trace, and report warns with the share lost.  (The default buffer loses
# nothing on the same workload: t0150-load checks that.)
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -m 8K -e page,heap -o "$T/l.data" -- "$WL/threads"
heap_lost=$(sed -n 's/^memprof: heap: .* events written .*, \([0-9]*\) lost$/\1/p' "$T/record.log")
[ "${heap_lost:-0}" -gt 0 ] || fail "no heap events lost with -m 8K: $(cat "$T/record.log")"
"$MEMPROF" report -i "$T/l.data" >"$T/out" 2>"$T/err" || fail "report failed: $(cat "$T/err")"
grep -q "^memprof: warning: $heap_lost of [0-9]* heap events lost ([0-9.]*%); use a larger -m$" \
	"$T/err" || fail "no warning of the $heap_lost lost heap events: $(cat "$T/err")"
exit 0
