#!/bin/bash
# What `memprof record -e heap` costs the target per malloc/free pair, side by side
# in one run (bench/heap_bench.c: N pairs of mixed small sizes, one block in 1000
# kept), each the median of RUNS runs of the workload's own loop time.  The runs go
# in rounds, every mode once a round, so that the machine's drift over the minutes
# the bench takes falls on every mode alike:
#   floor        the bare probes: memprof's heap probes on the same sites, with
#                programs that do nothing (MEMPROF_BARE_PROBES=1), so only the traps
#   -g fp, -g cfi (the default): exact mode, every call
#   -g fp --heap-time=exact: the clock read at each event instead of once per tick
#   the same three with a link per site (MEMPROF_NO_UPROBE_MULTI=1): the probes of a
#                kernel without uprobe_multi links and sessions (before 6.6, 6.13),
#                each to its own floor
#   sample -p    --heap-sample=524288, attached: sampled in the BPF programs
#   sample       --heap-sample=524288, launched: sampled by the preload library
#   heaptrack    launched
#   before       MEMPROF_BEFORE=path: another build of memprof (main's), -g fp and -g cfi
# Each row: µs of the target's time added per pair (from the medians), and that as a
# ratio to the floor and to heaptrack (the median of the rounds' own ratios).  Then
# the split of the exact mode's cost per BPF program, from bpf_stats
# (kernel.bpf_stats_enabled, on for that run only).  Needs root; run it under the
# machine's BPF lock (flock -o /tmp/memprof-bpf.lock bench/heap.sh).
#
# usage: bench/heap.sh   (RUNS=5, N=2000000, MEMPROF=path, MEMPROF_BEFORE=path; SPLIT=only:
#                         the split alone)

set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
MEMPROF=${MEMPROF:-$ROOT/memprof}
BEFORE=${MEMPROF_BEFORE:-}
RUNS=${RUNS:-5}
N=${N:-2000000}
SAMPLE=524288

bench_name=bench
. bench/lib.sh

[ "$(id -u)" -eq 0 ] || die "memprof needs root; run 'sudo $0'"
[ -x "$MEMPROF" ] || die "$MEMPROF is not built (run 'make')"
sh scripts/install-deps --bench || die "cannot install heaptrack and jq"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memprof-bench-heap.XXXXXX") || exit 1
stats0=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q -w kernel.bpf_stats_enabled="$stats0"; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
gcc -O2 -g -fno-omit-frame-pointer -o "$tmp/heap_bench" bench/heap_bench.c ||
	die "cannot build heap_bench"


# elapsed LOG: the workload's loop time from its line in LOG.
elapsed()
{
	sed -n 's/^heap_bench: .* elapsed_s=\([0-9.]*\) .*/\1/p' "$1" | tail -n 1
}

declare -A T
# A round's result for mode NAME: its loop time, or n/a, a line a round in $tmp/NAME.t.
result()
{
	echo "${2:-n/a}" >>"$tmp/$1.t"
}

# launched NAME CMD...: one run of CMD (ending with the workload).
launched()
{
	local name=$1
	shift
	if "$@" </dev/null >"$tmp/$name.log" 2>&1; then
		result "$name" "$(elapsed "$tmp/$name.log")"
	else
		tail -n 3 "$tmp/$name.log" >&2
		result "$name"
	fi
}

# attach NAME RECORD_ARGS...: the workload started, waiting on fd 3, and memprof record
# -p attached to it (its output in $tmp/NAME.log, the workload's in $tmp/NAME.wl.log);
# sets $wl and $rec.  Writing a byte to fd 3 starts the loop, a second one ends it.
attach()
{
	local name=$1
	shift
	rm -f "$tmp/go"
	mkfifo "$tmp/go"
	"$tmp/heap_bench" wait "$N" <"$tmp/go" 2>"$tmp/$name.wl.log" &
	wl=$!
	exec 3>"$tmp/go"
	"$MEMPROF" record "$@" -p "$wl" -o "$tmp/$name.data" >"$tmp/$name.log" 2>&1 &
	rec=$!
	for _ in $(seq 300); do
		grep -q "^memprof: recording PID $wl" "$tmp/$name.log" && break
		sleep 0.05
	done
}

# attached NAME RECORD_ARGS...: one run of the loop, memprof record -p attached.
attached()
{
	local name=$1 wl rec
	attach "$@"
	printf ab >&3
	exec 3>&-
	wait "$wl"
	wait "$rec" || tail -n 3 "$tmp/$name.log" >&2
	result "$name" "$(elapsed "$tmp/$name.wl.log")"
}

