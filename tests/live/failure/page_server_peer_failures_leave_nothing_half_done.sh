#!/usr/bin/env bash
# Proves: a page server that speaks nonsense, or that goes away, gives one
# clear error line and leaves nothing half done:
#   1. dump --page-server to a peer that answers garbage fails naming the
#      page server, and the target runs on, untraced, passing its check;
#   2. dump --page-server to a port nobody listens on fails the same way;
#   3. a lazy restore whose page server is killed while the restored
#      program still lacks memory: lazy-pages fails naming the page server
#      and kills the restored program (no process with its PID is left to
#      run on with holes in its memory).
. "$(dirname "$0")/common.sh"
command -v python3 >/dev/null || skip "python3 is needed for the fake page server"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

prog=$bin/memory_lazy_restore_serves_faults_forks_and_drops
start_target "$prog"

# 1. A peer that answers every connection with 92 bytes of HTTP and junk.
port=$(free_port)
python3 - "$port" >"$tmp/fake.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(4)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.recv(64); c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"x" * 64); c.close()
PY
started+=("$!")
for _ in $(seq 1500); do grep -q listening "$tmp/fake.out" && break; sleep 0.02; done
mkdir "$tmp/images1"
expect_clean_failure "dump to a peer speaking nonsense" "page server" dump1 \
  "$stasis" dump -t "$pid" -D "$tmp/images1" --page-server --port "$port" -o "$tmp/dump1.log" -v4
[ -e "$tmp/images1/inventory.img" ] && fail "the failed dump wrote inventory.img"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced after the failed dump"

# 2. Nobody listens.
port=$(free_port)
mkdir "$tmp/images2"
expect_clean_failure "dump to a port nobody listens on" "page server" dump2 \
  "$stasis" dump -t "$pid" -D "$tmp/images2" --page-server --port "$port" -o "$tmp/dump2.log" -v4
expect_running_untraced "the failed dumps"

# 3. The page server dies during a lazy restore. Background filling is
# held back, so the program surely lacks pages when it goes.
port=$(free_port)
mkdir "$tmp/server" "$tmp/images3"
"$stasis" page-server -D "$tmp/server" --port "$port" -o "$tmp/server.log" -v4 >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
started+=("$server")
for _ in $(seq 1500); do grep -q 'listening on port' "$tmp/server.out" && break; sleep 0.02; done
grep -q 'listening on port' "$tmp/server.out" || fail "the page server did not start"
"$stasis" dump -t "$pid" -D "$tmp/images3" --page-server --port "$port" --lazy-pages -o "$tmp/dump3.log" -v4 \
  2>"$tmp/dump3.err" || fail "dump --page-server failed: $(cat "$tmp/dump3.err")"
for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
STASIS_LAZY_BACKGROUND_DELAY_MS=60000 "$stasis" lazy-pages -D "$tmp/images3" --page-server --port "$port" \
  -o "$tmp/lazy.log" -v4 2>"$tmp/lazy.err" &
lazy=$!
started+=("$lazy")
"$stasis" restore -D "$tmp/images3" -d --lazy-pages --page-server --port "$port" --pidfile "$tmp/restored.pid" \
  -o "$tmp/restore.log" -v4 2>"$tmp/restore.err" || fail "restore failed: $(cat "$tmp/restore.err")"
[ "$(cat "$tmp/restored.pid")" = "$pid" ] || fail "restored PID is not $pid"
kill -KILL "$server"
wait "$server" 2>/dev/null
# The program asks for memory when told to check itself.
touch "$tmp/work/check"
for _ in $(seq 1500); do kill -0 "$lazy" 2>/dev/null || break; sleep 0.02; done
kill -0 "$lazy" 2>/dev/null && fail "lazy-pages still runs 30 s after its page server died"
wait "$lazy"
rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "lazy-pages exited with $rc after its page server died"
grep -qi "page server" "$tmp/lazy.err" || fail "lazy-pages' error does not name the page server: $(cat "$tmp/lazy.err")"
[ "$(grep -c . "$tmp/lazy.err")" = 1 ] || fail "lazy-pages printed more than one error line: $(cat "$tmp/lazy.err")"
grep -q "killed the" "$tmp/lazy.err" || fail "lazy-pages does not say it killed what it served: $(cat "$tmp/lazy.err")"
for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
state=$(pid_state "$pid")
[ -z "$state" ] || [ "$state" = Z ] || fail "PID $pid still runs (state $state) after its memory server failed"
[ -e "$tmp/work/verdict" ] && [ "$(cat "$tmp/work/verdict")" = PASS ] &&
  fail "the program passed its check although its pages could not be served"
pass "$(head -c 200 "$tmp/dump1.err") / $(head -c 200 "$tmp/lazy.err")"
