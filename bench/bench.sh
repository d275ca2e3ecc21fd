#!/bin/bash
# What recording costs the target, measured side by side:
#  (a) page workload (bench/page_bench.c, 1 GiB touched in 4 KiB pages):
#      bare, `memprof record -e page`, `perf record -e kmem:mm_page_alloc -g`;
#  (b) heap workload (bench/heap_bench.c, ~4M malloc+free calls):
#      bare, `memprof record -e heap`, heaptrack; and the cost of bare uprobes
#      (empty bpftrace programs) for comparison (bench/heap.sh: the heap modes
#      against the bare probes on memprof's own sites);
#  (c) -g cfi (the default) against -g fp and -g dwarf on both, and on a
#      program with deep stacks (bench/deep_bench.cc) against heaptrack too,
#      with the unwind tables' build time and size for its libraries;
#  (d) page cache workload (bench/cache_bench.c, a 256 MiB file read 4 times,
#      dropped from the cache before each): bare, `memprof record -e cache`,
#      `perf record -e filemap:mm_filemap_add_to_page_cache -g`; address space
#      workload (bench/vm_bench.c, 200K mmap+munmap, then 200K getppid): bare,
#      `memprof record -e mmap`, `perf record -e syscalls:sys_exit_mmap,munmap -g`.
# Times are the workloads' own (they time their loops and print it), not the
# tools' start-up; the median of RUNS runs (default 3).  Needs root.
#
# usage: sudo bench/bench.sh     (RUNS=5 for more runs; MEMPROF=path for another build)

set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
MEMPROF=${MEMPROF:-$ROOT/memprof}
RUNS=${RUNS:-3}

bench_name=bench
. bench/lib.sh

[ "$(id -u)" -eq 0 ] || die "perf, memprof and bpftrace need root; run 'sudo $0'"
sh scripts/install-deps --bench || die "cannot install perf, heaptrack and bpftrace"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memprof-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

for b in page_bench heap_bench cache_bench vm_bench; do
	gcc -O2 -g -fno-omit-frame-pointer -o "$tmp/$b" "bench/$b.c" || die "cannot build $b"
done
# Deep stacks, without frame pointers, mapping libstdc++ and a dozen more libraries.
g++ -O2 -g -fomit-frame-pointer -o "$tmp/deep_bench" bench/deep_bench.cc -Wl,--no-as-needed \
	-lz -lzstd -lelf -ldw -lcapstone -lbpf -ldebuginfod -llzma -lbz2 -lm -lpthread \
	-Wl,--as-needed || die "cannot build deep_bench"

# perf reads the kmem tracepoint's format from tracefs.
if ! mountpoint -q /sys/kernel/tracing; then
	mount -t tracefs nodev /sys/kernel/tracing ||
		die "cannot mount tracefs on /sys/kernel/tracing"
fi

have_memprof=1
if [ ! -x "$MEMPROF" ]; then
	have_memprof=0
	echo "bench: $MEMPROF is not built (run 'make'); its rows are n/a" >&2
fi

# --- helpers ---------------------------------------------------------------

