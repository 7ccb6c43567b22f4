#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make conformance`: libiscsi's conformance suite (iscsi-test-cu) for
# several LU configurations in one VM boot, printed side by side per test:
# the LINUX family (SCSI tests through SG_IO on a local /dev/sg) against
# scst-rs's scst_local ("scst") and LIO's tcm_loop ("lio"), and the iSCSI
# families (default ALL) over loopback TCP against scst-rs's iscsi_scst
# ("scsti"), LIO's iSCSI target ("lioi") and Debian's user-space tgt
# ("tgti"), each with a second portal on
# 127.0.0.2 as the multipath tests' second path. The same iSCSI targets
# named "scsth", "lioh" and "tgth" are reached from the host instead: the
# host's iscsi-test-cu runs through QEMU's forwarded ports (two host ports
# to the guest's 3260 as the two paths), driven by host_driver below.
#
#   scripts/conformance.sh
#
# Environment (all optional):
#   CONFORMANCE_TESTS    iscsi-test-cu -t argument for scst/lio (default LINUX)
#   CONFORMANCE_ISCSI_TESTS  the same for scsti/lioi (default ALL)
#   CONFORMANCE_CONFIGS  LU configurations (default "fileio512 fileio4096 readonly thin")
#   CONFORMANCE_TARGETS  targets (default "scst lio scsti lioi tgti")
#   CONFORMANCE_TIMEOUT  VM time-out in seconds (default 10800)
#   CONFORMANCE_RUN_TIMEOUT  time-out of one suite run in the guest (default 1200)
#   CONFORMANCE_ARGS     extra iscsi-test-cu options, e.g. -V (SCSI logging)
#   CONFORMANCE_REPORT_ONLY  set: no VM run, re-parse the last run's log
#
# Writes build/conformance/: <target>-<config>.log (the suite's raw output),
# results.tsv (target, config, test, PASS|FAIL|SKIP, message), table.txt
# (what is printed), summary.md (totals and differences, for
# Documentation/conformance.md) and console.log.txt (the guest console).
# The VM run itself lives in build/conformance-vm/.
#
# Conformance failures are measurements and do not fail this script; it exits
# non-zero only when the VM run failed (a harness problem, a time-out, or a
# kernel-log finding such as a WARNING, KASAN report or lockdep splat).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(dirname "$HERE")
cd "$TOP"

TESTS=${CONFORMANCE_TESTS:-LINUX}
ISCSI_TESTS=${CONFORMANCE_ISCSI_TESTS:-ALL}
CONFIGS=${CONFORMANCE_CONFIGS:-fileio512 fileio4096 readonly thin}
TARGETS=${CONFORMANCE_TARGETS:-scst lio scsti lioi tgti}
TIMEOUT=${CONFORMANCE_TIMEOUT:-10800}
RUN_TIMEOUT=${CONFORMANCE_RUN_TIMEOUT:-1200}
ARGS=${CONFORMANCE_ARGS:-}
OUT=$TOP/build/conformance
VMNAME=conformance-vm
t0=$(date +%s)

# host_driver PORT: for every "SCST-CONF-HOST-READY TARGET CONFIG IQN/LUN"
# line of the guest console, runs the suite on the host against
# 127.0.0.1:PORT and PORT+1 (both forwarded to the guest's iSCSI port) and
# sends its output, then "SCST-HOST-RC <exit status>", to PORT+2 (the
# guest's 3261), where the guest case takes it like its own runs' output.
host_driver() {
	local p1=$1 log=$TOP/build/$VMNAME/console.log seen=0 n line i rc
	local raw ready
	while :; do
		sleep 2
		[ -f "$log" ] || continue
		ready=$(grep -a '^SCST-CONF-HOST-READY ' "$log" | tr -d '\r')
		n=$(printf '%s' "$ready" | grep -c .)
		while [ "$seen" -lt "$n" ]; do
			seen=$((seen + 1))
			line=$(printf '%s\n' "$ready" | sed -n "${seen}p")
			set -- $line
			raw=$OUT/host-$2-$3.raw
			echo "conformance: host runs the suite on $2 $3 ($4)" >&2
			# shellcheck disable=SC2086 # ARGS is a list of options
			timeout $((RUN_TIMEOUT - 60)) iscsi-test-cu -d $ARGS -t "$ISCSI_TESTS" \
				"iscsi://127.0.0.1:$p1/$4" "iscsi://127.0.0.1:$((p1 + 1))/$4" >"$raw" 2>&1
			rc=$?
			for i in 1 2 3 4 5; do
				{ cat "$raw"; echo "SCST-HOST-RC $rc"; } 2>/dev/null \
					>"/dev/tcp/127.0.0.1/$((p1 + 2))" && break
				sleep 2
			done
		done
	done
}

