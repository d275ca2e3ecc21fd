# memprof: top-level build.  `make` builds ./memprof; `make check` runs every test;
# `make golden` the report side's golden suite alone (no root, no BPF); `make demo`
# records the bundled demo workload and prints its report; `make man` the man pages
# (asciidoctor); `make install` the binary and the man pages.
#
#   make O=DIR        everything built goes under DIR, the binary too (DIR/memprof)
#   make NO_BPF=1     report, script, diff, archive and the buildid commands only: no clang,
#                     bpftool, libbpf, capstone or kernel BTF needed (record says so), as
#                     perf's NO_LIBBPF=1
#   CC, CXX, CLANG, BPFTOOL, PKG_CONFIG, CFLAGS, LDFLAGS can be given on the command line.
#
# Nothing here installs packages: scripts/install-deps does, and the README's set-up
# commands run it before make.

ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(origin CXX),default)
CXX := g++
endif
CLANG      ?= clang
# Debian installs bpftool in /usr/sbin, outside a user's PATH: a user's build finds it there.
BPFTOOL    ?= $(or $(shell command -v bpftool 2>/dev/null),$(wildcard /usr/sbin/bpftool),bpftool)
PKG_CONFIG ?= pkg-config

ifeq ($(O),)
OUT := build
BIN := memprof
else
OUT := $(patsubst %/,%,$(O))
BIN := $(OUT)/memprof
endif

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes -D_GNU_SOURCE
CPPFLAGS += -I. -I$(OUT) -DMEMPROF_VERSION=\"0.1\"

# Libraries from pkg-config where the distribution ships a .pc file; libiberty has none.
pkg_libs = $(or $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null),$(2))
# -lm: model/ weighs a sampled trace's allocations (exp), and every reader links model/.
FORMAT_LIBS := $(call pkg_libs,libzstd zlib,-lzstd -lz) -lm -lpthread
READ_LIBS   := $(call pkg_libs,libdw libelf libdebuginfod,-ldw -lelf -ldebuginfod) -liberty
RECORD_LIBS := $(call pkg_libs,libbpf,-lbpf) $(call pkg_libs,capstone,-lcapstone) -lpthread
# The live commands: top's screen (ncurses), serve's HTTP server (libmicrohttpd) and its
# pushes to Pyroscope (libcurl).
LIVE_LIBS   := $(call pkg_libs,ncursesw,-lncursesw) $(call pkg_libs,libmicrohttpd,-lmicrohttpd) \
	       $(call pkg_libs,libcurl,-lcurl)

