# SPDX-License-Identifier: GPL-2.0
# scst_max_cmd_mem: the memory commands in flight may hold for their data.
# With the smallest limit (1 MiB) and fio writing 512 KiB blocks at queue
# depth 16 (8 MiB wanted), commands over the limit get TASK SET FULL, the
# initiator retries them, fio verifies, and /proc/scsi_tgt/sgv shows the
# limit, the refusals, a peak within the limit and nothing left in use.
# The LUN is BLOCKIO on a scsi_debug disk that takes 20 ms per command, so
# commands stay in flight long enough for the queue to fill however fast
# or slow the machine is (a RAM-backed LUN finished each command before
# fio sent the next one on a slow CI machine: nothing was refused).
. /tests/lib.sh
P=/proc/scsi_tgt
SD=/sys/bus/pseudo/drivers/scsi_debug

sgv() { awk -v k="$1" 'index($0, k) == 1 {print $NF}' $P/sgv; }

check "modprobe scst_core (default limit)" modprobe scst_core
ram=$(awk '/^MemTotal:/ {print $2 * 1024}' /proc/meminfo)
lim=$(sgv "limit")
# A quarter of what the kernel manages (MemTotal is the same count).
check "default limit is a quarter of RAM ($lim of $ram bytes)" test $((lim * 4)) -le "$ram" -a $((lim * 4)) -gt $((ram - 4096))
check "rmmod scst_core" rmmod scst_core

check "modprobe scst_core scst_max_cmd_mem=1" modprobe scst_core scst_max_cmd_mem=1
check_eq "the limit is 1 MiB" 1048576 "$(sgv limit)"
check "modprobe scsi_debug" modprobe scsi_debug dev_size_mb=80
sdev=$(ls -d $SD/adapter*/host*/target*/*:*:*:* 2>/dev/null | head -n 1 | xargs -r basename)
D=$(disk_of "${sdev:-none}")
check "the scsi_debug disk is present" test -n "$D"
check "scsi_debug: 20 ms per command" sh -c "echo 5 >$SD/delay"
modprobe scst_vdisk
check_cmd "BLOCKIO on the scsi_debug disk" vdisk/vdisk "open m1 /dev/$D BLOCKIO"
cmd groups/Default/devices "add m1 0"
check "modprobe scst_local" modprobe scst_local
A=$(disk_of "$(local_host):0:0:0")
check "the disk is present" test -n "$A"
check "fio 512 KiB writes at QD16 with verify" fio --name=m --filename=/dev/$A --direct=1 \
	--ioengine=libaio --iodepth=16 --rw=write --bs=512k --size=64M --verify=crc32c \
	--do_verify=1 --verify_fatal=1 --output=/tmp/fio.m
check_grep "fio verified" 'err= 0' /tmp/fio.m
cat $P/sgv
check "some commands were refused over the limit ($(sgv "commands refused"))" test "$(sgv "commands refused")" -gt 0
check "the peak stayed within the limit ($(sgv peak))" test "$(sgv peak)" -le 1048576
check_eq "nothing is in use afterwards" 0 "$(sgv "in use")"
check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
echo 0 >$SD/delay
check "rmmod scsi_debug" rmmod scsi_debug
done_case
