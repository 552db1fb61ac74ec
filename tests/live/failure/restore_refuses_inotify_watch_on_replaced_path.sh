#!/usr/bin/env bash
# Proves: a restore whose inotify watch target changed since the dump — the
# watched directory replaced by another one of the same name, then removed
# — is refused before anything is created, with one line on stderr naming
# the path, leaving no process with the PID behind and the images
# byte-identical.
. "$(dirname "$0")/common.sh"

prog=$bin/files_inotify_keeps_watch_numbers_and_events
mkdir "$tmp/images"
start_target "$prog"
watched=$tmp/work/watched_b
[ -d "$watched" ] || fail "the target made no $watched"

"$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4 2>"$tmp/dump.err" ||
  fail "dump failed: $(cat "$tmp/dump.err")"
for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
[ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"
grep -q "inotify events are queued" "$tmp/dump.log" || fail "the dump log does not say events were queued"
images_before=$(cd "$tmp/images" && sha256sum ./*)

rmdir "$watched" && mkdir "$watched" || fail "cannot replace $watched"
expect_clean_failure "restore with $watched replaced" "watched_b" restore-replaced \
  "$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4
grep -q "another file" "$tmp/restore-replaced.err" || fail "the error does not say the path names another file"
[ -d "/proc/$pid" ] && fail "a refused restore left PID $pid behind"

rmdir "$watched" || fail "cannot remove $watched"
expect_clean_failure "restore with $watched gone" "gone" restore-gone \
  "$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4
[ -d "/proc/$pid" ] && fail "a refused restore left PID $pid behind"
images_after=$(cd "$tmp/images" && sha256sum ./*)
[ "$images_before" = "$images_after" ] || fail "a refused restore changed the images"
pass "$(cat "$tmp/restore-replaced.err") / $(cat "$tmp/restore-gone.err")"
