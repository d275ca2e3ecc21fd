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

# path_bytes FILE FRAME: the bytes of the folded stacks through main;FRAME.
path_bytes()
{
	awk -v f=";main;$2;" '{ v = $NF; if (index(";" $0, f)) s += v } END { print s + 0 }' "$1"
}

report_ok -i "$T/c.data" --event=cache --show=alloc --folded
assert_eq "cache added by write_file" 1048576 "$(path_bytes "$T/out" write_file)"
assert_eq "cache added by read_file" 1048576 "$(path_bytes "$T/out" read_file)"
report_ok -i "$T/c.data" --event=cache --folded
assert_eq "write_file's cache, dropped" 0 "$(path_bytes "$T/out" write_file)"
assert_eq "read_file's cache, live" 1048576 "$(path_bytes "$T/out" read_file)"
# The pages were allocated by the process, but they are cache, not its memory.
# (What the kernel took for itself in write(), journal and slab pages, is.)
report_ok -i "$T/c.data" --event=page --folded
grep -v ';\[kernel\] [0-9]*$' "$T/out" >"$T/own"
mv "$T/own" "$T/out"
assert_eq "cache pages among the process's pages" 0 \
	"$(( $(path_bytes "$T/out" write_file) + $(path_bytes "$T/out" read_file) ))"

# One JSON tree: pages as value, the page cache as cacheValue (KiB).
report_ok -i "$T/c.data" --format=json --threshold=0
python3 - "$T/out" >"$T/q" 2>&1 <<'PY' || fail "json: $(cat "$T/q")"
import json, sys
doc = json.load(open(sys.argv[1]))
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
assert rf and rf["cacheValue"] == 1024 and rf["value"] == 0, rf and (rf["value"], rf["cacheValue"])
assert not wf or wf["cacheValue"] == 0, wf["cacheValue"]
assert doc[0]["cacheValue"] >= 1024, doc[0]["cacheValue"]
for path, n in ((p, n) for t in doc[0]["frames"] for p, n in walk(t, [])):
    kids = n["frames"]
    if kids:
        assert abs(sum(k["cacheValue"] for k in kids) - n["cacheValue"]) < 1e-6, path
print("ok")
PY

# The cache's own records, in script: read_file's adds name the file's offsets.
"$MEMPROF" script -i "$T/c.data" --format=csv >"$T/ev.csv" 2>"$T/err" || fail "script: $(cat "$T/err")"
python3 - "$T/ev.csv" "$(stat -c %i "$T/file")" >"$T/q" 2>&1 <<'PY' || fail "script: $(cat "$T/q")"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1], newline="")) if r["type"] == "cache_add"]
mine = [r for r in rows if " inode %s " % sys.argv[2] in r["detail"] and "read_file" in r["stack"]]
offs = sorted(int(r["detail"].split()[-1]) for r in mine)
size = sum(int(r["size"]) for r in mine)
assert size == 1048576, size
print("ok")
PY
exit 0
