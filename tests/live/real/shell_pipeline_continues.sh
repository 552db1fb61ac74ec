#!/usr/bin/env bash
# Proves: a POSIX shell pipeline (dash, real programs nobody here wrote)
# keeps flowing after restore. The left side counts, one line every 0.05 s
# (forking `sleep` each round); the right side, another process, reads the
# lines through the pipe, writes the last one to a file and notes any line
# that is not the one after the previous (a line lost, doubled or torn in
# the pipe). After restore the count never goes back, keeps rising, and no
# gap was noted.
#
#   shell_pipeline_continues.sh WORKDIR              start (execs the pipeline)
#   shell_pipeline_continues.sh --ready WORKDIR PID  exit 0 once 5 lines went through
#   shell_pipeline_continues.sh --check WORKDIR PID  the verdict (run-scenario.sh --check-cmd)
set -uo pipefail

# The reader rewrites f with `>`: a read may catch it empty, so retry.
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
  [ -d "/proc/$pid" ] || { echo "the pipeline's shell (PID $pid) is gone"; exit 1; }
  [ "$v1" -ge "$v0" ] || { echo "the count went back from $v0 to $v1 (restarted from scratch?)"; exit 1; }
  [ "$v2" -gt "$v1" ] || { echo "the pipeline stopped at $v1"; exit 1; }
  [ ! -s "$wd/gaps" ] || { echo "lines went wrong in the pipe: $(head -3 "$wd/gaps")"; exit 1; }
  echo "the pipeline kept flowing: $v0 at ready, $v1, then $v2, no line lost or doubled"
  exit 0
  ;;
esac
exec sh -c '
  i=0; while :; do i=$((i+1)); echo "$i"; sleep 0.05; done |
  { prev=0; while read -r n; do
      [ "$n" = "$((prev + 1))" ] || echo "after $prev came $n" >>"$1/gaps"
      prev=$n; echo "$n" >"$1/f"
    done; }' sh "$1"
