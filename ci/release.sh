#!/usr/bin/env bash
# Builds the target-device release: for each ARCH given (default: all five)
# one fully static, stripped stasis with its man pages and shell completion,
# as build/release/stasis-<version>-<arch>.tar.xz, plus build/release/SHA256SUMS
# of the archives. Each archive holds one directory laid out like a prefix,
# with a SHA256SUMS of its own files:
#
#   stasis-0.1.0-aarch64/sbin/stasis
#   stasis-0.1.0-aarch64/share/man/man8/stasis.8, man5/stasis-image.5
#   stasis-0.1.0-aarch64/share/bash-completion/..., share/zsh/site-functions/_stasis
#   stasis-0.1.0-aarch64/share/doc/stasis/image-format.md
#   stasis-0.1.0-aarch64/SHA256SUMS
#
# so on a board `tar -xJf stasis-0.1.0-aarch64.tar.xz -C /usr/local
# --strip-components=1` installs it, or just copy sbin/stasis.
#
#   ci/release.sh                  all five
#   ci/release.sh aarch64 arm      just these
#   STASIS_RELEASE_REF=v0.1.0 ci/release.sh   another commit (default HEAD)
#   STASIS_SKIP_DEPS=1 ci/release.sh          do not run ci/deps.sh first
#
# Like ci/package.sh it builds the committed tree (a `git archive` export
# under build/release/src, which records its git revision), never the
# uncommitted state of this checkout. The archives are reproducible: files
# sorted, owned by 0:0, dated at the commit. tests/packaging/check_release.sh
# checks each one (checksums, static ELF of the right machine, --version
# under qemu-user, man pages); then tests/qemu/run-release.sh boots each
# binary, as shipped, under qemu-system with its arch's Debian kernel (the VM
# tier) and runs `stasis --version` and `stasis check` there: ~10-30 s per
# arch. STASIS_RELEASE_VM=0 skips the boots, STASIS_RELEASE_VM="aarch64 arm"
# boots just these.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ALL_ARCHES=(x86_64 aarch64 arm ppc64le s390x)
arches=("$@")
[ ${#arches[@]} -eq 0 ] && arches=("${ALL_ARCHES[@]}")
# The commit, fixed once: a commit made while the script runs does not
# change what the later architectures are built from.
ref=$(git rev-parse --verify "${STASIS_RELEASE_REF:-HEAD}^{commit}")
jobs=${STASIS_JOBS:-$(nproc)}
native=$(uname -m)
out=$root/build/release
src=$out/src

if [ "$(id -u)" -eq 0 ] && [ "${STASIS_SKIP_DEPS:-0}" != 1 ]; then ci/deps.sh; fi
for arch in "${arches[@]}"; do
  [ "$arch" = "$native" ] || [ -f "toolchains/$arch.cmake" ] ||
    { echo "ci/release.sh: unknown architecture '$arch' (have: ${ALL_ARCHES[*]})" >&2; exit 1; }
done
version=$(git show "$ref:CMakeLists.txt" | sed -n 's/^project(stasis VERSION \([0-9.]*\).*/\1/p')
commit_time=$(git log -1 --format=%ct "$ref")
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && [ "$ref" = "$(git rev-parse HEAD)" ]; then
  echo "ci/release.sh: note: releasing the committed HEAD; uncommitted changes in this checkout are not included"
fi

mkdir -p "$out"
rm -rf "$src"
mkdir -p "$src"
git archive "$ref" | tar -x -C "$src"

# RelWithDebInfo (-O2), as ci/build.sh builds and ci/test.sh tests it; the
# debug information is stripped at install. (GCC 12 at -O3 also raises
# false -Wrestrict warnings in <string> that -Werror turns into errors.)
# ccache as ci/build.sh uses it: paths relative to the checkout, so another
# checkout's release builds hit the cache too.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=1
fi

summary=()
failed=0
for arch in "${arches[@]}"; do
  name=stasis-$version-$arch
  build=$out/build-$arch
  stage=$out/stage-$arch
  toolchain=()
  [ "$arch" = "$native" ] || toolchain=(-DCMAKE_TOOLCHAIN_FILE="$src/toolchains/$arch.cmake")
  echo "== release $arch"
  start=$(date +%s)
  rm -rf "$build" "$stage"
  if ! cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTASIS_STATIC=ON \
         -DSTASIS_TESTS=OFF -DSTASIS_MANPAGES=ON "${toolchain[@]}" "${launcher[@]}" >"$build.log" 2>&1 ||
     ! cmake --build "$build" -j "$jobs" >>"$build.log" 2>&1 ||
     ! DESTDIR=$stage cmake --install "$build" --prefix "/$name" --strip >>"$build.log" 2>&1; then
    tail -30 "$build.log" >&2
    echo "ci/release.sh: $arch: build failed (log: $build.log)" >&2
    summary+=("$arch: BUILD FAILED")
    failed=1
    continue
  fi
  seconds=$(($(date +%s) - start))
  (cd "$stage/$name" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort |
     xargs sha256sum >SHA256SUMS)
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$commit_time" \
      -C "$stage" -cf - "$name" | xz -9 -T1 >"$out/$name.tar.xz"
  rm -rf "$stage"
  if tests/packaging/check_release.sh "$out/$name.tar.xz"; then :; else failed=1; fi
  size=$(stat -c %s "$out/$name.tar.xz")
  summary+=("$arch: $name.tar.xz $((size / 1024)) KiB, built in ${seconds}s")
done
(cd "$out" && sha256sum stasis-"$version"-*.tar.xz >SHA256SUMS)

# The VM tier: each binary runs `stasis check` under its arch's kernel.
vm_arches=${STASIS_RELEASE_VM:-${arches[*]}}
[ "$vm_arches" = 0 ] && vm_arches=
vm_tarballs=()
for arch in $vm_arches; do
  [ -f "$out/stasis-$version-$arch.tar.xz" ] && vm_tarballs+=("$out/stasis-$version-$arch.tar.xz")
done
if [ ${#vm_tarballs[@]} -gt 0 ]; then
  echo "== release: stasis check in the VM tier (${vm_arches})"
  tests/qemu/run-release.sh "${vm_tarballs[@]}" | tee "$out/vm.log" || failed=1
  mapfile -t vm_lines < <(grep '^release-vm: ' "$out/vm.log")
  summary+=("${vm_lines[@]}")
fi

echo
echo "== release (build/release/)"
for s in "${summary[@]}"; do echo "$s"; done
exit $failed
