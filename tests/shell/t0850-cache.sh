#!/bin/bash
# record -e cache: page cache pages the target adds, apart from its own pages.
# The workload writes a 1 MiB file (write_file), syncs it and drops it from
# the page cache, then reads it back (read_file): write_file added 1 MiB that
# is gone, read_file 1 MiB still cached at the end, and neither shows among
# the pages the process holds.  The JSON tree carries the cache as TezEdge's
# cacheValue.  -g dwarf: the callers of libc's read() and write(), which
# have no frame pointers, are on the stack.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc python3

# The page cache of tmpfs is its memory, not a cache: no filemap events there.
[ "$(stat -f -c %T "$T")" != tmpfs ] ||
	skip "$T is on tmpfs, which adds no page cache pages; set TMPDIR to a disk file system"

cat >"$T/cache.c" <<'EOF2'
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (1024 * 1024)

static char buf[64 * 1024];

__attribute__((noinline)) void write_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	for (int i = 0; i < SIZE / (int)sizeof(buf); i++)
		if (write(fd, buf, sizeof(buf)) != sizeof(buf))
			exit(2);
	/* Clean pages can be dropped: fadvise then deletes every one. */
	if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		exit(3);
	close(fd);
}

__attribute__((noinline)) long read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	long total = 0, n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return total;
}

int main(int argc, char **argv)
{
	/* Its pages are the process's own: taken here, not in the functions measured. */
	memset(buf, 'x', sizeof(buf));
	write_file(argv[1]);
	return read_file(argv[1]) == SIZE ? 0 : 1;
}
EOF2
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$T/cache" "$T/cache.c" ||
	fail "cannot build the cache workload"
record_ok -e page,cache -g dwarf -o "$T/c.data" -- "$T/cache" "$T/file"
grep -q "memprof: cache: .* events written (.* added, .* deleted), 0 lost" "$T/record.log" ||
	fail "record summary: $(cat "$T/record.log")"

# The exact figures come from the file's own pages (its inode): write() may also read
# the file system's metadata back into the cache in the workload's context, which is
# cache added under write_file too, but not of this file.  From script's events: per
# function, the bytes its stack added, of this file and of any file, and what of them
# is still cached at the end (page ids added and not deleted since).
"$MEMPROF" script -i "$T/c.data" --format=csv >"$T/ev.csv" 2>"$T/err" || fail "script: $(cat "$T/err")"
python3 - "$T/ev.csv" "$(stat -c %i "$T/file")" >"$T/figures" 2>&1 <<'PY' || fail "script: $(cat "$T/figures")"
import csv, sys
ino = " inode %s " % sys.argv[2]
live = {}                      # page id -> (function, of this file)
added = {}
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if r["type"] not in ("cache_add", "cache_del"):
        continue
    first, pages = int(r["address"], 16), int(r["size"]) // 4096
    if r["type"] == "cache_del":
        for p in range(first, first + pages):
            live.pop(p, None)
        continue
    frames = r["stack"].split(";")
    fn = next((f for f in ("write_file", "read_file") if f in frames and
               frames.index(f) + 1 < len(frames) and frames[frames.index(f) + 1] == "main"), None)
    if not fn:
        continue
    mine = ino in r["detail"]
    for key in ((fn, "any"), (fn, "file")) if mine else ((fn, "any"),):
        added[key] = added.get(key, 0) + int(r["size"])
    for p in range(first, first + pages):
        live[p] = (fn, mine)
for fn in ("write_file", "read_file"):
    print(fn, "added-file", added.get((fn, "file"), 0))
    print(fn, "added-any", added.get((fn, "any"), 0))
    print(fn, "live-file", 4096 * sum(1 for v in live.values() if v == (fn, True)))
    print(fn, "live-any", 4096 * sum(1 for v in live.values() if v[0] == fn))
PY
figure() { awk -v f="$1" -v w="$2" '$1 == f && $2 == w { print $3 }' "$T/figures"; }
assert_eq "cache of the file added by write_file" 1048576 "$(figure write_file added-file)"
assert_eq "cache of the file added by read_file" 1048576 "$(figure read_file added-file)"
assert_eq "write_file's cache of the file, dropped" 0 "$(figure write_file live-file)"
assert_eq "read_file's cache of the file, live" 1048576 "$(figure read_file live-file)"

