#!/usr/bin/env python3
# tezedge-cmp.py TEZEDGE.json REPORT.json EVENT: whether serve's /v1/tree (TezEdge's
# shape, KiB) is report --format=json's tree of EVENT (bytes), node for node: the same
# names, executables, offsets and children in the same order, and each value and
# cacheValue the report's bytes in KiB, rounded to the nearest.  Prints the first
# difference and exits 1; prints the number of nodes compared and exits 0.
import json
import sys


def kib(b):
    return b // 1024 + (b % 1024 >= 512)


def cmp(t, r, path, n):
    tn, rn = t["name"], r.get("name")
    name = tn["functionName"]
    if rn is not None:
        for k in ("functionName", "executable", "offset"):
            if tn[k] != rn[k]:
                sys.exit("%s: %s %r, report %r" % ("/".join(path), k, tn[k], rn[k]))
    for k in ("value", "cacheValue"):
        if t[k] != kib(r[k]):
            sys.exit("%s: %s %d KiB, report %d bytes" % ("/".join(path + [name]), k, t[k], r[k]))
    if len(t["frames"]) != len(r["frames"]):
        sys.exit("%s: %d children, report %d" %
                 ("/".join(path + [name]), len(t["frames"]), len(r["frames"])))
    n[0] += 1
    for a, b in zip(t["frames"], r["frames"]):
        cmp(a, b, path + [name], n)


with open(sys.argv[1]) as f:
    tez = json.load(f)
with open(sys.argv[2]) as f:
    rep = [s for s in json.load(f) if s["event"] == sys.argv[3]]
if len(rep) != 1:
    sys.exit("report has no %s tree" % sys.argv[3])
if tez["name"]["functionName"] != "root" or tez["name"]["functionCategory"] != "root":
    sys.exit("the tree's root is not TezEdge's root")
n = [0]
cmp(tez, rep[0], [], n)
print(n[0])
