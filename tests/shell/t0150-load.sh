#!/bin/bash
# Under load: 16 threads allocating at once, and a process forking and
# exec'ing short-lived children in a loop, are recorded completely: every
# thread's and every child process's figures are exact, nothing is lost.
. "$(dirname "$0")/lib.sh"
need_bpf

# --- 16 threads (tests/workloads/threads.c) ---
record_ok -e page,heap -o "$T/t.data" -- "$WL/threads"
grep -q "memprof: page: .*, 0 lost" "$T/record.log" || fail "page events lost: $(cat "$T/record.log")"
grep -q "memprof: heap: .*, 0 lost" "$T/record.log" || fail "heap events lost: $(cat "$T/record.log")"
report_ok -i "$T/t.data" --event heap --folded
cp "$T/out" "$T/heap.live"
report_ok -i "$T/t.data" --event heap --folded --show=alloc
cp "$T/out" "$T/heap.alloc"
report_ok -i "$T/t.data" --event page --folded
cp "$T/out" "$T/page.live"
sum=0
for k in $(seq 0 15); do
	kept=$((2000 * (64 + k)))
	assert_eq "thread_$k heap live" $kept \
		"$(stack_bytes "$T/heap.live" "thread_$k;work;keep_blocks")"
	assert_eq "thread_$k temporary heap live" 0 \
		"$(stack_bytes "$T/heap.live" "thread_$k;work;temp_blocks")"
	assert_eq "thread_$k heap allocated" $((3000 * 256)) \
		"$(stack_bytes "$T/heap.alloc" "thread_$k;work;temp_blocks")"
	assert_eq "thread_$k pages live" $((4 << 20)) \
		"$(stack_bytes "$T/page.live" "thread_$k;work;touch_pages")"
	sum=$((sum + kept))
done
assert_eq "all threads' heap live" $sum "$(leaf_bytes "$T/heap.live" keep_blocks)"

# --- 40 children forked and exec'd in a loop (tests/workloads/forkexec.c) ---
record_ok -e page,heap -o "$T/f.data" -- "$WL/forkexec" 40
grep -q "memprof: page: .*, 0 lost" "$T/record.log" || fail "page events lost: $(cat "$T/record.log")"
grep -q "memprof: heap: .*, 0 lost" "$T/record.log" || fail "heap events lost: $(cat "$T/record.log")"
# Child i keeps (i + 1) x 1000 bytes and (i + 1) pages: each child its own figures,
# in bytes from folded stacks that keep each process apart (--sort=process).
for what in "heap child_alloc 1000" "page child_touch 4096"; do
	set -- $what
	report_ok -i "$T/f.data" --event "$1" --folded --sort=process
	awk -v fn="$2" -v unit="$3" '
		{
			v = $NF; sub(/ [0-9]+$/, "")
			n = split($0, fr, ";")
			# the function own pages: not its [kernel] child (page tables)
			if (fr[1] ~ /^forkexec \[[0-9]+\]$/ && fr[n] == fn) got[fr[1]] += v
		}
		END {
			for (i = 1; i <= 40; i++) want[i * unit] = 1
			for (p in got) {
				if (!(got[p] in want)) { print p " has " got[p] " bytes"; exit 1 }
				delete want[got[p]]; kids++
			}
			if (kids != 40) { print kids " children with " fn ", not 40"; exit 1 }
		}' "$T/out" >"$T/why" || fail "$1 per child: $(cat "$T/why")"
done
report_ok -i "$T/f.data" --event heap --folded
assert_eq "all children's child_alloc" 820000 "$(leaf_bytes "$T/out" child_alloc)"

# record's own memory stays bounded (the man page says how): its peak resident
# size while it records 400 short-lived processes with all their events.
"$MEMPROF" record -e page,heap -o "$T/m.data" -- "$WL/forkexec" 400 >"$T/record.log" 2>&1 &
rec=$!
peak=0
while kill -0 $rec 2>/dev/null; do
	hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$rec/status 2>/dev/null)
	[ -n "$hwm" ] && [ "$hwm" -gt "$peak" ] && peak=$hwm
	sleep 0.05
done
wait $rec || fail "record of 400 processes failed: $(cat "$T/record.log")"
[ "$peak" -gt 0 ] && [ "$peak" -lt $((160 * 1024)) ] ||
	fail "record's peak resident size: $peak KiB, over the 160 MiB bound"
report_ok -i "$T/f.data" --event page --folded
assert_eq "all children's child_touch" $((820 * 4096)) "$(leaf_bytes "$T/out" child_touch)"
exit 0
