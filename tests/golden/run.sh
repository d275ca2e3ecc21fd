#!/bin/bash
# The golden suite: runs memprof's reading commands (report, script, diff,
# buildid-list) on traces that tests/tools/gen-trace writes, and compares what
# they print with tests/golden/expected/NAME.out, so that any change in a
# report's output shows, on any machine, without root or BPF.
#
# usage: tests/golden/run.sh [-v] [PATTERN...]
#   With patterns, only the cases whose name contains one of them run.  -v says
#   "ok NAME" for each case that passes too.  Ends with one line "N passed,
#   N failed, N skipped" (tests/run-tests.sh counts each case from it) and exits
#   non-zero if a case failed.
#
# MEMPROF_UPDATE_GOLDEN=1 writes what the cases print as their expected
# outputs instead of comparing (and removes expected files no case has any
# more): run it after changing an output on purpose, and commit the expected
# files with the change, so that the diff shows what changed.
# MEMPROF (the binary, default ./memprof) and MEMPROF_BUILD (the build
# directory holding gen-trace, default build/) say where `make O=DIR` built them.
#
# tests/golden/cases lists the traces and the cases; see the comment at its top.
# An expected file is the command line ("$ memprof ARGS"), what it printed on
# stdout, then after a "==> stderr <==" line what it printed on stderr, after
# a "==> file NAME <==" line each file it wrote in $OUT, and "==> exit status N
# <==" when N is not 0; each part only when there is something to show.
#
# What depends on the machine (the build directory, the build-id of gen-trace,
# the addresses and file offsets of its code) is replaced before the comparison
# by the filters each case names, the filter_* functions below; a case names
# only those it needs, so that everything else is compared exactly.  Traces
# are written afresh on every run: gen-trace takes its stacks from itself, so
# they must match the gen-trace binary that report symbolizes them with.

set -u
set -f	# the case lines are split into words, never globbed

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MEMPROF=${MEMPROF:-$ROOT/memprof}
BUILD=${MEMPROF_BUILD:-$ROOT/build}
GEN=$BUILD/gen-trace
GOLDEN=$ROOT/tests/golden
update=${MEMPROF_UPDATE_GOLDEN:-}
verbose=

if [ "${1:-}" = -v ]; then
	verbose=1
	shift
fi

