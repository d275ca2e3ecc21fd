#!/bin/bash
# memprof's stacks against gdb's: for each stacks workload (with and without
# frame pointers, -O0 and -O2, C through a shared library and C++ through
# operator new), gdb's `bt` past main at a breakpoint on an allocation and
# memprof's stack of the same allocation list the same functions in the same
# order.  With no -g (CFI unwinding) they agree entirely, down to _start, the
# thread's start or the forked child's _start, at every site: main thread,
# second thread and forked child in C, two call paths in C++.  -g dwarf agrees
# up to main; -g fp, for the variants built with frame pointers, up to main
# (or the thread's function, as libc's start_thread has none).  No mode shows
# a frame outside the process's code.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/stacks.sh"
need_bpf
need_cmd gdb
S=$WL/stacks
SIZE=12345

# no_wild_frames WHAT DATA: no frame of DATA's stacks lies outside every mapping
# (report names those by their bare address).
no_wild_frames()
{
	"$MEMPROF" report -i "$2" --show=alloc --folded >"$T/wild" 2>/dev/null
	! grep -q '\[unknown\] 0x' "$T/wild" ||
		fail "$1: frames outside the process's code: $(grep -o '\[unknown\] 0x[0-9a-f]*' "$T/wild" | sort -u | tr '\n' ' ')"
}

# recording_note: what tells a lost mapping from a walk cut short, where a stack
# differs: the summary of the last recording ($T/$v.$mode.data) and the files it names.
recording_note()
{
	echo "record: $(grep -E '^memprof: (heap|process|stacks):' "$T/record.log" | tr '\n' ' ')" \
		"files: $("$MEMPROF" report -i "$T/$v.$mode.data" --header-only 2>&1 |
			sed -n 's/^#   [0-9a-f]* //p' | tr '\n' ' ')"
}
SAME_NOTE=recording_note

for v in fp-O0 fp-O2 nofp-O0 nofp-O2 cxx-fp-O0 cxx-fp-O2 cxx-nofp-O0 cxx-nofp-O2; do
	bin=$S/stacks-$v
	[ -x "$bin" ] || fail "$bin is not built"
	case $v in
	cxx-*) sites="main:$SIZE make:$((SIZE + 1))" ;;
	*) sites="main:$SIZE thread:$((SIZE + 1)) child:$((SIZE + 2))" ;;
	esac
	for site in $sites; do
		name=${site%%:*} size=${site#*:}
		gdb_frames "$bin" "$size" $([ "$name" = child ] && echo child) >"$T/gdb.$name"
		[ -s "$T/gdb.$name" ] || fail "$v: no stack from gdb at malloc($size)"
	done

	for mode in default dwarf fp; do
		args=(-e heap)
		[ $mode = default ] || args+=(-g $mode)
		record_ok "${args[@]}" -o "$T/$v.$mode.data" -- "$bin"
		no_wild_frames "$v -g $mode" "$T/$v.$mode.data"
		for site in $sites; do
			name=${site%%:*} size=${site#*:}
			what="$v -g $mode, $name"
			memprof_frames "$T/$v.$mode.data" "$size" >"$T/memprof.$name"
			# the caller of malloc, always
			[ "$(head -n 1 "$T/gdb.$name")" = "$(head -n 1 "$T/memprof.$name")" ] ||
				fail "$what: the caller of malloc: expected '$(head -n 1 "$T/gdb.$name")'," \
					"got '$(head -n 1 "$T/memprof.$name")'; $(recording_note)"
			case $mode-$v-$name in
			default-*)
				same "$what" "$T/gdb.$name" "$T/memprof.$name" ;;
			dwarf-*-thread)
				same "$what" "$T/gdb.$name" "$T/memprof.$name" ;;
			dwarf-*-child | dwarf-*-main | dwarf-*-make)
				same "$what" "$T/gdb.$name" "$T/memprof.$name" main ;;
			fp-fp-*-thread)
				same "$what" "$T/gdb.$name" "$T/memprof.$name" thread_main ;;
			fp-fp-*)
				same "$what" "$T/gdb.$name" "$T/memprof.$name" main ;;
			esac
			# (C++ under fp: libstdc++'s operator new has no frame pointer.)
		done
	done
done

# memset (libc, no frame pointer) touching pages: its caller shows, and the stack
# goes on to _start
record_ok -o "$T/memset.data" -- "$S/stacks-fp-O2"
"$MEMPROF" report -i "$T/memset.data" --event page --folded >"$T/out"
kib=$(awk '/;_start;__libc_start_main;__libc_start_call_main;main;touch_memset;/ {
	s += $NF } END { print int(s / 1024) }' "$T/out")
assert_within_pct "pages touched by memset under _start ... touch_memset (KiB)" 4096 "$kib" 1
exit 0
