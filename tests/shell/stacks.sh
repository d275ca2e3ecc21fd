# Sourced by the tests that compare memprof's stacks with gdb's (after lib.sh):
# the functions of gdb's `bt` at an allocation and of memprof's stack of the
# same allocation, each as one normalized name a line, innermost first, and a
# comparison of the two.  gdb is told to go past main, so that its stack ends
# where the program's does: at _start, or at the thread's start.

# gdb_frames BIN SIZE [child]: the callers of malloc (frame #1 on) in gdb's bt
# at malloc(SIZE) in BIN, one a line; child: in a forked child.  GDB_ARGS: the
# program's arguments, STDIN the file it reads on its standard input.
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

# (The breakpoint on malloc is set once libc is loaded, at __libc_start_main: set
# before, it holds only the dynamic loader's malloc in some programs.)
gdb_frames_once()
{
	local fork=()

	[ "${3:-}" = child ] && fork=(-ex 'set follow-fork-mode child')
	gdb -nx -batch -ex 'set breakpoint pending on' -ex 'set print frame-arguments none' \
		-ex 'set backtrace past-main on' "${fork[@]}" -ex 'break __libc_start_main' \
		-ex "run ${GDB_ARGS:-} <${STDIN:-/dev/null}" -ex 'delete' \
		-ex "break malloc if \$rdi == $2" -ex continue -ex bt -ex 'info proc mappings' \
		"$1" 2>/dev/null </dev/null | gdb_unknown | normalize
}

# gdb_unknown: gdb's bt (then its `info proc mappings`) as "N function" lines,
# frame #1 on; a frame without a name as memprof names it, "[unknown]
# file+0xoffset" (the offset in the file of its address).
gdb_unknown()
{
	awk '
		function hex(s,   v, i, c) {	# (mawk has no strtonum)
			v = 0; s = tolower(s); sub(/^0x/, "", s)
			for (i = 1; i <= length(s); i++) {
				c = index("0123456789abcdef", substr(s, i, 1)) - 1
				v = v * 16 + c
			}
			return v
		}
		/^#[0-9]+ / {
			n = substr($1, 2) + 0
			f = $0; sub(/^#[0-9]+ +/, "", f)
			pc[n] = ""
			if (f ~ /^0x[0-9a-f]+ in /) { pc[n] = $2; sub(/^0x[0-9a-f]+ in /, "", f) }
			fn[n] = f; if (n > last) last = n
			next
		}
		/^ +0x[0-9a-f]+ +0x[0-9a-f]+ +0x[0-9a-f]+ +0x[0-9a-f]+ / && NF >= 6 {
			m++; ms[m] = hex($1); me[m] = hex($2); mo[m] = hex($4)
			mf[m] = $NF; sub(/.*\//, "", mf[m])
		}
		END {
			for (i = 1; i <= last; i++) {
				if (fn[i] ~ /^\?\? / && pc[i] != "") {
					a = hex(pc[i])
					for (k = 1; k <= m; k++)
						if (a >= ms[k] && a < me[k]) {
							fn[i] = sprintf("[unknown] %s+0x%x", mf[k], a - ms[k] + mo[k])
							break
						}
				}
				print fn[i]
			}
		}'
}

# normalize: a frame's function as gdb and memprof name it: no arguments (gdb's
# " (...) at file:line": the last parentheses), no return type, no " (inlined)",
# no leading underscores (gdb names libc's __clone3 by its DWARF name, clone3)
# and no __GI_ (glibc's internal aliases, which gdb may pick), no Rust hash;
# __libc_start_main by its exported name (gdb gives glibc's DWARF name,
# __libc_start_main_impl).
normalize()
{
	sed -e 's/ (inlined)$//' -e 's/ ([^()]*)\( at .*\| from .*\)\?$//' -e 's/^__GI_//' \
		-e 's/^_*//' -e 's/::h[0-9a-f]\{16\}$//' \
		-e 's/^libc_start_main_impl$/libc_start_main/' |
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

# memprof_frames DATA SIZE: the frames of the first heap allocation of SIZE bytes
# in DATA, as memprof script prints them (innermost first), one a line, normalized;
# [incomplete] where the stack was cut short.
memprof_frames()
{
	"$MEMPROF" script -i "$1" | awk -v n="$2" '
		in_ev && /^$/ { exit }
		in_ev { sub(/^\t/, ""); print; next }
		/: (malloc|calloc|realloc|posix_memalign|aligned_alloc|memalign|valloc): / &&
			$0 ~ ": " n " bytes " { in_ev = 1 }' | normalize
}

# same WHAT GDBFILE MEMPROFFILE [STOP]: the two lists agree, entirely or up to
# the frame STOP (inclusive), which gdb's list must hold.  $SAME_NOTE, if set, names
# a function whose output ends the failure message (what the recording said).
same()
{
	local g m

	if [ -n "${4:-}" ]; then
		grep -qx "$4" "$2" || fail "$1: gdb's stack has no $4: $(tr '\n' ' ' <"$2")"
		g=$(sed "/^$4\$/q" "$2")
		m=$(sed "/^$4\$/q" "$3")
	else
		g=$(cat "$2")
		m=$(cat "$3")
	fi
	[ -n "$g" ] || fail "$1: no stack from gdb"
	[ "$g" = "$m" ] ||
		fail "$1: gdb: $(echo $g | tr '\n' ' ') | memprof: $(echo $m | tr '\n' ' ')${SAME_NOTE:+; $("$SAME_NOTE")}"
}
