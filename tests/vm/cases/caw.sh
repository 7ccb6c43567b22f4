# SPDX-License-Identifier: GPL-2.0
# COMPARE AND WRITE and ORWRITE on a FILEIO vdisk through scst_local: a
# matching compare writes, a miscompare writes nothing and reports the
# offset, a transfer length that differs from the CDB's is refused, ORWRITE
# ORs into the medium, and concurrent compare-and-swap increments of one
# block lose no update (the read-modify-write is atomic).
. /tests/lib.sh
P=/proc/scsi_tgt

modprobe scst_vdisk
dd if=/dev/zero of=/tmp/c.img bs=1M count=8 2>/dev/null
check_cmd "open a FILEIO disk" vdisk/vdisk "open c1 /tmp/c.img"
check_cmd "open a read-only disk" vdisk/vdisk "open c2 /tmp/c.img READ_ONLY"
cmd groups/Default/devices "add c1 0"
cmd groups/Default/devices "add c2 1"
check "modprobe scst_local" modprobe scst_local
h=$(local_host)
S=/dev/$(sg_of "$h:0:0:0")
R=/dev/$(sg_of "$h:0:0:1")
clear_ua "$S" "$R"

# fill FILE BYTE(octal): one 512-byte block of BYTE.
fill() { head -c 512 /dev/zero | tr '\0' "\\$2" >"$1"; }
# block_at LBA FILE: reads block LBA of the backing file.
block_at() { dd if=/tmp/c.img of="$2" bs=512 skip="$1" count=1 2>/dev/null; }

expect "VPD 0xB0: MAXIMUM COMPARE AND WRITE LENGTH 255" 'compare and write length: 255' sg_vpd --page=0xb0 "$S"
expect "REPORT SUPPORTED OPERATION CODES lists COMPARE AND WRITE" 'compare and write' sg_opcodes "$S"

fill /tmp/a 101; fill /tmp/b 102; fill /tmp/c 103
cat /tmp/a /tmp/b >/tmp/ab
cat /tmp/c /tmp/b >/tmp/cb
check "WRITE(10) of 'A' at LBA 10" sg_raw -s 512 -i /tmp/a "$S" 2a 00 00 00 00 0a 00 00 01 00
check "COMPARE AND WRITE A->B at LBA 10" sg_compare_and_write --in=/tmp/ab --lba=10 --num=1 --xferlen=1024 "$S"
block_at 10 /tmp/got
check "the backing file holds B" cmp /tmp/b /tmp/got

sg_compare_and_write --in=/tmp/ab --lba=10 --num=1 --xferlen=1024 "$S" >/tmp/out 2>&1
check_eq "a stale compare is MISCOMPARE (exit 14)" 14 $?
block_at 10 /tmp/got
check "a miscompare writes nothing" cmp /tmp/b /tmp/got

# The compare data differs from the medium first at byte 100.
cp /tmp/b /tmp/b100
printf 'x' | dd of=/tmp/b100 bs=1 seek=100 conv=notrunc 2>/dev/null
cat /tmp/b100 /tmp/c >/tmp/bc
expect "MISCOMPARE reports the offset of the first difference (100)" 'info fld=0x64\|0x64 \[100\]' \
	sg_raw -s 1024 -i /tmp/bc "$S" 89 00 00 00 00 00 00 00 00 0a 00 00 00 01 00 00

# The transfer length must match the CDB's (2 x 1 block here).
cat /tmp/ab /tmp/ab >/tmp/abab
expect "a Data-Out longer than the CDB's is INVALID FIELD IN CDB" 'invalid field in cdb' \
	sg_raw -s 2048 -i /tmp/abab "$S" 89 00 00 00 00 00 00 00 00 0a 00 00 00 01 00 00
expect "a Data-Out shorter than the CDB's is refused" 'invalid field in cdb' \
	sg_raw -s 1024 -i /tmp/ab "$S" 89 00 00 00 00 00 00 00 00 0a 00 00 00 02 00 00
