#!/bin/bash
# memprof record -p PID --heap-probes=all on a process that forks children
# living a few milliseconds: with the probes on the C library for every
# process (kept to the targets by the BPF programs), each child's heap calls
# are recorded from its first instruction, with exact figures.  (Per-process
# probes, the default, are attached as each fork is seen, and this kernel
# serializes attaching them with fork() itself: such children are gone first.)
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

mkfifo "$T/go"
"$T/forker" <"$T/go" &
wl=$!
exec 3>"$T/go"

"$MEMPROF" record -e heap --heap-probes=all -p "$wl" -o "$T/f.data" >"$T/record.log" 2>&1 &
rec=$!
for i in $(seq 100); do
	[ "$(stat -c %s "$T/f.data" 2>/dev/null || echo 0)" -gt 64 ] && break
	kill -0 "$rec" 2>/dev/null || fail "record exited early: $(cat "$T/record.log")"
	sleep 0.1
done
echo go >&3
exec 3>&-
wait "$wl" || fail "the workload failed"
wait "$rec" || fail "memprof record -p failed: $(cat "$T/record.log")"
grep -q "warning" "$T/record.log" && fail "record warned: $(cat "$T/record.log")"

# 20 children, each malloc(1000 + i) in child_work: 20190 bytes, never freed.
report_ok -i "$T/f.data" --event heap --folded
assert_eq "the children's child_work" 20190 "$(leaf_bytes "$T/out" child_work)"
report_ok -i "$T/f.data" --event heap --show=count --folded
assert_eq "the children's allocations" 20 "$(leaf_bytes "$T/out" child_work)"
[ "$(grep -c '^forker;.*child_work ' "$T/out")" -ge 1 ] || fail "no child stacks: $(cat "$T/out")"

"$MEMPROF" record --heap-probes=some -p "$$" -o "$T/x.data" >/dev/null 2>"$T/err" &&
	fail "--heap-probes=some succeeded"
grep -q "^memprof: error: invalid --heap-probes 'some'; give target or all$" "$T/err" ||
	fail "message: $(cat "$T/err")"
exit 0
