#!/bin/bash
# Targets whose files record reaches only through the process: a workload in
# its own mount namespace (`unshare -m`, its binary on a tmpfs mounted there,
# and a different file at the same path outside), and a workload whose binary
# was deleted after it started (recorded with -p).  record reads their ELF
# files through /proc/PID/root and /proc/PID/map_files and puts them in the
# build-id cache, where report finds them: full names and exact figures.
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd unshare mount

unset DEBUGINFOD_URLS XDG_CACHE_HOME
export MEMPROF_BUILDID_DIR=$T/cache

# ---- a mount namespace ----
mkdir -p "$T/ns/bin"
cp "$WL/attach" "$T/ns/attach"
# Outside the namespace the path holds another program: it must not be used.
cp "$WL/heap" "$T/ns/bin/wl"
mkfifo "$T/go"
"$MEMPROF" record -e heap -o "$T/ns.data" -- unshare -m sh -c \
	"mount -t tmpfs memprof-test '$T/ns/bin' && cp '$T/ns/attach' '$T/ns/bin/wl' &&
	 exec '$T/ns/bin/wl'" <"$T/go" >"$T/record.log" 2>&1 &
rec=$!
exec 3>"$T/go"		# the workload waits for a byte
wait_recording "$T/ns.data" "$rec"
# its maps are read at its exec; give record a moment past its first flush
sleep 0.5
echo go >&3
exec 3>&-
wait "$rec" || fail "memprof record of the namespaced workload failed: $(cat "$T/record.log")"
cmp -s "$WL/heap" "$T/ns/bin/wl" || fail "the namespace's tmpfs is visible outside it"

report_ok -i "$T/ns.data" --event heap --folded
assert_eq "namespace: attached_malloc" 524288 "$(stack_bytes "$T/out" "main;attached_malloc")"
assert_eq "namespace: before_attach" 409600 "$(stack_bytes "$T/out" "main;before_attach")"
grep -q "'$T/ns/bin/wl'" "$T/report.err" && fail "namespace: warned: $(cat "$T/report.err")"
"$MEMPROF" buildid-list -i "$T/ns.data" >"$T/list" || fail "buildid-list"
grep -q " cache  *self  *$T/ns/bin/wl$" "$T/list" || fail "buildid-list: $(cat "$T/list")"

# ---- a deleted binary ----
mkdir "$T/del"
cp "$WL/attach" "$T/del/attach"
"$T/del/attach" <"$T/go" &
wl=$!
exec 3>"$T/go"
# The shell opens the fifo, then execs: deleted before that, there is nothing to run.
for ((i = 0; i < 500; i++)); do
	[ "$(readlink "/proc/$wl/exe")" = "$T/del/attach" ] && break
	sleep 0.01
done
rm "$T/del/attach"
"$MEMPROF" record -e heap -p "$wl" -o "$T/del.data" >"$T/record.log" 2>&1 &
rec=$!
wait_recording "$T/del.data" "$rec"
echo go >&3
exec 3>&-
wait "$wl" || fail "the workload failed"
wait "$rec" || fail "memprof record -p of a deleted binary failed: $(cat "$T/record.log")"

report_ok -i "$T/del.data" --event heap --folded
assert_eq "deleted: attached_malloc" 524288 "$(stack_bytes "$T/out" "main;attached_malloc")"
[ ! -s "$T/report.err" ] || fail "deleted: warnings: $(cat "$T/report.err")"

# ---- -N: nothing copied into the cache, so report says what it misses ----
export MEMPROF_BUILDID_DIR=$T/cache-N
cp "$WL/attach" "$T/del/attach"
"$T/del/attach" <"$T/go" &
wl=$!
exec 3>"$T/go"
# The shell opens the fifo, then execs: deleted before that, there is nothing to run.
for ((i = 0; i < 500; i++)); do
	[ "$(readlink "/proc/$wl/exe")" = "$T/del/attach" ] && break
	sleep 0.01
done
rm "$T/del/attach"
"$MEMPROF" record -N -e heap -p "$wl" -o "$T/n.data" >"$T/record.log" 2>&1 &
rec=$!
wait_recording "$T/n.data" "$rec"
echo go >&3
exec 3>&-
wait "$wl" || fail "the workload failed"
wait "$rec" || fail "memprof record -N failed: $(cat "$T/record.log")"
[ -z "$(ls -A "$T/cache-N" 2>/dev/null)" ] || fail "-N: the cache has $(ls -R "$T/cache-N")"
report_ok -i "$T/n.data" --event heap --folded
grep -q "'$T/del/attach'" "$T/report.err" || fail "-N: no warning about the file: $(cat "$T/report.err")"
exit 0
