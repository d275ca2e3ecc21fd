#!/bin/bash
# report --show=leaks on the heap workload: the heap blocks never freed, bytes
# and blocks per site (tests/workloads/heap.c documents them).
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -e heap -o "$T/h.data" -- "$WL/heap"

report_ok -i "$T/h.data" --show=leaks --threshold=0
grep -q '^# memprof report: heap blocks never freed during the trace$' "$T/out" ||
	fail "leaks title: $(head -n 2 "$T/out")"
grep -q '^# event: heap, total [0-9,]* bytes ([0-9.,]* [KMG]*i*B) in [0-9,]* blocks,' "$T/out" ||
	fail "leaks header: $(head -n 2 "$T/out")"
grep -q '^ *[0-9.]*% *400\.00 KiB  *400\.00 KiB  *leak_malloc (100 blocks)$' "$T/out" ||
	fail "tree line for leak_malloc: $(grep leak_malloc "$T/out")"
grep -q '^ *[0-9.]*% *976\.56 KiB  *976\.56 KiB  *leak_calloc (1,000 blocks)$' "$T/out" ||
	fail "tree line for leak_calloc: $(grep leak_calloc "$T/out")"
grep -q '^ *[0-9.]*% *292\.97 KiB  *292\.97 KiB  *leak_realloc (1 block)$' "$T/out" ||
	fail "tree line for leak_realloc: $(grep leak_realloc "$T/out")"
grep -q freed_malloc "$T/out" && fail "freed_malloc shown as leaked: $(grep freed_malloc "$T/out")"

# the blocks of [other] are what its shown siblings do not hold
report_ok -i "$T/h.data" --show=leaks --threshold=500
awk '{ gsub(",", "") }
     !m && /  main \(/ { m = $0; sub(/.*\(/, "", m); sub(/ block.*/, "", m) }
     /  leak_calloc \(/ { c = $0; sub(/.*\(/, "", c); sub(/ block.*/, "", c) }
     /  leak_malloc \(/ { l = $0; sub(/.*\(/, "", l); sub(/ block.*/, "", l) }
     /  leak_realloc \(/ { r = $0; sub(/.*\(/, "", r); sub(/ block.*/, "", r) }
     /  leak_posix_memalign \(/ { p = $0; sub(/.*\(/, "", p); sub(/ block.*/, "", p) }
     m && / \[other\] \(/ && !o { o = $0; sub(/.*\(/, "", o); sub(/ block.*/, "", o) }
     END { exit !(m && c && o && m == c + l + r + p + o) }' "$T/out" ||
	fail "[other] blocks do not add up: $(cat "$T/out")"

report_ok -i "$T/h.data" --show=leaks --folded
assert_eq "leak_malloc leaked bytes" 409600 "$(stack_bytes "$T/out" "main;leak_malloc")"
assert_eq "freed_malloc leaked bytes" 0 "$(leaf_bytes "$T/out" freed_malloc)"

"$MEMPROF" report -i "$T/h.data" --show=leaks --event=page >/dev/null 2>"$T/err" &&
	fail "--show=leaks --event=page succeeded"
grep -q "error: --show=leaks is about heap blocks" "$T/err" || fail "page error: $(cat "$T/err")"
# JSON: the bytes as value, the blocks as count, node for node.
report_ok -i "$T/h.data" --show=leaks --format=json --threshold=0
python3 - "$T/out" >"$T/q" 2>&1 <<'PY' || fail "json: $(cat "$T/q")"
import json, sys
sec = json.load(open(sys.argv[1]))[0]
assert sec["event"] == "heap" and sec["show"] == "leaks" and "count" in sec, sec.keys()
def walk(n):
    yield n
    for c in n["frames"]:
        yield from walk(c)
nodes = {n["name"]["functionName"]: n for t in sec["frames"] for n in walk(t)}
assert nodes["leak_malloc"]["count"] == 100 and nodes["leak_malloc"]["value"] == 409600, nodes["leak_malloc"]
assert "freed_malloc" not in nodes
for n in (n for t in sec["frames"] for n in walk(t)):
    if n["frames"]:
        assert sum(c["count"] for c in n["frames"]) <= n["count"], n["name"]
print("ok")
PY
exit 0
