#!/bin/bash
# go tool pprof reads memprof serve's /debug/pprof/ profiles over HTTP, as it
# reads Go's: the heap's inuse_space first, allocs' alloc_space, and the
# pages' and the page cache's; the totals and hold's functions are report's
# figures of the trace serve wrote.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/live.sh"
need_bpf
need_cmd curl python3
need_go

serve_hold -d 5
wait_for "$T/serve.err" 'the recording ended' 30

# pprof PATH ARGS...: go tool pprof -top of the server's PATH, into $T/top.
pprof()
{
	local p=$1

	shift
	go tool pprof -top "$@" "http://127.0.0.1:$PORT$p" >"$T/top" 2>"$T/pprof.err" ||
		fail "go tool pprof $p failed: $(cat "$T/pprof.err")"
}
flat()
{
	awk -v f="$1" '$NF == f { print $1 }' "$T/top"
}

pprof /debug/pprof/heap -unit=B
grep -q '^Type: inuse_space$' "$T/top" || fail "heap's type: $(head -5 "$T/top")"
grep -q " of $(report_total --event heap --threshold 0)B total$" "$T/top" ||
	fail "heap's total is not report's: $(grep total "$T/top")"
assert_eq "hold_calloc inuse_space" 1000000B "$(flat hold_calloc)"
assert_eq "hold_malloc inuse_space" 524288B "$(flat hold_malloc)"
pprof /debug/pprof/heap -sample_index=inuse_objects
assert_eq "hold_malloc inuse_objects" 32 "$(flat hold_malloc)"
pprof /debug/pprof/allocs -unit=B
grep -q '^Type: alloc_space$' "$T/top" || fail "allocs' type: $(head -5 "$T/top")"
grep -q " of $(report_total --event heap --threshold 0 --show=alloc)B total$" "$T/top" ||
	fail "allocs' total is not report's: $(grep total "$T/top")"
pprof /debug/pprof/page -unit=B
grep -q " of $(report_total --event page --threshold 0)B total$" "$T/top" ||
	fail "page's total is not report's: $(grep total "$T/top")"
pprof /debug/pprof/cache -unit=B
grep -q " of $(report_total --event cache --threshold 0)B total$" "$T/top" ||
	fail "cache's total is not report's: $(grep total "$T/top")"
# The bytes are report --format=pprof's.
curl -sS -o "$T/heap.pb.gz" "http://127.0.0.1:$PORT/debug/pprof/heap"
"$MEMPROF" report -i "$T/live.data" --event heap --format=pprof >"$T/rep.pb.gz"
go tool pprof -raw "$T/heap.pb.gz" >"$T/a" 2>/dev/null
go tool pprof -raw "$T/rep.pb.gz" >"$T/b" 2>/dev/null
cmp -s "$T/a" "$T/b" || fail "/debug/pprof/heap is not report's profile: $(diff "$T/a" "$T/b" | head)"
hold_release
exit 0
