#!/bin/bash
# Files are used only when their build-id is the recorded one: a workload
# rebuilt at its recorded path is refused with one warning that names the
# file, both build-ids and where report looked, and its frames show
# FILE+OFFSET; buildid-list says "mismatch".  The original is then found
# under --symfs, and in the build-id cache once `memprof buildid-cache -a`
# has added it, and buildid-list says where.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc readelf

unset DEBUGINFOD_URLS XDG_CACHE_HOME
export MEMPROF_BUILDID_DIR=$T/cache

build_id()
{
	readelf -n "$1" | awk '/Build ID:/ { print $3 }'
}

mkdir -p "$T/bin" "$T/keep"
cp "$WL/heap" "$T/bin/heap"
cp "$WL/heap" "$T/keep/heap"
old=$(build_id "$T/bin/heap")
record_ok -e heap -o "$T/h.data" -- "$T/bin/heap"

sed 's/^int main(void)$/int rebuilt_marker = 1;\n&/' "$ROOT/tests/workloads/heap.c" >"$T/heap2.c"
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -pthread -o "$T/bin/heap" "$T/heap2.c" ||
	fail "cannot rebuild the workload"
new=$(build_id "$T/bin/heap")
[ -n "$old" ] && [ -n "$new" ] && [ "$old" != "$new" ] ||
	fail "the rebuild kept build-id '$old' ('$new')"

report_ok -i "$T/h.data" --folded
grep -q "leak_malloc" "$T/out" && fail "the rebuilt workload's symbols were used: $(head -n 3 "$T/out")"
grep -q ";\[unknown\] heap+0x[0-9a-f]* 409600$" "$T/out" ||
	fail "frames of the refused file: $(head -n 5 "$T/out")"
assert_eq "warnings" 1 "$(grep -c '^memprof: warning: ' "$T/report.err")"
grep -q "^memprof: warning: '$T/bin/heap' with build-id $old not found in the build-id cache '$T/cache', the recorded path and /usr/lib/debug (the file at the recorded path has build-id $new: rebuilt or upgraded since, not used); its frames are shown as \[unknown\] heap+0xOFFSET$" \
	"$T/report.err" || fail "warning: $(cat "$T/report.err")"

"$MEMPROF" buildid-list -i "$T/h.data" >"$T/list" 2>"$T/err" || fail "buildid-list: $(cat "$T/err")"
grep -q "^$old  *mismatch  *-  *$T/bin/heap$" "$T/list" || fail "buildid-list: $(cat "$T/list")"

# --symfs DIR: the files as they were, under DIR
mkdir -p "$T/symfs$T/bin"
cp "$T/keep/heap" "$T/symfs$T/bin/heap"
report_ok -i "$T/h.data" --folded --symfs "$T/symfs"
assert_eq "--symfs: leak_malloc" 409600 "$(stack_bytes "$T/out" "main;leak_malloc")"
[ ! -s "$T/report.err" ] || fail "--symfs: warnings: $(cat "$T/report.err")"
"$MEMPROF" buildid-list -i "$T/h.data" --symfs="$T/symfs" >"$T/list" || fail "buildid-list --symfs"
grep -q "^$old  *symfs  *self  *$T/bin/heap$" "$T/list" || fail "buildid-list: $(cat "$T/list")"

# the build-id cache, filled by hand
"$MEMPROF" buildid-cache -a "$T/keep/heap" >"$T/cache.out" 2>"$T/err" ||
	fail "buildid-cache -a: $(cat "$T/err")"
assert_eq "buildid-cache -a" "$old added $T/keep/heap" "$(cat "$T/cache.out")"
[ -x "$T/cache/.build-id/${old:0:2}/${old:2}" ] || fail "not in the cache: $(find "$T/cache")"
"$MEMPROF" buildid-cache -a "$T/keep/heap" >"$T/cache.out" || fail "buildid-cache -a again"
assert_eq "buildid-cache -a again" "$old already cached $T/keep/heap" "$(cat "$T/cache.out")"
report_ok -i "$T/h.data" --folded
assert_eq "cache: leak_malloc" 409600 "$(stack_bytes "$T/out" "main;leak_malloc")"
[ ! -s "$T/report.err" ] || fail "cache: warnings: $(cat "$T/report.err")"
"$MEMPROF" buildid-list -i "$T/h.data" >"$T/list" || fail "buildid-list with the cache"
grep -q "^$old  *cache  *self  *$T/bin/heap$" "$T/list" || fail "buildid-list: $(cat "$T/list")"
# --buildid-dir overrides the environment: an empty cache there, the mismatch again
report_ok -i "$T/h.data" --folded --buildid-dir "$T/empty"
grep -q "heap+0x" "$T/out" || fail "--buildid-dir: $(head -n 3 "$T/out")"

# buildid-cache refuses what it cannot key by build-id
printf 'not an ELF file' >"$T/text"
"$MEMPROF" buildid-cache -a "$T/text" >/dev/null 2>"$T/err" && fail "buildid-cache -a of a text file"
grep -q "^memprof: error: '$T/text' is not an ELF file$" "$T/err" || fail "message: $(cat "$T/err")"
exit 0
