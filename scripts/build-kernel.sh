#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds (or reuses) the scst-rs VM kernel out of tree, in a cache outside the
# checkout, and prints its build directory (usable as KDIR) on stdout.
#
#   scripts/build-kernel.sh [test|bench]
#
# test  (default): tinyconfig + scripts/kernel/base.config + debug.config
#                  (lockdep, atomic-sleep, kmemleak, generic KASAN; clang-built).
# bench          : tinyconfig + base.config + bench.config (no debug options).
#
# The cache key is the kernel version, a hash of the fragments and the rustc and
# clang versions, so a second run reuses the tree and says so.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FLAVOUR=${1:-test}
SCST_CACHE=${SCST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scst-rs}
JOBS=${JOBS:-$(($(nproc) + 1))}

log() { echo "build-kernel: $*" >&2; }
die() { echo "build-kernel: error: $*" >&2; exit 1; }

case "$FLAVOUR" in
test) FRAGS=("$HERE/kernel/base.config" "$HERE/kernel/debug.config") ;;
bench) FRAGS=("$HERE/kernel/base.config" "$HERE/kernel/bench.config") ;;
*) die "unknown flavour '$FLAVOUR' (test or bench)" ;;
esac

eval "$("$HERE/setup-toolchain.sh" --print-env)"
export RUST_LIB_SRC LIBCLANG_PATH PATH="$HOME/.cargo/bin:$PATH"

# Run without the flags of a calling make, whose "Entering directory" lines
# would otherwise end up in the captured version.
kver=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$KSRC" kernelversion)
key=$({
	cat "${FRAGS[@]}"
	rustc --version
	"${LLVM}clang" --version | head -n1
	bindgen --version
} | sha256sum | cut -c1-12)
OUT=$SCST_CACHE/kernel/$kver-$FLAVOUR-$key
mkdir -p "$OUT"

exec 9>"$OUT/.lock"
flock 9

if [ -f "$OUT/.scst-built" ] && [ -f "$OUT/arch/x86/boot/bzImage" ]; then
	log "reusing cached $FLAVOUR kernel $kver ($key) at $OUT"
	echo "$OUT"
	exit 0
fi

MK=(make -s -C "$KSRC" O="$OUT" LLVM="$LLVM")
log "configuring $FLAVOUR kernel $kver in $OUT"
"${MK[@]}" tinyconfig >&2
"$KSRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" "${FRAGS[@]}" >/dev/null
"${MK[@]}" olddefconfig >&2

# Every option the fragments ask for must have survived olddefconfig:
# Kconfig silently drops what it cannot satisfy (RUST disappears with gcc+KASAN).
bad=0
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$OUT/.config" || { log "option not applied: $line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$OUT/.config" || echo unset))"; bad=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		if grep -qE "^$opt=" "$OUT/.config"; then log "option should be unset: $opt"; bad=1; fi ;;
	esac
done < <(cat "${FRAGS[@]}")
[ $bad = 0 ] || die "the kernel configuration does not match the fragments"

log "building $FLAVOUR kernel $kver with $JOBS jobs (10-15 min on 2 cores)"
start=$(date +%s)
"${MK[@]}" -j"$JOBS" >"$OUT/build.log" 2>&1 || { tail -n 40 "$OUT/build.log" >&2; die "kernel build failed (log: $OUT/build.log)"; }
log "built in $(($(date +%s) - start)) s"
touch "$OUT/.scst-built"
echo "$OUT"
