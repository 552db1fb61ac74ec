#!/usr/bin/env bash
# Proves: `stasis dump` of a process holding a TCP socket in a state stasis
# does not restore (FIN_WAIT2 after shutdown(SHUT_WR), CLOSE_WAIT after the
# peer's, a listener with a connection not accepted yet) fails with one
# line on stderr naming the process, the fd, the socket's addresses and its
# state, writes no inventory.img, and leaves the process running, untraced,
# with the established connection it also holds (described, so put into
# repair mode, before the refused socket) working both ways.
. "$(dirname "$0")/common.sh"

for mode in fin_wait2 close_wait unaccepted; do
  rm -rf "$tmp/work" "$tmp/pid" "$tmp/images"
  start_target "$bin/tcp_socket_in_refused_state" "$mode"
  mkdir "$tmp/images"
  expect_clean_failure "$mode: dump of PID $pid" "TCP" dump \
    "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
  while IFS= read -r needle; do
    grep -qF -- "$needle" "$tmp/dump.err" || fail "$mode: the error does not name '$needle': $(cat "$tmp/dump.err")"
  done < <(echo "process $pid"; cat "$tmp/work/expect")
  [ -e "$tmp/images/inventory.img" ] && fail "$mode: a failed dump wrote inventory.img"
  kill -0 "$pid" 2>/dev/null || fail "$mode: PID $pid died"
  [ "$(tracer_of "$pid")" = 0 ] || fail "$mode: PID $pid is still traced by $(tracer_of "$pid")"
  expect_own_check_passes
  echo "$mode: $(cat "$tmp/dump.err")"
done
pass
