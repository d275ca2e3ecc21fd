#!/bin/bash
# memprof record -e heap finds the allocator wherever it lives: the C library's, a static program's
# own, Debian's jemalloc and tcmalloc in LD_PRELOAD, jemalloc linked into the
# executable, C++'s operators new and delete under tcmalloc (which do not go
# through its malloc), an allocator whose functions call each other; every figure
# exact (tests/workloads/heap.c, cxxheap.cc, nested.c).
# A static program whose allocator cannot be found is said, once, with what to do.
. "$(dirname "$0")/lib.sh"
need_bpf

"$ROOT/scripts/install-deps" --test >/dev/null || fail "scripts/install-deps --test failed"
JE=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
[ -r "$JE" ] && [ -r "$TC" ] || fail "libjemalloc2 or libtcmalloc-minimal4 missing after install-deps"
[ -x "$WL/heap-jemalloc" ] || fail "no $WL/heap-jemalloc: libjemalloc-dev missing at build time"

# heap_figures NAME: the figures of tests/workloads/heap.c in $T/NAME.data, exact.
heap_figures()
{
	local name=$1 live alloc

	grep -q "memprof: heap: .* events written .*, 0 lost" "$T/record.log" ||
		fail "$name: record summary: $(cat "$T/record.log")"
	grep -q "warning" "$T/record.log" && fail "$name: a warning: $(cat "$T/record.log")"
	report_ok -i "$T/$name.data" --folded
	live=$T/$name.live
	cp "$T/out" "$live"
	report_ok -i "$T/$name.data" --folded --show=alloc
	alloc=$T/$name.alloc
	cp "$T/out" "$alloc"
	assert_eq "$name: leak_malloc live" 409600 "$(stack_bytes "$live" "main;leak_malloc")"
	assert_eq "$name: leak_calloc live" 1000000 "$(stack_bytes "$live" "main;leak_calloc")"
	assert_eq "$name: freed_malloc live" 0 "$(stack_bytes "$live" "main;freed_malloc")"
	assert_eq "$name: freed_malloc alloc" 409600 "$(stack_bytes "$alloc" "main;freed_malloc")"
	assert_eq "$name: leak_realloc live" 300000 "$(stack_bytes "$live" "main;leak_realloc")"
	assert_eq "$name: leak_realloc alloc" 306000 "$(stack_bytes "$alloc" "main;leak_realloc")"
	assert_eq "$name: posix_memalign live" 100000 \
		"$(stack_bytes "$live" "main;leak_posix_memalign")"
	assert_eq "$name: aligned_alloc live" 40960 "$(stack_bytes "$live" "main;leak_aligned_alloc")"
	assert_eq "$name: memalign live" 21000 "$(stack_bytes "$live" "main;leak_memalign")"
	assert_eq "$name: valloc live" 36864 "$(stack_bytes "$live" "main;leak_valloc")"
	assert_eq "$name: thread_leak live" 204800 "$(stack_bytes "$live" "thread_main;thread_leak")"
	assert_eq "$name: child_leak live" 614400 "$(stack_bytes "$live" "main;child_leak")"
	# blocks: leak_calloc's 1000, leak_malloc's 100
	report_ok -i "$T/$name.data" --folded --show=leaks
	assert_eq "$name: leak_calloc blocks" 1000000 "$(stack_bytes "$T/out" "main;leak_calloc")"
	report_ok -i "$T/$name.data" --show=leaks --threshold 0
	grep -q '^ *[0-9.]*% *976\.56 KiB  *976\.56 KiB  *leak_calloc  *(1,000 blocks)$' "$T/out" ||
		fail "$name: leak_calloc's blocks: $(grep leak_calloc "$T/out")"
}

# the C library's, with uprobe_multi links as sessions (the default where the kernel has
# them), as links of entries and of returns (kernels 6.6-6.12) and with a link per site
# (older kernels), the same figures
record_ok -e heap -o "$T/libc.data" -- "$WL/heap"
heap_figures libc
MEMPROF_NO_UPROBE_MULTI=session record_ok -e heap -o "$T/nosession.data" -- "$WL/heap"
heap_figures nosession
MEMPROF_NO_UPROBE_MULTI=1 record_ok -e heap -o "$T/single.data" -- "$WL/heap"
heap_figures single

# a static program: glibc's malloc in the executable
record_v_ok -e heap -o "$T/static.data" -- "$WL/heap-static"
grep -q "^memprof: heap probes on '$WL/heap-static' (" "$T/record.log" ||
	fail "static: no probes on the executable: $(cat "$T/record.log")"
