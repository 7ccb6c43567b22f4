# SPDX-License-Identifier: GPL-2.0
# Configuration changes and teardown under I/O: LUN map changes, closing a
# device, removing sessions and unloading scst_local or scst_vdisk while
# readers run. Everything must drain cleanly (the harness fails the run on
# any kernel splat or hang).
. /tests/lib.sh
P=/proc/scsi_tgt

# reader DEV: reads DEV with O_DIRECT in a loop until killed.
reader() { while :; do dd if=/dev/$1 of=/dev/null bs=64k count=32 iflag=direct 2>/dev/null; done; }
# writer DEV: writes DEV with O_DIRECT in a loop until killed.
writer() { while :; do dd if=/dev/zero of=/dev/$1 bs=64k count=32 oflag=direct 2>/dev/null; done; }

# stop_io PID...: stops the loops and waits for their last dd to finish.
stop_io() {
	kill "$@" 2>/dev/null
	wait 2>/dev/null
	local i=0
	while pidof dd >/dev/null && [ $i -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
}

start() {
	modprobe scst_local
	h=$(local_host)
	A=$(disk_of "$h:0:0:0")
	B=$(disk_of "$h:0:0:1")
}

modprobe scst_vdisk
dd if=/dev/zero of=/tmp/d1.img bs=1M count=32 2>/dev/null
cmd vdisk/vdisk "open d1 /tmp/d1.img"
cmd vdisk/vdisk "open n1 none NULLIO"
cmd vdisk/vdisk "open n2 none NULLIO"
cmd groups/Default/devices "add d1 0"
cmd groups/Default/devices "add n1 1"
start
check "both disks present" test -n "$A" -a -n "$B"
reader "$A" &
r1=$!
writer "$A" &
w1=$!
reader "$B" &
r2=$!
# The reader loop closes B between its dd runs; this keeps it open.
sleep 3600 <"/dev/$B" &
hold=$!
sleep 2

# LUN map and group changes while I/O runs.
ok=0
i=0
while [ $i -lt 10 ]; do
	cmd groups/Default/devices "add n2 5" && cmd scsi_tgt "add_group io$i" &&
		cmd groups/io$i/devices "add n2 0" && cmd groups/Default/devices "del n2" &&
		cmd scsi_tgt "del_group io$i" && ok=$((ok + 1))
	i=$((i + 1))
done
check_eq "10 configuration rounds under I/O" 10 $ok
check_cmd "threads: resize to 1 under I/O" threads "1"
check_cmd "threads: resize to 4 under I/O" threads "4"
check_eq "4 command threads" 4 "$(cat $P/threads)"

check_cmd "close d1 while it is read and written" vdisk/vdisk "close d1"
check_no_grep "d1 is gone" '^d1 ' $P/scsi_tgt
sleep 2
# A session removed under I/O: its host goes away, its readers get errors.
check_cmd "add_session h2" scst_local/scst_local "add_session h2"
h2=$(awk '$1 == "h2" {print $2}' $P/scst_local/scst_local)
C=$(disk_of "$h2:0:0:1")
check "h2 sees n1" test -n "$C"
reader "$C" &
r4=$!
sleep 2
check_cmd "del_session h2 while its disk is read" scst_local/scst_local "del_session h2"
check "h2's disks are gone" sh -c "! ls -d /sys/bus/scsi/devices/$h2:0:0:* >/dev/null 2>&1"
# Linux refuses to unload a SCSI host driver whose disks are open.
check_fails "rmmod scst_local refused while its disks are open" rmmod scst_local
stop_io $r1 $w1 $r2 $r4 $hold
check "rmmod scst_local once the disks are closed" rmmod scst_local
check "no scst_local disks remain" sh -c "! ls -d /sys/bus/scsi/devices/$h:0:0:* >/dev/null 2>&1"

# Unloading the device handler under I/O.
start
check "n1 present again (LUN 1; d1 at LUN 0 was closed)" test -n "$B"
reader "$B" &
r3=$!
sleep 2
check_fails "rmmod scst_core refused while modules use it" rmmod scst_core
check "rmmod scst_vdisk while its device is read" rmmod scst_vdisk
stop_io $r3
check_no_grep "no devices left" 'n1' $P/scsi_tgt
check "rmmod scst_local" rmmod scst_local
check "rmmod scst_core" rmmod scst_core
done_case
