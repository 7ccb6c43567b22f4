# SPDX-License-Identifier: GPL-2.0
# Harness self-test: load a module that WARNs. The run must be reported failed.
. /tests/lib.sh
check "insmod scst_splat" insmod $MODDIR/scst_splat.ko
check "rmmod scst_splat" rmmod scst_splat
done_case
