#!/usr/bin/env bash
# The cross-kernel tier: a checkpoint taken under one kernel is restored
# under another (issue 9, the vDSO proxy). README.md, "Cross-kernel restore".
#
#   tests/qemu/run-xkernel.sh ARCH                old -> new -> old kernel
#   tests/qemu/run-xkernel.sh x86_64 --from-host  host kernel -> old kernel
#   tests/qemu/run-xkernel.sh arm --kernels bookworm,bookworm   a control:
#                                                 the same kernel, rebooted
#
# ARCH's pair of kernels is in xkernel-pairs.txt (old: bookworm 6.1, new:
# a 6.12 generation of the same page size). Three boots, one after the
# other, on one host directory shared over 9p and mounted in the guest at
# its host path (so the paths in the images are valid on both sides):
#
#   1. old kernel: start the program, check, dump into images1
#   2. new kernel: restore images1, check, dump into images2
#   3. old kernel: restore images2, finish (check, then it must exit 0)
#
# --from-host: the host starts the static program of the guest from the
# share, checks it and dumps it with the host's own stasis (--host-stasis,
# default build/<arch>/stasis); one boot of the old kernel restores and
# finishes it.
#
# Every check is the program's verdict (tests/live/vdso_calls_survive_a_kernel_change.c
# with --repeat-checks, or the stand-in tests/qemu/xkernel/standin.c while
# that does not exist). For every restore the lines of its log that mention
# the vDSO are printed: which way the engine went (in place or proxy).
# PASS only when every action of every hop passed.
#
# --kernels OLD,NEW: another pair of generations (fetch-kernels.sh names).
# With OLD = NEW it is a control for the harness and the in-place path: the
# vDSO is the same on every boot of one kernel, only its address changes.
#
# Options: --guest CPIO (default build/<arch>-static/tests/qemu/xkernel-guest.cpio,
# target stasis_xkernel_guest; ci/vm.sh --xkernel builds it), --host-stasis
# PATH, --timeout SECONDS (per boot, default 600), --work DIR (default
# build/vm/xkernel/<arch>[-from-host]; the share is DIR/share).
# Environment: STASIS_VM_DIR (kernels, logs), STASIS_XK_TIMEOUT (seconds
# per wait inside the guest, default 300).
#
# Output: one line per hop and action, the vDSO lines, the stasis logs'
# tails after a failure, and a last line "xkernel: PASS|FAIL <test> ...".
# Console logs: build/vm/logs/xkernel-<arch>[-from-host]-<hop>.console.log;
# stasis logs on the share (dumpN.log, restoreN.log, work/prog.log).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
me=run-xkernel

usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; esac
arch=$1; shift
from_host=0 guest='' host_stasis='' boot_timeout=600 work='' kernels=''
while [ $# -gt 0 ]; do
  case $1 in
    --from-host) from_host=1 ;;
    --guest) guest=${2:?}; shift ;;
    --host-stasis) host_stasis=${2:?}; shift ;;
    --timeout) boot_timeout=${2:?}; shift ;;
    --work) work=${2:?}; shift ;;
    --kernels) kernels=${2:?}; shift ;;
    -h|--help) usage ;;
    *) echo "$me: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
vm_dir=${STASIS_VM_DIR:-$root/build/vm}
read -r old new < <(awk -v a="$arch" '$1 == a { print $2, $3 }' "$here/xkernel-pairs.txt")
[ -n "${old:-}" ] || { echo "$me: no kernel pair for '$arch' in $here/xkernel-pairs.txt" >&2; exit 2; }
if [ -n "$kernels" ]; then
  old=${kernels%%,*} new=${kernels#*,}
  [ -n "$old" ] && [ -n "$new" ] && [ "$new" != "$kernels" ] || { echo "$me: --kernels wants OLD,NEW" >&2; exit 2; }
fi
[ -n "$guest" ] || guest=$root/build/$arch-static/tests/qemu/xkernel-guest.cpio
[ -s "$guest" ] || { echo "$me: no guest at $guest (target stasis_xkernel_guest of build/$arch-static; ci/vm.sh --xkernel builds it)" >&2; exit 1; }
label=$arch
if [ "$from_host" = 1 ]; then
  [ "$arch" = "$(uname -m)" ] || { echo "$me: --from-host needs the host's architecture ($(uname -m)), not $arch" >&2; exit 2; }
  label=$arch-from-host
  [ -n "$host_stasis" ] || host_stasis=$root/build/$arch/stasis
  [ -x "$host_stasis" ] || { echo "$me: no host stasis at $host_stasis (--host-stasis)" >&2; exit 1; }
  test_name=xkernel.$arch.host-to-$old
else
  test_name=xkernel.$arch.$old-to-$new-and-back
  [ "$old" = "$new" ] && test_name=xkernel.$arch.$old-reboots
  [ -n "$kernels" ] && label=$arch-$old-$new
fi
[ -n "$work" ] || work=$vm_dir/xkernel/$label
mkdir -p "$work" "$vm_dir/logs"
work=$(cd "$work" && pwd)
share=$work/share
# The share's path must survive the trip through the kernel command line.
case $share in *[!A-Za-z0-9/._+-]*) echo "$me: the share path '$share' has characters the kernel command line cannot carry" >&2; exit 2 ;; esac
rm -rf "$share"
mkdir -p "$share"
start=$SECONDS
failed=0 summary=()

