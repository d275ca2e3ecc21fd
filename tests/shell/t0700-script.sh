#!/bin/bash
# memprof script lists every event of a trace: on the heap workload, the CSV
# loads with python's csv module as any SQL engine would load it, and the
# exact figures of tests/workloads/heap.c come out of a query on it; the
# JSON lines parse and say the same as the CSV, and the text has a line per
# event; the events of processes that exec are named in their new image.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd python3

record_ok -e heap -o "$T/h.data" -- "$WL/heap"

"$MEMPROF" script -i "$T/h.data" --format=csv >"$T/ev.csv" 2>"$T/err" ||
	fail "memprof script --format=csv failed: $(cat "$T/err")"
"$MEMPROF" script -i "$T/h.data" --format=json >"$T/ev.json" 2>"$T/err" ||
	fail "memprof script --format=json failed: $(cat "$T/err")"
"$MEMPROF" script -i "$T/h.data" >"$T/ev.txt" 2>"$T/err" ||
	fail "memprof script failed: $(cat "$T/err")"

python3 - "$T/ev.csv" "$T/ev.json" >"$T/q" 2>&1 <<'PY' || fail "queries: $(cat "$T/q")"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert rows, "no rows"
assert list(rows[0].keys()) == ["time", "pid", "tid", "comm", "type", "size", "address",
                                "old_address", "stack", "detail"], list(rows[0].keys())

def first(r):
    return r["stack"].split(";")[0] if r["stack"] else ""

def q(typ, fn):
    return [r for r in rows if r["type"] == typ and first(r) == fn]

lm = q("malloc", "leak_malloc")
assert len(lm) == 100 and all(r["size"] == "4096" for r in lm), \
    "leak_malloc: %d rows, sizes %s" % (len(lm), sorted({r["size"] for r in lm}))
assert len(q("calloc", "leak_calloc")) == 1000, "leak_calloc rows"
assert sum(int(r["size"]) for r in q("calloc", "leak_calloc")) == 1000000, "leak_calloc bytes"
assert sum(int(r["size"]) for r in q("malloc", "child_leak")) == 614400, "child_leak bytes"
assert len({r["pid"] for r in q("malloc", "child_leak")} | {r["pid"] for r in lm}) == 2, \
    "the child is a process of its own"
# realloc(NULL, 1000) is recorded as the malloc it is
rl = [r for r in rows if first(r) == "leak_realloc"]
assert [(r["type"], int(r["size"])) for r in rl] == \
    [("malloc", 1000), ("realloc", 5000), ("realloc", 300000)], "leak_realloc rows"
assert rl[1]["old_address"] == rl[0]["address"] and rl[2]["old_address"] == rl[1]["address"], \
    "realloc chain"
# freed_malloc's blocks are all freed: each of its addresses has a later free
fm = q("malloc", "freed_malloc")
assert len(fm) == 50, "freed_malloc rows"
frees = {}
for i, r in enumerate(rows):
    if r["type"] == "free":
        frees.setdefault((r["pid"], r["address"]), []).append(i)
idx = {id(r): i for i, r in enumerate(rows)}
for r in fm:
    assert any(j > idx[id(r)] for j in frees.get((r["pid"], r["address"]), [])), "unfreed"
times = [float(r["time"]) for r in rows]
assert times == sorted(times) and times[0] >= 0, "times"

js = [json.loads(l) for l in open(sys.argv[2])]
assert len(js) == len(rows), "json %d lines, csv %d rows" % (len(js), len(rows))
for r, j in zip(rows, js):
    assert "%.9f" % j["time"] == r["time"] or abs(j["time"] - float(r["time"])) < 1e-6
    for k in ("pid", "tid", "size"):
        assert ("" if j[k] is None else str(j[k])) == r[k], (k, r, j)
    for k in ("comm", "type"):
        assert j[k] == r[k], (k, r, j)
    assert (j["address"] or "") == r["address"], (r, j)
    assert j["detail"] == r["detail"], (r, j)
    assert (j["old_address"] or "") == r["old_address"], (r, j)
    assert ";".join(j["stack"]) == r["stack"], (r, j)
print(len(rows))
PY
nrows=$(cat "$T/q")

# text: one event line each (with its time), frames indented under it
events=$(grep -c '^ *[^	 ].* [0-9]*/[0-9-]* *[0-9]*\.[0-9]\{9\}: ' "$T/ev.txt")
assert_eq "text event lines" "$nrows" "$events"
grep -A1 ': malloc: 4096 bytes 0x' "$T/ev.txt" | grep -q '^	leak_malloc$' ||
	fail "text frames: $(head -5 "$T/ev.txt")"

# Processes that exec: each event is named in the image it happened in (pass 2
# follows the changes of image pass 1 noted).  Child i of forkexec execs
# itself and makes i + 1 mallocs of 1000 bytes in child_alloc, at addresses of
# its new image; its exec comes before them, its own fork before that.
record_ok -e heap -o "$T/f.data" -- "$WL/forkexec" 10
"$MEMPROF" script -i "$T/f.data" --format=csv >"$T/f.csv" 2>"$T/err" ||
	fail "memprof script of forkexec failed: $(cat "$T/err")"
python3 - "$T/f.csv" >"$T/q" 2>&1 <<'PY' || fail "forkexec: $(cat "$T/q")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
n, execd = {}, set()
for r in rows:
    if r["type"] == "exec":
        execd.add(r["pid"])
    if r["type"] == "malloc" and r["size"] == "1000" and r["stack"].split(";")[0] == "child_alloc":
        assert r["pid"] in execd, "child_alloc before its exec: %s" % r
        assert r["comm"] == "forkexec", r
        n[r["pid"]] = n.get(r["pid"], 0) + 1
assert sorted(n.values()) == list(range(1, 11)), sorted(n.values())
PY

# usage errors
"$MEMPROF" script -i "$T/h.data" --format=xml >/dev/null 2>"$T/err"
assert_eq "bad --format status" 129 "$?"
grep -q "invalid --format 'xml'" "$T/err" || fail "bad --format message: $(cat "$T/err")"
"$MEMPROF" script -i "$T/none.data" >/dev/null 2>"$T/err"
assert_eq "missing trace status" 1 "$?"
exit 0
