#!/bin/bash
# Recording ends when the target exits, on SIGINT or SIGTERM, or after -d,
# and in every case leaves a complete trace (report reads it without a
# warning that it was cut off).
. "$(dirname "$0")/lib.sh"
need_bpf

complete()
{
	"$MEMPROF" report -i "$1" >"$T/out" 2>"$T/report.err" ||
		fail "$2: report failed: $(cat "$T/report.err")"
	grep -q "ends early\|corrupt" "$T/report.err" && fail "$2: trace incomplete: $(cat "$T/report.err")"
	return 0
}

# -d: the command outlives the recording and is stopped with it (SIGTERM: 128 + 15)
start=$(date +%s)
record_exits 143 -d 1 -o "$T/d.data" -- sleep 30
[ $(($(date +%s) - start)) -lt 10 ] || fail "-d 1 did not stop the recording"
complete "$T/d.data" "-d 1"

for sig in INT TERM; do
	"$MEMPROF" record -o "$T/$sig.data" -- sleep 30 >"$T/record.log" 2>&1 &
	rec=$!
	wait_recording "$T/$sig.data" "$rec"
	kill -"$sig" "$rec"
	wait "$rec"
	rc=$?
	[ "$rc" -eq 143 ] || fail "SIG$sig: record exited $rc, not 143: $(cat "$T/record.log")"
	grep -q "memprof: wrote" "$T/record.log" || fail "SIG$sig: no summary: $(cat "$T/record.log")"
	complete "$T/$sig.data" "SIG$sig"
done

# the target dying of a signal ends the recording normally; record exits 128 + 11
record_exits 139 -o "$T/k.data" -- sh -c 'kill -SEGV $$'
complete "$T/k.data" "target killed by SIGSEGV"

# record exits as its command did (perf's and heaptrack's rule), the man page says so
record_exits 3 -o "$T/x.data" -- sh -c 'exit 3'
record_exits 0 -o "$T/x.data" -- true
grep -q '^128 + the signal' "$ROOT/Documentation/memprof-record.txt" ||
	fail "memprof-record.txt does not document the exit status"
# a command that cannot be run: 127, as a shell says it, and no trace left
"$MEMPROF" record -o "$T/n.data" -- "$T/no-such-command" >"$T/record.log" 2>&1
rc=$?
[ "$rc" -eq 127 ] || fail "a missing command: record exited $rc, not 127"
[ ! -e "$T/n.data" ] || fail "a missing command left a trace"
exit 0