# The rooms, bottom up: a folder includes only the ones before it (record/ and bpf/ stand
# beside the reading side, both under the command layer).
LIB_SRCS    := $(wildcard lib/*.c)
FORMAT_SRCS := $(wildcard format/*.c)
ELF_SRCS    := $(wildcard elf/*.c)
MODEL_SRCS  := $(wildcard model/*.c)
SYMBOL_SRCS := $(wildcard symbols/*.c)
VIEW_SRCS   := $(wildcard report/*.c)
OUTPUT_SRCS := $(wildcard output/*.c)
RECORD_SRCS := $(wildcard record/*.c)
# What records (record, and the live commands top and serve, which record as they show).
BPF_CMD_SRCS := builtin/record.c builtin/record-session.c builtin/live.c builtin/live-views.c \
		builtin/top.c builtin/serve.c builtin/serve-page.c builtin/serve-push.c
BUILTIN_SRCS := $(filter-out $(BPF_CMD_SRCS) builtin/no-bpf.c,$(wildcard builtin/*.c))
MAIN_SRCS   := memprof.c

ifeq ($(NO_BPF),)
CMD_SRCS    := $(BUILTIN_SRCS) $(wildcard $(BPF_CMD_SRCS)) $(RECORD_SRCS)
LIBS        := $(RECORD_LIBS) $(LIVE_LIBS) $(READ_LIBS) $(FORMAT_LIBS)
else
CMD_SRCS    := $(BUILTIN_SRCS) $(wildcard builtin/no-bpf.c)
LIBS        := $(READ_LIBS) $(FORMAT_LIBS)
endif
SRCS := $(MAIN_SRCS) $(CMD_SRCS) $(OUTPUT_SRCS) $(VIEW_SRCS) $(SYMBOL_SRCS) $(MODEL_SRCS) \
	$(ELF_SRCS) $(FORMAT_SRCS) $(LIB_SRCS)
OBJS := $(SRCS:%.c=$(OUT)/%.o)

WORKLOADS := $(patsubst tests/workloads/%.c,$(OUT)/workloads/%,$(wildcard tests/workloads/*.c))
UNIT_SRCS := $(wildcard tests/unit/*.c)
# The reading side without elf/ and symbols/, which open the files a trace names.
CORE_SRCS := $(FORMAT_SRCS) $(LIB_SRCS) $(MODEL_SRCS)
CORE_OBJS := $(CORE_SRCS:%.c=$(OUT)/%.o)
# The unit tests: that and elf/.
UNIT_LIB_SRCS := $(CORE_SRCS) $(ELF_SRCS)
UNIT_LIB_OBJS := $(UNIT_LIB_SRCS:%.c=$(OUT)/%.o)

# A recipe that fails leaves no half-made target behind (an empty skeleton header, say).
.DELETE_ON_ERROR:

# record --heap-sample's preload library (preload/), beside the binary; not with NO_BPF=1.
PRELOAD := $(if $(NO_BPF),,$(OUT)/libmemprof-sample.so)

all: $(BIN) $(PRELOAD)

$(BIN): $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# BPF: vmlinux.h from the running kernel's BTF, CO-RE object, skeleton.
$(OUT)/vmlinux.h:
	@mkdir -p $(OUT)
	BPFTOOL=$(BPFTOOL) scripts/gen-vmlinux.sh $@

# One object per file of bpf/, linked into one (bpftool gen object) for the skeleton.  The
# object that defines the shared maps comes first: libbpf's linker fails to relocate a map
# an object before it declared extern.
BPF_SRCS := bpf/memprof.bpf.c $(filter-out bpf/memprof.bpf.c,$(wildcard bpf/*.bpf.c))
BPF_OBJS := $(BPF_SRCS:%.c=$(OUT)/%.o)

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(OUT)/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I. -I$(OUT) -Wall \
		-Wno-unused-function -c $< -o $@

$(OUT)/memprof.bpf.o: $(BPF_OBJS)
	$(BPFTOOL) gen object $@ $(BPF_OBJS)

$(OUT)/memprof.skel.h: $(OUT)/memprof.bpf.o
	$(BPFTOOL) gen skeleton $< name memprof_bpf > $@

# The objects that include the skeleton.
$(patsubst %.c,$(OUT)/%.o,$(filter record/bpf.c,$(RECORD_SRCS))): $(OUT)/memprof.skel.h

# The probe points' program finds malloc's caller through the library's frame: frame pointers,
# no sibling calls.
$(OUT)/libmemprof-sample.so: preload/sample.c bpf/memprof.h
	@mkdir -p $(dir $@)
	$(CC) -I. $(CFLAGS) -fPIC -shared -fno-omit-frame-pointer -fno-optimize-sibling-calls \
		-fvisibility=hidden -Wl,-z,now -o $@ $< -ldl -lm

# Workloads keep frame pointers and are built without optimisation of call paths.
$(OUT)/workloads/%: tests/workloads/%.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls -pthread \
		-o $@ $<

$(OUT)/unit-tests: $(UNIT_SRCS) $(UNIT_LIB_OBJS)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $(UNIT_SRCS) $(UNIT_LIB_OBJS) $(READ_LIBS) $(FORMAT_LIBS)

# gen-trace writes synthetic traces with known figures (tests/golden/ reports them).
$(OUT)/gen-trace: tests/tools/gen-trace.c $(CORE_OBJS)
	$(CC) $(CPPFLAGS) -O0 -g -fno-omit-frame-pointer -fno-inline -o $@ $< $(CORE_OBJS) \
		$(READ_LIBS) $(FORMAT_LIBS)

# Sanitizers and fuzzing (tests/fuzz/).  `make check` runs the unit tests again built with
# ASan and UBSan, and replays the fuzzing corpus tests/data/corpus/ through the fuzz target
# built the same way (fuzz-replay).  `make fuzz` builds the target for libFuzzer and fuzzes
# for FUZZ_SECONDS, adding what it finds to $(OUT)/fuzz-corpus, never to the checked-in
# corpus; crashes go to $(OUT)/fuzz-artifacts/.  `make corpus` regenerates the generated
# part of tests/data/corpus/ (on purpose only: it is checked in).
SAN_CC       ?= clang
SANITIZE     := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_CFLAGS    = $(CFLAGS) -O1 -fno-omit-frame-pointer
SAN_HDRS     := $(wildcard lib/*.h format/*.h elf/*.h model/*.h report/*.h output/*.h tests/unit/*.h)
# The reader ignores CRCs in these builds, so that mutations reach what the CRCs guard.
FUZZ_DEFS    := -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_SRCS    := $(CORE_SRCS) $(ELF_SRCS) $(SYMBOL_SRCS) $(VIEW_SRCS) $(OUTPUT_SRCS) \
		tests/fuzz/fuzz-trace.c
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 16384
FUZZ_FLAGS   ?=

$(OUT)/unit-tests-san: $(UNIT_SRCS) $(UNIT_LIB_SRCS) $(SAN_HDRS)
	@mkdir -p $(OUT)
	$(SAN_CC) $(CPPFLAGS) $(SAN_CFLAGS) $(SANITIZE) -o $@ $(UNIT_SRCS) $(UNIT_LIB_SRCS) \
		$(READ_LIBS) $(FORMAT_LIBS)

$(OUT)/fuzz-replay: tests/fuzz/replay.c $(FUZZ_SRCS) $(SAN_HDRS)
	@mkdir -p $(OUT)
	$(SAN_CC) $(CPPFLAGS) $(SAN_CFLAGS) $(SANITIZE) $(FUZZ_DEFS) -o $@ tests/fuzz/replay.c \
		$(FUZZ_SRCS) $(READ_LIBS) $(FORMAT_LIBS)

$(OUT)/fuzz-trace: $(FUZZ_SRCS) $(SAN_HDRS)
	@mkdir -p $(OUT)
	$(CLANG) $(CPPFLAGS) $(SAN_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(FUZZ_DEFS) -o $@ $(FUZZ_SRCS) $(READ_LIBS) $(FORMAT_LIBS)

fuzz: $(OUT)/fuzz-trace
	@mkdir -p $(OUT)/fuzz-corpus $(OUT)/fuzz-artifacts
	$(OUT)/fuzz-trace -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) -timeout=10 \
		-rss_limit_mb=2048 -dict=tests/fuzz/fuzz-trace.dict -print_final_stats=1 \
		-artifact_prefix=$(OUT)/fuzz-artifacts/ $(FUZZ_FLAGS) $(OUT)/fuzz-corpus tests/data/corpus

$(OUT)/gen-corpus: tests/tools/gen-corpus.c $(CORE_OBJS)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(CORE_OBJS) $(FORMAT_LIBS)

corpus: $(OUT)/gen-corpus
	$(OUT)/gen-corpus tests/data/corpus

# The stacks workloads, for comparing stacks with gdb's: with and without frame
# pointers, at -O0 and -O2, in C (through a shared library) and C++.
STACKS_VARIANTS := fp-O0 fp-O2 nofp-O0 nofp-O2
stacks_flags = -g $(if $(findstring nofp,$1),-fomit-frame-pointer,-fno-omit-frame-pointer \
	-mno-omit-leaf-frame-pointer) -$(lastword $(subst -, ,$1))
STACKS_BINS := $(foreach v,$(STACKS_VARIANTS),$(OUT)/workloads/stacks/stacks-$(v) \
	$(OUT)/workloads/stacks/stacks-cxx-$(v) $(OUT)/workloads/stacks/libstacks-$(v).so)

$(OUT)/workloads/stacks/libstacks-%.so: tests/workloads/stacks/libstacks.c \
		tests/workloads/stacks/libstacks.h
	@mkdir -p $(dir $@)
	$(CC) $(call stacks_flags,$*) -shared -fPIC -o $@ $<

$(OUT)/workloads/stacks/stacks-cxx-%: tests/workloads/stacks/stacks.cc
	@mkdir -p $(dir $@)
	$(CXX) $(call stacks_flags,$*) -o $@ $<

$(OUT)/workloads/stacks/stacks-%: tests/workloads/stacks/stacks.c \
		$(OUT)/workloads/stacks/libstacks-%.so
	$(CC) $(call stacks_flags,$*) -pthread -o $@ $< -L$(OUT)/workloads/stacks -lstacks-$* \
		-Wl,-rpath,'$$ORIGIN'

# Stacks no walk completes (the recorder counts them by cause): CFI kept, frame pointers not.
$(OUT)/workloads/causes/causes: tests/workloads/causes/causes.c tests/workloads/causes/nocfi.S
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fomit-frame-pointer -o $@ $^


# Other allocators (tests/shell/t0105-allocators.sh): the heap workload linked statically,
# stripped (no allocator found), and with Debian's jemalloc in the executable; C++'s
# operators (under tcmalloc there).
JEMALLOC_A := $(wildcard /usr/lib/x86_64-linux-gnu/libjemalloc.a)
WL_FLAGS := -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls -pthread
ALLOC_BINS := $(OUT)/workloads/heap-static $(OUT)/workloads/heap-static-stripped \
	$(OUT)/workloads/cxxheap $(if $(JEMALLOC_A),$(OUT)/workloads/heap-jemalloc)

$(OUT)/workloads/heap-static: tests/workloads/heap.c
	@mkdir -p $(dir $@)
	$(CC) $(WL_FLAGS) -static -o $@ $<

$(OUT)/workloads/heap-static-stripped: $(OUT)/workloads/heap-static
	strip -o $@ $<

$(OUT)/workloads/heap-jemalloc: tests/workloads/heap.c $(JEMALLOC_A)
	@mkdir -p $(dir $@)
	$(CC) $(WL_FLAGS) -o $@ $< -Wl,--whole-archive $(JEMALLOC_A) -Wl,--no-whole-archive \
		-lstdc++ -lm -ldl

$(OUT)/workloads/cxxheap: tests/workloads/cxxheap.cc
	@mkdir -p $(dir $@)
	$(CXX) $(WL_FLAGS) -o $@ $<

workloads: $(WORKLOADS) $(STACKS_BINS) $(OUT)/workloads/causes/causes $(ALLOC_BINS)

# The tests find what they run through these (tests/shell/lib.sh).
TEST_ENV := MEMPROF=$(abspath $(BIN)) MEMPROF_BUILD=$(abspath $(OUT))

check: $(BIN) $(PRELOAD) $(OUT)/unit-tests $(OUT)/unit-tests-san $(OUT)/fuzz-replay $(OUT)/gen-corpus \
       $(OUT)/gen-trace workloads
	@$(TEST_ENV) tests/run-tests.sh

# The golden suite (tests/golden/) needs only the reading side: `make NO_BPF=1 golden`
# checks report's outputs on any machine.
golden: $(BIN) $(OUT)/gen-trace
	@$(TEST_ENV) tests/run-tests.sh golden

demo: $(BIN) workloads
	@$(TEST_ENV) scripts/demo.sh

# Man pages from Documentation/*.txt with asciidoctor's manpage backend (Debian's
# asciidoctor package, which scripts/install-deps installs), its linkmemprof: macro and
# the typography off (Documentation/asciidoctor-extensions.rb).  The section is the
# page's title's: memprof-report(1), memprof-trace-format(5).
ASCIIDOCTOR ?= asciidoctor
MAN_SRCS  := $(wildcard Documentation/memprof*.txt)
man_page   = $(OUT)/man/$(notdir $(basename $(1))).$(shell sed -n '1s/.*(\([0-9]\)).*/\1/p' $(1))
MAN_PAGES := $(foreach t,$(MAN_SRCS),$(call man_page,$(t)))

$(OUT)/man/%.1 $(OUT)/man/%.5: Documentation/%.txt Documentation/asciidoctor-extensions.rb
	@mkdir -p $(dir $@)
	@command -v $(ASCIIDOCTOR) >/dev/null || \
		{ echo "memprof: error: $(ASCIIDOCTOR) is missing; run scripts/install-deps" >&2; \
		  exit 1; }
	$(ASCIIDOCTOR) -r ./Documentation/asciidoctor-extensions.rb -b manpage -d manpage \
		-a mansource=memprof -a manversion=0.1 -a manmanual="memprof Manual" -o $@ $<

man: $(MAN_PAGES)

PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man
install: $(BIN) $(PRELOAD) $(MAN_PAGES)
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/memprof
	$(if $(PRELOAD),install -D -m 644 $(PRELOAD) $(DESTDIR)$(PREFIX)/lib/memprof/$(notdir $(PRELOAD)))
	for p in $(MAN_PAGES); do \
		s=$${p##*.}; install -D -m 644 $$p $(DESTDIR)$(MANDIR)/man$$s/$$(basename $$p) || exit 1; \
	done

clean:
	rm -rf $(OUT) $(BIN)

.PHONY: all check golden demo man install clean workloads fuzz corpus
-include $(OBJS:.o=.d)
