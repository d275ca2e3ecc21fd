#!/bin/bash
# memprof serve records and serves at once, the trace also written with -o:
# what it serves while recording and once the recording ended equals what
# report prints of the file, the same events.  serve waits for hold by its
# name (--comm) and stops recording after -d while hold still runs, so that
# the file and the live model end alike.  While hold holds its memory,
# /metrics shows its live heap, the known 1,524,288 bytes; once recording
# ended, every /v1/tree (page, heap, cache; caller or sites first;
# thresholds 0 and 256; one process) is report --format=json's tree in KiB,
# node for node, every series of /metrics is report's (or script's, for the
# RSS samples) figure of the file, and serve -i FILE serves the same again.
# Bad requests get 400, 404 or 405 and one line; nothing outside the paths.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd curl python3

CMP="python3 $ROOT/tests/tools/tezedge-cmp.py"
PORT=$(free_port)
"$MEMPROF" serve --listen "127.0.0.1:$PORT" --comm hold -d 6 -o "$T/live.data" \
	2>"$T/serve.err" &
SERVE=$!
started "$SERVE"
wait_for "$T/serve.err" "waiting for a process named 'hold'" 60
hold_start

# While recording: hold's heap as it stands, live.
for i in $(seq 50); do
	get /metrics >"$T/m0"
	[ "$(metric memprof_process_heap_live_bytes "groupname=\"hold\",pid=\"$HOLD\"" "$T/m0")" \
		= 1524288 ] && break
	sleep 0.2
done
assert_eq "live heap of hold while recording" 1524288 \
	"$(metric memprof_process_heap_live_bytes "groupname=\"hold\",pid=\"$HOLD\"" "$T/m0")"
get /v1/status | grep -q '"recording":true' || fail "/v1/status does not say recording"

wait_for "$T/serve.err" 'the recording ended' 30
get /v1/status | grep -q '"source":"live","recording":false' ||
	fail "/v1/status after the end: $(get /v1/status)"
trees_are_reports
get "/v1/tree?pid=$HOLD&reverse=true&threshold=256" >"$T/tez.json"
"$MEMPROF" report -i "$T/live.data" --pid "$HOLD" --reverse --format=json \
	>"$T/rep.json" 2>/dev/null
$CMP "$T/tez.json" "$T/rep.json" page >/dev/null || fail "/v1/tree?pid=$HOLD is not report's"
# TezEdge's defaults: the page tree, caller first, no threshold.
get /v1/tree >"$T/tez.json"
"$MEMPROF" report -i "$T/live.data" --threshold 0 --format=json >"$T/rep.json"
$CMP "$T/tez.json" "$T/rep.json" page >/dev/null || fail "/v1/tree's defaults are not TezEdge's"
grep -q '"functionName":"hold_calloc","functionCategory":"nodeCpp"' "$T/tez.json" ||
	fail "hold_calloc is not in the tree as nodeCpp"
grep -q '"executable":"libc.so.6","offset":"0x[0-9a-f]*","functionName":"__libc_start_main","functionCategory":"systemLib"' "$T/tez.json" ||
	fail "libc's frames are not systemLib"

# /metrics against the file.
get /metrics >"$T/m"
grep -q '^# TYPE memprof_process_heap_live_bytes gauge$' "$T/m" || fail "no gauge TYPE line"
grep -q '^# TYPE memprof_process_allocations_total counter$' "$T/m" || fail "no counter TYPE line"
L="groupname=\"hold\",pid=\"$HOLD\""
total()
{
	"$MEMPROF" report -i "$T/live.data" --pid "$HOLD" "$@" --format=json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["total"])'
}
assert_eq "heap live" "$(total --event heap)" "$(metric memprof_process_heap_live_bytes "$L" "$T/m")"
assert_eq "heap live, the known answer" 1524288 "$(metric memprof_process_heap_live_bytes "$L" "$T/m")"
assert_eq "pages live" "$(total --event page)" "$(metric memprof_process_pages_live_bytes "$L" "$T/m")"
assert_eq "page cache" "$(total --event cache)" "$(metric memprof_process_page_cache_bytes "$L" "$T/m")"
for ev in page heap cache; do
	assert_eq "$ev allocations" "$(total --event $ev --show=count)" \
		"$(metric memprof_process_allocations_total "$L,event=\"$ev\"" "$T/m")"
	assert_eq "$ev bytes allocated" "$(total --event $ev --show=alloc)" \
		"$(metric memprof_process_allocated_bytes_total "$L,event=\"$ev\"" "$T/m")"
done
"$MEMPROF" script -i "$T/live.data" >"$T/script" || fail "script failed"
# Frees: of the allocations counted, those no longer live (whoever freed them).
for ev in page heap cache; do
	live_n=$("$MEMPROF" report -i "$T/live.data" --pid "$HOLD" --event $ev --threshold 0 \
		--format=json 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["allocations"])')
	assert_eq "$ev frees" $(($(total --event $ev --show=count) - live_n)) \
		"$(metric memprof_process_frees_total "$L,event=\"$ev\"" "$T/m")"
