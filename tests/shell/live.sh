# Sourced by the tests of the live commands, top and serve (after lib.sh): a
# free port on 127.0.0.1, the hold workload (tests/workloads/hold.c) run on a
# FIFO it waits on, waiting for a line in a file, HTTP requests, and the
# processes a test started ended when it exits, pass or fail.

LIVE_PIDS=
LIVE_EXTRA_CLEANUP=:
live_cleanup()
{
	local p

	for p in $LIVE_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $LIVE_PIDS; do
		wait "$p" 2>/dev/null
	done
	$LIVE_EXTRA_CLEANUP
}
trap 'live_cleanup; rm -rf "$T"' EXIT

# started PID...: end these when the test ends.
started()
{
	LIVE_PIDS="$LIVE_PIDS $*"
}

# free_port: a TCP port of 127.0.0.1 no one listens on now.
free_port()
{
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for FILE PATTERN SECONDS: until a line of FILE matches PATTERN (grep -E); fails after.
wait_for()
{
	local i

	for ((i = 0; i < $3 * 10; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no '$2' in $1 after $3 s: $(tail -n 5 "$1" 2>/dev/null)"
}

# hold_start [NAME]: runs hold (as NAME, a link to it, if given) on a FIFO, HOLD its pid,
# until it says ready: its allocations are made.  hold_release ends it.
hold_start()
{
	local bin=$WL/hold

	if [ -n "${1:-}" ]; then
		ln -sf "$WL/hold" "$T/$1"
		bin=$T/$1
	fi
	rm -f "$T/hold.in"
	mkfifo "$T/hold.in"
	exec 9<>"$T/hold.in"
	"$bin" <"$T/hold.in" >"$T/hold.out" &
	HOLD=$!
	started "$HOLD"
	wait_for "$T/hold.out" '^ready$' 30
}

hold_release()
{
	echo >&9
	wait "$HOLD" || fail "hold exited $?"
	exec 9>&-
}

# get PATH: GET http://127.0.0.1:$PORT/PATH, the body on stdout; fails unless 200.
get()
{
	curl -sS -f --max-time 30 "http://127.0.0.1:$PORT$1" || fail "GET $1 failed"
}

# status PATH [CURL ARGS]: the HTTP status of PATH, its body in $T/body.
status()
{
	local p=$1

	shift
	curl -sS --max-time 30 --path-as-is -o "$T/body" -w '%{http_code}' "$@" \
		"http://127.0.0.1:$PORT$p"
}

# metric NAME LABELS FILE: the value of the series NAME{LABELS} in the exposition FILE.
metric()
{
	awk -v s="$1{$2}" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }' "$3"
}

# need_test_pkgs CMD...: the real programs a test runs (Prometheus, Chromium, go, tmux),
# installed by scripts/install-deps --test when one is missing (quiet when none is).
need_test_pkgs()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 && continue
		sh "$ROOT/scripts/install-deps" --test >"$T/install.log" 2>&1 ||
			skip "cannot install what this test runs: $(tail -n 1 "$T/install.log")"
		command -v "$c" >/dev/null 2>&1 || fail "'$c' is missing after scripts/install-deps --test"
	done
}

# serve_hold ARGS...: serve with ARGS waiting for hold (--comm), then hold started; SERVE
# its pid, PORT where it listens, the trace in $T/live.data.  With -d, serve stops
# recording while hold still runs.
serve_hold()
{
	PORT=$(free_port)
	"$MEMPROF" serve --listen "127.0.0.1:$PORT" --comm hold -o "$T/live.data" "$@" \
		2>"$T/serve.err" &
	SERVE=$!
	started "$SERVE"
	wait_for "$T/serve.err" "waiting for a process named 'hold'" 60
	hold_start
}

# report_total ARGS...: the total of report --format=json's first tree of the trace.
report_total()
{
	"$MEMPROF" report -i "$T/live.data" "$@" --format=json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["total"])'
}

# need_go: go tool pprof, its caches in the test's dir.
need_go()
{
	need_test_pkgs go
	export GOCACHE=$T/gocache GOFLAGS= PPROF_TMPDIR=$T HOME=$T
}

# calls_after_exec TRACE PID: PID's heap and address space calls after its (last) exec, a
# line "TYPE COUNT" each, sorted: what a process does itself, from its first instruction
# on, without what its parent did in it between the fork and the exec.
calls_after_exec()
{
	"$MEMPROF" script -i "$1" | awk -v p="$2/" 'index($2, p) == 1 {
		if ($4 == "exec:") { split("", c); seen = 1; next }
		t = $4; sub(/:$/, "", t)
		if (seen && t !~ /^(page_alloc|page_free|cache_add|cache_del|rss|fork|exit)$/) c[t]++
	} END { for (t in c) print t, c[t] }' | sort
}

# hold_heap FOLDED: the live heap of hold's own functions (hold_malloc, hold_calloc).
hold_heap()
{
	echo $(($(stack_bytes "$1" "main;hold_malloc") + $(stack_bytes "$1" "main;hold_calloc")))
}

# trees_are_reports: every /v1/tree of the server on PORT (page, heap, cache; caller or
# sites first; thresholds 0 and 256) is report --format=json's tree of $T/live.data, in
# KiB, node for node; each has more than MIN (default 5) nodes.
trees_are_reports()
{
	local ev rev th r min=${1:-5}

	for ev in page heap cache; do
		for rev in false true; do
			for th in 0 256; do
				get "/v1/tree?event=$ev&reverse=$rev&threshold=$th" >"$T/tez.json"
				# report's page tree holds the page cache when it shows both, as TezEdge's.
				r=(--event "$ev")
				[ "$ev" = page ] && r=()
				[ "$rev" = true ] && r+=(--reverse)
				"$MEMPROF" report -i "$T/live.data" --threshold "$th" "${r[@]}" \
					--format=json >"$T/rep.json" 2>/dev/null || fail "report failed"
				python3 "$ROOT/tests/tools/tezedge-cmp.py" "$T/tez.json" "$T/rep.json" \
					"$ev" >"$T/n" ||
					fail "/v1/tree?event=$ev&reverse=$rev&threshold=$th is not report's"
				[ "$(cat "$T/n")" -gt "$min" ] || fail "/v1/tree of $ev has $(cat "$T/n") nodes"
			done
		done
	done
}
