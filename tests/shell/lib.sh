# Sourced by every end-to-end test (tests/shell/tNNNN-*.sh): paths, a private
# temp dir, and the skip/fail/assert helpers.  A test exits 0 when it passes,
# 77 when it cannot run here (skip), anything else when it fails.
#
# Sets ROOT (the source tree), MEMPROF (the binary: $MEMPROF from make check, else
# ROOT/memprof), BUILD (the build directory: $MEMPROF_BUILD, else ROOT/build), WL
# (BUILD/workloads) and T (a temp dir, removed on exit, which is the test's working
# directory); all absolute paths.

set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MEMPROF=${MEMPROF:-$ROOT/memprof}
BUILD=${MEMPROF_BUILD:-$ROOT/build}
WL=$BUILD/workloads
TEST_NAME=$(basename "$0" .sh)

T=$(mktemp -d "${TMPDIR:-/tmp}/memprof-$TEST_NAME.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

# skip "reason": the test cannot run on this machine; the runner shows the reason.
skip()
{
	echo "skip: $*"
	exit 77
}

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# need_cmd CMD...: skip unless every command is installed.
need_cmd()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
	done
}

# need_bpf: skip unless this machine can run `memprof record` (root and kernel BTF) and
# memprof was built with it (not make NO_BPF=1).
need_bpf()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root to load BPF programs"
	[ -r /sys/kernel/btf/vmlinux ] || skip "no kernel BTF at /sys/kernel/btf/vmlinux"
	"$MEMPROF" record --help >/dev/null 2>&1 || skip "memprof was built without BPF (NO_BPF=1)"
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq()
{
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# assert_within_pct WHAT EXPECTED ACTUAL PCT: |actual - expected| <= pct% of expected
# (so an expected 0 needs an exact 0).  Numbers may be integers or decimals.
assert_within_pct()
{
	awk -v e="$2" -v a="$3" -v p="$4" 'BEGIN {
		if (e !~ /^-?[0-9]+(\.[0-9]+)?$/ || a !~ /^-?[0-9]+(\.[0-9]+)?$/) exit 2
		d = a - e; if (d < 0) d = -d
		m = e < 0 ? -e : e
		exit !(d <= m * p / 100)
	}' || fail "$1: expected $2 (within $4%), got '$3'"
}

# leaf_bytes FOLDED FUNCTION: the bytes of the stacks of a folded file
# ("a;b;c VALUE" lines) whose innermost frame is FUNCTION, summed; 0 if none.
leaf_bytes()
{
	awk -v f="$2" '{
		v = $NF; sub(/ [0-9]+$/, "")
		n = split($0, fr, ";")
		if (fr[n] == f) s += v
	} END { print s + 0 }' "$1"
}

# stack_bytes FOLDED STACK: the bytes of the stacks that end with the frames
# STACK ("main;leak_malloc"), summed; 0 if none.
stack_bytes()
{
	awk -v st="$2" '{
		v = $NF; sub(/ [0-9]+$/, "")
		$0 = ";" $0; st2 = ";" st
		if (substr($0, length($0) - length(st2) + 1) == st2) s += v
	} END { print s + 0 }' "$1"
}

# record_ok ARGS...: runs memprof record, failing the test with its output if it fails.
record_ok()
{
	"$MEMPROF" record "$@" >"$T/record.log" 2>&1 ||
		fail "memprof record $* failed: $(tail -n 5 "$T/record.log")"
}

# record_v_ok ARGS...: the same with memprof -v, which says where the heap probes go.
record_v_ok()
{
	"$MEMPROF" -v record "$@" >"$T/record.log" 2>&1 ||
		fail "memprof -v record $* failed: $(tail -n 5 "$T/record.log")"
}

# record_exits STATUS ARGS...: runs memprof record, failing the test unless it exits
# STATUS (the recorded command's, as record returns it) and wrote its summary.
record_exits()
{
	local want=$1 rc

	shift
	"$MEMPROF" record "$@" >"$T/record.log" 2>&1
	rc=$?
	[ "$rc" -eq "$want" ] ||
		fail "memprof record $* exited $rc, not $want: $(tail -n 5 "$T/record.log")"
	grep -q "^memprof: wrote" "$T/record.log" ||
		fail "memprof record $*: no summary: $(tail -n 5 "$T/record.log")"
}

