#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Turns a guest console log into test results:
#   tests/vm/report.sh CONSOLE_LOG QEMU_EXIT_STATUS
# Prints every check, the kernel-log verdict and "N passed, N failed";
# exits 1 if anything failed.
set -uo pipefail
log=$1
qrc=$2
pass=0 fail=0

res() { # res PASS|FAIL text
	echo "$1 $2"
	if [ "$1" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

tr -d '\r' <"$log" >"$log.txt"
L=$log.txt

while IFS= read -r line; do
	case "$line" in
	*"SCST-TEST: PASS "*) res PASS "${line#*SCST-TEST: PASS }" ;;
	*"SCST-TEST: FAIL "*) res FAIL "${line#*SCST-TEST: FAIL }" ;;
	*"SCST-CASE-END "*)
		set -- ${line#*SCST-CASE-END }
		if [ "${2:-1}" != 0 ]; then res FAIL "$1: case script exited with status ${2:-?}"; fi ;;
	esac
done <"$L"

# The console just before each case's first failure (kernel messages
# included), so a CI log alone can explain it.
grep -n "SCST-TEST: FAIL " "$L" | awk -F'SCST-TEST: FAIL ' '{split($2, c, ":"); if (!(c[1] in seen)) {seen[c[1]] = 1; print $1}}' |
	cut -d: -f1 | while read -r n; do
	echo "---- console before: $(sed -n "${n}p" "$L" | sed 's/.*SCST-TEST: FAIL //' | cut -c1-100) ----"
	sed -n "$((n > 30 ? n - 30 : 1)),$((n - 1))p" "$L" | grep -v 'SCST-TEST: PASS ' | cut -c1-200
	echo "----"
done

if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	res FAIL "vm: time-out (the guest did not finish)"
elif ! grep -q "SCST-DONE" "$L"; then
	res FAIL "vm: guest did not finish its run (qemu status $qrc)"
fi

# Kernel splats: any of these fails the run.
. "$(dirname "$0")/splat.sh"
splat=$SPLAT_RE
if grep -nE "$splat" "$L" >"$log.splat"; then
	res FAIL "kernel log: clean (found: $(head -n 1 "$log.splat" | cut -c1-160))"
	echo "---- kernel log excerpt ----"
	first=$(head -n 1 "$log.splat" | cut -d: -f1)
	sed -n "$((first > 5 ? first - 5 : 1)),$((first + 40))p" "$L"
	echo "----------------------------"
else
	res PASS "kernel log: clean (no oops, WARN, lockdep, KASAN or kmemleak report)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
