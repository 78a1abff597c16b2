# Host unit tests and fuzz targets for Keel's pure modules.
#
# Included by the top-level Makefile, or standalone from anywhere:
#     make -f tests/host/host.mk host-tests          (the default goal)
#     make -f tests/host/host.mk host-fuzz FUZZ_SECONDS=60
#
# Adding a test: create tests/host/test_foo.c (see test.h) and add one line
# below naming the module sources it links, paths from the repository top:
#     test_foo_SRCS := kernel/foo.c
# A fuzz target is the same with fuzz_foo.c and fuzz_foo_SRCS.
#
# Every case prints one PASS/FAIL line; host-tests and host-fuzz run every
# binary, then fail if any of them failed. Everything lands in build/host/.
# Only HOST_* / host-* / FUZZ_* names are defined, so that the kernel's
# CC/CFLAGS are never touched.

# Read MAKEFILE_LIST before any include changes it.
HOST_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),1)
HOST_SAVED_GOAL := $(.DEFAULT_GOAL)
HOST_MK := $(lastword $(MAKEFILE_LIST))
HOST_TOP := $(abspath $(dir $(HOST_MK))../..)
# Path prefix of the repository: empty when make runs from its top, so the
# commands and file names printed stay short.
HOST_TOP := $(if $(filter $(CURDIR),$(HOST_TOP)),,$(HOST_TOP)/)

# ---- Which module sources each test and fuzz target links. ----
test_cmdline_SRCS  := kernel/cmdline.c
test_deadline_SRCS := kernel/deadline.c
fuzz_cmdline_SRCS  := kernel/cmdline.c

# Optional libFuzzer dictionary per fuzz target: tokens without whitespace,
# quotes or backslashes. Without whole addresses in it a 30-second run
# never built a valid "ip=A.B.C.D/N"; with them it takes seconds.
fuzz_cmdline_DICT  := ip= gw= port= log= test= dhcp / . 0 1 24 32 33 255 \
	256 65535 65536 off err warn info debug 10.0.2.15 ip=10.0.2.15/24 \
	gw=10.0.2.2 port=8080

# ---- Tools and flags. ----
HOST_CC ?= gcc
HOST_FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
HOST_OUT ?= $(HOST_TOP)build/host
HOST_INC := -I$(HOST_TOP)kernel
HOST_WARN := -std=c11 -O1 -g -Wall -Wextra -Werror
HOST_CFLAGS ?= $(HOST_WARN) -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
HOST_FUZZ_CFLAGS ?= $(HOST_WARN) -fsanitize=fuzzer,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
# Sanitizers exit 1 by default, which would read as "FAIL lines printed";
# a distinct status lets the run rule report the crash itself.
HOST_ASAN_OPTIONS ?= exitcode=86
HOST_UBSAN_OPTIONS ?= print_stacktrace=1:exitcode=86

# ---- Discovery. ----
HOST_TESTS := $(sort $(basename $(notdir \
	$(wildcard $(HOST_TOP)tests/host/test_*.c))))
HOST_FUZZERS := $(sort $(basename $(notdir \
	$(wildcard $(HOST_TOP)tests/host/fuzz_*.c))))

# Progress lines in the kernel's "  CC  file" style; V=1 shows the commands
# instead of hiding them, make -s drops the progress lines too.
HOST_SILENT := $(findstring s,$(firstword -$(MAKEFLAGS)))
host_say = $(if $(HOST_SILENT),,@echo "  $(1)  $(2)")
HOST_AT = $(if $(V),,@)

# $(call host_objs,OBJDIR,NAME): objects of NAME's own file and its SRCS.
host_objs = $(patsubst %.c,$(1)/%.o,tests/host/$(2).c $($(2)_SRCS))

HOST_OBJS := $(sort $(foreach t,$(HOST_TESTS),\
	$(call host_objs,$(HOST_OUT)/obj,$(t))))
HOST_FUZZ_OBJS := $(sort $(foreach t,$(HOST_FUZZERS),\
	$(call host_objs,$(HOST_OUT)/fuzz-obj,$(t))))

# ---- Compile: static pattern rules, so no implicit rule of the including
# Makefile can take over these objects. ----
$(HOST_OBJS): $(HOST_OUT)/obj/%.o: $(HOST_TOP)%.c
	@mkdir -p $(@D)
	$(call host_say,HOSTCC,$@)
	$(HOST_AT)$(HOST_CC) $(HOST_CFLAGS) $(HOST_INC) -MMD -MP -c $< -o $@