# record_attach PID ARGS...: memprof record ARGS -p PID in the background, its output in
# $T/record.log and its PID in REC; returns once it says it records.
record_attach()
{
	local pid=$1 i

	shift
	"$MEMPROF" record "$@" -p "$pid" >"$T/record.log" 2>&1 &
	REC=$!
	for i in $(seq 300); do
		grep -q "^memprof: recording PID $pid" "$T/record.log" && return 0
		kill -0 "$REC" 2>/dev/null || fail "record exited early: $(cat "$T/record.log")"
		sleep 0.1
	done
	fail "record -p $pid did not start: $(cat "$T/record.log")"
}

# wait_line FILE PATTERN PID: returns once a line of FILE matches PATTERN (grep -E),
# polling every 50 ms; fails when process PID exits first or after 30 s.
wait_line()
{
	local i

	for i in $(seq 600); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || fail "exited before '$2': $(tail -n 5 "$1")"
		sleep 0.05
	done
	fail "no '$2' in $1 after 30 s: $(tail -n 5 "$1")"
}

# report_ok ARGS...: runs memprof report into $T/out, failing on error.
# wait_recording DATA PID: returns once record (PID, writing DATA, its output in
# $T/record.log) has begun: the first chunk, flushed as recording starts, is on
# disk.  Fails when record exits first or has not begun in 30 s.
wait_recording()
{
	local i
	for i in $(seq 300); do
		[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -gt 64 ] && return 0
		kill -0 "$2" 2>/dev/null || fail "record exited early: $(cat "$T/record.log")"
		sleep 0.1
	done
	fail "record has not begun in 30 s: $(cat "$T/record.log")"
}

report_ok()
{
	"$MEMPROF" report "$@" >"$T/out" 2>"$T/report.err" ||
		fail "memprof report $* failed: $(cat "$T/report.err")"
}

# tree_table FILE: the lines of a report tree (output/tree.c) as "DEPTH TOTAL SELF NAME",
# sizes back in bytes (as exact as the tree's two decimals in its unit), counts as they
# are; the header and other lines left out.
tree_table()
{
	awk 'function b(n, u) {
		gsub(",", "", n)
		m = u == "KiB" ? 1024 : u == "MiB" ? 1048576 : u == "GiB" ? 1073741824 : 1
		return n * (u == "TiB" ? 1099511627776 : m)
	}
	/^ *[0-9.]+% / {
		line = $0
		if (match(line, /^ *[0-9.]+% +[0-9.,]+ [KMGT]?i?B +[0-9.,]+ [KMGT]?i?B  /)) {
			t = b($2, $3); s = b($4, $5)
		} else if (match(line, /^ *[0-9.]+% +[0-9,]+ +[0-9,]+  /)) {
			t = b($2, ""); s = b($3, "")
		} else {
			next
		}
		name = substr(line, RLENGTH + 1)
		d = 0; while (substr(name, 1, 2) == "  ") { d++; name = substr(name, 3) }
		printf "%d %.0f %.0f %s\n", d, t, s, name
	}' "$1"
}

# tree_bytes FILE NAME: the total of the first tree line named NAME, in bytes (see tree_table).
tree_bytes()
{
	tree_table "$1" | awk -v n="$2" '{ d = $1; t = $2; $1 = $2 = $3 = ""; sub(/^ +/, "") }
		$0 == n { print t; exit }'
}

# tree_adds_up FILE: every node's children add up to its total, or to less (its self).
tree_adds_up()
{
	tree_table "$1" | awk '{ d[NR] = $1; t[NR] = $2; s[NR] = $3 } END {
		for (i = 1; i <= NR; i++) {
			sum = 0; kids = 0
			for (j = i + 1; j <= NR && d[j] > d[i]; j++)
				if (d[j] == d[i] + 1) { sum += t[j]; kids++ }
			# two decimals of each unit: 0.5% of a value, with one byte of slack per line
			tol = 0.005 * t[i] + kids + 1
			if (kids && (sum + s[i] - t[i] > tol || t[i] - sum - s[i] > tol)) {
				print "line " i ": total " t[i] ", self " s[i] ", children " sum; exit 1
			}
		}
	}'
}
