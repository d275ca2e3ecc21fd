// SPDX-License-Identifier: GPL-2.0
/*
 * memprof's kernel side: follows the target processes (fork, exec, exit:
 * process.bpf.c), attributes physical page and page cache allocations to them
 * and tracks their frees (pages.bpf.c), sees their address space calls
 * (syscalls.bpf.c) and pairs heap calls' entries and returns (heap.bpf.c).
 * Events go to user space through one ring buffer; user call stacks are
 * copied into the events and deduplicated in user space.
 *
 * This file defines what the others share (bpf/memprof.bpf.h).
 */
#define MEMPROF_BPF_DEFINE
#include "bpf/memprof.bpf.h"

char LICENSE[] SEC("license") = "GPL";
