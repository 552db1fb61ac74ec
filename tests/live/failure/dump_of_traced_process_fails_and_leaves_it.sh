#!/usr/bin/env bash
# Proves: `stasis dump` of a process that another tracer already holds fails
# with one line on stderr that names the PID, writes no inventory.img, and
# leaves the process alone: still traced by the other tracer only, and —
# once that one lets go — running untraced and passing its own check.
. "$(dirname "$0")/common.sh"

prog=$bin/threads_keep_tids_masks_tls_names_and_waits
[ -x "$prog" ] || fail "missing $prog"
mkdir "$tmp/work"
setsid "$prog" "$tmp/work" </dev/null >"$tmp/work/prog.log" 2>&1 &
pid=$!
started+=("$pid")
for _ in $(seq 1500); do [ -e "$tmp/work/ready" ] && break; sleep 0.02; done
[ -e "$tmp/work/ready" ] || fail "the target never got ready"

"$bin/hold_ptrace" "$pid" "$tmp/attached" &
tracer=$!
started+=("$tracer")
for _ in $(seq 1500); do [ -e "$tmp/attached" ] && break; sleep 0.02; done
[ -e "$tmp/attached" ] || fail "hold_ptrace could not attach to $pid"

mkdir "$tmp/images"
expect_clean_failure "dump of traced PID $pid" "$pid" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
[ "$(tracer_of "$pid")" = "$tracer" ] || fail "PID $pid is traced by '$(tracer_of "$pid")', expected only hold_ptrace ($tracer)"

kill -KILL "$tracer"
wait "$tracer" 2>/dev/null
for t in /proc/"$pid"/task/*; do
  tp=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null)
  [ -z "$tp" ] || [ "$tp" = 0 ] || fail "thread ${t##*/} is still traced by $tp"
done
touch "$tmp/work/check"
for _ in $(seq 1500); do [ -e "$tmp/work/verdict" ] && break; sleep 0.02; done
v=$(cat "$tmp/work/verdict" 2>/dev/null)
[ "$v" = PASS ] || fail "the target's own check after the failed dump: ${v:-no verdict}"
pass "$(cat "$tmp/dump.err")"
