#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: iSCSI performance of scst-rs (iscsi_scst) against LIO's
# iSCSI target in one VM boot. fio through Linux's own initiator (open-iscsi,
# iscsi_tcp) over loopback: 4 KiB random read and write at queue depth 1 and
# 32 (IOPS), 1 MiB sequential read and write at queue depth 8 (MiB/s), on a
# NULLIO-like LU and a file-backed LU (tmpfs), each several times; the
# medians are printed side by side with the ratio scst-rs/LIO. See
# Documentation/performance.md.
#
#   scripts/bench.sh
#
# Environment (all optional):
#   BENCH_RUNTIME    seconds measured per fio run (default 8)
#   BENCH_RAMP       ramp-up seconds before each measurement (default 2)
#   BENCH_REPS       repetitions per workload, median reported (default 3)
#   BENCH_SIZE_MB    LU region fio uses and backing file size (default 256)
#   BENCH_TARGETS    default "scst lio"
#   BENCH_BACKENDS   default "null file"
#   BENCH_WORKLOADS  default "randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1
#                    randwrite-4k-qd32 read-1m-qd8 write-1m-qd8"
#   BENCH_TIMEOUT    VM time-out in seconds (default 3600)
#   BENCH_DOC        file whose results section is replaced after a clean run
#                    (default Documentation/performance.md; empty: none)
#
# Writes build/bench/: results.csv (every repetition), table.txt (what is
# printed), table.md (the markdown table), console.log.txt (the guest
# console), splat.txt (kernel-log findings, if any). The VM run itself lives
# in build/bench-vm/.
#
# Speed never fails this script; it exits non-zero only when the VM run
# failed: a harness problem (a set-up, login or fio run that did not work), a
# time-out, or a kernel-log finding such as a WARNING, KASAN report or
# lockdep splat. The documentation is updated only after a clean run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
cd "$TOP"

RUNTIME=${BENCH_RUNTIME:-8}
RAMP=${BENCH_RAMP:-2}
REPS=${BENCH_REPS:-3}
SIZE_MB=${BENCH_SIZE_MB:-256}
TARGETS=${BENCH_TARGETS:-scst lio}
BACKENDS=${BENCH_BACKENDS:-null file}
WORKLOADS=${BENCH_WORKLOADS:-randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd1 randwrite-4k-qd32 read-1m-qd8 write-1m-qd8}
TIMEOUT=${BENCH_TIMEOUT:-3600}
DOC=${BENCH_DOC-Documentation/performance.md}
OUT=$TOP/build/bench
VMNAME=bench-vm
t0=$(date +%s)
started=$(date -u '+%Y-%m-%d %H:%M UTC')

# A fresh top-level make: an inherited MAKEFLAGS (e.g. "w" from make -C)
# would make the kernel scripts' $(make -s ...) captures print directories.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make modules || { echo "bench: module build failed" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
cases=$(mktemp -d)
trap 'rm -rf "$cases"' EXIT
cp "$TOP/tests/vm/bench/bench.sh" "$cases/"
{
	echo "BENCH_TARGETS='$TARGETS'"
	echo "BENCH_BACKENDS='$BACKENDS'"
	echo "BENCH_WORKLOADS='$WORKLOADS'"
	echo "BENCH_REPS=$REPS"
	echo "BENCH_RUNTIME=$RUNTIME"
	echo "BENCH_RAMP=$RAMP"
	echo "BENCH_SIZE_MB=$SIZE_MB"
} >"$cases/bench.conf"

"$TOP/tests/vm/run.sh" --name "$VMNAME" --extra-cases "$cases" --cases bench \
	--timeout "$TIMEOUT" 2>&1 | tee "$OUT/vm-report.txt"
vm_rc=${PIPESTATUS[0]}
LOG=$TOP/build/$VMNAME/console.log.txt
[ -f "$LOG" ] || { echo "bench: no console log ($LOG)" >&2; exit 1; }
cp "$LOG" "$OUT/console.log.txt"

# Every repetition. A kernel message can end up in front of a marker on the
# same console line: take the marker from wherever it starts.
{
	echo "target,backend,workload,rep,iops,mib_per_s,mean_latency_us"
	grep -a -o 'SCST-BENCH [^ ]* [^ ]* [^ ]* [0-9]* [0-9.]* [0-9.]* [0-9.]*' "$LOG" |
		awk '{ printf "%s,%s,%s,%s,%s,%s,%s\n", $2, $3, $4, $5, $6, $7, $8 }'
} >"$OUT/results.csv"
errors=$(grep -a -o 'SCST-BENCH-ERROR .*' "$LOG" | sed 's/^SCST-BENCH-ERROR //')
info=$(grep -a -o 'SCST-BENCH-INFO .*' "$LOG" | sed 's/^SCST-BENCH-INFO //')
runs=$(grep -a -o 'SCST-BENCH-END .*' "$LOG" | sed 's/^SCST-BENCH-END //')

# Kernel-log findings (the patterns of tests/vm/report.sh), by the run that
# was going on; the first 60 lines of each run's first finding go to
# splat.txt.
. "$TOP/tests/vm/splat.sh"
splatinfo=$(splat_scan "$LOG" BENCH "$OUT/splat.txt")