if [ -n "${CONFORMANCE_REPORT_ONLY:-}" ]; then
	# Re-parse the last run's console log (same CONFIGS and TARGETS).
	vm_rc=0
	[ -f "$OUT/vm-report.txt" ] && grep -q '^FAIL ' "$OUT/vm-report.txt" && vm_rc=1
else
	# A fresh top-level make: an inherited MAKEFLAGS (e.g. "w" from make -C)
	# would make the kernel scripts' $(make -s ...) captures print directories.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make modules || { echo "conformance: module build failed" >&2; exit 1; }

	rm -rf "$OUT"
	mkdir -p "$OUT"
	cases=$(mktemp -d)
	trap 'rm -rf "$cases"' EXIT
	cp "$TOP/tests/vm/conformance/conformance.sh" "$cases/"
	{
		echo "CONF_TESTS='$TESTS'"
		echo "CONF_ISCSI_TESTS='$ISCSI_TESTS'"
		echo "CONF_CONFIGS='$CONFIGS'"
		echo "CONF_TARGETS='$TARGETS'"
		echo "CONF_RUN_TIMEOUT=$RUN_TIMEOUT"
		echo "CONF_ARGS='$ARGS'"
	} >"$cases/conformance.conf"

	hpid=
	case " $TARGETS " in
	*h\ *)
		# Two host ports to the guest's iSCSI port (the two paths) and
		# one to the guest's port 3261, where the output goes back.
		p1=$((20000 + RANDOM % 20000))
		export SCST_VM_PORT=$p1 SCST_VM_FWD="$((p1 + 1)):3260 $((p1 + 2)):3261"
		rm -rf "$TOP/build/$VMNAME"
		host_driver "$p1" &
		hpid=$!
		;;
	esac
	"$TOP/tests/vm/run.sh" --name "$VMNAME" --extra-cases "$cases" --cases conformance \
		--timeout "$TIMEOUT" 2>&1 | tee "$OUT/vm-report.txt"
	vm_rc=${PIPESTATUS[0]}
	[ -n "$hpid" ] && { kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null; }
fi
LOG=$TOP/build/$VMNAME/console.log.txt
[ -f "$LOG" ] || { echo "conformance: no console log ($LOG)" >&2; exit 1; }
cp "$LOG" "$OUT/console.log.txt"

# Raw suite output per run.
for c in $CONFIGS; do
	for t in $TARGETS; do
		grep -a "^SCST-CONF-OUT $t/$c| " "$LOG" | sed "s,^SCST-CONF-OUT $t/$c| ,," >"$OUT/$t-$c.log"
	done
done

# Per-test results. CUnit's verbose mode prints "  Test: NAME ..." then the
# test's own messages, then "passed" or "FAILED" (on the same line when the
# test printed nothing), then for failures the numbered failed assertions.
# libiscsi reports a skip as "[SKIPPED] why" and CUnit counts it as passed:
# here a passed test that printed [SKIPPED] counts as SKIP (some tests skip
# only part of their checks; they count as SKIP too).
for c in $CONFIGS; do
	for t in $TARGETS; do
		awk -v t="$t" -v c="$c" '
		function flush() {
			if (test == "") return
			if (res == "") res = "MISSING"
			else if (res == "PASS" && skip) res = "SKIP"
			if (res == "FAIL" && fmsg != "") msg = fmsg
			gsub(/\t/, " ", msg)
			printf "%s\t%s\t%s\t%s\t%s\n", t, c, test, res, msg
			test = ""
		}
		function note(s) {
			sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s)
			if (s == "" || (s in said)) return
			said[s] = 1
			# msg: everything (one [SKIPPED] line at most); fmsg: all but
			# [SKIPPED] lines, used for failures. Each distinct line once,
			# about 600 characters at most: the raw log has everything.
			if (s ~ /\[SKIPPED\]/) {
				skip = 1
				if (msg ~ /\[SKIPPED\]/) return
			} else if (length(fmsg) <= 600) {
				fmsg = (fmsg == "" ? s : fmsg " | " s)
			} else if (fmsg !~ /\.\.\.$/) {
				fmsg = fmsg " | ..."
			}
			if (length(msg) <= 600) msg = (msg == "" ? s : msg " | " s)
			else if (msg !~ /\.\.\.$/) msg = msg " | ..."
		}
		/^Suite: / { flush(); suite = substr($0, 8); next }
		/^  Test: / {
			flush()
			line = substr($0, 9)
			i = index(line, " ...")
			test = suite "." substr(line, 1, i - 1)
			rest = substr(line, i + 4)
			res = ""; msg = ""; fmsg = ""; skip = 0; split("", said)
			if (rest ~ /passed$/) { res = "PASS"; sub(/passed$/, "", rest) }
			else if (rest ~ /FAILED$/) { res = "FAIL"; sub(/FAILED$/, "", rest) }
			# The result, then messages of what runs after the test (a
			# suite clean-up) on the same line: the result counts.
			else if (rest ~ /^passed /) { res = "PASS"; sub(/^passed /, "", rest) }
			else if (rest ~ /^FAILED /) { res = "FAIL"; sub(/^FAILED /, "", rest) }
			note(rest)
			next
		}
		/^Run Summary:/ { flush(); next }
		test == "" { next }
		res == "" && /^passed$/ { res = "PASS"; next }
		res == "" && /^FAILED$/ { res = "FAIL"; next }
		res == "" { note($0); next }
		res == "FAIL" && /^ +[0-9]+\. / { note($0); next }
		END { flush() }
		' "$OUT/$t-$c.log"
	done
