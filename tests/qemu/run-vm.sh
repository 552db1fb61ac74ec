#!/usr/bin/env bash
# Boots one architecture's VM tier guest under qemu-system (TCG) with its
# Debian kernel, keeps the serial console in a log file and summarises the
# guest's verdict lines (STASIS-VM <arch> <scenario> PASS|FAIL|SKIP ...).
#
#   tests/qemu/run-vm.sh ARCH [--guest CPIO] [--log FILE] [--timeout SECONDS]
#                             [--kernel-generation GENERATION] [--memory MIB]
#                             [--share DIR] [--init PATH] [--append WORDS]
#                             [--no-results]
#
#   --guest    default: build/<arch>-static/tests/qemu/guest.cpio
#              (target stasis_vm_guest of that build)
#   --kernel-generation  bookworm (6.1, default), bookworm-backports (6.12)
#              bookworm-backports-16k (6.12 arm64-16k, aarch64 only) or
#              bookworm-backports-64k (6.12 powerpc64le-64k, ppc64le only);
#              default $STASIS_VM_KERNEL_GENERATION or bookworm. Fetched
#              by fetch-kernels.sh when not cached.
#   --log      default: build/vm/logs/<arch>.console.log for bookworm,
#              build/vm/logs/<arch>-<generation>.console.log otherwise
#   --timeout  wall-clock limit for the whole boot, default 1500 s; qemu is
#              killed when it is reached (and on every other way out)
#   --share    a host directory the guest sees over virtio 9p, mount tag
#              xkshare (virtio-9p-ccw on s390x, virtio-9p-pci elsewhere);
#              the guest needs the 9p modules (fetch-kernels.sh --modules)
#   --init     the guest's init program (default /init)
#   --append   more words for the kernel command line
#   --no-results  no per-scenario results (a guest that runs no scenario
#              list: the cross-kernel tier's, record.sh's)
#
# Environment: STASIS_VM_DIR (default build/vm: kernels/, logs/);
# STASIS_VM_ONLY, STASIS_VM_TIMEOUT, STASIS_VM_TAIL, STASIS_VM_PASS_LOGS are
# handed to the guest's /init on the kernel command line (init/vm_init.c).
#
# Exit status: 0 when the guest started its scenarios (their verdicts are in
# the log: tests/qemu/vm-verdict.sh reads them; a guest that died half-way
# is reported here and fails the scenarios it did not finish), 1 when it
# never got that far, 2 usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
me=run-vm

usage() { sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; esac
arch=$1; shift
vm_dir=${STASIS_VM_DIR:-$root/build/vm}
guest=$root/build/$arch-static/tests/qemu/guest.cpio
log=''
timeout=1500 generation=${STASIS_VM_KERNEL_GENERATION:-bookworm} memory=1024
share='' init=/init extra_append='' results_wanted=1
while [ $# -gt 0 ]; do
  case $1 in
    --guest) guest=${2:?}; shift ;;
    --log) log=${2:?}; shift ;;
    --timeout) timeout=${2:?}; shift ;;
    --kernel-generation) generation=${2:?}; shift ;;
    --memory) memory=${2:?}; shift ;;
    --share) share=${2:?}; shift ;;
    --init) init=${2:?}; shift ;;
    --append) extra_append=${2:?}; shift ;;
    --no-results) results_wanted=0 ;;
    -h|--help) usage ;;
    *) echo "$me: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
# Logs and result lines of another kernel generation than the default carry
# its name, so that both can sit side by side.
label=$arch
[ "$generation" != bookworm ] && label=$arch-$generation
[ -n "$log" ] || log=$vm_dir/logs/$label.console.log

