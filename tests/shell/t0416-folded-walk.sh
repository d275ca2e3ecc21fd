#!/bin/bash
# --folded walks the model's stack tree for the processes whose name is theirs
# alone (report/fold.c) and builds a report tree for the others; --sort=comm
# makes the same paths (the name, then the frames) in a report tree for every
# process.  Both print the same lines, on a recording of several programs, some
# sharing a name (forkexec's children), with many frames named as the walk goes.
. "$(dirname "$0")/lib.sh"
need_bpf

record_ok -e heap,page -o "$T/x.data" -- \
	sh -c "ls -R /usr/share >/dev/null; $WL/forkexec 3; $WL/heap; $WL/threads"
for args in "--event=heap" "--event=page" "--event=heap --show=alloc" \
	    "--event=page --show=count"; do
	# shellcheck disable=SC2086
	"$MEMPROF" report -i "$T/x.data" --folded $args >"$T/walk" 2>"$T/walk.err" ||
		fail "report --folded $args failed: $(cat "$T/walk.err")"
	# shellcheck disable=SC2086
	"$MEMPROF" report -i "$T/x.data" --folded --sort=comm $args >"$T/tree" 2>"$T/tree.err" ||
		fail "report --folded --sort=comm $args failed: $(cat "$T/tree.err")"
	[ -s "$T/walk" ] || fail "report --folded $args printed nothing"
	cmp -s "$T/walk" "$T/tree" ||
		fail "--folded $args and --folded --sort=comm $args differ:" \
			"$(diff "$T/tree" "$T/walk" | head -n 6 | cut -c1-160)"
	cmp -s "$T/walk.err" "$T/tree.err" ||
		fail "--folded $args warned otherwise than with --sort=comm:" \
			"$(diff "$T/tree.err" "$T/walk.err" | head -n 4 | cut -c1-160)"
done
exit 0
