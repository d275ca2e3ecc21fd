#!/bin/bash
# report --format=pprof on the heap workload, read back by `go tool pprof`:
# the totals and per-function figures are report's, for each of the four
# sample types, and the mappings carry the files' paths and build-ids.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v go >/dev/null 2>&1 ||
	skip "'go' is not installed (Debian: golang-go; scripts/install-deps --test)"
export GOCACHE=$T/gocache GOFLAGS= PPROF_TMPDIR=$T

record_ok -e heap -o "$T/h.data" -- "$WL/heap"
report_ok -i "$T/h.data" --threshold=0
live_total=$(sed -n 's/^# event: heap, total \([0-9,]*\) bytes.*/\1/p' "$T/out" | tr -d ,)
report_ok -i "$T/h.data" --threshold=0 --show=alloc
alloc_total=$(sed -n 's/^# event: heap, total \([0-9,]*\) bytes.*/\1/p' "$T/out" | tr -d ,)

report_ok -i "$T/h.data" --format=pprof
cp "$T/out" "$T/h.pb.gz"
gzip -t "$T/h.pb.gz" || fail "the profile is not gzipped"

# pprof ARGS...: go tool pprof -top on the profile, into $T/top
pprof()
{
	go tool pprof -top "$@" "$T/h.pb.gz" >"$T/top" 2>"$T/pprof.err" ||
		fail "go tool pprof -top $* failed: $(cat "$T/pprof.err")"
}
# flat FUNCTION: its flat column in $T/top
flat()
{
	awk -v f="$1" '$NF == f { print $1 }' "$T/top"
}

pprof -unit=B
grep -q "^Type: inuse_space$" "$T/top" || fail "default sample type: $(head -5 "$T/top")"
grep -q " of ${live_total}B total$" "$T/top" ||
	fail "pprof's live total is not report's $live_total: $(grep total "$T/top")"
assert_eq "leak_malloc inuse_space" 409600B "$(flat leak_malloc)"
assert_eq "leak_calloc inuse_space" 1000000B "$(flat leak_calloc)"
assert_eq "thread_leak inuse_space" 204800B "$(flat thread_leak)"
assert_eq "child_leak inuse_space" 614400B "$(flat child_leak)"

pprof -sample_index=inuse_objects
assert_eq "leak_malloc inuse_objects" 100 "$(flat leak_malloc)"
pprof -unit=B -sample_index=alloc_space
grep -q " of ${alloc_total}B total$" "$T/top" ||
	fail "pprof's alloc total is not report's $alloc_total: $(grep total "$T/top")"
assert_eq "freed_malloc alloc_space" 409600B "$(flat freed_malloc)"
assert_eq "leak_realloc alloc_space" 306000B "$(flat leak_realloc)"
pprof -sample_index=alloc_objects
assert_eq "freed_malloc alloc_objects" 50 "$(flat freed_malloc)"

# pprof's default units: 409600 bytes are its 400kB
pprof -unit=kB
assert_eq "leak_malloc in kB" 400kB "$(flat leak_malloc)"

# the callers are there: main's cumulative bytes cover leak_malloc's
pprof -unit=B -focus='^leak_malloc$'
grep -q " main$" "$T/top" || fail "main is not a caller of leak_malloc: $(cat "$T/top")"

# --show=alloc makes alloc_space the default
report_ok -i "$T/h.data" --format=pprof --show=alloc
cp "$T/out" "$T/h.pb.gz"
pprof
grep -q "^Type: alloc_space$" "$T/top" || fail "--show=alloc: $(head -5 "$T/top")"

# Each view picks its sample type: count the allocations, temporary its own.
report_ok -i "$T/h.data" --format=pprof --show=count
cp "$T/out" "$T/h.pb.gz"
pprof
grep -q "^Type: alloc_objects$" "$T/top" || fail "--show=count: $(head -5 "$T/top")"
assert_eq "leak_calloc allocations" 1000 "$(flat leak_calloc)"
report_ok -i "$T/h.data" --format=pprof --show=temporary
cp "$T/out" "$T/h.pb.gz"
pprof -unit=B
grep -q "^Type: temporary_space$" "$T/top" || fail "--show=temporary: $(head -5 "$T/top")"
report_ok -i "$T/h.data" --show=temporary --threshold=0
tmp_total=$(sed -n 's/^# event: heap, total \([0-9,]*\) bytes.*/\1/p' "$T/out" | tr -d ,)
grep -q " of ${tmp_total}B total$" "$T/top" ||
	fail "pprof's temporary total is not report's $tmp_total: $(grep total "$T/top")"
report_ok -i "$T/h.data" --format=pprof --show=leaks
cp "$T/out" "$T/h.pb.gz"
pprof -unit=B
grep -q "^Type: inuse_space$" "$T/top" || fail "--show=leaks: $(head -5 "$T/top")"
assert_eq "leak_malloc leaked" 409600B "$(flat leak_malloc)"

# the mappings: the workload's path and its build-id
go tool pprof -raw "$T/h.pb.gz" >"$T/raw" 2>"$T/pprof.err" || fail "pprof -raw: $(cat "$T/pprof.err")"
heap=$(readlink -f "$WL/heap")
grep -Eq "^[0-9]+: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ $heap [0-9a-f]{40} \[FN\]$" "$T/raw" ||
	fail "no mapping of $WL/heap with its build-id: $(sed -n '/^Mappings/,$p' "$T/raw")"
grep -q "process:\[heap \[[0-9]*\]\]" "$T/raw" || fail "no process label: $(head -20 "$T/raw")"
# pprof takes the first mapping for the main binary: the workload's, even for pages, whose
# first stacks are the dynamic loader's
record_ok -e page -o "$T/p.data" -- "$WL/heap"
"$MEMPROF" report -i "$T/p.data" --format=pprof >"$T/p.pb.gz" 2>"$T/report.err" ||
	fail "report --format=pprof of pages: $(cat "$T/report.err")"
go tool pprof -raw "$T/p.pb.gz" >"$T/raw" 2>"$T/pprof.err" || fail "pprof -raw: $(cat "$T/pprof.err")"
sed -n '/^Mappings/{n;p;q}' "$T/raw" | grep -q " $heap " ||
	fail "the first mapping is not the workload's: $(sed -n '/^Mappings/,$p' "$T/raw")"
# inlined functions: pprof marks them itself, memprof's '(inlined)' is not in their names
sed -n '/^Locations/,/^Mappings/p' "$T/raw" | grep -q '(inlined)' &&
	fail "a function named '(inlined)': $(grep -m3 '(inlined)' "$T/raw")"
exit 0
