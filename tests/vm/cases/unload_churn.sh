# SPDX-License-Identifier: GPL-2.0
# Unloading scst_local while readers open and close its disks in a loop:
# each rmmod either is refused (a disk is open at that moment) or succeeds
# between two opens; in both cases the next modprobe must bring every disk
# back (a host removal racing with opens must leave nothing behind).
. /tests/lib.sh
P=/proc/scsi_tgt

churn() { while :; do dd if=/dev/$1 of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; done; }

modprobe scst_vdisk
cmd vdisk/vdisk "open u0 none NULLIO"
cmd vdisk/vdisk "open u1 none NULLIO"
cmd groups/Default/devices "add u0 0"
cmd groups/Default/devices "add u1 1"
rounds=0 unloaded=0 back=0
while [ $rounds -lt 5 ]; do
	modprobe scst_local
	h=$(local_host)
	A=$(disk_of "$h:0:0:0")
	B=$(disk_of "$h:0:0:1")
	if [ -n "$A" ] && [ -n "$B" ]; then back=$((back + 1)); else
		fail "round $rounds: disks back after modprobe" "host '$h': '$A' '$B'"
		dmesg | tail -n 30
	fi
	churn "$A" &
	c1=$!
	churn "$B" &
	c2=$!
	sleep 1
	i=0
	while [ $i -lt 50 ]; do
		rmmod scst_local 2>/dev/null && { unloaded=$((unloaded + 1)); break; }
		i=$((i + 1))
	done
	kill $c1 $c2 2>/dev/null
	wait 2>/dev/null
	while pidof dd >/dev/null; do sleep 0.2; done
	lsmod | grep -q '^scst_local' && rmmod scst_local
	rounds=$((rounds + 1))
done
check_eq "the disks came back after every modprobe" $rounds $back
pass "rmmod scst_local succeeded under open/close churn in $unloaded of $rounds rounds"
check "rmmod scst_vdisk scst_core" rmmod scst_vdisk scst_core
done_case
