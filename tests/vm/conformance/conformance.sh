# SPDX-License-Identifier: GPL-2.0
# libiscsi's conformance suite (iscsi-test-cu) in one boot, for several LU
# configurations: the LINUX family (SCSI tests through SG_IO on a local
# /dev/sg) against scst-rs through scst_local (target "scst") and LIO through
# tcm_loop ("lio"); the iSCSI families (CONF_ISCSI_TESTS, default ALL) over
# loopback TCP against scst-rs's iscsi_scst ("scsti"), LIO's iSCSI target
# ("lioi") and Debian's tgt ("tgti"). A target named with "h" instead of
# "i" ("scsth", "lioh", "tgth") is the same iSCSI target with a portal on
# the guest's network address too, and the suite runs on the host, through
# QEMU's forwarded ports (host_suite). Run by scripts/conformance.sh (`make
# conformance`); not part of `make check`.
#
# The suite's results are measurements, not checks: a conformance test that
# fails does not fail this case. Only harness problems (a module that does
# not load, a device that does not appear) are reported as FAIL checks.
#
# Output (parsed by scripts/conformance.sh):
#   SCST-CONF-BEGIN <target> <config>
#   SCST-CONF-OUT <target>/<config>| <one line of iscsi-test-cu output>
#   SCST-CONF-END <target> <config> rc=<exit status> seconds=<wall time> dev=<sg>
#   SCST-CONF-ERROR <target> <config>: <why the run could not happen>
#   SCST-CONF-HOST-READY <target> <config> <IQN>/<LUN>: the host may run the
#     suite on that LU now (host-driven targets only)
#
# Optional /tests/cases/conformance.conf (written by the host script) may set
# CONF_TESTS (iscsi-test-cu -t argument for SG_IO targets), CONF_ISCSI_TESTS
# (for iSCSI targets), CONF_CONFIGS, CONF_TARGETS,
# CONF_RUN_TIMEOUT (seconds per suite run) and CONF_ARGS (more iscsi-test-cu
# options, e.g. -V).
. /tests/lib.sh

CONF_TESTS=LINUX
CONF_ISCSI_TESTS=ALL
CONF_CONFIGS="fileio512 fileio4096 readonly thin"
CONF_TARGETS="scst lio scsti lioi"
CONF_RUN_TIMEOUT=1200
CONF_ARGS=
[ -f /tests/cases/conformance.conf ] && . /tests/cases/conformance.conf

P=/proc/scsi_tgt
CFS=/sys/kernel/config/target
SIZE_MB=64
LIO_WWN=naa.5001405c0f000001   # tcm_loop target port
LIO_INIT=naa.5001405c0f0000a1  # tcm_loop initiator port (I_T nexus)

# sg_wait H:C:I:L -> sgN once the LUN's SCSI generic device exists (20 s max)
sg_wait() {
	local i=0 s
	while [ $i -lt 40 ]; do
		s=$(ls /sys/bus/scsi/devices/$1/scsi_generic 2>/dev/null | head -n 1)
		[ -n "$s" ] && [ -c /dev/$s ] && { echo "$s"; return 0; }
		sleep 0.5
		i=$((i + 1))
	done
	return 1
}

# conf_geometry CONFIG: sets BS (block size), RO (1: write-protected LU),
# TP (1: thin provisioned), RM (1: removable medium; scst-rs only, LIO's
# backstores have no such attribute and run as fileio512) and HD (1: the
# fileio512 LU with CRC32C header digests; iSCSI targets only)
conf_geometry() {
	BS=512 RO=0 TP=0 RM=0 HD=0
	case $1 in
	fileio512) ;;
	hdigest) HD=1 ;;
	fileio4096) BS=4096 ;;
	readonly) RO=1 ;;
	thin) TP=1 ;;
	removable) RM=1 ;;
	*) echo "unknown configuration $1" >&2; return 1 ;;
	esac
}

# rmmod_loaded MODULE...: unloads those that are loaded, in order
rmmod_loaded() {
	local m rc=0
	for m in "$@"; do lsmod | grep -q "^$m " && { rmmod $m || rc=1; }; done
	return $rc
}

