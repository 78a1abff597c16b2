# Host unit tests and fuzz targets for Keel's pure modules.
#
# Included by the top-level Makefile, or standalone from anywhere:
#     make -f tests/host/host.mk host-tests          (the default goal)
#     make -f tests/host/host.mk host-fuzz FUZZ_SECONDS=60
#
# Adding a test: create tests/host/test_foo.c (see test.h). It links the
# module of the same name, the first of kernel/foo.c, net/foo.c, http/*/foo.c,
# drivers/*/foo.c, app/foo.c that exists; if it needs other or more sources, add one
# line below, paths from the repository top:
#     test_foo_SRCS := kernel/foo.c kernel/bar.c
# A fuzz target is the same with fuzz_foo.c and fuzz_foo_SRCS. Libraries
# a target links go in NAME_LIBS (test_foo_LIBS := -lz). Extra compiler
# flags for every object of one target (include paths, defines) go in
# NAME_CFLAGS; an object shared by two targets gets both targets' flags.
# Sources under build/ (fetched third-party code, e.g. lwIP) compile
# with -w, as in the kernel build: their warnings are not ours to fix.
# The top Makefile fetches them on demand; run standalone, a test whose
# fetched sources are absent is left out with a warning (`make deps`).
# A source under tests/host/ named fake_*.c is not a test: it stands in,
# at link time, for kernel pieces a module needs (list it in NAME_SRCS).
#
# Every case prints one PASS/FAIL line; host-build (make -j safe) compiles
# every binary; host-tests and host-fuzz run every
# binary, then fail if any of them failed (host-run-test_foo and
# host-fuzz-run-fuzz_foo run one). Everything lands in build/host/.
#
# Names: variables HT_* ("host test") and ht_*, targets host-*, plus
# FUZZ_SECONDS and the per-target NAME_SRCS/_LIBS/_CFLAGS/_DICT/_FLAGS, so
# nothing of the including Makefile (CC, CFLAGS, HOSTCC, pattern rules) is
# touched or used.
# Knobs: FUZZ_SECONDS, HT_CC, HT_CFLAGS, HT_FUZZ_CC, HT_FUZZ_CFLAGS, HT_OUT.

# Read MAKEFILE_LIST before any include changes it.
HT_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),1)
HT_SAVED_GOAL := $(.DEFAULT_GOAL)
HT_MK := $(lastword $(MAKEFILE_LIST))
HT_TOP := $(abspath $(dir $(HT_MK))../..)
# Path prefix of the repository: empty when make runs from its top, so the
# commands and file names printed stay short.
HT_TOP := $(if $(filter $(CURDIR),$(HT_TOP)),,$(HT_TOP)/)

# ---- Which module sources each test and fuzz target links. ----
test_cmdline_SRCS  := kernel/cmdline.c
test_cmdline_tables_SRCS := kernel/cmdline.c
test_deadline_SRCS := kernel/deadline.c
# The GED scan uses acpi_tables.c's AML primitives (PkgLength, integers).
test_acpi_ged_SRCS := kernel/acpi_ged.c kernel/acpi_tables.c
fuzz_cmdline_SRCS  := kernel/cmdline.c
test_json_SRCS     := app/json.c
fuzz_json_SRCS     := app/json.c
test_mux_SRCS      := http/handler/mux.c http/core/path.c
fuzz_mux_SRCS      := http/handler/mux.c http/core/path.c
test_deflate_SRCS  := http/core/deflate.c kernel/crc32.c
fuzz_deflate_SRCS  := http/core/deflate.c kernel/crc32.c
# zlib (zlib1g-dev) inflates what the compressor wrote.
test_deflate_LIBS  := -lz
fuzz_deflate_LIBS  := -lz
# The virtqueue against a fake device; its ring pages come from a fake pmm.
test_virtqueue_SRCS := drivers/virtio/virtqueue.c tests/host/fake_pmm.c
# The DSDT device scanner lives with the other AML readers.
test_acpi_devices_SRCS := kernel/acpi_tables.c
# virtio_mmio.device= through the real command-line parser.
test_virtio_mmio_cmdline_SRCS := drivers/virtio/virtio_mmio_cmdline.c kernel/cmdline.c
# net/conn.c over the real lwIP core (fetched by `make deps`; the top
# Makefile fetches it on demand) behind a fake wire, with a virtual clock
# and a single-task fake of the scheduler's wait queues. The list is the
# kernel's (net/lwip.mk).
HT_LWIP := build/deps/lwip/src
include $(HT_TOP)net/lwip.mk
HT_LWIP_SRCS := $(addprefix $(HT_LWIP)/,$(LWIP_SRCS))
test_conn_SRCS   := net/conn.c tests/host/fake_sched.c tests/host/fake_lwip.c \
	$(HT_LWIP_SRCS)
