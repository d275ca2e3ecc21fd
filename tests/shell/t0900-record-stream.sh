#!/bin/bash
# record -o - streams the trace to standard output and report -i - reads it
# from standard input as it comes (perf's `record -o - | report -i -`): the
# report of the stream is the report of the same bytes in a file, in every
# view; and the heap of the heap workload (whose heap calls are the same in
# every run) is the same as in a trace recorded to a file, but for the pids.
# What a launched command prints goes to standard error, not into the trace.
. "$(dirname "$0")/lib.sh"
need_bpf

"$MEMPROF" record -e all -o - -- "$WL/heap" </dev/null 2>"$T/rec.err" |
	tee "$T/s.data" | "$MEMPROF" report -i - >"$T/stream.txt" 2>"$T/rep.err" ||
	fail "record -o - | report -i - failed: $(cat "$T/rec.err" "$T/rep.err")"
grep -q "memprof: wrote 'standard output'" "$T/rec.err" || fail "record's summary: $(cat "$T/rec.err")"
head -c 8 "$T/s.data" | od -An -c | tr -d ' ' | grep -q '^MEMPROF\\0$' ||
	fail "the stream does not start with the trace's magic"
"$MEMPROF" report -i "$T/s.data" >"$T/file.txt" || fail "report of the file failed"
cmp -s "$T/stream.txt" "$T/file.txt" || fail "report -i - differs: $(diff "$T/stream.txt" "$T/file.txt" | head)"
grep -q 'leak_calloc' "$T/stream.txt" || fail "the report has no leak_calloc"

# The same bytes on standard input, any view.
for args in "--stat" "--format=json" "--event heap --reverse --threshold 0" "--timeline" \
	"--folded" "--show=alloc --sort=thread" "--header-only" "--histogram"; do
	"$MEMPROF" report -i - $args <"$T/s.data" >"$T/a" 2>&1 || fail "report -i - $args failed"
	"$MEMPROF" report -i "$T/s.data" $args >"$T/b" 2>&1
	# --header-only names the input.
	sed -i "s|$T/s.data|-|; s|standard input|-|" "$T/a" "$T/b"
	cmp -s "$T/a" "$T/b" || fail "report $args of the stream differs: $(diff "$T/a" "$T/b" | head)"
done

# Another run to a file: the same heap, but for the pids.
"$MEMPROF" record -e heap -o "$T/f.data" -- "$WL/heap" </dev/null >/dev/null 2>&1 ||
	fail "record -o FILE failed"
"$MEMPROF" record -e heap -o - -- "$WL/heap" </dev/null 2>/dev/null |
	"$MEMPROF" report -i - --event heap --threshold 0 | sed 's/\[[0-9]*\]/[PID]/' >"$T/a"
"$MEMPROF" report -i "$T/f.data" --event heap --threshold 0 | sed 's/\[[0-9]*\]/[PID]/' >"$T/b"
cmp -s "$T/a" "$T/b" || fail "the streamed heap differs from the file's: $(diff "$T/a" "$T/b" | head)"

# The command's own output goes to stderr; the trace stays whole.  (The output is
# not in the command line, which the trace holds, maybe as plain bytes.)
"$MEMPROF" record -e heap -o - -- sh -c 'echo to-$((6 * 7))-stdout' </dev/null 2>"$T/err" \
	>"$T/o.data" || fail "record -o - of a command that prints failed"
grep -q '^to-42-stdout$' "$T/err" || fail "the command's output is not on stderr"
grep -q 'to-42-stdout' "$T/o.data" && fail "the command's output is in the trace"
"$MEMPROF" report -i - --header-only <"$T/o.data" >/dev/null || fail "that trace is unreadable"

# A stream cut short is a cut trace; an empty one and --show=peak: one line each.
head -c 3000 "$T/s.data" | "$MEMPROF" report -i - >/dev/null 2>"$T/err"
grep -q 'error' "$T/err" && [ "$(wc -l <"$T/err")" -gt 1 ] && fail "a cut stream: $(cat "$T/err")"
"$MEMPROF" report -i - </dev/null >/dev/null 2>"$T/err" && fail "report of an empty stream succeeded"
[ "$(wc -l <"$T/err")" = 1 ] || fail "an empty stream: $(cat "$T/err")"
"$MEMPROF" report -i - --show=peak <"$T/s.data" >/dev/null 2>"$T/err" && fail "--show=peak of a stream"
tail -n 1 "$T/err" | grep -q '^memprof: error: this report reads the trace twice' ||
	fail "--show=peak: $(cat "$T/err")"
exit 0
