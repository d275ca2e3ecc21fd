#!/bin/bash
# -g cfi when record is late: the kernel side keeps the mappings a new target
# makes until record has read its maps, and the program's own text, mapped at
# its exec, stays there however many libraries it maps next.  record --exec
# builds the tables of Debian's sqlite3 and its libraries (nine executable
# mappings with ld.so and the vDSO) before it waits; it is then stopped
# while sqlite3 runs its whole script, so that every stack is taken before
# record reads a map.  Every one of them is complete, up to
# __libc_start_main.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd sqlite3

sqlite=$(readlink -f "$(command -v sqlite3)")
[ "$(ldd "$sqlite" | wc -l)" -ge 8 ] || fail "$sqlite maps fewer libraries than this test needs"
cat >"$T/script.sql" <<'EOF2'
CREATE TABLE t(a INTEGER, b TEXT);
WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 20000)
INSERT INTO t SELECT i, printf('row-%d', i) FROM r;
EOF2

"$MEMPROF" record --exec "$sqlite" -e heap -d 60 -o "$T/l.data" >"$T/record.log" 2>&1 &
REC=$!
wait_line "$T/record.log" "waiting for a process running" "$REC"
kill -STOP "$REC"
"$sqlite" "$T/db" <"$T/script.sql" || { kill -CONT "$REC"; fail "sqlite3 failed"; }
kill -CONT "$REC"
wait "$REC" || fail "record failed: $(tail -n 5 "$T/record.log")"

taken=$(sed -n 's/^memprof: stacks: \([0-9]*\) taken, .*/\1/p' "$T/record.log")
[ "${taken:-0}" -gt 10000 ] || fail "too few stacks: $(grep stacks "$T/record.log")"
grep -qx "memprof: stacks: $taken taken, 0 incomplete (0 in code without call frame information, 0 at the depth limit, 0 with unreadable stack memory, 0 other)" \
	"$T/record.log" || fail "record's summary: $(grep stacks "$T/record.log")"
report_ok -i "$T/l.data" --show=count --folded
! grep -q '\[incomplete\]' "$T/out" || fail "stacks under [incomplete]: $(grep -m 3 incomplete "$T/out")"
total=$(awk '{ t += $NF } END { print t }' "$T/out")
main=$(awk -F';' '$3 == "__libc_start_main" { split($NF, v, " "); t += v[length(v)] } END { print t + 0 }' "$T/out")
assert_eq "allocations under __libc_start_main" "$total" "$main"
exit 0