# Machine, CPU and console per architecture (docs: /work/shared/PLATFORM.md).
case $arch in
  x86_64) qemu=qemu-system-x86_64 machine=(-M q35 -cpu max) console=ttyS0 ;;
  # pauth-impdef: the same pointer authentication, with a hash TCG computes
  # far faster than the architected QARMA.
  aarch64) qemu=qemu-system-aarch64 machine=(-M virt -cpu max,pauth-impdef=on) console=ttyAMA0 ;;
  arm) qemu=qemu-system-arm machine=(-M virt,highmem=off -cpu cortex-a15) console=ttyAMA0 ;;
  ppc64le) qemu=qemu-system-ppc64
    machine=(-M pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off -cpu power9)
    console=hvc0 ;;
  s390x) qemu=qemu-system-s390x machine=(-M s390-ccw-virtio -cpu max) console=ttysclp0 ;;
  *) echo "$me: unknown architecture '$arch' (have: x86_64 aarch64 arm ppc64le s390x)" >&2; exit 2 ;;
esac
command -v "$qemu" >/dev/null || { echo "$me: $qemu is not installed (ci/deps.sh installs it)" >&2; exit 1; }
if [ ! -s "$guest" ]; then
  echo "$me: no guest at $guest (build target stasis_vm_guest of build/$arch-static; ci/vm.sh does)" >&2
  exit 1
fi
kernel=$vm_dir/kernels/$arch/$generation/kernel
if [ ! -s "$kernel" ]; then
  STASIS_VM_DIR=$vm_dir "$here/fetch-kernels.sh" --generation "$generation" "$arch" >&2 || exit 1
fi
[ -s "$kernel" ] || { echo "$me: no kernel at $kernel" >&2; exit 1; }

# Kernel command line: quiet (warnings and worse still show), no reboot
# loops after a panic, and the knobs /init reads from its environment.
append="console=$console panic=-1 quiet mitigations=off rdinit=$init"
for v in STASIS_VM_ONLY STASIS_VM_TIMEOUT STASIS_VM_TAIL STASIS_VM_PASS_LOGS; do
  [ -n "${!v:-}" ] && append+=" $v=${!v}"
done
[ -n "$extra_append" ] && append+=" $extra_append"
# A host directory over 9p: the transport the machine has.
devices=()
if [ -n "$share" ]; then
  [ -d "$share" ] || { echo "$me: --share $share is no directory" >&2; exit 2; }
  transport=virtio-9p-pci
  [ "$arch" = s390x ] && transport=virtio-9p-ccw
  devices=(-fsdev "local,id=xkshare,path=$share,security_model=none"
           -device "$transport,fsdev=xkshare,mount_tag=xkshare")
fi

mkdir -p "$(dirname "$log")"
: >"$log"
qemu_pid=''
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill -KILL "$qemu_pid" 2>/dev/null
    wait "$qemu_pid" 2>/dev/null
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "$me: $label: $(cat "$vm_dir/kernels/$arch/$generation/release" 2>/dev/null || echo kernel), guest $(du -h "$guest" | cut -f1), log $log"
start=$SECONDS
# -no-reboot: a reboot (or a panic, with panic=-1) ends qemu instead of
# looping. No KVM here: TCG, one vCPU (two VMs share two cores).
"$qemu" "${machine[@]}" -smp 1 -m "$memory" -nographic -monitor none -serial "file:$log" -no-reboot \
  "${devices[@]}" -kernel "$kernel" -initrd "$guest" -append "$append" </dev/null >"$log.qemu" 2>&1 &
qemu_pid=$!

timed_out=0
while kill -0 "$qemu_pid" 2>/dev/null; do
  if [ $((SECONDS - start)) -ge "$timeout" ]; then
    timed_out=1
    kill -KILL "$qemu_pid" 2>/dev/null
    break
  fi
  sleep 1
done
wait "$qemu_pid" 2>/dev/null
qemu_rc=$?
qemu_pid=''
elapsed=$((SECONDS - start))
# The serial console ends lines with CR LF.
sed -i 's/\r$//' "$log"

