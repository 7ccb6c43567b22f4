# SPDX-License-Identifier: GPL-2.0
# Thin provisioning on a FILEIO vdisk: UNMAP and WRITE SAME with UNMAP punch
# holes in the backing file, GET LBA STATUS reports them, VPD 0xB2 and READ
# CAPACITY(16) advertise it; a fully provisioned LU refuses UNMAP.
. /tests/lib.sh
P=/proc/scsi_tgt

modprobe scst_vdisk
dd if=/dev/urandom of=/tmp/t.img bs=1M count=16 2>/dev/null
dd if=/dev/zero of=/tmp/f.img bs=1M count=16 2>/dev/null
check_cmd "open a thin FILEIO disk" vdisk/vdisk "open t1 /tmp/t.img THIN_PROVISIONED"
check_grep "vdisk table shows TP" '^t1 .*TP' $P/vdisk/vdisk
check_cmd "open a fully provisioned disk" vdisk/vdisk "open f1 /tmp/f.img"
cmd groups/Default/devices "add t1 0"
cmd groups/Default/devices "add f1 1"
check "modprobe scst_local" modprobe scst_local
h=$(local_host)
T=/dev/$(sg_of "$h:0:0:0")
F=/dev/$(sg_of "$h:0:0:1")
clear_ua "$T" "$F"

expect "VPD 0xB2: LBPU=1" 'LBPU=1\|Unmap command supported (LBPU): 1' sg_vpd --page=0xb2 "$T"
expect "READ CAPACITY(16): LBPME=1" 'lbpme=1\|Logical block provisioning: lbpme=1' sg_readcap --16 "$T"
expect "GET LBA STATUS: mapped before UNMAP" 'mapped\b\|mapped (or unknown)' sg_get_lba_status --lba=0 "$T"
used0=$(du -k /tmp/t.img | cut -f1)
check "UNMAP 4 MiB at LBA 0" sg_unmap --lba=0 --num=8192 "$T"
expect "GET LBA STATUS: deallocated after UNMAP" 'deallocated' sg_get_lba_status --lba=0 "$T"
used1=$(du -k /tmp/t.img | cut -f1)
check "the backing file shrank by 4 MiB" test $((used0 - used1)) -ge 4096
dd if=/dev/zero of=/tmp/z bs=4M count=1 2>/dev/null
dd if=/tmp/t.img of=/tmp/r bs=4M count=1 2>/dev/null
check "unmapped blocks read as zeroes in the file" cmp /tmp/z /tmp/r
check "WRITE SAME(16) with UNMAP, 2 MiB at 8 MiB" sg_write_same --16 --unmap --lba=16384 --num=4096 "$T"
expect "GET LBA STATUS: deallocated after WRITE SAME UNMAP" 'deallocated' sg_get_lba_status --lba=16384 "$T"
expect "GET LBA STATUS: untouched area still mapped" 'mapped' sg_get_lba_status --lba=30000 "$T"
expect "UNMAP refused on a fully provisioned LU" 'illegal request\|invalid\|not supported' sg_unmap --lba=0 --num=8 "$F"
expect "UNMAP beyond the end is LBA OUT OF RANGE" 'out of range\|illegal request' sg_unmap --lba=32760 --num=16 "$T"

check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
done_case
