#!/usr/bin/env bash
# Proves: coreutils `sleep 1000` (a real program nobody here wrote) is still
# asleep after restore — alive, sleeping, same command line, using no CPU —
# and then ends cleanly on SIGTERM.
#
#   sleep_stays_asleep.sh WORKDIR              start (execs sleep 1000)
#   sleep_stays_asleep.sh --ready WORKDIR PID  exit 0 once sleep runs
#   sleep_stays_asleep.sh --check WORKDIR PID  the verdict (run-scenario.sh --check-cmd)
set -uo pipefail

state() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }

case ${1:-} in
--ready)
  [ "$(cat "/proc/$3/comm" 2>/dev/null)" = sleep ] && [ "$(state "$3")" = S ]
  exit
  ;;
--check)
  pid=$3
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] || { echo "PID $pid is not sleep any more"; exit 1; }
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [ "$cmd" = "sleep 1000 " ] || { echo "command line is '$cmd'"; exit 1; }
  t0=$(cputicks "$pid")
  for _ in 1 2 3; do
    s=$(state "$pid")
    [ "$s" = S ] || { echo "sleep is in state '$s', not asleep"; exit 1; }
    sleep 0.1
  done
  t1=$(cputicks "$pid")
  [ "$((t1 - t0))" -le 2 ] || { echo "sleep used $((t1 - t0)) ticks of CPU in 0.3 s"; exit 1; }
  kill -TERM "$pid"
  for _ in $(seq 50); do
    s=$(state "$pid")
    if [ -z "$s" ] || [ "$s" = Z ]; then
      echo "asleep after restore; ended by SIGTERM"
      exit 0
    fi
    sleep 0.1
  done
  echo "sleep did not end within 5 s of SIGTERM (state $(state "$pid"))"
  exit 1
  ;;
esac
exec sleep 1000