# ---------------------------------------------------------------- scst-rs
# scst_vdisk_up: the vdisk conf0 on /tmp/scst.img, $BS and $RO
scst_vdisk_up() {
	local flags=
	[ "$RO" = 1 ] && flags=READ_ONLY
	[ "$TP" = 1 ] && flags="$flags THIN_PROVISIONED"
	[ "$RM" = 1 ] && flags="$flags REMOVABLE"
	modprobe scst_vdisk || return 1
	dd if=/dev/zero of=/tmp/scst.img bs=1M count=$SIZE_MB 2>/dev/null || return 1
	cmd vdisk/vdisk "open conf0 /tmp/scst.img $BS $flags"
}

# scst_vdisk_down: closes conf0 and unloads the core (after the target driver)
scst_vdisk_down() {
	local rc=0
	grep -q '^conf0 ' $P/vdisk/vdisk 2>/dev/null && { cmd vdisk/vdisk "close conf0" || rc=1; }
	rmmod_loaded scst_vdisk scst_core || rc=1
	rm -f /tmp/scst.img
	return $rc
}

# scst_up CONFIG -> prints the sg device of LUN 0
scst_up() {
	local host
	conf_geometry $1 && scst_vdisk_up || return 1
	cmd groups/Default/devices "add conf0 0" || return 1
	modprobe scst_local || return 1
	host=$(awk '$1 == "scst_local_host" {print $2}' $P/scst_local/scst_local)
	[ -n "$host" ] || { echo "scst_local reports no SCSI host" >&2; return 1; }
	sg_wait "$host:0:0:0" || { echo "no /dev/sg for $host:0:0:0" >&2; return 1; }
}

scst_down() {
	local rc=0
	rmmod_loaded scst_local || rc=1
	scst_vdisk_down || rc=1
	return $rc
}

# -------------------------------------------------------------------- LIO
LIO_DEV=$CFS/core/fileio_0/conf0

# lio_backstore_up FABRIC_MODULE: a fileio backstore on /tmp/lio.img with $BS
lio_backstore_up() {
	modprobe target_core_mod && modprobe target_core_file && modprobe $1 || return 1
	dd if=/dev/zero of=/tmp/lio.img bs=1M count=$SIZE_MB 2>/dev/null || return 1
	mkdir -p $LIO_DEV || return 1
	echo "fd_dev_name=/tmp/lio.img,fd_dev_size=$((SIZE_MB * 1048576))" >$LIO_DEV/control || return 1
	echo 1 >$LIO_DEV/enable || return 1
	# block_size is reset from the backstore's hw_block_size on enable,
	# and can be changed only while the device is not exported.
	echo $BS >$LIO_DEV/attrib/block_size
	# Thin provisioning: UNMAP and WRITE SAME with UNMAP (fileio punches
	# holes), advertised in the Block Limits and LBP VPD pages.
	if [ "$TP" = 1 ]; then
		echo 1 >$LIO_DEV/attrib/emulate_tpu || return 1
		echo 1 >$LIO_DEV/attrib/emulate_tpws || return 1
	fi
}

# lio_backstore_down FABRIC_MODULE: after the fabric's configfs groups are
# gone; the configfs group core/fileio_0 holds a reference on its module
lio_backstore_down() {
	local rc=0
	[ -d $LIO_DEV ] && { rmdir $LIO_DEV || rc=1; }
	[ -d $CFS/core/fileio_0 ] && { rmdir $CFS/core/fileio_0 || rc=1; }
	rmmod_loaded $1 target_core_file target_core_mod || rc=1
	rm -f /tmp/lio.img
	return $rc
}

# lio_up CONFIG -> prints the sg device of LUN 0
lio_up() {
	local dev=$LIO_DEV tpg=$CFS/loopback/$LIO_WWN/tpgt_1 addr hctl acl
	conf_geometry $1 && lio_backstore_up tcm_loop || return 1
	mkdir -p $tpg/lun/lun_0 || return 1
	addr=$(cat $tpg/address) || return 1 # H:0:T of the tcm_loop SCSI host
	hctl=$addr:0
	if [ $RO = 0 ]; then
		# Demo mode: the nexus gets a dynamic ACL that sees every LUN
		# read-write; linking the LUN adds the SCSI device.
		echo $LIO_INIT >$tpg/nexus || return 1
		ln -s $dev $tpg/lun/lun_0/conf0 || return 1
	else
		# Read-only: an explicit ACL for the nexus' initiator port whose mapped
		# LUN 0 is write-protected. The ACL needs the TPG LUN and the nexus
		# must come after the ACL (its session binds to it then), so the
		# device is added by a rescan once the nexus exists.
		acl=$tpg/acls/$LIO_INIT
		ln -s $dev $tpg/lun/lun_0/conf0 || return 1
		mkdir -p $acl/lun_0 || return 1
		ln -s $tpg/lun/lun_0 $acl/lun_0/lun_0 || return 1
		echo 1 >$acl/lun_0/write_protect || return 1
		echo $LIO_INIT >$tpg/nexus || return 1
		echo "- - -" >/sys/class/scsi_host/host${addr%%:*}/scan || return 1
	fi
	sg_wait "$hctl" || { echo "no /dev/sg for $hctl" >&2; return 1; }
}

