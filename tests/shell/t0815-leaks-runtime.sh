#!/bin/bash
# --show=leaks in a C++ program: every leak shows whatever its size (the default
# threshold does not apply to leaks), libstdc++'s emergency exception pool (72,704
# bytes, freed at exit only by heaptrack's and valgrind's __freeres) is left out and
# the header says so; with -g dwarf its stack ends at ld.so's _dl_start_user, the root
# of what the libraries' constructors allocate, not at an [incomplete] frame.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd g++

cat >"$T/cxx.cc" <<'EOF2'
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>
static void *volatile keep[16];
__attribute__((noinline)) void leak_small() { for (int i = 0; i < 16; i++) keep[i] = malloc(16); }
int main()
{
	usleep(200000);	/* record reads the maps (ld.so's) while it runs */
	std::vector<std::string> v;
	for (int i = 0; i < 10; i++)
		v.push_back(std::string(100, 'x'));
	leak_small();
	return 0;
}
EOF2
g++ -O1 -g -fno-omit-frame-pointer -o "$T/cxx" "$T/cxx.cc" || fail "cannot build the C++ workload"

for g in fp dwarf; do
	record_ok -e heap -g $g -o "$T/$g.data" -- "$T/cxx"
	report_ok -i "$T/$g.data" --show=leaks
	grep -q "^# event: heap, total 256 bytes (256 B) in 16 blocks, no threshold$" "$T/out" ||
		fail "-g $g: leaks header: $(head -n 3 "$T/out")"
	grep -q "^# left out: 1 block of 71.00 KiB that libstdc++ allocated for itself" "$T/out" ||
		fail "-g $g: the emergency pool is not said to be left out: $(head -n 4 "$T/out")"
	grep -q '^ *100.00%  *256 B  *256 B  *leak_small() (16 blocks)$' "$T/out" ||
		fail "-g $g: the 256 bytes leaked are not shown: $(cat "$T/out")"
	grep -q '71.00 KiB  ' "$T/out" && fail "-g $g: the pool is in the tree: $(cat "$T/out")"
	grep -q '^#.*runtime\|libstdc++' "$ROOT/Documentation/memprof-report.txt" ||
		fail "the rule is not documented"
done

# -g dwarf: the pool's stack is rooted at _dl_start_user (live, where it still shows)
report_ok -i "$T/dwarf.data" --show=live --threshold=0 --reverse
awk '/ 71\.00 KiB  .*libstdc\+\+/ { s = 1 } s && /  _dl_start_user$/ { ok = 1 }
     s && /  \[incomplete\]$/ { bad = 1 } END { exit !(ok && !bad) }' "$T/out" ||
	fail "the pool's stack does not end at _dl_start_user: $(cat "$T/out")"
exit 0
