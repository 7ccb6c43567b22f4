#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: runs every cargo-fuzz target of the pure protocol crates for a
# bounded time each (default 60 s; `make fuzz FUZZ_SECONDS=600`).
# Needs rustup's nightly toolchain; installs cargo-fuzz if missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
SECS=${1:-60}
export PATH="$HOME/.cargo/bin:$PATH"
cargo +nightly --version >/dev/null 2>&1 || { echo "fuzz: needs the nightly toolchain (rustup toolchain install nightly)" >&2; exit 1; }
command -v cargo-fuzz >/dev/null || cargo install --locked -q cargo-fuzz
rc=0
for dir in $(cd "$TOP" && find . -path ./target -prune -o -type d -name fuzz -print | sort); do
	for t in $(cd "$TOP/$dir/.." && cargo +nightly fuzz list); do
		echo "fuzz: $dir $t for $SECS s"
		if (cd "$TOP/$dir/.." && cargo +nightly fuzz run "$t" -- -max_total_time="$SECS" 2>&1 | tail -n 3); then
			echo "PASS fuzz $t"
		else
			echo "FAIL fuzz $t"
			rc=1
		fi
	done
done
exit $rc
