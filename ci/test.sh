#!/usr/bin/env bash
# Installs dependencies, builds all five architectures, then runs every test
# suite: the native suites (unit, live checkpoint/restore, fuzz) and the four
# cross unit-test suites under qemu-user. Exits non-zero on any failure and
# ends with ctest's summary line of each suite.
#
#   ci/test.sh                    everything
#   STASIS_ARCHES="x86_64 arm" ci/test.sh   a subset of architectures
set -euo pipefail
cd "$(dirname "$0")/.."
ci/deps.sh
read -r -a arches <<<"${STASIS_ARCHES:-x86_64 aarch64 arm ppc64le s390x}"
ci/build.sh "${arches[@]}"

native=$(uname -m)
jobs=${STASIS_JOBS:-$(nproc)}
summary=()
failed=0
for arch in "${arches[@]}"; do
  echo "== test $arch$([ "$arch" != "$native" ] && echo " (under qemu-user)")"
  log=build/$arch/ctest.log
  if ctest --test-dir "build/$arch" --output-on-failure -j "$jobs" 2>&1 | tee "$log"; then :; else failed=1; fi
  line=$(grep -E "tests passed|tests failed" "$log" | tail -1)
  summary+=("$arch: ${line:-no ctest summary}")
done

echo
echo "== summary"
for s in "${summary[@]}"; do echo "$s"; done
exit $failed
