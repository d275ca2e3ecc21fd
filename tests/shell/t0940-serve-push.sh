#!/bin/bash
# serve --push posts the profiles to a Pyroscope server's /ingest as its HTTP
# API documents it (no Pyroscope server can be installed here: a stand-in on
# 127.0.0.1 keeps each request): POST /ingest?name=APP.heap.live{hostname=H}
# (and .alloc) &from=&until= (UNIX seconds) &format=pprof, the profile as a
# binary body, every --push-interval and once more when serve stops; each
# body is a profile go tool pprof reads, the last with report's totals.  A
# server that refuses is said once, not at every interval.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd curl python3
need_go

# The stand-in: each request's method, path and query, Content-Type and body kept.
mkdir "$T/got"
YPORT=$(free_port)
python3 "$ROOT/tests/tools/pyroscope-standin.py" "$YPORT" "$T/got" "$T/refuse" &
started $!
for i in $(seq 50); do
	curl -s -o /dev/null "http://127.0.0.1:$YPORT/" && break
	sleep 0.1
done

serve_hold -d 4 --push "http://127.0.0.1:$YPORT" --push-interval 1 --push-name app -e heap,rss
wait_for "$T/serve.err" 'the recording ended' 30
sleep 2.5
echo 500 >"$T/refuse"
sleep 3.5
rm "$T/refuse"
sleep 1.5
kill -INT "$SERVE"
wait "$SERVE" || fail "serve exited $?"
hold_release
n=$(ls "$T/got" | grep -c '\.req$')
[ "$n" -ge 8 ] || fail "$n pushes in about 10 s at 1 s intervals"
[ "$(grep -c 'cannot push' "$T/serve.err")" = 1 ] ||
	fail "a refusing server is not said once: $(grep push "$T/serve.err")"
host=$(hostname)
python3 - "$T/got" "$host" >"$T/last" <<'EOF2' || fail "the requests do not follow Pyroscope's ingest API"
import os, sys, urllib.parse
d, host = sys.argv[1], sys.argv[2]
last = {}
for f in sorted(os.listdir(d)):
    if not f.endswith(".req"):
        continue
    method_path, ctype = open(os.path.join(d, f)).read().split("\n")[:2]
    method, path = method_path.split(" ", 1)
    u = urllib.parse.urlsplit(path)
    q = dict(urllib.parse.parse_qsl(u.query, strict_parsing=True))
    assert method == "POST" and u.path == "/ingest", method_path
    assert ctype == "binary/octet-stream", ctype
    assert q["format"] == "pprof", q
    assert q["name"] in ("app.heap.live{hostname=%s}" % host, "app.heap.alloc{hostname=%s}" % host), q
    frm, until = int(q["from"]), int(q["until"])
    assert 0 < frm <= until, q
    last[q["name"].split("{")[0]] = os.path.join(d, f[:-4] + ".body")
print(last["app.heap.live"], last["app.heap.alloc"])
EOF2
read -r live alloc <"$T/last"
go tool pprof -top -unit=B "$live" >"$T/top" 2>"$T/pprof.err" || fail "pprof cannot read a pushed body: $(cat "$T/pprof.err")"
grep -q '^Type: inuse_space$' "$T/top" || fail "the live push's type: $(head -5 "$T/top")"
grep -q " of $(report_total --event heap --threshold 0)B total$" "$T/top" ||
	fail "the last live push is not report's heap: $(grep total "$T/top")"
go tool pprof -top -unit=B "$alloc" >"$T/top" 2>/dev/null || fail "pprof cannot read the alloc push"
grep -q '^Type: alloc_space$' "$T/top" || fail "the alloc push's type: $(head -5 "$T/top")"
grep -q " of $(report_total --event heap --threshold 0 --show=alloc)B total$" "$T/top" ||
	fail "the last alloc push is not report's: $(grep total "$T/top")"
exit 0
