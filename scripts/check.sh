#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: every test of scst-rs, host and VM, with one summary line.
# Installs what it needs (scripts/setup-toolchain.sh) and builds the cached
# test kernel on first use.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
cd "$TOP"
export PATH="$HOME/.cargo/bin:$PATH"

pass=0 fail=0
res() { # res PASS|FAIL text
	echo "$1 $2"
	if [ "$1" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}
step() { echo; echo "==== $* ===="; }

step "toolchain"
scripts/setup-toolchain.sh || { echo "toolchain setup failed"; echo "0 passed, 1 failed"; exit 1; }

step "host: cargo test"
log=$(mktemp)
cargo test --workspace 2>&1 | tee "$log"
cargo_rc=${PIPESTATUS[0]}
hp=$(awk '/^test result:/ {s += $4} END {print s + 0}' "$log")
hf=$(awk '/^test result:/ {s += $6} END {print s + 0}' "$log")
echo "host: $hp passed, $hf failed (cargo exit $cargo_rc)"
pass=$((pass + hp))
fail=$((fail + hf))
[ "$cargo_rc" = 0 ] || [ "$hf" != 0 ] || res FAIL "host: cargo test exited $cargo_rc"

step "host: clippy"
if cargo clippy --workspace --all-targets -q -- -D warnings; then
	res PASS "host: cargo clippy clean"
else
	res FAIL "host: cargo clippy clean"
fi

step "style: rustfmt"
if make -s fmt-check; then res PASS "style: rustfmt --check"; else res FAIL "style: rustfmt --check"; fi

step "policy: unsafe code only in rust/"
bad=$(git ls-files '*.rs' | grep -v '^rust/' | grep -v '/fuzz/' | xargs grep -lE '\bunsafe\b' || true)
# Crate roots of modules: the files with a `module!` invocation.
roots=$(git ls-files 'scst_core/*.rs' 'scst_vdisk/*.rs' 'scst_disk/*.rs' 'drivers/*.rs' 'scst_user/*.rs' 'tests/splat/*.rs' |
	grep -Ev '/(proto|fuzz)/' | xargs grep -l '^module! {' | xargs grep -L 'forbid(unsafe_code)' || true)
# proto/ dirs are also nested modules (scst_core::proto, iscsi_scst::proto) in the kernel: `crate::`
# paths resolve only in the host crate, so they must not be used there.
cratepaths=$(git ls-files 'scst_core/proto/*.rs' 'drivers/*/proto/*.rs' | grep -v '/fuzz/' | xargs grep -ln '\bcrate::' || true)
if [ -n "$cratepaths" ]; then
	res FAIL "policy: proto/ uses crate:: paths (use super::): $cratepaths"
else
	res PASS "policy: proto/ has no crate:: paths"
fi
if [ -z "$bad" ] && [ -z "$roots" ]; then
	res PASS "policy: no unsafe outside rust/, crate roots forbid(unsafe_code)"
else
	res FAIL "policy: unsafe outside rust/: ${bad:-none}; roots without forbid: ${roots:-none}"
fi

step "kernel modules: build with clippy"
klog=$(mktemp)
if make -s CLIPPY=1 modules 2>&1 | tee "$klog"; then
	if grep -qE '^(warning|error)(\[|:)' "$klog"; then
		res FAIL "modules: build with CLIPPY=1 has warnings"
	else
		res PASS "modules: build with CLIPPY=1, no warnings"
	fi
	step "VM tests"
	vlog=$(mktemp)
	tests/vm/run-all.sh 2>&1 | tee "$vlog"
	vp=$(grep -c '^PASS ' "$vlog")
	vf=$(grep -c '^FAIL ' "$vlog")
	pass=$((pass + vp))
	fail=$((fail + vf))
	[ "$vf" -gt 0 ] || grep -q '^vm: .* passed, 0 failed' "$vlog" || res FAIL "vm: suite did not report"
else
	res FAIL "modules: build with CLIPPY=1"
fi

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
