# SPDX-License-Identifier: GPL-2.0
# In-guest test helpers. Each check prints one marker line the host parses:
#   SCST-TEST: PASS <case>: <name>
#   SCST-TEST: FAIL <case>: <name>: <why>
# A case script's exit status is also checked by the host.

MODDIR=/lib/modules/$(uname -r)/extra
_failed=0

pass() { echo "SCST-TEST: PASS $SCST_CASE: $1"; }
fail() { echo "SCST-TEST: FAIL $SCST_CASE: $1: $2"; _failed=1; }

# check NAME CMD...: passes if CMD succeeds.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "'$*' failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# check_fails NAME CMD...: passes if CMD fails.
check_fails() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then fail "$name" "'$*' succeeded but should fail"; else pass "$name"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# check_grep NAME PATTERN FILE: passes if FILE contains PATTERN.
check_grep() {
	if grep -q -- "$2" "$3" 2>/dev/null; then pass "$1"; else fail "$1" "'$2' not in $3"; fi
}

# Exit status of a case: non-zero if any check failed.
done_case() { exit $_failed; }

# cmd FILE LINE: writes one command into /proc/scsi_tgt/FILE with one
# write(); on failure prints the error (with its errno text) to stderr. dd is
# used because busybox's printf builtin does not report write errors.
cmd() {
	local out
	out=$(printf '%s\n' "$2" | dd of="/proc/scsi_tgt/$1" bs=65536 conv=notrunc 2>&1) && return 0
	echo "$out" | grep -v 'records' >&2
	return 1
}

# check_cmd NAME FILE LINE: the command must be accepted.
check_cmd() { check "$1" cmd "$2" "$3"; }

# check_einval NAME FILE LINE: the command must be refused with EINVAL
# ("Invalid argument") and leave a reason in the kernel log.
check_einval() {
	local out
	if out=$(cmd "$2" "$3" 2>&1); then
		fail "$1" "'$3' > $2 was accepted"
	elif echo "$out" | grep -q 'Invalid argument'; then
		pass "$1"
	else
		fail "$1" "'$3' > $2 failed with '$out', not EINVAL"
	fi
}

# check_no_grep NAME PATTERN FILE: passes if FILE does not contain PATTERN.
check_no_grep() {
	if grep -q -- "$2" "$3" 2>/dev/null; then fail "$1" "'$2' found in $3"; else pass "$1"; fi
}

# disk_of H:C:I:L: prints the block device name (sdX) of a SCSI device,
# waiting up to 60 s for it to appear (sd probes asynchronously; a busy CI
# machine under TCG can be slow). A wait above 10 s is logged on the console
# with the kernel's last messages, so that slowness shows up in the log.
disk_of() {
	local i=0 d
	while [ $i -lt 120 ]; do
		d=$(ls /sys/bus/scsi/devices/$1/block 2>/dev/null | head -n 1)
		# The node exists before sd has finished adding the disk (opening
		# it then fails with ENXIO): wait until it opens (in a subshell: a
		# failed redirection of a special builtin ends the shell).
		if [ -n "$d" ] && [ -b /dev/$d ] && ( : </dev/$d ) 2>/dev/null; then
			[ $i -gt 20 ] && echo "SCST-NOTE: $SCST_CASE: $1 took $((i / 2)) s to appear as $d" >/dev/console
			echo "$d"
			return 0
		fi
		if [ $i = 21 ]; then
			echo "SCST-NOTE: $SCST_CASE: $1 has no disk after 10 s; kernel log:" >/dev/console
			dmesg | tail -n 15 >/dev/console
		fi
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

# sg_of H:C:I:L: prints the SCSI generic device name (sgN) of a SCSI
# device, waiting up to 20 s for it to appear.
sg_of() {
	local i=0 d
	while [ $i -lt 40 ]; do
		d=$(ls /sys/bus/scsi/devices/$1/scsi_generic 2>/dev/null | head -n 1)
		[ -n "$d" ] && [ -c /dev/$d ] && { echo "$d"; return 0; }
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

# expect NAME PATTERN CMD...: CMD's output (stdout and stderr) must match
# PATTERN (grep -i).
expect() {
	local name=$1 pat=$2 out
	shift 2
	out=$("$@" 2>&1)
	if echo "$out" | grep -qi -- "$pat"; then pass "$name"; else fail "$name" "'$*' gave: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"; fi
}

# expect_not NAME PATTERN CMD...: CMD's output must not match PATTERN.
expect_not() {
	local name=$1 pat=$2 out
	shift 2
	out=$("$@" 2>&1)
	if echo "$out" | grep -qi -- "$pat"; then fail "$name" "'$*' gave: $(echo "$out" | tr '\n' ' ' | cut -c1-300)"; else pass "$name"; fi
}

# local_host [NAME]: prints the SCSI host number of the scst_local session
# NAME (default: the one scst_local opens at load, scst_local_host).
local_host() {
	awk -v n="${1:-scst_local_host}" '$1 == n {print $2}' /proc/scsi_tgt/scst_local/scst_local
}

# clear_ua DEV...: two TEST UNIT READYs per device, consuming the UNIT
# ATTENTIONs a new nexus gets (power on, and a LUN change), so that later
# checks see none.
clear_ua() {
	local d
	for d in "$@"; do
		sg_turs "$d" >/dev/null 2>&1
		sg_turs "$d" >/dev/null 2>&1
	done
}
