#!/bin/bash
# memprof diff matches allocation sites by name, not address: a program that
# leaks N x 1000 bytes in leak_fn, recorded with N = 100 and, rebuilt with its
# code moved, with N = 300, shows leak_fn +200000 bytes exactly, with OLD and
# NEW beside it; the sign follows the order, --threshold folds by difference,
# and two runs of one program differ by nothing.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc

cat >"$T/leak.c" <<'C'
#include <stdlib.h>

static void *volatile keep[100000];

#ifdef PAD
/* The NEW program has leak_fn elsewhere. */
#define MOVED __attribute__((aligned(4096)))
#else
#define MOVED
#endif

__attribute__((noinline)) MOVED static void leak_fn(int n)
{
	for (int i = 0; i < n; i++) {
		keep[i] = malloc(1000);
		((volatile char *)keep[i])[0] = 1;
	}
}

int main(int argc, char **argv)
{
	leak_fn(argc > 1 ? atoi(argv[1]) : 0);
	return 0;
}
C
mkdir "$T/old" "$T/new"
gcc -O1 -g -fno-omit-frame-pointer -o "$T/old/leak" "$T/leak.c" || fail "cannot build leak"
gcc -O1 -g -fno-omit-frame-pointer -DPAD -o "$T/new/leak" "$T/leak.c" ||
	fail "cannot build leak -DPAD"

record_ok -e heap -o "$T/a.data" -- "$T/old/leak" 100
record_ok -e heap -o "$T/b.data" -- "$T/new/leak" 300
record_ok -e heap -o "$T/c.data" -- "$T/old/leak" 100

diff_ok()
{
	"$MEMPROF" diff "$@" >"$T/out" 2>"$T/err" || fail "memprof diff $* failed: $(cat "$T/err")"
}

# leak_fn_line: "DELTA SELF-DELTA OLD NEW" of the leak_fn line, each size with its unit
leak_fn_line()
{
	awk '$NF == "leak_fn" { print $1 $2, $3 $4, $5 $6, $7 $8 }' "$T/out"
}

diff_ok --threshold 0 "$T/a.data" "$T/b.data"
assert_eq "leak_fn line" "+195.31KiB +195.31KiB 97.66KiB 292.97KiB" "$(leak_fn_line)"
grep -q '^# event: heap, OLD 100,000 bytes, NEW 300,000 bytes, delta +200,000 bytes (+195.31 KiB), threshold 0 KiB$' \
	"$T/out" || fail "diff header: $(head -3 "$T/out")"
# one path for both: the process, then main, then leak_fn beneath it
awk '$NF == "main" { m = NR } $NF == "leak_fn" { if (NR == m + 1) ok = 1 } END { exit !ok }' \
	"$T/out" || fail "leak_fn is not under main: $(cat "$T/out")"
assert_eq "leak_fn lines" 1 "$(grep -c ' leak_fn$' "$T/out")"
# the process allocated nothing itself: all its growth is leak_fn's (Self)
assert_eq "process line" "+195.31KiB +0B 97.66KiB 292.97KiB" \
	"$(awk '$NF == "leak" && NF == 9 { print $1 $2, $3 $4, $5 $6, $7 $8 }' "$T/out")"

# reversed: the sign too
diff_ok --threshold=0 "$T/b.data" "$T/a.data"
assert_eq "leak_fn line, reversed" "-195.31KiB -195.31KiB 292.97KiB 97.66KiB" "$(leak_fn_line)"

# alloc is the same here: nothing is freed
diff_ok --threshold 0 --show=alloc "$T/a.data" "$T/b.data"
assert_eq "leak_fn line, alloc" "+195.31KiB +195.31KiB 97.66KiB 292.97KiB" "$(leak_fn_line)"
grep -q '^# memprof diff: memory allocated during each trace' "$T/out" ||
	fail "alloc header: $(head -1 "$T/out")"

# --threshold folds what differs by less, but never the largest paths: 195 KiB shows
# above 100, and above 256 too, as the one path that changed
diff_ok --threshold 100 "$T/a.data" "$T/b.data"
assert_eq "leak_fn line, threshold 100" "+195.31KiB +195.31KiB 97.66KiB 292.97KiB" "$(leak_fn_line)"
diff_ok --threshold 256 "$T/a.data" "$T/b.data"
assert_eq "leak_fn line, threshold 256" "+195.31KiB +195.31KiB 97.66KiB 292.97KiB" "$(leak_fn_line)"

# two runs of the same program: no difference anywhere
diff_ok --threshold 0 "$T/a.data" "$T/c.data"
assert_eq "leak_fn line, same program" "+0B +0B 97.66KiB 97.66KiB" "$(leak_fn_line)"

# usage errors
"$MEMPROF" diff "$T/a.data" >/dev/null 2>"$T/err"
assert_eq "one trace status" 129 "$?"
"$MEMPROF" diff --show=peak "$T/a.data" "$T/b.data" >/dev/null 2>"$T/err"
assert_eq "bad --show status" 129 "$?"
"$MEMPROF" diff "$T/a.data" "$T/none.data" >/dev/null 2>"$T/err"
assert_eq "missing trace status" 1 "$?"
grep -q "cannot open '.*none.data'" "$T/err" || fail "missing trace message: $(cat "$T/err")"
exit 0
