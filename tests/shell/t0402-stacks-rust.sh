#!/bin/bash
# memprof's stacks of a Rust program against gdb's: with no -g, the stack of
# each allocation of tests/workloads/rust/alloc.rs (built without frame
# pointers, as rustc builds by default) has the frames gdb's bt prints, in
# the same order, down to _start or the thread's start: the std library's
# functions inlined into the program's included.  Rust names a function by
# its path and generic arguments, which gdb (from the DWARF) and memprof
# (from the symbol) spell differently: the comparison keeps the last
# component of the path, without generic arguments.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/shell/stacks.sh"
need_bpf
need_cmd gdb rustc

rustc -g -C opt-level=2 -o "$T/alloc" "$ROOT/tests/workloads/rust/alloc.rs" 2>"$T/rustc.err" ||
	fail "cannot build the Rust workload: $(cat "$T/rustc.err")"

# rust_names: the name of each line of normalize's output, as described above:
# generic arguments (<...>, nested) dropped, then the path's last component;
# closures as {closure} (gdb: {closure#0}, the symbol: {{closure}}).
rust_names()
{
	awk '{
		f = $0; out = ""; d = 0
		for (i = 1; i <= length(f); i++) {
			c = substr(f, i, 1)
			if (c == "<") d++
			else if (c == ">" && d > 0) d--
			else if (d == 0) out = out c
		}
		sub(/(::)+$/, "", out)	# the turbofish of f::<T>
		n = split(out, p, "::")
		f = p[n]
		sub(/^\{+closure(#[0-9]+)?\}+$/, "{closure}", f)
		sub(/\{\{vtable\.shim\}\}$/, "", f)
		print f
	}'
}

record_ok -e heap -o "$T/rust.data" -- "$T/alloc"
for site in main:12345 thread:12346; do
	name=${site%%:*} size=${site#*:}
	gdb_frames "$T/alloc" "$size" | rust_names >"$T/gdb.$name"
	memprof_frames "$T/rust.data" "$size" | rust_names >"$T/memprof.$name"
	grep -qx make "$T/gdb.$name" || fail "$name: gdb's stack has no make: $(tr '\n' ' ' <"$T/gdb.$name")"

	same "Rust, $name" "$T/gdb.$name" "$T/memprof.$name"
done
exit 0
