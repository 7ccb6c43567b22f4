# SPDX-License-Identifier: GPL-2.0
# Performance through the iSCSI path in one boot: scst-rs's iscsi_scst
# ("scst") against LIO's iSCSI target ("lio"), each with a NULLIO-like and a
# file-backed LU, measured by fio through Linux's own initiator (open-iscsi,
# iscsi_tcp) over loopback 127.0.0.1:3260. Run by scripts/bench.sh (`make
# bench`); not part of `make check`.
#
# The numbers are measurements, not checks: nothing here fails on speed. A
# set-up, login or fio run that does not work is reported as an error (and a
# FAIL check), never as a zero.
#
# Output (parsed by scripts/bench.sh):
#   SCST-BENCH-BEGIN <target> <backend>
#   SCST-BENCH-INFO <target> <backend> <text>
#   SCST-BENCH <target> <backend> <workload> <rep> <iops> <MiB/s> <mean latency us>
#   SCST-BENCH-ERROR <target> <backend> <workload|-> <rep|-> <why>
# (IOPS with one decimal, MiB/s with three: TCG rates are small)
#   SCST-BENCH-END <target> <backend> seconds=<wall time>
#
# Optional /tests/cases/bench.conf (written by the host script) may set
# BENCH_TARGETS, BENCH_BACKENDS, BENCH_WORKLOADS, BENCH_REPS,
# BENCH_RUNTIME and BENCH_RAMP (seconds per fio run), BENCH_SIZE_MB (the LU
# region fio uses, and the backing file size).
. /tests/lib.sh

BENCH_TARGETS="scst lio"
BENCH_BACKENDS="null file"
BENCH_WORKLOADS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m-qd8 write-1m-qd8"
BENCH_REPS=3
BENCH_RUNTIME=8
BENCH_RAMP=2
BENCH_SIZE_MB=256
[ -f /tests/cases/bench.conf ] && . /tests/cases/bench.conf

P=/proc/scsi_tgt
CFS=/sys/kernel/config/target
SCST_IQN=iqn.2026-11.org.scst-rs:bench
LIO_IQN=iqn.2003-01.org.linux-iscsi.bench:lio
PORTAL=127.0.0.1:3260

# ---------------------------------------------------------------- scst-rs
# scst_up BACKEND -> prints the target IQN
scst_up() {
	local open
	case $1 in
	null) open="open bench0 none 512 NULLIO" ;;
	file)
		dd if=/dev/zero of=/tmp/scst.img bs=1M count=$BENCH_SIZE_MB 2>/dev/null || return 1
		open="open bench0 /tmp/scst.img 512" ;;
	*) echo "unknown backend $1" >&2; return 1 ;;
	esac
	modprobe scst_vdisk && modprobe iscsi_scst || return 1
	cmd vdisk/vdisk "$open" || return 1
	cmd iscsi/iscsi "add_target $SCST_IQN" || return 1
	cmd iscsi/iscsi "add_portal $PORTAL" || return 1
	cmd scsi_tgt "add_group Default_$SCST_IQN" || return 1
	cmd groups/Default_$SCST_IQN/devices "add bench0 0" || return 1
	echo $SCST_IQN
}

scst_down() {
	local m rc=0
	lsmod | grep -q "^iscsi_scst " && { rmmod iscsi_scst || rc=1; }
	grep -q '^bench0 ' $P/vdisk/vdisk 2>/dev/null && { cmd vdisk/vdisk "close bench0" || rc=1; }
	for m in scst_vdisk scst_core; do lsmod | grep -q "^$m " && { rmmod $m || rc=1; }; done
	rm -f /tmp/scst.img
	return $rc
}

# -------------------------------------------------------------------- LIO
# NULLIO: rd_mcp with rd_nullio=1 completes every command at once without
# touching memory (no pages are allocated), like SCST's NULLIO; the size
# (rd_pages) only sets the capacity. File: fileio on a tmpfs file with
# fd_buffered_io=1 (page-cache I/O without O_DSYNC), like scst-rs FILEIO.
lio_dev() {
	case $1 in
	null) echo $CFS/core/rd_mcp_0/bench0 ;;
	file) echo $CFS/core/fileio_0/bench0 ;;
	esac
}

