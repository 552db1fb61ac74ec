#!/usr/bin/env bash
# Configures and builds stasis into build/<arch>/ for each ARCH given
# (default: all five). The binary is build/<arch>/stasis. For every arch a
# fully static binary (the target-device build, one file to copy onto a
# board) is built too, at build/<arch>-static/stasis.
#
#   ci/build.sh                  all five architectures
#   ci/build.sh x86_64 aarch64   just these
#   STASIS_BUILD_TYPE=Debug ci/build.sh x86_64
set -euo pipefail
cd "$(dirname "$0")/.."
ALL_ARCHES=(x86_64 aarch64 arm ppc64le s390x)
arches=("$@")
[ ${#arches[@]} -eq 0 ] && arches=("${ALL_ARCHES[@]}")
native=$(uname -m)
build_type=${STASIS_BUILD_TYPE:-RelWithDebInfo}
jobs=${STASIS_JOBS:-$(nproc)}

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout: a fresh clone elsewhere hits the same
  # cache entries. Ten build configurations need room.
  export CCACHE_BASEDIR=$PWD
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-25G}
  export CCACHE_NOHASHDIR=1
fi

configure_and_build() {
  local arch=$1 dir=$2; shift 2
  local toolchain=()
  if [ "$arch" != "$native" ]; then
    [ -f "toolchains/$arch.cmake" ] || { echo "ci/build.sh: unknown architecture '$arch' (have: ${ALL_ARCHES[*]})" >&2; exit 1; }
    toolchain=(-DCMAKE_TOOLCHAIN_FILE="$PWD/toolchains/$arch.cmake")
  fi
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${toolchain[@]}" "${launcher[@]}" "$@" >"$dir.configure.log" 2>&1 || {
      cat "$dir.configure.log" >&2; echo "ci/build.sh: configure failed for $arch ($dir)" >&2; exit 1; }
  fi
  cmake --build "$dir" -j "$jobs" -- "${targets[@]}"
}

mkdir -p build
for arch in "${arches[@]}"; do
  echo "== build $arch"
  targets=()
  configure_and_build "$arch" "build/$arch"
  echo "== build $arch (static)"
  targets=(stasis)
  configure_and_build "$arch" "build/$arch-static" -DSTASIS_STATIC=ON -DSTASIS_TESTS=OFF
  file -b "build/$arch/stasis" "build/$arch-static/stasis" | sed "s|^|   $arch: |"
done
