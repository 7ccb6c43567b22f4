#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Proves the harness catches kernel splats: boots a VM that loads
# scst_splat.ko (WARN_ON on load) and expects run.sh to fail with a
# kernel-log finding. Prints one result line for the suite.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
out=$("$HERE/run.sh" --name vm-selftest --cases splat --extra-cases "$HERE/selftest" --timeout 300 2>&1)
rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "^FAIL kernel log: clean (found: .*WARNING" &&
	echo "$out" | grep -q "^PASS splat: insmod scst_splat"; then
	echo "PASS harness: a WARN in a module fails the VM run"
	exit 0
fi
echo "FAIL harness: a WARN in a module fails the VM run (run.sh exit $rc)"
echo "$out" | tail -n 20
exit 1
