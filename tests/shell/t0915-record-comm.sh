#!/bin/bash
# record --comm NAME waits for a process of that name to start, finds it at
# its exec and records it from its first instruction with the children it
# creates, until the last exits; --exec PATH finds the processes running
# that file (by device and inode: a link to it finds them).  Found so, hold
# has, after its exec, the heap calls (42, 1,524,288 bytes live) and the
# mmap and brk calls (the dynamic loader's first) of a `record -- hold` run;
# a process of another name, running meanwhile, is not recorded.  A program
# found by its name in PATH has whole stacks from its first allocation.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd python3 pgrep

"$MEMPROF" record -e all -o "$T/one.data" -- "$WL/hold" </dev/null >/dev/null 2>"$T/one.err" ||
	fail "record -- hold failed: $(cat "$T/one.err")"
ONE=$("$MEMPROF" report -i "$T/one.data" --stat | sed -n 's/^hold \[\([0-9]*\)\].*/\1/p')
calls_after_exec "$T/one.data" "$ONE" >"$T/calls1"
grep -q '^malloc 32$' "$T/calls1" || fail "the reference's calls: $(cat "$T/calls1")"
# same_calls TRACE PID: PID's own calls after its exec are the reference's.
same_calls()
{
	calls_after_exec "$1" "$2" >"$T/calls"
	cmp -s "$T/calls1" "$T/calls" ||
		fail "PID $2's heap and mmap calls are not those of record -- hold: $(diff "$T/calls1" "$T/calls")"
}
heap()
{
	"$MEMPROF" report -i "$1" --pid "$2" --event heap --folded >"$T/heap.folded"
	hold_heap "$T/heap.folded"
}

# --comm: a shell named waiter (a link to sh), which runs hold as its child.
ln -s "$(command -v sh)" "$T/waiter"
"$MEMPROF" record --comm waiter -e all -o "$T/c.data" 2>"$T/rec.err" &
REC=$!
started "$REC"
wait_for "$T/rec.err" "^memprof: waiting for a process named 'waiter' to start" 120
hold_start		# another name: not recorded
mkfifo "$T/w.in"
exec 8<>"$T/w.in"
"$T/waiter" -c "'$WL/hold' <'$T/w.in' >'$T/w.out'; exit 0" &
W=$!
started "$W"
wait_for "$T/w.out" '^ready$' 30
CHILD=$(pgrep -P "$W")
[ -n "$CHILD" ] || fail "no child of waiter"
echo >&8
wait "$W" || fail "waiter exited $?"
wait "$REC" || fail "record --comm exited $?: $(cat "$T/rec.err")"
grep -q "^memprof: recording PID $W (.*waiter), found by its name" "$T/rec.err" ||
	fail "record did not say it found waiter: $(cat "$T/rec.err")"
"$MEMPROF" report -i "$T/c.data" --stat >"$T/stat"
grep -q "^waiter \[$W\]" "$T/stat" || fail "waiter is not recorded: $(cat "$T/stat")"
grep -q "^hold \[$CHILD\]" "$T/stat" || fail "waiter's child is not recorded"
grep -q "^hold \[$HOLD\]" "$T/stat" && fail "a process of another name was recorded"
assert_eq "the child's live heap" 1524288 "$(heap "$T/c.data" "$CHILD")"
same_calls "$T/c.data" "$CHILD"
hold_release

# --exec: a link to hold names the file; hold run by its own path is found.
ln -s "$WL/hold" "$T/hold-link"
"$MEMPROF" record --exec "$T/hold-link" -e heap,mmap -o "$T/e.data" 2>"$T/rec.err" &
REC=$!
started "$REC"
wait_for "$T/rec.err" "^memprof: waiting for a process running '$T/hold-link' to start" 120
hold_start
hold_release
wait "$REC" || fail "record --exec exited $?: $(cat "$T/rec.err")"
grep -q "^memprof: recording PID $HOLD (.*), found by its executable" "$T/rec.err" ||
	fail "record did not say it found hold: $(cat "$T/rec.err")"
assert_eq "hold's live heap" 1524288 "$(heap "$T/e.data" "$HOLD")"
same_calls "$T/e.data" "$HOLD"

# --comm with -g cfi: the tables of the program PATH finds by the name (and of the library it
# needs) are compiled before it starts, so that even its first allocation, within a
# millisecond of its exec, in code without frame pointers, has its whole stack.
NOFP=stacks-nofp-O2
PATH="$WL/stacks:$PATH" "$MEMPROF" record --comm $NOFP -e heap -o "$T/n.data" 2>"$T/rec.err" &
REC=$!
started "$REC"
wait_for "$T/rec.err" "^memprof: waiting for a process named '$NOFP' to start" 120
"$WL/stacks/$NOFP" || fail "$NOFP failed"
wait "$REC" || fail "record --comm $NOFP exited $?: $(cat "$T/rec.err")"
grep -q "^memprof: stacks: [0-9,]* taken, 0 incomplete" "$T/rec.err" ||
	fail "record --comm $NOFP: incomplete stacks: $(grep stacks: "$T/rec.err")"
"$MEMPROF" report -i "$T/n.data" --folded >"$T/n.folded"
assert_eq "$NOFP's first allocation, found by name" 12345 \
	"$(stack_bytes "$T/n.folded" "main;outer;middle;lib_alloc")"

# Bad names: one line, exit 129.
for args in "--comm 0123456789abcdef" "--comm ''" "--exec $T/none" "--exec $T"; do
	eval "\"\$MEMPROF\" record $args -o \"\$T/x.data\"" >/dev/null 2>"$T/err" && fail "record $args succeeded"
	[ "$(wc -l <"$T/err")" = 1 ] && grep -q '^memprof: error: ' "$T/err" ||
		fail "record $args: $(cat "$T/err")"
done
exit 0
