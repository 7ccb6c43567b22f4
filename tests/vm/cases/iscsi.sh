# SPDX-License-Identifier: GPL-2.0
# iscsi_scst end to end over loopback: targets and portals configured through
# /proc/scsi_tgt/iscsi, LUNs through the core's Default_<IQN> group; libiscsi
# tools (discovery, INQUIRY) and Linux's own initiator (open-iscsi with
# iscsi_tcp: discovery, login, data integrity, a filesystem, logout); CHAP;
# hostile connections; unload with a session open.
. /tests/lib.sh
P=/proc/scsi_tgt
T=iqn.2026-11.org.scst-rs:t1
T2=iqn.2026-11.org.scst-rs:t2
URL=iscsi://127.0.0.1/$T

check "modprobe scst_vdisk" modprobe scst_vdisk
check "modprobe iscsi_scst" modprobe iscsi_scst
check "/proc/scsi_tgt/iscsi/iscsi exists" test -f $P/iscsi/iscsi
check_grep "help lists add_target" add_target $P/iscsi/help

dd if=/dev/urandom of=/tmp/d1.img bs=1M count=32 2>/dev/null
check_cmd "open FILEIO disk d1" vdisk/vdisk "open d1 /tmp/d1.img"
check_cmd "open NULLIO disk n1" vdisk/vdisk "open n1 none 512 NULLIO"

# Configuration and its errors.
check_cmd "add_target" iscsi/iscsi "add_target $T"
check_cmd "add a second target" iscsi/iscsi "add_target $T2"
check_einval "add_target with an upper-case name" iscsi/iscsi "add_target iqn.2026-11.org.X:y"
check_einval "add_target without iqn./eui./naa." iscsi/iscsi "add_target target1"
check_fails "add_target twice" cmd iscsi/iscsi "add_target $T"
check_einval "unknown command" iscsi/iscsi "frobnicate"
check_einval "FirstBurstLength out of range" iscsi/iscsi "set $T FirstBurstLength 100"
check_fails "FirstBurstLength above MaxBurstLength" cmd iscsi/iscsi "set $T FirstBurstLength 16777215"
check_einval "short CHAP secret" iscsi/iscsi "add_user $T IncomingUser joe short"
check_cmd "set MaxRecvDataSegmentLength" iscsi/iscsi "set $T MaxRecvDataSegmentLength 65536"
check_grep "parameter shown" 'MaxRecvDataSegmentLength 65536' $P/iscsi/iscsi
check_cmd "add_portal 127.0.0.1" iscsi/iscsi "add_portal 127.0.0.1"
check_fails "add_portal twice" cmd iscsi/iscsi "add_portal 127.0.0.1:3260"
check_cmd "add_portal ::1 on 3261" iscsi/iscsi "add_portal [::1]:3261"
check_grep "portal listed" 'Portal 127.0.0.1:3260' $P/iscsi/iscsi
check_cmd "del_target t2" iscsi/iscsi "del_target $T2"
check_cmd "add_group Default_$T" scsi_tgt "add_group Default_$T"
check_cmd "map d1 at LUN 0" groups/Default_$T/devices "add d1 0"
check_cmd "map n1 at LUN 1" groups/Default_$T/devices "add n1 1"
out=$(iscsi-inq "iscsi://[::1]:3261/$T/0" 2>&1)
echo "$out" | grep -q 'SCST_FIO' && pass "iscsi-inq over IPv6 ([::1]:3261)" || fail "iscsi-inq over IPv6 ([::1]:3261)" "$out"
check_cmd "del_portal ::1" iscsi/iscsi "del_portal [::1]:3261"
check_no_grep "portal gone" '3261' $P/iscsi/iscsi

