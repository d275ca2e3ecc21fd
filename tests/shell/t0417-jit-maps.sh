#!/bin/bash
# A mapping whose rights change without its bounds changing, as a JIT compiler's
# memfd page made executable (tests/workloads/jit.c): record, which saw it writable when
# it attached, writes it again as executable when it next reads the maps, so that
# report keeps the frame in it and the stack goes on through it to main.  (A
# stack's first frame outside the process's executable mappings ends it.)
. "$(dirname "$0")/lib.sh"
need_bpf

mkfifo "$T/go"
"$WL/jit" <"$T/go" &
wl=$!
exec 3>"$T/go"		# the workload now waits for a byte
record_attach "$wl" -e heap -o "$T/j.data"
echo go >&3
exec 3>&-
wait "$wl" || fail "the workload failed"
wait "$REC" || fail "memprof record -p failed: $(cat "$T/record.log")"

report_ok -i "$T/j.data" --folded
line=$(grep ' 4242$' "$T/out") || fail "no stack holds jit's 4242 bytes: $(cat "$T/out")"
case $line in
*";main;run_jit;"*) ;;
*) fail "jit's allocation does not go through the page to main: '$line'" ;;
esac
exit 0
