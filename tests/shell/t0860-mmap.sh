#!/bin/bash
# record -e mmap: the target's mmap, munmap, mremap and brk calls, with
# stacks.  The workload moves the break up by 128 KiB and back by 64 KiB
# (grow_brk), keeps a 1 MiB mapping (map_keep), maps and unmaps 256 KiB
# (map_temp) and grows a 512 KiB mapping to 2 MiB with mremap (grow_map).
# Live at the end: 64 KiB, 1 MiB, 0, and 512 KiB at the mmap plus 1.5 MiB
# at the mremap.  report --stat counts the calls as strace sees them, and
# shows the exec's arguments and the exit status.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd gcc strace python3

cat >"$T/vm.c" <<'EOF2'
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define KB 1024

__attribute__((noinline)) void grow_brk(void)
{
	if (sbrk(128 * KB) == (void *)-1 || sbrk(-64 * KB) == (void *)-1)
		exit(2);
}

__attribute__((noinline)) void *map_keep(void)
{
	return mmap(NULL, 1024 * KB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

__attribute__((noinline)) void map_temp(void)
{
	void *p = mmap(NULL, 256 * KB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || munmap(p, 256 * KB))
		exit(2);
}

__attribute__((noinline)) void *grow_map(void)
{
	void *p = mmap(NULL, 512 * KB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return mremap(p, 512 * KB, 2048 * KB, MREMAP_MAYMOVE);
}

int main(void)
{
	grow_brk();
	if (map_keep() == MAP_FAILED)
		return 2;
	map_temp();
	if (grow_map() == MAP_FAILED)
		return 2;
	return 3;
}
EOF2
gcc -O1 -g -fno-omit-frame-pointer -fno-inline -o "$T/vm" "$T/vm.c" ||
	fail "cannot build the vm workload"
"$MEMPROF" record -e mmap -g dwarf -o "$T/v.data" -- "$T/vm" one "two words" >"$T/record.log" 2>&1
grep -q "memprof: mmap: .* events written, 0 lost" "$T/record.log" ||
	fail "record: $(cat "$T/record.log")"

# path_bytes FILE FRAME: the bytes of the folded stacks through main;FRAME.
path_bytes()
{
	awk -v f=";main;$2;" '{ v = $NF; if (index(";" $0, f)) s += v } END { print s + 0 }' "$1"
}
# call_bytes FILE FRAME CALL: the same, of the stacks whose libc frame is CALL.
call_bytes()
{
	awk -v f=";main;$2;" -v c="$3" '{
		v = $NF; sub(/ [0-9]+$/, "")
		if (index(";" $0 ";", f) && index(";" $0 ";", ";" c ";")) s += v
	} END { print s + 0 }' "$1"
}

report_ok -i "$T/v.data" --folded
assert_eq "grow_brk live" 65536 "$(path_bytes "$T/out" grow_brk)"
assert_eq "map_keep live" 1048576 "$(path_bytes "$T/out" map_keep)"
assert_eq "map_temp live" 0 "$(path_bytes "$T/out" map_temp)"
assert_eq "grow_map live" 2097152 "$(path_bytes "$T/out" grow_map)"
assert_eq "grow_map's mremap" 1572864 "$(call_bytes "$T/out" grow_map mremap)"
report_ok -i "$T/v.data" --folded --show=alloc
assert_eq "grow_brk mapped" 131072 "$(path_bytes "$T/out" grow_brk)"
assert_eq "map_temp mapped" 262144 "$(path_bytes "$T/out" map_temp)"
report_ok -i "$T/v.data" --folded --show=count
assert_eq "map_temp calls" 1 "$(path_bytes "$T/out" map_temp)"

# --stat: the calls strace counts (brk(NULL) and moves that fail change nothing).
strace -f -qq -e trace=mmap,munmap,mremap,brk -o "$T/strace" "$T/vm" one "two words"
python3 - "$T/strace" >"$T/counts" <<'PY' || fail "strace output: $(head "$T/strace")"
import re, sys
n = {"mmap": 0, "munmap": 0, "mremap": 0, "brk": 0}
for line in open(sys.argv[1]):
    m = re.match(r"(?:\d+ +)?(\w+)\((.*)\) += (\S+)", line)
    if not m or m.group(1) not in n or m.group(3).startswith("-"):
        continue
    if m.group(1) == "brk" and m.group(2) == "NULL":
        continue
    n[m.group(1)] += 1
print("mmap %d, munmap %d, mremap %d, brk %d" % (n["mmap"], n["munmap"], n["mremap"], n["brk"]))
PY
report_ok -i "$T/v.data" --stat
pid=$(sed -n 's/^vm \[\([0-9]*\)\]: .*/\1/p' "$T/out")
[ -n "$pid" ] || fail "no vm process in --stat: $(cat "$T/out")"
grep -qx "vm \[$pid\]: $T/vm one two words" "$T/out" || fail "exec arguments: $(cat "$T/out")"
grep -q "^  lifetime .*, exited with 3$" "$T/out" || fail "exit status: $(cat "$T/out")"
grep -qx "  calls     $(cat "$T/counts")" "$T/out" ||
	fail "calls: memprof '$(grep calls "$T/out")', strace '$(cat "$T/counts")'"
grep -q "^  mmap  " "$T/out" || fail "mmap row: $(cat "$T/out")"

# script: each call with its sizes, the exec with its arguments, the exit.
"$MEMPROF" script -i "$T/v.data" >"$T/script" 2>"$T/err" || fail "script: $(cat "$T/err")"
grep -q ": mremap: 2097152 bytes 0x[0-9a-f]* -> 0x[0-9a-f]* old size 524288 flags 0x1$" \
	"$T/script" || fail "script mremap: $(grep mremap "$T/script")"
grep -q ": exec: $T/vm one two words$" "$T/script" || fail "script exec: $(grep exec "$T/script")"
grep -q ": exit: status 768$" "$T/script" || fail "script exit: $(grep exit: "$T/script")"
exit 0