# lio_up BACKEND -> prints the target IQN. iSCSI parameters that LIO sets
# lower than scst-rs's defaults are raised to them (see
# Documentation/performance.md), so both targets negotiate the same values.
lio_up() {
	local dev tpg=$CFS/iscsi/$LIO_IQN/tpgt_1 kv
	dev=$(lio_dev $1)
	[ -n "$dev" ] || { echo "unknown backend $1" >&2; return 1; }
	modprobe target_core_mod && modprobe iscsi_target_mod || return 1
	[ $1 = file ] && { modprobe target_core_file || return 1; }
	mkdir -p $dev || return 1
	case $1 in
	null)
		echo "rd_pages=$((BENCH_SIZE_MB * 256)),rd_nullio=1" >$dev/control || return 1 ;;
	file)
		dd if=/dev/zero of=/tmp/lio.img bs=1M count=$BENCH_SIZE_MB 2>/dev/null || return 1
		echo "fd_dev_name=/tmp/lio.img,fd_dev_size=$((BENCH_SIZE_MB * 1048576)),fd_buffered_io=1" >$dev/control || return 1 ;;
	esac
	echo 1 >$dev/enable || return 1
	echo 512 >$dev/attrib/block_size || return 1
	mkdir -p $tpg/lun/lun_0 || return 1
	ln -s $dev $tpg/lun/lun_0/bench0 || return 1
	mkdir -p "$tpg/np/$PORTAL" || return 1
	for kv in MaxRecvDataSegmentLength=262144 MaxBurstLength=1048576 FirstBurstLength=262144 \
		InitialR2T=No ImmediateData=Yes MaxOutstandingR2T=16; do
		echo "${kv#*=}" >"$tpg/param/${kv%%=*}" || { echo "cannot set ${kv%%=*}" >&2; return 1; }
	done
	echo 0 >$tpg/attrib/authentication || return 1
	echo 1 >$tpg/attrib/generate_node_acls || return 1
	echo 1 >$tpg/attrib/cache_dynamic_acls || return 1
	echo 0 >$tpg/attrib/demo_mode_write_protect || return 1
	echo 1 >$tpg/enable || return 1
	echo $LIO_IQN
}

lio_down() {
	local dev tpg=$CFS/iscsi/$LIO_IQN/tpgt_1 d m rc=0
	if [ -d $tpg ]; then
		echo 0 >$tpg/enable 2>/dev/null
		[ -L $tpg/lun/lun_0/bench0 ] && { rm $tpg/lun/lun_0/bench0 || rc=1; }
		[ -d $tpg/lun/lun_0 ] && { rmdir $tpg/lun/lun_0 || rc=1; }
		[ -d "$tpg/np/$PORTAL" ] && { rmdir "$tpg/np/$PORTAL" || rc=1; }
		rmdir $tpg || rc=1
	fi
	[ -d $CFS/iscsi/$LIO_IQN ] && { rmdir $CFS/iscsi/$LIO_IQN || rc=1; }
	[ -d $CFS/iscsi ] && { rmdir $CFS/iscsi || rc=1; }
	for d in rd_mcp_0 fileio_0; do
		[ -d $CFS/core/$d/bench0 ] && { rmdir $CFS/core/$d/bench0 || rc=1; }
		[ -d $CFS/core/$d ] && { rmdir $CFS/core/$d || rc=1; }
	done
	for m in iscsi_target_mod target_core_file target_core_mod; do
		lsmod | grep -q "^$m " && { rmmod $m || rc=1; }
	done
	rm -f /tmp/lio.img
	return $rc
}

# ------------------------------------------------------------- initiator
# disk_of_iqn IQN -> sdX of LUN 0 of the session logged in to IQN
disk_of_iqn() {
	local s h
	for s in /sys/class/iscsi_session/session*; do
		[ "$(cat $s/targetname 2>/dev/null)" = "$1" ] || continue
		h=$(ls -d $s/device/target*/[0-9]*:0:0:0 2>/dev/null | head -n 1 | xargs -r basename)
		[ -n "$h" ] && disk_of "$h" && return 0
	done
	return 1
}

