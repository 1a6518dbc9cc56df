# pnbench: plain Makefile.  `make` builds the host CLI (bin/pnbench) and the
# static guest programs (bin/pnbench-record, bin/pnbench-workload);
# `make check` runs the test suite through kyua; `make bench` the default matrix.

CC      ?= cc
CFLAGS  ?= -O2 -g
# Messages are built with snprintf into bounded buffers on purpose: a cut
# diagnostic is better than an overflow, so truncation warnings are off.
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers -Wno-format-truncation -D_GNU_SOURCE
CPPFLAGS += -I. -Ilib -Iprobes -Iworkloads -Iworkloads/bench -Iharness
# tracefs.h includes <event-parse.h> from libtraceevent's own include dir.
CPPFLAGS += $(shell pkg-config --cflags libtracefs 2>/dev/null || echo -I/usr/include/tracefs -I/usr/include/traceevent)
GIT_REV := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
LDLIBS_JSON = -ljansson
LDLIBS_TRACE = -ltracefs -ltraceevent
LDLIBS_HOST = -lnettle -lgsl -lgslcblas -lhwloc -lm

B := build

LIB_SRC    := $(sort $(wildcard lib/*.c))
PROBE_SRC  := $(sort $(wildcard probes/*.c))
WL_SRC     := $(sort $(filter-out workloads/main.c,$(wildcard workloads/*.c workloads/bench/*.c)))
HARNESS_SRC:= $(sort $(wildcard harness/*.c))
TEST_SRC   := $(sort $(wildcard tests/*_test.c))
TEST_UTIL  := $(B)/tests/testutil.o $(B)/tests/probetest.o

LIB_OBJ    := $(LIB_SRC:%.c=$(B)/%.o)
PROBE_OBJ  := $(PROBE_SRC:%.c=$(B)/%.o)
WL_OBJ     := $(WL_SRC:%.c=$(B)/%.o)
HARNESS_OBJ:= $(HARNESS_SRC:%.c=$(B)/%.o)
TEST_BIN   := $(TEST_SRC:tests/%.c=tests/%)

PROGS := bin/pnbench bin/pnbench-record bin/pnbench-workload bin/pnbench-init bin/pnbench-conform \
	 bin/pnbench-killer

.PHONY: all deps check check-bisect bench bench-killers clean FORCE

# Named matrices (harness/matrices/, docs/matrices.md): `make bench` runs
# BENCH_MATRIX (default: harness/matrices/default, sized for 5 minutes here
# with the build), two cells at a time (each single-threaded TCG guest
# keeps one host core busy).  The matrix names its kernel and repetitions;
# BENCH_KERNEL / BENCH_REPS, when set, override them.
BENCH_MATRIX ?= default
BENCH_KERNEL ?=
BENCH_REPS ?=
BENCH_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
BENCH_OUT ?= results/runs/bench
BENCH_OVERRIDE = $(if $(BENCH_KERNEL),--kernel $(BENCH_KERNEL)) $(if $(BENCH_REPS),--reps $(BENCH_REPS))
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
bin/pnbench-record: $(patsubst %.c,$(B)/%.o,$(wildcard probes/recorder/*.c)) $(B)/libprobes.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -o $@ $^ $(LDLIBS_TRACE) $(LDLIBS_JSON) -lm

# The closed loop's killer (issue 11): started by the recorder in the guest.
bin/pnbench-killer: $(patsubst %.c,$(B)/%.o,$(wildcard probes/killer/*.c)) $(B)/libprobes.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -o $@ $^ $(LDLIBS_TRACE) $(LDLIBS_JSON) -lm

bin/pnbench-workload: $(B)/workloads/main.o $(B)/libworkloads.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -pthread -o $@ $^ $(LDLIBS_JSON) -lm

bin/pnbench: $(B)/harness/main.o $(B)/libharness.a $(B)/libprobes.a $(B)/libworkloads.a $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_TRACE) $(LDLIBS_JSON) $(LDLIBS_HOST)

# The guest's /init (qemu/init.c): PID 1 in the initramfs.
bin/pnbench-init: $(patsubst %.c,$(B)/%.o,$(wildcard qemu/*.c)) $(B)/libpnb.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -static -o $@ $^ -lm

# The conformance suite's guest program (conform/, docs/conformance.md).
bin/pnbench-conform: $(patsubst %.c,$(B)/%.o,$(wildcard conform/*.c)) $(B)/libprobes.a $(B)/libpnb.a
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

# The bisect test over a real kernel history (tests/bisect_test:real_kernel):
# kernel builds and guest runs take an hour or more here, so `make check`
# only runs the bisect cases that need neither.
check-bisect: deps all
	rm -f $(B)/kyua-bisect.db
	cd tests && kyua -v test_suites.pnbench.bisect=1 test --results-file=../$(B)/kyua-bisect.db \
	  bisect_test:real_kernel; rc=$$?; \
	  kyua report --results-file=../$(B)/kyua-bisect.db --verbose; exit $$rc

bench: deps all
	@rc=0; bin/pnbench run --matrix $(BENCH_MATRIX) $(BENCH_OVERRIDE) \
	  --jobs $(BENCH_JOBS) --out $(BENCH_OUT) || rc=$$?; \
	bin/pnbench analyze -q $(BENCH_OUT) && \
	  bin/pnbench report $(BENCH_OUT) --against results/baselines/$(BENCH_BASELINE) && \
	  bin/pnbench export junit $(BENCH_OUT) > $(BENCH_OUT)/junit.xml || rc=1; \
	echo "bench: results in $(BENCH_OUT), report in $(BENCH_OUT)/report/report.txt"; \
	bin/pnbench compare results/baselines/$(BENCH_BASELINE) $(BENCH_OUT) | tail -n 1; exit $$rc

# The killers matrix (issue 11) through the same option; the report's
# killer x workload table is its answer.
KILLERS_OUT ?= results/runs/killers
bench-killers: deps all
	@rc=0; bin/pnbench run --matrix killers $(BENCH_OVERRIDE) --jobs $(BENCH_JOBS) \
	  --out $(KILLERS_OUT) || rc=$$?; \
	bin/pnbench analyze -q $(KILLERS_OUT) && bin/pnbench report -q $(KILLERS_OUT) || rc=1; \
	echo "bench-killers: results in $(KILLERS_OUT), table in $(KILLERS_OUT)/report/table-killers.txt"; exit $$rc

# The analysis rate (issue 16): a committed set's runs, each run's lines
# repeated (harness/bench-analyze.sh), analysed; events/s of CPU time, and
# a failure below 1 M/s.
BENCH_ANALYZE_SET ?= results/baselines/debian-cloud
bench-analyze: bin/pnbench
	harness/bench-analyze.sh $(BENCH_ANALYZE_SET) $(B)/bench-analyze
.PHONY: bench-analyze

clean:
	rm -rf $(B) bin $(TEST_BIN)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---- Robustness: fuzzing (tests/fuzz/) and a sanitizer build of the suite ------
# `make fuzz` runs each libFuzzer target for FUZZ_SECONDS (seeded from
# tests/data, harness/scenarios and tests/fuzz/corpus/); `make fuzz-long` runs them
# for FUZZ_LONG_SECONDS each.  New inputs collect in build-fuzz/corpus/, a
# crash in build-fuzz/crash-<target>-*: copy it to tests/fuzz/corpus/<target>/
# with the fix, so it stays a seed.  Needs clang with libFuzzer
# (clang, libclang-rt-14-dev: `make deps`).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 5
FUZZ_LONG_SECONDS ?= 600
FUZZ_TARGETS := scenario probespec events wlargs evr
FB := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Wno-missing-field-initializers -D_GNU_SOURCE $(FUZZ_SAN)

$(FB)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

FUZZ_LIB := $(LIB_OBJ:$(B)/%=$(FB)/%)
$(FB)/fuzz_scenario: $(FB)/tests/fuzz/fuzz_scenario.o $(FUZZ_LIB)
$(FB)/fuzz_probespec: $(FB)/tests/fuzz/fuzz_probespec.o $(PROBE_OBJ:$(B)/%=$(FB)/%) $(FUZZ_LIB)
$(FB)/fuzz_events: $(FB)/tests/fuzz/fuzz_events.o $(FB)/harness/events.o $(FUZZ_LIB)
$(FB)/fuzz_wlargs: $(FB)/tests/fuzz/fuzz_wlargs.o $(WL_OBJ:$(B)/%=$(FB)/%) $(FUZZ_LIB)
$(FB)/fuzz_evr: $(FB)/tests/fuzz/fuzz_evr.o $(FUZZ_LIB)
$(FUZZ_TARGETS:%=$(FB)/fuzz_%):
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -pthread $(LDLIBS_TRACE) $(LDLIBS_JSON) $(LDLIBS_HOST)

# Seeds, rebuilt every time from what the project ships.
fuzz-seeds: FORCE
	@rm -rf $(FB)/seed; mkdir -p $(FUZZ_TARGETS:%=$(FB)/seed/%) $(FUZZ_TARGETS:%=$(FB)/corpus/%)
	@cp harness/scenarios/*.ini tests/data/scenarios/*.ini $(FB)/seed/scenario/
	@cat harness/scenarios/*.ini tests/data/scenarios/*.ini | sed -n 's/^probe *= *//p' | sort -u | \
	  split -l 1 -a 3 - $(FB)/seed/probespec/spec-
	@for f in $(FB)/seed/probespec/spec-*; do printf '%s' "$$(cat $$f)" > $$f; done
	@for f in harness/scenarios/*.ini tests/data/scenarios/*.ini; do \
	  awk '/^name *=/ { sub(/^name *= */, ""); n = $$0 } /^args *=/ { sub(/^args *= */, ""); a = $$0 } \
	       END { printf "%s\n%s", n, a }' $$f > $(FB)/seed/wlargs/$$(basename $$f .ini); done
	@i=0; for f in $$(find tests/data -name events.jsonl | sort | head -40); do \
	  i=$$((i + 1)); head -c 16384 $$f > $(FB)/seed/events/events-$$i; done
	@for f in $$(find tests/data results/baselines -name events.jsonl | sort | head -20); do \
	  awk '!seen[$$0 ~ /"type":"[a-z_]*"/ ? substr($$0, 1, 60) : $$0]++' $$f | head -n 40; \
	  done | split -l 1 -a 4 - $(FB)/seed/evr/line-
	@for t in $(FUZZ_TARGETS); do [ ! -d tests/fuzz/corpus/$$t ] || cp tests/fuzz/corpus/$$t/* $(FB)/seed/$$t/ 2>/dev/null || true; done

# One target at a time: each fuzzer is single-threaded, and -j2 runs two.
FUZZ_RUN = $(FB)/fuzz_$* -max_total_time=$(1) -timeout=10 -rss_limit_mb=1024 -max_len=16384 \
	  -print_final_stats=0 -artifact_prefix=$(FB)/crash-$*- $(FB)/corpus/$* $(FB)/seed/$* \
	  > $(FB)/fuzz-$*.log 2>&1 || { tail -40 $(FB)/fuzz-$*.log; exit 1; }; \
	  tail -1 $(FB)/fuzz-$*.log | sed 's/^/fuzz $*: /'
fuzz-run-%: $(FB)/fuzz_% fuzz-seeds
	@$(call FUZZ_RUN,$(FUZZ_SECONDS))
fuzz-long-run-%: $(FB)/fuzz_% fuzz-seeds
	@$(call FUZZ_RUN,$(FUZZ_LONG_SECONDS))
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)
fuzz-long: $(FUZZ_TARGETS:%=fuzz-long-run-%)
.PHONY: fuzz fuzz-long fuzz-seeds

# `make sanitize`: the host programs and unit tests built with ASan and UBSan
# in build-san/ (never mixed with build/), then every test program that
# does not boot a guest run under kyua.  The guest's programs are static
# and ASan cannot be; the sanitized recorder and workload are dynamic and
# serve the host-side tests.  image_test checks the static guest binaries
# themselves, so it stays in the plain suite.
SB := build-san
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Not the programs that boot guests: a guest needs the static, unsanitized
# programs, and those cases are slow enough once.
SAN_TESTS ?= $(filter-out guest_test conform_test image_test run_test kmod_guest_test killer_test ci_test knobs_guest_test accel_test,$(TEST_SRC:tests/%.c=%))
# The suite's tree: tests at SS/tests, programs at SS/bin, as in the source.
SS := $(SB)/suite
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=86 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 \
	   LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp:print_suppressions=0

$(SB)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<
$(SB)/harness/version.o: CPPFLAGS += -DPNB_GIT_REV='"$(GIT_REV)"'
$(SB)/harness/version.o: $(B)/git-rev

$(SB)/libpnb.a: $(LIB_OBJ:$(B)/%=$(SB)/%)
	rm -f $@ && ar rcs $@ $^
$(SB)/libprobes.a: $(PROBE_OBJ:$(B)/%=$(SB)/%)
	rm -f $@ && ar rcs $@ $^
$(SB)/libworkloads.a: $(WL_OBJ:$(B)/%=$(SB)/%)
	rm -f $@ && ar rcs $@ $^
$(SB)/libharness.a: $(filter-out $(SB)/harness/main.o,$(HARNESS_OBJ:$(B)/%=$(SB)/%))
	rm -f $@ && ar rcs $@ $^
SAN_LIBS := $(SB)/libharness.a $(SB)/libprobes.a $(SB)/libworkloads.a $(SB)/libpnb.a
SAN_LD = $(CC) $(CFLAGS) $(SAN_FLAGS) -pthread -o $@ $^

$(SS)/bin/pnbench: $(SB)/harness/main.o $(SAN_LIBS)
	@mkdir -p $(dir $@)
	$(SAN_LD) $(LDLIBS_TRACE) $(LDLIBS_JSON) $(LDLIBS_HOST)
$(SS)/bin/pnbench-record: $(patsubst %.c,$(SB)/%.o,$(wildcard probes/recorder/*.c)) $(SB)/libprobes.a $(SB)/libpnb.a
	@mkdir -p $(dir $@)
	$(SAN_LD) $(LDLIBS_TRACE) $(LDLIBS_JSON) -lm
$(SS)/bin/pnbench-workload: $(SB)/workloads/main.o $(SB)/libworkloads.a $(SB)/libpnb.a
	@mkdir -p $(dir $@)
	$(SAN_LD) $(LDLIBS_JSON) -lm
$(SS)/tests/%_test: $(SB)/tests/%_test.o $(TEST_UTIL:$(B)/%=$(SB)/%) $(SAN_LIBS)
	@mkdir -p $(dir $@)
	$(SAN_LD) -latf-c $(LDLIBS_TRACE) $(LDLIBS_JSON) $(LDLIBS_HOST)

# Test programs find data at srcdir/data and programs at srcdir/../bin.
$(SS)/tests/Kyuafile: Makefile tests/Kyuafile
	@mkdir -p $(SS)/tests
	@ln -sfn ../../../tests/data $(SS)/tests/data
	@ln -sfn ../../harness $(SS)/harness
	@ln -sfn ../../qemu $(SS)/qemu
	@ln -sfn ../../plots $(SS)/plots
	@ln -sfn ../../results $(SS)/results
	@ln -sfn ../../probes $(SS)/probes
	@for d in lib workloads conform docs; do ln -sfn ../../$$d $(SS)/$$d; done
	@for f in tests/*.c tests/*.h; do ln -sfn ../../../$$f $(SS)/$$f; done
	@{ echo "syntax(2)"; echo "test_suite('pnbench')"; \
	   for t in $(SAN_TESTS); do grep "name='$$t'" tests/Kyuafile; done; } > $@

.SECONDARY: $(SAN_TESTS:%=$(SB)/tests/%.o)
sanitize: deps $(SS)/bin/pnbench $(SS)/bin/pnbench-record $(SS)/bin/pnbench-workload \
	  $(SAN_TESTS:%=$(SS)/tests/%) $(SS)/tests/Kyuafile
	rm -f $(SB)/kyua.db
	cd $(SS)/tests && $(SAN_ENV) kyua test --results-file=../../kyua.db; rc=$$?; \
	  kyua report --results-file=../../kyua.db --verbose --results-filter=broken,failed; \
	  kyua report --results-file=../../kyua.db; exit $$rc
.PHONY: sanitize

-include $(shell find $(SB) -name '*.d' 2>/dev/null)

clean: clean-robust
clean-robust:
	rm -rf $(FB) $(SB)
.PHONY: clean-robust

-include $(shell find $(FB) -name '*.d' 2>/dev/null)

# `make check` runs the bounded fuzz run and the sanitizer suite too.
check: fuzz sanitize
