#!/usr/bin/env bash
# Proves: `stasis dump` of a process with an inotify watch on a file that
# was deleted while open (the watch lives on; no path names its target, so
# the restore could not watch it again) fails with one line on stderr that
# names the watch and says the file was deleted, writes no inventory.img,
# and leaves the process running, untraced.
. "$(dirname "$0")/common.sh"

mkdir "$tmp/work"
setsid "$bin/inotify_watching_deleted_file" "$tmp/work" </dev/null >"$tmp/prog.log" 2>&1 &
pid=$!
started+=("$pid")
for _ in $(seq 1500); do [ -e "$tmp/work/ready" ] && break; sleep 0.02; done
[ -e "$tmp/work/ready" ] || fail "inotify_watching_deleted_file never got ready"
mkdir "$tmp/images"
expect_clean_failure "dump of PID $pid with an inotify watch on a deleted file" "deleted" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
grep -q "inotify watch wd 1" "$tmp/dump.err" || fail "the error does not name watch wd 1: $(cat "$tmp/dump.err")"
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"
[ "$(pid_state "$pid")" = S ] || fail "PID $pid is in state $(pid_state "$pid"), not sleeping"
pass "$(cat "$tmp/dump.err")"
