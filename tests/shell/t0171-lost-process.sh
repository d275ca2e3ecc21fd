#!/bin/bash
# Lost process events are counted like the others: with a ring buffer too
# small for a burst of 2000 short children, the kernel side drops forks,
# execs and exits as well as pages.  The summary says how many process events
# were lost, the trace keeps the count (report's warning gives the same
# number), and --stat marks every process the trace has no exit of as of
# unknown end, not as running at the end of the trace: all of them had exited.
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -m 8K -o "$T/p.data" -- \
	sh -c 'i=0; while [ $i -lt 2000 ]; do /bin/true & i=$((i + 1)); done; wait'
line=$(grep '^memprof: process: ' "$T/record.log") ||
	fail "no process line in the summary: $(cat "$T/record.log")"
lost=$(sed -n 's/^memprof: process: [0-9]* events (.*), \([0-9]*\) lost.*/\1/p' <<<"$line")
[ "${lost:-0}" -gt 0 ] || fail "no process event lost with -m 8K: $line"

report_ok -i "$T/p.data" --stat
grep -q "^memprof: warning: $lost of [0-9]* process events lost ([0-9.]*%); [0-9]* process" \
	"$T/report.err" || fail "report's warning does not say $lost: $(cat "$T/report.err")"
unknown=$(sed -n 's/.*; \([0-9]*\) process\(es have\| has\) no exit in the trace.*/\1/p' \
	"$T/report.err")
[ -n "$unknown" ] || fail "no count of processes without exit: $(cat "$T/report.err")"
grep -q "^# $lost process events were lost: a process without an exit" "$T/out" ||
	fail "--stat does not say $lost process events were lost: $(head -n 3 "$T/out")"
assert_eq "processes marked 'end unknown'" "$unknown" "$(grep -c 'end unknown' "$T/out")"
grep -q "running at the end of the trace" "$T/out" &&
	fail "--stat shows processes running at the end: every one had exited"
[ "$unknown" -le "$lost" ] || fail "$unknown processes without exit, only $lost events lost"
exit 0
