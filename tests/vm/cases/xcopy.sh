# SPDX-License-Identifier: GPL-2.0
# EXTENDED COPY through scst_local with sg3_utils' sg_xcopy: between two
# LUs and within one (overlapping, backwards), refused towards a read-only
# LU and beyond the end, with RECEIVE COPY RESULTS and the Third-party Copy
# VPD page.
. /tests/lib.sh
P=/proc/scsi_tgt

modprobe scst_vdisk
dd if=/dev/urandom of=/tmp/x1.img bs=1M count=8 2>/dev/null
dd if=/dev/zero of=/tmp/x2.img bs=1M count=8 2>/dev/null
check_cmd "open x1" vdisk/vdisk "open x1 /tmp/x1.img"
check_cmd "open x2" vdisk/vdisk "open x2 /tmp/x2.img"
cmd groups/Default/devices "add x1 0"
cmd groups/Default/devices "add x2 1"
check "modprobe scst_local" modprobe scst_local
h=$(local_host)
A=/dev/$(sg_of "$h:0:0:0")
B=/dev/$(sg_of "$h:0:0:1")
clear_ua "$A" "$B"

expect "INQUIRY: 3PC is set" '3PC=1' sg_inq "$A"
expect "VPD 0x8F: Third-party Copy page" 'third party copy' sg_vpd --page=0x8f "$A"
expect "RECEIVE COPY RESULTS: operating parameters" 'maximum target descriptor count: 8\|Maximum CSCD descriptor count: 8' \
	sg_copy_results --params "$A"

# x1 blocks 0..4095 -> x2 blocks 2048..6143, in 128-block EXTENDED COPYs.
check "sg_xcopy 2 MiB from x1 to x2" sg_xcopy if="$A" of="$B" bs=512 count=4096 skip=0 seek=2048
dd if=/tmp/x1.img of=/tmp/want bs=512 count=4096 2>/dev/null
dd if=/tmp/x2.img of=/tmp/got bs=512 skip=2048 count=4096 2>/dev/null
check "x2 holds x1's blocks" cmp /tmp/want /tmp/got
dd if=/tmp/x2.img of=/tmp/got bs=512 count=2048 2>/dev/null
dd if=/dev/zero of=/tmp/zero bs=512 count=2048 2>/dev/null
check "nothing else changed on x2" cmp /tmp/zero /tmp/got
expect "RECEIVE COPY RESULTS: copy status of list 1" 'completed without errors\|operation completed' \
	sg_copy_results --status --list_id=1 "$A"

# Within x1, overlapping: blocks 0..3999 -> 100..4099 in one command of
# two 1 MiB chunks (copied backwards, so no source block is overwritten
# before it is read).
dd if=/tmp/x1.img of=/tmp/want bs=512 count=4000 2>/dev/null
check "sg_xcopy within x1, overlapping upwards" sg_xcopy if="$A" of="$A" bs=512 count=4000 skip=0 seek=100 bpt=4000
dd if=/tmp/x1.img of=/tmp/got bs=512 skip=100 count=4000 2>/dev/null
check "the overlapping copy is exact" cmp /tmp/want /tmp/got

# Refusals.
check_cmd "map x2 read-only at LUN 2" groups/Default/devices "add x2 2 READ_ONLY"
R=/dev/$(sg_of "$h:0:0:2")
clear_ua "$R"; sg_turs "$A" >/dev/null 2>&1
check_fails "sg_xcopy to a read-only LU fails" sg_xcopy if="$A" of="$R" bs=512 count=128
check_fails "sg_xcopy beyond the end of x2 fails" sg_xcopy if="$A" of="$B" bs=512 count=128 seek=16380
dd if=/tmp/x2.img of=/tmp/got bs=512 skip=16256 count=128 2>/dev/null
dd if=/dev/zero of=/tmp/zero bs=512 count=128 2>/dev/null
check "the refused copy wrote nothing" cmp /tmp/zero /tmp/got
check "the LU still works" sg_turs "$A"

check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
done_case