# workload NAME -> "rw bs iodepth"
workload() {
	case $1 in
	randread-4k-qd1) echo "randread 4k 1" ;;
	randread-4k-qd32) echo "randread 4k 32" ;;
	randwrite-4k-qd1) echo "randwrite 4k 1" ;;
	randwrite-4k-qd32) echo "randwrite 4k 32" ;;
	read-1m-qd8) echo "read 1M 8" ;;
	write-1m-qd8) echo "write 1M 8" ;;
	*) return 1 ;;
	esac
}

# fio_rep TARGET BACKEND DEV REP: one fio process runs every workload in
# turn (stonewall: one job after the other, each with its own ramp time),
# one SCST-BENCH line per workload. One process per repetition rather than
# per workload: starting fio costs seconds under TCG.
# fio --minimal (terse v3), one line per job: field 3 job name, 5 error,
# 7 read KiB/s, 40 read mean total latency (us); 48 and 81 the same for
# writes. IOPS = KiB/s / block size in KiB (fio's own IOPS field is an
# integer, too coarse at the rates TCG reaches).
fio_rep() {
	local t=$1 b=$2 dev=$3 r=$4 w spec jobs= out rc
	for w in $BENCH_WORKLOADS; do
		spec=$(workload $w) || {
			echo "SCST-BENCH-ERROR $t $b $w $r unknown workload"
			fail "$t $b $w: workload" "unknown workload"
			continue
		}
		set -- $spec
		jobs="$jobs --name=$w --rw=$1 --bs=$2 --iodepth=$3 --stonewall"
	done
	[ -n "$jobs" ] || return 1
	out=$(timeout $(((BENCH_RUNTIME + BENCH_RAMP + 60) * 6 + 120)) fio --filename=/dev/$dev \
		--ioengine=libaio --direct=1 --numjobs=1 --size=${BENCH_SIZE_MB}M --norandommap --randrepeat=0 \
		--time_based --runtime=$BENCH_RUNTIME --ramp_time=$BENCH_RAMP --minimal $jobs 2>/tmp/fio.err)
	rc=$?
	[ $rc = 0 ] || {
		echo "SCST-BENCH-ERROR $t $b - $r fio exit $rc: $(tail -n 3 /tmp/fio.err | tr '\n' ' ')"
		fail "$t $b rep $r: fio" "exit $rc: $(tail -n 3 /tmp/fio.err | tr '\n' ' ')"
	}
	for w in $BENCH_WORKLOADS; do
		spec=$(workload $w) || continue
		set -- $spec
		echo "$out" | awk -F';' -v t=$t -v b=$b -v w=$w -v r=$r -v bs=$2 '
		$1 == 3 && $3 == w { found = 1
			if ($5 != 0) { printf "SCST-BENCH-ERROR %s %s %s %s fio error %s\n", t, b, w, r, $5; exit 1 }
			if (w ~ /write/) { bw = $48; lat = $81 } else { bw = $7; lat = $40 }
			kib = (bs ~ /[mM]$/) ? bs * 1024 : bs + 0
			if (bw + 0 <= 0) { printf "SCST-BENCH-ERROR %s %s %s %s no I/O completed\n", t, b, w, r; exit 1 }
			printf "SCST-BENCH %s %s %s %s %.1f %.3f %.1f\n", t, b, w, r, bw / kib, bw / 1024, lat
		}
		END { if (!found) { printf "SCST-BENCH-ERROR %s %s %s %s no fio result\n", t, b, w, r; exit 1 } }' ||
			fail "$t $b $w rep $r: fio" "fio reported an error, no I/O or no result"
	done
}

