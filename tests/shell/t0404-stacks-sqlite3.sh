#!/bin/bash
# A real program whose libraries have no frame pointers: Debian's sqlite3
# running an SQL script (200k rows inserted, two indexes built, three GROUP
# BYs).  With no -g, its allocations reach main and _start through
# libsqlite3's own frames: at three allocation sites the stack is the one
# gdb's bt prints (frames without a symbol compared by file and offset),
# well under 1% of its heap and page bytes are under [incomplete], and
# nearly all its heap bytes are under _start, __libc_start_main and frames
# of libsqlite3.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/stacks.sh"
need_bpf
need_cmd gdb sqlite3 readelf

cat >"$T/script.sql" <<'EOF2'
CREATE TABLE t(a INTEGER, b TEXT, c REAL);
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 200000)
INSERT INTO t SELECT i, printf('row-%d-%s', i, hex(randomblob(8))), i * 0.5 FROM r;
CREATE INDEX ta ON t(a);
CREATE INDEX tb ON t(b);
SELECT a % 100, count(*) FROM t GROUP BY a % 100 LIMIT 3;
SELECT substr(b, 1, 6), sum(c) FROM t GROUP BY substr(b, 1, 6) LIMIT 3;
SELECT length(b), avg(a) FROM t GROUP BY length(b) LIMIT 3;
EOF2
sqlite=$(command -v sqlite3)
sqlite=$(readlink -f "$sqlite")

record_ok -e page,heap -o "$T/sq.data" -- "$sqlite" "$T/db" <"$T/script.sql"

# [incomplete]: under 1% of the bytes, heap and pages
for ev in heap page; do
	"$MEMPROF" report -i "$T/sq.data" --event $ev --show=alloc --folded >"$T/$ev.folded" ||
		fail "report --event $ev failed"
	pct=$(awk '{ t += $NF } /\[incomplete\]/ { i += $NF }
		END { if (t) printf "%.3f", 100 * i / t; else print "none" }' "$T/$ev.folded")
	awk -v p="$pct" 'BEGIN { exit !(p != "none" && p < 1) }' ||
		fail "$ev: $pct% of the bytes under [incomplete]"
done

# _start of the program: its entry point, as a file offset; a return address in
# _start lies within its first 64 bytes
entry=$(readelf -hW "$sqlite" | awk '/Entry point/ { print $NF }')
start_off=$(readelf -lW "$sqlite" | awk -v e="$entry" '
	function hex(s,   v, i) { v = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v }
	$1 == "LOAD" { off = hex($2); va = hex($3); sz = hex($5); x = hex(e)
		if (x >= va && x < va + sz) { print x - va + off; exit } }')
[ -n "$start_off" ] || fail "cannot find the entry point of $sqlite"
base=$(basename "$sqlite")
pct=$(awk -v b="$base" -v s="$start_off" '
	function hex(s,   v, i) { v = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v }
	{
		t += $NF; line = $0; sub(/ [0-9]+$/, "", line)
		n = split(line, f, ";")
		# process; _start; __libc_start_main; __libc_start_call_main; ... libsqlite3 ...
		ok = n > 4 && f[3] == "__libc_start_main" && f[4] == "__libc_start_call_main" &&
			index(f[2], "[unknown] " b "+0x") == 1 && index(line, "libsqlite3")
		if (ok) { o = hex(substr(f[2], length("[unknown] " b "+") + 1)); ok = o >= s && o < s + 64 }
		if (ok) g += $NF
	} END { if (t) printf "%.1f", 100 * g / t; else print 0 }' "$T/heap.folded")
awk -v p="$pct" 'BEGIN { exit !(p >= 90) }' ||
	fail "only $pct% of the heap bytes are under _start and libsqlite3's frames"

# three sites: malloc sizes that occur once in the trace, early, through libsqlite3
"$MEMPROF" script -i "$T/sq.data" >"$T/script.out" || fail "script failed"
sizes=$(awk '
	/: malloc: / { n++; sz = $5; cnt[sz]++; cur = sz; rec = n <= 3000; lib = 0; next }
	/^\t/ && cur != "" && index($0, "libsqlite3") { lib = 1 }
	/^$/ { if (cur != "" && rec && lib && !(cur in first)) first[cur] = n; cur = "" }
	END { for (s in first) if (cnt[s] == 1 && s >= 64) print first[s], s }' "$T/script.out" |
	sort -n | head -n 3 | awk '{ print $2 }')
[ "$(echo $sizes | wc -w)" = 3 ] || fail "fewer than 3 sites to compare: '$sizes'"
for size in $sizes; do
	rm -f "$T/db"
	GDB_ARGS="$T/db" STDIN="$T/script.sql" gdb_frames "$sqlite" "$size" >"$T/gdb.$size"
	memprof_frames "$T/sq.data" "$size" >"$T/memprof.$size"
	grep -q libsqlite3 "$T/gdb.$size" || fail "malloc($size): gdb's stack has no libsqlite3 frame"
	same "sqlite3, malloc($size)" "$T/gdb.$size" "$T/memprof.$size"
done
exit 0
