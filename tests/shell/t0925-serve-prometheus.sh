#!/bin/bash
# Prometheus (Debian's) scrapes memprof serve's /metrics: its HTTP API finds
# hold's live heap, pages and page cache equal to what memprof report
# prints of the trace serve wrote, the target up with no scrape error, and
# the counters as counters.  Both listen on 127.0.0.1 only.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd curl python3
need_test_pkgs prometheus

serve_hold -d 5
wait_for "$T/serve.err" 'the recording ended' 30

PPORT=$(free_port)
cat >"$T/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: memprof
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
EOF2
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address="127.0.0.1:$PPORT" >"$T/prom.log" 2>&1 &
started $!

# query EXPR: the value of EXPR's one series now, "none" while there is none.
query()
{
	curl -sS --max-time 10 "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "none")' 2>/dev/null || echo none
}
for i in $(seq 150); do
	[ "$(query "memprof_process_heap_live_bytes{pid=\"$HOLD\"}")" != none ] && break
	sleep 0.2
done
heap=$(query "memprof_process_heap_live_bytes{groupname=\"hold\",pid=\"$HOLD\"}")
[ "$heap" != none ] || fail "Prometheus has no live heap of hold: $(tail -n 5 "$T/prom.log")"
assert_eq "Prometheus's live heap of hold" "$(report_total --pid "$HOLD" --event heap)" "$heap"
assert_eq "the known answer" 1524288 "$heap"
assert_eq "Prometheus's live pages of hold" "$(report_total --pid "$HOLD" --event page)" \
	"$(query "memprof_process_pages_live_bytes{pid=\"$HOLD\"}")"
assert_eq "Prometheus's page cache of hold" "$(report_total --pid "$HOLD" --event cache)" \
	"$(query "memprof_process_page_cache_bytes{pid=\"$HOLD\"}")"
assert_eq "heap allocations" "$(report_total --pid "$HOLD" --event heap --show=count)" \
	"$(query "memprof_process_allocations_total{pid=\"$HOLD\",event=\"heap\"}")"
assert_eq "the target is up" 1 "$(query 'up{job="memprof"}')"
curl -sS "http://127.0.0.1:$PPORT/api/v1/targets" | python3 -c 'import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"]
assert len(t) == 1 and t[0]["health"] == "up" and t[0]["lastError"] == "", t' ||
	fail "Prometheus's scrape of /metrics failed"
# Prometheus's own reading of the types: rate() of a counter, and the metadata.
curl -sS "http://127.0.0.1:$PPORT/api/v1/metadata?metric=memprof_process_allocations_total" |
	grep -q '"type":"counter"' || fail "allocations_total is not a counter to Prometheus"
curl -sS "http://127.0.0.1:$PPORT/api/v1/metadata?metric=memprof_process_heap_live_bytes" |
	grep -q '"type":"gauge"' || fail "heap_live_bytes is not a gauge to Prometheus"
hold_release
exit 0
