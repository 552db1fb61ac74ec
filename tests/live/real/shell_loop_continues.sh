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

. "$(dirname "$0")/counter_file.sh"

case ${1:-} in
--ready) counter_ready "$2"; exit ;;
--check) counter_check "$2" "$3" "the shell"; exit ;;
esac
exec sh -c 'i=0; while :; do i=$((i+1)); echo $i > "$1/f"; sleep 0.1; done' sh "$1"
