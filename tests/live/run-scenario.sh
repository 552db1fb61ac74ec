#!/usr/bin/env bash
# Runs one live scenario: start it, checkpoint it, restore it, let it check
# itself, report its verdict. See tests/live/README.md for the protocol.
#
#   run-scenario.sh STASIS PROG [options]
#
#   --no-cr                 self-test: no dump, no restore; ready -> check -> verdict
#   --leave-running         dump with --leave-running; no restore: the original
#                           process must still run, untraced, and pass its check
#   --shell-job             do not setsid the program; pass --shell-job to stasis
#   --expect-dump-fail STAGE
#                           dump with STASIS_FAULT=STAGE: the dump must fail, write
#                           no inventory.img, and leave the program running,
#                           untraced, passing its own check
#   --expect-restore-fail STAGE
#                           dump normally, then restore with STASIS_FAULT=STAGE:
#                           the restore must fail, leave no process with the
#                           program's PID, and leave the images byte-identical
#   --pre-dumps N           before the dump, N chained pre-dumps (pre1..preN, each
#                           on top of the one before) while the program runs;
#                           the dump then goes on top of preN. After pre-dump i
#                           the runner creates WORKDIR/predumped.i and, if the
#                           program created WORKDIR/phases, waits for its
#                           WORKDIR/phase.i (it changes memory in between). The
#                           final pages image must be smaller than half of
#                           pre1's, and the tracking keeper must be gone after
#                           the dump; with that tracking alive, the dump must
#                           have made its pre-copy pass (images/pre-copy)
#   --lazy                  restore with --lazy-pages from a `stasis lazy-pages`
#                           started just before; it must exit by itself (status 0)
#                           once the program has its memory
#   --page-server           dump with --page-server to a `stasis page-server`
#                           started just before (its own directory); the dump
#                           must leave no pages image here. Without --lazy the
#                           server must exit by itself after the dump and its
#                           pages images are copied here for a plain restore;
#                           with --lazy, lazy-pages and restore fetch from it
#                           (--page-server) and it must exit by itself once
#                           lazy-pages has delivered everything
#   --ready-cmd CMD         ready when `CMD WORKDIR PID` exits 0 (polled), instead
#                           of when WORKDIR/ready appears
#   --check-cmd CMD         the verdict is `CMD WORKDIR PID` (exit 0 = PASS, last
#                           line of its output = reason), instead of
#                           WORKDIR/check -> WORKDIR/verdict
#   --timeout SECONDS       for each wait (ready, dump, restore, verdict); default 60
#
# Environment: STASIS_KEEP=1 keeps the work directory (printed at the end);
# TMPDIR chooses where work directories are made.
#
# Exit status: 0 PASS, 77 SKIP (the scenario cannot run here), 1 FAIL, 2 usage.
set -uo pipefail

me=run-scenario
usage() {
  sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 2 ] || usage
stasis=$1 prog=$2
shift 2
mode=cr leave_running=0 shell_job=0 pre_dumps=0 lazy=0 page_server=0 dump_fault='' restore_fault='' ready_cmd='' check_cmd='' timeout=60
while [ $# -gt 0 ]; do
  case $1 in
    --no-cr) mode=selftest ;;
    --leave-running) leave_running=1 ;;
    --shell-job) shell_job=1 ;;
    --pre-dumps) pre_dumps=${2:?--pre-dumps needs a count}; shift ;;
    --lazy) lazy=1 ;;
    --page-server) page_server=1 ;;
    --expect-dump-fail) dump_fault=${2:?--expect-dump-fail needs a stage}; shift ;;
    --expect-restore-fail) restore_fault=${2:?--expect-restore-fail needs a stage}; shift ;;
    --ready-cmd) ready_cmd=${2:?--ready-cmd needs a command}; shift ;;
    --check-cmd) check_cmd=${2:?--check-cmd needs a command}; shift ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift ;;
    -h|--help) usage ;;
    *) echo "$me: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
if [ -n "$dump_fault" ] && [ -n "$restore_fault" ]; then
  echo "$me: --expect-dump-fail and --expect-restore-fail exclude each other" >&2; exit 2
