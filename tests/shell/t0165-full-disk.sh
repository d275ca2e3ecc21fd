#!/bin/bash
# A full disk: the summary counts what reached the file.  Recording onto a
# 2 MiB tmpfs (mounted here) fails with ENOSPC; every "written" figure of the
# summary must then be what the trace holds, event type by event type (script
# lists them), and what did not reach the file is said to be lost to the disk.
# Then the same with almost no room at all: nothing reached the file, and the
# summary says so instead of listing events written.
. "$(dirname "$0")/lib.sh"
need_bpf

mkdir "$T/small" || fail "mkdir"
mount -t tmpfs -o size=2m memprof-test "$T/small" 2>/dev/null || skip "cannot mount a tmpfs"
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT

# count_events FILE TYPE...: events of these types in the trace FILE, as script lists them.
count_events()
{
	local f=$1 pat=

	shift
	for t in "$@"; do pat="$pat${pat:+|}\"type\":\"$t\""; done
	"$MEMPROF" script -i "$f" --format=json 2>/dev/null | grep -Ec "$pat"
}

HEAP_TYPES="malloc calloc realloc free posix_memalign aligned_alloc memalign valloc"

# summary FIELD: from the summary line of an event type, e.g. `summary heap written`.
summary()
{
	case $2 in
	written) sed -n "s/^memprof: $1: \([0-9]*\) events written.*/\1/p" "$T/record.log" ;;
	disk) sed -n "s/^memprof: $1: .*, \([0-9]*\) lost to the disk$/\1/p" "$T/record.log" ;;
	esac
}

"$MEMPROF" record -e page,heap -o "$T/small/f.data" -- "$WL/forkexec" 1000 >"$T/record.log" 2>&1
[ $? -ne 0 ] || fail "record on a full disk exited 0: $(cat "$T/record.log")"
grep -q "No space left on device" "$T/record.log" || fail "no ENOSPC: $(cat "$T/record.log")"
heap=$(count_events "$T/small/f.data" $HEAP_TYPES)
page=$(count_events "$T/small/f.data" page_alloc page_free)
[ "$heap" -gt 0 ] || fail "no heap event reached the file"
assert_eq "heap events written ($(cat "$T/record.log"))" "$heap" "$(summary heap written)"
assert_eq "page events written ($(cat "$T/record.log"))" "$page" "$(summary page written)"
[ "$(summary heap disk)" -gt 0 ] || fail "no heap event lost to the disk: $(cat "$T/record.log")"

# Almost no room: fill the file system but for 40 KiB.
rm -f "$T/small"/*
avail=$(df -B1 --output=avail "$T/small" | tail -n 1)
head -c $((avail - 40960)) /dev/zero >"$T/small/fill" 2>/dev/null
"$MEMPROF" record -e page,heap -o "$T/small/g.data" -- "$WL/forkexec" 200 >"$T/record.log" 2>&1
[ $? -ne 0 ] || fail "record with 40 KiB free exited 0: $(cat "$T/record.log")"
heap=$(count_events "$T/small/g.data" $HEAP_TYPES)
assert_eq "heap events written with 40 KiB free ($(cat "$T/record.log"))" "$heap" \
	"$(summary heap written)"
[ "$(summary heap disk)" -gt 0 ] || fail "no heap event lost to the disk: $(cat "$T/record.log")"
exit 0
