# SPDX-License-Identifier: GPL-2.0
# scst_local end to end: vdisk LUNs configured through /proc/scsi_tgt appear
# as local SCSI disks; data written through /dev/sdX lands in the backing
# file; sg3_utils see the emulated INQUIRY, capacity and mode pages.
. /tests/lib.sh
P=/proc/scsi_tgt

check "modprobe scst_vdisk" modprobe scst_vdisk
dd if=/dev/urandom of=/tmp/d1.img bs=1M count=32 2>/dev/null
check_cmd "open FILEIO disk d1" vdisk/vdisk "open d1 /tmp/d1.img"
check_cmd "open NULLIO disk n1 4096" vdisk/vdisk "open n1 none 4096 NULLIO"
check_cmd "map d1 at LUN 0 of Default" groups/Default/devices "add d1 0"
check_cmd "map n1 at LUN 1 of Default, read-only" groups/Default/devices "add n1 1 READ_ONLY"
check "modprobe scst_local" modprobe scst_local
check_grep "session scst_local_host listed" 'scst_local_tgt *scst_local_host *Default' $P/sessions
host=$(local_host)
check "scst_local reports the session's SCSI host" test -n "$host"
sda=$(disk_of "$host:0:0:0")
check "LUN 0 appears as a disk" test -n "$sda"
sdb=$(disk_of "$host:0:0:1")
check "LUN 1 appears as a disk" test -n "$sdb"
sg0=$(sg_of "$host:0:0:0")

check_grep "INQUIRY vendor SCST_FIO" 'SCST_FIO' /sys/bus/scsi/devices/$host:0:0:0/vendor
check_grep "INQUIRY product is the device name" '^d1' /sys/bus/scsi/devices/$host:0:0:0/model
check_grep "NULLIO vendor SCST_NIO" 'SCST_NIO' /sys/bus/scsi/devices/$host:0:0:1/vendor
check_eq "sd sees 32 MiB (65536 sectors)" 65536 "$(cat /sys/block/$sda/size)"
check_eq "sd sees 4096-byte blocks on n1" 4096 "$(cat /sys/block/$sdb/queue/logical_block_size)"
check_eq "read-only LUN is read-only for sd" 1 "$(cat /sys/block/$sdb/ro)"

out=$(sg_inq /dev/$sg0 2>&1)
echo "$out" | grep -q 'Vendor identification: SCST_FIO' && pass "sg_inq: vendor" || fail "sg_inq: vendor" "$out"
out=$(sg_vpd --page=0x80 /dev/$sg0 2>&1)
echo "$out" | grep -qi 'serial number' && pass "sg_vpd: unit serial page" || fail "sg_vpd: unit serial page" "$out"
out=$(sg_vpd --page=0x83 /dev/$sg0 2>&1)
echo "$out" | grep -qi 'vendor specific' && pass "sg_vpd: device identification page" || fail "sg_vpd: device identification page" "$out"
out=$(sg_readcap --16 /dev/$sg0 2>&1)
echo "$out" | grep -q 'Last LBA=65535' && pass "sg_readcap -l: last LBA" || fail "sg_readcap -l: last LBA" "$out"
out=$(sg_luns /dev/$sg0 2>&1)
echo "$out" | grep -q 'Lun list length = 16' && pass "sg_luns: two LUNs" || fail "sg_luns: two LUNs" "$out"
check "sg_modes: all pages" sg_modes -a /dev/$sg0
check "sg_turs" sg_turs /dev/$sg0
check "sg_sync" sg_sync /dev/$sg0
check "sg_opcodes" sg_opcodes /dev/$sg0

# Data integrity: write a pattern through the disk, read it back, and find
# it in the backing file at the same offset.
dd if=/dev/urandom of=/tmp/pat bs=64k count=16 2>/dev/null
check "write 1 MiB at 4 MiB with O_DIRECT" dd if=/tmp/pat of=/dev/$sda bs=64k seek=64 oflag=direct conv=fsync
check "read it back with O_DIRECT" dd if=/dev/$sda of=/tmp/back bs=64k skip=64 count=16 iflag=direct
check "read-back equals the pattern" cmp /tmp/pat /tmp/back
dd if=/tmp/d1.img of=/tmp/file bs=64k skip=64 count=16 2>/dev/null
check "the backing file holds the pattern" cmp /tmp/pat /tmp/file
dd if=/tmp/d1.img of=/tmp/head bs=64k count=1 2>/dev/null
dd if=/dev/$sda of=/tmp/head2 bs=64k count=1 iflag=direct 2>/dev/null
check "data written before export reads back" cmp /tmp/head /tmp/head2
check_fails "writing the read-only LUN fails" dd if=/tmp/pat of=/dev/$sdb bs=4k count=1 oflag=direct
out=$(sg_raw "/dev/$(sg_of "$host:0:0:1")" 2a 00 00 00 00 00 00 00 00 00 2>&1)
echo "$out" | grep -qi 'good' && pass "WRITE(10) of no blocks to the read-only LUN is GOOD" ||
	fail "WRITE(10) of no blocks to the read-only LUN is GOOD" "$out"
out=$(sg_raw "/dev/$(sg_of "$host:0:0:1")" 2a 00 00 00 00 00 00 00 01 00 -s 4096 -i /tmp/pat 2>&1)
echo "$out" | grep -qi 'data protect\|write protected' && pass "WRITE(10) of one block to the read-only LUN is DATA PROTECT" ||
	fail "WRITE(10) of one block to the read-only LUN is DATA PROTECT" "$out"
check "reading NULLIO works" dd if=/dev/$sdb of=/dev/null bs=64k count=16 iflag=direct

# fio: random writes with checksums, then a verifying read pass.
check "fio randwrite 4 MiB with crc32c verify" fio --name=verify --thread --filename=/dev/$sda \
	--direct=1 --ioengine=psync --rw=randwrite --bs=4k --size=4M --offset=8M \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --output=/tmp/fio.out
check_grep "fio verified without errors" 'err= 0' /tmp/fio.out

# A filesystem on the LUN.
check "mke2fs on the LUN" mke2fs -q -F /dev/$sda
mkdir -p /mnt
check "mount" mount -t ext4 /dev/$sda /mnt
check "write a file" cp /tmp/pat /mnt/pat
check "umount" umount /mnt
check "fsck is clean" e2fsck -f -n /dev/$sda
check "mount again" mount -t ext4 /dev/$sda /mnt
check "the file survived" cmp /tmp/pat /mnt/pat
umount /mnt

# Sessions at runtime.
check_cmd "add_session h2" scst_local/scst_local "add_session h2"
check_grep "second session listed" 'scst_local_tgt *h2 ' $P/sessions
check_einval "add_session: duplicate" scst_local/scst_local "add_session h2"
check_cmd "del_session h2" scst_local/scst_local "del_session h2"
check_no_grep "second session gone" ' h2 ' $P/sessions
check_einval "del_session: no such session" scst_local/scst_local "del_session h2"

check "rmmod scst_local" rmmod scst_local
check "disks are gone" test ! -e /sys/bus/scsi/devices/$host:0:0:0
check "rmmod scst_vdisk" rmmod scst_vdisk
check "rmmod scst_core" rmmod scst_core
done_case
