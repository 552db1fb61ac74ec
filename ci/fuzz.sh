#!/usr/bin/env bash
# Builds the libFuzzer targets of the image readers (tests/fuzz/) with
# clang-14, AddressSanitizer and UndefinedBehaviorSanitizer into build/fuzz,
# then runs each for SECONDS (default 60) on its seed corpus. Exits non-zero
# if any target crashes, leaks, trips a sanitizer or breaks a property; the
# input that did it is left in build/fuzz/crashes/<target>/ (turn it into a
# test in tests/unit/images/fuzz_regressions_test.cc).
#
#   ci/fuzz.sh            60 s per target
#   ci/fuzz.sh 600        10 min per target
#   STASIS_FUZZ_JOBS=2 ci/fuzz.sh   two fuzzing processes per target
#   STASIS_FUZZ_DIR=/tmp/fuzz ci/fuzz.sh   another build directory
#
# New inputs the fuzzers find go to build/fuzz/corpus/<target>/ (kept
# between runs), never into the committed seeds in tests/fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
dir=${STASIS_FUZZ_DIR:-build/fuzz}
jobs=${STASIS_JOBS:-$(nproc)}
fuzz_jobs=${STASIS_FUZZ_JOBS:-1}

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # As in ci/build.sh: a fresh clone elsewhere hits the same cache entries.
  export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-25G}
fi
if [ ! -f "$dir/build.ninja" ]; then
  mkdir -p "$dir"
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSTASIS_FUZZ=ON "${launcher[@]}" >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log" >&2; echo "ci/fuzz.sh: configure failed" >&2; exit 1; }
fi
cmake --build "$dir" -j "$jobs" --target stasis_fuzz_all

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
parallel=()
if [ "$fuzz_jobs" -gt 1 ]; then parallel=(-jobs="$fuzz_jobs" -workers="$fuzz_jobs"); fi
failed=()
while read -r target; do
  [ -n "$target" ] || continue
  corpus=$dir/corpus/$target
  crashes=$dir/crashes/$target
  mkdir -p "$corpus" "$crashes"
  echo "== $target: ${seconds}s"
  # -rss_limit_mb: the readers must stay bounded on any input.
  if "$dir/tests/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
       -max_len=131072 -print_final_stats=1 "${parallel[@]}" \
       -artifact_prefix="$crashes/" "$corpus" "tests/fuzz/corpus/$target" \
       >"$dir/$target.log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$dir/$target.log" | tr '\n' ' ' | sed 's/^/   /'
    echo
  else
    echo "   FAILED: see $dir/$target.log and $crashes/" >&2
    tail -30 "$dir/$target.log" >&2
    failed+=("$target")
  fi
done <"$dir/fuzz_targets.txt"

if [ ${#failed[@]} -gt 0 ]; then
  echo "ci/fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "ci/fuzz.sh: all targets ran ${seconds}s without a finding"
