# SPDX-License-Identifier: GPL-2.0
# Persistent reservations with APTPL survive unloading and reloading every
# module: registrations and the reservation come back from the device's
# file in /proc/scsi_tgt/pr_dir; APTPL off is saved too; a torn newest
# slot falls back to the previous state; without a usable directory APTPL
# is refused and nothing changes.
. /tests/lib.sh
P=/proc/scsi_tgt
D=/tmp/pr

dd if=/dev/zero of=/tmp/p.img bs=1M count=4 2>/dev/null
mkdir -p $D

# up [DIR]: loads the modules, sets pr_dir, exports p1 and prints the
# scst_local sg device.
up() {
	modprobe scst_vdisk || return 1
	cmd pr_dir "${1:-$D}" || return 1
	cmd vdisk/vdisk "open p1 /tmp/p.img" || return 1
	cmd groups/Default/devices "add p1 0" || return 1
	modprobe scst_local || return 1
	local h
	h=$(local_host)
	S=/dev/$(sg_of "$h:0:0:0") || return 1
	clear_ua "$S"
}
down() { rmmod scst_local scst_vdisk scst_core; }
# check_up NAME [DIR]: up in this shell (check would run it in a subshell,
# losing $S).
check_up() {
	local name=$1
	shift
	if up "$@"; then pass "$name"; else fail "$name" "loading or exporting failed"; fi
}
keys() { sg_persist --in --read-keys "$S" 2>&1 | tr '\n' ' '; }
resv() { sg_persist --in --read-reservation "$S" 2>&1 | tr '\n' ' '; }

modprobe scst_core
check_grep "pr_dir defaults to /var/lib/scst/pr" '^/var/lib/scst/pr$' $P/pr_dir
check_einval "pr_dir: a relative path is refused" pr_dir "var/lib"
check_einval "pr_dir: two paths are refused" pr_dir "/a /b"
check_cmd "pr_dir: set /tmp/pr/ (trailing slash)" pr_dir "/tmp/pr/"
check_grep "pr_dir reads back without the slash" '^/tmp/pr$' $P/pr_dir
rmmod scst_core

check_up "load and export p1"
expect_not "REGISTER key 0x1111 with APTPL" 'error\|fail\|conflict' \
	sg_persist --out --register --param-sark=0x1111 --param-aptpl "$S"
check "the APTPL file exists" test -s $D/p1
check_grep "it is an scst-rs PR file" 'SCSTAPSL' $D/p1
expect_not "RESERVE Exclusive Access" 'error\|fail\|conflict' \
	sg_persist --out --reserve --param-rk=0x1111 --prout-type=3 "$S"
cp $D/p1 /tmp/p1.saved
check "unload everything" down

check_up "reload"
expect "the registration came back" '0x1111' keys
expect "the reservation came back (Exclusive Access, key 0x1111)" 'Key=0x1111.*Exclusive Access\|0x1111.*type: Exclusive Access' resv
expect "dump_prs shows the APTPL file" 'APTPL file /tmp/pr/p1' sh -c \
	"printf 'dump_prs p1\n' >$P/trace_level; dmesg | tail -n 20"
check "unload again" down

# A torn newest slot (the reservation's save) falls back to the one before
# it: the registration without the reservation.
cp /tmp/p1.saved $D/p1
printf 'X' | dd of=$D/p1 bs=1 seek=$((8192 + 40)) conv=notrunc 2>/dev/null
check_up "reload with a torn newest slot"
expect "the registration is back" '0x1111' keys
expect "the reservation (saved in the torn slot) is not" 'no reservation' resv
# Registering again without APTPL saves APTPL off: nothing after a reload.
expect_not "REGISTER AND IGNORE EXISTING KEY 0x2222 without APTPL" 'error\|fail\|conflict' \
	sg_persist --out --register-ignore --param-sark=0x2222 "$S"
check "unload" down
check_up "reload after APTPL was turned off"
expect "no registrations came back" 'no registered' keys
check "unload" down

# No directory: APTPL is refused and the registration does not happen.
check_up "load with pr_dir none" none
check_grep "pr_dir reads none" '^none$' $P/pr_dir
expect "REGISTER with APTPL is INVALID FIELD IN PARAMETER LIST" 'invalid field in parameter list' \
	sg_persist -v --out --register --param-sark=0x3333 --param-aptpl "$S"
expect "nothing was registered" 'no registered' keys
expect_not "REGISTER without APTPL still works" 'error\|fail\|conflict' \
	sg_persist --out --register --param-sark=0x3333 "$S"
check "unload" down

# A directory that does not exist: the device still opens, APTPL is
# refused and nothing changes.
check_up "load with a missing directory" /tmp/nonexistent
expect "the log says why" 'cannot open a persistent reservation file in /tmp/nonexistent' dmesg
expect "REGISTER with APTPL is INVALID FIELD IN PARAMETER LIST" 'invalid field in parameter list' \
	sg_persist -v --out --register --param-sark=0x4444 --param-aptpl "$S"
expect "nothing was registered" 'no registered' keys
check "unload" down

# A save that fails (a full file system): MEDIUM ERROR, the state is rolled
# back.
mkdir -p /tmp/tiny
mount -t tmpfs -o size=16k tmpfs /tmp/tiny
check_up "load with pr_dir on a 16 KiB tmpfs" /tmp/tiny
dd if=/dev/zero of=/tmp/tiny/fill bs=4k count=16 2>/dev/null
expect "REGISTER with APTPL on a full file system is MEDIUM ERROR" 'medium' \
	sg_persist --out --register --param-sark=0x5555 --param-aptpl "$S"
expect "the registration was rolled back" 'no registered' keys
expect "the log names the file" 'cannot save persistent reservations to /tmp/tiny/p1' dmesg
check "unload" down
umount /tmp/tiny
done_case
