#!/bin/bash
# `sh -c 'exec app'`: what sh allocated before the exec is sh's (sh [PID]), what the
# program allocated after it the program's (heap [PID], the same PID): the kernel's
# rename of the task to the new program, which comes before the exec's record, does
# not rename the process as it was before.
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -e heap -o "$T/x.data" -- sh -c "exec $WL/heap"
report_ok -i "$T/x.data" --threshold=0 --folded --sort=process
sh=$(sed -n 's/^\(sh \[[0-9]*\]\);.*/\1/p' "$T/out" | sort -u)
app=$(sed -n 's/^\(heap \[[0-9]*\]\);.*leak_malloc .*/\1/p' "$T/out" | sort -u)
[ -n "$sh" ] || fail "no allocation of sh before the exec: $(cut -c1-100 "$T/out" | head)"
[ -n "$app" ] || fail "no leak_malloc of heap: $(cut -c1-100 "$T/out" | head)"
assert_eq "the PID of sh and of what it exec'd" "${sh#sh }" "${app#heap }"
grep -q "^sh \[[0-9]*\];.*leak_malloc" "$T/out" && fail "heap's leak_malloc under sh: $(grep leak_malloc "$T/out")"
exit 0
