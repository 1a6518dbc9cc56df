# pnbench: plain Makefile.  `make` builds the host CLI (bin/pnbench) and the
# static guest programs (bin/pnbench-record, bin/pnbench-workload);
# `make check` runs the test suite through kyua; `make bench` the default matrix.

CC      ?= cc
CFLAGS  ?= -O2 -g
# Messages are built with snprintf into bounded buffers on purpose: a cut
# diagnostic is better than an overflow, so truncation warnings are off.
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE
CPPFLAGS += -Ilib -Iprobes -Iworkloads -Iharness
# tracefs.h includes <event-parse.h> from libtraceevent's own include dir.
CPPFLAGS += $(shell pkg-config --cflags libtracefs 2>/dev/null || echo -I/usr/include/tracefs -I/usr/include/traceevent)
GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDLIBS_JSON = -ljansson
LDLIBS_TRACE = -ltracefs -ltraceevent
LDLIBS_HOST = -lnettle -lgsl -lgslcblas -lhwloc -lm

B := build

LIB_SRC    := $(sort $(wildcard lib/*.c))
PROBE_SRC  := $(sort $(filter-out probes/recorder.c,$(wildcard probes/*.c)))
WL_SRC     := $(sort $(filter-out workloads/main.c,$(wildcard workloads/*.c)))
HARNESS_SRC:= $(sort $(wildcard harness/*.c))
TEST_SRC   := $(sort $(wildcard tests/*_test.c))
TEST_UTIL  := $(B)/tests/testutil.o $(B)/tests/probetest.o

LIB_OBJ    := $(LIB_SRC:%.c=$(B)/%.o)
PROBE_OBJ  := $(PROBE_SRC:%.c=$(B)/%.o)
WL_OBJ     := $(WL_SRC:%.c=$(B)/%.o)
HARNESS_OBJ:= $(HARNESS_SRC:%.c=$(B)/%.o)
TEST_BIN   := $(TEST_SRC:tests/%.c=tests/%)

PROGS := bin/pnbench bin/pnbench-record bin/pnbench-workload bin/pnbench-init bin/pnbench-conform

.PHONY: all deps check bench clean FORCE

# The default matrix: the four workloads, 5 repetitions each (the fewest
# with which a k/n row can reach p < 0.05: 2/252), two cells at a time
# (each single-threaded TCG guest keeps one host core busy).
BENCH_KERNEL ?= debian:cloud
BENCH_SCENARIOS ?= fixed-rate stream-read busy-beaver swapless-fill
BENCH_REPS ?= 5
BENCH_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
BENCH_OUT ?= results/runs/bench
# The committed reference the bench report compares against.
BENCH_BASELINE ?= debian-cloud
all: $(PROGS) $(TEST_BIN)

deps:
	@harness/install-deps.sh

# Order-only: the packages are checked (installed as root, else the exact
# apt-get line is printed) before anything compiles, never after a missing
# header has already stopped the build.
$(B)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The harness records which revision produced a result: one object holds
# it, rebuilt when the revision string changes (build/git-rev remembers it).
$(B)/git-rev: FORCE
	@mkdir -p $(B); echo '$(GIT_REV)' | cmp -s - $@ || echo '$(GIT_REV)' > $@
$(B)/harness/version.o: CPPFLAGS += -DPNB_GIT_REV='"$(GIT_REV)"'
$(B)/harness/version.o: $(B)/git-rev
FORCE:

$(B)/libpnb.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/libprobes.a: $(PROBE_OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/libworkloads.a: $(WL_OBJ)
	rm -f $@ && ar rcs $@ $^
# Everything of the CLI but main(), so tests link the code they test.
$(B)/libharness.a: $(filter-out $(B)/harness/main.o,$(HARNESS_OBJ))
	rm -f $@ && ar rcs $@ $^

# Guest programs are static: they go into an initramfs with no libc.
bin/pnbench-record: $(B)/probes/recorder.o $(B)/libprobes.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -o $@ $^ $(LDLIBS_TRACE) $(LDLIBS_JSON) -lm

bin/pnbench-workload: $(B)/workloads/main.o $(B)/libworkloads.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -pthread -o $@ $^ $(LDLIBS_JSON) -lm

bin/pnbench: $(B)/harness/main.o $(B)/libharness.a $(B)/libprobes.a $(B)/libworkloads.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_TRACE) $(LDLIBS_JSON) $(LDLIBS_HOST)

# The guest's /init (qemu/init.c): PID 1 in the initramfs.
bin/pnbench-init: $(B)/qemu/init.o $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -o $@ $^ -lm

# The conformance suite's guest program (tests/conform/, docs/conformance.md).
bin/pnbench-conform: $(patsubst %.c,$(B)/%.o,$(wildcard tests/conform/*.c)) $(B)/libprobes.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -o $@ $^ $(LDLIBS_TRACE) $(LDLIBS_JSON) -lm

# ATF test programs run on the host (Debian ships only a shared libatf-c).
tests/%_test: $(B)/tests/%_test.o $(TEST_UTIL) $(B)/libharness.a $(B)/libprobes.a $(B)/libworkloads.a $(B)/libpnb.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDEXTRA) -latf-c $(LDLIBS_TRACE) $(LDLIBS_JSON) $(LDLIBS_HOST)

KYUA_RESULTS ?= $(B)/kyua.db
check: deps all
	rm -f $(KYUA_RESULTS)
	cd tests && kyua test --results-file=../$(KYUA_RESULTS); rc=$$?; \
	  kyua report --results-file=../$(KYUA_RESULTS) --verbose --results-filter=broken,failed,xfail,skipped; \
	  kyua report-junit --results-file=../$(KYUA_RESULTS) --output=../$(B)/junit.xml; \
	  kyua report --results-file=../$(KYUA_RESULTS); exit $$rc

bench: deps all
	@rc=0; bin/pnbench run --kernel $(BENCH_KERNEL) $(BENCH_SCENARIOS:%=--scenario %) \
	  --reps $(BENCH_REPS) --jobs $(BENCH_JOBS) --out $(BENCH_OUT) || rc=$$?; \
	bin/pnbench analyze -q $(BENCH_OUT) && \
	  bin/pnbench report $(BENCH_OUT) --against results/baselines/$(BENCH_BASELINE) && \
	  bin/pnbench export junit $(BENCH_OUT) > $(BENCH_OUT)/junit.xml || rc=1; \
	echo "bench: results in $(BENCH_OUT), report in $(BENCH_OUT)/report/report.txt"; \
	bin/pnbench compare results/baselines/$(BENCH_BASELINE) $(BENCH_OUT) | tail -n 1; exit $$rc

clean:
	rm -rf $(B) bin $(TEST_BIN)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
