#!/bin/sh
# `make demo`: records the bundled demo program (tests/workloads/demo.c: a toy
# server with a leaking cache, temporary buffers and a page-touching arena) and
# prints the report.  MEMPROF and MEMPROF_BUILD (set by make) say where the binary
# and the workloads were built.
cd "$(dirname "$0")/.." || exit 1
memprof=${MEMPROF:-./memprof}
build=${MEMPROF_BUILD:-build}

if [ "$(id -u)" -ne 0 ]; then
	echo "memprof: error: recording loads BPF programs and needs root; run 'sudo make demo'" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memprof-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "\$ memprof record -e page,heap -o $tmp/demo.data -- $build/workloads/demo"
"$memprof" record -e page,heap -o "$tmp/demo.data" -- "$build/workloads/demo" || exit 1
echo
echo "\$ memprof report -i $tmp/demo.data"
"$memprof" report -i "$tmp/demo.data"
