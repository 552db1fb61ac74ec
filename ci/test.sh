#!/usr/bin/env bash
# Installs dependencies, builds all five architectures, then runs every test
# suite: the native suites (unit, CLI, live checkpoint/restore), the four
# cross unit-test suites under qemu-user, the image-reader fuzzers for a
# bounded time, and the VM tier (real checkpoint/restore under qemu-system
# with Debian's kernels) when it is available, then the cross-kernel tier
# (dump under one Debian kernel, restore under another: the vDSO proxy).
# Exits non-zero on any failure and ends with the summary line of each suite.
#
#   ci/test.sh                                 everything
#   STASIS_ARCHES="x86_64 arm" ci/test.sh      a subset of architectures
#   STASIS_FUZZ_SECONDS=0 ci/test.sh           skip fuzzing
#   STASIS_VM=0 ci/test.sh                     skip the VM tier (and the cross-kernel tier)
#   STASIS_XKERNEL=0 ci/test.sh                skip the cross-kernel tier
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
ci/deps.sh
read -r -a arches <<<"${STASIS_ARCHES:-x86_64 aarch64 arm ppc64le s390x}"
ci/build.sh "${arches[@]}"

# The "N - name (why)" lines of ctest's list of failed tests in log $1.
failed_tests() { sed -n '/The following tests FAILED:/,/^$/{s/^[[:space:]]*\([0-9]\+ - .*\)/\1/p}' "$1"; }

native=$(uname -m)
jobs=${STASIS_JOBS:-$(nproc)}
summary=()
failed=0
for arch in "${arches[@]}"; do
  echo "== test $arch$([ "$arch" != "$native" ] && echo " (unit tests under qemu-user)")"
  log=build/$arch/ctest.log
  if ctest --test-dir "build/$arch" --output-on-failure -j "$jobs" --timeout 600 -LE vm 2>&1 | tee "$log"; then :; else failed=1; fi
  line=$(grep -E "tests passed|tests failed" "$log" | tail -1)
  summary+=("$arch: ${line:-no ctest summary}")
  # Name the failures in the summary too: CI keeps only the tail of the log.
  while read -r failure; do
    summary+=("   $arch FAILED: $failure")
  done < <(failed_tests "$log")
done

# The static binaries (the target-device build) run on their own: under
# qemu-user for the foreign arches, with `--version` and `image show` of
# a missing directory (one clean error line, exit 1).
echo "== static binaries"
static_ok=0
for arch in "${arches[@]}"; do
  bin=build/$arch-static/stasis runner=()
  if [ "$arch" != "$native" ]; then
    runner=("qemu-$arch-static")
  fi
  if out=$("${runner[@]}" "$bin" --version 2>&1) && echo "   $arch: $out" &&
     { "${runner[@]}" "$bin" image show /nonexistent-stasis-dir >/dev/null 2>&1; [ $? -eq 1 ]; }; then
    static_ok=$((static_ok + 1))
  else
    echo "   $arch: the static binary does not run: $out"; failed=1
  fi
done
summary+=("static: $static_ok of ${#arches[@]} static binaries run")

fuzz_seconds=${STASIS_FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== fuzz the image readers (${fuzz_seconds}s per target)"
  if ci/fuzz.sh "$fuzz_seconds" 2>&1 | tee build/fuzz.log; then
    summary+=("fuzz: every target ran ${fuzz_seconds}s without a finding")
  else
    failed=1
    summary+=("fuzz: FAILED (see build/fuzz.log)")
  fi
fi

if [ "${STASIS_VM:-1}" != 0 ] && [ -x ci/vm.sh ]; then
  echo "== VM tier: checkpoint/restore under qemu-system"
  if ci/vm.sh "${arches[@]}" 2>&1 | tee build/vm.log; then :; else failed=1; fi
  summary+=("$(grep -E '^vm: ' build/vm.log | tail -1 || echo 'vm: no summary (see build/vm.log)')")
fi

# Cross-kernel restore (the vDSO proxy): each arch dumped under Debian's 6.1,
# restored under 6.12 and back, and the host's kernel to the 6.1 VM.
if [ "${STASIS_VM:-1}" != 0 ] && [ "${STASIS_XKERNEL:-1}" != 0 ] && [ -x ci/vm.sh ]; then
  echo "== cross-kernel tier: restore under another kernel than the dump"
  if ci/vm.sh --xkernel "${arches[@]}" 2>&1 | tee build/xkernel.log; then :; else failed=1; fi
  summary+=("$(grep -E '^xkernel: [0-9]' build/xkernel.log | tail -1 || echo 'xkernel: no summary (see build/xkernel.log)')")
fi

# The last lines each failed test printed (ctest's LastTest.log), so that a
# CI log cut to its tail still shows why.
failure_tails() {
  local arch=$1 log=build/$1/Testing/Temporary/LastTest.log name
  [ -f "$log" ] || return 0
  for name in $(failed_tests "build/$arch/ctest.log" | head -3 | cut -d' ' -f3); do
    echo "-- $arch $name, last lines:"
    awk -v t="$name" '$0 ~ ("Testing: " t "$") {on=1; n=0; next}
      on && /^<end of output>/ {for (i = (n > 15 ? n - 15 : 0); i < n; i++) print "   " l[i % 15]; exit}
      on {l[n % 15] = $0; n++}' "$log"
  done
}

echo
for arch in "${arches[@]}"; do failure_tails "$arch"; done
echo "== summary ($(( ($(date +%s) - start) / 60 )) min)"
for s in "${summary[@]}"; do echo "$s"; done
exit $failed