# path_bytes FILE FRAME: the bytes of the folded stacks through main;FRAME.
path_bytes()
{
	awk -v f=";main;$2;" '{ v = $NF; if (index(";" $0, f)) s += v } END { print s + 0 }' "$1"
}

# report's trees say what script's events say, to the byte, whatever else was cached.
report_ok -i "$T/c.data" --event=cache --show=alloc --folded
assert_eq "cache added by write_file" "$(figure write_file added-any)" \
	"$(path_bytes "$T/out" write_file)"
assert_eq "cache added by read_file" "$(figure read_file added-any)" \
	"$(path_bytes "$T/out" read_file)"
report_ok -i "$T/c.data" --event=cache --folded
assert_eq "write_file's cache, live" "$(figure write_file live-any)" \
	"$(path_bytes "$T/out" write_file)"
assert_eq "read_file's cache, live" "$(figure read_file live-any)" \
	"$(path_bytes "$T/out" read_file)"
# The pages were allocated by the process, but they are cache, not its memory.
# (What the kernel took for itself in write(), journal and slab pages, is.)
report_ok -i "$T/c.data" --event=page --folded
grep -v ';\[kernel\] [0-9]*$' "$T/out" >"$T/own"
mv "$T/own" "$T/out"
assert_eq "cache pages among the process's pages" 0 \
	"$(( $(path_bytes "$T/out" write_file) + $(path_bytes "$T/out" read_file) ))"

# One JSON tree: pages as value, the page cache as cacheValue (bytes).
report_ok -i "$T/c.data" --format=json --threshold=0
python3 - "$T/out" "$(figure read_file live-any)" >"$T/q" 2>&1 <<'PY' ||
	fail "json: $(cat "$T/q")"
import json, sys
doc = json.load(open(sys.argv[1]))
read_live_kib = int(sys.argv[2])  # bytes, as JSON gives them
assert [s["event"] for s in doc] == ["page"], [s["event"] for s in doc]
def walk(n, path):
    path = path + [n["name"]["functionName"]]
    yield path, n
    for c in n["frames"]:
        yield from walk(c, path)
def find(fn):
    for top in doc[0]["frames"]:
        for path, n in walk(top, []):
            if path[-1] == fn and "main" in path:
                return n
rf, wf = find("read_file"), find("write_file")
assert rf and rf["cacheValue"] == read_live_kib and rf["value"] == 0, \
    rf and (rf["value"], rf["cacheValue"], read_live_kib)
assert not wf or wf["cacheValue"] == 0, wf["cacheValue"]
assert doc[0]["cacheValue"] >= 1 << 20, doc[0]["cacheValue"]
for path, n in ((p, n) for t in doc[0]["frames"] for p, n in walk(t, [])):
    kids = n["frames"]
    if kids:
        assert abs(sum(k["cacheValue"] for k in kids) - n["cacheValue"]) < 1e-6, path
print("ok")
PY

# Without -e cache the kernel's cache pages are still not the process's own:
# read_file's 1 MiB, cached at the end, is not among its live pages, and
# --stat says how much of its pages became page cache: write_file's 1 MiB and
# read_file's (and the odd page of file system metadata).
record_ok -e page -o "$T/p.data" -- "$T/cache" "$T/file"
report_ok -i "$T/p.data" --event=page --folded
grep -v ';\[kernel\] [0-9]*$' "$T/out" >"$T/own"
assert_eq "cache pages among the process's pages, without -e cache" 0 \
	"$(( $(path_bytes "$T/own" write_file) + $(path_bytes "$T/own" read_file) ))"
report_ok -i "$T/p.data" --stat
moved=$(sed -n 's/.*(\([0-9.]*\) \(MiB\|KiB\) became page cache).*/\1 \2/p' "$T/out")
case $moved in
"2.0"[0-9]" MiB") ;;
*) fail "--stat: page cache taken from the process's pages: '$moved': $(cat "$T/out")" ;;
esac

exit 0
