# SPDX-License-Identifier: GPL-2.0
# iscsi_scst against a hostile initiator (tests/iscsi_hostile, run as
# iscsi-hostile): stalled and garbage logins, unknown opcodes, CmdSN outside
# the window, Data-Out for unknown tasks or with a wrong DataSN, PDUs above
# MaxRecvDataSegmentLength, bad digests, SNACK, task management, logout, a
# COMPARE AND WRITE with too little data, an abort storm (three sessions at
# queue depth 64 under ABORT TASK SET, LUN RESET, TARGET WARM RESET and
# connection drops with reinstatement; no command lost or answered twice,
# every block verified), QErr=01b aborting the task set on a CHECK
# CONDITION, a storm of dropped connections.
# Every bad PDU must get RFC 7143's Reject or a closed connection; afterwards
# nothing is left behind (sessions, module references) and a normal initiator
# still works. The harness fails the run on any kernel splat or leak.
. /tests/lib.sh
P=/proc/scsi_tgt
T=iqn.2026-11.org.scst-rs:hostile-t
URL=iscsi://127.0.0.1/$T

check "modprobe scst_vdisk" modprobe scst_vdisk
check "modprobe iscsi_scst" modprobe iscsi_scst
check "iscsi-hostile is in the image" test -x /usr/bin/iscsi-hostile
dd if=/dev/zero of=/tmp/h1.img bs=1M count=16 2>/dev/null
check_cmd "open a 16 MiB FILEIO disk with 512-byte blocks" vdisk/vdisk "open h1 /tmp/h1.img 512"
check_cmd "add_target" iscsi/iscsi "add_target $T"
check_cmd "add_portal 127.0.0.1" iscsi/iscsi "add_portal 127.0.0.1"
check_cmd "add_group Default_$T" scsi_tgt "add_group Default_$T"
check_cmd "map h1 at LUN 0" groups/Default_$T/devices "add h1 0"

# One marker per check of the tool: "ok: SCENARIO: WHAT[ -- DETAIL]" or
# "FAIL: SCENARIO: WHAT -- WHY".
iscsi-hostile 127.0.0.1:3260 $T all >/tmp/hostile.out 2>&1
rc=$?
sed 's/^/iscsi-hostile| /' /tmp/hostile.out
while IFS= read -r line; do
	case "$line" in
	"ok: "*)
		rest=${line#ok: }
		pass "${rest%% -- *}"
		;;
	"FAIL: "*)
		rest=${line#FAIL: }
		fail "${rest%% -- *}" "${rest#* -- }"
		;;
	esac
done </tmp/hostile.out
grep -q '^iscsi-hostile: ' /tmp/hostile.out && pass "iscsi-hostile ran every scenario" ||
	fail "iscsi-hostile ran every scenario" "no summary line (exit status $rc)"
check_eq "iscsi-hostile exit status" 0 "$rc"
# The qerr scenario aborts WRITE SAMEs while they execute: vdisk stops
# them between chunks instead of writing all 8 MiB.
check "an aborted WRITE SAME stopped early (handlers cancel in-flight I/O)" \
	sh -c 'dmesg | grep -q "aborted WRITE SAME at LBA .* stopped after"'

# Every connection ends and takes its session with it (give the
# connection threads up to 10 s).
wait_no_session() {
	local i=0
	while [ $i -lt 20 ] && grep -q -- "$T" $P/iscsi/session 2>/dev/null; do
		sleep 0.5
		i=$((i + 1))
	done
}
wait_no_session
check_no_grep "no iSCSI session left" "$T" $P/iscsi/session
check_no_grep "no core session left in Default_$T" "Default_$T" $P/sessions

out=$(iscsi-inq $URL/0 2>&1)
echo "$out" | grep -q 'SCST_FIO' && pass "iscsi-inq still works" || fail "iscsi-inq still works" "$out"
wait_no_session
check_no_grep "iscsi-inq's session is gone too" "$T" $P/iscsi/session

# No connection thread is left behind (stuck in a read, a wait for commands).
conn_threads() { grep -l '^iscsi_conn$' /proc/[0-9]*/comm 2>/dev/null | wc -l; }
i=0
while [ $i -lt 20 ] && [ "$(conn_threads)" -ne 0 ]; do
	sleep 0.5
	i=$((i + 1))
done
check_eq "no iscsi_conn thread left" 0 "$(conn_threads)"

check "rmmod iscsi_scst" rmmod iscsi_scst
check "rmmod scst_vdisk scst_core" rmmod scst_vdisk scst_core
done_case