block_at 10 /tmp/got
check "refused commands wrote nothing" cmp /tmp/b /tmp/got
check "the LU still works afterwards" sg_turs "$S"
expect "COMPARE AND WRITE on a read-only LU is DATA PROTECT" 'data protect\|write protected' \
	sg_compare_and_write --in=/tmp/ab --lba=10 --num=1 --xferlen=1024 "$R"
expect "COMPARE AND WRITE beyond the end is LBA OUT OF RANGE" 'out of range' \
	sg_compare_and_write --in=/tmp/ab --lba=16384 --num=1 --xferlen=1024 "$S"
check "COMPARE AND WRITE of no blocks is GOOD" \
	sg_raw "$S" 89 00 00 00 00 00 00 00 00 0a 00 00 00 00 00 00

# ORWRITE(16): 0x0f | 0xf0 = 0xff.
fill /tmp/lo 017; fill /tmp/hi 360; fill /tmp/ff 377
check "WRITE(10) of 0x0f at LBA 20" sg_raw -s 512 -i /tmp/lo "$S" 2a 00 00 00 00 14 00 00 01 00
check "ORWRITE(16) of 0xf0 at LBA 20" sg_raw -s 512 -i /tmp/hi "$S" 8b 00 00 00 00 00 00 00 00 14 00 00 00 01 00 00
block_at 20 /tmp/got
check "ORWRITE left 0xff" cmp /tmp/ff /tmp/got
expect "ORWRITE on a read-only LU is DATA PROTECT" 'data protect\|write protected' \
	sg_raw -s 512 -i /tmp/hi "$R" 8b 00 00 00 00 00 00 00 00 14 00 00 00 01 00 00
# No blocks change nothing: GOOD even on a read-only LU (libiscsi's
# OrWrite.ZeroBlocks), as for WRITE.
check "ORWRITE(16) of no blocks on a read-only LU is GOOD" \
	sg_raw "$R" 8b 00 00 00 00 00 00 00 00 14 00 00 00 00 00 00

# Atomicity: two workers increment a counter in block 30 by compare and
# swap. Each success must be one increment: a lost update (two CAWs that
# both saw the same value) leaves the counter below the sum of successes.
blk() { printf '%0512d' "$1"; }
blk 0 >/tmp/zero
sg_raw -s 512 -i /tmp/zero "$S" 2a 00 00 00 00 1e 00 00 01 00 >/dev/null 2>&1
worker() { # worker ID ROUNDS: prints its number of successful increments
	local id=$1 n=0 i=0 cur v
	while [ $i -lt "$2" ]; do
		sg_raw -r 512 -o /tmp/w$id.cur "$S" 28 00 00 00 00 1e 00 00 01 00 >/dev/null 2>&1
		cur=$(sed 's/^0*//' /tmp/w$id.cur)
		v=${cur:-0}
		{ blk "$v"; blk $((v + 1)); } >/tmp/w$id.caw
		if sg_compare_and_write --in=/tmp/w$id.caw --lba=30 --num=1 --xferlen=1024 "$S" >/dev/null 2>&1; then
			n=$((n + 1))
		fi
		i=$((i + 1))
	done
	echo $n >/tmp/w$id.n
}
worker 1 60 & worker 2 60 & worker 3 60 &
wait
total=$(($(cat /tmp/w1.n) + $(cat /tmp/w2.n) + $(cat /tmp/w3.n)))
block_at 30 /tmp/got
final=$(sed 's/^0*//' /tmp/got)
check "concurrent compare-and-swap: some increments succeeded" test "$total" -gt 0
check_eq "concurrent compare-and-swap: no lost update" "$total" "${final:-0}"
echo "caw: $total of 180 increments succeeded"

check "rmmod scst_local scst_vdisk scst_core" rmmod scst_local scst_vdisk scst_core
done_case
