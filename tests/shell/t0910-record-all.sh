#!/bin/bash
# record -a records every process of the machine, those that start while it
# records too, with every event type: hold, started after record said it
# records, is recorded from its first instruction, so that its heap calls
# after its exec (42, 1,524,288 bytes live), its mmap and brk calls (the
# dynamic loader's first) and its pages are those of a `record -- hold` run;
# its RSS is sampled and its page cache seen.  memprof itself is not recorded.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd python3

MiB=1048576
# The reference: hold launched by record.
"$MEMPROF" record -e all -o "$T/one.data" -- "$WL/hold" </dev/null >/dev/null 2>"$T/one.err" ||
	fail "record -- hold failed: $(cat "$T/one.err")"

"$MEMPROF" record -a -e all -d 4 -o "$T/all.data" 2>"$T/rec.err" &
REC=$!
started "$REC"
wait_for "$T/rec.err" '^memprof: recording every process for 4 s' 120
hold_start
hold_release
wait "$REC" || fail "record -a exited $?: $(cat "$T/rec.err")"
grep -q "^memprof: wrote '$T/all.data'" "$T/rec.err" || fail "record -a: $(cat "$T/rec.err")"

ONE=$("$MEMPROF" report -i "$T/one.data" --stat | sed -n 's/^hold \[\([0-9]*\)\].*/\1/p')
[ -n "$ONE" ] || fail "no hold in the reference trace"
# hold's own: what the shell did in the process before its exec is recorded too.
"$MEMPROF" report -i "$T/all.data" --pid "$HOLD" --event heap --folded >"$T/heap.folded"
assert_eq "hold's live heap" 1524288 "$(hold_heap "$T/heap.folded")"
calls_after_exec "$T/one.data" "$ONE" >"$T/calls1"
calls_after_exec "$T/all.data" "$HOLD" >"$T/calls"
grep -q '^malloc 32$' "$T/calls1" && grep -q '^mmap ' "$T/calls1" ||
	fail "the reference's calls: $(cat "$T/calls1")"
cmp -s "$T/calls1" "$T/calls" ||
	fail "hold's heap and mmap calls are not those of record -- hold: $(diff "$T/calls1" "$T/calls")"
"$MEMPROF" report -i "$T/all.data" --pid "$HOLD" --stat >"$T/stat"
grep -q '^  rss       start .*, peak ' "$T/stat" || fail "hold's RSS was not sampled: $(cat "$T/stat")"
grep -q "exited with 0" "$T/stat" || fail "hold's exit was not recorded"
"$MEMPROF" report -i "$T/all.data" --pid "$HOLD" --event page --folded >"$T/pages.folded"
assert_within_pct "hold_touch's pages" $((8 * MiB)) \
	"$(stack_bytes "$T/pages.folded" "main;hold_touch")" 1
"$MEMPROF" report -i "$T/all.data" --pid "$HOLD" --event cache >/dev/null 2>&1 ||
	fail "no page cache events of hold"
# Every process: more than hold and its shell; memprof is not among them.
"$MEMPROF" report -i "$T/all.data" --stat >"$T/allstat"
n=$(grep -c '^[^ ].* \[[0-9]*\]' "$T/allstat")
[ "$n" -ge 2 ] || fail "record -a recorded $n processes"
grep -q "^memprof \[$REC\]" "$T/allstat" && fail "record -a recorded itself"

# Bad targets: one line, exit 129.
for args in "-a -p 1" "-a -- true" "-a --comm x" "--comm x --exec /bin/true"; do
	"$MEMPROF" record $args -o "$T/x.data" >/dev/null 2>"$T/err" && fail "record $args succeeded"
	[ "$(wc -l <"$T/err")" = 1 ] && grep -q '^memprof: error: ' "$T/err" ||
		fail "record $args: $(cat "$T/err")"
done
exit 0
