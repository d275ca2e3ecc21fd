#!/bin/bash
# memprof's stacks against gdb's: for each stacks workload (with and without
# frame pointers, -O0 and -O2, C through a shared library and C++ through
# operator new, and from a second thread), gdb's `bt` at a breakpoint on the
# allocation and memprof's stack of the same allocation list the same
# functions in the same order (up to main, or the thread's start).  With
# -g dwarf for every variant; with -g fp for those built with frame pointers;
# and the caller of malloc is there in all.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gdb
S=$WL/stacks
SIZE=12345

# gdb_frames BIN SIZE: the functions of gdb's bt at malloc(SIZE), callers of malloc
# first (frame #1 on), one a line.
gdb_frames()
{
	local i

	# Again when gdb saw no breakpoint: a uprobe on malloc (another recorder
	# running) takes the trap before gdb's breakpoint on the same instruction.
	for i in 1 2 3 4 5; do
		gdb_frames_once "$@" >"$T/gdb.out"
		[ -s "$T/gdb.out" ] && break
		sleep 1
	done
	cat "$T/gdb.out"
}

gdb_frames_once()
{
	gdb -nx -batch -ex 'set breakpoint pending on' -ex 'set print frame-arguments none' \
		-ex "break malloc if \$rdi == $2" -ex run -ex bt "$1" 2>/dev/null </dev/null |
		sed -n 's/^#\([0-9]*\) \+\(0x[0-9a-f]* in \)\?\(.*\)$/\1 \3/p' |
		awk '$1 > 0 { $1 = ""; sub(/^ /, ""); print }' | normalize
}

# normalize: a frame's function as gdb names it: no arguments, no return type,
# no leading underscores (gdb names libc's __clone3 by its DWARF name, clone3).
normalize()
{
	sed -e 's/ (\.\.\.).*$//' -e 's/ (.*$//' -e 's/ at .*$//' -e 's/ from .*$//' -e 's/^_*//' |
		awk '{
			f = $0
			if (f ~ /^operator/ || f ~ /::operator/) { sub(/\(.*$/, "", f); print f; next }
			sub(/\([^()]*\)( const)?$/, "", f)	# the parameters
			# a return type before the name (templates): the last word outside <>
			d = 0; cut = 0
			for (i = 1; i <= length(f); i++) {
				c = substr(f, i, 1)
				if (c == "<") d++; else if (c == ">") d--
				else if (c == " " && d == 0) cut = i
			}
			print substr(f, cut + 1)
		}'
}

# memprof_frames DATA SIZE: the functions of the stack that allocated SIZE bytes,
# innermost first, one a line.  (Where frame pointers stop at once, the main
# thread's SIZE and the second thread's SIZE + 1 share one stack.)
memprof_frames()
{
	"$MEMPROF" report -i "$1" --event heap --show=alloc --folded |
		awk -v n="$2" '$NF == n || $NF == 2 * n + 1 || $NF == 2 * n - 1 {
			sub(/ [0-9]+$/, ""); print; exit }' |
		tr ';' '\n' | sed 1d | tac | normalize
}

# same WHAT GDBFILE MEMPROFFILE STOP: the two lists agree up to STOP (inclusive).
same()
{
	local g m

	g=$(sed "/^$4\$/q" "$2")
	m=$(sed "/^$4\$/q" "$3")
	grep -qx "$4" "$2" || fail "$1: gdb's stack has no $4: $(cat "$2" | tr '\n' ' ')"
	[ "$g" = "$m" ] || fail "$1: gdb: $(echo $g | tr '\n' ' ') | memprof: $(echo $m | tr '\n' ' ')"
}

for v in fp-O0 fp-O2 nofp-O0 nofp-O2 cxx-fp-O0 cxx-fp-O2 cxx-nofp-O0 cxx-nofp-O2; do
	bin=$S/stacks-$v
	[ -x "$bin" ] || fail "$bin is not built"
	gdb_frames "$bin" $SIZE >"$T/gdb.main"
	[ -s "$T/gdb.main" ] || fail "$v: no stack from gdb"
	case $v in cxx-*) threads= ;; *) threads=1 ;; esac
	[ -n "$threads" ] && gdb_frames "$bin" $((SIZE + 1)) >"$T/gdb.thread"

	for mode in dwarf fp; do
		record_ok -e heap -g $mode -o "$T/$v.$mode.data" -- "$bin"
		memprof_frames "$T/$v.$mode.data" $SIZE >"$T/memprof.main"
		# the caller of malloc, always
		assert_eq "$v -g $mode: the caller of malloc" "$(head -n 1 "$T/gdb.main")" \
			"$(head -n 1 "$T/memprof.main")"
		case $mode-$v in
		dwarf-* | fp-fp-* | fp-cxx-fp-*)
			# C++ under fp: libstdc++'s operator new has no frame pointer
			case $mode-$v in fp-cxx-*) continue ;; esac
			same "$v -g $mode, main thread" "$T/gdb.main" "$T/memprof.main" main
			if [ -n "$threads" ]; then
				memprof_frames "$T/$v.$mode.data" $((SIZE + 1)) >"$T/memprof.thread"
				if [ $mode = dwarf ]; then
					stop=$(tail -n 1 "$T/gdb.thread")
				else
					stop=thread_main	# libc's start_thread has no frame pointer
				fi
				same "$v -g $mode, second thread" "$T/gdb.thread" "$T/memprof.thread" \
					"$stop"
			fi
			;;
		esac
	done
done

# memset (libc, no frame pointer) touching pages: its caller shows under -g dwarf
record_ok -g dwarf -o "$T/memset.data" -- "$S/stacks-fp-O2"
"$MEMPROF" report -i "$T/memset.data" --event page --folded >"$T/out"
kib=$(awk '/;touch_memset;/ { s += $NF } END { print int(s / 1024) }' "$T/out")
assert_within_pct "pages touched by memset under touch_memset (KiB)" 4096 "$kib" 1
exit 0