# libiscsi: discovery and commands.
out=$(iscsi-ls iscsi://127.0.0.1 2>&1)
echo "$out" | grep -q "Target:$T" && pass "iscsi-ls: SendTargets lists the target" || fail "iscsi-ls: SendTargets lists the target" "$out"
echo "$out" | grep -q "$T2" && fail "iscsi-ls: deleted target not listed" "$out" || pass "iscsi-ls: deleted target not listed"
out=$(iscsi-inq $URL/0 2>&1)
echo "$out" | grep -q 'SCST_FIO' && pass "iscsi-inq: LUN 0 vendor" || fail "iscsi-inq: LUN 0 vendor" "$out"
out=$(iscsi-readcapacity16 $URL/0 2>&1)
echo "$out" | grep -qi 'Returned Logical Block Address:65535\|lba:65535' && pass "iscsi-readcapacity16: 32 MiB" ||
	fail "iscsi-readcapacity16: 32 MiB" "$out"
out=$(iscsi-inq $URL/1 2>&1)
echo "$out" | grep -q 'SCST_NIO' && pass "iscsi-inq: LUN 1 vendor" || fail "iscsi-inq: LUN 1 vendor" "$out"
out=$(iscsi-inq iscsi://127.0.0.1/iqn.2026-11.org.scst-rs:nosuch/0 2>&1)
[ $? -ne 0 ] && pass "login to an unknown target fails" || fail "login to an unknown target fails" "$out"

# Linux's initiator.
mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
echo "InitiatorName=iqn.2026-11.org.scst-rs:guest" >/etc/iscsi/initiatorname.iscsi
touch /etc/iscsi/iscsid.conf
check "modprobe iscsi_tcp" modprobe iscsi_tcp
# Its own session: iscsid signals its whole process group when it stops.
setsid iscsid -f >/tmp/iscsid.log 2>&1 &
IPID=$!
sleep 1
check "iscsiadm discovery" iscsiadm -m discovery -t st -p 127.0.0.1
check "iscsiadm login" iscsiadm -m node -T $T -p 127.0.0.1 --login
check_grep "session listed in /proc" "$T" $P/iscsi/session
check_grep "core session in Default_$T" "Default_$T" $P/sessions
host=$(ls -d /sys/class/iscsi_session/session*/device/target*/[0-9]*:0:0:0 2>/dev/null | head -n 1 | xargs -r basename)
sda=$(disk_of "${host:-none}")
check "LUN 0 appears as a disk" test -n "$sda"
if [ -n "$sda" ]; then
	check_eq "sd sees 32 MiB" 65536 "$(cat /sys/block/$sda/size)"
	dd if=/dev/urandom of=/tmp/pat bs=64k count=32 2>/dev/null
	check "write 2 MiB at 4 MiB with O_DIRECT" dd if=/tmp/pat of=/dev/$sda bs=64k seek=64 oflag=direct conv=fsync
	check "read it back" dd if=/dev/$sda of=/tmp/back bs=64k skip=64 count=32 iflag=direct
	check "read-back equals the pattern" cmp /tmp/pat /tmp/back
	dd if=/tmp/d1.img of=/tmp/file bs=64k skip=64 count=32 2>/dev/null
	check "the backing file holds the pattern" cmp /tmp/pat /tmp/file
	check "1 MiB writes (R2T, bursts)" dd if=/dev/urandom of=/dev/$sda bs=1M count=8 seek=16 oflag=direct
	check "fio randrw 4 MiB with crc32c verify, queue depth 16" fio --name=verify --thread \
		--filename=/dev/$sda --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite --bs=4k \
		--size=4M --offset=8M --verify=crc32c --do_verify=1 --verify_fatal=1 --output=/tmp/fio.out
	check_grep "fio verified without errors" 'err= 0' /tmp/fio.out
	check "mke2fs on the LUN" mke2fs -q -F /dev/$sda
	mkdir -p /mnt
	check "mount" mount -t ext4 /dev/$sda /mnt
	check "write a file" cp /tmp/pat /mnt/pat
	check "umount" umount /mnt
	check "fsck is clean" e2fsck -f -n /dev/$sda
fi
# A LUN mapped while logged in reaches the initiator as an Asynchronous
# Message (3F/0E), on which iscsid rescans the session: the disk appears
# with no command sent and no manual rescan.
check_cmd "open NULLIO disk n2" vdisk/vdisk "open n2 none 512 NULLIO"
# Kernel messages from here on (earlier cases may have logged 3F/0E).
log0=$(dmesg | wc -l)
check_cmd "map n2 at LUN 2 while logged in" groups/Default_$T/devices "add n2 2"
i=0
while [ $i -lt 30 ] && ! ls -d /sys/class/iscsi_session/session*/device/target*/[0-9]*:0:0:2 >/dev/null 2>&1; do
	sleep 1
	i=$((i + 1))
done
check "LUN 2 appears by itself (AEN REPORTED LUNS DATA HAS CHANGED)" \
	ls -d /sys/class/iscsi_session/session*/device/target*/[0-9]*:0:0:2
check "the target logged the asynchronous event" sh -c 'dmesg | grep -q "reported LUN inventory change"'
if [ -n "$sda" ]; then
	# The event was not also queued as a UNIT ATTENTION: sd would log the
	# 3F/0E sense of the next read.
	check "LUN 0 still reads after the event" dd if=/dev/$sda of=/dev/null bs=64k count=4 iflag=direct
	check "no UNIT ATTENTION 3F/0E besides the event" sh -c "! dmesg | tail -n +$((log0 + 1)) | grep -q 'LUN assignments on this target have changed'"
fi
check "iscsiadm logout" iscsiadm -m node -T $T -p 127.0.0.1 --logout
check_cmd "unmap n2" groups/Default_$T/devices "del n2"
check_cmd "close n2" vdisk/vdisk "close n2"
check_no_grep "session gone from /proc" "$T" $P/iscsi/session

# CHAP: one-way, then mutual.
check_cmd "add an incoming CHAP user" iscsi/iscsi "add_user $T IncomingUser joe 12charsecret"
check_no_grep "secrets are not shown" '12charsecret' $P/iscsi/iscsi
out=$(iscsi-inq $URL/0 2>&1)
[ $? -ne 0 ] && pass "login without CHAP credentials fails" || fail "login without CHAP credentials fails" "$out"
out=$(iscsi-inq iscsi://joe%wrongsecret12@127.0.0.1/$T/0 2>&1)
[ $? -ne 0 ] && pass "login with a wrong secret fails" || fail "login with a wrong secret fails" "$out"
out=$(iscsi-inq iscsi://joe%12charsecret@127.0.0.1/$T/0 2>&1)
echo "$out" | grep -q 'SCST_FIO' && pass "CHAP login works" || fail "CHAP login works" "$out"
check_cmd "add an outgoing CHAP user" iscsi/iscsi "add_user $T OutgoingUser tgt mutualsecret1"
out=$(iscsi-inq "iscsi://joe%12charsecret@127.0.0.1/$T/0?target_user=tgt&target_password=mutualsecret1" 2>&1)
echo "$out" | grep -q 'SCST_FIO' && pass "mutual CHAP login works" || fail "mutual CHAP login works" "$out"
out=$(iscsi-inq "iscsi://joe%12charsecret@127.0.0.1/$T/0?target_user=tgt&target_password=wrongsecret12" 2>&1)
[ $? -ne 0 ] && pass "mutual CHAP with a wrong target secret fails" || fail "mutual CHAP with a wrong target secret fails" "$out"
# open-iscsi with mutual CHAP.
node() { iscsiadm -m node -T $T -p 127.0.0.1 -o update -n "$1" -v "$2"; }
node node.session.auth.authmethod CHAP && node node.session.auth.username joe &&
	node node.session.auth.password 12charsecret && node node.session.auth.username_in tgt &&
	node node.session.auth.password_in mutualsecret1 && pass "iscsiadm: CHAP settings stored" ||
	fail "iscsiadm: CHAP settings stored" "iscsiadm -o update failed"
check "iscsiadm: mutual CHAP login" iscsiadm -m node -T $T -p 127.0.0.1 --login
host=$(ls -d /sys/class/iscsi_session/session*/device/target*/[0-9]*:0:0:0 2>/dev/null | head -n 1 | xargs -r basename)
sda=$(disk_of "${host:-none}")
check "LUN 0 appears after a CHAP login" test -n "$sda"
[ -n "$sda" ] && check "read through the CHAP session" dd if=/dev/$sda of=/dev/null bs=64k count=16 iflag=direct
check "iscsiadm: logout" iscsiadm -m node -T $T -p 127.0.0.1 --logout
node node.session.auth.authmethod None
node node.session.auth.password_in mutualsecret2
check_fails "iscsiadm: mutual CHAP with a wrong target secret is refused by the initiator" sh -c \
	"iscsiadm -m node -T $T -p 127.0.0.1 -o update -n node.session.auth.authmethod -v CHAP &&
	 iscsiadm -m node -T $T -p 127.0.0.1 --login"
iscsiadm -m node -T $T -p 127.0.0.1 --logout >/dev/null 2>&1
# A fresh node record without CHAP for the logins below.
iscsiadm -m node -T $T -p 127.0.0.1 -o delete >/dev/null 2>&1
check "iscsiadm: discovery again" iscsiadm -m discovery -t st -p 127.0.0.1
check_cmd "del_user outgoing" iscsi/iscsi "del_user $T OutgoingUser tgt"
check_cmd "del_user incoming" iscsi/iscsi "del_user $T IncomingUser joe"

# open-iscsi with CRC32C header and data digests: negotiated, and data
# written and read back through them.
node 'node.conn[0].iscsi.HeaderDigest' CRC32C && node 'node.conn[0].iscsi.DataDigest' CRC32C &&
	pass "iscsiadm: digest settings stored" || fail "iscsiadm: digest settings stored" "iscsiadm -o update failed"
check "iscsiadm: login with header and data digests" iscsiadm -m node -T $T -p 127.0.0.1 --login
expect "the session negotiated both digests" 'HeaderDigest CRC32C DataDigest CRC32C' cat $P/iscsi/session
host=$(ls -d /sys/class/iscsi_session/session*/device/target*/[0-9]*:0:0:0 2>/dev/null | head -n 1 | xargs -r basename)
dsk=$(disk_of "${host:-none}")
check "LUN 0 appears over the digest session" test -n "$dsk"
dd if=/dev/urandom of=/tmp/dg bs=64k count=64 2>/dev/null
check "write 4 MiB with digests" dd if=/tmp/dg of=/dev/${dsk:-none} bs=64k oflag=direct
check "read them back with digests" dd if=/dev/${dsk:-none} of=/tmp/dg.back bs=64k count=64 iflag=direct
check "the data survived the digest session" cmp /tmp/dg /tmp/dg.back
check "iscsiadm: logout (digests)" iscsiadm -m node -T $T -p 127.0.0.1 --logout
node 'node.conn[0].iscsi.HeaderDigest' None
node 'node.conn[0].iscsi.DataDigest' None

# Which initiators may see and log in to a target.
check_cmd "allow only Debian's initiators" iscsi/iscsi "allow $T iqn.1993-08.org.debian:*"
check_grep "allow pattern shown" "Allow iqn.1993-08.org.debian:" $P/iscsi/iscsi
out=$(iscsi-ls iscsi://127.0.0.1 2>&1)
echo "$out" | grep -q "$T" && fail "iscsi-ls: target hidden from an initiator not allowed" "$out" ||
	pass "iscsi-ls: target hidden from an initiator not allowed"
out=$(iscsi-inq $URL/0 2>&1)
[ $? -ne 0 ] && pass "login refused to an initiator not allowed" || fail "login refused to an initiator not allowed" "$out"
check_cmd "allow libiscsi's initiators too" iscsi/iscsi "allow $T iqn.2007-10.com.github:sahlberg:*"
out=$(iscsi-inq $URL/0 2>&1)
echo "$out" | grep -q 'SCST_FIO' && pass "login of an allowed initiator works" || fail "login of an allowed initiator works" "$out"
check_fails "allow the same pattern twice" cmd iscsi/iscsi "allow $T iqn.1993-08.org.debian:*"
check_cmd "disallow Debian" iscsi/iscsi "disallow $T iqn.1993-08.org.debian:*"
check_cmd "disallow libiscsi" iscsi/iscsi "disallow $T iqn.2007-10.com.github:sahlberg:*"
check_fails "disallow an unknown pattern" cmd iscsi/iscsi "disallow $T nobody"
check_no_grep "no allow patterns left" "Allow " $P/iscsi/iscsi

# Hostile input: garbage, a stalled login, many dropped connections.
check "garbage is dropped" sh -c 'head -c 4096 /dev/urandom | nc -w 3 127.0.0.1 3260 >/dev/null; true'
i=0
while [ $i -lt 50 ]; do
	nc -w 1 127.0.0.1 3260 </dev/null >/dev/null 2>&1
	i=$((i + 1))
done
out=$(iscsi-inq $URL/0 2>&1)
echo "$out" | grep -q 'SCST_FIO' && pass "target still works after hostile connections" ||
	fail "target still works after hostile connections" "$out"

# Unload with a session open: the session is closed, nothing is left.
check "login again" iscsiadm -m node -T $T -p 127.0.0.1 --login
check_fails "del_target with a session is refused" cmd iscsi/iscsi "del_target $T"
check "rmmod iscsi_scst with a session open" rmmod iscsi_scst
check "iscsiadm logout after the target left" sh -c "iscsiadm -m node -T $T -p 127.0.0.1 --logout; true"
kill $IPID 2>/dev/null
check "modprobe iscsi_scst again" modprobe iscsi_scst
check "rmmod iscsi_scst" rmmod iscsi_scst
check "rmmod scst_vdisk scst_core" rmmod scst_vdisk scst_core
done_case
