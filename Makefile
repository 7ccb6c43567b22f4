# SPDX-License-Identifier: GPL-2.0
#
# scst-rs: the front door. See README.md.
#
#   make                build every module against KDIR (default: the cached
#                       test kernel, built on first use)
#   make CLIPPY=1       the same, with clippy
#   make check          all tests: host (cargo) and VM
#   make demo           boot a VM with the modules loaded (a shell, or a
#                       scripted run when not on a terminal)
#   make fmt-check      rustfmt in check mode
#   make fuzz           run the fuzz targets for a bounded time
#   make bench          iSCSI IOPS/throughput, scst-rs vs LIO, in a VM
#   make clean

# When KDIR is empty, scripts/kmake.sh sets up the cached test kernel.
export KDIR
CLIPPY ?=

.PHONY: all modules check test-host test-vm demo fmt fmt-check clippy fuzz clean toolchain kernel conformance bench

all: modules

modules:
	scripts/kmake.sh $(if $(CLIPPY),CLIPPY=1) modules

toolchain:
	scripts/setup-toolchain.sh

kernel:
	scripts/build-kernel.sh test

test-host:
	scripts/setup-toolchain.sh
	cargo test --workspace

test-vm: modules
	tests/vm/run-all.sh

check:
	scripts/check.sh

demo: modules
	tests/vm/demo.sh

conformance:
	scripts/conformance.sh

bench:
	scripts/bench.sh

RS_FILES = $(shell git ls-files '*.rs' 2>/dev/null || find . -name '*.rs' -not -path './target/*')

fmt:
	rustfmt --edition 2021 $(filter-out %_generated.rs,$(RS_FILES))

fmt-check:
	rustfmt --edition 2021 --check $(filter-out %_generated.rs,$(RS_FILES))

clippy:
	$(MAKE) CLIPPY=1 modules
	cargo clippy --workspace --all-targets -- -D warnings

fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	-scripts/kmake.sh clean 2>/dev/null
	rm -f rust/bindings_generated.rs scst_core/exports_generated.h
	cargo clean
