#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the test kernel under qemu with the scst-rs modules, runs in-guest test
# cases and reports each result and a final "N passed, N failed" line.
#
#   tests/vm/run.sh [--cases a,b] [--extra-cases DIR] [--timeout SECONDS] [--name NAME]
#
# The guest's port 3260 is forwarded from 127.0.0.1:$SCST_VM_PORT (default: a
# random port); SCST_VM_FWD="HOSTPORT:GUESTPORT ..." forwards more ports.
#
# Fails (exit 1) on any failed check, a case script exiting non-zero, a time-out,
# a guest that dies before finishing, or a kernel log that shows an oops, BUG,
# WARNING, lockdep report, KASAN/UBSAN report, hung task or kmemleak leak.
# KDIR selects the kernel tree (default: the cached test kernel).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CASES= EXTRA= TIMEOUT=${SCST_VM_TIMEOUT:-900} NAME=vm
while [ $# -gt 0 ]; do
	case "$1" in
	--cases) CASES=$2; shift 2 ;;
	--extra-cases) EXTRA=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--name) NAME=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
KDIR=${KDIR:-$("$TOP/scripts/build-kernel.sh" test)}
OUT=$TOP/build/$NAME
rm -rf "$OUT"
mkdir -p "$OUT"
SCST_EXTRA_CASES=$EXTRA "$HERE/initramfs.sh" "$KDIR" "$OUT"

accel=$("$HERE/accel.sh" "$KDIR")
port=${SCST_VM_PORT:-$((20000 + RANDOM % 20000))}
fwd="hostfwd=tcp:127.0.0.1:$port-:3260"
for f in ${SCST_VM_FWD:-}; do
	fwd="$fwd,hostfwd=tcp:127.0.0.1:${f%%:*}-:${f##*:}"
done
append="console=ttyS0 panic=-1 loglevel=7 scst.mode=test scst.timeout=$((TIMEOUT - 60))"
[ -n "$CASES" ] && append="$append scst.cases=$CASES"
log=$OUT/console.log
echo "vm: booting $(basename "$KDIR") ($accel); console log: $log" >&2
start=$(date +%s)
set +e
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 -accel "$accel" -smp 2 -m 2048 \
	-nographic -no-reboot -kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$OUT/initrd.img" \
	-append "$append" \
	-netdev "user,id=n0,$fwd" -device virtio-net-pci,netdev=n0 \
	</dev/null >"$log" 2>&1
qrc=$?
set -e
echo "vm: guest ran $(($(date +%s) - start)) s" >&2

exec "$HERE/report.sh" "$log" "$qrc"