$(HOST_FUZZ_OBJS): $(HOST_OUT)/fuzz-obj/%.o: $(HOST_TOP)%.c
	@mkdir -p $(@D)
	$(call host_say,FUZZCC,$@)
	$(HOST_AT)$(HOST_FUZZ_CC) $(HOST_FUZZ_CFLAGS) $(HOST_INC) -MMD -MP \
		-c $< -o $@

-include $(HOST_OBJS:.o=.d) $(HOST_FUZZ_OBJS:.o=.d)

# ---- Link: one rule per binary, since each has its own SRCS. ----
define host_link_rule
$(HOST_OUT)/$(1): $(call host_objs,$(HOST_OUT)/$(2),$(1))
	$$(call host_say,HOSTLD,$$@)
	$$(HOST_AT)$(3) $$^ -o $$@
endef
$(foreach t,$(HOST_TESTS),$(eval $(call host_link_rule,$(t),obj,\
	$$(HOST_CC) $$(HOST_CFLAGS))))
$(foreach t,$(HOST_FUZZERS),$(eval $(call host_link_rule,$(t),fuzz-obj,\
	$$(HOST_FUZZ_CC) $$(HOST_FUZZ_CFLAGS))))

# ---- Run. ----
# A binary that exits 1 has printed its FAIL lines; any other non-zero
# status is a crash or sanitizer abort in mid-case, which gets a FAIL line
# here so the failure is counted. Each run leaves a marker in status/ that
# host-tests / host-fuzz check after all runs finished, so one failing test
# does not stop the others (nor make -j).
HOST_TEST_RUNS := $(addprefix host-run-,$(HOST_TESTS))
HOST_FUZZ_RUNS := $(addprefix host-fuzz-run-,$(HOST_FUZZERS))
HOST_STATUS := $(HOST_OUT)/status

$(HOST_TEST_RUNS): host-run-%: $(HOST_OUT)/%
	@mkdir -p $(HOST_STATUS); rm -f $(HOST_STATUS)/$*.failed; \
	ASAN_OPTIONS=$(HOST_ASAN_OPTIONS) UBSAN_OPTIONS=$(HOST_UBSAN_OPTIONS) \
		$(HOST_OUT)/$*; rc=$$?; \
	if [ $$rc -ne 0 ]; then touch $(HOST_STATUS)/$*.failed; fi; \
	if [ $$rc -gt 1 ]; then echo "FAIL host/$(patsubst test_%,%,$*):" \
		"exited with status $$rc (crash or sanitizer report on stderr)"; fi

# The dictionary is rebuilt whenever this file (where it is listed) changes.
$(HOST_FUZZERS:%=$(HOST_OUT)/%.dict): $(HOST_OUT)/%.dict: $(HOST_MK)
	@mkdir -p $(@D)
	@printf '"%s"\n' $($*_DICT) > $@

$(HOST_FUZZ_RUNS): host-fuzz-run-%: $(HOST_OUT)/% $(HOST_OUT)/%.dict
	@mkdir -p $(HOST_STATUS) $(HOST_OUT)/$*.corpus; \
	rm -f $(HOST_STATUS)/$*.failed; \
	if ASAN_OPTIONS=$(HOST_ASAN_OPTIONS) \
		UBSAN_OPTIONS=$(HOST_UBSAN_OPTIONS) $(HOST_OUT)/$* \
		-max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
		$(if $($*_DICT),-dict=$(HOST_OUT)/$*.dict) \
		-artifact_prefix=$(HOST_OUT)/$*- $(HOST_OUT)/$*.corpus \
		> $(HOST_OUT)/$*.log 2>&1; \
	then echo "PASS host/fuzz: $*"; \
	else echo "FAIL host/fuzz: $* (crash input and log in $(HOST_OUT)/$*-*," \
		"$(HOST_OUT)/$*.log)"; \
		tail -n 40 $(HOST_OUT)/$*.log >&2; \
		touch $(HOST_STATUS)/$*.failed; fi

# $(call host_verdict,NAMES): fail if any of NAMES left a failure marker.
host_verdict = @for t in $(1); do \
	if [ -e $(HOST_STATUS)/$$t.failed ]; then exit 1; fi; done

.PHONY: host-tests host-fuzz host-clean $(HOST_TEST_RUNS) $(HOST_FUZZ_RUNS)

host-tests: $(HOST_TEST_RUNS)
	$(call host_verdict,$(HOST_TESTS))

host-fuzz: $(HOST_FUZZ_RUNS)
	$(call host_verdict,$(HOST_FUZZERS))

host-clean:
	rm -rf $(HOST_OUT)

# Defining rules above must not change the including Makefile's default goal.
ifeq ($(HOST_STANDALONE),1)
.DEFAULT_GOAL := host-tests
else
.DEFAULT_GOAL := $(HOST_SAVED_GOAL)
endif