done >"$OUT/results.tsv"

# Every run's start/end lines and harness errors.
runinfo=$(grep -a -E '^SCST-CONF-(END|ERROR) ' "$LOG" | sed 's/^SCST-CONF-//')

# Kernel-log findings (the patterns of tests/vm/report.sh), by the run that
# was going on: the first finding of each run with its first 60 lines goes
# to splat.txt.
. "$TOP/tests/vm/splat.sh"
splatinfo=$(splat_scan "$LOG" CONF "$OUT/splat.txt")

# The table: one row per test, columns config x target.
{
	echo "libiscsi $(dpkg-query -W -f '${Version}' libiscsi-bin 2>/dev/null || echo '?'): iscsi-test-cu -d${ARGS:+ $ARGS} -t $TESTS /dev/sgN (scst, lio); -t $ISCSI_TESTS iscsi://127.0.0.1/IQN/LUN iscsi://127.0.0.2/IQN/LUN (scsti, lioi, tgti, in the guest); iscsi://127.0.0.1:PORT/IQN/LUN iscsi://127.0.0.1:PORT+1/IQN/LUN (scsth, lioh, tgth, on the host)"
	echo
	awk -F'\t' -v configs="$CONFIGS" -v targets="$TARGETS" '
	BEGIN { nc = split(configs, C, " "); nt = split(targets, T, " ") }
	{
		k = $1 SUBSEP $2 SUBSEP $3; R[k] = $4
		if (!($3 in seen)) { seen[$3] = 1; order[++n] = $3 }
		tot[$1, $2, $4]++
	}
	END {
		w = 40
		printf "%-" w "s", "test"
		for (i = 1; i <= nc; i++) printf " %-" (6 * nt - 1) "s", substr(C[i], 1, 6 * nt - 1)
		printf "\n%-" w "s", ""
		for (i = 1; i <= nc; i++) for (j = 1; j <= nt; j++) printf " %-5s", T[j]
		printf "\n"
		for (x = 1; x <= n; x++) {
			name = order[x]; sub(/^LINUX\./, "", name)
			printf "%-" w "s", name
			for (i = 1; i <= nc; i++) for (j = 1; j <= nt; j++) {
				r = R[T[j], C[i], order[x]]
				printf " %-5s", (r == "" ? "-" : r)
			}
			printf "\n"
		}
		printf "\n%-12s %-6s %5s %5s %5s %5s\n", "config", "target", "pass", "fail", "skip", "other"
		for (i = 1; i <= nc; i++) for (j = 1; j <= nt; j++) {
			o = tot[T[j], C[i], "MISSING"] + 0
			printf "%-12s %-6s %5d %5d %5d %5d\n", C[i], T[j], tot[T[j], C[i], "PASS"], tot[T[j], C[i], "FAIL"], tot[T[j], C[i], "SKIP"], o
		}
	}' "$OUT/results.tsv"
	echo
	echo "runs:"
	echo "$runinfo" | sed 's/^/  /'
	echo
	echo "LIO passes, scst-rs fails (scst vs lio, scsti vs lioi, scsth vs lioh):"
	awk -F'\t' '
	BEGIN { peer["scst"] = "lio"; peer["scsti"] = "lioi"; peer["scsth"] = "lioh" }
	{ R[$1, $2, $3] = $4 }
	($1 in peer) { M[$1, $2, $3] = $5; if (!(($1, $2, $3) in o)) { o[$1, $2, $3] = 1; ord[++n] = $1 SUBSEP $2 SUBSEP $3 } }
	END {
		for (x = 1; x <= n; x++) {
			split(ord[x], p, SUBSEP)
			if (R[ord[x]] == "FAIL" && R[peer[p[1]], p[2], p[3]] == "PASS") { printf "  %-6s %-10s %s: %s\n", p[1], p[2], p[3], M[ord[x]]; k++ }
		}
		if (!k) print "  (none)"
	}' "$OUT/results.tsv"
	if grep -q '^tgti	' "$OUT/results.tsv"; then
		echo
		echo "tgt passes, scst-rs fails (scsti vs tgti):"
		awk -F'\t' '{ R[$1, $2, $3] = $4; if ($1 == "scsti") { M[$2, $3] = $5; if (!(($2, $3) in o)) { o[$2, $3] = 1; ord[++n] = $2 SUBSEP $3 } } }
		END {
			for (x = 1; x <= n; x++) {
				split(ord[x], p, SUBSEP)
				if (R["scsti", p[1], p[2]] == "FAIL" && R["tgti", p[1], p[2]] == "PASS") { printf "  %-10s %s: %s\n", p[1], p[2], M[ord[x]]; k++ }
			}
			if (!k) print "  (none)"
		}' "$OUT/results.tsv"
	fi
	echo
	if [ -n "$splatinfo" ]; then
		echo "kernel-log findings (first 60 lines of each in build/conformance/splat.txt):"
		echo "$splatinfo"
	else
		echo "kernel log: clean"
	fi
	echo
	echo "VM run: $([ "$vm_rc" = 0 ] && echo ok || echo "FAILED (exit $vm_rc; see build/conformance/vm-report.txt)"); total time $(($(date +%s) - t0)) s"
} | tee "$OUT/table.txt"

