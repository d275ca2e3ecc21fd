#!/bin/bash
# The -g cfi walks the kernel side remembers (struct uw_memo in bpf/memprof.bpf.h)
# answer only for a stack that holds every word the walk read: samesp's four call
# paths reach malloc with the same pc, stack pointer and frame pointer and differ
# only in return addresses further up, one of them past the first 1 KiB of stack,
# one past the 4 KiB a memo covers.  Each path's live bytes are its own, to the
# byte, through every frame down to _start, and record says walks were answered
# by a memo (a test that the check ran, not only the walk).
. "$(dirname "$0")/lib.sh"
need_bpf

record_v_ok -e heap -o "$T/s.data" -- "$WL/samesp"
memo=$(sed -n 's/.* \([0-9]*\) walks answered by a remembered one.*/\1/p' "$T/record.log")
[ -n "$memo" ] || fail "record -v does not say how many walks a memo answered: $(grep unwind "$T/record.log")"
[ "$memo" -gt 0 ] || fail "no walk of samesp's 2000 was answered by a memo"
grep -q '^memprof: stacks: 2000 taken, 0 incomplete' "$T/record.log" ||
	fail "samesp's stacks: $(grep '^memprof: stacks' "$T/record.log")"
"$MEMPROF" report -i "$T/s.data" --folded >"$T/folded" 2>"$T/err" ||
	fail "report --folded failed: $(cat "$T/err")"
base="samesp;_start;__libc_start_main;__libc_start_call_main;main"
printf '%s\n' "$base;a;mid;leaf 600600" "$base;b;mid;leaf 601200" \
	"$base;big;mid;leaf 401200" "$base;huge;mid;leaf 401600" >"$T/want"
sort "$T/folded" | cmp -s - "$T/want" ||
	fail "samesp's live bytes by path: $(diff "$T/want" <(sort "$T/folded") | head -n 8 | tr '\n' ' ')"
exit 0
