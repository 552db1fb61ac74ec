#!/usr/bin/env bash
# Proves: `stasis dump` of a process whose epoll instance still watches a
# file through an fd number that was closed since (the watch outlives the
# fd while the file is open elsewhere; EPOLL_CTL_ADD could not make it
# again) fails with one line on stderr that names epoll and the fd, writes
# no inventory.img, and leaves the process running, untraced.
. "$(dirname "$0")/common.sh"

setsid "$bin/epoll_watching_closed_fd" "$tmp/ready" </dev/null >"$tmp/prog.log" 2>&1 &
pid=$!
started+=("$pid")
for _ in $(seq 1500); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
[ -e "$tmp/ready" ] || fail "epoll_watching_closed_fd never got ready"
mkdir "$tmp/images"
expect_clean_failure "dump of PID $pid with a stale epoll watch" "epoll" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4
grep -q "fd 4" "$tmp/dump.err" || fail "the error does not name the closed fd 4: $(cat "$tmp/dump.err")"
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"
pass "$(cat "$tmp/dump.err")"
