#!/bin/bash
# report on files it must survive: every input of the reader's corpus
# (tests/data/corpus/: cut, damaged, crafted and hostile traces) and 300
# fresh mutations of a real trace (cut at 100 offsets, a byte changed at 100,
# and 100 with a few bytes of records changed behind a CRC made right again),
# each under a 10 s timeout and a 1 GiB address space limit.  Each run must
# end with status 0 (read what is sound, maybe warning) or 1 (refused), never
# a signal, a hang or unbounded allocation, and say at most a few lines on
# stderr, each a "memprof: error:" or "memprof: warning:" line.
#
# Then traces of little data asking for much work (quadratic before), or much memory.
#
# Then the paths a trace names: report opens them only to read, and runs
# nothing: a FILE path that does not exist is not created, an executable
# script at one is not run, a FIFO at one does not hang it.
. "$(dirname "$0")/lib.sh"

[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"
GEN=$BUILD/gen-corpus
[ -x "$GEN" ] || fail "$GEN is not built (run 'make check')"
need_cmd timeout

MAX_STDERR_LINES=8

# survive WHAT FILE [OPTION...]: report on FILE must end well, see above.
survive()
{
	local what=$1 file=$2 bad
	shift 2

	(ulimit -v 1048576 && exec timeout -k 5 10 "$MEMPROF" report -i "$file" "$@") \
		>"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "$what: report timed out"
	[ "$rc" -le 1 ] || fail "$what: report exited $rc: $(head -c 1000 "$T/err")"
	[ "$(wc -l <"$T/err")" -le $MAX_STDERR_LINES ] ||
		fail "$what: $(wc -l <"$T/err") lines on stderr: $(head -c 1000 "$T/err")"
	bad=$(grep -v -e '^memprof: error: ' -e '^memprof: warning: ' "$T/err" | head -n 3)
	[ -z "$bad" ] || fail "$what: unexpected on stderr: $bad"
	if [ "$rc" -eq 1 ]; then
		grep -q '^memprof: error: ' "$T/err" || fail "$what: exit 1 without an error line"
	fi
	ran=$((ran + 1))
}

ran=0
opts=("" "--folded" "--reverse --show=alloc --threshold 0" "--event heap" "--event page")
i=0
for f in "$ROOT"/tests/data/corpus/*; do
	# shellcheck disable=SC2086
	survive "corpus $(basename "$f")" "$f" ${opts[i % ${#opts[@]}]}
	i=$((i + 1))
done

# Mutations of a real trace: deterministic, so a failure names what to replay.
REAL=$ROOT/tests/data/v1.0.data
size=$(stat -c %s "$REAL")
[ "$size" -gt 1000 ] || fail "$REAL is too small to mutate ($size bytes)"
for ((k = 0; k < 100; k++)); do
	off=$((k * size / 100 + k % 7))
	head -c "$off" "$REAL" >"$T/cut.data"
	survive "$REAL cut at $off" "$T/cut.data" ${opts[k % ${#opts[@]}]}
done
seed=12345
cp "$REAL" "$T/flip.data"
for ((k = 0; k < 100; k++)); do
	seed=$(((seed * 1103515245 + 12345) % 2147483648))
	off=$((seed % size))
	byte=$(($(od -An -tu1 -j "$off" -N1 "$REAL") ^ ((seed >> 8) % 255 + 1)))
	printf "$(printf '\\%03o' "$byte")" | dd of="$T/flip.data" bs=1 seek="$off" conv=notrunc status=none
	survive "$REAL with byte $off set to $byte" "$T/flip.data" ${opts[k % ${#opts[@]}]}
	dd if="$REAL" of="$T/flip.data" bs=1 skip="$off" seek="$off" count=1 conv=notrunc status=none
done
# those mostly stop at a CRC: these change records behind a CRC made right again
for ((k = 0; k < 100; k++)); do
	"$GEN" --mutate "$REAL" "$T/mutated.data" "$k" || fail "gen-corpus --mutate failed"
	survive "gen-corpus --mutate $REAL, seed $k" "$T/mutated.data" ${opts[k % ${#opts[@]}]}
done
[ "$ran" -ge 350 ] || fail "only $ran runs"

# Little data asking for much work: 400000 maps in the worst order to insert
# (quadratic, 20 s before), and 10000 forks of a process of 10000 maps at as
# many points (a view of 10000 maps each: gigabytes before).  Both must stay
# within the limits; the second leaves processes unresolved and says so.
"$GEN" --maps "$T/maps.data" 400000 || fail "gen-corpus --maps failed"
survive "400000 maps" "$T/maps.data" --event heap
assert_eq "400000 maps: exit status" 0 "$rc"
"$GEN" --forks "$T/forks.data" 10000 || fail "gen-corpus --forks failed"
survive "10000 forks of 10000 maps" "$T/forks.data" --event heap --folded
assert_eq "10000 forks: exit status" 0 "$rc"
grep -q "^memprof: warning: [0-9]* processes inherit more mappings than report resolves" \
	"$T/err" || fail "10000 forks: no warning about unresolved processes: $(cat "$T/err")"

# Stacks that compress to nothing, which report's stack table bounds by the trace's
# size: 129055 copies of one stack of 512 frames (13 KB of trace, 537 MB of report's
# memory before) and 100000 different ones (222 KB, out of memory in 256 MiB before).
# Under a 256 MiB address space limit both are read in full, the second with a warning
# that the stacks past the bound were not kept.
limited()
{
	(ulimit -v 262144 && exec timeout -k 5 20 "$MEMPROF" report -i "$1" --event heap --folded) \
		>"$T/out" 2>"$T/err"
}
"$GEN" --stacks "$T/repeated.data" 129055 || fail "gen-corpus --stacks failed"
limited "$T/repeated.data" || fail "129055 copies of a stack in 256 MiB: exit $?: $(cat "$T/err")"
grep -q "stacks\? of .* not kept" "$T/err" && fail "copies of one stack dropped: $(cat "$T/err")"
"$GEN" --distinct-stacks "$T/stacks.data" 100000 || fail "gen-corpus --distinct-stacks failed"
limited "$T/stacks.data" || fail "100000 stacks in 256 MiB: exit $?: $(cat "$T/err")"
grep -q "^memprof: warning: [0-9]* stacks of '.*stacks.data' not kept: the stack table would" \
	"$T/err" || fail "100000 stacks: no warning of the stacks not kept: $(cat "$T/err")"
# Format 1.5's nodes are kept as the trace gives them: 100000 records of 512 nodes each
# (51 million nodes, 900 MB at 18 bytes) are bounded the same way.
"$GEN" --stack-nodes "$T/nodes.data" 100000 || fail "gen-corpus --stack-nodes failed"
limited "$T/nodes.data" || fail "100000 runs of 512 nodes in 256 MiB: exit $?: $(cat "$T/err")"
grep -q "^memprof: warning: [0-9]* stacks of '.*nodes.data' not kept: the stack table would" \
	"$T/err" || fail "100000 runs of nodes: no warning of the stacks not kept: $(cat "$T/err")"
# Chunks that inflate to 60 MiB each from a few KB: the reader's threads run ahead
# of it over such chunks no further than one (16 of them took 500 MB before).
"$GEN" --inflating-chunks "$T/inflating.data" 16 || fail "gen-corpus --inflating-chunks failed"
(ulimit -v 262144 && exec timeout -k 5 20 "$MEMPROF" report -i "$T/inflating.data" --header-only) \
	>"$T/out" 2>"$T/err" || fail "16 chunks of 60 MiB in 256 MiB: exit $?: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "16 chunks of 60 MiB: $(cat "$T/err")"

# ---- paths from the trace are only read ----
mkdir "$T/files"
cat >"$T/files/script.sh" <<EOS
#!/bin/sh
touch "$T/files/executed"
EOS
chmod +x "$T/files/script.sh"
cp "$T/files/script.sh" "$T/script.orig"
mkfifo "$T/files/fifo"
mkdir "$T/files/dir"
paths=("$T/files/absent" "$T/files/no-such-dir/lib.so" "$T/files/script.sh" "$T/files/fifo"
       "$T/files/dir" "$T/files/absent (deleted)")
"$GEN" --files "$T/paths.data" "${paths[@]}" || fail "gen-corpus --files failed"
snapshot() { find "$T/files" -printf '%p %y %s %m %T@ %C@\n' | sort; }
snapshot >"$T/files.before"

trace_cmd=()
if command -v strace >/dev/null 2>&1; then
	trace_cmd=(strace -f -qq -e trace=open,openat,openat2,creat,execve,execveat,mknod,mknodat
		   -o "$T/strace")
fi
"${trace_cmd[@]}" timeout -k 5 10 "$MEMPROF" report -i "$T/paths.data" >"$T/out" 2>"$T/err"
rc=$?
assert_eq "report on a trace naming hostile paths: exit status ($(head -c 500 "$T/err"))" 0 "$rc"
[ ! -e "$T/files/absent" ] || fail "report created a file the trace names"
[ ! -e "$T/files/no-such-dir" ] || fail "report created a directory the trace names"
[ ! -e "$T/files/executed" ] || fail "report ran a script the trace names"
cmp -s "$T/files/script.sh" "$T/script.orig" || fail "report changed a file the trace names"
[ -p "$T/files/fifo" ] || fail "the FIFO the trace names is gone"
snapshot >"$T/files.after"
diff -u "$T/files.before" "$T/files.after" >"$T/diff" ||
	fail "report changed the files the trace names: $(cat "$T/diff")"
for p in "$T/files/absent" "$T/files/script.sh"; do
	grep -q "'$p'" "$T/err" || fail "no warning about '$p': $(cat "$T/err")"
done

# with strace: nothing opened to write or create, one execve (report itself)
if [ ${#trace_cmd[@]} -gt 0 ]; then
	writes=$(grep -E 'O_(WRONLY|RDWR|CREAT|TRUNC)|creat\(|mknod' "$T/strace" | head -n 5)
	[ -z "$writes" ] || fail "report opened files to write: $writes"
	execs=$(grep -c 'execve' "$T/strace")
	assert_eq "execve calls (timeout, then memprof)" 2 "$execs"
else
	echo "note: strace is not installed; the system calls were not checked"
fi

exit 0