case $MEMPROF in /*) ;; *) MEMPROF=$PWD/$MEMPROF ;; esac
case $GEN in /*) ;; *) GEN=$PWD/$GEN ;; esac
for f in "$MEMPROF" "$GEN"; do
	if [ ! -x "$f" ]; then
		echo "FAIL golden: $f is missing (run 'make && make ${GEN#"$ROOT"/}')"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done

# The same results whatever the environment: no debuginfod server asked, no
# build-id cache of the user's, C collation for the tools below.
export LC_ALL=C
export DEBUGINFOD_URLS=
export MEMPROF_BUILDID_DIR=buildid-cache	# relative: messages name it the same everywhere
unset XDG_CACHE_HOME

W=$(mktemp -d "${TMPDIR:-/tmp}/memprof-golden.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

# What gen-trace records of itself, for the filters: its build-id and path.
read -r SELF_BID SELF_PATH < <("$GEN" --print-self)
if [[ ! $SELF_BID =~ ^([0-9a-f]{2})+$ ]] || [ -z "$SELF_PATH" ]; then
	echo "FAIL golden: $GEN --print-self says '$SELF_BID $SELF_PATH', not a build-id and a path"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
# --mismatch records that build-id with its first byte flipped.
MISMATCH_BID=$(printf '%02x' $((0x${SELF_BID:0:2} ^ 0xff)))${SELF_BID:2}

# sed_literal STRING: STRING escaped to match itself in a sed regular expression.
sed_literal()
{
	printf '%s' "$1" | sed 's/[][\.*^$/|+?(){}]/\\&/g'
}

# ---- filters: each reads a case's output on stdin and writes it normalized ----

# self: gen-trace's path, where it was built (its recorded path: buildid-list,
# pprof's mappings, warnings), becomes $MEMPROF_BUILD/gen-trace, and its
# build-id (40 hex digits with GNU ld's default, different with each compiler
# and build) GEN_TRACE_BUILD_ID, MISMATCHED_BUILD_ID with the first byte that
# --mismatch flips.
filter_self()
{
	sed -E -e "s|$(sed_literal "$SELF_PATH")|\$MEMPROF_BUILD/gen-trace|g" \
		-e "s/$SELF_BID/GEN_TRACE_BUILD_ID/g" -e "s/$MISMATCH_BID/MISMATCHED_BUILD_ID/g"
}

# postfork: the frame exiter [1001] cannot name, at the address where its
# parent mapped gen-trace's text again after the fork (0x10000000 plus the
# offset of a return address in probe_fn, which the compiler decides):
# `[unknown] 0x10000790` becomes `[unknown] 0x1000XXXX`.
filter_postfork()
{
	sed -E 's/\<0x1000[0-9a-f]{4}\>/0x1000XXXX/g'
}

# offset: the "offset" fields of report's JSON for gen-trace's frames, their
# offsets in the file, which the compiler decides, become "0xOFFSET"; those of
# other frames (0x0 for processes, libgone.so.1's made-up 0x123) stay.  The
# frame exiter [1001] cannot name has its address there: see postfork.
filter_offset()
{
	sed -E 's/("executable":"gen-trace","offset":")0x[0-9a-f]+"/\10xOFFSET"/g'
}

# fileoff: the file offsets in the names of frames whose file report could not
# use (`[unknown] gen-trace+0x2754` with --mismatch) become 0xOFFSET.
filter_fileoff()
{
	sed -E 's/(\[unknown\] gen-trace\+)0x[0-9a-f]+/\10xOFFSET/g'
}

# pprof: stdout is a gzipped pprof profile; what `go tool pprof -raw` prints of
# it is compared instead, its Locations' addresses (gen-trace's, moved by
# ASLR) as 0xADDR and its Mappings' start/end/offset as 0xSTART/0xEND/0xOFFSET.
# Applied to stdout alone, before the other filters; the case is skipped where
# go is not installed.
filter_pprof()
{
	local f=$W/profile.pb.gz

	cat >"$f"
	go tool pprof -raw "$f" 2>&1 |
		sed -E -e 's/^( *[0-9]+: )0x[0-9a-f]+( M=)/\10xADDR\2/' \
			-e 's|^([0-9]+: )0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ |\10xSTART/0xEND/0xOFFSET |'
	rm -f "$f"
}

# ---- the traces and the cases ----

passed=0
failed=0
skipped=0
declare -A seen

selected()
{
	local p

	[ ${#patterns[@]} -eq 0 ] && return 0
	for p in "${patterns[@]}"; do
		case "$1" in *"$p"*) return 0 ;; esac
	done
	return 1
}

fail()
{
	echo "FAIL $1${2:+: $2}"
	failed=$((failed + 1))
}

# make_trace NAME ARGS...: NAME.data, by gen-trace ARGS.
make_trace()
{
	local name=$1

	shift
	"$GEN" -o "$name.data" "$@" 2>"$name.err" ||
		{ fail "trace $name" "gen-trace $* failed: $(cat "$name.err")"; return 1; }
}

# run_case NAME FILTERS ARGS...: runs memprof ARGS, writes the normalized output
# to $W/actual.
run_case()
{
	local name=$1 filters=$2 f rc
	local args=("${@:3}")

	rm -rf out
	mkdir out
	"$MEMPROF" "${args[@]}" >stdout 2>stderr </dev/null
	rc=$?
	case ",$filters," in
	*,pprof,*) filter_pprof <stdout >stdout.txt && mv stdout.txt stdout ;;
	esac
	{
		echo "\$ memprof ${args[*]}"
		cat stdout
		if [ -s stderr ]; then
			echo "==> stderr <=="
			cat stderr
		fi
		for f in $(cd out && ls); do
			echo "==> file $f <=="
			cat "out/$f"
		done
		[ "$rc" -eq 0 ] || echo "==> exit status $rc <=="
	} >actual.raw
	for f in ${filters//,/ }; do
		[ "$f" = - ] || [ "$f" = pprof ] && continue
		if ! declare -F "filter_$f" >/dev/null; then
			fail "$name" "no filter '$f' (tests/golden/run.sh)"
			return 1
		fi
		"filter_$f" <actual.raw >actual.tmp && mv actual.tmp actual.raw
	done
	mv actual.raw actual
}

patterns=("$@")
lineno=0
while read -r -a words; do
	lineno=$((lineno + 1))
	[ ${#words[@]} -eq 0 ] && continue
	case ${words[0]} in \#*) continue ;; esac
	if [ "${words[0]}" = trace ]; then
		make_trace "${words[@]:1}"
		continue
	fi
	name=${words[0]}
	filters=${words[1]:-}
	if [ ${#words[@]} -lt 3 ] || [[ ! $name =~ ^[a-z0-9][a-z0-9.-]*$ ]] ||
	   [ -n "${seen[$name]:-}" ]; then
		fail "cases:$lineno" "a case is NAME FILTERS ARGS..., its name unique, [a-z0-9.-]"
		continue
	fi
	seen[$name]=1
	selected "$name" || continue
	exp=$GOLDEN/expected/$name.out
	case ",$filters," in
	*,pprof,*)
		if ! command -v go >/dev/null 2>&1; then
			echo "skip $name: go is not installed (pprof output is read with go tool pprof)"
			skipped=$((skipped + 1))
			continue
		fi
		;;
	esac
	args=()
	for a in "${words[@]:2}"; do
		a=${a//\$TRACE/main.data}
		args+=("${a//\$OUT/out}")
	done
	run_case "$name" "$filters" "${args[@]}" || continue
	if [ -n "$update" ]; then
		cmp -s actual "$exp" || { cp actual "$exp" && echo "updated $name"; }
		passed=$((passed + 1))
	elif [ ! -f "$exp" ]; then
		fail "$name" "tests/golden/expected/$name.out is missing (MEMPROF_UPDATE_GOLDEN=1 writes it)"
	elif diff -u --label "expected/$name.out" --label "actual" "$exp" actual >diff; then
		[ -n "$verbose" ] && echo "ok   $name"
		passed=$((passed + 1))
	else
		fail "$name"
		cat diff
	fi
done <"$GOLDEN/cases"

# Expected files of no case: a case renamed or removed, its old output left behind.
set +f
if [ ${#patterns[@]} -eq 0 ]; then
	for exp in "$GOLDEN"/expected/*.out; do
		[ -e "$exp" ] || continue
		name=$(basename "$exp" .out)
		[ -n "${seen[$name]:-}" ] && continue
		if [ -n "$update" ]; then
			rm -f "$exp" && echo "removed $name"
		else
			fail "$name" "tests/golden/expected/$name.out belongs to no case in tests/golden/cases"
		fi
	done
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