fi
if [ "$leave_running" = 1 ] && [ -n "$restore_fault" ]; then
  echo "$me: --leave-running has no restore to fail" >&2; exit 2
fi
[ -x "$prog" ] || { echo "$me: not an executable: $prog" >&2; exit 2; }
if [ "$mode" = cr ] && [ ! -x "$stasis" ]; then
  echo "$me: not an executable: $stasis" >&2; exit 2
fi

name=$(basename "$prog")
workdir=$(mktemp -d "${TMPDIR:-/tmp}/stasis-live.$name.XXXXXX") || exit 1
chmod 755 "$workdir"
images=$workdir/images
pid=''            # the program (original, then restored: the same PID)
keeper=''         # the subshell whose child the original program is
lazy_pid=''       # stasis lazy-pages, with --lazy
server_pid=''     # stasis page-server, with --page-server
server_port=''
pid_cmdline=''    # its /proc/PID/cmdline once ready: we only ever kill that process
result=FAIL reason=''

say() { echo "$me: $*"; }

# Is PID the process we started (or its restored self), and not a zombie?
ours_alive() {
  local p=$1 state cmd
  [ -n "$p" ] && [ -e "/proc/$p" ] || return 1
  state=$(awk '/^State:/ {print $2}' "/proc/$p/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  if [ -n "$pid_cmdline" ]; then
    cmd=$( { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || return 1
    [ "$cmd" = "$pid_cmdline" ] || return 1
  fi
  return 0
}

# Is any process (alive or zombie) using PID p?
pid_exists() { [ -e "/proc/$1" ] && [ -n "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" ]; }
pid_alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
gone() { ! pid_alive "$pid"; }
pid_free() { ! pid_exists "$pid"; }

# Every thread of PID untraced and not stopped by anybody?
untraced_and_running() {
  local p=$1 t tracer state bad=''
  for t in /proc/"$p"/task/*; do
    tracer=$(awk '/^TracerPid:/ {print $2}' "$t/status" 2>/dev/null)
    state=$(awk '/^State:/ {print $2}' "$t/status" 2>/dev/null)
    [ -z "$tracer" ] && continue   # thread exited meanwhile
    [ "$tracer" = 0 ] || bad+=" task ${t##*/} traced by $tracer;"
    case $state in t|T) bad+=" task ${t##*/} stopped ($state);" ;; esac
  done
  [ -z "$bad" ] && return 0
  reason="PID $p after a failed dump:$bad"
  return 1
}

show_tail() {
  local f=$1
  [ -s "$f" ] || return 0
  echo "---- tail of ${f#"$workdir"/} ----"
  tail -n 25 "$f"
}

cleanup() {
  local rc=$?
  # Kill it if it still runs (the original, or the restored one, which is
  # not the keeper's child); the keeper then ends by itself.
  if [ -n "$pid" ] && ours_alive "$pid"; then kill -KILL "$pid" 2>/dev/null; fi
  [ -n "$keeper" ] && wait "$keeper" 2>/dev/null
  if [ -n "$lazy_pid" ]; then kill -KILL "$lazy_pid" 2>/dev/null; wait "$lazy_pid" 2>/dev/null; fi
  if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  if [ "${STASIS_KEEP:-0}" = 1 ]; then
    say "work directory kept: $workdir"
  else
    rm -rf "$workdir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

finish() {
  # finish RESULT REASON: print the verdict and exit 0 (PASS), 77 (SKIP), 1 (FAIL).
  result=$1 reason=$2
  if [ "$result" != PASS ] && [ "$result" != SKIP ]; then
    for f in prog.log pre1.err pre2.err dump.err dump.log restore.err restore.log lazy.err lazy.log server.err server.log check-cmd.log; do
      show_tail "$workdir/$f"
    done
  fi
  echo "$name: $result${reason:+: $reason}"
  case $result in PASS) exit 0 ;; SKIP) exit 77 ;; *) exit 1 ;; esac
}

# wait_until SECONDS WHAT CMD...: poll CMD every 20 ms until it succeeds.
wait_until() {
  local secs=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      reason="timed out after ${secs}s waiting for $what"
      return 1
    fi
    sleep 0.02
  done
}