lio_down() {
	local wwn=$CFS/loopback/$LIO_WWN tpg=$CFS/loopback/$LIO_WWN/tpgt_1 acl rc=0
	# Order matters: unlinking the LUN removes the SCSI disk (tcm_loop finds
	# it by H:C:T:L: deleting it through sysfs first would leave the port
	# count up and the nexus could not be dropped); an ACL cannot be removed
	# while a session uses it (rmdir blocks for good), so the nexus is dropped
	# before the ACL; the configfs group loopback/ holds a reference on
	# tcm_loop.
	if [ -d $tpg ]; then
		acl=$tpg/acls/$LIO_INIT
		[ -L $acl/lun_0/lun_0 ] && { rm $acl/lun_0/lun_0 || rc=1; }
		[ -L $tpg/lun/lun_0/conf0 ] && { rm $tpg/lun/lun_0/conf0 || rc=1; }
		[ -d $tpg/lun/lun_0 ] && { rmdir $tpg/lun/lun_0 || rc=1; }
		grep -q . $tpg/nexus 2>/dev/null && { echo NULL >$tpg/nexus || rc=1; }
		[ -d $acl/lun_0 ] && { rmdir $acl/lun_0 || rc=1; }
		[ -d $acl ] && { rmdir $acl || rc=1; }
		rmdir $tpg || rc=1
	fi
	[ -d $wwn ] && { rmdir $wwn || rc=1; }
	[ -d $CFS/loopback ] && { rmdir $CFS/loopback || rc=1; }
	lio_backstore_down tcm_loop || rc=1
	return $rc
}

# ------------------------------------------------------- scst-rs over iSCSI
SCST_IQN=iqn.2026-11.org.scst-rs:conf
LIO_IQN=iqn.2003-01.org.linux-iscsi.conf:lio

# scsti_up CONFIG -> prints the iSCSI URL of LUN 0 (loopback portal)
scsti_up() {
	conf_geometry $1 && scst_vdisk_up && modprobe iscsi_scst || return 1
	cmd iscsi/iscsi "add_target $SCST_IQN" || return 1
	cmd iscsi/iscsi "add_portal 127.0.0.1:3260" || return 1
	# A second portal: the multipath tests' second path to the LU.
	cmd iscsi/iscsi "add_portal 127.0.0.2:3260" || return 1
	if [ -n "$HOST_RUN" ]; then
		cmd iscsi/iscsi "add_portal $GUEST_ADDR:3260" || return 1
	fi
	cmd scsi_tgt "add_group Default_$SCST_IQN" || return 1
	cmd groups/Default_$SCST_IQN/devices "add conf0 0" || return 1
	echo "iscsi://127.0.0.1/$SCST_IQN/0 iscsi://127.0.0.2/$SCST_IQN/0"
}

scsti_down() {
	local rc=0
	rmmod_loaded iscsi_scst || rc=1
	scst_vdisk_down || rc=1
	return $rc
}

# ------------------------------------------------------------ LIO's iSCSI
# lioi_up CONFIG -> prints the iSCSI URL of LUN 0 (demo mode: dynamic ACLs,
# no authentication; read-only through demo_mode_write_protect)
lioi_up() {
	local tpg=$CFS/iscsi/$LIO_IQN/tpgt_1
	conf_geometry $1 && lio_backstore_up iscsi_target_mod || return 1
	mkdir -p $tpg/lun/lun_0 || return 1
	ln -s $LIO_DEV $tpg/lun/lun_0/conf0 || return 1
	mkdir -p "$tpg/np/127.0.0.1:3260" "$tpg/np/127.0.0.2:3260" || return 1
	if [ -n "$HOST_RUN" ]; then
		mkdir -p "$tpg/np/$GUEST_ADDR:3260" || return 1
	fi
	echo 0 >$tpg/attrib/authentication || return 1
	echo 1 >$tpg/attrib/generate_node_acls || return 1
	echo 1 >$tpg/attrib/cache_dynamic_acls || return 1
	echo $RO >$tpg/attrib/demo_mode_write_protect || return 1
	echo 1 >$tpg/enable || return 1
	echo "iscsi://127.0.0.1/$LIO_IQN/0 iscsi://127.0.0.2/$LIO_IQN/0"
}