# calc EXPR FORMAT VAR=VALUE...: EXPR over the variables, printed with FORMAT;
# n/a when a value is not a number (e.g. n/a itself) or the expression fails.
calc()
{
	local expr=$1 fmt=$2 a
	shift 2
	for a in "$@"; do
		[[ ${a#*=} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || { echo n/a; return; }
	done
	awk "BEGIN { $(printf '%s; ' "$@") r = $expr; printf \"$fmt\\n\", r }" 2>/dev/null ||
		echo n/a
}

# field KEY LOG: the value of KEY=value on the workload's line of LOG (n/a if absent).
field()
{
	awk -v k="$1" '/_bench: / { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1)
		v = substr($i, length(k) + 2) } END { print v == "" ? "n/a" : v }' "$2"
}

# measure NAME CMD...: runs CMD RUNS times, each log in $tmp/NAME.N.log (the last
# also in $tmp/NAME.log); sets the medians of the workload's own times (its
# touch_s, total_s and elapsed_s) and of the command's wall time in the arrays
# below, indexed by NAME.  Failed runs are left out (all failed: n/a).
declare -A WALL TOUCH ROUNDS ELAPSED OTHER
measure()
{
	local name=$1 i s e rc
	shift
	: >"$tmp/$name.walls"
	: >"$tmp/$name.touch"
	: >"$tmp/$name.rounds"
	: >"$tmp/$name.elapsed"
	for ((i = 1; i <= RUNS; i++)); do
		s=$(date +%s.%N)
		"$@" </dev/null >"$tmp/$name.$i.log" 2>&1
		rc=$?
		e=$(date +%s.%N)
		cp "$tmp/$name.$i.log" "$tmp/$name.log"
		if [ "$rc" -ne 0 ]; then
			echo "bench: '$*' exited $rc:" >&2
			tail -n 5 "$tmp/$name.$i.log" | sed 's/^/    /' >&2
			continue
		fi
		calc 'e - s' '%.6f' "e=$e" "s=$s" >>"$tmp/$name.walls"
		field touch_s "$tmp/$name.$i.log" >>"$tmp/$name.touch"
		field total_s "$tmp/$name.$i.log" >>"$tmp/$name.rounds"
		field elapsed_s "$tmp/$name.$i.log" >>"$tmp/$name.elapsed"
	done
	sort -g "$tmp/$name.elapsed" "$tmp/$name.rounds" | awk -v n="$name" '/^[0-9.]+$/ {
		if (min == "" || $1 < min) min = $1; if ($1 > max) max = $1 }
		END { if (min > 0 && max / min > 1.5)
			printf "bench: note: %s runs vary from %.4f to %.4f s\n", n, min, max }' >&2
	WALL[$name]=$(median <"$tmp/$name.walls")
	TOUCH[$name]=$(median <"$tmp/$name.touch")
	ROUNDS[$name]=$(median <"$tmp/$name.rounds")
	ELAPSED[$name]=$(median <"$tmp/$name.elapsed")
}

# memprof_summary WHAT TYPE LOG: events or lost figures of event TYPE from
# record's summary on stderr ("memprof: page: 262144 events written, 0 lost");
# parsed loosely, n/a when absent.
memprof_summary()
{
	awk -v what="$1" -v type="$2" '
		/^memprof:/ && tolower($0) ~ type {
			if (what == "events" && match($0, /[0-9]+ events/)) {
				v += substr($0, RSTART, RLENGTH) + 0; found = 1
			}
			if (what == "lost" && match($0, /[0-9]+ lost/)) {
				v += substr($0, RSTART, RLENGTH) + 0; found = 1
			} else if (what == "lost" && match($0, /lost[:= ]+[0-9]+/)) {
				s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s)
				v += s; found = 1
			}
		}
		END { print found ? v : "n/a" }' "$3" 2>/dev/null || echo n/a
}

# perf_stat WHAT DATA: samples or lost samples of the recorded event, from
# `perf report --stats` (the per-event section; lost is absent when 0).
perf_stat()
{
	perf report -i "$2" --stats 2>/dev/null | awk -v what="$1" '
		/ stats:$/ { inev = 1 }
		inev && /SAMPLE events:/ && what == "samples" { v = $NF }
		inev && /LOST_SAMPLES events:/ && what == "lost" { v = $NF }
		!inev && /SAMPLE events:/ && what == "samples" { v = $3 }
		!inev && /^ *LOST events:/ && what == "lost" { v = $3 }
		END { print v == "" ? (what == "lost" ? 0 : "n/a") : v }'
}

filesize()
{
	[ -f "$1" ] && stat -c %s "$1" || echo n/a
}