# ---- start ---------------------------------------------------------------
# The program gets stdin, stdout and stderr and nothing else: an fd
# inherited from whoever ran us would be state the dump has to handle.
start_program() {
  local fd fds=(/proc/self/fd/*)
  for fd in "${fds[@]##*/}"; do
    if [ "$fd" -gt 2 ] && [ -e "/proc/self/fd/$fd" ]; then eval "exec $fd>&-"; fi
  done
  if [ "$shell_job" = 1 ]; then
    exec "$prog" "$workdir"
  fi
  # A background job of a non-interactive shell is no group leader, so
  # setsid(1) calls setsid() in place and the PID stays the program's.
  exec setsid "$prog" "$workdir"
}
# A keeper subshell starts it and reaps it the moment it dies (after the
# dump kills it, its zombie would keep the PID taken), keeping bash's job
# notices out of our output.
(
  start_program </dev/null >"$workdir/prog.log" 2>&1 &
  echo $! >"$workdir/prog.pid.tmp" && mv "$workdir/prog.pid.tmp" "$workdir/prog.pid"
  wait
) 2>/dev/null &
keeper=$!
until [ -s "$workdir/prog.pid" ]; do sleep 0.01; done
pid=$(cat "$workdir/prog.pid")
say "started $name as PID $pid in $workdir"

is_ready() {
  if ! pid_alive "$pid"; then
    reason="the program exited before it was ready"
    return 3
  fi
  if [ -n "$ready_cmd" ]; then
    $ready_cmd "$workdir" "$pid" >>"$workdir/ready-cmd.log" 2>&1
  else
    [ -e "$workdir/ready" ] || [ -e "$workdir/verdict" ]
  fi
}
deadline=$((SECONDS + timeout))
while :; do
  is_ready; rc=$?
  [ $rc = 0 ] && break
  if [ $rc = 3 ] && [ ! -e "$workdir/verdict" ]; then finish FAIL "$reason"; fi
  [ -e "$workdir/verdict" ] && break
  [ "$SECONDS" -ge "$deadline" ] && finish FAIL "timed out after ${timeout}s waiting for ready"
  sleep 0.02
done
if [ -e "$workdir/verdict" ]; then   # it gave up (or skipped) during setup
  v=$(head -n1 "$workdir/verdict")
  case $v in
    SKIP*) finish SKIP "${v#SKIP: }" ;;
    *) finish FAIL "during setup: $v" ;;
  esac
