#!/bin/bash
# Leaked heap bytes per function of the heap workload: heaptrack against the
# figures documented in tests/workloads/heap.c, then memprof against heaptrack
# (and against those figures where heaptrack is blind).
#
# heaptrack_print --print-leaks rounds to SI units with two decimals (36864
# bytes print as "36.86K", K = 1000), so the exact bytes come from its
# flame-graph output instead: -F FILE --flamegraph-cost-type leaked writes one
# "frame (file);frame (file); BYTES" line per stack, root first.
# heaptrack 1.4 does not see memalign() (it has no memalign wrapper) nor a
# fork()ed child (tracing stops in the child), so leak_memalign and child_leak
# are checked against the expected figures only.
. "$(dirname "$0")/lib.sh"

need_cmd heaptrack heaptrack_print
[ -x "$WL/heap" ] || fail "$WL/heap is not built"

# Leaked bytes expected per function (see tests/workloads/heap.c).
declare -A expected=(
	[leak_malloc]=409600
	[leak_calloc]=1000000
	[freed_malloc]=0
	[leak_realloc]=300000
	[leak_posix_memalign]=100000
	[leak_aligned_alloc]=40960
	[leak_memalign]=21000
	[leak_valloc]=36864
	[thread_leak]=204800
	[child_leak]=614400
)
heaptrack_blind="leak_memalign child_leak"

# folded_by_function FILE: "function bytes" for each function on any stack of a
# folded file ("a;b;c VALUE" lines; frames may carry " (file)" or "+0x.." after the
# name), summing the values of the stacks it is on, each stack once.
folded_by_function()
{
	awk '{
		n = split($0, w, " ")
		v = w[n]
		if (v !~ /^[0-9]+$/) next
		line = substr($0, 1, length($0) - length(v))
		nf = split(line, frames, ";")
		delete seen
		for (i = 1; i <= nf; i++) {
			f = frames[i]
			sub(/^[ \t]+/, "", f)
			sub(/[ +(].*$/, "", f)
			if (f == "" || (f in seen)) continue
			seen[f] = 1
			sum[f] += v
		}
	} END { for (f in sum) print f, sum[f] }' "$1"
}

# lookup FILE FUNCTION: the bytes of FUNCTION in a folded_by_function list, 0 if absent.
lookup()
{
	awk -v f="$2" '$1 == f { v = $2 } END { print v + 0 }' "$1"
}

heaptrack -o "$T/ht" "$WL/heap" >"$T/heaptrack.log" 2>&1 ||
	fail "heaptrack failed: $(tail -n 5 "$T/heaptrack.log")"
htfile=$(ls "$T"/ht.* 2>/dev/null | head -n 1)
[ -n "$htfile" ] || fail "heaptrack wrote no data file: $(tail -n 5 "$T/heaptrack.log")"
heaptrack_print -f "$htfile" --flamegraph-cost-type leaked -F "$T/ht.folded" \
	>"$T/ht.print" 2>&1 || fail "heaptrack_print failed: $(tail -n 5 "$T/ht.print")"
folded_by_function "$T/ht.folded" >"$T/ht.leaks"

for fn in "${!expected[@]}"; do
	case " $heaptrack_blind " in *" $fn "*) continue ;; esac
	assert_eq "heaptrack: $fn leaked bytes" "${expected[$fn]}" "$(lookup "$T/ht.leaks" "$fn")"
done

need_bpf
[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"

# report --folded gives the bytes still live at the end (heaptrack's "leaked").
"$MEMPROF" record -e heap -o "$T/m.data" -- "$WL/heap" >"$T/record.log" 2>&1 ||
	fail "memprof record failed: $(tail -n 5 "$T/record.log")"
"$MEMPROF" report -i "$T/m.data" --event heap --folded >"$T/m.folded" 2>"$T/report.err" ||
	fail "memprof report failed: $(cat "$T/report.err")"
folded_by_function "$T/m.folded" >"$T/m.leaks"

# Side by side (run this test alone to see it): bytes leaked per function.
printf '%-22s %12s %12s %12s\n' function expected heaptrack memprof
for fn in $(printf '%s\n' "${!expected[@]}" | sort); do
	h=$(lookup "$T/ht.leaks" "$fn")
	case " $heaptrack_blind " in *" $fn "*) h="(blind)" ;; esac
	printf '%-22s %12s %12s %12s\n' "$fn" "${expected[$fn]}" "$h" "$(lookup "$T/m.leaks" "$fn")"
done

for fn in "${!expected[@]}"; do
	m=$(lookup "$T/m.leaks" "$fn")
	case " $heaptrack_blind " in
	*" $fn "*) assert_eq "memprof: $fn leaked bytes" "${expected[$fn]}" "$m" ;;
	*) assert_eq "memprof vs heaptrack: $fn leaked bytes" \
		"$(lookup "$T/ht.leaks" "$fn")" "$m" ;;
	esac
done

exit 0
