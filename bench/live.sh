#!/bin/bash
# What the live commands (top, serve) cost, measured side by side:
#  (a) a long serve session: tests/workloads/steady.c (a working set of 256
#      blocks replaced 1000 times a second) recorded by `memprof serve -e
#      heap,page,rss -p PID -d LIVE_SECONDS` (default 600) while a client fetches
#      /metrics and /v1/tree every second, as a scraper would; memprof's
#      resident set (VmRSS) every 10 s: after the first minute, at the end,
#      the largest, and its growth per minute after the first; the events per
#      second; memprof's CPU (user + system over wall time), and record's on
#      the same workload for 60 s, and top -b -d 1's;
#  (b) what each costs the target: bench/heap_bench.c (~4M malloc+free calls)
#      bare, under `memprof record -e heap`, `memprof serve -e heap` and
#      `memprof top -b -e heap`: the workload's own time, median of RUNS runs
#      (default 3).
# Needs root.
#
# usage: sudo bench/live.sh      (LIVE_SECONDS=120 for a shorter session, RUNS=5, MEMPROF=path)

set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
MEMPROF=${MEMPROF:-$ROOT/memprof}
RUNS=${RUNS:-3}
LONG=${LIVE_SECONDS:-600}
PORT=${PORT:-17839}
URL=http://127.0.0.1:$PORT

bench_name=bench
. bench/lib.sh

[ "$(id -u)" -eq 0 ] || die "memprof records with BPF, which needs root; run 'sudo $0'"
[ -x "$MEMPROF" ] || die "$MEMPROF is not built (run 'make')"
command -v curl >/dev/null || die "curl is not installed (scripts/install-deps --bench)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memprof-bench-live.XXXXXX") || exit 1
pids=
cleanup()
{
	local p
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -g -fno-omit-frame-pointer -o "$tmp/steady" tests/workloads/steady.c ||
	die "cannot build steady"
gcc -O2 -g -fno-omit-frame-pointer -o "$tmp/heap_bench" bench/heap_bench.c ||
	die "cannot build heap_bench"

# cpu_ticks PID: user + system clock ticks of PID so far.
cpu_ticks()
{
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

rss_kib()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# wait_for FILE PATTERN SECONDS: until FILE has a line matching PATTERN.
wait_for()
{
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# events LOG: the events record's summary counts ("page: N events written").
events()
{
	awk '/^memprof: [a-z]+: [0-9]+ (events|samples)/ { n += $3 } END { print n + 0 }' "$1"
}


elapsed()
{
	sed -n 's/.*heap_bench: .*elapsed_s=\([0-9.]*\).*/\1/p' "$1" | tail -n 1
}

hz=$(getconf CLK_TCK)

# --- (a) a long serve session (LIVE_SECONDS=0: none) --------------------------
if [ "$LONG" -gt 0 ]; then

"$tmp/steady" $((LONG + 600)) &
steady=$!
pids="$pids $steady"

"$MEMPROF" serve --listen "127.0.0.1:$PORT" -e heap,page,rss -p "$steady" -d "$LONG" \
	2>"$tmp/serve.log" &
serve=$!
pids="$pids $serve"
wait_for "$tmp/serve.log" 'serving' 60 || die "serve did not start: $(cat "$tmp/serve.log")"
(
	while :; do
		curl -s -o /dev/null "$URL/metrics"
		curl -s -o /dev/null "$URL/v1/tree?reverse=true&threshold=256"
		sleep 1
	done
) &
scraper=$!
pids="$pids $scraper"

start=$(date +%s)
t0=$(cpu_ticks "$serve")
: >"$tmp/rss"
while :; do
	now=$(date +%s)
	t=$((now - start))
	[ "$t" -gt "$LONG" ] && break
	echo "$t $(rss_kib "$serve")" >>"$tmp/rss"
	sleep 10
done
wait_for "$tmp/serve.log" 'recording ended' 60 || die "serve's recording did not end"
t1=$(cpu_ticks "$serve")
kill "$scraper"
kill -INT "$serve"
wait "$serve"
ev=$(events "$tmp/serve.log")

awk -v long="$LONG" -v ev="$ev" -v cpu=$(((t1 - t0))) -v hz="$hz" '
	{ t[NR] = $1; r[NR] = $2; if ($2 > max) max = $2; if (!m1 && $1 >= 60) { m1 = $2; t1 = $1 } }
	END {
		printf "serve, %d s of steady (heap, page, rss), /metrics and /v1/tree every second:\n", long
		printf "  memprof RSS: %.1f MiB after %d s, %.1f MiB at %d s, largest %.1f MiB;", \
			m1 / 1024, t1, r[NR] / 1024, t[NR], max / 1024
		printf " growth after the first minute %.1f KiB/min\n", \
			(r[NR] - m1) / ((t[NR] - t1) / 60)
		printf "  events: %d, %.0f per second; memprof CPU %.2f%% of one CPU\n", \
			ev, ev / long, 100 * cpu / hz / long
	}' "$tmp/rss"
printf '  RSS samples (s KiB):'
awk '{ printf " %s:%s", $1, $2 }' "$tmp/rss"
echo

# record and top on the same workload, 60 s each, for their CPU.
( "$MEMPROF" record -e heap,page,rss -p "$steady" -d 60 -o "$tmp/rec.data" 2>"$tmp/rec.log"
  times >"$tmp/rec.times" )
( "$MEMPROF" top -b -d 1 -n 60 -e heap,page,rss -p "$steady" >"$tmp/top.out" 2>"$tmp/top.log"
  times >"$tmp/top.times" )
cpu_of()
{
	# `times`' second line: the children's user and system time, e.g. 0m1.234s 0m0.567s.
	sed -n 2p "$1" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/);
		s += a[1] * 60 + a[2] } printf "%.2f", 100 * s / 60 }'
}
echo "  record -d 60 on the same: memprof CPU $(cpu_of "$tmp/rec.times")% of one CPU," \
	"$(events "$tmp/rec.log") events"
