#!/bin/bash
# A process that exits while record reads its maps (tests/workloads/exitmaps.c: an
# executable mapping listed after 20,000 others, made 2 ms before the exit): the
# maps file then ends early, before that mapping, yet reads as a whole one.  record
# writes the mapping as the kernel side saw it, so that the stack of the
# allocation made from it goes on through it to _start.  (A stack's first frame
# outside the process's executable mappings ends it.)  Five recordings, as the
# read does not always overlap the exit: before the fix, four in five lost it here.
. "$(dirname "$0")/lib.sh"
need_bpf

for i in 1 2 3 4 5; do
	record_ok -e heap -o "$T/e$i.data" -- "$WL/exitmaps"
	report_ok -i "$T/e$i.data" --folded
	line=$(grep ' 5151$' "$T/out") || fail "run $i: no stack holds exitmaps' 5151 bytes: $(cat "$T/out")"
	[ "$line" = "exitmaps;_start;__libc_start_main;__libc_start_call_main;main;alias 5151" ] ||
		fail "run $i: the allocation from the copied page does not go through it to _start: '$line'"
done
exit 0
