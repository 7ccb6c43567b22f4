# SPDX-License-Identifier: GPL-2.0
# Persistent reservations, every type, three initiators on two transports:
# A (scst_local) and B (Linux's iSCSI initiator, open-iscsi) register, C
# (a second scst_local session) does not. For each of the six types: A
# reserves, and READ/WRITE from each initiator conflict or not as SPC-4's
# table says; B preempts A (A gets REGISTRATIONS PREEMPTED); B releases
# (RESERVATIONS RELEASED to the others for registrants-only and
# all-registrants types); B preempts and aborts; B clears (RESERVATIONS
# PREEMPTED). Every expected result is written out per type.
. /tests/lib.sh
P=/proc/scsi_tgt
T=iqn.2026-11.org.scst-rs:pr

modprobe scst_vdisk
dd if=/dev/zero of=/tmp/pr.img bs=1M count=8 2>/dev/null
dd if=/dev/zero of=/tmp/blk bs=512 count=1 2>/dev/null
cmd vdisk/vdisk "open pr1 /tmp/pr.img"
cmd groups/Default/devices "add pr1 0"
check "modprobe scst_local" modprobe scst_local
check_cmd "session C" scst_local/scst_local "add_session iqn.2026-11.test:hostc"
check "modprobe iscsi_scst" modprobe iscsi_scst
cmd iscsi/iscsi "add_target $T"
cmd iscsi/iscsi "add_portal 127.0.0.1"
cmd scsi_tgt "add_group Default_$T"
check_cmd "the same device on the iSCSI target" groups/Default_$T/devices "add pr1 0"

mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
echo "InitiatorName=iqn.2026-11.org.scst-rs:guest" >/etc/iscsi/initiatorname.iscsi
touch /etc/iscsi/iscsid.conf
modprobe iscsi_tcp
setsid iscsid -f >/tmp/iscsid.log 2>&1 &
IPID=$!
sleep 1
check "iscsiadm discovery" iscsiadm -m discovery -t st -p 127.0.0.1
check "iscsiadm login" iscsiadm -m node -T $T -p 127.0.0.1 --login
ib=$(ls -d /sys/class/iscsi_session/session*/device/target*/[0-9]*:0:0:0 2>/dev/null | head -n 1 | xargs -r basename)
A=/dev/$(sg_of "$(local_host):0:0:0")
B=/dev/$(sg_of "${ib:-none}")
C=/dev/$(sg_of "$(local_host iqn.2026-11.test:hostc):0:0:0")
check "three initiators see the LUN" test -c "$A" -a -c "$B" -a -c "$C"
clear_ua "$A" "$B" "$C"

# acc DEV: "R" or "-" (RESERVATION CONFLICT) for a READ(10), then "W" or
# "-" for a WRITE(10); "?" for anything else. A UNIT ATTENTION is
# consumed and the command retried once.
acc1() {
	local out rc try=0
	while :; do
		out=$(sg_raw "$@" 2>&1)
		rc=$?
		if echo "$out" | grep -qi 'unit attention' && [ $try -eq 0 ]; then
			try=1
			continue
		fi
		break
	done
	if echo "$out" | grep -qi 'reservation conflict'; then
		echo -
	elif [ $rc -eq 0 ]; then
		echo ok
	else
		echo '?'
	fi
}
acc() {
	local r w
	r=$(acc1 -r 512 "$1" 28 00 00 00 00 00 00 00 01 00)
	w=$(acc1 -s 512 -i /tmp/blk "$1" 2a 00 00 00 00 00 00 00 01 00)
	[ "$r" = ok ] && r=R
	[ "$w" = ok ] && w=W
	echo "$r$w"
}
# matrix NAME EXPECTED: the access of A, B and C, e.g. "RW R- --".
matrix() { check_eq "$1" "$2" "$(acc "$A") $(acc "$B") $(acc "$C")"; }
ok() {
	local name=$1
	shift
	expect_not "$name" 'conflict\|error\|fail\|illegal' "$@"
}
ua() { expect "$1" "$2" sg_turs -v "$3"; }
no_ua() { expect_not "$1" 'unit attention' sg_turs -v "$2"; }

