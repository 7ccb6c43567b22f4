#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs the kernel's make for the scst-rs out-of-tree modules:
#   scripts/kmake.sh [make arguments...]
# KDIR (environment) selects the kernel build tree; by default the cached
# test kernel is set up (built on first use). A clang-built tree gets the
# matching LLVM= automatically; a gcc-built one is used with gcc.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")

eval "$("$HERE/setup-toolchain.sh" --print-env)"
export LIBCLANG_PATH PATH="$HOME/.cargo/bin:$PATH"

if [ -z "${KDIR:-}" ]; then
	KDIR=$("$HERE/build-kernel.sh" test)
fi
[ -f "$KDIR/.config" ] || { echo "kmake: $KDIR is not a configured kernel build tree" >&2; exit 1; }
grep -q '^CONFIG_RUST=y' "$KDIR/.config" || { echo "kmake: $KDIR has no CONFIG_RUST" >&2; exit 1; }
[ -f "$KDIR/rust/libkernel.rmeta" ] || { echo "kmake: $KDIR has no built rust/ (needs a full kernel build)" >&2; exit 1; }

args=()
if grep -q '^CONFIG_CC_IS_CLANG=y' "$KDIR/.config"; then
	args+=(LLVM="$LLVM")
fi
exec make -C "$KDIR" M="$TOP" "${args[@]}" "$@"
