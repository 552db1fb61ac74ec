#!/usr/bin/env bash
# Proves what a dump whose pre-copy pass fails leaves: one error line naming
# the pass, the target running and untraced, no inventory.img; and since the
# pass had consumed the tracking of its parent, a second dump on top of the
# same parent compares memory instead of trusting tracking, makes no pass,
# and the restored program passes its check.
. "$(dirname "$0")/common.sh"

prog=$bin/memory_heap_and_anonymous_keep_content
mkdir "$tmp/images" "$tmp/images2" "$tmp/pre1"
start_target "$prog"

"$stasis" pre-dump -t "$pid" -D "$tmp/pre1" -o "$tmp/pre1.log" -v4 2>"$tmp/pre1.err" ||
  fail "pre-dump failed: $(cat "$tmp/pre1.err")"
keeper=$(sed -n 's/.*dirty tracking kept by process \([0-9]*\).*/\1/p' "$tmp/pre1.log")
if [ -z "$keeper" ]; then
  skip "this kernel tracks dirty pages without a keeper ($(grep -o 'dirty tracking for the next dump: .*' "$tmp/pre1.log"))"
fi
started+=("$keeper")

STASIS_FAULT=pre-dump-copied expect_clean_failure "a dump whose pre-copy pass fails" pre-copy dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" --prev-images-dir ../pre1 -o "$tmp/dump.log" -v4
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump left an inventory.img"
[ -e "$tmp/images/pre-copy/inventory.img" ] && fail "a failed pre-copy pass left an inventory.img"
sleep 0.2
case $(pid_state "$pid") in S|R) ;; *) fail "the target is not running after the failed dump ($(pid_state "$pid"))" ;; esac
[ "$(tracer_of "$pid")" = 0 ] || fail "the target is still traced after the failed dump"
for _ in $(seq 100); do [ -d "/proc/$keeper" ] || break; sleep 0.05; done
[ -d "/proc/$keeper" ] && fail "the keeper of the pre-dump survived a pass that consumed its tracking"

"$stasis" dump -t "$pid" -D "$tmp/images2" --prev-images-dir ../pre1 -o "$tmp/dump2.log" -v4 2>"$tmp/dump2.err" ||
  fail "the second dump failed: $(cat "$tmp/dump2.err")"
grep -q "no pre-copy pass (the dirty tracking of the parent images is gone)" "$tmp/dump2.log" ||
  fail "the second dump did not skip its pass for want of tracking: $(grep -m1 'pre-copy' "$tmp/dump2.log")"
grep -q "changes found by content" "$tmp/dump2.log" ||
  fail "the second dump did not compare memory: $(grep -m1 'changes found by' "$tmp/dump2.log")"
for _ in $(seq 250); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
[ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"
"$stasis" restore -D "$tmp/images2" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4 2>"$tmp/restore.err" ||
  fail "restore failed: $(cat "$tmp/restore.err")"
expect_own_check_passes
pass "$(head -c 200 "$tmp/dump.err")"
