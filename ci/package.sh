#!/usr/bin/env bash
# Builds the Debian package of stasis for each ARCH given (default: all
# five), checks it with lintian and tests/packaging/check_deb.sh, and puts
# stasis_<version>_<debarch>.deb under build/packages/.
#
#   ci/package.sh                    amd64 natively, arm64 armhf ppc64el s390x cross
#   ci/package.sh x86_64 aarch64     just these (stasis or Debian architecture names)
#   STASIS_PACKAGE_REF=v0.1.0 ci/package.sh   package another commit (default HEAD)
#   STASIS_PACKAGE_NOCHECK=1 ci/package.sh    skip the unit tests of the native build
#   STASIS_SKIP_DEPS=1 ci/package.sh          do not run ci/deps.sh first
#
# What is packaged is the committed tree at STASIS_PACKAGE_REF, exported with
# `git archive` (so the git revision is recorded, and nobody's uncommitted
# work in this checkout ends up in a package) into build/packages/work/,
# where dpkg-buildpackage may write freely. The native package is built with
# its unit and CLI tests (dpkg-buildpackage -us -uc -b); the others are
# cross-built with Debian's cross compilers (-a<arch> -Pcross,nocheck), see
# debian/rules. Logs: build/packages/logs/<debarch>.log. Times and sizes are
# printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ALL_ARCHES=(x86_64 aarch64 arm ppc64le s390x)
debian_arch() {
  case $1 in
  x86_64 | amd64) echo amd64 ;;
  aarch64 | arm64) echo arm64 ;;
  arm | armhf) echo armhf ;;
  ppc64le | ppc64el) echo ppc64el ;;
  s390x) echo s390x ;;
  *) echo "ci/package.sh: unknown architecture '$1' (have: ${ALL_ARCHES[*]})" >&2; return 1 ;;
  esac
}
arches=("$@")
[ ${#arches[@]} -eq 0 ] && arches=("${ALL_ARCHES[@]}")
debarches=()
for a in "${arches[@]}"; do debarches+=("$(debian_arch "$a")"); done

# The commit, fixed once: a commit made while the script runs does not
# change what the later architectures are built from.
ref=$(git rev-parse --verify "${STASIS_PACKAGE_REF:-HEAD}^{commit}")
jobs=${STASIS_JOBS:-$(nproc)}
native=$(dpkg --print-architecture)
out=$root/build/packages
work=$out/work
logs=$out/logs

if [ "$(id -u)" -eq 0 ] && [ "${STASIS_SKIP_DEPS:-0}" != 1 ]; then ci/deps.sh; fi
version=$(git show "$ref:CMakeLists.txt" | sed -n 's/^project(stasis VERSION \([0-9.]*\).*/\1/p')
changelog_version=$(git show "$ref:debian/changelog" | sed -n '1s/^stasis (\([^)]*\)).*/\1/p')
if [ "$version" != "$changelog_version" ]; then
  echo "ci/package.sh: CMakeLists.txt says $version, debian/changelog says $changelog_version" >&2
  exit 1
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && [ "$ref" = "$(git rev-parse HEAD)" ]; then
  echo "ci/package.sh: note: packaging the committed HEAD; uncommitted changes in this checkout are not included"
fi

mkdir -p "$out" "$logs"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# ccache through the compiler names dpkg-buildpackage calls (gcc, the cross
# gcc): repeated package builds of the same tree then take a fraction of the
# time. The source path is the same on every run, so cache entries match.
ccache_env=()
if [ -d /usr/lib/ccache ]; then
  ccache_env=(PATH="/usr/lib/ccache:$PATH" CCACHE_BASEDIR="$work")
fi

summary=()
failed=0
for debarch in "${debarches[@]}"; do
  src=$work/$debarch/stasis-$version
  mkdir -p "$src"
  git archive "$ref" | tar -x -C "$src"
  opts=(-us -uc -b)
  build_options="parallel=$jobs"
  if [ "$debarch" != "$native" ]; then
    opts+=(-a "$debarch" -Pcross,nocheck)
    build_options+=" nocheck"
  elif [ "${STASIS_PACKAGE_NOCHECK:-0}" = 1 ]; then
    opts+=(-Pnocheck)
    build_options+=" nocheck"
  fi
  echo "== package $debarch: dpkg-buildpackage ${opts[*]}"
  log=$logs/$debarch.log
  start=$(date +%s)
  if ! (cd "$src" && env "${ccache_env[@]}" DEB_BUILD_OPTIONS="$build_options" \
          dpkg-buildpackage "${opts[@]}") >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "ci/package.sh: $debarch: dpkg-buildpackage failed (log: $log)" >&2
    summary+=("$debarch: BUILD FAILED")
    failed=1
    continue
  fi
  seconds=$(($(date +%s) - start))
  deb=stasis_${version}_${debarch}.deb
  rm -f "$out"/stasis*_"${version}"_"${debarch}".*
  mv "$work/$debarch"/*.deb "$work/$debarch"/*.buildinfo "$work/$debarch"/*.changes "$out"/
  mv "$work/$debarch"/*.ddeb "$out"/ 2>/dev/null || true
  size=$(stat -c %s "$out/$deb")
  echo "== lintian $deb"
  if ! lintian --fail-on error --display-level ">=info" "$out/$deb" | tee "$logs/$debarch.lintian"; then
    echo "ci/package.sh: $debarch: lintian found errors" >&2
    failed=1
  fi
  echo "== test $deb"
  if ! tests/packaging/check_deb.sh "$out/$deb"; then
    echo "ci/package.sh: $debarch: package tests failed" >&2
    failed=1
  fi
  tags=$(grep -c '^[EWI]:' "$logs/$debarch.lintian" || true)
  summary+=("$debarch: $deb $((size / 1024)) KiB, built in ${seconds}s, lintian tags: $tags")
  rm -rf "${work:?}/$debarch"
done

echo
echo "== packages (build/packages/)"
for s in "${summary[@]}"; do echo "$s"; done
exit $failed
