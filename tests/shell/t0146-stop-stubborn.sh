#!/bin/bash
# After -d, record stops recording, sends the command SIGTERM and waits for it
# a grace period of 3 s at most: a command stopped by SIGSTOP (whose SIGTERM
# stays pending) or one that ignores SIGTERM runs on, record says so and
# exits, with a complete trace.  Before, record waited for the first forever
# and for the second until its own end, silently.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd timeout

# stubborn WHAT SCRIPT: record -d 1 of `sh -c SCRIPT` must end within 8 s and say that
# the command runs on; the command is then still there.
stubborn()
{
	local what=$1 start pid

	rm -f "$T/pid"
	start=$(date +%s)
	timeout -k 5 30 "$MEMPROF" record -d 1 -o "$T/s.data" -- \
		sh -c "echo \$\$ >'$T/pid'; $2" >"$T/record.log" 2>&1
	rc=$?
	pid=$(cat "$T/pid" 2>/dev/null)
	[ "$rc" -ne 124 ] || { kill -9 "$pid"; fail "$what: record hung"; }
	[ $(($(date +%s) - start)) -lt 8 ] ||
		{ kill -9 "$pid"; fail "$what: record took $(($(date +%s) - start)) s"; }
	assert_eq "$what: exit status ($(cat "$T/record.log"))" 0 "$rc"
	grep -q "^memprof: warning: '.*sh' (PID $pid) is still running 3 s after SIGTERM.*; it" \
		"$T/record.log" ||
		{ kill -9 "$pid"; fail "$what: no warning: $(cat "$T/record.log")"; }
	kill -0 "$pid" 2>/dev/null || fail "$what: the command was stopped"
	pkill -9 -P "$pid"
	kill -9 "$pid"
	"$MEMPROF" report -i "$T/s.data" >/dev/null 2>"$T/err" || fail "$what: report failed"
	grep -q "ends early" "$T/err" && fail "$what: trace incomplete: $(cat "$T/err")"
	return 0
}

stubborn "stopped by SIGSTOP" 'kill -STOP $$; sleep 30'
stubborn "ignoring SIGTERM" "trap '' TERM; sleep 20"
exit 0
