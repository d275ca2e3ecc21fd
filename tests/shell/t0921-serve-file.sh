#!/bin/bash
# memprof serve -i serves a finished trace (no BPF, no root): gen-trace's
# trace with every event type and processes running, exited, killed and
# exec'd.  Every /v1/tree (page, heap, cache; caller or sites first;
# thresholds 0 and 256; each process) is report --format=json's tree in
# KiB, node for node; /metrics has the processes running at the end and
# only those, each gauge and counter report's figure of the program the
# process runs now (report --pid --comm); /v1/pid all of them;
# --push posts the heap's profiles to a Pyroscope stand-in as its ingest API
# documents it.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_cmd curl python3
[ -x "$BUILD/gen-trace" ] || fail "$BUILD/gen-trace is not built"

CMP="python3 $ROOT/tests/tools/tezedge-cmp.py"
"$BUILD/gen-trace" -o "$T/live.data" || fail "gen-trace failed"
PORT=$(free_port)
"$MEMPROF" serve --listen "127.0.0.1:$PORT" -i "$T/live.data" 2>"$T/serve.err" &
SERVE=$!
started "$SERVE"
wait_for "$T/serve.err" '^memprof: serving ' 30
get /v1/status | grep -q '"source":"file","recording":false,"records":[1-9]' ||
	fail "/v1/status: $(get /v1/status)"

trees_are_reports 1
for pid in 1000 1001 1005; do
	get "/v1/tree?event=heap&pid=$pid&threshold=0" >"$T/tez.json"
	"$MEMPROF" report -i "$T/live.data" --event heap --pid "$pid" --threshold 0 --format=json \
		>"$T/rep.json" 2>/dev/null
	$CMP "$T/tez.json" "$T/rep.json" heap >/dev/null || fail "/v1/tree?pid=$pid is not report's"
done

get /metrics >"$T/m"
running=$("$MEMPROF" report -i "$T/live.data" --stat |
	awk '/^[^ #]/ { p = $0; sub(/:.*/, "", p) } /running at the end/ { print p }' |
	sed 's/.*\[\([0-9]*\)\]/\1/' | sort -n | tr '\n' ' ')
shown=$(sed -n 's/^memprof_process_heap_live_bytes{.*pid="\([0-9]*\)"}.*/\1/p' "$T/m" | sort -n |
	tr '\n' ' ')
assert_eq "the processes /metrics shows (those running at the end)" "$running" "$shown"
total()
{
	"$MEMPROF" report -i "$T/live.data" --pid "$1" --comm "$name" "${@:2}" --format=json 2>/dev/null |
		python3 -c 'import json, sys
s = sys.stdin.read()
d = json.loads(s) if s.strip() else []
print(d[0]["total"] if d else 0)'
}
# A process's row is its program now: what it held before its last exec is not (report
# shows it under the pid, its --comm tells the two apart).
for pid in $running; do
	L=$(grep -o "groupname=\"[^\"]*\",pid=\"$pid\"" "$T/m" | head -n 1)
	name=$(echo "$L" | sed 's/groupname="\([^"]*\)".*/\1/')
	assert_eq "heap of $pid" "$(total "$pid" --event heap)" \
		"$(metric memprof_process_heap_live_bytes "$L" "$T/m")"
	assert_eq "pages of $pid" "$(total "$pid" --event page)" \
		"$(metric memprof_process_pages_live_bytes "$L" "$T/m")"
	assert_eq "heap allocations of $pid" "$(total "$pid" --event heap --show=count)" \
		"$(metric memprof_process_allocations_total "$L,event=\"heap\"" "$T/m")"
	assert_eq "heap bytes allocated by $pid" "$(total "$pid" --event heap --show=alloc)" \
		"$(metric memprof_process_allocated_bytes_total "$L,event=\"heap\"" "$T/m")"
done
assert_eq "leaky's resident memory" 4259840 \
	"$(metric memprof_process_resident_memory_bytes 'groupname="leaky",pid="1000"' "$T/m")"
assert_eq "no virtual size in a trace without it" none \
	"$(metric memprof_process_virtual_memory_bytes 'groupname="leaky",pid="1000"' "$T/m")"
get /v1/pid | python3 -c 'import json, sys
p = {r["pid"]: r for r in json.load(sys.stdin)}
assert p[1001]["running"] is False and p[1001]["heap"] == 618496, p[1001]
assert p[1005]["name"] == "héllo", p[1005]' || fail "/v1/pid: $(get /v1/pid)"

# --push, to a stand-in keeping each request.
mkdir "$T/got"
YPORT=$(free_port)
python3 "$ROOT/tests/tools/pyroscope-standin.py" "$YPORT" "$T/got" &
started $!
for i in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$YPORT/" && break
	sleep 0.1
done
"$MEMPROF" serve --listen "127.0.0.1:$(free_port)" -i "$T/live.data" --push "http://127.0.0.1:$YPORT/" \
	--push-interval 1 --push-name app 2>"$T/push.err" &
P=$!
started "$P"
sleep 2.5
kill -INT "$P"
wait "$P" || fail "serve --push exited $?"
python3 - "$T/got" "$(hostname)" <<'EOF2' || fail "the pushes do not follow Pyroscope's ingest API"
import os, sys, urllib.parse, gzip
d, host = sys.argv[1], sys.argv[2]
names = []
for f in sorted(os.listdir(d)):
    if not f.endswith(".req"):
        continue
    method_path, ctype = open(os.path.join(d, f)).read().split("\n")[:2]
    method, path = method_path.split(" ", 1)
    u = urllib.parse.urlsplit(path)
    q = dict(urllib.parse.parse_qsl(u.query, strict_parsing=True))
    assert method == "POST" and u.path == "/ingest", method_path
    assert ctype == "binary/octet-stream", ctype
    assert q["format"] == "pprof" and 0 < int(q["from"]) <= int(q["until"]), q
    gzip.decompress(open(os.path.join(d, f[:-4] + ".body"), "rb").read())
    names.append(q["name"])
assert len(names) >= 4, names
assert set(names) == {"app.heap.live{hostname=%s}" % host, "app.heap.alloc{hostname=%s}" % host}, names
EOF2
exit 0
