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
qemu=(qemu-system-x86_64 -accel "$accel" -smp 2 -m 2048 -nographic -no-reboot
	-kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$OUT/initrd.img"
	-append "console=ttyS0 panic=-1 quiet scst.mode=demo scst.interactive=$interactive scst.port=$port"
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:3260" -device virtio-net-pci,netdev=n0)
[ $interactive = 1 ] && exec "${qemu[@]}"

# Not on a terminal: run the guest's demo script and, while it waits, reach
# its iSCSI LUN from this host through the forwarded port.
log=$OUT/console.log
"${qemu[@]}" </dev/null >"$log" 2>&1 &
qpid=$!
tail -n +1 -f "$log" --pid=$qpid &
i=0
while [ $i -lt 600 ] && kill -0 $qpid 2>/dev/null && ! grep -q SCST-DEMO-READY "$log"; do
	sleep 1
	i=$((i + 1))
done
if grep -q SCST-DEMO-READY "$log"; then
	echo "=== host: iscsi-inq iscsi://127.0.0.1:$port/iqn.2026-11.org.scst-rs:demo/0"
	iscsi-inq "iscsi://127.0.0.1:$port/iqn.2026-11.org.scst-rs:demo/0" || echo "=== host: iscsi-inq failed"
	echo "=== host: iscsi-readcapacity16"
	iscsi-readcapacity16 "iscsi://127.0.0.1:$port/iqn.2026-11.org.scst-rs:demo/0" || true
fi
wait $qpid
