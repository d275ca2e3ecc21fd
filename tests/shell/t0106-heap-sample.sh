#!/bin/bash
# memprof record --heap-sample: the estimated bytes per site of the sample
# workload (tests/workloads/sample.c) are within the error memprof-record(1)
# states (5 standard errors, SAMPLING), sampled in the command by the preload
# library and in the kernel with -p; a site that freed all it allocated shows
# 0 live exactly; report marks the figures as estimates.
. "$(dirname "$0")/lib.sh"
need_bpf

I=4096
# within NAME EXPECTED_BYTES N SIZE ACTUAL: |actual - expected| <= 5 SE of n allocations of size
within()
{
	awk -v e="$2" -v n="$3" -v s="$4" -v a="$5" -v i="$I" 'BEGIN {
		p = 1 - exp(-s / i); se = s * sqrt(n * (1 - p) / p)
		d = a - e; if (d < 0) d = -d
		exit !(a ~ /^[0-9]+$/ && d <= 5 * se)
	}' || fail "$1: expected $2 within 5 standard errors, got '$5'"
}

# check NAME: the figures of $T/NAME.data
check()
{
	local n=$1

	grep -q "memprof: heap: .* events written .*, 0 lost" "$T/record.log" ||
		fail "$n: record summary: $(cat "$T/record.log")"
	report_ok -i "$T/$n.data" --folded
	cp "$T/out" "$T/$n.live"
	report_ok -i "$T/$n.data" --folded --show=alloc
	cp "$T/out" "$T/$n.alloc"
	within "$n: small_live live" 6400000 200000 32 "$(stack_bytes "$T/$n.live" "main;small_live")"
	within "$n: medium_live live" 20000000 20000 1000 \
		"$(stack_bytes "$T/$n.live" "main;medium_live")"
	within "$n: freed alloc" 6400000 100000 64 "$(stack_bytes "$T/$n.alloc" "main;freed")"
	assert_eq "$n: freed live" 0 "$(stack_bytes "$T/$n.live" "main;freed")"
	# sampled: far fewer events than the 320,000 calls and 100,000 frees
	events=$(sed -n 's/^memprof: heap: \([0-9,]*\) events.*/\1/p' "$T/record.log" | tr -d ,)
	[ -n "$events" ] && [ "$events" -lt 40000 ] || fail "$n: $events heap events for a sample"
	report_ok -i "$T/$n.data" --threshold 0
	grep -q "^# estimates: the heap was sampled, one allocation every 4,096 bytes on average" \
		"$T/out" || fail "$n: report does not mark the estimates: $(head -n 5 "$T/out")"
	report_ok -i "$T/$n.data" --header-only
	grep -q "^# heap sampled : one every 4,096 bytes on average, in the $2" "$T/out" ||
		fail "$n: header: $(cat "$T/out")"
}

# launched: the preload library samples in the command
record_v_ok -e heap --heap-sample=$I -o "$T/launched.data" -- "$WL/sample"
grep -q "heap sampled in the command by '.*libmemprof-sample.so'" "$T/record.log" ||
	fail "launched: not sampled by the preload library: $(cat "$T/record.log")"
! grep -q "no libmemprof-sample.so" "$T/record.log" ||
	fail "launched: a warning with the library in place: $(cat "$T/record.log")"
check launched process

# -p: in the kernel, in uprobe sessions and (kernels 6.6-6.12) without
mkfifo "$T/go"
for no in "" session; do
	"$WL/sample" wait <"$T/go" &
	wl=$!
	exec 3>"$T/go"
	MEMPROF_NO_UPROBE_MULTI=$no record_attach "$wl" -e heap --heap-sample=$I \
		-o "$T/attached$no.data"
	echo go >&3
	exec 3>&-
	wait "$wl" || fail "the workload failed"
	wait "$REC" || fail "memprof record -p failed: $(cat "$T/record.log")"
	check "attached$no" kernel
done

# a memprof without its preload library beside it says so, and samples in the kernel
cp "$MEMPROF" "$T/memprof-alone"
"$T/memprof-alone" record -e heap --heap-sample=4096 -o "$T/alone.data" -- "$WL/heap" \
	>"$T/alone.log" 2>&1 || fail "record without the preload library failed: $(cat "$T/alone.log")"
grep -q "^memprof: warning: --heap-sample: no libmemprof-sample.so beside memprof" "$T/alone.log" ||
	fail "no warning for the missing preload library: $(cat "$T/alone.log")"

# bad values: one line
for v in 0 -1 abc 2G; do
	"$MEMPROF" record -e heap --heap-sample=$v -- true >"$T/err" 2>&1 &&
		fail "--heap-sample=$v accepted"
	assert_eq "--heap-sample=$v error lines" 1 "$(wc -l <"$T/err")"
	grep -q "^memprof: error: invalid --heap-sample '$v'" "$T/err" ||
		fail "--heap-sample=$v: $(cat "$T/err")"
done

exit 0
