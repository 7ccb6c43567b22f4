#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prints the qemu accelerator to use: "kvm" only if a probe boot with KVM
# really reaches user space on this machine (cached), else "tcg".
set -uo pipefail
KDIR=$1
SCST_CACHE=${SCST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scst-rs}
stamp=$SCST_CACHE/kvm-probe-$(hostname)
if [ -f "$stamp" ]; then cat "$stamp"; exit 0; fi
mkdir -p "$SCST_CACHE"
res=tcg
if [ -w /dev/kvm ]; then
	d=$(mktemp -d)
	mkdir -p "$d/r/bin"
	cp /bin/busybox "$d/r/bin/"
	printf '#!/bin/busybox sh\n/bin/busybox echo KVM-PROBE-OK\n/bin/busybox poweroff -f\n' >"$d/r/init"
	chmod +x "$d/r/init"
	(cd "$d/r" && find . | cpio -o -H newc --quiet | gzip -1) >"$d/i.gz"
	if timeout -k 5 30 qemu-system-x86_64 -accel kvm -cpu host -m 512 -nographic -no-reboot \
		-kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$d/i.gz" -append "console=ttyS0 panic=-1" \
		</dev/null 2>&1 | grep -q KVM-PROBE-OK; then
		res=kvm
	fi
	rm -rf "$d"
fi
echo "$res" >"$stamp"
echo "$res"
