#!/usr/bin/env bash
# Proves: data queued in a pty (written to the master, not yet read from the
# slave; and its echo, not yet read from the master) is never lost silently. A tty has no MSG_PEEK, so the dump cannot
# save it without consuming it: `stasis dump` refuses with one line naming
# the pty and what is not read yet, writes no inventory.img, and leaves the
# process running, untraced, with the data still queued (FIONREAD).
. "$(dirname "$0")/common.sh"

setsid "$bin/pty_end_outside" queued "$tmp/ready" </dev/null >"$tmp/prog.log" 2>&1 &
started+=("$!")
for _ in $(seq 1500); do [ -s "$tmp/ready" ] && break; sleep 0.02; done
[ -s "$tmp/ready" ] || fail "pty_end_outside queued never got ready"
pid=$(cat "$tmp/ready")
pts=$(readlink "/proc/$pid/fd/11")
mkdir "$tmp/images"
expect_clean_failure "dump of PID $pid with 5 bytes queued in $pts" "queued" dump \
  "$stasis" dump -t "$pid" -D "$tmp/images" -o "$tmp/dump.log" -v4 --leave-running
for word in "process $pid" "$pts" "not read yet"; do
  grep -qF -- "$word" "$tmp/dump.err" || fail "the error does not name '$word': $(cat "$tmp/dump.err")"
done
[ -e "$tmp/images/inventory.img" ] && fail "a failed dump wrote inventory.img"
kill -0 "$pid" 2>/dev/null || fail "PID $pid died"
[ "$(tracer_of "$pid")" = 0 ] || fail "PID $pid is still traced by $(tracer_of "$pid")"
# Still queued: 5 bytes readable from the slave (fd 11).
python3 - "$pid" <<'PY' || fail "the queued bytes are no longer in $pts"
import fcntl, os, struct, sys, termios
fd = os.open(f"/proc/{sys.argv[1]}/fd/11", os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
n = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
sys.exit(0 if n == 5 else 1)
PY
pass "$(cat "$tmp/dump.err")"
