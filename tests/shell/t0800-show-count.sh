#!/bin/bash
# report --show=count on the heap workload: the number of allocations per
# site (tests/workloads/heap.c documents them), in the tree and folded.
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -e heap -o "$T/h.data" -- "$WL/heap"

report_ok -i "$T/h.data" --show=count --folded
assert_eq "leak_malloc count" 100 "$(stack_bytes "$T/out" "main;leak_malloc")"
assert_eq "leak_calloc count" 1000 "$(stack_bytes "$T/out" "main;leak_calloc")"
# freed, but allocated all the same
assert_eq "freed_malloc count" 50 "$(leaf_bytes "$T/out" freed_malloc)"

report_ok -i "$T/h.data" --show=count
grep -q '^# memprof report: allocations during the trace$' "$T/out" ||
	fail "count title: $(head -n 2 "$T/out")"
grep -q '^# event: heap, total [0-9,]* allocations, ' "$T/out" ||
	fail "count header: $(head -n 2 "$T/out")"
# counts in the Total and Self columns, with thousands separators
grep -q '^#  *Percent  *Total  *Self  Call tree' "$T/out" || fail "no columns: $(head -n 4 "$T/out")"
grep -q '^ *[0-9.]*% *100  *100  *leak_malloc$' "$T/out" ||
	fail "tree line for leak_malloc: $(grep leak_malloc "$T/out")"
grep -q '^ *[0-9.]*% *1,000  *1,000  *leak_calloc$' "$T/out" ||
	fail "tree line for leak_calloc: $(grep leak_calloc "$T/out")"
grep -q '^ *[0-9.]*% *50  *50  *freed_malloc$' "$T/out" ||
	fail "tree line for freed_malloc: $(grep freed_malloc "$T/out")"

# The other formats count too: JSON says its unit, the SVG's frames are allocations.
report_ok -i "$T/h.data" --show=count --format=json --threshold=0
python3 - "$T/out" >"$T/q" 2>&1 <<'PY' || fail "json: $(cat "$T/q")"
import json, sys
sec = json.load(open(sys.argv[1]))[0]
assert sec["show"] == "count" and sec["unit"] == "allocations", (sec["show"], sec["unit"])
def walk(n):
    yield n
    for c in n["frames"]:
        yield from walk(c)
found = {n["name"]["functionName"]: n["value"] for t in sec["frames"] for n in walk(t)}
assert found["leak_malloc"] == 100 and found["leak_calloc"] == 1000, found
assert sec["value"] == sec["total"], (sec["value"], sec["total"])
print("ok")
PY
report_ok -i "$T/h.data" --show=count --format=svg --threshold=0
grep -q '<title>leak_calloc (1,000 allocations, [0-9.]*%; self 1,000 allocations)' "$T/out" ||
	fail "svg: $(grep -o '<title>leak_calloc[^<]*' "$T/out")"
grep -q '>memprof: heap events, allocations during the trace<' "$T/out" ||
	fail "svg title: $(grep 'id="title"' "$T/out")"
exit 0
