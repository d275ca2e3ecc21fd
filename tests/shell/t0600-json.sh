#!/bin/bash
# report --format=json on the heap workload: every node has the documented
# fields and types, children add up to their parent, the figures are the
# tree's, and --reverse and --threshold shape it as they shape the tree.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd python3

record_ok -e heap -o "$T/h.data" -- "$WL/heap"

# check.py FILE [reverse|forward] [THRESHOLD_KIB]: the shape, then prints
# "FUNCTION KIB" for every node, one a line.
cat >"$T/check.py" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
reverse = sys.argv[2] == "reverse"
threshold = float(sys.argv[3])
assert isinstance(doc, list) and len(doc) == 1, "one section per event type"
NAME_KEYS = {"executable", "offset", "functionName", "functionCategory"}
CATS = {"unknown", "process", "executable", "library", "kernel", "other"}
def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)
def node(n, depth, out):
    assert set(n) == {"name", "value", "self", "cacheValue", "frames"}, n.keys()
    nm = n["name"]
    assert set(nm) == NAME_KEYS, nm.keys()
    assert isinstance(nm["executable"], str) and isinstance(nm["functionName"], str)
    assert nm["offset"].startswith("0x") and int(nm["offset"], 16) >= 0
    assert nm["functionCategory"] in CATS, nm["functionCategory"]
    assert num(n["value"]) and n["value"] > 0 and n["cacheValue"] == 0
    assert isinstance(n["frames"], list)
    # the process is the top level, or with --reverse the leaf
    is_top = depth == 0
    if not reverse:
        assert (nm["functionCategory"] == "process") == is_top, nm
    elif nm["functionCategory"] == "process":
        assert not n["frames"], "the process is the last frame with --reverse"
    # bytes, integers; what the children hold and the node's self add up to it
    assert isinstance(n["value"], int) and isinstance(n["self"], int) and n["self"] >= 0
    s = sum(c["value"] for c in n["frames"])
    assert s + n["self"] == n["value"], "%s: %s bytes, children %s, self %s" % (
        nm, n["value"], s, n["self"])
    out.append("%s %s" % (nm["functionName"], n["value"]))
    for c in n["frames"]:
        node(c, depth + 1, out)
sec = doc[0]
assert set(sec) == {"event", "show", "unit", "reverse", "threshold", "percentLimit",
                    "foldedPaths", "total", "allocations", "value", "self", "cacheValue",
                    "frames"}, sec.keys()
assert sec["unit"] == "bytes", sec["unit"]
assert sec["event"] == "heap" and sec["show"] in ("live", "alloc")
assert sec["reverse"] == reverse and sec["threshold"] == threshold
assert isinstance(sec["total"], int) and sec["total"] == sec["value"]
assert sum(c["value"] for c in sec["frames"]) + sec["self"] == sec["value"]
out = []
for c in sec["frames"]:
    node(c, 0, out)
print("\n".join(out))
PY

report_ok -i "$T/h.data" --format=json --threshold=0
python3 "$T/check.py" "$T/out" forward 0 >"$T/nodes" || fail "json shape: $(head -c 2000 "$T/out")"
grep -qx "leak_malloc 409600" "$T/nodes" || fail "leak_malloc: $(grep leak_malloc "$T/nodes")"
grep -qx "leak_calloc 1000000" "$T/nodes" || fail "leak_calloc: $(grep leak_calloc "$T/nodes")"
grep -qx "thread_leak 204800" "$T/nodes" || fail "thread_leak: $(grep thread_leak "$T/nodes")"
# the same total as the tree
report_ok -i "$T/h.data" --threshold=0
total=$(sed -n 's/^# event: heap, total \([0-9,]*\) bytes.*/\1/p' "$T/out" | tr -d ,)
report_ok -i "$T/h.data" --format=json --threshold=0
jtotal=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["total"])' "$T/out")
assert_eq "json total" "$total" "$jtotal"
# executable and offset: leak_malloc is in the workload itself, malloc's caller chain
python3 - "$T/out" <<'PY' || fail "leak_malloc's name: $(grep -o '"executable":"[^"]*","offset":"[^"]*","functionName":"leak_malloc"[^}]*' "$T/out")"
import json, sys
def walk(n):
    yield n
    for c in n["frames"]:
        yield from walk(c)
doc = json.load(open(sys.argv[1]))
for top in doc[0]["frames"]:
    for n in walk(top):
        if n["name"]["functionName"] == "leak_malloc":
            nm = n["name"]
            assert nm["executable"] == "heap" and nm["functionCategory"] == "executable", nm
            assert int(nm["offset"], 16) > 0, nm
PY

# --reverse: the allocation sites at the top level
report_ok -i "$T/h.data" --format=json --threshold=0 --reverse --show=alloc
python3 "$T/check.py" "$T/out" reverse 0 >"$T/nodes" || fail "reverse json shape"
python3 -c 'import json,sys; print("\n".join(n["name"]["functionName"] for n in json.load(open(sys.argv[1]))[0]["frames"]))' \
	"$T/out" | grep -x freed_malloc >/dev/null || fail "freed_malloc is not an allocation site at the top"

# --threshold: nodes under it folded into [other]
report_ok -i "$T/h.data" --format=json --threshold=256
python3 "$T/check.py" "$T/out" forward 256 >"$T/nodes" || fail "json shape with --threshold 256"
grep -q '^\[other\] ' "$T/nodes" || fail "no [other] with --threshold 256"
# the 5 largest paths show whatever their size: thread_leak (200 KiB) is the fifth
grep -q '^thread_leak ' "$T/nodes" || fail "thread_leak, one of the 5 largest paths, folded"
grep -q '^leak_valloc ' "$T/nodes" && fail "leak_valloc (36 KiB) above a 256 KiB threshold"

# unknown formats are usage errors
"$MEMPROF" report -i "$T/h.data" --format=xml >/dev/null 2>"$T/err"
assert_eq "--format=xml exit status" 129 "$?"
grep -q "unknown --format 'xml'" "$T/err" || fail "--format=xml: $(cat "$T/err")"
exit 0
