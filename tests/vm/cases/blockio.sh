# SPDX-License-Identifier: GPL-2.0
# vdisk BLOCKIO: bios straight to a block device (a loop device over a file
# here), bypassing the page cache. Data written through scst_local must be
# on the device at once (read back with O_DIRECT from the loop device, and
# from its file), fio verifies, FUA and SYNCHRONIZE CACHE work, UNMAP on a
# thin BLOCKIO disk zeroes and deallocates, READ_ONLY refuses writes, and
# BLOCKIO of a regular file or with NULLIO is refused. FILEIO with O_DIRECT
# on a block device bypasses the page cache too and verifies under fio.
. /tests/lib.sh
P=/proc/scsi_tgt

modprobe scst_vdisk
dd if=/dev/zero of=/tmp/b.img bs=1M count=64 2>/dev/null
check "losetup /dev/loop0" losetup /dev/loop0 /tmp/b.img
dd if=/dev/zero of=/tmp/r.img bs=1M count=8 2>/dev/null
losetup /dev/loop1 /tmp/r.img
check_einval "BLOCKIO of a regular file is refused" vdisk/vdisk "open bf /tmp/r.img BLOCKIO"
check_einval "BLOCKIO with NULLIO is refused" vdisk/vdisk "open bn /dev/loop1 BLOCKIO NULLIO"
check_cmd "open a BLOCKIO disk on /dev/loop0" vdisk/vdisk "open b1 /dev/loop0 BLOCKIO THIN_PROVISIONED"
check_grep "vdisk table shows BIO" '^b1 .*BIO' $P/vdisk/vdisk
check_cmd "open a read-only BLOCKIO disk" vdisk/vdisk "open b2 /dev/loop1 BLOCKIO READ_ONLY"
cmd groups/Default/devices "add b1 0"
cmd groups/Default/devices "add b2 1"
check "modprobe scst_local" modprobe scst_local
h=$(local_host)
A=$(disk_of "$h:0:0:0")
B=$(disk_of "$h:0:0:1")
SA=/dev/$(sg_of "$h:0:0:0")
check "both disks present" test -n "$A" -a -n "$B"
clear_ua "$SA"
expect "INQUIRY vendor SCST_BIO" 'SCST_BIO' sg_inq "$SA"
expect "READ CAPACITY: 64 MiB" 'Device size: 67108864 bytes' sg_readcap --16 "$SA"

# Writes reach the device itself: no page cache of scst-rs in between.
dd if=/dev/urandom of=/tmp/pat bs=64k count=32 2>/dev/null
check "write 2 MiB at 1 MiB through scst_local" dd if=/tmp/pat of=/dev/$A bs=64k seek=16 count=32 oflag=direct
dd if=/dev/loop0 of=/tmp/back bs=64k skip=16 count=32 iflag=direct 2>/dev/null
check "the loop device holds them (O_DIRECT read)" cmp /tmp/pat /tmp/back
dd if=/dev/$A of=/tmp/back2 bs=64k skip=16 count=32 iflag=direct 2>/dev/null
check "and they read back through scst_local" cmp /tmp/pat /tmp/back2
# Small writes with FUA, from sg_dd.
check "sg_dd 1-block writes" sg_dd if=/tmp/pat of="$SA" bs=512 count=64 seek=8192 oflag=fua
dd if=/dev/loop0 of=/tmp/back3 bs=512 skip=8192 count=64 iflag=direct 2>/dev/null
dd if=/tmp/pat of=/tmp/pat3 bs=512 count=64 2>/dev/null
check "FUA writes are on the device" cmp /tmp/pat3 /tmp/back3
check "SYNCHRONIZE CACHE" sg_sync "$SA"
check "fio randwrite QD16 with verify" fio --name=b --filename=/dev/$A --direct=1 --ioengine=libaio \
	--iodepth=16 --rw=randwrite --bsrange=4k-64k --size=16M --offset=32M --verify=crc32c \
	--do_verify=1 --verify_fatal=1 --output=/tmp/fio.b
check_grep "fio verified" 'err= 0' /tmp/fio.b

# Thin: UNMAP zeroes the range on the device and frees it in the file.
used0=$(du -k /tmp/b.img | cut -f1)
check "UNMAP 1 MiB at 1 MiB" sg_unmap --lba=2048 --num=2048 "$SA"
dd if=/dev/loop0 of=/tmp/back4 bs=64k skip=16 count=16 iflag=direct 2>/dev/null
dd if=/dev/zero of=/tmp/z bs=64k count=16 2>/dev/null
check "unmapped blocks read as zeroes from the device" cmp /tmp/z /tmp/back4
used1=$(du -k /tmp/b.img | cut -f1)
check "the loop device's file shrank ($used0 KiB to $used1 KiB)" test $((used0 - used1)) -ge 1024

expect "read-only BLOCKIO disk refuses writes" 'protect\|Input/output\|Operation not permitted\|read-only' \
	dd if=/tmp/pat of=/dev/$B bs=4k count=1 oflag=direct
check "read-only BLOCKIO disk reads" dd if=/dev/$B of=/dev/null bs=64k count=16 iflag=direct

# FILEIO with O_DIRECT on a block device: no page cache either.
dd if=/dev/zero of=/tmp/d.img bs=1M count=8 2>/dev/null
losetup /dev/loop2 /tmp/d.img
check_einval "O_DIRECT with BLOCKIO is refused" vdisk/vdisk "open bd /dev/loop2 BLOCKIO O_DIRECT"
check_cmd "open an O_DIRECT FILEIO disk on /dev/loop2" vdisk/vdisk "open d1 /dev/loop2 O_DIRECT"
check_grep "vdisk table shows DR" '^d1 .*DR' $P/vdisk/vdisk
cmd groups/Default/devices "add d1 2"
# scst_local does not rescan by itself: a new LUN is found by a host scan.
echo '- - -' >/sys/class/scsi_host/host$h/scan
C=$(disk_of "$h:0:0:2")
check "the O_DIRECT disk appears" test -n "$C"
check "write 1 MiB to the O_DIRECT disk" dd if=/tmp/pat of=/dev/$C bs=64k count=16 oflag=direct
dd if=/dev/loop2 of=/tmp/back5 bs=64k count=16 iflag=direct 2>/dev/null
dd if=/tmp/pat of=/tmp/pat5 bs=64k count=16 2>/dev/null
check "the loop device holds it (O_DIRECT read)" cmp /tmp/pat5 /tmp/back5
check "fio on the O_DIRECT disk with verify" fio --name=d --filename=/dev/$C --direct=1 --ioengine=libaio \
	--iodepth=8 --rw=randwrite --bsrange=512-64k --size=4M --verify=crc32c \
	--do_verify=1 --verify_fatal=1 --output=/tmp/fio.d
check_grep "fio verified on the O_DIRECT disk" 'err= 0' /tmp/fio.d

check "rmmod scst_local" rmmod scst_local
check_cmd "close b1" vdisk/vdisk "close b1"
check_cmd "close b2" vdisk/vdisk "close b2"
check_cmd "close d1" vdisk/vdisk "close d1"
losetup -d /dev/loop0
losetup -d /dev/loop1
losetup -d /dev/loop2
check "rmmod scst_vdisk scst_core" rmmod scst_vdisk scst_core
done_case
