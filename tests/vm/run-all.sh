#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The VM part of `make check`: the test suite in one boot, then the harness
# self-test in a second one. Prints every result and "N passed, N failed".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp)
# Generous: TCG on a busy 2-core machine runs the suite in 6 to 10 minutes.
"$HERE/run.sh" --name vm-suite --timeout 2400 | tee "$tmp"
"$HERE/selftest.sh" | tee -a "$tmp"
pass=$(grep -c '^PASS ' "$tmp")
fail=$(grep -c '^FAIL ' "$tmp")
rm -f "$tmp"
echo "vm: $pass passed, $fail failed"
[ "$fail" = 0 ]
