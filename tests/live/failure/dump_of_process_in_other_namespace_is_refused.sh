#!/usr/bin/env bash
# Proves: `stasis dump` of a process in a namespace other than stasis's own
# (here a UTS namespace of its own, from unshare(1)) fails with one line on
# stderr naming the PID and the namespace, writes no inventory.img, and
# leaves the process running, untraced.
. "$(dirname "$0")/common.sh"

command -v unshare >/dev/null || skip "no unshare(1)"
setsid unshare --uts sleep 1000 </dev/null >"$tmp/prog.log" 2>&1 &
pid=$!
started+=("$pid")
for _ in $(seq 1500); do
  [ "$(readlink "/proc/$pid/ns/uts" 2>/dev/null)" != "$(readlink /proc/self/ns/uts)" ] &&
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && break
  sleep 0.02
done
[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] || skip "unshare --uts did not start (no permission?)"
mkdir "$tmp/images"
expect_clean_failure "dump of PID $pid in its own UTS namespace" "$pid" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
grep -q "uts namespace" "$tmp/dump.err" || fail "the error does not name the UTS namespace: $(cat "$tmp/dump.err")"
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"
pass "$(cat "$tmp/dump.err")"
