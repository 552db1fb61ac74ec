#!/usr/bin/env bash
# Proves the parent checks of incremental dumps: a pre-dump directory is
# not restorable by itself (one line saying it is a pre-dump); a dump on
# top of a missing parent fails naming it and leaves the target running,
# untraced; a restore whose parent directory was replaced by another
# pre-dump of the same process is refused (the parent's inventory changed)
# and starts nothing; with the right parent back, it restores and the
# program's own check passes.
. "$(dirname "$0")/common.sh"

prog=$bin/memory_heap_and_anonymous_keep_content
mkdir "$tmp/images" "$tmp/pre1" "$tmp/other"
start_target "$prog"

# Without dirty tracking: two independent pre-dumps of one process (a
# tracked process belongs to one chain of pre-dumps at a time).
for d in pre1 other; do
  STASIS_DIRTY_TRACKING=content "$stasis" pre-dump -t "$pid" -D "$tmp/$d" -o "$tmp/$d.log" -v4 2>"$tmp/$d.err" ||
    fail "pre-dump into $d failed: $(cat "$tmp/$d.err")"
done
expect_clean_failure "restore of a pre-dump" "pre-dump" restore-pre \
  "$stasis" restore -D "$tmp/pre1" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore-pre.log" -v4

expect_clean_failure "dump on a missing parent" "nowhere" dump-missing \
  "$stasis" dump -t "$pid" -D "$tmp/images" --prev-images-dir ../nowhere -o "$tmp/dump-missing.log" -v4
expect_running_untraced "a failed dump"

"$stasis" dump -t "$pid" -D "$tmp/images" --prev-images-dir ../pre1 -o "$tmp/dump.log" -v4 2>"$tmp/dump.err" ||
  fail "dump on pre1 failed: $(cat "$tmp/dump.err")"
for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
[ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"

mv "$tmp/pre1" "$tmp/pre1.real"
mv "$tmp/other" "$tmp/pre1"
expect_clean_failure "restore on a replaced parent" "changed" restore-replaced \
  "$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore-replaced.log" -v4
[ -d "/proc/$pid" ] && fail "a refused restore left PID $pid behind"

mv "$tmp/pre1" "$tmp/other"
mv "$tmp/pre1.real" "$tmp/pre1"
"$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4 2>"$tmp/restore.err" ||
  fail "restore with the right parent failed: $(cat "$tmp/restore.err")"
expect_own_check_passes
pass "$(cat "$tmp/restore-pre.err") / $(cat "$tmp/restore-replaced.err")"
