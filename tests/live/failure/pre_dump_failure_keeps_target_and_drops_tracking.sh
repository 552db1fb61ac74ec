#!/usr/bin/env bash
# Proves what a failed pre-dump leaves: the target running, untraced, and no
# inventory.img; and since it had already consumed the dirty tracking of
# its parent (scanned and re-armed it), that parent's keeper is gone, so a
# dump on top of the parent does not trust tracking any more: it says so
# and compares memory instead, and the restored program passes its check.
. "$(dirname "$0")/common.sh"

prog=$bin/memory_heap_and_anonymous_keep_content
mkdir "$tmp/images" "$tmp/pre1" "$tmp/pre2"
start_target "$prog"

"$stasis" pre-dump -t "$pid" -D "$tmp/pre1" -o "$tmp/pre1.log" -v4 2>"$tmp/pre1.err" ||
  fail "pre-dump 1 failed: $(cat "$tmp/pre1.err")"
keeper=$(sed -n 's/.*dirty tracking kept by process \([0-9]*\).*/\1/p' "$tmp/pre1.log")
if [ -z "$keeper" ]; then
  skip "this kernel tracks dirty pages without a keeper ($(grep -o 'dirty tracking for the next dump: .*' "$tmp/pre1.log"))"
fi
started+=("$keeper")
[ -d "/proc/$keeper" ] || fail "the keeper $keeper of pre-dump 1 is not running"

STASIS_FAULT=pre-dump-frozen "$stasis" pre-dump -t "$pid" -D "$tmp/pre2" --prev-images-dir ../pre1 \
  -o "$tmp/pre2.log" -v4 2>"$tmp/pre2.err" && fail "pre-dump 2 succeeded although STASIS_FAULT=pre-dump-frozen"
[ -e "$tmp/pre2/inventory.img" ] && fail "a failed pre-dump left an inventory.img"
sleep 0.2
case $(pid_state "$pid") in S|R) ;; *) fail "the target is not running after a failed pre-dump ($(pid_state "$pid"))" ;; esac
[ "$(tracer_of "$pid")" = 0 ] || fail "the target is still traced after a failed pre-dump"
for _ in $(seq 100); do [ -d "/proc/$keeper" ] || break; sleep 0.05; done
[ -d "/proc/$keeper" ] && fail "the keeper of pre-dump 1 survived a pre-dump that consumed its tracking"

"$stasis" dump -t "$pid" -D "$tmp/images" --prev-images-dir ../pre1 -o "$tmp/dump.log" -v4 2>"$tmp/dump.err" ||
  fail "dump on pre1 failed: $(cat "$tmp/dump.err")"
grep -q "dirty tracking of ../pre1 is gone" "$tmp/dump.log" && grep -q "changes found by content" "$tmp/dump.log" ||
  fail "the dump did not fall back to comparing memory: $(grep -m1 'changes found by' "$tmp/dump.log")"
for _ in $(seq 250); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
[ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"
"$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4 2>"$tmp/restore.err" ||
  fail "restore failed: $(cat "$tmp/restore.err")"
expect_own_check_passes
pass "$(grep -o 'the dirty tracking of.*' "$tmp/dump.log" | head -n1)"
