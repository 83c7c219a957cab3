# vmm: non-recursive build. `make` builds ./build/vmm; `make test` runs the
# unit tests (ASan/UBSan) and the system tests; V=1 shows commands.

ARCH ?= $(shell uname -m)
OS := $(shell uname -s)
ifeq ($(OS),Darwin)
HV ?= hvf
else
HV ?= kvm
endif

BUILD ?= build
CC ?= cc
PYTHON ?= /usr/bin/python3
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla \
	-Wno-unused-parameter -Wimplicit-fallthrough
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -I. -D_GNU_SOURCE -DVMM_VERSION='"$(VERSION)"' \
	-MMD -MP -pthread -fno-strict-aliasing
LDLIBS += -pthread -lz -lelf -lslirp

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Backend-neutral core, then what the architecture and hypervisor add.
SRCS_core := vmm/log.c vmm/bus.c vmm/vm.c vmm/vcpu.c vmm/exit.c \
	vmm/i8042.c vmm/cmos.c vmm/platform_x86_64.c vmm/machine.c vmm/parse.c \
	vmm/memstat.c \
	boot/boot.c boot/x86_64.c boot/bzimage.c boot/zeropage.c boot/gzip.c \
	boot/elf.c boot/elf_linux64.c boot/pvh.c boot/raw.c boot/kernel.c \
	serial/uart16550.c serial/console.c
SRCS_core += boot/acpi.c boot/mptable.c boot/x86_tables.c vmm/acpi_pm.c
SRCS_core += virtio/virtqueue.c
SRCS_core += virtio/pci.c virtio/pci_common.c virtio/blk.c virtio/blk_req.c \
	virtio/disk.c
SRCS_core += pci/pci.c pci/msix.c pci/host.c
SRCS_core += vmm/pollset.c virtio/net.c virtio/net_rx.c virtio/rng.c \
	net/spec.c net/tap.c net/user.c
SRCS_core += gdb/packet.c gdb/regs.c gdb/pagewalk.c gdb/bp.c gdb/allstop.c gdb/target.c gdb/stub.c gdb/server.c
SRCS_kvm := kvm/kvm.c kvm/probe.c
SRCS_kvm_x86_64 := kvm/kvm_x86_64.c
SRCS_hv := $(SRCS_$(HV)) $(SRCS_$(HV)_$(ARCH))

OBJ := $(BUILD)/obj
OBJS_core := $(SRCS_core:%.c=$(OBJ)/%.o)
OBJS_hv := $(SRCS_hv:%.c=$(OBJ)/%.o)
OBJS_main := $(OBJ)/main.o

all: $(BUILD)/vmm

$(BUILD)/vmm: $(OBJS_main) $(OBJS_core) $(OBJS_hv)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# main.o carries the version: rebuilt whenever `git describe` changes, or
# `vmm --version` names an old commit.
VERSION_STAMP := $(BUILD)/version
$(shell mkdir -p $(BUILD) && [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = \
	"$(VERSION)" ] || echo "$(VERSION)" > $(VERSION_STAMP))
$(OBJ)/main.o: $(VERSION_STAMP)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# ---- unit tests: host only, no /dev/kvm, built with ASan and UBSan ----
UBUILD := $(BUILD)/unit
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(UBUILD)/%)
UNIT_LIB := $(UBUILD)/libcore.a
UNIT_FAKE := $(UBUILD)/libfake.a
UNIT_CORE_OBJS := $(SRCS_core:%.c=$(UBUILD)/%.o)
UNIT_FAKE_OBJS := $(patsubst %.c,$(UBUILD)/%.o,$(wildcard tests/unit/fake_*.c))

