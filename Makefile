# Keel: one entry point.
#   make            build build/keel.elf (installs tools, fetches deps first)
#   make run        boot it in QEMU with user networking (ACCEL=kvm if you can)
#   make test       host unit tests, fuzzers, QEMU integration tests
#   make soak       mixed load for SOAK_SECONDS (600) on NIC (virtio|e1000); leaks, crashes, hangs
#   make bench      Keel against nginx and Go on Linux under the same QEMU
#                   (NIC=virtio|e1000, BENCH_PEERS, BENCH_SECONDS, MEM=256M)
#   make profile    where a request's cost goes: PROFILE='--load close --insns'
#                   (tests/bench/profile.py; --insns counts guest instructions)
#   make cluster    N Keel instances (N=3) behind haproxy on 127.0.0.1:CLUSTER_PORT
#                   (8090) until Ctrl-C (tools/cluster.sh)
#   make bundle     a boot bundle (cpio) for -initrd or GRUB module2: SITE=dir
#                   CERT=file KEY=file TLS_DIR=dir CMDLINE='...' BUNDLE=out
#   make images     VM images in build/images/: keel.iso (BIOS+UEFI), keel.raw and
#                   keel.qcow2 (GPT disks, BIOS+UEFI); BUNDLE=file CMDLINE='...'
#   make clean      remove build/ outputs except the fetched dependencies
.DEFAULT_GOAL := all

BUILD := build
DEPS := $(BUILD)/deps
PICOLIBC := $(DEPS)/picolibc
PICOLIBC_LIB := $(PICOLIBC)/lib/libc.a
TOOLS_STAMP := $(BUILD)/.tools-installed

CC := gcc
LD := ld
ACCEL ?= tcg
MEM ?= 128M
PORT ?= 8080
APPEND ?=

LWIP := $(DEPS)/lwip
BEARSSL := $(DEPS)/bearssl
BEARSSL_LIB := $(BUILD)/libbearssl.a
KERNEL_CFLAGS := -std=gnu11 -m64 -march=x86-64 -mno-red-zone -mcmodel=kernel \
	-fno-pic -fno-pie -fno-stack-protector -ffreestanding -fbuiltin -nostdinc \
	-isystem $(PICOLIBC)/include -isystem $(shell $(CC) -print-file-name=include) \
	-O2 -g -ffunction-sections -fdata-sections -fno-omit-frame-pointer \
	-Wall -Wextra -Werror -MMD -MP -I. -I$(BUILD)/gen -Inet -I$(LWIP)/src/include \
	-I$(BEARSSL)/inc
# -fbuiltin: -ffreestanding turns GCC's builtins off, and then every memcpy,
# memset and strlen is a call, even of a constant size or a literal. The C
# library is picolibc's, with the standard semantics the builtins assume;
# memory that must be cleared for good is cleared by wipe() (kernel/wipe.h),
# which no optimisation removes.
# Our includes name files from the repository root ("kernel/mm.h"); -Inet
# is for lwIP, which includes "lwipopts.h" and "arch/cc.h" by name.
KERNEL_ASFLAGS := -m64 -fno-pic -fno-pie -I. -MMD -MP -Wall -Werror
LDFLAGS := -nostdlib -static --gc-sections -z max-page-size=4096 -z noexecstack \
	--no-warn-rwx-segments # the .boot segment: 32-bit code beside its page tables
# net/lwip_mem.c counts lwIP's TCP PCBs around its pool allocator.
LDFLAGS += --wrap=memp_malloc --wrap=memp_free

# Sources shared by every image; each image adds its own app_main. Every
# .c and .S under these folders, at any depth, is built: a file in a new
# subfolder (http/h2/, say) needs no edit here.
CORE_DIRS := kernel drivers net http tls
srcs_under = $(sort $(shell find $(1) -name '*.c' -o -name '*.S'))
CORE_SRCS := $(call srcs_under,$(CORE_DIRS)) boot/entry.S
APP_SRCS := $(call srcs_under,app)
KTEST_SRCS := $(wildcard tests/qemu/ktest*.c)

