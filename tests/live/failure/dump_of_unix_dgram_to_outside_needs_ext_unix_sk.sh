#!/usr/bin/env bash
# Proves: a process whose dgram unix socket (fd 5) is connected to a server
# bound outside the dumped tree (as syslog(3) clients are to /dev/log):
#  - `stasis dump` without --ext-unix-sk fails with one line naming the
#    process, the fd and the server's path and pointing to --ext-unix-sk,
#    and leaves the process running, untraced;
#  - with --ext-unix-sk the dump succeeds; after the restore the process is
#    connected to the server by its name again: its datagrams arrive there.
. "$(dirname "$0")/common.sh"

setsid "$bin/unix_client_of_outside_server" dgram "$tmp/server.sock" "$tmp/ready" "$tmp/received" \
  </dev/null >"$tmp/prog.log" 2>&1 &
server=$!
started+=("$server")
for _ in $(seq 1500); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
[ -e "$tmp/ready" ] || fail "unix_client_of_outside_server never got ready"
pid=$(cat "$tmp/ready")
started+=("$pid")
mkdir "$tmp/images"
expect_clean_failure "dump of PID $pid with a dgram socket connected outside the tree" "ext-unix-sk" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
for needle in "process $pid" "fd 5" "$tmp/server.sock"; do
  grep -qF -- "$needle" "$tmp/dump.err" || fail "the error does not name '$needle': $(cat "$tmp/dump.err")"
done
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"

timeout 60 "$stasis" dump -t "$pid" -D "$tmp/images" --ext-unix-sk -o "$tmp/dump2.log" -v4 2>"$tmp/dump2.err" ||
  fail "dump with --ext-unix-sk failed: $(cat "$tmp/dump2.err")"
for _ in $(seq 1500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
kill -0 "$pid" 2>/dev/null && fail "PID $pid still runs after the dump"
timeout 60 "$stasis" restore -D "$tmp/images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4 \
  2>"$tmp/restore.err" || fail "restore failed: $(cat "$tmp/restore.err")"
[ "$(cat "$tmp/restored.pid" 2>/dev/null)" = "$pid" ] || fail "restored as PID $(cat "$tmp/restored.pid"), not $pid"
before=$(stat -c %s "$tmp/received")
sleep 0.5
after=$(stat -c %s "$tmp/received")
[ "$after" -gt "$before" ] || fail "no datagram reached the server after the restore ($before, then $after)"
[ "$(readlink "/proc/$pid/fd/5" | cut -c1-7)" = "socket:" ] || fail "fd 5 of PID $pid is not a socket"
pass "$((after - before)) datagrams in 0.5 s after the restore"
