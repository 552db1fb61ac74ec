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

pre_dump_keeping_tracking pre1
[ -d "/proc/$keeper" ] || fail "the keeper $keeper of pre-dump 1 is not running"

STASIS_FAULT=pre-dump-frozen "$stasis" pre-dump -t "$pid" -D "$tmp/pre2" --prev-images-dir ../pre1 \
  -o "$tmp/pre2.log" -v4 2>"$tmp/pre2.err" && fail "pre-dump 2 succeeded although STASIS_FAULT=pre-dump-frozen"
[ -e "$tmp/pre2/inventory.img" ] && fail "a failed pre-dump left an inventory.img"
expect_left_running_and_keeper_gone "a failed pre-dump"

"$stasis" dump -t "$pid" -D "$tmp/images" --prev-images-dir ../pre1 -o "$tmp/dump.log" -v4 2>"$tmp/dump.err" ||
  fail "dump on pre1 failed: $(cat "$tmp/dump.err")"
grep -q "dirty tracking of ../pre1 is gone" "$tmp/dump.log" && grep -q "changes found by content" "$tmp/dump.log" ||
  fail "the dump did not fall back to comparing memory: $(grep -m1 'changes found by' "$tmp/dump.log")"
expect_restored_from images
pass "$(grep -o 'the dirty tracking of.*' "$tmp/dump.log" | head -n1)"
