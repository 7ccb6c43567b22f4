#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds the guest initramfs for a VM run:
#   tests/vm/initramfs.sh KDIR OUT
# Writes OUT/initrd.img, the concatenation of two cpio archives:
# - a base archive, cached per kernel tree and tool list: busybox-static, the
#   test tools with their shared libraries, and the kernel's own modules (LIO,
#   scsi_debug, iscsi_tcp);
# - an overlay rebuilt every run: the scst-rs modules, modules.dep, the guest
#   init and the test cases.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
KDIR=$1
OUT=$2
SCST_CACHE=${SCST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scst-rs}

TOOLS=(
	/bin/busybox
	/usr/bin/iscsi-test-cu /usr/bin/iscsi-inq /usr/bin/iscsi-ls /usr/bin/iscsi-readcapacity16
	/usr/bin/fio
	/usr/bin/sg_inq /usr/bin/sg_vpd /usr/bin/sg_readcap /usr/bin/sg_luns /usr/bin/sg_modes
	/usr/bin/sg_opcodes /usr/bin/sg_unmap /usr/bin/sg_write_same /usr/bin/sg_sync
	/usr/bin/sg_get_lba_status /usr/bin/sg_persist /usr/bin/sg_turs /usr/bin/sg_raw
	/usr/bin/sg_requests /usr/bin/sg_reset /usr/bin/sg_map26 /usr/bin/sg_start /usr/bin/sg_prevent
	/usr/bin/sg_rtpg /usr/bin/sg_readcap /usr/bin/sg_dd /usr/bin/sg_verify /usr/bin/sg_compare_and_write
	/usr/bin/sg_xcopy /usr/bin/sg_copy_results
	/usr/sbin/mke2fs /usr/sbin/e2fsck
	/usr/sbin/iscsiadm /usr/sbin/iscsid
	/usr/sbin/tgtd /usr/sbin/tgtadm
)

kver=$(cat "$KDIR/include/config/kernel.release")
key=$({
	echo "$KDIR" "$kver"
	stat -c %Y "$KDIR/.scst-built" 2>/dev/null || true
	printf '%s\n' "${TOOLS[@]}"
	cat "$0"
} | sha256sum | cut -c1-12)
BASE=$SCST_CACHE/initramfs/base-$key
mkdir -p "$SCST_CACHE/initramfs"

copy_bin() { # copy a binary and its shared libraries into root $1
	local root=$1 bin=$2 lib
	[ -e "$bin" ] || { echo "initramfs: missing $bin" >&2; return 1; }
	install -D -m 0755 "$bin" "$root$bin"
	{ ldd "$bin" 2>/dev/null || true; } | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
		[ -n "$lib" ] && [ -e "$lib" ] || continue
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}

if [ ! -f "$BASE/base.cpio.gz" ]; then
	echo "initramfs: building base image (cached at $BASE)" >&2
	rm -rf "$BASE"
	root=$BASE/root
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root,var/lib/iscsi,run,lib64,usr/bin,usr/sbin}
	for t in "${TOOLS[@]}"; do copy_bin "$root" "$t"; done
	ln -sf /lib64/ld-linux-x86-64.so.2 "$root/lib/ld-linux-x86-64.so.2" 2>/dev/null || true
	# The kernel's own modules (LIO, scsi_debug, iscsi_tcp) with their modules.dep.
	make -s -C "$KDIR" INSTALL_MOD_PATH="$root" INSTALL_MOD_STRIP=1 DEPMOD=/bin/true modules_install >/dev/null
	rm -f "$root/lib/modules/$kver/build" "$root/lib/modules/$kver/source"
	echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
	(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$BASE/base.cpio.gz.tmp"
	mv "$BASE/base.cpio.gz.tmp" "$BASE/base.cpio.gz"
fi

# Overlay: scst-rs modules, modules.dep over both sets, init and tests.
ov=$OUT/overlay
rm -rf "$ov"
mkdir -p "$ov/lib/modules/$kver/extra" "$ov/tests"
# Exactly the modules of the last build (modules.order), never stale copies
# from earlier runs' overlays under build/.
[ -f "$TOP/modules.order" ] || { echo "initramfs: no modules.order: run make first" >&2; exit 1; }
while read -r obj; do
	install -m 0644 "$TOP/${obj%.o}.ko" "$ov/lib/modules/$kver/extra/"
done <"$TOP/modules.order"
# depmod needs the base modules next to ours; use a scratch tree.
dm=$OUT/depmod
rm -rf "$dm"
mkdir -p "$dm/lib/modules"
cp -a "$BASE/root/lib/modules/$kver" "$dm/lib/modules/"
cp -a "$ov/lib/modules/$kver/extra" "$dm/lib/modules/$kver/"
/sbin/depmod -b "$dm" "$kver"
cp "$dm/lib/modules/$kver"/modules.* "$ov/lib/modules/$kver/"
rm -rf "$dm"
# Our own test tools, rebuilt every run like the modules: the hostile
# initiator (tests/iscsi_hostile), plus any shared library the base lacks.
(cd "$TOP" && ${CARGO:-cargo} build --release --quiet -p iscsi_hostile) ||
	{ echo "initramfs: building iscsi-hostile failed" >&2; exit 1; }
bin=${CARGO_TARGET_DIR:-$TOP/target}/release/iscsi-hostile
install -D -m 0755 "$bin" "$ov/usr/bin/iscsi-hostile"
{ ldd "$bin" 2>/dev/null || true; } | awk '/=>/ {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
	[ -n "$lib" ] && [ -e "$lib" ] && [ ! -e "$BASE/root$lib" ] || continue
	install -D -m 0755 "$(readlink -f "$lib")" "$ov$lib"
done
install -m 0755 "$HERE/guest/init" "$ov/init"
install -m 0644 "$HERE/guest/lib.sh" "$ov/tests/lib.sh"
cp -a "$HERE/cases" "$ov/tests/cases"
if [ -n "${SCST_EXTRA_CASES:-}" ]; then cp -a "$SCST_EXTRA_CASES"/. "$ov/tests/cases/"; fi
(cd "$ov" && find . | cpio -o -H newc --quiet) | gzip -1 >"$OUT/overlay.cpio.gz"
cat "$BASE/base.cpio.gz" "$OUT/overlay.cpio.gz" >"$OUT/initrd.img"
