#!/bin/bash
# memprof record's refusals: each a one-line error that says what to do, a
# non-zero exit, and no trace file left behind that could pass for a real one.
. "$(dirname "$0")/lib.sh"
[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"

# check_refusal WHAT PATTERN CMD...: CMD fails with one error line matching PATTERN
# and leaves no $T/r.data.
check_refusal()
{
	local what=$1 pattern=$2
	shift 2

	rm -f "$T/r.data"
	"$@" >"$T/out" 2>"$T/err" && fail "$what: succeeded"
	assert_eq "$what: lines on stderr ($(cat "$T/err"))" 1 "$(wc -l <"$T/err")"
	grep -q "^memprof: error: $pattern" "$T/err" || fail "$what: message: $(cat "$T/err")"
	[ -e "$T/r.data" ] && fail "$what: left a trace file behind"
	return 0
}

check_refusal "no target" "nothing to record" "$MEMPROF" record -o "$T/r.data"
check_refusal "unknown event" "unknown event 'bogus'" "$MEMPROF" record -e bogus -o "$T/r.data" -- true
check_refusal "bad duration" "invalid duration" "$MEMPROF" record -d x -o "$T/r.data" -- true
check_refusal "bad call-graph" "unknown call-graph mode" "$MEMPROF" record -g lbr -o "$T/r.data" -- true
check_refusal "bad buffer size" "invalid buffer size" "$MEMPROF" record -m 12Q -o "$T/r.data" -- true
# -m's range is the BPF ring buffer's, 4K to 2G, checked before loading (usage errors)
for m in 4G 8G 3G 1K 4294967296; do
	check_refusal "buffer size $m" "buffer size '$m' is out of range: .* 4K to 2G" \
		"$MEMPROF" record -m "$m" -o "$T/r.data" -- true
	"$MEMPROF" record -m "$m" -o "$T/r.data" -- true 2>/dev/null
	assert_eq "-m $m exit status" 129 "$?"
done
grep -q '^	from 4K to 2G' "$ROOT/Documentation/memprof-record.txt" ||
	fail "memprof-record.txt does not give -m's range"
check_refusal "pid and command" "give one of a command, -p PID, -a, or --comm/--exec, not several" \
	"$MEMPROF" record -p 1 -o "$T/r.data" -- true

if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
	chmod 777 "$T"
	check_refusal "unprivileged" "recording needs CAP_BPF and CAP_PERFMON, .*run as root" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$MEMPROF" record -o "$T/r.data" -- true
fi
if command -v capsh >/dev/null && [ "$(id -u)" -eq 0 ]; then
	check_refusal "root without CAP_PERFMON" "recording needs CAP_PERFMON, " \
		capsh --drop=cap_perfmon,cap_sys_admin -- -c "'$MEMPROF' record -o '$T/r.data' -- true"
fi

need_bpf
if command -v unshare >/dev/null; then
	# no kernel BTF: hidden in a mount namespace of our own
	check_refusal "no kernel BTF" "this kernel has no BTF (/sys/kernel/btf/vmlinux)" \
		unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf &&
			exec '$MEMPROF' record -o '$T/r.data' -- true"
	# neither tracefs nor debugfs mounted: memprof does not need them
	unshare -m sh -c "umount -l /sys/kernel/tracing /sys/kernel/debug/tracing \
			/sys/kernel/debug 2>/dev/null; ! grep -qE 'tracefs|debugfs' /proc/self/mounts &&
		exec '$MEMPROF' record -e page,heap -o '$T/nt.data' -- '$WL/heap'" >"$T/out" 2>&1 ||
		fail "record without tracefs and debugfs: $(cat "$T/out")"
	"$MEMPROF" report -i "$T/nt.data" --event heap --folded >"$T/out" ||
		fail "report of the trace recorded without tracefs"
	assert_eq "leak_malloc without tracefs" 409600 "$(leaf_bytes "$T/out" leak_malloc)"
fi
check_refusal "a command that does not exist" "cannot run '/nonexistent/cmd': No such file" \
	"$MEMPROF" record -o "$T/r.data" -- /nonexistent/cmd
check_refusal "a command that is not executable" "cannot run '/etc/passwd': Permission denied" \
	"$MEMPROF" record -o "$T/r.data" -- /etc/passwd
check_refusal "a process that does not exist" "no process with PID 999999999" \
	"$MEMPROF" record -p 999999999 -o "$T/r.data"

# an existing trace is kept as FILE.old, as perf does
record_ok -o "$T/r.data" -- true
record_ok -o "$T/r.data" -- true
[ -s "$T/r.data.old" ] || fail "the previous trace was not kept as r.data.old"
exit 0
