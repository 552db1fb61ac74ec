# Shared by the failure tests (sourced). Each test is run as
#   <test>.sh STASIS BIN_DIR
# and exits 0 (PASS), 77 (SKIP) or 1 (FAIL), printing one verdict line.
set -uo pipefail

[ $# -eq 2 ] || { echo "usage: $0 STASIS BIN_DIR" >&2; exit 2; }
stasis=$1 bin=$2
test_name=$(basename "$0" .sh)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stasis-live.$test_name.XXXXXX") || exit 1
started=()   # PIDs we started: killed on every path out

# Nothing inherited from whoever ran us (ctest's own log file, a CI
# runner's pipes) reaches the programs the tests start: it would be state
# the dump records, and a log that grew meanwhile fails the restore's file
# check ("changed since the dump"). Bash's descriptor of this script stays.
self_script=$(readlink -f "$0")
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  [ "$fd" -gt 2 ] || continue
  [ "$(readlink "/proc/$$/fd/$fd" 2>/dev/null)" = "$self_script" ] && continue
  eval "exec $fd>&-" 2>/dev/null
done
unset fd self_script

cleanup() {
  local rc=$? p
  for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${started[@]}"; do wait "$p" 2>/dev/null; done
  if [ "${STASIS_KEEP:-0}" = 1 ]; then echo "$test_name: kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { echo "$test_name: PASS${1:+: $1}"; exit 0; }
skip() { echo "$test_name: SKIP: $1"; exit 77; }
fail() {
  echo "$test_name: FAIL: $1"
  for f in "$tmp"/*.err "$tmp"/*.log; do
    [ -s "$f" ] && { echo "---- ${f#"$tmp"/} ----"; tail -n 20 "$f"; }
  done
  exit 1
}

# expect_clean_failure WHAT NEEDLE LOGNAME CMD...: CMD must exit non-zero
# (not by a signal, not by timing out) and say so on stderr in exactly one
# line that contains NEEDLE as a word (case-insensitive).
expect_clean_failure() {
  local what=$1 needle=$2 name=$3 rc lines
  shift 3
  timeout --kill-after=5 60 "$@" 2>"$tmp/$name.err" >"$tmp/$name.out"
  rc=$?
  [ $rc -ne 0 ] || fail "$what succeeded"
  [ $rc -ne 124 ] && [ $rc -ne 137 ] || fail "$what hung (killed after 60 s)"
  [ $rc -lt 128 ] || fail "$what died of signal $((rc - 128))"
  lines=$(grep -c . "$tmp/$name.err")
  [ "$lines" = 1 ] || fail "$what printed $lines lines on stderr, expected one"
  grep -qiw -- "$needle" "$tmp/$name.err" || fail "$what: the error does not mention '$needle': $(cat "$tmp/$name.err")"
}

pid_state() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
tracer_of() { awk '/^TracerPid:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# start_target PROG [ARG...]: starts a live scenario program in $tmp/work (made
# here), in a session of its own and with no descriptor but 0-2 (anything
# inherited would be state to dump), waits until it is ready and sets
# $pid. Both it and its reaping subshell are killed on the way out.
start_target() {
  local prog=$1
  shift
  [ -x "$prog" ] || fail "missing $prog"
  mkdir -p "$tmp/work"
  (
    setsid "$prog" "$tmp/work" "$@" </dev/null >"$tmp/work/prog.log" 2>&1 &
    echo $! >"$tmp/pid"
    wait
  ) &
  started+=("$!")
  for _ in $(seq 1500); do [ -s "$tmp/pid" ] && [ -e "$tmp/work/ready" ] && break; sleep 0.02; done
  pid=$(cat "$tmp/pid")
  started+=("$pid")
  [ -e "$tmp/work/ready" ] || fail "the target never got ready"
}

# expect_own_check_passes: asks the restored program ($pid) to check itself
# ($tmp/work/check), waits for its verdict, kills it, and fails unless the
# verdict is PASS.
expect_own_check_passes() {
  local v
  touch "$tmp/work/check"
  for _ in $(seq 1500); do [ -e "$tmp/work/verdict" ] && break; sleep 0.02; done
  v=$(cat "$tmp/work/verdict" 2>/dev/null)
  kill -KILL "$pid" 2>/dev/null
  [ "$v" = PASS ] || fail "the restored program's own check: ${v:-no verdict}"
}

# pre_dump_keeping_tracking DIR: pre-dumps $pid into $tmp/DIR (log
# $tmp/DIR.log) and sets $keeper to the process that keeps its dirty
# tracking (killed on the way out too); skips where the kernel tracks
# without a keeper.
pre_dump_keeping_tracking() {
  local dir=$1
  "$stasis" pre-dump -t "$pid" -D "$tmp/$dir" -o "$tmp/$dir.log" -v4 2>"$tmp/$dir.err" ||
    fail "pre-dump into $dir failed: $(cat "$tmp/$dir.err")"
  keeper=$(sed -n 's/.*dirty tracking kept by process \([0-9]*\).*/\1/p' "$tmp/$dir.log")
  if [ -z "$keeper" ]; then
    skip "this kernel tracks dirty pages without a keeper ($(grep -o 'dirty tracking for the next dump: .*' "$tmp/$dir.log"))"
  fi
  started+=("$keeper")
}

# expect_running_untraced WHAT: after WHAT failed, $pid is alive, not
# stopped and not traced: what "left running, unharmed" means. Sleeping,
# running or in a short uninterruptible wait (D, a loaded machine's page
# fault or reclaim) are all fine; the state is named when it is not.
expect_running_untraced() {
  local what=$1 state
  state=$(pid_state "$pid")
  case $state in ''|Z|X|t|T) fail "the target is not running after $what (state '$state')" ;; esac
  [ "$(tracer_of "$pid")" = 0 ] || fail "the target is still traced after $what"
}

# expect_left_running_and_keeper_gone WHAT: after WHAT failed, $pid runs on,
# untraced, and the keeper of its parent's tracking ($keeper), whose
# tracking WHAT had consumed, is gone.
expect_left_running_and_keeper_gone() {
  local what=$1
  sleep 0.2
  expect_running_untraced "$what"
  for _ in $(seq 600); do [ -d "/proc/$keeper" ] || break; sleep 0.05; done
  [ -d "/proc/$keeper" ] && fail "the keeper $keeper survived $what, which consumed its tracking"
}

# expect_restored_from IMAGES: the dumped $pid is gone, and restored from
# $tmp/IMAGES it passes its own check.
expect_restored_from() {
  local images=$1
  for _ in $(seq 1500); do [ -d "/proc/$pid" ] || break; sleep 0.02; done
  [ -d "/proc/$pid" ] && fail "PID $pid still exists after the dump"
  "$stasis" restore -D "$tmp/$images" -d --pidfile "$tmp/restored.pid" -o "$tmp/restore.log" -v4 2>"$tmp/restore.err" ||
    fail "restore failed: $(cat "$tmp/restore.err")"
  expect_own_check_passes
}
