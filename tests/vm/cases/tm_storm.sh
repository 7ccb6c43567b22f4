# SPDX-License-Identifier: GPL-2.0
# Task management under load: two initiators (scst_local sessions) write
# and verify one LUN with fio while a loop sends LOGICAL UNIT RESETs and
# TARGET RESETs (through the midlayer's reset ioctl) from both sides. The
# resets abort the tasks of every session on the device; the aborted
# commands are retried by the midlayer, so afterwards the data verifies,
# both paths still work, the kernel log is clean and the modules unload.
. /tests/lib.sh
P=/proc/scsi_tgt

modprobe scst_vdisk
dd if=/dev/zero of=/tmp/s.img bs=1M count=64 2>/dev/null
cmd vdisk/vdisk "open s1 /tmp/s.img"
cmd groups/Default/devices "add s1 0"
check "modprobe scst_local" modprobe scst_local
check_cmd "second session" scst_local/scst_local "add_session iqn.2026-12.test:storm"
ha=$(local_host)
hb=$(local_host iqn.2026-12.test:storm)
A=$(disk_of "$ha:0:0:0")
B=$(disk_of "$hb:0:0:0")
SA=/dev/$(sg_of "$ha:0:0:0")
SB=/dev/$(sg_of "$hb:0:0:0")
check "both sessions see the LUN" test -n "$A" -a -n "$B"
dmesg -c >/dev/null

# Each initiator writes its own half of the LU, with checksums.
fio --name=a --thread --filename=/dev/$A --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bs=4k --size=16M --offset=0 --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --output=/tmp/fio.a &
fa=$!
fio --name=b --thread --filename=/dev/$B --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bs=4k --size=16M --offset=32M --verify=crc32c --do_verify=1 \
	--verify_fatal=1 --output=/tmp/fio.b &
fb=$!

resets=0 failed=0
i=0
while [ $i -lt 12 ]; do
	sleep 0.5
	case $((i % 4)) in
	0) sg_reset -d "$SA" >/dev/null 2>&1 || failed=$((failed + 1)) ;;
	1) sg_reset -d "$SB" >/dev/null 2>&1 || failed=$((failed + 1)) ;;
	2) sg_reset -t "$SB" >/dev/null 2>&1 || failed=$((failed + 1)) ;;
	3) sg_reset -t "$SA" >/dev/null 2>&1 || failed=$((failed + 1)) ;;
	esac
	resets=$((resets + 1))
	i=$((i + 1))
done
wait $fa
ra=$?
wait $fb
rb=$?
check_eq "every reset succeeded" 0 "$failed"
check_eq "fio on A finished without error" 0 "$ra"
check_eq "fio on B finished without error" 0 "$rb"
check_grep "fio A verified" 'err= 0' /tmp/fio.a
check_grep "fio B verified" 'err= 0' /tmp/fio.b
dmesg >/tmp/storm.log
n=$(grep -c 'LUN reset of device s1\|target reset of device s1' /tmp/storm.log)
check "the core saw every reset ($n of $resets)" test "$n" -ge "$resets"
aborted=$(sed -n 's/.*reset of device s1: \([0-9]*\) tasks aborted.*/\1/p' /tmp/storm.log |
	awk '{s += $1} END {print s + 0}')
echo "tm_storm: $resets resets aborted $aborted tasks"

# Both paths still work, and nothing was left in the core.
expect_not "A still works" 'error\|fail' sg_turs "$SA"
expect_not "B still works" 'error\|fail' sg_turs "$SB"
check "A reads" dd if=/dev/$A of=/dev/null bs=64k count=16 iflag=direct
check "B reads" dd if=/dev/$B of=/dev/null bs=64k count=16 iflag=direct
check_cmd "close B's session" scst_local/scst_local "del_session iqn.2026-12.test:storm"
check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
done_case
