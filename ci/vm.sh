#!/usr/bin/env bash
# The VM tier: real checkpoint/restore of every live scenario on x86_64,
# aarch64, arm, ppc64le and s390x, each under qemu-system (TCG) with
# Debian bookworm's 6.1 kernel. See tests/qemu/README.md.
#
#   ci/vm.sh                       all five architectures
#   ci/vm.sh aarch64 s390x         just these
#   STASIS_VM_SCENARIOS=memory_heap_and_anonymous_keep_content,vdso_time_keeps_moving_forward ci/vm.sh arm
#
# Every scenario runs on every arch by default (STASIS_VM_SCENARIOS=all):
# about 1.5-2 min of TCG per arch, two VMs at a time, well inside CI's
# budget (tests/qemu/README.md has the measured times).
#
# For each arch it builds the guest (target stasis_vm_guest) in
# build/<arch>-static (the directory ci/build.sh keeps the static stasis in,
# configured here with -DSTASIS_LIVE_STATIC=ON so the scenario programs are
# static too), fetches the kernel (tests/qemu/fetch-kernels.sh, cached in
# build/vm/kernels), then boots the VMs, STASIS_VM_PARALLEL (default 2) at a
# time. Console logs: build/vm/logs/<arch>.console.log.
#
# Exits non-zero when a scenario failed or a guest did not finish. The same
# tier as CTest tests (label vm, one test per arch and scenario): configure
# the native build with -DSTASIS_VM_TESTS=ON, run this script once (or
# `ci/vm.sh --build-only`) for the guests, then `ctest -L vm -j2`.
#
# Results: one line per scenario and arch, PASS / FAIL / SKIP / XFAIL (an
# engine failure listed in tests/qemu/known-failures.txt) / XPASS (a listed
# one that passed), then a line "vm: N passed, N failed, ...".
#
# Kernel generations: STASIS_VM_GENERATIONS, a comma list of bookworm (6.1,
# the default and what CI boots), bookworm-backports (6.12),
# bookworm-backports-16k (6.12 arm64-16k: 16 KiB pages, aarch64 only) and
# bookworm-backports-64k (6.12 powerpc64le-64k: 64 KiB pages, ppc64le only);
# other arches skip the last two. Every arch boots once per generation; the logs of a
# generation other than bookworm are build/vm/logs/<arch>-<generation>.*.
#   STASIS_VM_GENERATIONS=bookworm-backports-16k ci/vm.sh aarch64
#
# Cross-kernel restore (issue 9): `ci/vm.sh --xkernel [ARCH...]` builds the
# cross-kernel guests (target stasis_xkernel_guest) and runs
# tests/qemu/run-xkernel.sh for each arch: dump under the old kernel of its
# pair (tests/qemu/xkernel-pairs.txt), restore under the new one, dump
# again, restore under the old one, all over a 9p share. On x86_64 also the
# host's kernel -> the VM's (with build/x86_64/stasis, when built), and
# with STASIS_XK_CONTROLS=1 the old kernel rebooted (the control). One VM at
# a time. Results: one "xkernel: PASS|FAIL <test>" line each, then a line
# "xkernel: N passed, N failed".
#
# Environment: STASIS_VM_SCENARIOS (all, default = all, or a comma list),
# STASIS_VM_BOOT_TIMEOUT (seconds per boot, default 480),
# STASIS_VM_PARALLEL (VMs at once, default 2), STASIS_JOBS (build parallelism, default nproc),
# STASIS_VM_BUILD_ROOT (default build), STASIS_VM_DIR (default build/vm),
# STASIS_VM_TIMEOUT / STASIS_VM_TAIL / STASIS_VM_PASS_LOGS (for the guest,
# see tests/qemu/init/vm_init.c).
set -euo pipefail
cd "$(dirname "$0")/.."
ALL_ARCHES=(ppc64le aarch64 x86_64 s390x arm)   # slowest first: shortest total
build_only=0 xkernel=0
arches=()
for a in "$@"; do
  case $a in
    --build-only) build_only=1 ;;
    --xkernel) xkernel=1 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed -e '/^set -e/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "ci/vm.sh: unknown option '$a'" >&2; exit 2 ;;
    *) arches+=("$a") ;;
  esac
done
[ ${#arches[@]} -eq 0 ] && arches=("${ALL_ARCHES[@]}")
guest_target=stasis_vm_guest
[ "$xkernel" = 1 ] && guest_target=stasis_xkernel_guest
native=$(uname -m)
build_root=${STASIS_VM_BUILD_ROOT:-build}
export STASIS_VM_DIR=${STASIS_VM_DIR:-$PWD/build/vm}
jobs=${STASIS_JOBS:-$(nproc)}
parallel=${STASIS_VM_PARALLEL:-2}
start=$SECONDS
IFS=, read -r -a generations <<<"${STASIS_VM_GENERATIONS:-bookworm}"
for g in "${generations[@]}"; do
  case $g in
    bookworm|bookworm-backports|bookworm-backports-16k|bookworm-backports-64k) ;;
    *) echo "ci/vm.sh: unknown kernel generation '$g' in STASIS_VM_GENERATIONS" \
            "(have: bookworm bookworm-backports bookworm-backports-16k bookworm-backports-64k)" >&2; exit 2 ;;
  esac