heap_figures static

# jemalloc and tcmalloc preloaded; jemalloc in the executable
LD_PRELOAD=$JE record_ok -e heap -o "$T/je.data" -- "$WL/heap"
heap_figures je
LD_PRELOAD=$TC record_ok -e heap -o "$T/tc.data" -- "$WL/heap"
heap_figures tc
record_ok -e heap -o "$T/jexe.data" -- "$WL/heap-jemalloc"
heap_figures jexe

# C++ under tcmalloc: its operators new and delete, sized and aligned, probed themselves
LD_PRELOAD=$TC record_ok -e heap -o "$T/cxx.data" -- "$WL/cxxheap"
report_ok -i "$T/cxx.data" --folded
cp "$T/out" "$T/cxx.live"
report_ok -i "$T/cxx.data" --folded --show=alloc
assert_eq "new_objects live" 48000 "$(stack_bytes "$T/cxx.live" "main;new_objects()")"
assert_eq "new_arrays live" 409600 "$(stack_bytes "$T/cxx.live" "main;new_arrays()")"
assert_eq "new_nothrow live" 10000 "$(stack_bytes "$T/cxx.live" "main;new_nothrow()")"
assert_eq "new_aligned live" 5120 "$(stack_bytes "$T/cxx.live" "main;new_aligned()")"
assert_eq "deleted live" 0 "$(stack_bytes "$T/cxx.live" "main;deleted()")"
assert_eq "deleted alloc" 12800 "$(stack_bytes "$T/out" "main;deleted()")"
assert_eq "new_objects alloc" 48000 "$(stack_bytes "$T/out" "main;new_objects()")"

# an allocator whose functions call each other (calloc and realloc call its malloc, realloc
# its free, aligned_alloc its memalign): each call counted once, as the outermost function's,
# in a session, in links of entries and of returns and with a link per site
# (tests/workloads/nested.c)
for how in session multi single; do
	case $how in
	session) no= ;;
	multi) no=session ;;
	single) no=1 ;;
	esac
	MEMPROF_NO_UPROBE_MULTI=$no record_ok -e heap -o "$T/nested.$how.data" -- "$WL/nested"
	grep -q "^memprof: heap: 260 events written (210 allocations, 20 reallocs, 30 frees), 0 lost$" \
		"$T/record.log" || fail "nested $how: record summary: $(grep 'heap:' "$T/record.log")"
	report_ok -i "$T/nested.$how.data" --folded
	cp "$T/out" "$T/nested.live"
	report_ok -i "$T/nested.$how.data" --folded --show=alloc
	cp "$T/out" "$T/nested.alloc"
	report_ok -i "$T/nested.$how.data" --folded --show=count
	for f in "leak_calloc 100000 100000 100" "leak_realloc 50000 50000 50" \
		"grow_realloc 100000 102000 40" "leak_aligned 6400 6400 10" "freed_calloc 0 60000 30"; do
		set -- $f
		assert_eq "nested $how: $1 live" "$2" "$(stack_bytes "$T/nested.live" "main;$1")"
		assert_eq "nested $how: $1 alloc" "$3" "$(stack_bytes "$T/nested.alloc" "main;$1")"
		assert_eq "nested $how: $1 calls" "$4" "$(stack_bytes "$T/out" "main;$1")"
	done
done

# --heap-lib names a file by hand; one without that allocator is a one-line error
record_v_ok -e heap --heap-lib="$TC" -o "$T/lib.data" -- "$WL/heap"
grep -q "^memprof: heap probes on '$TC' (" "$T/record.log" ||
	fail "--heap-lib: no probes on $TC: $(cat "$T/record.log")"
"$MEMPROF" record -e heap --heap-lib="$WL/heap-static-stripped:foo_" -o "$T/x.data" -- true \
	>"$T/err" 2>&1 && fail "--heap-lib on a file without that allocator succeeded"
assert_eq "--heap-lib error" "memprof: error: --heap-lib '$WL/heap-static-stripped:foo_': no malloc and free with that prefix in this ELF file" "$(cat "$T/err")"

# an allocator memprof cannot find: said once, with what to do
record_ok -e heap -o "$T/stripped.data" -- "$WL/heap-static-stripped"
assert_eq "warnings" 1 "$(grep -c warning "$T/record.log")"
grep -q "^memprof: warning: '$WL/heap-static-stripped' (PID [0-9]*) is a static program in which no allocator was found .*--heap-lib=" \
	"$T/record.log" || fail "no warning for the stripped static program: $(cat "$T/record.log")"

exit 0
