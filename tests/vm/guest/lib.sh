# SPDX-License-Identifier: GPL-2.0
# In-guest test helpers. Each check prints one marker line the host parses:
#   SCST-TEST: PASS <case>: <name>
#   SCST-TEST: FAIL <case>: <name>: <why>
# A case script's exit status is also checked by the host.

MODDIR=/lib/modules/$(uname -r)/extra
_failed=0

pass() { echo "SCST-TEST: PASS $SCST_CASE: $1"; }
fail() { echo "SCST-TEST: FAIL $SCST_CASE: $1: $2"; _failed=1; }

# check NAME CMD...: passes if CMD succeeds.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "'$*' failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# check_fails NAME CMD...: passes if CMD fails.
check_fails() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then fail "$name" "'$*' succeeded but should fail"; else pass "$name"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

# check_grep NAME PATTERN FILE: passes if FILE contains PATTERN.
check_grep() {
	if grep -q -- "$2" "$3" 2>/dev/null; then pass "$1"; else fail "$1" "'$2' not in $3"; fi
}

# Exit status of a case: non-zero if any check failed.
done_case() { exit $_failed; }