done
# The boots: "arch generation label" for every arch that has the generation
# (the 16k flavour exists for aarch64 only).
boots=()
for g in "${generations[@]}"; do
  for arch in "${arches[@]}"; do
    case $g in
      *-16k) [ "$arch" = aarch64 ] || { echo "ci/vm.sh: no $g kernel for $arch, skipped"; continue; } ;;
      *-64k) [ "$arch" = ppc64le ] || { echo "ci/vm.sh: no $g kernel for $arch, skipped"; continue; } ;;
    esac
    label=$arch
    [ "$g" != bookworm ] && label=$arch-$g
    boots+=("$arch $g $label")
  done
done
[ ${#boots[@]} -gt 0 ] || { echo "ci/vm.sh: nothing to boot (${generations[*]} on ${arches[*]})" >&2; exit 2; }

# Which scenarios the guests run: STASIS_VM_SCENARIOS=default (what CI runs:
# DEFAULT_SCENARIOS), all, or a comma-separated list. STASIS_VM_ONLY (a list)
# is the older spelling and wins when set. All of them fit CI's budget
# (~2 min per arch); should they not one day, put a representative subset
# here (memory, threads, registers, signals, syscall restart, vdso).
DEFAULT_SCENARIOS=all
selection=${STASIS_VM_ONLY:-${STASIS_VM_SCENARIOS:-default}}
[ "$selection" = default ] && selection=$DEFAULT_SCENARIOS
case $selection in
  all) unset STASIS_VM_ONLY ;;
  *) export STASIS_VM_ONLY=$selection ;;
esac
# A boot that normally takes 1-3 minutes; 480 s bounds a hung guest so that
# five arches, two at a time, stay within ~25 minutes even at worst.
boot_timeout=${STASIS_VM_BOOT_TIMEOUT:-480}

for tool in cpio qemu-system-x86_64 qemu-system-aarch64 qemu-system-arm qemu-system-ppc64 qemu-system-s390x; do
  command -v "$tool" >/dev/null || { echo "ci/vm.sh: $tool is missing (ci/deps.sh installs it)" >&2; exit 1; }
done

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-25G}
fi

# ---- guests ----------------------------------------------------------------
for arch in "${arches[@]}"; do
  dir=$build_root/$arch-static
  toolchain=()
  if [ "$arch" != "$native" ]; then
    [ -f "toolchains/$arch.cmake" ] || { echo "ci/vm.sh: unknown architecture '$arch'" >&2; exit 2; }
    toolchain=(-DCMAKE_TOOLCHAIN_FILE="$PWD/toolchains/$arch.cmake")
  fi
  # Configure when new, or when ci/build.sh made it without the test
  # programs (-DSTASIS_TESTS=OFF) or without static ones.
  if [ ! -f "$dir/build.ninja" ] || ! grep -qx 'STASIS_LIVE_STATIC:BOOL=ON' "$dir/CMakeCache.txt" ||
     grep -qx 'STASIS_TESTS:BOOL=OFF' "$dir/CMakeCache.txt"; then
    mkdir -p "$dir"
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="${STASIS_BUILD_TYPE:-RelWithDebInfo}" "${toolchain[@]}" \
      "${launcher[@]}" -DSTASIS_STATIC=ON -DSTASIS_TESTS=ON -DSTASIS_LIVE_STATIC=ON >"$dir.vm-configure.log" 2>&1 || {
      cat "$dir.vm-configure.log" >&2; echo "ci/vm.sh: configure failed for $arch ($dir)" >&2; exit 1; }
  fi
  echo "== guest $arch ($dir, $guest_target)"
  cmake --build "$dir" -j "$jobs" --target "$guest_target"
