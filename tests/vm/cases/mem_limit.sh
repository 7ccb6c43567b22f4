# SPDX-License-Identifier: GPL-2.0
# scst_max_cmd_mem: the memory commands in flight may hold for their data.
# With the smallest limit (1 MiB) and fio writing 512 KiB blocks at queue
# depth 16 (8 MiB wanted), commands over the limit get TASK SET FULL, the
# initiator retries them, fio verifies, and /proc/scsi_tgt/sgv shows the
# limit, the refusals, a peak within the limit and nothing left in use.
. /tests/lib.sh
P=/proc/scsi_tgt

sgv() { awk -v k="$1" 'index($0, k) == 1 {print $NF}' $P/sgv; }

check "modprobe scst_core (default limit)" modprobe scst_core
ram=$(awk '/^MemTotal:/ {print $2 * 1024}' /proc/meminfo)
lim=$(sgv "limit")
# A quarter of what the kernel manages (MemTotal is the same count).
check "default limit is a quarter of RAM ($lim of $ram bytes)" test $((lim * 4)) -le "$ram" -a $((lim * 4)) -gt $((ram - 4096))
check "rmmod scst_core" rmmod scst_core

check "modprobe scst_core scst_max_cmd_mem=1" modprobe scst_core scst_max_cmd_mem=1
check_eq "the limit is 1 MiB" 1048576 "$(sgv limit)"
modprobe scst_vdisk
dd if=/dev/zero of=/tmp/m.img bs=1M count=128 2>/dev/null
cmd vdisk/vdisk "open m1 /tmp/m.img"
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
done_case
