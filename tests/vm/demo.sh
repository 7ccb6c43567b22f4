#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the test kernel with the scst-rs modules loaded. On a terminal it
# leaves you a shell in the guest (end it with `poweroff -f` or Ctrl-D);
# otherwise it runs the demo script and powers off.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
KDIR=${KDIR:-$("$TOP/scripts/build-kernel.sh" test)}
OUT=$TOP/build/demo
mkdir -p "$OUT"
"$HERE/initramfs.sh" "$KDIR" "$OUT"
accel=$("$HERE/accel.sh" "$KDIR")
interactive=0
[ -t 0 ] && [ -t 1 ] && interactive=1
port=${SCST_DEMO_PORT:-3260}
echo "demo: booting the scst-rs VM ($accel); iSCSI port 3260 is forwarded to 127.0.0.1:$port"
[ $interactive = 1 ] || echo "demo: not on a terminal, running non-interactively"
exec qemu-system-x86_64 -accel "$accel" -smp 2 -m 2048 -nographic -no-reboot \
	-kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$OUT/initrd.img" \
	-append "console=ttyS0 panic=-1 quiet scst.mode=demo scst.interactive=$interactive" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:3260" -device virtio-net-pci,netdev=n0