# first_insn FILE SYMBOL: the first instruction of a function, as objdump prints it.
first_insn()
{
	local addr

	addr=$(nm -D --defined-only "$1" 2>/dev/null |
		awk -v s="$2" '$3 == s || index($3, s "@@") == 1 { print $1; exit }')
	[ -n "$addr" ] || addr=$(nm "$1" 2>/dev/null | awk -v s="$2" '$3 == s { print $1; exit }')
	[ -n "$addr" ] || { echo "?"; return; }
	objdump -d --no-show-raw-insn --start-address="0x$addr" \
		--stop-address="$(printf '0x%x' $((0x$addr + 16)))" "$1" |
		awk -F'\t' '/^ *[0-9a-f]+:/ { print $2; exit }' | tr -s ' '
}

# Uprobes someone else attached to libc trap in every process that maps it (unless
# they were attached for one pid), the bare runs here included.
check_quiet()
{
	local n

	n=$(bpftool perf list 2>/dev/null | grep -cE 'uprobe|uretprobe')
	[ "${n:-0}" -eq 0 ] ||
		echo "bench: warning: $n uprobes attached by other processes ($1);" \
			"figures will be off" >&2
}

# --- (a) page workload -------------------------------------------------------

check_quiet "at the start"
echo "bench: $(uname -r), $(nproc) CPUs, $RUNS runs each; page workload..." >&2
measure page.bare "$tmp/page_bench"
if [ $have_memprof = 1 ]; then
	measure page.memprof "$MEMPROF" record -e page -o "$tmp/m.data" -- "$tmp/page_bench"
fi
measure page.perf perf record -e kmem:mm_page_alloc -g -o "$tmp/p.data" -- "$tmp/page_bench"

pages=$(field pages "$tmp/page.bare.log")

m_size=$(filesize "$tmp/m.data")
m_events=$(memprof_summary events page "$tmp/page.memprof.log")
m_lost=$(memprof_summary lost page "$tmp/page.memprof.log")
p_size=$(filesize "$tmp/p.data")
p_events=$(perf_stat samples "$tmp/p.data")
p_lost=$(perf_stat lost "$tmp/p.data")

# --- (b) heap workload -------------------------------------------------------

echo "bench: heap workload..." >&2
measure heap.bare "$tmp/heap_bench"
if [ $have_memprof = 1 ]; then
	measure heap.memprof "$MEMPROF" record -e heap -o "$tmp/mh.data" -- "$tmp/heap_bench"
fi
measure heap.heaptrack heaptrack -o "$tmp/h" "$tmp/heap_bench"
calls=$(field calls "$tmp/heap.bare.log")
mallocs=$(field mallocs "$tmp/heap.bare.log")
frees=$(field frees "$tmp/heap.bare.log")
mh_events=$(memprof_summary events heap "$tmp/heap.memprof.log")
mh_lost=$(memprof_summary lost heap "$tmp/heap.memprof.log")

echo "bench: bare uprobes..." >&2
insn=$(first_insn "$tmp/heap_bench" empty_fn)
[ "$insn" = "push %rbp" ] ||
	echo "bench: warning: empty_fn starts with '$insn', not 'push %rbp'" >&2
libc=$(ldd "$tmp/heap_bench" | awk '/libc\.so/ { print $3 }')
ncall=2000000
measure empty.bare "$tmp/heap_bench" empty $ncall
measure empty.uprobe bpftrace -e "uprobe:$tmp/heap_bench:empty_fn {}" \
	-c "$tmp/heap_bench empty $ncall"
measure libc.malloc bpftrace -e "uprobe:$libc:malloc {}" -c "$tmp/heap_bench"
measure libc.mallocret bpftrace -e "uretprobe:$libc:malloc {}" -c "$tmp/heap_bench"
measure libc.free bpftrace -e "uprobe:$libc:free {}" -c "$tmp/heap_bench"
# memprof's own site in free (the first instruction the kernel emulates), from its -v
free_off=0
if [ $have_memprof = 1 ]; then
	free_off=$("$MEMPROF" -v record -e heap -o "$tmp/probe.data" -- true 2>&1 |
		sed -n 's/^memprof: probe free at .*(entry +\([0-9]*\)).*/\1/p' | head -n 1)
	free_off=${free_off:-0}