lioi_down() {
	local tpg=$CFS/iscsi/$LIO_IQN/tpgt_1 rc=0
	if [ -d $tpg ]; then
		echo 0 >$tpg/enable 2>/dev/null
		[ -L $tpg/lun/lun_0/conf0 ] && { rm $tpg/lun/lun_0/conf0 || rc=1; }
		[ -d $tpg/lun/lun_0 ] && { rmdir $tpg/lun/lun_0 || rc=1; }
		for np in 127.0.0.1:3260 127.0.0.2:3260 $GUEST_ADDR:3260; do
			[ -d "$tpg/np/$np" ] && { rmdir "$tpg/np/$np" || rc=1; }
		done
		rmdir $tpg || rc=1
	fi
	[ -d $CFS/iscsi/$LIO_IQN ] && { rmdir $CFS/iscsi/$LIO_IQN || rc=1; }
	[ -d $CFS/iscsi ] && { rmdir $CFS/iscsi || rc=1; }
	lio_backstore_down iscsi_target_mod || rc=1
	return $rc
}

# ---------------------------------------------------- Debian's tgt (tgtd)
TGT_IQN=iqn.2026-12.org.scst-rs:tgt

# tgti_up CONFIG -> prints the iSCSI URLs of LUN 1 (tgt's LUN 0 is its
# controller): a file-backed LU (rdwr backing store) with $BS, read-only,
# thin provisioned or removable through tgt's LU parameters; tgtd listens
# on every address, so 127.0.0.2 is the second path.
tgti_up() {
	local i=0 params=
	conf_geometry $1 || return 1
	dd if=/dev/zero of=/tmp/tgt.img bs=1M count=$SIZE_MB 2>/dev/null || return 1
	mkdir -p /var/run/tgtd
	tgtd -f >/tmp/tgtd.log 2>&1 &
	# tgti_up runs in a command substitution (a subshell): tgti_down finds
	# the daemon through this file, not a variable.
	echo $! >/tmp/tgtd.pid
	until tgtadm --lld iscsi --op show --mode sys >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 40 ] && { echo "tgtd did not start: $(tail -n 3 /tmp/tgtd.log)" >&2; return 1; }
		sleep 0.5
	done
	tgtadm --lld iscsi --op new --mode target --tid 1 -T $TGT_IQN || return 1
	tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b /tmp/tgt.img \
		--blocksize $BS || return 1
	[ "$RO" = 1 ] && params=readonly=1
	[ "$TP" = 1 ] && params=thin_provisioning=1
	[ "$RM" = 1 ] && params=removable=1
	if [ -n "$params" ]; then
		tgtadm --lld iscsi --op update --mode logicalunit --tid 1 --lun 1 \
			--params $params || return 1
	fi
	tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL || return 1
	echo "iscsi://127.0.0.1/$TGT_IQN/1 iscsi://127.0.0.2/$TGT_IQN/1"
}

tgti_down() {
	local rc=0 pid i=0
	pid=$(cat /tmp/tgtd.pid 2>/dev/null)
	if [ -n "$pid" ]; then
		tgtadm --lld iscsi --op delete --mode target --tid 1 --force >/dev/null 2>&1 || rc=1
		kill $pid 2>/dev/null
		# Not this shell's child: poll until it is gone, so the next
		# tgtd finds the port and the control socket free.
		while kill -0 $pid 2>/dev/null; do
			i=$((i + 1))
			if [ $i -gt 40 ]; then
				echo "tgtd $pid did not exit" >&2
				kill -9 $pid 2>/dev/null
				rc=1
				break
			fi
			sleep 0.5
		done
		rm -f /tmp/tgtd.pid
	fi
	rm -f /tmp/tgt.img
	return $rc
}

