# SPDX-License-Identifier: GPL-2.0
# The reusing buffer cache (/proc/scsi_tgt/sgv): data buffers of ended
# commands serve later ones (hits), idle buffers stay within the cache
# limit, a reused buffer never shows another command's data, and the
# memory shrinker (drop_caches) gives the idle buffers back.
. /tests/lib.sh
P=/proc/scsi_tgt

sgv() { awk -v k="$1" 'index($0, k) == 1 {print $NF}' $P/sgv; }

modprobe scst_vdisk
dd if=/dev/zero of=/tmp/c.img bs=1M count=32 2>/dev/null
cmd vdisk/vdisk "open c1 /tmp/c.img"
cmd vdisk/vdisk "open c0 none NULLIO"
cmd groups/Default/devices "add c1 0"
cmd groups/Default/devices "add c0 1"
check "modprobe scst_local" modprobe scst_local
h=$(local_host)
A=$(disk_of "$h:0:0:0")
N=$(disk_of "$h:0:0:1")
check "both disks are present" test -n "$A" -a -n "$N"
cat $P/sgv
h0=$(sgv "cache hits")
check "fio 64 KiB random writes and reads with verify" fio --name=c --filename=/dev/$A --direct=1 \
	--ioengine=libaio --iodepth=8 --rw=randrw --bs=64k --size=16M --verify=crc32c \
	--do_verify=1 --verify_fatal=1 --output=/tmp/fio.c
check_grep "fio verified" 'err= 0' /tmp/fio.c
cat $P/sgv
check "buffers were reused ($(sgv "cache hits") hits, $(sgv "cache misses") misses)" \
	test "$(sgv "cache hits")" -gt $((h0 + 100))
check "the cache keeps idle buffers ($(sgv "cache idle bytes") bytes)" test "$(sgv "cache idle bytes")" -gt 0
check "idle buffers within the cache limit" test "$(sgv "cache idle bytes")" -le "$(sgv "cache limit")"
check_eq "nothing is in use by commands" 0 "$(sgv "in use")"

# Fill the smallest class with buffers that held 0xAB data: responses
# built into reused buffers (INQUIRY, VPD pages) must not change (every
# buffer is handed out zeroed; builders that leave bytes unwritten rely
# on it).
S=/dev/$(sg_of "$h:0:0:0")
inq() { sg_inq -H --len=255 "$S"; sg_vpd -H -p di "$S"; sg_vpd -H -p bl "$S"; }
inq >/tmp/inq.before 2>&1
check "INQUIRY and VPD pages answered" test -s /tmp/inq.before
tr '\000' '\253' </dev/zero | dd of=/tmp/ab bs=4k count=256 2>/dev/null
check "write 0xAB in 4 KiB blocks" dd if=/tmp/ab of=/dev/$A bs=4k count=256 oflag=direct
inq >/tmp/inq.after 2>&1
check "INQUIRY and VPD pages are the same from reused buffers" cmp /tmp/inq.before /tmp/inq.after

echo 2 >/proc/sys/vm/drop_caches
cat $P/sgv
check_eq "the shrinker freed the idle buffers" 0 "$(sgv "cache idle bytes")"
check "the shrinker counted them ($(sgv "cache buffers freed"))" test "$(sgv "cache buffers freed")" -gt 0
check "I/O goes on after shrinking" dd if=/dev/$A of=/dev/null bs=64k count=64 iflag=direct

check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
done_case
