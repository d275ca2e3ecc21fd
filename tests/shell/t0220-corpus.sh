#!/bin/bash
# The trace reader's regression corpus, tests/data/corpus/, replayed through
# the fuzz target built with ASan and UBSan (build/fuzz-replay, made by `make
# check`): each input once through the reader, the model, its views and both
# outputs.  A crash, a sanitizer report or a leak fails.  `make fuzz` runs the
# same target under libFuzzer; what it finds is added to the corpus.
. "$(dirname "$0")/lib.sh"

REPLAY=$BUILD/fuzz-replay
CORPUS=$ROOT/tests/data/corpus
[ -x "$REPLAY" ] || fail "$REPLAY is not built (run 'make check')"

n=$(find "$CORPUS" -maxdepth 1 -type f ! -name '.*' | wc -l)
[ "$n" -ge 30 ] || fail "only $n files in $CORPUS"

export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0:${ASAN_OPTIONS:-}
export UBSAN_OPTIONS=print_stacktrace=1:${UBSAN_OPTIONS:-}
"$REPLAY" "$CORPUS" >"$T/out" 2>"$T/err" ||
	fail "replay failed (exit $?): $(tail -n 40 "$T/err")"
assert_eq "replay summary" "replay: $n inputs run, 0 unreadable" "$(cat "$T/out")"
[ ! -s "$T/err" ] || fail "replay wrote to stderr: $(head -c 2000 "$T/err")"

# the sanitizers are really built in
nm "$REPLAY" 2>/dev/null | grep -q '__asan_init' || fail "$REPLAY is not built with ASan"
nm "$REPLAY" 2>/dev/null | grep -q '__ubsan_handle' || fail "$REPLAY is not built with UBSan"

exit 0
