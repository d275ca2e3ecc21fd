#!/bin/bash
# A stripped workload whose debug info is only on a debuginfod server (a real
# one, `debuginfod -F DIR` on a loopback port): with nothing but
# DEBUGINFOD_URLS set, report names its functions, and with --srcline gives
# their source lines; buildid-list says where each came from.  Without the
# server its frames are FILE+OFFSET.  `memprof archive` takes the debug info
# from the server, and the archive needs no server afterwards.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd debuginfod debuginfod-find objcopy readelf

unset DEBUGINFOD_URLS DEBUGINFOD_CACHE_PATH XDG_CACHE_HOME MEMPROF_BUILDID_DIR
mkdir -p "$T/bin" "$T/srv" "$T/home" "$T/home2"
export HOME=$T/home

# The stripped workload; its .gnu_debuglink names a file found nowhere but on the server.
objcopy --only-keep-debug "$WL/heap" "$T/srv/heap.debug"
objcopy --strip-all --add-gnu-debuglink="$T/srv/heap.debug" "$WL/heap" "$T/bin/heap"
bid=$(readelf -n "$T/bin/heap" | awk '/Build ID:/ { print $3 }')
[ -n "$bid" ] || fail "the workload has no build-id"
readelf -S "$T/bin/heap" | grep -q '\.symtab' && fail "the workload is not stripped"
record_ok -e heap -o "$T/h.data" -- "$T/bin/heap"

report_ok -i "$T/h.data" --folded
grep -q "leak_malloc" "$T/out" && fail "names without debug info: $(head -n 3 "$T/out")"
grep -q ";\[unknown\] heap+0x[0-9a-f]* 409600$" "$T/out" || fail "no server: $(head -n 3 "$T/out")"

# The server: on a free loopback port, killed on exit.
dpid=
trap '[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null; rm -rf "$T"' EXIT
for try in 1 2 3 4 5; do
	port=$((20000 + (RANDOM % 20000)))
	debuginfod -F "$T/srv" -p "$port" -d "$T/debuginfod.sqlite" >"$T/debuginfod.log" 2>&1 &
	dpid=$!
	# ready once the debug file is served (the first scan takes a moment)
	for i in $(seq 100); do
		kill -0 "$dpid" 2>/dev/null || break
		# a fresh client cache each time: the client caches "not found" for 10 minutes
		rm -rf "$T/probe"
		DEBUGINFOD_URLS=http://127.0.0.1:$port DEBUGINFOD_CACHE_PATH=$T/probe \
			debuginfod-find debuginfo "$bid" >/dev/null 2>&1 && break 2
		sleep 0.1
	done
	kill "$dpid" 2>/dev/null
	wait "$dpid" 2>/dev/null
	dpid=
done
[ -n "$dpid" ] || fail "debuginfod did not serve $T/srv: $(tail -n 5 "$T/debuginfod.log")"
export DEBUGINFOD_URLS=http://127.0.0.1:$port

l_call=$(grep -n '^	leak_malloc();$' "$ROOT/tests/workloads/heap.c" | cut -d: -f1)
l_malloc=$(grep -n 'hold(malloc(4096));' "$ROOT/tests/workloads/heap.c" | cut -d: -f1)
[ -n "$l_call" ] && [ -n "$l_malloc" ] || fail "heap.c lines not found"

report_ok -i "$T/h.data" --folded
assert_eq "leak_malloc" 409600 "$(stack_bytes "$T/out" "main;leak_malloc")"
assert_eq "thread_leak" 204800 "$(stack_bytes "$T/out" "thread_main;thread_leak")"
[ ! -s "$T/report.err" ] || fail "warnings: $(cat "$T/report.err")"
report_ok -i "$T/h.data" --folded --srcline
assert_eq "leak_malloc with lines" 409600 \
	"$(stack_bytes "$T/out" "main heap.c:$l_call;leak_malloc heap.c:$l_malloc")"
# the default output has no lines
report_ok -i "$T/h.data" --threshold 0
grep -q "heap\.c" "$T/out" && fail "source lines without --srcline: $(grep heap.c "$T/out")"
grep -q '^ *[0-9.]*% *400\.00 KiB  *400\.00 KiB  *leak_malloc$' "$T/out" || fail "tree: $(cat "$T/out")"

"$MEMPROF" buildid-list -i "$T/h.data" >"$T/list" 2>"$T/err" || fail "buildid-list: $(cat "$T/err")"
grep -q "^$bid  *path  *debuginfod  *$T/bin/heap$" "$T/list" || fail "buildid-list: $(cat "$T/list")"

# archive: the debug info comes from the server, then no server is needed
HOME=$T/home2 "$MEMPROF" archive -i "$T/h.data" -o "$T/h.archive" >/dev/null 2>"$T/err" ||
	fail "archive: $(cat "$T/err")"
kill "$dpid"
wait "$dpid" 2>/dev/null
dpid=
rm "$T/bin/heap"
export HOME=$T/home2
report_ok -i "$T/h.archive" --folded --srcline
assert_eq "archive: leak_malloc with lines" 409600 \
	"$(stack_bytes "$T/out" "main heap.c:$l_call;leak_malloc heap.c:$l_malloc")"
exit 0
