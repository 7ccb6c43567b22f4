# SPDX-License-Identifier: GPL-2.0
# /proc/scsi_tgt configuration: groups, names, LUN maps, vdisk/vcdrom devices,
# every command with good and bad arguments, teardown with configuration.
. /tests/lib.sh
P=/proc/scsi_tgt

check "insmod scst_core scst_vdisk" modprobe scst_vdisk
check "Default group exists" test -f $P/groups/Default/devices -a -f $P/groups/Default/names
check_grep "scsi_tgt has its header" 'Device (host:ch:id:lun or name)' $P/scsi_tgt
check_grep "vdisk help" 'open|close' $P/vdisk/help

# --- devices (vdisk, vcdrom) ---
dd if=/dev/zero of=/tmp/d1.img bs=1M count=16 2>/dev/null
check_cmd "vdisk open NULLIO" vdisk/vdisk "open nd1 none NULLIO"
check_cmd "vdisk open FILEIO 4096" vdisk/vdisk "open d1 /tmp/d1.img 4096"
check_cmd "vdisk open FILEIO READ_ONLY WRITE_THROUGH" vdisk/vdisk "open d2 /tmp/d1.img 512 READ_ONLY WRITE_THROUGH"
check_grep "vdisk table lists nd1 as NIO" '^nd1 .*NIO' $P/vdisk/vdisk
check_grep "vdisk table: d1 16 MB, 4096-byte blocks" '^d1  *16  *4096 .*/tmp/d1.img' $P/vdisk/vdisk
check_grep "vdisk table: d2 RO WT" '^d2 .*WT RO' $P/vdisk/vdisk
check_grep "scsi_tgt lists d1 with handler vdisk" '^d1  *vdisk$' $P/scsi_tgt
check_einval "vdisk open: duplicate name" vdisk/vdisk "open d1 /tmp/d1.img"
check_einval "vdisk open: relative path" vdisk/vdisk "open d3 tmp/d1.img"
check_einval "vdisk open: block size not a power of 2" vdisk/vdisk "open d3 /tmp/d1.img 1000"
check_einval "vdisk open: block size above 4096" vdisk/vdisk "open d3 /tmp/d1.img 8192"
check_einval "vdisk open: name longer than 16" vdisk/vdisk "open abcdefghijklmnopq /tmp/d1.img"
check_einval "vdisk open: unknown flag" vdisk/vdisk "open d3 /tmp/d1.img 512 FAST"
check_einval "vdisk open: lower-case flag (vdisk keywords are case-sensitive)" vdisk/vdisk "open d3 /tmp/d1.img 512 read_only"
check_einval "vdisk: unknown action" vdisk/vdisk "frobnicate d1"
check_einval "vdisk close: no such device" vdisk/vdisk "close nosuch"
check_fails "vdisk open: missing file" cmd vdisk/vdisk "open d3 /tmp/nonexistent.img"
check_no_grep "failed opens left no device" '^d3 ' $P/vdisk/vdisk
check_cmd "vcdrom open without medium" vcdrom/vcdrom "open cd1"
check_grep "vcdrom table lists cd1" '^cd1 ' $P/vcdrom/vcdrom
check_grep "scsi_tgt lists cd1 with handler vcdrom" '^cd1  *vcdrom$' $P/scsi_tgt

# --- groups ---
check_cmd "add_group g1" scsi_tgt "add_group g1"
check "groups/g1 has devices and names" test -f $P/groups/g1/devices -a -f $P/groups/g1/names
check_cmd "keywords are case-insensitive" scsi_tgt "ADD_GROUP g2"
check_einval "add_group: existing group" scsi_tgt "add_group g1"
check_einval "add_group Default refused" scsi_tgt "add_group Default"
check_einval "del_group Default refused" scsi_tgt "del_group Default"
check_einval "del_group: no such group" scsi_tgt "del_group nosuch"
check_einval "scsi_tgt: unknown action" scsi_tgt "frobnicate"
check_einval "scsi_tgt: empty command" scsi_tgt ""
check_einval "assign: no such SCSI device" scsi_tgt "assign 9:0:0:0 vdisk"

# --- LUN maps ---
D=groups/g1/devices
check_cmd "devices add nd1 0" $D "add nd1 0"
check_cmd "devices add d1 1 READ_ONLY" $D "add d1 1 READ_ONLY"
check_cmd "devices add with hex LUN" $D "add cd1 0x2"
check_grep "devices table: nd1 at LUN 0" '^nd1  *0 *$' $P/$D
check_grep "devices table: d1 at LUN 1, RO" '^d1  *1  *RO$' $P/$D
check_grep "devices table: cd1 at LUN 2" '^cd1  *2 *$' $P/$D
check_einval "devices add: LUN exists" $D "add d2 1"
check_einval "devices add: no such device" $D "add nosuch 5"
check_einval "devices add: missing LUN" $D "add d2"
check_einval "devices add: LUN out of range" $D "add d2 16384"
check_einval "devices add: bad option" $D "add d2 5 READ_WRITE"
check_einval "devices: unknown action" $D "insert d2 5"
check_cmd "devices del (no LUN)" $D "del cd1"
check_no_grep "cd1 unmapped" '^cd1 ' $P/$D
check_einval "devices del: not mapped" $D "del cd1"
check_cmd "devices replace" $D "replace d2 1"
check_grep "replace put d2 at LUN 1" '^d2  *1 *$' $P/$D
check_cmd "Default group maps d1 at LUN 0 too" groups/Default/devices "add d1 0"

