# SPDX-License-Identifier: GPL-2.0
# scst_core and scst_vdisk: load, /proc/scsi_tgt, dependency, unload, cycles.
. /tests/lib.sh

check "insmod scst_core" insmod $MODDIR/scst_core.ko
check "/proc/scsi_tgt exists" test -d /proc/scsi_tgt
check_eq "version reports 0.1.0" "0.1.0" "$(head -n 1 /proc/scsi_tgt/version)"
check_grep "help documents add_group" 'add_group GROUP' /proc/scsi_tgt/help
check_grep "help documents groups/GROUP/devices" 'groups/GROUP/devices' /proc/scsi_tgt/help
check_fails "version is read-only" sh -c 'echo x >/proc/scsi_tgt/version'

check "insmod scst_vdisk" insmod $MODDIR/scst_vdisk.ko
check_eq "vdisk handler type" "0 - Direct-access device (e.g., magnetic disk)" "$(cat /proc/scsi_tgt/vdisk/type)"
check_eq "vcdrom handler type" "5 - CD-ROM device" "$(cat /proc/scsi_tgt/vcdrom/type)"
check_grep "scst_vdisk holds scst_core" 'scst_vdisk' /proc/modules
check_eq "scst_core use count is 1" "1" "$(awk '$1=="scst_core" {print $3}' /proc/modules)"

check_fails "rmmod scst_core refused while scst_vdisk uses it" rmmod scst_core
check "/proc/scsi_tgt survives the refused unload" test -f /proc/scsi_tgt/version
check_fails "double registration of vdisk refused" insmod $MODDIR/scst_vdisk.ko

check "rmmod scst_vdisk" rmmod scst_vdisk
check "vdisk directory removed" test ! -e /proc/scsi_tgt/vdisk
check "rmmod scst_core" rmmod scst_core
check "/proc/scsi_tgt removed" test ! -e /proc/scsi_tgt

# A reader holding the file open across unload must not crash the kernel.
insmod $MODDIR/scst_core.ko
exec 3</proc/scsi_tgt/help
rmmod scst_core
check_fails "read after unload fails cleanly" cat <&3
exec 3<&-

ok=0
i=0
while [ $i -lt 20 ]; do
	insmod $MODDIR/scst_core.ko && insmod $MODDIR/scst_vdisk.ko &&
		[ "$(head -n 1 /proc/scsi_tgt/version)" = 0.1.0 ] &&
		[ -f /proc/scsi_tgt/vcdrom/type ] &&
		rmmod scst_vdisk && rmmod scst_core && [ ! -e /proc/scsi_tgt ] && ok=$((ok + 1))
	i=$((i + 1))
done
check_eq "20 load/unload cycles" 20 $ok

check "modprobe scst_vdisk pulls in scst_core" modprobe scst_vdisk
check "modprobe -r scst_vdisk scst_core" modprobe -r scst_vdisk scst_core
done_case
