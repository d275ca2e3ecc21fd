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
RECORD_LIBS := -lbpf -lelf -ldw -lcapstone
REPORT_LIBS := -ldw -lelf -ldebuginfod -liberty

FORMAT_OBJS := $(O)/format/writer.o $(O)/format/reader.o $(O)/format/codec.o $(O)/format/names.o \
	       $(O)/format/archive.o $(O)/format/buildid-cache.o
RECORD_OBJS := $(O)/record/builtin-record.o $(O)/record/bpf.o $(O)/record/procmaps.o \
	       $(O)/record/buildid.o $(O)/record/probes.o $(O)/record/workload.o \
	       $(O)/record/leaf.o
REPORT_OBJS := $(O)/report/builtin-report.o $(O)/report/symbolize.o $(O)/report/model.o \
	       $(O)/report/tree.o $(O)/report/output-tree.o $(O)/report/output-folded.o \
	       $(O)/report/output-json.o $(O)/report/output-pprof.o $(O)/report/output-svg.o \
	       $(O)/report/output-stat.o $(O)/report/output-timeline.o \
	       $(O)/report/output-timeline-svg.o \
	       $(O)/report/unwind.o $(O)/report/demangle.o $(O)/report/inline.o \
	       $(O)/report/lookup.o $(O)/report/input.o \
	       $(O)/report/builtin-archive.o $(O)/report/builtin-buildid-list.o \
	       $(O)/report/builtin-buildid-cache.o $(O)/report/builtin-script.o \
	       $(O)/report/builtin-diff.o
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

$(O)/unit-tests: $(UNIT_SRCS) $(FORMAT_OBJS) $(O)/report/model.o | deps
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(UNIT_SRCS) $(FORMAT_OBJS) $(O)/report/model.o \
		$(FORMAT_LIBS)

# Sanitizers and fuzzing (tests/fuzz/).  `make check` runs the unit tests again built with
# ASan and UBSan, and replays the fuzzing corpus tests/data/corpus/ through the fuzz target
# built the same way (fuzz-replay).  `make fuzz` builds the target for libFuzzer and fuzzes
# for FUZZ_SECONDS, adding what it finds to $(O)/fuzz-corpus, never to the checked-in corpus;
# crashes go to $(O)/fuzz-artifacts/.  `make corpus` regenerates the generated part of
# tests/data/corpus/ (on purpose only: it is checked in).
SAN_CC       ?= clang
SANITIZE     := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_CFLAGS    = $(CFLAGS) -O1 -fno-omit-frame-pointer
SAN_HDRS     := $(wildcard format/*.h report/*.h tests/unit/*.h)
FORMAT_SRCS  := $(FORMAT_OBJS:$(O)/%.o=%.c)
# The reader ignores CRCs in these builds, so that mutations reach what the CRCs guard.
FUZZ_DEFS    := -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_SRCS    := $(FORMAT_SRCS) report/model.c report/tree.c report/output-tree.c \
		report/output-folded.c report/output-stat.c report/output-timeline.c \
		report/output-timeline-svg.c tests/fuzz/fuzz-trace.c
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 16384
FUZZ_FLAGS   ?=

$(O)/unit-tests-san: $(UNIT_SRCS) $(FORMAT_SRCS) report/model.c $(SAN_HDRS) | test-deps
	@mkdir -p $(O)
	$(SAN_CC) $(CPPFLAGS) $(SAN_CFLAGS) $(SANITIZE) -o $@ $(UNIT_SRCS) $(FORMAT_SRCS) \
		report/model.c $(FORMAT_LIBS)

$(O)/fuzz-replay: tests/fuzz/replay.c $(FUZZ_SRCS) $(SAN_HDRS) | test-deps
	@mkdir -p $(O)
	$(SAN_CC) $(CPPFLAGS) $(SAN_CFLAGS) $(SANITIZE) $(FUZZ_DEFS) -o $@ tests/fuzz/replay.c \
		$(FUZZ_SRCS) $(FORMAT_LIBS)

$(O)/fuzz-trace: $(FUZZ_SRCS) $(SAN_HDRS) | test-deps
	@mkdir -p $(O)
	$(CLANG) $(CPPFLAGS) $(SAN_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(FUZZ_DEFS) -o $@ $(FUZZ_SRCS) $(FORMAT_LIBS)

fuzz: $(O)/fuzz-trace
	@mkdir -p $(O)/fuzz-corpus $(O)/fuzz-artifacts
	$(O)/fuzz-trace -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -timeout=10 \
		-rss_limit_mb=2048 -dict=tests/fuzz/fuzz-trace.dict -print_final_stats=1 \
		-artifact_prefix=$(O)/fuzz-artifacts/ $(FUZZ_FLAGS) $(O)/fuzz-corpus tests/data/corpus

$(O)/gen-corpus: tests/tools/gen-corpus.c $(FORMAT_OBJS) | deps
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(FORMAT_OBJS) $(FORMAT_LIBS)

corpus: $(O)/gen-corpus
	$(O)/gen-corpus tests/data/corpus

# The stacks workloads, for comparing stacks with gdb's: with and without frame
# pointers, at -O0 and -O2, in C (through a shared library) and C++.
STACKS_VARIANTS := fp-O0 fp-O2 nofp-O0 nofp-O2
stacks_flags = -g $(if $(findstring nofp,$1),-fomit-frame-pointer,-fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer) -$(lastword $(subst -, ,$1))
STACKS_BINS := $(foreach v,$(STACKS_VARIANTS),$(O)/workloads/stacks/stacks-$(v) \
	$(O)/workloads/stacks/stacks-cxx-$(v) $(O)/workloads/stacks/libstacks-$(v).so)

$(O)/workloads/stacks/libstacks-%.so: tests/workloads/stacks/libstacks.c \
		tests/workloads/stacks/libstacks.h | deps
	@mkdir -p $(dir $@)
	$(CC) $(call stacks_flags,$*) -shared -fPIC -o $@ $<

$(O)/workloads/stacks/stacks-cxx-%: tests/workloads/stacks/stacks.cc | deps
	@mkdir -p $(dir $@)
	$(CXX) $(call stacks_flags,$*) -o $@ $<

$(O)/workloads/stacks/stacks-%: tests/workloads/stacks/stacks.c \
		$(O)/workloads/stacks/libstacks-%.so | deps
	$(CC) $(call stacks_flags,$*) -pthread -o $@ $< -L$(O)/workloads/stacks -lstacks-$* \
		-Wl,-rpath,'$$ORIGIN'

workloads: $(WORKLOADS) $(STACKS_BINS)

check: memprof $(O)/unit-tests $(O)/unit-tests-san $(O)/fuzz-replay $(O)/gen-corpus workloads \
       | test-deps
	@tests/run-tests.sh

demo: memprof workloads
	@scripts/demo.sh

PREFIX ?= /usr/local
install: memprof
	install -D -m 755 memprof $(DESTDIR)$(PREFIX)/bin/memprof

clean:
	rm -rf $(O) memprof


.PHONY: all deps test-deps check demo install clean workloads fuzz corpus
-include $(OBJS:.o=.d)
