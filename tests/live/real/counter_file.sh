# Shared by the real-program scenarios whose program keeps rewriting a
# count in WORKDIR/f (sourced, not run): the ready and check halves of the
# run-scenario.sh protocol.

# The program rewrites f with `>`: a read may catch it empty, so retry.
count() {
  local v
  for _ in $(seq 50); do
    v=$(cat "$1/f" 2>/dev/null)
    [ -n "$v" ] && { echo "$v"; return; }
    sleep 0.01
  done
  echo 0
}

# --ready WORKDIR: success once the count reached 5 (remembered for --check).
counter_ready() {
  local v
  v=$(count "$1")
  [ "$v" -ge 5 ] || return 1
  echo "$v" >"$1/ready-count"
}

# --check WORKDIR PID WHAT: the process is there, the count did not go back
# since ready (a fresh start would begin at 1 again) and keeps rising. Prints
# the verdict's reason; `WHAT` names the program in it.
counter_check() {
  local wd=$1 pid=$2 what=$3 v0 v1 v2
  v1=$(count "$wd")
  sleep 0.5
  v2=$(count "$wd")
  v0=$(cat "$wd/ready-count")
  [ -d "/proc/$pid" ] || { echo "$what (PID $pid) is gone"; return 1; }
  [ "$v1" -ge "$v0" ] || { echo "the count went back from $v0 to $v1 (restarted from scratch?)"; return 1; }
  [ "$v2" -gt "$v1" ] || { echo "$what stopped counting at $v1"; return 1; }
  echo "$what kept counting: $v0 at ready, $v1, then $v2"
}