# lwIP includes "lwipopts.h" and "arch/cc.h" by name, as in the kernel build.
test_conn_CFLAGS := -I$(HT_TOP)net -I$(HT_TOP)$(HT_LWIP)/include
# The test fails conn.c's receive-ring allocations through __wrap_malloc.
test_conn_LIBS   := -Wl,--wrap=malloc
# kernel/random.c over BearSSL's real HMAC-DRBG (fetched by `make deps`),
# with fakes of the log and the virtio-rng driver.
HT_BEARSSL := build/deps/bearssl
test_random_SRCS := kernel/random.c tests/host/fake_random_env.c \
	$(addprefix $(HT_BEARSSL)/src/,rand/hmac_drbg.c mac/hmac.c hash/sha2small.c \
	codec/dec32be.c codec/enc32be.c codec/enc64be.c)
test_random_CFLAGS := -I$(HT_TOP)$(HT_BEARSSL)/inc -I$(HT_TOP)$(HT_BEARSSL)/src
# tls/certs.c over all of BearSSL (its decoders, EC and RSA arithmetic):
# the list is every source, as the kernel's archive has.
HT_BEARSSL_ALL := $(patsubst $(HT_TOP)%,%,$(sort $(shell find $(HT_TOP)$(HT_BEARSSL)/src -name '*.c' 2>/dev/null)))
test_certs_SRCS := tls/certs.c $(HT_BEARSSL_ALL)
fuzz_certs_SRCS := tls/certs.c $(HT_BEARSSL_ALL)
test_certs_CFLAGS := -I$(HT_TOP)$(HT_BEARSSL)/inc -I$(HT_TOP)$(HT_BEARSSL)/src -DBR_USE_URANDOM=1
fuzz_certs_CFLAGS := $(test_certs_CFLAGS)
fuzz_certs_DICT := -----BEGIN -----END CERTIFICATE----- PRIVATE EC RSA KEY----- MII MIG \
	MHcCAQEE
fuzz_certs_FLAGS := -max_len=4096
# The response writer with its date and reason phrases, over fakes of
# conn_write (a wire buffer), the clocks and sched_set_cutoff.
test_response_SRCS := http/h1/response.c http/core/date.c http/core/status.c kernel/civil.c \
	tests/host/fake_resp_env.c

# Optional libFuzzer dictionary per fuzz target: tokens without whitespace,
# quotes or backslashes. Without whole addresses in it a 30-second run
# never built a valid "ip=A.B.C.D/N"; with them it takes seconds.
fuzz_cmdline_DICT  := ip= gw= port= log= test= timeout= help dhcp / . 0 1 24 32 33 255 \
	256 65535 65536 off err warn info debug 10.0.2.15 ip=10.0.2.15/24 \
	gw=10.0.2.2 port=8080
# The HTTP parsers (http/core/parse.c, http/core/chunked.c) get their grammar's
# words; CRLF cannot be written here, the targets' mode byte supplies it.
fuzz_parse_DICT    := GET POST OPTIONS CONNECT HTTP/1.1 HTTP/1.0 HTTP/2.0 \
	Host: Content-Length: Transfer-Encoding: chunked gzip Connection: close \
	keep-alive Expect: 100-continue http:// https:// :8080 %41 , 0 00 \
	9223372036854775807