# One result per scenario the guest was to run (its list, narrowed by
# STASIS_VM_ONLY), in $log.results and on stdout:
#   PASS|FAIL|SKIP|XFAIL|XPASS <arch> <scenario> <reason>
# XFAIL/XPASS: the scenario is in known-failures.txt for this arch (a
# failure there is expected and reported as such; a pass says the entry is
# stale). A scenario the guest never reported is a FAIL.
results=$log.results
: >"$results"
if [ "$results_wanted" = 0 ]; then
  echo "$me: $label: guest ran ${elapsed}s$([ $timed_out = 1 ] && echo " (killed after ${timeout}s)")"
  grep -q "STASIS-VM $arch BEGIN" "$log" || {
    echo "$me: $label: the guest never started (qemu exit $qemu_rc); console:" >&2
    tail -n 40 "$log" >&2
    [ -s "$log.qemu" ] && { echo "---- qemu ----" >&2; tail -n 20 "$log.qemu" >&2; }
    exit 1
  }
  grep -q "^STASIS-VM $arch END" "$log" || {
    echo "$me: $label: the guest did not finish; end of console:" >&2
    tail -n 40 "$log" >&2
  }
  exit 0
fi
list=$(cpio -i --quiet --to-stdout '*etc/stasis-vm/scenarios' <"$guest" 2>/dev/null | awk '/^[a-z]/ {print $1}')
if [ -n "${STASIS_VM_ONLY:-}" ]; then
  list=$(grep -Fx -f <(tr ',' '\n' <<<"$STASIS_VM_ONLY") <<<"$list" || true)
fi
known() { # the reason arch/scenario is a known failure, or nothing
  [ -f "$here/known-failures.txt" ] &&
    awk -v a="$arch" -v s="$2" '$1 == a && ($2 == s || $2 == "*") { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }' \
      "$here/known-failures.txt"
}
finished=0
grep -q "^STASIS-VM $arch END" "$log" && finished=1
for s in $list; do
  line=$(grep -E "^STASIS-VM $arch $s (PASS|FAIL|SKIP)( |\$)" "$log" | tail -1)
  if [ -n "$line" ]; then
    result=$(cut -d' ' -f4 <<<"$line")
    reason=$(cut -d' ' -f5- <<<"$line")
  elif grep -q "^STASIS-VM $arch $s START" "$log"; then
    result=FAIL reason="the guest died or was stopped during this scenario"
  elif [ "$finished" = 1 ]; then
    result=FAIL reason="the guest finished without reporting it"
  else
    result=FAIL reason="not reached: the guest stopped before this scenario"
  fi
  why=$(known "$arch" "$s")
  if [ -n "$why" ]; then
    case $result in
      FAIL) result=XFAIL reason="known failure ($why): $reason" ;;
      PASS) result=XPASS reason="listed in tests/qemu/known-failures.txt ($why) but passed: remove the entry" ;;
    esac
  fi
  echo "$result $label $s $reason" >>"$results"
done
count() { awk -v r="$1" '$1 == r' "$results" | wc -l; }
echo "$me: $label: $(count PASS) passed, $(count FAIL) failed, $(count XFAIL) expected failures," \
  "$(count XPASS) unexpected passes, $(count SKIP) skipped in ${elapsed}s$([ $timed_out = 1 ] && echo " (killed after ${timeout}s)")"
cat "$results"

if ! grep -q "STASIS-VM $arch BEGIN" "$log"; then
  echo "$me: $label: the guest never started its scenarios (qemu exit $qemu_rc$([ $timed_out = 1 ] && echo ", killed after ${timeout}s")); console:" >&2
  tail -n 40 "$log" >&2
  [ -s "$log.qemu" ] && { echo "---- qemu ----" >&2; tail -n 20 "$log.qemu" >&2; }
  exit 1
fi
if [ "$finished" != 1 ]; then
  last=$(grep -E "^STASIS-VM $arch [^ ]+ START" "$log" | tail -1 | cut -d' ' -f3)
  echo "$me: $label: the guest did not finish ($([ $timed_out = 1 ] && echo "killed after ${timeout}s" || echo "qemu exit $qemu_rc")); last scenario started: ${last:-none}; end of console:" >&2
  tail -n 40 "$log" >&2
fi
exit 0
