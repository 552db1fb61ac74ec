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

. "$(dirname "$0")/counter_file.sh"

case ${1:-} in
--ready) counter_ready "$2"; exit ;;
--check)
  why=$(counter_check "$2" "$3" "the pipeline") || { echo "$why"; exit 1; }
  [ ! -s "$2/gaps" ] || { echo "lines went wrong in the pipe: $(head -3 "$2/gaps")"; exit 1; }
  echo "$why, no line lost or doubled"
  exit 0
  ;;
esac
# Both sides are subshells of the shell run-scenario.sh starts and kills:
# the counting side stops once that shell ($$ in every subshell) is gone,
# and the reading side then sees the end of the pipe.
exec sh -c '
  i=0; while kill -0 $$ 2>/dev/null; do i=$((i+1)); echo "$i"; sleep 0.05; done |
  { prev=0; while read -r n; do
      [ "$n" = "$((prev + 1))" ] || echo "after $prev came $n" >>"$1/gaps"
      prev=$n; echo "$n" >"$1/f"
    done; }' sh "$1"
