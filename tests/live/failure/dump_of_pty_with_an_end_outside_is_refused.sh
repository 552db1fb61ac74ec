#!/usr/bin/env bash
# Proves: a pty is dumped only when the tree holds both its ends.
# - A session leader on a pty slave whose master an outside process holds
#   (a terminal emulator's child): `stasis dump` without --shell-job fails
#   with one line naming the process, the fd, /dev/pts/N and --shell-job.
# - A process holding a pty master whose slave is open outside the tree:
#   one line naming /dev/pts/N and the outside process.
# Each time: no inventory.img, the target still runs, untraced, with its fds.
. "$(dirname "$0")/common.sh"

# check_refused MODE NEEDLE WORDS...: starts `pty_end_outside MODE`, dumps its
# child, expects one error line with NEEDLE (a word) and every WORD.
check_refused() {
  local mode=$1 needle=$2 ready=$tmp/$1.ready holder pid link
  shift 2
  setsid "$bin/pty_end_outside" "$mode" "$ready" </dev/null >"$tmp/$mode.log" 2>&1 &
  holder=$!
  started+=("$holder")
  for _ in $(seq 1500); do [ -s "$ready" ] && break; sleep 0.02; done
  [ -s "$ready" ] || fail "pty_end_outside $mode never got ready"
  pid=$(cat "$ready")
  started+=("$pid")
  link=$(readlink "/proc/$pid/fd/0")
  mkdir "$tmp/images-$mode"
  expect_clean_failure "dump of PID $pid ($mode)" "$needle" "dump-$mode" \
    "$stasis" dump -t "$pid" -D "$tmp/images-$mode" -o "$tmp/dump-$mode.log" -v4
  for word in "process $pid" "$@"; do
    grep -qF -- "$word" "$tmp/dump-$mode.err" || fail "the error does not name '$word': $(cat "$tmp/dump-$mode.err")"
  done
  [ -e "$tmp/images-$mode/inventory.img" ] && fail "a failed dump wrote inventory.img"
  kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
  [ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"
  [ "$(readlink "/proc/$pid/fd/0")" = "$link" ] || fail "fd 0 of PID $pid is no longer $link"
  kill -KILL "$holder" "$pid" 2>/dev/null
  wait "$holder" 2>/dev/null
}

check_refused slave-inside --shell-job "fd 0"
slave_err=$(cat "$tmp/dump-slave-inside.err")
grep -qE '/dev/pts/[0-9]+' <<<"$slave_err" || fail "the error does not name the pty: $slave_err"
check_refused master-inside outside
master_err=$(cat "$tmp/dump-master-inside.err")
grep -qE 'also open in process [0-9]+' <<<"$master_err" || fail "the error does not name the outside process: $master_err"
pass "$slave_err / $master_err"
