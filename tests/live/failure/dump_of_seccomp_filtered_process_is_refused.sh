#!/usr/bin/env bash
# Proves: `stasis dump` of a process running under a seccomp filter fails
# with one line on stderr that names the PID and seccomp (restoring it
# without its filter would give it more privilege than it had), writes no
# inventory.img, and leaves the process running, untraced.
. "$(dirname "$0")/common.sh"

setsid "$bin/seccomp_sleeper" "$tmp/ready" </dev/null >"$tmp/prog.log" 2>&1 &
pid=$!
started+=("$pid")
for _ in $(seq 1500); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
[ -e "$tmp/ready" ] || fail "seccomp_sleeper never got ready"
mkdir "$tmp/images"
expect_clean_failure "dump of seccomp-filtered PID $pid" "$pid" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
grep -qi seccomp "$tmp/dump.err" || fail "the error does not name seccomp: $(cat "$tmp/dump.err")"
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"
pass "$(cat "$tmp/dump.err")"
