#!/bin/bash
# Report at scale: what reading a trace of millions of distinct call stacks costs,
# measured side by side with heaptrack on the same workload.
#  (a) bench/stacks_bench.c makes STACKS heap allocations (default 10.5 million),
#      each from a call path of its own, DEPTH calls deep (24) through K functions
#      (2), and frees them; it is recorded with `memprof record -e heap` (real BPF,
#      the default stack mode) and with heaptrack;
#  (b) record's own cost: its peak resident size, and the trace's bytes per event;
#  (c) reading it: the model alone (`report --header-only`, which reads the whole trace:
#      its peak resident size over the distinct stacks is the model's bytes per
#      stack), `memprof report --show=count --folded`, the default report (the
#      tree of live memory), `--show=peak`, `memprof script --format=csv` and `memprof
#      diff` of the trace against itself, next to
#      heaptrack_print on heaptrack's trace of the same run: seconds (the median of
#      RUNS runs, default 3), events per second (the trace's heap events over the
#      seconds) and peak resident size (GNU time's maximum RSS).
# MEMPROF_OLD=path adds a column for another memprof build reading its own recording
# of the same workload (an older format), for before and after.
#
# usage: sudo bench/report-scale.sh
#        (STACKS=N K=2|4|8 DEPTH=24 RUNS=3 MEMPROF=path MEMPROF_OLD=path KEEP=DIR)
# KEEP=DIR keeps the traces there, and uses those it finds there instead of recording
# again.  Needs root (memprof record), heaptrack and GNU time.

set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
MEMPROF=${MEMPROF:-$ROOT/memprof}
MEMPROF_OLD=${MEMPROF_OLD:-}
RUNS=${RUNS:-3}
STACKS=${STACKS:-10500000}
K=${K:-2}
DEPTH=${DEPTH:-24}

bench_name=report-scale
. bench/lib.sh

[ "$(id -u)" -eq 0 ] || die "memprof record needs root; run 'sudo $0'"
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed for peak memory"
[ -x "$MEMPROF" ] || die "$MEMPROF is not built (run 'make')"
have_heaptrack=1
command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null || have_heaptrack=0

if [ -n "${KEEP:-}" ]; then
	dir=$KEEP
	mkdir -p "$dir" || exit 1
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/memprof-scale.XXXXXX") || exit 1
	trap 'rm -rf "$dir"' EXIT
fi
trap 'exit 130' INT TERM
tag=k$K-d$DEPTH-n$STACKS

gcc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -o "$dir/stacks_bench" \
	bench/stacks_bench.c || die "cannot build stacks_bench"
workload=("$dir/stacks_bench" -k "$K" -d "$DEPTH" -n "$STACKS")


# measure NAME CMD...: runs CMD RUNS times, stdout to /dev/null; sets $secs (median
# seconds) and $rss (median peak RSS in MB, 10^6 bytes).
measure()
{
	local name=$1 i
	shift
	: >"$dir/$name.times"
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %M' -o "$dir/$name.time" "$@" >/dev/null 2>"$dir/$name.err" ||
			die "$name failed: $(tail -3 "$dir/$name.err")"
		cat "$dir/$name.time" >>"$dir/$name.times"
	done
	secs=$(awk '{ print $1 }' "$dir/$name.times" | median)
	rss=$(awk '{ printf "%.0f\n", $2 * 1024 / 1e6 }' "$dir/$name.times" | median)
}

# record_with MEMPROF OUT: records the workload into OUT (unless KEEP has it); sets
# $rec_rss (MB), $rec_bpe (bytes per event) and $events (heap events in the trace).
record_with()
{
	local mp=$1 out=$2 log=$2.record
	if [ ! -s "$out" ] || [ ! -s "$log" ]; then
		/usr/bin/time -f 'record-rss %M' -a -o "$log.time" \
			"$mp" record -e heap -o "$out" -- "${workload[@]}" 2>"$log" ||
			die "memprof record failed: $(tail -3 "$log")"
		cat "$log.time" >>"$log"
	fi
	rec_rss=$(awk '/^record-rss/ { printf "%.0f\n", $2 * 1024 / 1e6 }' "$log" | tail -1)
	rec_bpe=$(sed -n 's/.* \([0-9.]*\) bytes per event.*/\1/p' "$log" | tail -1)
	events=$(sed -n 's/^memprof: heap: \([0-9]*\) events written.*/\1/p' "$log" | tail -1)
	lost=$(sed -n 's/^memprof: heap: .*), \([0-9]*\) lost.*/\1/p' "$log" | tail -1)
}

