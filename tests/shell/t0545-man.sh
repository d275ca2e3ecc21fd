#!/bin/bash
# The man pages: `make man` builds one per Documentation/memprof*.txt with asciidoctor,
# `make install` puts them where man finds them, linkmemprof:NAME[N] renders as a
# reference (NAME(N), in bold), never literally, and no '--' becomes an em dash (nor
# '...' an ellipsis): the SYNOPSIS reads as --help prints it.
. "$(dirname "$0")/lib.sh"

need_cmd make asciidoctor man
make -s -C "$ROOT" man O="$BUILD" BIN="$MEMPROF" >"$T/make.log" 2>&1 || fail "make man: $(tail -n 20 "$T/make.log")"
for txt in "$ROOT"/Documentation/memprof*.txt; do
	name=$(basename "$txt" .txt)
	sec=$(sed -n '1s/.*(\([0-9]\)).*/\1/p' "$txt")
	page=$BUILD/man/$name.$sec
	[ -s "$page" ] || fail "make man did not build $name.$sec"
	grep -q 'linkmemprof' "$page" && fail "$name.$sec: linkmemprof left as is: $(grep -m2 linkmemprof "$page")"
	grep -q '\\(em\|\\\[em\]\|\\(&\|\\\[u2026\]\|\\(\.\.' "$page" &&
		fail "$name.$sec: a typographic replacement: $(grep -m2 '\\(em\|\\\[em\]' "$page")"
	MANWIDTH=100 man -l "$page" >"$T/$name.txt" 2>/dev/null || fail "man -l $name.$sec failed"
	grep -q '—\|…' "$T/$name.txt" && fail "$name.$sec renders an em dash or an ellipsis: $(grep -m2 '—\|…' "$T/$name.txt")"
done
# references in bold, as man pages cite one another
grep -q '\\fBmemprof\\-record(1)\\fP' "$BUILD/man/memprof-report.1" ||
	fail "memprof-report.1 does not cite memprof-record(1): $(grep -m2 'memprof.-record' "$BUILD/man/memprof-report.1")"
# the SYNOPSIS as --help prints it: '-- COMMAND [ARGS...]' with two hyphens, three dots
grep -q '^ *-- COMMAND \[ARGS\.\.\.\]$' "$T/memprof-record.txt" ||
	fail "memprof-record(1)'s SYNOPSIS: $(grep -m1 'COMMAND' "$T/memprof-record.txt")"
"$MEMPROF" report --help | head -n 1 >"$T/help"
grep -qF "$(sed 's/^ *//' "$T/help")" "$T/memprof-report.txt" ||
	fail "memprof-report(1)'s SYNOPSIS is not --help's: $(cat "$T/help")"

# make install: the binary and every page, where man looks (MANDIR under PREFIX)
make -s -C "$ROOT" install O="$BUILD" BIN="$MEMPROF" DESTDIR="$T/root" PREFIX=/usr/local \
	>"$T/make.log" 2>&1 || fail "make install: $(tail -n 20 "$T/make.log")"
[ -x "$T/root/usr/local/bin/memprof" ] || fail "make install did not install memprof"
for p in man1/memprof.1 man1/memprof-record.1 man1/memprof-report.1 man5/memprof-trace-format.5; do
	[ -s "$T/root/usr/local/share/man/$p" ] || fail "make install did not install $p"
done
MANPATH="$T/root/usr/local/share/man" man -w memprof-record >"$T/where" 2>&1 ||
	fail "man memprof-record finds nothing after make install: $(cat "$T/where")"
exit 0