fi
# bpftrace as Debian builds it cannot probe at an offset: perf probe can (a uprobe
# event counted by perf stat, as cheap as an empty BPF program).
perf probe -q -d 'probe_libc:memprof_bench_free' >/dev/null 2>&1
if perf probe -q -x "$libc" -a "memprof_bench_free=free+$free_off" >/dev/null 2>&1; then
	measure libc.freesite perf stat -e probe_libc:memprof_bench_free -- "$tmp/heap_bench"
	perf probe -q -d 'probe_libc:memprof_bench_free' >/dev/null 2>&1
fi

# --- (c) call graphs: -g cfi (the default) against -g fp and -g dwarf --------

declare -A CG_SIZE CG_EVENTS CG_REPORT CG_SHORT
if [ $have_memprof = 1 ]; then
	echo "bench: call graphs..." >&2
	for mode in cfi fp dwarf; do
		measure "cgpage.$mode" "$MEMPROF" record -e page -g $mode -o "$tmp/cg.page.$mode.data" \
			-- "$tmp/page_bench" 1 256
		measure "cgheap.$mode" "$MEMPROF" record -e heap -g $mode -o "$tmp/cg.heap.$mode.data" \
			-- "$tmp/heap_bench"
		measure "cgdeep.$mode" "$MEMPROF" record -e heap -g $mode -o "$tmp/cg.deep.$mode.data" \
			-- "$tmp/deep_bench"
		for w in page heap deep; do
			ev=$w; [ $w = deep ] && ev=heap
			CG_SIZE[$w.$mode]=$(filesize "$tmp/cg.$w.$mode.data")
			CG_EVENTS[$w.$mode]=$(memprof_summary events $ev "$tmp/cg$w.$mode.log")
			s=$(date +%s.%N)
			"$MEMPROF" report -i "$tmp/cg.$w.$mode.data" >/dev/null 2>"$tmp/cg.$w.$mode.err"
			e=$(date +%s.%N)
			CG_REPORT[$w.$mode]=$(calc 'e - s' '%.2f' "e=$e" "s=$s")
			# stacks cut short: report's warning (record's walks, or -g dwarf's unwinding)
			CG_SHORT[$w.$mode]=$(sed -n 's/.*warning: \([0-9]*\) of \([0-9]*\) stack.*/\1 \2/p' \
				"$tmp/cg.$w.$mode.err" | awk '{ printf "%.1f%%", $2 ? 100 * $1 / $2 : 0 }')
			CG_SHORT[$w.$mode]=${CG_SHORT[$w.$mode]:-0.0%}
		done
	done
	measure cgpage.bare "$tmp/page_bench" 1 256
	measure cgdeep.bare "$tmp/deep_bench"
	measure cgdeep.heaptrack heaptrack -o "$tmp/hdeep" "$tmp/deep_bench"
	deep_calls=$(field calls "$tmp/cgdeep.bare.log")
	# the unwind tables of deep_bench's files (libc, libstdc++ and the others)
	"$MEMPROF" -v record -e heap -o "$tmp/tables.data" -- "$tmp/deep_bench" 1000 \
		>"$tmp/tables.log" 2>&1
	tables=$(sed -n 's/^memprof: unwind tables: //p' "$tmp/tables.log")
	libs=$(ldd "$tmp/deep_bench" | grep -c '=>')
fi

# --- (d) page cache and address space workloads -----------------------------

echo "bench: page cache and address space workloads..." >&2
# On the disk file system of the temp dir: tmpfs has no page cache to fill.
head -c $((256 << 20)) /dev/zero >"$tmp/cache.file" || die "cannot write $tmp/cache.file"
measure cache.bare "$tmp/cache_bench" "$tmp/cache.file" 4
if [ $have_memprof = 1 ]; then
	measure cache.memprof "$MEMPROF" record -e cache -o "$tmp/mc.data" -- \
		"$tmp/cache_bench" "$tmp/cache.file" 4
fi
measure cache.perf perf record -e filemap:mm_filemap_add_to_page_cache -g -o "$tmp/pc.data" \
	-- "$tmp/cache_bench" "$tmp/cache.file" 4