done
# The last RSS sample, and the peak of them all.
awk -v p="$HOLD/" 'index($2, p) == 1 && $4 == "rss:" {
	for (i = 5; i < NF; i++) v[$i] = $(i + 1)
	rss = v["anon"] + v["file"] + v["shmem"]; vm = v["vm"]
	if (v["hwm"] > peak) peak = v["hwm"]; if (rss > peak) peak = rss
} END { print rss, vm, peak }' "$T/script" >"$T/rss"
read -r rss vm peak <"$T/rss"
assert_eq resident "$rss" "$(metric memprof_process_resident_memory_bytes "$L" "$T/m")"
assert_eq virtual "$vm" "$(metric memprof_process_virtual_memory_bytes "$L" "$T/m")"
assert_eq peak "$peak" "$(metric memprof_process_resident_memory_peak_bytes "$L" "$T/m")"
[ "$vm" -gt "$rss" ] || fail "virtual size $vm is not above the resident $rss"
"$MEMPROF" report -i "$T/live.data" --pid "$HOLD" --stat >"$T/stat"
calls=$(sed -n 's/^  calls     mmap \([0-9]*\), munmap \([0-9]*\),.*/\1 \2/p' "$T/stat")
assert_eq "mmap and munmap calls" "$calls" \
	"$(metric memprof_process_mmap_calls_total "$L" "$T/m") $(metric memprof_process_munmap_calls_total "$L" "$T/m")"
get /v1/pid >"$T/pids"
python3 - "$T/pids" "$HOLD" <<'EOF' || fail "/v1/pid: $(cat "$T/pids")"
import json, sys
p = [r for r in json.load(open(sys.argv[1])) if r["pid"] == int(sys.argv[2])]
assert len(p) == 1 and p[0]["name"] == "hold" and p[0]["running"] and p[0]["heap"] == 1524288
EOF
get /v1/flamegraph.svg | grep -q 'hold_calloc' || fail "the flame graph has no hold_calloc"
get /v1/timeline.svg | grep -q '<svg' || fail "no timeline chart"

# Bad requests: a status, one line, and nothing read from the file system.
bad()
{
	local code

	code=$(status "$@")
	[ "$code" = "$EXPECT" ] || fail "$*: status $code, expected $EXPECT: $(cat "$T/body")"
	[ "$(wc -l <"$T/body")" = 1 ] || fail "$*: the reason is not one line: $(cat "$T/body")"
}
EXPECT=400
bad '/v1/tree?reverse=maybe'
bad '/v1/tree?threshold=-1'
bad '/v1/tree?pid=0'
bad '/v1/tree?event=rss'
bad '/v1/tree?event=mmap'
bad '/v1/tree?show=peak'
bad '/v1/tree?depth=3'
bad '/metrics?x=1'
EXPECT=404
bad '/../../../etc/passwd'
bad '/v1/../../etc/passwd'
bad '/etc/passwd'
bad '/debug/pprof/goroutine'
EXPECT=405
bad /v1/tree -X POST -d x

hold_release
kill -INT "$SERVE"
wait "$SERVE" || fail "serve exited $? on SIGINT"
"$MEMPROF" report -i "$T/live.data" --header-only >"$T/hdr" 2>&1 || fail "the trace is unreadable"
# The events counted are those record's summary says it wrote (printed at the end).
for ev in page heap cache mmap; do
	n=$(sed -n "s/^memprof: $ev: \([0-9]*\) events written.*/\1/p" "$T/serve.err")
	assert_eq "$ev events" "$n" "$(metric memprof_events_total "event=\"$ev\"" "$T/m")"
	assert_eq "$ev lost" 0 "$(metric memprof_lost_events_total "event=\"$ev\"" "$T/m")"
done

# The finished trace, served: the same answers.
"$MEMPROF" serve --listen "127.0.0.1:$PORT" -i "$T/live.data" 2>"$T/serve-i.err" &
SERVE=$!
started "$SERVE"
wait_for "$T/serve-i.err" 'serving' 30
get /v1/status | grep -q '"source":"file","recording":false' || fail "/v1/status of -i"
get '/v1/tree?event=heap&reverse=true' >"$T/tez.json"
"$MEMPROF" report -i "$T/live.data" --event heap --reverse --threshold 0 --format=json >"$T/rep.json"
$CMP "$T/tez.json" "$T/rep.json" heap >/dev/null || fail "serve -i's tree is not report's"
get /metrics >"$T/m2"
assert_eq "heap live of -i" 1524288 "$(metric memprof_process_heap_live_bytes "$L" "$T/m2")"

# Bad options: one line, exit 129, nothing served.
for args in "--listen 127.0.0.1" "--listen 127.0.0.1:0" "--listen nowhere:80" \
	"-i $T/live.data -p 1" "-i $T/live.data -o x.data" "--push ftp://x -i $T/live.data" \
	"--push-interval 0 -i $T/live.data"; do
	"$MEMPROF" serve $args >"$T/out" 2>"$T/err" && fail "serve $args succeeded"
	[ "$(wc -l <"$T/err")" = 1 ] || fail "serve $args: $(cat "$T/err")"
	grep -q '^memprof: error: ' "$T/err" || fail "serve $args: $(cat "$T/err")"
done
# The port is taken (by the serve above): said, not a crash.
"$MEMPROF" serve --listen "127.0.0.1:$PORT" -i "$T/live.data" 2>"$T/err" && fail "a second serve on $PORT"
grep -q "^memprof: error: cannot listen on 127.0.0.1:$PORT" "$T/err" || fail "port taken: $(cat "$T/err")"
"$MEMPROF" serve -i "$T/nothing.data" 2>"$T/err" && fail "serve of a missing file succeeded"
[ "$(wc -l <"$T/err")" = 1 ] || fail "missing file: $(cat "$T/err")"
kill -INT "$SERVE"
wait "$SERVE" || fail "serve -i exited $? on SIGINT"
exit 0
