#!/bin/bash
# Format compatibility.  report reads every format version memprof has
# written: tests/data/vX.Y.data is a small trace recorded by the memprof of
# format X.Y (1.0, 1.2, 1.3 and 1.4 exist), and vX.Y.report the report it gave,
# reduced to what does not depend on the machine running the test (the
# totals and the per-process lines: frames depend on the ELF files found
# here).  A newer minor version is read with its additions skipped; a newer
# major is refused in one line that says to upgrade.
#
# MEMPROF_UPDATE_GOLDEN=1 rewrites the vX.Y.report files, on purpose only.
. "$(dirname "$0")/lib.sh"

[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"

# report_summary DATA: the machine-independent part of every view of DATA.
report_summary()
{
	local ev show

	for ev in page heap; do
		for show in live alloc; do
			"$MEMPROF" report -i "$1" --event $ev --show $show --threshold 0 \
				>"$T/out" 2>"$T/err" ||
				fail "report --event $ev --show $show on $1: $(cat "$T/err")"
			grep -q '^memprof: error:' "$T/err" && fail "errors on $1: $(cat "$T/err")"
			# (not the legend of [unknown] and the like: whether a frame is named
			# depends on the files found here)
			grep -E '^#|^ +[0-9.]+% +[0-9.,]+ [KMGT]?i?B +[0-9.,]+ [KMGT]?i?B  [^ ]' "$T/out" |
				grep -v '^# \['

			# the folded stacks hold every byte of the total
			"$MEMPROF" report -i "$1" --event $ev --show $show --folded \
				>"$T/folded" 2>"$T/err" || fail "report --folded on $1: $(cat "$T/err")"
			total=$(sed -n 's/^# event: .*, total \([0-9,]*\) bytes.*/\1/p' "$T/out" | tr -d ,)
			sum=$(awk '{ s += $NF } END { print s + 0 }' "$T/folded")
			[ "$sum" = "$total" ] ||
				fail "$1: $ev $show: folded stacks hold $sum bytes, the total is $total"
		done
	done
}

n=0
for data in "$ROOT"/tests/data/v*.data; do
	[ -e "$data" ] || continue
	golden=${data%.data}.report
	report_summary "$data" >"$T/summary"
	if [ -n "${MEMPROF_UPDATE_GOLDEN:-}" ]; then
		cp "$T/summary" "$golden"
	fi
	[ -f "$golden" ] || fail "$golden is missing"
	diff -u "$golden" "$T/summary" >"$T/diff" ||
		fail "report on $(basename "$data") differs from $(basename "$golden"):
$(cat "$T/diff")"
	n=$((n + 1))
done
[ "$n" -ge 1 ] || fail "no tests/data/v*.data trace"

# check_refused WHAT FILE PATTERN: exit 1, one error line matching PATTERN, no output.
check_refused()
{
	local rc

	"$MEMPROF" report -i "$2" >"$T/out" 2>"$T/err"
	rc=$?
	assert_eq "$1: exit status" 1 "$rc"
	assert_eq "$1: lines on stderr ($(head -c 300 "$T/err"))" 1 "$(wc -l <"$T/err")"
	grep -Eq "^memprof: error: $3" "$T/err" || fail "$1: unexpected message: $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "$1: output on stdout: $(head -c 300 "$T/out")"
}

CORPUS=$ROOT/tests/data/corpus
check_refused "newer major" "$CORPUS/newer-major-2.0" \
	".*was written by a newer memprof \\(format 2\.0, this one reads 1\.[0-9]+\\); upgrade memprof to read it$"
# the real trace with its major raised: refused before its CRC is looked at
cp "$ROOT/tests/data/v1.0.data" "$T/v3.data"
printf '\003\000\007\000' | dd of="$T/v3.data" bs=1 seek=8 conv=notrunc status=none
check_refused "major 3" "$T/v3.data" ".*newer memprof \\(format 3\.7, .*upgrade memprof"

# the other refusals say what they are
check_refused "bad magic" "$CORPUS/header-magic" ".*is not a memprof trace"
check_refused "short file" "$CORPUS/header-short" ".*is not a memprof trace"
check_refused "empty file" "$CORPUS/empty" ".*is not a memprof trace"
check_refused "header crc" "$CORPUS/header-crc" ".*memprof trace with a damaged header"
check_refused "major 0" "$CORPUS/header-major-0" ".*memprof trace with a damaged header"

# a newer minor: a longer header, unknown record types and fields, all skipped
report_ok -i "$CORPUS/newer-minor-1.9" --event heap
[ ! -s "$T/report.err" ] || fail "newer minor: stderr: $(cat "$T/report.err")"
grep -q '^# event: heap, total 128 bytes .* in 1 allocations' "$T/out" ||
	fail "newer minor: $(cat "$T/out")"

exit 0