# --- names ---
N=groups/g1/names
check_cmd "names add" $N "add iqn.1993-08.org.debian:01:host1"
check_cmd "names add pattern" $N "add iqn.2024-01.com.example:*"
check_grep "names lists host1" '^iqn.1993-08.org.debian:01:host1$' $P/$N
check_einval "names add: duplicate" $N "add iqn.1993-08.org.debian:01:host1"
check_einval "names del: not present" $N "del iqn.nosuch"
check_cmd "names move to g2" $N "move iqn.1993-08.org.debian:01:host1 g2"
check_grep "moved name is in g2" '^iqn.1993-08.org.debian:01:host1$' $P/groups/g2/names
check_no_grep "moved name left g1" 'host1' $P/$N
check_einval "names move: no such group" $N "move iqn.2024-01.com.example:* nosuch"
check_cmd "names del" $N "del iqn.2024-01.com.example:*"
check_cmd "names clear" groups/g2/names "clear"
check_eq "g2 names empty" "" "$(cat $P/groups/g2/names)"

# --- rename and delete ---
check_cmd "rename_group g1 g3" scsi_tgt "rename_group g1 g3"
check "renamed directory exists" test -f $P/groups/g3/devices
check "old directory is gone" test ! -e $P/groups/g1
check_grep "renamed group keeps its LUNs" '^nd1  *0' $P/groups/g3/devices
check_cmd "del_group g2" scsi_tgt "del_group g2"
check "deleted group's directory is gone" test ! -e $P/groups/g2

# --- a device closed while mapped is unmapped everywhere ---
check_cmd "vdisk close d1 (mapped in g3 and Default)" vdisk/vdisk "close d1"
check_no_grep "closed device left g3" '^d1 ' $P/groups/g3/devices
check_no_grep "closed device left Default" '^d1 ' $P/groups/Default/devices
check_no_grep "closed device left scsi_tgt" '^d1 ' $P/scsi_tgt

# --- trace_level ---
check_grep "trace_level shows the default mask" 'mgmt' $P/trace_level
check_cmd "trace_level none" trace_level "none"
check_eq "trace_level reads none" "none" "$(cat $P/trace_level)"
check_cmd "trace_level add mgmt" trace_level "add mgmt"
check_eq "trace_level reads mgmt" "mgmt" "$(cat $P/trace_level)"
check_cmd "trace_level value 0x100" trace_level "value 0x100"
check_eq "trace_level reads out_of_mem" "out_of_mem" "$(cat $P/trace_level)"
check_cmd "trace_level default" trace_level "default"
check_einval "trace_level: unknown token" trace_level "add nosuchtoken"
check_cmd "dump_prs of a device" trace_level "dump_prs nd1"
check_einval "dump_prs: no such device" trace_level "dump_prs nosuch"

# --- limits ---
long=$(head -c 5000 /dev/zero | tr '\0' a)
check_fails "a write longer than PAGE_SIZE-512 is refused" cmd scsi_tgt "add_group $long"

# --- a group file held open across its group's deletion ---
cmd scsi_tgt "add_group g4"
exec 3<$P/groups/g4/devices
check_cmd "del_group while its file is open" scsi_tgt "del_group g4"
check_fails "reading the deleted group's open file fails cleanly" cat <&3
exec 3<&-

# --- teardown with configuration in place ---
check "rmmod scst_vdisk with mapped devices" rmmod scst_vdisk
check_no_grep "handler's devices left the scsi_tgt table" 'nd1' $P/scsi_tgt
check_no_grep "handler's devices left group g3" 'nd1' $P/groups/g3/devices
check "rmmod scst_core with groups configured" rmmod scst_core
check "/proc/scsi_tgt removed" test ! -e $P

# --- 20 configure/unload cycles ---
ok=0
i=0
while [ $i -lt 20 ]; do
	modprobe scst_vdisk && cmd vdisk/vdisk "open c$i /tmp/d1.img" &&
		cmd scsi_tgt "add_group cg" && cmd groups/cg/devices "add c$i 0" &&
		cmd groups/cg/names "add iqn.cycle" && rmmod scst_vdisk && rmmod scst_core && ok=$((ok + 1))
	i=$((i + 1))
done
check_eq "20 configure/unload cycles" 20 $ok
done_case
