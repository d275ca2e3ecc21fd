#!/bin/bash
# Frame names: functions inlined into others appear as frames of their own,
# marked (inlined); --srcline adds file:line; C++ and Rust (legacy and v0
# mangling) names are demangled; a frame with no symbol is [unknown] with its
# module and offset.
. "$(dirname "$0")/lib.sh"
need_bpf

# An allocation through an inlined function, at -O2.
cat >"$T/inl.c" <<'C'
#include <stdlib.h>
void *volatile sink;
static inline __attribute__((always_inline)) void *grab(size_t n)
{
	return malloc(n);	/* line 5 */
}
__attribute__((noinline)) void outer(void)
{
	sink = grab(54321);	/* line 9 */
	__asm__ volatile("" ::: "memory");
}
int main(void)
{
	outer();
	return 0;
}
C
gcc -O2 -g -fno-omit-frame-pointer -o "$T/inl" "$T/inl.c" || fail "cannot build the inline workload"
for mode in fp dwarf; do
	record_ok -e heap -g $mode -o "$T/inl.$mode.data" -- "$T/inl"
	report_ok -i "$T/inl.$mode.data" --event heap --show=alloc --folded
	grep -q ";main;outer;grab (inlined) 54321$" "$T/out" ||
		fail "-g $mode: no inlined frame: $(grep 54321 "$T/out")"
	report_ok -i "$T/inl.$mode.data" --event heap --show=alloc --folded --srcline
	grep -q ";outer inl.c:9;grab (inlined) inl.c:5 54321$" "$T/out" ||
		fail "-g $mode --srcline: $(grep 54321 "$T/out")"
done

# Rust, both manglings, where a Rust compiler is installed
if command -v rustc >/dev/null; then
	cat >"$T/r.rs" <<'RS'
#[inline(never)]
fn leak_vec(n: usize) -> Vec<u8> { vec![1u8; n] }
fn main() { std::mem::forget(leak_vec(77777)); }
RS
	for mangling in legacy v0; do
		# legacy is rustc's default and cannot be asked for on a stable compiler
		flag=
		[ $mangling = v0 ] && flag="-C symbol-mangling-version=v0"
		rustc -g -C force-frame-pointers=yes $flag \
			-o "$T/r_$mangling" "$T/r.rs" 2>"$T/rustc.log" ||
			fail "rustc failed: $(cat "$T/rustc.log")"
		record_ok -e heap -g dwarf -o "$T/r.data" -- "$T/r_$mangling"
		report_ok -i "$T/r.data" --event heap --show=alloc --folded
		grep -q ";r::main;r::leak_vec;.* 77777$" "$T/out" ||
			fail "rust $mangling: $(grep 77777 "$T/out")"
	done
else
	echo "note: no rustc here; Rust names are not tested"
fi

# No symbol at all (a stripped copy): the module and the offset
strip -o "$T/inl-stripped" "$T/inl"
record_ok -e heap -o "$T/s.data" -- "$T/inl-stripped"
report_ok -i "$T/s.data" --event heap --show=alloc --folded
grep -q ";\[unknown\] inl-stripped+0x[0-9a-f]* 54321$" "$T/out" ||
	fail "stripped: $(grep 54321 "$T/out")"
exit 0