# type name holder-matrix after-preempt-matrix registrants-only-or-all
walk() {
	local t=$1 n=$2 m1=$3 m2=$4 ro=$5
	ok "$n: A registers" sg_persist --out --register --param-sark=0xa "$A"
	ok "$n: B registers" sg_persist --out --register --param-sark=0xb "$B"
	matrix "$n: registered, no reservation: all may read and write" "RW RW RW"
	ok "$n: A reserves" sg_persist --out --reserve --param-rk=0xa --prout-type=$t "$A"
	expect "$n: READ RESERVATION from C shows the type" "type: $n\$" sg_persist --in --read-reservation "$C"
	matrix "$n: access of A (holder), B (registered), C (not)" "$m1"
	expect "$n: C cannot reserve" 'conflict' sg_persist --out --reserve --param-rk=0xc --prout-type=$t "$C"
	expect "$n: B cannot release with a wrong key" 'conflict' \
		sg_persist --out --release --param-rk=0xbad --prout-type=$t "$B"

	ok "$n: B preempts A" sg_persist --out --preempt --param-rk=0xb --param-sark=0xa --prout-type=$t "$B"
	ua "$n: A gets REGISTRATIONS PREEMPTED" 'registrations preempted' "$A"
	no_ua "$n: C gets no UNIT ATTENTION" "$C"
	expect "$n: READ KEYS from C: only B's key" '^ *0xb$' sg_persist --in --read-keys "$C"
	matrix "$n: after the preemption (A no longer registered)" "$m2"

	ok "$n: A registers again" sg_persist --out --register --param-sark=0xa "$A"
	ok "$n: B releases" sg_persist --out --release --param-rk=0xb --prout-type=$t "$B"
	if [ "$ro" = yes ]; then
		ua "$n: A gets RESERVATIONS RELEASED" 'reservations released' "$A"
	else
		no_ua "$n: no RESERVATIONS RELEASED for this type" "$A"
	fi
	no_ua "$n: C (not registered) gets nothing" "$C"
	expect "$n: no reservation after the release" 'no reservation' sg_persist --in --read-reservation "$A"
	matrix "$n: released: all may read and write" "RW RW RW"

	ok "$n: A reserves again" sg_persist --out --reserve --param-rk=0xa --prout-type=$t "$A"
	ok "$n: B preempts and aborts A" sg_persist --out --preempt-abort --param-rk=0xb --param-sark=0xa --prout-type=$t "$B"
	ua "$n: A gets REGISTRATIONS PREEMPTED (preempt and abort)" 'registrations preempted' "$A"
	matrix "$n: after preempt and abort" "$m2"

	ok "$n: A registers once more" sg_persist --out --register --param-sark=0xa "$A"
	ok "$n: B clears" sg_persist --out --clear --param-rk=0xb "$B"
	ua "$n: A gets RESERVATIONS PREEMPTED (clear)" 'reservations preempted' "$A"
	expect "$n: no keys after CLEAR" 'no registered' sg_persist --in --read-keys "$C"
	matrix "$n: cleared: all may read and write" "RW RW RW"
}

# SPC-4 table 63 (5.9.1): the holder may do anything; registrants of the
# registrants-only and all-registrants types may write; a non-registrant
# may read except under the exclusive access types. After the preemption
# B holds the reservation (all-registrants: B is the one registrant left)
# and A is a non-registrant like C.
walk 1 "Write Exclusive" "RW R- R-" "R- RW R-" no
walk 3 "Exclusive Access" "RW -- --" "-- RW --" no
walk 5 "Write Exclusive, registrants only" "RW RW R-" "R- RW R-" yes
walk 6 "Exclusive Access, registrants only" "RW RW --" "-- RW --" yes
walk 7 "Write Exclusive, all registrants" "RW RW R-" "R- RW R-" yes
walk 8 "Exclusive Access, all registrants" "RW RW --" "-- RW --" yes

check "iscsiadm logout" iscsiadm -m node -T $T -p 127.0.0.1 --logout
kill $IPID 2>/dev/null
check "rmmod iscsi_scst scst_local" rmmod iscsi_scst scst_local
check "rmmod scst_vdisk scst_core" rmmod scst_vdisk scst_core
done_case
