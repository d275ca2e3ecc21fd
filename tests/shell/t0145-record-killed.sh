#!/bin/bash
# A record killed (-9) after starting its command does not leave the command
# running unrecorded: the command gets SIGTERM (PR_SET_PDEATHSIG), as when
# recording stops.  A command that ignores SIGTERM runs on, as documented.
. "$(dirname "$0")/lib.sh"
need_bpf

# started FILE: until FILE holds the command's pid.
started()
{
	for i in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	fail "the command did not start: $(cat "$T/record.log")"
}

# gone PID: whether PID exits within 3 s.
gone()
{
	for i in $(seq 30); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

"$MEMPROF" record -o "$T/k.data" -- sh -c "echo \$\$ >'$T/pid'; exec sleep 60" \
	>"$T/record.log" 2>&1 &
rec=$!
started "$T/pid"
pid=$(cat "$T/pid")
kill -9 "$rec"
wait "$rec" 2>/dev/null
gone "$pid" || { kill -9 "$pid"; fail "the command (PID $pid) runs on after record was killed"; }

# ignoring SIGTERM, it runs on
"$MEMPROF" record -o "$T/i.data" -- sh -c "trap '' TERM; echo \$\$ >'$T/pid2'; exec sleep 60" \
	>"$T/record.log" 2>&1 &
rec=$!
started "$T/pid2"
pid=$(cat "$T/pid2")
kill -9 "$rec"
wait "$rec" 2>/dev/null
gone "$pid" && fail "a command ignoring SIGTERM was stopped"
kill -9 "$pid"
exit 0