fuzz_chunked_DICT  := 0 7fffffffffffffff 8000000000000000 = Trailer: X: \
	abc
# Optional extra libFuzzer flags per target. Short inputs keep mutations on
# the few tokens that matter (found seeded bugs 2-3x sooner); the 4000-byte
# key path is covered by test_cmdline.
fuzz_cmdline_FLAGS := -max_len=64
fuzz_parse_FLAGS   := -max_len=512
fuzz_chunked_FLAGS := -max_len=256
# Raw-text mode of fuzz_mux (odd first byte) builds patterns from these;
# the structured mode needs none.
fuzz_mux_DICT := {x} {y} {x...} {$$} {} GET HEAD POST CONNECT example.com \
	/ // /./ /../ /.. %2F %2e %25 :80 -
fuzz_mux_FLAGS := -max_len=512
# fuzz_json: the input is both a string to escape and a document to
# parse; these words build documents with the wanted members.
fuzz_json_DICT  := { } [ ] : , name email true false null u0000 u001f \
	u00e9 ud83d ude00 1e-5
fuzz_json_FLAGS := -max_len=2048
# fuzz_cpio: newc magics, a trailer name, hex fields that are 0, 4 GiB, odd.
fuzz_cpio_DICT  := 070701 070702 TRAILER!!! 00000000 FFFFFFFF 0000000B 000081A4 \
	000041ED ./ site/
fuzz_cpio_FLAGS := -max_len=1024

# ---- Tools and flags. ----
HT_CC ?= gcc
HT_FUZZ_CC ?= clang
FUZZ_SECONDS ?= 10
HT_OUT ?= $(HT_TOP)build/host
# Includes name files from the repository top ("kernel/cmdline.h").
HT_INC := -I$(HT_TOP).
HT_WARN := -std=c11 -O1 -g -Wall -Wextra -Werror
HT_CFLAGS ?= $(HT_WARN) -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
HT_FUZZ_CFLAGS ?= $(HT_WARN) -fsanitize=fuzzer,address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all
# Sanitizers exit 1 by default, which would read as "FAIL lines printed";
# a distinct status lets the run rule report the crash itself.
HT_ASAN_OPTIONS ?= exitcode=86
HT_UBSAN_OPTIONS ?= print_stacktrace=1:exitcode=86

# ---- Discovery. ----
HT_TESTS := $(sort $(basename $(notdir \
	$(wildcard $(HT_TOP)tests/host/test_*.c))))
HT_FUZZERS := $(sort $(basename $(notdir \
	$(wildcard $(HT_TOP)tests/host/fuzz_*.c))))

# Progress lines in the kernel's "  CC  file" style; V=1 shows the commands
# instead of hiding them, make -s drops the progress lines too.
HT_SILENT := $(findstring s,$(firstword -$(MAKEFLAGS)))
ht_say = $(if $(HT_SILENT),,@echo "  $(1)  $(2)")
HT_AT = $(if $(V),,@)

# Where a module of a given name may live, in search order.
HT_MODULE_DIRS := kernel net $(patsubst $(HT_TOP)%/,%,\
	$(wildcard $(HT_TOP)http/*/ $(HT_TOP)drivers/*/)) app

# $(call ht_srcs,NAME): NAME_SRCS if set, else the module named like NAME
# without its test_/fuzz_ prefix.
ht_srcs = $(if $(filter undefined,$(origin $(1)_SRCS)),$(patsubst \
	$(HT_TOP)%,%,$(firstword $(wildcard $(foreach d,$(HT_MODULE_DIRS),\
	$(HT_TOP)$(d)/$(patsubst test_%,%,$(patsubst fuzz_%,%,$(1))).c)))),\
	$($(1)_SRCS))