# ------------------------------------------------------------------- runs
# host_suite TARGET CONFIG URLS OUT: the host runs the suite on the LU of
# URLS through its forwarded ports, then sends the output to port 3261,
# ending with a line "SCST-HOST-RC <its exit status>"; the output goes to
# OUT and the exit status is returned (124: nothing came in time).
host_suite() {
	local path=${3%% *} rc npid
	path=${path#iscsi://*/}
	rm -f /tmp/host.out
	timeout $CONF_RUN_TIMEOUT nc -l -p 3261 >/tmp/host.out 2>/dev/null &
	npid=$!
	sleep 1
	echo "SCST-CONF-HOST-READY $1 $2 $path"
	wait $npid
	rc=$?
	[ $rc = 124 ] || [ $rc = 143 ] && return 124
	rc=$(sed -n 's/^SCST-HOST-RC \([0-9]*\).*/\1/p' /tmp/host.out)
	grep -v '^SCST-HOST-RC ' /tmp/host.out >$4
	rm -f /tmp/host.out
	return ${rc:-1}
}

GUEST_ADDR=10.0.2.15

run_one() { # run_one TARGET CONFIG
	local t=$1 c=$2 sg out=/tmp/conf-$1-$2.log start rc u=$1
	echo "SCST-CONF-BEGIN $t $c"
	# "scsth" is "scsti" driven from the host (see the top of this file).
	HOST_RUN=
	case $t in *h) u=${t%h}i HOST_RUN=1 ;; esac
	conf_geometry $c 2>/dev/null
	if [ "$HD" = 1 ] && { [ $u = scst ] || [ $u = lio ]; }; then
		echo "SCST-CONF-END $t $c rc=n/a seconds=0 dev=none (digests are iSCSI's)"
		return
	fi
	if ! sg=$(${u}_up $c 2>/tmp/up.err); then
		echo "SCST-CONF-ERROR $t $c: set-up failed: $(tail -n 3 /tmp/up.err | tr '\n' ' ')"
		fail "$t $c: set-up" "$(tail -n 3 /tmp/up.err | tr '\n' ' ')"
		${u}_down 2>/dev/null
		echo "SCST-CONF-END $t $c rc=setup seconds=0 dev=none"
		return
	fi
	# hdigest: libiscsi offers HeaderDigest=CRC32C only (it has no data
	# digests), so the session runs with header digests or not at all.
	if [ "$HD" = 1 ]; then
		local w urls=
		for w in $sg; do urls="$urls $w?header_digest=crc32c"; done
		sg=${urls# }
	fi
	# SG_IO targets print an sg device, iSCSI targets a URL.
	local dev=/dev/$sg tests=$CONF_TESTS
	case $sg in iscsi://*) dev=$sg tests=$CONF_ISCSI_TESTS ;; esac
	pass "$t $c: set-up ($dev)"
	start=$(date +%s)
	if [ -n "$HOST_RUN" ]; then
		host_suite $t $c "$sg" $out
		rc=$?
	else
		# An iSCSI target may print a second URL (a second path to the
		# LU, for the multipath tests): unquoted on purpose.
		timeout $CONF_RUN_TIMEOUT iscsi-test-cu -d $CONF_ARGS -t "$tests" $dev >$out 2>&1
		rc=$?
	fi
	if [ $rc = 124 ] || [ $rc = 143 ]; then
		echo "SCST-CONF-ERROR $t $c: iscsi-test-cu timed out after $CONF_RUN_TIMEOUT s"
		fail "$t $c: suite run" "iscsi-test-cu timed out after $CONF_RUN_TIMEOUT s"
	fi
	sed "s,^,SCST-CONF-OUT $t/$c| ," $out
	echo "SCST-CONF-END $t $c rc=$rc seconds=$(($(date +%s) - start)) dev=${sg%% *}"
	if ${u}_down 2>/tmp/down.err; then
		pass "$t $c: tear-down"
	else
		fail "$t $c: tear-down" "$(tail -n 3 /tmp/down.err | tr '\n' ' ') lsmod: $(lsmod | tail -n +2 | awk '{print $1}' | tr '\n' ' ')"
	fi
	rm -f $out
}

for c in $CONF_CONFIGS; do
	for t in $CONF_TARGETS; do
		run_one $t $c
	done
done
done_case