# Medians: rows workload x backend; the metric is IOPS for 4 KiB workloads
# and MiB/s for 1 MiB ones. A cell without results says why (the guest's
# error for that target and backend, e.g. a failed set-up or login).
# FORMAT is "txt" or "md".
table() {
	awk -F, -v fmt="$1" -v targets="$TARGETS" -v backends="$BACKENDS" -v workloads="$WORKLOADS" -v errs="$errors" '
	function median(k,   n, i, j, t, a) {
		n = cnt[k]
		for (i = 1; i <= n; i++) a[i] = val[k, i]
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		if (n % 2) return a[(n + 1) / 2]
		return (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function cell(t, b, w,   k) {
		k = t SUBSEP b SUBSEP w
		if (cnt[k] == 0) return (((t, b) in why) ? "failed" : "-")
		m = median(k)
		return (w ~ /-4k-/) ? sprintf("%.1f", m) : sprintf("%.3f", m)
	}
	BEGIN {
		nt = split(targets, T, " "); nb = split(backends, B, " "); nw = split(workloads, W, " ")
		ne = split(errs, E, "\n")
		for (i = 1; i <= ne; i++) { split(E[i], f, " "); if (f[1] != "") why[f[1], f[2]] = 1 }
	}
	NR > 1 {
		k = $1 SUBSEP $2 SUBSEP $3
		v = ($3 ~ /-4k-/) ? $5 : $6
		val[k, ++cnt[k]] = v + 0
	}
	END {
		if (fmt == "md") {
			print "| workload | backend | metric | scst-rs | LIO | scst-rs/LIO | runs |"
			print "|---|---|---|--:|--:|--:|--:|"
		} else {
			printf "%-18s %-8s %-6s %12s %12s %12s %6s\n", "workload", "backend", "metric", "scst-rs", "LIO", "scst-rs/LIO", "runs"
		}
		for (i = 1; i <= nw; i++) for (j = 1; j <= nb; j++) {
			w = W[i]; b = B[j]
			s = cell("scst", b, w); l = cell("lio", b, w)
			r = "-"
			if (cnt["scst", b, w] && cnt["lio", b, w]) {
				ls = median("lio" SUBSEP b SUBSEP w)
				if (ls > 0) r = sprintf("%.2f", median("scst" SUBSEP b SUBSEP w) / ls)
			}
			metric = (w ~ /-4k-/) ? "IOPS" : "MiB/s"
			runs = (cnt["scst", b, w] + 0) "+" (cnt["lio", b, w] + 0)
			if (fmt == "md") printf "| %s | %s | %s | %s | %s | %s | %s |\n", w, b, metric, s, l, r, runs
			else printf "%-18s %-8s %-6s %12s %12s %12s %6s\n", w, b, metric, s, l, r, runs
		}
	}' "$OUT/results.csv"
}

cmdline="make bench"
settings="BENCH_RUNTIME=$RUNTIME BENCH_RAMP=$RAMP BENCH_REPS=$REPS BENCH_SIZE_MB=$SIZE_MB"
{
	echo "iSCSI over loopback, fio libaio direct, $settings; median of the runs (scst-rs+LIO)"
	echo "backends: null = scst-rs NULLIO / LIO rd_mcp rd_nullio=1; file = ${SIZE_MB} MiB tmpfs file, scst-rs FILEIO / LIO fileio fd_buffered_io=1"
	echo
	table txt
	echo
	echo "runs:"
	echo "$runs" | sed 's/^/  /'
	echo "guest:"
	echo "$info" | sed 's/^/  /'
	echo
	if [ -n "$errors" ]; then
		echo "errors (no numbers for these):"
		echo "$errors" | sed 's/^/  /'
		echo
	fi
	if [ -n "$splatinfo" ]; then
		echo "kernel-log findings (first 60 lines of each in build/bench/splat.txt):"
		echo "$splatinfo"
	else
		echo "kernel log: clean"
	fi
	echo
	echo "VM run: $([ "$vm_rc" = 0 ] && echo ok || echo "FAILED (exit $vm_rc; see build/bench/vm-report.txt)"); total time $(($(date +%s) - t0)) s"
	echo "results: build/bench/results.csv (every run), build/bench/table.md"
} | tee "$OUT/table.txt"

{
	echo "Run of $started: \`$cmdline\` ($settings), $(($(date +%s) - t0)) s in total."
	echo
	table md
	if [ -n "$errors" ]; then
		echo
		echo "Errors (no numbers for these):"
		echo
		echo "$errors" | sed 's/^/- /'
	fi
	if [ -n "$splatinfo" ]; then
		echo
		echo "Kernel-log findings:"
		echo
		echo "$splatinfo" | sed 's/^ */- /'
	fi
} >"$OUT/table.md"

# The documentation's results section, between its markers, after a clean run.
if [ -n "$DOC" ] && [ -f "$DOC" ]; then
	if [ "$vm_rc" = 0 ] && grep -q '^<!-- bench-results-begin -->$' "$DOC" && grep -q '^<!-- bench-results-end -->$' "$DOC"; then
		awk -v tbl="$OUT/table.md" '
			/^<!-- bench-results-begin -->$/ { print; while ((getline l < tbl) > 0) print l; skip = 1; next }
			/^<!-- bench-results-end -->$/ { skip = 0 }
			!skip { print }' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
		echo "bench: results written to $DOC"
	else
		echo "bench: $DOC not updated (the VM run failed, or it has no bench-results markers)"
	fi
fi

exit "$vm_rc"
