#!/bin/bash
# The help of every command matches its man page: the synopsis of
# `memprof CMD --help` is the man page's SYNOPSIS line for line, `memprof help
# CMD` prints the same, every option --help lists is documented in the man
# page and every option the man page documents is in --help, and `memprof
# --help` lists every command.
. "$(dirname "$0")/lib.sh"

[ -x "$MEMPROF" ] || fail "$MEMPROF is not built"

"$MEMPROF" --help >"$T/main" || fail "memprof --help failed"
for cmd in record report archive buildid-list buildid-cache script diff top serve; do
	doc=$ROOT/Documentation/memprof-$cmd.txt
	[ -f "$doc" ] || fail "$doc is missing"
	grep -q "^   $cmd " "$T/main" || fail "memprof --help does not list $cmd"

	"$MEMPROF" "$cmd" --help >"$T/help" 2>"$T/err" || fail "memprof $cmd --help failed"
	[ ! -s "$T/err" ] || fail "memprof $cmd --help wrote on stderr: $(cat "$T/err")"
	"$MEMPROF" help "$cmd" >"$T/help2" || fail "memprof help $cmd failed"
	cmp -s "$T/help" "$T/help2" || fail "memprof help $cmd differs from memprof $cmd --help"

	# the man page's [verse] block, up to the blank line, and --help up to its own
	awk '/^SYNOPSIS$/ { s = 1; next } s && /^\[verse\]$/ { v = 1; next }
	     v && /^$/ { exit } v { print }' "$doc" >"$T/synopsis.doc"
	awk '/^$/ { exit } { print }' "$T/help" >"$T/synopsis.help"
	[ -s "$T/synopsis.doc" ] || fail "$doc has no [verse] SYNOPSIS"
	diff -u "$T/synopsis.doc" "$T/synopsis.help" >"$T/diff" ||
		fail "memprof $cmd --help and its man page differ:
$(cat "$T/diff")"

	for opt in $(grep -o -- '--[a-z][a-z-]*' "$T/help" | sort -u); do
		grep -q -- "^$opt[=:[]" "$doc" || fail "$opt of memprof $cmd is not in $doc"
	done
	# and the other way: each option of the man page's OPTIONS is in --help
	for opt in $(awk '/^OPTIONS$/ { o = 1; next } o && /^[A-Z][A-Z ]*$/ { exit }
			  o && /^--[a-z]/ { sub(/[=:[].*/, ""); print }' "$doc" | sort -u); do
		grep -q -- "$opt\b" "$T/help" || fail "$opt of $doc is not in memprof $cmd --help"
	done
done
exit 0
