# SPDX-License-Identifier: GPL-2.0
# Pass-through (scst_disk, handler dev_disk): a real SCSI disk of the
# midlayer (scsi_debug) assigned with `assign H:C:I:L dev_disk`, mapped by
# its address, used through scst_local: the initiator sees the real disk's
# INQUIRY data, its data (both ways between the scst-rs LUN and the disk's
# own /dev/sdX), its CHECK CONDITIONs; the core's own parts (REPORT LUNS,
# reservations) still apply; the disk's driver stays loaded while it is
# assigned, and unloading scst_disk detaches it.
. /tests/lib.sh
P=/proc/scsi_tgt
SD=/sys/bus/pseudo/drivers/scsi_debug

check "modprobe scsi_debug" modprobe scsi_debug dev_size_mb=16
hctl=$(ls -d $SD/adapter*/host*/target*/*:*:*:* 2>/dev/null | head -n 1 | xargs -r basename)
D=$(disk_of "${hctl:-none}")
check "the scsi_debug disk is present ($hctl, $D)" test -n "$D" -a -n "$hctl"
modprobe scst_vdisk
check "modprobe scst_disk" modprobe scst_disk
check_grep "dev_disk is a disk handler" '^0 - ' $P/dev_disk/type
check_einval "assign: no such SCSI device" scsi_tgt "assign 250:0:0:0 dev_disk"
check_einval "assign: not a pass-through handler" scsi_tgt "assign $hctl vdisk"
check_einval "assign: no such handler" scsi_tgt "assign $hctl dev_tape"
check_einval "add before assign" groups/Default/devices "add $hctl 0"
check_cmd "assign $hctl dev_disk" scsi_tgt "assign $hctl dev_disk"
check_fails "assign twice" cmd scsi_tgt "assign $hctl dev_disk"
expect "listed with 32768 blocks of 512 bytes" "^$hctl  *32768  *512" cat $P/dev_disk/dev_disk
check_grep "listed among the devices" "^$hctl .*dev_disk" $P/scsi_tgt
check_fails "scsi_debug stays loaded while assigned" rmmod scsi_debug
check_cmd "map it by its address" groups/Default/devices "add $hctl 0"

check "modprobe scst_local" modprobe scst_local
h=$(local_host)
S=/dev/$(sg_of "$h:0:0:0")
A=$(disk_of "$h:0:0:0")
check "the LUN is present ($A)" test -n "$A" -a -c "$S"
clear_ua "$S"
expect "INQUIRY is the real disk's" 'Product identification: *scsi_debug' sg_inq "$S"
expect "READ CAPACITY: 32768 blocks" 'Last LBA=32767' sg_readcap "$S"
expect "REPORT LUNS is the core's" 'lun=0\|LUN 0\|0000000000000000' sg_luns "$S"

dd if=/dev/urandom of=/tmp/p1 bs=1M count=2 2>/dev/null
check "write through scst-rs" dd if=/tmp/p1 of=/dev/$A bs=64k oflag=direct
check "read it on the disk itself" dd if=/dev/$D of=/tmp/p1.back bs=64k count=32 iflag=direct
check "the disk holds what scst-rs wrote" cmp /tmp/p1 /tmp/p1.back
dd if=/dev/urandom of=/tmp/p2 bs=1M count=2 2>/dev/null
check "write on the disk itself" dd if=/tmp/p2 of=/dev/$D bs=64k seek=64 oflag=direct
check "read it through scst-rs" dd if=/dev/$A of=/tmp/p2.back bs=64k skip=64 count=32 iflag=direct
check "scst-rs reads what the disk holds" cmp /tmp/p2 /tmp/p2.back
check "fio 4 KiB random writes at QD8 with verify" fio --name=p --filename=/dev/$A --direct=1 \
	--ioengine=libaio --iodepth=8 --rw=randwrite --bs=4k --size=8M --verify=crc32c \
	--do_verify=1 --verify_fatal=1 --output=/tmp/fio.p
check_grep "fio verified" 'err= 0' /tmp/fio.p
# READ(10) beyond the end: the disk's own CHECK CONDITION comes back.
expect "the disk's LBA OUT OF RANGE comes back" 'Illegal Request.*out of range\|out of range' \
	sg_raw -r 512 "$S" 28 00 00 10 00 00 00 00 01 00
check "SYNCHRONIZE CACHE" sg_sync "$S"
# Reservations are the core's: another session of scst-rs conflicts.
check_cmd "add_session h2" scst_local/scst_local "add_session h2"
S2=/dev/$(sg_of "$(local_host h2):0:0:0")
clear_ua "$S2"
check "RESERVE(6)" sg_raw "$S" 16 00 00 00 00 00
expect "the other session gets RESERVATION CONFLICT" 'reservation conflict' sg_turs -v "$S2"
check "RELEASE(6)" sg_raw "$S" 17 00 00 00 00 00
check "then the other session may go on" sg_turs "$S2"

check "rmmod scst_local" rmmod scst_local
check "rmmod scst_disk detaches it" rmmod scst_disk
check "the device is gone" sh -c "! grep -q '^$hctl ' $P/scsi_tgt"
check "rmmod scst_vdisk scst_core" rmmod scst_vdisk scst_core
check "rmmod scsi_debug" rmmod scsi_debug
done_case