rate()
{
	awk -v e="$1" -v s="$2" 'BEGIN { if (s + 0 > 0) printf "%.2f M", e / s / 1e6; else print "n/a" }'
}

# row LABEL SECS RSS EVENTS
row()
{
	printf '  %-34s %9s s  %11s ev/s  %7s MB\n' "$1" "$2" "$(rate "$4" "$2")" "$3"
}

# report_rows MEMPROF TRACE EVENTS LABEL
report_rows()
{
	local mp=$1 trace=$2 ev=$3 label=$4

	# The model alone: report reads the whole trace before it prints the header (into
	# the model its default view needs, whose heap sites keep no counts of their own).
	measure "$label-model" "$mp" report -i "$trace" --header-only
	row "$label model (--header-only)" "$secs" "$rss" "$ev"
	awk -v r="$rss" -v n="$STACKS" 'BEGIN { printf "  %-34s %9.0f bytes per distinct stack\n", \
		"  its peak RSS over the stacks", r * 1e6 / n }'
	measure "$label-folded" "$mp" report -i "$trace" --show=count --folded
	row "$label report --show=count --folded" "$secs" "$rss" "$ev"
	measure "$label-tree" "$mp" report -i "$trace"
	row "$label report (live tree)" "$secs" "$rss" "$ev"
	measure "$label-peak" "$mp" report -i "$trace" --show=peak
	row "$label report --show=peak" "$secs" "$rss" "$ev"
	measure "$label-csv" "$mp" script -i "$trace" --format=csv
	row "$label script --format=csv" "$secs" "$rss" "$ev"
	measure "$label-diff" "$mp" diff "$trace" "$trace"
	row "$label diff (the trace against itself)" "$secs" "$rss" "$ev"
}

echo "report-scale: $STACKS distinct stacks of depth $DEPTH through $K functions" \
	"(stacks_bench -k $K -d $DEPTH -n $STACKS), $RUNS runs each"

record_with "$MEMPROF" "$dir/memprof-$tag.data"
new_events=$events
echo
echo "recording: memprof record -e heap, $events heap events ($lost lost)"
printf '  %-34s %7s MB peak RSS, %s bytes per event\n' "memprof" "$rec_rss" "$rec_bpe"
if [ -n "$MEMPROF_OLD" ]; then
	record_with "$MEMPROF_OLD" "$dir/memprof-old-$tag.data"
	old_events=$events
	printf '  %-34s %7s MB peak RSS, %s bytes per event\n' "MEMPROF_OLD" "$rec_rss" \
		"$rec_bpe"
fi

echo
echo "reading (median seconds, events per second, peak RSS):"
report_rows "$MEMPROF" "$dir/memprof-$tag.data" "$new_events" memprof
if [ -n "$MEMPROF_OLD" ]; then
	report_rows "$MEMPROF_OLD" "$dir/memprof-old-$tag.data" "$old_events" old
	# The new build on the old build's trace: older formats still read.
	measure "new-on-old-folded" "$MEMPROF" report -i "$dir/memprof-old-$tag.data" \
		--show=count --folded
	row "memprof on the old trace, folded" "$secs" "$rss" "$old_events"
fi

if [ "$have_heaptrack" = 1 ]; then
	ht=$(ls "$dir"/heaptrack."$tag"*.zst 2>/dev/null | head -1)
	if [ -z "$ht" ]; then
		heaptrack -o "$dir/heaptrack.$tag" "${workload[@]}" >"$dir/heaptrack.log" 2>&1 ||
			die "heaptrack failed: $(tail -3 "$dir/heaptrack.log")"
		ht=$(ls "$dir"/heaptrack."$tag"*.zst 2>/dev/null | head -1)
		[ -n "$ht" ] || ht=$(ls "$dir"/heaptrack."$tag"* | head -1)
	fi
	# The same run's allocations and frees, as many as memprof's heap events.
	measure heaptrack_print heaptrack_print -f "$ht"
	row "heaptrack_print (its summary)" "$secs" "$rss" "$new_events"
	measure heaptrack_print_F heaptrack_print -f "$ht" --print-flamegraph "$dir/ht.folded" \
		--flamegraph-cost-type allocations
	row "heaptrack_print -F, allocations" "$secs" "$rss" "$new_events"
else
	echo "  heaptrack_print: n/a (heaptrack is not installed)"
fi
