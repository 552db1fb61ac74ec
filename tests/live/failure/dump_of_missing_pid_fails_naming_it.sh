#!/usr/bin/env bash
# Proves: `stasis dump -t PID` for a PID no process has fails with one line
# on stderr that names the PID, and writes no inventory.img.
. "$(dirname "$0")/common.sh"

pid_max=$(cat /proc/sys/kernel/pid_max)
pid=$((pid_max - 1))
while [ -e "/proc/$pid" ]; do pid=$((pid - 1)); done
mkdir "$tmp/images"
expect_clean_failure "dump of missing PID $pid" "$pid" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
pass "$(cat "$tmp/dump.err")"