rm -f "$tmp/cache.file"
measure vm.bare "$tmp/vm_bench"
if [ $have_memprof = 1 ]; then
	measure vm.memprof "$MEMPROF" record -e mmap -o "$tmp/mv.data" -- "$tmp/vm_bench"
fi
measure vm.perf perf record -e syscalls:sys_exit_mmap -e syscalls:sys_exit_munmap -g \
	-o "$tmp/pv.data" -- "$tmp/vm_bench"
for n in bare memprof perf; do
	OTHER[$n]=$(for i in $(seq "$RUNS"); do field other_s "$tmp/vm.$n.$i.log"; done | median)
done

check_quiet "at the end"

# --- the table ---------------------------------------------------------------

x()
{
	calc 'a / b' '%.2fx' "a=$1" "b=$2"
}

# f FORMAT VALUE: VALUE printed with FORMAT, or n/a.
f()
{
	calc a "$1" "a=$2"
}

echo
echo "(a) page workload: $pages pages of 4 KiB (1 GiB) touched and unmapped; median of $RUNS runs"
printf '%-9s %8s %9s %9s %9s %7s %9s %9s %8s %7s\n' tool "touch s" slowdown "rounds s" \
	slowdown "wall s" "trace MiB" events "B/event" lost
printf '%-9s %8s %9s %9s %9s %7s %9s %9s %8s %7s\n' bare "$(f %.3f "${TOUCH[page.bare]}")" \
	1.00x "$(f %.3f "${ROUNDS[page.bare]}")" 1.00x "$(f %.2f "${WALL[page.bare]}")" - - - -
for t in memprof perf; do
	n=page.$t
	if [ $t = memprof ]; then
		size=$m_size events=$m_events lost=$m_lost
	else
		size=$p_size events=$p_events lost=$p_lost
	fi
	printf '%-9s %8s %9s %9s %9s %7s %9s %9s %8s %7s\n' $t "$(f %.3f "${TOUCH[$n]:-n/a}")" \
		"$(x "${TOUCH[$n]:-n/a}" "${TOUCH[page.bare]}")" "$(f %.3f "${ROUNDS[$n]:-n/a}")" \
		"$(x "${ROUNDS[$n]:-n/a}" "${ROUNDS[page.bare]}")" "$(f %.2f "${WALL[$n]:-n/a}")" \
		"$(calc 'a / 1048576' %.1f "a=$size")" "$events" \
		"$(calc 'a / b' '%.1f' "a=$size" "b=$events")" "$lost"
done
echo "  touch s: the touching loops; rounds s: with mmap and munmap (where pages are freed);"
echo "  wall s: the whole command; events: memprof's page events (its summary), perf's samples;"
echo "  trace MiB, events, lost: of the last run"

echo
echo "(b) heap workload: $calls calls ($mallocs malloc, $frees free); median of $RUNS runs"
printf '%-10s %11s %9s %8s %14s %9s %7s\n' tool "workload s" slowdown "wall s" "ns/call added" \
	events lost
printf '%-10s %11s %9s %8s %14s %9s %7s\n' bare "$(f %.4f "${ELAPSED[heap.bare]}")" 1.00x \
	"$(f %.2f "${WALL[heap.bare]}")" - - -
for t in memprof heaptrack; do
	n=heap.$t
	if [ $t = memprof ]; then events=$mh_events lost=$mh_lost; else events=- lost=-; fi
	e=${ELAPSED[$n]:-n/a}
	printf '%-10s %11s %9s %8s %14s %9s %7s\n' $t "$(f %.4f "$e")" \
		"$(x "$e" "${ELAPSED[heap.bare]}")" "$(f %.2f "${WALL[$n]:-n/a}")" \
		"$(calc '(a - b) * 1e9 / c' '%.0f' "a=$e" "b=${ELAPSED[heap.bare]}" "c=$calls")" \
		"$events" "$lost"
done

