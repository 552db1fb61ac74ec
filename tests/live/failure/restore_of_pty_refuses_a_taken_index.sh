#!/usr/bin/env bash
# Proves: a pty comes back with its own index or not at all. After the dump
# of a tree on its own pty /dev/pts/N, another process takes /dev/pts/N;
# `stasis restore` refuses with one line naming /dev/pts/N, leaves no
# process with the PID behind and the images untouched. Once the index is
# free again, the same images restore and the program's own check passes.
. "$(dirname "$0")/common.sh"

prog=$bin/tree_pty_pair_keeps_index_termios_and_controlling_terminal
mkdir "$tmp/images"
start_target "$prog"
index=$(cat "$tmp/work/pty.index")
[ -n "$index" ] || fail "the target recorded no pty index"

"$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4 2>"$tmp/dump.err" ||
  fail "dump failed: $(cat "$tmp/dump.err")"
for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
[ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"
images_before=$(cd "$tmp/images" && sha256sum ./*)

"$bin/pty_end_outside" hold-index "$index" "$tmp/holder.ready" </dev/null >"$tmp/holder.log" 2>&1 &
holder=$!
started+=("$holder")
for _ in $(seq 1500); do [ -s "$tmp/holder.ready" ] && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.02; done
if [ ! -s "$tmp/holder.ready" ]; then
  wait "$holder"
  [ $? = 77 ] && skip "/dev/pts/$index was taken by someone else right after the dump"
  fail "the holder of /dev/pts/$index never got ready"
fi
expect_clean_failure "restore with /dev/pts/$index taken" "/dev/pts/$index" restore-taken \
  "$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4
[ -d "/proc/$pid" ] && fail "a refused restore left PID $pid behind"
images_after=$(cd "$tmp/images" && sha256sum ./*)
[ "$images_before" = "$images_after" ] || fail "a refused restore changed the images"

kill -KILL "$holder"
wait "$holder" 2>/dev/null
for _ in $(seq 1500); do [ -e "/dev/pts/$index" ] || break; sleep 0.02; done
"$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4 \
  2>"$tmp/restore.err" || fail "restore with /dev/pts/$index free again failed: $(cat "$tmp/restore.err")"
expect_own_check_passes
pass "$(cat "$tmp/restore-taken.err")"
