#!/bin/bash
# record, running as root, writes its trace only where it means to: it does
# not follow a symbolic link at the output path (to a file in a directory the
# user cannot write, to a device), writes no FIFO or device, and does not
# rename (to FILE.old) or replace a file of another user.  Under sudo the
# trace is given to the user who ran sudo; report's "Permission denied" on
# a trace of root's says what to do.  The user here is nobody (65534).
. "$(dirname "$0")/lib.sh"
need_bpf
need_cmd setpriv timeout

U=65534
chmod 755 "$T"
mkdir "$T/user" "$T/root-only"
chown "$U:$U" "$T/user"
chmod 700 "$T/root-only"
cd "$T/user" || fail "cd"

# refused ARGS...: record fails with one error naming the output, changes nothing.
refused()
{
	local what=$1

	shift
	timeout -k 5 20 "$MEMPROF" record "$@" -- true >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -ne 124 ] || fail "$what: record hung"
	[ "$rc" -ne 0 ] || fail "$what: record succeeded: $(cat "$T/err")"
	grep -q "^memprof: error: .*'.*memprof.data'" "$T/err" ||
		fail "$what: message: $(cat "$T/err")"
	[ ! -e "$T/user/memprof.data.old" ] || fail "$what: renamed to memprof.data.old"
}

# A link to a file in a directory the user cannot write: not created there.
ln -s "$T/root-only/planted" "$T/user/memprof.data"
refused "a symlink to a root-only directory"
[ ! -e "$T/root-only/planted" ] || fail "record created the file the symlink names"
[ -L "$T/user/memprof.data" ] || fail "the symlink is gone"
rm "$T/user/memprof.data"

# A link to a device (/dev/null stands for the block device it could be).
ln -s /dev/null "$T/user/memprof.data"
refused "a symlink to a device"
rm "$T/user/memprof.data"

# A FIFO (record would block on it, or write into another program).
mkfifo "$T/user/memprof.data"
refused "a FIFO"
rm "$T/user/memprof.data"

# Another user's file: neither replaced nor renamed.
echo "not yours" >"$T/user/memprof.data"
chown 12345 "$T/user/memprof.data"
refused "another user's file"
assert_eq "another user's file" "not yours" "$(cat "$T/user/memprof.data")"
rm "$T/user/memprof.data"

# The user's own file is kept as memprof.data.old, as before.
echo "old trace" >"$T/user/memprof.data"
chown "$U:$U" "$T/user/memprof.data"
SUDO_UID=$U SUDO_GID=$U record_ok -- true
assert_eq "memprof.data.old" "old trace" "$(cat "$T/user/memprof.data.old")"
# Under sudo the trace is the user's: 0600, owned by SUDO_UID and SUDO_GID.
assert_eq "owner of the trace under sudo" "$U:$U 600" "$(stat -c '%u:%g %a' memprof.data)"
setpriv --reuid=$U --regid=$U --clear-groups "$MEMPROF" report -i memprof.data >/dev/null \
	2>"$T/err" || fail "the user cannot report the trace recorded under sudo: $(cat "$T/err")"

# Without sudo it is root's, and report as the user says what to do.
record_ok -o "$T/root.data" -- true
assert_eq "owner of the trace as root" "0:0 600" "$(stat -c '%u:%g %a' "$T/root.data")"
setpriv --reuid=$U --regid=$U --clear-groups "$MEMPROF" report -i "$T/root.data" \
	>/dev/null 2>"$T/err" && fail "the user read root's trace"
grep -q "^memprof: error: cannot open '.*root.data': Permission denied; .*sudo chown" "$T/err" ||
	fail "no hint in report's error: $(cat "$T/err")"
exit 0