fi
pid_cmdline=$( { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null)
say "ready"

# ---- dump ----------------------------------------------------------------
stasis_args=()
[ "$shell_job" = 1 ] && stasis_args+=(--shell-job)

# ---- pre-dumps -------------------------------------------------------------
keeper_pids=()
dump_args=()   # for the dump only
run_pre_dumps() {
  local i prev=() log kp
  for ((i = 1; i <= pre_dumps; i++)); do
    say "stasis pre-dump -t $pid -D pre$i${prev:+ ${prev[*]}}"
    log=$workdir/pre$i.log
    mkdir -p "$workdir/pre$i"
    timeout --kill-after=5 "$timeout" "$stasis" pre-dump -t "$pid" -D "$workdir/pre$i" "${prev[@]}" \
      -o "$log" -v4 2>"$workdir/pre$i.err" || { show_tail "$log"; finish FAIL "stasis pre-dump $i failed"; }
    [ -e "$workdir/pre$i/inventory.img" ] || finish FAIL "pre-dump $i wrote no inventory.img"
    ours_alive "$pid" || finish FAIL "PID $pid is gone after pre-dump $i"
    untraced_and_running "$pid" || finish FAIL "$reason"
    kp=$(sed -n 's/.*dirty tracking kept by process \([0-9]*\).*/\1/p' "$log" | tail -n1)
    [ -n "$kp" ] && keeper_pids+=("$kp")
    touch "$workdir/predumped.$i"
    if [ -e "$workdir/phases" ]; then
      wait_until "$timeout" "the program's phase $i" test -e "$workdir/phase.$i" || finish FAIL "$reason"
    fi
    prev=(--prev-images-dir "../pre$i")
  done
  dump_args+=(--prev-images-dir "../pre$pre_dumps")
}

# After the final dump: it really was incremental, and no keeper is left.
check_incremental() {
  local first last kp saved
  first=$(stat -c %s "$workdir/pre1/pages-$pid.img" 2>/dev/null || echo 0)
  last=$(stat -c %s "$images/pages-$pid.img" 2>/dev/null || echo 0)
  # Clearly less than pre-dump 1 (a dump that is not incremental saves as
  # much or more); not by a fixed factor, pages may be 64 KiB.
  [ "$last" -lt $((first / 4 * 3)) ] ||
    finish FAIL "the dump on top of $pre_dumps pre-dump(s) saved $last bytes, pre-dump 1 saved $first: not incremental"
  # With the last pre-dump's tracking alive, the dump first copies what
  # changed while the tree runs (DIR/pre-copy); that pass's keeper must be
  # gone too.
  if [ "${#keeper_pids[@]}" -gt 0 ]; then
    grep -q 'pre-copy pass into' "$workdir/dump.log" ||
      finish FAIL "no pre-copy pass although pre-dump $pre_dumps's tracking was alive: $(grep -m1 'no pre-copy pass' "$workdir/dump.log")"
    [ -e "$images/pre-copy/inventory.img" ] || finish FAIL "the pre-copy pass wrote no pre-copy/inventory.img"
    # Tracking told how much the frozen pass would save: its pages image
    # was written that big before the freeze, and cut to what it saved.
    grep -q "process $pid: .* reserved before the freeze" "$workdir/dump.log" ||
      finish FAIL "no pages image reserved before the freeze of the dump"
    saved=$(sed -n "s/.*process $pid: [0-9]* mappings, \([0-9]*\) pages .* saved.*/\1/p" "$workdir/dump.log" | tail -n1)
    case $(( last % (saved + 1) == 0 ? last / (saved + 1) : 0 )) in
      4096|16384|65536) ;;
      *) finish FAIL "pages-$pid.img holds $last bytes for a header page and $saved saved pages: the reservation was not cut" ;;
    esac
    kp=$(sed -n 's/.*dirty tracking kept by process \([0-9]*\).*/\1/p' "$workdir/dump.log" | head -n1)
    [ -n "$kp" ] && keeper_pids+=("$kp")
  fi
  for kp in "${keeper_pids[@]}"; do
    wait_until 10 "tracking keeper $kp to exit" eval "! pid_alive $kp" ||
      finish FAIL "the tracking keeper (PID $kp) still runs after the dump"
  done
  say "incremental: pages-$pid.img $last bytes after pre1's $first; keepers gone"
}

run_dump() {
  local fault=$1 args=("${stasis_args[@]}" "${dump_args[@]}")
  [ "$leave_running" = 1 ] && args+=(--leave-running)
  if [ "$page_server" = 1 ]; then
    args+=(--page-server --port "$server_port")
    [ "$lazy" = 1 ] && args+=(--lazy-pages)
  fi
  mkdir -p "$images"
  say "stasis dump -t $pid${fault:+ (STASIS_FAULT=$fault)}"
  if [ -n "$fault" ]; then
    STASIS_FAULT=$fault timeout --kill-after=5 "$timeout" \
      "$stasis" dump -t "$pid" -D "$images" -o "$workdir/dump.log" -v4 "${args[@]}" 2>"$workdir/dump.err"
  else
    env -u STASIS_FAULT timeout --kill-after=5 "$timeout" \
      "$stasis" dump -t "$pid" -D "$images" -o "$workdir/dump.log" -v4 "${args[@]}" 2>"$workdir/dump.err"
  fi
}

# ---- page server -----------------------------------------------------------
# Starts `stasis page-server` on a free port (a random one; tried again when
# taken) and waits until it listens.
start_page_server() {
  local try out=$workdir/server.out
  mkdir -p "$workdir/server"
  for try in 1 2 3 4 5 6 7 8; do
    server_port=$((20000 + RANDOM % 40000))
    "$stasis" page-server -D "$workdir/server" --port "$server_port" -o "$workdir/server.log" -v4 \
      >"$out" 2>"$workdir/server.err" &
    server_pid=$!
    wait_until 10 "the page server to listen" eval "grep -q 'listening on port' '$out' || ! kill -0 $server_pid 2>/dev/null"
    if grep -q 'listening on port' "$out"; then
      say "stasis page-server -D server --port $server_port (PID $server_pid)"
      return 0
    fi
    wait "$server_pid" 2>/dev/null
    server_pid=''
    grep -qi 'in use' "$workdir/server.err" || finish FAIL "stasis page-server did not start: $(cat "$workdir/server.err")"
  done
  finish FAIL "no free port for stasis page-server after 8 tries"
}

