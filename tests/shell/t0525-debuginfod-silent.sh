#!/bin/bash
# A debuginfod server that never answers costs one timeout for the whole
# report, not three per file: with DEBUGINFOD_TIMEOUT=2 and a trace naming 10
# files found nowhere, report (66 s before) and buildid-list take about 2 s.
# report says it is waiting, that it gave up on the server and asks it no more,
# and which files were not found.  No root needed: the trace is gen-corpus's.
. "$(dirname "$0")/lib.sh"
[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"
GEN=$BUILD/gen-corpus
[ -x "$GEN" ] || fail "$GEN is not built (run 'make check')"
need_cmd python3

# A server that accepts connections and never says a word.
python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
conns = []
while True:
    conns.append(s.accept()[0])
' >"$T/port" &
srv=$!
trap 'kill "$srv" 2>/dev/null; rm -rf "$T"' EXIT
for i in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "the silent server did not start"

paths=()
for i in $(seq 10); do paths+=("/nonexistent/lib$i.so"); done
"$GEN" --files "$T/f.data" "${paths[@]}" || fail "gen-corpus --files failed"
export DEBUGINFOD_URLS=http://127.0.0.1:$(cat "$T/port") DEBUGINFOD_TIMEOUT=2
export DEBUGINFOD_CACHE_PATH=$T/dcache MEMPROF_BUILDID_DIR=$T/cache

start=$(date +%s%N)
"$MEMPROF" report -i "$T/f.data" >"$T/out" 2>"$T/err" || fail "report failed: $(cat "$T/err")"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 8000 ] || fail "report took $ms ms with a silent server: $(cat "$T/err")"
asking=$(grep -c "^memprof: asking debuginfod for" "$T/err")
assert_eq "'asking' lines ($(cat "$T/err"))" 1 "$asking"
gave_up="debuginfod failed for '/nonexistent/lib1.so' after [0-9.]* s: .*; not asking it for"
grep -q "^memprof: warning: $gave_up any other file$" "$T/err" ||
	fail "no warning of giving up on the server: $(cat "$T/err")"
for p in "${paths[@]}"; do
	grep -q "^memprof: warning: '$p' with build-id [0-9a-f]* not found in .*debuginfod gave" \
		"$T/err" || fail "no warning that '$p' was not found: $(cat "$T/err")"
done

start=$(date +%s%N)
"$MEMPROF" buildid-list -i "$T/f.data" >"$T/out" 2>"$T/err" || fail "buildid-list: $(cat "$T/err")"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 8000 ] || fail "buildid-list took $ms ms with a silent server: $(cat "$T/err")"
assert_eq "files listed missing" 10 "$(grep -c ' missing ' "$T/out")"
exit 0