# Markdown for Documentation/conformance.md: totals, then the tests scst-rs
# fails where LIO (over the same transport) does not.
awk -F'\t' -v configs="$CONFIGS" '
BEGIN { nc = split(configs, C, " "); peer["scst"] = "lio"; peer["scsti"] = "lioi"; peer["scsth"] = "lioh"
	name["scst"] = "scst-rs scst_local"; name["lio"] = "LIO tcm_loop"
	name["scsti"] = "scst-rs iSCSI"; name["lioi"] = "LIO iSCSI"; name["tgti"] = "Debian tgt iSCSI"
	name["scsth"] = "scst-rs iSCSI from the host"; name["lioh"] = "LIO iSCSI from the host"
	name["tgth"] = "Debian tgt iSCSI from the host" }
{ tot[$1, $2, $4]++; seen[$1] = 1; R[$1, $2, $3] = $4
  if ($1 in peer) { M[$1, $2, $3] = $5; if (!(($1, $2, $3) in o)) { o[$1, $2, $3] = 1; ord[++n] = $1 SUBSEP $2 SUBSEP $3 } } }
END {
	print "| target | configuration | pass | fail | skip |"
	print "|---|---|---|---|---|"
	split("scst lio scsti lioi tgti scsth lioh tgth", T, " ")
	for (j = 1; j <= 8; j++) if (T[j] in seen) for (i = 1; i <= nc; i++)
		printf "| %s | %s | %d | %d | %d |\n", name[T[j]], C[i], tot[T[j], C[i], "PASS"], tot[T[j], C[i], "FAIL"], tot[T[j], C[i], "SKIP"]
	print ""
	print "| target | configuration | test | scst-rs | LIO | scst-rs message |"
	print "|---|---|---|---|---|---|"
	for (x = 1; x <= n; x++) {
		split(ord[x], p, SUBSEP)
		l = R[peer[p[1]], p[2], p[3]]
		if (R[ord[x]] == "FAIL" && l != "FAIL") {
			m = M[ord[x]]; gsub(/\|/, "\\|", m)
			printf "| %s | %s | %s | %s | %s | %s |\n", p[1], p[2], p[3], R[ord[x]], l, m
		}
	}
}' "$OUT/results.tsv" >"$OUT/summary.md"

exit "$vm_rc"
