#!/bin/sh
# `make demo`: records the bundled demo program (tests/workloads/demo.c: a toy
# server with a leaking cache, temporary buffers and a page-touching arena),
# prints the report, and keeps the trace in the build directory for more
# reports.  MEMPROF and MEMPROF_BUILD (set by make) say where the binary and the
# workloads were built.  Recording needs root: run as another user, it asks
# for it through sudo, and leaves the trace to that user.
cd "$(dirname "$0")/.." || exit 1
memprof=${MEMPROF:-./memprof}
build=${MEMPROF_BUILD:-build}

if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		exec sudo -- env MEMPROF="$memprof" MEMPROF_BUILD="$build" "$0" "$@"
	fi
	echo "memprof: error: recording loads BPF programs and needs root; run 'make demo' as root" >&2
	exit 1
fi

trap 'exit 130' INT TERM
trace=$build/demo.data

echo "\$ memprof record -e page,heap -o $trace -- $build/workloads/demo"
"$memprof" record -e page,heap -o "$trace" -- "$build/workloads/demo" || exit 1
# Through sudo: the trace is the user's, as the build directory is.
if [ -n "${SUDO_UID:-}" ] && [ -n "${SUDO_GID:-}" ]; then
	chown "$SUDO_UID:$SUDO_GID" "$trace" "$trace.old" 2>/dev/null
fi
echo
echo "\$ memprof report -i $trace"
"$memprof" report -i "$trace" || exit 1
echo
echo "The trace is kept in $trace; report needs no root.  Next, for instance:"
echo "  $memprof report -i $trace --show=temporary   # the buffers freed as soon as allocated"
echo "  $memprof report -i $trace --show=leaks       # the cache entries never freed"
