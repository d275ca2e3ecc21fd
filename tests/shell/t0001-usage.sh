#!/bin/bash
# The command line: help, unknown commands, and report's errors on bad input
# files (exit 1, exactly one "memprof: error: ..." line on stderr).
. "$(dirname "$0")/lib.sh"

[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"

# check_error WHAT EXPECTED_STATUS CMD...: fails unless CMD exits with the status
# (or any non-zero status for "nonzero") and prints one error line on stderr.
check_error()
{
	local what=$1 want=$2 rc nlines
	shift 2

	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$want" = nonzero ]; then
		[ "$rc" -ne 0 ] || fail "$what: exited 0"
	else
		assert_eq "$what: exit status" "$want" "$rc"
	fi
	nlines=$(wc -l <"$T/err")
	assert_eq "$what: lines on stderr ($(head -c 300 "$T/err"))" 1 "$nlines"
	grep -q '^memprof: error: ' "$T/err" ||
		fail "$what: stderr is not an error line: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "$what: unexpected output on stdout: $(head -c 300 "$T/out")"
}

"$MEMPROF" --help >"$T/help" 2>"$T/err" || fail "memprof --help exited $?"
grep -qw record "$T/help" || fail "memprof --help does not list record"
grep -qw report "$T/help" || fail "memprof --help does not list report"

check_error "unknown command" nonzero "$MEMPROF" no-such-command

check_error "report on a missing file" 1 "$MEMPROF" report -i /nonexistent/memprof.data

cp /etc/passwd "$T/not-a-trace"
check_error "report on a file that is not a trace" 1 "$MEMPROF" report -i "$T/not-a-trace"

: >"$T/empty"
check_error "report on an empty file" 1 "$MEMPROF" report -i "$T/empty"

exit 0