# lwIP (its sources: net/lwip.mk), built with the kernel's flags minus our
# warnings.
include net/lwip.mk
LWIP_OBJS := $(patsubst %.c,$(BUILD)/obj/lwip/%.o,$(LWIP_SRCS))

obj = $(patsubst %,$(BUILD)/obj/%.o,$(basename $(1)))
SITE_OBJ := $(BUILD)/obj/gen/site.o
CORE_OBJS := $(call obj,$(CORE_SRCS)) $(LWIP_OBJS) $(SITE_OBJ)
APP_OBJS := $(call obj,$(APP_SRCS))
KTEST_OBJS := $(call obj,$(KTEST_SRCS))

.PHONY: all run test soak bench profile bundle images cluster clean deps tools version FORCE
all: $(BUILD)/keel.elf

# ---- tools and dependencies (Debian packages only) ----
$(TOOLS_STAMP): tools/install-tools.sh
	@mkdir -p $(@D)
	tools/install-tools.sh
	@touch $@

FETCH_STAMP := $(DEPS)/.fetched
$(FETCH_STAMP): tools/deps.lock tools/fetch-deps.sh | $(TOOLS_STAMP)
	tools/fetch-deps.sh
	@touch $@

$(PICOLIBC_LIB): $(FETCH_STAMP) tools/build-picolibc.sh
	tools/build-picolibc.sh
	@touch $@

# lwIP's sources appear when the fetch runs.
$(addprefix $(LWIP)/src/,$(LWIP_SRCS)): $(FETCH_STAMP) ;

# BearSSL: its own script (tools/build-bearssl.sh), the kernel's flags.
$(BEARSSL_LIB): $(FETCH_STAMP) tools/build-bearssl.sh $(BUILD)/gen/cflags | $(PICOLIBC_LIB)
	@CC=$(CC) CFLAGS="$(filter-out -Wall -Wextra -Werror -MMD -MP,$(KERNEL_CFLAGS))" tools/build-bearssl.sh $@

deps: $(PICOLIBC_LIB) $(BEARSSL_LIB)

# ---- version string: rewritten only when it changes, so make stays a no-op ----
$(BUILD)/gen/version.h: FORCE
	@mkdir -p $(@D)
	@v="#define KEEL_VERSION \"$$(git describe --always --dirty 2>/dev/null || echo dev)\""; \
	 [ -f $@ ] && [ "$$(cat $@)" = "$$v" ] || echo "$$v" > $@

# ---- the kernel's C flags, rewritten only when they change: what was built
# with other flags (objects, lwIP, BearSSL) is built again ----
$(BUILD)/gen/cflags: FORCE
	@mkdir -p $(@D)
	@f='$(subst ','\'',$(KERNEL_CFLAGS))'; [ -f $@ ] && [ "$$(cat $@)" = "$$f" ] || printf '%s\n' "$$f" > $@

# ---- kernel ----
$(BUILD)/obj/%.o: %.c $(BUILD)/gen/cflags | $(PICOLIBC_LIB) $(FETCH_STAMP) $(BUILD)/gen/version.h
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(KERNEL_CFLAGS) -c $< -o $@

$(BUILD)/obj/lwip/%.o: $(LWIP)/src/%.c $(BUILD)/gen/cflags | $(PICOLIBC_LIB)
	@mkdir -p $(@D)
	@echo "  CC      lwip/$*.c"
	@$(CC) $(filter-out -Wall -Wextra -Werror,$(KERNEL_CFLAGS)) -w -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	@$(CC) $(KERNEL_ASFLAGS) -c $< -o $@

$(BUILD)/obj/kernel/main.o: $(BUILD)/gen/version.h