# run_one TARGET BACKEND
run_one() {
	local t=$1 b=$2 iqn dev start r out i
	echo "SCST-BENCH-BEGIN $t $b"
	start=$(date +%s)
	if ! iqn=$(${t}_up $b 2>/tmp/up.err); then
		echo "SCST-BENCH-ERROR $t $b - - set-up failed: $(tail -n 3 /tmp/up.err | tr '\n' ' ')"
		fail "$t $b: set-up" "$(tail -n 3 /tmp/up.err | tr '\n' ' ')"
		${t}_down 2>/dev/null
		echo "SCST-BENCH-END $t $b seconds=$(($(date +%s) - start))"
		return
	fi
	pass "$t $b: set-up"
	if ! out=$(iscsiadm -m discovery -t st -p $PORTAL 2>&1) || ! echo "$out" | grep -q "$iqn"; then
		echo "SCST-BENCH-ERROR $t $b - - discovery failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		fail "$t $b: discovery" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	elif ! out=$(iscsiadm -m node -T $iqn -p $PORTAL --login 2>&1); then
		echo "SCST-BENCH-ERROR $t $b - - login failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		fail "$t $b: login" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	elif ! dev=$(disk_of_iqn $iqn); then
		echo "SCST-BENCH-ERROR $t $b - - no disk appeared after login"
		fail "$t $b: disk" "no /dev/sdX for the session of $iqn"
		iscsiadm -m node -T $iqn -p $PORTAL --logout >/dev/null 2>&1
	else
		pass "$t $b: login ($dev)"
		# No I/O scheduler; the default one can still be attached for a
		# moment after the disk appears, so retry.
		i=0
		while [ $i -lt 20 ] && ! grep -q '\[none\]' /sys/block/$dev/queue/scheduler; do
			echo none >/sys/block/$dev/queue/scheduler 2>/dev/null || sleep 0.5
			i=$((i + 1))
		done
		echo "SCST-BENCH-INFO $t $b disk /dev/$dev $(cat /sys/block/$dev/size) sectors, queue_depth $(cat /sys/block/$dev/device/queue_depth), scheduler $(cat /sys/block/$dev/queue/scheduler)"
		echo "SCST-BENCH-INFO $t $b negotiated: $(iscsiadm -m session -P 2 2>/dev/null |
			sed -n '/Negotiated iSCSI params/,$p' | grep -E 'MaxRecvDataSegmentLength|MaxXmitDataSegmentLength|FirstBurstLength|MaxBurstLength|ImmediateData|InitialR2T|MaxOutstandingR2T|HeaderDigest|DataDigest' |
			sed 's/^[[:space:]]*//; s/: /=/' | tr '\n' ' ')"
		r=1
		while [ $r -le $BENCH_REPS ]; do
			fio_rep $t $b $dev $r
			r=$((r + 1))
		done
		if out=$(iscsiadm -m node -T $iqn -p $PORTAL --logout 2>&1); then
			pass "$t $b: logout"
		else
			echo "SCST-BENCH-ERROR $t $b - - logout failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
			fail "$t $b: logout" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
		fi
	fi
	iscsiadm -m node -T $iqn -o delete >/dev/null 2>&1
	if ${t}_down 2>/tmp/down.err; then
		pass "$t $b: tear-down"
	else
		echo "SCST-BENCH-ERROR $t $b - - tear-down failed: $(tail -n 3 /tmp/down.err | tr '\n' ' ')"
		fail "$t $b: tear-down" "$(tail -n 3 /tmp/down.err | tr '\n' ' ') lsmod: $(lsmod | tail -n +2 | awk '{print $1}' | tr '\n' ' ')"
	fi
	echo "SCST-BENCH-END $t $b seconds=$(($(date +%s) - start))"
}

# The initiator: open-iscsi in its own session (iscsid signals its whole
# process group when it stops).
mkdir -p /etc/iscsi /var/lib/iscsi /run/lock/iscsi
echo "InitiatorName=iqn.2026-11.org.scst-rs:bench-guest" >/etc/iscsi/initiatorname.iscsi
touch /etc/iscsi/iscsid.conf
check "modprobe iscsi_tcp" modprobe iscsi_tcp
setsid iscsid -f >/tmp/iscsid.log 2>&1 &
IPID=$!
sleep 1
echo "SCST-BENCH-INFO - - $(fio --version), $(nproc) CPUs, $(uname -r), runtime ${BENCH_RUNTIME}s ramp ${BENCH_RAMP}s reps $BENCH_REPS size ${BENCH_SIZE_MB}MiB"

for b in $BENCH_BACKENDS; do
	for t in $BENCH_TARGETS; do
		run_one $t $b
	done
done
kill $IPID 2>/dev/null
wait $IPID 2>/dev/null
done_case