echo
echo "bare uprobes (bpftrace, empty programs): ns added per probed call"
printf '  %-24s %-28s %8s\n' probe "first instruction" "ns/call"
printf '  %-24s %-28s %8s\n' "heap_bench:empty_fn" "$(first_insn "$tmp/heap_bench" empty_fn)" \
	"$(calc '(a - b) * 1e9 / c' '%.0f' "a=${ELAPSED[empty.uprobe]}" "b=${ELAPSED[empty.bare]}" \
		"c=$ncall")"
declare -A PROBE_NS
for probe in malloc mallocret free freesite; do
	case $probe in
	malloc) sym=malloc c=$mallocs label="libc malloc (entry)" ;;
	mallocret) sym=malloc c=$mallocs label="libc malloc (entry+return)" ;;
	free) sym=free c=$frees label="libc free (entry)" ;;
	freesite) sym=free c=$frees label="libc free+$free_off (memprof)" ;;
	esac
	insn=$(first_insn "$libc" $sym)
	[ $probe = mallocret ] && insn="(uretprobe)"
	[ $probe = freesite ] && insn="(what memprof probes)"
	PROBE_NS[$probe]=$(calc '(a - b) * 1e9 / c' '%.0f' "a=${ELAPSED[libc.$probe]}" \
		"b=${ELAPSED[heap.bare]}" "c=$c")
	printf '  %-24s %-28s %8s\n' "$label" "$insn" "${PROBE_NS[$probe]}"
done
# A uretprobe takes a trap at the entry too (where it hijacks the return address): its
# figure is malloc's entry and return, not the return alone.
floor=$(calc '(m * b + f * c) / (m + f)' '%.0f' "m=$mallocs" "f=$frees" \
	"b=${PROBE_NS[mallocret]}" "c=${PROBE_NS[freesite]}")
echo "memprof's probes, bare, per call of the workload (malloc: its uretprobe, entry and return;"
echo "free: +$free_off); bench/heap.sh measures them on memprof's own sites, in one run:"
echo "  ${floor} ns/call, against memprof's $(calc '(a - b) * 1e9 / c' '%.0f' \
	"a=${ELAPSED[heap.memprof]:-n/a}" "b=${ELAPSED[heap.bare]}" "c=$calls") ns/call with its programs"
echo "  (a probe on an instruction the kernel cannot emulate, like free's first, is single-stepped)"

