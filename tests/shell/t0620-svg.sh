#!/bin/bash
# report --format=svg on the heap workload: a well-formed, self-contained
# SVG with its script, one <g class="f"> per frame of the tree (the JSON
# output's nodes and the root "all"), each rect's width the frame's share of
# the bytes, and the frames' names and bytes in their titles.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd python3

record_ok -e heap -o "$T/h.data" -- "$WL/heap"

for opts in "--threshold=0" "--threshold=256" "--threshold=0 --reverse --show=alloc"; do
	report_ok -i "$T/h.data" --format=svg $opts
	cp "$T/out" "$T/h.svg"
	report_ok -i "$T/h.data" --format=json $opts
	cp "$T/out" "$T/h.json"
	python3 - "$T/h.svg" "$T/h.json" >"$T/titles" <<'PY' || fail "svg with $opts"
import json, re, sys
import xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == NS + "svg", root.tag
assert root.find(NS + "script") is not None, "no script"
text = open(sys.argv[1]).read()
assert "href" not in text, "not self-contained"
for fn in ("function zoom", "function search", "function unzoom"):
    assert fn in text, fn
frames = [g for g in root.iter(NS + "g") if g.get("class") == "f"]
doc = json.load(open(sys.argv[2]))[0]
def nodes(n):
    yield n
    for c in n["frames"]:
        yield from nodes(c)
jnodes = [m for top in doc["frames"] for m in nodes(top)]
assert len(frames) == len(jnodes) + 1, "%d frames for %d nodes" % (len(frames), len(jnodes))
total = doc["total"]
full = None
seen = []
def size(b):
    """lib/units.c's fmt_size: what a person reads, two decimals of the largest unit."""
    if b < 1024:
        return "%d B" % b
    u, d = 0, 1
    while u < 4 and b // d >= 1024:
        d *= 1024
        u += 1
    h = (b * 100 + d // 2) // d
    if h >= 102400 and u < 4:
        d *= 1024
        u += 1
        h = (b * 100 + d // 2) // d
    return "{:,}.{:02d} {}".format(h // 100, h % 100, ["B", "KiB", "MiB", "GiB", "TiB"][u])
bytes_of = [total] + [n["value"] for n in jnodes]
selfs = [doc["self"]] + [n["self"] for n in jnodes]
for g, b, sb in zip(frames, bytes_of, selfs):
    title = g.find(NS + "title").text
    m = re.fullmatch(r"(.*) \((.+), ([0-9.]+)%; self (.+)\)", title)
    assert m, title
    name, pct = m.group(1), float(m.group(3))
    assert m.group(2) == size(b) and m.group(4) == size(sb), (title, b, sb)
    r = g.find(NS + "rect")
    assert g.find(NS + "text") is not None
    w = float(r.get("width"))
    if full is None:
        assert name == "all" and b == total, title
        full = w
    # the width is the share of the bytes, to the 0.01 px written
    assert abs(w - full * b / total) <= 0.01, "%s: width %s of %s" % (title, w, full)
    assert abs(pct - 100.0 * b / total) <= 0.005, title
    seen.append((name, b))
# the same frames as the JSON tree, in the same order, with the same bytes
want = [(n["name"]["functionName"], n["value"]) for n in jnodes]
assert [(n, float(b)) for n, b in seen[1:]] == [(n, float(v)) for n, v in want], "frames differ"
for name, b in seen:
    print("%s %d" % (name, b))
PY
done
# the last run: --reverse --show=alloc --threshold=0
grep -qx "freed_malloc 409600" "$T/titles" || fail "freed_malloc: $(grep freed_malloc "$T/titles")"
report_ok -i "$T/h.data" --format=svg --threshold=0
# a person reads it: adaptive units, the frame's total and its self (the details line)
grep -q '<title>leak_malloc (400.00 KiB, [0-9.]*%; self 400.00 KiB)' "$T/out" ||
	fail "no leak_malloc frame of 400 KiB: $(grep -o '<title>leak_malloc[^<]*' "$T/out")"
grep -q '<title>leak_calloc (976.56 KiB, ' "$T/out" || fail "no leak_calloc frame"
grep -q '<title>main (1.82 MiB, [0-9.]*%; self 0 B)' "$T/out" ||
	fail "no main frame with its self: $(grep -o '<title>main [^<]*' "$T/out")"
grep -q '>memprof: heap events, live memory at the end of the trace<' "$T/out" ||
	fail "title: $(grep 'id="title"' "$T/out")"
exit 0