done
# ---- cross-kernel restore -------------------------------------------------------
if [ "$xkernel" = 1 ]; then
  [ "$build_only" = 1 ] && exit 0
  mkdir -p "$STASIS_VM_DIR/logs"
  runs=()
  for arch in "${arches[@]}"; do
    runs+=("$arch")
    [ "${STASIS_XK_CONTROLS:-0}" = 1 ] && runs+=("$arch --kernels bookworm,bookworm")
    if [ "$arch" = "$native" ]; then
      if [ -x "build/$arch/stasis" ]; then
        runs+=("$arch --from-host --host-stasis build/$arch/stasis")
      else
        echo "ci/vm.sh: no build/$arch/stasis (ci/build.sh makes it): no host -> VM run"
      fi
    fi
  done
  xk_results=$STASIS_VM_DIR/logs/xkernel-results
  : >"$xk_results"
  for r in "${runs[@]}"; do
    read -r -a run_args <<<"$r"
    out=$STASIS_VM_DIR/logs/xkernel-$(tr ' ' '_' <<<"$r" | tr -d '/-').run.log
    echo "== xkernel $r"
    tests/qemu/run-xkernel.sh "${run_args[@]}" --guest "$build_root/${run_args[0]}-static/tests/qemu/xkernel-guest.cpio" \
      2>&1 | tee "$out" | grep -E '^(==|   |xkernel:)' || true
    line=$(grep '^xkernel: ' "$out" | tail -1)
    [ -n "$line" ] || line="xkernel: FAIL $r (no result: see $out)"
    echo "$line" >>"$xk_results"
  done
  echo
  cat "$xk_results"
  npass=$(grep -c '^xkernel: PASS' "$xk_results" || true)
  nfail=$(grep -c '^xkernel: FAIL' "$xk_results" || true)
  echo "xkernel: $npass passed, $nfail failed in $((SECONDS - start))s"
  [ "$nfail" = 0 ]
  exit
fi
tests/qemu/fetch-kernels.sh --generation "$(IFS=,; echo "${generations[*]}")" "${arches[@]}"
echo "== guests and kernels ready after $((SECONDS - start))s"
[ "$build_only" = 1 ] && exit 0

# ---- boots -------------------------------------------------------------------
mkdir -p "$STASIS_VM_DIR/logs"
trap 'kill $(jobs -p) 2>/dev/null; wait; exit 1' INT TERM HUP
boot_start=$SECONDS

# Which scenarios the guests run: STASIS_VM_SCENARIOS=default (what CI runs:
# DEFAULT_SCENARIOS), all, or a comma-separated list. STASIS_VM_ONLY (a list)
# is the older spelling and wins when set. All of them fit CI's budget
# (~2 min per arch); should they not one day, put a representative subset
# here (memory, threads, registers, signals, syscall restart, vdso).
DEFAULT_SCENARIOS=all
selection=${STASIS_VM_ONLY:-${STASIS_VM_SCENARIOS:-default}}
[ "$selection" = default ] && selection=$DEFAULT_SCENARIOS
case $selection in
  all) unset STASIS_VM_ONLY ;;
  *) export STASIS_VM_ONLY=$selection ;;
esac
# A boot that normally takes 1-3 minutes; 480 s bounds a hung guest so that
# five arches, two at a time, stay within ~25 minutes even at worst.
boot_timeout=${STASIS_VM_BOOT_TIMEOUT:-480}
for b in "${boots[@]}"; do
  read -r arch gen label <<<"$b"
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  echo "== boot $arch ($gen)"
  rm -f "$STASIS_VM_DIR/logs/$label.console.log.results"
  tests/qemu/run-vm.sh "$arch" --guest "$build_root/$arch-static/tests/qemu/guest.cpio" --timeout "$boot_timeout" \
    --kernel-generation "$gen" --log "$STASIS_VM_DIR/logs/$label.console.log" \
    >"$STASIS_VM_DIR/logs/$label.run.log" 2>&1 &
done
wait || true

# ---- summary -----------------------------------------------------------------
echo
echo "== VM tier: one line per scenario and arch (PASS FAIL SKIP, XFAIL = known failure, XPASS = known failure that passed)"
failed=0
all_results=$STASIS_VM_DIR/logs/results
: >"$all_results"
for b in "${boots[@]}"; do
  read -r arch gen label <<<"$b"
  log=$STASIS_VM_DIR/logs/$label.console.log
  sed -n '/^run-vm: /p' "$STASIS_VM_DIR/logs/$label.run.log"
  if [ -s "$log.results" ]; then
    cat "$log.results" >>"$all_results"
  else
    echo "FAIL $label (all) no results: the boot never got going (see $STASIS_VM_DIR/logs/$label.run.log)" >>"$all_results"
  fi
  if ! grep -q "^STASIS-VM $arch END" "$log" 2>/dev/null; then
    failed=1
    echo "   $label: the guest did not finish (see $STASIS_VM_DIR/logs/$label.run.log)"
  fi
done
cat "$all_results"
grep -q '^FAIL ' "$all_results" && failed=1
n() { awk -v r="$1" '$1 == r' "$all_results" | wc -l; }
echo "console logs: $STASIS_VM_DIR/logs/<arch>.console.log"
echo "vm: $(n PASS) passed, $(n FAIL) failed, $(n XFAIL) expected failures, $(n XPASS) unexpected passes," \
  "$(n SKIP) skipped on $(printf '%s\n' "${boots[@]}" | cut -d' ' -f3 | paste -sd' ') in $((SECONDS - start))s ($((SECONDS - boot_start))s booting)$([ $failed = 1 ] && echo ": FAILED")"
exit $failed
