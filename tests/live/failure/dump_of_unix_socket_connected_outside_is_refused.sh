#!/usr/bin/env bash
# Proves: `stasis dump` of a process whose unix socket (fd 5) is connected
# to a server that is not part of the dumped tree fails with one line on
# stderr naming the process, the fd and the peer (the server's socket path),
# writes no inventory.img, and leaves the process running, untraced, still
# connected.
. "$(dirname "$0")/common.sh"

setsid "$bin/unix_client_of_outside_server" stream "$tmp/server.sock" "$tmp/ready" </dev/null >"$tmp/prog.log" 2>&1 &
server=$!
started+=("$server")
for _ in $(seq 1500); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
[ -e "$tmp/ready" ] || fail "unix_client_of_outside_server never got ready"
pid=$(cat "$tmp/ready")
started+=("$pid")
link=$(readlink "/proc/$pid/fd/5")
mkdir "$tmp/images"
expect_clean_failure "dump of PID $pid connected to a server outside the tree" "connected" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
for needle in "process $pid" "fd 5" "$tmp/server.sock" "$link"; do
  grep -qF -- "$needle" "$tmp/dump.err" || fail "the error does not name '$needle': $(cat "$tmp/dump.err")"
done
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"
[ "$(readlink "/proc/$pid/fd/5")" = "$link" ] || fail "fd 5 of PID $pid is no longer $link"
pass "$(cat "$tmp/dump.err")"
