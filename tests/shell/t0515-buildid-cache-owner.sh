#!/bin/bash
# record runs as root, with HOME maybe a user's (sudo -E): the files it copies
# into the build-id cache (here a program deleted while it runs) go there as
# the home's owner, never root-owned directories in the user's home; no link
# inside the cache is followed; a copy is no more open than its original
# (0700 stays 0700); and a file that user could not read is not copied into
# their cache.  The user is nobody (65534).
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd setpriv

U=65534
chmod 755 "$T"
mkdir -p "$T/root-only" && chmod 700 "$T/root-only"

# run_deleted HOME MODE OWNER: records, with HOME, a copy of the attach workload
# (mode MODE, owned by OWNER) deleted while it runs; its build-id in $bid.
run_deleted()
{
	local home=$1 pid

	cp "$WL/attach" "$T/app"
	chown "$3" "$T/app"
	chmod "$2" "$T/app"
	bid=$(readelf -n "$T/app" | awk '/Build ID:/ { print $3 }')
	rm -f "$T/go" "$T/a.data"
	mkfifo "$T/go"
	"$T/app" <"$T/go" &
	pid=$!
	exec 3>"$T/go"
	rm "$T/app"
	HOME=$home SUDO_UID=$U SUDO_GID=$U "$MEMPROF" record -e heap -p "$pid" -o "$T/a.data" \
		>"$T/record.log" 2>&1 &
	rec=$!
	wait_recording "$T/a.data" "$rec"
	echo go >&3
	exec 3>&-
	wait "$pid"
	wait "$rec" || fail "record failed: $(cat "$T/record.log")"
}

need_cmd readelf
mkdir "$T/home" && chown "$U:$U" "$T/home" && chmod 755 "$T/home"
unset MEMPROF_BUILDID_DIR XDG_CACHE_HOME
run_deleted "$T/home" 700 "$U:$U"
copy=$T/home/.cache/memprof/.build-id/${bid:0:2}/${bid:2}
[ -f "$copy" ] || fail "the deleted program is not in the cache: $(find "$T/home" | head)"
for d in .cache .cache/memprof .cache/memprof/.build-id ".cache/memprof/.build-id/${bid:0:2}"; do
	assert_eq "owner of ~/$d" "$U" "$(stat -c %u "$T/home/$d")"
done
assert_eq "owner and mode of the copy" "$U 700" "$(stat -c '%u %a' "$copy")"
# and the user's report finds it there
HOME=$T/home setpriv --reuid=$U --regid=$U --clear-groups "$MEMPROF" report -i "$T/a.data" \
	--folded >"$T/out" 2>"$T/err" || fail "report as the user: $(cat "$T/err")"
assert_eq "attached_malloc, from the cache" 524288 "$(stack_bytes "$T/out" "main;attached_malloc")"

# A link planted inside the cache: not followed.
mkdir -p "$T/home2/.cache/memprof"
ln -s "$T/root-only" "$T/home2/.cache/memprof/.build-id"
chown -R -h "$U:$U" "$T/home2"
run_deleted "$T/home2" 755 "$U:$U"
[ -z "$(ls -A "$T/root-only")" ] || fail "record wrote through the link: $(ls -R "$T/root-only")"

# A root-only program: the user could not read it, so it is not copied for them.
mkdir "$T/home3" && chown "$U:$U" "$T/home3"
run_deleted "$T/home3" 700 0:0
[ ! -e "$T/home3/.cache/memprof/.build-id/${bid:0:2}/${bid:2}" ] ||
	fail "a root-only program was copied into the user's cache"
exit 0