$(UBUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (unit)"
	$(Q)$(CC) $(CFLAGS) -O1 $(SAN) -c -o $@ $<

$(UNIT_LIB): $(UNIT_CORE_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(UNIT_FAKE): $(UNIT_FAKE_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(UBUILD)/test_%: $(UBUILD)/tests/unit/test_%.o $(UNIT_LIB) $(UNIT_FAKE)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(SAN) -o $@ $< $(UNIT_LIB) $(UNIT_FAKE) \
		$(UNIT_LIB) -lcmocka $(LDLIBS)

unit: $(UNIT_BINS)
	@set -e; fail=0; for t in $(UNIT_BINS); do \
		echo "== $$t"; $$t || fail=1; done; \
	if [ $$fail -ne 0 ]; then echo "unit tests FAILED"; exit 1; fi

# ---- system tests: boot the real test kernel (see tests/system) ----
images: deps
	$(Q)scripts/build-test-images.sh

# Two tiers run the same suite (README "Tests"): `system` on this machine
# as it is, `system-nested` inside the emulated normal-KVM host that
# scripts/testhost boots (QEMU TCG), where guest user space always runs.
# Each writes its summary to $(BUILD)/tiers/.
TIERS := $(BUILD)/tiers
PYTEST := -m pytest -p no:cacheprovider -v -rs
NESTED_TIMEOUT ?= 3000

system: $(BUILD)/vmm images
	$(Q)mkdir -p $(TIERS)
	$(Q)VMM=$(abspath $(BUILD)/vmm) VMM_TIER=host \
		VMM_TIER_SUMMARY=$(abspath $(TIERS))/host.txt \
		$(PYTHON) $(PYTEST) tests/system $(PYTEST_ARGS)

# QEMU's emulation of the nested host itself sometimes fails (a hang or
# a kernel crash inside it, README "Tests"); scripts/testhost reports that
# as 244 or 246, apart from any test's failure. Only then is the tier run
# again, at most NESTED_ATTEMPTS times in all, saying so each time.
NESTED_ATTEMPTS ?= 4
# A boot there takes seconds, not minutes: a stuck one fails after 6 min
# (VMM_BOOT_TIMEOUT), not after the host tier's 15.
NESTED_RUN = scripts/testhost --timeout $(NESTED_TIMEOUT) \
	--log $(TIERS)/nested-console.log --out $(TIERS) \
	--env VMM=$(abspath $(BUILD)/vmm) --env VMM_TIER=nested \
	--env VMM_BOOT_TIMEOUT=360 \
	--env VMM_TIER_SUMMARY=$(abspath $(TIERS))/nested.txt \
	x86_64 -- $(PYTHON) $(PYTEST) tests/system $(PYTEST_ARGS)

# $(call testhost_runs,COMMAND,LOG,NOTES): COMMAND (a scripts/testhost run
# with --log LOG.log) again while the emulated host itself failed (244,
# 246), NESTED_ATTEMPTS runs in all; each lost run's log is kept as
# LOG.N.log and named in a line appended to NOTES. COMMAND's last status.
testhost_runs = n=1; notes=; while :; do \
		$(1); rc=$$?; \
		[ $$rc -eq 244 ] || [ $$rc -eq 246 ] || break; \
		cp $(2).log $(2).$$n.log; \
		msg="the emulated host failed in run $$n (status $$rc, log in $(2).$$n.log)"; \
		notes="$$notes  ($$msg)\n"; \
		[ $$n -lt $(NESTED_ATTEMPTS) ] || break; \
		echo "$@: $$msg: running again"; \
		n=$$((n + 1)); \
	done; \
	printf '%b' "$$notes" >> $(3); exit $$rc

system-nested: $(BUILD)/vmm images
	$(Q)scripts/install-deps.sh --testhost
	$(Q)mkdir -p $(TIERS) && rm -f $(TIERS)/nested.txt
	$(Q)$(call testhost_runs,$(NESTED_RUN),$(TIERS)/nested-console,$(TIERS)/nested.txt)

# The README's test command: packages, format, unit tests, a short fuzzing
# run of every parser of guest or file input, then both system tiers (the
# second runs even when the first fails) and their summaries.
test: deps
	$(Q)$(MAKE) --no-print-directory format-check
	$(Q)$(MAKE) --no-print-directory images
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10
	$(Q)rm -f $(TIERS)/host.txt $(TIERS)/nested.txt; fail=0; took=; \
	for t in system system-nested; do \
		s=$$(date +%s); \
		$(MAKE) --no-print-directory $$t || fail=1; \
		took="$$took $$t $$(( $$(date +%s) - s )) s;"; \
	done; \
	echo "==== system test tiers (make$$took)"; \
	for t in host nested; do \
		cat $(TIERS)/$$t.txt 2>/dev/null || \
			echo "tier $$t: no summary (it did not run to the end)"; \
	done; \
	exit $$fail

# Boot the default test image (the README's first command).
run: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/vmm images
	$(Q)scripts/run-test-image.sh $(ARGS)

# Installs missing Debian packages (apt-get); quiet when all are present.
deps:
	$(Q)scripts/install-deps.sh

# Tracked and new (untracked, not ignored) files alike.
FORMAT_SRCS = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h')
format:
	$(Q)clang-format -i $(FORMAT_SRCS)
format-check:
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD)

.SECONDARY:
.PHONY: all unit system system-nested test images run deps format format-check clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- benchmarks: measure and compare, never pass/fail ----
$(BUILD)/bench/bench_blk: tests/bench/bench_blk.c virtio/blk_req.c \
		virtio/disk.c virtio/virtqueue.c vmm/vm.c vmm/bus.c vmm/log.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/bench_net: tests/bench/bench_net.c virtio/net_rx.c \
		virtio/virtqueue.c vmm/vm.c vmm/bus.c vmm/log.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/kvm_floor: tests/bench/kvm_floor.c boot/raw.c boot/boot.c \
		boot/x86_64.c vmm/vm.c vmm/bus.c vmm/log.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The virtio-blk data path against plain pread/pwrite on the same file.
bench-blk: $(BUILD)/bench/bench_blk
	$(Q)$(BUILD)/bench/bench_blk

# The virtio-net data path (no guest) against plain memcpy/writev.
bench-net-path: $(BUILD)/bench/bench_net
	$(Q)$(BUILD)/bench/bench_net

# Everything, against the raw KVM_RUN floor and QEMU; writes
# docs/BENCHMARKS.md, then bench-nested. BENCH_ARGS="--runs 3 --no-peers"
# for a quick one.
bench: deps images $(BUILD)/vmm $(BUILD)/bench/kvm_floor $(BUILD)/bench/bench_blk
	$(Q)scripts/install-deps.sh --bench
	$(Q)$(PYTHON) scripts/bench.py $(BENCH_ARGS)
	$(Q)$(MAKE) --no-print-directory bench-nested

# Boot to user space on a normal KVM: scripts/bench.py --nested inside the
# emulated host that scripts/testhost boots (QEMU TCG), vmm against QEMU
# -M microvm and -M pc, as ratios and KVM's exit counts by kind; writes
# docs/BENCHMARKS-nested.md (raw figures, consoles, log: $(BENCH_NESTED)).
# BENCH_NESTED_ARGS="--runs 2 --warmup 0" for a quick one. Like the nested
# tier, it starts again (NESTED_ATTEMPTS in all) if the emulated host hangs.
BENCH_NESTED := $(abspath $(BUILD))/bench-nested
BENCH_NESTED_TIMEOUT ?= 5400
BENCH_OUTER = $$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | \
	head -n 1), $$(nproc) cores, kernel $$(uname -r)$$([ -e \
	/sys/module/kvm_pvm ] && echo ', PVM-based KVM')
BENCH_NESTED_RUN = VMM_BENCH_OUTER="$(BENCH_OUTER)" scripts/testhost \
	--timeout $(BENCH_NESTED_TIMEOUT) \
	--log $(BENCH_NESTED)/testhost-console.log --out $(BENCH_NESTED) \
	x86_64 -- $(PYTHON) scripts/bench.py --nested \
	--out $(BENCH_NESTED)/BENCHMARKS-nested.md \
	--consoles $(BENCH_NESTED)/consoles $(BENCH_NESTED_ARGS)
bench-nested: deps images $(BUILD)/vmm
	$(Q)scripts/install-deps.sh --testhost
	$(Q)rm -rf $(BENCH_NESTED) && mkdir -p $(BENCH_NESTED)
	$(Q)$(call testhost_runs,$(BENCH_NESTED_RUN),$(BENCH_NESTED)/testhost-console,/dev/null)
	$(Q)cp $(BENCH_NESTED)/BENCHMARKS-nested.md docs/BENCHMARKS-nested.md

# TCP through virtio-net, vmm against QEMU (root: a tap in a netns).
bench-net: deps images $(BUILD)/vmm
	$(Q)scripts/install-deps.sh --bench
	$(Q)$(PYTHON) scripts/bench_net.py

.PHONY: bench bench-blk bench-net bench-net-path bench-nested

# ---- fuzzing (libFuzzer via clang): every parser of guest or file input ----
FUZZ_SECONDS ?= 20
FBUILD := $(BUILD)/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(FBUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRCS_boot := boot/boot.c boot/x86_64.c boot/zeropage.c vmm/vm.c \
	vmm/bus.c vmm/log.c
FUZZ_SRCS_fuzz_bzimage := boot/bzimage.c $(FUZZ_SRCS_boot)
FUZZ_SRCS_fuzz_elf := boot/elf.c boot/pvh.c boot/elf_linux64.c \
	$(FUZZ_SRCS_boot)
FUZZ_SRCS_fuzz_gzip := boot/gzip.c $(FUZZ_SRCS_boot)
FUZZ_SRCS_fuzz_uart := serial/uart16550.c vmm/log.c
FUZZ_SRCS_fuzz_blk := virtio/blk_req.c virtio/disk.c virtio/virtqueue.c \
	vmm/vm.c vmm/bus.c vmm/log.c
FUZZ_SRCS_fuzz_virtqueue := virtio/virtqueue.c vmm/vm.c vmm/bus.c vmm/log.c
FUZZ_SRCS_fuzz_net := virtio/net_rx.c virtio/virtqueue.c net/spec.c vmm/parse.c vmm/vm.c vmm/bus.c vmm/log.c
FUZZ_SRCS_fuzz_gdb := gdb/packet.c gdb/regs.c gdb/pagewalk.c vmm/vm.c vmm/bus.c \
	vmm/log.c
FUZZ_FLAGS := -std=gnu11 -I. -D_GNU_SOURCE -g -O1 -pthread \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(FBUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(SRCS_core)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRCS_fuzz_$*) -lz -lelf

# Runs each fuzzer for FUZZ_SECONDS from a seed corpus; a crash fails.
fuzz: $(FUZZ_TARGETS)
	@set -e; for f in $(FUZZ_TARGETS); do \
		n=$$(basename $$f); c=$(FBUILD)/corpus/$$n; mkdir -p $$c; \
		if [ -x tests/fuzz/seed_$${n#fuzz_}.py ]; then \
			tests/fuzz/seed_$${n#fuzz_}.py > $$c/seed; fi; \
		echo "== $$f ($(FUZZ_SECONDS)s)"; \
		if ! $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $$c \
			> $(FBUILD)/$$n.log 2>&1; then \
			tail -n 40 $(FBUILD)/$$n.log; exit 1; fi; \
		grep -E '^(#[0-9]+.*DONE|Done)' $(FBUILD)/$$n.log || true; \
	done
.PHONY: fuzz