# The static site, embedded in the image (http/handler/static.c serves it).
SITE_FILES := $(shell find images/site -type f)
$(BUILD)/gen/site.c: tools/embed-site.py $(SITE_FILES)
	@mkdir -p $(@D)
	@echo "  SITE    images/site ($(words $(SITE_FILES)) files)"
	@python3 tools/embed-site.py images/site $@

$(SITE_OBJ): $(BUILD)/gen/site.c $(BUILD)/gen/cflags | $(PICOLIBC_LIB)
	@mkdir -p $(@D)
	@$(CC) $(KERNEL_CFLAGS) -I. -c $< -o $@

$(BUILD)/kernel.ld: boot/kernel.ld boot/layout.h
	@mkdir -p $(@D)
	@$(CC) -E -P -x c -Iboot $< -o $@

define link
	@echo "  LD      $@"
	@$(LD) $(LDFLAGS) -T $(BUILD)/kernel.ld -Map $@.map -o $@ $(1) $(BEARSSL_LIB) $(PICOLIBC_LIB)
endef

$(BUILD)/keel.elf: $(CORE_OBJS) $(APP_OBJS) $(BUILD)/kernel.ld $(BEARSSL_LIB) $(PICOLIBC_LIB)
	$(call link,$(CORE_OBJS) $(APP_OBJS))
	@size $@ | tail -1 | awk '{printf "  SIZE    text %d data %d bss %d\n", $$1, $$2, $$3}'

$(BUILD)/keel-test.elf: $(CORE_OBJS) $(KTEST_OBJS) $(BUILD)/kernel.ld $(BEARSSL_LIB) $(PICOLIBC_LIB)
	$(call link,$(CORE_OBJS) $(KTEST_OBJS))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- run ----
QEMU := qemu-system-x86_64
TLS_PORT ?= 8443
QEMU_FLAGS := -accel $(ACCEL) -cpu max -m $(MEM) -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$(PORT)-:80,hostfwd=tcp:127.0.0.1:$(TLS_PORT)-:443 \
	-device virtio-net-pci,netdev=n0

# Without BUNDLE=file, `make run` boots with a development bundle: a
# self-signed ECDSA certificate for localhost and 127.0.0.1, made once
# with openssl (build/dev/; trust it with curl --cacert build/dev/dev.crt).
# The key lives only in build/, never in the image.
DEV := $(BUILD)/dev
RUN_BUNDLE := $(if $(filter command line,$(origin BUNDLE)),$(BUNDLE),$(DEV)/bundle.cpio)

$(DEV)/dev.crt: | $(TOOLS_STAMP)
	@mkdir -p $(@D)
	@echo "  CERT    $@ (self-signed, for localhost)"
	@umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout $(DEV)/dev.key -out $@ 2>/dev/null

$(DEV)/bundle.cpio: $(DEV)/dev.crt images/mkbundle.sh
	@CERT=$(DEV)/dev.crt KEY=$(DEV)/dev.key SITE= TLS_DIR= CMDLINE= images/mkbundle.sh $@

run: $(BUILD)/keel.elf $(RUN_BUNDLE)
	@echo "keel: booting in QEMU ($(ACCEL)); quit with Ctrl-A X"
	@echo "keel: http://127.0.0.1:$(PORT)/ and https://127.0.0.1:$(TLS_PORT)/ (bundle $(RUN_BUNDLE))"
	$(QEMU) $(QEMU_FLAGS) -kernel $< -initrd $(RUN_BUNDLE) -append "$(APPEND)"

# ---- boot bundle (images/mkbundle.sh, kernel/bundle.h) ----
# SITE, CERT, KEY, TLS_DIR and CMDLINE given on make's command line reach
# the script through the environment (make exports them), quotes intact.
BUNDLE ?= $(BUILD)/bundle.cpio

bundle: | $(TOOLS_STAMP)
	@images/mkbundle.sh $(BUNDLE)

