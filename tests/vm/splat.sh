# SPDX-License-Identifier: GPL-2.0
# Kernel-log findings, shared by the VM report (tests/vm/report.sh) and the
# measurement drivers (scripts/conformance.sh, scripts/bench.sh). Sourced.

# Any of these in a guest console log fails a run.
SPLAT_RE='(WARNING:|BUG:|Oops|kernel BUG at|general protection fault|Unable to handle|Kernel panic|KASAN:|UBSAN:|possible recursive locking|possible circular locking|inconsistent lock state|DEBUG_LOCKS_WARN_ON|suspicious RCU usage|sleeping function called from invalid context|scheduling while atomic|panicked at|rust_panic|blocked for more than|soft lockup|hard LOCKUP|self-detected stall|new suspected memory leak|unreferenced object 0x)'

# splat_scan LOG TAG OUT: findings in LOG grouped by the run that was going
# on (between "SCST-<TAG>-BEGIN a b" and "SCST-<TAG>-END a b" markers),
# one line per run on stdout (nothing when the log is clean); the first 60
# console lines of each run's first finding go to OUT.
splat_scan() {
	local log=$1 tag=$2 out=$3 info l
	info=$(awk -v re="$SPLAT_RE" -v b="SCST-$tag-BEGIN " -v e="SCST-$tag-END " '
		function run(m) { split(substr($0, index($0, m) + length(m)), f, " "); return f[1] " " f[2] }
		index($0, b) { where = "during " run(b); next }
		index($0, e) { where = "after " run(e) " (tear-down)"; next }
		/^SCST-KMEMLEAK-BEGIN/ { where = "in the final kmemleak scan"; next }
		$0 ~ re {
			w = (where == "" ? "before the first run" : where)
			n[w]++
			if (n[w] == 1) { order[++k] = w; first[w] = NR ": " substr($0, 1, 150) }
		}
		END { for (i = 1; i <= k; i++) printf "  %s: %d finding line(s), first at console line %s\n", order[i], n[order[i]], first[order[i]] }
	' "$log")
	: >"$out"
	[ -n "$info" ] || return 0
	echo "$info" | sed -n 's/.*first at console line \([0-9]*\):.*/\1/p' | while read -r l; do
		echo "==== console.log.txt line $l ===="
		sed -n "$l,$((l + 59))p" "$log"
	done >"$out"
	echo "$info"
}