# $(call ht_objs,OBJDIR,NAME): objects of NAME's own file and its sources.
ht_objs = $(patsubst %.c,$(1)/%.o,tests/host/$(2).c $(call ht_srcs,$(2)))

# Standalone, nothing fetches build/deps: leave out the tests and fuzz
# targets whose fetched sources are absent, saying so.
ifeq ($(HT_STANDALONE),1)
ht_fetched = $(addprefix $(HT_TOP),$(filter build/%,$(call ht_srcs,$(1))))
ht_absent = $(strip $(filter-out $(wildcard $(call ht_fetched,$(1))),\
	$(call ht_fetched,$(1))))
HT_LEFT_OUT := $(strip $(foreach t,$(HT_TESTS) $(HT_FUZZERS),\
	$(if $(call ht_absent,$(t)),$(t))))
$(if $(HT_LEFT_OUT),$(warning host.mk: left out (fetched sources absent, \
	see make deps): $(HT_LEFT_OUT)))
HT_TESTS := $(filter-out $(HT_LEFT_OUT),$(HT_TESTS))
HT_FUZZERS := $(filter-out $(HT_LEFT_OUT),$(HT_FUZZERS))
endif

HT_OBJS := $(sort $(foreach t,$(HT_TESTS),\
	$(call ht_objs,$(HT_OUT)/obj,$(t))))
HT_FUZZ_OBJS := $(sort $(foreach t,$(HT_FUZZERS),\
	$(call ht_objs,$(HT_OUT)/fuzz-obj,$(t))))

# ---- Compile: static pattern rules, so no implicit rule of the including
# Makefile can take over these objects. ----
# NAME_CFLAGS reach NAME's objects as a target-specific HT_OBJ_CFLAGS.
$(foreach t,$(HT_TESTS),$(if $($(t)_CFLAGS),$(eval \
	$(call ht_objs,$(HT_OUT)/obj,$(t)): \
	HT_OBJ_CFLAGS += $($(t)_CFLAGS))))
$(foreach t,$(HT_FUZZERS),$(if $($(t)_CFLAGS),$(eval \
	$(call ht_objs,$(HT_OUT)/fuzz-obj,$(t)): \
	HT_OBJ_CFLAGS += $($(t)_CFLAGS))))
# $(call ht_3rd,STEM): -w for fetched third-party sources.
ht_3rd = $(if $(filter build/%,$(1)),-w)

$(HT_OBJS): $(HT_OUT)/obj/%.o: $(HT_TOP)%.c
	@mkdir -p $(@D)
	$(call ht_say,HOSTCC,$@)
	$(HT_AT)$(HT_CC) $(HT_CFLAGS) $(HT_INC) $(HT_OBJ_CFLAGS) $(call ht_3rd,$*) \
		-MMD -MP -c $< -o $@

$(HT_FUZZ_OBJS): $(HT_OUT)/fuzz-obj/%.o: $(HT_TOP)%.c
	@mkdir -p $(@D)
	$(call ht_say,FUZZCC,$@)
	$(HT_AT)$(HT_FUZZ_CC) $(HT_FUZZ_CFLAGS) $(HT_INC) $(HT_OBJ_CFLAGS) \
		$(call ht_3rd,$*) -MMD -MP -c $< -o $@

-include $(HT_OBJS:.o=.d) $(HT_FUZZ_OBJS:.o=.d)

# ---- Link: one rule per binary, since each has its own SRCS. ----
define ht_link_rule
$(HT_OUT)/$(1): $(call ht_objs,$(HT_OUT)/$(2),$(1))
	$$(call ht_say,HOSTLD,$$@)
	$$(HT_AT)$(3) $$^ $$($(1)_LIBS) -o $$@
endef
$(foreach t,$(HT_TESTS),$(eval $(call ht_link_rule,$(t),obj,\
	$$(HT_CC) $$(HT_CFLAGS))))
$(foreach t,$(HT_FUZZERS),$(eval $(call ht_link_rule,$(t),fuzz-obj,\
	$$(HT_FUZZ_CC) $$(HT_FUZZ_CFLAGS))))

