# SPDX-License-Identifier: GPL-2.0
# Idle core threads (command, task management, management) must not look
# hung: with the hung-task detector at 3 s, a loaded but idle scst-rs sits
# for 12 s; any "blocked for more than" report fails the run (report.sh),
# and this case checks the log itself too.
. /tests/lib.sh
T=/proc/sys/kernel/hung_task_timeout_secs
old=$(cat $T)
echo 3 >$T
modprobe scst_vdisk
cmd vdisk/vdisk "open i0 none NULLIO"
cmd groups/Default/devices "add i0 0"
check "modprobe scst_local" modprobe scst_local
S=/dev/$(sg_of "$(local_host):0:0:0")
clear_ua "$S"
check "a command runs" sg_turs "$S"
check "a LUN reset runs" sg_reset -d "$S"
sleep 12
echo "$old" >$T
check "no hung-task report for idle scst-rs threads" sh -c '! dmesg | grep -q "scst.* blocked for more than"'
check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
done_case
