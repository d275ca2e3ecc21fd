#!/bin/bash
# memprof top in a terminal (tmux, with its own server): it waits for hold
# by its name, shows hold's row with its live heap (1.45 MiB, report's
# 1,524,288 bytes of the trace top wrote with -o), sorts by the key pressed
# (h: heap), shows the selected process's allocation sites on Enter (the
# reverse tree: hold_touch's pages), goes back on q and quits on q.  Then
# batch mode (-b): the table as text every interval, -n times; and the
# options' errors, one line each.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd python3
need_test_pkgs tmux

TMUX_SOCK=$T/tmux.sock
tm()
{
	tmux -S "$TMUX_SOCK" "$@"
}
LIVE_EXTRA_CLEANUP="tmux -S $TMUX_SOCK kill-server"
# screen PATTERN SECONDS: until the pane shows a line matching PATTERN, the pane in $T/pane.
screen()
{
	local i

	for ((i = 0; i < $2 * 10; i++)); do
		tm capture-pane -p -t top >"$T/pane" 2>/dev/null
		grep -Eq -- "$1" "$T/pane" && return 0
		sleep 0.1
	done
	fail "the screen has no '$1' after $2 s: $(cat "$T/pane")"
}
# The HEAP column of PID's row (fixed widths: PID 7, NAME 15, then 11 each).
heap_col()
{
	awk -v p="$1" '$1 == p' "$T/pane" | cut -c61-71 | sed 's/^ *//'
}

tm new-session -d -s top -x 160 -y 40 \
	"'$MEMPROF' top -d 0.5 --comm hold -o '$T/live.data' 2>'$T/top.err'; echo top-exited-\$?; sleep 60"
wait_for "$T/top.err" "waiting for a process named 'hold'" 60
hold_start
screen "^ *$HOLD hold " 30
for i in $(seq 50); do
	[ "$(heap_col "$HOLD")" = "1.45 MiB" ] && break
	sleep 0.2
	tm capture-pane -p -t top >"$T/pane"
done
assert_eq "hold's HEAP on the screen" "1.45 MiB" "$(heap_col "$HOLD")"
grep -q '^memprof top - 1 processes, .* records, recording; sorted by rss$' "$T/pane" ||
	fail "the summary line: $(head -1 "$T/pane")"
grep -Eq '^ +PID NAME +RSS +VIRT +PEAK +HEAP +PAGES +CACHE +MMAP# +MUNMAP# +ALLOC/S$' "$T/pane" ||
	fail "the header: $(sed -n 3p "$T/pane")"
tm send-keys -t top h
screen 'sorted by heap$' 10
tm send-keys -t top '>'
screen 'sorted by pages$' 10
tm send-keys -t top Enter
screen "^memprof top - sites of PID $HOLD \(reverse, threshold 64 KiB\)" 10
screen 'hold_touch' 10
tm send-keys -t top q
screen "^ *$HOLD hold " 10
tm send-keys -t top q
screen '^top-exited-0$' 30

"$MEMPROF" report -i "$T/live.data" --pid "$HOLD" --event heap --format=json |
	python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["total"])' >"$T/total"
assert_eq "report's heap of the trace top wrote" 1524288 "$(cat "$T/total")"
hold_release

# Batch mode: the same table as text, -n times.
"$MEMPROF" top -b -d 0.3 -n 20 --comm hold -e heap,rss >"$T/batch" 2>"$T/top.err" &
TOP=$!
started "$TOP"
wait_for "$T/top.err" "waiting for a process named 'hold'" 60
hold_start
wait "$TOP" || fail "top -b exited $?: $(cat "$T/top.err")"
[ "$(grep -c '^memprof top - ' "$T/batch")" = 20 ] || fail "top -b -n 20 printed $(grep -c '^memprof top' "$T/batch") tables"
cp "$T/batch" "$T/pane"
assert_eq "hold's HEAP in batch mode" "1.45 MiB" "$(heap_col "$HOLD" | tail -n 1)"
hold_release

# Errors: one line, exit 129.
for args in "-d 0" "-d x" "-n 0" "-s size" "--threshold -1" "-p 1 -a" ""; do
	"$MEMPROF" top $args </dev/null >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" = 129 ] || fail "top $args exited $rc"
	[ "$(wc -l <"$T/err")" = 1 ] && grep -q '^memprof: error: ' "$T/err" || fail "top $args: $(cat "$T/err")"
done
grep -q 'needs a terminal; use -b' "$T/err" || fail "top without a terminal: $(cat "$T/err")"
exit 0