# ---- Run. ----
# A binary that exits 1 has printed its FAIL lines; any other non-zero
# status is a crash or sanitizer abort in mid-case, which gets a FAIL line
# here so the failure is counted. Each run leaves a marker in status/ that
# host-tests / host-fuzz check after all runs finished, so one failing test
# does not stop the others (nor make -j).
HT_TEST_RUNS := $(addprefix host-run-,$(HT_TESTS))
HT_FUZZ_RUNS := $(addprefix host-fuzz-run-,$(HT_FUZZERS))
HT_STATUS := $(HT_OUT)/status

$(HT_TEST_RUNS): host-run-%: $(HT_OUT)/%
	@mkdir -p $(HT_STATUS); rm -f $(HT_STATUS)/$*.failed; \
	ASAN_OPTIONS=$(HT_ASAN_OPTIONS) UBSAN_OPTIONS=$(HT_UBSAN_OPTIONS) \
		$(HT_OUT)/$*; rc=$$?; \
	if [ $$rc -ne 0 ]; then touch $(HT_STATUS)/$*.failed; fi; \
	if [ $$rc -gt 1 ]; then echo "FAIL host/$(patsubst test_%,%,$*):" \
		"exited with status $$rc (crash or sanitizer report on stderr)"; fi

# The dictionary is rebuilt whenever this file (where it is listed) changes.
$(HT_FUZZERS:%=$(HT_OUT)/%.dict): $(HT_OUT)/%.dict: $(HT_MK)
	@mkdir -p $(@D)
	@printf '"%s"\n' $($*_DICT) > $@

$(HT_FUZZ_RUNS): host-fuzz-run-%: $(HT_OUT)/% $(HT_OUT)/%.dict
	@mkdir -p $(HT_STATUS) $(HT_OUT)/$*.corpus; \
	rm -f $(HT_STATUS)/$*.failed; \
	if ASAN_OPTIONS=$(HT_ASAN_OPTIONS) \
		UBSAN_OPTIONS=$(HT_UBSAN_OPTIONS) $(HT_OUT)/$* \
		-max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
		$(if $($*_DICT),-dict=$(HT_OUT)/$*.dict) $($*_FLAGS) \
		-artifact_prefix=$(HT_OUT)/$*- $(HT_OUT)/$*.corpus \
		> $(HT_OUT)/$*.log 2>&1; \
	then echo "PASS host/fuzz: $*"; \
	else echo "FAIL host/fuzz: $* (crash input and log in $(HT_OUT)/$*-*," \
		"$(HT_OUT)/$*.log)"; \
		tail -n 40 $(HT_OUT)/$*.log >&2; \
		touch $(HT_STATUS)/$*.failed; fi

# $(call ht_verdict,NAMES): fail if any of NAMES left a failure marker.
ht_verdict = @for t in $(1); do \
	if [ -e $(HT_STATUS)/$$t.failed ]; then exit 1; fi; done

.PHONY: host-tests host-fuzz host-build host-clean $(HT_TEST_RUNS) $(HT_FUZZ_RUNS)

# Every binary, without running any: make -j host-build compiles in
# parallel (test_certs and fuzz_certs take all of BearSSL), and the runs
# that follow print their lines one binary at a time.
host-build: $(addprefix $(HT_OUT)/,$(HT_TESTS) $(HT_FUZZERS))

host-tests: $(HT_TEST_RUNS)
	$(call ht_verdict,$(HT_TESTS))

host-fuzz: $(HT_FUZZ_RUNS)
	$(call ht_verdict,$(HT_FUZZERS))

host-clean:
	rm -rf $(HT_OUT)

# Defining rules above must not change the including Makefile's default goal.
ifeq ($(HT_STANDALONE),1)
.DEFAULT_GOAL := host-tests
else
.DEFAULT_GOAL := $(HT_SAVED_GOAL)
endif
