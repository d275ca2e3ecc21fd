#!/bin/bash
# The README's two set-up commands work for root without sudo and for a user through
# sudo: scripts/install-deps, `make demo` (scripts/demo.sh) and `make check`
# (tests/run-tests.sh) ask for root through sudo, and only when they need it.  As a
# user (nobody, with setpriv) a stand-in sudo on the PATH records how it was called;
# as root a PATH without sudo shows none is needed.  `make demo` keeps its trace, says
# where, gives it back to the user who sudo'ed, and ends with two commands to try.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root, to become another user and back"
need_cmd setpriv

# A PATH with the system's tools but no sudo (and a fake dpkg-query where asked).
mkdir -p "$T/bin" "$T/nosudo"
for c in sh bash env id cat sed grep awk dirname basename mktemp rm chown stat seq sort \
	 tr head tail ls date dpkg-query mkdir cp mv ln chmod printf uname sleep kill cut wc; do
	p=$(command -v "$c") && ln -sf "$p" "$T/nosudo/$c"
done
cat >"$T/bin/sudo" <<'SH'
#!/bin/sh
# A stand-in: what it was asked to run, and nothing run.
echo "$*" >>"$SUDO_LOG"
exit 0
SH
chmod 755 "$T/bin/sudo"
chmod 755 "$T"
touch "$T/sudo.log"
chmod 666 "$T/sudo.log"
as_user()
{
	setpriv --reuid=65534 --regid=65534 --clear-groups env SUDO_LOG="$T/sudo.log" \
		PATH="$T/bin:$PATH" HOME="$T" "$@"
}

# install-deps as root, every package there: quiet, no sudo needed
PATH="$T/nosudo" sh "$ROOT/scripts/install-deps" >"$T/out" 2>&1 ||
	fail "install-deps as root without sudo: $(cat "$T/out")"
[ ! -s "$T/out" ] || fail "install-deps said something with nothing to install: $(cat "$T/out")"

# install-deps as a user, a package missing: it runs itself again through sudo
cat >"$T/bin/dpkg-query" <<'SH'
#!/bin/sh
echo "unknown ok not-installed"
SH
chmod 755 "$T/bin/dpkg-query"
as_user sh "$ROOT/scripts/install-deps" --test >"$T/out" 2>&1 ||
	fail "install-deps as a user: $(cat "$T/out")"
grep -qx -- "-- $ROOT/scripts/install-deps --test" "$T/sudo.log" ||
	fail "install-deps did not ask sudo for itself: '$(cat "$T/sudo.log")' $(cat "$T/out")"
rm "$T/bin/dpkg-query"

# make demo's script as a user: through sudo, with where memprof was built
: >"$T/sudo.log"
as_user env MEMPROF=/x/memprof MEMPROF_BUILD=/x/build sh "$ROOT/scripts/demo.sh" >"$T/out" 2>&1 ||
	fail "demo.sh as a user: $(cat "$T/out")"
grep -qx -- "-- env MEMPROF=/x/memprof MEMPROF_BUILD=/x/build $ROOT/scripts/demo.sh" "$T/sudo.log" ||
	fail "demo.sh did not ask sudo for itself: '$(cat "$T/sudo.log")'"

# make check's runner as a user: the end-to-end tests through sudo, not the golden suite
: >"$T/sudo.log"
as_user bash "$ROOT/tests/run-tests.sh" t0001 >"$T/out" 2>&1
grep -q -- "-- env MEMPROF=.* $ROOT/tests/run-tests.sh t0001$" "$T/sudo.log" ||
	fail "run-tests.sh did not ask sudo for the end-to-end tests: '$(cat "$T/sudo.log")'"
: >"$T/sudo.log"
as_user bash "$ROOT/tests/run-tests.sh" golden unit >"$T/out" 2>&1
[ ! -s "$T/sudo.log" ] || fail "run-tests.sh golden asked for sudo: $(cat "$T/sudo.log")"

# make demo itself, as root without sudo: the trace is kept and said, two commands
# follow; as if through sudo (SUDO_UID), the trace is the user's
need_bpf
[ -x "$WL/demo" ] || fail "$WL/demo is not built"
mkdir "$T/build"
ln -s "$WL" "$T/build/workloads"
chown 65534 "$T/build"
PATH="$T/nosudo" SUDO_UID=65534 SUDO_GID=65534 MEMPROF="$MEMPROF" MEMPROF_BUILD="$T/build" \
	sh "$ROOT/scripts/demo.sh" >"$T/out" 2>&1 || fail "make demo as root: $(cat "$T/out")"
[ -s "$T/build/demo.data" ] || fail "make demo did not keep its trace: $(cat "$T/out")"
grep -q "^The trace is kept in $T/build/demo.data" "$T/out" ||
	fail "make demo does not say where its trace is: $(tail -n 4 "$T/out")"
[ "$(tail -n 2 "$T/out" | grep -c "^  $MEMPROF report -i $T/build/demo.data --show=")" -eq 2 ] ||
	fail "make demo does not end with two commands: $(tail -n 3 "$T/out")"
[ "$(stat -c %u "$T/build/demo.data")" -eq 65534 ] ||
	fail "the demo's trace is not the sudo user's: $(stat -c %U "$T/build/demo.data")"
"$MEMPROF" report -i "$T/build/demo.data" --show=temporary >"$T/report" 2>&1 ||
	fail "the first suggested command failed: $(cat "$T/report")"
grep -q '^# memprof report: temporary heap allocations' "$T/report" ||
	fail "the suggested --show=temporary: $(head -3 "$T/report")"

# the demo's stacks are complete: no [incomplete] frame in its report, and the pages
# glibc's malloc touches are under the demo's own functions, down from _start
grep -q '\[incomplete\]' "$T/out" && fail "make demo shows [incomplete]: $(cat "$T/out")"
"$MEMPROF" report -i "$T/build/demo.data" --event=page --show=alloc --folded >"$T/folded" 2>&1 ||
	fail "report --folded of the demo: $(cat "$T/folded")"
grep -q '_int_malloc' "$T/folded" || fail "no page of the demo under _int_malloc: $(cat "$T/folded")"
grep '_int_malloc' "$T/folded" | grep -v '^demo;_start;__libc_start_main;__libc_start_call_main;main;' &&
	fail "pages under _int_malloc without the demo's callers"
exit 0