# wait_server_exit WHY: the page server must end by itself, with status 0.
wait_server_exit() {
  server_gone() { ! kill -0 "$server_pid" 2>/dev/null; }
  wait_until "$timeout" "stasis page-server to exit $1" server_gone || finish FAIL "$reason"
  wait "$server_pid"; local rc=$?
  server_pid=''
  [ $rc = 0 ] || finish FAIL "stasis page-server exited with $rc: $(cat "$workdir/server.err")"
  say "page server exited $1"
}

# After dump --page-server: the pages are on the server, not here.
check_pages_on_server() {
  local here
  here=$(find "$images" -name 'pages-*.img' | head -n1)
  [ -z "$here" ] || finish FAIL "dump --page-server wrote $here locally"
  [ -s "$workdir/server/pages-$pid.img" ] || finish FAIL "the page server holds no pages-$pid.img"
  say "pages-$pid.img is on the page server ($(stat -c %s "$workdir/server/pages-$pid.img") bytes)"
}

images_digest() { (cd "$images" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

if [ "$mode" = cr ]; then
  if [ -n "$dump_fault" ]; then
    if run_dump "$dump_fault"; then finish FAIL "dump succeeded although STASIS_FAULT=$dump_fault"; fi
    [ -e "$images/inventory.img" ] && finish FAIL "a failed dump left $images/inventory.img behind"
    sleep 0.2   # let a careless detach show itself
    ours_alive "$pid" || finish FAIL "PID $pid is gone after a failed dump (it must keep running)"
    untraced_and_running "$pid" || finish FAIL "$reason"
    say "dump failed as injected; PID $pid still runs, untraced"
  else
    [ "$pre_dumps" -gt 0 ] && run_pre_dumps
    [ "$page_server" = 1 ] && start_page_server
    run_dump '' || finish FAIL "stasis dump failed (exit $?)"
    [ -e "$images/inventory.img" ] || finish FAIL "dump succeeded but wrote no inventory.img"
    if [ "$page_server" = 1 ]; then
      check_pages_on_server
      if [ "$lazy" = 0 ]; then
        wait_server_exit "after a dump without --lazy-pages"
        cp -p "$workdir/server"/pages-*.img "$images"/
      fi
    fi
    [ "$pre_dumps" -gt 0 ] && check_incremental
    if [ "$leave_running" = 1 ]; then
      ours_alive "$pid" || finish FAIL "PID $pid is gone after dump --leave-running"
      untraced_and_running "$pid" || finish FAIL "$reason"
      say "dumped; PID $pid left running, untraced"
    else
      wait_until "$timeout" "PID $pid to die after the dump" gone ||
        finish FAIL "PID $pid still runs after the dump"
      wait_until 10 "the keeper to reap PID $pid" pid_free ||
        finish FAIL "PID $pid is still taken (a zombie nobody reaps?) after the dump"
      say "dumped; PID $pid is gone"

      # ---- restore ---------------------------------------------------------
      before=''
      [ -n "$restore_fault" ] && before=$(images_digest)
      say "stasis restore -D images${restore_fault:+ (STASIS_FAULT=$restore_fault)}"
      if [ -n "$restore_fault" ]; then
        STASIS_FAULT=$restore_fault timeout --kill-after=5 "$timeout" \
          "$stasis" restore -D "$images" -d --pidfile "$workdir/restored.pid" -o "$workdir/restore.log" -v4 \
          "${stasis_args[@]}" 2>"$workdir/restore.err"
        rc=$?
        [ $rc = 0 ] && finish FAIL "restore succeeded although STASIS_FAULT=$restore_fault"
        wait_until 10 "PID $pid to disappear after the failed restore" gone ||
          finish FAIL "a process with PID $pid is alive after a restore that failed"
        after=$(images_digest)
        [ "$before" = "$after" ] || finish FAIL "the failed restore changed the images: $(diff <(echo "$before") <(echo "$after") | head -5 | tr '\n' ' ')"
        finish PASS "restore failed at $restore_fault (exit $rc), left no process and the images untouched"
      fi
      restore_args=()
      lazy_args=()
      if [ "$page_server" = 1 ] && [ "$lazy" = 1 ]; then
        lazy_args+=(--page-server --port "$server_port")
        restore_args+=(--page-server --port "$server_port")
      fi
      if [ "$lazy" = 1 ]; then
        "$stasis" lazy-pages -D "$images" -o "$workdir/lazy.log" -v4 "${lazy_args[@]}" 2>"$workdir/lazy.err" &
        lazy_pid=$!
        restore_args+=(--lazy-pages)
        say "stasis lazy-pages -D images ${lazy_args[*]} (PID $lazy_pid)"
      fi
      timeout --kill-after=5 "$timeout" \
        "$stasis" restore -D "$images" -d --pidfile "$workdir/restored.pid" -o "$workdir/restore.log" -v4 \
        "${stasis_args[@]}" "${restore_args[@]}" 2>"$workdir/restore.err" || finish FAIL "stasis restore failed (exit $?)"
      [ -s "$workdir/restored.pid" ] || finish FAIL "restore wrote no pidfile"
      restored=$(tr -d ' \n' <"$workdir/restored.pid")
      [ "$restored" = "$pid" ] || finish FAIL "restored PID is '$restored', the original was $pid"
      ours_alive "$pid" || finish FAIL "restored PID $pid is not alive (or not the same program)"
      say "restored as PID $pid"
    fi
  fi
fi

# ---- check ---------------------------------------------------------------
if [ -n "$check_cmd" ]; then
  say "running check command"
  out=$($check_cmd "$workdir" "$pid" 2>&1); rc=$?
  printf '%s\n' "$out" >"$workdir/check-cmd.log"
  last=$(printf '%s\n' "$out" | tail -n1)
  [ $rc = 0 ] && finish PASS "$last"
  [ $rc = 77 ] && finish SKIP "$last"
  finish FAIL "${last:-check command failed (exit $rc)}"
fi

touch "$workdir/check"
has_verdict() {
  [ -e "$workdir/verdict" ] && return 0
  if ! ours_alive "$pid"; then
    sleep 0.1   # it may be writing the verdict right now
    [ -e "$workdir/verdict" ] && return 0
    reason="the program died without a verdict"
    return 2
  fi
  return 1
}
deadline=$((SECONDS + timeout))
while :; do
  has_verdict; rc=$?
  [ $rc = 0 ] && break
  [ $rc = 2 ] && finish FAIL "$reason"
  [ "$SECONDS" -ge "$deadline" ] && finish FAIL "timed out after ${timeout}s waiting for the verdict"
  sleep 0.02
done
v=$(head -n1 "$workdir/verdict")
if [ -n "$lazy_pid" ] && [ "$v" = PASS ]; then
  lazy_done() { ! kill -0 "$lazy_pid" 2>/dev/null; }
  wait_until "$timeout" "stasis lazy-pages to finish" lazy_done || finish FAIL "$reason"
  wait "$lazy_pid"; rc=$?
  lazy_pid=''
  [ $rc = 0 ] || { show_tail "$workdir/lazy.log"; finish FAIL "stasis lazy-pages exited with $rc: $(cat "$workdir/lazy.err")"; }
  served=$(grep -o 'all memory served.*' "$workdir/lazy.log" | tail -n1)
  say "lazy-pages: $served"
  # Background fill held back: the program's pages must have come on faults.
  if [ -n "${STASIS_LAZY_BACKGROUND_DELAY_MS:-}" ] && [[ "$served" =~ served:\ 0\ page ]]; then
    finish FAIL "no page was served on a fault although the background fill was held back"
  fi
  [ -n "$server_pid" ] && wait_server_exit "after lazy-pages delivered everything"
fi
case $v in
  PASS) finish PASS "${dump_fault:+after a dump failed at $dump_fault}" ;;
  SKIP*) finish SKIP "${v#SKIP: }" ;;
  *) finish FAIL "${v#FAIL: }" ;;
esac
