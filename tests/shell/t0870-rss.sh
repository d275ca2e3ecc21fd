#!/bin/bash
# record -e rss: the target's resident set, sampled from /proc, and at its
# exit from the kernel side.  The workload touches 64 MiB, waits for a sample
# or two, unmaps the 64 MiB, then reads its own /proc/self/status (twice, so
# that the second reading faults nothing in) and exits at once: report
# --stat's end is that last reading, exactly, and its peak the VmHWM in it,
# the kernel's high-water mark, which samples cannot miss (or a sample above
# it: see below).  The timeline
# shows the memory by type rising and falling, as a table and as an SVG chart.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc python3

cat >"$T/rss.c" <<'EOF2'
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SIZE (64 << 20)

static char out[1024];

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

__attribute__((noinline)) char *touch(void)
{
	char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	for (long i = 0; p != MAP_FAILED && i < SIZE; i += 4096)
		p[i] = 1;
	return p;
}

/* The resident set lines of /proc/self/status, into out. */
static void read_status(void)
{
	char line[256], *o = out;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6) || !strncmp(line, "Rss", 3))
			o += snprintf(o, out + sizeof(out) - o, "%s", line);
	if (f)
		fclose(f);
}

int main(void)
{
	char *p = touch();

	nap(100);
	munmap(p, SIZE);
	nap(50);
	syscall(SYS_getpid);
	write(2, "", 0);
	read_status();
	read_status();
	write(2, out, strlen(out));
	syscall(SYS_exit_group, 0);
	return 0;
}
EOF2
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$T/rss" "$T/rss.c" ||
	fail "cannot build the rss workload"
record_ok -e page,mmap,rss -o "$T/r.data" -- "$T/rss"
kib()
{
	sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB$/\1/p" "$T/record.log"
}
hwm=$(kib VmHWM) anon=$(kib RssAnon) file=$(kib RssFile) shmem=$(kib RssShmem)
[ -n "$hwm" ] && [ -n "$shmem" ] || fail "the workload printed no VmHWM: $(cat "$T/record.log")"
[ "$hwm" -ge 65536 ] || fail "VmHWM $hwm KiB: the 64 MiB were not touched"
grep -q "memprof: rss: [1-9][0-9]* samples written" "$T/record.log" ||
	fail "record summary: $(cat "$T/record.log")"

report_ok -i "$T/r.data" --stat
grep -q "^rss \[[0-9]*\]: $T/rss$" "$T/out" || fail "process line: $(cat "$T/out")"
# Sizes as people read them (two decimals of the largest unit): KiB back, to 0.5%.
python3 - "$T/out" "$anon" "$file" "$shmem" "$hwm" "$((128 * $(nproc)))" >"$T/q" 2>&1 <<'PY' ||
import re, sys
U = {"B": 1 / 1024, "KiB": 1, "MiB": 1024, "GiB": 1 << 20}
def kib(s):
    n, u = s.split()
    return float(n.replace(",", "")) * U[u]
line = [l for l in open(sys.argv[1]) if l.startswith("  rss ")][0]
m = re.match(r"  rss +start (.+), end (.+) \(anon (.+), file (.+), shmem (.+)\), peak (.+)$", line)
assert m, line
anon, file, shmem, hwm, batch = (int(x) for x in sys.argv[2:])
near = lambda got, want: abs(got - want) <= 0.005 * want + 0.01
end, a, f, sh, peak = (kib(m.group(i)) for i in (2, 3, 4, 5, 6))
assert near(end, anon + file + shmem) and near(a, anon) and near(f, file) and near(sh, shmem), line
# The kernel updates VmHWM from its per-CPU counters' folded count, up to 32 pages a CPU
# behind the true count that /proc's RSS lines sum: a sample of the 64 MiB can be above
# the mark by that much.
assert hwm * 0.995 <= peak <= (hwm + batch) * 1.005, (line, hwm, batch)
print("ok")
PY
	fail "rss: $(cat "$T/q")"
grep -q "^  lifetime .*, exited with 0$" "$T/out" || fail "lifetime: $(cat "$T/out")"
# The 64 MiB were mapped, touched and unmapped: allocated, freed, not live.
python3 - "$T/out" >"$T/q" 2>&1 <<'PY' || fail "stat rows: $(cat "$T/q")"
import re, sys
U = {"B": 1 / 1024, "KiB": 1, "MiB": 1024, "GiB": 1 << 20}
def kibs(l):
    return [float(n.replace(",", "")) * U[u] for n, u in re.findall(r"([0-9.,]+) (B|KiB|MiB|GiB)", l)]
rows = {l.split()[0]: kibs(l)[:3] for l in open(sys.argv[1])
        if l.startswith("  page ") or l.startswith("  mmap ")}
for ev in ("page", "mmap"):
    a, f, live = rows[ev]
    assert a >= 65536 and f >= 65536 and live < 4096 and abs(a - f - live) < 0.006 * a, (ev, a, f, live)
print("ok")
PY

# The timeline: a row per step, the 64 MiB in the page, mmap and rss columns at their peaks.
report_ok -i "$T/r.data" --timeline
python3 - "$T/out" "$((hwm + 128 * $(nproc)))" >"$T/q" 2>&1 <<'PY' || fail "timeline: $(cat "$T/q")"
import sys
lines = open(sys.argv[1]).read().splitlines()
head = [l for l in lines if l.startswith("#     time (s)")][0].split()[3:]
assert head == ["page", "mmap", "rss"], head
import re
U = {"B": 1 / 1024, "KiB": 1, "MiB": 1024, "GiB": 1 << 20}
def kibs(l):
    return [float(n.replace(",", "")) * U[u] for n, u in re.findall(r"([0-9.,]+) (B|KiB|MiB|GiB)", l)]
rows = [[float(l.split()[0])] + kibs(l) for l in lines if not l.startswith("#")]
assert len(rows) == 20, len(rows)
assert [r[0] for r in rows] == sorted(r[0] for r in rows), "times"
peak = kibs([l for l in lines if l.startswith("#         peak")][0])
page, mmap, rss = peak
assert page >= 65536 and mmap >= 65536, (page, mmap)
assert 65536 <= rss <= int(sys.argv[2]) * 1.005, (rss, sys.argv[2])
# it rose and fell: the last row holds none of the 64 MiB
assert rows[-1][1] < 4096 and rows[-1][2] < 4096, rows[-1]
print("ok")
PY

# The chart: one series per type, a peak marker each, well-formed and self-contained.
report_ok -i "$T/r.data" --timeline="$T/t.svg"
[ ! -s "$T/out" ] || fail "--timeline=FILE printed: $(head -n 3 "$T/out")"
python3 - "$T/t.svg" >"$T/q" 2>&1 <<'PY' || fail "svg: $(cat "$T/q")"
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg", root.tag
series = {p.get("data-event"): p for p in root.iter(ns + "polyline") if p.get("class") == "series"}
assert sorted(series) == ["mmap", "page", "rss"], sorted(series)
for name, p in series.items():
    pts = [tuple(map(float, xy.split(","))) for xy in p.get("points").split()]
    assert len(pts) >= 2 and [x for x, y in pts] == sorted(x for x, y in pts), name
peaks = {c.get("data-event"): int(c.get("data-bytes")) for c in root.iter(ns + "circle")
         if c.get("class") == "peak"}
assert sorted(peaks) == ["mmap", "page", "rss"] and peaks["page"] >= 64 << 20, peaks
assert not [e for e in root.iter() if e.tag.endswith("script") or e.get("href")], "not self-contained"
print("ok")
PY
exit 0
