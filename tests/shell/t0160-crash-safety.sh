#!/bin/bash
# The trace survives the recorder being killed (report reads it up to the
# last whole chunk and says so), a full disk (recording stops with a clear
# message, the file stays readable, the target runs on unharmed), and the
# target crashing.
. "$(dirname "$0")/lib.sh"
need_bpf

# wait_trace FILE: until the recorder has flushed its first chunks (every 200 ms).
wait_trace()
{
	for i in $(seq 100); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -gt 4096 ] && return 0
		sleep 0.1
	done
	fail "no data reached $1"
}

# --- kill -9 of the recorder ---
"$MEMPROF" record -e page,heap -o "$T/k.data" -- "$WL/forkexec" 100000 >"$T/record.log" 2>&1 &
rec=$!
wait_trace "$T/k.data"
sleep 1.5
kill -9 "$rec"
wait "$rec" 2>/dev/null
pkill -f "$WL/forkexec" 2>/dev/null
"$MEMPROF" report -i "$T/k.data" --event heap --threshold 0 >"$T/out" 2>"$T/err" ||
	fail "report of a killed recording failed: $(cat "$T/err")"
grep -q "^memprof: warning: trace ends early: [0-9]* chunks\? read, recording was cut off" "$T/err" ||
	fail "no 'trace ends early' warning: $(cat "$T/err")"
grep -q "  child_alloc$" "$T/out" || fail "nothing of the recording was read: $(head "$T/out")"

# --- ENOSPC: a 1 MiB file system filled up while recording ---
if mkdir "$T/small" && mount -t tmpfs -o size=1m memprof-test "$T/small" 2>/dev/null; then
	trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT
	"$MEMPROF" record -e page,heap -o "$T/small/f.data" -- \
		sh -c "\"$WL/forkexec\" 400 && touch \"$T/target-done\"" >"$T/record.log" 2>&1
	rc=$?
	[ $rc -ne 0 ] || fail "record on a full disk exited 0: $(cat "$T/record.log")"
	grep -q "^memprof: error: writing '.*f.data' failed: No space left on device" \
		"$T/record.log" || fail "full disk message: $(cat "$T/record.log")"
	# the target was not harmed: it ran all its 400 children to the end
	[ -e "$T/target-done" ] || fail "the target did not finish: $(cat "$T/record.log")"
	"$MEMPROF" report -i "$T/small/f.data" --event heap --threshold 0 >"$T/out" 2>"$T/err" ||
		fail "report of a trace cut by a full disk failed: $(cat "$T/err")"
	grep -q "  child_alloc$" "$T/out" || fail "nothing read from the full disk's trace"
	umount "$T/small"
else
	echo "note: cannot mount a tmpfs here; the full-disk case is not tested"
fi

# --- the target crashing ends the recording normally ---
for sig in SEGV ABRT KILL; do
	record_exits $((128 + $(kill -l $sig))) -e page,heap -o "$T/c.data" -- \
		sh -c "\"$WL/heap\"; kill -$sig \$\$"
	"$MEMPROF" report -i "$T/c.data" >"$T/out" 2>"$T/err" || fail "SIG$sig: report failed"
	grep -q "ends early" "$T/err" && fail "SIG$sig: trace incomplete: $(cat "$T/err")"
	grep -q "  leak_calloc$" "$T/out" || fail "SIG$sig: workload missing: $(head -20 "$T/out")"
done
exit 0
