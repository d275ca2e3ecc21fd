#!/bin/bash
# Record here, report anywhere: `memprof archive` packs a trace and the files
# it names into one file; after the workload is rebuilt (a new build-id at
# the recorded path) and then deleted, that archive, reported from another
# directory with an empty HOME and build-id cache, still gives every name and
# the exact figures.  The archive is the trace followed by the files: its
# start is the trace byte for byte.  A damaged table of contents costs the
# files, not the trace; an archive of an archive holds the same files; and
# `memprof buildid-cache -i` unpacks an archive into the cache.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc cmp

unset DEBUGINFOD_URLS XDG_CACHE_HOME
export MEMPROF_BUILDID_DIR=$T/record-cache

mkdir "$T/bin" "$T/elsewhere" "$T/home"
cp "$WL/heap" "$T/bin/heap"
record_ok -e heap -o "$T/h.data" -- "$T/bin/heap"

"$MEMPROF" archive -i "$T/h.data" -o "$T/h.archive" >"$T/archive.out" 2>"$T/archive.err" ||
	fail "memprof archive failed: $(cat "$T/archive.err")"
[ ! -s "$T/archive.err" ] || fail "memprof archive warned: $(cat "$T/archive.err")"
grep -q "^'$T/h.archive': the trace and [3-9] files" "$T/archive.out" ||
	fail "archive summary: $(cat "$T/archive.out")"
cmp -s -n "$(stat -c %s "$T/h.data")" "$T/h.data" "$T/h.archive" ||
	fail "the archive does not start with the trace"
# the default name is the trace's with .archive
(cd "$T" && "$MEMPROF" archive -i h.data >/dev/null 2>&1) && [ -s "$T/h.data.archive" ] ||
	fail "archive without -o did not write h.data.archive"
"$MEMPROF" archive -i "$T/h.data" -o "$T/h.data" >/dev/null 2>"$T/err" &&
	fail "archive over its own trace succeeded"
grep -q "^memprof: error: .* is the trace itself" "$T/err" || fail "message: $(cat "$T/err")"

# Rebuild the workload: other code, so another build-id, at the recorded path.
sed 's/^int main(void)$/int rebuilt_marker = 1;\n&/' "$ROOT/tests/workloads/heap.c" >"$T/heap2.c"
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -pthread -o "$T/bin/heap" "$T/heap2.c" ||
	fail "cannot rebuild the workload"

# report_elsewhere ARGS...: report from another directory, nothing cached, no servers.
report_elsewhere()
{
	(cd "$T/elsewhere" && env -u MEMPROF_BUILDID_DIR HOME="$T/home" \
		"$MEMPROF" report "$@") >"$T/out" 2>"$T/report.err" ||
		fail "memprof report $* failed: $(cat "$T/report.err")"
}

# check_full WHAT: the folded stacks in $T/out have the workload's names and figures.
check_full()
{
	assert_eq "$1: leak_malloc" 409600 "$(stack_bytes "$T/out" "main;leak_malloc")"
	assert_eq "$1: leak_calloc" 1000000 "$(stack_bytes "$T/out" "main;leak_calloc")"
	assert_eq "$1: thread_leak" 204800 "$(stack_bytes "$T/out" "thread_main;thread_leak")"
	assert_eq "$1: child_leak" 614400 "$(stack_bytes "$T/out" "main;child_leak")"
	# libc's frames are named too: its file and its debug info came in the archive
	grep -q "__libc_start_call_main;main;leak_malloc " "$T/out" ||
		fail "$1: libc frames: $(head -n 3 "$T/out")"
	grep -q "\[unknown\]" "$T/out" && fail "$1: unknown frames: $(grep unknown "$T/out")"
	[ ! -s "$T/report.err" ] || fail "$1: warnings: $(cat "$T/report.err")"
}

report_elsewhere -i ../h.archive --folded
check_full "archive, workload rebuilt"
# the trace alone cannot use the rebuilt file
report_elsewhere -i ../h.data --folded
grep -q "heap+0x" "$T/out" || fail "the rebuilt workload was used: $(head -n 3 "$T/out")"

rm "$T/bin/heap"
report_elsewhere -i ../h.archive --folded
check_full "archive, workload deleted"
report_elsewhere -i ../h.archive --threshold 0
grep -q '^ *[0-9.]*% *400\.00 KiB  *400\.00 KiB  *leak_malloc$' "$T/out" ||
	fail "tree from the archive: $(grep leak_malloc "$T/out")"

# every file the stacks need is in the archive, and buildid-list says so
(cd "$T/elsewhere" && env -u MEMPROF_BUILDID_DIR HOME="$T/home" \
	"$MEMPROF" buildid-list -i ../h.archive) >"$T/list" 2>"$T/err" ||
	fail "buildid-list failed: $(cat "$T/err")"
grep -q " archive  *self  *$T/bin/heap$" "$T/list" || fail "buildid-list: $(cat "$T/list")"
grep -q " archive  *archive  *.*/libc\.so\.6$" "$T/list" || fail "buildid-list: $(cat "$T/list")"
awk '$2 != "archive" { exit 1 }' "$T/list" || fail "buildid-list: $(cat "$T/list")"

# an archive of the archive, made where none of the files exist
(cd "$T/elsewhere" && env -u MEMPROF_BUILDID_DIR HOME="$T/home" \
	"$MEMPROF" archive -i ../h.archive -o again.archive) >/dev/null 2>"$T/err" ||
	fail "archive of an archive failed: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "archive of an archive warned: $(cat "$T/err")"
report_elsewhere -i again.archive --folded
check_full "archive of an archive"

# buildid-cache -i unpacks an archive into the cache: the trace alone then has every name
"$MEMPROF" buildid-cache --buildid-dir="$T/unpacked" -i "$T/h.archive" >"$T/cache.out" 2>"$T/err" ||
	fail "buildid-cache -i failed: $(cat "$T/err")"
grep -q " added $T/bin/heap (from the archive)$" "$T/cache.out" ||
	fail "buildid-cache -i: $(cat "$T/cache.out")"
report_elsewhere -i ../h.data --folded --buildid-dir="$T/unpacked"
check_full "trace with the unpacked cache"

# a damaged table of contents: a warning, then the trace without the files
cp "$T/h.archive" "$T/bad.archive"
size=$(stat -c %s "$T/bad.archive")
printf '\377' | dd of="$T/bad.archive" bs=1 seek=$((size - 60)) conv=notrunc status=none
(cd "$T/elsewhere" && env -u MEMPROF_BUILDID_DIR HOME="$T/home" \
	"$MEMPROF" report -i ../bad.archive --folded) >"$T/out" 2>"$T/report.err" ||
	fail "report of a damaged archive failed: $(cat "$T/report.err")"
grep -q "^memprof: warning: .*bad.archive' is a memprof archive with a damaged table of contents" \
	"$T/report.err" || fail "damaged archive: $(cat "$T/report.err")"
total=$(awk '{ s += $NF } END { print s + 0 }' "$T/out")
[ "$total" -ge 2727624 ] || fail "damaged archive: the trace was not read whole ($total bytes)"
exit 0