# ---- kernels and their modules -------------------------------------------------
gens=("$old")
[ "$from_host" = 1 ] || [ "$new" = "$old" ] || gens+=("$new")
STASIS_VM_DIR=$vm_dir "$here/fetch-kernels.sh" --modules --generation "$(IFS=,; echo "${gens[*]}")" "$arch" |
  sed 's/^/  /' || { echo "$me: cannot fetch the kernels" >&2; exit 1; }

# The guest with one kernel's modules appended as a second archive.
boot_cpio() { # GEN -> path
  local gen=$1 mods=$vm_dir/kernels/$arch/$1/modules out=$work/boot-$1.cpio stage
  [ -f "$mods/load" ] || { echo "$me: no modules for $arch/$gen (fetch-kernels.sh --modules)" >&2; return 1; }
  stage=$(mktemp -d "$work/stage.XXXXXX")
  mkdir -p "$stage/modules"
  cp "$mods"/load "$mods"/*.ko* "$stage/modules/"
  { cat "$guest"; (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0); } >"$out"
  rm -rf "$stage"
  echo "$out"
}

show_tail() { # FILE [LINES]
  [ -s "$1" ] || return 0
  echo "---- tail of ${1#"$work"/} ----"
  tail -n "${2:-25}" "$1"
  echo "---- end ----"
}

# One boot: hop number, generation, actions. Prints the hop's lines and
# returns non-zero unless every action passed.
boot() {
  local hop=$1 gen=$2 actions=$3 cpio log n_actions rel
  rel=$(cat "$vm_dir/kernels/$arch/$gen/release" 2>/dev/null || echo "$gen")
  cpio=$(boot_cpio "$gen") || return 1
  log=$vm_dir/logs/xkernel-$label-$hop.console.log
  echo "== hop $hop: $arch $gen ($rel): $actions"
  local t0=$SECONDS
  "$here/run-vm.sh" "$arch" --guest "$cpio" --kernel-generation "$gen" --log "$log" --timeout "$boot_timeout" \
    --share "$share" --init /init --no-results \
    --append "STASIS_XK_SHARE=$share STASIS_XK_ACTIONS=$actions STASIS_XK_HOP=$hop${STASIS_XK_TIMEOUT:+ STASIS_XK_TIMEOUT=$STASIS_XK_TIMEOUT}" \
    >"$log.run" 2>&1
  local rc=$?
  grep -E "^STASIS-XK $arch $hop " "$log" | sed "s/^STASIS-XK $arch $hop /   /"
  n_actions=$(tr ',' '\n' <<<"$actions" | wc -l)
  local passed
  passed=$(grep -cE "^STASIS-XK $arch $hop [^ ]+ PASS( |\$)" "$log")
  local vdso
  vdso=$(grep -E "^STASIS-XK $arch $hop VDSO " "$log" | head -1 | cut -d' ' -f5-)
  echo "   (boot ${rel}: $((SECONDS - t0)) s)"
  if [ "$rc" != 0 ] || [ "$passed" -ne "$n_actions" ] || ! grep -q "^STASIS-VM $arch END xkernel hop $hop pass=$n_actions fail=0" "$log"; then
    grep -q "^STASIS-VM $arch END" "$log" || { echo "   the guest did not finish; end of console:"; tail -n 30 "$log" | sed 's/^/   | /'; }
    for f in "$share"/dump*.err "$share"/restore*.err; do
      [ -s "$f" ] && show_tail "$f" 15
    done
    show_tail "$share/work/prog.log" 15
    summary+=("hop $hop ($rel): FAIL${vdso:+ [vDSO: $vdso]}")
    return 1
  fi
  summary+=("hop $hop ($rel): PASS${vdso:+ [vDSO: $vdso]}")
  return 0
}

# ---- the host's part (--from-host) ---------------------------------------------
prog_name=$(cpio -t --quiet <"$guest" | sed -n 's|^live/||p' | head -1)
[ -n "$prog_name" ] || { echo "$me: no program under live/ in $guest" >&2; exit 1; }
host_pid=''
cleanup() { [ -n "$host_pid" ] && kill -KILL "$host_pid" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

host_hop() {
  local w=$share/work prog=$share/bin/$prog_name t0=$SECONDS status
  echo "== hop 1: host $(uname -r): start, check, dump:1 (with $host_stasis)"
  mkdir -p "$w" "$share/bin"
  cpio -i --quiet --to-stdout "live/$prog_name" <"$guest" >"$prog" && chmod 755 "$prog"
  # Own session, stdin /dev/null, output to prog.log, nothing but fds 0-2.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-"
    done
    cd /
    # The guest's CPU (qemu's TCG) has no AVX-512. A host that has it lets
    # glibc's string functions leave live state in zmm16-31 and the mask
    # registers, which the restore there must refuse (stasis says so by
    # name); with glibc told not to use AVX-512 the program's state fits
    # the guest, as it would for an operator moving a service to such a
    # machine.
    exec setsid env GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD \
      "$prog" "$w" --repeat-checks </dev/null >"$w/prog.log" 2>&1
  ) &
  host_pid=$!
  local deadline=$((SECONDS + 60))
  while [ ! -e "$w/ready" ]; do
    kill -0 "$host_pid" 2>/dev/null || { echo "   start FAIL: the program ended before it was ready"; show_tail "$w/prog.log"; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "   start FAIL: no ready after 60 s"; return 1; }
    sleep 0.05
  done
  echo "$host_pid" >"$share/pid"
  echo "   start PASS $prog PID $host_pid"
  rm -f "$w/verdict"
  : >"$w/check"
  deadline=$((SECONDS + 60))
  while [ ! -e "$w/verdict" ]; do
    [ $SECONDS -lt $deadline ] || { echo "   check FAIL: no verdict after 60 s"; return 1; }
    sleep 0.05
  done
  local v
  v=$(head -1 "$w/verdict")
  [ "$v" = PASS ] || { echo "   check FAIL verdict $v"; return 1; }
  echo "   check PASS verdict $v"
  mkdir -p "$share/images1"
  if ! "$host_stasis" dump -t "$host_pid" -D "$share/images1" -v4 -o "$share/dump1.log" >"$share/dump1.err" 2>&1; then
    echo "   dump:1 FAIL host stasis dump failed"
    show_tail "$share/dump1.err"
    return 1
  fi
  { wait "$host_pid"; } 2>/dev/null
  status=$?
  if kill -0 "$host_pid" 2>/dev/null; then echo "   dump:1 FAIL PID $host_pid still runs"; return 1; fi
  echo "   dump:1 PASS PID $host_pid into $share/images1 (the program ended with status $status)"
  host_pid=''
  echo "   (host: $((SECONDS - t0)) s)"
  summary+=("hop 1 (host $(uname -r)): PASS")
}

# ---- the hops ----------------------------------------------------------------------
echo "$me: $test_name: share $share, guest $(basename "$guest") ($prog_name)"
if [ "$from_host" = 1 ]; then
  if host_hop 2>/dev/null; then   # (bash reports the job the dump killed on stderr)
    boot 2 "$old" "restore:1,finish" || failed=1
  else
    failed=1 summary+=("hop 1 (host $(uname -r)): FAIL")
  fi
else
  boot 1 "$old" "start,check,dump:1" &&
    boot 2 "$new" "restore:1,check,dump:2" &&
    boot 3 "$old" "restore:2,finish" || failed=1
fi

echo "== $test_name"
for s in "${summary[@]}"; do echo "   $s"; done
echo "xkernel: $([ $failed = 0 ] && echo PASS || echo FAIL) $test_name in $((SECONDS - start)) s (stasis logs in $share)"
exit $failed