if [ "${SPLIT:-}" != only ]; then
echo "bench: $RUNS rounds of every mode, $N malloc/free pairs..." >&2
for ((round = 1; round <= RUNS; round++)); do
	launched bare "$tmp/heap_bench" "$N"
	launched floor env MEMPROF_BARE_PROBES=1 "$MEMPROF" record -e heap -g fp -o "$tmp/f.data" \
		-- "$tmp/heap_bench" "$N"
	launched fp "$MEMPROF" record -e heap -g fp -o "$tmp/fp.data" -- "$tmp/heap_bench" "$N"
	launched cfi "$MEMPROF" record -e heap -o "$tmp/cfi.data" -- "$tmp/heap_bench" "$N"
	launched fp_exact "$MEMPROF" record -e heap -g fp --heap-time=exact -o "$tmp/fpx.data" \
		-- "$tmp/heap_bench" "$N"
	launched floor1 env MEMPROF_BARE_PROBES=1 MEMPROF_NO_UPROBE_MULTI=1 "$MEMPROF" record \
		-e heap -g fp -o "$tmp/f1.data" -- "$tmp/heap_bench" "$N"
	launched fp1 env MEMPROF_NO_UPROBE_MULTI=1 "$MEMPROF" record -e heap -g fp \
		-o "$tmp/fp1.data" -- "$tmp/heap_bench" "$N"
	launched cfi1 env MEMPROF_NO_UPROBE_MULTI=1 "$MEMPROF" record -e heap -o "$tmp/cfi1.data" \
		-- "$tmp/heap_bench" "$N"
	attached sample_p -e heap --heap-sample=$SAMPLE
	launched sample "$MEMPROF" record -e heap --heap-sample=$SAMPLE -o "$tmp/s.data" -- \
		"$tmp/heap_bench" "$N"
	launched heaptrack heaptrack -o "$tmp/ht" "$tmp/heap_bench" "$N"
	if [ -n "$BEFORE" ]; then
		launched before_fp "$BEFORE" record -e heap -g fp -o "$tmp/bf.data" -- \
			"$tmp/heap_bench" "$N"
		launched before_cfi "$BEFORE" record -e heap -o "$tmp/bc.data" -- "$tmp/heap_bench" "$N"
	fi
done
for t in "$tmp"/*.t; do
	name=${t##*/}
	T[${name%.t}]=$(median <"$t")
done

# us NAME: µs added per pair, from the medians.
us()
{
	awk -v a="${T[$1]}" -v b="${T[bare]}" -v n="$N" 'BEGIN {
		if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/) print "n/a"; else printf "%.3f\n", (a - b) * 1e6 / n }'
}
# ratio A B: A's added cost over B's, the median of the rounds' own ratios (each round's
# runs close in time), over the rounds where all three ran.
ratio()
{
	paste "$tmp/$1.t" "$tmp/$2.t" "$tmp/bare.t" | awk '
		$1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9.]+$/ && $3 ~ /^[0-9.]+$/ && $2 > $3 {
			printf "%.6f\n", ($1 - $3) / ($2 - $3) }' | median |
		awk '{ if ($1 ~ /^-?[0-9.]+$/) printf "%.2fx\n", $1; else print "n/a" }'
}

echo
echo "heap cost per malloc/free pair ($N pairs, median of $RUNS runs of the loop's own time)"
printf '%-34s %10s %12s %10s %12s\n' mode "loop s" "us/pair" "/ floor" "/ heaptrack"
# row NAME LABEL [FLOOR]: NAME's figures, its ratio to FLOOR (default floor).
row()
{
	printf '%-34s %10s %12s %10s %12s\n' "$2" "${T[$1]}" "$(us "$1")" \
		"$(ratio "$1" "${3:-floor}")" "$(ratio "$1" heaptrack)"
}
printf '%-34s %10s %12s %10s %12s\n' "bare (no recording)" "${T[bare]}" - - -
row floor "floor: bare probes, same sites"
row fp "memprof -g fp"
row cfi "memprof -g cfi (default)"
row fp_exact "memprof -g fp --heap-time=exact"
row sample_p "memprof --heap-sample=$SAMPLE -p"
row sample "memprof --heap-sample=$SAMPLE (launched)"
row heaptrack "heaptrack (launched)"
row floor1 "floor, a link per site" floor1
row fp1 "-g fp, a link per site" floor1
row cfi1 "-g cfi, a link per site" floor1
if [ -n "$BEFORE" ]; then
	row before_fp "before: $BEFORE -g fp"
	row before_cfi "before: $BEFORE -g cfi"
fi
fi

# The split: one run of each exact mode, attached with -p (so that only the target's
# calls run the programs), its programs' run time from bpf_stats read while the
# workload waits at its end.
split()
{
	local mode=$1 wl rec
	attach split -e heap -g "$mode"
	sysctl -q -w kernel.bpf_stats_enabled=1
	printf a >&3
	for _ in $(seq 600); do
		grep -q "^heap_bench: " "$tmp/split.wl.log" && break
		sleep 0.05
	done
	# memprof's programs by name (Debian's bpftool names no owning pids): the lock held,
	# they are this recorder's
	bpftool -j prog show | jq -r --argjson n "$N" '.[] |
		select(.name | test("^(heap_|sample_|sys_e|process_|task_rename|page_|rss_stat|cache_)")) |
		select(.run_cnt != null and .run_cnt > 0) |
		"\(.name) \(.run_cnt) \(.run_time_ns / .run_cnt) \(.run_time_ns / $n / 1000)"' |
		awk -v m="$mode" '{ printf "  -g %-4s %-16s %10d runs %7.0f ns/run %7.3f us/pair\n",
			m, $1, $2, $3, $4 }'
	sysctl -q -w kernel.bpf_stats_enabled=0
	printf b >&3
	exec 3>&-
	wait "$wl"
	wait "$rec"
}
echo
echo "BPF programs' own time (bpf_stats, with its own ~100 ns a run), exact mode, -p:"
split fp
split cfi
echo "  (the traps are the floor's; record's consumer runs on another core, not in the target)"
