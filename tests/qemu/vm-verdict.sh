#!/usr/bin/env bash
# The verdict of one scenario in a VM tier console log (tests/qemu/run-vm.sh
# writes it): prints the guest's line and, after a failure, the log tails
# the guest printed for it.
#
#   tests/qemu/vm-verdict.sh CONSOLE_LOG ARCH SCENARIO
#
# Exit status: 0 PASS, 77 SKIP, 1 FAIL (also when the guest never reported
# the scenario because it died or was stopped before), 2 usage. A failure
# listed for this arch in tests/qemu/known-failures.txt is an expected
# failure: it prints XFAIL with the listed reason and exits 0.
set -uo pipefail
[ $# -eq 3 ] || { sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
log=$1 arch=$2 scenario=$3
here=$(cd "$(dirname "$0")" && pwd)
known=$(awk -v a="$arch" -v s="$scenario" '$1 == a && ($2 == s || $2 == "*") { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' \
        "$here/known-failures.txt" 2>/dev/null)
# Every failure path ends here.
fail() {
  if [ -n "$known" ]; then
    echo "XFAIL: $arch $scenario is a known failure (tests/qemu/known-failures.txt: $known)"
    exit 0
  fi
  exit 1
}

if [ ! -s "$log" ]; then
  echo "$scenario: FAIL: no console log $log (did vm.$arch.boot run?)"
  fail
fi
line=$(grep -E "^STASIS-VM $arch $scenario (PASS|FAIL|SKIP)( |$)" "$log" | tail -1)
if [ -z "$line" ]; then
  if ! grep -q "STASIS-VM $arch BEGIN" "$log"; then
    echo "$scenario: FAIL: the $arch guest never started its scenarios (see $log)"
    fail
  fi
  if grep -q "^STASIS-VM $arch $scenario START" "$log"; then
    echo "$scenario: FAIL: the $arch guest died or was stopped during this scenario; end of console:"
    sed -n "/^STASIS-VM $arch $scenario START/,\$p" "$log" | tail -n 60
    fail
  fi
  if grep -q "^STASIS-VM $arch END" "$log"; then
    echo "$scenario: SKIP: not run in this boot (not in the guest's list, or left out by STASIS_VM_ONLY)"
    exit 77
  fi
  echo "$scenario: FAIL: the $arch guest stopped before it reached this scenario (see $log)"
  fail
fi

result=$(cut -d' ' -f4 <<<"$line")
echo "$line"
case $result in
  PASS) [ -n "$known" ] && echo "XPASS: listed in tests/qemu/known-failures.txt ($known) but passed: remove the entry"
        exit 0 ;;
  SKIP) exit 77 ;;
esac
# The tails the guest printed for this scenario, up to the next scenario.
awk -v a="$arch" -v s="$scenario" '
  $0 ~ "^STASIS-VM " a " " s " (PASS|FAIL|SKIP)( |$)" { on = 1; next }
  on && $0 ~ "^STASIS-VM " a " [^ ]+ START" { exit }
  on { print }' "$log"
fail
