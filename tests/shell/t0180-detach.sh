#!/bin/bash
# record leaves nothing behind: no BPF program, link or uprobe of its own once
# it is done, whether it ended normally, on an error, on SIGINT, or was killed.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd bpftool

progs="process_fork|process_exec|process_exit|sys_exit|sys_exit_mmap|sys_enter|task_rename|cache_add|cache_del|rss_stat|page_alloc|page_free|page_to_cache|heap_entry|heap_free|heap_return|heap_session|sample_alloc|sample_free"

# leftovers WHAT: fails if a program of memprof's, or a uprobe, is still there.  The
# kernel frees a program after an RCU grace period once its last file is closed, so a
# killed recorder's programs go a moment after it: up to 10 s are allowed for that.
leftovers()
{
	local n i

	for i in $(seq 50); do
		n=$(bpftool prog show 2>/dev/null | grep -Ec "name ($progs) ")
		[ "$n" -eq 0 ] && break
		sleep 0.2
	done
	[ "$n" -eq 0 ] || fail "$1: $n BPF programs left: $(bpftool prog show | grep -E "name ($progs) ")"
	n=$(bpftool perf list 2>/dev/null | grep -c uprobe)
	[ "$n" -eq 0 ] || fail "$1: uprobes left: $(bpftool perf list | grep uprobe)"
	if [ -r /sys/kernel/tracing/uprobe_events ]; then
		[ ! -s /sys/kernel/tracing/uprobe_events ] ||
			fail "$1: uprobe events left: $(cat /sys/kernel/tracing/uprobe_events)"
	fi
	return 0
}

# A recorder that the test before this one ended is freed a moment after it
# (see leftovers): only one still there after 10 s is another recording.
for i in $(seq 50); do
	n=$(bpftool prog show 2>/dev/null | grep -Ec "name ($progs) ")
	[ "$n" -eq 0 ] && break
	sleep 0.2
done
[ "$n" -eq 0 ] || skip "another memprof is recording on this machine"

record_ok -e page,heap -o "$T/a.data" -- "$WL/heap"
leftovers "a normal recording"

"$MEMPROF" record -e page,heap -o "$T/b.data" -- /nonexistent/cmd 2>/dev/null &&
	fail "record of a missing command succeeded"
leftovers "a command that cannot run"

for sig in INT KILL; do
	"$MEMPROF" record -e page,heap -o "$T/c.data" -- sleep 30 >/dev/null 2>&1 &
	rec=$!
	for i in $(seq 100); do
		[ "$(bpftool prog show 2>/dev/null | grep -Ec "name (malloc_enter|free_enter) ")" -ge 2 ] &&
			break
		sleep 0.1
	done
	child=$(pgrep -P $rec)
	kill -$sig $rec
	wait $rec 2>/dev/null
	[ -n "$child" ] && kill $child 2>/dev/null
	leftovers "record stopped by SIG$sig"
done

sleep 30 &
target=$!
"$MEMPROF" record -e page,heap -p $target -d 1 -o "$T/d.data" >/dev/null 2>&1 ||
	fail "record -p -d 1 failed"
kill $target
leftovers "record -p"
exit 0
