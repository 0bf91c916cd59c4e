# The front door, as in L4Re: `make E=<entry> qemu` boots an entry of
# ned-scripts/modules.list; `make test` runs every test. Each target is a
# subcommand of the host tool in build/ (`cargo run -p build -- help`).

SHELL := /bin/bash
E ?=
# Where `[uncompress]` modules are inflated: `build` (default) or `boot`.
export UNCOMPRESS
TOOL := cargo run -q -p build --

.PHONY: all setup image qemu list check inspect guest test test-host test-qemu lint fmt clean help fuzz ned-check ned-graph bench

all: help

help:
	@echo "make E=<entry> qemu    build an entry's image and boot it in QEMU (QEMU_OPTIONS to override)"
	@echo "make E=<entry> image   build target/images/<entry>.elf (UNCOMPRESS=boot: bootstrap inflates)"
	@echo "make list [E=<entry>]  list the entries, or one entry's modules"
	@echo "make check             check ned-scripts/modules.list without building"
	@echo "make E=<entry> inspect list the modules packed in an entry's image"
	@echo "make guest             fetch the arm64 Linux guest into target/guest"
	@echo "make ned-check S=<f>   check boot scripts on the host (default: every ned-scripts/*.ned but test-error.ned)"
	@echo "make ned-graph S=<f>   write a boot script's component graph as DOT (and SVG with graphviz)"
	@echo "make test              run every test (host and QEMU)"
	@echo "make setup             install the toolchain targets and packages the build needs"
	@echo "make bench             kernel and guest-boot benchmarks under QEMU -icount shift=0 (tables, target/bench/*.json)"
	@echo "make fuzz              differential capability fuzzing against a reference model (FUZZ_SECONDS=60)"

setup:
	@build/setup.sh

qemu: setup
	@$(TOOL) qemu $(E)

image: setup
	@if [ -z "$(E)" ]; then $(TOOL) list; echo "choose one: make E=<entry> image"; exit 2; fi
	@$(TOOL) image $(E)

list: setup
	@$(TOOL) list $(E)

check: setup
	@$(TOOL) check

inspect: setup
	@if [ -z "$(E)" ]; then echo "usage: make E=<entry> inspect"; exit 2; fi
	@$(TOOL) inspect target/images/$(E).elf

guest: setup
	@$(TOOL) guest

# Boot scripts to check; test-error.ned fails on purpose (a QEMU test).
S ?= $(filter-out ned-scripts/test-error.ned,$(wildcard ned-scripts/*.ned))

ned-check: setup
	@$(TOOL) ned check $(S)

ned-graph: setup
	@for f in $(S); do $(TOOL) ned graph $$f || exit 1; done

lint: setup
	cargo fmt --all --check
	cargo clippy -q --all-targets -p build -p bootimage -p pl011 -p sel4-sys -p sel4 -p kernel-core -p kernel-model -p program-env -p ned -p io-config -p vbus-api -- -D warnings
	cargo clippy -q -p cons --lib --tests -- -D warnings
	cargo clippy -q -p vmm --lib --tests -- -D warnings
	cargo clippy -q --target aarch64-unknown-none -p sel4 -p sel4-runtime --examples -- -D warnings
	cargo clippy -q --release --target aarch64-unknown-none -p hello -p preempt -p sel4test -p sysfuzz -p root-task -p nedtest -p cons -p io-service -p vbustest -p vmm -- -D warnings
	cargo clippy -q --release --target aarch64-unknown-none-softfloat -p bootstrap -p kernel -- -D warnings

test-host: setup
	cargo test -p build -p bootimage -p pl011 -p sel4-sys -p sel4 -p kernel-core -p kernel-model -p program-env -p ned -p io-config -p vbus-api
	cargo test -p bootstrap --lib
	cargo test -p cons --lib
	cargo test -p vmm --lib

FUZZ_SECONDS ?= 60

# Differential fuzzing of kernel-core against the reference model in
# kernel/model: random seeds for FUZZ_SECONDS seconds (not part of `test`).
fuzz:
	cargo run -q --release -p kernel-model --bin fuzz -- $(FUZZ_SECONDS)

bench: setup
	@$(TOOL) bench

test-qemu: setup
	@$(TOOL) test

test: setup
	@mkdir -p target
	@$(MAKE) --no-print-directory lint test-host test-qemu 2>&1 | tee target/test.log; status=$${PIPESTATUS[0]}; \
	  echo; echo "== summary =="; \
	  grep -E '^test result:' target/test.log | awk '{p+=$$4; f+=$$6} END {printf "host: %d passed, %d failed\n", p, f}'; \
	  grep -E '^[a-z0-9-]+: [0-9]+ passed' target/test.log | grep -v '^qemu:'; \
	  grep -E '^qemu: [0-9]+ passed' target/test.log || echo "qemu: not run"; \
	  exit $$status

fmt:
	cargo fmt --all

clean:
	cargo clean
