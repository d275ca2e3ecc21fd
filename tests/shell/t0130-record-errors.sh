#!/bin/bash
# memprof record's refusals: each a one-line error that says what to do, a
# non-zero exit, and no trace file left behind that could pass for a real one.
. "$(dirname "$0")/lib.sh"
[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"

# check_refusal WHAT PATTERN CMD...: CMD fails with one error line matching PATTERN
# and leaves no $T/r.data.
check_refusal()
{
	local what=$1 pattern=$2
	shift 2

	rm -f "$T/r.data"
	"$@" >"$T/out" 2>"$T/err" && fail "$what: succeeded"
	assert_eq "$what: lines on stderr ($(cat "$T/err"))" 1 "$(wc -l <"$T/err")"
	grep -q "^memprof: error: $pattern" "$T/err" || fail "$what: message: $(cat "$T/err")"
	[ -e "$T/r.data" ] && fail "$what: left a trace file behind"
	return 0
}

check_refusal "no target" "nothing to record" "$MEMPROF" record -o "$T/r.data"
check_refusal "unknown event" "unknown event 'bogus'" "$MEMPROF" record -e bogus -o "$T/r.data" -- true
check_refusal "bad duration" "invalid duration" "$MEMPROF" record -d x -o "$T/r.data" -- true
check_refusal "bad call-graph" "unknown call-graph mode" "$MEMPROF" record -g lbr -o "$T/r.data" -- true
check_refusal "bad buffer size" "invalid buffer size" "$MEMPROF" record -m 12Q -o "$T/r.data" -- true
check_refusal "pid and command" "give either a command or -p" \
	"$MEMPROF" record -p 1 -o "$T/r.data" -- true

if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	chmod 777 "$T"
	check_refusal "unprivileged" "loading BPF programs was refused .*run as root" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$MEMPROF" record -o "$T/r.data" -- true
fi

need_bpf
check_refusal "a command that does not exist" "cannot run '/nonexistent/cmd': No such file" \
	"$MEMPROF" record -o "$T/r.data" -- /nonexistent/cmd
check_refusal "a command that is not executable" "cannot run '/etc/passwd': Permission denied" \
	"$MEMPROF" record -o "$T/r.data" -- /etc/passwd
check_refusal "a process that does not exist" "no process with PID 999999999" \
	"$MEMPROF" record -p 999999999 -o "$T/r.data"

# an existing trace is kept as FILE.old, as perf does
record_ok -o "$T/r.data" -- true
record_ok -o "$T/r.data" -- true
[ -s "$T/r.data.old" ] || fail "the previous trace was not kept as r.data.old"
exit 0
