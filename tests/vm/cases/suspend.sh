# SPDX-License-Identifier: GPL-2.0
# Configuration changes are atomic with respect to I/O: a change written
# to /proc/scsi_tgt waits until the commands executing have finished, and
# commands arriving meanwhile wait until it is done, then run.
#
# A READ through a BLOCKIO LUN on a scsi_debug disk that takes 3 s per
# command is executing when `del` removes the LUN: the del returns only
# after the READ (which succeeds), and a TEST UNIT READY sent on another
# session during the del completes only after it. A change that cannot
# quiesce within a minute fails with EBUSY and changes nothing.
. /tests/lib.sh
P=/proc/scsi_tgt
SD=/sys/bus/pseudo/drivers/scsi_debug

# Centiseconds since boot.
now() { awk '{print int($1 * 100)}' /proc/uptime; }

check "modprobe scsi_debug" modprobe scsi_debug dev_size_mb=8
sdev=$(ls -d $SD/adapter*/host*/target*/*:*:*:* 2>/dev/null | head -n 1 | xargs -r basename)
D=$(disk_of "${sdev:-none}")
check "the scsi_debug disk is present" test -n "$D"
modprobe scst_vdisk
check_cmd "BLOCKIO on the scsi_debug disk" vdisk/vdisk "open sd1 /dev/$D BLOCKIO"
cmd vdisk/vdisk "open n1 none NULLIO"
cmd groups/Default/devices "add sd1 0"
cmd scsi_tgt "add_group G2"
cmd groups/G2/names "add h2"
cmd groups/G2/devices "add n1 0"
check "modprobe scst_local" modprobe scst_local
check_cmd "add_session h2" scst_local/scst_local "add_session h2"
A=/dev/$(sg_of "$(local_host):0:0:0")
B=/dev/$(sg_of "$(local_host h2):0:0:0")
check "both sessions see their LUN" test -c "$A" -a -c "$B"
clear_ua "$A" "$B"

check "scsi_debug: 3 s per command" sh -c "echo 750 >$SD/delay"
rm -f /tmp/r.rc /tmp/r.t /tmp/t.rc /tmp/t.t
(
	sg_dd if="$A" of=/dev/null bs=512 count=8 >/dev/null 2>&1
	echo $? >/tmp/r.rc
	now >/tmp/r.t
) &
rpid=$!
sleep 0.5
(
	sleep 0.5
	sg_turs "$B" >/dev/null 2>&1
	echo $? >/tmp/t.rc
	now >/tmp/t.t
) &
tpid=$!
check "the READ is still executing" kill -0 $rpid
t0=$(now)
check_cmd "del the LUN the READ executes on" groups/Default/devices "del sd1"
t1=$(now)
wait $rpid $tpid
echo 0 >$SD/delay
check_eq "the READ succeeded" 0 "$(cat /tmp/r.rc 2>/dev/null)"
# The READ had about 2.5 s left when the del began.
check "the del waited for the READ ($((t1 - t0)) cs)" test $((t1 - t0)) -ge 150
check "the READ was over when the del returned" test "$(cat /tmp/r.t)" -le $((t1 + 5))
check_eq "the TEST UNIT READY during the del succeeded" 0 "$(cat /tmp/t.rc 2>/dev/null)"
check "the TEST UNIT READY waited for the del ($(($(cat /tmp/t.t) - t0)) cs after it began)" \
	test $(($(cat /tmp/t.t) - t0)) -ge 100
check "the LUN is gone" sh -c "! grep -q '^sd1 ' $P/groups/Default/devices"
check "I/O goes on after the change" sg_turs "$B"

# A change that cannot quiesce: a READ that takes 66 s (the disk's own
# time-out raised so that it is not aborted) is still executing when the
# change has waited a minute: the write fails with EBUSY, is logged, and
# changes nothing; the READ still succeeds.
check_cmd "map the LUN again" groups/Default/devices "add sd1 0"
clear_ua "$A"
echo 120 >/sys/block/$D/device/timeout
check "scsi_debug: 66 s per command" sh -c "echo $((66 * 250)) >$SD/delay"
rm -f /tmp/r2.rc
(
	sg_raw -t 120 -r 4096 "$A" 28 00 00 00 00 00 00 00 08 00 >/dev/null 2>&1
	echo $? >/tmp/r2.rc
) &
rpid=$!
sleep 1
t0=$(now)
out=$(cmd groups/Default/devices "del sd1" 2>&1)
rc=$?
t1=$(now)
check "a change that cannot quiesce fails" test $rc -ne 0
expect "with EBUSY" 'busy' echo "$out"
check "after a minute of waiting ($((t1 - t0)) cs)" test $((t1 - t0)) -ge 5900
check "the LUN is still mapped" grep -q '^sd1 ' $P/groups/Default/devices
expect "the refusal is logged" 'commands still executing after 60 s' dmesg
wait $rpid
echo 0 >$SD/delay
check_eq "the long READ succeeded" 0 "$(cat /tmp/r2.rc 2>/dev/null)"
check "the LUN works after the refused change" sg_turs "$A"

check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
check "rmmod scsi_debug" rmmod scsi_debug
done_case
