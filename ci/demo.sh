#!/usr/bin/env bash
# Installs dependencies, builds stasis for this machine and shows the main
# job: a running process is checkpointed (and killed), its images are shown,
# and it is restored with the same PID, continuing its count where it was.
set -euo pipefail
cd "$(dirname "$0")/.."
ci/deps.sh
arch=$(uname -m)
ci/build.sh "$arch"
bin=build/$arch/stasis
demo=build/$arch/tests/live/bin/demo_counter
work=$(mktemp -d "${TMPDIR:-/tmp}/stasis-demo.XXXXXX")
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "$bin --version"
"$bin" --version
say "$bin check"
"$bin" check || true

say "starting the demo process (counts, holds 64 MiB it checks every step)"
# Only fds 0-2, stdin from /dev/null, its own session: a process not tied to
# this terminal (otherwise it would need --shell-job).
(
  for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
  exec setsid "$demo" </dev/null >"$work/demo.log" 2>&1
) &
pid=$!
disown "$pid"   # no "Killed" job notice from this shell when the dump ends it
sleep 1.5
tail -n 3 "$work/demo.log"

say "stasis dump -t $pid -D $work/images"
mkdir "$work/images"
"$bin" dump -t "$pid" -D "$work/images" -o dump.log -v4
# The shell reaps the disowned job in the background: wait until it is gone
# (a zombie would still hold the PID the restore needs).
for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
if [ -e "/proc/$pid" ]; then echo "PID $pid is still there?"; exit 1; fi
echo "checkpointed; process $pid is gone. Its images:"
"$bin" image show "$work/images"
sleep 1

say "stasis restore -D $work/images -d"
"$bin" restore -D "$work/images" -d -o restore.log -v4
echo "restored as PID $(cat /proc/"$pid"/stat | cut -d' ' -f1), still counting:"
sleep 1.5
tail -n 6 "$work/demo.log"
kill -KILL "$pid"
pid=
say "done: the count went on from where it was, with its memory intact"
