#!/bin/bash
# Page events under a load that allocates and frees pages in interrupts
# (tests/workloads/irqload.c): an interrupt that comes in the middle of a
# page program and allocates or frees a page makes the kernel skip the
# program's nested run, and the program's twin makes it instead
# (bpf/pages.bpf.c), so the pages workload's recording loses no page event
# and its figures hold.  Before the twins these runs were counted lost, tens
# to hundreds a recording here.  The pages an interrupt allocates while a
# target runs are the kernel's, not the target's: left out, and counted.
. "$(dirname "$0")/lib.sh"
need_bpf

MiB=1048576
"$WL/irqload" 12 &
load=$!
trap 'kill $load 2>/dev/null; wait $load 2>/dev/null; rm -rf "$T"' EXIT
sleep 1
for i in 1 2; do
	record_ok -o "$T/p$i.data" -- "$WL/pages" linger
	grep -q "memprof: page: .* events written .*, 0 lost" "$T/record.log" ||
		fail "page events lost under interrupt load: $(cat "$T/record.log")"
	report_ok -i "$T/p$i.data" --folded
	assert_within_pct "touch_keep live, run $i" $((64 * MiB)) \
		"$(stack_bytes "$T/out" "main;touch_keep")" 1
	assert_eq "touch_free live, run $i" 0 "$(leaf_bytes "$T/out" touch_free)"
	report_ok -i "$T/p$i.data" --folded --show=alloc
	assert_within_pct "touch_free allocated, run $i" $((32 * MiB)) \
		"$(leaf_bytes "$T/out" touch_free)" 1
done
# The load itself as the target: the pages its loopback streams take in the softirqs
# that run on its own CPUs, in its context, are the kernel's (a dozen a second here),
# left out and counted (bpf/pages.bpf.c, on_task_stack).
record_ok -e page -o "$T/irq.data" -- "$WL/irqload" 4
irq=$(sed -n "s/^memprof: page: .*, 0 lost; \([0-9]*\) allocated in interrupts (the kernel's) left out$/\1/p" \
	"$T/record.log")
[ "${irq:-0}" -gt 0 ] || fail "no page allocated in interrupts left out: $(cat "$T/record.log")"
wait $load || fail "the load failed"
exit 0
