#!/bin/bash
# Runs every test: the unit tests (build/unit-tests, then build/unit-tests-san,
# the same built with ASan and UBSan), the golden suite of the report side
# (tests/golden/run.sh: no root, no BPF), then each end-to-end test
# tests/shell/tNNNN-*.sh in its own bash process (exit 0 = pass, 77 = skip,
# anything else = fail).  Ends with one line "N passed, N failed, N skipped" and
# exits non-zero if anything failed; each unit test and golden case counts as one.
#
# usage: tests/run-tests.sh [PATTERN...]
#   With patterns, only tests whose name (t0001-usage, "unit", "unit-san" or
#   "golden") contains one of them run, e.g. `tests/run-tests.sh usage t03`.
# MEMPROF_TEST_TIMEOUT (seconds, default 600) bounds each test.  MEMPROF_BUILD (the
# build directory, default build/) and MEMPROF (the binary, default ./memprof) say where
# `make O=DIR check` built them.

cd "$(dirname "$0")/.." || exit 1

# The end-to-end tests load BPF programs, which needs root: a user who may sudo runs
# them through it (the build stays theirs; root's tools in sbin, bpftool among them, on
# the PATH), and without sudo they are skipped and say so.
# The golden suite and the unit tests need no root, and do not ask.
needs_root=1
for p in "$@"; do
	case "$p" in unit* | golden) ;; *) needs_root=1; break ;; esac
	needs_root=
done
if [ "$(id -u)" -ne 0 ] && [ -n "$needs_root" ] && command -v sudo >/dev/null 2>&1; then
	exec sudo -- env MEMPROF="${MEMPROF:-}" MEMPROF_BUILD="${MEMPROF_BUILD:-}" \
		MEMPROF_TEST_TIMEOUT="${MEMPROF_TEST_TIMEOUT:-600}" \
		PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" "$0" "$@"
fi

passed=0
failed=0
skipped=0
timeout=${MEMPROF_TEST_TIMEOUT:-600}

selected()
{
	local p

	[ $# -gt 1 ] || return 0
	for p in "${@:2}"; do
		case "$1" in *"$p"*) return 0 ;; esac
	done
	return 1
}

indent()
{
	sed 's/^/    /'
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run_counted NAME PROGRAM WHAT: a program that runs tests of its own and ends with
# "N passed, N failed[, N skipped]" (the unit tests, the golden suite), each of its
# tests counted.
run_counted()
{
	local name=$1 bin=$2 what=$3 rc summary p f s more=

	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin is missing (run 'make check')"
		failed=$((failed + 1))
		return
	fi
	timeout -k 10 "$timeout" "$bin" </dev/null >"$out" 2>&1
	rc=$?
	summary=$(tail -n 1 "$out")
	s=0
	if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
		p=${BASH_REMATCH[1]}
		f=${BASH_REMATCH[2]}
		s=${BASH_REMATCH[4]:-0}
	else
		p=0
		f=1
	fi
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$s" -gt 0 ] && more=", $s skipped"
	if [ "$f" -eq 0 ]; then
		echo "ok   $name ($p $what$more)"
	else
		echo "FAIL $name (exit $rc, $f failed)"
		indent <"$out"
	fi
}

# The unit tests, then the same built with ASan and UBSan (make check builds both).
build=${MEMPROF_BUILD:-build}
selected unit "$@" && run_counted unit "$build/unit-tests" "unit tests"
selected unit-san "$@" && run_counted unit-san "$build/unit-tests-san" \
	"unit tests under ASan and UBSan"
# The report side's outputs, compared with tests/golden/expected/.
selected golden "$@" && run_counted golden tests/golden/run.sh cases

for t in tests/shell/t[0-9]*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	selected "$name" "$@" || continue
	start=$SECONDS
	timeout -k 10 "$timeout" bash "$t" </dev/null >"$out" 2>&1
	rc=$?
	secs=$((SECONDS - start))
	case $rc in
	0)
		echo "ok   $name (${secs}s)"
		passed=$((passed + 1))
		;;
	77)
		reason=$(grep '^skip: ' "$out" | tail -n 1)
		[ -n "$reason" ] || reason=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
		echo "skip $name: ${reason#skip: }"
		skipped=$((skipped + 1))
		;;
	*)
		[ "$rc" -eq 124 ] && echo "FAIL $name: timed out after ${timeout}s" ||
			echo "FAIL $name (exit $rc, ${secs}s)"
		indent <"$out"
		failed=$((failed + 1))
		;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
