#!/bin/sh
# Generates vmlinux.h (kernel types for CO-RE) from the running kernel's BTF.
# The BPF object built from it relocates against whatever kernel runs it.
set -e
out=$1
btf=/sys/kernel/btf/vmlinux
if [ ! -r "$btf" ]; then
	echo "memprof: error: no kernel BTF at $btf; build on a kernel with CONFIG_DEBUG_INFO_BTF=y" >&2
	exit 1
fi
"${BPFTOOL:-bpftool}" btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
