#!/bin/bash
# The build's switches: `make NO_BPF=1 O=DIR` builds, without clang, bpftool or the
# skeleton, a memprof under DIR (the binary too) whose reading commands work and whose
# record says it was built without BPF; nothing of it lands in the source tree.
. "$(dirname "$0")/lib.sh"

need_cmd make gcc
before=$(cd "$ROOT" && git status --porcelain --ignored 2>/dev/null | sort)
# No clang and no bpftool on the PATH: the reading side must not need them.
make -s -C "$ROOT" NO_BPF=1 O="$T/out" CLANG=/nonexistent/clang BPFTOOL=/nonexistent/bpftool \
	-j2 >"$T/make.log" 2>&1 || fail "make NO_BPF=1 O=DIR failed: $(tail -n 20 "$T/make.log")"
[ -x "$T/out/memprof" ] || fail "make O=DIR did not put the binary under DIR"
[ ! -e "$T/out/memprof.skel.h" ] || fail "NO_BPF=1 built the BPF skeleton"
after=$(cd "$ROOT" && git status --porcelain --ignored 2>/dev/null | sort)
[ "$before" = "$after" ] || fail "make O=DIR wrote into the source tree:
$(diff <(echo "$before") <(echo "$after"))"

"$T/out/memprof" report -i "$ROOT/tests/data/v1.0.data" --event=heap --show=alloc \
	>"$T/report" 2>/dev/null || fail "report of the NO_BPF=1 build failed"
grep -q '^# event: heap, total ' "$T/report" || fail "report of the NO_BPF=1 build: $(head -3 "$T/report")"

"$T/out/memprof" record -o "$T/x.data" -- true >"$T/out.log" 2>&1 &&
	fail "record of a NO_BPF=1 build succeeded"
grep -q "built without BPF" "$T/out.log" || fail "record of a NO_BPF=1 build says: $(cat "$T/out.log")"
[ ! -e "$T/x.data" ] || fail "record of a NO_BPF=1 build wrote a trace"
exit 0