if [ $have_memprof = 1 ]; then
	echo
	echo "(c) call graphs: memprof -g cfi (the default) against -g fp and -g dwarf (8 KiB of"
	echo "    stack an event); median of $RUNS runs"
	printf '%-15s %9s %9s %11s %9s %8s %9s %10s\n' workload "time s" slowdown "ns/call add" \
		events "B/event" "report s" incomplete
	for w in page heap deep; do
		for mode in cfi fp dwarf; do
			n=cg$w.$mode
			case $w in
			page) t=${TOUCH[$n]:-n/a} b=${TOUCH[cgpage.bare]:-n/a} c=65536 ;;	# 256 MiB
			heap) t=${ELAPSED[$n]:-n/a} b=${ELAPSED[heap.bare]:-n/a} c=$calls ;;
			deep) t=${ELAPSED[$n]:-n/a} b=${ELAPSED[cgdeep.bare]:-n/a} c=${deep_calls:-n/a} ;;
			esac
			printf '%-15s %9s %9s %11s %9s %8s %9s %10s\n' "$w -g $mode" "$(f %.3f "$t")" \
				"$(x "$t" "$b")" "$(calc '(a - b) * 1e9 / c' '%.0f' "a=$t" "b=$b" "c=$c")" \
				"${CG_EVENTS[$w.$mode]}" \
				"$(calc 'a / b' '%.1f' "a=${CG_SIZE[$w.$mode]}" "b=${CG_EVENTS[$w.$mode]}")" \
				"${CG_REPORT[$w.$mode]}" "${CG_SHORT[$w.$mode]}"
		done
	done
	t=${ELAPSED[cgdeep.heaptrack]:-n/a} b=${ELAPSED[cgdeep.bare]:-n/a}
	printf '%-15s %9s %9s %11s %9s %8s %9s %10s\n' "deep heaptrack" "$(f %.3f "$t")" \
		"$(x "$t" "$b")" "$(calc '(a - b) * 1e9 / c' '%.0f' "a=$t" "b=$b" "c=${deep_calls:-n/a}")" \
		- - - -
	echo "  page: 256 MiB touched (time: the touching loop; ns per page); heap: the heap workload"
	echo "  above (ns per malloc or free); deep: bench/deep_bench.cc, no frame pointers, 200K"
	echo "  allocations 66 frames deep (~11 KiB of stack), 198K frees; incomplete: the stacks"
	echo "  report says were cut short"
	echo "  -g cfi against -g fp: page time $(x "${TOUCH[cgpage.cfi]:-n/a}" "${TOUCH[cgpage.fp]:-n/a}")" \
		"(goal <= 1.15x), heap cost per call $(calc '(a - c) / (b - c)' '%.2fx' \
		"a=${ELAPSED[cgheap.cfi]:-n/a}" "b=${ELAPSED[cgheap.fp]:-n/a}" "c=${ELAPSED[heap.bare]:-n/a}")" \
		"(goal <= 1.2x), bytes per page event $(calc '(a / b) / (c / d)' '%.2fx' \
		"a=${CG_SIZE[page.cfi]:-n/a}" "b=${CG_EVENTS[page.cfi]:-n/a}" \
		"c=${CG_SIZE[page.fp]:-n/a}" "d=${CG_EVENTS[page.fp]:-n/a}") and per heap event" \
		"$(calc '(a / b) / (c / d)' '%.2fx' "a=${CG_SIZE[heap.cfi]:-n/a}" \
		"b=${CG_EVENTS[heap.cfi]:-n/a}" "c=${CG_SIZE[heap.fp]:-n/a}" \
		"d=${CG_EVENTS[heap.fp]:-n/a}") (goal <= 1.2x)"
	echo "  unwind tables for deep_bench ($libs libraries: libc, libstdc++ and the rest):" \
		"${tables:-n/a}"
fi

echo
echo "(d) page cache: a 256 MiB file read 4 times, dropped from the cache before each;"
echo "    address space: 200K mmap+munmap of 64 KiB, then 200K getppid(); median of $RUNS runs"
printf '%-16s %9s %9s %9s %9s %9s %7s\n' "workload tool" "time s" slowdown "trace KiB" events \
	"B/event" lost
for w in cache vm; do
	for t in bare memprof perf; do
		n=$w.$t
		case $t in
		bare) size=- events=- lost=- ;;
		memprof)
			size=$(filesize "$tmp/m${w:0:1}.data")
			events=$(memprof_summary events "$([ $w = vm ] && echo mmap || echo cache)" \
				"$tmp/$n.log")
			lost=$(memprof_summary lost "$([ $w = vm ] && echo mmap || echo cache)" \
				"$tmp/$n.log")
			;;
		perf)
			size=$(filesize "$tmp/p${w:0:1}.data")
			events=$(perf_stat samples "$tmp/p${w:0:1}.data")
			lost=$(perf_stat lost "$tmp/p${w:0:1}.data")
			;;
		esac
		kib=- per=-
		if [ $t != bare ]; then
			kib=$(calc 'a / 1024' %.0f "a=$size")
			per=$(calc 'a / b' '%.1f' "a=$size" "b=$events")
		fi
		printf '%-16s %9s %9s %9s %9s %9s %7s\n' "$w $t" "$(f %.3f "${ELAPSED[$n]:-n/a}")" \
			"$(x "${ELAPSED[$n]:-n/a}" "${ELAPSED[$w.bare]}")" "$kib" "$events" "$per" \
			"$lost"
	done
done
echo "  getppid() while -e mmap records (its programs see every system call):" \
	"$(calc '(a - b) * 1e9 / 200000' '%.0f' "a=${OTHER[memprof]:-n/a}" "b=${OTHER[bare]:-n/a}") ns" \
	"added per call (perf: $(calc '(a - b) * 1e9 / 200000' '%.0f' "a=${OTHER[perf]:-n/a}" \
	"b=${OTHER[bare]:-n/a}") ns)"
