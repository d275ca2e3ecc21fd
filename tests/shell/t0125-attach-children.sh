#!/bin/bash
# memprof record -p PID --heap-probes=all on a process that forks children
# living a few milliseconds: with the probes on the C library for every
# process (kept to the targets by the BPF programs), each child's heap calls
# are recorded from its first instruction, with exact figures.  (Per-process
# probes, the default, are attached as each fork is seen, and this kernel
# serializes attaching them with fork() itself: such children are gone first,
# and are counted so.)
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc

cat >"$T/forker.c" <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

void *volatile keep;

__attribute__((noinline)) void child_work(int i)
{
	keep = malloc(1000 + i);
}

int main(void)
{
	/* Recording has begun once a byte arrives on stdin. */
	if (getchar() == EOF)
		return 2;
	for (int i = 0; i < 20; i++) {
		pid_t p = fork();

		if (!p) {
			child_work(i);
			usleep(2000);
			_exit(0);
		}
		waitpid(p, NULL, 0);
	}
	return 0;
}
EOF2
gcc -O1 -g -fno-omit-frame-pointer -o "$T/forker" "$T/forker.c" || fail "cannot build the workload"

# record_forker DATA OPTION...: records the forker with -p and OPTIONs into DATA
# from before its first fork to its exit; the log in $T/record.log.
record_forker()
{
	local data=$1 wl rec
	shift
	rm -f "$T/go"
	mkfifo "$T/go"
	"$T/forker" <"$T/go" &
	wl=$!
	exec 3>"$T/go"
	"$MEMPROF" record -e heap "$@" -p "$wl" -o "$data" >"$T/record.log" 2>&1 &
	rec=$!
	wait_recording "$data" "$rec"
	echo go >&3
	exec 3>&-
	wait "$wl" || fail "the workload failed"
	wait "$rec" || fail "memprof record -p failed: $(cat "$T/record.log")"
	forker=$wl
}

record_forker "$T/f.data" --heap-probes=all
grep -q "warning" "$T/record.log" && fail "record warned: $(cat "$T/record.log")"
grep -q "^memprof: heap: the heap of" "$T/record.log" && fail "record missed children: $(cat "$T/record.log")"

# 20 children, each malloc(1000 + i) in child_work: 20190 bytes, never freed.
report_ok -i "$T/f.data" --event heap --folded
assert_eq "the children's child_work" 20190 "$(leaf_bytes "$T/out" child_work)"
report_ok -i "$T/f.data" --event heap --show=count --folded
assert_eq "the children's allocations" 20 "$(leaf_bytes "$T/out" child_work)"
[ "$(grep -c '^forker;.*child_work ' "$T/out")" -ge 1 ] || fail "no child stacks: $(cat "$T/out")"

# The default, probes per process: each of the 20 children is counted, as not
# recorded or as recorded from some time after its fork, in record's summary and
# in report's warning alike, with the remedy; and not one warning per child.
record_forker "$T/t.data"
line=$(grep '^memprof: heap: the heap of ' "$T/record.log") ||
	fail "record did not count the children: $(cat "$T/record.log")"
missed=$(echo "$line" | sed -n 's/.*the heap of \([0-9]*\) children was not recorded.*/\1/p')
late=$(echo "$line" | sed -n 's/.* of \([0-9]*\) only from up to [0-9]* ms after their fork.*/\1/p')
assert_eq "children missed or late" 20 "$((missed + late))"
echo "$line" | grep -q "(children of PID $forker: $missed and $late); record with --heap-probes=all to have them from their first instruction$" ||
	fail "record's line: $line"
[ "$(grep -c 'warning' "$T/record.log")" -eq 0 ] || fail "record warned: $(cat "$T/record.log")"
report_ok -i "$T/t.data" --event heap --folded
grep -qxF "memprof: warning: ${line#memprof: heap: }" "$T/report.err" ||
	fail "report's warning differs from record's '$line': $(cat "$T/report.err")"

"$MEMPROF" record --heap-probes=some -p "$$" -o "$T/x.data" >/dev/null 2>"$T/err" &&
	fail "--heap-probes=some succeeded"
grep -q "^memprof: error: invalid --heap-probes 'some'; give target or all$" "$T/err" ||
	fail "message: $(cat "$T/err")"
exit 0
