#!/bin/bash
# What a recording's heap probes cost a process that is not recorded: the
# malloc workload (bench/heap_bench.c) runs, not recorded, while memprof
# records another process with -e heap:
#   bare        nothing recording;
#   target      -p of a sleeping process, the default --heap-probes=target:
#               probes for that process alone;
#   all         the same with --heap-probes=all: probes on libc for every
#               process, the targets' events kept by the programs;
#   command     a launched command (`-- sleep`): probes on libc for every
#               process, as with all.
# The figures are the workload's own ns per
# call (a malloc or a free), the median of RUNS runs (default 5), interleaved
# so that a change in the machine's load touches every row alike.  Needs root.
#
# usage: sudo bench/others.sh     (RUNS=9 for more runs; MEMPROF=path for another build)

set -u
cd "$(dirname "$0")/.." || exit 1
MEMPROF=${MEMPROF:-$PWD/memprof}
RUNS=${RUNS:-5}

bench_name=others
. bench/lib.sh

[ "$(id -u)" -eq 0 ] || die "memprof needs root; run 'sudo $0'"
[ -x "$MEMPROF" ] || die "$MEMPROF is not built; run 'make'"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/memprof-others.XXXXXX") || exit 1
rec=
sleeper=
cleanup()
{
	[ -n "$rec" ] && kill -INT "$rec" 2>/dev/null && wait "$rec" 2>/dev/null
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -g -fno-omit-frame-pointer -o "$tmp/heap_bench" bench/heap_bench.c ||
	die "cannot build heap_bench"

# start_recording NAME OPTION...: memprof record -e heap OPTIONs in the
# background, returned once its probes are in place (the trace has begun).
start_recording()
{
	local name=$1 i
	shift
	rm -f "$tmp/$name.data" "$tmp/$name.data.old"
	"$MEMPROF" record -e heap -o "$tmp/$name.data" "$@" >"$tmp/$name.rec.log" 2>&1 &
	rec=$!
	for i in $(seq 300); do
		[ "$(stat -c %s "$tmp/$name.data" 2>/dev/null || echo 0)" -gt 64 ] && return 0
		kill -0 "$rec" 2>/dev/null || die "record exited: $(cat "$tmp/$name.rec.log")"
		sleep 0.1
	done
	die "record did not start: $(cat "$tmp/$name.rec.log")"
}

stop_recording()
{
	kill -INT "$rec" 2>/dev/null
	wait "$rec" 2>/dev/null
	rec=
}

# run NAME: one run of the unrecorded workload, its ns per call appended to $tmp/NAME.
run()
{
	"$tmp/heap_bench" 2>&1 >/dev/null | sed -n 's/.* ns_per_call=\([0-9.]*\).*/\1/p' >>"$tmp/$1"
}

# median_file FILE: the median of the numbers in FILE, two decimals, n/a if none.
median_file()
{
	sort -g "$1" | awk '{ a[++n] = $1 } END {
		if (!n) print "n/a"; else if (n % 2) print a[(n + 1) / 2];
		else printf "%.2f\n", (a[n / 2] + a[n / 2 + 1]) / 2 }'
}

sleep 100000 &
sleeper=$!
echo "others: $(uname -r), $(nproc) CPUs, $RUNS runs each..." >&2
for ((i = 1; i <= RUNS; i++)); do
	run bare
	start_recording target -p "$sleeper"
	run target
	stop_recording
	start_recording all --heap-probes=all -p "$sleeper"
	run all
	stop_recording
	start_recording command -- sleep 100000
	run command
	stop_recording
done

b=$(median_file "$tmp/bare")
printf '%-10s %12s %10s\n' "recording" "ns per call" "added"
for n in bare target all command; do
	m=$(median_file "$tmp/$n")
	printf '%-10s %12s %10s\n' "$n" "$m" \
		"$(awk -v m="$m" -v b="$b" 'BEGIN { if (m + 0 == m && b + 0 == b) printf "%+.2f", m - b; else print "n/a" }')"
done
