#!/usr/bin/env bash
# Proves: a Python interpreter (a real program nobody here wrote) holding
# state in a loop — a counter and a dict it cross-checks every round —
# continues after restore from where it was: its progress file holds every
# number exactly once, in order (a fresh start would repeat them), it keeps
# counting, and its own consistency check never failed.
#
#   python_counter_continues.sh WORKDIR            start (execs python3)
#   python_counter_continues.sh --ready WORKDIR PID   exit 0 once it has counted a while
#   python_counter_continues.sh --check WORKDIR PID   the verdict (run-scenario.sh --check-cmd)
set -uo pipefail

lines() { wc -l <"$1/progress" 2>/dev/null || echo 0; }

case ${1:-} in
--ready)
  n=$(lines "$2")
  [ "$n" -ge 20 ] || exit 1
  echo "$n" >"$2/ready-count"
  exit 0
  ;;
--check)
  wd=$2 pid=$3
  [ -e "$wd/python-failed" ] && { echo "python's own check failed: $(cat "$wd/python-failed")"; exit 1; }
  n1=$(lines "$wd")
  sleep 0.5
  n2=$(lines "$wd")
  [ -e "$wd/python-failed" ] && { echo "python's own check failed: $(cat "$wd/python-failed")"; exit 1; }
  [ -d "/proc/$pid" ] || { echo "python (PID $pid) is gone"; exit 1; }
  [ "$n1" -ge "$(cat "$wd/ready-count")" ] || { echo "progress went back: $n1 lines, $(cat "$wd/ready-count") at ready"; exit 1; }
  [ "$n2" -gt "$n1" ] || { echo "python stopped counting at $n1"; exit 1; }
  # Every number once, in order: 1..N.
  bad=$(awk 'NR != $1 { print "line " NR " holds " $1; exit }' "$wd/progress")
  [ -z "$bad" ] || { echo "progress is not 1..N: $bad (restarted from scratch?)"; exit 1; }
  echo "python kept counting: $n1 then $n2, every number once"
  exit 0
  ;;
esac

wd=$1
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || {
  echo "SKIP: no python3 installed" >"$wd/verdict"
  exit 0
}
exec "$python" -c '
import os, sys, time
wd = sys.argv[1]
progress = open(os.path.join(wd, "progress"), "a", buffering=1)
buckets = {}
total = 0
i = 0
while True:
    i += 1
    buckets[i % 101] = buckets.get(i % 101, 0) + i
    total += i
    if sum(buckets.values()) != total or total != i * (i + 1) // 2:
        with open(os.path.join(wd, "python-failed"), "w") as f:
            f.write("state inconsistent at %d\n" % i)
        sys.exit(1)
    progress.write("%d\n" % i)
    time.sleep(0.02)
' "$wd"
