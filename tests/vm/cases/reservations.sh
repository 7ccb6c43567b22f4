# SPDX-License-Identifier: GPL-2.0
# SPC-2 RESERVE/RELEASE and SPC-4 persistent reservations between two
# initiators (two scst_local sessions = two SCSI hosts seeing one LUN).
. /tests/lib.sh
P=/proc/scsi_tgt

modprobe scst_vdisk
dd if=/dev/zero of=/tmp/r.img bs=1M count=8 2>/dev/null
cmd vdisk/vdisk "open r1 /tmp/r.img"
cmd groups/Default/devices "add r1 0"
check "modprobe scst_local" modprobe scst_local
check_cmd "second session" scst_local/scst_local "add_session iqn.2026-11.test:hostb"
ha=$(local_host)
hb=$(local_host iqn.2026-11.test:hostb)
A=/dev/$(sg_of "$ha:0:0:0")
B=/dev/$(sg_of "$hb:0:0:0")
check "both initiators see the LUN" test -c "$A" -a -c "$B" -a "$A" != "$B"
# Clear the power-on unit attentions of both nexuses.
clear_ua "$A" "$B"

# --- SPC-2 ---
expect_not "A: RESERVE(6)" 'conflict\|error\|fail' sg_raw "$A" 16 00 00 00 00 00
expect "B: TEST UNIT READY conflicts" 'reservation conflict' sg_raw "$B" 00 00 00 00 00 00
expect "B: INQUIRY is allowed" 'SCST_FIO' sg_inq "$B"
expect "B: RESERVE(6) conflicts" 'reservation conflict' sg_raw "$B" 16 00 00 00 00 00
expect_not "B: RELEASE(6) by a non-holder is GOOD" 'conflict\|error\|fail' sg_raw "$B" 17 00 00 00 00 00
expect "B: still reserved by A" 'reservation conflict' sg_raw "$B" 00 00 00 00 00 00
expect_not "A: holder may read" 'conflict\|error\|fail' sg_raw -r 512 "$A" 28 00 00 00 00 00 00 00 01 00
expect_not "A: RELEASE(6)" 'conflict\|error\|fail' sg_raw "$A" 17 00 00 00 00 00
expect_not "B: TEST UNIT READY after release" 'conflict\|error\|fail' sg_raw "$B" 00 00 00 00 00 00
expect "RESERVE(6) with 3RDPTY is refused" 'illegal request\|invalid field' sg_raw "$A" 16 10 00 00 00 00

# --- SPC-4 persistent reservations ---
expect_not "A: REGISTER key 0xa" 'conflict\|error\|fail' sg_persist --out --register --param-sark=0xa "$A"
expect_not "B: REGISTER key 0xb" 'conflict\|error\|fail' sg_persist --out --register --param-sark=0xb "$B"
expect "READ KEYS lists both keys" '0xa.*0xb\|0xb.*0xa' sh -c "sg_persist --in --read-keys $A | tr '\n' ' '"
expect_not "A: RESERVE Write Exclusive" 'conflict\|error\|fail' sg_persist --out --reserve --param-rk=0xa --prout-type=1 "$A"
expect "READ RESERVATION shows A's key and type WE" '0xa' sg_persist --in --read-reservation "$B"
expect "B: WRITE conflicts under WE" 'reservation conflict' sg_raw -s 512 -i /tmp/r.img "$B" 2a 00 00 00 00 00 00 00 01 00
expect_not "B: READ is allowed under WE" 'conflict\|error\|fail' sg_raw -r 512 "$B" 28 00 00 00 00 00 00 00 01 00
expect_not "A: WRITE as holder" 'conflict\|error\|fail' sg_raw -s 512 -i /tmp/r.img "$A" 2a 00 00 00 00 00 00 00 01 00
expect "B: RESERVE(6) conflicts with registrations" 'reservation conflict' sg_raw "$B" 16 00 00 00 00 00
expect_not "B: PREEMPT A's registration" 'conflict\|error\|fail' sg_persist --out --preempt --param-rk=0xb --param-sark=0xa --prout-type=1 "$B"
expect "A: gets REGISTRATIONS PREEMPTED" 'unit attention\|preempted' sg_turs -v "$A"
expect "B now holds the reservation" '0xb' sg_persist --in --read-reservation "$A"
expect "A (unregistered) cannot release" 'conflict' sg_persist --out --release --param-rk=0xa --prout-type=1 "$A"
expect_not "B: RELEASE" 'conflict\|error\|fail' sg_persist --out --release --param-rk=0xb --prout-type=1 "$B"
expect_not "B: CLEAR" 'conflict\|error\|fail' sg_persist --out --clear --param-rk=0xb "$B"
expect "no keys after CLEAR" 'there are NO registered\|no registered' sg_persist --in --read-keys "$A"
expect "REPORT CAPABILITIES" 'Type mask\|type mask\|Compatible Reservation' sg_persist --in --report-capabilities "$A"

# --- a LOGICAL UNIT RESET (the midlayer's device reset) ends an SPC-2
# reservation and raises 29/03 on every nexus ---
expect_not "A: RESERVE(6) before the reset" 'conflict\|error\|fail' sg_raw "$A" 16 00 00 00 00 00
check "device reset through A's host (sg_reset -d)" sg_reset -d "$A"
expect "A: BUS DEVICE RESET unit attention" 'unit attention\|reset' sg_turs -v "$A"
expect "B: BUS DEVICE RESET unit attention" 'unit attention\|reset' sg_turs -v "$B"
expect_not "B: no conflict after the reset" 'conflict' sg_raw "$B" 00 00 00 00 00 00

# --- nexus loss releases an SPC-2 reservation ---
expect_not "B: RESERVE(6) again" 'conflict\|error\|fail' sg_raw "$B" 16 00 00 00 00 00
check_cmd "close B's session" scst_local/scst_local "del_session iqn.2026-11.test:hostb"
expect_not "A: no conflict after B's nexus is gone" 'conflict' sg_raw "$A" 00 00 00 00 00 00

check "rmmod scst_local" rmmod scst_local
check "rmmod scst_vdisk scst_core" rmmod scst_vdisk scst_core
done_case
