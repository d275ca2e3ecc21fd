# memprof: top-level build.  `make` builds ./memprof; `make check` runs every test;
# `make demo` records the bundled demo workload and prints its report.

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PKG_CONFIG ?= pkg-config
O        := build

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes -D_GNU_SOURCE
CPPFLAGS += -I. -I$(O) -DMEMPROF_VERSION=\"0.1\"

FORMAT_LIBS := -lzstd -lz
RECORD_LIBS := -lbpf -lelf -lcapstone
REPORT_LIBS := -ldw -lelf

FORMAT_OBJS := $(O)/format/writer.o $(O)/format/reader.o $(O)/format/codec.o $(O)/format/names.o
RECORD_OBJS := $(O)/record/builtin-record.o $(O)/record/bpf.o $(O)/record/procmaps.o \
	       $(O)/record/buildid.o $(O)/record/probes.o $(O)/record/workload.o
REPORT_OBJS := $(O)/report/builtin-report.o $(O)/report/symbolize.o $(O)/report/model.o \
	       $(O)/report/tree.o $(O)/report/output-tree.o $(O)/report/output-folded.o
MAIN_OBJS   := $(O)/memprof.o $(O)/util.o
OBJS := $(MAIN_OBJS) $(FORMAT_OBJS) $(RECORD_OBJS) $(REPORT_OBJS)

WORKLOADS := $(patsubst tests/workloads/%.c,$(O)/workloads/%,$(wildcard tests/workloads/*.c))
UNIT_SRCS := $(wildcard tests/unit/*.c)

all: memprof

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

memprof: $(OBJS) | deps
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(RECORD_LIBS) $(REPORT_LIBS) $(FORMAT_LIBS)

$(O)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# BPF: vmlinux.h from the running kernel's BTF, CO-RE object, skeleton.
$(O)/vmlinux.h: | deps
	@mkdir -p $(O)
	scripts/gen-vmlinux.sh $@

$(O)/memprof.bpf.o: bpf/memprof.bpf.c bpf/memprof.h $(O)/vmlinux.h
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I. -I$(O) -Wall -Wno-unused-function \
		-c $< -o $@

$(O)/memprof.skel.h: $(O)/memprof.bpf.o
	$(BPFTOOL) gen skeleton $< name memprof_bpf > $@

$(O)/record/bpf.o: $(O)/memprof.skel.h

# Workloads keep frame pointers and are built without optimisation of call paths.
$(O)/workloads/%: tests/workloads/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls -pthread \
		-o $@ $<

$(O)/unit-tests: $(UNIT_SRCS) $(FORMAT_OBJS) | deps
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(UNIT_SRCS) $(FORMAT_OBJS) $(FORMAT_LIBS)

workloads: $(WORKLOADS)

check: memprof $(O)/unit-tests workloads | test-deps
	@tests/run-tests.sh

demo: memprof workloads
	@scripts/demo.sh

PREFIX ?= /usr/local
install: memprof
	install -D -m 755 memprof $(DESTDIR)$(PREFIX)/bin/memprof

clean:
	rm -rf $(O) memprof


.PHONY: all deps test-deps check demo install clean workloads
-include $(OBJS:.o=.d)
