# SPDX-License-Identifier: GPL-2.0
# vcdrom: an empty drive is NOT READY, `change` loads a medium (28/00 unit
# attention, data reads back), PREVENT MEDIUM REMOVAL blocks `change`,
# `change` without a file ejects.
. /tests/lib.sh
P=/proc/scsi_tgt

modprobe scst_vdisk
dd if=/dev/urandom of=/tmp/a.iso bs=2048 count=2048 2>/dev/null
check_cmd "vcdrom open without medium" vcdrom/vcdrom "open cd1"
cmd groups/Default/devices "add cd1 0"
check "modprobe scst_local" modprobe scst_local
h=$(local_host)
S=/dev/$(sg_of "$h:0:0:0")
sg_turs "$S" >/dev/null 2>&1
expect "INQUIRY: CD-ROM, removable" 'PDT=5.*RMB=1\|RMB=1.*PDT=5' sh -c "sg_inq $S | tr '\n' ' '"
expect "empty drive: NOT READY, medium not present" 'not ready\|medium not present' sg_turs -v "$S"
check_cmd "change: load a medium" vcdrom/vcdrom "change cd1 /tmp/a.iso"
expect "after change: UNIT ATTENTION 28/00" 'unit attention\|medium may have changed\|not ready to ready' sg_turs -v "$S"
check "then ready" sg_turs "$S"
expect "READ CAPACITY: 2048 blocks of 2048 bytes" 'Last LBA=2047.*2048 bytes\|2048 bytes.*Last LBA=2047' sh -c "sg_readcap $S | tr '\n' ' '"
check "read the medium through sg" sg_dd if="$S" of=/tmp/a.back bs=2048 count=2048
check "the medium reads back" cmp /tmp/a.iso /tmp/a.back
check "PREVENT MEDIUM REMOVAL" sg_prevent --prevent=1 "$S"
check_fails "change refused while removal is prevented" cmd vcdrom/vcdrom "change cd1"
check "ALLOW MEDIUM REMOVAL" sg_prevent --allow "$S"
check_cmd "change without a file ejects" vcdrom/vcdrom "change cd1"
sg_turs "$S" >/dev/null 2>&1
expect "ejected: NOT READY" 'not ready\|medium not present' sg_turs -v "$S"
check_einval "change: no such device" vcdrom/vcdrom "change nosuch /tmp/a.iso"
check_fails "change: missing file" cmd vcdrom/vcdrom "change cd1 /tmp/missing.iso"
check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
done_case