echo "  top -b -d 1 -n 60 on the same: memprof CPU $(cpu_of "$tmp/top.times")% of one CPU"
kill "$steady" 2>/dev/null
wait "$steady" 2>/dev/null
fi

# --- (b) the cost to the target ----------------------------------------------

for i in $(seq "$RUNS"); do
	"$tmp/heap_bench" 2>"$tmp/bare.$i.log"
	elapsed "$tmp/bare.$i.log" >>"$tmp/bare"

	"$MEMPROF" record -e heap -o "$tmp/hb.data" -- "$tmp/heap_bench" 2>"$tmp/rec.$i.log"
	elapsed "$tmp/rec.$i.log" >>"$tmp/rec"

	"$MEMPROF" serve --listen "127.0.0.1:$PORT" -e heap -- "$tmp/heap_bench" \
		2>"$tmp/serve.$i.log" &
	s=$!
	wait_for "$tmp/serve.$i.log" 'recording ended' 120 || die "serve's heap_bench did not end"
	kill -INT "$s"
	wait "$s"
	elapsed "$tmp/serve.$i.log" >>"$tmp/serve"

	"$MEMPROF" top -b -d 1 -e heap -- "$tmp/heap_bench" >/dev/null 2>"$tmp/top.$i.log" &
	s=$!
	wait_for "$tmp/top.$i.log" 'heap_bench:' 120 || die "top's heap_bench did not end"
	kill -INT "$s"
	wait "$s"
	elapsed "$tmp/top.$i.log" >>"$tmp/top"
done
b=$(median <"$tmp/bare")
echo "heap_bench (4M malloc+free), the workload's own time, median of $RUNS:"
for n in bare rec serve top; do
	m=$(median <"$tmp/$n")
	awk -v n="$n" -v m="$m" -v b="$b" 'BEGIN {
		name["bare"] = "bare"; name["rec"] = "record -e heap"
		name["serve"] = "serve -e heap"; name["top"] = "top -b -e heap"
		printf "  %-16s %8.3f s  %5.2fx bare\n", name[n], m, m / b }'
done
