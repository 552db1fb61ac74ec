#!/usr/bin/env bash
# Proves: a process restored through a vDSO proxy can be checkpointed again
# and comes back; the second dump records the original vDSO (never the
# proxy), so the next restore on a kernel with that vDSO takes the in-place
# path, and a proxy built again after that stands in for the original, not
# for a proxy. Three hops on this kernel, the proxy forced on the 1st and 3rd
# (STASIS_VDSO_PROXY=always); the program checks itself after each.
#
#   proxy_round_trip_never_nests.sh STASIS BIN_DIR
source "$(dirname "$0")/../failure/common.sh"

prog=$bin/vdso_calls_survive_a_kernel_change
start_target "$prog" --repeat-checks

# hop N FORCE EXPECT: dump, restore (proxy forced when FORCE=1), the restore
# log must say EXPECT about the vDSO, and the program's check must pass.
hop() {
  local n=$1 force=$2 expect=$3 v
  mkdir -p "$tmp/images$n"
  "$stasis" dump -t "$pid" -D "$tmp/images$n" -v4 -o "$tmp/dump$n.log" 2>"$tmp/dump$n.err" ||
    fail "hop $n: dump failed: $(tail -1 "$tmp/dump$n.err")"
  for _ in $(seq 1500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  kill -0 "$pid" 2>/dev/null && fail "hop $n: PID $pid still alive after the dump"
  if [ "$n" = 2 ]; then
    grep -q "runs on a vDSO proxy; its original vDSO is recorded" "$tmp/dump$n.log" ||
      fail "hop $n: the dump did not recognise the proxy"
  fi
  if [ "$force" = 1 ]; then export STASIS_VDSO_PROXY=always; else unset STASIS_VDSO_PROXY; fi
  "$stasis" restore -D "$tmp/images$n" -d --pidfile "$tmp/restored$n.pid" -v4 -o "$tmp/restore$n.log" \
    2>"$tmp/restore$n.err" || fail "hop $n: restore failed: $(tail -1 "$tmp/restore$n.err")"
  unset STASIS_VDSO_PROXY
  [ "$(cat "$tmp/restored$n.pid")" = "$pid" ] || fail "hop $n: restored as another PID"
  grep -q "vDSO: $expect" "$tmp/restore$n.log" ||
    fail "hop $n: the restore log does not say 'vDSO: $expect': $(grep -h 'vDSO' "$tmp/restore$n.log")"
  [ "$n" = 3 ] && touch "$tmp/work/finish"
  rm -f "$tmp/work/verdict"
  touch "$tmp/work/check"
  for _ in $(seq 1500); do [ -e "$tmp/work/verdict" ] && break; sleep 0.02; done
  v=$(cat "$tmp/work/verdict" 2>/dev/null)
  [ "$v" = PASS ] || fail "hop $n: the program's own check: ${v:-no verdict}"
}

hop 1 1 "proxy"
# The second image holds the original vDSO: same kernel, so in place.
hop 2 0 "in place"
hop 3 1 "proxy"
# The proxy's own mappings were not dumped as memory: the second image has
# no more mappings than the first.
m1=$(grep -o '[0-9]* mappings' "$tmp/dump1.log" | head -1) m2=$(grep -o '[0-9]* mappings' "$tmp/dump2.log" | head -1)
[ "$m1" = "$m2" ] || fail "the dump of the proxied process saw $m2, the first dump $m1"
pass "proxy, in place, proxy: three restores, every check passed"
