#!/usr/bin/env bash
# Proves: `stasis dump -t PID` of a kernel thread (kthreadd), which cannot
# be traced, fails with one line on stderr that names the PID, and writes
# no inventory.img.
. "$(dirname "$0")/common.sh"

pid=''
for p in /proc/[0-9]*; do
  if [ "$(cat "$p/comm" 2>/dev/null)" = kthreadd ]; then pid=${p#/proc/}; break; fi
done
[ -n "$pid" ] || skip "no kthreadd visible in this PID namespace"
mkdir "$tmp/images"
expect_clean_failure "dump of kernel thread $pid (kthreadd)" "$pid" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
pass "$(cat "$tmp/dump.err")"
