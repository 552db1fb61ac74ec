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

pre_dump_keeping_tracking pre1

STASIS_FAULT=pre-dump-copied expect_clean_failure "a dump whose pre-copy pass fails" pre-copy dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" --prev-images-dir ../pre1 -o "$tmp/dump.log" -v4
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump left an inventory.img"
[ -e "$tmp/images/pre-copy/inventory.img" ] && fail "a failed pre-copy pass left an inventory.img"
expect_left_running_and_keeper_gone "a failed pre-copy pass"

"$stasis" dump -t "$pid" -D "$tmp/images2" --prev-images-dir ../pre1 -o "$tmp/dump2.log" -v4 2>"$tmp/dump2.err" ||
  fail "the second dump failed: $(cat "$tmp/dump2.err")"
grep -q "no pre-copy pass (the dirty tracking of the parent images is gone)" "$tmp/dump2.log" ||
  fail "the second dump did not skip its pass for want of tracking: $(grep -m1 'pre-copy' "$tmp/dump2.log")"
grep -q "changes found by content" "$tmp/dump2.log" ||
  fail "the second dump did not compare memory: $(grep -m1 'changes found by' "$tmp/dump2.log")"
expect_restored_from images2
pass "$(head -c 200 "$tmp/dump.err")"
