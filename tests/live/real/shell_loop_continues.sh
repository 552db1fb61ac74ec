#!/usr/bin/env bash
# Proves: a POSIX shell loop (dash, a real program nobody here wrote) that
# counts in a variable and writes the count to a file every 0.1 s, forking
# `sleep` each round, continues after restore from where it was: the count
# never goes back (a fresh start would begin at 1 again) and keeps rising.
#
#   shell_loop_continues.sh WORKDIR              start (execs sh -c 'loop')
#   shell_loop_continues.sh --ready WORKDIR PID  exit 0 once it has counted to 5
#   shell_loop_continues.sh --check WORKDIR PID  the verdict (run-scenario.sh --check-cmd)
set -uo pipefail

# The loop rewrites f with `>`: a read may catch it empty, so retry.
count() {
  local v
  for _ in $(seq 50); do
    v=$(cat "$1/f" 2>/dev/null)
    [ -n "$v" ] && { echo "$v"; return; }
    sleep 0.01
  done
  echo 0
}

case ${1:-} in
--ready)
  v=$(count "$2")
  [ "$v" -ge 5 ] || exit 1
  echo "$v" >"$2/ready-count"
  exit 0
  ;;
--check)
  wd=$2 pid=$3
  v1=$(count "$wd")
  sleep 0.5
  v2=$(count "$wd")
  v0=$(cat "$wd/ready-count")
  [ -d "/proc/$pid" ] || { echo "the shell (PID $pid) is gone"; exit 1; }
  [ "$v1" -ge "$v0" ] || { echo "the count went back from $v0 to $v1 (restarted from scratch?)"; exit 1; }
  [ "$v2" -gt "$v1" ] || { echo "the shell stopped counting at $v1"; exit 1; }
  echo "the shell kept counting: $v0 at ready, $v1, then $v2"
  exit 0
  ;;
esac
exec sh -c 'i=0; while :; do i=$((i+1)); echo $i > "$1/f"; sleep 0.1; done' sh "$1"
