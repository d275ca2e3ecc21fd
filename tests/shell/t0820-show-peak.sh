#!/bin/bash
# report --show=peak: what was live when the live total was highest.  The
# workload keeps 1 MiB (fn_a), then takes and frees 4 MiB (fn_b), then keeps
# 2 MiB (fn_c): the peak is 5 MiB, fn_a's and fn_b's, and fn_c is not in it.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc

cat >"$T/peak.c" <<'EOF2'
#include <stdlib.h>
#include <string.h>

#define MB (1024 * 1024)

static void *keep_a, *keep_c;
void *volatile sink;	/* so that the compiler keeps fn_b's malloc and free */

__attribute__((noinline)) void fn_a(void)
{
	keep_a = malloc(1 * MB);
	memset(keep_a, 1, 1 * MB);
}

__attribute__((noinline)) void fn_b(void)
{
	sink = malloc(4 * MB);
	memset(sink, 1, 4 * MB);
	free(sink);
}

__attribute__((noinline)) void fn_c(void)
{
	keep_c = malloc(2 * MB);
	memset(keep_c, 1, 2 * MB);
}

int main(void)
{
	fn_a();
	fn_b();
	fn_c();
	return keep_a && keep_c ? 0 : 1;
}
EOF2
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$T/peak" "$T/peak.c" ||
	fail "cannot build the peak workload"
record_ok -e heap -o "$T/p.data" -- "$T/peak"

report_ok -i "$T/p.data" --show=peak --folded
assert_eq "fn_a at the peak" 1048576 "$(leaf_bytes "$T/out" fn_a)"
assert_eq "fn_b at the peak" 4194304 "$(leaf_bytes "$T/out" fn_b)"
assert_eq "fn_c at the peak" 0 "$(leaf_bytes "$T/out" fn_c)"

report_ok -i "$T/p.data" --show=peak --threshold=0
grep -q '^# memprof report: live memory at its peak$' "$T/out" ||
	fail "peak title: $(head -n 2 "$T/out")"
peak=$(sed -n 's/^# event: heap, peak \([0-9,]*\) bytes ([0-9.,]* [KMG]*i*B) at [0-9.]* s in .*/\1/p' "$T/out" | tr -d ,)
# 5 MiB, and the little the C library allocates for itself
[ -n "$peak" ] && [ "$peak" -ge 5242880 ] && [ "$peak" -lt 5373952 ] ||
	fail "peak header: $(head -n 2 "$T/out")"
grep -q '^ *[0-9.]*% *4\.00 MiB  *4\.00 MiB  *fn_b$' "$T/out" || fail "tree line for fn_b: $(cat "$T/out")"
grep -q fn_c "$T/out" && fail "fn_c at the peak: $(cat "$T/out")"

# live at the end is not the peak
report_ok -i "$T/p.data" --folded
assert_eq "fn_b live at the end" 0 "$(leaf_bytes "$T/out" fn_b)"
assert_eq "fn_c live at the end" 2097152 "$(leaf_bytes "$T/out" fn_c)"
# JSON and SVG show the peak too, JSON with its time.
report_ok -i "$T/p.data" --show=peak --format=json --threshold=0
python3 - "$T/out" >"$T/q" 2>&1 <<'PY' || fail "json: $(cat "$T/q")"
import json, sys
sec = json.load(open(sys.argv[1]))[0]
assert sec["show"] == "peak" and sec["peakTime"] > 0, sec.keys()
def walk(n):
    yield n
    for c in n["frames"]:
        yield from walk(c)
nodes = {n["name"]["functionName"]: n["value"] for t in sec["frames"] for n in walk(t)}
assert nodes["fn_b"] == 4 << 20 and nodes["fn_a"] == 1 << 20 and "fn_c" not in nodes, nodes
print("ok")
PY
report_ok -i "$T/p.data" --show=peak --format=svg --threshold=0
grep -q '<title>fn_b (4.00 MiB, ' "$T/out" || fail "svg: no fn_b frame of 4 MiB"
exit 0