# ---- VM images (images/mkiso.sh, images/mkdisk.sh; README "VM images") ----
# The kernel with CMDLINE as its command line and, when BUNDLE is given
# on the command line, that bundle as GRUB's module2. Only the kernel is
# a prerequisite: another BUNDLE or CMDLINE repackages, never recompiles.
# (CMDLINE reaches the scripts through the environment, quotes intact.)
# IMAGES=dir writes them elsewhere (tests/qemu/image_tests.py does).
IMAGES := $(BUILD)/images
IMAGE_BUNDLE := $(if $(filter command line,$(origin BUNDLE)),$(BUNDLE))

images: $(BUILD)/keel.elf | $(TOOLS_STAMP)
	@mkdir -p $(IMAGES)
	@images/mkiso.sh $(if $(IMAGE_BUNDLE),-b "$(IMAGE_BUNDLE)") $< $(IMAGES)/keel.iso "$${CMDLINE:-}"
	@images/mkdisk.sh $(if $(IMAGE_BUNDLE),-b "$(IMAGE_BUNDLE)") -q $(IMAGES)/keel.qcow2 \
		$< $(IMAGES)/keel.raw "$${CMDLINE:-}"

# ---- scale-out: N instances behind haproxy (tools/cluster.sh) ----
N ?= 3
CLUSTER_PORT ?= 8090

cluster: $(BUILD)/keel.elf | $(TOOLS_STAMP)
	@tools/cluster.sh -n $(N) -p $(CLUSTER_PORT) -a "$(APPEND)"

# ---- tests ----
include tests/host/host.mk

test: $(BUILD)/keel.elf $(BUILD)/keel-test.elf | $(TOOLS_STAMP)
	@tools/run-tests.sh

# ---- soak (tests/soak/soak.py; slowhttptest is installed only here) ----
SOAK_SECONDS ?= 600
# The NIC model for soak and bench.
NIC ?= virtio

soak: $(BUILD)/keel.elf | $(TOOLS_STAMP)
	@tools/install-tools.sh --soak
	@python3 tests/soak/soak.py --seconds $(SOAK_SECONDS) --nic $(NIC)

# ---- benchmarks (tests/bench/README.md) ----
BENCH_PEERS ?= keel,nginx,go
BENCH_SECONDS ?= 10
BENCH_ROUNDS ?= 3
BENCH_IDLE_CONNS ?= 10000
# MEM defaults to 128M for `make run`; the comparison runs at 256M unless
# MEM is given on the command line.
BENCH_MEM := $(if $(filter command line,$(origin MEM)),$(MEM),256M)
BENCH_TOOLS_STAMP := $(BUILD)/.bench-tools-installed

$(BENCH_TOOLS_STAMP): tools/install-tools.sh | $(TOOLS_STAMP)
	tools/install-tools.sh --bench
	@touch $@

bench: $(BUILD)/keel.elf | $(BENCH_TOOLS_STAMP)
	python3 tests/bench/bench.py --nic $(NIC) --peers $(BENCH_PEERS) --rounds $(BENCH_ROUNDS) \
		--seconds $(BENCH_SECONDS) --mem $(BENCH_MEM) --idle-conns $(BENCH_IDLE_CONNS)

# A QEMU TCG plugin (tests/bench/insnprof.c) for profile.py --insns.
PROFILE ?= --load keepalive
$(BUILD)/insnprof.so: tests/bench/insnprof.c | $(TOOLS_STAMP)
	$(CC) -O2 -Wall -Wextra -Werror -shared -fPIC -o $@ $<

profile: $(BUILD)/keel.elf $(BUILD)/insnprof.so | $(BENCH_TOOLS_STAMP)
	python3 tests/bench/profile.py --nic $(NIC) $(PROFILE)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/gen $(BUILD)/host $(BUILD)/*.elf $(BUILD)/*.map $(BUILD)/kernel.ld $(BUILD)/test \
		$(BUILD)/cluster
