#!/bin/bash
# Stacks that no walk can complete are counted by cause, cut where the walk
# stopped, and never guessed on: tests/workloads/causes/causes.c allocates
# 201 frames deep (past the 127 a walk takes) and from code without call frame
# information whose rbp is not a frame pointer.  record's summary and the
# trace count one of each; report warns of them and puts each under an
# [incomplete] frame, the first after exactly 127 frames.
. "$(dirname "$0")/lib.sh"
need_bpf
bin=$WL/causes/causes
[ -x "$bin" ] || fail "$bin is not built"

record_ok -e heap -o "$T/c.data" -- "$bin"
grep -qx "memprof: stacks: 2 taken, 2 incomplete (1 in code without call frame information, 1 at the depth limit, 0 with unreadable stack memory, 0 other)" \
	"$T/record.log" || fail "record's summary: $(grep stacks "$T/record.log")"
report_ok -i "$T/c.data" --show=alloc --folded
grep -qx "memprof: warning: 2 of 2 stacks incomplete (100.0%: 1 in code without call frame information, 1 at the depth limit, 0 with unreadable stack memory, 0 other); their callers are shown as \[incomplete\]; see -g in memprof-record(1)" \
	"$T/report.err" || fail "report's warning: $(cat "$T/report.err")"
deep=$(printf ';deep%.0s' $(seq 127))
grep -qx "causes;\[incomplete\]$deep 40000" "$T/out" ||
	fail "the deep stack: $(awk '/40000$/ { print NF ": " substr($0, 1, 80) }' FS=';' "$T/out")"
grep -qx "causes;\[incomplete\];nocfi_alloc 40001" "$T/out" ||
	fail "the stack through code without CFI: $(grep 40001 "$T/out")"
exit 0
